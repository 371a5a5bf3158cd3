//! The random operation sequences of the property tests really exercise the contract: over a
//! fixed-seed batch, every kind of event happens for every scheduler (cancels that return
//! cells and cancels that do not, exact and conservative restores, refusals, reconfigures,
//! backwards clock steps), so a passing property test is not a vacuous one.

mod common;

use common::drive::{Driver, RawQuota, Shared, Stats, Subject, ops, raw_quota, scale};
use pacer_core::{AtomicLimiter, Gcra, Limits, Locked, SlidingWindow};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

fn batch<S: Subject + std::fmt::Debug>(
    quotas: impl Strategy<Value = RawQuota>,
    make: impl Fn(RawQuota, u64) -> S,
) -> Stats {
    let mut runner = TestRunner::deterministic();
    let strategy = (scale(), quotas, ops(8, 4, 90));
    let mut total = Stats::default();
    for _ in 0..200 {
        let (scale, q, ops) = strategy.new_tree(&mut runner).unwrap().current();
        let s = Driver::new(make(q, scale), scale).run(&ops);
        total.admitted += s.admitted;
        total.refused += s.refused;
        total.cancelled += s.cancelled;
        total.cancel_refused += s.cancel_refused;
        total.exact_restores += s.exact_restores;
        total.conservative_restores += s.conservative_restores;
        total.reconfigured += s.reconfigured;
        total.backwards += s.backwards;
    }
    total
}

fn assert_exercised(s: Stats, what: &str, reconfigures: bool) {
    assert!(s.admitted > 1_000, "{what}: {s:?}");
    assert!(s.refused > 100, "{what}: {s:?}");
    assert!(s.cancelled > 100 && s.cancel_refused > 100, "{what}: {s:?}");
    assert!(s.exact_restores > 100, "{what}: {s:?}");
    assert!(s.backwards > 100, "{what}: {s:?}");
    assert_eq!(s.reconfigured > 0, reconfigures, "{what}: {s:?}");
}

#[test]
fn gcra_sequences_exercise_everything() {
    let s = batch(raw_quota(6, 4), |q, scale| Gcra::new(q.quota(scale)));
    assert_exercised(s, "Gcra", true);
}

#[test]
fn window_sequences_exercise_everything() {
    let s = batch(raw_quota(8, 1), |q, scale| {
        SlidingWindow::<8>::new(q.quota(scale)).unwrap()
    });
    assert_exercised(s, "SlidingWindow", true);
    assert!(s.conservative_restores > 0, "{s:?}");
    let s = batch(raw_quota(3, 1), |q, scale| {
        SlidingWindow::<3>::new(q.quota(scale)).unwrap()
    });
    assert!(s.conservative_restores > 10, "{s:?}");
}

#[test]
fn limits_sequences_exercise_everything() {
    let s = batch(raw_quota(6, 4), |q, scale| {
        Limits::new([q.quota(scale), q.quota(scale).with_burst(2).unwrap()])
    });
    assert_exercised(s, "Limits", true);
}

#[test]
fn shared_sequences_exercise_everything() {
    let s = batch(raw_quota(6, 4), |q, scale| {
        Shared(AtomicLimiter::new(q.quota(scale)))
    });
    assert_exercised(s, "AtomicLimiter", false);
    let s = batch(raw_quota(6, 4), |q, scale| {
        Shared(Locked::new(Gcra::new(q.quota(scale))))
    });
    assert_exercised(s, "Locked<Gcra>", true);
}
