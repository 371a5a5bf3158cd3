//! # pacer-embassy
//!
//! [pacer](pacer_core) on [embassy-time](embassy_time): rate limiting for `no_std` async
//! firmware that never blocks the executor. Every acquisition is a reservation: it takes its
//! instant on its first poll and then sleeps exactly once, on an [`embassy_time::Timer`], until
//! that instant. No polling loop, no background task, no allocation.
//!
//! ```
//! use pacer_embassy::{Limiter, Quota};
//!
//! /// At most 10 packets per second, up to 3 back to back after a quiet spell.
//! async fn transmit(radio: &Limiter, packets: &[&[u8]]) -> Result<(), pacer_embassy::Error> {
//!     for packet in packets {
//!         radio.acquire().await?; // waits on embassy-time, the executor runs other tasks
//!         send(packet);
//!     }
//!     Ok(())
//! }
//! # fn send(_: &[u8]) {}
//!
//! # fn main() -> Result<(), pacer_embassy::Error> {
//! let radio = Limiter::new(Quota::per_second(10)?.with_burst(3)?);
//! # // The doctest runs on embassy-time's mock driver; the burst of 3 needs no waiting.
//! # futures_executor::block_on(transmit(&radio, &[b"a", b"b", b"c"]))?;
//! # assert!(radio.try_acquire(1).is_err());
//! # Ok(())
//! # }
//! ```
//!
//! In firmware, `radio` is usually a `static` (built once, for example in a `StaticCell`)
//! shared by `&'static` between tasks; every method takes `&self`.
//!
//! # Time
//!
//! An [`EmbassyTimer`] reads [`embassy_time::Instant::now`] and counts nanoseconds from the
//! instant it was made, converting ticks exactly ([`embassy_time::TICK_HZ`], rounding down);
//! its sleeps end at the first tick at or after the reserved instant (rounding up), so an
//! acquisition never completes early by either clock.
//!
//! This crate enables no embassy-time driver and no tick rate: the application picks them
//! (a HAL's time driver, `embassy-time/std` on a host, `embassy-time/mock-driver` in tests).
//!
//! # Features
//! - `portable-atomic`: 64-bit atomics through `portable-atomic`, for `AtomicLimiter` (the
//!   default of [`Limiter`]) on targets without them: thumbv7em, thumbv6m, riscv32imc.
//! - `critical-section`: `Locked` limiters ([`Limits`], [`SlidingWindow`], or a [`Gcra`] that
//!   can be reconfigured) on a `critical-section` mutex, and, with `portable-atomic`, atomics
//!   on targets with no compare-and-swap at all (thumbv6m). The application supplies the
//!   `critical-section` implementation (for example `cortex-m`'s `critical-section-single-core`),
//!   as embassy already requires.
//!
//! On a target with native 64-bit atomics no feature is needed for [`Limiter`]; thumbv7em needs
//! `portable-atomic`, thumbv6m needs `portable-atomic` and `critical-section`.
#![no_std]
#![forbid(unsafe_code)]

use core::cmp::Ordering;

use embassy_time::{Instant, TICK_HZ};

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub use pacer_core::AtomicLimiter;
#[cfg(feature = "critical-section")]
pub use pacer_core::Locked;
pub use pacer_core::{
    Acquire, Clock, Error, Gcra, KeyedGcra, KeyedRateLimiter, Limits, Quota, RateLimiter,
    Reservation, Scheduler, SlidingWindow, Snapshot, Timer, WhenFull,
};

/// One limit per key (a destination node, a channel), for up to `N` busy keys at once, on
/// embassy-time: `limiter.acquire(&node).await` waits until a cell of that key's limit may
/// go. `N` is a power of two; the table is a fixed [`KeyedGcra`] behind a `critical-section`
/// lock, so it needs no allocation and no 64-bit atomics. A new key with no room is refused
/// with [`Error::TableFull`] (or see [`WhenFull`]).
///
/// ```
/// use pacer_embassy::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pacer_embassy::Error> {
/// // 10 sends per second to each of up to 8 nodes.
/// let per_node = KeyedLimiter::<u8, 8>::new(Quota::per_second(10)?);
/// # futures_executor::block_on(async {
/// per_node.acquire(&3).await?;
/// per_node.acquire(&4).await?; // another node: no wait
/// # Ok::<(), pacer_embassy::Error>(())
/// # })?;
/// assert!(per_node.try_acquire(&3, 1).is_err()); // node 3 waits 100 ms
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "critical-section")]
pub type KeyedLimiter<K, const N: usize> =
    pacer_core::KeyedPacer<Locked<KeyedGcra<K, N>>, EmbassyTimer>;

/// A rate limiter on embassy-time: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// By default it is a lock-free [`AtomicLimiter`] for one [`Quota`], made with
/// [`Limiter::new`](pacer_core::Pacer::new); any other [`RateLimiter`] (for example
/// `Locked<Limits<2>>`, with the `critical-section` feature) goes in with
/// [`Limiter::with_limiter`](pacer_core::Pacer::with_limiter). See [`pacer_core::Pacer`] for
/// all its methods.
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub type Limiter<L = AtomicLimiter> = pacer_core::Pacer<L, EmbassyTimer>;

/// A rate limiter on embassy-time: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// This target has no 64-bit atomics, so there is no default limiter: enable the
/// `portable-atomic` feature for `AtomicLimiter`, or use `Locked` (feature
/// `critical-section`). See [`pacer_core::Pacer`] for all its methods.
#[cfg(not(any(feature = "portable-atomic", target_has_atomic = "64")))]
pub type Limiter<L> = pacer_core::Pacer<L, EmbassyTimer>;

/// A stream that yields the items of `S` no faster than a [`Limiter`] allows, one cell each:
/// made by [`Limiter::throttle`](pacer_core::Pacer::throttle).
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub type Throttle<'a, S, L = AtomicLimiter> = pacer_core::Throttle<'a, S, L, EmbassyTimer>;

/// A stream that yields the items of `S` no faster than a [`Limiter`] allows, one cell each:
/// made by [`Limiter::throttle`](pacer_core::Pacer::throttle).
#[cfg(not(any(feature = "portable-atomic", target_has_atomic = "64")))]
pub type Throttle<'a, S, L> = pacer_core::Throttle<'a, S, L, EmbassyTimer>;

/// Nanoseconds per second.
const NANOS: u128 = 1_000_000_000;

/// The [`Clock`] and [`Timer`] of embassy-time: instants are nanoseconds since its origin, an
/// [`embassy_time::Instant`] taken when it is made, and its sleeps are
/// [`embassy_time::Timer`]s.
///
/// It is one `Instant` (`Copy`), so every [`Limiter`] holds its own; readings need the
/// application's embassy-time driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbassyTimer {
    origin: Instant,
}

impl EmbassyTimer {
    /// A timer whose origin is now.
    pub fn new() -> EmbassyTimer {
        EmbassyTimer::with_origin(Instant::now())
    }

    /// A timer whose origin is `origin` (instants before it read as 0).
    pub const fn with_origin(origin: Instant) -> EmbassyTimer {
        EmbassyTimer { origin }
    }

    /// The embassy-time instant this timer counts from.
    pub const fn origin(&self) -> Instant {
        self.origin
    }

    /// The first embassy-time instant (a whole tick) at which this clock reads `at`
    /// nanoseconds or more: what [`sleep_until`](Timer::sleep_until) waits for.
    /// [`Instant::MAX`] if that is beyond embassy-time's range.
    pub fn instant_at(&self, at: u64) -> Instant {
        let ticks = ticks_for_nanos(at, TICK_HZ);
        Instant::from_ticks(self.origin.as_ticks().saturating_add(ticks))
    }

    /// The reading of this clock at `instant`: whole nanoseconds since the origin, rounded
    /// down (0 before the origin, `u64::MAX` past the range).
    pub fn nanos_at(&self, instant: Instant) -> u64 {
        match instant.cmp(&self.origin) {
            Ordering::Greater => {
                nanos_for_ticks(instant.as_ticks() - self.origin.as_ticks(), TICK_HZ)
            }
            _ => 0,
        }
    }
}

impl Default for EmbassyTimer {
    /// A timer whose origin is now, as [`EmbassyTimer::new`].
    fn default() -> EmbassyTimer {
        EmbassyTimer::new()
    }
}

impl Clock for EmbassyTimer {
    /// Nanoseconds since the origin, exact to the tick: `ticks · 10^9 / TICK_HZ`, rounded down.
    fn now(&self) -> u64 {
        self.nanos_at(Instant::now())
    }
}

impl Timer for EmbassyTimer {
    type Sleep = embassy_time::Timer;

    /// An [`embassy_time::Timer`] at [`instant_at(at)`](EmbassyTimer::instant_at): the first
    /// tick at which [`now`](Clock::now) reads `at` or more, so it never wakes early.
    fn sleep_until(&self, at: u64) -> embassy_time::Timer {
        embassy_time::Timer::at(self.instant_at(at))
    }
}

/// `ticks · 10^9 / hz`, rounded down, saturating at `u64::MAX`.
fn nanos_for_ticks(ticks: u64, hz: u64) -> u64 {
    let nanos = u128::from(ticks) * NANOS / u128::from(hz);
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// The fewest ticks that last at least `nanos`: `nanos · hz / 10^9`, rounded up, saturating at
/// `u64::MAX`. (`nanos_for_ticks` of the result is `nanos` or more; of one tick less, less.)
fn ticks_for_nanos(nanos: u64, hz: u64) -> u64 {
    let ticks = (u128::from(nanos) * u128::from(hz)).div_ceil(NANOS);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{nanos_for_ticks, ticks_for_nanos};

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
}
