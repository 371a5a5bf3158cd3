//! A small xorshift generator, so the examples need no randomness crate.

/// xorshift64.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator seeded with `seed` (not 0).
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
