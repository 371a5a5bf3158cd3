//! Pausing waiters on a manual timer, through the async layer: every waiter not yet passed
//! moves by the same amount, sleeps once more (at most three polls in all), a bounded wait
//! pushed past its bound fails and hands its slot back, a dropped waiter cancels at its moved
//! instant, and a keyed table pauses every key at once.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use pacer_core::{
    AtomicLimiter, Clock, Error, KeyedPacer, ManualTimer, Pacer, Pausable, Quota, ShardedKeyedGcra,
};

const MS: u64 = 1_000_000;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    polls: Rc<RefCell<usize>>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        *self.polls.borrow_mut() += 1;
        self.future.as_mut().poll(cx)
    }
}

type Finished = Rc<RefCell<Vec<(usize, u64, Result<(), Error>, usize)>>>;

/// Moves the clock to each next wake-up until no one sleeps.
fn run_to_end(pool: &mut LocalPool, timer: &ManualTimer) {
    pool.run_until_stalled();
    while let Some(at) = timer.next_wake() {
        timer.set(at);
        pool.run_until_stalled();
    }
}

fn pacer(count: u32) -> (Rc<Pacer<Pausable<AtomicLimiter>, ManualTimer>>, ManualTimer) {
    let timer = ManualTimer::new();
    let limiter = Pausable::new(AtomicLimiter::new(Quota::per_second(count).unwrap()));
    (Rc::new(Pacer::from_parts(limiter, timer.clone())), timer)
}

fn spawn_waiter(
    pool: &LocalPool,
    pacer: &Rc<Pacer<Pausable<AtomicLimiter>, ManualTimer>>,
    tag: usize,
    max_wait: Duration,
    finished: &Finished,
) {
    let (pacer, finished) = (pacer.clone(), finished.clone());
    pool.spawner()
        .spawn_local(async move {
            let polls = Rc::new(RefCell::new(0));
            let acquire = Counted {
                polls: polls.clone(),
                future: Box::pin(pacer.acquire_within(1, max_wait)),
            };
            let result = acquire.await;
            let now = pacer.timer().now();
            finished
                .borrow_mut()
                .push((tag, now, result, *polls.borrow()));
        })
        .unwrap();
}

#[test]
fn a_pause_moves_every_waiter_by_the_same_amount_and_each_sleeps_once_more() {
    let (pacer, timer) = pacer(10); // T = 100 ms
    let mut pool = LocalPool::new();
    let finished = Finished::default();
    for tag in 0..5 {
        spawn_waiter(&pool, &pacer, tag, Duration::MAX, &finished);
        pool.run_until_stalled();
    }
    timer.set(100 * MS);
    pool.run_until_stalled(); // 0 and 100 ms have passed
    timer.set(150 * MS);
    assert_eq!(pacer.pause_for(Duration::from_millis(1_000)), Ok(true));
    assert_eq!(pacer.paused_until(), Some(1_150 * MS));
    // A reservation made during the pause queues behind the moved ones.
    spawn_waiter(&pool, &pacer, 5, Duration::MAX, &finished);
    run_to_end(&mut pool, &timer);
    let finished = finished.borrow();
    let got: Vec<(usize, u64)> = finished.iter().map(|&(t, at, _, _)| (t, at / MS)).collect();
    assert_eq!(
        got,
        [
            (0, 0),
            (1, 100),
            (2, 1_200),
            (3, 1_300),
            (4, 1_400),
            (5, 1_500)
        ],
        "nothing in [150, 1150); the queue keeps its order and spacing"
    );
    for &(tag, _, result, polls) in finished.iter() {
        assert_eq!(result, Ok(()));
        assert!(polls <= 3, "waiter {tag} polled {polls} times");
    }
    assert_eq!(pacer.paused_until(), None);
}

#[test]
fn pauses_combine_to_the_latest_end_and_a_past_or_shorter_one_changes_nothing() {
    let (pacer, timer) = pacer(10);
    pacer.try_acquire(1).unwrap();
    assert_eq!(
        pacer.pause_until(0),
        Ok(false),
        "a pause ending now does nothing"
    );
    assert_eq!(pacer.pause_for(Duration::from_millis(500)), Ok(true));
    assert_eq!(pacer.pause_for(Duration::from_millis(300)), Ok(false));
    timer.set(200 * MS);
    assert_eq!(pacer.pause_for(Duration::from_millis(500)), Ok(true)); // to 700 ms
    assert_eq!(pacer.paused_until(), Some(700 * MS));
    // The clock stood still from 0 to 700 ms: the next cell, due at 100 ms, goes at 800 ms.
    assert_eq!(pacer.delay(1), Ok(Duration::from_millis(600)));
    assert_eq!(pacer.snapshot().remaining, 0, "nothing goes while paused");
    assert_eq!(
        pacer.pause_for(Duration::from_secs(2 * 86_400)),
        Err(Error::PauseTooLong {
            until: 200 * MS + 2 * 86_400 * 1_000 * MS,
            max: 86_400 * 1_000 * MS
        }),
        "an absurd pause is refused and changes nothing"
    );
    assert_eq!(pacer.paused_until(), Some(700 * MS));
}

#[test]
fn a_bounded_wait_pushed_past_its_bound_fails_and_hands_its_slot_back() {
    let (pacer, timer) = pacer(10);
    let mut pool = LocalPool::new();
    let finished = Finished::default();
    pacer.try_acquire(1).unwrap(); // the cell at 0
    spawn_waiter(&pool, &pacer, 0, Duration::from_millis(500), &finished); // for 100 ms
    pool.run_until_stalled();
    timer.set(50 * MS);
    pacer.pause_for(Duration::from_millis(1_000)).unwrap(); // to 1050: the waiter to 1100
    run_to_end(&mut pool, &timer);
    let list = finished.borrow().clone();
    assert_eq!(list.len(), 1);
    let (_, at, result, polls) = list[0];
    assert_eq!(at, 100 * MS, "it learns when its timer fires");
    assert_eq!(result, Err(Error::WouldWait { at: 1_100 * MS }));
    assert!(polls <= 2);
    // It was the newest: its slot came back, so the next cell is again the one at 1100 ms.
    assert_eq!(pacer.delay(1), Ok(Duration::from_millis(1_000)));
    // A bounded wait that cannot end before the pause does is refused at once.
    assert_eq!(
        pacer
            .acquire_within(1, Duration::from_millis(10))
            .now_or_never(),
        Some(Err(Error::WouldWait { at: 1_100 * MS }))
    );
}

#[test]
fn a_waiter_dropped_during_a_pause_cancels_at_its_moved_instant() {
    let (pacer, timer) = pacer(10);
    pacer.try_acquire(1).unwrap();
    let mut pending = Box::pin(pacer.acquire());
    assert_eq!((&mut pending).now_or_never(), None);
    timer.set(50 * MS);
    pacer.pause_for(Duration::from_millis(1_000)).unwrap();
    timer.set(200 * MS); // past its old instant, before its moved one (1100 ms)
    assert_eq!((&mut pending).now_or_never(), None, "it sleeps again");
    assert_eq!(timer.next_wake(), Some(1_100 * MS));
    drop(pending); // the newest: its slot comes back
    assert_eq!(timer.sleepers(), 0);
    assert_eq!(
        pacer.delay(1),
        Ok(Duration::from_millis(900)),
        "the slot at 1100 ms is free"
    );
}

#[test]
fn a_keyed_table_pauses_every_key() {
    let timer = ManualTimer::new();
    let table = ShardedKeyedGcra::<String>::new(Quota::per_second(10).unwrap(), 16).unwrap();
    let keyed = KeyedPacer::from_parts(Pausable::new(table), timer.clone());
    keyed.try_acquire("a", 1).unwrap();
    keyed.try_acquire("b", 1).unwrap();
    keyed.pause_for(Duration::from_millis(400)).unwrap();
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(500)));
    assert_eq!(
        keyed.delay("c", 1),
        Ok(Duration::from_millis(400)),
        "a new key waits too"
    );
    timer.set(400 * MS);
    assert_eq!(keyed.paused_until(), None);
    assert!(keyed.try_acquire("c", 1).is_ok());
    assert!(keyed.try_acquire("a", 1).is_err(), "a's next is at 500 ms");
}

/// Polls a future once, for the answers that need no waiting.
trait NowOrNever: Future + Sized {
    fn now_or_never(self) -> Option<Self::Output> {
        let mut future = Box::pin(self);
        let waker = futures_util::task::noop_waker();
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        }
    }
}

impl<F: Future> NowOrNever for F {}

#[test]
fn a_quota_changed_during_a_pause_applies_where_the_limiter_resumes() {
    use pacer_core::{Gcra, Locked};
    let timer = ManualTimer::new();
    let limiter = Pausable::new(Locked::new(Gcra::new(Quota::per_second(10).unwrap())));
    let pacer = Pacer::from_parts(limiter, timer.clone());
    pacer.try_acquire(1).unwrap(); // at 0; the next at 100 ms
    timer.set(50 * MS);
    pacer.pause_for(Duration::from_millis(1_000)).unwrap(); // to 1050 ms
    pacer.set_quota(Quota::per_second(2).unwrap()).unwrap(); // 500 ms apart from now on
    assert_eq!(pacer.quota(), Quota::per_second(2).unwrap());
    // The limiter's clock stands at 50 ms, where half of the old interval is still owed; the
    // change carries it over as half of the new one (250 ms), so the next cell goes at 300 ms
    // of the limiter's time: 1300 ms of the caller's, 1250 ms from now.
    assert_eq!(pacer.delay(1), Ok(Duration::from_millis(1_250)));
}
