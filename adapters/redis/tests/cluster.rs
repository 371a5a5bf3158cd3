//! pacer-redis on a private Redis Cluster of three masters (no replicas), started by each test
//! (`redis-server --cluster-enabled yes` on free ports, joined by `redis-cli --cluster
//! create`).
//!
//! Every script names one key, so the cluster connection routes it by slot: each key's
//! limit lives on one master, keys spread over the masters, and a slot that moves takes its
//! limits along (the connection follows `ASK` and `MOVED` by itself).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pacer_core::Error as LimitError;
use pacer_redis::{Error, Quota, RedisKeyedLimiter, RedisLimiter};
use pacer_tests::{RedisCluster, assert_conforms};

const MASTERS: usize = 3;

fn url_refs(urls: &[String]) -> Vec<&str> {
    urls.iter().map(String::as_str).collect()
}

/// The first keys `{name}-0`, `{name}-1`, ... whose Redis keys (`prefix` + key) have their
/// slots on `master`, `count` of them.
fn keys_on(
    cluster: &RedisCluster,
    prefix: &str,
    name: &str,
    master: usize,
    count: usize,
) -> Vec<String> {
    (0..)
        .map(|n| format!("{name}-{n}"))
        .filter(|key| cluster.owner_of_key(&format!("{prefix}{key}")) == master)
        .take(count)
        .collect()
}

/// Whether node `index` holds `key` itself (asked directly, not through the cluster), with a
/// time to live.
fn holds(cluster: &RedisCluster, index: usize, key: &str) -> bool {
    let ttl: i64 = redis::cmd("PTTL")
        .arg(key)
        .query(&mut cluster.nodes()[index].connection())
        .unwrap();
    ttl > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_keeps_its_own_limit_on_the_master_that_holds_it() {
    let Some(cluster) = RedisCluster::start(MASTERS) else {
        return;
    };
    let urls = cluster.urls();
    let quota = Quota::per_second(1000).unwrap().with_burst(3).unwrap();
    let prefix = "spread:";
    // Two keys on each master.
    let keys: Vec<String> = (0..MASTERS)
        .flat_map(|master| keys_on(&cluster, prefix, "user", master, 2))
        .collect();
    let keys = Arc::new(keys);
    // Three clients, each on a cluster connection of its own, each cycling over every key.
    let mut tasks = Vec::new();
    for client in 0..3 {
        let limiter = RedisKeyedLimiter::connect_cluster(url_refs(&urls), prefix, quota)
            .await
            .unwrap();
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            let mut cells: Vec<(usize, u64)> = Vec::new();
            for k in 0..108usize {
                let key = (k + client) % keys.len();
                let weight = 1 + (k / keys.len()) as u32 % 3;
                let reservation = limiter.reserve(&keys[key], weight).await.unwrap();
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
    for (index, key) in keys.iter().enumerate() {
        let mine: Vec<u64> = cells.iter().filter(|c| c.0 == index).map(|c| c.1).collect();
        // 18 reservations per client, 6 of each weight from 1 to 3.
        assert_eq!(mine.len(), 3 * 36, "key {key}");
        assert_conforms(&mine, quota);
        let master = cluster.owner_of_key(&format!("{prefix}{key}"));
        assert!(
            holds(&cluster, master, &format!("{prefix}{key}")),
            "{key} not on its master"
        );
    }
    // One limit, unkeyed, on the cluster: the same.
    let limiter = RedisLimiter::connect_cluster(url_refs(&urls), "spread:global", quota)
        .await
        .unwrap();
    let mut cells = Vec::new();
    for _ in 0..50 {
        cells.push(limiter.reserve(1).await.unwrap().at());
    }
    assert_conforms(&cells, quota);
    let master = cluster.owner_of_key("spread:global");
    assert!(holds(&cluster, master, "spread:global"));

    // A whole-table pause: refused for keys spread over the slots, which could not read it;
    // with a hash tag every key and the pause share one slot, and the pause holds them all.
    let spread = RedisKeyedLimiter::connect_cluster(url_refs(&urls), prefix, quota)
        .await
        .unwrap();
    assert_eq!(spread.table_pause_key(), None);
    assert!(matches!(
        spread.pause_all_for(Duration::from_secs(60)).await,
        Err(Error::TablePauseUnavailable)
    ));
    let tagged = RedisKeyedLimiter::connect_cluster(url_refs(&urls), "{tagged}:user:", quota)
        .await
        .unwrap();
    assert!(tagged.pause_all_for(Duration::from_secs(60)).await.unwrap());
    let end = tagged.paused_all_until().await.unwrap().unwrap();
    for key in ["a", "b", "c"] {
        match tagged.try_acquire(key, 1).await {
            Err(Error::Limit(LimitError::WouldWait { at })) => assert!(at >= end),
            other => panic!("{key}: expected WouldWait, got {other:?}"),
        }
    }
}

#[test]
fn a_key_whose_slot_moves_during_a_run_keeps_its_limit() {
    let Some(cluster) = RedisCluster::start(MASTERS) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let urls = cluster.urls();
    let quota = Quota::per_second(1000).unwrap().with_burst(5).unwrap();
    let key = "k";
    let redis_key = format!("moving:{key}");
    let slot = cluster.slot_of(&redis_key);
    let from = cluster.owner_of(slot);
    let to = (from + 1) % MASTERS;

    // Four tasks on two connections reserve cells of the key until told to stop, recording
    // every instant and every error.
    let cells = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let limiter = runtime
            .block_on(RedisKeyedLimiter::connect_cluster(
                url_refs(&urls),
                "moving:",
                quota,
            ))
            .unwrap();
        let limiter = Arc::new(limiter);
        for _ in 0..2 {
            let (limiter, cells, errors, stop) =
                (limiter.clone(), cells.clone(), errors.clone(), stop.clone());
            tasks.push(runtime.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match limiter.reserve(key, 1).await {
                        Ok(reservation) => cells.lock().unwrap().push(reservation.at()),
                        Err(error) => errors.lock().unwrap().push(error.to_string()),
                    }
                }
            }));
        }
    }
    // Each step of the move happens while the tasks run: 100 more cells between steps.
    let progress = |more: usize| {
        let target = cells.lock().unwrap().len() + more;
        let start = Instant::now();
        while cells.lock().unwrap().len() < target {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no progress: {errors:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    progress(100);
    let (asks, moves) = (cluster.errors(from, "ASK"), cluster.errors(from, "MOVED"));
    cluster.begin_migration(slot, from, to); // `from` still holds the key and serves it
    progress(100);
    assert_eq!(cluster.migrate_keys(slot, from, to), 1); // now `from` answers ASK
    progress(100);
    cluster.finish_migration(slot, to); // now `from` answers MOVED
    progress(100);
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        runtime.block_on(task).unwrap();
    }

    let errors = errors.lock().unwrap();
    assert!(errors.is_empty(), "errors reached the caller: {errors:?}");
    assert_eq!(cluster.owner_of(slot), to);
    assert!(holds(&cluster, to, &redis_key), "the limit did not move");
    assert!(
        cluster.errors(from, "ASK") > asks,
        "no ASK redirect was followed"
    );
    assert!(
        cluster.errors(from, "MOVED") > moves,
        "no MOVED redirect was followed"
    );
    let cells = cells.lock().unwrap();
    eprintln!("{} cells across the move", cells.len());
    assert_conforms(&cells, quota);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_goes_away_is_a_clear_error_or_the_fallback() {
    let Some(mut cluster) = RedisCluster::start(MASTERS) else {
        return;
    };
    let urls = cluster.urls();
    let quota = Quota::per_second(100).unwrap();
    let master = 0;
    let key = keys_on(&cluster, "gone:", "user", master, 1).remove(0);
    let global = keys_on(&cluster, "", "gone:global", master, 1).remove(0);
    let keyed = RedisKeyedLimiter::connect_cluster(url_refs(&urls), "gone:", quota)
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let unkeyed = RedisLimiter::connect_cluster(url_refs(&urls), &global, quota)
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(500))
        .with_fallback(Quota::per_second(1).unwrap());
    keyed.acquire(&key).await.unwrap();
    unkeyed.acquire().await.unwrap();
    assert!(holds(&cluster, master, &global), "acquired from Redis");

    cluster.node_mut(master).kill();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), keyed.acquire(&key)).await;
    match outcome.expect("answers instead of hanging") {
        Err(error @ Error::Unavailable(_)) => {
            eprintln!("keyed: unavailable after {:?}: {error}", started.elapsed())
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The unkeyed limiter with a fallback takes its cells locally instead (1 per second:
    // one at once, the next refused), and reports the outage where there is no local answer.
    let outcome = tokio::time::timeout(Duration::from_secs(30), unkeyed.acquire()).await;
    outcome.expect("answers instead of hanging").unwrap();
    match unkeyed.try_acquire(1).await {
        Err(Error::Limit(LimitError::WouldWait { .. })) => {}
        other => panic!("expected the local limiter's WouldWait, got {other:?}"),
    }
    assert!(matches!(
        unkeyed.reserve(1).await,
        Err(Error::Unavailable(_))
    ));
}
