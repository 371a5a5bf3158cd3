//! `RateLimiter`: the operations of a limiter shared by reference between threads and tasks.

use core::time::Duration;

use crate::{Error, Reservation, Snapshot};

/// A limiter that many threads or tasks use at once through `&self`.
///
/// The same contract as [`Scheduler`](crate::Scheduler), for shared state: implemented by the
/// lock-free [`AtomicLimiter`](crate::AtomicLimiter) (one quota) and by
/// [`Locked`](crate::Locked) around any scheduler. The async layer and every adapter work
/// with any `RateLimiter`.
pub trait RateLimiter {
    /// What [`cancel`](RateLimiter::cancel) needs to undo a reservation.
    type Token;

    /// Reserves `cells` cells at the earliest permitted instant `at >= now`, unless that is
    /// later than `now + max_wait` ([`Error::WouldWait`], nothing recorded). See
    /// [`Scheduler::reserve_within`](crate::Scheduler::reserve_within).
    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error>;

    /// Reserves `cells` cells at the earliest permitted instant, however far away.
    #[inline]
    fn reserve(&self, now: u64, cells: u32) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(now, cells, Duration::MAX)
    }

    /// Takes `cells` cells now, or fails with [`Error::WouldWait`] carrying the instant at
    /// which they could go.
    #[inline]
    fn try_acquire(&self, now: u64, cells: u32) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(now, cells, Duration::ZERO)
    }

    /// The instant [`reserve`](RateLimiter::reserve) would return, without recording anything.
    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error>;

    /// Hands a reservation back at `now`; returns whether its cells were returned. See
    /// [`Scheduler::cancel`](crate::Scheduler::cancel) for when they are.
    fn cancel(&self, reservation: Reservation<Self::Token>, now: u64) -> bool;

    /// Where a reservation stands at `now`, asked by a waiter when its timer fires:
    /// `Ok(None)` when its cells may go, `Ok(Some(at))` when they may go only at `at`, later
    /// than `now` (a [`Pausable`](crate::Pausable) limiter has been paused since it was made),
    /// or an error when that is past the bound the reservation was made with (then cancel it).
    ///
    /// The default answers from [`Reservation::at`], which nothing moves.
    #[inline]
    fn pending(
        &self,
        reservation: &Reservation<Self::Token>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        let at = reservation.at();
        Ok((now < at).then_some(at))
    }

    /// The remaining burst and the earliest instant for one cell, at `now`.
    fn snapshot(&self, now: u64) -> Snapshot;
}

impl<L: RateLimiter + ?Sized> RateLimiter for &L {
    type Token = L::Token;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        (**self).reserve_within(now, cells, max_wait)
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        (**self).earliest(now, cells)
    }

    fn cancel(&self, reservation: Reservation<L::Token>, now: u64) -> bool {
        (**self).cancel(reservation, now)
    }

    fn pending(&self, reservation: &Reservation<L::Token>, now: u64) -> Result<Option<u64>, Error> {
        (**self).pending(reservation, now)
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        (**self).snapshot(now)
    }
}
