//! Each acquisition sleeps once: with 1,000 concurrent waiters, every acquisition future is
//! polled at most twice (once to reserve, once when its timer fires).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pacer_tokio::{Clock, Limiter, Quota};

/// A future that counts how often it is polled.
struct Counting<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for Counting<F> {
    type Output = (F::Output, u32);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls += 1;
        let polls = self.polls;
        self.inner.as_mut().poll(cx).map(|output| (output, polls))
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_waiters_are_each_polled_at_most_twice() {
    const WAITERS: u64 = 1_000;
    let limiter = Arc::new(Limiter::new(Quota::per_second(1_000).unwrap()));
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let (result, polls) = Counting {
                    inner: Box::pin(limiter.acquire()),
                    polls: 0,
                }
                .await;
                result.unwrap();
                (limiter.timer().now(), polls)
            })
        })
        .collect();
    let mut done = Vec::new();
    for handle in handles {
        done.push(handle.await.unwrap());
    }
    let most = done.iter().map(|&(_, polls)| polls).max().unwrap();
    assert!(most <= 2, "an acquisition was polled {most} times");
    // One per millisecond, each at its own.
    done.sort_unstable();
    for (i, &(at, _)) in done.iter().enumerate() {
        assert_eq!(at, i as u64 * 1_000_000);
    }
    assert_eq!(done[0].1, 1, "the first goes at once");
    assert!(
        done[1..].iter().all(|&(_, polls)| polls == 2),
        "a waiter never slept"
    );
}
