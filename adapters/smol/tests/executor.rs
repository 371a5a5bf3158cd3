//! pacer's async contract on smol's executor, with time driven by `pacer_core::ManualTimer`.
//!
//! smol has no paused clock, so these tests run pacer on a `smol::LocalExecutor` ticked by
//! the test thread, and move a manual clock only while every task is idle: each test sees
//! exactly one schedule and never waits on real time.

use std::future::Future;

use pacer_tests::scenarios::{self, Rt};

/// smol's single-threaded executor, ticked until nothing is runnable.
struct Smol {
    executor: smol::LocalExecutor<'static>,
}

impl Smol {
    fn new() -> Smol {
        Smol {
            executor: smol::LocalExecutor::new(),
        }
    }
}

impl Rt for Smol {
    type Handle = smol::Task<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> smol::Task<()> {
        self.executor.spawn(future)
    }

    fn detach(&self, handle: smol::Task<()>) {
        handle.detach();
    }

    fn cancel(&self, handle: smol::Task<()>) {
        // Dropping a smol task cancels it; the executor drops its future on its next tick.
        drop(handle);
        self.settle();
    }

    fn settle(&self) {
        while self.executor.try_tick() {}
    }
}

#[test]
fn completion_instants_conform_never_early_under_load() {
    scenarios::conformance_under_load(&Smol::new());
}

#[test]
fn fifo_across_tasks() {
    scenarios::fifo_across_tasks(&Smol::new());
}

#[test]
fn dropping_the_newest_waiter_returns_its_slot() {
    scenarios::cancel_returns_newest_slot(&Smol::new());
}

#[test]
fn weighted_acquisitions() {
    scenarios::weights(&Smol::new());
}

#[test]
fn too_heavy_and_would_wait() {
    scenarios::errors(&Smol::new());
}

#[test]
fn throttle_spaces_items() {
    scenarios::throttle_spacing(&Smol::new());
}

#[test]
fn gate_never_exceeds_its_concurrency() {
    scenarios::gate_concurrency(&Smol::new());
}

#[test]
fn thousand_waiters_polled_at_most_twice() {
    scenarios::poll_counts(&Smol::new());
}

#[test]
fn keyed_acquisitions_per_key() {
    scenarios::keyed_acquisitions(&Smol::new());
}

#[test]
fn a_pause_moves_every_waiter() {
    scenarios::pause_moves_every_waiter(&Smol::new());
}

#[test]
fn a_pause_of_one_key_moves_its_waiters() {
    scenarios::key_pause_moves_its_waiters(&Smol::new());
}
