//! `Scheduler`: the operations every pure (`&mut`) scheduler offers.

use core::time::Duration;

use crate::{Error, Reservation, Snapshot};

/// A pure, clock-injected rate-limiting state machine.
///
/// Every operation is given `now`, in nanoseconds since the limiter's origin; the scheduler
/// never reads a clock. A reading earlier than one already seen counts as the latest seen, so
/// a clock that steps backwards can neither admit extra cells nor reorder instants.
///
/// Implemented by [`Gcra`](crate::Gcra) (rate and burst), [`SlidingWindow`](crate::SlidingWindow)
/// (at most `N` cells in any window) and [`Limits`](crate::Limits) (several GCRA quotas at
/// once). For sharing between threads, wrap one in [`Locked`](crate::Locked), or use the
/// lock-free [`AtomicLimiter`](crate::AtomicLimiter) for a single quota.
pub trait Scheduler {
    /// What [`cancel`](Scheduler::cancel) needs to undo a reservation.
    type Token;

    /// Reserves `cells` cells at the earliest permitted instant `at >= now`, unless `at` is
    /// later than `now + max_wait`.
    ///
    /// On success the cells are recorded at `at`, so later reservations queue behind them:
    /// instants never decrease in reservation order. On [`Error::WouldWait`] nothing is
    /// recorded and the error carries `at`. Zero cells succeed at `now` and record nothing;
    /// more cells than the burst fail at once with [`Error::TooHeavy`].
    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error>;

    /// Reserves `cells` cells at the earliest permitted instant, however far away.
    #[inline]
    fn reserve(&mut self, now: u64, cells: u32) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(now, cells, Duration::MAX)
    }

    /// Takes `cells` cells now, or fails with [`Error::WouldWait`] carrying the instant at
    /// which they could go. The same as [`reserve_within`](Scheduler::reserve_within) with a
    /// maximum wait of zero.
    #[inline]
    fn try_acquire(&mut self, now: u64, cells: u32) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(now, cells, Duration::ZERO)
    }

    /// The instant [`reserve`](Scheduler::reserve) would return for `cells` cells at `now`,
    /// without recording anything.
    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error>;

    /// Hands a reservation back at `now`; returns whether its cells were returned.
    ///
    /// The cells come back only if `now` is before the reservation's instant and it is the
    /// most recent reservation: then the state is exactly what it was before it (so cancelling
    /// from the newest backwards restores each in turn). A reservation with later ones behind
    /// it leaves its slot empty, since handing the slot on would either move the later
    /// reservations or let a newcomer overtake them. At or after its instant the cells were
    /// used, and nothing changes. Reservations made before a reconfiguration return nothing.
    fn cancel(&mut self, reservation: Reservation<Self::Token>, now: u64) -> bool;

    /// The remaining burst and the earliest instant for one cell, at `now`.
    fn snapshot(&self, now: u64) -> Snapshot;
}
