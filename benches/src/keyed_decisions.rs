//! The keyed decision measure shared by the `keyed` and `http` programs: pacer's
//! `ShardedKeyedGcra` against governor's keyed `RateLimiter` (on `DashMap`), 10 per second per
//! key, burst 1, both on manual clocks. Keys are drawn at random from a fixed set made
//! present first; each decision takes one cell; every 64 decisions a thread moves the shared
//! clock on by 64 µs. The time per decision is the busier thread's CPU time over its
//! decisions (`getrusage(RUSAGE_THREAD)`: time the thread ran, so that a thread descheduled by
//! other work on a shared machine does not count as its limiter's time), the median of
//! several rounds. In a round the two limiters take turns of [`SLICE`] decisions per thread:
//! a virtual machine's memory and caches slow down and speed up with the host's other work
//! for seconds at a time, and short turns give both limiters the same share of each.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Barrier;
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use governor::state::keyed::DefaultKeyedStateStore;
use pacer_core::{Clock, KeyedRateLimiter, ManualClock, Quota, ShardedKeyedGcra};

use crate::thread_cpu_time;

type Governor = governor::RateLimiter<
    u64,
    DefaultKeyedStateStore<u64>,
    FakeRelativeClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

/// Cells per second per key.
pub const RATE: u32 = 10;

/// Decisions per thread in one limiter's turn (about 50 ms at 1,000,000 keys).
pub const SLICE: u64 = 250_000;

/// pacer's quota: [`RATE`] per second, burst 1.
pub fn pacer_quota() -> Quota {
    Quota::per_second(RATE).expect("a valid quota")
}

/// governor's quota: the same.
pub fn governor_quota() -> governor::Quota {
    governor::Quota::per_second(NonZeroU32::new(RATE).expect("non-zero"))
}

/// splitmix64, one per thread.
struct Rng(u64);

impl Rng {
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// A limiter whose decisions are timed.
trait Decide: Sync {
    fn decide(&self, key: u64) -> bool;
    /// Moves the shared clock on by `nanos`.
    fn advance(&self, nanos: u64);
}

struct Pacer {
    limiter: ShardedKeyedGcra<u64>,
    clock: ManualClock,
}

impl Decide for Pacer {
    #[inline(never)]
    fn decide(&self, key: u64) -> bool {
        self.limiter.try_acquire(&key, self.clock.now(), 1).is_ok()
    }

    fn advance(&self, nanos: u64) {
        self.clock.advance(Duration::from_nanos(nanos));
    }
}

struct Gov {
    limiter: Governor,
    clock: FakeRelativeClock,
}

impl Decide for Gov {
    #[inline(never)]
    fn decide(&self, key: u64) -> bool {
        self.limiter.check_key(&key).is_ok()
    }

    fn advance(&self, nanos: u64) {
        self.clock.advance(Duration::from_nanos(nanos));
    }
}

/// One thread's decisions: random keys of `keys` drawn from `seed`, the clock moved on every 64.
fn decisions(limiter: &impl Decide, keys: u64, count: u64, seed: u64) -> u64 {
    let mut rng = Rng(seed);
    let mut admitted = 0;
    for i in 0..count {
        if i % 64 == 0 {
            limiter.advance(64_000);
        }
        admitted += u64::from(limiter.decide(rng.below(keys)));
    }
    admitted
}

/// CPU nanoseconds of `count` decisions per thread on `threads` threads: the busier thread's.
/// Turn `turn` draws its keys from seeds of its own, the same for both limiters.
fn time(limiter: &impl Decide, keys: u64, count: u64, threads: u64, turn: u64) -> f64 {
    let start = Barrier::new(threads as usize);
    let slowest = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let began = thread_cpu_time();
                    black_box(decisions(limiter, keys, count, 0x5eed + turn * threads + t));
                    thread_cpu_time().saturating_sub(began)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a timing thread"))
            .max()
            .expect("at least one thread")
    });
    slowest.as_nanos() as f64
}

/// The median of `values` (not empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Nanoseconds per decision, (pacer, governor), for `keys` keys on `threads` threads: the
/// median of `rounds` rounds of `count` decisions per thread, each round taken in turns of
/// [`SLICE`]. pacer's table has room for `keys + keys / 4`.
pub fn hot(keys: u64, threads: u64, count: u64, rounds: usize) -> (f64, f64) {
    let capacity = (keys + keys / 4) as usize;
    let pacer = Pacer {
        limiter: ShardedKeyedGcra::new(pacer_quota(), capacity).expect("a capacity above zero"),
        clock: ManualClock::new(),
    };
    let clock = FakeRelativeClock::default();
    let gov = Gov {
        limiter: Governor::dashmap_with_clock(governor_quota(), clock.clone()),
        clock,
    };
    // Make every key present.
    for key in 0..keys {
        pacer.decide(key);
        gov.decide(key);
    }
    assert_eq!(pacer.limiter.len(), keys as usize, "pacer holds every key");
    let (mut p, mut g) = (Vec::new(), Vec::new());
    let mut turn = 0;
    for _ in 0..rounds.max(1) {
        let (mut pacer_ns, mut gov_ns, mut done) = (0.0, 0.0, 0);
        while done < count {
            let n = SLICE.min(count - done);
            pacer_ns += time(&pacer, keys, n, threads, turn);
            gov_ns += time(&gov, keys, n, threads, turn);
            (done, turn) = (done + n, turn + 1);
        }
        p.push(pacer_ns / count as f64);
        g.push(gov_ns / count as f64);
    }
    (median(p), median(g))
}
