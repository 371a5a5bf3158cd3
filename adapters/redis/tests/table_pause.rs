//! The pause of a keyed limiter's whole table: one client's pause holds every key of the
//! limiter in every client, including waiters already asleep in another client and keys not
//! seen yet.
//!
//! As in `pause.rs`, each client has its own connection and its own `ManualTimer`, Redis's
//! clock is real, so the pauses are a minute long, far beyond what a run takes, and the tests
//! check order and instants: nothing handed out lies inside the pause, every key's waiters
//! move by the same amount, and what is admitted passes the conformance checker. Where a
//! background task or the network must finish, the test polls for the outcome with a bound
//! that only guards against a hang.

use std::sync::Arc;
use std::time::Duration;

use pacer_core::{Error as LimitError, ManualTimer};
use pacer_redis::redis::aio::ConnectionManager;
use pacer_redis::{Error, Quota, RedisKeyedLimiter};
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

/// A client of the keyed limit under `prefix`: its own connection and its own `ManualTimer`.
async fn client(
    server: &RedisServer,
    prefix: &str,
) -> (Arc<RedisKeyedLimiter<ManualTimer>>, ManualTimer) {
    let timer = ManualTimer::new();
    let limiter = RedisKeyedLimiter::new(
        connect(server).await,
        prefix,
        ten_per_second(),
        timer.clone(),
    )
    .unwrap();
    (Arc::new(limiter), timer)
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

fn would_wait_at(result: Result<(), Error>) -> u64 {
    match result {
        Err(Error::Limit(LimitError::WouldWait { at })) => at,
        other => panic!("expected WouldWait, got {other:?}"),
    }
}

#[tokio::test]
async fn a_table_pause_moves_every_key_of_every_client_and_nothing_passes_inside_it() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, a_timer) = client(&server, "api:").await;
    let (b, b_timer) = client(&server, "api:").await;
    let (elsewhere, _) = client(&server, "other:").await;

    // Client A holds four receipts on each of two keys, 100 ms apart, and two waiters asleep
    // behind them on each key.
    let keys = ["alice", "bob"];
    let mut receipts = Vec::new();
    for key in keys {
        for _ in 0..4 {
            receipts.push((key, a.reserve(key, 1).await.unwrap()));
        }
    }
    let mut waiters = Vec::new();
    for key in keys {
        for _ in 0..2 {
            let a = a.clone();
            waiters.push(tokio::spawn(async move { a.acquire(key).await }));
        }
    }
    eventually("the four waiters are asleep", async || {
        a_timer.sleepers() == 4
    })
    .await;
    // And client B a waiter of its own behind them on "bob".
    let b_waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.acquire("bob").await })
    };
    eventually("B's waiter is asleep", async || b_timer.sleepers() == 1).await;

    // Client B pauses the whole table for a minute, as on a 429 for the account.
    assert_eq!(b.paused_all_until().await.unwrap(), None);
    assert!(b.pause_all_for(MINUTE).await.unwrap());
    let end = b.paused_all_until().await.unwrap().expect("paused");
    assert_eq!(a.paused_all_until().await.unwrap(), Some(end), "A sees it");
    for key in ["alice", "bob", "never-seen"] {
        assert_eq!(
            a.paused_until(key).await.unwrap(),
            Some(end),
            "{key} is held by the table's pause"
        );
    }
    // Another limiter's keys, under another prefix, go on.
    elsewhere.try_acquire("alice", 1).await.unwrap();
    assert_eq!(elsewhere.paused_all_until().await.unwrap(), None);

    // Every receipt not yet passed, on every key, moved by one and the same amount, past the
    // pause's end, in order.
    let mut shift = None;
    let mut moved: Vec<(&str, u64)> = Vec::new();
    for (key, receipt) in &receipts {
        match a.pending(receipt).await.unwrap() {
            None => moved.push((key, receipt.at())), // passed before the pause
            Some(at) => {
                assert!(
                    at >= end,
                    "{key}: {at} lies inside the pause ending at {end}"
                );
                let by = at - receipt.at();
                assert_eq!(*shift.get_or_insert(by), by, "{key}: the same move for all");
                moved.push((key, at));
            }
        }
    }
    assert!(shift.is_some(), "the later receipts were still waiting");
    for key in keys {
        let instants: Vec<u64> = moved.iter().filter(|m| m.0 == key).map(|m| m.1).collect();
        assert!(
            instants.windows(2).all(|w| w[0] < w[1]),
            "{key}: order kept"
        );
    }

    // A's sleeping waiters, on both keys, wake at their old instants, ask Redis and sleep
    // again: none passes, each now waits for an instant a minute later.
    let old_wakes = a_timer.next_wake().unwrap();
    a_timer.advance(Duration::from_secs(2));
    eventually("the waiters re-armed for the moved instants", async || {
        a_timer.sleepers() == 4 && a_timer.next_wake().unwrap() > old_wakes + 50_000_000_000
    })
    .await;
    assert!(waiters.iter().all(|w| !w.is_finished()), "no waiter passed");
    // B's too, in the other client.
    let b_old_wake = b_timer.next_wake().unwrap();
    b_timer.advance(Duration::from_secs(2));
    eventually("B's waiter re-armed for its moved instant", async || {
        b_timer.sleepers() == 1 && b_timer.next_wake().unwrap() > b_old_wake + 50_000_000_000
    })
    .await;
    assert!(!b_waiter.is_finished(), "B's waiter did not pass");

    // Nothing goes inside the pause, on a busy key or on a key never seen before, from either
    // client; a bounded wait that cannot reach the end is refused at once.
    for (client, key) in [(&a, "alice"), (&b, "bob"), (&b, "never-seen")] {
        assert!(would_wait_at(client.try_acquire(key, 1).await) >= end);
        let bounded = client.acquire_within(key, 1, Duration::from_secs(1)).await;
        assert!(would_wait_at(bounded) >= end);
    }

    // A reservation made during the pause queues behind the moved ones; the newest is
    // cancelled exactly, an older one is not.
    let newest = b.reserve("alice", 1).await.unwrap();
    let last_alice = moved.iter().filter(|m| m.0 == "alice").map(|m| m.1).max();
    assert!(newest.at() > last_alice.unwrap());
    assert!(
        b.cancel(newest).await.unwrap(),
        "the newest gives its cell back"
    );
    let (_, older) = receipts.pop().unwrap();
    assert!(!a.cancel(older).await.unwrap(), "an older one does not");
    let fresh = b.reserve("never-seen", 1).await.unwrap();
    assert!(fresh.at() >= end && fresh.at() < end + 100_000_000);

    // A key's own pause that ends within the table's does nothing; the table's pauses combine
    // to the latest end; one in the past does nothing; an absurd one is refused.
    assert!(!b.pause_for("bob", Duration::from_secs(10)).await.unwrap());
    assert!(!b.pause_all_for(Duration::from_secs(10)).await.unwrap());
    assert!(!b.pause_all_until(end - 1).await.unwrap());
    assert!(!b.pause_all_until(1).await.unwrap());
    assert!(matches!(
        b.pause_all_for(Duration::from_secs(30 * 24 * 3600)).await,
        Err(Error::PauseTooLong)
    ));
    assert_eq!(b.paused_all_until().await.unwrap(), Some(end));

    // Redis's clock is real, so the waiters would pass a minute from now: the test ends them
    // (a cancel each) and checks that what each key handed out conforms.
    for waiter in waiters.iter().chain([&b_waiter]) {
        waiter.abort();
    }
    for key in keys {
        let later = b.reserve(key, 1).await.unwrap();
        assert!(later.at() >= end);
        let mut instants: Vec<u64> = moved.iter().filter(|m| m.0 == key).map(|m| m.1).collect();
        instants.push(later.at());
        assert_conforms(&instants, ten_per_second());
    }
}

#[tokio::test]
async fn a_bounded_wait_that_a_table_pause_pushes_past_its_bound_fails_and_gives_its_slot_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, a_timer) = client(&server, "bounded:").await;
    let (b, _b_timer) = client(&server, "bounded:").await;
    a.acquire("k").await.unwrap(); // the burst: the next cell waits 100 ms
    let waiter = {
        let a = a.clone();
        tokio::spawn(async move { a.acquire_within("k", 1, Duration::from_secs(1)).await })
    };
    eventually("the waiter is asleep", async || a_timer.sleepers() == 1).await;
    assert!(b.pause_all_for(MINUTE).await.unwrap());
    let end = b.paused_all_until().await.unwrap().unwrap();
    a_timer.advance(Duration::from_secs(1));
    assert!(would_wait_at(waiter.await.unwrap()) >= end);
    // Its cell came back: the next reservation takes the very instant it was moved to.
    let next = b.reserve("k", 1).await.unwrap();
    let after = b.reserve("k", 1).await.unwrap();
    assert!(next.at() >= end && next.at() < end + 100_000_000);
    assert_conforms(&[next.at(), after.at()], ten_per_second());
}

#[tokio::test]
async fn a_key_keeps_its_moved_instants_when_the_table_s_entry_is_lost() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, _timer) = client(&server, "lost:").await;
    a.try_acquire("k", 1).await.unwrap();
    assert!(a.pause_all_for(MINUTE).await.unwrap());
    let end = a.paused_all_until().await.unwrap().unwrap();
    let receipt = a.reserve("k", 1).await.unwrap();
    assert!(receipt.at() >= end);

    // The entry goes (deleted here; an eviction or a failover to a replica that lacked it
    // would do the same): the key still holds its reservations where the pause moved them,
    // and refuses what it refused. A receipt handed out before keeps the instant it was
    // given (its waiter sleeps until then): never earlier.
    let table = a.table_pause_key().unwrap().to_string();
    let mut conn = connect(&server).await;
    let deleted: i64 = redis::cmd("DEL")
        .arg(&table)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(a.paused_all_until().await.unwrap(), None);
    if let Some(at) = a.pending(&receipt).await.unwrap() {
        assert!(at >= receipt.at());
    }
    assert!(would_wait_at(a.try_acquire("k", 1).await) > receipt.at());
    let next = a.reserve("k", 1).await.unwrap();
    assert_conforms(&[receipt.at(), next.at()], ten_per_second());
    // A key never paused starts fresh.
    a.try_acquire("new", 1).await.unwrap();
}

#[tokio::test]
async fn a_table_pause_entry_is_refused_where_a_limit_is_expected_and_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, _timer) = client(&server, "mixed:").await;
    let table = a.table_pause_key().unwrap().to_string();
    assert_eq!(table, "pacer-table-pause:mixed:");
    // Something else under the entry's name: every call on the table refuses it.
    let mut conn = connect(&server).await;
    let () = redis::cmd("SET")
        .arg(&table)
        .arg("not a pause")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        a.try_acquire("k", 1).await,
        Err(Error::Unexpected(_))
    ));
    assert!(matches!(
        a.pause_all_for(MINUTE).await,
        Err(Error::Unexpected(_))
    ));
}
