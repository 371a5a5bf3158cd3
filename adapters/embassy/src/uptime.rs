//! `Uptime`: embassy-time's own clock, with no state at all.

use embassy_time::Instant;
use pacer_core::{Clock, Timer};

use crate::ticks::TICKS;

/// The [`Clock`] and [`Timer`] of embassy-time counted from its own origin (the driver's zero,
/// usually boot): instants are nanoseconds since then, exact to the tick (rounded down), and
/// its sleeps are [`embassy_time::Timer`]s that end at the first tick that reads the instant.
///
/// It is zero-sized, so a limiter on it holds nothing for the timer: with a quota in flash,
/// [`StaticLimiter`](crate::StaticLimiter) keeps 16 bytes of RAM on a 32-bit part. Unlike
/// [`EmbassyTimer`](crate::EmbassyTimer), whose origin is the instant it was made, it can be
/// a constant, so the limiter can be a `static`.
///
/// ```
/// use pacer_embassy::{Clock, Timer, Uptime};
///
/// assert_eq!(core::mem::size_of::<Uptime>(), 0);
/// let _sleep = Uptime.sleep_until(Uptime.now() + 1_000_000); // wakes 1 ms from now
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uptime;

impl Uptime {
    /// The first embassy-time instant (a whole tick) at which this clock reads `at`
    /// nanoseconds or more: what [`sleep_until`](Timer::sleep_until) waits for.
    /// [`Instant::MAX`] if that is beyond embassy-time's range.
    pub fn instant_at(&self, at: u64) -> Instant {
        Instant::from_ticks(TICKS.ticks(at))
    }

    /// The reading of this clock at `instant`: whole nanoseconds since embassy-time's origin,
    /// rounded down (`u64::MAX` past the range).
    pub fn nanos_at(&self, instant: Instant) -> u64 {
        TICKS.nanos(instant.as_ticks())
    }
}

impl Clock for Uptime {
    /// Nanoseconds since embassy-time's origin, exact to the tick, rounded down.
    #[inline]
    fn now(&self) -> u64 {
        self.nanos_at(Instant::now())
    }
}

impl Timer for Uptime {
    type Sleep = embassy_time::Timer;

    /// An [`embassy_time::Timer`] at [`instant_at(at)`](Uptime::instant_at), so it never wakes
    /// early.
    #[inline]
    fn sleep_until(&self, at: u64) -> embassy_time::Timer {
        embassy_time::Timer::at(self.instant_at(at))
    }
}
