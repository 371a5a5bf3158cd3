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
//! The simulated API, its latencies and the printed lines come from this package's library
//! (`pacer_examples::api`, `pacer_examples::report`); this file is the runtime's wiring.
//!
//! Run it with `cargo run --release --example api_client_smol`.

use pacer_examples::api::{SimulatedApi, latencies};
use pacer_examples::report::{Progress, intro, summary};
use pacer_smol::{Gate, Quota};
use smol::stream::StreamExt;

const CALLS: usize = 100;
const RATE: u32 = 50;
const IN_FLIGHT: usize = 10;

fn main() -> Result<(), pacer_smol::Error> {
    smol::block_on(async {
        let gate = Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?;
        let clock = *gate.pacer().timer();
        let api = SimulatedApi::with_capacity(CALLS);
        let progress = Progress::new(CALLS, 20);

        println!("{}", intro(CALLS, RATE, IN_FLIGHT));
        // Each call passes the gate (a concurrency slot, then a rate slot) when its turn
        // comes; results arrive in completion order. All of it runs in this one task. Each
        // call sleeps on smol's timer.
        let calls = latencies(0x9E37_79B9_7F4A_7C15, CALLS)
            .into_iter()
            .map(|latency| api.call(&clock, latency, smol::Timer::after));
        let mut results = std::pin::pin!(gate.gather(calls));
        while let Some(result) = results.next().await {
            result?;
            progress.one_done(&clock, &api);
        }

        println!("{}", summary(&api, RATE));
        Ok(())
    })
}
