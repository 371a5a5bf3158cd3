//! The glue on smol's real timer: correctness only, no timing assertions (a loaded machine may
//! wake any sleep late; what must hold is that none wakes early). The checks are pacer-tests'
//! `real_timer`, shared with pacer-async-std; this file supplies smol's executor.

use std::future::Future;

use pacer_smol::{AtomicLimiter, Gate, Limiter, Quota, SmolTimer, Throttle, pacer_core};
use pacer_tests::real_timer::{self, BlockOn};
use smol::stream;

/// smol's `block_on`, and its global executor for tasks.
struct Smol;

impl BlockOn for Smol {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }

    fn block_on_task<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        smol::block_on(smol::spawn(future));
    }
}

#[test]
fn sleep_until_never_wakes_early() {
    real_timer::sleep_until_never_wakes_early(&Smol, SmolTimer::new());
}

#[test]
fn past_instants_are_due_at_once_and_unreachable_ones_never() {
    let timer = SmolTimer::default();
    real_timer::past_instants_are_due_at_once_and_unreachable_ones_never(&timer);
    real_timer::copies_share_the_origin(timer, SmolTimer::origin, SmolTimer::instant);
}

#[test]
fn limiter_gate_and_throttle_on_the_real_timer() {
    real_timer::limiter_gate_and_throttle::<SmolTimer>(&Smol);
    // The aliases are the core types, on this crate's timer, that the shared check ran on.
    let limiter: pacer_core::Pacer<pacer_core::Pausable<AtomicLimiter>, SmolTimer> =
        Limiter::new(Quota::per_second(1_000).unwrap());
    let _: Throttle<_, &Limiter> = limiter.throttle(stream::iter([1, 2, 3]));
    let _: pacer_core::Gate<pacer_core::Pausable<AtomicLimiter>, SmolTimer> =
        Gate::new(Quota::per_second(1_000).unwrap(), 2).unwrap();
}
