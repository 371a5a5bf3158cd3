//! Worked examples of the cancel rules of docs/contract.md, for every scheduler: the newest
//! reservation cancelled before its instant restores the state exactly (and cancelling from
//! the newest backwards restores each in turn); one with later reservations behind it returns
//! nothing and its slot stays empty; at or after its instant, or after a reconfiguration, or
//! for zero cells, nothing changes. For the sliding window, the eviction cases of window.rs.

use pacer_core::{
    AtomicLimiter, Gcra, Limits, Locked, Quota, RateLimiter, Scheduler, SlidingWindow,
};

const MS: u64 = 1_000_000;

fn ten_per_second() -> Quota {
    Quota::per_second(10).unwrap()
}

#[test]
fn gcra_newest_cancel_restores_exactly() {
    let mut gcra = Gcra::new(ten_per_second());
    let first = gcra.reserve(0, 1).unwrap();
    let before = gcra.clone();
    let second = gcra.reserve(0, 1).unwrap();
    assert_eq!((first.at(), second.at()), (0, 100 * MS));
    assert!(gcra.cancel(second, 0));
    assert_eq!(gcra, before);
    assert_eq!(gcra.earliest(0, 1), Ok(100 * MS));
    // The first went at its instant: its cells are spent.
    assert!(!gcra.cancel(first, 0));
    assert_eq!(gcra, before);
}

#[test]
fn gcra_cancels_from_the_newest_backwards() {
    let mut gcra = Gcra::new(ten_per_second());
    let _spent = gcra.reserve(0, 1).unwrap();
    let mut states = Vec::new();
    let mut held = Vec::new();
    for k in 1..=3 {
        states.push(gcra.clone());
        let r = gcra.reserve(0, 1).unwrap();
        assert_eq!(r.at(), k * 100 * MS);
        held.push(r);
    }
    while let Some(r) = held.pop() {
        assert!(gcra.cancel(r, 50 * MS));
        let mut expect = states.pop().unwrap();
        let _ = expect.reserve(50 * MS, 0).unwrap(); // the same latest clock reading
        assert_eq!(gcra, expect);
    }
    assert_eq!(gcra.earliest(50 * MS, 1), Ok(100 * MS));
}

#[test]
fn gcra_non_newest_cancel_leaves_its_slot_empty() {
    let mut gcra = Gcra::new(ten_per_second());
    let _spent = gcra.reserve(0, 1).unwrap();
    let r1 = gcra.reserve(0, 1).unwrap();
    let r2 = gcra.reserve(0, 1).unwrap();
    assert_eq!((r1.at(), r2.at()), (100 * MS, 200 * MS));
    assert!(!gcra.cancel(r1, 0), "r2 is behind it");
    assert_eq!(gcra.earliest(0, 1), Ok(300 * MS), "nobody may overtake r2");
    assert!(gcra.cancel(r2, 0), "r2 is the newest");
    // r1's slot stays empty: the next cell queues behind it, not in it.
    assert_eq!(gcra.reserve(0, 1).unwrap().at(), 200 * MS);
}

#[test]
fn gcra_cancel_at_or_after_the_instant_returns_nothing() {
    let mut gcra = Gcra::new(ten_per_second());
    let _spent = gcra.reserve(0, 1).unwrap();
    let r = gcra.reserve(0, 1).unwrap();
    let before = gcra.clone();
    assert!(!gcra.cancel(r, 100 * MS));
    assert_eq!(gcra.earliest(100 * MS, 1), Ok(200 * MS));
    // The clock reading is remembered: a later cancel "in the past" is also too late.
    let r = gcra.reserve(0, 1).unwrap();
    assert_eq!(r.at(), 200 * MS);
    let _ = gcra.reserve(250 * MS, 0).unwrap();
    assert!(
        !gcra.cancel(r, 0),
        "the scheduler has seen 250 ms, after the instant"
    );
    assert_ne!(gcra, before);
}

#[test]
fn gcra_cancel_after_reconfigure_returns_nothing() {
    let mut gcra = Gcra::new(ten_per_second());
    let _spent = gcra.reserve(0, 1).unwrap();
    let r = gcra.reserve(0, 1).unwrap();
    gcra.set_quota(0, ten_per_second()).unwrap();
    let after = gcra.clone();
    assert!(!gcra.cancel(r, 0));
    assert_eq!(gcra, after);
}

#[test]
fn zero_cells_cancel_returns_nothing() {
    let mut gcra = Gcra::new(ten_per_second());
    let zero = gcra.reserve(5, 0).unwrap();
    assert_eq!((zero.at(), zero.cells()), (5, 0));
    assert!(!gcra.cancel(zero, 0));
    let limiter = AtomicLimiter::new(ten_per_second());
    let zero = limiter.reserve(5, 0).unwrap();
    assert!(!limiter.cancel(zero, 0));
}

#[test]
fn window_cancel_without_eviction_restores_exactly() {
    let mut window = SlidingWindow::<3>::new(Quota::per_second(2).unwrap()).unwrap();
    let _spent = window.reserve(0, 1).unwrap();
    let before = window.clone();
    let r = window.reserve(0, 1).unwrap();
    assert_eq!(r.at(), 0, "two go at once");
    assert!(!window.cancel(r, 0), "at its instant: spent");
    let before_queued = window.clone();
    let r = window.reserve(0, 1).unwrap();
    assert_eq!(r.at(), 1_000 * MS);
    assert!(window.cancel(r, 0));
    assert_eq!(window, before_queued);
    assert_ne!(window, before);
}

#[test]
fn window_cancel_of_one_cell_after_eviction_restores_exactly() {
    let mut window = SlidingWindow::<2>::new(Quota::per_second(2).unwrap()).unwrap();
    for now in [0, 1] {
        let _spent = window.reserve(now, 1).unwrap();
    }
    let before = window.clone();
    let r = window.reserve(1, 1).unwrap(); // the log is full: recording evicts the cell at 0
    assert_eq!(r.at(), 1_000 * MS);
    assert!(window.cancel(r, 1));
    assert_eq!(window, before);
    assert_eq!(window.earliest(1, 1), Ok(1_000 * MS));
    assert_eq!(window.earliest(1, 2), Ok(1_000 * MS + 1));
}

#[test]
fn window_cancel_after_evicting_distinct_instants_is_conservative() {
    // 3 per 10 ns, cells at 0, 1, 2; two more evict the cells at 0 and 1.
    let mut window =
        SlidingWindow::<3>::new(Quota::new(3, std::time::Duration::from_nanos(10)).unwrap())
            .unwrap();
    for now in 0..3 {
        assert_eq!(window.reserve(now, 1).unwrap().at(), now);
    }
    let truth = window.clone();
    let r = window.reserve(5, 2).unwrap();
    assert_eq!(
        r.at(),
        11,
        "the second-newest cell, at 1, must have left the window"
    );
    assert!(window.cancel(r, 5));
    // window.rs: the evicted cells come back at the newest evicted instant (1, not 0), so the
    // log is not the true one, but never more permissive than it.
    assert_eq!(truth.earliest(5, 1), Ok(10));
    assert_eq!(window.earliest(5, 1), Ok(11));
    for m in 1..=3 {
        assert!(window.earliest(5, m).unwrap() >= truth.earliest(5, m).unwrap());
    }
}

#[test]
fn window_cancel_after_evicting_one_instant_restores_exactly() {
    let mut window =
        SlidingWindow::<3>::new(Quota::new(3, std::time::Duration::from_nanos(10)).unwrap())
            .unwrap();
    assert_eq!(window.reserve(0, 2).unwrap().at(), 0);
    assert_eq!(window.reserve(1, 1).unwrap().at(), 1);
    let _ = window.reserve(5, 0).unwrap(); // the clock reading of the cancel below
    let truth = window.clone();
    let r = window.reserve(5, 2).unwrap(); // evicts the two cells at 0
    assert_eq!(r.at(), 10);
    assert!(window.cancel(r, 5));
    assert_eq!(window, truth);
}

#[test]
fn limits_newest_cancel_restores_every_limit() {
    let mut limits = Limits::new([
        Quota::per_second(10).unwrap().with_burst(2).unwrap(),
        Quota::per_minute(30).unwrap().with_burst(3).unwrap(),
    ]);
    let mut states = Vec::new();
    let mut held = Vec::new();
    let mut at = Vec::new();
    for _ in 0..5 {
        states.push(limits.clone());
        let r = limits.reserve(0, 1).unwrap();
        at.push(r.at());
        held.push(r);
    }
    // Burst of 2 at once under the first limit, the third of the minute's burst 100 ms later,
    // then the minute's spacing of 2 s.
    assert_eq!(at, [0, 0, 100 * MS, 2_000 * MS, 4_000 * MS]);
    let r = held.pop().unwrap();
    assert!(limits.cancel(r, 0));
    assert_eq!(limits, states.pop().unwrap());
    assert!(
        !limits.cancel(held.remove(2), 0),
        "the one at 100 ms has one behind it"
    );
    assert_eq!(limits.earliest(0, 1), Ok(4_000 * MS));
}

#[test]
fn atomic_limiter_cancel_follows_the_same_rules() {
    let limiter = AtomicLimiter::new(ten_per_second());
    let _spent = limiter.reserve(0, 1).unwrap();
    let r1 = limiter.reserve(0, 1).unwrap();
    let r2 = limiter.reserve(0, 1).unwrap();
    assert!(!limiter.cancel(r1, 0));
    assert_eq!(limiter.earliest(0, 1), Ok(300 * MS));
    assert!(
        !limiter.cancel(limiter.reserve(0, 1).unwrap(), 300 * MS),
        "at its instant"
    );
    assert_eq!(limiter.earliest(0, 1), Ok(400 * MS));
    let r3 = limiter.reserve(0, 1).unwrap();
    assert_eq!(r3.at(), 400 * MS);
    assert!(limiter.cancel(r3, 0));
    assert_eq!(limiter.earliest(0, 1), Ok(400 * MS));
    assert!(
        !limiter.cancel(r2, 0),
        "the spent one at 300 ms is behind it"
    );
}

#[test]
fn locked_cancel_restores_exactly() {
    let locked = Locked::new(Gcra::new(ten_per_second()));
    let _spent = locked.reserve(0, 1).unwrap();
    let before = locked.with(|g| g.clone());
    let r = locked.reserve(0, 1).unwrap();
    assert!(locked.cancel(r, 0));
    assert_eq!(locked.with(|g| g.clone()), before);
}
