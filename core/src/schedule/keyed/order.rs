//! The order of forgetting: a binary min-heap of lower bounds on the keys' idle instants,
//! one item per key.
//!
//! A key is idle once the limiter's reading reaches its arrival time. The heap does not
//! follow every change of an arrival time: a reservation only ever raises one, so a bound
//! taken earlier stays a lower bound, and a decision on a key already present never touches
//! the heap. Only a cancel can lower an arrival time, and it lowers the key's bound with it.
//! When the table needs room it looks at the smallest bound: a key whose bound has gone stale
//! is given its true arrival time and sifted down, and the first key whose bound is exact is
//! the one that becomes idle soonest.

/// One key's item: the lower bound of its idle instant (in the quota's units) and the place
/// of its entry. The bound is kept as two 32-bit halves, so an item is 12 bytes, not 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    bound: [u32; 2],
    pub(crate) entry: u32,
}

impl Item {
    pub(crate) fn new(bound: u64, entry: u32) -> Self {
        Item {
            bound: [(bound >> 32) as u32, bound as u32],
            entry,
        }
    }

    #[inline]
    pub(crate) fn bound(&self) -> u64 {
        (u64::from(self.bound[0]) << 32) | u64::from(self.bound[1])
    }

    pub(crate) fn set_bound(&mut self, bound: u64) {
        self.bound = [(bound >> 32) as u32, bound as u32];
    }
}

/// Storage with a fixed capacity: `heapless::Vec` or an `alloc::vec::Vec` sized once.
pub(crate) trait Items {
    fn items(&self) -> &[Item];
    fn items_mut(&mut self) -> &mut [Item];
    /// Appends `item`; the table never pushes beyond its capacity (one item per key).
    fn push_item(&mut self, item: Item);
    fn pop_item(&mut self) -> Option<Item>;
}

/// Removes the item at `pos`.
pub(crate) fn remove<I: Items>(heap: &mut I, pos: usize, moved: &mut impl FnMut(u32, u32)) {
    let Some(last) = heap.pop_item() else {
        return;
    };
    let items = heap.items_mut();
    if pos == items.len() {
        return; // it was the last one
    }
    items[pos] = last;
    let pos = sift_up(items, pos, moved);
    sift_down(items, pos, moved);
}

/// Moves the item at `pos` up while it is smaller than its parent; returns where it stops.
pub(crate) fn sift_up(
    items: &mut [Item],
    mut pos: usize,
    moved: &mut impl FnMut(u32, u32),
) -> usize {
    let item = items[pos];
    while pos > 0 {
        let parent = (pos - 1) / 2;
        if items[parent].bound() <= item.bound() {
            break;
        }
        items[pos] = items[parent];
        moved(items[pos].entry, pos as u32);
        pos = parent;
    }
    items[pos] = item;
    moved(item.entry, pos as u32);
    pos
}

/// Moves the item at `pos` down while a child is smaller.
pub(crate) fn sift_down(items: &mut [Item], mut pos: usize, moved: &mut impl FnMut(u32, u32)) {
    let item = items[pos];
    loop {
        let left = 2 * pos + 1;
        if left >= items.len() {
            break;
        }
        let right = left + 1;
        let child = if right < items.len() && items[right].bound() < items[left].bound() {
            right
        } else {
            left
        };
        if item.bound() <= items[child].bound() {
            break;
        }
        items[pos] = items[child];
        moved(items[pos].entry, pos as u32);
        pos = child;
    }
    items[pos] = item;
    moved(item.entry, pos as u32);
}
