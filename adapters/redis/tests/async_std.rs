//! pacer-redis inside async-std (feature `smol`), with no tokio runtime anywhere. async-std
//! runs on async-io, as smol does, so the connection (redis-rs on smol), the timeout and the
//! background cancel (smol's executor) work beside it, and the sleep is async-std's own timer.
#![cfg(feature = "smol")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use pacer_async_std::AsyncStdTimer;
use pacer_core::ManualTimer;
use pacer_redis::{Quota, RedisLimiter};
use pacer_tests::RedisServer;

mod common;
use common::{assert_timed_out, one_per_hundred_seconds};

/// [`common::eventually`] on async-std.
async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    common::eventually(what, async_std::task::sleep, done).await;
}

#[test]
fn on_async_std_a_cell_waits_a_dropped_acquisition_hands_its_slot_back_and_a_stall_times_out() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    async_std::task::block_on(async {
        assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "no tokio here"
        );

        // On async-std's timer: the second of two cells at 50 per second waits for the 20 ms
        // the server computed (the bound is loose: it only shows that a sleep happened).
        let limiter = RedisLimiter::connect_with_timer(
            &server.url(),
            "async-std",
            Quota::per_second(50).unwrap(),
            AsyncStdTimer::new(),
        )
        .await
        .unwrap();
        limiter.acquire().await.unwrap();
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(10),
            "the second cell did not wait: {:?}",
            start.elapsed()
        );

        // A dropped acquisition's cancel runs in the background and hands its slot back: a
        // newcomer then waits about 100 s, not about 200 s.
        let timer = ManualTimer::new();
        let limiter = Arc::new(
            RedisLimiter::connect_with_timer(
                &server.url(),
                "async-std-cancel",
                one_per_hundred_seconds(),
                timer.clone(),
            )
            .await
            .unwrap(),
        );
        limiter.acquire().await.unwrap();
        let waiting = limiter.clone();
        let waiter = async_std::task::spawn(async move { waiting.acquire().await });
        eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
        assert!(limiter.delay(1).await.unwrap() > Duration::from_secs(150));
        assert!(waiter.cancel().await.is_none(), "it was still asleep");
        eventually("the slot comes back", async || {
            limiter.delay(1).await.unwrap() <= Duration::from_secs(110)
        })
        .await;

        // A server that stops answering: the call times out instead of hanging.
        let stalled = RedisLimiter::connect_with_timer(
            &server.url(),
            "async-std-stalled",
            Quota::per_second(100).unwrap(),
            ManualTimer::new(),
        )
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(200));
        stalled.acquire().await.unwrap();
        server.pause();
        assert_timed_out(stalled.acquire().await, "200ms");
        server.resume();
    });
}
