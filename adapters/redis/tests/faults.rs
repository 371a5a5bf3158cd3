//! What a Redis restart does to the limits it held: without persistence the state is gone,
//! and each key admits at most one burst beyond its quota; with `appendonly yes` and
//! `appendfsync always` the state survives, and nothing is admitted beyond it.
//!
//! Deterministic: the quota is one cell per 100 s with a burst of 3, so every key's whole
//! burst is taken at once and no cell comes free by time alone while the test runs. The
//! server is killed (SIGKILL) and started again on the same port and directory; the
//! limiters reconnect by themselves. `benches/src/bin/redis_faults.rs` measures the same in
//! a saturated run at 1,000 per second.

use std::time::{Duration, Instant};

use pacer_core::Error as LimitError;
use pacer_redis::{Error, Quota, RedisKeyedLimiter, RedisLimiter, RedisReservation};
use pacer_tests::{RedisServer, gcra_excess};

const KEYS: [&str; 3] = ["a", "b", "c"];

fn quota() -> Quota {
    Quota::new(1, Duration::from_secs(100))
        .unwrap()
        .with_burst(3)
        .unwrap()
}

/// Every key's limit and one unkeyed limit, on one server.
struct Limits {
    keyed: RedisKeyedLimiter,
    unkeyed: RedisLimiter,
}

impl Limits {
    async fn connect(server: &RedisServer) -> Limits {
        let url = server.url();
        Limits {
            keyed: RedisKeyedLimiter::connect(&url, "fault:", quota())
                .await
                .unwrap(),
            unkeyed: RedisLimiter::connect(&url, "fault-global", quota())
                .await
                .unwrap(),
        }
    }

    /// Takes every cell that is free now from each key's limit (the last name, "", is the
    /// unkeyed limit) and returns the instants by name; stops at the first refusal.
    async fn take_all_free(&self) -> Vec<Vec<u64>> {
        let mut taken = Vec::new();
        for name in KEYS.iter().chain([&""]) {
            let mut cells = Vec::new();
            loop {
                let answer = until_answered(async || match *name {
                    "" => self.unkeyed.reserve_within(1, Duration::ZERO).await,
                    key => self.keyed.reserve_within(key, 1, Duration::ZERO).await,
                })
                .await;
                match answer {
                    Ok(reservation) => cells.push(reservation.at()),
                    Err(Error::Limit(LimitError::WouldWait { .. })) => break,
                    Err(other) => panic!("{other}"),
                }
            }
            taken.push(cells);
        }
        taken
    }
}

/// The answer to `call`, trying again while Redis is unavailable (reconnecting after the
/// restart), for at most 10 s.
async fn until_answered(
    mut call: impl AsyncFnMut() -> Result<RedisReservation, Error>,
) -> Result<RedisReservation, Error> {
    let start = Instant::now();
    loop {
        match call().await {
            Err(Error::Unavailable(error)) => {
                assert!(start.elapsed() < Duration::from_secs(10), "{error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            answer => return answer,
        }
    }
}

#[tokio::test]
async fn a_server_restarted_empty_admits_at_most_one_burst_per_key_beyond_the_quota() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let limits = Limits::connect(&server).await;
    let before = limits.take_all_free().await;
    server.restart(); // empty: no persistence
    let after = limits.take_all_free().await;
    for (name, (before, after)) in KEYS.iter().chain([&""]).zip(before.iter().zip(&after)) {
        assert_eq!(before.len(), 3, "{name:?}: a full burst before");
        assert_eq!(
            after.len(),
            3,
            "{name:?}: the state was lost, so a full burst again"
        );
        let cells: Vec<u64> = before.iter().chain(after).copied().collect();
        // Exactly one burst too many: the quota allows 3 cells within these seconds.
        assert_eq!(gcra_excess(&cells, quota()), 3, "{name:?}");
    }
}

#[tokio::test]
async fn with_appendonly_always_the_limits_survive_a_restart() {
    let settings = ["--appendonly", "yes", "--appendfsync", "always"];
    let Some(mut server) = RedisServer::start_with(&settings) else {
        return;
    };
    let limits = Limits::connect(&server).await;
    let before = limits.take_all_free().await;
    let earliest = limits.keyed.snapshot("a").await.unwrap().earliest;
    server.restart(); // reloads the append-only file
    let after = limits.take_all_free().await;
    for (name, (before, after)) in KEYS.iter().chain([&""]).zip(before.iter().zip(&after)) {
        assert_eq!(before.len(), 3, "{name:?}: a full burst before");
        assert!(
            after.is_empty(),
            "{name:?}: {} cells after the restart",
            after.len()
        );
        assert_eq!(gcra_excess(before, quota()), 0);
    }
    // The state is the one written before the kill, to the nanosecond.
    let snapshot = limits.keyed.snapshot("a").await.unwrap();
    assert_eq!(snapshot.earliest, earliest);
}
