//! Exact conversions between embassy-time ticks and pacer's nanoseconds.
//!
//! A tick is `10^9 / TICK_HZ` nanoseconds, kept as that fraction reduced to lowest terms
//! (`num / den`), so the common tick rates cost no 128-bit arithmetic: at 1 kHz or 1 MHz a
//! tick is a whole number of nanoseconds (`den == 1`: one multiplication, one division by a
//! constant), at 32,768 Hz it is `1,953,125 / 64` ns (a multiplication and a shift). Only
//! rates that fit neither shape divide 128-bit numbers, which on a 32-bit core is a long
//! routine. Every path gives the same result as the plain formula, exactly.

use embassy_time::TICK_HZ;

/// Nanoseconds per second.
const NANOS: u64 = 1_000_000_000;

/// The tick of this program's embassy-time, as a fraction of nanoseconds.
pub(crate) const TICKS: TickRatio = TickRatio::of(TICK_HZ);

/// One tick is `num / den` nanoseconds, in lowest terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TickRatio {
    num: u64,
    den: u64,
    /// `floor(2^64 / num)` (0 where `num == 1`): dividing by `num` becomes a multiplication.
    recip: u64,
}

impl TickRatio {
    /// The tick of a `hz` clock (`hz > 0`).
    pub(crate) const fn of(hz: u64) -> TickRatio {
        let g = gcd(NANOS, hz);
        let num = NANOS / g;
        TickRatio {
            num,
            den: hz / g,
            recip: if num == 1 {
                0
            } else {
                ((1u128 << 64) / num as u128) as u64
            },
        }
    }

    /// `ticks · 10^9 / hz` nanoseconds, rounded down, saturating at `u64::MAX`.
    #[inline]
    pub(crate) fn nanos(self, ticks: u64) -> u64 {
        if self.den == 1 {
            return ticks.saturating_mul(self.num);
        }
        if self.num == 1 {
            return ticks / self.den;
        }
        let nanos = u128::from(ticks) * u128::from(self.num) / u128::from(self.den);
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// The fewest ticks that last at least `nanos`: `nanos · hz / 10^9`, rounded up,
    /// saturating at `u64::MAX`. ([`nanos`](TickRatio::nanos) of the result is `nanos` or
    /// more; of one tick less, less.)
    #[inline]
    pub(crate) fn ticks(self, nanos: u64) -> u64 {
        if self.num == 1 {
            return nanos.saturating_mul(self.den);
        }
        if self.den == 1 {
            return self.div_ceil_num(nanos);
        }
        let ticks = (u128::from(nanos) * u128::from(self.den)).div_ceil(u128::from(self.num));
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

impl TickRatio {
    /// `ceil(n / num)` for `num >= 2`, by a multiplication with the reciprocal: a 64-bit
    /// division is a library routine of about 900 bytes on a Cortex-M.
    ///
    /// With `R = floor(2^64 / num) > 2^64 / num - 1`, `q = floor(n · R / 2^64)` is at most
    /// `n / num` and more than `n / num - 1`: the floor of the quotient or one less, and the
    /// remainder `n - q · num` (below `2 · num`) settles which.
    #[inline]
    fn div_ceil_num(self, n: u64) -> u64 {
        let mut q = ((u128::from(n) * u128::from(self.recip)) >> 64) as u64;
        let mut r = n - q * self.num;
        if r >= self.num {
            q += 1;
            r -= self.num;
        }
        q + u64::from(r != 0)
    }
}

/// The greatest common divisor, for reducing the tick's fraction at compile time.
const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// `ticks · 10^9 / hz`, rounded down, saturating at `u64::MAX`.
#[cfg(test)]
fn nanos_for_ticks(ticks: u64, hz: u64) -> u64 {
    TickRatio::of(hz).nanos(ticks)
}

/// `nanos · hz / 10^9`, rounded up, saturating at `u64::MAX`.
#[cfg(test)]
fn ticks_for_nanos(nanos: u64, hz: u64) -> u64 {
    TickRatio::of(hz).ticks(nanos)
}

#[cfg(test)]
mod tests {
    use super::{TickRatio, nanos_for_ticks, ticks_for_nanos};

    /// Tick rates embassy offers, from the slowest to the fastest, and common ones between.
    const RATES: [u64; 9] = [
        1,
        1_000,
        32_768,
        1_000_000,
        16_000_000,
        80_000_000,
        1_000_000_000,
        2_621_440_000,
        5_242_880_000,
    ];

    fn samples() -> impl Iterator<Item = u64> {
        let edges = [
            0,
            1,
            2,
            999,
            1_000,
            1_001,
            30_517,
            30_518,
            333_333_334,
            u64::MAX,
        ];
        let spread = (0..64u32).map(|k| {
            // A deterministic scatter over the whole range.
            (u64::from(k) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (k % 48)
        });
        edges.into_iter().chain(spread)
    }

    #[test]
    fn exact_conversions() {
        assert_eq!(nanos_for_ticks(1, 1_000_000), 1_000);
        assert_eq!(nanos_for_ticks(1, 32_768), 30_517); // 30517.578125 rounded down
        assert_eq!(nanos_for_ticks(3, 32_768), 91_552); // 91552.734375
        assert_eq!(nanos_for_ticks(1, 5_242_880_000), 0); // 0.19 ns
        assert_eq!(nanos_for_ticks(6, 5_242_880_000), 1); // 1.14 ns
        assert_eq!(ticks_for_nanos(1, 1_000_000), 1);
        assert_eq!(ticks_for_nanos(1_000, 1_000_000), 1);
        assert_eq!(ticks_for_nanos(1_001, 1_000_000), 2);
        assert_eq!(ticks_for_nanos(30_518, 32_768), 2);
        assert_eq!(ticks_for_nanos(1, 5_242_880_000), 6);
        assert_eq!(ticks_for_nanos(0, 1), 0);
    }

    #[test]
    fn saturates_past_the_range() {
        // At 1 Hz, u64::MAX seconds are far more nanoseconds than a u64 holds.
        assert_eq!(nanos_for_ticks(u64::MAX, 1), u64::MAX);
        assert_eq!(nanos_for_ticks(u64::MAX, 1_000_000_000), u64::MAX);
        // At 5.24 GHz, u64::MAX nanoseconds are more ticks than a u64 holds.
        assert_eq!(ticks_for_nanos(u64::MAX, 5_242_880_000), u64::MAX);
        assert_eq!(ticks_for_nanos(u64::MAX, 1_000_000_000), u64::MAX);
    }

    #[test]
    fn the_wake_tick_is_the_first_that_reads_the_instant() {
        for hz in RATES {
            for nanos in samples() {
                let ticks = ticks_for_nanos(nanos, hz);
                if ticks == u64::MAX {
                    continue; // saturated: never wakes, which is not early either
                }
                assert!(
                    nanos_for_ticks(ticks, hz) >= nanos,
                    "early: {nanos} ns at {hz} Hz"
                );
                if ticks > 0 {
                    assert!(
                        nanos_for_ticks(ticks - 1, hz) < nanos,
                        "a tick late: {nanos} ns at {hz} Hz"
                    );
                }
            }
        }
    }

    #[test]
    fn readings_round_trip() {
        for hz in RATES.into_iter().filter(|&hz| hz <= 1_000_000_000) {
            for ticks in samples().map(|t| t >> 34) {
                // A reading converts back to the tick it was read at.
                assert_eq!(ticks_for_nanos(nanos_for_ticks(ticks, hz), hz), ticks);
            }
        }
    }

    #[test]
    fn every_path_matches_the_plain_formula() {
        // The reduced fraction's shortcuts against `ticks · 10^9 / hz` and
        // `ceil(nanos · hz / 10^9)` in 128 bits, at rates of every shape.
        let rates = RATES
            .into_iter()
            .chain([3, 7, 1_024, 48_000_000, 3_000_000_000]);
        for hz in rates {
            for x in samples() {
                let nanos = u128::from(x) * 1_000_000_000 / u128::from(hz);
                let ticks = (u128::from(x) * u128::from(hz)).div_ceil(1_000_000_000);
                let clamp = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
                assert_eq!(nanos_for_ticks(x, hz), clamp(nanos), "{x} ticks at {hz} Hz");
                assert_eq!(ticks_for_nanos(x, hz), clamp(ticks), "{x} ns at {hz} Hz");
            }
        }
        assert_eq!(
            TickRatio::of(32_768),
            TickRatio {
                num: 1_953_125,
                den: 64,
                recip: (1u128 << 64).div_euclid(1_953_125) as u64,
            }
        );
    }
}
