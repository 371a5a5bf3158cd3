//! pacer-embassy on embassy-time's mock driver: time moves only when a test advances it, so
//! every instant is exact and nothing sleeps for real.
//!
//! The mock driver is one global clock, so the tests here take turns (`serial`), each starting
//! from a reset driver. Futures run on a `futures-executor` `LocalPool`, which polls a task
//! only when its waker fires: a task that completes was woken by embassy-time's timer queue.
//!
//! Each scheduled acquisition is polled at most twice (to reserve, and when its one sleep
//! ends): no retry loop, no spinning.
//!
//! At the default 1 MHz tick rate one tick is 1,000 ns. Each acquisition is checked against a
//! reference [`Gcra`] given the same reservations: it must complete exactly at the first tick
//! that reads its instant, and must not have completed one tick before (never early).
#![allow(missing_docs)]

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use embassy_time::{Instant, MockDriver, TICK_HZ};
use futures_executor::LocalPool;
use futures_util::StreamExt;
use futures_util::task::LocalSpawnExt;
use pacer_embassy::{
    AtomicLimiter, Clock, EmbassyTimer, Error, Gcra, Limiter, Limits, Locked, Quota, Scheduler,
    SlidingWindow, Timer,
};

const MS: u64 = 1_000_000;
/// One tick of the mock driver, in nanoseconds (1,000 at the default 1 MHz).
const TICK: u64 = 1_000_000_000 / TICK_HZ;

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes this test's turn with the global mock driver, reset to instant 0.
fn serial() -> MutexGuard<'static, ()> {
    let turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    MockDriver::get().reset();
    turn
}

/// Moves the mock driver forward to `to` (never back).
fn advance_to(to: Instant) {
    let now = Instant::now();
    if to > now {
        MockDriver::get().advance(to - now);
    }
}

/// Moves the mock driver forward by `nanos` (whole ticks).
fn advance_by(nanos: u64) {
    assert_eq!(nanos % TICK, 0, "advance by whole ticks");
    MockDriver::get().advance(embassy_time::Duration::from_ticks(nanos / TICK));
}

/// The reading of `timer` at the first tick that reads `at` or more.
fn tick_reading(timer: &EmbassyTimer, at: u64) -> u64 {
    timer.nanos_at(timer.instant_at(at))
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The rule every GCRA schedule keeps, with instants rounded up to whole nanoseconds:
/// cells ordered by instant, for all i < j, `(p_j - p_i + 1)·count > (j - i + 1 - burst)·period`.
/// With `rounded == false`, the strict rule `(p_j - p_i)·count >= (j - i + 1 - burst)·period`.
fn assert_conforms(cells: &[u64], quota: Quota, rounded: bool) {
    assert!(cells.is_sorted(), "cells out of order: {cells:?}");
    let count = i128::from(quota.count());
    let period = i128::from(quota.period_nanos());
    let burst = i128::from(quota.burst());
    for i in 0..cells.len() {
        for j in i + 1..cells.len() {
            let gap = i128::from(cells[j] - cells[i]);
            let need = (j as i128 - i as i128 + 1 - burst) * period;
            let ok = if rounded {
                (gap + 1) * count > need
            } else {
                gap * count >= need
            };
            assert!(
                ok,
                "cells {i} at {} and {j} at {} too close",
                cells[i], cells[j]
            );
        }
    }
}

/// One acquisition that finished: when, by the limiter's own clock, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Done {
    at: u64,
    result: Result<(), Error>,
}

/// Runs acquisitions of `cells[k]` cells, started at `starts[k]` nanoseconds (whole ticks,
/// nondecreasing, each started after the one before was first polled), on one `Limiter` for
/// `quota`, stepping the mock driver to one tick before and then onto each instant a reference
/// `Gcra` gives. Returns the reference instants and what each acquisition saw.
fn run_schedule(quota: Quota, script: &[(u64, u32)]) -> (Vec<u64>, Vec<Done>) {
    assert!(script.is_sorted_by_key(|&(start, _)| start));
    let mut pool = LocalPool::new();
    let timer = EmbassyTimer::new();
    let limiter = Rc::new(Limiter::from_parts(AtomicLimiter::new(quota), timer));
    let done: Rc<RefCell<Vec<Option<Done>>>> = Rc::new(RefCell::new(vec![None; script.len()]));
    let mut reference = Gcra::new(quota);
    let mut expected: Vec<u64> = Vec::new();

    // After every step: exactly the acquisitions due by now have completed, each at the first
    // tick that reads its instant.
    let check = |expected: &[u64]| {
        let done = done.borrow();
        let now = timer.now();
        for (k, &at) in expected.iter().enumerate() {
            let due = tick_reading(&timer, at);
            match done[k] {
                Some(d) => {
                    assert_eq!(d.result, Ok(()));
                    assert_eq!(
                        d.at, due,
                        "acquisition {k} (instant {at}) completed off its tick"
                    );
                }
                None => assert!(
                    due > now,
                    "acquisition {k} (instant {at}) not woken at {now}"
                ),
            }
        }
    };

    let mut next_start = 0;
    loop {
        let next_due = expected
            .iter()
            .enumerate()
            .filter(|&(k, _)| done.borrow()[k].is_none())
            .map(|(_, &at)| timer.instant_at(at))
            .min();
        let start_at = script.get(next_start).map(|&(s, _)| timer.instant_at(s));
        match (start_at, next_due) {
            (None, None) => break,
            (Some(start), due) if due.is_none_or(|due| start < due) => {
                advance_to(start);
                pool.run_until_stalled();
                check(&expected);
                let cells = script[next_start].1;
                let now = timer.now();
                expected.push(reference.reserve(now, cells).expect("reference").at());
                let (limiter, done, k) = (limiter.clone(), done.clone(), next_start);
                pool.spawner()
                    .spawn_local(async move {
                        // Sleeps once: polled once to reserve (and complete, if due), once
                        // more when its timer fires, and never again (no retry, no spinning).
                        let mut acquire = pin!(limiter.acquire_n(cells));
                        let mut polls = 0;
                        let result = poll_fn(|cx| {
                            polls += 1;
                            assert!(polls <= 2, "acquisition {k} polled {polls} times");
                            acquire.as_mut().poll(cx)
                        })
                        .await;
                        done.borrow_mut()[k] = Some(Done {
                            at: limiter.timer().now(),
                            result,
                        });
                    })
                    .expect("spawn");
                pool.run_until_stalled(); // its first poll: the reservation
                next_start += 1;
                check(&expected);
            }
            (_, Some(due)) => {
                // One tick before: nothing due then may have completed (never early).
                advance_to(Instant::from_ticks(due.as_ticks() - 1));
                pool.run_until_stalled();
                check(&expected);
                advance_to(due);
                pool.run_until_stalled();
                check(&expected);
            }
            (Some(_), None) => unreachable!(),
        }
    }
    let done = done.borrow().iter().map(|d| d.expect("all done")).collect();
    (expected, done)
}

/// Each acquisition's instant, once per cell.
fn per_cell(instants: &[u64], script: &[(u64, u32)]) -> Vec<u64> {
    instants
        .iter()
        .zip(script)
        .flat_map(|(&at, &(_, cells))| std::iter::repeat_n(at, cells as usize))
        .collect()
}

#[test]
fn clock_counts_nanoseconds_from_its_origin() {
    let _turn = serial();
    advance_by(5 * MS);
    let timer = EmbassyTimer::new();
    assert_eq!(timer.now(), 0);
    assert_eq!(timer.origin(), Instant::from_millis(5));
    advance_by(1_500_000);
    assert_eq!(timer.now(), 1_500_000);
    assert_eq!(EmbassyTimer::default().now(), 0);
    let from_boot = EmbassyTimer::with_origin(Instant::from_ticks(0));
    assert_eq!(from_boot.now(), 6_500_000);
    assert_eq!(
        timer.nanos_at(Instant::from_millis(1)),
        0,
        "before the origin reads 0"
    );
    let copy = timer;
    assert_eq!(copy, timer);
    assert_eq!(copy.now(), timer.now());
}

#[test]
fn sleeps_end_on_the_first_tick_that_reads_the_instant() {
    let _turn = serial();
    let timer = EmbassyTimer::new();
    for at in [1, TICK - 1, TICK, TICK + 1, 2_500_001, 333_333_334] {
        let at = timer.now() + at;
        assert_eq!(tick_reading(&timer, at), at.div_ceil(TICK) * TICK);
        let mut sleep = pin!(timer.sleep_until(at));
        assert!(poll_once(sleep.as_mut()).is_pending());
        advance_to(Instant::from_ticks(timer.instant_at(at).as_ticks() - 1));
        assert!(timer.now() < at);
        assert!(
            poll_once(sleep.as_mut()).is_pending(),
            "early at {}",
            timer.now()
        );
        advance_by(TICK);
        assert!(poll_once(sleep.as_mut()).is_ready());
        assert!(timer.now() >= at && timer.now() - at < TICK);
    }
    // Past embassy-time's range the sleep saturates at the end of time: it never ends.
    let late = EmbassyTimer::with_origin(Instant::from_ticks(u64::MAX - 10));
    assert_eq!(late.instant_at(1_000_000), Instant::MAX);
    assert_eq!(late.instant_at(10 * TICK), Instant::MAX);
    assert_eq!(late.instant_at(9 * TICK + 1), Instant::MAX);
    assert_eq!(late.instant_at(9 * TICK), Instant::from_ticks(u64::MAX - 1));
}

#[test]
fn burst_then_spacing_fifo_and_never_early() {
    let _turn = serial();
    let quota = Quota::per_second(10).unwrap().with_burst(3).unwrap();
    let script = [(0, 1); 12];
    let (expected, done) = run_schedule(quota, &script);
    let ms: Vec<u64> = done.iter().map(|d| d.at / MS).collect();
    assert_eq!(ms, [0, 0, 0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    let seen: Vec<u64> = done.iter().map(|d| d.at).collect();
    assert_eq!(seen, expected, "whole-tick instants are kept exactly");
    // FIFO: in reservation order, and every pair conforms, strictly.
    assert_conforms(&per_cell(&seen, &script), quota, false);
}

#[test]
fn weights_arrivals_and_a_quota_of_fractional_ticks() {
    let _turn = serial();
    // 7 per second: cells 142,857,142.857... ns apart, not a whole number of ticks.
    let quota = Quota::new(7, Duration::from_secs(1))
        .unwrap()
        .with_burst(4)
        .unwrap();
    let script = [
        (0, 1),
        (0, 3),
        (0, 2),
        (0, 4),
        (10 * MS, 1),
        (450 * MS, 2),
        (451 * MS, 1),
        (3_000 * MS, 4), // after idleness: a full burst at once
        (3_000 * MS, 1),
        (3_100 * MS, 1),
    ];
    let (expected, done) = run_schedule(quota, &script);
    assert_eq!(expected[0], 0);
    assert_eq!(expected[1], 0, "1 + 3 cells fit the burst of 4");
    assert_eq!(expected[7], 3_000 * MS);
    // The reference instants keep the rule, rounded up to whole nanoseconds...
    assert_conforms(&per_cell(&expected, &script), quota, true);
    // ...and every completion came at the first tick that reads its instant, in FIFO order.
    let seen: Vec<u64> = done.iter().map(|d| d.at).collect();
    assert!(seen.is_sorted());
    for (&at, &seen) in expected.iter().zip(&seen) {
        assert!(seen >= at && seen - at < TICK);
    }
}

#[test]
fn dropping_before_the_instant_returns_the_cells() {
    let _turn = serial();
    let limiter = Limiter::new(Quota::per_second(10).unwrap());
    assert_eq!(poll_once(pin!(limiter.acquire())), Poll::Ready(Ok(())));

    // A future never polled takes nothing.
    drop(limiter.acquire());
    assert_eq!(limiter.snapshot().earliest, 100 * MS);

    // The newest, dropped before its instant, hands its slot back.
    {
        let mut second = Box::pin(limiter.acquire());
        assert!(poll_once(second.as_mut()).is_pending());
        assert_eq!(limiter.snapshot().earliest, 200 * MS);
        advance_by(50 * MS);
    }
    assert_eq!(limiter.snapshot().earliest, 100 * MS);
    assert_eq!(limiter.delay(1), Ok(Duration::from_millis(50)));

    // One with a later one behind it returns nothing: its slot stays empty (FIFO holds).
    let mut third = Box::pin(limiter.acquire()); // 100 ms
    let mut fourth = Box::pin(limiter.acquire()); // 200 ms
    assert!(poll_once(third.as_mut()).is_pending());
    assert!(poll_once(fourth.as_mut()).is_pending());
    drop(third);
    assert_eq!(limiter.snapshot().earliest, 300 * MS);
    // The newest still cancels.
    drop(fourth);
    assert_eq!(limiter.snapshot().earliest, 200 * MS);

    // Dropped at or after its instant, the cells were used.
    let mut fifth = Box::pin(limiter.acquire()); // 200 ms
    assert!(poll_once(fifth.as_mut()).is_pending());
    advance_to(limiter.timer().instant_at(200 * MS));
    drop(fifth);
    assert_eq!(limiter.snapshot().earliest, 300 * MS);
}

#[test]
fn too_heavy_and_empty_acquisitions_end_at_once() {
    let _turn = serial();
    let limiter = Limiter::new(Quota::per_second(10).unwrap().with_burst(3).unwrap());
    assert_eq!(
        poll_once(pin!(limiter.acquire_n(4))),
        Poll::Ready(Err(Error::TooHeavy { cells: 4, max: 3 }))
    );
    assert_eq!(
        limiter.try_acquire(4),
        Err(Error::TooHeavy { cells: 4, max: 3 })
    );
    assert_eq!(poll_once(pin!(limiter.acquire_n(0))), Poll::Ready(Ok(())));
    assert_eq!(limiter.snapshot().remaining, 3, "nothing was recorded");
    assert_eq!(poll_once(pin!(limiter.acquire_n(3))), Poll::Ready(Ok(())));
    assert_eq!(limiter.snapshot().remaining, 0);
}

#[test]
fn would_wait_reserves_nothing() {
    let _turn = serial();
    let limiter = Limiter::new(Quota::per_second(10).unwrap());
    limiter.try_acquire(1).unwrap();
    assert_eq!(
        limiter.try_acquire(1),
        Err(Error::WouldWait { at: 100 * MS })
    );
    let refused = poll_once(pin!(limiter.acquire_within(1, Duration::from_millis(99))));
    assert_eq!(refused, Poll::Ready(Err(Error::WouldWait { at: 100 * MS })));
    assert_eq!(
        limiter.snapshot().earliest,
        100 * MS,
        "nothing was recorded"
    );

    // Willing to wait long enough, it waits, and completes on time.
    let mut pool = LocalPool::new();
    let finished = Rc::new(RefCell::new(None));
    let limiter = Rc::new(limiter);
    let (l, f) = (limiter.clone(), finished.clone());
    pool.spawner()
        .spawn_local(async move {
            let result = l.acquire_within(1, Duration::from_millis(100)).await;
            *f.borrow_mut() = Some((result, l.timer().now()));
        })
        .unwrap();
    pool.run_until_stalled();
    advance_by(100 * MS - TICK);
    pool.run_until_stalled();
    assert_eq!(*finished.borrow(), None);
    advance_by(TICK);
    pool.run_until_stalled();
    assert_eq!(*finished.borrow(), Some((Ok(()), 100 * MS)));
}

#[test]
fn throttle_spaces_a_stream() {
    let _turn = serial();
    let limiter = Rc::new(Limiter::new(Quota::per_second(10).unwrap()));
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (l, s) = (limiter.clone(), seen.clone());
    pool.spawner()
        .spawn_local(async move {
            let throttle: pacer_embassy::Throttle<_, &pacer_embassy::Limiter> =
                l.throttle(futures_util::stream::iter(0..10u32));
            let mut paced = pin!(throttle);
            while let Some(item) = paced.next().await {
                s.borrow_mut().push((item, l.timer().now()));
            }
        })
        .unwrap();
    pool.run_until_stalled();
    for k in 1..10u64 {
        advance_to(limiter.timer().instant_at(k * 100 * MS - TICK));
        pool.run_until_stalled();
        assert_eq!(seen.borrow().len() as u64, k, "item {k} early");
        advance_by(TICK);
        pool.run_until_stalled();
        assert_eq!(seen.borrow().len() as u64, k + 1, "item {k} not on time");
    }
    let expected: Vec<(u32, u64)> = (0..10).map(|k| (k, u64::from(k) * 100 * MS)).collect();
    assert_eq!(*seen.borrow(), expected);
}

#[test]
fn locked_schedulers_on_the_embassy_timer() {
    let _turn = serial();
    // 10 per second, and 4 per second with a burst of 6: the second binds after 9 cells.
    let quotas = [
        Quota::per_second(10).unwrap(),
        Quota::per_second(4).unwrap().with_burst(6).unwrap(),
    ];
    let limiter: Limiter<Locked<Limits<2>>> =
        Limiter::with_limiter(Locked::new(Limits::new(quotas)));
    let window: Limiter<Locked<SlidingWindow<4>>> = Limiter::with_limiter(Locked::new(
        SlidingWindow::new(Quota::per_second(4).unwrap()).unwrap(),
    ));
    let mut pool = LocalPool::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let limiter = Rc::new(limiter);
    let window = Rc::new(window);
    let (l, w, g) = (limiter.clone(), window.clone(), log.clone());
    pool.spawner()
        .spawn_local(async move {
            for _ in 0..20 {
                let asked = l.timer().now();
                l.acquire().await.unwrap();
                g.borrow_mut().push(('l', asked, l.timer().now()));
            }
            for _ in 0..6 {
                let asked = w.timer().now();
                w.acquire().await.unwrap();
                g.borrow_mut().push(('w', asked, w.timer().now()));
            }
        })
        .unwrap();
    // Step 1 ms at a time: each completes at the first step at or after its instant.
    for _ in 0..6_000 {
        pool.run_until_stalled();
        advance_by(MS);
    }
    pool.run_until_stalled();
    let log = log.borrow();
    assert_eq!(log.len(), 26);

    let mut reference = Limits::new(quotas);
    let mut waits = Vec::new();
    for &(_, asked, went) in log.iter().filter(|&&(tag, ..)| tag == 'l') {
        let at = reference.reserve(asked, 1).unwrap().at();
        assert_eq!(went, at.div_ceil(MS) * MS, "asked at {asked}, due at {at}");
        waits.push((at - asked) / MS);
    }
    assert_eq!(waits[1..9], [100; 8], "10 per second first: {waits:?}");
    assert!(
        waits[10..].iter().all(|&w| w >= 249),
        "then 4 per second: {waits:?}"
    );

    let mut reference = SlidingWindow::<4>::new(Quota::per_second(4).unwrap()).unwrap();
    let windowed: Vec<u64> = log
        .iter()
        .filter(|&&(tag, ..)| tag == 'w')
        .map(|&(_, asked, went)| {
            let at = reference.reserve(asked, 1).unwrap().at();
            assert_eq!(went, at.div_ceil(MS) * MS);
            went
        })
        .collect();
    let offsets: Vec<u64> = windowed.iter().map(|&at| (at - windowed[0]) / MS).collect();
    assert_eq!(offsets, [0, 0, 0, 0, 1_000, 1_000]);
}

#[test]
fn a_plain_timer_reference_works_as_a_timer() {
    let _turn = serial();
    let timer = EmbassyTimer::new();
    let by_ref = &timer;
    advance_by(3 * TICK);
    assert_eq!(Clock::now(&by_ref), 3 * TICK);
    let mut sleep = pin!(Timer::sleep_until(&by_ref, 5 * TICK));
    assert!(poll_once(sleep.as_mut()).is_pending());
    advance_by(2 * TICK);
    assert!(poll_once(sleep.as_mut()).is_ready());
}

/// `KeyedLimiter`: each node keeps its own schedule on embassy-time's timer queue, each
/// acquisition completes on the first tick that reads its instant (never before) after at most
/// two polls, and a node with no room is refused with the instant a slot frees.
#[test]
fn keyed_nodes_keep_their_own_schedules() {
    let _turn = serial();
    let quota = Quota::per_second(10).unwrap(); // 100 ms per node
    let radio = Rc::new(pacer_embassy::KeyedLimiter::<u8, 2>::new(quota));
    let done: Rc<RefCell<Vec<(u8, u64)>>> = Rc::default();
    let mut pool = LocalPool::new();
    for (node, sends) in [(1u8, 3), (2, 2)] {
        for _ in 0..sends {
            let (radio, done) = (radio.clone(), done.clone());
            pool.spawner()
                .spawn_local(async move {
                    let mut acquire = pin!(radio.acquire(&node));
                    let mut polls = 0;
                    let result = poll_fn(|cx| {
                        polls += 1;
                        assert!(polls <= 2, "node {node}: polled {polls} times");
                        acquire.as_mut().poll(cx)
                    })
                    .await;
                    assert_eq!(result, Ok(()));
                    done.borrow_mut().push((node, radio.timer().now()));
                })
                .unwrap();
            pool.run_until_stalled(); // reserves before the next is spawned
        }
    }
    assert_eq!(
        radio.try_acquire(&3, 1),
        Err(Error::TableFull { at: 200 * MS }),
        "node 2 is busy until 200 ms, node 1 until 300 ms"
    );
    // One tick before each 100 ms boundary, only the sends due earlier have gone.
    for finished_before in [2, 4, 5] {
        advance_by(100 * MS - TICK);
        pool.run_until_stalled();
        assert_eq!(done.borrow().len(), finished_before, "none early");
        advance_by(TICK);
        pool.run_until_stalled();
    }
    let mut finished = done.borrow().clone();
    finished.sort();
    assert_eq!(
        finished,
        [(1, 0), (1, 100 * MS), (1, 200 * MS), (2, 0), (2, 100 * MS)]
    );
    assert_eq!(
        radio.try_acquire(&3, 1),
        Ok(()),
        "at 300 ms both nodes are idle"
    );
}

#[test]
fn a_pause_moves_every_waiter_to_the_tick() {
    let _turn = serial();
    let limiter = Rc::new(Limiter::new(Quota::per_second(10).unwrap())); // T = 100 ms
    let timer = *limiter.timer();
    let mut pool = LocalPool::new();
    let done: Rc<RefCell<Vec<(usize, u64)>>> = Rc::default();
    for tag in 0..5 {
        let (limiter, done) = (limiter.clone(), done.clone());
        pool.spawner()
            .spawn_local(async move {
                limiter.acquire().await.unwrap();
                done.borrow_mut().push((tag, limiter.timer().now()));
            })
            .unwrap();
        pool.run_until_stalled();
    }
    advance_by(100 * MS);
    pool.run_until_stalled(); // 0 and 100 ms have passed
    advance_by(50 * MS);
    assert_eq!(limiter.pause_for(Duration::from_secs(1)), Ok(true)); // until 1150 ms
    let mut now = 150 * MS;
    while now < 1_500 * MS {
        advance_by(TICK * 1_000); // 1 ms at a time
        now += TICK * 1_000;
        pool.run_until_stalled();
    }
    let done = done.borrow().clone();
    let expected: Vec<(usize, u64)> = [0, 100, 1_200, 1_300, 1_400]
        .iter()
        .enumerate()
        .map(|(tag, &ms)| (tag, tick_reading(&timer, ms * MS)))
        .collect();
    assert_eq!(done, expected, "moved by the pause, each on its tick");
}

/// `KeyedLimiter` pauses one key alone: the paused node's waiters move later by the pause,
/// in order and spaced, the other node goes on, and a third paused key beyond the default
/// room of 2 is refused without pausing anything.
#[test]
fn a_paused_node_waits_and_the_others_go_on() {
    let _turn = serial();
    let quota = Quota::per_second(10).unwrap(); // 100 ms per node
    let radio = Rc::new(pacer_embassy::KeyedLimiter::<u8, 4>::new(quota));
    let done: Rc<RefCell<Vec<(u8, u64)>>> = Rc::default();
    let mut pool = LocalPool::new();
    for node in [1u8, 1, 1, 2, 2, 2] {
        let (radio, done) = (radio.clone(), done.clone());
        pool.spawner()
            .spawn_local(async move {
                radio.acquire(&node).await.unwrap();
                done.borrow_mut().push((node, radio.timer().now()));
            })
            .unwrap();
        pool.run_until_stalled(); // reserves before the next is spawned
    }
    advance_by(50 * MS);
    pool.run_until_stalled(); // both nodes' first cells went at 0
    // Node 1 answered "busy for 1 s": its cells at 100 and 200 ms move to 1,100 and 1,200.
    assert_eq!(radio.pause_key_for(&1, Duration::from_secs(1)), Ok(true));
    assert_eq!(radio.key_paused_until(&1), Some(1_050 * MS));
    assert_eq!(radio.key_paused_until(&2), None);
    assert_eq!(radio.pause_key_for(&3, Duration::from_millis(10)), Ok(true));
    assert_eq!(
        radio.pause_key_for(&4, Duration::from_millis(10)),
        Err(Error::PausedKeysFull { capacity: 2 })
    );
    assert_eq!(
        radio.key_paused_until(&4),
        None,
        "the refused pause changed nothing"
    );
    let mut now = 50 * MS;
    while now < 1_500 * MS {
        advance_by(MS);
        now += MS;
        pool.run_until_stalled();
        for &(node, at) in done.borrow().iter() {
            assert!(at <= now, "node {node} at {at} ns, later than now");
        }
    }
    let mut finished = done.borrow().clone();
    finished.sort();
    assert_eq!(
        finished,
        [
            (1, 0),
            (1, 1_100 * MS),
            (1, 1_200 * MS),
            (2, 0),
            (2, 100 * MS),
            (2, 200 * MS)
        ]
    );
}
