//! Multi-threaded stress of pauses of single keys on a `Pausable<ShardedKeyedGcra>`: threads
//! share it and a `ManualClock` that one of them moves forwards, and that one also pauses
//! random keys (and now and then the whole table) while the others reserve, wait and cancel.
//! Each waiter wakes at its instant by the shared clock and asks `pending`, as the `Acquire`
//! future does, until it passes. Checked per key: the instants at which the cells passed keep
//! the conformance rule, none lies inside a pause of its key made before it, and a waiter
//! re-arms at most once per pause.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use common::check::{self, Rule};
use common::rng::Rng;
use pacer_core::{
    Clock, Error, KeyedRateLimiter, KeyedToken, ManualClock, Pausable, Pause, PauseKey,
    PausedToken, Quota, Reservation, ShardedKeyedGcra,
};

const KEYS: u64 = 8;
/// Rounds of decisions (fewer in a debug build, which runs them several times slower).
const ROUNDS: usize = if cfg!(debug_assertions) {
    4_000
} else {
    16_000
};
const TICK: u64 = 10_000;

type Limiter = Pausable<ShardedKeyedGcra<u32>>;

/// Pauses made: (key, or `None` for the whole table; made at; ends at).
type Pauses = Mutex<Vec<(Option<u32>, u64, u64)>>;

struct Waiter {
    key: u32,
    reservation: Reservation<PausedToken<KeyedToken>>,
    wake: u64,
    rearms: usize,
    /// How many pauses had been made when it reserved.
    pauses_before: usize,
}

/// What one thread saw: `(key, instant, cells)` of what passed.
type Passed = Vec<(u32, u64, u32)>;

/// What the threads share.
struct Shared {
    limiter: Limiter,
    clock: ManualClock,
    barrier: Barrier,
    /// The earliest wake of any waiter, published by each thread every round.
    next: AtomicU64,
    /// Waiters left, summed by the threads every round.
    left: AtomicUsize,
    /// Set by the driver when every waiter has passed after the last round.
    done: AtomicBool,
    pauses: Pauses,
}

/// Wakes every waiter due at the clock's reading (the clock visits every wake exactly).
fn wake(shared: &Shared, waiters: &mut Vec<Waiter>, passed: &mut Passed) {
    let now = shared.clock.now();
    let mut index = 0;
    while index < waiters.len() {
        let waiter = &mut waiters[index];
        if waiter.wake > now {
            index += 1;
            continue;
        }
        assert_eq!(waiter.wake, now, "the clock visits every wake");
        match shared
            .limiter
            .pending(&waiter.key, &waiter.reservation, now)
        {
            Ok(None) => {
                let waiter = waiters.swap_remove(index);
                let pauses = shared.pauses.lock().unwrap();
                let met = pauses[waiter.pauses_before..]
                    .iter()
                    .filter(|p| p.0.is_none_or(|key| key == waiter.key))
                    .count();
                assert!(waiter.rearms <= met, "one re-arm per pause");
                passed.push((waiter.key, now, waiter.reservation.cells()));
            }
            Ok(Some(at)) => {
                assert!(at > now, "a moved instant is later");
                waiter.wake = at;
                waiter.rearms += 1;
                index += 1;
            }
            Err(error) => panic!("unbounded waits do not fail: {error}"),
        }
    }
}

/// The driver's pause, made while the other threads decide at the same reading.
fn pause(shared: &Shared, rng: &mut Rng) {
    let now = shared.clock.now();
    match rng.below(2_000) {
        0..300 => {
            let key = rng.below(KEYS) as u32;
            let until = now + rng.below(40 * TICK);
            let mut pauses = shared.pauses.lock().unwrap();
            match shared.limiter.pause_key_until(&key, now, until) {
                Ok(true) => pauses.push((Some(key), now, until)),
                Ok(false) | Err(Error::PausedKeysFull { .. }) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        300 => {
            let until = now + rng.below(20 * TICK);
            let mut pauses = shared.pauses.lock().unwrap();
            if shared.limiter.pause_until(now, until) == Ok(true) {
                pauses.push((None, now, until));
            }
        }
        _ => {}
    }
}

fn work(shared: &Shared, seed: u64, driver: bool) -> Passed {
    let mut rng = Rng(seed);
    let mut waiters: Vec<Waiter> = Vec::new();
    let mut passed = Passed::new();
    let burst = u64::from(shared.limiter.inner().quota().burst());
    let mut round = 0;
    loop {
        // Phase A: the driver moves the clock to the next wake or a little further.
        shared.barrier.wait();
        if driver {
            let now = shared.clock.now();
            let step = now + 1 + rng.below(TICK);
            let next = shared.next.swap(u64::MAX, Ordering::SeqCst);
            let left = shared.left.swap(0, Ordering::SeqCst);
            if round >= ROUNDS && left == 0 {
                shared.done.store(true, Ordering::SeqCst);
            } else {
                shared.clock.set(step.min(next));
            }
        }
        shared.barrier.wait();
        if shared.done.load(Ordering::SeqCst) {
            break;
        }
        // Phase B: every thread wakes its waiters due now and decides, all at one reading,
        // while the driver may pause a key or the table.
        if driver && round < ROUNDS {
            pause(shared, &mut rng);
        }
        wake(shared, &mut waiters, &mut passed);
        if round < ROUNDS {
            let now = shared.clock.now();
            // Light and heavy spells: keys with a backlog, and keys with room, meet pauses.
            let busy = round % 500 < 50;
            if !busy && rng.below(20) != 0 {
                // Nothing this round.
            } else if rng.below(8) == 0 && !waiters.is_empty() {
                let waiter = waiters.swap_remove(rng.below(waiters.len() as u64) as usize);
                // Returned or kept, its cells do not pass: leaving them out keeps the rest
                // conforming, so only what passes is checked.
                let _ = shared.limiter.cancel(&waiter.key, waiter.reservation, now);
            } else {
                let key = rng.below(KEYS) as u32;
                let n = 1 + rng.below(burst) as u32;
                let pauses_before = shared.pauses.lock().unwrap().len();
                let reservation = shared.limiter.reserve(&key, now, n).unwrap();
                let at = reservation.at();
                assert!(at >= now);
                if at == now {
                    passed.push((key, at, n));
                } else {
                    waiters.push(Waiter {
                        key,
                        reservation,
                        wake: at,
                        rearms: 0,
                        pauses_before,
                    });
                }
            }
        }
        if let Some(next) = waiters.iter().map(|w| w.wake).min() {
            shared.next.fetch_min(next, Ordering::SeqCst);
        }
        shared.left.fetch_add(waiters.len(), Ordering::SeqCst);
        round += 1;
    }
    passed
}

#[test]
fn concurrent_pauses_of_single_keys_keep_each_keys_contract() {
    let quota = Quota::new(3, Duration::from_micros(100))
        .unwrap()
        .with_burst(2)
        .unwrap();
    let table = ShardedKeyedGcra::with_shards(quota, 64, 4)
        .unwrap()
        .with_paused_keys(4);
    let threads = 3;
    let shared = Shared {
        limiter: Pausable::new(table),
        clock: ManualClock::new(),
        barrier: Barrier::new(threads),
        next: AtomicU64::new(u64::MAX),
        left: AtomicUsize::new(0),
        done: AtomicBool::new(false),
        pauses: Pauses::default(),
    };
    let logs: Vec<Passed> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let shared = &shared;
                s.spawn(move || work(shared, 0x9a05e + t as u64, t == 0))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let pauses = shared.pauses.into_inner().unwrap();
    let key_pauses = pauses.iter().filter(|p| p.0.is_some()).count();
    assert!(key_pauses > 50, "keys were paused: {key_pauses}");
    let mut by_key: BTreeMap<u32, Vec<(u64, u32)>> = BTreeMap::new();
    for log in &logs {
        for &(key, at, n) in log {
            by_key.entry(key).or_default().push((at, n));
            // Nothing passes inside a pause of its key or of the table made before its
            // instant (one due at the very reading of the pause may race it).
            for &(paused, made, until) in &pauses {
                if paused.is_none_or(|paused| paused == key) {
                    assert!(
                        !(made < at && at < until),
                        "key {key} passed at {at} inside the pause of {paused:?} [{made}, {until})"
                    );
                }
            }
        }
    }
    let rule = Rule::of(&quota);
    for (key, acquisitions) in by_key {
        let cells = check::cells(acquisitions);
        check::assert_gcra(&cells, rule, &format!("key {key}"));
    }
}
