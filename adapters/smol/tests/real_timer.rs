//! The glue on smol's real timer: correctness only, no timing assertions (a loaded machine may
//! wake any sleep late; what must hold is that none wakes early).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use pacer_smol::{Clock, Gate, Limiter, Quota, SmolTimer, Throttle, Timer};
use smol::stream::{self, StreamExt};

const MS: u64 = 1_000_000;

#[test]
fn sleep_until_never_wakes_early() {
    let timer = SmolTimer::new();
    smol::block_on(async {
        let at = timer.now() + 3 * MS;
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    });
    // The same in a task of smol's global executor.
    let at = timer.now() + 2 * MS;
    smol::block_on(smol::spawn(async move {
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    }));
}

#[test]
fn past_instants_are_due_at_once_and_unreachable_ones_never() {
    let timer = SmolTimer::default();
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
    smol::block_on(async {
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
