//! The glue on async-std's timer: correctness only, no timing assertions (a loaded machine may
//! wake any sleep late; what must hold is that none wakes early).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures_lite::stream::{self, StreamExt};
use pacer_async_std::{AsyncStdTimer, Clock, Gate, Limiter, Quota, Throttle, Timer};

const MS: u64 = 1_000_000;

#[test]
fn sleep_until_never_wakes_early() {
    let timer = AsyncStdTimer::new();
    async_std::task::block_on(async {
        let at = timer.now() + 3 * MS;
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    });
    // The same in a task of async-std's executor.
    let at = timer.now() + 2 * MS;
    async_std::task::block_on(async_std::task::spawn(async move {
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    }));
}

#[test]
fn past_instants_are_due_at_once_and_unreachable_ones_never() {
    let timer = AsyncStdTimer::default();
    let mut cx = Context::from_waker(Waker::noop());
    let mut past = pin!(timer.sleep_until(0));
    assert_eq!(past.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(
        past.as_mut().poll(&mut cx),
        Poll::Ready(()),
        "stays complete"
    );
    // 584 years away (or beyond what `Instant` can hold): pending, not early.
    let mut far = pin!(timer.sleep_until(u64::MAX));
    assert_eq!(far.as_mut().poll(&mut cx), Poll::Pending);
    // Copies share the origin.
    let copy = timer;
    assert_eq!(copy.origin(), timer.origin());
    assert_eq!(timer.instant(0), Some(timer.origin()));
}

#[test]
fn limiter_gate_and_throttle_on_the_real_timer() {
    async_std::task::block_on(async {
        // 1,000 per second: the third acquisition cannot complete before 2 ms.
        let limiter = Limiter::new(Quota::per_second(1_000).unwrap());
        for _ in 0..3 {
            limiter.acquire().await.unwrap();
        }
        assert!(limiter.timer().now() >= 2 * MS);

        let gate = Gate::new(Quota::per_second(1_000).unwrap(), 2).unwrap();
        let permit = gate.acquire().await.unwrap();
        assert_eq!(gate.available(), 1);
        drop(permit);

        let paced: Throttle<'_, _> = limiter.throttle(stream::iter([1, 2, 3]));
        let items: Vec<i32> = paced.collect().await;
        assert_eq!(items, [1, 2, 3]);
        assert!(limiter.timer().now() >= 5 * MS);
    });
}
