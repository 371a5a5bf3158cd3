//! pacer-redis on smol (feature `smol`), with no tokio runtime anywhere: the connection, the
//! sleep, the timeout and the background cancel all run on smol.
#![cfg(feature = "smol")]

use std::time::Duration;

use pacer_core::ManualTimer;
use pacer_redis::Limiter;
use pacer_tests::RedisServer;

mod common;
use common::{assert_timed_out, one_per_hundred_seconds};

/// [`common::eventually`] on smol.
async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    common::eventually(what, smol::Timer::after, done).await;
}

#[test]
fn an_acquisition_sleeps_and_a_dropped_one_hands_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    smol::block_on(async {
        assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "no tokio here"
        );
        let timer = ManualTimer::new();
        let limiter = Limiter::connect_with_timer(
            &server.url(),
            "smol",
            one_per_hundred_seconds(),
            timer.clone(),
        )
        .await
        .unwrap();
        let limiter = std::sync::Arc::new(limiter);
        limiter.acquire().await.unwrap();

        // The second cell is 100 s away: its acquisition sleeps on the timer until advanced.
        let waiting = limiter.clone();
        let waiter = smol::spawn(async move { waiting.acquire().await });
        eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
        timer.advance(Duration::from_secs(100));
        waiter.await.unwrap();

        // A third sleeps (its cell 200 s after the first, by the server's clock), and is
        // dropped: the cancel runs on smol and returns its slot, so a newcomer would wait
        // about 200 s instead of about 300 s.
        let waiting = limiter.clone();
        let waiter = smol::spawn(async move { waiting.acquire().await });
        eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
        assert!(limiter.delay(1).await.unwrap() > Duration::from_secs(250));
        drop(waiter);
        eventually("the slot comes back", async || {
            limiter.delay(1).await.unwrap() <= Duration::from_secs(210)
        })
        .await;
    });
}

#[test]
fn a_redis_that_stops_answering_times_out_on_smol_and_the_call_given_up_is_cancelled() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    smol::block_on(async {
        let limiter = Limiter::connect_with_timer(
            &server.url(),
            "smol-stalled",
            one_per_hundred_seconds(),
            ManualTimer::new(),
        )
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(200));
        limiter.acquire().await.unwrap();
        server.pause();
        assert_timed_out(limiter.acquire().await, "200ms");
        server.resume();
        // Redis runs the given-up call once it wakes (a reservation 100 s out); a task on
        // smol gets the answer and cancels it, so a newcomer waits about 100 s, not 200 s.
        eventually("the slot comes back", async || {
            limiter.delay(1).await.unwrap() <= Duration::from_secs(110)
        })
        .await;
    });
}
