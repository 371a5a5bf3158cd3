//! `Timer`: what an adapter supplies so the async layer can wait on a runtime.

use core::future::Future;

use crate::Clock;

/// A runtime's clock and its one-shot sleep, which is all pacer needs from an executor.
///
/// Implementations must never wake early: once a `sleep_until(at)` future completes,
/// [`now`](Clock::now) must read `at` or later. (The acquisition future re-checks this, and
/// sleeps again in the rare case a timer breaks the rule, so a reservation is never used
/// early.)
///
/// Adapter crates implement this on tokio, async-io (smol), async-std, futures-timer and
/// embassy-time; [`ManualTimer`](crate::ManualTimer) implements it for tests.
pub trait Timer: Clock {
    /// The future [`sleep_until`](Timer::sleep_until) returns.
    type Sleep: Future<Output = ()>;

    /// A future that completes once this clock reads `at` or later.
    fn sleep_until(&self, at: u64) -> Self::Sleep;
}

impl<T: Timer + ?Sized> Timer for &T {
    type Sleep = T::Sleep;

    fn sleep_until(&self, at: u64) -> T::Sleep {
        (**self).sleep_until(at)
    }
}
