//! `WhenFull`: what a keyed limiter does with a new key when it has no room.

/// What a keyed limiter does when a new key arrives and every slot holds a key that is not
/// idle.
///
/// ```
/// use pacer_core::{Error, KeyedGcra, Quota, WhenFull};
///
/// let quota = Quota::per_second(1)?;
/// let mut refusing = KeyedGcra::<u32, 2>::new(quota);
/// refusing.reserve(&1, 0, 1)?;
/// refusing.reserve(&2, 0, 1)?;
/// // Keys 1 and 2 are busy until 1 s; a third must wait for a slot.
/// assert_eq!(refusing.reserve(&3, 0, 1).unwrap_err(), Error::TableFull { at: 1_000_000_000 });
///
/// let mut forgetting = KeyedGcra::<u32, 2>::new(quota).when_full(WhenFull::Forget);
/// forgetting.reserve(&1, 0, 1)?;
/// forgetting.reserve(&2, 0, 1)?;
/// assert_eq!(forgetting.reserve(&3, 0, 1)?.at(), 0); // key 1 or 2 was forgotten
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WhenFull {
    /// Refuse the new key with [`Error::TableFull`](crate::Error::TableFull), which carries
    /// the earliest instant at which a slot frees. Nothing is recorded and no other key is
    /// disturbed, so every key keeps its exact limit.
    #[default]
    Refuse,
    /// Forget the key that becomes idle soonest and admit the new one. The forgotten key's
    /// debt is written off: if it comes back, its next cells may go early by at most that
    /// debt (the cells it still owed, `ceil((arrival time − now) / interval)`, the least any
    /// key owed), and reservations it already holds keep their instants. No other key is
    /// affected.
    Forget,
}
