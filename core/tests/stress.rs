//! Multi-threaded stress: threads share a limiter and a `ManualClock` that one of them moves
//! (forwards, and now and then a little backwards), mixing reserve, try_acquire,
//! reserve_within and cancel. Every cell admitted by any thread (unless its cancel returned
//! `true`) is merged and checked against the conformance rule: 10^5 decisions on an
//! `AtomicLimiter`, fewer on `Locked<Limits<2>>` and `Locked<SlidingWindow<8>>`.

mod common;

use std::sync::Barrier;
use std::time::Duration;

use common::check::{self, Rule};
use common::rng::Rng;
use pacer_core::{
    AtomicLimiter, Clock, Error, Limits, Locked, ManualClock, Quota, RateLimiter, Reservation,
    SlidingWindow,
};

/// What one thread saw.
#[derive(Default)]
struct Log {
    /// `(instant, cells, cancelled)` in this thread's reservation order.
    admitted: Vec<(u64, u32, bool)>,
    cancelled: usize,
    refused_waits: usize,
    immediate: usize,
}

struct Worker<'a, L> {
    limiter: &'a L,
    clock: &'a ManualClock,
    max_weight: u32,
    /// Nanoseconds the ticking thread moves the clock by, at most, per decision.
    tick: u64,
    /// Whether the limiter remembers the latest reading (then instants are at least it).
    remembers: bool,
    /// All threads start deciding together.
    start: Barrier,
}

impl<L: RateLimiter> Worker<'_, L> {
    fn run(&self, seed: u64, decisions: usize, ticks: bool) -> Log {
        self.start.wait();
        let mut rng = Rng(seed);
        let mut log = Log::default();
        let mut held: Vec<(Reservation<L::Token>, usize)> = Vec::new();
        for _ in 0..decisions {
            if ticks {
                if rng.below(50) == 0 {
                    // A clock that steps back a little.
                    let now = self.clock.now();
                    self.clock.set(now.saturating_sub(rng.below(4 * self.tick)));
                } else {
                    self.clock
                        .advance(Duration::from_nanos(rng.below(self.tick + 1)));
                }
            }
            let now = self.clock.now();
            let n = 1 + rng.below(u64::from(self.max_weight)) as u32;
            let choice = rng.below(20);
            let result = match choice {
                0..5 => self.limiter.reserve(now, n),
                5..12 => self.limiter.try_acquire(now, n),
                12..15 => {
                    let wait = Duration::from_nanos(rng.below(4 * self.tick));
                    self.limiter.reserve_within(now, n, wait)
                }
                15 => {
                    // Too heavy, or nothing: never recorded.
                    let n = if rng.below(2) == 0 {
                        0
                    } else {
                        self.max_weight + 1
                    };
                    match self.limiter.reserve(now, n) {
                        Ok(r) => assert_eq!((r.cells(), r.at()), (0, r.at())),
                        Err(e) => assert_eq!(
                            e,
                            Error::TooHeavy {
                                cells: n,
                                max: self.max_weight
                            }
                        ),
                    }
                    continue;
                }
                _ => {
                    // Cancel this thread's newest (mostly) or any held reservation.
                    if held.is_empty() {
                        continue;
                    }
                    let i = if choice < 19 {
                        held.len() - 1
                    } else {
                        rng.below(held.len() as u64) as usize
                    };
                    let (r, index) = held.remove(i);
                    let at = r.at();
                    if self.limiter.cancel(r, now) {
                        assert!(now < at, "a cancel at {now} returned cells due at {at}");
                        log.admitted[index].2 = true;
                        log.cancelled += 1;
                    }
                    continue;
                }
            };
            match result {
                Ok(r) => {
                    assert_eq!(r.cells(), n);
                    assert!(r.at() >= now, "instant {} before the reading {now}", r.at());
                    if (5..12).contains(&choice) && !self.remembers {
                        // (A limiter that remembers a later reading grants at that reading.)
                        assert_eq!(r.at(), now, "try_acquire succeeds only now");
                    }
                    if r.at() == now {
                        log.immediate += 1;
                    }
                    log.admitted.push((r.at(), n, false));
                    held.push((r, log.admitted.len() - 1));
                    if held.len() > 8 {
                        let _ = held.remove(0); // forgotten: its cells stay spent
                    }
                }
                Err(Error::WouldWait { at }) => {
                    assert!(at > now);
                    log.refused_waits += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        log
    }
}

/// Runs `threads` workers (the first also moves the clock) and returns their logs.
fn hammer<L: RateLimiter + Sync>(
    limiter: &L,
    max_weight: u32,
    tick: u64,
    remembers: bool,
    threads: usize,
    decisions: usize,
) -> Vec<Log>
where
    L::Token: Send,
{
    let clock = ManualClock::new();
    let worker = Worker {
        limiter,
        clock: &clock,
        max_weight,
        tick,
        remembers,
        start: Barrier::new(threads),
    };
    let logs: Vec<Log> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let worker = &worker;
                s.spawn(move || worker.run(0x5EED + t as u64, decisions / threads, t == 0))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let admitted: usize = logs.iter().map(|l| l.admitted.len()).sum();
    let cancelled: usize = logs.iter().map(|l| l.cancelled).sum();
    let refused: usize = logs.iter().map(|l| l.refused_waits).sum();
    let immediate: usize = logs.iter().map(|l| l.immediate).sum();
    // The mix really happened (these are far below what a run produces).
    assert!(admitted > decisions / 10, "only {admitted} admitted");
    assert!(
        cancelled > 0 && refused > 0 && immediate > 0,
        "{cancelled} {refused} {immediate}"
    );
    logs
}

/// Every admitted cell of every thread, sorted.
fn merged(logs: &[Log]) -> Vec<u64> {
    check::cells(
        logs.iter()
            .flat_map(|l| l.admitted.iter())
            .filter(|a| !a.2)
            .map(|a| (a.0, a.1)),
    )
}

/// In each thread's own order, the instants in force never decrease (a subsequence of the
/// lock's order).
fn assert_fifo_per_thread(logs: &[Log]) {
    for (t, log) in logs.iter().enumerate() {
        let live: Vec<u64> = log.admitted.iter().filter(|a| !a.2).map(|a| a.0).collect();
        assert!(live.is_sorted(), "thread {t}: instants decrease");
    }
}

#[test]
fn atomic_limiter_under_contention() {
    // 3 per microsecond (not a whole number of nanoseconds apart), burst 4.
    let quota = Quota::new(3, Duration::from_nanos(1_000))
        .unwrap()
        .with_burst(4)
        .unwrap();
    let limiter = AtomicLimiter::new(quota);
    let logs = hammer(&limiter, 4, 900, false, 4, 100_000);
    let cells = merged(&logs);
    check::assert_gcra(&cells, Rule::of(&quota), "AtomicLimiter, 4 threads");
}

#[test]
fn atomic_limiter_under_contention_strict_spacing() {
    let quota = Quota::per_second(999_999_937).unwrap();
    let limiter = AtomicLimiter::new(quota);
    let logs = hammer(&limiter, 1, 2, false, 3, 30_000);
    check::assert_gcra(&merged(&logs), Rule::of(&quota), "AtomicLimiter, burst 1");
}

#[test]
fn locked_limits_under_contention() {
    let a = Quota::new(3, Duration::from_nanos(1_000))
        .unwrap()
        .with_burst(4)
        .unwrap();
    let b = Quota::new(1, Duration::from_nanos(500))
        .unwrap()
        .with_burst(3)
        .unwrap();
    let limiter = Locked::new(Limits::new([a, b]));
    let logs = hammer(&limiter, 3, 900, true, 3, 20_000);
    let cells = merged(&logs);
    check::assert_gcra(&cells, Rule::of(&a), "Locked<Limits<2>>, first limit");
    check::assert_gcra(&cells, Rule::of(&b), "Locked<Limits<2>>, second limit");
    assert_fifo_per_thread(&logs);
}

#[test]
fn locked_window_under_contention() {
    let quota = Quota::new(5, Duration::from_nanos(2_000)).unwrap();
    let limiter = Locked::new(SlidingWindow::<8>::new(quota).unwrap());
    let logs = hammer(&limiter, 5, 900, true, 3, 20_000);
    check::assert_window(&merged(&logs), 5, 2_000, "Locked<SlidingWindow<8>>");
    assert_fifo_per_thread(&logs);
}
