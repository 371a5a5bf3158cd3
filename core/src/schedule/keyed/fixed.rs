//! `KeyedGcra<K, N>`: a keyed limit for up to `N` keys at once, on `heapless`: `no_std`, no
//! allocation, its whole memory fixed at compile time.

use core::hash::Hash;
use core::time::Duration;

use hash32::{BuildHasherDefault, FnvHasher};
use heapless::index_map::IndexMap;

use super::entries::{Entries, Slot};
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
pub struct KeyedGcra<K, const N: usize> {
    table: Table<Fixed<K, N>, heapless::Vec<Item, N>>,
}

impl<K: Hash + Eq + Clone, const N: usize> KeyedGcra<K, N> {
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
        self.table
            .reserve_within(0, key, K::clone, now, cells, max_wait)
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
        self.table.earliest(0, key, now, cells)
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
        self.table.snapshot(0, key, now)
    }
}

impl<K: Hash + Eq + Clone, const N: usize> core::fmt::Debug for KeyedGcra<K, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyedGcra")
            .field("quota", &self.table.quota())
            .field("keys", &self.table.len())
            .field("capacity", &N)
            .finish()
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

    fn slot(&self, place: u32) -> &Slot {
        &self.map.get_index(place as usize).expect(IN_RANGE).1.1
    }

    fn slot_mut(&mut self, place: u32) -> &mut Slot {
        &mut self.map.get_index_mut(place as usize).expect(IN_RANGE).1.1
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
