//! The duty-cycle scheduler: at most `count` cells in any window of length `period`, for counts
//! far too large to log cell by cell ("36,000 ms of airtime per hour"), in a fixed number of
//! entries.
//!
//! # Derivation
//!
//! The log is a list of at most `E` entries, oldest first, each an instant and a number of
//! cells recorded there; instants strictly increase. The earliest instant for `n` cells is the
//! sliding window's rule over the cells of the log:
//!
//! ```text
//! at = max(now, newest, c + period)    c = the instant of the (count - n + 1)-th newest cell
//! ```
//!
//! found by walking the entries from the newest and adding up their cells. Recording `n` cells
//! at `at` adds them to the newest entry if it is at `at`, or else takes a new entry. When all
//! `E` are in use, two neighbouring entries merge: entry `i`'s cells move to entry `i + 1`'s
//! instant (or, for the newest, to `at`, joining the new cells). No cell is ever dropped and
//! cells only ever move *later*, so the log holds every cell at or after its true instant: the
//! `k`-th newest recorded instant is never earlier than the `k`-th newest true one, and the
//! window over the log is never more permissive than the exact one, for this quota or any
//! quota set later (a longer period may make old cells matter again; none was forgotten).
//!
//! # How much later than exact
//!
//! Only cells after `L = at - period` still matter to cells at `at` or later; a cell at `τ`
//! recorded at `r` is late by `r - max(τ, L)`. Entry `i`'s cells lie between entry `i - 1`'s
//! instant and its own, so merging it into the next moves them, measured that way, by at most
//! `max(t_{i+1}, L) - max(t_{i-1}, L)`: two neighbouring gaps of the instants clamped to `L`.
//! Those `E + 1` gaps, from `L` to `at`, add up to at most `period`, so the `E` candidate merges
//! add up to at most `2 · period`; the cheapest, the one chosen, is at most `2 · period / E`
//! (merging entries that no longer matter costs nothing). A merge is the only thing that moves
//! a cell, and `L` only grows, so with a fixed quota:
//!
//! > every cell is recorded no earlier than it went, and at most `⌊2 · period / E⌋` later
//! > than `max(its instant, newest - period)`.
//!
//! Hence, for the same cells admitted, every answer (`earliest`, `reserve`) is the exact
//! window's instant or later by at most `⌊2 · period / E⌋`: with 32 entries and a period of an
//! hour, 225 s. While the log has room (fewer than `E` distinct instants in play) it is exact.
//! The tests check both bounds against an exact log.
//!
//! # Cancel
//!
//! Each reservation's token says what recording it did (appended to the newest entry, took a
//! new one, or merged a pair, with the entry it removed), so cancelling the
//! newest reservation restores the log exactly.

use core::time::Duration;

use crate::reservation::deadline;
use crate::{Error, Quota, Reservation, Scheduler, Snapshot};

/// What recording a reservation did to the log, so that a cancel can undo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undo {
    /// The cells joined the newest entry (already at their instant).
    Appended,
    /// The cells took a new entry.
    Pushed,
    /// Entry `index`, `(at, cells)`, was merged into the next (or into the new one).
    Merged { index: usize, at: u64, cells: u64 },
}

/// The cancel token of a [`DutyCycle`] reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DutyCycleToken {
    sequence: u64,
    undo: Undo,
}

/// At most `quota.count()` cells in any window of length `quota.period()`, whatever the count,
/// in a log of `E` entries (16 bytes each, no allocation): a weighted sliding window for duty
/// cycles, where a cell is a unit of airtime and a send takes as many cells as it lasts.
///
/// Same operations as [`SlidingWindow`](crate::SlidingWindow) (whose log holds one instant per
/// cell): cells may bunch, a weight above the count is [`Error::TooHeavy`], reservations are
/// FIFO, and the newest can be cancelled exactly. When more than `E` distinct instants are in
/// play, neighbouring entries merge, which only ever records cells later than they went: the
/// window never admits more than the exact one, and answers at most `⌊2 · period / E⌋` later
/// (see the module's derivation). The quota's burst is not used.
///
/// ```
/// use core::time::Duration;
/// use pacer_core::{DutyCycle, Quota, Scheduler};
///
/// // EU868: 1% of airtime, 36,000 ms per hour; a cell is 1 ms of airtime.
/// let mut radio = DutyCycle::<32>::new(Quota::per_hour(36_000)?)?;
/// let packet = 1_500; // ms of airtime
/// let mut at = 0;
/// for _ in 0..24 {
///     at = radio.reserve(at, packet)?.at(); // 24 packets, 36,000 ms in all
/// }
/// assert_eq!(at, 0); // all at once: the hour's airtime may bunch
/// let next = radio.reserve(0, packet)?.at();
/// assert_eq!(next, 3_600_000_000_000); // an hour later, when the first 1,500 ms expire
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DutyCycle<const E: usize> {
    count: u32,
    period: u64,
    /// Entry instants, strictly increasing; slots from `len` on hold 0.
    at: [u64; E],
    /// Cells per entry (each at least 1); slots from `len` on hold 0.
    cells: [u64; E],
    len: usize,
    seen: u64,
    /// The sequence number of the newest reservation that can still be cancelled.
    sequence: u64,
}

impl<const E: usize> DutyCycle<E> {
    /// A window of `quota.count()` cells per `quota.period()`, empty.
    ///
    /// Fails with [`Error::WindowTooSmall`] (capacity 0) if `E` is 0: such a log could record
    /// nothing.
    pub fn new(quota: Quota) -> Result<Self, Error> {
        if E == 0 {
            return Err(Error::WindowTooSmall {
                count: quota.count(),
                capacity: 0,
            });
        }
        Ok(DutyCycle {
            count: quota.count(),
            period: quota.period_nanos(),
            at: [0; E],
            cells: [0; E],
            len: 0,
            seen: 0,
            sequence: 0,
        })
    }

    /// The cells allowed per window.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The window's length.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// How much later than the exact window an answer can be once entries merge:
    /// `⌊2 · period / E⌋`.
    pub fn merge_bound(&self) -> Duration {
        Duration::from_nanos(self.period.saturating_mul(2) / E.max(1) as u64)
    }

    /// Applies a new count and period at `now`, keeping the log: cells already reserved keep
    /// their instants, and new ones must fit the new window together with them. Reservations
    /// made before can no longer be cancelled.
    pub fn set_quota(&mut self, now: u64, quota: Quota) -> Result<(), Error> {
        self.seen = self.seen.max(now);
        self.count = quota.count();
        self.period = quota.period_nanos();
        self.sequence = self.sequence.wrapping_add(1);
        Ok(())
    }

    fn newest(&self) -> Option<u64> {
        self.len.checked_sub(1).map(|k| self.at[k])
    }

    fn earliest_at(&self, now: u64, cells: u32) -> Result<u64, Error> {
        if cells > self.count {
            return Err(Error::TooHeavy {
                cells,
                max: self.count,
            });
        }
        let mut at = now.max(self.newest().unwrap_or(0));
        // The instant of the (count - cells + 1)-th newest cell, if the log holds that many.
        let need = u64::from(self.count - cells) + 1;
        let mut newer = 0u64;
        for k in (0..self.len).rev() {
            newer += self.cells[k];
            if newer >= need {
                let free = self.at[k]
                    .checked_add(self.period)
                    .ok_or(Error::InstantOverflow)?;
                at = at.max(free);
                break;
            }
        }
        Ok(at)
    }

    /// Records `cells` cells at `at` (no earlier than the newest entry) and says how.
    fn record(&mut self, at: u64, cells: u64) -> Undo {
        if self.newest() == Some(at) {
            self.cells[self.len - 1] += cells;
            return Undo::Appended;
        }
        if self.len < E {
            self.push(at, cells);
            return Undo::Pushed;
        }
        let index = self.cheapest_merge(at);
        let (merged_at, merged_cells) = (self.at[index], self.cells[index]);
        if index + 1 < E {
            self.cells[index + 1] += merged_cells;
            self.remove(index);
            self.push(at, cells);
        } else {
            // The newest entry joins the new cells at `at`.
            self.at[index] = at;
            self.cells[index] += cells;
        }
        Undo::Merged {
            index,
            at: merged_at,
            cells: merged_cells,
        }
    }

    /// The entry whose merge into the next moves cells the least far in the worst case:
    /// `i` minimizing `max(next, L) - max(lower, L)`, where `next` is the following entry's
    /// instant (`at` for the newest), `lower` the preceding entry's (`L` for the oldest) and
    /// `L = at - period`. Ties go to the oldest. The log is full.
    fn cheapest_merge(&self, at: u64) -> usize {
        let horizon = at.saturating_sub(self.period);
        let mut best = (u64::MAX, 0);
        for i in 0..E {
            let next = if i + 1 < E { self.at[i + 1] } else { at };
            let lower = if i == 0 { horizon } else { self.at[i - 1] };
            let cost = next.max(horizon) - lower.max(horizon);
            if cost < best.0 {
                best = (cost, i);
            }
        }
        best.1
    }

    fn push(&mut self, at: u64, cells: u64) {
        self.at[self.len] = at;
        self.cells[self.len] = cells;
        self.len += 1;
    }

    /// Removes entry `index`, shifting the newer ones down and clearing the freed slot.
    fn remove(&mut self, index: usize) {
        self.at.copy_within(index + 1..self.len, index);
        self.cells.copy_within(index + 1..self.len, index);
        self.len -= 1;
        self.at[self.len] = 0;
        self.cells[self.len] = 0;
    }

    /// Puts `(at, cells)` back as entry `index`, shifting the newer ones up.
    fn insert(&mut self, index: usize, at: u64, cells: u64) {
        self.at.copy_within(index..self.len, index + 1);
        self.cells.copy_within(index..self.len, index + 1);
        self.at[index] = at;
        self.cells[index] = cells;
        self.len += 1;
    }

    fn pop(&mut self) {
        self.len -= 1;
        self.at[self.len] = 0;
        self.cells[self.len] = 0;
    }

    /// Undoes the recording of `cells` cells that `undo` describes.
    fn unrecord(&mut self, cells: u64, undo: Undo) {
        match undo {
            Undo::Appended => self.cells[self.len - 1] -= cells,
            Undo::Pushed => self.pop(),
            Undo::Merged {
                index,
                at,
                cells: merged,
            } => {
                if index + 1 < E {
                    self.pop();
                    self.insert(index, at, merged);
                    self.cells[index + 1] -= merged;
                } else {
                    self.at[index] = at;
                    self.cells[index] -= cells;
                }
            }
        }
    }
}

impl<const E: usize> Scheduler for DutyCycle<E> {
    type Token = DutyCycleToken;

    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<DutyCycleToken>, Error> {
        self.seen = self.seen.max(now);
        let now = self.seen;
        let mut token = DutyCycleToken {
            sequence: self.sequence,
            undo: Undo::Appended,
        };
        if cells == 0 {
            return Ok(Reservation::new(now, 0, token));
        }
        let at = self.earliest_at(now, cells)?;
        if at > deadline(now, max_wait) {
            return Err(Error::WouldWait { at });
        }
        token.undo = self.record(at, u64::from(cells));
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

    fn cancel(&mut self, reservation: Reservation<DutyCycleToken>, now: u64) -> bool {
        self.seen = self.seen.max(now);
        let token = *reservation.token();
        if reservation.cells() == 0
            || self.seen >= reservation.at()
            || token.sequence != self.sequence
        {
            return false;
        }
        self.unrecord(u64::from(reservation.cells()), token.undo);
        self.sequence = self.sequence.wrapping_sub(1);
        true
    }

    /// Cells that could go at `now` back to back: none if one cannot go now; otherwise the
    /// first, and then as many as the window has room for once it is recorded (after it, the
    /// rest join its entry). Recording it may merge an entry that no longer counted at `now`
    /// into one that does, which takes that entry's cells from the room.
    fn snapshot(&self, now: u64) -> Snapshot {
        let now = now.max(self.seen);
        let earliest = self.earliest_at(now, 1).unwrap_or(u64::MAX);
        let since = now.saturating_sub(self.period);
        let counts = |instant: u64| instant > since || self.period > now;
        let mut in_window: u64 = (0..self.len)
            .filter(|&k| counts(self.at[k]))
            .map(|k| self.cells[k])
            .sum();
        let remaining = if earliest != now {
            0
        } else {
            if self.newest() != Some(now) && self.len == E {
                let i = self.cheapest_merge(now);
                let next = if i + 1 < E { self.at[i + 1] } else { now };
                if !counts(self.at[i]) && counts(next) {
                    in_window += self.cells[i];
                }
            }
            // The first cell goes whatever the merge does: `earliest` says so.
            1 + u64::from(self.count).saturating_sub(in_window + 1) as u32
        };
        Snapshot {
            remaining,
            earliest,
        }
    }
}
