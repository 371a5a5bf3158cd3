//! Virtual time that moves by itself (`ManualTimer::run`, `ManualTimer::block_on`), and a
//! throttled stream that owns its share of the limiter.

use std::sync::Arc;
use std::time::Duration;

use futures_executor::LocalPool;
use futures_util::{StreamExt, stream};
use pacer_core::{AtomicLimiter, Clock, Error, ManualTimer, Pacer, Quota, Throttle};

fn pacer(per_second: u32, timer: &ManualTimer) -> Pacer<AtomicLimiter, ManualTimer> {
    let quota = Quota::per_second(per_second).expect("a valid quota");
    Pacer::from_parts(AtomicLimiter::new(quota), timer.clone())
}

#[test]
fn block_on_moves_time_to_each_wait_and_no_further() -> Result<(), Error> {
    let timer = ManualTimer::new();
    let pacer = pacer(10, &timer);
    let instants = timer.block_on(async {
        let mut instants = Vec::new();
        for _ in 0..25 {
            pacer.acquire().await?;
            instants.push(pacer.timer().now());
        }
        Ok::<_, Error>(instants)
    })?;
    let expected: Vec<u64> = (0..25).map(|i| i * 100_000_000).collect();
    assert_eq!(instants, expected);
    assert_eq!(timer.now(), 2_400_000_000);
    assert_eq!(timer.sleepers(), 0);
    Ok(())
}

#[test]
fn joined_waiters_are_served_in_order_on_virtual_time() -> Result<(), Error> {
    let timer = ManualTimer::new();
    let pacer = pacer(5, &timer);
    let at = || async { pacer.acquire().await.map(|()| pacer.timer().now()) };
    let (a, b, c) = timer.block_on(async { futures_util::join!(at(), at(), at()) });
    assert_eq!((a?, b?, c?), (0, 200_000_000, 400_000_000));
    Ok(())
}

#[test]
fn a_future_that_never_sleeps_does_not_move_time() {
    let timer = ManualTimer::new();
    timer.set(7);
    assert_eq!(timer.block_on(async { 1 + 1 }), 2);
    assert_eq!(timer.now(), 7);
}

#[test]
fn run_drives_a_local_pool() -> Result<(), Error> {
    let timer = ManualTimer::new();
    let pacer = pacer(4, &timer);
    let mut pool = LocalPool::new();
    let paced: Vec<u32> = pool.run_until(timer.run(pacer.throttle(stream::iter(0..5)).collect()));
    assert_eq!(paced, [0, 1, 2, 3, 4]);
    assert_eq!(timer.now(), 1_000_000_000);
    Ok(())
}

#[test]
fn time_waits_while_a_wake_is_pending() {
    // A future that wakes itself before it sleeps: the run polls it again rather than move
    // time, so the sleep is registered at the instant it was asked for.
    let timer = ManualTimer::new();
    let mut yielded = false;
    let finished_at = timer.block_on(std::future::poll_fn(|cx| {
        if !yielded {
            yielded = true;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(timer.now())
    }));
    assert_eq!(finished_at, 0);
}

/// A function can return a throttled stream that owns a share of the limiter.
fn paced_ids(
    limiter: &Arc<Pacer<AtomicLimiter, ManualTimer>>,
) -> impl futures_core::Stream<Item = u32> + Send + 'static {
    Throttle::new(Arc::clone(limiter), stream::iter(1..=3))
}

#[test]
fn a_returned_stream_keeps_the_shared_limit() {
    let timer = ManualTimer::new();
    let limiter = Arc::new(pacer(2, &timer));
    let (first, second) = timer.block_on(async {
        let first = paced_ids(&limiter)
            .map(|id| (id, timer.now()))
            .collect::<Vec<_>>();
        let second = paced_ids(&limiter)
            .map(|id| (id, timer.now()))
            .collect::<Vec<_>>();
        futures_util::join!(first, second)
    });
    // Two streams on one limit of 2/s take turns, 500 ms apart.
    let mut instants: Vec<u64> = first.iter().chain(&second).map(|&(_, at)| at).collect();
    instants.sort_unstable();
    let expected: Vec<u64> = (0..6).map(|i| i * 500_000_000).collect();
    assert_eq!(instants, expected);
    assert_eq!(Arc::strong_count(&limiter), 1); // the streams gave their shares back
}

#[test]
fn dropping_a_waiting_owned_stream_cancels_its_reservation() {
    let timer = ManualTimer::new();
    let limiter = Arc::new(pacer(10, &timer));
    let mut paced = Box::pin(paced_ids(&limiter));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert_eq!(
        paced.poll_next_unpin(&mut cx),
        std::task::Poll::Ready(Some(1))
    );
    assert!(paced.poll_next_unpin(&mut cx).is_pending()); // 2 waits for 100 ms
    assert!(limiter.try_acquire(1).is_err());
    drop(paced);
    // The newest reservation came back: the next cell is 100 ms after the first, not 200.
    assert_eq!(limiter.delay(1), Ok(Duration::from_millis(100)));
}

#[test]
fn block_on_waits_for_a_wake_from_another_thread_without_moving_time() {
    // Nothing sleeps on the timer, so time cannot move the future: the run parks until the
    // other thread wakes it, and the clock stays where it was.
    type Slot = std::sync::Mutex<(bool, Option<std::task::Waker>)>;
    let timer = ManualTimer::new();
    let slot: Arc<Slot> = Arc::default();
    let waker_thread = {
        let slot = Arc::clone(&slot);
        std::thread::spawn(move || {
            loop {
                let mut slot = slot.lock().expect("not poisoned");
                if let Some(waker) = slot.1.take() {
                    slot.0 = true;
                    drop(slot);
                    waker.wake();
                    return;
                }
                drop(slot);
                std::thread::yield_now();
            }
        })
    };
    timer.block_on(std::future::poll_fn(|cx| {
        let mut slot = slot.lock().expect("not poisoned");
        if slot.0 {
            return std::task::Poll::Ready(());
        }
        slot.1 = Some(cx.waker().clone());
        std::task::Poll::Pending
    }));
    waker_thread.join().expect("the waking thread ran");
    assert_eq!(timer.now(), 0);
}
