//! `Schedule`: the server's limit over time, changed without notice.

use std::time::Duration;

/// The server's limit (requests in any sliding window of one second) as a function of the time
/// since its first request: a list of phases, then a limit that holds for ever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    phases: Vec<(u32, Duration)>,
    then: u32,
}

/// A schedule that could never admit a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroLimit;

impl std::fmt::Display for ZeroLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a server limit of zero requests per second would never admit anything")
    }
}

impl std::error::Error for ZeroLimit {}

impl Schedule {
    /// `phases` (a limit and how long it holds) one after the other, then `then` for ever.
    ///
    /// Fails with [`ZeroLimit`] if any limit is zero.
    pub fn new(phases: Vec<(u32, Duration)>, then: u32) -> Result<Schedule, ZeroLimit> {
        if then == 0 || phases.iter().any(|&(limit, _)| limit == 0) {
            return Err(ZeroLimit);
        }
        Ok(Schedule { phases, then })
    }

    /// One limit for ever.
    pub fn constant(limit: u32) -> Result<Schedule, ZeroLimit> {
        Schedule::new(Vec::new(), limit)
    }

    /// The pushback schedule: 100 per second for 10 s, 50 for 10 s, then 100 again.
    pub fn pushback() -> Schedule {
        Schedule {
            phases: vec![
                (100, Duration::from_secs(10)),
                (50, Duration::from_secs(10)),
            ],
            then: 100,
        }
    }

    /// The limit `since` after the first request.
    pub fn limit_at(&self, since: Duration) -> u32 {
        let mut start = Duration::ZERO;
        for &(limit, length) in &self.phases {
            start = start.saturating_add(length);
            if since < start {
                return limit;
            }
        }
        self.then
    }

    /// How many requests the server allows from `from` to `to` after its first request: the
    /// integral of its limit per second over that time (zero if `to <= from`).
    pub fn allowed(&self, from: Duration, to: Duration) -> f64 {
        if to <= from {
            return 0.0;
        }
        let mut total = 0.0;
        let mut start = Duration::ZERO;
        let overlap = |a: Duration, b: Duration| {
            let (lo, hi) = (a.max(from), b.min(to));
            hi.saturating_sub(lo).as_secs_f64()
        };
        for &(limit, length) in &self.phases {
            let end = start.saturating_add(length);
            total += f64::from(limit) * overlap(start, end);
            start = end;
        }
        total + f64::from(self.then) * overlap(start, Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pushback_schedule_changes_at_10_and_20_seconds() {
        let schedule = Schedule::pushback();
        let at = |ms| schedule.limit_at(Duration::from_millis(ms));
        assert_eq!((at(0), at(9_999), at(10_000)), (100, 100, 50));
        assert_eq!((at(19_999), at(20_000), at(1_000_000)), (50, 100, 100));
    }

    #[test]
    fn allowed_integrates_the_limit() {
        let schedule = Schedule::pushback();
        let secs = Duration::from_secs;
        assert_eq!(schedule.allowed(secs(0), secs(25)), 2000.0);
        assert_eq!(schedule.allowed(secs(5), secs(15)), 750.0);
        assert_eq!(schedule.allowed(secs(15), secs(5)), 0.0);
    }

    #[test]
    fn a_zero_limit_is_refused() {
        assert_eq!(Schedule::constant(0), Err(ZeroLimit));
        assert_eq!(
            Schedule::new(vec![(0, Duration::from_secs(1))], 5),
            Err(ZeroLimit)
        );
    }
}
