//! Pausing from the async layer: [`Pacer`] and [`KeyedPacer`] read their timer's clock and
//! pause their [`Pausable`](crate::Pausable) limiter.

use core::time::Duration;

#[cfg(feature = "keyed")]
use crate::KeyedPacer;
#[cfg(feature = "keyed")]
use crate::PauseKey;
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

#[cfg(feature = "keyed")]
impl<L, T: Timer> KeyedPacer<L, T> {
    /// Holds every acquisition of `key` alone back until instant `until` of the timer's
    /// clock, as a server's 429 for one destination or tenant asks: nothing of the key passes
    /// before it, every waiter of the key not yet passed moves later by the time the pause
    /// adds, keeping its order and spacing, and other keys go on. Returns whether the pause
    /// changed anything; fails with [`Error::PauseTooLong`] past the limiter's maximum pause
    /// and with [`Error::PausedKeysFull`] when the limiter already keeps pause records for as
    /// many keys as it can, changing nothing. See [`PauseKey`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{KeyedPacer, ManualTimer, Pausable, Quota, ShardedKeyedGcra};
    ///
    /// # futures_executor::block_on(async {
    /// let limiter = Pausable::new(ShardedKeyedGcra::<String>::new(Quota::per_second(10)?, 100)?);
    /// let per_host = KeyedPacer::from_parts(limiter, ManualTimer::new());
    /// per_host.acquire("a.example").await?; // at 0
    /// // a.example answered 429 with Retry-After: 2
    /// per_host.pause_key_for("a.example", Duration::from_secs(2))?;
    /// assert_eq!(per_host.delay("a.example", 1)?, Duration::from_millis(2_100));
    /// assert_eq!(per_host.delay("b.example", 1)?, Duration::ZERO); // not paused
    /// assert_eq!(per_host.key_paused_until("a.example"), Some(2_000_000_000));
    /// # Ok::<(), pacer_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn pause_key_until<Q: ?Sized>(&self, key: &Q, until: u64) -> Result<bool, Error>
    where
        L: PauseKey<Q>,
    {
        self.limiter()
            .pause_key_until(key, self.timer().now(), until)
    }

    /// Holds every acquisition of `key` alone back for `duration` from now, as a server's
    /// `Retry-After` for that key asks; see [`pause_key_until`](KeyedPacer::pause_key_until).
    pub fn pause_key_for<Q: ?Sized>(&self, key: &Q, duration: Duration) -> Result<bool, Error>
    where
        L: PauseKey<Q>,
    {
        let now = self.timer().now();
        self.limiter()
            .pause_key_until(key, now, after(now, duration))
    }

    /// The instant `key`'s own pause ends, or `None` when it is not paused (the whole
    /// limiter's pause is [`paused_until`](KeyedPacer::paused_until)).
    pub fn key_paused_until<Q: ?Sized>(&self, key: &Q) -> Option<u64>
    where
        L: PauseKey<Q>,
    {
        self.limiter().key_paused_until(key, self.timer().now())
    }
}
