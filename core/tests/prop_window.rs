//! Property tests of `SlidingWindow<N>`: random operations (reconfigure included, also to
//! counts beyond the log's capacity) checked against the window rule, FIFO order, `earliest`,
//! `cancel`, and what window.rs promises for a cancel after eviction: the log is restored
//! exactly when the evicted cells shared one instant (always for weight 1), and otherwise is
//! never more permissive than the true one.

mod common;

use common::drive::{Driver, ops, raw_quota, scale};
use pacer_core::SlidingWindow;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn window_keeps_the_contract(scale in scale(), q in raw_quota(8, 1), ops in ops(10, 1, 90)) {
        let mut driver = Driver::new(SlidingWindow::<8>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
    }

    /// A small log fills and evicts all the time.
    #[test]
    fn small_window_keeps_the_contract(scale in scale(), q in raw_quota(3, 1), ops in ops(4, 1, 90)) {
        let mut driver = Driver::new(SlidingWindow::<3>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
    }
}
