//! The glue on async-std's timer: correctness only, no timing assertions (a loaded machine may
//! wake any sleep late; what must hold is that none wakes early). The checks are pacer-tests'
//! `real_timer`, shared with pacer-smol; this file supplies async-std's executor.

use std::future::Future;

use async_std::stream;
use pacer_async_std::{AsyncStdTimer, AtomicLimiter, Gate, Limiter, Quota, Throttle, pacer_core};
use pacer_tests::real_timer::{self, BlockOn};

/// async-std's `block_on`, and its executor for tasks.
struct AsyncStd;

impl BlockOn for AsyncStd {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_std::task::block_on(future)
    }

    fn block_on_task<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        async_std::task::block_on(async_std::task::spawn(future));
    }
}

#[test]
fn sleep_until_never_wakes_early() {
    real_timer::sleep_until_never_wakes_early(&AsyncStd, AsyncStdTimer::new());
}

#[test]
fn past_instants_are_due_at_once_and_unreachable_ones_never() {
    let timer = AsyncStdTimer::default();
    real_timer::past_instants_are_due_at_once_and_unreachable_ones_never(&timer);
    real_timer::copies_share_the_origin(timer, AsyncStdTimer::origin, AsyncStdTimer::instant);
}

#[test]
fn limiter_gate_and_throttle_on_the_real_timer() {
    real_timer::limiter_gate_and_throttle::<AsyncStdTimer>(&AsyncStd);
    // The aliases are the core types, on this crate's timer, that the shared check ran on.
    let limiter: pacer_core::Pacer<pacer_core::Pausable<AtomicLimiter>, AsyncStdTimer> =
        Limiter::new(Quota::per_second(1_000).unwrap());
    let _: Throttle<_, &Limiter> = limiter.throttle(stream::from_iter([1, 2, 3]));
    let _: pacer_core::Gate<pacer_core::Pausable<AtomicLimiter>, AsyncStdTimer> =
        Gate::new(Quota::per_second(1_000).unwrap(), 2).unwrap();
}
