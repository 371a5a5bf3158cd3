//! How to test throttled code without waiting: run it on virtual time, with
//! `ManualTimer::block_on`.
//!
//! `send_all` is ordinary application code, generic over the limiter and the timer: in
//! production it runs on a runtime's timer (`pacer_tokio::Limiter`, ...), in tests on a
//! `ManualTimer`. `timer.block_on(future)` runs the future and, whenever it waits and nothing
//! woke it, moves the clock straight to the next instant a sleep waits for, as tokio's paused
//! time does, on any executor and with no runtime. No hand-written loop over the clock: a
//! schedule of seconds runs in microseconds and every instant is exact. Everything comes from
//! the one adapter crate (`pacer_tokio` here; the other std adapters re-export the same).
//!
//! Run it with `cargo run --example testing`, or as a test with
//! `cargo test -p pacer-examples --example testing`. docs/testing.md is the guide.

use std::time::{Duration, Instant};

use pacer_tokio::traits::{RateLimiter, Timer};
use pacer_tokio::{AtomicLimiter, Error, ManualTimer, Pacer, Quota};

/// The code under test: sends `count` messages, each once the pacer lets one through, and
/// returns the instant each went at.
async fn send_all<L: RateLimiter, T: Timer>(
    pacer: &Pacer<L, T>,
    count: usize,
    mut send: impl FnMut(usize),
) -> Result<Vec<u64>, Error> {
    let mut sent_at = Vec::with_capacity(count);
    for message in 0..count {
        pacer.acquire().await?;
        send(message);
        sent_at.push(pacer.timer().now());
    }
    Ok(sent_at)
}

/// Runs `send_all` for `count` messages at `quota` on virtual time, and returns the instants
/// at which they went.
fn simulate(quota: Quota, count: usize) -> Result<Vec<u64>, Error> {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(AtomicLimiter::new(quota), timer.clone());
    let mut outbox = Vec::new();
    let sent_at = timer.block_on(send_all(&pacer, count, |m| outbox.push(m)))?;
    assert_eq!(outbox, (0..count).collect::<Vec<_>>());
    Ok(sent_at)
}

fn main() -> Result<(), Error> {
    // 5 per second with a burst of 2: two at once, then one every 200 ms.
    let quota = Quota::per_second(5)?.with_burst(2)?;
    let started = Instant::now();
    let schedule = simulate(quota, 10)?;
    let took = started.elapsed();

    for (message, at) in schedule.iter().enumerate() {
        println!("message {message} sent at {:>4} ms", at / 1_000_000);
    }
    println!(
        "simulated {:?} of sending in {took:?} of real time",
        Duration::from_nanos(*schedule.last().unwrap_or(&0))
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use pacer_tokio::traits::Clock;

    fn ms(instants: &[u64]) -> Vec<u64> {
        instants.iter().map(|at| at / 1_000_000).collect()
    }

    #[test]
    fn sends_two_at_once_then_one_every_200_ms() -> Result<(), Error> {
        let quota = Quota::per_second(5)?.with_burst(2)?;
        assert_eq!(ms(&simulate(quota, 6)?), [0, 0, 200, 400, 600, 800]);
        Ok(())
    }

    #[test]
    fn three_senders_share_one_limit_first_come_first_served() -> Result<(), Error> {
        let timer = ManualTimer::new();
        let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(10)?), timer.clone());
        // Everything that runs at once goes inside the one future: here, joined.
        let (a, b, c) = timer.block_on(async {
            futures::join!(
                send_all(&pacer, 3, drop),
                send_all(&pacer, 3, drop),
                send_all(&pacer, 3, drop),
            )
        });
        // One cell every 100 ms, each to the sender that asked first: `a` takes its first
        // at once and asks again before `b` and `c` first ask, so it goes at 100 ms; then each
        // asks again as its cell goes, behind the others already waiting.
        assert_eq!(ms(&a?), [0, 100, 400]);
        assert_eq!(ms(&b?), [200, 500, 700]);
        assert_eq!(ms(&c?), [300, 600, 800]);
        assert_eq!(timer.now(), 800_000_000);
        Ok(())
    }

    #[test]
    fn a_throttled_stream_on_another_executor() -> Result<(), Error> {
        let timer = ManualTimer::new();
        let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(4)?), timer.clone());
        let mut pool = futures::executor::LocalPool::new();
        let paced = pacer.throttle(futures::stream::iter(1..=5));
        let items: Vec<(u32, u64)> =
            pool.run_until(timer.run(paced.map(|item| (item, timer.now())).collect()));
        assert_eq!(
            items,
            [
                (1, 0),
                (2, 250_000_000),
                (3, 500_000_000),
                (4, 750_000_000),
                (5, 1_000_000_000)
            ]
        );
        Ok(())
    }
}
