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
//! The simulated API, its latencies and the printed lines come from this package's library
//! (`pacer_examples::api`, `pacer_examples::report`); this file is the runtime's wiring.
//!
//! Run it with `cargo run --release --example api_client_async_std`.

use std::sync::Arc;

use pacer_async_std::{Gate, Quota};
use pacer_examples::api::{SimulatedApi, latencies};
use pacer_examples::report::{Progress, intro, summary};

const CALLS: usize = 100;
const RATE: u32 = 50;
const IN_FLIGHT: usize = 10;

fn main() -> Result<(), pacer_async_std::Error> {
    async_std::task::block_on(async {
        let gate = Arc::new(Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?);
        let clock = *gate.pacer().timer();
        let api = Arc::new(SimulatedApi::with_capacity(CALLS));
        let progress = Arc::new(Progress::new(CALLS, 20));

        println!("{}", intro(CALLS, RATE, IN_FLIGHT));
        // One task per call: each waits at the gate (a concurrency slot, fairly, then a rate
        // slot, in order), makes its call (sleeping on async-std's timer), and frees its slot
        // when the permit drops.
        let tasks: Vec<_> = latencies(0x9E37_79B9_7F4A_7C15, CALLS)
            .into_iter()
            .map(|latency| {
                let (gate, api, progress) =
                    (Arc::clone(&gate), Arc::clone(&api), Arc::clone(&progress));
                async_std::task::spawn(async move {
                    let _permit = gate.acquire().await?;
                    api.call(&clock, latency, async_std::task::sleep).await;
                    progress.one_done(&clock, &api);
                    Ok::<(), pacer_async_std::Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await?;
        }

        println!("{}", summary(&api, RATE));
        Ok(())
    })
}
