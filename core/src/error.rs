//! The one error type of pacer.

use core::fmt;

/// Everything that can go wrong when building a quota or asking a limiter for cells.
///
/// Every operation that can fail returns this type. Where an earliest permitted instant exists
/// (a wait longer than allowed), the error carries it, so a caller can report or retry at it.
///
/// ```
/// use pacer_core::{Error, Gcra, Quota, Scheduler};
/// use core::time::Duration;
///
/// let mut gcra = Gcra::new(Quota::per_second(10)?);
/// gcra.reserve(0, 1)?;
/// // The next cell may go 100 ms later; a caller that will wait at most 10 ms is refused.
/// let err = gcra.reserve_within(0, 1, Duration::from_millis(10)).unwrap_err();
/// assert_eq!(err, Error::WouldWait { at: 100_000_000 });
/// assert_eq!(err.earliest(), Some(100_000_000));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A quota was given a count of zero cells per period.
    ZeroCount,
    /// A quota was given a period of zero length.
    ZeroPeriod,
    /// A quota was given a burst of zero: no cell could ever be admitted.
    ZeroBurst,
    /// A quota allows more than one cell per nanosecond (more than 10^9 per second), the finest
    /// spacing pacer's nanosecond instants can schedule.
    TooFast,
    /// A quota's period or burst is so large that its arithmetic would overflow.
    QuotaOverflow,
    /// A sliding window was asked to hold more cells per period than its fixed capacity.
    WindowTooSmall {
        /// The cells per period that were asked for.
        count: u32,
        /// The capacity of the window's log.
        capacity: usize,
    },
    /// An acquisition asked for more cells at once than the burst (or window count) allows, so
    /// it can never be satisfied. Nothing was recorded.
    TooHeavy {
        /// The cells that were asked for.
        cells: u32,
        /// The most cells one acquisition can take.
        max: u32,
    },
    /// The cells could go only at `at`, later than the caller agreed to wait. Nothing was
    /// recorded.
    ///
    /// `at` is in the limiter's own terms; a pacer's `retry_after(&error)` gives the wait from
    /// now as a `Duration` (and `retry_after_secs` in whole seconds, rounded up, for an HTTP
    /// `Retry-After` header), and each adapter's timer's `instant(at)` the runtime's instant.
    WouldWait {
        /// The earliest permitted instant, in nanoseconds since the limiter's origin.
        at: u64,
    },
    /// A gate was given a concurrency of zero: nothing could ever pass it.
    ZeroConcurrency,
    /// An instant fell outside the range the limiter can represent (about 292 years from its
    /// origin). Nothing was recorded.
    InstantOverflow,
    /// A keyed limiter was given room for zero keys: no key could ever be admitted.
    ZeroCapacity,
    /// A keyed limiter has no room for a new key: every slot holds a key that is not idle, and
    /// the limiter refuses rather than forget one (see `WhenFull`). Nothing was recorded and no
    /// other key was disturbed.
    TableFull {
        /// The earliest instant at which a slot frees, in nanoseconds since the limiter's
        /// origin.
        at: u64,
    },
    /// A pause would end at `until`, further away than the `max` nanoseconds the limiter
    /// accepts; nothing was changed. See [`Pausable`](crate::Pausable).
    PauseTooLong {
        /// The end asked for, in nanoseconds since the limiter's origin.
        until: u64,
        /// The longest pause accepted, in nanoseconds.
        max: u64,
    },
    /// A pause of one key of a keyed limiter was refused: as many keys as the limiter keeps
    /// pause records for are paused already (or have reservations that their pauses moved
    /// and that have not passed yet). Nothing was changed; pausing the whole limiter is the
    /// fallback that never pauses a key less than asked.
    PausedKeysFull {
        /// The most keys the limiter keeps pause records for at once.
        capacity: usize,
    },
}

impl Error {
    /// The earliest permitted instant this error carries, if it carries one: when the cells
    /// could go ([`Error::WouldWait`]) or when a keyed limiter has room for a new key
    /// ([`Error::TableFull`]).
    pub fn earliest(&self) -> Option<u64> {
        match self {
            Error::WouldWait { at } | Error::TableFull { at } => Some(*at),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ZeroCount => f.write_str("quota count must be at least 1"),
            Error::ZeroPeriod => f.write_str("quota period must be longer than zero"),
            Error::ZeroBurst => f.write_str("quota burst must be at least 1"),
            Error::TooFast => {
                f.write_str("quota allows more than one cell per nanosecond (10^9 per second)")
            }
            Error::QuotaOverflow => {
                f.write_str("quota period or burst is too large for exact arithmetic")
            }
            Error::WindowTooSmall { count, capacity } => write!(
                f,
                "sliding window of {count} cells per period exceeds its capacity of {capacity}"
            ),
            Error::TooHeavy { cells, max } => write!(
                f,
                "acquisition of {cells} cells can never be satisfied: at most {max} go at once"
            ),
            Error::WouldWait { at } => write!(
                f,
                "cells are permitted only at instant {at} ns, later than the maximum wait"
            ),
            Error::ZeroConcurrency => f.write_str("gate concurrency must be at least 1"),
            Error::InstantOverflow => {
                f.write_str("instant is beyond the range the limiter can represent")
            }
            Error::ZeroCapacity => f.write_str("keyed limiter capacity must be at least 1 key"),
            Error::TableFull { at } => write!(
                f,
                "keyed limiter is full of busy keys; a slot frees at instant {at} ns"
            ),
            Error::PauseTooLong { until, max } => write!(
                f,
                "pause until instant {until} ns refused: longer than the maximum of {max} ns"
            ),
            Error::PausedKeysFull { capacity } => write!(
                f,
                "pause of a key refused: the limiter already keeps pause records for {capacity} keys"
            ),
        }
    }
}

impl core::error::Error for Error {}
