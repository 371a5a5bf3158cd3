//! `ShardedKeyedGcra<K>`: a keyed limit shared by many threads, its capacity chosen at run
//! time and split over shards, each behind its own short lock.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use foldhash::quality::RandomState;

use super::entries::Entries;
use super::key_pause::{KeyPauses, stamped};
use super::order::Item;
use super::std_entries::{Inline, MAX_CAPACITY, buckets_for};
use super::table::{KeyedToken, Table};
use super::when_full::WhenFull;
use crate::KeyedRateLimiter;
use crate::reservation::deadline;
use crate::schedule::gcra::{advance, earliest_at, peek, remaining};
use crate::{Error, Quota, Reservation, Snapshot};

/// The fewest keys a default shard holds: below this, fewer shards.
const MIN_KEYS_PER_SHARD: usize = 64;

/// The most shards chosen by default.
const MAX_DEFAULT_SHARDS: usize = 1024;

/// One quota, one independent limit per key, for many threads at once, in memory fixed when
/// it is made.
///
/// The keys are spread by their hash over shards, each a table of its own behind its own
/// reader-writer lock. A decision for a key already held takes the shard's lock *shared*:
/// one lookup, then the key's arrival time moves by a compare-and-swap, as a lone
/// [`AtomicLimiter`](crate::AtomicLimiter)'s does; so decisions never wait for one another,
/// even on one shard, even when a thread holding the lock is descheduled. It is O(1) and
/// allocates nothing. A new key, a cancel or a change of quota takes the lock exclusively,
/// never across an `.await`. Idle keys are forgotten lazily, when their shard needs the room,
/// at the cost of a step of a binary heap (O(log n) in the shard's keys); there is no
/// background task or thread.
///
/// A key's shard is fixed by its hash, and each shard has room for an even share of the
/// capacity plus a margin for the unevenness of hashing: three standard deviations of its
/// share of random keys. So the limiter holds at least the capacity asked for, and when as
/// many keys as that are busy, any one shard has its margin overrun with a probability of
/// about 0.13% (the normal tail beyond three deviations). A shard is full only when it holds
/// its room of busy keys; a new key of a full shard is answered by the [`WhenFull`] policy.
/// One shard ([`with_shards`](ShardedKeyedGcra::with_shards)) makes the capacity exact over
/// all keys.
///
/// Every key is scheduled exactly as a [`Gcra`](crate::Gcra) of its own would be. Readings of
/// the clock clamp to the latest its shard has seen (a key stays in one shard, so a forgotten
/// key's next cell never goes before its last): a decision reads the key's arrival time and
/// then the shard's latest reading, so one that follows another on the same key always sees
/// that one's reading or a later one.
///
/// Keys are looked up by any borrowed form (`&str` for `String` keys), hashed once per
/// decision with `foldhash`'s quality variant (seeded at random per limiter), for the shard
/// and the bucket both. Its fast variant is one multiplication for an integer key, and under
/// some of its random seeds keys in a row (user ids, addresses) crowded one shard past its
/// room while the limiter was three quarters empty.
/// A shard's keys sit in one array of buckets at most three quarters full, each holding the
/// key, its arrival time, its generation and a tag of its hash together (24 bytes for a `u64`
/// key): a decision on a key already held usually reads one cache line of the table (see
/// `BENCHMARKS.md`, "Keyed limits").
///
/// ```
/// use pacer_core::{KeyedRateLimiter, Quota, ShardedKeyedGcra};
///
/// // 2 requests per second per client, for up to 100,000 clients at once.
/// let limiter = ShardedKeyedGcra::<String>::new(Quota::per_second(2)?, 100_000)?;
/// assert_eq!(limiter.reserve("alice", 0, 1)?.at(), 0);
/// assert_eq!(limiter.reserve("alice", 0, 1)?.at(), 500_000_000);
/// assert_eq!(limiter.reserve("bob", 0, 1)?.at(), 0);
/// assert!(limiter.capacity() >= 100_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
pub struct ShardedKeyedGcra<K> {
    hasher: RandomState,
    shards: Box<[Shard<K>]>,
    /// The pauses of single keys (see `key_pause.rs`).
    pauses: KeyPauses<K>,
}

/// The most keys paused at once by default, or the capacity if smaller.
const DEFAULT_PAUSED_KEYS: usize = 64;

/// One shard on cache lines of its own, so that locks of neighbouring shards do not share
/// one; the latest reading and the lock's word, which every decision touches, come first, on
/// one line.
#[repr(C, align(128))]
struct Shard<K> {
    /// The latest clock reading seen by a decision of this shard (the table's own `seen` is
    /// brought up to it whenever the table is locked exclusively, and back).
    seen: AtomicU64,
    table: RwLock<Table<Inline<K>, Vec<Item>>>,
}

impl<K: Hash + Eq> ShardedKeyedGcra<K> {
    /// A limiter for `quota` per key, with room for at least `capacity` keys, over a number
    /// of shards chosen for this machine: at least eight per core where each can hold 64
    /// keys, and among up to twice that many, the number whose tables take the least memory.
    ///
    /// Fails with [`Error::ZeroCapacity`] for a capacity of zero.
    pub fn new(quota: Quota, capacity: usize) -> Result<Self, Error> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let least = cores
            .saturating_mul(8)
            .min(MAX_DEFAULT_SHARDS)
            .min(capacity / MIN_KEYS_PER_SHARD)
            .max(1);
        let shards = (least..=2 * least)
            .min_by_key(|&shards| shards * buckets_for(room(capacity, shards)))
            .unwrap_or(least);
        Self::with_shards(quota, capacity, shards)
    }

    /// A limiter for `quota` per key, with room for at least `capacity` keys, over `shards`
    /// shards. Each shard has room for `capacity / shards` keys, rounded up, and with more
    /// than one shard a margin of three times the square root of that. One shard makes the
    /// capacity exact over all keys, at the cost of one lock for all threads.
    ///
    /// Fails with [`Error::ZeroCapacity`] for a capacity of zero, and treats zero shards as
    /// one. A capacity above 805,306,368 keys per shard is spread over more shards.
    pub fn with_shards(quota: Quota, capacity: usize, shards: usize) -> Result<Self, Error> {
        if capacity == 0 {
            return Err(Error::ZeroCapacity);
        }
        // More than a shard holds goes to more shards; more shards than keys would leave some
        // empty.
        let capacity = capacity.min(u32::MAX as usize);
        let shards = shards.clamp(capacity.div_ceil(MAX_CAPACITY / 2).max(1), capacity);
        let per_shard = room(capacity, shards);
        let hasher = RandomState::default();
        let shards: Box<[Shard<K>]> = (0..shards)
            .map(|_| {
                let table =
                    Table::new(quota, Inline::new(per_shard), Vec::with_capacity(per_shard));
                Shard {
                    seen: AtomicU64::new(0),
                    table: RwLock::new(table),
                }
            })
            .collect();
        Ok(ShardedKeyedGcra {
            hasher,
            shards,
            pauses: KeyPauses::new(DEFAULT_PAUSED_KEYS.min(capacity)),
        })
    }

    /// The same limiter, answering a new key for which its shard has no room by `when_full`.
    pub fn when_full(self, when_full: WhenFull) -> Self {
        for shard in self.shards.iter() {
            shard.write(|table| table.set_when_full(when_full));
        }
        self
    }

    /// The same limiter, keeping pause records for up to `paused_keys` keys at once (64 by
    /// default, or the capacity if smaller) for the pauses of single keys made through a
    /// [`Pausable`](crate::Pausable) ([`PauseKey`](crate::PauseKey)). The records are
    /// allocated here, in `hashbrown` buckets of `size_of::<K>() + 33` bytes for twice as many
    /// keys (so that removals never make it allocate), a power of two at most 7/8 full: 10,512
    /// bytes for 64 `u64` keys (see
    /// [`allocated_bytes`](ShardedKeyedGcra::allocated_bytes)). Zero turns pauses of single
    /// keys off (each is refused with [`Error::PausedKeysFull`]).
    pub fn with_paused_keys(mut self, paused_keys: usize) -> Self {
        self.pauses = KeyPauses::new(paused_keys);
        self
    }

    /// The most keys that can be paused one by one at once.
    pub fn paused_keys(&self) -> usize {
        self.pauses.capacity()
    }

    /// The quota every key has.
    pub fn quota(&self) -> Quota {
        self.shards[0].read().quota()
    }

    /// The policy for a new key when its shard is full of busy keys.
    pub fn full_policy(&self) -> WhenFull {
        self.shards[0].read().when_full()
    }

    /// The most keys held at once, over all shards: the capacity asked for, with each shard's
    /// margin.
    pub fn capacity(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read().capacity())
            .sum()
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Keys held now (busy, or idle and not yet forgotten), over all shards. Each shard is
    /// counted under its own lock, so with other threads at work this is a moment's estimate.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this limiter allocated for its keys and its keys' pause records, fixed when it
    /// was made (the keys' own heap data, such as a `String`'s bytes, not included).
    pub fn allocated_bytes(&self) -> usize {
        let shards = self.shards.len() * core::mem::size_of::<Shard<K>>();
        let tables: usize = self
            .shards
            .iter()
            .map(|shard| {
                let table = shard.read();
                table.entries().allocated() + table.capacity() * core::mem::size_of::<Item>()
            })
            .sum();
        shards + tables + self.pauses.allocated()
    }

    /// Changes every key's quota at `now`. Each key's arrival time carries over as a lone
    /// [`Gcra`](crate::Gcra)'s does in [`Gcra::set_quota`](crate::Gcra::set_quota):
    /// reservations already made keep their instants, new ones follow the new quota after
    /// them, and no reservation made before the change can be cancelled after it.
    ///
    /// Every shard is locked for the change (all at once, so no decision sees two quotas),
    /// which takes time in proportion to the keys held: a change is for an operator, not for
    /// every request. Fails with [`Error::InstantOverflow`] where an arrival time cannot be
    /// carried over, and then changes nothing.
    ///
    /// ```
    /// use pacer_core::{KeyedRateLimiter, Quota, ShardedKeyedGcra};
    ///
    /// let limiter = ShardedKeyedGcra::<u32>::new(Quota::per_second(1)?, 100)?;
    /// assert_eq!(limiter.reserve(&7, 0, 1)?.at(), 0);
    /// limiter.set_quota(0, Quota::per_second(10)?)?;
    /// // Key 7's last cell still occupies the bucket at the new rate's spacing.
    /// assert_eq!(limiter.reserve(&7, 0, 1)?.at(), 100_000_000);
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn set_quota(&self, now: u64, quota: Quota) -> Result<(), Error> {
        let mut tables: Vec<_> = self.shards.iter().map(Shard::lock).collect();
        for (shard, table) in self.shards.iter().zip(tables.iter_mut()) {
            table.observe(shard.seen.load(Ordering::Relaxed));
            table.check_quota(now, &quota)?;
        }
        for (shard, table) in self.shards.iter().zip(tables.iter_mut()) {
            table.set_quota(now, quota)?;
            shard.seen.fetch_max(table.seen(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Reserves `cells` cells for `key` at its earliest permitted instant or at `not_before`,
    /// whichever is later, unless that is later than `now + max_wait`
    /// ([`Error::WouldWait`], nothing recorded).
    ///
    /// The key's cells are recorded at the instant returned, and the limiter's clock reads
    /// only `now`, so other keys are not held back. This is how one decision goes at the
    /// instant several limits allow together: ask each for [`earliest`](KeyedRateLimiter::earliest),
    /// then reserve on each at the latest of them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{KeyedRateLimiter, Quota, ShardedKeyedGcra};
    ///
    /// let limiter = ShardedKeyedGcra::<u32>::new(Quota::per_second(10)?, 100)?;
    /// let r = limiter.reserve_from(&1, 0, 250_000_000, 1, Duration::MAX)?;
    /// assert_eq!(r.at(), 250_000_000);
    /// assert_eq!(limiter.earliest(&1, 0, 1)?, 350_000_000); // spaced from where it went
    /// assert_eq!(limiter.earliest(&2, 0, 1)?, 0); // other keys are not held back
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn reserve_from<Q>(
        &self,
        key: &Q,
        now: u64,
        not_before: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        if cells > 0 {
            let table = shard.read();
            if let Some(place) = table.entries().find(hash, key) {
                // Under the shard's lock, which a pause of the key holds exclusively.
                let mark = self.pauses.mark(key, now);
                return shard
                    .reserve_held(
                        &table,
                        place,
                        now,
                        not_before.max(mark.not_before),
                        cells,
                        max_wait,
                    )
                    .map(|reservation| stamped(reservation, mark.stamp));
            }
        }
        shard.write(|table| {
            let mark = self.pauses.mark(key, now);
            let not_before = not_before.max(mark.not_before);
            table
                .reserve_from(hash, key, Q::to_owned, now, not_before, cells, max_wait)
                .map(|reservation| stamped(reservation, mark.stamp))
        })
    }

    /// Pauses `key` alone until `until`, at `now`: no cell of it goes before `until`, and
    /// every reservation of it not yet passed moves later by the time the pause stops the
    /// key's clock (see `key_pause.rs`). Returns whether the pause changed anything; fails
    /// with [`Error::PausedKeysFull`] or [`Error::InstantOverflow`], changing nothing.
    pub(crate) fn pause_key<Q>(&self, key: &Q, now: u64, until: u64) -> Result<bool, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        shard.write(|table| {
            table.observe(now);
            let now = table.seen();
            self.pauses
                .pause(key, now, until, |added| table.shift_key(hash, key, added))
        })
    }

    /// The end of `key`'s own pause, if it is paused at `now`.
    pub(crate) fn key_paused_until<Q>(&self, key: &Q, now: u64) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.pauses.paused_until(key, now)
    }

    /// The hash of `key` and the shard it lives in.
    #[inline]
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> (u64, &Shard<K>) {
        let hash = self.hasher.hash_one(key);
        // Not the low 31 bits, which pick the key's bucket in its shard: the 32 bits below the
        // top 7, scaled to the shard count.
        let bits = (hash >> 25) as u32 as u64;
        let index = ((bits * self.shards.len() as u64) >> 32) as usize;
        (hash, &self.shards[index])
    }
}

/// Room in each of `shards` shards for `capacity` keys: an even share, and with more than
/// one shard a margin for the unevenness of hashing.
fn room(capacity: usize, shards: usize) -> usize {
    let share = capacity.div_ceil(shards);
    if shards == 1 {
        share
    } else {
        share + 3 * share.isqrt() + 1
    }
}

type ShardTable<K> = Table<Inline<K>, Vec<Item>>;

impl<K: Hash + Eq> Shard<K> {
    // A panic inside a decision leaves the table as it was before or after that decision
    // (no step of one leaves it broken for the next), so a poisoned lock is taken over.
    fn read(&self) -> RwLockReadGuard<'_, ShardTable<K>> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The table, locked exclusively, its clock brought up to the shard's latest reading.
    fn lock(&self) -> RwLockWriteGuard<'_, ShardTable<K>> {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        table.observe(self.seen.load(Ordering::Relaxed));
        table
    }

    /// Runs `f` on the table locked exclusively, keeping the shard's latest reading.
    fn write<R>(&self, f: impl FnOnce(&mut ShardTable<K>) -> R) -> R {
        let mut table = self.lock();
        let result = f(&mut table);
        self.seen.fetch_max(table.seen(), Ordering::Relaxed);
        result
    }

    /// The latest reading, `now` or one seen before it, recorded.
    #[inline]
    fn clamp(&self, now: u64) -> u64 {
        let seen = self.seen.load(Ordering::Relaxed);
        if now > seen {
            self.seen.fetch_max(now, Ordering::Relaxed);
        }
        now.max(seen)
    }

    /// A reservation of a key already held, at `place`, under the shared lock: the key's
    /// arrival time moves by compare-and-swap, exactly as the table would move it.
    #[inline]
    fn reserve_held(
        &self,
        table: &ShardTable<K>,
        place: u32,
        now: u64,
        not_before: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error> {
        // Recorded first, as the table records a reading even for a refused weight.
        self.clamp(now);
        let quota = table.quota();
        quota.check_weight(cells)?;
        let entries = table.entries();
        let cell = entries.tat_cell(place);
        let generation = entries.generation(place);
        loop {
            let tat = cell.load(Ordering::Acquire);
            // Read after the arrival time: a reservation of this key that came before ours
            // recorded its reading before it moved the arrival time, so we see that reading.
            let now = now.max(self.seen.load(Ordering::Relaxed));
            let at = earliest_at(&quota, tat, now.max(not_before), cells)?;
            if at > deadline(now, max_wait) {
                return Err(Error::WouldWait { at });
            }
            let after = advance(&quota, tat, at, cells)?;
            if cell
                .compare_exchange_weak(tat, after, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(Reservation::new(
                    at,
                    cells,
                    KeyedToken::new(tat, after, generation),
                ));
            }
        }
    }
}

impl<K, Q> KeyedRateLimiter<Q> for ShardedKeyedGcra<K>
where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    type Token = KeyedToken;

    #[inline]
    fn reserve_within(
        &self,
        key: &Q,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<KeyedToken>, Error> {
        self.reserve_from(key, now, 0, cells, max_wait)
    }

    fn earliest(&self, key: &Q, now: u64, cells: u32) -> Result<u64, Error> {
        let at = self.earliest_unpaused(key, now, cells)?;
        // A paused key's cells go no earlier than its pause's end (the arrival time already
        // holds its moved reservations).
        match self.pauses.paused_until(key, now) {
            Some(until) if cells > 0 => Ok(at.max(until)),
            _ => Ok(at),
        }
    }

    fn pending(
        &self,
        key: &Q,
        reservation: &Reservation<KeyedToken>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        let at = reservation.at();
        if reservation.cells() == 0 {
            return Ok(None);
        }
        let stamp = reservation.token().pause();
        match self.pauses.pending(key, at, stamp, now) {
            Some(moved) => Ok(moved),
            None => Ok((now < at).then_some(at)),
        }
    }

    fn cancel(&self, key: &Q, reservation: Reservation<KeyedToken>, now: u64) -> bool {
        let (hash, shard) = self.shard(key);
        shard.write(|table| table.cancel(hash, key, reservation, now))
    }

    fn snapshot(&self, key: &Q, now: u64) -> Snapshot {
        let snapshot = self.snapshot_unpaused(key, now);
        match self.pauses.paused_until(key, now) {
            // While the key is paused, nothing of it goes now.
            Some(until) => Snapshot {
                remaining: 0,
                earliest: snapshot.earliest.max(until),
            },
            None => snapshot,
        }
    }
}

impl<K: Hash + Eq> ShardedKeyedGcra<K> {
    fn earliest_unpaused<Q>(&self, key: &Q, now: u64, cells: u32) -> Result<u64, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        if cells > 0 {
            let table = shard.read();
            if let Some(place) = table.entries().find(hash, key) {
                let quota = table.quota();
                quota.check_weight(cells)?;
                let tat = table.entries().tat(place);
                let now = now.max(shard.seen.load(Ordering::Relaxed));
                return peek(&quota, tat, now, cells);
            }
        }
        shard.write(|table| table.earliest(hash, key, now, cells))
    }

    fn snapshot_unpaused<Q>(&self, key: &Q, now: u64) -> Snapshot
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        {
            let table = shard.read();
            if let Some(place) = table.entries().find(hash, key) {
                let quota = table.quota();
                let tat = table.entries().tat(place);
                let now = now.max(shard.seen.load(Ordering::Relaxed));
                return Snapshot {
                    remaining: remaining(&quota, tat, now),
                    earliest: peek(&quota, tat, now, 1).unwrap_or(u64::MAX),
                };
            }
        }
        shard.write(|table| table.snapshot(hash, key, now))
    }
}

impl<K: Hash + Eq> core::fmt::Debug for ShardedKeyedGcra<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShardedKeyedGcra")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}
