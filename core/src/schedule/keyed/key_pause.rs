//! Pauses of single keys of a keyed table: `KeyPause`, a key's pause record and its
//! arithmetic, shared by both tables; `KeyPauses`, the bounded map of records beside the shards
//! of a [`ShardedKeyedGcra`](super::ShardedKeyedGcra) (a [`KeyedGcra`](super::KeyedGcra) keeps
//! its records in `P` slots of its own).
//!
//! # The model
//!
//! A pause of one key stops that key's clock, exactly as [`Pausable`](crate::Pausable) stops
//! the clock of a whole limiter: the key's own time is `max(now, until) - shift`, where
//! `until` is the end of its latest pause and `shift` the total time its pauses have stopped
//! it, and an instant of the key's time `i` is the instant `i + shift` of the caller's.
//!
//! The keys' table cannot keep a key in a time of its own: it forgets a key once the key is
//! idle by the table's one clock, and a key whose time runs behind would look idle too early.
//! So the key stays in the table's time, and a pause of it does two things there, under the
//! lock that guards the key's arrival time (its shard's, held exclusively; a `KeyedGcra`'s one
//! lock), so that no decision on the key sees one without the other:
//! - the key's arrival time moves later by the time the pause adds (rounded up to the quota's
//!   units, never less): reservations made from then on queue behind every earlier one moved,
//!   and the key stays busy, so not forgettable, until its moved reservations have passed;
//! - a record of the key's pause, `(id, until, shift, settle)`, joins this table. While
//!   `now < until`, a new reservation of the key goes no earlier than `until`.
//!
//! A reservation cannot be moved where it sits (its waiter holds it), so each reservation is
//! stamped with the pause record it was made under, `(id, shift)` (nothing: `(0, 0)`). Where
//! it stands is then the record's frozen clock applied to it: its instant in the key's time
//! is `at - shift_then` (`at` itself if it was made before the record), it has passed when
//! that is before the key's time now (or at it, once the pause is over), and otherwise it goes
//! at that instant plus the record's shift now. This is the same arithmetic as `Pausable`'s,
//! per key, so a key's waiters keep their order and spacing and the conformance rule holds.
//!
//! # Bounded
//!
//! A record is needed only while some reservation made before its latest pause has not
//! passed: by `settle`, the instant of the key's moved arrival time (and the pause's end),
//! every one of them has. A settled record is removed when it is next met, and a new pause of
//! the key starts a new record. The table holds at most `capacity` records (`P` for a
//! `KeyedGcra`); a pause of one more key, when none of them is settled, fails with
//! [`Error::PausedKeysFull`], changing nothing, never pausing the key less than asked.
//!
//! # Cancel
//!
//! A reservation that a pause of its key moved keeps its cells when cancelled: the key's
//! arrival time moved past the one it recorded, so the table's cancel no longer recognises it
//! as the newest. It never over-admits: the slot stays empty, as a cancelled reservation with
//! later ones behind it leaves its slot.

#[cfg(feature = "std")]
use core::borrow::Borrow;
#[cfg(feature = "std")]
use core::hash::Hash;
#[cfg(feature = "std")]
use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "std")]
use std::sync::{PoisonError, RwLock};

#[cfg(feature = "std")]
use alloc::borrow::ToOwned;
#[cfg(feature = "std")]
use foldhash::fast::RandomState;
#[cfg(feature = "std")]
use hashbrown::HashMap;

use core::num::NonZeroU32;

use super::table::KeyedToken;
#[cfg(any(feature = "std", feature = "critical-section"))]
use crate::Error;
use crate::Reservation;

/// One key's pause record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyPause {
    /// Which record this is, so a reservation stamped under an earlier record of the same key
    /// counts as made before this one. Never 0, which stamps "no record" (and leaves a spare
    /// value for `Option<(K, KeyPause)>`, so a slot of the no_std table costs nothing more).
    id: NonZeroU32,
    /// The end of the key's latest pause.
    until: u64,
    /// The total time the record's pauses stopped the key's clock.
    shift: u64,
    /// From this instant on, every reservation made before the latest pause has passed.
    settle: u64,
}

impl KeyPause {
    /// Whether nothing depends on the record any more at `now`.
    pub(crate) fn settled(&self, now: u64) -> bool {
        now >= self.settle
    }

    /// The end of the key's latest pause.
    pub(crate) fn until(&self) -> u64 {
        self.until
    }

    /// What a reservation of the key must respect while this record lives.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            not_before: self.until,
            stamp: (self.id.get(), self.shift),
        }
    }

    /// The key's record after a pause of it until `until` at `now` (the latest reading), or
    /// `None` when the pause changes nothing. `current` is the key's record, if it has one:
    /// one not settled carries on (the key's clock keeps its shift), a settled one is replaced
    /// by a new record, of id `new_id()`. `room()` makes room for a key that has no record at
    /// all, or fails. `shift(added)` moves the key's arrival time `added` nanoseconds later
    /// and returns the moved instant (`None` for a key not held); it is called last, so that
    /// an error before it changes nothing.
    #[cfg(any(feature = "std", feature = "critical-section"))]
    pub(crate) fn paused(
        current: Option<KeyPause>,
        now: u64,
        until: u64,
        room: impl FnOnce() -> Result<(), Error>,
        new_id: impl FnOnce() -> NonZeroU32,
        shift: impl FnOnce(u64) -> Result<Option<u64>, Error>,
    ) -> Result<Option<KeyPause>, Error> {
        let live = current.filter(|record| !record.settled(now));
        // A running or unsettled record carries on; otherwise the key's clock starts a new
        // record, where its time is the caller's.
        let (from, shift_so_far) = match live {
            Some(record) => (now.max(record.until), record.shift),
            None => (now, 0),
        };
        if until <= from {
            return Ok(None);
        }
        let added = until - from;
        if current.is_none() {
            room()?;
        }
        let total = shift_so_far
            .checked_add(added)
            .ok_or(Error::InstantOverflow)?;
        let moved = shift(added)?;
        let id = match live {
            Some(record) => record.id,
            None => new_id(),
        };
        Ok(Some(KeyPause {
            id,
            until,
            shift: total,
            settle: until.max(moved.unwrap_or(0)),
        }))
    }

    /// Where a reservation for `at`, stamped `stamp`, stands at `now`: `None` once it has
    /// passed, else its instant as the key's pauses moved it (always after `now`).
    pub(crate) fn pending(
        &self,
        at: u64,
        (pause, shift_then): (u32, u64),
        now: u64,
    ) -> Option<u64> {
        let shift_then = if pause == self.id.get() {
            shift_then
        } else {
            0
        };
        // Its instant in the key's own time, and the key's time now.
        let inner = at.saturating_sub(shift_then);
        let time = now.max(self.until) - self.shift;
        // While the key is paused its clock stands at `time`, and what was due at `time`
        // itself goes when the pause ends.
        let passed = inner < time || (inner == time && now >= self.until);
        (!passed).then(|| inner.saturating_add(self.shift))
    }
}

/// What a reservation of a key needs from the key's pause: the earliest instant it may take,
/// and the stamp to record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    /// No cell of the key goes before this instant (0: no pause).
    pub(crate) not_before: u64,
    /// The record's id and shift (`(0, 0)`: no record).
    pub(crate) stamp: (u32, u64),
}

/// The next record id after `id`, wrapping past 0 (which stamps "no record").
#[cfg(feature = "std")]
pub(crate) fn next_id(id: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(id.get().wrapping_add(1)).unwrap_or(NonZeroU32::MIN)
}

/// `reservation`, stamped with the pause of its key it was made under.
pub(crate) fn stamped(
    mut reservation: Reservation<KeyedToken>,
    (pause, shift): (u32, u64),
) -> Reservation<KeyedToken> {
    reservation.token_mut().stamp(pause, shift);
    reservation
}

/// The pause records of a keyed limiter's keys, at most `capacity` of them.
///
/// One lock for the whole limiter, taken only while some record exists (a count read
/// without it says whether any does): pauses are rare, and a record lives only until the
/// key's moved reservations have passed.
#[cfg(feature = "std")]
pub(crate) struct KeyPauses<K> {
    records: RwLock<Records<K>>,
    /// How many records exist; 0 lets every decision skip the lock.
    len: AtomicUsize,
    capacity: usize,
}

#[cfg(feature = "std")]
struct Records<K> {
    map: HashMap<K, KeyPause, RandomState>,
    /// The id the next record gets.
    next_id: NonZeroU32,
}

#[cfg(feature = "std")]
impl<K: Hash + Eq> KeyPauses<K> {
    /// Room for `capacity` paused keys, allocated now (so the limiter's memory stays what it
    /// was when it was made).
    ///
    /// The map gets room for twice as many: `hashbrown` clears the tombstones removals leave
    /// by rehashing in place (without allocating) only while the map is at most half full;
    /// fuller, it would allocate a larger one.
    pub(crate) fn new(capacity: usize) -> Self {
        KeyPauses {
            records: RwLock::new(Records {
                map: HashMap::with_capacity_and_hasher(
                    capacity.saturating_mul(2),
                    RandomState::default(),
                ),
                next_id: NonZeroU32::MIN,
            }),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    /// The most keys paused at once.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes allocated for the records.
    pub(crate) fn allocated(&self) -> usize {
        self.read(|records| records.map.allocation_size())
    }

    fn read<R>(&self, f: impl FnOnce(&Records<K>) -> R) -> R {
        f(&self.records.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<R>(&self, f: impl FnOnce(&mut Records<K>) -> R) -> R {
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut records);
        self.len.store(records.map.len(), Ordering::Release);
        result
    }

    /// Whether any record exists (without the lock).
    #[inline]
    fn any(&self) -> bool {
        self.len.load(Ordering::Acquire) != 0
    }

    /// The key's record, removing it instead when it is settled at `now`. Inline, so that
    /// with no key paused (nearly always) a decision makes no call: the records are looked
    /// up out of line, in `recorded`.
    #[inline]
    fn live<Q>(&self, key: &Q, now: u64) -> Option<KeyPause>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.any() {
            return None;
        }
        self.recorded(key, now)
    }

    /// [`live`](KeyPauses::live) once some record exists.
    #[inline(never)]
    fn recorded<Q>(&self, key: &Q, now: u64) -> Option<KeyPause>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let record = self.read(|records| records.map.get(key).copied())?;
        if !record.settled(now) {
            return Some(record);
        }
        self.write(|records| {
            // Re-read: a pause may have renewed it meanwhile.
            match records.map.get(key) {
                Some(now_record) if now_record.settled(now) => {
                    records.map.remove(key);
                    None
                }
                other => other.copied(),
            }
        })
    }

    /// What a reservation of `key` at `now` must respect. Called under the key's shard lock,
    /// so that a pause of the key (which holds that lock exclusively) is seen whole.
    #[inline]
    pub(crate) fn mark<Q>(&self, key: &Q, now: u64) -> Mark
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.live(key, now)
            .map_or_else(Mark::default, |record| record.mark())
    }

    /// Where a reservation of `key` for `at`, stamped `stamp`, stands at `now`, if the key has
    /// a record; `None` when it has none (the reservation stands where it was made).
    pub(crate) fn pending<Q>(
        &self,
        key: &Q,
        at: u64,
        stamp: (u32, u64),
        now: u64,
    ) -> Option<Option<u64>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.live(key, now)
            .map(|record| record.pending(at, stamp, now))
    }

    /// The end of `key`'s pause, if it is paused at `now`.
    pub(crate) fn paused_until<Q>(&self, key: &Q, now: u64) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.any() {
            return None;
        }
        self.read(|records| records.map.get(key).map(|record| record.until))
            .filter(|&until| until > now)
    }

    /// Pauses `key` until `until` at `now` (the shard's latest reading), combining with a
    /// pause of it still running. `shift(added)` moves the key's arrival time `added`
    /// nanoseconds later in its table and returns the moved instant (`None` for a key not
    /// held); it is called at most once, and only when the pause goes ahead. Returns whether
    /// the pause changed anything.
    ///
    /// Called under the key's shard lock, held exclusively.
    pub(crate) fn pause<Q>(
        &self,
        key: &Q,
        now: u64,
        until: u64,
        shift: impl FnOnce(u64) -> Result<Option<u64>, Error>,
    ) -> Result<bool, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.write(|records| {
            let current = records.map.get(key).copied();
            let map = &mut records.map;
            let next = &mut records.next_id;
            let capacity = self.capacity;
            let room = || {
                if map.len() >= capacity {
                    map.retain(|_, record| !record.settled(now));
                }
                if map.len() >= capacity {
                    return Err(Error::PausedKeysFull { capacity });
                }
                Ok(())
            };
            let new_id = || {
                let id = *next;
                *next = next_id(id);
                id
            };
            let Some(record) = KeyPause::paused(current, now, until, room, new_id, shift)? else {
                return Ok(false);
            };
            match records.map.get_mut(key) {
                Some(slot) => *slot = record,
                None => {
                    records.map.insert(key.to_owned(), record);
                }
            }
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use core::num::NonZeroU32;

    use super::KeyPause;

    const MS: u64 = 1_000_000;

    fn record(until: u64, shift: u64) -> KeyPause {
        KeyPause {
            id: NonZeroU32::MIN,
            until,
            shift,
            settle: until,
        }
    }

    #[test]
    fn a_reservation_made_before_the_record_moves_by_its_shift() {
        // Paused at 100 ms until 300 ms: the key's clock stopped for 200 ms.
        let paused = record(300 * MS, 200 * MS);
        // Due at 150 ms, not passed at 100 ms: it goes at 350 ms.
        assert_eq!(paused.pending(150 * MS, (0, 0), 150 * MS), Some(350 * MS));
        // Due at 100 ms exactly, when the pause came: it goes when the pause ends.
        assert_eq!(paused.pending(100 * MS, (0, 0), 120 * MS), Some(300 * MS));
        assert_eq!(paused.pending(100 * MS, (0, 0), 300 * MS), None);
        // Due before the pause: it passed.
        assert_eq!(paused.pending(99 * MS, (0, 0), 120 * MS), None);
        // At its moved instant it passes.
        assert_eq!(paused.pending(150 * MS, (0, 0), 350 * MS), None);
    }

    #[test]
    fn a_reservation_made_under_the_record_moves_only_by_later_pauses() {
        let paused = record(300 * MS, 200 * MS);
        // Made during the pause, for 300 ms, with the shift at 200 ms: it stays.
        assert_eq!(
            paused.pending(300 * MS, (1, 200 * MS), 200 * MS),
            Some(300 * MS)
        );
        // The same stamp under another record id counts as made before it.
        assert_eq!(
            paused.pending(300 * MS, (2, 200 * MS), 200 * MS),
            Some(500 * MS)
        );
        // Made after a first pause of 50 ms, then the record grew to 200 ms: moved by 150 ms.
        assert_eq!(
            paused.pending(400 * MS, (1, 50 * MS), 200 * MS),
            Some(550 * MS)
        );
    }
}
