//! What the `api_client*` examples print: an opening line, a progress line every so many
//! finished calls, and a closing line with the achieved rate.

use std::sync::atomic::{AtomicUsize, Ordering};

use pacer_core::Clock;

use crate::api::SimulatedApi;

/// The opening line: the job.
pub fn intro(calls: usize, rate: u32, in_flight: usize) -> String {
    format!("{calls} calls at {rate}/s, at most {in_flight} in flight, each 50 to 200 ms")
}

/// Counts finished calls, and prints a progress line every so many.
#[derive(Debug)]
pub struct Progress {
    calls: usize,
    every: usize,
    done: AtomicUsize,
}

impl Progress {
    /// Progress of `calls` calls, reported every `every` finished calls.
    pub fn new(calls: usize, every: usize) -> Progress {
        Progress {
            calls,
            every,
            done: AtomicUsize::new(0),
        }
    }

    /// Counts one more finished call; at each multiple of `every`, prints how many are done,
    /// the reading of `clock` in seconds and how many calls of `api` are in flight.
    pub fn one_done(&self, clock: &impl Clock, api: &SimulatedApi) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if done.is_multiple_of(self.every) {
            println!(
                "  {done:>3}/{} done at {:>5.2} s, {} in flight",
                self.calls,
                clock.now() as f64 / 1e9,
                api.in_flight(),
            );
        }
    }
}

/// Calls per second, from the first start to the last:
/// (calls - 1) / (last start - first start), with the starts in nanoseconds.
pub fn achieved_rate(starts: &[u64]) -> f64 {
    let first = starts.iter().min().copied().unwrap_or(0);
    let last = starts.iter().max().copied().unwrap_or(0);
    let span = (last - first) as f64 / 1e9;
    (starts.len() - 1) as f64 / span
}

/// The closing line, for example `achieved 99.98/s target 100/s, max in flight 20`: the
/// [`achieved_rate`] of `api`'s calls (2 decimals), the target `rate`, and the most calls that
/// were in flight at once.
pub fn summary(api: &SimulatedApi, rate: u32) -> String {
    format!(
        "achieved {:.2}/s target {rate}/s, max in flight {}",
        achieved_rate(&api.starts()),
        api.max_in_flight()
    )
}
