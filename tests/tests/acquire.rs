//! The acquisition future on the manual timer: FIFO order, exact instants, never early, at most
//! two polls per waiter, cancellation on drop, weights and errors.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use pacer_core::{AtomicLimiter, Clock, Error, ManualTimer, Pacer, Quota, RateLimiter};
use pacer_tests::{CountPolls, drive, gcra_violation};

type ManualPacer = Pacer<AtomicLimiter, ManualTimer>;

fn pacer(quota: Quota) -> (Rc<ManualPacer>, ManualTimer) {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(AtomicLimiter::new(quota), timer.clone());
    (Rc::new(pacer), timer)
}

#[test]
fn waiters_complete_in_order_at_exact_instants() {
    let (pacer, timer) = pacer(Quota::per_second(3).unwrap());
    let mut pool = LocalPool::new();
    let passed = Rc::new(RefCell::new(Vec::new()));
    for k in 0..30u64 {
        let (pacer, timer, passed) = (pacer.clone(), timer.clone(), passed.clone());
        pool.spawner()
            .spawn_local(async move {
                pacer.acquire().await.unwrap();
                passed.borrow_mut().push((k, timer.now()));
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 100, || passed.borrow().len() == 30);
    let passed = passed.borrow();
    for (k, &(task, at)) in passed.iter().enumerate() {
        assert_eq!(task, k as u64, "FIFO: the k-th waiter passes k-th");
        // Cell k's exact instant is k/3 s, rounded up to a nanosecond; never earlier.
        assert_eq!(at, (k as u64 * 1_000_000_000).div_ceil(3));
    }
    let instants: Vec<u64> = passed.iter().map(|&(_, at)| at).collect();
    assert_eq!(gcra_violation(&instants, 3, 1_000_000_000, 1), None);
}

#[test]
fn a_thousand_waiters_are_each_polled_at_most_twice() {
    let (pacer, timer) = pacer(Quota::per_second(1000).unwrap());
    let mut pool = LocalPool::new();
    let polls: Vec<Arc<AtomicUsize>> = (0..1000).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let finished = Rc::new(Cell::new(0));
    for counter in &polls {
        let (pacer, counter, finished) = (pacer.clone(), counter.clone(), finished.clone());
        pool.spawner()
            .spawn_local(async move {
                let pacer = pacer.clone();
                CountPolls::new(pacer.acquire(), counter).await.unwrap();
                finished.set(finished.get() + 1);
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 2000, || finished.get() == 1000);
    assert_eq!(polls[0].load(SeqCst), 1, "the first waiter goes at once");
    let worst = polls.iter().map(|p| p.load(SeqCst)).max().unwrap();
    assert!(worst <= 2, "a waiter was polled {worst} times");
    // The last of 1,000 at 1,000/s passes at 999 ms exactly.
    assert_eq!(timer.now(), 999_000_000);
}

#[test]
fn dropping_the_newest_waiter_returns_its_slot() {
    let (pacer, timer) = pacer(Quota::per_second(10).unwrap());
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut first = pin!(pacer.acquire());
    assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    let mut second = Box::pin(pacer.acquire());
    let mut third = Box::pin(pacer.acquire());
    assert!(second.as_mut().poll(&mut cx).is_pending()); // 100 ms
    assert!(third.as_mut().poll(&mut cx).is_pending()); // 200 ms
    drop(third);
    assert_eq!(timer.sleepers(), 1, "the dropped waiter's sleep is gone");
    // The next waiter takes the returned slot.
    assert_eq!(pacer.limiter().earliest(timer.now(), 1), Ok(200_000_000));

    // A waiter with a later one behind it leaves its slot empty: nobody overtakes.
    let mut fourth = Box::pin(pacer.acquire());
    assert!(fourth.as_mut().poll(&mut cx).is_pending()); // 200 ms
    drop(second);
    assert_eq!(pacer.limiter().earliest(timer.now(), 1), Ok(300_000_000));

    timer.set(199_999_999);
    assert!(fourth.as_mut().poll(&mut cx).is_pending(), "never early");
    timer.set(200_000_000);
    assert_eq!(fourth.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
}

#[test]
fn a_future_never_polled_takes_nothing() {
    let (pacer, timer) = pacer(Quota::per_second(10).unwrap());
    let unpolled = pacer.acquire();
    assert_eq!(pacer.limiter().earliest(timer.now(), 1), Ok(0));
    drop(unpolled);
    assert_eq!(pacer.try_acquire(1), Ok(()));
}

#[test]
fn weights_take_several_cells_at_one_instant() {
    let (pacer, timer) = pacer(Quota::per_second(10).unwrap().with_burst(5).unwrap());
    let mut pool = LocalPool::new();
    let passed = Rc::new(RefCell::new(Vec::new()));
    for cells in [5, 3, 4] {
        let (pacer, timer, passed) = (pacer.clone(), timer.clone(), passed.clone());
        pool.spawner()
            .spawn_local(async move {
                pacer.acquire_n(cells).await.unwrap();
                passed.borrow_mut().extend((0..cells).map(|_| timer.now()));
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 10, || passed.borrow().len() == 12);
    // 5 at once (the burst), then 3 need three intervals refilled, then 4 need four more.
    assert_eq!(
        *passed.borrow(),
        [0, 0, 0, 0, 0, 300_000_000, 300_000_000, 300_000_000]
            .into_iter()
            .chain([700_000_000; 4])
            .collect::<Vec<_>>()
    );
    assert_eq!(gcra_violation(&passed.borrow(), 10, 1_000_000_000, 5), None);
}

#[test]
fn errors_come_at_once_and_record_nothing() {
    let (pacer, timer) = pacer(Quota::per_second(10).unwrap().with_burst(2).unwrap());
    futures::executor::block_on(async {
        assert_eq!(
            pacer.acquire_n(3).await,
            Err(Error::TooHeavy { cells: 3, max: 2 })
        );
        pacer.acquire_n(2).await.unwrap();
        assert_eq!(
            pacer.acquire_within(1, Duration::from_millis(50)).await,
            Err(Error::WouldWait { at: 100_000_000 })
        );
        assert_eq!(pacer.limiter().earliest(timer.now(), 1), Ok(100_000_000));
        assert_eq!(pacer.acquire_n(0).await, Ok(()));
    });
}

#[test]
fn a_failed_acquisition_polled_again_repeats_its_error() {
    let (pacer, _timer) = pacer(Quota::per_second(10).unwrap());
    let mut cx = Context::from_waker(Waker::noop());
    let mut heavy = pin!(pacer.acquire_n(2));
    let refused = Poll::Ready(Err(Error::TooHeavy { cells: 2, max: 1 }));
    assert_eq!(heavy.as_mut().poll(&mut cx), refused);
    assert_eq!(heavy.as_mut().poll(&mut cx), refused);
}

#[test]
fn a_finished_acquisition_polled_again_stays_finished() {
    let (pacer, timer) = pacer(Quota::per_second(10).unwrap());
    let mut cx = Context::from_waker(Waker::noop());
    pacer.try_acquire(1).unwrap();
    let mut waiting = Box::pin(pacer.acquire());
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    timer.advance(Duration::from_millis(100));
    assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    // The second poll reserved nothing more: the next cell is still at 200 ms.
    assert_eq!(pacer.limiter().earliest(timer.now(), 1), Ok(200_000_000));
}

/// A timer whose first `early` sleeps end at once, whatever the clock says.
struct EarlyTimer {
    inner: ManualTimer,
    early: Cell<u32>,
}

impl Clock for EarlyTimer {
    fn now(&self) -> u64 {
        self.inner.now()
    }
}

impl pacer_core::Timer for EarlyTimer {
    type Sleep = Pin<Box<dyn Future<Output = ()>>>;

    fn sleep_until(&self, at: u64) -> Self::Sleep {
        if self.early.get() > 0 {
            self.early.set(self.early.get() - 1);
            Box::pin(std::future::ready(()))
        } else {
            Box::pin(self.inner.sleep_until(at))
        }
    }
}

#[test]
fn a_timer_that_fires_early_is_slept_on_again() {
    let inner = ManualTimer::new();
    let timer = EarlyTimer {
        inner: inner.clone(),
        early: Cell::new(2),
    };
    let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(10).unwrap()), timer);
    let mut cx = Context::from_waker(Waker::noop());
    pacer.try_acquire(1).unwrap();
    let mut waiting = pin!(pacer.acquire());
    // Two sleeps end at once at instant 0; the acquisition sleeps a third time instead of
    // passing 100 ms early.
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    assert_eq!(pacer.timer().early.get(), 0);
    inner.advance(Duration::from_millis(99));
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    inner.advance(Duration::from_millis(1));
    assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
}
