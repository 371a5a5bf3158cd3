//! `Entries`: where a keyed table keeps its keys, with a capacity fixed when it is made.

use core::borrow::Borrow;
use core::hash::Hash;

/// What the table keeps for one key: its arrival time, the generation of its entry, and its
/// position in the order of forgetting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The key's theoretical arrival time, in the quota's units.
    pub(crate) tat: u64,
    /// Which insertion made this entry, so a receipt from a forgotten entry of the same key
    /// cancels nothing.
    pub(crate) generation: u32,
    /// Where the key sits in the order of forgetting.
    pub(crate) pos: u32,
}

/// A map from keys to [`Slot`]s, indexed `0..len()`, that never grows past its capacity.
///
/// `hash` is the key's hash by the table's own hasher where the storage uses one (the std
/// table hashes once per decision, for the shard and the lookup); storage that hashes for
/// itself ignores it.
pub(crate) trait Entries {
    /// The key type the table owns.
    type Key;

    fn len(&self) -> usize;

    fn capacity(&self) -> usize;

    /// The index of `key`, if present.
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<usize>
    where
        Self::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    fn slot(&self, index: usize) -> &Slot;

    fn slot_mut(&mut self, index: usize) -> &mut Slot;

    /// Adds a key that is not present, at index `len()`. The table calls it only below
    /// capacity.
    fn push(&mut self, hash: u64, key: Self::Key, slot: Slot);

    /// Removes the entry at `index`; the last entry, if another, moves to `index`.
    fn swap_remove(&mut self, index: usize);
}
