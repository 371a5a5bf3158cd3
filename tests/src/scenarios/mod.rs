//! Deterministic scenarios for an adapter's executor, on `pacer_core::ManualTimer`.
//!
//! Each adapter's tests supply an [`Rt`] for their executor (spawn, cancel, run until nothing
//! is runnable) and call these scenarios. The clock moves only when a scenario moves it, and it
//! is moved only while every task is idle, so each scenario sees one schedule, whatever the
//! executor's threads do.
//!
//! The oracle for every scenario is pacer's design contract (docs/contract.md): completion
//! instants obey the conformance rule, waiters complete in reservation order, none completes
//! before its reserved instant (and each completes at the first clock reading at or after it),
//! a cancelled newest waiter hands its cells back, and each acquisition future is polled at most
//! twice (reserve and sleep, then complete).

use std::sync::{Mutex, MutexGuard, PoisonError};

mod acquisitions;
mod fixture;
mod gate;
mod keyed;
mod load;
mod order;
mod pause;
mod polls;
mod recording;
mod rt;
mod steps;
mod throttle;
mod traced;
mod waiters;

pub use acquisitions::{errors, weights};
pub use gate::gate_concurrency;
pub use keyed::keyed_acquisitions;
pub use load::conformance_under_load;
pub use order::{cancel_returns_newest_slot, fifo_across_tasks};
pub use pause::{key_pause_moves_its_waiters, pause_moves_every_waiter};
pub use polls::poll_counts;
pub use rt::Rt;
pub use throttle::throttle_spacing;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ms(n: u64) -> u64 {
    n * 1_000_000
}
