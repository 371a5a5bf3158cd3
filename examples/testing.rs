//! How to unit-test throttled code without waiting: run it on pacer's `ManualTimer`.
//!
//! `send_all` is ordinary application code, generic over the timer: in production it runs on
//! a runtime's timer (`pacer_tokio::Limiter`, `pacer_futures_timer::Limiter`, ...), in tests
//! on a `ManualTimer`, whose sleeps complete when the test moves its clock. The test below
//! drives it on a single-threaded `LocalPool`: run every task until they all wait, move the
//! clock to the next wake-up, repeat. A schedule of seconds runs in microseconds and every
//! instant is exact.
//!
//! Run it with `cargo run --example testing`, or as a test with
//! `cargo test -p pacer-examples --example testing`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use pacer_core::{AtomicLimiter, Error, ManualTimer, Pacer, Quota, RateLimiter, Timer};

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

/// Runs `send_all` for `count` messages at `quota` on a manual timer, and returns the
/// simulated instants at which they went.
fn simulate(quota: Quota, count: usize) -> Vec<u64> {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(AtomicLimiter::new(quota), timer.clone());
    let outbox = Rc::new(RefCell::new(Vec::new()));
    let result = Rc::new(RefCell::new(None));

    let mut pool = LocalPool::new();
    pool.spawner()
        .spawn_local({
            let (outbox, result) = (outbox.clone(), result.clone());
            async move {
                let sent = send_all(&pacer, count, |m| outbox.borrow_mut().push(m)).await;
                *result.borrow_mut() = Some(sent);
            }
        })
        .expect("a LocalPool accepts tasks while it exists");
    // Run until every task waits, then jump the clock to the next wake-up.
    loop {
        pool.run_until_stalled();
        match timer.next_wake() {
            Some(at) => timer.set(at),
            None => break,
        }
    }
    drop(pool);

    assert_eq!(*outbox.borrow(), (0..count).collect::<Vec<_>>());
    result
        .take()
        .expect("send_all finished")
        .expect("no limiter error")
}

fn main() -> Result<(), Error> {
    // 5 per second with a burst of 2: two at once, then one every 200 ms.
    let quota = Quota::per_second(5)?.with_burst(2)?;
    let started = Instant::now();
    let schedule = simulate(quota, 10);
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

    #[test]
    fn sends_two_at_once_then_one_every_200_ms() {
        let quota = Quota::per_second(5).unwrap().with_burst(2).unwrap();
        let ms: Vec<u64> = simulate(quota, 6).iter().map(|at| at / 1_000_000).collect();
        assert_eq!(ms, [0, 0, 200, 400, 600, 800]);
    }
}
