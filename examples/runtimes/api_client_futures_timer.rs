//! The api_client job on futures-timer, for executors pacer has no adapter for: 100 calls to
//! a simulated API at 50 per second, at most 10 in flight, on `futures::executor::block_on`.
//!
//! Each simulated call takes a random 50 to 200 ms. The program ends with one line:
//!
//! ```text
//! achieved 49.99/s target 50/s, max in flight 10
//! ```
//!
//! The simulated API, its latencies and the printed lines come from this package's library
//! (`pacer_examples::api`, `pacer_examples::report`); this file is the runtime's wiring.
//!
//! Run it with `cargo run --release --example api_client_futures_timer`.

use futures::StreamExt;
use futures_timer::Delay;
use pacer_examples::api::{SimulatedApi, latencies};
use pacer_examples::report::{Progress, intro, summary};
use pacer_futures_timer::{Gate, Quota};

const CALLS: usize = 100;
const RATE: u32 = 50;
const IN_FLIGHT: usize = 10;

fn main() -> Result<(), pacer_futures_timer::Error> {
    let gate = Gate::new(Quota::per_second(RATE)?, IN_FLIGHT)?;
    let clock = *gate.pacer().timer();
    let api = SimulatedApi::with_capacity(CALLS);
    let progress = Progress::new(CALLS, 25);

    println!("{}", intro(CALLS, RATE, IN_FLIGHT));
    futures::executor::block_on(async {
        // Each call sleeps on a futures-timer `Delay`.
        let calls = latencies(0x2545_F491_4F6C_DD1D, CALLS)
            .into_iter()
            .map(|latency| api.call(&clock, latency, Delay::new));
        let mut results = std::pin::pin!(gate.gather(calls));
        while let Some(result) = results.next().await {
            result?;
            progress.one_done(&clock, &api);
        }
        Ok::<(), pacer_futures_timer::Error>(())
    })?;

    println!("{}", summary(&api, RATE));
    Ok(())
}
