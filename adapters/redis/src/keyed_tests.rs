//! The keyed limiter against a map of independent `pacer_core::Gcra` limiters, one per key,
//! step by step on the clock the test sets (the script of `engine_tests`).
//!
//! The design's differential property for keyed limits: on any sequence of operations the
//! answers equal those of independent limiters, one per key. Operations on four keys
//! interleave at random (reservations with and without a bound, `try_acquire`, cancels of a
//! key's newest or an older reservation while other keys' reservations come between, looks
//! and snapshots), on a clock that steps forward and back; every answer must be the core's
//! (within the 1 ns of their grains), and each key's instants must pass the conformance
//! checker.

use std::collections::HashMap;
use std::time::Duration;

use pacer_core::{Gcra, GcraToken, ManualTimer, Scheduler};
use pacer_tests::{RedisServer, XorShift, assert_conforms};

use crate::engine_tests::{NS, clone_error, connect, engine, local, quotas, same, set_clock};
use crate::{RedisKeyedLimiter, RedisReservation};

const KEYS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// A reservation held in Redis and in the key's core limiter.
struct Held {
    key: &'static str,
    redis: RedisReservation,
    core: pacer_core::Reservation<GcraToken>,
}

#[tokio::test]
async fn every_key_decides_as_its_own_core_limiter_would() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    for (case, quota) in quotas().into_iter().enumerate() {
        let engine = engine(&conn, &format!("keyed:{case}:"), quota);
        let limiter = RedisKeyedLimiter::from_engine(engine, ManualTimer::new());
        let mut cores: HashMap<&str, Gcra> = KEYS.map(|key| (key, Gcra::new(quota))).into();
        let mut admitted: HashMap<&str, Vec<u64>> = HashMap::new();
        let mut held: Vec<Held> = Vec::new();
        // Each key's latest clock reading recorded by Redis (by a reservation or a cancel; a
        // refusal records nothing): the server's now for that key is never earlier.
        let mut seen: HashMap<&str, u64> = HashMap::new();
        let mut rng = XorShift::new(0xfeed + case as u64);
        let interval = quota.interval().as_nanos().max(1) as u64;
        let burst = u64::from(quota.burst());
        let mut now = 10 * NS;
        for step in 0..400 {
            match rng.between(0, 99) {
                0..=29 => now += rng.between(0, 3 * interval),
                30..=32 => now = now.saturating_sub(rng.between(0, 2 * interval)),
                _ => {}
            }
            set_clock(&conn, now).await;
            let key = KEYS[rng.between(0, KEYS.len() as u64 - 1) as usize];
            let core = cores.get_mut(key).unwrap();
            let context = format!("{quota}, key {key}, step {step}, now {now}");
            let cells = rng.between(0, burst + 1) as u32;
            let op = rng.between(0, 9);
            let seen_before = seen.get(key).copied();
            let server_now = now.max(seen_before.unwrap_or(0));
            if op <= 7 {
                seen.insert(key, server_now);
            }
            // A refusal records nothing in Redis, not even its clock reading: the model
            // forgets it too.
            let model = core.clone();
            let mut refused = |core: &mut Gcra, answer: &Result<_, pacer_core::Error>| {
                if matches!(answer, Err(pacer_core::Error::WouldWait { .. })) {
                    *core = model.clone();
                    match seen_before {
                        Some(before) => seen.insert(key, before),
                        None => seen.remove(key),
                    };
                }
            };
            match op {
                0..=4 => {
                    let max_wait = match rng.between(0, 2) {
                        0 => None,
                        _ => Some(Duration::from_nanos(rng.between(0, 3 * burst * interval))),
                    };
                    let redis = match max_wait {
                        None => limiter.reserve(key, cells).await,
                        Some(wait) => limiter.reserve_within(key, cells, wait).await,
                    };
                    let core_answer =
                        core.reserve_within(now, cells, max_wait.unwrap_or(Duration::MAX));
                    refused(core, &core_answer.as_ref().map(|_| ()).map_err(|e| *e));
                    let redis_at = redis.as_ref().map(|r| local(r.at())).map_err(clone_error);
                    let core_at = core_answer.as_ref().map(|r| r.at()).map_err(|e| *e);
                    assert!(
                        same(&redis_at, &core_at),
                        "reserve {cells} within {max_wait:?}: redis {redis_at:?}, core {core_at:?} ({context})"
                    );
                    if let (Ok(redis), Ok(core)) = (redis, core_answer)
                        && cells > 0
                    {
                        let cells = std::iter::repeat_n(local(redis.at()), cells as usize);
                        admitted.entry(key).or_default().extend(cells);
                        held.push(Held { key, redis, core });
                    }
                }
                5 => {
                    // Granted, the cells go at the server's now.
                    let redis = limiter.try_acquire(key, cells).await.map(|()| server_now);
                    let core_answer = core.reserve_within(now, cells, Duration::ZERO);
                    refused(core, &core_answer.as_ref().map(|_| ()).map_err(|e| *e));
                    let core_at = core_answer.as_ref().map(|r| r.at()).map_err(|e| *e);
                    assert!(
                        same(&redis, &core_at),
                        "try_acquire {cells}: redis {redis:?}, core {core_at:?} ({context})"
                    );
                    if let Ok(at) = core_at {
                        let cells = std::iter::repeat_n(at, cells as usize);
                        admitted.entry(key).or_default().extend(cells);
                    }
                }
                6 | 7 if held.iter().any(|h| h.key == key) => {
                    // Mostly the key's newest, sometimes an older one (which returns nothing),
                    // whatever other keys reserved since.
                    let mine: Vec<usize> =
                        (0..held.len()).filter(|&i| held[i].key == key).collect();
                    let index = if rng.between(0, 2) == 0 {
                        mine[rng.between(0, mine.len() as u64 - 1) as usize]
                    } else {
                        mine[mine.len() - 1]
                    };
                    let Held {
                        redis, core: token, ..
                    } = held.remove(index);
                    let (at, cells) = (local(redis.at()), redis.cells());
                    let returned = limiter.cancel(redis).await.unwrap();
                    assert_eq!(
                        returned,
                        core.cancel(token, now),
                        "cancel of {at} ({context})"
                    );
                    if returned {
                        let mine = admitted.get_mut(key).unwrap();
                        for _ in 0..cells {
                            let spot = mine.iter().rposition(|&a| a == at);
                            mine.remove(spot.expect("a returned reservation was admitted"));
                        }
                    }
                }
                8 => {
                    let delay = limiter.delay(key, cells).await;
                    let redis = delay.map(|d| server_now + d.as_nanos() as u64);
                    let core_at = core.earliest(now, cells);
                    assert!(
                        same(&redis, &core_at),
                        "delay {cells}: redis {redis:?}, core {core_at:?} ({context})"
                    );
                }
                _ => {
                    let redis = limiter.snapshot(key).await.unwrap();
                    let core_view = core.snapshot(now);
                    assert!(
                        local(redis.earliest).abs_diff(core_view.earliest) <= 1
                            && redis.remaining.abs_diff(core_view.remaining) <= 1,
                        "snapshot: redis {redis:?}, core {core_view:?} ({context})"
                    );
                }
            }
        }
        for (key, cells) in &admitted {
            assert!(!cells.is_empty(), "key {key} admitted nothing ({quota})");
            assert_conforms(cells, quota);
        }
    }
}
