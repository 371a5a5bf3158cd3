//! Property tests of the shared limiters driven from one thread: `AtomicLimiter` (no
//! reconfigure; with backwards clock steps it may serve a stale reading, so only the
//! conformance rule, not FIFO order, is required of it) and `Locked<Gcra>` (the full contract,
//! reconfigure through `Locked::with`).

mod common;

use common::drive::{Driver, Shared, ops, raw_quota, scale};
use pacer_core::{AtomicLimiter, Gcra, Locked};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn atomic_limiter_keeps_the_contract(scale in scale(), q in raw_quota(6, 4), ops in ops(6, 4, 90)) {
        let mut driver = Driver::new(Shared(AtomicLimiter::new(q.quota(scale))), scale);
        driver.run(&ops);
    }

    #[test]
    fn locked_gcra_keeps_the_contract(scale in scale(), q in raw_quota(6, 4), ops in ops(6, 4, 90)) {
        let mut driver = Driver::new(Shared(Locked::new(Gcra::new(q.quota(scale)))), scale);
        driver.run(&ops);
    }
}
