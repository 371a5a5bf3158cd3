//! Pausing from the async layer: [`Pacer`] and [`KeyedPacer`] read their timer's clock and
//! pause their [`Pausable`](crate::Pausable) limiter.

use core::time::Duration;

#[cfg(feature = "keyed")]
use crate::KeyedPacer;
use crate::{Error, Pacer, Pause, Timer};

/// The instant `by` after `now`, saturating.
fn after(now: u64, by: Duration) -> u64 {
    now.saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX))
}

impl<L: crate::RateLimiter + Pause, T: Timer> Pacer<L, T> {
    /// Holds every acquisition back until instant `until` of the timer's clock: nothing
    /// passes before it, and every waiter not yet passed moves later by the time the pause
    /// adds, keeping its order and spacing (see [`Pausable`](crate::Pausable)). Returns
    /// whether the pause changed anything; fails with [`Error::PauseTooLong`], changing
    /// nothing, past the limiter's maximum pause.
    pub fn pause_until(&self, until: u64) -> Result<bool, Error> {
        self.limiter().pause_until(self.timer().now(), until)
    }

    /// Holds every acquisition back for `duration` from now, as a server's `Retry-After`
    /// asks; see [`pause_until`](Pacer::pause_until).
    pub fn pause_for(&self, duration: Duration) -> Result<bool, Error> {
        let now = self.timer().now();
        self.limiter().pause_until(now, after(now, duration))
    }

    /// The instant the current pause ends, or `None` when the limiter is not paused.
    pub fn paused_until(&self) -> Option<u64> {
        self.limiter().paused_until(self.timer().now())
    }
}

#[cfg(feature = "keyed")]
impl<L: Pause, T: Timer> KeyedPacer<L, T> {
    /// Holds every acquisition of every key back until instant `until` of the timer's clock;
    /// see [`Pacer::pause_until`].
    pub fn pause_until(&self, until: u64) -> Result<bool, Error> {
        self.limiter().pause_until(self.timer().now(), until)
    }

    /// Holds every acquisition of every key back for `duration` from now; see
    /// [`Pacer::pause_until`].
    pub fn pause_for(&self, duration: Duration) -> Result<bool, Error> {
        let now = self.timer().now();
        self.limiter().pause_until(now, after(now, duration))
    }

    /// The instant the current pause ends, or `None` when the limiter is not paused.
    pub fn paused_until(&self) -> Option<u64> {
        self.limiter().paused_until(self.timer().now())
    }
}
