//! Every shared scheduler behind the async layer: several limits and sliding windows through
//! `Locked`, with many tasks waiting on the manual timer.

use std::cell::RefCell;
use std::rc::Rc;

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use pacer_core::{Clock, Limits, Locked, ManualTimer, Pacer, Quota, RateLimiter, SlidingWindow};
use pacer_tests::{drive, gcra_violation, window_violation};

/// Spawns `tasks` acquisitions of one cell on `pacer` and returns their pass instants.
fn run_waiters<L: RateLimiter + 'static>(
    pacer: Rc<Pacer<L, ManualTimer>>,
    timer: &ManualTimer,
    tasks: usize,
) -> Vec<u64> {
    let mut pool = LocalPool::new();
    let passed = Rc::new(RefCell::new(Vec::new()));
    for _ in 0..tasks {
        let (pacer, timer, passed) = (pacer.clone(), timer.clone(), passed.clone());
        pool.spawner()
            .spawn_local(async move {
                pacer.acquire().await.unwrap();
                passed.borrow_mut().push(timer.now());
            })
            .unwrap();
    }
    drive(&mut pool, timer, 10 * tasks + 10, || {
        passed.borrow().len() == tasks
    });
    passed.take()
}

#[test]
fn several_limits_hold_together() {
    let timer = ManualTimer::new();
    let per_second = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let per_minute = Quota::per_minute(30).unwrap().with_burst(12).unwrap();
    let limiter = Locked::new(Limits::new([per_second, per_minute]));
    let pacer = Rc::new(Pacer::from_parts(limiter, timer.clone()));
    let passed = run_waiters(pacer, &timer, 40);
    assert!(passed.windows(2).all(|w| w[0] <= w[1]), "FIFO instants");
    assert_eq!(gcra_violation(&passed, 10, 1_000_000_000, 5), None);
    assert_eq!(gcra_violation(&passed, 30, 60_000_000_000, 12), None);
    // 12 go on the minute's burst (5 at once, then 10/s), the rest 2 s apart.
    assert_eq!(passed[11], 700_000_000);
    assert_eq!(passed[39], 2_000_000_000 * 28);
}

#[test]
fn a_sliding_window_admits_its_count_per_window() {
    let timer = ManualTimer::new();
    let window = SlidingWindow::<8>::new(Quota::per_second(5).unwrap()).unwrap();
    let pacer = Rc::new(Pacer::from_parts(Locked::new(window), timer.clone()));
    let passed = run_waiters(pacer, &timer, 23);
    assert_eq!(window_violation(&passed, 5, 1_000_000_000), None);
    let expected: Vec<u64> = (0..23).map(|k| (k / 5) as u64 * 1_000_000_000).collect();
    assert_eq!(passed, expected);
}
