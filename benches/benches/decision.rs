//! Decision cost: pacer's lock-free `AtomicLimiter::try_acquire` against governor's `check`,
//! both on a manual clock with the same quota, burst 1, and pacer's pure `&mut`
//! `Gcra::try_acquire` as the floor. Two quotas:
//!
//! - `decision`: 1,000,000 per second, an interval of exactly 1,000 ns (pacer's
//!   whole-nanosecond path, where every unit conversion is the identity);
//! - `decision_odd`: 999,983 per second, an interval of 1,000.017 ns that is not a whole number
//!   of nanoseconds (pacer's exact-unit path; governor rounds its interval down to 1,000 ns).
//!
//! Workloads:
//! - *allowed*: every iteration advances the shared manual clock by one step (1,000 ns, or
//!   1,001 ns for the odd quota, a little more than its interval) and asks for one cell, so
//!   every decision admits and writes the state;
//! - *denied*: the clock never moves, so after the first cell every decision refuses.
//!
//! On one thread (`1t`) and on two threads contending for one limiter and one clock (`2t`,
//! `iter_custom`: each thread makes `iters` decisions; the reported time is the slower
//! thread's wall time divided by `iters`, the cost of one decision as a contending thread
//! sees it).
//!
//! What "out of line" leaves inside each step depends on the compiler's inlining of the
//! limiter's own code. In this binary governor's step calls its `measure_and_replace` and its
//! clock's `now` (82 instructions per refusal, by callgrind); in a small program that calls
//! `check()` from one place both are inlined (41), which makes governor cheaper than it reads
//! here. BENCHMARKS.md ("Decision cost") gives both counts; compare instruction counts as well
//! as these times when a ratio is close.
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

/// A whole-nanosecond interval: 1,000 ns.
const WHOLE: u32 = 1_000_000;
/// The clock step of the *allowed* workload at [`WHOLE`], in nanoseconds: one interval.
const WHOLE_STEP: u64 = 1_000;
/// An interval that is not a whole number of nanoseconds: 10^9 / 999,983 = 1,000.017 ns.
const ODD: u32 = 999_983;
/// The clock step at [`ODD`]: 1,001 ns, just over one interval, so both sides admit every cell.
const ODD_STEP: u64 = 1_001;

type Governor = GovernorLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    FakeRelativeClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

fn pacer_quota(rate: u32) -> Quota {
    Quota::per_second(rate).expect("valid quota")
}

fn governor_limiter(rate: u32) -> (Governor, FakeRelativeClock) {
    let rate = NonZeroU32::new(rate).expect("non-zero");
    let quota = GQuota::per_second(rate).allow_burst(NonZeroU32::MIN);
    let clock = FakeRelativeClock::default();
    // Start away from zero so neither side has a special first instant.
    clock.advance(Duration::from_secs(1));
    (
        GovernorLimiter::direct_with_clock(quota, clock.clone()),
        clock,
    )
}

fn pacer_limiter(rate: u32) -> (AtomicLimiter, ManualClock) {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(1));
    (AtomicLimiter::new(pacer_quota(rate)), clock)
}

/// One pacer decision; with `ADVANCE` the clock moves by `STEP` ns first (the *allowed*
/// workload).
///
/// The three step functions are never inlined into the timing loops: each is compiled on its
/// own, so how much of a limiter the compiler inlines into it does not depend on the rest of
/// this file. (Inlined into the loops, governor's `measure_and_replace` was inlined in some
/// builds and called in others, which moved its refusals between 2 and 8 ns with no change to
/// governor.) Both sides pay the same call.
#[inline(never)]
fn pacer_step<const STEP: u64, const ADVANCE: bool>(
    limiter: &AtomicLimiter,
    clock: &ManualClock,
) -> bool {
    let now = if ADVANCE {
        clock.advance(Duration::from_nanos(STEP))
    } else {
        clock.now()
    };
    limiter.try_acquire(now, 1).is_ok()
}

/// One governor decision; with `ADVANCE` the clock moves by `STEP` ns first.
#[inline(never)]
fn governor_step<const STEP: u64, const ADVANCE: bool>(
    limiter: &Governor,
    clock: &FakeRelativeClock,
) -> bool {
    if ADVANCE {
        clock.advance(Duration::from_nanos(STEP));
    }
    limiter.check().is_ok()
}

/// One decision of the `&mut` floor; with `ADVANCE` the clock moves by `STEP` ns first.
#[inline(never)]
fn gcra_step<const STEP: u64, const ADVANCE: bool>(gcra: &mut Gcra, clock: &ManualClock) -> bool {
    let now = if ADVANCE {
        clock.advance(Duration::from_nanos(STEP))
    } else {
        clock.now()
    };
    gcra.try_acquire(now, 1).is_ok()
}

/// How many of `n` decisions admitted, on one thread, for each side: printed once so the
/// reader can see that "allowed" and "denied" mean what they say.
fn sanity<const STEP: u64, const ADVANCE: bool>(name: &str, rate: u32, n: u32) {
    let (p, pc) = pacer_limiter(rate);
    let (g, gc) = governor_limiter(rate);
    let mut gcra = Gcra::new(pacer_quota(rate));
    let gcra_clock = ManualClock::new();
    let (mut pa, mut ga, mut fa) = (0u32, 0u32, 0u32);
    for _ in 0..n {
        pa += u32::from(pacer_step::<STEP, ADVANCE>(&p, &pc));
        ga += u32::from(governor_step::<STEP, ADVANCE>(&g, &gc));
        fa += u32::from(gcra_step::<STEP, ADVANCE>(&mut gcra, &gcra_clock));
    }
    println!(
        "sanity {name} ({}, 1 thread, {n} decisions): admitted pacer {pa}, governor {ga}, gcra {fa}",
        if ADVANCE { "allowed" } else { "denied" }
    );
}

/// Times `iters` calls of `step(limiter, clock)` on this thread.
///
/// The loop keeps the two references and the count of admitted cells in registers and hands
/// the count to `black_box` once, at the end. A `black_box` per call would store each result
/// to the stack, and whether that store happens to alias the limiter's or the clock's address
/// (modulo 4 KiB) then moved either side's time by a factor of two to three between builds: a
/// cost of the harness, not of the limiters. Each call still depends on shared atomics that
/// the compiler cannot hoist.
#[inline(always)]
fn timed_loop<L, C, F: Fn(&L, &C) -> bool>(
    iters: u64,
    limiter: &L,
    clock: &C,
    step: F,
) -> Duration {
    let (limiter, clock) = (black_box(limiter), black_box(clock));
    let start = Instant::now();
    let mut admitted = 0u64;
    for _ in 0..iters {
        admitted += u64::from(step(limiter, clock));
    }
    let elapsed = start.elapsed();
    black_box(admitted);
    elapsed
}

/// [`timed_loop`] on each of two threads that start together; returns the slower thread's
/// time.
fn two_threads<L: Sync, C: Sync, F: Fn(&L, &C) -> bool + Sync + Copy>(
    iters: u64,
    limiter: &L,
    clock: &C,
    step: F,
) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            barrier.wait();
            timed_loop(iters, limiter, clock, step)
        };
        let a = s.spawn(run);
        let b = s.spawn(run);
        let a = a.join().expect("bench thread");
        let b = b.join().expect("bench thread");
        a.max(b)
    })
}

/// The five measurements of one quota and one workload.
fn measure<const STEP: u64, const ADVANCE: bool>(c: &mut Criterion, name: &str, rate: u32) {
    let mode = if ADVANCE { "allowed" } else { "denied" };
    let mut group = c.benchmark_group(format!("{name}/{mode}"));
    group.bench_function("1t/pacer_atomic", |b| {
        let (limiter, clock) = pacer_limiter(rate);
        b.iter_custom(|iters| timed_loop(iters, &limiter, &clock, pacer_step::<STEP, ADVANCE>));
    });
    group.bench_function("1t/governor", |b| {
        let (limiter, clock) = governor_limiter(rate);
        b.iter_custom(|iters| timed_loop(iters, &limiter, &clock, governor_step::<STEP, ADVANCE>));
    });
    group.bench_function("1t/pacer_gcra_mut (floor)", |b| {
        let gcra = std::cell::RefCell::new(Gcra::new(pacer_quota(rate)));
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(1));
        b.iter_custom(|iters| {
            let mut gcra = gcra.borrow_mut();
            let clock = black_box(&clock);
            let start = Instant::now();
            let mut admitted = 0u64;
            for _ in 0..iters {
                admitted += u64::from(gcra_step::<STEP, ADVANCE>(&mut gcra, clock));
            }
            let elapsed = start.elapsed();
            black_box(admitted);
            elapsed
        });
    });
    group.bench_function("2t/pacer_atomic", |b| {
        let (limiter, clock) = pacer_limiter(rate);
        b.iter_custom(|iters| two_threads(iters, &limiter, &clock, pacer_step::<STEP, ADVANCE>));
    });
    group.bench_function("2t/governor", |b| {
        let (limiter, clock) = governor_limiter(rate);
        b.iter_custom(|iters| two_threads(iters, &limiter, &clock, governor_step::<STEP, ADVANCE>));
    });
    group.finish();
}

fn decision(c: &mut Criterion) {
    sanity::<WHOLE_STEP, true>("decision", WHOLE, 100_000);
    sanity::<WHOLE_STEP, false>("decision", WHOLE, 100_000);
    sanity::<ODD_STEP, true>("decision_odd", ODD, 100_000);
    sanity::<ODD_STEP, false>("decision_odd", ODD, 100_000);
    // At steps of exactly 1,000 ns, 0.017 ns shorter than the odd quota's interval: pacer
    // admits a run of cells on that grid as long as the rounding of instants to whole
    // nanoseconds allows (about 58), then skips a step; governor, whose interval is rounded
    // down to 1,000 ns, admits every step, 17 ppm faster than the quota.
    sanity::<WHOLE_STEP, true>("decision_odd at 1,000 ns steps", ODD, 100_000);
    measure::<WHOLE_STEP, true>(c, "decision", WHOLE);
    measure::<WHOLE_STEP, false>(c, "decision", WHOLE);
    measure::<ODD_STEP, true>(c, "decision_odd", ODD);
    measure::<ODD_STEP, false>(c, "decision_odd", ODD);
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
