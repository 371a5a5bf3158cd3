//! `Stats`: what the server admitted and refused, and what it allowed over that time.

use std::time::Duration;

use super::{Decision, Window};

/// Counts kept by a [`StrictServer`](super::StrictServer).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Requests admitted.
    pub admitted: u64,
    /// Requests refused with 429.
    pub refused: u64,
    /// From the first request to the last admitted one.
    pub span: Duration,
    /// How many requests the schedule allowed over `span`: the integral of its limit.
    pub allowed: f64,
    /// The most admitted arrivals seen in one sliding second (never above the limit).
    pub busiest_second: u32,
}

impl Stats {
    pub(super) fn record(&mut self, window: &Window, now: u64, decision: &Decision) {
        if !decision.admitted {
            self.refused += 1;
            return;
        }
        self.admitted += 1;
        let start = window.start().unwrap_or(now);
        self.span = Duration::from_nanos(now.saturating_sub(start));
        self.allowed = window.schedule().allowed(Duration::ZERO, self.span);
        self.busiest_second = self.busiest_second.max(decision.limit - decision.remaining);
    }

    /// Admitted requests as a percentage of what the schedule allowed over the same time
    /// (`None` before any time has passed).
    pub fn goodput_percent(&self) -> Option<f64> {
        (self.allowed > 0.0).then(|| 100.0 * self.admitted as f64 / self.allowed)
    }
}
