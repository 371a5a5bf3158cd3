//! The sliding-window scheduler: at most `count` cells in any window of length `period`.
//!
//! # Derivation
//!
//! The log holds the instants of the most recent cells, oldest first, in a fixed ring of `N`
//! slots (8·N bytes, no allocation). Cells are recorded in reservation order and instants never
//! decrease, so the log is sorted. Adding `n` cells at `at` (no earlier than the newest cell)
//! keeps every half-open window `[t, t + period)` at `count` cells or fewer exactly when the
//! windows that contain `at` hold at most `count - n` older cells, that is, when the older cell
//! with `count - n` newer ones ahead of it (the `(count - n + 1)`-th newest) lies at or before
//! `at - period`:
//!
//! ```text
//! at = max(now, newest, c + period)    c = the (count - n + 1)-th newest instant, if any
//! ```
//!
//! Cells may bunch: a full window's worth can go at one instant.
//!
//! # Cancel
//!
//! Cancelling the newest reservation pops its cells. When recording them pushed older cells
//! out of a full ring, the reservation remembers how many and the newest of their instants, and
//! the cancel puts them back at the old end. That restores the log exactly when the evicted
//! cells shared one instant (always so for a single cell); otherwise each comes back at the
//! newest evicted instant, no earlier than it really was, so the restored log is never more
//! permissive than the true one. Evicted cells always lie at or before `at - period`.

use core::time::Duration;

use crate::reservation::deadline;
use crate::{Error, Quota, Reservation, Scheduler, Snapshot};

/// The cancel token of a [`SlidingWindow`] reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowToken {
    sequence: u64,
    evicted: u32,
    evicted_at: u64,
}

/// At most `quota.count()` cells in any window of length `quota.period()`, with room to log
/// `N` cells (8·N bytes, no allocation). The quota's burst is not used: a window allows its
/// whole count at once.
///
/// ```
/// use pacer_core::{Quota, Scheduler, SlidingWindow};
///
/// // 5 per second: five go at once, the sixth one second after the first.
/// let mut window = SlidingWindow::<5>::new(Quota::per_second(5)?)?;
/// for _ in 0..5 {
///     assert_eq!(window.reserve(0, 1)?.at(), 0);
/// }
/// assert_eq!(window.reserve(0, 1)?.at(), 1_000_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlidingWindow<const N: usize> {
    count: u32,
    period: u64,
    /// Ring of cell instants; `head` is the oldest, `len` how many are logged.
    log: [u64; N],
    head: usize,
    len: usize,
    seen: u64,
    /// The sequence number of the newest reservation that can still be cancelled.
    sequence: u64,
}

impl<const N: usize> SlidingWindow<N> {
    /// A window of `quota.count()` cells per `quota.period()`, empty.
    ///
    /// Fails with [`Error::WindowTooSmall`] if the count is larger than the capacity `N`.
    pub fn new(quota: Quota) -> Result<Self, Error> {
        let mut window = SlidingWindow {
            count: 0,
            period: 0,
            log: [0; N],
            head: 0,
            len: 0,
            seen: 0,
            sequence: 0,
        };
        window.apply(quota)?;
        Ok(window)
    }

    /// The cells allowed per window.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The window's length.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// Applies a new count and period at `now`, keeping the log: cells already reserved keep
    /// their instants, and new ones must fit the new window together with them.
    pub fn set_quota(&mut self, now: u64, quota: Quota) -> Result<(), Error> {
        self.seen = self.seen.max(now);
        self.apply(quota)?;
        self.sequence = self.sequence.wrapping_add(1);
        Ok(())
    }

    fn apply(&mut self, quota: Quota) -> Result<(), Error> {
        if quota.count() as usize > N {
            return Err(Error::WindowTooSmall {
                count: quota.count(),
                capacity: N,
            });
        }
        self.count = quota.count();
        self.period = quota.period_nanos();
        Ok(())
    }

    /// The instant of the `k`-th newest cell (0 is the newest), if logged.
    fn newest(&self, k: usize) -> Option<u64> {
        (k < self.len).then(|| self.log[(self.head + self.len - 1 - k) % N])
    }

    fn earliest_at(&self, now: u64, cells: u32) -> Result<u64, Error> {
        if cells > self.count {
            return Err(Error::TooHeavy {
                cells,
                max: self.count,
            });
        }
        let mut at = now.max(self.newest(0).unwrap_or(0));
        if let Some(c) = self.newest((self.count - cells) as usize) {
            let free = c.checked_add(self.period).ok_or(Error::InstantOverflow)?;
            at = at.max(free);
        }
        Ok(at)
    }

    fn push(&mut self, at: u64) -> Option<u64> {
        if self.len == N {
            let evicted = self.log[self.head];
            self.log[self.head] = at;
            self.head = (self.head + 1) % N;
            Some(evicted)
        } else {
            self.log[(self.head + self.len) % N] = at;
            self.len += 1;
            None
        }
    }
}

impl<const N: usize> Scheduler for SlidingWindow<N> {
    type Token = WindowToken;

    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<WindowToken>, Error> {
        self.seen = self.seen.max(now);
        let now = self.seen;
        let mut token = WindowToken {
            sequence: self.sequence,
            evicted: 0,
            evicted_at: 0,
        };
        if cells == 0 {
            return Ok(Reservation::new(now, 0, token));
        }
        let at = self.earliest_at(now, cells)?;
        if at > deadline(now, max_wait) {
            return Err(Error::WouldWait { at });
        }
        for _ in 0..cells {
            if let Some(old) = self.push(at) {
                token.evicted += 1;
                token.evicted_at = old;
            }
        }
        self.sequence = self.sequence.wrapping_add(1);
        token.sequence = self.sequence;
        Ok(Reservation::new(at, cells, token))
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        let now = now.max(self.seen);
        if cells == 0 {
            return Ok(now);
        }
        self.earliest_at(now, cells)
    }

    fn cancel(&mut self, reservation: Reservation<WindowToken>, now: u64) -> bool {
        self.seen = self.seen.max(now);
        let token = *reservation.token();
        if reservation.cells() == 0
            || self.seen >= reservation.at()
            || token.sequence != self.sequence
        {
            return false;
        }
        for _ in 0..reservation.cells() {
            // Clear each popped slot: unused slots hold 0, as in a new window, so a restored
            // window compares equal (derived `PartialEq`) to the one before the reservation.
            self.len -= 1;
            self.log[(self.head + self.len) % N] = 0;
        }
        for _ in 0..token.evicted {
            self.head = (self.head + N - 1) % N;
            self.log[self.head] = token.evicted_at;
            self.len += 1;
        }
        self.sequence = self.sequence.wrapping_sub(1);
        true
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        let now = now.max(self.seen);
        let since = now.saturating_sub(self.period);
        let in_window = (0..self.len)
            .take_while(|&k| {
                self.newest(k)
                    .is_some_and(|at| at > since || self.period > now)
            })
            .count();
        let backlog = self.newest(0).is_some_and(|at| at > now);
        let remaining = if backlog {
            0
        } else {
            (self.count as usize).saturating_sub(in_window) as u32
        };
        Snapshot {
            remaining,
            earliest: self.earliest_at(now, 1).unwrap_or(u64::MAX),
        }
    }
}
