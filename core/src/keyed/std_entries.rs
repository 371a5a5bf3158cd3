//! `Indexed<K>`: a keyed table's entries on the heap, in a `hashbrown` table of indices, sized
//! once and never grown.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::Hash;

use hashbrown::HashTable;

use super::entries::{Entries, Slot};
use super::order::{Item, Items};

/// One key, its hash (kept so the index never hashes a key again) and its slot.
#[derive(Debug)]
struct Entry<K> {
    hash: u64,
    key: K,
    slot: Slot,
}

/// Entries in a `Vec` of fixed capacity, found through a `hashbrown::HashTable` of their
/// indices: one hash per lookup, computed by the caller, and no allocation after `new`.
#[derive(Debug)]
pub(crate) struct Indexed<K> {
    index: HashTable<u32>,
    entries: Vec<Entry<K>>,
    capacity: usize,
}

impl<K> Indexed<K> {
    /// Room for `capacity` keys, allocated now.
    ///
    /// The index gets room for twice as many: a removal may leave a tombstone, and
    /// `hashbrown` then rehashes in place (without allocating) only while the table is at
    /// most half full.
    pub(crate) fn new(capacity: usize) -> Self {
        Indexed {
            index: HashTable::with_capacity(capacity.saturating_mul(2)),
            entries: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Bytes allocated for the entries and the index (for tests of the memory bound).
    pub(crate) fn allocated(&self) -> usize {
        self.index.allocation_size() + self.entries.capacity() * core::mem::size_of::<Entry<K>>()
    }
}

impl<K: Hash + Eq> Entries for Indexed<K> {
    type Key = K;

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = &self.entries;
        self.index
            .find(hash, |&i| entries[i as usize].key.borrow() == key)
            .map(|&i| i as usize)
    }

    #[inline]
    fn slot(&self, index: usize) -> &Slot {
        &self.entries[index].slot
    }

    #[inline]
    fn slot_mut(&mut self, index: usize) -> &mut Slot {
        &mut self.entries[index].slot
    }

    fn push(&mut self, hash: u64, key: K, slot: Slot) {
        let index = self.entries.len() as u32;
        self.entries.push(Entry { hash, key, slot });
        let entries = &self.entries;
        self.index
            .insert_unique(hash, index, |&i| entries[i as usize].hash);
    }

    fn swap_remove(&mut self, index: usize) {
        let hash = self.entries[index].hash;
        let wanted = index as u32;
        if let Ok(found) = self.index.find_entry(hash, |&i| i == wanted) {
            found.remove();
        }
        let last = self.entries.len() - 1;
        self.entries.swap_remove(index);
        if index != last {
            let moved = self.entries[index].hash;
            let last = last as u32;
            if let Some(i) = self.index.find_mut(moved, |&i| i == last) {
                *i = wanted;
            }
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
