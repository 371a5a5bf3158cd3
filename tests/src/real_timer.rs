//! Checks of an adapter's glue on its real timer: correctness only, no timing assertions (a
//! loaded machine may wake any sleep late; what must hold is that none wakes early).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures::StreamExt;
use pacer_core::{
    AtomicLimiter, Gate, KeyedPacer, Pacer, Pausable, Quota, ShardedKeyedGcra, Throttle, Timer,
};

const MS: u64 = 1_000_000;

/// What the real-timer checks need from an executor.
pub trait BlockOn {
    /// Runs `future` to completion on this thread.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Runs `future` to completion as a task of the executor, and waits for it.
    fn block_on_task<F: Future<Output = ()> + Send + 'static>(&self, future: F);
}

/// A sleep never ends before its instant: on the blocking thread, then in a task of the
/// executor.
pub fn sleep_until_never_wakes_early<T>(rt: &impl BlockOn, timer: T)
where
    T: Timer + Copy + Send + 'static,
    T::Sleep: Send,
{
    rt.block_on(async {
        let at = timer.now() + 3 * MS;
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    });
    // The same in a task of the executor.
    let at = timer.now() + 2 * MS;
    rt.block_on_task(async move {
        timer.sleep_until(at).await;
        assert!(timer.now() >= at);
    });
}

/// A sleep until an instant already past is due at its first poll (and stays complete); one
/// until an instant the platform cannot reach stays pending.
pub fn past_instants_are_due_at_once_and_unreachable_ones_never<T: Timer>(timer: &T) {
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
}

/// Copies of `timer` share its origin (read by `origin`), and instant 0 is that origin (by
/// `instant`, the timer's conversion of an instant to an `Instant`).
pub fn copies_share_the_origin<T: Copy>(
    timer: T,
    origin: impl Fn(&T) -> Instant,
    instant: impl Fn(&T, u64) -> Option<Instant>,
) {
    let copy = timer;
    assert_eq!(origin(&copy), origin(&timer));
    assert_eq!(instant(&timer, 0), Some(origin(&timer)));
}

/// A limiter, a gate and a throttle on the real timer `T` wait at least as long as their quota
/// requires.
pub fn limiter_gate_and_throttle<T: Timer + Default>(rt: &impl BlockOn) {
    rt.block_on(async {
        // 1,000 per second: the third acquisition cannot complete before 2 ms.
        let limiter = Pacer::<Pausable<AtomicLimiter>, T>::new(Quota::per_second(1_000).unwrap());
        for _ in 0..3 {
            limiter.acquire().await.unwrap();
        }
        assert!(limiter.timer().now() >= 2 * MS);

        let gate =
            Gate::<Pausable<AtomicLimiter>, T>::new(Quota::per_second(1_000).unwrap(), 2).unwrap();
        let permit = gate.acquire().await.unwrap();
        assert_eq!(gate.available(), 1);
        drop(permit);

        let paced: Throttle<_, &Pacer<Pausable<AtomicLimiter>, T>> =
            limiter.throttle(futures::stream::iter([1, 2, 3]));
        let items: Vec<i32> = paced.collect().await;
        assert_eq!(items, [1, 2, 3]);
        assert!(limiter.timer().now() >= 5 * MS);

        // Per key: the third acquisition of one key cannot complete before 2 ms after its
        // first; another key waits for none of them.
        let keyed = KeyedPacer::<Pausable<ShardedKeyedGcra<String>>, T>::new(
            Quota::per_second(1_000).unwrap(),
            16,
        )
        .unwrap();
        let start = keyed.timer().now();
        for _ in 0..3 {
            keyed.acquire("a").await.unwrap();
        }
        assert!(keyed.timer().now() >= start + 2 * MS);
        assert_eq!(keyed.try_acquire("b", 1), Ok(()));
    });
}
