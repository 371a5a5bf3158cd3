//! `Quota`: how many cells per period, with what burst.
//!
//! # Exact time units
//!
//! The emission interval `T = period / count` is rarely a whole number of nanoseconds
//! (3 per second is 333,333,333⅓ ns). Rounding `T` down would admit cells faster than the
//! quota; rounding it up would drift slow by up to a nanosecond per cell. pacer does neither.
//! Each quota measures its schedule in *units* of exactly `T / m`, where `m`, the units in one
//! cell, makes a unit at most one nanosecond:
//!
//! ```text
//! period <= count · m                (so a unit = period / (count · m) <= 1 ns)
//! one cell = m units, exactly
//! ns -> units:  u = ns · D / period   with D = count · m
//! units -> ns:  ns = u · period / D
//! ```
//!
//! Where `T` is a whole number of nanoseconds (`period % count == 0`, as for 100 per second),
//! `m = T`: a unit is exactly one nanosecond, `D = period`, and every conversion is the
//! identity, so a decision costs a few integer operations. Otherwise `m` is the smallest power
//! of two `2^k >= T`, and the conversions are exact 128-bit products and quotients.
//!
//! A decision must not pay for a 128-bit division, so where `D` fits in 64 bits (every quota
//! whose period is under about 146 years) each quota also keeps two 64-bit fixed-point
//! reciprocals, of `D / period` and of `period / D`. A conversion multiplies by the reciprocal,
//! which gives the exact quotient or one less, and one exact product decides which: the result
//! is the same as the division's, bit for bit, for a few multiplications.
//!
//! A cell is a whole number of units, so a schedule of any length accumulates no error. The
//! only rounding is at the edges, where a unit instant becomes a nanosecond instant (always
//! rounded up, so never early) and where a nanosecond reading becomes units (see
//! [`Quota::arrival_units`]). Since a unit is at most 1 ns, a `u64` of units spans at least
//! 2^63 ns, about 292 years.

use core::fmt;
use core::time::Duration;

use crate::Error;

/// A rate: `count` cells per `period`, of which `burst` may go back to back after idleness.
///
/// The burst defaults to 1, strict spacing: then no half-open window of length `period` ever
/// holds more than `count` cells, which is what most people mean by "100 per second". A larger
/// burst lets `burst` cells through at once after a pause, and the long-run rate stays
/// `count / period`.
///
/// ```
/// use pacer_core::Quota;
/// use core::time::Duration;
///
/// let q = Quota::per_second(100)?;
/// assert_eq!(q.to_string(), "100 per 1s, burst 1");
/// let q = Quota::new(7, Duration::from_millis(11))?.with_burst(3)?;
/// assert_eq!(q.to_string(), "7 per 11ms, burst 3");
/// assert!(Quota::per_second(0).is_err());
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    count: u32,
    period: u64,
    burst: u32,
    /// Units in one cell (`m`).
    cell: u64,
    /// Units in a full burst (`burst · m`), kept to spare the decision path a multiply.
    burst_units: u64,
    /// Whether a unit is exactly one nanosecond (`count · m == period`).
    whole: bool,
    /// Where not `whole` and `D < 2^64`: the reciprocals below are valid.
    fast: bool,
    /// `floor(period · 2^64 / D)`: units to nanoseconds (`period < D` where not `whole`).
    to_nanos: u64,
    /// `floor((D - period) · 2^64 / period)`: the fractional part of nanoseconds to units
    /// (`period < D < 2 · period` where not `whole`).
    to_units: u64,
}

/// The largest number of units a burst may span, leaving headroom below `u64::MAX` so that a
/// theoretical arrival time plus a full burst cannot overflow for any representable instant.
const MAX_BURST_UNITS: u128 = 1 << 62;

/// `u64::MAX` as a `u128`, for the narrowing checks of the `const` constructor.
const U64_MAX: u128 = u64::MAX as u128;

impl Quota {
    /// `count` cells per `period`, burst 1.
    ///
    /// Fails with [`Error::ZeroCount`] or [`Error::ZeroPeriod`] for zeros, [`Error::TooFast`]
    /// for more than one cell per nanosecond, and [`Error::QuotaOverflow`] for a period over
    /// about 146 years per cell.
    ///
    /// Every constructor is a `const fn`, so a quota can be computed at compile time and kept
    /// in flash: a `static` quota sits in read-only memory, and a limiter that borrows it
    /// ([`AtomicLimiter<&'static Quota>`](crate::AtomicLimiter)) holds only its arrival time
    /// in RAM. An invalid quota in a `static` is then a compile error, not a run-time one:
    ///
    /// ```
    /// use pacer_core::Quota;
    ///
    /// static RADIO: Quota = match Quota::per_second(10) {
    ///     Ok(quota) => quota,
    ///     Err(_) => panic!("10 per second is a valid quota"),
    /// };
    /// assert_eq!(RADIO.count(), 10);
    /// ```
    pub const fn new(count: u32, period: Duration) -> Result<Quota, Error> {
        Self::from_parts(count, period, 1)
    }

    /// `count` cells per second, burst 1.
    pub const fn per_second(count: u32) -> Result<Quota, Error> {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` cells per minute, burst 1.
    pub const fn per_minute(count: u32) -> Result<Quota, Error> {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` cells per hour, burst 1.
    pub const fn per_hour(count: u32) -> Result<Quota, Error> {
        Self::new(count, Duration::from_secs(3600))
    }

    /// The same rate with `burst` cells allowed back to back after idleness.
    ///
    /// Fails with [`Error::ZeroBurst`] for zero and [`Error::QuotaOverflow`] when the burst
    /// spans more time than the arithmetic can hold.
    pub const fn with_burst(self, burst: u32) -> Result<Quota, Error> {
        Self::from_parts(self.count, Duration::from_nanos(self.period), burst)
    }

    /// The constructor behind all others, a `const fn` (hence no `?` and no `TryFrom`: every
    /// narrowing is checked by hand against `u64::MAX`).
    const fn from_parts(count: u32, period: Duration, burst: u32) -> Result<Quota, Error> {
        if count == 0 {
            return Err(Error::ZeroCount);
        }
        if period.is_zero() {
            return Err(Error::ZeroPeriod);
        }
        if burst == 0 {
            return Err(Error::ZeroBurst);
        }
        let period = period.as_nanos();
        if period > U64_MAX {
            return Err(Error::QuotaOverflow);
        }
        let period = period as u64;
        if count as u64 > period {
            return Err(Error::TooFast);
        }
        let whole = period.is_multiple_of(count as u64);
        let cell = if whole {
            (period / count as u64) as u128
        } else {
            // The smallest power of two with period <= count · 2^k; k <= 64 since count >= 1.
            let mut cell = 1u128;
            while count as u128 * cell < period as u128 {
                cell <<= 1;
            }
            cell
        };
        let burst_units = burst as u128 * cell;
        if burst_units > MAX_BURST_UNITS {
            return Err(Error::QuotaOverflow);
        }
        let d = count as u128 * cell;
        let fast = !whole && d < 1 << 63;
        let (to_nanos, to_units) = if fast {
            // period < D < 2 · period, so both quotients are below 2^64.
            let p = period as u128;
            let to_nanos = (p << 64) / d;
            let to_units = ((d - p) << 64) / p;
            if to_nanos > U64_MAX || to_units > U64_MAX {
                return Err(Error::QuotaOverflow);
            }
            (to_nanos as u64, to_units as u64)
        } else {
            (0, 0)
        };
        if cell > U64_MAX {
            return Err(Error::QuotaOverflow);
        }
        Ok(Quota {
            count,
            period,
            burst,
            cell: cell as u64,
            // At most MAX_BURST_UNITS = 2^62, checked above.
            burst_units: burst_units as u64,
            whole,
            fast,
            to_nanos,
            to_units,
        })
    }

    /// Cells per period.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// The period in nanoseconds.
    pub const fn period_nanos(&self) -> u64 {
        self.period
    }

    /// Cells that may go back to back after idleness.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The emission interval `period / count`, rounded up to whole nanoseconds (the exact
    /// interval is kept internally; this is for display and sizing).
    pub const fn interval(&self) -> Duration {
        Duration::from_nanos(self.period.div_ceil(self.count as u64))
    }

    // ---- exact unit arithmetic, shared by every GCRA-based scheduler ----

    /// Units in one cell (`m`).
    #[inline]
    pub(crate) fn cell_units(&self) -> u64 {
        self.cell
    }

    /// Units in `n` cells (cannot overflow: `n <= burst` is checked by callers and
    /// `burst · m <= 2^62`).
    #[inline]
    pub(crate) fn cells_units(&self, n: u32) -> u64 {
        u64::from(n) * self.cell
    }

    /// Units in a full burst: `burst · m`.
    #[inline]
    pub(crate) fn burst_units(&self) -> u64 {
        self.burst_units
    }

    /// `D = count · m`: units per `period` nanoseconds.
    #[inline]
    fn units_per_period(&self) -> u128 {
        u128::from(self.count) * u128::from(self.cell)
    }

    /// The nanosecond instant of unit instant `u`, rounded up (never early).
    #[inline]
    pub(crate) fn units_to_nanos_ceil(&self, u: u64) -> Result<u64, Error> {
        if self.whole {
            return Ok(u);
        }
        if self.fast {
            return Ok(self.units_to_nanos_ceil_fast(u));
        }
        self.units_to_nanos_ceil_slow(u)
    }

    /// [`units_to_nanos_ceil`](Quota::units_to_nanos_ceil) by 128-bit division, for quotas
    /// whose `D` exceeds 64 bits (periods over about 146 years). On a 32-bit core it is out of
    /// line and cold, a long routine that no common quota takes; on a 64-bit one the compiler
    /// places it as before (out of line, the decisions of an `AtomicLimiter` run 17% fewer
    /// instructions and those of a `Gcra` 2.5% more, by callgrind; left as it was until a
    /// quiet machine can time both).
    #[cfg_attr(not(target_pointer_width = "64"), cold, inline(never))]
    fn units_to_nanos_ceil_slow(&self, u: u64) -> Result<u64, Error> {
        let num = u128::from(u) * u128::from(self.period);
        let (q, r) = div_rem(num, self.units_per_period());
        u64::try_from(q + u128::from(r != 0)).map_err(|_| Error::InstantOverflow)
    }

    /// The unit instant of nanosecond instant `ns`, rounded up.
    #[inline]
    pub(crate) fn nanos_to_units_ceil(&self, ns: u64) -> Result<u64, Error> {
        if self.whole {
            return Ok(ns);
        }
        let num = u128::from(ns)
            .checked_mul(self.units_per_period())
            .ok_or(Error::InstantOverflow)?;
        u64::try_from(num.div_ceil(u128::from(self.period))).map_err(|_| Error::InstantOverflow)
    }

    /// The unit instant at which a cell that goes at nanosecond `at` is accounted: the
    /// smallest unit instant `u` with `u > at - 1 ns` (0 for `at == 0`).
    ///
    /// Derivation: instants handed out are exact unit instants rounded *up* to whole
    /// nanoseconds, so a cell admitted at `at` may really belong to any unit instant in
    /// `(at - 1, at]`. Accounting it at the earliest of those keeps a backlogged schedule free
    /// of drift (its exact instant is in that interval, and is no earlier than this one), and
    /// accounting it no earlier than `at - 1` keeps every later cell within the one-nanosecond
    /// rounding that the conformance rule allows. A unit is at most 1 ns, so `u <= at`.
    #[inline]
    pub(crate) fn arrival_units(&self, at: u64) -> Result<u64, Error> {
        if at == 0 || self.whole {
            return Ok(at);
        }
        if self.fast {
            return self.arrival_units_fast(at);
        }
        self.arrival_units_slow(at)
    }

    /// [`arrival_units`](Quota::arrival_units) by 128-bit division (`at > 0`), out of line and
    /// cold on a 32-bit core, as [`units_to_nanos_ceil_slow`](Quota::units_to_nanos_ceil_slow).
    #[cfg_attr(not(target_pointer_width = "64"), cold, inline(never))]
    fn arrival_units_slow(&self, at: u64) -> Result<u64, Error> {
        let num = mul_checked(at - 1, self.units_per_period()).ok_or(Error::InstantOverflow)?;
        let (q, _) = div_rem(num, u128::from(self.period));
        u64::try_from(q + 1).map_err(|_| Error::InstantOverflow)
    }

    /// The unit instant of nanosecond instant `ns`, rounded down (saturating).
    #[inline]
    pub(crate) fn nanos_to_units_floor(&self, ns: u64) -> u64 {
        if self.whole {
            return ns;
        }
        u128::from(ns)
            .checked_mul(self.units_per_period())
            .map_or(u64::MAX, |num| {
                u64::try_from(num / u128::from(self.period)).unwrap_or(u64::MAX)
            })
    }

    /// [`units_to_nanos_ceil`](Quota::units_to_nanos_ceil) without a division, for a `fast`
    /// quota: `ceil(u · period / D)`.
    ///
    /// With `R = floor(period · 2^64 / D)`, `q = floor(u · R / 2^64)` is the floor of
    /// `u · period / D` or one less (`u · R / 2^64` is below the exact ratio by less than
    /// `u / 2^64 < 1`); the exact remainder `u · period - q · D` settles it. The result is at
    /// most `u`, since `period < D`.
    #[inline]
    fn units_to_nanos_ceil_fast(&self, u: u64) -> u64 {
        let d = self.units_per_period_fast();
        let mut q = ((u128::from(u) * u128::from(self.to_nanos)) >> 64) as u64;
        // The exact remainder `u · period - q · D` lies in [0, 2 · D), below 2^64 since
        // D < 2^63: computed modulo 2^64, it is exact.
        let mut r = u.wrapping_mul(self.period).wrapping_sub(q.wrapping_mul(d));
        if r >= d {
            q += 1;
            r -= d;
        }
        q + u64::from(r != 0)
    }

    /// [`arrival_units`](Quota::arrival_units) without a division, for a `fast` quota and
    /// `at > 0`: `floor((at - 1) · D / period) + 1`.
    ///
    /// `y · D / period = y + y · (D - period) / period`, and with
    /// `R = floor((D - period) · 2^64 / period)` the estimate `y + floor(y · R / 2^64)` is the
    /// floor or one less; the exact remainder settles it.
    #[inline]
    fn arrival_units_fast(&self, at: u64) -> Result<u64, Error> {
        let y = at - 1;
        let p = self.period;
        let estimate = ((u128::from(y) * u128::from(self.to_units)) >> 64) as u64;
        // The estimate is at most the floor, so if it does not fit, neither does the result.
        let q = y.checked_add(estimate).ok_or(Error::InstantOverflow)?;
        // The exact remainder `y · D - q · period` lies in [0, 2 · period), below 2^64 since
        // period < D < 2^63: computed modulo 2^64, it is exact.
        let r = y
            .wrapping_mul(self.units_per_period_fast())
            .wrapping_sub(q.wrapping_mul(p));
        q.checked_add(1 + u64::from(r >= p))
            .ok_or(Error::InstantOverflow)
    }

    /// Whether unit instant `u`, rounded up to nanoseconds, is at or before `ns`:
    /// `units_to_nanos_ceil(u) <= ns`, decided where it can be by the reciprocal's estimate
    /// alone (the floor of `u · period / D` or one less), exactly otherwise.
    // Only the lock-free limiter decides this way, and it needs 64-bit atomics.
    #[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
    #[inline]
    pub(crate) fn units_at_or_before(&self, u: u64, ns: u64) -> bool {
        if self.whole {
            return u <= ns;
        }
        if self.fast {
            let estimate = ((u128::from(u) * u128::from(self.to_nanos)) >> 64) as u64;
            if estimate > ns {
                return false;
            }
            if estimate.saturating_add(2) <= ns {
                return true;
            }
            return self.units_to_nanos_ceil_fast(u) <= ns;
        }
        self.units_to_nanos_ceil(u).is_ok_and(|at| at <= ns)
    }

    /// `D = count · m` as a `u64`, for a `fast` quota (where `D < 2^63`).
    #[inline]
    fn units_per_period_fast(&self) -> u64 {
        u64::from(self.count).wrapping_mul(self.cell)
    }

    /// `n > burst`: such an acquisition can never be satisfied.
    #[inline]
    pub(crate) fn check_weight(&self, n: u32) -> Result<(), Error> {
        if n > self.burst {
            Err(Error::TooHeavy {
                cells: n,
                max: self.burst,
            })
        } else {
            Ok(())
        }
    }
}

/// `y · d`, or `None` where it exceeds `u128`, from two 64 × 64-bit products (a full
/// 128 × 128-bit checked multiplication is a long routine on a 32-bit core).
#[inline]
fn mul_checked(y: u64, d: u128) -> Option<u128> {
    let low = u128::from(y) * (d & U64_MAX);
    let high = u128::from(y) * (d >> 64);
    if high > U64_MAX {
        return None;
    }
    low.checked_add(high << 64)
}

/// `(n / d, n % d)` for `0 < d < 2^127`.
///
/// On a 64-bit target, the compiler's 128-bit division. A 32-bit target has no 128-bit
/// division routine to call, so the compiler writes one out at every division site, about
/// 900 bytes each on a Cortex-M; this one is a plain shift-and-subtract loop, a fraction of
/// that and shared by every caller. Only quotas with periods over about 146 years take it.
#[cfg(target_pointer_width = "64")]
#[inline]
fn div_rem(n: u128, d: u128) -> (u128, u128) {
    (n / d, n % d)
}

/// `(n / d, n % d)` for `0 < d < 2^127`: see the 64-bit version.
#[cfg(not(target_pointer_width = "64"))]
#[inline(never)]
fn div_rem(n: u128, d: u128) -> (u128, u128) {
    div_rem_by_bits(n, d)
}

/// Binary long division, one quotient bit per step (`0 < d < 2^127`).
#[cfg(any(test, not(target_pointer_width = "64")))]
fn div_rem_by_bits(n: u128, d: u128) -> (u128, u128) {
    let (mut q, mut r) = (0u128, 0u128);
    let mut bit = 128 - n.leading_zeros();
    while bit > 0 {
        bit -= 1;
        // r < d < 2^127 here, so the shift cannot overflow.
        r = (r << 1) | ((n >> bit) & 1);
        q <<= 1;
        if r >= d {
            r -= d;
            q |= 1;
        }
    }
    (q, r)
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} per {:?}, burst {}",
            self.count,
            self.period(),
            self.burst
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ceil(u · period / D)` by 128-bit division, the definition the fast path must match.
    fn to_nanos_exact(q: &Quota, u: u64) -> u128 {
        (u128::from(u) * u128::from(q.period)).div_ceil(q.units_per_period())
    }

    /// `floor((at - 1) · D / period) + 1` by 128-bit division.
    fn arrival_exact(q: &Quota, at: u64) -> u128 {
        (u128::from(at - 1) * q.units_per_period()) / u128::from(q.period) + 1
    }

    fn values() -> impl Iterator<Item = u64> {
        let edges = [
            1,
            2,
            3,
            1_000,
            999_999,
            u64::MAX - 1,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
        ];
        let powers = (1..64).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let random = core::iter::repeat_with(move || {
            // xorshift64*: a fixed pseudo-random sequence, the same on every run.
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
        });
        let small = (1..2_000u64).map(|x| x * 997);
        edges
            .into_iter()
            .chain(powers)
            .chain(small)
            .chain(random.take(20_000))
            .chain(random.take(20_000).map(|x| x >> 20))
    }

    #[test]
    fn the_reciprocals_give_the_exact_quotients() {
        let quotas = [
            Quota::per_second(3).unwrap(),
            Quota::per_second(7_000).unwrap(),
            Quota::per_second(999_983).unwrap(),
            Quota::per_second(999_999_937).unwrap(),
            Quota::per_second(999_999_999).unwrap(),
            Quota::new(7, Duration::from_millis(11)).unwrap(),
            Quota::per_minute(7).unwrap(),
            Quota::per_hour(13).unwrap().with_burst(5).unwrap(),
            Quota::new(7, Duration::from_secs(86_400)).unwrap(),
            Quota::new(7, Duration::from_secs(100 * 365 * 86_400)).unwrap(),
            Quota::new(u32::MAX, Duration::from_nanos(u64::MAX / 3)).unwrap(),
        ];
        for q in quotas {
            assert!(q.fast, "{q}: expected the fast path");
            for u in values() {
                assert_eq!(
                    u128::from(q.units_to_nanos_ceil_fast(u)),
                    to_nanos_exact(&q, u),
                    "{q}: units {u} to nanoseconds"
                );
                let exact = arrival_exact(&q, u);
                match q.arrival_units_fast(u) {
                    Ok(units) => assert_eq!(u128::from(units), exact, "{q}: arrival of {u}"),
                    Err(e) => {
                        assert_eq!(e, Error::InstantOverflow);
                        assert!(exact > u128::from(u64::MAX), "{q}: arrival of {u} fits");
                    }
                }
            }
        }
    }

    #[test]
    fn the_checked_product_matches_u128() {
        let wide = [
            1u128 << 64,
            (1 << 65) - 2,
            (1 << 64) + 12_345,
            3,
            u128::from(u64::MAX),
        ];
        for y in values() {
            for d in wide {
                assert_eq!(mul_checked(y, d), u128::from(y).checked_mul(d), "{y} · {d}");
            }
        }
    }

    #[test]
    fn the_long_division_of_32_bit_targets_matches_u128() {
        let divisors = [
            1u128,
            3,
            1 << 64,
            (1 << 65) - 2,
            999_999_937,
            (1 << 126) + 5,
        ];
        for x in values() {
            for n in [
                u128::from(x),
                u128::from(x) << 64 | 0x1234_5678,
                u128::MAX - u128::from(x),
            ] {
                for d in divisors {
                    assert_eq!(div_rem_by_bits(n, d), (n / d, n % d), "{n} / {d}");
                }
            }
        }
    }

    #[test]
    fn units_at_or_before_agrees_with_the_exact_conversion() {
        let quotas = [
            Quota::per_second(3).unwrap(),
            Quota::per_second(999_983).unwrap(),
            Quota::per_second(1_000).unwrap(),
            Quota::new(3, Duration::from_nanos((1 << 63) - 1)).unwrap(),
            Quota::new(5, Duration::from_nanos(u64::MAX - 1)).unwrap(),
        ];
        for q in quotas {
            for u in values() {
                let Ok(at) = q.units_to_nanos_ceil(u) else {
                    assert!(!q.units_at_or_before(u, u64::MAX), "{q}: units {u}");
                    continue;
                };
                let around = [0, 1, 2, 3]
                    .map(|d| at.saturating_sub(d))
                    .into_iter()
                    .chain([1, 2, 3].map(|d| at.saturating_add(d)));
                for ns in around {
                    assert_eq!(
                        q.units_at_or_before(u, ns),
                        at <= ns,
                        "{q}: units {u} by {ns}"
                    );
                }
            }
        }
    }

    #[test]
    fn whole_and_huge_quotas_take_the_other_paths() {
        assert!(!Quota::per_second(1_000).unwrap().fast);
        assert!(Quota::per_second(1_000).unwrap().whole);
        // D = count · m above 2^64: the 128-bit division stays.
        let huge = Quota::new(5, Duration::from_nanos(u64::MAX - 1)).unwrap();
        assert!(!huge.whole && !huge.fast);
        // D = 3 · 2^62, between 2^63 and 2^64: remainders by D would not fit in 64 bits.
        let big = Quota::new(3, Duration::from_nanos((1 << 63) - 1)).unwrap();
        assert!(!big.whole && !big.fast);
    }
}
