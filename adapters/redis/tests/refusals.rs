//! Refusals answered without a round trip: a flood of refused calls on a few keys reaches
//! Redis once per key, and each local answer is the one Redis gave.
//!
//! The limiters sleep on a `ManualTimer` that the test never moves, so the local reading of
//! the server's clock stands still and a remembered refusal stays in force for the whole test;
//! Redis's real clock only moves the instants a little later, which the test allows for.

use std::time::Duration;

use pacer_core::{Error as LimitError, ManualTimer};
use pacer_redis::{Error, Quota, RedisKeyedLimiter, RedisLimiter};
use pacer_tests::RedisServer;

/// One cell per 100 s: after its cell a key refuses for the whole test.
fn one_per_hundred_seconds() -> Quota {
    Quota::new(1, Duration::from_secs(100)).unwrap()
}

/// `EVALSHA` calls the server has run since the last `CONFIG RESETSTAT`.
fn script_calls(server: &RedisServer) -> u64 {
    let mut conn = server.connection();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

fn reset_stats(server: &RedisServer) {
    let mut conn = server.connection();
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut conn)
        .unwrap();
}

fn refused_at<T: std::fmt::Debug>(outcome: Result<T, Error>) -> u64 {
    match outcome {
        Err(Error::Limit(LimitError::WouldWait { at })) => at,
        other => panic!("expected WouldWait, got {other:?}"),
    }
}

#[tokio::test]
async fn a_flood_of_refusals_reaches_redis_once_per_key() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = one_per_hundred_seconds();
    let limiter =
        RedisKeyedLimiter::connect_with_timer(&server.url(), "flood:", quota, ManualTimer::new())
            .await
            .unwrap();
    let keys: Vec<String> = (0..10).map(|k| format!("k{k}")).collect();
    for key in &keys {
        limiter.try_acquire(key, 1).await.unwrap();
    }
    reset_stats(&server);
    let mut first = std::collections::HashMap::new();
    for round in 0..100 {
        for key in &keys {
            let at = refused_at(limiter.try_acquire(key, 1).await);
            let first = *first.entry(key.clone()).or_insert(at);
            assert_eq!(at, first, "round {round}: the local answer is Redis's");
            let bounded = limiter
                .acquire_within(key, 1, Duration::from_secs(10))
                .await;
            assert_eq!(refused_at(bounded), first);
        }
    }
    assert_eq!(
        script_calls(&server),
        10,
        "one call per key, 2,000 refusals"
    );
    // A reservation always asks Redis, which grants it behind the refused instant.
    let receipt = limiter
        .reserve_within(&keys[0], 1, Duration::from_secs(1_000))
        .await
        .unwrap();
    assert!(receipt.at() >= first[&keys[0]]);
    assert_eq!(script_calls(&server), 11);

    // Without the cache every refusal is a round trip.
    let uncached =
        RedisKeyedLimiter::connect_with_timer(&server.url(), "flood:", quota, ManualTimer::new())
            .await
            .unwrap()
            .with_refusal_cache(0);
    reset_stats(&server);
    for key in &keys {
        refused_at(uncached.try_acquire(key, 1).await);
        refused_at(uncached.try_acquire(key, 1).await);
    }
    assert_eq!(script_calls(&server), 20);
}

#[tokio::test]
async fn an_unkeyed_limiter_answers_its_own_refusals() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let quota = one_per_hundred_seconds();
    let limiter =
        RedisLimiter::connect_with_timer(&server.url(), "single", quota, ManualTimer::new())
            .await
            .unwrap();
    limiter.try_acquire(1).await.unwrap();
    reset_stats(&server);
    let at = refused_at(limiter.try_acquire(1).await);
    for _ in 0..1_000 {
        assert_eq!(refused_at(limiter.try_acquire(1).await), at);
    }
    assert_eq!(script_calls(&server), 1);
    let plain = limiter.without_refusal_cache();
    refused_at(plain.try_acquire(1).await);
    assert_eq!(script_calls(&server), 2);
}
