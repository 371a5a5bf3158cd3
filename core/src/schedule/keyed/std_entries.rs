//! `Inline<K>`: a keyed table's entries on the heap, in one array of buckets probed linearly,
//! sized once and never grown.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::Hash;
use core::num::NonZeroU32;
use core::sync::atomic::{AtomicU64, Ordering};

use super::entries::{Entries, Slot};
use super::order::{Item, Items};

/// One key, its arrival time, its generation and a tag of its hash, in a bucket: what a
/// decision reads, 24 bytes for a `u64` key, emptiness included (an empty bucket is the
/// tag's zero, which no tag is). The arrival time is atomic so that a decision on a key
/// already present can move it under the shard's shared (read) lock; every other change is
/// made under the exclusive one. The entry's position in the order of forgetting, which only
/// those changes use, is kept beside the buckets, not in them.
#[derive(Debug)]
struct Entry<K> {
    key: K,
    tat: AtomicU64,
    generation: u32,
    tag: NonZeroU32,
}

/// The most keys one `Inline` holds: its buckets stay below 2³¹, so that a tag's low 31 bits
/// name the home bucket of its key.
pub(crate) const MAX_CAPACITY: usize = 3 << 29;

/// Entries kept in their buckets, found by linear probing from the bucket their hash names.
///
/// A lookup of a key present reads the buckets from its home on, usually one cache line,
/// which holds the key, its arrival time and its generation together; a tag (31 bits of the
/// hash) is compared before the key, so keys kept on the heap (`String`) are read only when
/// the tags match.
/// The buckets are at most three quarters full, so a run of full buckets stays short and ends
/// in an empty one.
///
/// A removal leaves no tombstone: the entries after it in its run that may move back do so
/// (backward-shift deletion), so the table never fills with the dead and never needs to be
/// rebuilt. Places are bucket indices; they change only for the entries such a removal moves,
/// and it says which.
#[derive(Debug)]
pub(crate) struct Inline<K> {
    buckets: Box<[Option<Entry<K>>]>,
    /// Each bucket's entry's position in the order of forgetting (meaningless for an empty
    /// bucket): kept apart, so that the buckets hold only what a decision reads.
    positions: Box<[u32]>,
    len: usize,
    capacity: usize,
}

impl<K> Inline<K> {
    /// Room for `capacity` keys (at most [`MAX_CAPACITY`]), allocated now.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        let buckets = core::iter::repeat_with(|| None)
            .take(buckets_for(capacity))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let positions = alloc::vec![0; buckets.len()].into_boxed_slice();
        Inline {
            buckets,
            positions,
            len: 0,
            capacity,
        }
    }

    /// The atomic arrival time of the entry at `place`, for a decision under the shared lock.
    #[inline]
    pub(crate) fn tat_cell(&self, place: u32) -> &AtomicU64 {
        &self.entry(place).tat
    }

    /// The generation of the entry at `place`, read from its bucket alone.
    #[inline]
    pub(crate) fn generation(&self, place: u32) -> u32 {
        self.entry(place).generation
    }

    /// Bytes allocated for the entries (for tests of the memory bound).
    pub(crate) fn allocated(&self) -> usize {
        self.buckets.len() * core::mem::size_of::<Option<Entry<K>>>()
            + self.positions.len() * core::mem::size_of::<u32>()
    }

    #[inline]
    fn entry(&self, place: u32) -> &Entry<K> {
        self.buckets[place as usize].as_ref().expect(PRESENT)
    }

    #[inline]
    fn entry_mut(&mut self, place: u32) -> &mut Entry<K> {
        self.buckets[place as usize].as_mut().expect(PRESENT)
    }

    /// The bucket after `index`, wrapping around.
    #[inline]
    fn next(&self, index: usize) -> usize {
        (index + 1) & (self.buckets.len() - 1)
    }

    /// The bucket a key with `tag` is looked for from.
    #[inline]
    fn home(&self, tag: NonZeroU32) -> usize {
        tag.get() as usize & (self.buckets.len() - 1)
    }
}

/// The buckets for room for `capacity` keys: a power of two, at least a third more than the
/// capacity (so at most three quarters full), and at least two (so never full).
pub(crate) fn buckets_for(capacity: usize) -> usize {
    capacity
        .saturating_add(capacity.div_ceil(3))
        .next_power_of_two()
        .max(2)
}

/// A key's tag: the low 31 bits of its hash (which name its home bucket) and a top bit set,
/// so that no tag is zero.
#[inline]
fn tag(hash: u64) -> NonZeroU32 {
    NonZeroU32::new(hash as u32 | 1 << 31).expect("the top bit is set")
}

/// The table asks only for places of entries that are present.
const PRESENT: &str = "keyed table place of a present entry";

impl<K: Hash + Eq> Entries for Inline<K> {
    type Key = K;

    fn len(&self) -> usize {
        self.len
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
        let tag = tag(hash);
        let mut index = self.home(tag);
        // A run ends in an empty bucket: there are more buckets than the capacity.
        while let Some(entry) = &self.buckets[index] {
            if entry.tag == tag && entry.key.borrow() == key {
                return Some(index as u32);
            }
            index = self.next(index);
        }
        None
    }

    #[inline]
    fn slot(&self, place: u32) -> Slot {
        Slot {
            generation: self.entry(place).generation,
            pos: self.positions[place as usize],
        }
    }

    #[inline]
    fn set_generation(&mut self, place: u32, generation: u32) {
        self.entry_mut(place).generation = generation;
    }

    #[inline]
    fn set_pos(&mut self, place: u32, pos: u32) {
        self.positions[place as usize] = pos;
    }

    #[inline]
    fn tat(&self, place: u32) -> u64 {
        self.tat_cell(place).load(Ordering::Acquire)
    }

    #[inline]
    fn set_tat(&mut self, place: u32, tat: u64) {
        *self.entry_mut(place).tat.get_mut() = tat;
    }

    fn push(&mut self, hash: u64, key: K, tat: u64, slot: Slot) -> (u32, bool) {
        let tag = tag(hash);
        let mut index = self.home(tag);
        while self.buckets[index].is_some() {
            index = self.next(index);
        }
        self.buckets[index] = Some(Entry {
            key,
            tat: AtomicU64::new(tat),
            generation: slot.generation,
            tag,
        });
        self.positions[index] = slot.pos;
        self.len += 1;
        (index as u32, false)
    }

    fn remove(&mut self, place: u32, moved: &mut impl FnMut(u32, u32)) {
        let mut hole = place as usize;
        if self.buckets[hole].take().is_none() {
            return;
        }
        self.len -= 1;
        let mask = self.buckets.len() - 1;
        let mut index = self.next(hole);
        while let Some(entry) = &self.buckets[index] {
            // The entry may fill the hole if the hole is between its home and where it is.
            let from_home = index.wrapping_sub(self.home(entry.tag)) & mask;
            let from_hole = index.wrapping_sub(hole) & mask;
            if from_home >= from_hole {
                let pos = self.positions[index];
                self.buckets[hole] = self.buckets[index].take();
                self.positions[hole] = pos;
                moved(pos, hole as u32);
                hole = index;
            }
            index = self.next(index);
        }
    }

    fn for_each_place(&self, mut f: impl FnMut(u32)) {
        for (index, bucket) in self.buckets.iter().enumerate() {
            if bucket.is_some() {
                f(index as u32);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(pos: u32) -> Slot {
        Slot { generation: 0, pos }
    }

    /// Every key present is found at a place that holds it, and absent keys are not found.
    fn check(table: &Inline<u64>, hashes: &[(u64, u64)], present: &[bool]) {
        for (&(key, hash), &here) in hashes.iter().zip(present) {
            match table.find(hash, &key) {
                Some(place) => {
                    assert!(here, "key {key} found after its removal");
                    assert_eq!(table.entry(place).key, key);
                }
                None => assert!(!here, "key {key} lost"),
            }
        }
    }

    #[test]
    fn removals_shift_back_and_report_every_move() {
        // Hashes chosen to collide on few homes, so runs wrap around and interleave.
        let mut table = Inline::<u64>::new(12);
        assert_eq!(table.buckets.len(), 16);
        let hashes: Vec<(u64, u64)> = (0..12u64).map(|k| (k, (k * 7) % 3 + 14)).collect();
        let mut places = Vec::new();
        for (pos, &(key, hash)) in hashes.iter().enumerate() {
            let (place, moved_all) = table.push(hash, key, key, slot(pos as u32));
            assert!(!moved_all);
            places.push(place);
        }
        let mut present = [true; 12];
        check(&table, &hashes, &present);
        for victim in [0usize, 5, 11, 3, 8] {
            let mut moves = Vec::new();
            table.remove(places[victim], &mut |pos, place| moves.push((pos, place)));
            present[victim] = false;
            for (pos, place) in moves {
                places[pos as usize] = place;
                assert_eq!(table.slot(place).pos, pos);
            }
            check(&table, &hashes, &present);
            for (key, &here) in present.iter().enumerate() {
                if here {
                    assert_eq!(
                        table.entry(places[key]).key,
                        key as u64,
                        "a place gone stale"
                    );
                }
            }
        }
        assert_eq!(table.len(), 7);
    }

    #[test]
    fn sizes() {
        assert_eq!(buckets_for(0), 2);
        assert_eq!(buckets_for(1), 2);
        assert_eq!(buckets_for(3), 4);
        assert_eq!(buckets_for(4), 8);
        assert_eq!(buckets_for(96), 128);
        assert_eq!(buckets_for(97), 256);
        assert_eq!(core::mem::size_of::<Option<Entry<u64>>>(), 24);
        assert!(buckets_for(MAX_CAPACITY) <= 1 << 31);
    }
}
