//! Pauses shared through Redis: one client's pause holds every client of the limit, including
//! waiters already asleep in another client.
//!
//! Each client has its own connection and its own `ManualTimer`, so no test waits on the wall
//! clock for a rate. Redis's clock is real, so the pauses are a minute long, far beyond what
//! a run takes, and the tests check order: every instant handed out after the pause lies
//! outside it, waiters keep their order and spacing, and everything admitted passes the
//! conformance checker together. Where a background task or the network must finish, the
//! test polls for the outcome with a bound that only guards against a hang.

use std::time::Duration;

use pacer_core::{Error as LimitError, ManualTimer};
use pacer_redis::redis::aio::ConnectionManager;
use pacer_redis::{Error, Quota, RedisKeyedLimiter, RedisLimiter};
use pacer_tests::{RedisServer, assert_conforms};

const MINUTE: Duration = Duration::from_secs(60);

/// Ten per second, burst 1: waiters 100 ms apart.
fn ten_per_second() -> Quota {
    Quota::per_second(10).unwrap()
}

async fn connect(server: &RedisServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

/// A client of `key`: its own connection and its own `ManualTimer`.
async fn client(server: &RedisServer, key: &str) -> (RedisLimiter<ManualTimer>, ManualTimer) {
    let timer = ManualTimer::new();
    let limiter =
        RedisLimiter::new(connect(server).await, key, ten_per_second(), timer.clone()).unwrap();
    (limiter, timer)
}

/// Waits until `done` holds, looking every millisecond; fails after 10 s, a bound that only
/// guards against a hang.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: still not so after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_pause_moves_every_waiter_of_every_client_and_nothing_passes_inside_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, a_timer) = client(&server, "shared").await;
    let (b, _b_timer) = client(&server, "shared").await;
    let a = std::sync::Arc::new(a);

    // Client A holds five receipts, 100 ms apart, and three waiters asleep behind them.
    let mut receipts = Vec::new();
    for _ in 0..5 {
        receipts.push(a.reserve(1).await.unwrap());
    }
    let mut waiters = Vec::new();
    for _ in 0..3 {
        let a = a.clone();
        waiters.push(tokio::spawn(async move { a.acquire().await }));
    }
    eventually("the three waiters are asleep", async || {
        a_timer.sleepers() == 3
    })
    .await;

    // Client B pauses the limit for a minute, as on a 429.
    assert!(b.pause_for(MINUTE).await.unwrap());
    let end = b.paused_until().await.unwrap().expect("paused");
    assert_eq!(
        a.paused_until().await.unwrap(),
        Some(end),
        "A sees B's pause"
    );

    // Every receipt not yet passed moved by the same amount, past the pause's end, in order.
    let mut moved = Vec::new();
    let mut shift = None;
    for receipt in &receipts {
        match a.pending(receipt).await.unwrap() {
            None => moved.push(receipt.at()), // passed before the pause
            Some(at) => {
                assert!(at >= end, "{at} lies inside the pause ending at {end}");
                let by = at - receipt.at();
                assert_eq!(*shift.get_or_insert(by), by, "spacing kept");
                moved.push(at);
            }
        }
    }
    assert!(shift.is_some(), "the later receipts were still waiting");
    assert!(moved.windows(2).all(|w| w[0] < w[1]), "order kept");

    // A's sleeping waiters wake at their old instants, ask Redis, and sleep again: none
    // passes, each now waits for a moved instant a minute later.
    let old_wakes = a_timer.next_wake().unwrap();
    a_timer.advance(Duration::from_secs(2));
    eventually("the waiters re-armed for the moved instants", async || {
        a_timer.sleepers() == 3 && a_timer.next_wake().unwrap() > old_wakes + 50_000_000_000
    })
    .await;
    assert!(waiters.iter().all(|w| !w.is_finished()), "no waiter passed");

    // A reservation made during the pause queues behind the moved ones.
    let newest = b.reserve(1).await.unwrap();
    assert!(newest.at() >= end);
    // The newest reservation is cancelled exactly at its moved instant; an older one is not.
    assert!(
        b.cancel(newest).await.unwrap(),
        "the newest gives its cell back"
    );
    let older = receipts.pop().unwrap();
    assert!(!a.cancel(older).await.unwrap(), "an older one does not");

    // Pauses combine to the latest end; one in the past does nothing; an absurd one is refused.
    assert!(!b.pause_for(Duration::from_secs(10)).await.unwrap());
    assert!(!b.pause_until(end - 1).await.unwrap());
    assert!(!b.pause_until(1).await.unwrap());
    assert!(matches!(
        b.pause_for(Duration::from_secs(30 * 24 * 3600)).await,
        Err(Error::PauseTooLong)
    ));
    assert_eq!(b.paused_until().await.unwrap(), Some(end));

    // Redis's clock is real, so the waiters would pass a minute from now: the test ends
    // them (a cancel each) and checks that everything handed out conforms.
    for waiter in &waiters {
        waiter.abort();
    }
    let later = b.reserve(1).await.unwrap();
    assert!(later.at() >= end);
    moved.push(later.at());
    assert_conforms(&moved, ten_per_second());
}

#[tokio::test]
async fn a_bounded_wait_that_a_pause_pushes_past_its_bound_fails_and_gives_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, a_timer) = client(&server, "bounded").await;
    let (b, _b_timer) = client(&server, "bounded").await;
    let a = std::sync::Arc::new(a);
    a.acquire().await.unwrap(); // the burst: the next cell waits 100 ms
    let waiter = {
        let a = a.clone();
        tokio::spawn(async move { a.acquire_within(1, Duration::from_secs(1)).await })
    };
    eventually("the waiter is asleep", async || a_timer.sleepers() == 1).await;
    assert!(b.pause_for(MINUTE).await.unwrap());
    let end = b.paused_until().await.unwrap().unwrap();
    a_timer.advance(Duration::from_secs(1));
    match waiter.await.unwrap() {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert!(at >= end),
        other => panic!("expected WouldWait past the pause, got {other:?}"),
    }
    // Its cell came back: the next reservation takes the very instant it was moved to.
    let next = b.reserve(1).await.unwrap();
    let snapshot_after = b.reserve(1).await.unwrap();
    assert!(next.at() >= end && next.at() < end + 100_000_000);
    assert_conforms(&[next.at(), snapshot_after.at()], ten_per_second());
}

#[tokio::test]
async fn a_key_s_pause_holds_that_key_only() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let timer = ManualTimer::new();
    let conn = connect(&server).await;
    let one =
        RedisKeyedLimiter::new(conn.clone(), "api:", ten_per_second(), timer.clone()).unwrap();
    let other =
        RedisKeyedLimiter::new(connect(&server).await, "api:", ten_per_second(), timer).unwrap();
    assert!(other.pause_for("paused", MINUTE).await.unwrap());
    let end = one.paused_until("paused").await.unwrap().unwrap();
    assert_eq!(one.paused_until("free").await.unwrap(), None);
    one.try_acquire("free", 1).await.unwrap();
    match one.try_acquire("paused", 1).await {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert!(at >= end),
        other => panic!("expected WouldWait, got {other:?}"),
    }
    match one
        .acquire_within("paused", 1, Duration::from_secs(1))
        .await
    {
        Err(Error::Limit(LimitError::WouldWait { at })) => assert!(at >= end),
        other => panic!("expected WouldWait, got {other:?}"),
    }
    // A reservation on the paused key queues at the pause's end.
    let receipt = one.reserve("paused", 1).await.unwrap();
    assert!(receipt.at() >= end);
    assert_eq!(one.pending(&receipt).await.unwrap(), Some(receipt.at()));
    assert!(matches!(
        one.pause_for("paused", Duration::from_secs(30 * 24 * 3600))
            .await,
        Err(Error::PauseTooLong)
    ));
}

#[tokio::test]
async fn a_snapshot_during_a_pause_shows_nothing_left_until_its_end() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let burst = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let conn = connect(&server).await;
    let limiter = RedisLimiter::new(conn.clone(), "snap", burst, ManualTimer::new()).unwrap();
    let keyed = RedisKeyedLimiter::new(conn, "snaps:", burst, ManualTimer::new()).unwrap();
    assert_eq!(
        limiter.snapshot().await.unwrap().remaining,
        5,
        "idle: the whole burst"
    );
    assert_eq!(keyed.snapshot("k").await.unwrap().remaining, 5);

    assert!(limiter.pause_for(MINUTE).await.unwrap());
    assert!(keyed.pause_for("k", MINUTE).await.unwrap());
    let end = limiter.paused_until().await.unwrap().unwrap();
    let snapshot = limiter.snapshot().await.unwrap();
    assert_eq!(snapshot.remaining, 0, "nothing goes during the pause");
    assert!(snapshot.earliest >= end, "{snapshot:?}, pause until {end}");
    let end = keyed.paused_until("k").await.unwrap().unwrap();
    let snapshot = keyed.snapshot("k").await.unwrap();
    assert_eq!(snapshot.remaining, 0);
    assert!(snapshot.earliest >= end, "{snapshot:?}, pause until {end}");
    assert_eq!(
        keyed.snapshot("other").await.unwrap().remaining,
        5,
        "another key goes on"
    );
}
