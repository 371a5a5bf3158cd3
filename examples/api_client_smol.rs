//! The main job of pacer, smaller, on smol: 100 calls to a third-party API that allows 50
//! requests per second (strictly spaced, burst 1) and at most 10 calls in flight.
//!
//! Each simulated call sleeps a random 50 to 200 ms on smol's timer. The program records when
//! each call started and how many were in flight, prints its progress, and ends with one line:
//!
//! ```text
//! achieved 49.99/s target 50/s, max in flight 10
//! ```
//!
//! where the achieved rate is (calls - 1) / (last start - first start).
//!
//! Run it with `cargo run --release --example api_client_smol`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pacer_smol::{Clock, Gate, Quota};
use smol::stream::StreamExt;

const CALLS: usize = 100;
const RATE: u32 = 50;
const IN_FLIGHT: usize = 10;

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

/// A simulated API call that takes `latency` on smol's timer.
async fn call_api(id: usize, latency: Duration, clock: &impl Clock, stats: &Stats) -> usize {
    stats.starts.lock().unwrap().push(clock.now());
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    smol::Timer::after(latency).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    id
}

fn main() -> Result<(), pacer_smol::Error> {
    smol::block_on(async {
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
        // Each call passes the gate (a concurrency slot, then a rate slot) when its turn
        // comes; results arrive in completion order. All of it runs in this one task.
        let calls = latencies
            .iter()
            .enumerate()
            .map(|(id, &latency)| call_api(id, latency, &clock, &stats));
        let mut results = std::pin::pin!(gate.gather(calls));
        let mut done = 0;
        while let Some(result) = results.next().await {
            result?;
            done += 1;
            if done % 20 == 0 {
                println!(
                    "  {done:>3}/{CALLS} done at {:>4.2} s, {} in flight",
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
    })
}
