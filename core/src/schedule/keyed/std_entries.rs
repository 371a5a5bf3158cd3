//! `Inline<K>`: a keyed table's entries on the heap, stored in the buckets of a `hashbrown`
//! table sized once and never grown.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::sync::atomic::{AtomicU64, Ordering};

use hashbrown::{DefaultHashBuilder, HashTable};

use super::entries::{Entries, Slot};
use super::order::{Item, Items};

/// One key, its arrival time and its slot, in a bucket of the table: 24 bytes for a `u64`
/// key. The arrival time is atomic so that a decision on a key already present can move it
/// under the shard's shared (read) lock; every other change is made under the exclusive one.
#[derive(Debug)]
struct Entry<K> {
    key: K,
    tat: AtomicU64,
    slot: Slot,
}

/// Entries kept in the buckets of a `hashbrown::HashTable`: a lookup is one probe that finds
/// the key and its arrival time together, with one hash computed by the caller.
///
/// Places are bucket indices. Buckets move only when `hashbrown` rehashes in place, which it
/// may do on an insert that finds no growth left (to clear the tombstones removals leave);
/// such an insert says so.
#[derive(Debug)]
pub(crate) struct Inline<K> {
    table: HashTable<Entry<K>>,
    hasher: DefaultHashBuilder,
    capacity: usize,
}

impl<K> Inline<K> {
    /// Room for `capacity` keys, allocated now; `hasher` is the one the caller hashes with.
    ///
    /// The table gets room for twice as many: `hashbrown` clears tombstones by rehashing in
    /// place (without allocating) only while the table is at most half full; fuller, it would
    /// allocate a larger table.
    pub(crate) fn new(capacity: usize, hasher: DefaultHashBuilder) -> Self {
        Inline {
            table: HashTable::with_capacity(capacity.saturating_mul(2)),
            hasher,
            capacity,
        }
    }

    /// The atomic arrival time of the entry at `place`, for a decision under the shared lock.
    #[inline]
    pub(crate) fn tat_cell(&self, place: u32) -> &AtomicU64 {
        &self.table.get_bucket(place as usize).expect(PRESENT).tat
    }

    /// Bytes allocated for the entries (for tests of the memory bound).
    pub(crate) fn allocated(&self) -> usize {
        self.table.allocation_size()
    }
}

/// The table asks only for places of entries that are present.
const PRESENT: &str = "keyed table place of a present entry";

impl<K: Hash + Eq> Entries for Inline<K> {
    type Key = K;

    fn len(&self) -> usize {
        self.table.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.table
            .find_bucket_index(hash, |entry| entry.key.borrow() == key)
            .map(|place| place as u32)
    }

    #[inline]
    fn slot(&self, place: u32) -> &Slot {
        &self.table.get_bucket(place as usize).expect(PRESENT).slot
    }

    #[inline]
    fn slot_mut(&mut self, place: u32) -> &mut Slot {
        &mut self
            .table
            .get_bucket_mut(place as usize)
            .expect(PRESENT)
            .slot
    }

    #[inline]
    fn tat(&self, place: u32) -> u64 {
        self.tat_cell(place).load(Ordering::Acquire)
    }

    #[inline]
    fn set_tat(&mut self, place: u32, tat: u64) {
        *self
            .table
            .get_bucket_mut(place as usize)
            .expect(PRESENT)
            .tat
            .get_mut() = tat;
    }

    fn push(&mut self, hash: u64, key: K, tat: u64, slot: Slot) -> (u32, bool) {
        // With no growth left, hashbrown may rehash in place to clear tombstones.
        let may_move = self.table.capacity() == self.table.len();
        let hasher = &self.hasher;
        let place = self
            .table
            .insert_unique(
                hash,
                Entry {
                    key,
                    tat: AtomicU64::new(tat),
                    slot,
                },
                |entry| hasher.hash_one(&entry.key),
            )
            .bucket_index();
        (place as u32, may_move)
    }

    fn remove(&mut self, place: u32) -> bool {
        if let Ok(entry) = self.table.get_bucket_entry(place as usize) {
            entry.remove();
        }
        false
    }

    fn for_each_place(&self, mut f: impl FnMut(u32)) {
        for place in self.table.iter_buckets() {
            f(place as u32);
        }
    }
}

impl Items for Vec<Item> {
    fn items(&self) -> &[Item] {
        self
    }

    fn items_mut(&mut self) -> &mut [Item] {
        self
    }

    fn push_item(&mut self, item: Item) {
        self.push(item);
    }

    fn pop_item(&mut self) -> Option<Item> {
        self.pop()
    }
}
