//! Multi-threaded stress of `ShardedKeyedGcra`: threads share it and a `ManualClock` that one
//! of them moves (forwards, and now and then a little backwards), mixing reserve,
//! try_acquire, reserve_within and cancel over random keys. Every cell admitted for a key
//! (unless its cancel returned `true`) is checked against the conformance rule, per key: with
//! room for every key, and with a table too small for them, whose refusals must not disturb
//! anyone.

mod common;

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::time::Duration;

use common::check::{self, Rule};
use common::rng::Rng;
use pacer_core::{
    Clock, Error, KeyedRateLimiter, KeyedToken, ManualClock, Quota, Reservation, ShardedKeyedGcra,
};

/// What one thread saw: `(key, instant, cells, cancelled)` per admitted acquisition, and how
/// many new keys were refused for lack of room.
#[derive(Default)]
struct Log {
    admitted: Vec<(u32, u64, u32, bool)>,
    full: usize,
}

const KEYS: u64 = 64;
const DECISIONS: usize = 40_000;
const TICK: u64 = 2_000;

fn work(
    limiter: &ShardedKeyedGcra<u32>,
    clock: &ManualClock,
    start: &Barrier,
    seed: u64,
    ticks: bool,
) -> Log {
    start.wait();
    let mut rng = Rng(seed);
    let mut log = Log::default();
    let mut held: Vec<(u32, Reservation<KeyedToken>, usize)> = Vec::new();
    let burst = u64::from(limiter.quota().burst());
    for _ in 0..DECISIONS {
        if ticks {
            if rng.below(50) == 0 {
                let now = clock.now();
                clock.set(now.saturating_sub(rng.below(4 * TICK)));
            } else {
                clock.advance(Duration::from_nanos(rng.below(TICK + 1)));
            }
        }
        let now = clock.now();
        let key = rng.below(KEYS) as u32;
        let n = 1 + rng.below(burst) as u32;
        let result = match rng.below(20) {
            0..5 => limiter.reserve(&key, now, n),
            5..12 => limiter.try_acquire(&key, now, n),
            12..16 => {
                let wait = Duration::from_nanos(rng.below(20 * TICK));
                limiter.reserve_within(&key, now, n, wait)
            }
            _ => {
                if !held.is_empty() {
                    let (key, reservation, index) =
                        held.swap_remove(rng.below(held.len() as u64) as usize);
                    if limiter.cancel(&key, reservation, clock.now()) {
                        log.admitted[index].3 = true;
                    }
                }
                continue;
            }
        };
        match result {
            Ok(reservation) => {
                log.admitted.push((key, reservation.at(), n, false));
                held.push((key, reservation, log.admitted.len() - 1));
                if held.len() > 32 {
                    drop(held.swap_remove(0));
                }
            }
            Err(Error::WouldWait { at }) => assert!(at > now),
            Err(Error::TableFull { at }) => {
                assert!(at > now);
                log.full += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    log
}

/// Runs `threads` threads on `limiter` and checks every key's cells.
fn stress(limiter: ShardedKeyedGcra<u32>, threads: u64) -> usize {
    let clock = ManualClock::new();
    let start = Barrier::new(threads as usize);
    let logs: Vec<Log> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (limiter, clock, start) = (&limiter, &clock, &start);
                s.spawn(move || work(limiter, clock, start, 0x5eed + t, t == 0))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_key: BTreeMap<u32, Vec<(u64, u32)>> = BTreeMap::new();
    let mut full = 0;
    for log in &logs {
        full += log.full;
        for &(key, at, n, cancelled) in &log.admitted {
            if !cancelled {
                by_key.entry(key).or_default().push((at, n));
            }
        }
    }
    assert!(by_key.len() > 1, "more than one key admitted");
    let rule = Rule::of(&limiter.quota());
    for (key, acquisitions) in by_key {
        let cells = check::cells(acquisitions);
        check::assert_gcra(&cells, rule, &format!("key {key}"));
    }
    assert!(limiter.len() <= limiter.capacity());
    full
}

#[test]
fn every_key_conforms_with_room_for_all() {
    let quota = Quota::new(3, Duration::from_micros(100))
        .unwrap()
        .with_burst(3)
        .unwrap();
    let limiter = ShardedKeyedGcra::with_shards(quota, 4096, 8).unwrap();
    assert_eq!(stress(limiter, 3), 0, "room for every key");
}

#[test]
fn every_key_conforms_in_a_table_too_small() {
    let quota = Quota::new(7, Duration::from_micros(1_000))
        .unwrap()
        .with_burst(2)
        .unwrap();
    let limiter = ShardedKeyedGcra::with_shards(quota, 16, 4).unwrap();
    assert!(stress(limiter, 3) > 0, "the table was full at times");
}
