//! A pause on tokio's paused time: a 429 at 250 ms with "Retry-After: 2" moves every waiter not
//! yet passed by 2 s, in order and spacing, each sleeping once more; a keyed limiter pauses
//! every key; a bounded wait pushed past its bound fails with the moved instant.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_tests::CountPolls;
use pacer_tests::assert_conforms;
use pacer_tokio::traits::Clock;
use pacer_tokio::{Error, KeyedLimiter, Limiter, Quota};

const MS: u64 = 1_000_000;

#[tokio::test(start_paused = true)]
async fn a_pause_moves_every_waiter_by_the_same_amount() {
    let limiter = Arc::new(Limiter::new(Quota::per_second(10).unwrap()));
    let finished = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for tag in 0..8u64 {
        let (limiter, finished) = (limiter.clone(), finished.clone());
        handles.push(tokio::spawn(async move {
            let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            CountPolls::new(limiter.acquire(), polls.clone())
                .await
                .unwrap();
            let polls = polls.load(std::sync::atomic::Ordering::SeqCst);
            finished
                .lock()
                .unwrap()
                .push((tag, limiter.timer().now(), polls));
        }));
        tokio::task::yield_now().await; // each reserves in spawn order
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(limiter.pause_for(Duration::from_secs(2)), Ok(true));
    for handle in handles {
        handle.await.unwrap();
    }
    let finished = finished.lock().unwrap().clone();
    let tags: Vec<u64> = finished.iter().map(|&(tag, _, _)| tag).collect();
    assert_eq!(tags, (0..8).collect::<Vec<_>>(), "order kept");
    for &(tag, at, polls) in &finished {
        let slot = tag * 100 * MS;
        let expected = if slot < 250 * MS {
            slot
        } else {
            slot + 2_000 * MS
        };
        // Tokio's timer ends a sleep within a millisecond after its instant.
        assert!(
            at >= expected && at < expected + MS,
            "{tag} at {at}, expected {expected}"
        );
        assert!(
            !(250 * MS..2_250 * MS).contains(&at),
            "nothing passes in the pause"
        );
        assert!(polls <= 3, "{tag} polled {polls} times");
    }
    let instants: Vec<u64> = finished.iter().map(|&(_, at, _)| at).collect();
    assert_conforms(&instants, Quota::per_second(10).unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_bounded_wait_pushed_past_its_bound_fails_with_the_moved_instant() {
    let limiter = Arc::new(Limiter::new(Quota::per_second(10).unwrap()));
    limiter.try_acquire(1).unwrap();
    let waiter = tokio::spawn({
        let limiter = limiter.clone();
        async move { limiter.acquire_within(1, Duration::from_millis(500)).await }
    });
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    limiter.pause_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        waiter.await.unwrap(),
        Err(Error::WouldWait { at: 1_100 * MS })
    );
    // Its slot came back: the next cell is the one at 1100 ms.
    assert_eq!(limiter.delay(1), Ok(Duration::from_millis(1_000)));
}

#[tokio::test(start_paused = true)]
async fn a_keyed_limiter_pauses_every_key() {
    let limiter = KeyedLimiter::<String>::new(Quota::per_second(10).unwrap(), 64).unwrap();
    limiter.acquire("a").await.unwrap();
    limiter.pause_for(Duration::from_millis(500)).unwrap();
    let start = limiter.timer().now();
    limiter.acquire("b").await.unwrap(); // a new key waits for the pause too
    assert!(limiter.timer().now() >= start + 500 * MS);
    limiter.acquire("a").await.unwrap();
    assert!(limiter.timer().now() >= start + 600 * MS);
}

#[tokio::test(start_paused = true)]
async fn a_pause_of_one_key_moves_only_that_keys_waiters() {
    let limiter =
        Arc::new(KeyedLimiter::<String>::new(Quota::per_second(10).unwrap(), 64).unwrap());
    let finished = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for tag in 0..6u64 {
        for key in ["a", "b"] {
            let (limiter, finished) = (limiter.clone(), finished.clone());
            handles.push(tokio::spawn(async move {
                let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                CountPolls::new(limiter.acquire(key), polls.clone())
                    .await
                    .unwrap();
                let polls = polls.load(std::sync::atomic::Ordering::SeqCst);
                finished
                    .lock()
                    .unwrap()
                    .push((key, tag, limiter.timer().now(), polls));
            }));
            tokio::task::yield_now().await; // each reserves in spawn order
        }
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The server answered 429 for "a" with "Retry-After: 2".
    assert_eq!(limiter.pause_key_for("a", Duration::from_secs(2)), Ok(true));
    let start = limiter.timer().now();
    assert_eq!(limiter.key_paused_until("a"), Some(start + 2_000 * MS));
    for handle in handles {
        handle.await.unwrap();
    }
    let finished = finished.lock().unwrap().clone();
    for key in ["a", "b"] {
        let mine: Vec<_> = finished.iter().filter(|f| f.0 == key).collect();
        let tags: Vec<u64> = mine.iter().map(|f| f.1).collect();
        assert_eq!(tags, (0..6).collect::<Vec<_>>(), "{key}: order kept");
        for &&(_, tag, at, polls) in &mine {
            let slot = tag * 100 * MS;
            let expected = if key == "a" && slot >= start {
                slot + 2_000 * MS
            } else {
                slot
            };
            // Tokio's timer ends a sleep within a millisecond after its instant.
            assert!(
                at >= expected && at < expected + MS,
                "{key}/{tag} at {at}, expected {expected}"
            );
            if key == "a" {
                assert!(
                    !(start..start + 2_000 * MS).contains(&at),
                    "nothing of a passes in its pause"
                );
            }
            assert!(polls <= 3, "{key}/{tag} polled {polls} times");
        }
        let instants: Vec<u64> = mine.iter().map(|f| f.2).collect();
        assert_conforms(&instants, Quota::per_second(10).unwrap());
    }
    assert_eq!(limiter.key_paused_until("a"), None);
}
