//! The main job of pacer: 500 calls to a third-party API that allows 100 requests per second
//! and at most 20 open connections, on tokio's multi-threaded runtime.
//!
//! Each simulated call takes a random 50 to 200 ms. The program records when each call
//! started and how many were in flight, and ends with one line:
//!
//! ```text
//! achieved 99.98/s target 100/s, max in flight 20
//! ```
//!
//! Run it with `cargo run --release --example api_client`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use pacer_tokio::{Clock, Gate, Quota};

const CALLS: usize = 500;
const RATE: u32 = 100;
const IN_FLIGHT: usize = 20;

/// A small xorshift generator, so the example needs no randomness crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What the program watches while the calls run.
struct Stats {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Start of each call, in nanoseconds on the gate's clock.
    starts: Mutex<Vec<u64>>,
}

/// A simulated API call that takes `latency`.
async fn call_api(id: usize, latency: Duration, clock: &impl Clock, stats: &Stats) -> usize {
    stats.starts.lock().unwrap().push(clock.now());
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(latency).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    id
}

#[tokio::main]
async fn main() -> Result<(), pacer_tokio::Error> {
    let gate = Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?;
    let clock = *gate.pacer().timer();
    let stats = Stats {
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        starts: Mutex::new(Vec::with_capacity(CALLS)),
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let latencies: Vec<Duration> = (0..CALLS)
        .map(|_| Duration::from_millis(50 + rng.next() % 151))
        .collect();

    println!("{CALLS} calls at {RATE}/s, at most {IN_FLIGHT} in flight, each 50 to 200 ms");
    // Each call passes the gate (a concurrency slot, then a rate slot) when its turn comes;
    // results arrive in completion order. (Spawned tasks sharing an `Arc<Gate>` work too.)
    let calls = latencies
        .iter()
        .enumerate()
        .map(|(id, &latency)| call_api(id, latency, &clock, &stats));
    let mut results = std::pin::pin!(gate.gather(calls));
    let mut done = 0;
    while let Some(result) = results.next().await {
        result?;
        done += 1;
        if done % 100 == 0 {
            println!(
                "  {done:>3}/{CALLS} done at {:>5.2} s, {} in flight",
                clock.now() as f64 / 1e9,
                stats.in_flight.load(Ordering::SeqCst),
            );
        }
    }

    let starts = stats.starts.lock().unwrap().clone();
    let first = starts.iter().min().copied().unwrap_or(0);
    let last = starts.iter().max().copied().unwrap_or(0);
    let span = (last - first) as f64 / 1e9;
    let achieved = (starts.len() - 1) as f64 / span;
    println!(
        "achieved {achieved:.2}/s target {RATE}/s, max in flight {}",
        stats.max_in_flight.load(Ordering::SeqCst)
    );
    Ok(())
}
