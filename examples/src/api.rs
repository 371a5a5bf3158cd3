//! A simulated third-party API: each call takes a random 50 to 200 ms on the runtime's timer,
//! and the API records when each call started and how many were in flight.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pacer_core::Clock;

use crate::rng::XorShift;

/// The latencies of `calls` simulated calls, each 50 to 200 ms, drawn by a xorshift generator
/// seeded with `seed` (not 0), so every run makes the same calls.
pub fn latencies(seed: u64, calls: usize) -> Vec<Duration> {
    let mut rng = XorShift::new(seed);
    (0..calls)
        .map(|_| Duration::from_millis(50 + rng.next() % 151))
        .collect()
}

/// The simulated API, and what the program watches while the calls run.
#[derive(Debug, Default)]
pub struct SimulatedApi {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Start of each call, in nanoseconds on the gate's clock.
    starts: Mutex<Vec<u64>>,
}

impl SimulatedApi {
    /// An API ready to record `calls` calls.
    pub fn with_capacity(calls: usize) -> SimulatedApi {
        SimulatedApi {
            starts: Mutex::new(Vec::with_capacity(calls)),
            ..SimulatedApi::default()
        }
    }

    /// A simulated call that takes `latency`, slept by `sleep` on the runtime's timer
    /// (`tokio::time::sleep`, `smol::Timer::after`, ...). It records its start on `clock`,
    /// and counts itself in flight until it ends.
    pub async fn call<F: Future>(
        &self,
        clock: &impl Clock,
        latency: Duration,
        sleep: impl FnOnce(Duration) -> F,
    ) {
        self.starts.lock().unwrap().push(clock.now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        sleep(latency).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// How many calls are in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most calls that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The start of each call so far, in nanoseconds on the clock the calls were given.
    pub fn starts(&self) -> Vec<u64> {
        self.starts.lock().unwrap().clone()
    }
}
