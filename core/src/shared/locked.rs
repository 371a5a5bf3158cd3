//! `Locked`: any scheduler shared between threads behind a short lock.

use core::time::Duration;

use crate::{Error, RateLimiter, Reservation, Scheduler, Snapshot};

#[cfg(feature = "std")]
type Lock<S> = std::sync::Mutex<S>;

#[cfg(all(feature = "critical-section", not(feature = "std")))]
type Lock<S> = critical_section::Mutex<core::cell::RefCell<S>>;

/// A [`Scheduler`] shared by `&` or `Arc`: each decision takes the lock for a few arithmetic
/// operations and never holds it across an `.await`.
///
/// Each `Locked` has its own lock: `std::sync::Mutex` with the `std` feature, otherwise a
/// `critical-section` mutex (for single-core targets; enable the `critical-section` feature).
/// Use it for several limits at once and for sliding windows; for one quota the lock-free
/// [`AtomicLimiter`](crate::AtomicLimiter) is faster.
///
/// ```
/// use pacer_core::{Limits, Locked, Quota, RateLimiter};
///
/// let hourly = Quota::per_hour(1000)?.with_burst(100)?;
/// let limiter = Locked::new(Limits::new([Quota::per_second(10)?, hourly]));
/// assert_eq!(limiter.reserve(0, 1)?.at(), 0);
/// assert_eq!(limiter.reserve(0, 1)?.at(), 100_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Locked<S> {
    inner: Lock<S>,
}

impl<S> Locked<S> {
    /// Shares `scheduler`.
    pub const fn new(scheduler: S) -> Self {
        #[cfg(feature = "std")]
        let inner = Lock::new(scheduler);
        #[cfg(not(feature = "std"))]
        let inner = Lock::new(core::cell::RefCell::new(scheduler));
        Locked { inner }
    }

    /// Runs `f` on the scheduler under the lock (for reconfiguration and inspection). Keep `f`
    /// short: every other decision waits for it.
    pub fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        #[cfg(feature = "std")]
        {
            let mut guard = self
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        }
        #[cfg(not(feature = "std"))]
        critical_section::with(|cs| f(&mut self.inner.borrow_ref_mut(cs)))
    }
}

impl<S: Scheduler> RateLimiter for Locked<S> {
    type Token = S::Token;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<S::Token>, Error> {
        self.with(|s| s.reserve_within(now, cells, max_wait))
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.with(|s| s.earliest(now, cells))
    }

    fn cancel(&self, reservation: Reservation<S::Token>, now: u64) -> bool {
        self.with(|s| s.cancel(reservation, now))
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.with(|s| s.snapshot(now))
    }
}
