//! Property tests of the keyed limiters (`KeyedGcra`, `Locked<KeyedGcra>`, and
//! `ShardedKeyedGcra` with one shard), in lockstep on random operation sequences with clocks
//! that step backwards: identical answers to an unbounded map of independent `Gcra`s while at
//! most the capacity of keys is busy, exact `TableFull` refusals, the bound of `Forget`, and
//! per-key conformance checked by the independent oracle.

mod common;

use common::drive::{RawQuota, raw_quota, scale};
use common::keyed::{FIXED, KeyedDriver, LOCKED, SHARDED, keyed_ops};
use pacer_core::WhenFull;
use proptest::prelude::*;

/// Quotas whose interval is a whole number of nanoseconds (before scaling).
fn whole_quota(max_count: u32, max_burst: u32) -> impl Strategy<Value = RawQuota> {
    (1..=max_count, 1u64..=30, 1..=max_burst).prop_map(|(count, per_cell, burst)| RawQuota {
        count,
        period: u64::from(count) * per_cell,
        burst,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn refusing_tables_answer_as_independent_limiters(
        scale in scale(),
        q in raw_quota(6, 4),
        ops in keyed_ops(4, 120),
    ) {
        let mut driver = KeyedDriver::new(q.quota(scale), WhenFull::Refuse, scale);
        driver.run(&ops);
    }

    /// With whole intervals, "busy" reads off the reference exactly, so every refusal is
    /// checked to be deserved.
    #[test]
    fn refusals_come_only_when_capacity_keys_are_busy(
        scale in prop_oneof![Just(1u64), Just(1_000)],
        q in whole_quota(6, 4),
        ops in keyed_ops(4, 120),
    ) {
        let mut driver = KeyedDriver::new(q.quota(scale), WhenFull::Refuse, scale);
        driver.run(&ops);
    }

    #[test]
    fn forgetting_tables_write_off_at_most_the_soonest_debt(
        scale in prop_oneof![Just(1u64), Just(1_000)],
        q in whole_quota(6, 4),
        ops in keyed_ops(4, 120),
    ) {
        // Keys tied for "idle soonest" may go in another order in each limiter: each is
        // checked on its own.
        for lead in [FIXED, LOCKED, SHARDED] {
            let mut driver = KeyedDriver::led_by(q.quota(scale), WhenFull::Forget, scale, lead);
            driver.run(&ops);
        }
    }
}

/// The random sequences do reach full tables, under both policies.
#[test]
fn the_sequences_fill_the_tables() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for when_full in [WhenFull::Refuse, WhenFull::Forget] {
        let mut full = 0;
        for _ in 0..64 {
            let q = whole_quota(6, 4).new_tree(&mut runner).unwrap().current();
            let ops = keyed_ops(4, 120).new_tree(&mut runner).unwrap().current();
            let mut driver = KeyedDriver::new(q.quota(1), when_full, 1);
            driver.run(&ops);
            full += driver.full;
        }
        assert!(
            full >= 64,
            "{when_full:?}: only {full} full-table answers in 64 runs"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Many shards with room for every key, on a clock that never steps back (each shard
    /// clamps readings on its own): every answer is the reference's.
    #[test]
    fn many_shards_answer_as_independent_limiters(
        scale in scale(),
        q in raw_quota(6, 4),
        steps in proptest::collection::vec((0u8..32, 0u32..6, 0u64..40), 1..200),
    ) {
        use pacer_core::{Gcra, KeyedRateLimiter, Scheduler, ShardedKeyedGcra};
        use std::collections::BTreeMap;
        let quota = q.quota(scale);
        let sharded = ShardedKeyedGcra::<u8>::with_shards(quota, 1024, 8).unwrap();
        let mut reference: BTreeMap<u8, Gcra> = BTreeMap::new();
        let mut now = 0;
        for (key, w, step) in steps {
            now += step * scale;
            let gcra = reference.entry(key).or_insert_with(|| Gcra::new(quota));
            let expected = gcra.reserve(now, w).map(|r| r.at());
            prop_assert_eq!(sharded.reserve(&key, now, w).map(|r| r.at()), expected);
            prop_assert_eq!(sharded.snapshot(&key, now), gcra.snapshot(now));
        }
    }
}
