//! `pacer_tokio::KeyedLimiter` under tokio's paused time: every key keeps its own schedule
//! (FIFO, never early, at most two polls per acquisition), a dropped waiter cancels its own
//! key's reservation, and a new key with no room is refused with the instant a slot frees.

use std::sync::Arc;
use std::time::Duration;

use pacer_tests::{assert_conforms, count_polls};
use pacer_tokio::traits::Clock;
use pacer_tokio::{Error, KeyedLimiter, Pausable, Quota, ShardedKeyedGcra, WhenFull};

const MS: u64 = 1_000_000;

/// Spawns one waiter of `key` that records the clock when it finishes and its poll count.
fn waiter(
    limiter: &Arc<KeyedLimiter<String>>,
    key: &'static str,
) -> tokio::task::JoinHandle<(u64, Result<(), Error>, usize)> {
    let limiter = limiter.clone();
    tokio::spawn(async move {
        let (result, polls) = count_polls(limiter.acquire(key)).await;
        (limiter.timer().now(), result, polls)
    })
}

#[tokio::test(start_paused = true)]
async fn keys_keep_their_own_fifo_schedules() {
    let quota = Quota::per_second(100).unwrap(); // 10 ms apart, per key
    let limiter = Arc::new(KeyedLimiter::<String>::new(quota, 1_000).unwrap());
    let keys = ["alpha", "beta", "gamma"];
    let mut handles = Vec::new();
    for round in 0..20 {
        for key in keys {
            handles.push((round, key, waiter(&limiter, key)));
            tokio::task::yield_now().await; // each reserves before the next is spawned
        }
    }
    let mut by_key = std::collections::BTreeMap::<&str, Vec<u64>>::new();
    for (round, key, handle) in handles {
        let (now, result, polls) = handle.await.unwrap();
        assert_eq!(result, Ok(()));
        assert!(polls <= 2, "{key} round {round}: {polls} polls");
        // Paused time: each waiter finishes on its key's slot, round · 10 ms, never before.
        assert_eq!(now, round * 10 * MS, "{key} round {round}");
        by_key.entry(key).or_default().push(now);
    }
    for (key, completed) in by_key {
        assert_eq!(completed.len(), 20, "{key}");
        assert_conforms(&completed, quota);
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_cancels_its_own_key_only() {
    let quota = Quota::per_second(10).unwrap(); // 100 ms
    let limiter = Arc::new(KeyedLimiter::<String>::new(quota, 16).unwrap());
    limiter.acquire("a").await.unwrap();
    limiter.acquire("b").await.unwrap();
    let newest = waiter(&limiter, "a"); // reserves 100 ms
    let other = waiter(&limiter, "b"); // reserves 100 ms on b
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(limiter.delay("a", 1), Ok(Duration::from_millis(150)));
    newest.abort();
    assert!(newest.await.unwrap_err().is_cancelled());
    assert_eq!(
        limiter.delay("a", 1),
        Ok(Duration::from_millis(50)),
        "a's slot came back"
    );
    assert_eq!(
        limiter.delay("b", 1),
        Ok(Duration::from_millis(150)),
        "b untouched"
    );
    assert_eq!(other.await.unwrap().0, 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn a_full_table_refuses_new_keys_until_a_slot_frees() {
    let quota = Quota::per_second(10).unwrap();
    let table = ShardedKeyedGcra::with_shards(quota, 2, 1).unwrap();
    let limiter = KeyedLimiter::<String>::with_limiter(Pausable::new(table));
    limiter.acquire("a").await.unwrap();
    limiter.acquire("b").await.unwrap();
    let full = Error::TableFull { at: 100 * MS };
    assert_eq!(limiter.acquire("c").await, Err(full));
    assert_eq!(limiter.try_acquire("c", 1), Err(full));
    assert_eq!(limiter.delay("c", 1), Err(full));
    assert_eq!(limiter.snapshot("c").remaining, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    limiter.acquire("c").await.unwrap(); // "a" and "b" are idle: one is forgotten

    let forgetting = KeyedLimiter::<String>::with_limiter(Pausable::new(
        ShardedKeyedGcra::with_shards(quota, 2, 1)
            .unwrap()
            .when_full(WhenFull::Forget),
    ));
    forgetting.acquire("a").await.unwrap();
    forgetting.acquire("b").await.unwrap();
    let now = forgetting.timer().now();
    forgetting.acquire("c").await.unwrap();
    assert_eq!(forgetting.timer().now(), now, "admitted at once");
}

#[tokio::test(start_paused = true)]
async fn bad_input_gets_a_clear_error() {
    let quota = Quota::per_second(10).unwrap().with_burst(2).unwrap();
    assert_eq!(
        KeyedLimiter::<String>::new(quota, 0).unwrap_err(),
        Error::ZeroCapacity
    );
    let limiter = KeyedLimiter::<String>::new(quota, 4).unwrap();
    assert_eq!(
        limiter.acquire_n("a", 3).await,
        Err(Error::TooHeavy { cells: 3, max: 2 })
    );
    limiter.acquire_n("a", 2).await.unwrap();
    assert_eq!(
        limiter
            .acquire_within("a", 1, Duration::from_millis(10))
            .await,
        Err(Error::WouldWait { at: 100 * MS })
    );
}
