//! Precision (docs/contract.md): reserving cells one by one, back to back from idle at instant 0,
//! gives cell `k` exactly `ceil(max(0, k + 1 - burst) · period / count)` (the exact instant
//! rounded up, so never early and never a whole nanosecond late), for quotas from 1 per day to
//! 10^9 per second, with `Gcra`, `AtomicLimiter`, `Limits` with one quota and `Locked<Gcra>`;
//! the long-run rate is never faster than the quota and at most 1 ppm slower.

mod common;

use std::time::Duration;

use common::check::{self, Rule};
use pacer_core::{AtomicLimiter, Error, Gcra, Limits, Locked, Quota, RateLimiter, Scheduler};

const SECOND: u64 = 1_000_000_000;
const DAY: u64 = 86_400 * SECOND;

fn quota(count: u32, period: u64, burst: u32) -> Quota {
    Quota::new(count, Duration::from_nanos(period))
        .and_then(|q| q.with_burst(burst))
        .unwrap()
}

/// The exact instant of cell `k`, rounded up: `ceil(max(0, k + 1 - b) · P / c)`.
fn expected(q: &Quota, k: u64) -> u64 {
    let owed = (u128::from(k) + 1).saturating_sub(u128::from(q.burst()));
    let ns = (owed * u128::from(q.period_nanos())).div_ceil(u128::from(q.count()));
    u64::try_from(ns).unwrap()
}

/// Checks a back-to-back schedule: every instant exact, the oracle's rule, and the rate.
fn check_run(q: &Quota, at: &[u64], how: &str) {
    for (k, &p) in at.iter().enumerate() {
        let want = expected(q, k as u64);
        assert_eq!(p, want, "{q} ({how}): cell {k}");
    }
    check::assert_gcra(at, Rule::of(q), &format!("{q} ({how})"));
    // Never faster: p_k · c >= (k + 1 - b) · P for every k (implied by the above, checked in
    // the oracle's own terms), and over the whole run at most 1 ppm slower.
    let c = u128::from(q.count());
    let period = u128::from(q.period_nanos());
    for (k, &p) in at.iter().enumerate() {
        let owed = (k as u128 + 1).saturating_sub(u128::from(q.burst()));
        assert!(
            u128::from(p) * c >= owed * period,
            "{q} ({how}): cell {k} early"
        );
    }
    let k = at.len() - 1;
    let last = at[k];
    let exact_times_c = (k as u128 + 1).saturating_sub(u128::from(q.burst())) * period;
    if exact_times_c >= 1_000_000 * c {
        // The run spans at least 1 ms: late by (p·c - exact·c) / c <= exact / 10^6.
        let late_times_c = u128::from(last) * c - exact_times_c;
        assert!(
            late_times_c * 1_000_000 <= exact_times_c,
            "{q} ({how}): slower than 1 ppm"
        );
    }
}

/// `n` cells from a scheduler: all at `now` 0, or each at its predecessor's instant.
fn run<S: Scheduler>(mut s: S, n: u64, chase: bool) -> Vec<u64> {
    let mut at = Vec::with_capacity(n as usize);
    let mut now = 0;
    for _ in 0..n {
        let p = s.reserve(now, 1).unwrap().at();
        if chase {
            now = p;
        }
        at.push(p);
    }
    at
}

fn run_shared<L: RateLimiter>(l: L, n: u64, chase: bool) -> Vec<u64> {
    let mut at = Vec::with_capacity(n as usize);
    let mut now = 0;
    for _ in 0..n {
        let p = l.reserve(now, 1).unwrap().at();
        if chase {
            now = p;
        }
        at.push(p);
    }
    at
}

/// The grid: `(count, period ns, burst, cells to check with Gcra)`.
const GRID: &[(u32, u64, u32, u64)] = &[
    (1, DAY, 1, 10_000),
    (1, DAY, 3, 10_000),
    (1_000, 3_600 * SECOND, 10, 20_000),
    (60, 60 * SECOND, 1, 20_000),
    (3, SECOND, 1, 1_000_000),
    (3, SECOND, 4, 20_000),
    (100, SECOND, 1, 20_000),
    (7, 11_000_000, 1, 1_000_000),
    (7, 11_000_000, 5, 20_000),
    (3, 10, 1, 20_000),
    (999_999_937, SECOND, 1, 1_000_000),
    (999_999_937, SECOND, 1_000, 20_000),
    (999_999_999, SECOND, 2, 20_000),
    (1_000_000_000, SECOND, 1, 1_000_000),
    (1_000_000_000, SECOND, 7, 20_000),
    (u32::MAX, 10 * SECOND, 1, 20_000),
    (1, 1 << 62, 1, 3),
];

#[test]
fn gcra_from_idle_back_to_back() {
    for &(c, p, b, n) in GRID {
        let q = quota(c, p, b);
        check_run(&q, &run(Gcra::new(q), n, false), "Gcra, now 0");
    }
}

#[test]
fn gcra_each_reserved_at_its_predecessors_instant() {
    for &(c, p, b, n) in GRID {
        let q = quota(c, p, b);
        check_run(
            &q,
            &run(Gcra::new(q), n.min(100_000), true),
            "Gcra, chasing",
        );
    }
}

#[test]
fn atomic_limiter_from_idle_back_to_back() {
    for &(c, p, b, n) in GRID {
        let q = quota(c, p, b);
        let n = n.min(100_000);
        check_run(
            &q,
            &run_shared(AtomicLimiter::new(q), n, false),
            "AtomicLimiter, now 0",
        );
        check_run(
            &q,
            &run_shared(AtomicLimiter::new(q), n, true),
            "AtomicLimiter, chasing",
        );
    }
}

#[test]
fn limits_with_one_quota_from_idle_back_to_back() {
    for &(c, p, b, n) in GRID {
        let q = quota(c, p, b);
        let n = n.min(100_000);
        check_run(&q, &run(Limits::new([q]), n, false), "Limits<1>, now 0");
        check_run(&q, &run(Limits::new([q]), n, true), "Limits<1>, chasing");
    }
}

#[test]
fn locked_gcra_from_idle_back_to_back() {
    for &(c, p, b, n) in GRID {
        let q = quota(c, p, b);
        check_run(
            &q,
            &run_shared(Locked::new(Gcra::new(q)), n.min(10_000), true),
            "Locked",
        );
    }
}

/// The same limit twice in a `Limits` is the limit once.
#[test]
fn limits_with_the_same_quota_twice() {
    let q = quota(7, 11_000_000, 2);
    check_run(
        &q,
        &run(Limits::new([q, q]), 100_000, false),
        "Limits<2> of one quota",
    );
}

/// A client that polls `try_acquire` exactly at each `earliest` is admitted on schedule.
#[test]
fn polling_try_acquire_at_earliest() {
    for &(c, p, b) in &[(3, SECOND, 1), (7, 11_000_000, 5), (999_999_937, SECOND, 3)] {
        let q = quota(c, p, b);
        let mut gcra = Gcra::new(q);
        let mut at = Vec::new();
        let mut now = 0;
        for _ in 0..100_000 {
            match gcra.try_acquire(now, 1) {
                Ok(r) => at.push(r.at()),
                Err(Error::WouldWait { at }) => {
                    assert_eq!(gcra.earliest(now, 1), Ok(at));
                    assert!(at > now);
                    now = at;
                }
                Err(e) => panic!("{e}"),
            }
        }
        check_run(&q, &at, "try_acquire at earliest");
    }
}

/// 1 per day runs until its units run out: every instant before that is exact, and the end
/// is an `InstantOverflow` that records nothing, no earlier than the promised 2^63 ns.
#[test]
fn one_per_day_until_the_end_of_its_range() {
    let q = quota(1, DAY, 1);
    let mut gcra = Gcra::new(q);
    let mut k = 0;
    let err = loop {
        match gcra.reserve(0, 1) {
            Ok(r) => assert_eq!(r.at(), expected(&q, k), "cell {k}"),
            Err(e) => break e,
        }
        k += 1;
    };
    assert_eq!(err, Error::InstantOverflow);
    assert!(k * DAY >= 1 << 63, "only {k} days");
    let before = gcra.clone();
    assert_eq!(
        gcra.reserve(0, 1).map(|r| r.at()),
        Err(Error::InstantOverflow)
    );
    assert_eq!(gcra.earliest(0, 1), Err(Error::InstantOverflow));
    assert_eq!(gcra, before);
}
