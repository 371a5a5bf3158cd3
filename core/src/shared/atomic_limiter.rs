//! `AtomicLimiter`: one quota shared between threads, lock-free.
//!
//! The whole state is one 64-bit word: the GCRA theoretical arrival time in the quota's exact
//! units (see [`Quota`]). A decision loads it, computes the instant and the next arrival time
//! with the same arithmetic as [`Gcra`](crate::Gcra), and publishes it with a single
//! compare-and-swap; only a lost race (another thread decided in between) repeats the
//! computation. A refused [`try_acquire`](RateLimiter::try_acquire) makes no write at all.
//! Where the word comes from on each target (an `AtomicU64`, or a `critical-section` mutex on
//! parts without 64-bit atomics) is in `atomic.rs`.

use core::borrow::Borrow;
use core::time::Duration;

use crate::reservation::deadline;
use crate::schedule::gcra::{advance, due_units, earliest_at, peek, remaining};
use crate::shared::atomic::Word;
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
/// rate. On targets without 64-bit atomics enable the `portable-atomic` feature, and with it
/// `critical-section` on a single-core part: the word then lives in a `critical-section`
/// mutex (8 bytes, no global lock table).
///
/// `Q` is how the limiter holds its quota, anything that lends a [`Quota`]
/// ([`Borrow<Quota>`](Borrow)):
/// - by value (`AtomicLimiter`, the default);
/// - by reference: on a microcontroller, `AtomicLimiter<&'static Quota>` borrowing a
///   `static` quota keeps the quota in flash and only the arrival time and the reference in
///   RAM;
/// - as a zero-sized type of the application's whose `borrow` returns a `static` quota: the
///   RAM is the arrival time alone, and since the compiler then knows the quota, it
///   specializes each decision for it (a quota whose interval is a whole number of
///   nanoseconds needs no 128-bit arithmetic at all). This is the smallest form for firmware.
///
/// [`Quota`]'s constructors and [`AtomicLimiter::new`] are `const`, so the limiter can itself
/// be a `static`:
///
/// ```
/// use pacer_core::{AtomicLimiter, Quota, RateLimiter};
///
/// static QUOTA: Quota = match Quota::per_second(10) {
///     Ok(quota) => quota,
///     Err(_) => panic!("a valid quota"),
/// };
/// static RADIO: AtomicLimiter<&Quota> = AtomicLimiter::new(&QUOTA);
///
/// assert_eq!(RADIO.reserve(0, 1)?.at(), 0);
/// assert_eq!(RADIO.reserve(0, 1)?.at(), 100_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
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
pub struct AtomicLimiter<Q = Quota> {
    quota: Q,
    tat: Word,
}

impl<Q: Borrow<Quota>> AtomicLimiter<Q> {
    /// A limiter for `quota` (a [`Quota`], or a reference to one), idle, with its origin at
    /// instant 0.
    pub const fn new(quota: Q) -> AtomicLimiter<Q> {
        AtomicLimiter {
            quota,
            tat: Word::new(0),
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        *self.quota.borrow()
    }
}

impl<Q: Borrow<Quota>> RateLimiter for AtomicLimiter<Q> {
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
        let quota = self.quota.borrow();
        quota.check_weight(cells)?;
        let last = deadline(now, max_wait);
        let mut before = self.tat.load();
        loop {
            // Decide on a cheap comparison; the exact instant is computed only where it is
            // needed (the refusal's payload, or an admission later than now).
            let due = due_units(quota, before, cells)?;
            if !quota.units_at_or_before(due, last) {
                return Err(Error::WouldWait {
                    at: earliest_at(quota, before, now, cells)?,
                });
            }
            let at = if quota.units_at_or_before(due, now) {
                now
            } else {
                earliest_at(quota, before, now, cells)?
            };
            let after = advance(quota, before, at, cells)?;
            match self.tat.compare_exchange(before, after) {
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
        let quota = self.quota.borrow();
        quota.check_weight(cells)?;
        peek(quota, self.tat.load(), now, cells)
    }

    #[inline]
    fn cancel(&self, reservation: Reservation<AtomicToken>, now: u64) -> bool {
        let token = reservation.token();
        if reservation.cells() == 0 || now >= reservation.at() {
            return false;
        }
        self.tat.compare_exchange(token.after, token.before).is_ok()
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        let quota = self.quota.borrow();
        let tat = self.tat.load();
        Snapshot {
            remaining: remaining(quota, tat, now),
            earliest: peek(quota, tat, now, 1).unwrap_or(u64::MAX),
        }
    }
}
