//! The behaviour futures-timer users rely on, tested the way they would test their own code:
//! on pacer's `ManualTimer`, driven on a `futures::executor::LocalPool`. Nothing here waits
//! on the wall clock; instants are exact.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use pacer_core::{ManualTimer, Pacer};
use pacer_futures_timer::traits::{Clock, Timer};
use pacer_futures_timer::{AtomicLimiter, Error, Quota};
use pacer_tests::race::{Race, Record};
use pacer_tests::{assert_conforms, count_polls};

const MS: u64 = 1_000_000;

type TestLimiter = Pacer<AtomicLimiter, ManualTimer>;
type TestGate = pacer_core::Gate<AtomicLimiter, ManualTimer>;

fn limiter(quota: Quota) -> (TestLimiter, ManualTimer) {
    let timer = ManualTimer::new();
    (
        Pacer::from_parts(AtomicLimiter::new(quota), timer.clone()),
        timer,
    )
}

/// Runs every task until all are done, moving the clock straight to each next wake-up.
fn run(pool: &mut LocalPool, timer: &ManualTimer) {
    loop {
        pool.run_until_stalled();
        match timer.next_wake() {
            Some(at) => timer.set(at),
            None => break,
        }
    }
}

/// Spawns `tasks` tasks that each take one cell, runs them, and returns their records in
/// first-poll order.
fn race(quota: Quota, tasks: usize) -> Vec<Record> {
    let (limiter, timer) = limiter(quota);
    let limiter = Rc::new(limiter);
    let race = Rc::new(Race::default());
    let records = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();
    for _ in 0..tasks {
        let (limiter, race, records) = (limiter.clone(), race.clone(), records.clone());
        pool.spawner()
            .spawn_local(async move {
                let record = race.take_one(&limiter).await;
                records.borrow_mut().push(record);
            })
            .unwrap();
    }
    run(&mut pool, &timer);
    let mut records = records.take();
    assert_eq!(records.len(), tasks);
    records.sort_by_key(|r| r.ticket);
    records
}

#[test]
fn fifo_never_early_and_conforming() {
    let quota = Quota::per_second(100).unwrap();
    let records = race(quota, 100);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.reserved, i as u64 * 10 * MS, "{r:?}");
        assert_eq!(r.completed, r.reserved, "{r:?}");
        assert_eq!(r.finish_order, r.ticket, "out of order: {r:?}");
    }
    let completed: Vec<u64> = records.iter().map(|r| r.completed).collect();
    assert_conforms(&completed, quota);
}

#[test]
fn conforming_with_a_burst_and_a_fractional_interval() {
    let quota = Quota::per_second(3).unwrap().with_burst(2).unwrap();
    let records = race(quota, 40);
    let mut previous = 0;
    for r in &records {
        assert_eq!(r.completed, r.reserved, "{r:?}");
        assert!(r.completed >= previous, "FIFO broken: {r:?}");
        previous = r.completed;
    }
    assert_eq!(records[2].completed, 333_333_334);
    let completed: Vec<u64> = records.iter().map(|r| r.completed).collect();
    assert_conforms(&completed, quota);
}

#[test]
fn dropping_the_newest_waiter_returns_its_slot() {
    let (limiter, timer) = limiter(Quota::per_second(10).unwrap());
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(futures::executor::block_on(limiter.acquire()).is_ok()); // 0 ms
    let mut newest = Box::pin(limiter.acquire());
    assert!(newest.as_mut().poll(&mut cx).is_pending()); // reserved 100 ms
    timer.advance(Duration::from_millis(50));
    drop(newest);
    let mut next = Box::pin(limiter.acquire());
    assert!(next.as_mut().poll(&mut cx).is_pending());
    timer.advance(Duration::from_millis(50));
    assert_eq!(next.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(timer.now(), 100 * MS, "the next waiter got the freed slot");
}

#[test]
fn weights() {
    let quota = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let (limiter, timer) = limiter(quota);
    let limiter = Rc::new(limiter);
    let mut pool = LocalPool::new();
    let done = Rc::new(RefCell::new(Vec::new()));
    pool.spawner()
        .spawn_local({
            let (limiter, done) = (limiter.clone(), done.clone());
            async move {
                for n in [5, 2, 5, 1, 0] {
                    limiter.acquire_n(n).await.unwrap();
                    done.borrow_mut().push((n, limiter.timer().now()));
                }
            }
        })
        .unwrap();
    run(&mut pool, &timer);
    let done = done.take();
    assert_eq!(
        done,
        [
            (5, 0),
            (2, 200 * MS),
            (5, 700 * MS),
            (1, 800 * MS),
            (0, 800 * MS)
        ]
    );
    let cells: Vec<u64> = done
        .iter()
        .flat_map(|&(n, at)| std::iter::repeat_n(at, n as usize))
        .collect();
    assert_conforms(&cells, quota);
}

#[test]
fn errors_fail_at_once_and_take_nothing() {
    let (limiter, timer) = limiter(Quota::per_second(10).unwrap().with_burst(5).unwrap());
    futures::executor::block_on(async {
        assert_eq!(
            limiter.acquire_n(6).await,
            Err(Error::TooHeavy { cells: 6, max: 5 })
        );
        limiter.acquire_n(5).await.unwrap();
        assert_eq!(
            limiter.acquire_within(1, Duration::from_millis(99)).await,
            Err(Error::WouldWait { at: 100 * MS })
        );
        assert_eq!(timer.sleepers(), 0, "a refused acquisition waits");
        assert_eq!(limiter.delay(1), Ok(Duration::from_millis(100)));
    });
}

#[test]
fn throttle_spaces_a_stream() {
    let (limiter, timer) = limiter(Quota::per_second(20).unwrap());
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let limiter = Rc::new(limiter);
    pool.spawner()
        .spawn_local({
            let (limiter, seen) = (limiter.clone(), seen.clone());
            async move {
                let mut paced = std::pin::pin!(limiter.throttle(futures::stream::iter(0..10u64)));
                while let Some(item) = paced.next().await {
                    seen.borrow_mut().push((item, limiter.timer().now()));
                }
            }
        })
        .unwrap();
    run(&mut pool, &timer);
    let expected: Vec<(u64, u64)> = (0..10).map(|i| (i, i * 50 * MS)).collect();
    assert_eq!(seen.take(), expected);
}

#[test]
fn gate_never_exceeds_its_concurrency() {
    let quota = Quota::per_second(100).unwrap();
    let (pacer, timer) = limiter(quota);
    let gate = Rc::new(TestGate::from_parts(pacer, 4).unwrap());
    let in_flight = Rc::new(AtomicUsize::new(0));
    let most = Rc::new(AtomicUsize::new(0));
    let starts = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();
    for i in 0..50u64 {
        let (gate, in_flight, most, starts, timer) = (
            gate.clone(),
            in_flight.clone(),
            most.clone(),
            starts.clone(),
            timer.clone(),
        );
        pool.spawner()
            .spawn_local(async move {
                let _permit = gate.acquire().await.unwrap();
                let start = timer.now();
                starts.borrow_mut().push(start);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                timer.sleep_until(start + (20 + (i * 37) % 94) * MS).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    run(&mut pool, &timer);
    assert_eq!(most.load(Ordering::SeqCst), 4);
    assert_eq!(gate.available(), 4);
    let starts = starts.take();
    assert_eq!(starts.len(), 50);
    assert_conforms(&starts, quota);
}

#[test]
fn a_thousand_waiters_are_each_polled_at_most_twice() {
    let (limiter, timer) = limiter(Quota::per_second(1_000).unwrap());
    let limiter = Rc::new(limiter);
    let done = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();
    for _ in 0..1_000 {
        let (limiter, done) = (limiter.clone(), done.clone());
        pool.spawner()
            .spawn_local(async move {
                let (result, polls) = count_polls(limiter.acquire()).await;
                result.unwrap();
                done.borrow_mut().push((limiter.timer().now(), polls));
            })
            .unwrap();
    }
    run(&mut pool, &timer);
    let mut done = done.take();
    done.sort_unstable();
    assert_eq!(done.len(), 1_000);
    for (i, &(at, polls)) in done.iter().enumerate() {
        assert_eq!(at, i as u64 * MS);
        assert_eq!(polls, if i == 0 { 1 } else { 2 }, "waiter at {at}");
    }
}

#[test]
fn the_aliases_name_the_futures_timer_types() {
    let limiter = pacer_futures_timer::Limiter::new(Quota::per_second(5).unwrap());
    let _: &pacer_futures_timer::FuturesTimer = limiter.timer();
    limiter.try_acquire(1).unwrap();
    assert!(limiter.try_acquire(1).is_err());
    let gate = pacer_futures_timer::Gate::new(Quota::per_second(5).unwrap(), 0);
    assert_eq!(gate.err(), Some(Error::ZeroConcurrency));
    // Timer is implemented for the real timer too; its glue is tested in real_timer.rs.
    fn is_timer<T: Timer + Default + Copy>() {}
    is_timer::<pacer_futures_timer::FuturesTimer>();
}

/// A `LocalPool` as the scenario suite's executor: spawned tasks keep a remote handle, whose
/// drop cancels them. A detached task's handle is kept rather than forgotten: forgetting
/// drops its receiver, which wakes the task once more for nothing.
struct Pool(
    RefCell<LocalPool>,
    RefCell<Vec<futures::future::RemoteHandle<()>>>,
);

impl pacer_tests::scenarios::Rt for Pool {
    type Handle = futures::future::RemoteHandle<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Self::Handle {
        self.0
            .borrow()
            .spawner()
            .spawn_local_with_handle(future)
            .expect("the pool is running")
    }

    fn detach(&self, handle: Self::Handle) {
        self.1.borrow_mut().push(handle);
    }

    fn cancel(&self, handle: Self::Handle) {
        drop(handle);
        self.settle();
    }

    fn settle(&self) {
        self.0.borrow_mut().run_until_stalled();
    }
}

#[test]
fn keyed_acquisitions_per_key() {
    let pool = Pool(RefCell::default(), RefCell::default());
    pacer_tests::scenarios::keyed_acquisitions(&pool);
}

#[test]
fn a_pause_moves_every_waiter() {
    let pool = Pool(RefCell::default(), RefCell::default());
    pacer_tests::scenarios::pause_moves_every_waiter(&pool);
}

#[test]
fn a_pause_of_one_key_moves_its_waiters() {
    let pool = Pool(RefCell::default(), RefCell::default());
    pacer_tests::scenarios::key_pause_moves_its_waiters(&pool);
}
