//! Several GCRA limits at once ("10 per second and 1,000 per hour").
//!
//! # Derivation
//!
//! An acquisition's instant is the earliest that satisfies every limit: the largest of the
//! instants each limit alone would give. Every limit then records the cells as if they arrived
//! at that common instant, `TAT_i' = max(TAT_i, at) + n · T_i`: a limit must not account a
//! cell as earlier than it really goes, or its next cells could crowd it.

use core::time::Duration;

use crate::reservation::deadline;
use crate::schedule::gcra::{advance, carry_over, earliest_at, remaining};
use crate::{Error, Quota, Reservation, Scheduler, Snapshot};

/// The cancel token of a [`Limits`] reservation: every limit's state before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsToken<const K: usize> {
    before: [u64; K],
    after: [u64; K],
    epoch: u32,
}

/// `K` GCRA quotas enforced together, in O(K) state.
///
/// ```
/// use pacer_core::{Limits, Quota, Scheduler};
///
/// // 10 per second with a burst of 10, and 15 per minute.
/// let mut limits = Limits::new([
///     Quota::per_second(10)?.with_burst(10)?,
///     Quota::per_minute(15)?.with_burst(15)?,
/// ]);
/// let at: Vec<u64> = (0..16).map(|_| limits.reserve(0, 1).map(|r| r.at())).collect::<Result<_, _>>()?;
/// assert_eq!(at[9], 0); // the per-second burst
/// assert_eq!(at[10], 100_000_000); // then 10 per second
/// assert_eq!(at[15], 4_000_000_000); // the 16th waits for the minute's spacing (4 s a cell)
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits<const K: usize> {
    quotas: [Quota; K],
    tats: [u64; K],
    seen: u64,
    epoch: u32,
}

impl<const K: usize> Limits<K> {
    /// All of `quotas` at once, idle, with the origin at instant 0.
    pub fn new(quotas: [Quota; K]) -> Self {
        Limits {
            quotas,
            tats: [0; K],
            seen: 0,
            epoch: 0,
        }
    }

    /// The quotas in force.
    pub fn quotas(&self) -> &[Quota; K] {
        &self.quotas
    }

    /// Replaces the quota at `index` at `now`, by the rule of
    /// [`Gcra::set_quota`](crate::Gcra::set_quota). An index out of range changes nothing and
    /// returns `false`.
    pub fn set_quota(&mut self, now: u64, index: usize, quota: Quota) -> Result<bool, Error> {
        let Some(old) = self.quotas.get(index).copied() else {
            return Ok(false);
        };
        self.seen = self.seen.max(now);
        // The last reserved instant is `TAT - b·T` of the limit that held it back; another
        // limit's own `TAT - b·T` can be earlier than the cells it recorded there.
        let mut last = 0;
        for (q, &tat) in self.quotas.iter().zip(&self.tats) {
            let own = tat.saturating_sub(q.burst_units());
            last = last.max(q.units_to_nanos_ceil(own)?);
        }
        self.tats[index] = carry_over(&old, &quota, self.tats[index], self.seen, last)?;
        self.quotas[index] = quota;
        self.epoch = self.epoch.wrapping_add(1);
        Ok(true)
    }

    fn earliest_at(&self, now: u64, cells: u32) -> Result<u64, Error> {
        let mut at = now;
        for (quota, &tat) in self.quotas.iter().zip(&self.tats) {
            quota.check_weight(cells)?;
            at = at.max(earliest_at(quota, tat, now, cells)?);
        }
        Ok(at)
    }
}

impl<const K: usize> Scheduler for Limits<K> {
    type Token = LimitsToken<K>;

    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<LimitsToken<K>>, Error> {
        self.seen = self.seen.max(now);
        let now = self.seen;
        let before = self.tats;
        let token = LimitsToken {
            before,
            after: before,
            epoch: self.epoch,
        };
        if cells == 0 {
            return Ok(Reservation::new(now, 0, token));
        }
        let at = self.earliest_at(now, cells)?;
        if at > deadline(now, max_wait) {
            return Err(Error::WouldWait { at });
        }
        let mut after = before;
        for (quota, tat) in self.quotas.iter().zip(after.iter_mut()) {
            *tat = advance(quota, *tat, at, cells)?;
        }
        self.tats = after;
        Ok(Reservation::new(at, cells, LimitsToken { after, ..token }))
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        let now = now.max(self.seen);
        if cells == 0 {
            return Ok(now);
        }
        let at = self.earliest_at(now, cells)?;
        // Where recording the cells would overflow, `reserve` fails; so does the look.
        for (quota, &tat) in self.quotas.iter().zip(&self.tats) {
            advance(quota, tat, at, cells)?;
        }
        Ok(at)
    }

    fn cancel(&mut self, reservation: Reservation<LimitsToken<K>>, now: u64) -> bool {
        self.seen = self.seen.max(now);
        let token = reservation.token();
        let newest = token.epoch == self.epoch && token.after == self.tats;
        if reservation.cells() == 0 || self.seen >= reservation.at() || !newest {
            return false;
        }
        self.tats = token.before;
        true
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        let now = now.max(self.seen);
        let remaining = self
            .quotas
            .iter()
            .zip(&self.tats)
            .map(|(quota, &tat)| remaining(quota, tat, now))
            .min()
            .unwrap_or(u32::MAX);
        Snapshot {
            remaining,
            earliest: Scheduler::earliest(self, now, 1).unwrap_or(u64::MAX),
        }
    }
}
