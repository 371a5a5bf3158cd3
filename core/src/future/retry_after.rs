//! How long a refused caller should wait, for a `Retry-After` header or a retry timer:
//! [`Pacer::retry_after`], and [`retry_after_secs`](Pacer::retry_after_secs) on both pacers.
//!
//! The wait is `at - now` in the limiter's whole nanoseconds, where `at` is the instant the
//! error carries and `now` is the timer's reading (rounded down to a whole nanosecond), so it
//! is never shorter than the real wait. In whole seconds it is rounded up, so a client that
//! waits the header's seconds never comes back early, and a positive wait is never `0`.

use core::time::Duration;

use crate::{Error, Pacer, RateLimiter, Timer};

/// `wait` in whole seconds, rounded up: 0 only for a zero wait.
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
}

/// The time from `now` until the instant `error` carries, if it carries one.
fn wait_from(now: u64, error: &Error) -> Option<Duration> {
    let at = error.earliest()?;
    Some(Duration::from_nanos(at.saturating_sub(now)))
}

impl<L: RateLimiter, T: Timer> Pacer<L, T> {
    /// How long from now until the instant `error` carries ([`Error::WouldWait`]: when the
    /// refused cells could go), to the nanosecond; `None` for an error that carries no
    /// instant, and zero if that instant has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{AtomicLimiter, ManualTimer, Pacer, Quota};
    ///
    /// let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(4)?), ManualTimer::new());
    /// pacer.try_acquire(1)?;
    /// let refused = pacer.try_acquire(1).unwrap_err();
    /// assert_eq!(pacer.retry_after(&refused), Some(Duration::from_millis(250)));
    /// assert_eq!(pacer.retry_after_secs(&refused), Some(1)); // rounded up, never 0
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn retry_after(&self, error: &Error) -> Option<Duration> {
        wait_from(self.timer().now(), error)
    }

    /// [`retry_after`](Pacer::retry_after) in whole seconds, rounded up, for an HTTP
    /// `Retry-After` header: a client that waits that long never comes back early, and a
    /// positive wait is never `0` (250 ms gives 1, 1.2 s gives 2). `Some(0)` only if the
    /// instant has passed; `None` for an error that carries no instant.
    pub fn retry_after_secs(&self, error: &Error) -> Option<u64> {
        self.retry_after(error).map(whole_seconds_up)
    }
}

#[cfg(feature = "keyed")]
impl<L, T: Timer> crate::KeyedPacer<L, T> {
    /// [`retry_after`](crate::KeyedPacer::retry_after) in whole seconds, rounded up, for an
    /// HTTP `Retry-After` header: a client that waits that long never comes back early, and a
    /// positive wait is never `0` (500 ms gives 1). `Some(0)` only if the instant has passed;
    /// `None` for an error that carries no instant.
    ///
    /// [`retry_after`](crate::KeyedPacer::retry_after) itself is exact to the nanosecond: the
    /// time from the timer's reading (rounded down) to the instant the error carries, never
    /// shorter than the real wait.
    ///
    /// ```
    /// use pacer_core::{KeyedPacer, ManualTimer, Quota, ShardedKeyedGcra};
    ///
    /// let limiter = ShardedKeyedGcra::new(Quota::per_second(2)?, 100)?;
    /// let per_client = KeyedPacer::from_parts(limiter, ManualTimer::new());
    /// per_client.try_acquire("alice", 1)?;
    /// let refused = per_client.try_acquire("alice", 1).unwrap_err();
    /// assert_eq!(per_client.retry_after_secs(&refused), Some(1)); // 500 ms, rounded up
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn retry_after_secs(&self, error: &Error) -> Option<u64> {
        wait_from(self.timer().now(), error).map(whole_seconds_up)
    }
}

#[cfg(test)]
mod tests {
    use super::whole_seconds_up;
    use core::time::Duration;

    #[test]
    fn whole_seconds_round_up_and_never_give_zero_for_a_wait() {
        assert_eq!(whole_seconds_up(Duration::ZERO), 0);
        assert_eq!(whole_seconds_up(Duration::from_nanos(1)), 1);
        assert_eq!(whole_seconds_up(Duration::from_millis(999)), 1);
        assert_eq!(whole_seconds_up(Duration::from_secs(1)), 1);
        assert_eq!(whole_seconds_up(Duration::from_millis(1_001)), 2);
        assert_eq!(whole_seconds_up(Duration::MAX), u64::MAX);
    }
}
