//! `Pacer::set_quota`: changing the quota of a running pacer, on its own clock.

use crate::{Error, Pacer, Quota, RateLimiter, Reconfigure, Timer};

impl<L: RateLimiter + Reconfigure, T: Timer> Pacer<L, T> {
    /// The quota in force.
    pub fn quota(&self) -> Quota {
        self.limiter().quota()
    }

    /// Changes the quota now, by the timer's clock: acquisitions already reserved (including
    /// those asleep) keep their instants, and new ones follow `quota` after them (see
    /// [`Reconfigure`]).
    ///
    /// ```
    /// use pacer_core::{Gcra, Locked, ManualTimer, Pacer, Quota};
    ///
    /// let pacer = Pacer::from_parts(Locked::new(Gcra::new(Quota::per_second(10)?)), ManualTimer::new());
    /// pacer.try_acquire(1)?;
    /// pacer.set_quota(Quota::per_second(1000)?)?;
    /// assert_eq!(pacer.quota(), Quota::per_second(1000)?);
    /// // The cell taken under 10/s still occupies the bucket, now one 1000/s interval long.
    /// assert_eq!(pacer.delay(1)?, std::time::Duration::from_millis(1));
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn set_quota(&self, quota: Quota) -> Result<(), Error> {
        self.limiter().set_quota(self.timer().now(), quota)
    }
}
