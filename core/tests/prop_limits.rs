//! Property tests of `Limits<K>` (K = 2 and 3): random operations, reconfiguring one limit at
//! a time, checked so that every limit's conformance rule holds on the combined schedule (per
//! epoch of that limit and across its changes), with FIFO order, `earliest`, `cancel` and
//! exact restoration as for one quota.

mod common;

use common::drive::{Driver, ops, raw_quota, scale};
use pacer_core::Limits;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn two_limits_keep_the_contract(
        scale in scale(),
        a in raw_quota(6, 4),
        b in raw_quota(6, 4),
        ops in ops(6, 4, 90),
    ) {
        let mut driver = Driver::new(Limits::new([a.quota(scale), b.quota(scale)]), scale);
        driver.run(&ops);
    }

    #[test]
    fn three_limits_keep_the_contract(
        scale in scale(),
        a in raw_quota(6, 4),
        b in raw_quota(6, 4),
        c in raw_quota(6, 4),
        ops in ops(6, 4, 90),
    ) {
        let quotas = [a.quota(scale), b.quota(scale), c.quota(scale)];
        let mut driver = Driver::new(Limits::new(quotas), scale);
        driver.run(&ops);
    }
}
