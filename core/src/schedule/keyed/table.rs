//! `Table`: the keyed GCRA itself, on any [`Entries`] and [`Items`] storage.
//!
//! Each key's state is one arrival time, kept with the same arithmetic as [`Gcra`](crate::Gcra)
//! under one quota for all keys. A decision on a key already present is a lookup and that
//! arithmetic, nothing more. A new key takes a free slot, or the slot of an idle key, or, when
//! every key is busy, what the [`WhenFull`] policy says.
//!
//! # Idle
//!
//! A key is idle at `now` when `TAT <= arrival_units(now)`, the unit instant at which a cell
//! that goes at `now` is accounted. Then for every later reservation `max(TAT, at)` is `at`,
//! the earliest instant is `now`, and the whole burst remains: exactly a new key's answers.
//! The first nanosecond at which a key with arrival time `TAT > 0` is idle is
//! `ceil((TAT - 1) · period / D) + 1` (see [`idle_at`]).

use core::borrow::Borrow;
use core::hash::Hash;
use core::time::Duration;

use super::entries::{Entries, Slot};
use super::order::{self, Item, Items};
use super::when_full::WhenFull;
use crate::reservation::deadline;
#[cfg(feature = "std")]
use crate::schedule::gcra::carry_over;
use crate::schedule::gcra::{advance, earliest_at, peek, remaining};
use crate::{Error, Quota, Reservation, Snapshot};

/// The cancel token of a keyed reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyedToken {
    before: u64,
    after: u64,
    generation: u32,
    /// The pause of the key under which the reservation was made (0: none), and how long that
    /// pause had stopped the key's clock then (see `key_pause.rs`).
    pause: u32,
    shift: u64,
}

impl KeyedToken {
    /// The token of a reservation that moved a key's arrival time from `before` to `after`,
    /// in the entry of generation `generation`.
    #[cfg(feature = "std")]
    pub(crate) fn new(before: u64, after: u64, generation: u32) -> Self {
        KeyedToken {
            before,
            after,
            generation,
            pause: 0,
            shift: 0,
        }
    }

    /// Records that the reservation was made under the pause `pause` of its key, which had
    /// stopped the key's clock for `shift` nanoseconds then.
    pub(crate) fn stamp(&mut self, pause: u32, shift: u64) {
        self.pause = pause;
        self.shift = shift;
    }

    /// The pause of the key under which the reservation was made (0: none), and its shift then.
    pub(crate) fn pause(&self) -> (u32, u64) {
        (self.pause, self.shift)
    }
}

impl Reservation<KeyedToken> {
    /// The remaining burst of the key and the earliest instant for one of its cells, at `now`,
    /// as this reservation left them under `quota` (the limiter's; later reservations of the
    /// key not counted): what a server tells the client whose request made it, without
    /// looking the key up again.
    ///
    /// ```
    /// use pacer_core::{KeyedRateLimiter, Quota, ShardedKeyedGcra};
    ///
    /// let quota = Quota::per_second(10)?.with_burst(3)?;
    /// let limiter = ShardedKeyedGcra::<u32>::new(quota, 100)?;
    /// let first = limiter.reserve(&1, 0, 1)?;
    /// assert_eq!(first.snapshot(&quota, 0).remaining, 2);
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn snapshot(&self, quota: &Quota, now: u64) -> Snapshot {
        let tat = self.token().after;
        Snapshot {
            remaining: remaining(quota, tat, now),
            earliest: peek(quota, tat, now, 1).unwrap_or(u64::MAX),
        }
    }
}

/// A keyed GCRA on storage `E` (the keys) and `O` (the order of forgetting).
#[derive(Clone, Debug)]
pub(crate) struct Table<E, O> {
    quota: Quota,
    when_full: WhenFull,
    /// The latest clock reading seen, by any key.
    seen: u64,
    /// The generation the next new entry gets.
    generation: u32,
    entries: E,
    order: O,
}

impl<E: Entries, O: Items> Table<E, O> {
    pub(crate) const fn new(quota: Quota, entries: E, order: O) -> Self {
        Table {
            quota,
            when_full: WhenFull::Refuse,
            seen: 0,
            generation: 0,
            entries,
            order,
        }
    }

    pub(crate) fn quota(&self) -> Quota {
        self.quota
    }

    pub(crate) fn set_when_full(&mut self, when_full: WhenFull) {
        self.when_full = when_full;
    }

    pub(crate) fn when_full(&self) -> WhenFull {
        self.when_full
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    #[cfg(feature = "std")]
    pub(crate) fn entries(&self) -> &E {
        &self.entries
    }

    fn now(&mut self, now: u64) -> u64 {
        self.seen = self.seen.max(now);
        self.seen
    }

    #[inline]
    pub(crate) fn reserve_within<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        to_owned: impl FnOnce(&Q) -> E::Key,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error>
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.reserve_from(hash, key, to_owned, now, 0, cells, max_wait)
    }

    /// [`reserve_within`](Table::reserve_within) at `not_before` or later: the cells are
    /// recorded at `max(earliest, not_before)`, while the table's clock reads only `now`
    /// (other keys are not held back). The maximum wait counts from `now`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn reserve_from<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        to_owned: impl FnOnce(&Q) -> E::Key,
        now: u64,
        not_before: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error>
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.now(now);
        if cells == 0 {
            let token = KeyedToken {
                before: 0,
                after: 0,
                generation: 0,
                pause: 0,
                shift: 0,
            };
            return Ok(Reservation::new(now, 0, token));
        }
        self.quota.check_weight(cells)?;
        let found = self.entries.find(hash, key);
        let (tat, generation) = match found {
            Some(place) => (self.entries.tat(place), self.entries.slot(place).generation),
            None => (0, self.generation),
        };
        let at = earliest_at(&self.quota, tat, now.max(not_before), cells)?;
        if at > deadline(now, max_wait) {
            return Err(Error::WouldWait { at });
        }
        let after = advance(&self.quota, tat, at, cells)?;
        match found {
            // The key's bound in the order stays a lower bound: arrival times only rise here.
            Some(place) => self.entries.set_tat(place, after),
            None => {
                self.make_room(now)?;
                self.insert(hash, to_owned(key), after);
            }
        }
        let token = KeyedToken {
            before: tat,
            after,
            generation,
            pause: 0,
            shift: 0,
        };
        Ok(Reservation::new(at, cells, token))
    }

    pub(crate) fn earliest<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        now: u64,
        cells: u32,
    ) -> Result<u64, Error>
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = now.max(self.seen);
        if cells == 0 {
            return Ok(now);
        }
        self.quota.check_weight(cells)?;
        match self.entries.find(hash, key) {
            Some(place) => peek(&self.quota, self.entries.tat(place), now, cells),
            None => {
                self.check_room(now)?;
                peek(&self.quota, 0, now, cells)
            }
        }
    }

    pub(crate) fn cancel<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        reservation: Reservation<KeyedToken>,
        now: u64,
    ) -> bool
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.now(now);
        if reservation.cells() == 0 || now >= reservation.at() {
            return false;
        }
        let token = *reservation.token();
        let Some(place) = self.entries.find(hash, key) else {
            return false; // forgotten: written off under `WhenFull::Forget`
        };
        let slot = self.entries.slot(place);
        if slot.generation != token.generation || self.entries.tat(place) != token.after {
            return false;
        }
        self.entries.set_tat(place, token.before);
        let pos = slot.pos as usize;
        // The only place an arrival time falls: its bound must fall with it.
        let items = self.order.items_mut();
        if token.before < items[pos].bound() {
            items[pos].set_bound(token.before);
            order::sift_up(items, pos, &mut moved(&mut self.entries));
        }
        true
    }

    pub(crate) fn snapshot<Q>(&mut self, hash: u64, key: &Q, now: u64) -> Snapshot
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = now.max(self.seen);
        let tat = match self.entries.find(hash, key) {
            Some(place) => self.entries.tat(place),
            None => match self.check_room(now) {
                Ok(()) => 0,
                Err(error) => {
                    return Snapshot {
                        remaining: 0,
                        earliest: error.earliest().unwrap_or(u64::MAX),
                    };
                }
            },
        };
        Snapshot {
            remaining: remaining(&self.quota, tat, now),
            earliest: peek(&self.quota, tat, now, 1).unwrap_or(u64::MAX),
        }
    }

    /// Whether a new key could be admitted at `now`, without forgetting anything yet.
    fn check_room(&mut self, now: u64) -> Result<(), Error> {
        if self.entries.len() < self.entries.capacity() || self.when_full == WhenFull::Forget {
            return Ok(());
        }
        let idle = self.idle_units(now);
        match self.soonest(idle) {
            Some(place) => self.refuse_unless_idle(place, idle),
            None => Err(Error::ZeroCapacity),
        }
    }

    /// Makes a free slot for a new key at `now`, by the policy.
    fn make_room(&mut self, now: u64) -> Result<(), Error> {
        if self.entries.len() < self.entries.capacity() {
            return Ok(());
        }
        let idle = self.idle_units(now);
        let place = self.soonest(idle).ok_or(Error::ZeroCapacity)?;
        if self.when_full == WhenFull::Refuse {
            self.refuse_unless_idle(place, idle)?;
        }
        self.remove(place);
        Ok(())
    }

    fn refuse_unless_idle(&self, place: u32, idle: u64) -> Result<(), Error> {
        let tat = self.entries.tat(place);
        if tat <= idle {
            return Ok(());
        }
        Err(Error::TableFull {
            at: idle_at(&self.quota, tat),
        })
    }

    /// The unit instant up to which arrival times are idle at `now`.
    fn idle_units(&self, now: u64) -> u64 {
        // Past the range of units every arrival time is behind `now`.
        self.quota.arrival_units(now).unwrap_or(u64::MAX)
    }

    /// The place of a key that is idle at `idle`, or failing one, of the key that becomes
    /// idle soonest. Bounds found stale on the way are made exact and sifted down; each was
    /// made stale by one earlier reservation, which pays for its repair.
    fn soonest(&mut self, idle: u64) -> Option<u32> {
        loop {
            let top = *self.order.items().first()?;
            let tat = self.entries.tat(top.entry);
            if tat <= idle || top.bound() == tat {
                return Some(top.entry);
            }
            let items = self.order.items_mut();
            items[0].set_bound(tat);
            order::sift_down(items, 0, &mut moved(&mut self.entries));
        }
    }

    fn insert(&mut self, hash: u64, key: E::Key, tat: u64) {
        let pos = self.order.items().len();
        let slot = Slot {
            generation: self.generation,
            pos: pos as u32,
        };
        self.generation = self.generation.wrapping_add(1);
        let (place, moved_all) = self.entries.push(hash, key, tat, slot);
        self.order.push_item(Item::new(tat, place));
        if moved_all {
            // Entries moved to other places: point every item at its entry's new place (each
            // entry still knows its item's position).
            let (entries, items) = (&self.entries, self.order.items_mut());
            entries.for_each_place(|place| {
                items[entries.slot(place).pos as usize].entry = place;
            });
            debug_assert!(
                self.order_matches_entries(),
                "order and entries out of step"
            );
        }
        order::sift_up(self.order.items_mut(), pos, &mut moved(&mut self.entries));
    }

    /// Whether every item points at an entry that says the item's position.
    fn order_matches_entries(&self) -> bool {
        let items = self.order.items();
        items.len() == self.entries.len()
            && items
                .iter()
                .enumerate()
                .all(|(pos, item)| self.entries.slot(item.entry).pos as usize == pos)
    }

    fn remove(&mut self, place: u32) {
        let pos = self.entries.slot(place).pos as usize;
        // Entries the removal moves: their items must point at their new places.
        let items = self.order.items_mut();
        self.entries
            .remove(place, &mut |pos, place| items[pos as usize].entry = place);
        order::remove(&mut self.order, pos, &mut moved(&mut self.entries));
    }
}

/// What only a table behind a lock uses (the sharded table with `std`, a paused `KeyedGcra`
/// in `Pausable<Locked<..>>`): its clock from outside, and the pause of one key.
#[cfg(any(feature = "std", feature = "critical-section"))]
impl<E: Entries, O: Items> Table<E, O> {
    /// Takes a generation, as a new entry would: a number that does not come back before
    /// 2^32 more are taken (a no_std table's pause records use them as ids).
    pub(crate) fn take_generation(&mut self) -> u32 {
        let generation = self.generation;
        self.generation = self.generation.wrapping_add(1);
        generation
    }

    /// The latest clock reading seen.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// Takes `seen` as a reading already seen (the sharded table keeps the latest reading of
    /// its lock-free decisions outside the table).
    pub(crate) fn observe(&mut self, seen: u64) {
        self.seen = self.seen.max(seen);
    }

    /// Moves `key`'s arrival time `added` nanoseconds later (rounded up to the quota's units,
    /// never less), for a pause of that key: every cell of it not yet gone moves by at least as
    /// much. Returns the nanosecond instant of the moved arrival time, or `None` when the key
    /// is not held (a new key's arrival time needs no move). Nothing changes on an error.
    pub(crate) fn shift_key<Q>(
        &mut self,
        hash: u64,
        key: &Q,
        added: u64,
    ) -> Result<Option<u64>, Error>
    where
        E::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(place) = self.entries.find(hash, key) else {
            return Ok(None);
        };
        let units = self.quota.nanos_to_units_ceil(added)?;
        let tat = self
            .entries
            .tat(place)
            .checked_add(units)
            .ok_or(Error::InstantOverflow)?;
        let at = self.quota.units_to_nanos_ceil(tat)?;
        // The key's bound in the order stays a lower bound: its arrival time only rises.
        self.entries.set_tat(place, tat);
        Ok(Some(at))
    }
}

/// A quota changed in place: only the sharded table (std) does.
#[cfg(feature = "std")]
impl<E: Entries, O: Items> Table<E, O> {
    /// Whether every key's arrival time can be carried over to `quota` at `now` (see
    /// [`set_quota`](Table::set_quota)); changes nothing but the clock.
    pub(crate) fn check_quota(&mut self, now: u64, quota: &Quota) -> Result<(), Error> {
        let now = self.now(now);
        for item in self.order.items() {
            carry_over(&self.quota, quota, self.entries.tat(item.entry), now, 0)?;
        }
        Ok(())
    }

    /// Changes every key's quota at `now`, each key's arrival time carried over as a lone
    /// GCRA's is (`Gcra::set_quota`): reservations already made keep their instants, new ones
    /// follow the new quota after them, and no receipt from before the change cancels
    /// anything. O(n) in the keys held. On an error nothing changes.
    pub(crate) fn set_quota(&mut self, now: u64, quota: Quota) -> Result<(), Error> {
        self.check_quota(now, &quota)?;
        let now = self.seen;
        let old = self.quota;
        for pos in 0..self.order.items().len() {
            let place = self.order.items()[pos].entry;
            // Checked above; the fallback (a full bucket at the end of time) never admits.
            let tat = carry_over(&old, &quota, self.entries.tat(place), now, 0).unwrap_or(u64::MAX);
            self.entries.set_tat(place, tat);
            self.entries.set_generation(place, self.generation);
            self.generation = self.generation.wrapping_add(1);
            self.order.items_mut()[pos].set_bound(tat);
        }
        self.quota = quota;
        // The bounds are exact now; restore the heap order over them.
        let len = self.order.items().len();
        for pos in (0..len / 2).rev() {
            order::sift_down(self.order.items_mut(), pos, &mut moved(&mut self.entries));
        }
        Ok(())
    }
}

/// Keeps each entry's position in the order as its item moves.
fn moved<E: Entries>(entries: &mut E) -> impl FnMut(u32, u32) + '_ {
    |place, pos| entries.set_pos(place, pos)
}

/// The first nanosecond at which a key with arrival time `tat` is idle: the smallest `t` with
/// `arrival_units(t) >= tat` (saturating at the end of time).
fn idle_at(quota: &Quota, tat: u64) -> u64 {
    match tat.checked_sub(1) {
        None => 0,
        Some(before) => quota
            .units_to_nanos_ceil(before)
            .map_or(u64::MAX, |ns| ns.saturating_add(1)),
    }
}
