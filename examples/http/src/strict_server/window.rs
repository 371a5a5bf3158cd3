//! `Window`: the strict count, at most the limit in any sliding second of admitted arrivals.

use std::collections::VecDeque;
use std::time::Duration;

use super::Schedule;

const SECOND: u64 = 1_000_000_000;

/// The server's answer to one arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted.
    pub admitted: bool,
    /// The limit in force at the arrival.
    pub limit: u32,
    /// Requests the window still admits now, after this one.
    pub remaining: u32,
    /// Whole seconds, rounded up, until the window admits one more request (0 if it has room
    /// now). A refused request's `Retry-After`.
    pub reset: u64,
}

/// At most `limit` admitted arrivals in any window `(t - 1 s, t]`, the limit following a
/// [`Schedule`] that starts at the first arrival. Refused arrivals are not counted.
///
/// Readings are nanoseconds from any origin; one earlier than a reading already seen counts as
/// that latest reading.
#[derive(Debug)]
pub struct Window {
    schedule: Schedule,
    start: Option<u64>,
    latest: u64,
    admitted: VecDeque<u64>,
}

impl Window {
    /// An empty window following `schedule`.
    pub fn new(schedule: Schedule) -> Window {
        Window {
            schedule,
            start: None,
            latest: 0,
            admitted: VecDeque::new(),
        }
    }

    /// The schedule it follows.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The reading of the first arrival, once there was one.
    pub fn start(&self) -> Option<u64> {
        self.start
    }

    /// Decides on an arrival at `now`, admitting it if the window has room.
    pub fn arrive(&mut self, now: u64) -> Decision {
        let (now, limit) = self.advance(now);
        let admitted = self.admitted.len() < limit as usize;
        if admitted {
            self.admitted.push_back(now);
        }
        self.decision(now, limit, admitted)
    }

    /// The window's state at `now` without an arrival (`admitted` is false): what an answer
    /// leaving at `now` states as current.
    pub fn state(&mut self, now: u64) -> Decision {
        let (now, limit) = self.advance(now);
        self.decision(now, limit, false)
    }

    /// Moves to `now` (clamped to the latest reading): drops the arrivals that have left the
    /// window, and returns the reading and the limit in force.
    fn advance(&mut self, now: u64) -> (u64, u32) {
        let now = now.max(self.latest);
        self.latest = now;
        let start = *self.start.get_or_insert(now);
        let limit = self.schedule.limit_at(Duration::from_nanos(now - start));
        // Arrivals at or before `now - 1 s` have left the window (t - 1 s, t].
        while self
            .admitted
            .front()
            .is_some_and(|&at| at.saturating_add(SECOND) <= now)
        {
            self.admitted.pop_front();
        }
        (now, limit)
    }

    fn decision(&self, now: u64, limit: u32, admitted: bool) -> Decision {
        let count = self.admitted.len();
        let remaining = (limit as usize).saturating_sub(count) as u32;
        // Room for one more once all but `limit - 1` of the counted arrivals have left.
        let reset = match count.checked_sub(limit as usize - 1) {
            Some(leave) if leave > 0 => {
                let frees = self.admitted[leave - 1] + SECOND;
                (frees - now).div_ceil(SECOND)
            }
            _ => 0,
        };
        Decision {
            admitted,
            limit,
            remaining,
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn admits_the_limit_in_any_second_and_no_more() {
        let mut window = Window::new(Schedule::constant(3).unwrap());
        let answers: Vec<bool> = [0, 10, 20, 30, 999, 1_000, 1_005, 1_010, 1_020]
            .iter()
            .map(|&ms| window.arrive(ms * MS).admitted)
            .collect();
        // 1,000 ms: the arrival at 0 has left; 1,010 ms: the one at 10 has left.
        assert_eq!(
            answers,
            [true, true, true, false, false, true, false, true, true]
        );
    }

    #[test]
    fn remaining_and_reset_follow_the_window() {
        let mut window = Window::new(Schedule::constant(2).unwrap());
        let first = window.arrive(0);
        assert_eq!((first.remaining, first.reset), (1, 0));
        let second = window.arrive(400 * MS);
        assert_eq!(
            (second.admitted, second.remaining, second.reset),
            (true, 0, 1)
        );
        let refused = window.arrive(500 * MS);
        assert_eq!(
            (refused.admitted, refused.remaining, refused.reset),
            (false, 0, 1)
        );
    }

    #[test]
    fn a_lowered_limit_refuses_until_the_count_falls_below_it() {
        let schedule = Schedule::new(vec![(4, Duration::from_secs(1))], 2).unwrap();
        let mut window = Window::new(schedule);
        for ms in [0, 600, 700, 800] {
            assert!(window.arrive(ms * MS).admitted);
        }
        // At 1,000 ms the limit is 2 and three arrivals are counted: room once 700 has left.
        let refused = window.arrive(1_000 * MS);
        assert_eq!(
            (refused.admitted, refused.limit, refused.reset),
            (false, 2, 1)
        );
        assert!(!window.arrive(1_699 * MS).admitted);
        assert!(window.arrive(1_700 * MS).admitted);
        // Stated when an answer leaves at 1,800 ms: 800 has left too, so only 1,700 counts
        // and one of two remains.
        let state = window.state(1_800 * MS);
        assert_eq!(
            (state.admitted, state.remaining, state.reset),
            (false, 1, 0)
        );
        // An arrival read at 1,750 ms counts at 1,800 ms, the latest reading: admitted, and
        // the window is full until 1,700 leaves at 2,700 ms.
        assert!(window.arrive(1_750 * MS).admitted);
        let full = window.state(1_790 * MS);
        assert_eq!((full.remaining, full.reset), (0, 1));
        assert_eq!(window.state(2_700 * MS).remaining, 1);
    }

    #[test]
    fn a_reading_that_steps_back_counts_as_the_latest() {
        let mut window = Window::new(Schedule::constant(1).unwrap());
        assert!(window.arrive(5_000 * MS).admitted);
        // Back to 0: still 5 s, so the window is full, not empty.
        assert!(!window.arrive(0).admitted);
        assert!(window.arrive(6_000 * MS).admitted);
    }
}
