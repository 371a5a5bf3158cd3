//! The main job of pacer, smaller, on async-std: 100 calls to a third-party API that allows 50
//! requests per second (strictly spaced, burst 1) and at most 10 calls in flight.
//!
//! (async-std is deprecated upstream in favour of smol; see `api_client_smol` for the same
//! job there.)
//!
//! Each call is a task on async-std's thread pool sharing one `Arc<Gate>`, and sleeps a
//! random 50 to 200 ms on async-std's timer. The program records when each call started and how
//! many were in flight, prints its progress, and ends with one line:
//!
//! ```text
//! achieved 49.99/s target 50/s, max in flight 10
//! ```
//!
//! where the achieved rate is (calls - 1) / (last start - first start).
//!
//! Run it with `cargo run --release --example api_client_async_std`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_async_std::{AsyncStdTimer, Clock, Gate, Quota};

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
    done: AtomicUsize,
}

/// A simulated API call that takes `latency` on async-std's timer.
async fn call_api(latency: Duration, clock: AsyncStdTimer, stats: &Stats) {
    stats.starts.lock().unwrap().push(clock.now());
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    async_std::task::sleep(latency).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
}

fn main() -> Result<(), pacer_async_std::Error> {
    async_std::task::block_on(async {
        let gate = Arc::new(Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?);
        let clock = *gate.pacer().timer();
        let stats = Arc::new(Stats {
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            starts: Mutex::new(Vec::with_capacity(CALLS)),
            done: AtomicUsize::new(0),
        });
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);

        println!("{CALLS} calls at {RATE}/s, at most {IN_FLIGHT} in flight, each 50 to 200 ms");
        // One task per call: each waits at the gate (a concurrency slot, fairly, then a rate
        // slot, in order), makes its call, and frees its slot when the permit drops.
        let tasks: Vec<_> = (0..CALLS)
            .map(|_| {
                let latency = Duration::from_millis(50 + rng.next() % 151);
                let (gate, stats) = (Arc::clone(&gate), Arc::clone(&stats));
                async_std::task::spawn(async move {
                    let _permit = gate.acquire().await?;
                    call_api(latency, clock, &stats).await;
                    let done = stats.done.fetch_add(1, Ordering::SeqCst) + 1;
                    if done % 20 == 0 {
                        println!(
                            "  {done:>3}/{CALLS} done at {:>4.2} s, {} in flight",
                            clock.now() as f64 / 1e9,
                            stats.in_flight.load(Ordering::SeqCst),
                        );
                    }
                    Ok::<(), pacer_async_std::Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await?;
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
