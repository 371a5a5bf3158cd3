//! The conformance checks: an independent statement of the rules of docs/contract.md, in its own
//! integer arithmetic (not the schedulers'), so a bug in pacer's arithmetic cannot hide itself.

use pacer_core::Quota;

/// Checks the GCRA conformance rule on admitted cell instants (any order; a weight-`n`
/// acquisition contributes `n` equal instants): sorted, for all `i < j`,
/// `(p_j - p_i + 1) · count > (j - i + 1 - burst) · period`, the form of the rule that allows
/// each instant to be rounded up to a whole nanosecond. Returns the first violating pair.
pub fn gcra_violation(
    cells: &[u64],
    count: u32,
    period: u64,
    burst: u32,
) -> Option<(usize, usize)> {
    let mut p = cells.to_vec();
    p.sort_unstable();
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            let cells_between = (j - i + 1) as i128 - i128::from(burst);
            let lhs = (i128::from(p[j] - p[i]) + 1) * i128::from(count);
            let rhs = cells_between * i128::from(period);
            if lhs <= rhs {
                return Some((i, j));
            }
        }
    }
    None
}

/// Asserts the GCRA conformance rule of [`gcra_violation`] for `quota` on admitted cell
/// instants (any order; a weight-`n` acquisition appears `n` times), naming the first pair of
/// cells (by sorted position and instant) that are too close.
pub fn assert_conforms(cells: &[u64], quota: Quota) {
    let violation = gcra_violation(cells, quota.count(), quota.period_nanos(), quota.burst());
    if let Some((i, j)) = violation {
        let mut sorted = cells.to_vec();
        sorted.sort_unstable();
        panic!(
            "cells {i} at {} and {j} at {} are too close for {quota:?}",
            sorted[i], sorted[j],
        );
    }
}

/// Checks that no half-open window `[t, t + period)` holds more than `count` of `cells`.
pub fn window_violation(cells: &[u64], count: usize, period: u64) -> Option<u64> {
    let mut p = cells.to_vec();
    p.sort_unstable();
    let mut start = 0;
    for end in 0..p.len() {
        while p[end] - p[start] >= period {
            start += 1;
        }
        if end - start + 1 > count {
            return Some(p[start]);
        }
    }
    None
}
