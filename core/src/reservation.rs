//! `Reservation` and `Snapshot`: what a scheduler hands back.

use core::time::Duration;

/// Cells recorded for instant [`at`](Reservation::at): the receipt of a reservation.
///
/// Every acquisition is a reservation: the scheduler computed the earliest instant at which the
/// cells may go and recorded them there, so later reservations queue behind this one. The
/// cells are spent once `at` is reached; before that, handing the receipt back to
/// [`cancel`](crate::Scheduler::cancel) may return them (see its rules).
///
/// The receipt is deliberately not `Clone`: a reservation can be cancelled at most once.
///
/// `T` is the scheduler's private cancel token (for example the state to restore).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation holds cells: wait until `at()` before using them, or cancel it"]
pub struct Reservation<T> {
    at: u64,
    cells: u32,
    token: T,
}

impl<T> Reservation<T> {
    #[inline]
    pub(crate) fn new(at: u64, cells: u32, token: T) -> Self {
        Reservation { at, cells, token }
    }

    /// The instant, in nanoseconds since the limiter's origin, at which the cells may go.
    #[inline]
    pub fn at(&self) -> u64 {
        self.at
    }

    /// How many cells were reserved (0 for an empty acquisition, which records nothing).
    #[inline]
    pub fn cells(&self) -> u32 {
        self.cells
    }

    /// How long to wait from `now` until the cells may go (zero if `at` is not after `now`).
    pub fn delay_from(&self, now: u64) -> Duration {
        Duration::from_nanos(self.at.saturating_sub(now))
    }

    #[inline]
    pub(crate) fn token(&self) -> &T {
        &self.token
    }

    /// The token, to stamp it after the scheduler made it (a keyed limiter's pause of a key).
    #[cfg(feature = "keyed")]
    #[inline]
    pub(crate) fn token_mut(&mut self) -> &mut T {
        &mut self.token
    }

    #[cfg(any(
        feature = "portable-atomic",
        feature = "critical-section",
        target_has_atomic = "64"
    ))]
    #[inline]
    pub(crate) fn into_token(self) -> T {
        self.token
    }
}

/// A read-only view of a limiter at one instant, for headers and metrics
/// (for example `X-RateLimit-Remaining`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// Cells that could go at this instant, back to back, without waiting.
    pub remaining: u32,
    /// The earliest instant, in nanoseconds since the origin, at which one cell may go
    /// (the instant given if one may go now).
    pub earliest: u64,
}

/// Converts a maximum wait into the last acceptable instant, saturating at `u64::MAX`.
#[inline]
pub(crate) fn deadline(now: u64, max_wait: Duration) -> u64 {
    if max_wait.is_zero() {
        return now;
    }
    let wait = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
    now.saturating_add(wait)
}
