//! The oracle checks itself: the linear GCRA and window checkers of `common::check` agree with
//! the brute-force definitions on random schedules, accept schedules that conform, and reject
//! hand-made ones that do not (so every other test's "it conforms" means something). Also the
//! generous combination of two rules.

mod common;

use common::check::{self, Rule};
use proptest::prelude::*;

fn sorted(mut p: Vec<u64>) -> Vec<u64> {
    p.sort_unstable();
    p
}

/// Random schedules near the edge of a rule: cells at roughly the rule's spacing, some
/// bunched, some a nanosecond early.
fn schedule() -> impl Strategy<Value = (Vec<u64>, Rule)> {
    (1u64..5, 1u64..40, 1u64..5).prop_flat_map(|(count, period, burst)| {
        let rule = Rule::new(count, period.max(count), burst);
        let step = (period.max(count) / count) as i64;
        proptest::collection::vec(-1i64..=step + 1, 0..60).prop_map(move |gaps| {
            let mut t = 0u64;
            let p = gaps
                .iter()
                .map(|&g| {
                    t = t.saturating_add_signed(g.max(0));
                    t
                })
                .collect();
            (sorted(p), rule)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn linear_gcra_check_is_the_definition((p, rule) in schedule()) {
        let linear = check::gcra_violation(&p, rule);
        let brute = check::gcra_violation_quadratic(&p, rule);
        prop_assert_eq!(linear.is_some(), brute.is_some());
        // The violation found is a real one, at the first bad j.
        if let (Some((i, j)), Some((_, j0))) = (linear, brute) {
            prop_assert!(i < j);
            prop_assert_eq!(j, j0);
            let cells = (j - i + 1) as u128;
            prop_assert!(u128::from(p[j] - p[i] + 1) * rule.count <= (cells - rule.burst.min(cells)) * rule.period);
        }
    }

    #[test]
    fn strict_gcra_check_is_the_definition((p, rule) in schedule()) {
        let brute = (0..p.len()).any(|j| (0..j).any(|i| {
            let cells = (j - i + 1) as i128;
            i128::from(p[j] - p[i]) * (rule.count as i128) < (cells - rule.burst as i128) * (rule.period as i128)
        }));
        prop_assert_eq!(check::gcra_violation_strict(&p, rule).is_some(), brute);
    }

    #[test]
    fn linear_window_check_is_the_definition(
        p in proptest::collection::vec(0u64..200, 0..60).prop_map(sorted),
        count in 1usize..6,
        period in 1u64..60,
    ) {
        prop_assert_eq!(
            check::window_violation(&p, count, period).is_some(),
            check::window_violation_quadratic(&p, count, period).is_some()
        );
    }
}

#[test]
fn gcra_check_accepts_the_exact_schedule_and_rejects_one_early_cell() {
    // 3 per 10 ns, burst 2: cell k at ceil(max(0, k - 1) · 10 / 3).
    let rule = Rule::new(3, 10, 2);
    let good: Vec<u64> = (0..100u64)
        .map(|k| (k.saturating_sub(1) * 10).div_ceil(3))
        .collect();
    assert_eq!(check::gcra_violation(&good, rule), None);
    assert_eq!(check::gcra_violation_quadratic(&good, rule), None);
    for k in 2..good.len() {
        let mut bad = good.clone();
        bad[k] -= 1; // one nanosecond early: now faster than the rule allows somewhere
        if bad.is_sorted() && bad[k] * 3 < (k as u64 - 1) * 10 - 2 {
            assert!(
                check::gcra_violation(&bad, rule).is_some(),
                "cell {k} early"
            );
        }
    }
    // Burst + 1 cells at one instant.
    assert_eq!(check::gcra_violation(&[5, 5, 5], rule), Some((0, 2)));
    // The rounding allowance: 3 cells 6 ns apart are 2/3 ns fast, within the rounding of whole
    // nanoseconds; 5 ns apart is not.
    assert_eq!(check::gcra_violation(&[0, 3, 6], Rule::new(3, 10, 1)), None);
    assert!(check::gcra_violation(&[0, 3, 5], Rule::new(3, 10, 1)).is_some());
    assert!(check::gcra_violation_strict(&[0, 3, 6], Rule::new(3, 10, 1)).is_some());
    // A long-run excess far apart: 1 per 10 ns, cells every 9 ns, burst 50: conforms for the
    // first 50 cells or so, then not.
    let fast: Vec<u64> = (0..1_000).map(|k| k * 9).collect();
    let (_, j) = check::gcra_violation(&fast, Rule::new(1, 10, 50)).unwrap();
    assert!(j > 400 && j < 600, "{j}");
}

#[test]
fn window_check_counts_half_open_windows() {
    // 2 per 10 ns: [0, 10) may hold 2; a third at 10 is in the next window.
    assert_eq!(check::window_violation(&[0, 0, 10, 10], 2, 10), None);
    assert_eq!(check::window_violation(&[0, 0, 9], 2, 10), Some(0));
    assert_eq!(check::window_violation(&[0, 5, 9, 20], 2, 10), Some(0));
    assert_eq!(check::window_violation(&[0, 5, 15, 20, 24], 2, 10), Some(2));
}

#[test]
fn window_epochs_check_uses_each_cells_own_window() {
    // Epoch 0: 2 per 10 ns; epoch 1: 1 per 100 ns, counting the older cells too.
    let configs = [(2, 10), (1, 100)];
    assert!(
        std::panic::catch_unwind(|| {
            check::assert_window_epochs(&[(0, 2, 0), (50, 1, 1)], &configs, "too soon");
        })
        .is_err()
    );
    check::assert_window_epochs(&[(0, 2, 0), (100, 1, 1), (200, 1, 1)], &configs, "ok");
    assert!(
        std::panic::catch_unwind(|| {
            check::assert_window_epochs(&[(10, 1, 0), (0, 1, 0)], &configs, "backwards");
        })
        .is_err()
    );
}

#[test]
fn generous_takes_the_higher_rate_and_the_larger_burst() {
    let slow_bursty = Rule::new(1, 100, 10);
    let fast_strict = Rule::new(3, 100, 1);
    let both = Rule::new(3, 100, 10);
    assert_eq!(Rule::generous(slow_bursty, fast_strict), both);
    assert_eq!(Rule::generous(fast_strict, slow_bursty), both);
    assert!(
        Rule::new(2, 7, 1).rate_at_least(&Rule::new(4, 14, 1)),
        "equal rates"
    );
    // The epochs check: each side conforms, the pair only to the generous combination.
    let cells = [(0, 3, 0), (100, 1, 1), (134, 1, 1)];
    check::assert_gcra_epochs(&cells, &[Rule::new(1, 100, 3), Rule::new(3, 100, 1)], "ok");
    assert!(
        std::panic::catch_unwind(|| {
            check::assert_gcra_epochs(
                &[(0, 3, 0), (0, 1, 1)],
                &[Rule::new(1, 100, 3), Rule::new(3, 100, 1)],
                "",
            );
        })
        .is_err()
    );
}
