//! Property tests of `Gcra`: random reserve / reserve_within / try_acquire / cancel /
//! reconfigure / clock steps (backwards too), checked against the independent oracle in
//! `common`: the conformance rule per quota epoch and across changes, FIFO order, what
//! `earliest` and `cancel` must return, exact restoration on cancel of the newest.

mod common;

use common::check::{self, Rule};
use common::drive::{Driver, Op, ops, raw_quota, scale};
use pacer_core::Gcra;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn gcra_keeps_the_contract(scale in scale(), q in raw_quota(6, 4), ops in ops(6, 4, 90)) {
        let mut driver = Driver::new(Gcra::new(q.quota(scale)), scale);
        driver.run(&ops);
    }

    /// Where the interval `period / count` is a whole number of nanoseconds no instant is
    /// rounded, so the rule holds without the one-nanosecond allowance:
    /// `(p_j - p_i) · count >= (j - i + 1 - burst) · period`.
    #[test]
    fn whole_intervals_conform_strictly(
        scale in scale(),
        count in 1u32..6,
        per_cell in 1u64..20,
        burst in 1u32..4,
        ops in ops(6, 4, 90),
    ) {
        let q = common::drive::RawQuota { count, period: u64::from(count) * per_cell, burst };
        let ops: Vec<Op> = ops.into_iter().filter(|op| !matches!(op, Op::Reconfigure { .. })).collect();
        let mut driver = Driver::new(Gcra::new(q.quota(scale)), scale);
        driver.run(&ops);
        let cells = driver.cells();
        let rule = Rule::of(&q.quota(scale));
        prop_assert_eq!(check::gcra_violation_strict(&cells, rule), None, "cells {:?}", cells);
    }
}
