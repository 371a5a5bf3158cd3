//! Decision cost: pacer's lock-free `AtomicLimiter::try_acquire` against governor's `check`,
//! both on a manual clock with the same quota (1,000,000 per second, burst 1), and pacer's pure
//! `&mut` `Gcra::try_acquire` as the floor.
//!
//! - *allowed*: every iteration advances the shared manual clock by one emission interval
//!   (1 µs) and asks for one cell, so (nearly) every decision admits and writes the state;
//! - *denied*: the clock never moves, so after the first cell every decision refuses.
//!
//! On one thread (`1t`) and on two threads contending for one limiter and one clock (`2t`,
//! `iter_custom`: each thread makes `iters` decisions; the reported time is the slower
//! thread's wall time divided by `iters`, the cost of one decision as a contending thread
//! sees it).
//!
//! Run: `cargo bench -p pacer-benches --bench decision`.

#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use governor::clock::FakeRelativeClock;
use governor::{Quota as GQuota, RateLimiter as GovernorLimiter};
use pacer_core::{AtomicLimiter, Clock, Gcra, ManualClock, Quota, RateLimiter, Scheduler};

const RATE: u32 = 1_000_000;
const INTERVAL: Duration = Duration::from_micros(1);

type Governor = GovernorLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    FakeRelativeClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

fn pacer_quota() -> Quota {
    Quota::per_second(RATE).expect("valid quota")
}

fn governor_limiter() -> (Governor, FakeRelativeClock) {
    let rate = NonZeroU32::new(RATE).expect("non-zero");
    let quota = GQuota::per_second(rate).allow_burst(NonZeroU32::MIN);
    let clock = FakeRelativeClock::default();
    // Start away from zero so neither side has a special first instant.
    clock.advance(Duration::from_secs(1));
    (
        GovernorLimiter::direct_with_clock(quota, clock.clone()),
        clock,
    )
}

fn pacer_limiter() -> (AtomicLimiter, ManualClock) {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(1));
    (AtomicLimiter::new(pacer_quota()), clock)
}

/// One pacer decision; `advance` moves the clock first (the *allowed* workload).
#[inline(always)]
fn pacer_step(limiter: &AtomicLimiter, clock: &ManualClock, advance: bool) -> bool {
    let now = if advance {
        clock.advance(INTERVAL)
    } else {
        clock.now()
    };
    limiter.try_acquire(now, 1).is_ok()
}

/// One governor decision; `advance` moves the clock first.
#[inline(always)]
fn governor_step(limiter: &Governor, clock: &FakeRelativeClock, advance: bool) -> bool {
    if advance {
        clock.advance(INTERVAL);
    }
    limiter.check().is_ok()
}

/// The fraction of `n` decisions that admitted, on one thread, for each side: printed once so
/// the reader can see that "allowed" and "denied" mean what they say.
fn sanity(n: u32) {
    for advance in [true, false] {
        let (p, pc) = pacer_limiter();
        let (g, gc) = governor_limiter();
        let mut gcra = Gcra::new(pacer_quota());
        let gcra_clock = ManualClock::new();
        let (mut pa, mut ga, mut fa) = (0u32, 0u32, 0u32);
        for _ in 0..n {
            pa += u32::from(pacer_step(&p, &pc, advance));
            ga += u32::from(governor_step(&g, &gc, advance));
            let now = if advance {
                gcra_clock.advance(INTERVAL)
            } else {
                gcra_clock.now()
            };
            fa += u32::from(gcra.try_acquire(now, 1).is_ok());
        }
        println!(
            "sanity ({}, 1 thread, {n} decisions): admitted pacer {pa}, governor {ga}, gcra {fa}",
            if advance { "allowed" } else { "denied" }
        );
    }
}

/// Runs `step` `iters` times on each of two threads that start together; returns the slower
/// thread's time.
fn two_threads<S: Fn() -> bool + Sync>(iters: u64, step: S) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            barrier.wait();
            let start = Instant::now();
            for _ in 0..iters {
                black_box(step());
            }
            start.elapsed()
        };
        let a = s.spawn(run);
        let b = s.spawn(run);
        let a = a.join().expect("bench thread");
        let b = b.join().expect("bench thread");
        a.max(b)
    })
}

fn decision(c: &mut Criterion) {
    sanity(100_000);
    for (mode, advance) in [("allowed", true), ("denied", false)] {
        let mut group = c.benchmark_group(format!("decision/{mode}"));

        group.bench_function("1t/pacer_atomic", |b| {
            let (limiter, clock) = pacer_limiter();
            b.iter(|| pacer_step(&limiter, &clock, advance));
        });
        group.bench_function("1t/governor", |b| {
            let (limiter, clock) = governor_limiter();
            b.iter(|| governor_step(&limiter, &clock, advance));
        });
        group.bench_function("1t/pacer_gcra_mut (floor)", |b| {
            let mut gcra = Gcra::new(pacer_quota());
            let clock = ManualClock::new();
            clock.advance(Duration::from_secs(1));
            b.iter(|| {
                let now = if advance {
                    clock.advance(INTERVAL)
                } else {
                    clock.now()
                };
                gcra.try_acquire(now, 1).is_ok()
            });
        });
        group.bench_function("2t/pacer_atomic", |b| {
            let (limiter, clock) = pacer_limiter();
            b.iter_custom(|iters| two_threads(iters, || pacer_step(&limiter, &clock, advance)));
        });
        group.bench_function("2t/governor", |b| {
            let (limiter, clock) = governor_limiter();
            b.iter_custom(|iters| two_threads(iters, || governor_step(&limiter, &clock, advance)));
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = decision
}
criterion_main!(benches);
