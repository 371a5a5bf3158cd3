//! `Entries`: where a keyed table keeps its keys, with a capacity fixed when it is made.

use core::borrow::Borrow;
use core::hash::Hash;

/// What the table keeps for one key besides the key and its arrival time (which the storage
/// keeps, so that the sharded table can move it with an atomic operation): the generation of
/// its entry, and its position in the order of forgetting. 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Which insertion made this entry, so a receipt from a forgotten entry of the same key
    /// cancels nothing.
    pub(crate) generation: u32,
    /// Where the key's item sits in the order of forgetting.
    pub(crate) pos: u32,
}

/// A map from keys to [`Slot`]s that never grows past its capacity.
///
/// An entry sits at a *place*, a `u32`. A place stays valid until a `remove` moves its entry
/// (storage that fills gaps says which entries moved where) or a `push` that moves entries
/// (storage that rehashes says so): the order of forgetting keeps places, and the table
/// points it at the new ones when they change.
///
/// `hash` is the key's hash by the table's own hasher where the storage uses one (the std
/// table hashes once per decision, for the shard and the lookup); storage that hashes for
/// itself ignores it.
pub(crate) trait Entries {
    /// The key type the table owns.
    type Key;

    fn len(&self) -> usize;

    fn capacity(&self) -> usize;

    /// The place of `key`, if present.
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        Self::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized;

    fn slot(&self, place: u32) -> Slot;

    /// The key's theoretical arrival time, in the quota's units.
    fn tat(&self, place: u32) -> u64;

    fn set_tat(&mut self, place: u32, tat: u64);

    /// Gives the entry at `place` a new generation.
    #[cfg(feature = "std")]
    fn set_generation(&mut self, place: u32, generation: u32);

    /// Records where the entry at `place` sits in the order of forgetting.
    fn set_pos(&mut self, place: u32, pos: u32);

    /// Adds a key that is not present; returns its place, and whether other entries may have
    /// moved to other places. The table calls it only below capacity.
    fn push(&mut self, hash: u64, key: Self::Key, tat: u64, slot: Slot) -> (u32, bool);

    /// Removes the entry at `place`, and calls `moved(pos, place)` for each entry that it
    /// moves, with the entry's position in the order and its new place.
    fn remove(&mut self, place: u32, moved: &mut impl FnMut(u32, u32));

    /// Calls `f` with every entry's place.
    fn for_each_place(&self, f: impl FnMut(u32));
}
