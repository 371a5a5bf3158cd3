//! `KeyedPacer`: a keyed limiter on a runtime's timer, the type async code holds.

use core::time::Duration;

use crate::{Acquire, Error, Snapshot, Timer};
use crate::{KeyedRateLimiter, PerKey};

/// A [`KeyedRateLimiter`] paired with a [`Timer`]: `acquire(&key).await` waits, without
/// blocking the executor, until a cell of that key's limit may go.
///
/// Adapter crates name it for their runtime (`pacer_tokio::KeyedLimiter<K>`, ...), so user
/// code names one type. Share it by `&` or `Arc`; every method takes `&self`.
///
/// Each key's acquisitions keep every guarantee of [`Pacer`](crate::Pacer)'s: a waiter
/// reserves its instant on its first poll and sleeps exactly once, until that instant; a key's
/// waiters are served in the order they first polled; none passes early; dropping a waiter
/// before its instant cancels its reservation of that key. Acquisitions of different keys
/// never wait for each other.
///
/// ```
/// use pacer_core::{KeyedGcra, KeyedPacer, Locked, ManualTimer, Quota};
/// # futures_executor::block_on(async {
/// let timer = ManualTimer::new();
/// let per_node = Locked::new(KeyedGcra::<u8, 8>::new(Quota::per_second(10)?));
/// let radio = KeyedPacer::from_parts(per_node, timer.clone());
/// radio.acquire(&1).await?; // node 1's first cell goes at once
/// radio.acquire(&2).await?; // so does node 2's
/// assert!(radio.try_acquire(&1, 1).is_err()); // node 1's next is 100 ms away
/// timer.advance(std::time::Duration::from_millis(100));
/// radio.acquire(&1).await?;
/// # Ok::<(), pacer_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct KeyedPacer<L, T> {
    limiter: L,
    timer: T,
}

#[cfg(feature = "std")]
impl<K: core::hash::Hash + Eq, T: Timer + Default>
    KeyedPacer<crate::Pausable<crate::ShardedKeyedGcra<K>>, T>
{
    /// A [`ShardedKeyedGcra`](crate::ShardedKeyedGcra) for `quota` per key, with room for at
    /// least `capacity` keys, in a [`Pausable`](crate::Pausable) so that
    /// [`pause_for`](KeyedPacer::pause_for) can hold every key back, and
    /// [`pause_key_for`](KeyedPacer::pause_key_for) one key alone, on a new default timer.
    ///
    /// Fails with [`Error::ZeroCapacity`] for a capacity of zero.
    pub fn new(quota: crate::Quota, capacity: usize) -> Result<Self, Error> {
        let limiter = crate::ShardedKeyedGcra::new(quota, capacity)?;
        Ok(KeyedPacer::from_parts(
            crate::Pausable::new(limiter),
            T::default(),
        ))
    }
}

#[cfg(any(feature = "std", feature = "critical-section"))]
impl<K, const N: usize, T> KeyedPacer<crate::Locked<crate::KeyedGcra<K, N>>, T>
where
    K: core::hash::Hash + Eq + Clone,
    T: Timer + Default,
{
    /// A [`KeyedGcra`](crate::KeyedGcra) for `quota` per key, with room for `N` keys, behind a
    /// [`Locked`](crate::Locked), on a new default timer of the runtime.
    pub fn new(quota: crate::Quota) -> Self {
        let limiter = crate::Locked::new(crate::KeyedGcra::new(quota));
        KeyedPacer::from_parts(limiter, T::default())
    }
}

#[cfg(any(feature = "std", feature = "critical-section"))]
impl<K, const N: usize, const P: usize, T>
    KeyedPacer<crate::Pausable<crate::Locked<crate::KeyedGcra<K, N, P>>>, T>
where
    K: core::hash::Hash + Eq + Clone,
    T: Timer + Default,
{
    /// A [`KeyedGcra`](crate::KeyedGcra) for `quota` per key, with room for `N` keys and for
    /// `P` of them paused at once, behind a [`Locked`](crate::Locked) in a
    /// [`Pausable`](crate::Pausable), on a new default timer of the runtime:
    /// [`pause_for`](KeyedPacer::pause_for) holds every key back, and
    /// [`pause_key_for`](KeyedPacer::pause_key_for) one key alone.
    pub fn new(quota: crate::Quota) -> Self {
        let limiter = crate::Pausable::new(crate::Locked::new(crate::KeyedGcra::new(quota)));
        KeyedPacer::from_parts(limiter, T::default())
    }
}

impl<L, T: Timer + Default> KeyedPacer<L, T> {
    /// Any keyed limiter (for example a [`ShardedKeyedGcra`](crate::ShardedKeyedGcra) with a
    /// chosen [`WhenFull`](crate::WhenFull) policy) on a new default timer of the runtime.
    pub fn with_limiter(limiter: L) -> Self {
        KeyedPacer::from_parts(limiter, T::default())
    }
}

impl<L, T: Timer> KeyedPacer<L, T> {
    /// `limiter` on `timer`; `const`, so a keyed limiter can be a `static` in firmware.
    pub const fn from_parts(limiter: L, timer: T) -> Self {
        KeyedPacer { limiter, timer }
    }

    /// Waits until one cell of `key`'s limit may go, then completes.
    pub fn acquire<'a, Q: ?Sized>(&'a self, key: &'a Q) -> Acquire<'a, PerKey<'a, L, Q>, T>
    where
        L: KeyedRateLimiter<Q>,
    {
        self.acquire_n(key, 1)
    }

    /// Waits until `cells` cells of `key`'s limit may go at once, then completes. Fails at
    /// once with [`Error::TooHeavy`] if `cells` is more than the burst allows, and with
    /// [`Error::TableFull`] if the key is new and the limiter has no room for it.
    pub fn acquire_n<'a, Q: ?Sized>(
        &'a self,
        key: &'a Q,
        cells: u32,
    ) -> Acquire<'a, PerKey<'a, L, Q>, T>
    where
        L: KeyedRateLimiter<Q>,
    {
        self.acquire_within(key, cells, Duration::MAX)
    }

    /// Like [`acquire_n`](KeyedPacer::acquire_n), but fails at once with
    /// [`Error::WouldWait`] (reserving nothing) if the cells could go only after `max_wait`.
    pub fn acquire_within<'a, Q: ?Sized>(
        &'a self,
        key: &'a Q,
        cells: u32,
        max_wait: Duration,
    ) -> Acquire<'a, PerKey<'a, L, Q>, T>
    where
        L: KeyedRateLimiter<Q>,
    {
        Acquire::new(
            PerKey::new(&self.limiter, key),
            &self.timer,
            cells,
            max_wait,
        )
    }

    /// Takes `cells` cells of `key`'s limit now if they are free, without waiting.
    pub fn try_acquire<Q: ?Sized>(&self, key: &Q, cells: u32) -> Result<(), Error>
    where
        L: KeyedRateLimiter<Q>,
    {
        self.limiter
            .try_acquire(key, self.timer.now(), cells)
            .map(|_spent| ())
    }

    /// The remaining burst of `key` and the earliest instant for one of its cells, now.
    pub fn snapshot<Q: ?Sized>(&self, key: &Q) -> Snapshot
    where
        L: KeyedRateLimiter<Q>,
    {
        self.limiter.snapshot(key, self.timer.now())
    }

    /// How long a call to [`acquire_n`](KeyedPacer::acquire_n) for `key` made now would
    /// wait, or the error it would fail with.
    pub fn delay<Q: ?Sized>(&self, key: &Q, cells: u32) -> Result<Duration, Error>
    where
        L: KeyedRateLimiter<Q>,
    {
        let now = self.timer.now();
        let at = self.limiter.earliest(key, now, cells)?;
        Ok(Duration::from_nanos(at.saturating_sub(now)))
    }

    /// How long from now until the instant `error` carries: when the cells it refused could
    /// go ([`Error::WouldWait`]) or when a slot frees for a new key ([`Error::TableFull`]).
    /// `None` for an error that carries no instant. For a `Retry-After` header.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{KeyedPacer, ManualTimer, Quota, ShardedKeyedGcra};
    ///
    /// let limiter = ShardedKeyedGcra::new(Quota::per_second(2)?, 100)?;
    /// let per_client = KeyedPacer::from_parts(limiter, ManualTimer::new());
    /// per_client.try_acquire("alice", 1)?;
    /// let refused = per_client.try_acquire("alice", 1).unwrap_err();
    /// assert_eq!(per_client.retry_after(&refused), Some(Duration::from_millis(500)));
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn retry_after(&self, error: &Error) -> Option<Duration> {
        let at = error.earliest()?;
        Some(Duration::from_nanos(at.saturating_sub(self.timer.now())))
    }

    /// The shared keyed limiter.
    pub fn limiter(&self) -> &L {
        &self.limiter
    }

    /// The timer, whose clock gives the limiter's instants.
    pub fn timer(&self) -> &T {
        &self.timer
    }
}
