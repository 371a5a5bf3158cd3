//! Limits kept in Redis, over real TCP, with a private redis-server: two servers share one
//! limit; a limit in this process and one in Redis decide together; and each answer to a
//! Redis that goes away (fail closed, fail open, a local fallback).

mod common;

use common::{Recorder, client, get_with, serve};
use http::{HeaderName, StatusCode};
use pacer_core::{ManualTimer, Quota};
use pacer_tests::RedisServer;
use pacer_tower::server::{
    ConfigError, Global, HeaderKey, Limit, Mode, Outcome, RateLimitLayer, WhenUnavailable,
};

fn api_key() -> HeaderKey {
    HeaderKey::new(HeaderName::from_static("x-api-key"))
}

async fn redis_limit(server: &RedisServer, prefix: &str, when: WhenUnavailable) -> Limit {
    // Two requests per minute per key: the third within the minute is refused.
    let quota = Quota::per_minute(2).unwrap().with_burst(2).unwrap();
    let limiter = pacer_redis::RedisKeyedLimiter::connect(&server.url(), prefix, quota)
        .await
        .expect("Redis answers");
    Limit::redis("shared", api_key(), limiter, when).unwrap()
}

#[tokio::test]
async fn two_servers_share_one_limit() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut addresses = Vec::new();
    for _ in 0..2 {
        let limit = redis_limit(&redis, "rl:shared:", WhenUnavailable::Refuse).await;
        let layer = RateLimitLayer::builder(ManualTimer::new())
            .limit(limit)
            .build()
            .unwrap();
        addresses.push(serve(layer).await);
    }
    let http = client(None);
    let key = [("x-api-key", "alice")];
    let first = get_with(&http, addresses[0], "/", &key).await;
    let second = get_with(&http, addresses[1], "/", &key).await;
    let third = get_with(&http, addresses[0], "/", &key).await;
    let fourth = get_with(&http, addresses[1], "/", &key).await;
    assert_eq!(
        [first.status, second.status, third.status, fourth.status],
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // The next cell is about 30 s away by Redis's clock.
    let retry: u64 = third.header("retry-after").unwrap().parse().unwrap();
    assert!((29..=31).contains(&retry), "{retry}");
    let bob = get_with(&http, addresses[1], "/", &[("x-api-key", "bob")]).await;
    assert_eq!(bob.status, StatusCode::OK);
}

#[tokio::test]
async fn a_local_refusal_never_reaches_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // A global limit of one request per minute in this process, and the Redis limit.
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(Limit::new("global", Global, Quota::per_minute(1).unwrap(), 1).unwrap())
        .limit(redis_limit(&redis, "rl:local-first:", WhenUnavailable::Refuse).await)
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    let key = [("x-api-key", "carol")];
    assert_eq!(
        get_with(&http, address, "/", &key).await.status,
        StatusCode::OK
    );
    for _ in 0..3 {
        let answer = get_with(&http, address, "/", &key).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.header("ratelimit"), Some("\"global\";r=0;t=60"));
    }
    // Redis was asked once: carol has one of her two cells left there.
    let quota = Quota::per_minute(2).unwrap().with_burst(2).unwrap();
    let limiter = pacer_redis::RedisKeyedLimiter::connect(&redis.url(), "rl:local-first:", quota)
        .await
        .unwrap();
    assert_eq!(limiter.snapshot("carol").await.unwrap().remaining, 1);
}

#[tokio::test]
async fn when_redis_goes_away_each_limit_answers_as_chosen() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let recorder = Recorder::default();
    let mut addresses = Vec::new();
    for (prefix, when) in [
        ("rl:closed:", WhenUnavailable::Refuse),
        ("rl:open:", WhenUnavailable::Admit),
        ("rl:local:", WhenUnavailable::Local { capacity: 100 }),
    ] {
        let layer = RateLimitLayer::builder(ManualTimer::new())
            .limit(redis_limit(&redis, prefix, when).await)
            .observer(recorder.clone())
            .build()
            .unwrap();
        addresses.push(serve(layer).await);
    }
    redis.kill();
    let http = client(None);
    let key = [("x-api-key", "dave")];
    let mut statuses = Vec::new();
    for address in &addresses {
        let mut these = Vec::new();
        for _ in 0..3 {
            these.push(get_with(&http, *address, "/", &key).await.status);
        }
        statuses.push(these);
    }
    let (ok, many, unavailable) = (
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::SERVICE_UNAVAILABLE,
    );
    assert_eq!(statuses[0], [unavailable; 3], "fail closed");
    assert_eq!(statuses[1], [ok; 3], "fail open");
    assert_eq!(
        statuses[2],
        [ok, ok, many],
        "the local fallback, at the Redis limit's quota"
    );
    assert_eq!(recorder.count(Outcome::Unavailable), 3 + 3 + 2);
}

#[tokio::test]
async fn queue_mode_and_quota_changes_are_refused_for_redis_limits() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let queued = RateLimitLayer::builder(ManualTimer::new())
        .limit(redis_limit(&redis, "rl:queue:", WhenUnavailable::Refuse).await)
        .mode(Mode::Queue(std::time::Duration::from_secs(1)))
        .build();
    assert!(matches!(queued, Err(ConfigError::Unsupported(_))));
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(redis_limit(&redis, "rl:fixed:", WhenUnavailable::Refuse).await)
        .build()
        .unwrap();
    assert!(matches!(
        layer.set_quota("shared", "default", Quota::per_second(1).unwrap()),
        Err(ConfigError::Fixed(_))
    ));
}
