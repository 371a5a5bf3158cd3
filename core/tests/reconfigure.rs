//! Worked examples of reconfiguration (docs/contract.md, "Reconfiguration"): the three GCRA cases (idle,
//! no backlog, backlog) with their exact instants, Go's `SetLimit` pitfall, a sliding window
//! applying the new count and period to its log, and `Limits` changing one limit while
//! another one holds the schedule back.

mod common;

use std::time::Duration;

use common::check::{self, Rule};
use pacer_core::{Error, Gcra, Limits, Quota, Scheduler, SlidingWindow};

const MS: u64 = 1_000_000;

fn per_second(count: u32, burst: u32) -> Quota {
    Quota::per_second(count).unwrap().with_burst(burst).unwrap()
}

fn per_ns(count: u32, period: u64, burst: u32) -> Quota {
    Quota::new(count, Duration::from_nanos(period))
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

fn at<S: Scheduler>(s: &mut S, now: u64, n: u32) -> u64 {
    s.reserve(now, n).unwrap().at()
}

#[test]
fn idle_starts_the_new_quota_fresh() {
    let mut gcra = Gcra::new(per_second(10, 1));
    assert_eq!(at(&mut gcra, 0, 1), 0);
    gcra.set_quota(150 * MS, per_second(10, 3)).unwrap();
    assert_eq!(gcra.quota(), per_second(10, 3));
    for _ in 0..3 {
        assert_eq!(at(&mut gcra, 150 * MS, 1), 150 * MS, "a fresh burst of 3");
    }
    assert_eq!(at(&mut gcra, 150 * MS, 1), 250 * MS);
}

#[test]
fn no_backlog_carries_the_cells_in_the_bucket() {
    // One cell at 0 under 10/s; at 50 ms half a cell is still in the bucket, which under 20/s
    // is 25 ms: TAT' = now + ((TAT - now) / T) · T' = 50 ms + 0.5 · 50 ms.
    let mut gcra = Gcra::new(per_second(10, 1));
    assert_eq!(at(&mut gcra, 0, 1), 0);
    gcra.set_quota(50 * MS, per_second(20, 1)).unwrap();
    assert_eq!(at(&mut gcra, 50 * MS, 1), 75 * MS);
    assert_eq!(at(&mut gcra, 50 * MS, 1), 125 * MS);
}

#[test]
fn backlog_starts_after_the_last_reserved_instant_with_a_full_bucket() {
    // 10/s: cells at 0, 100, 200 ms (E = 200 ms). Change at 0 to 20/s burst 2:
    // TAT' = E + max(1, 2) · 50 ms = 300 ms, so one cell at 250 ms, then 50 ms apart.
    let mut gcra = Gcra::new(per_second(10, 1));
    for k in 0..3 {
        assert_eq!(at(&mut gcra, 0, 1), k * 100 * MS);
    }
    gcra.set_quota(0, per_second(20, 2)).unwrap();
    assert_eq!(at(&mut gcra, 0, 1), 250 * MS);
    assert_eq!(at(&mut gcra, 0, 1), 300 * MS);
    assert_eq!(
        at(&mut gcra, 0, 2),
        400 * MS,
        "two at once only with a full bucket"
    );
}

#[test]
fn a_change_never_stacks_bursts() {
    // Go's SetLimit puts three cells at one instant under a burst of two; we must not.
    let mut gcra = Gcra::new(per_second(10, 2));
    assert_eq!(at(&mut gcra, 0, 1), 0);
    assert_eq!(at(&mut gcra, 0, 1), 0);
    gcra.set_quota(0, per_second(20, 2)).unwrap();
    assert_eq!(at(&mut gcra, 0, 1), 50 * MS);
    assert_eq!(at(&mut gcra, 0, 1), 100 * MS);
}

#[test]
fn instants_never_decrease_across_changes_back_and_forth() {
    let mut gcra = Gcra::new(per_second(10, 3));
    let quotas = [
        per_second(1000, 1),
        per_second(1, 5),
        per_second(7, 2),
        per_second(10, 3),
    ];
    let mut last = 0;
    let mut cells = Vec::new();
    let mut rules = vec![Rule::of(&gcra.quota())];
    for (k, q) in quotas.iter().enumerate() {
        for _ in 0..4 {
            let t = at(&mut gcra, 10 * MS * k as u64, 1);
            assert!(t >= last);
            last = t;
            cells.push((t, 1, k));
        }
        gcra.set_quota(10 * MS * k as u64, *q).unwrap();
        rules.push(Rule::of(q));
    }
    check::assert_gcra_epochs(&cells, &rules, "back and forth");
}

#[test]
fn window_applies_the_new_count_and_period_to_its_log() {
    let mut window = SlidingWindow::<8>::new(Quota::per_second(5).unwrap()).unwrap();
    for _ in 0..5 {
        assert_eq!(at(&mut window, 0, 1), 0);
    }
    window.set_quota(0, Quota::per_second(8).unwrap()).unwrap();
    assert_eq!(window.count(), 8);
    for _ in 0..3 {
        assert_eq!(at(&mut window, 0, 1), 0, "three more fit the larger window");
    }
    assert_eq!(at(&mut window, 0, 1), 1_000 * MS);
    window
        .set_quota(0, Quota::new(2, Duration::from_secs(3)).unwrap())
        .unwrap();
    assert_eq!(window.period(), Duration::from_secs(3));
    // The log holds 8 cells at 0 and one at 1 s: two per 3 s means the next one waits for
    // the second newest (at 0) to leave the window.
    assert_eq!(at(&mut window, 0, 1), 3_000 * MS);
    assert_eq!(at(&mut window, 0, 1), 4_000 * MS);
}

#[test]
fn window_refuses_a_count_beyond_its_capacity_and_keeps_its_state() {
    let mut window = SlidingWindow::<4>::new(Quota::per_second(2).unwrap()).unwrap();
    assert_eq!(at(&mut window, 0, 2), 0);
    let before = window.clone();
    let err = window.set_quota(0, Quota::per_second(5).unwrap());
    assert_eq!(
        err,
        Err(Error::WindowTooSmall {
            count: 5,
            capacity: 4
        })
    );
    assert_eq!(window, before);
}

#[test]
fn limits_changes_one_limit_by_the_gcra_rule() {
    let mut limits = Limits::new([per_second(10, 1), per_second(100, 1)]);
    for k in 0..3 {
        assert_eq!(at(&mut limits, 0, 1), k * 100 * MS);
    }
    assert_eq!(limits.set_quota(0, 0, per_second(20, 2)), Ok(true));
    assert_eq!(limits.quotas()[0], per_second(20, 2));
    assert_eq!(at(&mut limits, 0, 1), 250 * MS, "as for one Gcra");
    let before = limits.clone();
    assert_eq!(
        limits.set_quota(0, 2, per_second(1, 1)),
        Ok(false),
        "no such limit"
    );
    assert_eq!(limits, before);
}

/// A limit whose cells were held back by another limit: its own `TAT - b·T` is before the
/// last reserved instant, and the change must not treat its bucket as draining from there.
#[test]
fn limits_change_of_a_limit_held_back_by_another() {
    let a = per_ns(1, 100, 10); // bursty
    let c = per_ns(1, 1_000, 1); // strict, holds the schedule back
    let mut limits = Limits::new([a, c]);
    let mut cells = vec![(at(&mut limits, 0, 1), 1, 0)];
    cells.push((at(&mut limits, 0, 1), 1, 0));
    assert_eq!(
        (cells[0].0, cells[1].0),
        (0, 1_000),
        "the second waits for c"
    );
    // At 1,000 ns `a`'s bucket holds one cell. A faster `a` (burst still 10) and a loose `c`
    // may let at most 9 more through before `a`'s new spacing applies.
    let a2 = per_ns(1, 50, 10);
    assert_eq!(limits.set_quota(0, 0, a2), Ok(true));
    assert_eq!(limits.set_quota(0, 1, per_ns(1, 1, 20)), Ok(true));
    for _ in 0..30 {
        cells.push((at(&mut limits, 0, 1), 1, 1));
    }
    assert!(cells.is_sorted_by_key(|c| c.0), "FIFO: {cells:?}");
    // Limit `a` alone, across its change: the generous combination is 1 per 50 ns, burst 10.
    check::assert_gcra_epochs(&cells, &[Rule::of(&a), Rule::of(&a2)], "limit a");
}
