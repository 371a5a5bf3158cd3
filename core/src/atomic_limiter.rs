//! `AtomicLimiter`: one quota shared between threads, lock-free.
//!
//! The whole state is one `AtomicU64`: the GCRA theoretical arrival time in the quota's exact
//! units (see [`Quota`]). A decision loads it, computes the instant and the next arrival time
//! with the same arithmetic as [`Gcra`](crate::Gcra), and publishes it with a single
//! compare-and-swap; only a lost race (another thread decided in between) repeats the
//! computation. A refused [`try_acquire`](RateLimiter::try_acquire) makes no write at all.

use core::time::Duration;

use crate::atomic::{AtomicU64, Ordering};
use crate::gcra::{advance, earliest_at, peek, remaining};
use crate::reservation::deadline;
use crate::{Error, Quota, RateLimiter, Reservation, Snapshot};

/// The cancel token of an [`AtomicLimiter`] reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomicToken {
    before: u64,
    after: u64,
}

/// One quota, shared by `&` or `Arc` between any number of threads, lock-free.
///
/// Its state is a single `AtomicU64` holding the theoretical arrival time of the next cell, in
/// units of exactly `period / (count · 2^k)` (at most a nanosecond; see [`Quota`]), so every
/// uncontended decision is one compare-and-swap and nothing is ever rounded into a faster
/// rate. On targets without 64-bit atomics enable the `portable-atomic` feature.
///
/// Unlike the `&mut` schedulers it does not remember the latest clock reading (that would be a
/// second word): a thread whose reading is slightly stale is served at that reading while burst
/// capacity remains. The conformance rule holds regardless, since it is checked in instant
/// order. The quota is fixed; for reconfiguration use [`Locked`](crate::Locked)`<`[`Gcra`](crate::Gcra)`>`.
///
/// ```
/// use pacer_core::{AtomicLimiter, Quota, RateLimiter};
///
/// let limiter = AtomicLimiter::new(Quota::per_second(100)?);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| limiter.reserve(0, 1).unwrap());
///     }
/// });
/// // Four reservations at instant 0 were queued 10 ms apart; the next is due at 40 ms.
/// assert_eq!(limiter.earliest(0, 1)?, 40_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct AtomicLimiter {
    quota: Quota,
    tat: AtomicU64,
}

impl AtomicLimiter {
    /// A limiter for `quota`, idle, with its origin at instant 0.
    pub fn new(quota: Quota) -> AtomicLimiter {
        AtomicLimiter {
            quota,
            tat: AtomicU64::new(0),
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }
}

impl RateLimiter for AtomicLimiter {
    type Token = AtomicToken;

    #[inline(always)]
    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<AtomicToken>, Error> {
        if cells == 0 {
            return Ok(Reservation::new(
                now,
                0,
                AtomicToken {
                    before: 0,
                    after: 0,
                },
            ));
        }
        self.quota.check_weight(cells)?;
        let last = deadline(now, max_wait);
        let mut before = self.tat.load(Ordering::Acquire);
        loop {
            let at = earliest_at(&self.quota, before, now, cells)?;
            if at > last {
                return Err(Error::WouldWait { at });
            }
            let after = advance(&self.quota, before, at, cells)?;
            match self
                .tat
                .compare_exchange(before, after, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(Reservation::new(at, cells, AtomicToken { before, after })),
                Err(actual) => before = actual,
            }
        }
    }

    #[inline]
    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        if cells == 0 {
            return Ok(now);
        }
        self.quota.check_weight(cells)?;
        peek(&self.quota, self.tat.load(Ordering::Acquire), now, cells)
    }

    #[inline]
    fn cancel(&self, reservation: Reservation<AtomicToken>, now: u64) -> bool {
        let token = reservation.token();
        if reservation.cells() == 0 || now >= reservation.at() {
            return false;
        }
        self.tat
            .compare_exchange(
                token.after,
                token.before,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        let tat = self.tat.load(Ordering::Acquire);
        Snapshot {
            remaining: remaining(&self.quota, tat, now),
            earliest: peek(&self.quota, tat, now, 1).unwrap_or(u64::MAX),
        }
    }
}
