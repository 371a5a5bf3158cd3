//! `KeyedGcra<K, N>`: a keyed limit for up to `N` keys at once, on `heapless`: `no_std`, no
//! allocation, its whole memory fixed at compile time.

use core::hash::Hash;
#[cfg(any(feature = "std", feature = "critical-section"))]
use core::num::NonZeroU32;
use core::time::Duration;

use hash32::{BuildHasherDefault, FnvHasher};
use heapless::index_map::IndexMap;

use super::entries::{Entries, Slot};
use super::key_pause::{self, KeyPause, Mark};
use super::order::{Item, Items};
use super::table::{KeyedToken, Table};
use super::when_full::WhenFull;
use crate::{Error, Quota, Reservation, Snapshot};

/// One quota, one independent limit per key, for up to `N` keys that are not idle at once.
///
/// Every key is scheduled exactly as a [`Gcra`](crate::Gcra) of its own would be: FIFO per
/// key, weighted, cancellable. A key whose whole burst is available again is *idle*, and the
/// limiter forgets it lazily when it needs the room, which changes no answer. When all `N`
/// slots hold busy keys, a new key is refused with [`Error::TableFull`] (the default) or the
/// key that becomes idle soonest is forgotten ([`WhenFull::Forget`]).
///
/// `N` must be a power of two, at least 2 (a rule of `heapless`'s map). Any other `N` is
/// refused when the program is compiled, with this message:
///
/// ```compile_fail
/// # use pacer_core::{KeyedGcra, Quota};
/// # let quota = Quota::per_second(10)?;
/// let one_destination = KeyedGcra::<u8, 1>::new(quota);
/// // error[E0080]: evaluation panicked: KeyedGcra<K, N> needs N to be a power of two, at
/// // least 2: for a single key use a Gcra (or an AtomicLimiter), which needs no table
/// # Ok::<(), pacer_core::Error>(())
/// ```
///
/// For a single key there is nothing to look up: use a [`Gcra`](crate::Gcra) (or a shared
/// [`AtomicLimiter`](crate::AtomicLimiter)), which keeps the same schedule in one instant. Readings of the clock clamp to the latest this limiter has seen for
/// any key. Methods that only look ([`earliest`](KeyedGcra::earliest),
/// [`snapshot`](KeyedGcra::snapshot)) take `&mut self` because they may tidy the order in
/// which keys are forgotten; their answers change nothing.
///
/// To share it between tasks or interrupts, put it in a [`Locked`](crate::Locked), which is a
/// [`KeyedRateLimiter`](crate::KeyedRateLimiter).
///
/// `P` (0 unless given) is how many keys can be paused one by one at once, through a
/// [`Pausable`](crate::Pausable)`<`[`Locked`](crate::Locked)`<KeyedGcra<K, N, P>>>`
/// ([`PauseKey`](crate::PauseKey)): the pause records sit beside the keys, `P` of them, each
/// the key and 32 bytes (40 for a `u8` key), none at all for `P = 0`, searched in order (a few keys, for a pause of one destination of a
/// radio or one upstream of a gateway). One more paused key is refused with
/// [`Error::PausedKeysFull`]; with `P = 0` every pause of one key is.
///
/// ```
/// use pacer_core::{KeyedGcra, KeyedRateLimiter, Locked, Pausable, PauseKey, Quota};
///
/// const MS: u64 = 1_000_000;
/// // 10 sends per second to each of up to 8 destinations, up to 2 of them paused at once.
/// let radio = Pausable::new(Locked::new(KeyedGcra::<u8, 8, 2>::new(Quota::per_second(10)?)));
/// radio.reserve(&1, 0, 1)?;
/// radio.pause_key_until(&1, 0, 500 * MS)?; // node 1 said: busy for 500 ms
/// assert_eq!(radio.earliest(&1, 0, 1)?, 600 * MS); // its next cell, moved by 500 ms
/// assert_eq!(radio.earliest(&2, 0, 1)?, 0); // node 2 is not paused
/// # Ok::<(), pacer_core::Error>(())
/// ```
///
/// ```
/// use pacer_core::{KeyedGcra, Quota};
///
/// // 10 sends per second to each of up to 8 radio destinations.
/// let mut radio = KeyedGcra::<u8, 8>::new(Quota::per_second(10)?);
/// assert_eq!(radio.reserve(&1, 0, 1)?.at(), 0);
/// assert_eq!(radio.reserve(&1, 0, 1)?.at(), 100_000_000); // node 1 waits 100 ms
/// assert_eq!(radio.reserve(&2, 0, 1)?.at(), 0); // node 2 has its own limit
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyedGcra<K, const N: usize, const P: usize = 0> {
    table: Table<Fixed<K, N>, heapless::Vec<Item, N>>,
    /// The pause records of paused keys (see `key_pause.rs`); nothing at all when `P = 0`.
    pauses: [Option<(K, KeyPause)>; P],
}

impl<K: Hash + Eq + Clone, const N: usize, const P: usize> KeyedGcra<K, N, P> {
    /// A limiter for `quota` per key, with room for `N` keys, all idle, origin at instant 0.
    pub const fn new(quota: Quota) -> Self {
        const {
            assert!(
                N >= 2 && N.is_power_of_two(),
                "KeyedGcra<K, N> needs N to be a power of two, at least 2: for a single key use \
                 a Gcra (or an AtomicLimiter), which needs no table"
            );
        }
        KeyedGcra {
            table: Table::new(
                quota,
                Fixed {
                    map: IndexMap::new(),
                },
                heapless::Vec::new(),
            ),
            pauses: [const { None }; P],
        }
    }

    /// The same limiter, answering a new key for which there is no room by `when_full`.
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.table.set_when_full(when_full);
        self
    }

    /// The quota every key has.
    pub fn quota(&self) -> Quota {
        self.table.quota()
    }

    /// The policy for a new key when every slot is busy.
    pub fn full_policy(&self) -> WhenFull {
        self.table.when_full()
    }

    /// Keys held now (busy, or idle and not yet forgotten).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys held at once: `N`.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The most keys paused one by one at once: `P`.
    pub fn paused_keys(&self) -> usize {
        P
    }

    /// Reserves `cells` cells for `key` at its earliest permitted instant `at >= now`, unless
    /// that is later than `now + max_wait`.
    ///
    /// The same contract as [`Scheduler::reserve_within`](crate::Scheduler::reserve_within),
    /// per key. A key not held yet needs a slot: without one it fails with
    /// [`Error::TableFull`] (under [`WhenFull::Refuse`]), whatever `max_wait`.
    pub fn reserve_within(
        &mut self,
        key: &K,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error> {
        if P == 0 {
            // No key can be paused: the decision is what it was before pauses of one key.
            return self
                .table
                .reserve_within(0, key, K::clone, now, cells, max_wait);
        }
        let mark = self.mark(key, now);
        self.table
            .reserve_from(0, key, K::clone, now, mark.not_before, cells, max_wait)
            .map(|reservation| key_pause::stamped(reservation, mark.stamp))
    }

    /// Reserves `cells` cells for `key` at its earliest permitted instant, however far away.
    pub fn reserve(
        &mut self,
        key: &K,
        now: u64,
        cells: u32,
    ) -> Result<Reservation<KeyedToken>, Error> {
        self.reserve_within(key, now, cells, Duration::MAX)
    }

    /// Takes `cells` cells for `key` now, or fails with [`Error::WouldWait`] carrying the
    /// instant at which they could go (or [`Error::TableFull`]).
    pub fn try_acquire(
        &mut self,
        key: &K,
        now: u64,
        cells: u32,
    ) -> Result<Reservation<KeyedToken>, Error> {
        self.reserve_within(key, now, cells, Duration::ZERO)
    }

    /// The instant [`reserve`](KeyedGcra::reserve) would return for `key` at `now`, or its
    /// error, without recording anything.
    pub fn earliest(&mut self, key: &K, now: u64, cells: u32) -> Result<u64, Error> {
        let at = self.table.earliest(0, key, now, cells)?;
        // A paused key's cells go no earlier than its pause's end.
        match self.paused_until(key, now) {
            Some(until) if cells > 0 => Ok(at.max(until)),
            _ => Ok(at),
        }
    }

    /// Hands a reservation of `key` back at `now`; returns whether its cells were returned.
    /// The rules of [`Scheduler::cancel`](crate::Scheduler::cancel) apply per key; a
    /// reservation of a key that was forgotten since returns nothing.
    pub fn cancel(&mut self, key: &K, reservation: Reservation<KeyedToken>, now: u64) -> bool {
        self.table.cancel(0, key, reservation, now)
    }

    /// The remaining burst of `key` and the earliest instant for one of its cells, at `now`.
    /// A key with no slot to be had has nothing remaining until a slot frees.
    pub fn snapshot(&mut self, key: &K, now: u64) -> Snapshot {
        let snapshot = self.table.snapshot(0, key, now);
        match self.paused_until(key, now) {
            // While the key is paused, nothing of it goes now.
            Some(until) => Snapshot {
                remaining: 0,
                earliest: snapshot.earliest.max(until),
            },
            None => snapshot,
        }
    }

    /// Where a reservation of `key` stands at `now`: `None` once it has passed, else its
    /// instant, which a pause of the key may have moved (see
    /// [`RateLimiter::pending`](crate::RateLimiter::pending)).
    pub fn pending(
        &mut self,
        key: &K,
        reservation: &Reservation<KeyedToken>,
        now: u64,
    ) -> Option<u64> {
        let at = reservation.at();
        if reservation.cells() == 0 {
            return None;
        }
        match self.live(key, now) {
            Some(record) => record.pending(at, reservation.token().pause(), now),
            None => (now < at).then_some(at),
        }
    }

    /// Pauses `key` alone until `until`, at `now`: no cell of it goes before `until`, and every
    /// reservation of it not yet passed moves later by the time the pause stops the key's
    /// clock. Returns whether the pause changed anything; fails with
    /// [`Error::PausedKeysFull`] or [`Error::InstantOverflow`], changing nothing. Reached
    /// through [`Pausable`](crate::Pausable), which bounds the pause and keeps bounded waits.
    #[cfg(any(feature = "std", feature = "critical-section"))]
    pub(crate) fn pause_key(&mut self, key: &K, now: u64, until: u64) -> Result<bool, Error> {
        self.table.observe(now);
        let now = self.table.seen();
        let found = self.find(key);
        let current = found.and_then(|index| self.pauses[index].as_ref().map(|held| held.1));
        let mut free = None;
        // Record ids come from the table's generations, which do not come back soon either;
        // one taken for a pause that changes nothing is simply skipped.
        let id = table_id(&mut self.table);
        let (pauses, table) = (&mut self.pauses, &mut self.table);
        let room = || {
            free = pauses.iter().position(Option::is_none);
            if free.is_none() {
                // Settled records are no longer needed: their slots are free.
                for slot in pauses.iter_mut() {
                    if slot.as_ref().is_some_and(|(_, record)| record.settled(now)) {
                        *slot = None;
                    }
                }
                free = pauses.iter().position(Option::is_none);
            }
            match free {
                Some(_) => Ok(()),
                None => Err(Error::PausedKeysFull { capacity: P }),
            }
        };
        let new_id = || id;
        let shift = |added| table.shift_key(0, key, added);
        let Some(record) = KeyPause::paused(current, now, until, room, new_id, shift)? else {
            return Ok(false);
        };
        // A key with a record keeps its slot; one without takes the slot room found.
        if let Some(index) = found.or(free) {
            self.pauses[index] = Some((key.clone(), record));
        }
        Ok(true)
    }

    /// The slot of `key`'s pause record, if it has one.
    fn find(&self, key: &K) -> Option<usize> {
        self.pauses
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|(held, _)| held == key))
    }

    /// The end of `key`'s own pause, if it is paused at `now`.
    pub(crate) fn paused_until(&self, key: &K, now: u64) -> Option<u64> {
        let index = self.find(key)?;
        self.pauses[index]
            .as_ref()
            .map(|(_, record)| record.until())
            .filter(|&until| until > now)
    }

    /// The key's pause record, removing it instead when it is settled at `now`.
    fn live(&mut self, key: &K, now: u64) -> Option<KeyPause> {
        let index = self.find(key)?;
        let record = self.pauses[index].as_ref()?.1;
        if record.settled(now) {
            self.pauses[index] = None;
            return None;
        }
        Some(record)
    }

    /// What a reservation of `key` at `now` must respect.
    fn mark(&mut self, key: &K, now: u64) -> Mark {
        self.live(key, now)
            .map_or_else(Mark::default, |record| record.mark())
    }
}

impl<K: Hash + Eq + Clone, const N: usize, const P: usize> core::fmt::Debug for KeyedGcra<K, N, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyedGcra")
            .field("quota", &self.table.quota())
            .field("keys", &self.table.len())
            .field("capacity", &N)
            .field("paused_keys", &self.pauses.iter().flatten().count())
            .finish()
    }
}

/// A new pause record's id, from the table's generations (never 0, which stamps "none").
#[cfg(any(feature = "std", feature = "critical-section"))]
fn table_id<E: Entries, O: Items>(table: &mut Table<E, O>) -> NonZeroU32 {
    loop {
        if let Some(id) = NonZeroU32::new(table.take_generation()) {
            return id;
        }
    }
}

/// The table asks only for places below `len()`.
const IN_RANGE: &str = "keyed table place in range";

/// `heapless`'s index map, with FNV hashing, as [`Entries`]: places are indices, and a
/// removal moves the last entry into the gap.
#[derive(Clone)]
struct Fixed<K, const N: usize> {
    /// Each key's arrival time and slot.
    map: IndexMap<K, (u64, Slot), BuildHasherDefault<FnvHasher>, N>,
}

impl<K: Hash + Eq, const N: usize> Fixed<K, N> {
    fn slot_mut(&mut self, place: u32) -> &mut Slot {
        &mut self.map.get_index_mut(place as usize).expect(IN_RANGE).1.1
    }
}

impl<K: Hash + Eq + Clone, const N: usize> Entries for Fixed<K, N> {
    type Key = K;

    fn len(&self) -> usize {
        self.map.len()
    }

    fn capacity(&self) -> usize {
        N
    }

    fn find<Q>(&self, _hash: u64, key: &Q) -> Option<u32>
    where
        K: core::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_index_of(key).map(|index| index as u32)
    }

    fn slot(&self, place: u32) -> Slot {
        self.map.get_index(place as usize).expect(IN_RANGE).1.1
    }

    #[cfg(feature = "std")]
    fn set_generation(&mut self, place: u32, generation: u32) {
        self.slot_mut(place).generation = generation;
    }

    fn set_pos(&mut self, place: u32, pos: u32) {
        self.slot_mut(place).pos = pos;
    }

    fn tat(&self, place: u32) -> u64 {
        self.map.get_index(place as usize).expect(IN_RANGE).1.0
    }

    fn set_tat(&mut self, place: u32, tat: u64) {
        self.map.get_index_mut(place as usize).expect(IN_RANGE).1.0 = tat;
    }

    fn push(&mut self, _hash: u64, key: K, tat: u64, slot: Slot) -> (u32, bool) {
        let place = self.map.len() as u32;
        // Below capacity (the table's rule), so this cannot fail.
        let _ = self.map.insert(key, (tat, slot));
        (place, false)
    }

    fn remove(&mut self, place: u32, moved: &mut impl FnMut(u32, u32)) {
        let Some((key, _)) = self.map.get_index(place as usize) else {
            return;
        };
        let key = key.clone();
        self.map.swap_remove(&key);
        // The last entry, if it was not this one, fills the gap.
        if (place as usize) < self.map.len() {
            moved(self.slot(place).pos, place);
        }
    }

    fn for_each_place(&self, mut f: impl FnMut(u32)) {
        (0..self.map.len() as u32).for_each(&mut f);
    }
}

impl<const N: usize> Items for heapless::Vec<Item, N> {
    fn items(&self) -> &[Item] {
        self
    }

    fn items_mut(&mut self) -> &mut [Item] {
        self
    }

    fn push_item(&mut self, item: Item) {
        // Below capacity (one item per entry), so this cannot fail.
        let _ = self.push(item);
    }

    fn pop_item(&mut self) -> Option<Item> {
        self.pop()
    }
}
