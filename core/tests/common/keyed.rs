//! A driver of random operation sequences for keyed limiters, checked against an unbounded map
//! of independent `Gcra`s (the reference) and, per key, against the conformance rule.
//!
//! Every keyed limiter under test gets the same operations. Under `WhenFull::Refuse` their
//! answers must equal each other's; under `WhenFull::Forget` keys tied for "idle soonest" may
//! be forgotten in different orders, so one *lead* limiter is checked and the others only run.
//! The lead's answers must equal the reference's, except where it lacks room for a new key:
//! - under `WhenFull::Refuse` it answers `TableFull { at }`, which is checked to be deserved
//!   (where the quota's interval is a whole number of nanoseconds, so that "busy" can be read
//!   off the reference's snapshot: at least `capacity` other keys are busy) and exact (a retry
//!   at `at - 1` is still refused, one at `at` succeeds);
//! - under `WhenFull::Forget` it forgets one busy key: the driver finds which (the key whose
//!   snapshot turned fresh while the reference's is not), writes the key's debt off in the
//!   reference too, and adds that debt to the key's burst in the conformance check.
//!
//! The reference is given the clock reading clamped to the latest seen by any key, as the
//! keyed limiters clamp it.

use std::collections::BTreeMap;
use std::time::Duration;

use pacer_core::{
    Error, Gcra, GcraToken, KeyedGcra, KeyedRateLimiter, KeyedToken, Locked, Quota, Reservation,
    Scheduler, ShardedKeyedGcra, Snapshot, WhenFull,
};
use proptest::prelude::*;
use proptest::sample::Index;

use super::check::{self, Rule};

/// Keys are small numbers, more of them than the capacity, so tables fill up.
pub const KEYS: u8 = 7;
/// The capacity of every keyed limiter under test.
pub const CAPACITY: usize = 4;

#[derive(Clone, Debug)]
pub enum KeyedOp {
    Reserve {
        key: u8,
        w: u32,
    },
    ReserveWithin {
        key: u8,
        w: u32,
        wait: u64,
    },
    TryAcquire {
        key: u8,
        w: u32,
    },
    Earliest {
        key: u8,
        w: u32,
    },
    Snapshot {
        key: u8,
    },
    /// Cancel a random held reservation (newest of its key or not).
    Cancel {
        pick: Index,
    },
    /// Move the clock by `delta · scale` ns, backwards too.
    Step {
        delta: i64,
    },
}

pub fn keyed_op(max_burst: u32) -> impl Strategy<Value = KeyedOp> {
    let key = 0..KEYS;
    let w = 0..max_burst + 2;
    prop_oneof![
        6 => (key.clone(), w.clone()).prop_map(|(key, w)| KeyedOp::Reserve { key, w }),
        3 => (key.clone(), w.clone(), 0u64..100)
            .prop_map(|(key, w, wait)| KeyedOp::ReserveWithin { key, w, wait }),
        3 => (key.clone(), w.clone()).prop_map(|(key, w)| KeyedOp::TryAcquire { key, w }),
        1 => (key.clone(), w).prop_map(|(key, w)| KeyedOp::Earliest { key, w }),
        1 => key.prop_map(|key| KeyedOp::Snapshot { key }),
        3 => any::<Index>().prop_map(|pick| KeyedOp::Cancel { pick }),
        6 => (-40i64..=80).prop_map(|delta| KeyedOp::Step { delta }),
    ]
}

pub fn keyed_ops(max_burst: u32, len: usize) -> impl Strategy<Value = Vec<KeyedOp>> {
    proptest::collection::vec(keyed_op(max_burst), 1..len)
}

/// The keyed limiters under test, all with room for [`CAPACITY`] keys and one policy.
pub struct Subjects {
    fixed: KeyedGcra<u8, CAPACITY>,
    locked: Locked<KeyedGcra<u8, CAPACITY>>,
    sharded: ShardedKeyedGcra<u8>,
}

/// The limiters by number, for [`KeyedDriver::led_by`].
pub const FIXED: usize = 0;
pub const LOCKED: usize = 1;
pub const SHARDED: usize = 2;

type Answer = Result<Reservation<KeyedToken>, Error>;

impl Subjects {
    pub fn new(quota: Quota, when_full: WhenFull) -> Subjects {
        Subjects {
            fixed: KeyedGcra::new(quota).when_full(when_full),
            locked: Locked::new(KeyedGcra::new(quota).when_full(when_full)),
            sharded: ShardedKeyedGcra::with_shards(quota, CAPACITY, 1)
                .expect("a capacity above zero")
                .when_full(when_full),
        }
    }

    fn reserve_within(&mut self, key: u8, now: u64, w: u32, wait: Duration) -> [Answer; 3] {
        [
            self.fixed.reserve_within(&key, now, w, wait),
            self.locked.reserve_within(&key, now, w, wait),
            self.sharded.reserve_within(&key, now, w, wait),
        ]
    }

    fn earliest(&mut self, key: u8, now: u64, w: u32) -> [Result<u64, Error>; 3] {
        [
            self.fixed.earliest(&key, now, w),
            self.locked.earliest(&key, now, w),
            self.sharded.earliest(&key, now, w),
        ]
    }

    fn snapshot(&mut self, key: u8, now: u64) -> [Snapshot; 3] {
        [
            self.fixed.snapshot(&key, now),
            self.locked.snapshot(&key, now),
            self.sharded.snapshot(&key, now),
        ]
    }

    fn cancel(
        &mut self,
        key: u8,
        receipts: [Option<Reservation<KeyedToken>>; 3],
        now: u64,
    ) -> [Option<bool>; 3] {
        let [a, b, c] = receipts;
        [
            a.map(|r| self.fixed.cancel(&key, r, now)),
            b.map(|r| self.locked.cancel(&key, r, now)),
            c.map(|r| self.sharded.cancel(&key, r, now)),
        ]
    }

    fn lens(&self) -> [usize; 3] {
        [
            self.fixed.len(),
            self.locked.with(|k| k.len()),
            self.sharded.len(),
        ]
    }
}

/// One admitted acquisition of a key.
#[derive(Clone, Copy, Debug)]
struct Admitted {
    at: u64,
    cells: u32,
    returned: bool,
}

/// A reservation held by the driver: the reference's and each subject's receipt of it.
struct Held {
    key: u8,
    admitted: usize,
    reference: Reservation<GcraToken>,
    receipts: [Option<Reservation<KeyedToken>>; 3],
}

pub struct KeyedDriver {
    quota: Quota,
    when_full: WhenFull,
    scale: u64,
    now: u64,
    seen: u64,
    subjects: Subjects,
    /// The limiter whose answers are checked; under `Refuse` all must agree with it.
    lead: usize,
    reference: BTreeMap<u8, Gcra>,
    admitted: BTreeMap<u8, Vec<Admitted>>,
    /// Cells written off per key by `WhenFull::Forget`.
    debt: BTreeMap<u8, u64>,
    held: Vec<Held>,
    /// How many new keys were refused or forced a key out: the tests' coverage.
    pub full: usize,
}

impl KeyedDriver {
    pub fn new(quota: Quota, when_full: WhenFull, scale: u64) -> KeyedDriver {
        KeyedDriver::led_by(quota, when_full, scale, FIXED)
    }

    /// A driver that checks the answers of limiter `lead` ([`FIXED`], [`LOCKED`] or
    /// [`SHARDED`]).
    pub fn led_by(quota: Quota, when_full: WhenFull, scale: u64, lead: usize) -> KeyedDriver {
        KeyedDriver {
            quota,
            when_full,
            scale,
            now: 0,
            seen: 0,
            subjects: Subjects::new(quota, when_full),
            lead,
            reference: BTreeMap::new(),
            admitted: BTreeMap::new(),
            debt: BTreeMap::new(),
            held: Vec::new(),
            full: 0,
        }
    }

    /// The lead's answer; under `Refuse`, after checking that every limiter gave it.
    fn agree<T: PartialEq + std::fmt::Debug + Clone>(&self, answers: &[T; 3], what: &str) -> T {
        let lead = answers[self.lead].clone();
        if self.when_full == WhenFull::Refuse {
            for (i, answer) in answers.iter().enumerate() {
                assert_eq!(*answer, lead, "{what}: limiter {i} and the lead differ");
            }
        }
        lead
    }

    /// Whether "busy" can be read off the reference's snapshots: with a whole interval a key
    /// is idle exactly when its whole burst remains.
    fn exact_busy(&self) -> bool {
        self.quota
            .period_nanos()
            .is_multiple_of(u64::from(self.quota.count()))
    }

    pub fn run(&mut self, ops: &[KeyedOp]) {
        for op in ops {
            self.step(op);
            for (i, len) in self.subjects.lens().into_iter().enumerate() {
                assert!(len <= CAPACITY, "limiter {i} over capacity: {len}");
            }
        }
        self.check_conformance();
    }

    fn step(&mut self, op: &KeyedOp) {
        match *op {
            KeyedOp::Reserve { key, w } => self.reserve(key, w, Duration::MAX),
            KeyedOp::ReserveWithin { key, w, wait } => {
                self.reserve(key, w, Duration::from_nanos(wait * self.scale))
            }
            KeyedOp::TryAcquire { key, w } => self.reserve(key, w, Duration::ZERO),
            KeyedOp::Earliest { key, w } => self.earliest(key, w),
            KeyedOp::Snapshot { key } => self.snapshot(key),
            KeyedOp::Cancel { pick } => {
                if !self.held.is_empty() {
                    let held = self.held.swap_remove(pick.index(self.held.len()));
                    self.cancel(held);
                }
            }
            KeyedOp::Step { delta } => {
                let by = delta.unsigned_abs() * self.scale;
                self.now = if delta < 0 {
                    self.now.saturating_sub(by)
                } else {
                    self.now + by
                };
            }
        }
    }

    fn clamped(&self) -> u64 {
        self.now.max(self.seen)
    }

    fn reference(&self, key: u8) -> Gcra {
        self.reference
            .get(&key)
            .cloned()
            .unwrap_or_else(|| Gcra::new(self.quota))
    }

    fn reserve(&mut self, key: u8, w: u32, wait: Duration) {
        let now = self.now;
        let clamped = self.clamped();
        let mut reference = self.reference(key);
        let expected = reference.reserve_within(clamped, w, wait);
        let before = self.snapshots_of_others(key);
        let answers = self.subjects.reserve_within(key, now, w, wait);
        self.seen = clamped;
        let summary = |r: &Answer| r.as_ref().map(|r| r.at()).map_err(|e| *e);
        let what = format!("reserve {w} of {key} at {now}");
        let lead = self.agree(&answers.each_ref().map(summary), &what);
        match (&expected, lead) {
            (Ok(_), Err(Error::TableFull { at })) => {
                assert_eq!(self.when_full, WhenFull::Refuse, "TableFull under Forget");
                self.check_refusal(key, w, at);
                return;
            }
            _ => assert_eq!(
                lead,
                expected.as_ref().map(|r| r.at()).map_err(|e| *e),
                "{what} (clamped {clamped}): keyed and reference differ"
            ),
        }
        let Ok(reference_receipt) = expected else {
            return;
        };
        if self.when_full == WhenFull::Forget {
            self.write_off_forgotten(&before);
        }
        self.reference.insert(key, reference);
        if reference_receipt.cells() == 0 {
            return;
        }
        let list = self.admitted.entry(key).or_default();
        list.push(Admitted {
            at: reference_receipt.at(),
            cells: reference_receipt.cells(),
            returned: false,
        });
        let admitted = list.len() - 1;
        self.held.push(Held {
            key,
            admitted,
            reference: reference_receipt,
            receipts: answers.map(Result::ok),
        });
    }

    /// A refused new key: at least `CAPACITY` other keys are busy (where that can be read
    /// exactly), and `at` is exactly when a slot frees.
    fn check_refusal(&mut self, key: u8, w: u32, at: u64) {
        self.full += 1;
        let clamped = self.clamped();
        assert!(
            at > clamped,
            "a slot frees at {at}, not after now {clamped}"
        );
        if self.exact_busy() {
            let busy = self
                .reference
                .iter()
                .filter(|(k, g)| **k != key && g.snapshot(clamped).remaining < self.quota.burst())
                .count();
            assert!(busy >= CAPACITY, "refused with only {busy} busy keys");
        }
        let probe = |at: u64| {
            self.subjects
                .fixed
                .clone()
                .reserve(&key, at, w)
                .map(|r| r.at())
        };
        assert_eq!(
            probe(at),
            Ok(at),
            "no slot at {at}, the instant TableFull named"
        );
        // `at > clamped`, so `at - 1` is a reading the table may still be given.
        assert!(
            matches!(probe(at - 1), Err(Error::TableFull { .. })),
            "a slot already free at {} before TableFull's {at}",
            at - 1
        );
    }

    /// Every other key's snapshot in the reference, before a reservation.
    fn snapshots_of_others(&self, key: u8) -> Vec<(u8, Snapshot)> {
        let clamped = self.clamped();
        self.reference
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(k, g)| (*k, g.snapshot(clamped)))
            .collect()
    }

    /// After a reservation under `WhenFull::Forget`: if a busy key was forgotten to make room,
    /// its snapshot is now a new key's. Find it, write its debt off in the reference too, and
    /// remember the debt for the conformance check.
    fn write_off_forgotten(&mut self, before: &[(u8, Snapshot)]) {
        assert!(
            self.exact_busy(),
            "Forget is driven with whole intervals only"
        );
        let clamped = self.clamped();
        let burst = self.quota.burst();
        let interval = self.quota.period_nanos() / u64::from(self.quota.count());
        let fresh = Snapshot {
            remaining: burst,
            earliest: clamped,
        };
        let mut forgotten = None;
        for (k, snap) in before {
            let busy = snap.remaining < burst;
            if busy && self.subjects.snapshot(*k, clamped)[self.lead] == fresh {
                assert!(forgotten.is_none(), "two keys forgotten for one");
                forgotten = Some((*k, *snap));
            }
        }
        let Some((k, snap)) = forgotten else {
            return;
        };
        self.full += 1;
        // With a whole interval T, a key owing cells has TAT = earliest + (burst - 1) · T when
        // its next cell must wait, and owes burst - remaining cells when it need not.
        let owed = if snap.earliest > clamped {
            let tat = snap.earliest + u64::from(burst - 1) * interval;
            (tat - clamped).div_ceil(interval)
        } else {
            u64::from(burst - snap.remaining)
        };
        *self.debt.entry(k).or_default() += owed;
        self.reference.insert(k, Gcra::new(self.quota));
    }

    fn earliest(&mut self, key: u8, w: u32) {
        let clamped = self.clamped();
        let expected = self.reference(key).earliest(clamped, w);
        let answers = self.subjects.earliest(key, self.now, w);
        let a = self.agree(&answers, &format!("earliest {w} of {key}"));
        match a {
            Err(Error::TableFull { at }) => {
                assert!(
                    expected.is_ok() && at > clamped,
                    "earliest: TableFull at {at}"
                )
            }
            _ => assert_eq!(a, expected, "earliest of {key} at {clamped}"),
        }
    }

    fn snapshot(&mut self, key: u8) {
        let clamped = self.clamped();
        let expected = self.reference(key).snapshot(clamped);
        let answers = self.subjects.snapshot(key, self.now);
        let a = self.agree(&answers, &format!("snapshot of {key}"));
        if a.remaining == 0 && a.earliest > expected.earliest {
            // No room for the key: nothing remains until a slot frees.
            assert_eq!(self.when_full, WhenFull::Refuse);
            let earliest = self.subjects.earliest(key, clamped, 1)[self.lead];
            assert_eq!(earliest, Err(Error::TableFull { at: a.earliest }));
        } else {
            assert_eq!(a, expected, "snapshot of {key} at {clamped}");
        }
    }

    fn cancel(&mut self, held: Held) {
        let now = self.now;
        let clamped = self.clamped();
        let mut reference = self.reference(held.key);
        let expected = reference.cancel(held.reference, clamped);
        let key = held.key;
        let answers = self.subjects.cancel(key, held.receipts, now);
        self.seen = clamped;
        let lead = self.agree(&answers, &format!("cancel of {key} at {now}"));
        assert_eq!(lead, Some(expected), "cancel of {key} at {now}");
        self.reference.insert(key, reference);
        if expected {
            self.admitted.get_mut(&key).expect("admitted before")[held.admitted].returned = true;
        }
    }

    /// Per key, the cells that were not handed back conform to the quota, with the burst
    /// raised by whatever `WhenFull::Forget` wrote off for that key.
    fn check_conformance(&self) {
        for (key, list) in &self.admitted {
            let cells = check::cells(list.iter().filter(|a| !a.returned).map(|a| (a.at, a.cells)));
            let mut rule = Rule::of(&self.quota);
            rule.burst += u128::from(self.debt.get(key).copied().unwrap_or(0));
            check::assert_gcra(&cells, rule, &format!("key {key}"));
            if self.exact_busy() {
                assert_eq!(
                    check::gcra_violation_strict(&cells, rule),
                    None,
                    "key {key}: whole intervals conform strictly"
                );
            }
        }
    }
}
