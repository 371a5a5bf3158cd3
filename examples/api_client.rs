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
//! The simulated API, its latencies and the printed lines come from this package's library
//! (`pacer_examples::api`, `pacer_examples::report`); this file is the runtime's wiring.
//!
//! Run it with `cargo run --release --example api_client`.

use futures::StreamExt;
use pacer_examples::api::{SimulatedApi, latencies};
use pacer_examples::report::{Progress, intro, summary};
use pacer_tokio::{Gate, Quota};

const CALLS: usize = 500;
const RATE: u32 = 100;
const IN_FLIGHT: usize = 20;

#[tokio::main]
async fn main() -> Result<(), pacer_tokio::Error> {
    let gate = Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?;
    let clock = *gate.pacer().timer();
    let api = SimulatedApi::with_capacity(CALLS);
    let progress = Progress::new(CALLS, 100);

    println!("{}", intro(CALLS, RATE, IN_FLIGHT));
    // Each call passes the gate (a concurrency slot, then a rate slot) when its turn comes;
    // results arrive in completion order. (Spawned tasks sharing an `Arc<Gate>` work too.)
    let calls = latencies(0x9E37_79B9_7F4A_7C15, CALLS)
        .into_iter()
        .map(|latency| api.call(&clock, latency, tokio::time::sleep));
    let mut results = std::pin::pin!(gate.gather(calls));
    while let Some(result) = results.next().await {
        result?;
        progress.one_done(&clock, &api);
    }

    println!("{}", summary(&api, RATE));
    Ok(())
}
