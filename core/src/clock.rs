//! `Clock`, the source of "now", and `ManualClock`, the one tests drive by hand.

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
use core::time::Duration;

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
use crate::shared::atomic::Word;

/// A source of instants: nanoseconds since an origin the clock chooses.
///
/// pacer's schedulers never read a clock; adapters implement this trait on their runtime's
/// clock and pass its readings in. A reading may be earlier than a previous one (a clock that
/// steps backwards): schedulers treat it as the latest reading seen.
pub trait Clock {
    /// Nanoseconds since this clock's origin.
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A clock that moves only when told to: [`advance`](ManualClock::advance) and
/// [`set`](ManualClock::set). Share it by reference (or in an `Arc`); every handle sees the
/// same time.
///
/// ```
/// use pacer_core::{Clock, ManualClock};
/// use core::time::Duration;
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(clock.now(), 5_000_000);
/// clock.set(1); // may step backwards, to test how limiters take it
/// assert_eq!(clock.now(), 1);
/// ```
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: Word,
}

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
impl ManualClock {
    /// A clock at instant 0.
    pub const fn new() -> ManualClock {
        ManualClock {
            nanos: Word::new(0),
        }
    }

    /// Moves the clock forward by `by` (saturating at the end of time) and returns the new
    /// instant.
    ///
    /// One atomic add. At the end of time the clock is pinned at `u64::MAX`; a reader racing
    /// that moment may see the wrapped value first, which limiters take as a backwards step.
    #[inline]
    pub fn advance(&self, by: Duration) -> u64 {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let previous = self.nanos.fetch_add(by);
        previous.checked_add(by).unwrap_or_else(|| {
            self.nanos.store(u64::MAX);
            u64::MAX
        })
    }

    /// Sets the clock to `nanos`, forwards or backwards.
    #[inline]
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos);
    }
}

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        self.nanos.load()
    }
}
