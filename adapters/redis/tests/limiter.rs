//! pacer-redis end to end, against a private `redis-server` and its real clock.
//!
//! Sleeps go through a `ManualTimer`, so no test waits on the wall clock for a rate: the
//! server decides each instant and the wait, and the test moves the client's clock. Where a
//! test must let a background task or the network finish, it polls for the outcome with a
//! bound, and the bound only guards against a hang.

use std::time::{Duration, Instant};

use pacer_core::{Error as LimitError, ManualTimer};
use pacer_redis::redis::aio::ConnectionManager;
use pacer_redis::{Error, Quota, RedisGate, RedisLimiter};
use pacer_tests::{RedisServer, assert_conforms, poll_once};

mod common;
use common::{assert_timed_out, one_per_hundred_seconds};

/// One cell per 10 s: a second acquisition always sleeps.
fn one_per_ten_seconds() -> Quota {
    Quota::new(1, Duration::from_secs(10)).unwrap()
}

async fn connect(server: &RedisServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

/// A limiter for `key` on its own connection, sleeping on a new `ManualTimer` (returned too).
async fn on_manual_timer(
    server: &RedisServer,
    key: &str,
    quota: Quota,
) -> (RedisLimiter<ManualTimer>, ManualTimer) {
    let timer = ManualTimer::new();
    let limiter = RedisLimiter::new(connect(server).await, key, quota, timer.clone()).unwrap();
    (limiter, timer)
}

/// [`common::eventually`] on tokio.
async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    common::eventually(what, tokio::time::sleep, done).await;
}

/// A newcomer's wait, after one cell was taken at once and one more is reserved 100 s out,
/// is about 200 s; with that reservation cancelled, about 100 s.
async fn slot_came_back(limiter: &RedisLimiter<ManualTimer>) -> bool {
    limiter.delay(1).await.unwrap() <= Duration::from_secs(110)
}

#[tokio::test]
async fn an_acquisition_sleeps_once_for_the_wait_the_server_computed() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, timer) = on_manual_timer(&server, "sleep", one_per_ten_seconds()).await;
    limiter.acquire().await.unwrap(); // the first cell goes at once, no sleep
    assert_eq!(timer.sleepers(), 0);

    let waiter = tokio::spawn(async move { limiter.acquire().await });
    eventually("the second acquisition sleeps", async || {
        timer.sleepers() == 1
    })
    .await;
    // The server put the cell 10 s after the first; a little real time has passed since, so
    // the wait is just under 10 s, and far more than 5 s.
    let wake = timer.next_wake().unwrap();
    assert!(
        (9_000_000_000..=10_000_000_000).contains(&wake),
        "sleeps until {wake} ns"
    );
    timer.advance(Duration::from_secs(5));
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "passed 5 s into a 10 s wait");
    assert_eq!(timer.sleepers(), 1);
    timer.advance(Duration::from_secs(5));
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiter).await;
    outcome.expect("woken when due").unwrap().unwrap();
}

#[tokio::test]
async fn dropping_a_sleeping_acquisition_hands_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, timer) = on_manual_timer(&server, "drop", one_per_hundred_seconds()).await;
    let limiter = std::sync::Arc::new(limiter);
    limiter.acquire().await.unwrap();
    let waiting = limiter.clone();
    let waiter = tokio::spawn(async move { waiting.acquire().await });
    eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
    // A newcomer now would queue behind it: about 200 s.
    assert!(limiter.delay(1).await.unwrap() > Duration::from_secs(150));
    waiter.abort();
    // The drop cancels in the background; then a newcomer gets the returned slot (about
    // 100 s away).
    eventually("the slot comes back", async || {
        slot_came_back(&limiter).await
    })
    .await;
    assert_eq!(timer.sleepers(), 0);
}

#[tokio::test]
async fn clients_on_separate_connections_share_one_limit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::per_second(1000).unwrap().with_burst(5).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (limiter, _timer) = on_manual_timer(&server, "shared", quota).await;
        tasks.push(tokio::spawn(async move {
            let mut cells = Vec::new();
            for k in 0..100u32 {
                let weight = 1 + k % 3;
                let reservation = limiter.reserve(weight).await.unwrap();
                cells.extend(std::iter::repeat_n(reservation.at(), weight as usize));
            }
            cells
        }));
    }
    let mut cells = Vec::new();
    for task in tasks {
        cells.extend(task.await.unwrap());
    }
    assert_eq!(cells.len(), 4 * 199); // weights 1, 2, 3, 1, 2, 3, ... over 100 reservations
    assert_conforms(&cells, quota);
    let first = cells.iter().min().unwrap();
    let last = cells.iter().max().unwrap();
    // 796 cells at 1,000/s with a burst of 5 span at least 791 ms of the server's clock.
    assert!(last - first >= 791_000_000, "span {} ns", last - first);
}

#[tokio::test]
async fn cancel_returns_only_the_newest_reservation_before_it_is_due() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, _timer) = on_manual_timer(&server, "cancel", one_per_ten_seconds()).await;
    let first = limiter.reserve(1).await.unwrap();
    let second = limiter.reserve(1).await.unwrap();
    let third = limiter.reserve(1).await.unwrap();
    let start = first.at();
    assert_eq!(second.at() - start, 10_000_000_000);
    assert!(
        !limiter.cancel(second).await.unwrap(),
        "one was made after it"
    );
    assert!(
        limiter.cancel(third).await.unwrap(),
        "the newest, not yet due"
    );
    assert!(
        !limiter.cancel(first).await.unwrap(),
        "due already: its cells are spent"
    );
    // The third slot is free again: the next reservation takes it.
    let next = limiter.reserve(1).await.unwrap();
    assert_eq!(next.at() - start, 20_000_000_000);
}

#[tokio::test]
async fn refusals_are_clear_and_record_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::per_second(10).unwrap().with_burst(2).unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "refusals", quota).await;
    limiter.acquire_n(2).await.unwrap();
    let before = limiter.snapshot().await.unwrap();
    assert_eq!(before.remaining, 0);

    match limiter.acquire_n(3).await {
        Err(Error::Limit(LimitError::TooHeavy { cells: 3, max: 2 })) => {}
        other => panic!("expected TooHeavy, got {other:?}"),
    }
    match limiter.try_acquire(1).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert_eq!(at, before.earliest),
        other => panic!("expected WouldWait, got {other:?}"),
    }
    match limiter.acquire_within(1, Duration::from_millis(1)).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert_eq!(at, before.earliest),
        other => panic!("expected WouldWait, got {other:?}"),
    }
    limiter.acquire_n(0).await.unwrap(); // nothing to take: at once, recording nothing
    assert_eq!(limiter.snapshot().await.unwrap().earliest, before.earliest);

    // A client with another quota for the same key is told, and records nothing either.
    let (other, _timer) =
        on_manual_timer(&server, "refusals", Quota::per_second(20).unwrap()).await;
    match other.acquire().await {
        Err(Error::QuotaMismatch { stored, .. }) => assert_eq!(stored, "10:1000000000:2"),
        other => panic!("expected QuotaMismatch, got {other:?}"),
    }
    assert_eq!(limiter.snapshot().await.unwrap().earliest, before.earliest);
}

#[tokio::test]
async fn set_quota_changes_the_limit_for_every_client() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut first, _timer) =
        on_manual_timer(&server, "change", Quota::per_second(10).unwrap()).await;
    let (mut second, _timer) =
        on_manual_timer(&server, "change", Quota::per_second(10).unwrap()).await;
    first.acquire().await.unwrap();
    let queued = second.reserve(1).await.unwrap(); // 100 ms after the first

    let faster = Quota::per_second(100).unwrap();
    first.set_quota(faster).await.unwrap();
    assert_eq!(first.quota(), faster);
    // The other client, still on the old quota, is told and records nothing...
    match second.try_acquire(1).await {
        Err(Error::QuotaMismatch { ours, stored }) => {
            assert_eq!(ours, Quota::per_second(10).unwrap());
            assert_eq!(stored, "100:1000000000:1");
        }
        other => panic!("expected QuotaMismatch, got {other:?}"),
    }
    // ...until it is given the new quota. Setting the quota in force changes nothing, so
    // the first client's reservation made since stays cancellable.
    let newest = first.reserve(1).await.unwrap();
    second.set_quota(faster).await.unwrap();
    assert!(first.cancel(newest).await.unwrap());
    // New cells follow the new quota, 10 ms apart, after the cell reserved under the old
    // one (a backlog: the first new cell comes a new interval after it).
    let a = second.reserve(1).await.unwrap();
    let b = first.reserve(1).await.unwrap();
    assert_eq!(a.at() - queued.at(), 10_000_000);
    assert_eq!(b.at() - a.at(), 10_000_000);
}

#[tokio::test]
async fn a_quota_beyond_the_engine_s_range_is_refused_up_front() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    // 10,000 cells back to back at 1 per hour span 417 days: beyond 2^50 ns.
    let quota = Quota::per_hour(1).unwrap().with_burst(10_000).unwrap();
    match RedisLimiter::new(conn, "huge", quota, ManualTimer::new()) {
        Err(error @ Error::QuotaTooLarge(_)) => {
            assert!(error.to_string().contains("too large for the Redis engine"))
        }
        Err(other) => panic!("expected QuotaTooLarge, got {other:?}"),
        Ok(_) => panic!("expected QuotaTooLarge, got a limiter"),
    }
}

#[tokio::test]
async fn another_kind_of_value_under_the_key_is_an_unexpected_answer() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut conn = connect(&server).await;
    let () = redis::cmd("HSET")
        .arg("taken")
        .arg("field")
        .arg("value")
        .query_async(&mut conn)
        .await
        .map(|_: i64| ())
        .unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "taken", Quota::per_second(1).unwrap()).await;
    match limiter.acquire().await {
        Err(error @ Error::Unexpected(_)) => assert!(error.to_string().contains("WRONGTYPE")),
        other => panic!("expected Unexpected, got {other:?}"),
    }
    // A string that is not a limit's state is refused too, and left as it was.
    let () = redis::cmd("SET")
        .arg("taken-string")
        .arg("a string")
        .query_async(&mut conn)
        .await
        .unwrap();
    let quota = Quota::per_second(1).unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "taken-string", quota).await;
    match limiter.acquire().await {
        Err(error @ Error::Unexpected(_)) => {
            assert!(error.to_string().contains("not a pacer limit"), "{error}")
        }
        other => panic!("expected Unexpected, got {other:?}"),
    }
    let value: String = redis::cmd("GET")
        .arg("taken-string")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value, "a string");
}

#[tokio::test]
async fn a_redis_that_goes_away_is_an_error_and_not_a_hang() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let limiter = RedisLimiter::connect(&server.url(), "away", Quota::per_second(100).unwrap())
        .await
        .unwrap();
    limiter.acquire().await.unwrap();
    server.kill();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), limiter.acquire()).await;
    match outcome.expect("answers instead of hanging") {
        Err(error @ Error::Unavailable(_)) => {
            eprintln!("unavailable after {:?}: {error}", started.elapsed());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // And a limiter cannot be made against nothing.
    let port = server.port();
    let url = format!("redis://127.0.0.1:{port}/");
    let refused = RedisLimiter::connect(&url, "away", Quota::per_second(1).unwrap());
    let refused = tokio::time::timeout(Duration::from_secs(30), refused).await;
    assert!(matches!(
        refused.expect("answers"),
        Err(Error::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_redis_that_stops_answering_is_an_error_after_the_timeout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, _timer) = on_manual_timer(&server, "stalled", one_per_hundred_seconds()).await;
    let limiter = limiter.with_timeout(Duration::from_millis(200));
    limiter.acquire().await.unwrap();
    server.pause();
    let outcome = tokio::time::timeout(Duration::from_secs(30), limiter.acquire()).await;
    assert_timed_out(outcome.expect("answers instead of hanging"), "200ms");
    server.resume();
    // Back again: the same limiter works.
    eventually("Redis answers again", async || {
        limiter.try_acquire(0).await.is_ok()
    })
    .await;
    // Redis ran the given-up call once it woke (a reservation 100 s out); a background
    // task got the answer and cancels it.
    eventually("the slot comes back", async || {
        slot_came_back(&limiter).await
    })
    .await;
}

#[tokio::test]
async fn the_fallback_takes_over_while_redis_is_away() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let shared = Quota::per_second(100).unwrap();
    let timer = ManualTimer::new();
    let limiter = RedisLimiter::new(connect(&server).await, "fallback", shared, timer.clone())
        .unwrap()
        .with_timeout(Duration::from_millis(100))
        .with_fallback(Quota::per_second(1).unwrap());
    limiter.acquire().await.unwrap();
    server.kill();
    // Redis is gone: the local limiter (1 per second) answers instead.
    limiter.acquire().await.unwrap();
    match limiter.try_acquire(1).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert_eq!(at, 1_000_000_000),
        other => panic!("expected the local limiter's WouldWait, got {other:?}"),
    }
    timer.advance(Duration::from_secs(1));
    limiter.try_acquire(1).await.unwrap();
    // What has no local meaning still reports the outage.
    assert!(matches!(
        limiter.reserve(1).await,
        Err(Error::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_gate_caps_this_process_s_calls_in_flight() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::per_second(1000).unwrap().with_burst(10).unwrap();
    let (limiter, timer) = on_manual_timer(&server, "gate", quota).await;
    let gate = std::sync::Arc::new(RedisGate::new(limiter, 2).unwrap());
    let first = gate.acquire().await.unwrap();
    let second = gate.acquire().await.unwrap();
    assert_eq!(gate.available(), 0);

    // A third waits for a slot, not for the rate (the burst has cells to spare).
    let waiting = gate.clone();
    let third = tokio::spawn(async move { waiting.acquire().await.map(drop) });
    tokio::task::yield_now().await;
    assert!(!third.is_finished(), "passed a full gate");
    assert_eq!(timer.sleepers(), 0, "waits on the slot, holding no cell");
    drop(first);
    third.await.unwrap().unwrap();
    assert_eq!(
        gate.available(),
        1,
        "the third's permit was dropped; the second holds one"
    );
    drop(second);
    assert_eq!(gate.available(), 2);

    // An acquisition the rate refuses gives its slot back at once.
    match gate.acquire_n(11).await {
        Err(Error::Limit(LimitError::TooHeavy { cells: 11, max: 10 })) => {}
        other => panic!("expected TooHeavy, got {other:?}"),
    }
    assert_eq!(gate.available(), 2);
    assert!(matches!(
        RedisGate::new(on_manual_timer(&server, "gate", quota).await.0, 0),
        Err(Error::Limit(LimitError::ZeroConcurrency))
    ));
}

#[tokio::test]
async fn an_acquisition_dropped_while_its_request_is_in_flight_hands_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, _timer) = on_manual_timer(&server, "in-flight", one_per_hundred_seconds()).await;
    limiter.acquire().await.unwrap();
    server.pause();
    // The request goes out to a frozen server: no answer yet.
    let mut waiting = Box::pin(limiter.acquire());
    for _ in 0..10 {
        assert!(poll_once(&mut waiting).await.is_pending());
        tokio::task::yield_now().await;
    }
    drop(waiting);
    server.resume();
    // Redis now runs the dropped request (a reservation 100 s out); the background task
    // gets its answer and cancels it.
    eventually("the slot comes back", async || {
        slot_came_back(&limiter).await
    })
    .await;
}
