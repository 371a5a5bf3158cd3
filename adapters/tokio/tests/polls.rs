//! Each acquisition sleeps once: with 1,000 concurrent waiters, every acquisition future is
//! polled at most twice (once to reserve, once when its timer fires).

use std::sync::Arc;

use pacer_tests::count_polls;
use pacer_tokio::traits::Clock;
use pacer_tokio::{Limiter, Quota};

#[tokio::test(start_paused = true)]
async fn a_thousand_waiters_are_each_polled_at_most_twice() {
    const WAITERS: u64 = 1_000;
    let limiter = Arc::new(Limiter::new(Quota::per_second(1_000).unwrap()));
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let (result, polls) = count_polls(limiter.acquire()).await;
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
