//! How many cells went beyond a quota: the count a policer of that quota would have dropped.
//!
//! Where a limit's state is lost (a Redis restarted empty), the cells admitted before and
//! after the loss no longer conform together. This measures by how much: a GCRA policer with
//! the same quota watches every admitted cell in instant order, passes each that conforms
//! with the cells it passed before (the rule of [`gcra_violation`](crate::gcra_violation),
//! rounding allowance included) and drops the rest; the dropped ones are the excess. A
//! schedule that passes the conformance check has none.

use pacer_core::Quota;

/// The number of `cells` (admitted instants in nanoseconds, any order, a weight-`n`
/// acquisition appearing `n` times) that a policer of `quota` drops.
pub fn gcra_excess(cells: &[u64], quota: Quota) -> usize {
    let mut sorted = cells.to_vec();
    sorted.sort_unstable();
    let count = i128::from(quota.count());
    let period = i128::from(quota.period_nanos());
    let slack = (i128::from(quota.burst()) - 1) * period;
    // Times scaled by `count`, so that the interval `period / count` is `period`, exactly:
    // the theoretical arrival time of the next cell after those passed.
    let mut tat: Option<i128> = None;
    let mut dropped = 0;
    for &at in &sorted {
        let scaled = i128::from(at) * count;
        // Passes if (at + 1) · count > TAT - (burst - 1) · period: with every passed cell i
        // before it, (at - p_i + 1) · count > (cells from i to it, inclusive, - burst) · period.
        let conforms = tat.is_none_or(|tat| scaled + count > tat - slack);
        if conforms {
            tat = Some(tat.map_or(scaled, |tat| tat.max(scaled)) + period);
        } else {
            dropped += 1;
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gcra_violation;

    fn quota(count: u32, period_ms: u64, burst: u32) -> Quota {
        Quota::new(count, Duration::from_millis(period_ms))
            .unwrap()
            .with_burst(burst)
            .unwrap()
    }

    #[test]
    fn a_conforming_schedule_has_no_excess_and_a_second_burst_is_all_excess() {
        let q = quota(1000, 1000, 5); // 1 ms apart, 5 at once
        let ms = 1_000_000;
        // A burst of 5 at 0, then one cell per ms: conforms.
        let mut cells: Vec<u64> = vec![0; 5];
        cells.extend((5..100).map(|k| (k - 4) * ms));
        assert_eq!(gcra_violation(&cells, 1000, 1_000_000_000, 5), None);
        assert_eq!(gcra_excess(&cells, q), 0);
        // A limit forgotten at 50 ms and started afresh: a new burst of 5 there, then the
        // fresh schedule runs one per ms beside the old one's.
        let mut lost = cells.clone();
        lost.extend(vec![50 * ms; 5]);
        assert_eq!(gcra_excess(&lost, q), 5);
    }

    #[test]
    fn the_excess_is_zero_exactly_when_the_rule_holds() {
        let mut rng = crate::XorShift::new(11);
        for case in 0..300 {
            let q = quota(
                rng.between(1, 7) as u32,
                rng.between(1, 5),
                rng.between(1, 4) as u32,
            );
            let cells: Vec<u64> = (0..rng.between(1, 30))
                .map(|_| rng.between(0, 4_000_000))
                .collect();
            let violates = gcra_violation(&cells, q.count(), q.period_nanos(), q.burst());
            assert_eq!(
                violates.is_some(),
                gcra_excess(&cells, q) > 0,
                "case {case}: {q:?} {cells:?}"
            );
        }
    }
}
