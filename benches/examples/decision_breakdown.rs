//! Where a pacer decision spends its time, next to governor's: a plain timing loop (no
//! criterion) over the pieces of `AtomicLimiter::try_acquire`, and a stand-in for the same
//! GCRA kept in whole nanoseconds (what pacer's exact-unit arithmetic reduces to when the
//! emission interval is a whole number of nanoseconds), to show what the `u128` unit
//! conversions cost.
//!
//! Run: `cargo run --release -p pacer-benches --example decision_breakdown`.
//! Numbers are nanoseconds per call on one thread, 50 million calls each; they move by
//! ±30% between runs on a shared machine, so compare rows of one run.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::FakeRelativeClock;
use pacer_core::{AtomicLimiter, Gcra, ManualClock, Quota, RateLimiter, Scheduler};

const CALLS: u64 = 50_000_000;
/// 100 s after the origin: past ~18 s the products `ns · units_per_period` exceed 2^64.
const T100S: u64 = 100_000_000_000;

fn time(name: &str, mut f: impl FnMut(u64) -> u64) {
    let mut acc = 0u64;
    let start = Instant::now();
    for i in 0..CALLS {
        acc = acc.wrapping_add(f(i));
    }
    let elapsed = start.elapsed();
    black_box(acc);
    println!(
        "{name:64} {:6.2} ns",
        elapsed.as_nanos() as f64 / CALLS as f64
    );
}

/// GCRA on one `AtomicU64` in whole nanoseconds, with the shape of pacer's decision
/// (weight check, deadline from a `Duration`, a reservation with its cancel token).
struct WholeNanos {
    interval: u64,
    burst: u32,
    tat: AtomicU64,
}

impl WholeNanos {
    #[inline(never)]
    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<(u64, u64, u64), u64> {
        if cells == 0 {
            return Ok((now, 0, 0));
        }
        if cells > self.burst {
            return Err(u64::MAX);
        }
        let last = now.saturating_add(u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX));
        let mut before = self.tat.load(Ordering::Acquire);
        loop {
            let ahead = before
                .checked_add(u64::from(cells) * self.interval)
                .ok_or(0u64)?;
            let due = ahead.saturating_sub(u64::from(self.burst) * self.interval);
            let at = due.max(now);
            if at > last {
                return Err(at);
            }
            let after = before
                .max(at)
                .checked_add(u64::from(cells) * self.interval)
                .ok_or(0u64)?;
            match self
                .tat
                .compare_exchange(before, after, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok((at, before, after)),
                Err(actual) => before = actual,
            }
        }
    }
}

fn main() {
    let quota = || Quota::per_second(1_000_000).expect("quota");
    println!(
        "quota 1,000,000 per second, burst 1; pacer's `now` is given, governor reads a fake clock\n"
    );

    let period: u128 = black_box(1_000_000_000);
    let units_per_period: u128 = black_box(1_024_000_000);
    time(
        "u128 division, dividend > 2^64 (arrival_units at 100 s)",
        |i| {
            let num = u128::from(black_box(T100S + i)) * units_per_period;
            (num / period) as u64
        },
    );
    time(
        "u128 div_ceil, dividend > 2^64 (units_to_nanos_ceil)",
        |i| {
            let num = u128::from(black_box(T100S + i)) * period;
            num.div_ceil(units_per_period) as u64
        },
    );
    let word = AtomicU64::new(0);
    time("one uncontended compare-and-swap", |i| {
        let current = word.load(Ordering::Acquire);
        let _ = word.compare_exchange(current, current + i, Ordering::AcqRel, Ordering::Acquire);
        current
    });

    let limiter = AtomicLimiter::new(quota());
    time(
        "pacer AtomicLimiter::try_acquire, allowed (now += 1 µs)",
        |i| u64::from(limiter.try_acquire(black_box(T100S + i * 1000), 1).is_ok()),
    );
    let limiter = AtomicLimiter::new(quota());
    let _spent = limiter.try_acquire(T100S, 1).expect("free");
    time(
        "pacer AtomicLimiter::try_acquire, denied (now fixed)",
        |_| u64::from(limiter.try_acquire(black_box(T100S), 1).is_ok()),
    );
    let mut gcra = Gcra::new(quota());
    time("pacer Gcra::try_acquire (&mut), allowed", |i| {
        u64::from(gcra.try_acquire(black_box(T100S + i * 1000), 1).is_ok())
    });
    let whole = WholeNanos {
        interval: 1000,
        burst: 1,
        tat: AtomicU64::new(0),
    };
    time(
        "stand-in: the same GCRA in whole ns (no u128), allowed",
        |i| {
            u64::from(
                whole
                    .reserve_within(black_box(T100S + i * 1000), 1, Duration::ZERO)
                    .is_ok(),
            )
        },
    );
    time(
        "stand-in: the same GCRA in whole ns (no u128), denied",
        |_| {
            u64::from(
                whole
                    .reserve_within(black_box(T100S), 1, Duration::ZERO)
                    .is_ok(),
            )
        },
    );

    let clock = FakeRelativeClock::default();
    clock.advance(Duration::from_nanos(T100S));
    let governor = governor::RateLimiter::direct_with_clock(
        governor::Quota::per_second(NonZeroU32::new(1_000_000).expect("rate"))
            .allow_burst(NonZeroU32::MIN),
        clock.clone(),
    );
    time(
        "governor check, allowed (incl. FakeRelativeClock::advance)",
        |_| {
            clock.advance(Duration::from_micros(1));
            u64::from(governor.check().is_ok())
        },
    );
    time("governor check, denied", |_| {
        u64::from(governor.check().is_ok())
    });
    time("  FakeRelativeClock::advance alone", |_| {
        clock.advance(Duration::from_micros(1));
        0
    });
    let manual = ManualClock::new();
    time("  pacer ManualClock::advance alone", |_| {
        manual.advance(Duration::from_micros(1))
    });
}
