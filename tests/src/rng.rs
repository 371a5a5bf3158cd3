//! A tiny deterministic PRNG, so scenarios are repeatable without a randomness crate.

/// xorshift64: a small, fast, repeatable generator for test inputs (not for anything else).
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is taken as 1, since xorshift has no zero state).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }
}
