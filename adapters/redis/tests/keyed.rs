//! `RedisKeyedLimiter` end to end, against a private `redis-server` and its real clock.
//!
//! Sleeps go through a `ManualTimer`, so no test waits on the wall clock for a rate. Where a
//! test must let a background task, the network or Redis's own expiry finish, it polls for
//! the outcome with a bound, and the bound only guards against a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pacer_core::{Error as LimitError, ManualTimer};
use pacer_redis::{Error, Quota, RedisKeyedLimiter};
use pacer_tests::{RedisServer, assert_conforms, poll_once};

mod common;
use common::{assert_timed_out, one_per_hundred_seconds};

/// A keyed limiter under `prefix` on its own connection, sleeping on a new `ManualTimer`
/// (returned too).
async fn on_manual_timer(
    server: &RedisServer,
    prefix: &str,
    quota: Quota,
) -> (RedisKeyedLimiter<ManualTimer>, ManualTimer) {
    let timer = ManualTimer::new();
    let limiter =
        RedisKeyedLimiter::connect_with_timer(&server.url(), prefix, quota, timer.clone())
            .await
            .unwrap();
    (limiter, timer)
}

/// [`common::eventually`] on tokio.
async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    common::eventually(what, tokio::time::sleep, done).await;
}

/// `PTTL` of `key` on `server`, in milliseconds (-2 if there is no such key).
fn pttl(server: &RedisServer, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query(&mut server.connection())
        .unwrap()
}

/// After one cell at once and one more reserved 100 s out, a newcomer on `key` waits about
/// 200 s; with that reservation cancelled, about 100 s.
async fn slot_came_back(limiter: &RedisKeyedLimiter<ManualTimer>, key: &str) -> bool {
    limiter.delay(key, 1).await.unwrap() <= Duration::from_secs(110)
}

#[tokio::test]
async fn keys_are_independent_and_a_look_records_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::new(1, Duration::from_secs(100))
        .unwrap()
        .with_burst(2)
        .unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "user:", quota).await;
    limiter.acquire_n("alice", 2).await.unwrap();
    let alice = limiter.snapshot("alice").await.unwrap();
    assert_eq!(alice.remaining, 0);
    match limiter.try_acquire("alice", 1).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert_eq!(at, alice.earliest),
        other => panic!("expected WouldWait, got {other:?}"),
    }
    // Bob's limit is his own: a full burst, whatever Alice took.
    assert_eq!(limiter.snapshot("bob").await.unwrap().remaining, 2);
    limiter.try_acquire("bob", 1).await.unwrap();
    limiter.acquire("bob").await.unwrap();
    assert_eq!(limiter.snapshot("bob").await.unwrap().remaining, 0);
    // The same refusals as one limiter's, per key.
    match limiter.acquire_n("carol", 3).await {
        Err(Error::Limit(LimitError::TooHeavy { cells: 3, max: 2 })) => {}
        other => panic!("expected TooHeavy, got {other:?}"),
    }
    // A key only looked at has no entry in Redis; one used has one, under the prefix.
    assert_eq!(limiter.delay("dave", 2).await.unwrap(), Duration::ZERO);
    assert_eq!(limiter.snapshot("dave").await.unwrap().remaining, 2);
    assert_eq!(pttl(&server, "user:dave"), -2, "a look made an entry");
    assert_eq!(limiter.redis_key("alice"), "user:alice");
    assert!(pttl(&server, "user:alice") > 0);
    // Another prefix is another set of limits.
    let (other, _timer) = on_manual_timer(&server, "tenant:", quota).await;
    assert_eq!(other.snapshot("alice").await.unwrap().remaining, 2);
}

#[tokio::test]
async fn a_key_s_entry_expires_one_second_after_the_key_is_idle() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::new(1, Duration::from_secs(100))
        .unwrap()
        .with_burst(3)
        .unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "ttl:", quota).await;
    // Each cell taken leaves 100 s more until the whole burst is free again, and the entry
    // lives 1 s beyond that, by the server's clock.
    for cells in 1..=3u32 {
        limiter
            .try_acquire(&format!("k{cells}"), cells)
            .await
            .unwrap();
        let ttl = pttl(&server, &format!("ttl:k{cells}"));
        let idle_in = i64::from(cells) * 100_000;
        assert!(
            (idle_in..=idle_in + 1_000).contains(&ttl),
            "{cells} cells: expires in {ttl} ms"
        );
    }
    // Idle at once (nothing taken): the entry lives 2 s, the least it is given.
    limiter.try_acquire("k0", 0).await.unwrap();
    assert!((1..=2_000).contains(&pttl(&server, "ttl:k0")));
}

#[tokio::test]
async fn clients_on_separate_connections_keep_every_key_s_limit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = Quota::per_second(1000).unwrap().with_burst(5).unwrap();
    let keys = ["a", "b", "c"];
    let mut tasks = Vec::new();
    for client in 0..4 {
        let (limiter, _timer) = on_manual_timer(&server, "shared:", quota).await;
        tasks.push(tokio::spawn(async move {
            let mut cells: Vec<(&str, u64)> = Vec::new();
            for k in 0..90u32 {
                let key = keys[(k as usize + client) % keys.len()];
                let weight = 1 + (k / 3) % 3;
                let reservation = limiter.reserve(key, weight).await.unwrap();
                cells.extend(std::iter::repeat_n(
                    (key, reservation.at()),
                    weight as usize,
                ));
            }
            cells
        }));
    }
    let mut cells = Vec::new();
    for task in tasks {
        cells.extend(task.await.unwrap());
    }
    for key in keys {
        let mine: Vec<u64> = cells.iter().filter(|c| c.0 == key).map(|c| c.1).collect();
        assert_eq!(mine.len(), 4 * 60, "key {key}"); // 30 of each weight per client
        assert_conforms(&mine, quota);
        // 240 cells at 1,000/s with a burst of 5 span at least 235 ms of the server's clock.
        let span = mine.iter().max().unwrap() - mine.iter().min().unwrap();
        assert!(span >= 235_000_000, "key {key}: span {span} ns");
    }
}

#[tokio::test]
async fn dropping_a_sleeping_acquisition_hands_the_slot_back_to_its_key() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, timer) = on_manual_timer(&server, "drop:", one_per_hundred_seconds()).await;
    let limiter = Arc::new(limiter);
    limiter.acquire("k").await.unwrap();
    let waiting = limiter.clone();
    let waiter = tokio::spawn(async move { waiting.acquire("k").await });
    eventually("the acquisition sleeps", async || timer.sleepers() == 1).await;
    // Another key's reservations since do not stop the cancel: they are another limit.
    let other = limiter.reserve("other", 1).await.unwrap();
    assert!(limiter.delay("k", 1).await.unwrap() > Duration::from_secs(150));
    waiter.abort();
    eventually("the slot comes back", async || {
        slot_came_back(&limiter, "k").await
    })
    .await;
    assert_eq!(timer.sleepers(), 0);
    // And a cancel goes to the key its reservation was made on.
    let newest = limiter.reserve("other", 1).await.unwrap();
    assert!(limiter.cancel(newest).await.unwrap());
    assert!(!limiter.cancel(other).await.unwrap(), "due already");
}

#[tokio::test]
async fn an_acquisition_dropped_while_its_request_is_in_flight_hands_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, _timer) = on_manual_timer(&server, "in-flight:", one_per_hundred_seconds()).await;
    limiter.acquire("k").await.unwrap();
    server.pause();
    let mut waiting = Box::pin(limiter.acquire("k"));
    for _ in 0..10 {
        assert!(poll_once(&mut waiting).await.is_pending());
        tokio::task::yield_now().await;
    }
    drop(waiting);
    server.resume();
    // Redis now runs the dropped request (a reservation of "k" 100 s out); the background
    // task gets its answer and cancels it.
    eventually("the slot comes back", async || {
        slot_came_back(&limiter, "k").await
    })
    .await;
}

#[tokio::test]
async fn a_redis_that_stops_answering_is_an_error_after_the_timeout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (limiter, _timer) = on_manual_timer(&server, "stalled:", one_per_hundred_seconds()).await;
    let limiter = limiter.with_timeout(Duration::from_millis(200));
    limiter.acquire("k").await.unwrap();
    server.pause();
    let outcome = tokio::time::timeout(Duration::from_secs(30), limiter.acquire("k")).await;
    assert_timed_out(outcome.expect("answers instead of hanging"), "200ms");
    server.resume();
    // Redis ran the given-up call once it woke; a background task cancels it.
    eventually("the slot comes back", async || {
        slot_came_back(&limiter, "k").await
    })
    .await;
}

#[tokio::test]
async fn a_redis_that_goes_away_is_an_error_and_not_a_hang() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let limiter =
        RedisKeyedLimiter::connect(&server.url(), "away:", Quota::per_second(100).unwrap())
            .await
            .unwrap();
    limiter.acquire("k").await.unwrap();
    server.kill();
    let started = Instant::now();
    for outcome in [
        tokio::time::timeout(Duration::from_secs(30), limiter.acquire("k")).await,
        tokio::time::timeout(Duration::from_secs(30), limiter.try_acquire("new", 1)).await,
    ] {
        match outcome.expect("answers instead of hanging") {
            Err(error @ Error::Unavailable(_)) => {
                eprintln!("unavailable after {:?}: {error}", started.elapsed());
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn ten_thousand_keys_leave_nothing_behind_once_idle() {
    // Redis's own expiry removes the entries: its clock cannot be moved, so this waits for
    // it (about 1 s after the keys are idle, bounded at 10 s). `hz 100` runs the server's
    // active expiry ten times as often as by default, so that it finishes soon after.
    let Some(server) = RedisServer::start_with(&["--hz", "100"]) else {
        return;
    };
    // One cell per key at 1,000 per second: each key is idle 1 ms after its cell.
    let quota = Quota::per_second(1000).unwrap();
    let (limiter, _timer) = on_manual_timer(&server, "many:", quota).await;
    let before = server.used_memory();
    let keys = 10_000;
    let limiter = Arc::new(limiter);
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                for k in (task..keys).step_by(8) {
                    limiter.try_acquire(&format!("user-{k}"), 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let peak = server.used_memory();
    // Every entry's time to live is the 1 ms until its key is idle plus the 1 s after, raised
    // to the 2 s an entry is given at least (or it has expired already, on a slow run: PTTL
    // reads 0 in the last millisecond, -2 after).
    for k in (0..keys).step_by(97) {
        let ttl = pttl(&server, &format!("many:user-{k}"));
        assert!(
            ttl == -2 || (0..=2_000).contains(&ttl),
            "user-{k} expires in {ttl} ms"
        );
    }
    let start = Instant::now();
    while server.keys() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} keys still there after 10 s",
            server.keys()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Each key had its entry, and Redis expired every one.
    let expired: u64 = server.info("expired_keys").unwrap().parse().unwrap();
    assert_eq!(expired, keys as u64);
    // The memory comes back once the server has shrunk its tables. Redis keeps about
    // 150 KiB of its own after a first wave of expiries, whatever their number (measured
    // with plain HSET and PEXPIRE, no pacer), and this client's connection and script add
    // about 35 KiB; at their peak the keys took 1 to 2 MB more.
    let bound = before + 512 * 1024;
    let start = Instant::now();
    let mut after = server.used_memory();
    while after > bound && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        after = server.used_memory();
    }
    eprintln!("used_memory: {before} B before, {peak} B with {keys} keys, {after} B after");
    assert!(
        after <= bound,
        "used_memory {after} B after, {before} B before"
    );
}

#[tokio::test]
async fn a_local_keyed_fallback_takes_over_while_redis_is_away() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let conn = pacer_redis::Connection::connect(&server.url())
        .await
        .unwrap();
    let timer = ManualTimer::new();
    let shared = Quota::per_second(100).unwrap();
    let limiter = RedisKeyedLimiter::new(conn, "fallback:", shared, timer.clone())
        .unwrap()
        .with_timeout(Duration::from_millis(100))
        .with_fallback(Quota::per_second(1).unwrap(), 2)
        .unwrap();
    limiter.acquire("alice").await.unwrap();
    server.kill();
    // Redis is gone: each key's local limit (1 per second) answers instead.
    limiter.acquire("alice").await.unwrap();
    limiter.try_acquire("bob", 1).await.unwrap();
    match limiter.try_acquire("alice", 1).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert_eq!(at, 1_000_000_000),
        other => panic!("expected the local limit's WouldWait, got {other:?}"),
    }
    // The local table is bounded: a third busy key finds it full.
    assert!(matches!(
        limiter.try_acquire("carol", 1).await,
        Err(Error::Limit(LimitError::TableFull { .. }))
    ));
    timer.advance(Duration::from_secs(1));
    limiter.try_acquire("alice", 1).await.unwrap();
    // What has no local meaning still reports the outage.
    assert!(matches!(
        limiter.reserve("alice", 1).await,
        Err(Error::Unavailable(_))
    ));
    // A local table of no keys is refused when the limiter is made.
    let Some(other) = RedisServer::start() else {
        return;
    };
    let conn = pacer_redis::Connection::connect(&other.url())
        .await
        .unwrap();
    assert!(matches!(
        RedisKeyedLimiter::new(conn, "zero:", shared, timer.clone())
            .unwrap()
            .with_fallback(shared, 0),
        Err(Error::Limit(LimitError::ZeroCapacity))
    ));
}
