//! The GCRA scheduler: a rate and a burst in O(1) state.
//!
//! # Derivation
//!
//! The generic cell rate algorithm keeps one number per quota, the *theoretical arrival time*
//! `TAT`: the instant the next cell would be due if every cell so far had been spaced exactly
//! `T = period / count` apart. A cell may go at `t` if it is no more than the burst tolerance
//! `(burst - 1) · T` ahead of that schedule, `t >= TAT - (burst - 1) · T`, and then
//! `TAT' = max(TAT, t) + T`.
//!
//! A weight-`n` acquisition is `n` cells at one instant `t`. Its last cell is the strictest, so
//! it needs `t >= TAT + (n - 1) · T - (burst - 1) · T`, that is:
//!
//! ```text
//! at   = max(now, TAT + (n - burst) · T)      the earliest permitted instant
//! TAT' = max(TAT, at) + n · T                 its cells recorded at `at`
//! ```
//!
//! With `n <= burst`, the first line never reaches past `TAT`, so queued reservations are
//! granted in reservation order (FIFO) and a weight above the burst is refused outright.
//! Time is kept in exact units (see [`Quota`]): `at` is the exact instant rounded up to a
//! nanosecond, and `max(TAT, at)` uses [`Quota::arrival_units`] so that rounding never
//! accumulates.
//!
//! # Cancel
//!
//! A reservation made while cells were queued leaves `TAT` at `TAT_before + n · T`; while it is
//! the newest, `TAT` still equals the value it set, and restoring the value before it restores
//! the schedule exactly.
//!
//! # Reconfigure
//!
//! See [`Gcra::set_quota`].

use core::time::Duration;

use crate::reservation::deadline;
use crate::{Error, Quota, Reservation, Scheduler, Snapshot};

/// The earliest instant `n` cells may go under `quota` with arrival time `tat`, at `now`.
/// `n` must be between 1 and the burst.
#[inline]
pub(crate) fn earliest_at(quota: &Quota, tat: u64, now: u64, n: u32) -> Result<u64, Error> {
    // Its nanosecond instant rounded up is at most `now` exactly when the cells may go now.
    let due = due_units(quota, tat, n)?;
    Ok(quota.units_to_nanos_ceil(due)?.max(now))
}

/// The unit instant at which `n` cells are due under `quota` with arrival time `tat`:
/// `TAT + (n - burst) · T`, or 0 ("long ago") when that is before the origin.
#[inline]
pub(crate) fn due_units(quota: &Quota, tat: u64, n: u32) -> Result<u64, Error> {
    let ahead = tat
        .checked_add(quota.cells_units(n))
        .ok_or(Error::InstantOverflow)?;
    Ok(ahead.saturating_sub(quota.burst_units()))
}

/// What `reserve` would answer for `n` cells, without recording them: [`earliest_at`], or
/// the error where recording the cells there would overflow.
#[inline]
pub(crate) fn peek(quota: &Quota, tat: u64, now: u64, n: u32) -> Result<u64, Error> {
    let at = earliest_at(quota, tat, now, n)?;
    advance(quota, tat, at, n)?;
    Ok(at)
}

/// The arrival time after `n` cells go at `at`: `max(TAT, at) + n · T`, with `at` accounted
/// by [`Quota::arrival_units`].
#[inline]
pub(crate) fn advance(quota: &Quota, tat: u64, at: u64, n: u32) -> Result<u64, Error> {
    tat.max(quota.arrival_units(at)?)
        .checked_add(quota.cells_units(n))
        .ok_or(Error::InstantOverflow)
}

/// Cells that could go back to back at `now`.
pub(crate) fn remaining(quota: &Quota, tat: u64, now: u64) -> u32 {
    let now_units = quota.nanos_to_units_floor(now);
    if tat <= now_units {
        return quota.burst();
    }
    let owed = (tat - now_units).div_ceil(quota.cell_units());
    u32::try_from(u64::from(quota.burst()).saturating_sub(owed)).unwrap_or(0)
}

/// Carries an arrival time across a change of quota at `now` (the three cases of the design).
///
/// `last` is the last instant reserved under any limit the cells were recorded in, where that
/// may be later than this limit's own `TAT - b·T` (a limit of [`Limits`](crate::Limits) whose
/// cells another limit held back); 0 for a lone GCRA. When it is after `now` there is a
/// backlog, whatever this limit's own bucket says.
pub(crate) fn carry_over(
    old: &Quota,
    new: &Quota,
    tat: u64,
    now: u64,
    last: u64,
) -> Result<u64, Error> {
    let now_units = old.nanos_to_units_floor(now);
    let burst_units = old.burst_units();
    if last > now {
        return backlog(old, new, tat, last);
    }
    if tat <= now_units {
        // Idle: the new quota starts fresh.
        return new.arrival_units(now);
    }
    if tat - now_units <= burst_units {
        // No backlog: the cells still in the bucket carry over as cells. The occupancy is
        // rounded up (never fewer cells than were there) and rescaled to the new unit.
        let occupied = u128::from(tat - now_units);
        let rescaled =
            (occupied * u128::from(new.cell_units())).div_ceil(u128::from(old.cell_units()));
        let rescaled = u64::try_from(rescaled).map_err(|_| Error::InstantOverflow)?;
        return new
            .nanos_to_units_ceil(now)?
            .checked_add(rescaled)
            .ok_or(Error::InstantOverflow);
    }
    backlog(old, new, tat, 0)
}

/// Backlog: the last reserved instant E = TAT - burst · T (or `last`, if later) is after now.
/// New cells come after E, with the bucket full there: TAT' = E + max(b, b') · T'.
fn backlog(old: &Quota, new: &Quota, tat: u64, last: u64) -> Result<u64, Error> {
    let burst_units = old.burst_units();
    let last = old
        .units_to_nanos_ceil(tat.saturating_sub(burst_units))?
        .max(last);
    let full =
        u64::try_from(u128::from(old.burst().max(new.burst())) * u128::from(new.cell_units()))
            .map_err(|_| Error::InstantOverflow)?;
    new.nanos_to_units_ceil(last)?
        .checked_add(full)
        .ok_or(Error::InstantOverflow)
}

/// The cancel token of a [`Gcra`] reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcraToken {
    before: u64,
    after: u64,
    epoch: u32,
}

/// Rate and burst, exactly: the generic cell rate algorithm on one quota, in O(1) state.
///
/// ```
/// use pacer_core::{Gcra, Quota, Scheduler};
///
/// // 3 per second, strict spacing: instants are the exact ones rounded up to a nanosecond.
/// let mut gcra = Gcra::new(Quota::per_second(3)?);
/// let at: Vec<u64> = (0..4).map(|_| gcra.reserve(0, 1).map(|r| r.at())).collect::<Result<_, _>>()?;
/// assert_eq!(at, [0, 333_333_334, 666_666_667, 1_000_000_000]);
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gcra {
    quota: Quota,
    /// Theoretical arrival time, in the quota's units.
    tat: u64,
    /// The latest clock reading seen.
    seen: u64,
    /// Bumped by every reconfiguration, so older reservations cannot be cancelled.
    epoch: u32,
}

impl Gcra {
    /// A scheduler for `quota`, idle, with its origin at instant 0.
    pub fn new(quota: Quota) -> Gcra {
        Gcra {
            quota,
            tat: 0,
            seen: 0,
            epoch: 0,
        }
    }

    /// The quota in force.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Changes the quota at `now`.
    ///
    /// Reservations already made keep their instants; new ones follow the new quota, after
    /// them. With old interval `T`, burst `b`, new `T'`, `b'`:
    /// - idle (`TAT <= now`): the new quota starts fresh;
    /// - no backlog (`TAT - b·T <= now`): the cells still in the bucket carry over as cells,
    ///   `TAT' = now + ((TAT - now) / T) · T'`;
    /// - backlog (the last reserved instant `E = TAT - b·T` is after `now`):
    ///   `TAT' = E + max(b, b') · T'`, so new cells come after `E` with the bucket full there.
    ///
    /// Every rounding is towards fewer cells, so the change never admits more than either
    /// quota would.
    pub fn set_quota(&mut self, now: u64, quota: Quota) -> Result<(), Error> {
        let now = self.now(now);
        self.tat = carry_over(&self.quota, &quota, self.tat, now, 0)?;
        self.quota = quota;
        self.epoch = self.epoch.wrapping_add(1);
        Ok(())
    }

    fn now(&mut self, now: u64) -> u64 {
        self.seen = self.seen.max(now);
        self.seen
    }
}

impl Scheduler for Gcra {
    type Token = GcraToken;

    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<GcraToken>, Error> {
        let now = self.now(now);
        let token = GcraToken {
            before: self.tat,
            after: self.tat,
            epoch: self.epoch,
        };
        if cells == 0 {
            return Ok(Reservation::new(now, 0, token));
        }
        self.quota.check_weight(cells)?;
        let at = earliest_at(&self.quota, self.tat, now, cells)?;
        if at > deadline(now, max_wait) {
            return Err(Error::WouldWait { at });
        }
        let after = advance(&self.quota, self.tat, at, cells)?;
        self.tat = after;
        Ok(Reservation::new(at, cells, GcraToken { after, ..token }))
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        let now = now.max(self.seen);
        if cells == 0 {
            return Ok(now);
        }
        self.quota.check_weight(cells)?;
        peek(&self.quota, self.tat, now, cells)
    }

    fn cancel(&mut self, reservation: Reservation<GcraToken>, now: u64) -> bool {
        let now = self.now(now);
        let token = reservation.token();
        let newest = token.epoch == self.epoch && token.after == self.tat;
        if reservation.cells() == 0 || now >= reservation.at() || !newest {
            return false;
        }
        self.tat = token.before;
        true
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        let now = now.max(self.seen);
        Snapshot {
            remaining: remaining(&self.quota, self.tat, now),
            earliest: peek(&self.quota, self.tat, now, 1).unwrap_or(u64::MAX),
        }
    }
}
