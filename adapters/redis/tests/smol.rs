//! pacer-redis on smol (feature `smol`), with no tokio runtime anywhere: the connection, the
//! sleep, the timeout and the background cancel all run on smol.
#![cfg(feature = "smol")]

use std::time::Duration;

use pacer_core::ManualTimer;
use pacer_redis::{Connection, Quota, RedisKeyedLimiter, RedisLimiter};
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
        let limiter = RedisLimiter::connect_with_timer(
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
        let limiter = RedisLimiter::connect_with_timer(
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

#[test]
fn keyed_limits_and_a_cluster_work_on_smol() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let Some(cluster) = pacer_tests::RedisCluster::start(3) else {
        return;
    };
    smol::block_on(async {
        // Keyed, on one server: a sleeping acquisition of one key, dropped, returns its slot
        // to that key while another key's limit is untouched.
        let timer = ManualTimer::new();
        let limiter = RedisKeyedLimiter::connect_with_timer(
            &server.url(),
            "smol:",
            one_per_hundred_seconds(),
            timer.clone(),
        )
        .await
        .unwrap();
        let limiter = std::sync::Arc::new(limiter);
        limiter.acquire("k").await.unwrap();
        let waiting = limiter.clone();
        let waiter = smol::spawn(async move { waiting.acquire("k").await });
        eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
        assert_eq!(limiter.delay("other", 1).await.unwrap(), Duration::ZERO);
        drop(waiter);
        eventually("the slot comes back", async || {
            limiter.delay("k", 1).await.unwrap() <= Duration::from_secs(110)
        })
        .await;

        // On a cluster: the connection and its routing run on smol too.
        let urls = cluster.urls();
        let conn = Connection::connect_cluster(urls.iter().map(String::as_str))
            .await
            .unwrap();
        let quota = Quota::per_second(1000).unwrap().with_burst(3).unwrap();
        let keyed =
            RedisKeyedLimiter::new(conn, "smol-cluster:", quota, ManualTimer::new()).unwrap();
        let mut cells = Vec::new();
        for k in 0..60 {
            let key = ["a", "b", "c"][k % 3];
            cells.push((key, keyed.reserve(key, 1).await.unwrap().at()));
        }
        for key in ["a", "b", "c"] {
            let mine: Vec<u64> = cells.iter().filter(|c| c.0 == key).map(|c| c.1).collect();
            pacer_tests::assert_conforms(&mine, quota);
        }
    });
}
