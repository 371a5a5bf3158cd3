//! The api_client job on futures-timer, for executors pacer has no adapter for: 100 calls to
//! a simulated API at 50 per second, at most 10 in flight, on `futures::executor::block_on`.
//!
//! Each simulated call takes a random 50 to 200 ms. The program ends with one line:
//!
//! ```text
//! achieved 49.99/s target 50/s, max in flight 10
//! ```
//!
//! Run it with `cargo run --release --example api_client_futures_timer`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures_timer::Delay;
use pacer_futures_timer::{Clock, Gate, Quota};

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
    starts: RefCell<Vec<u64>>,
}

/// A simulated API call that takes `latency`.
async fn call_api(id: usize, latency: Duration, clock: &impl Clock, stats: &Stats) -> usize {
    stats.starts.borrow_mut().push(clock.now());
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
    Delay::new(latency).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    id
}

fn main() -> Result<(), pacer_futures_timer::Error> {
    let gate = Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?;
    let clock = *gate.pacer().timer();
    let stats = Stats {
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        starts: RefCell::new(Vec::with_capacity(CALLS)),
    };
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let latencies: Vec<Duration> = (0..CALLS)
        .map(|_| Duration::from_millis(50 + rng.next() % 151))
        .collect();

    println!("{CALLS} calls at {RATE}/s, at most {IN_FLIGHT} in flight, each 50 to 200 ms");
    futures::executor::block_on(async {
        let calls = latencies
            .iter()
            .enumerate()
            .map(|(id, &latency)| call_api(id, latency, &clock, &stats));
        let mut results = std::pin::pin!(gate.gather(calls));
        let mut done = 0;
        while let Some(result) = results.next().await {
            result?;
            done += 1;
            if done % 25 == 0 {
                println!(
                    "  {done:>3}/{CALLS} done at {:>5.2} s, {} in flight",
                    clock.now() as f64 / 1e9,
                    stats.in_flight.load(Ordering::SeqCst),
                );
            }
        }
        Ok::<(), pacer_futures_timer::Error>(())
    })?;

    let starts = stats.starts.borrow();
    let first = starts.iter().min().copied().unwrap_or(0);
    let last = starts.iter().max().copied().unwrap_or(0);
    let achieved = (starts.len() - 1) as f64 / ((last - first) as f64 / 1e9);
    println!(
        "achieved {achieved:.2}/s target {RATE}/s, max in flight {}",
        stats.max_in_flight.load(Ordering::SeqCst)
    );
    Ok(())
}
