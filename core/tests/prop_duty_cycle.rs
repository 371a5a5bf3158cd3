//! Property tests of `DutyCycle<E>`, the weighted window of a fixed number of entries:
//! - the contract of every scheduler (the shared driver: the window rule on every admitted
//!   cell by the independent checker, FIFO order, `earliest`, `try`, `within`, weights up to
//!   one above the count (`TooHeavy`), exact cancel of the newest, snapshots, reconfiguration,
//!   clocks that step backwards), with logs of 8 entries and of 1, 2 and 3, which are full
//!   nearly all the time and merge on almost every reservation;
//! - the bound of merging, against an exact log of every admitted cell: for the same cells,
//!   every answer is the exact window's or later, by at most `⌊2 · period / E⌋`;
//! - a duty cycle with a large count (36,000 cells per hour) and weights of hundreds of cells,
//!   which a cell-by-cell log could not hold.

mod common;

use common::check::{self, Rule};
use common::drive::{Driver, Subject, ops, raw_quota, scale};
use pacer_core::{DutyCycle, Error, Quota, Scheduler};
use proptest::prelude::*;

impl<const E: usize> Subject for DutyCycle<E> {
    fn max_weight(&self) -> u32 {
        self.count()
    }
    fn rules(&self) -> Vec<Rule> {
        let period = u64::try_from(self.period().as_nanos()).unwrap();
        let count = u64::from(self.count());
        vec![Rule::new(count, period, count)]
    }
    /// A window whose log never refuses a count, and whose cancel is always exact: to the
    /// driver's model of a cell-by-cell log, a log that never evicts.
    fn window_capacity(&self) -> Option<usize> {
        Some(usize::MAX)
    }
    fn copy(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn reconfigure(&mut self, now: u64, _: usize, quota: Quota) -> Option<Result<(), Error>> {
        Some(self.set_quota(now, quota))
    }
}

/// The exact window's earliest instant for `n` cells at `now`, over every admitted cell
/// (`cells` sorted, `newest` the last reserved instant).
fn exact_earliest(cells: &[u64], newest: u64, now: u64, n: u32, count: u32, period: u64) -> u64 {
    let mut at = now.max(newest);
    let need = (count - n + 1) as usize;
    if cells.len() >= need {
        at = at.max(cells[cells.len() - need] + period);
    }
    at
}

/// One step of the bound test.
#[derive(Clone, Debug)]
enum Step {
    Reserve { w: u32 },
    CancelNewest,
    Advance { by: u64 },
    Back { by: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1u32..40).prop_map(|w| Step::Reserve { w }),
        1 => Just(Step::CancelNewest),
        4 => (0u64..400).prop_map(|by| Step::Advance { by }),
        1 => (0u64..100).prop_map(|by| Step::Back { by }),
    ]
}

/// Runs `steps` on a `DutyCycle<E>` of `count` cells per `period` and on an exact log, and
/// checks after every step that each answer is the exact one or later by at most the bound.
fn check_bound<const E: usize>(count: u32, period: u64, steps: &[Step]) {
    let quota = Quota::new(count, std::time::Duration::from_nanos(period)).unwrap();
    let mut window = DutyCycle::<E>::new(quota).unwrap();
    let bound = 2 * period / E as u64;
    assert_eq!(window.merge_bound().as_nanos(), u128::from(bound));
    let mut now = 0u64;
    let mut seen = 0u64;
    // Admitted reservations in order, and those that can still be cancelled, newest last.
    let mut admitted: Vec<(u64, u32)> = Vec::new();
    let mut held = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match *step {
            Step::Reserve { w } => {
                let w = 1 + (w - 1) % count;
                let r = window.reserve(now, w).unwrap();
                admitted.push((r.at(), w));
                held.push(r);
            }
            Step::CancelNewest => {
                if let Some(r) = held.pop() {
                    let at = r.at();
                    if window.cancel(r, now) {
                        assert_eq!(admitted.pop().map(|a| a.0), Some(at));
                    }
                    // A refused cancel leaves the cells in force, and no older one can
                    // be cancelled past them.
                    held.clear();
                }
            }
            Step::Advance { by } => now += by,
            Step::Back { by } => now = now.saturating_sub(by),
        }
        seen = seen.max(now);
        let cells = check::cells(admitted.iter().copied());
        check::assert_window(&cells, count as usize, period, &format!("step {i}"));
        let newest = admitted.last().map_or(0, |a| a.0);
        for probe in [seen, seen + period / 3, seen + period] {
            for n in 1..=count {
                let got = window.earliest(probe, n).unwrap();
                let exact = exact_earliest(&cells, newest, probe.max(seen), n, count, period);
                assert!(
                    exact <= got && got <= exact + bound,
                    "step {i} ({step:?}), {n} cells at {probe}: {got}, exact {exact}, \
                     bound {bound}; admitted {admitted:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn duty_cycle_keeps_the_contract(scale in scale(), q in raw_quota(8, 1), ops in ops(10, 1, 90)) {
        let mut driver = Driver::new(DutyCycle::<8>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
    }

    /// A full log: nearly every reservation at a new instant drops or merges an entry.
    #[test]
    fn full_duty_cycle_keeps_the_contract(scale in scale(), q in raw_quota(8, 1), ops in ops(10, 1, 90)) {
        let mut driver = Driver::new(DutyCycle::<2>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
        let mut driver = Driver::new(DutyCycle::<3>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
        let mut driver = Driver::new(DutyCycle::<1>::new(q.quota(scale)).unwrap(), scale);
        driver.run(&ops);
    }

    /// Weighted cells, many more instants than entries: never more permissive than the exact
    /// window, and never later than it by more than `⌊2 · period / E⌋`.
    #[test]
    fn merging_is_conservative_and_bounded(
        count in 1u32..60,
        period in 60u64..1_000, // at least one nanosecond per cell: count < 60
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        check_bound::<1>(count, period, &steps);
        check_bound::<2>(count, period, &steps);
        check_bound::<4>(count, period, &steps);
        check_bound::<16>(count, period, &steps);
    }
}

#[test]
fn a_log_of_no_entries_is_refused() {
    let quota = Quota::per_second(5).unwrap();
    assert_eq!(
        DutyCycle::<0>::new(quota),
        Err(Error::WindowTooSmall {
            count: 5,
            capacity: 0
        })
    );
}

/// EU868's 1% duty cycle: 36,000 ms of airtime per hour, a cell a millisecond, packets of 50
/// to 1,500 ms sent as fast as allowed for ten hours, in 16 entries. Every hour-long window
/// holds at most 36,000 ms, and the merged log keeps the radio busy: at least 85% of each hour
/// after the first (the bound allows an answer 450 s late, an eighth of the hour).
#[test]
fn airtime_per_hour() {
    const HOUR: u64 = 3_600_000_000_000;
    let mut radio = DutyCycle::<16>::new(Quota::per_hour(36_000).unwrap()).unwrap();
    assert_eq!(radio.merge_bound().as_secs(), 450);
    let mut sends = Vec::new();
    let mut now = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    while now < 10 * HOUR {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let airtime = 50 + (seed % 1_451) as u32;
        let at = radio.reserve(now, airtime).unwrap().at();
        sends.push((at, airtime));
        // The packet is on the air for its airtime; the next is ready when it ends.
        now = at + u64::from(airtime) * 1_000_000;
    }
    let cells = check::cells(sends.iter().copied());
    check::assert_window(&cells, 36_000, HOUR, "airtime");
    for hour in 1..9 {
        let used: u64 = sends
            .iter()
            .filter(|s| s.0 >= hour * HOUR && s.0 < (hour + 1) * HOUR)
            .map(|s| u64::from(s.1))
            .sum();
        assert!(used <= 36_000, "hour {hour}: {used} ms");
        assert!(
            used >= 36_000 * 85 / 100,
            "hour {hour}: only {used} ms of 36,000"
        );
    }
}
