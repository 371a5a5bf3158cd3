//! Random operation sequences, and a driver that runs them against any scheduler and checks
//! the behaviour contract of docs/contract.md after every step.
//!
//! The driver keeps its own record: every acquisition that succeeded, in reservation order,
//! with the quota epoch it was made in and whether a cancel returned `true` for it. From that
//! record alone (never from the scheduler's internals) it predicts what `cancel` must return
//! and checks the conformance rule, FIFO order and exact restoration.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::Duration;

use pacer_core::{
    AtomicLimiter, Error, Gcra, Limits, Locked, Quota, RateLimiter, Reservation, Scheduler,
    SlidingWindow, Snapshot,
};
use proptest::prelude::*;
use proptest::sample::Index;

use super::check::{self, Rule};

/// A quota before scaling: `count` cells per `period · scale` ns, `burst` back to back.
#[derive(Clone, Copy, Debug)]
pub struct RawQuota {
    pub count: u32,
    pub period: u64,
    pub burst: u32,
}

impl RawQuota {
    pub fn quota(&self, scale: u64) -> Quota {
        Quota::new(self.count, Duration::from_nanos(self.period * scale))
            .and_then(|q| q.with_burst(self.burst))
            .expect("generated quotas are valid")
    }
}

/// Quotas of `1..=max_count` cells with an interval between 1 and 31 ns (before scaling),
/// often not a whole number of nanoseconds.
pub fn raw_quota(max_count: u32, max_burst: u32) -> impl Strategy<Value = RawQuota> {
    (1..=max_count, 1u64..=30, 0u64..64, 1..=max_burst).prop_map(
        |(count, per_cell, extra, burst)| RawQuota {
            count,
            period: u64::from(count) * per_cell + extra % u64::from(count),
            burst,
        },
    )
}

/// Nanoseconds per unit of the generated periods, steps and waits: tight nanosecond
/// arithmetic, microseconds, and an odd scale near milliseconds.
pub fn scale() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64), Just(1_000), Just(999_983)]
}

/// One step of a test. Weights `w` are reduced modulo (max weight + 2), so every weight from 0
/// to one more than the burst (or window count) comes up.
#[derive(Clone, Debug)]
pub enum Op {
    Reserve {
        w: u32,
    },
    ReserveWithin {
        w: u32,
        wait: u64,
    },
    TryAcquire {
        w: u32,
    },
    /// Cancel a random held reservation (newest or not).
    Cancel {
        pick: Index,
    },
    CancelNewest,
    /// Reserve a valid positive weight and cancel it at once, at the same `now`.
    RoundTrip {
        w: u32,
    },
    Reconfigure {
        limit: Index,
        quota: RawQuota,
    },
    /// Move the clock by `delta · scale` ns, backwards too.
    Step {
        delta: i64,
    },
    Snapshot,
}

pub fn op(max_count: u32, max_burst: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..8).prop_map(|w| Op::Reserve { w }),
        3 => (0u32..8, 0u64..100).prop_map(|(w, wait)| Op::ReserveWithin { w, wait }),
        3 => (0u32..8).prop_map(|w| Op::TryAcquire { w }),
        2 => any::<Index>().prop_map(|pick| Op::Cancel { pick }),
        2 => Just(Op::CancelNewest),
        2 => (0u32..8).prop_map(|w| Op::RoundTrip { w }),
        1 => (any::<Index>(), raw_quota(max_count, max_burst))
            .prop_map(|(limit, quota)| Op::Reconfigure { limit, quota }),
        6 => (-40i64..=80).prop_map(|delta| Op::Step { delta }),
        1 => Just(Op::Snapshot),
    ]
}

pub fn ops(max_count: u32, max_burst: u32, len: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(max_count, max_burst), 1..len)
}

/// A [`RateLimiter`] seen as a [`Scheduler`], so the one driver runs both kinds. `reserve` and
/// `try_acquire` go through the `RateLimiter`'s own provided methods.
#[derive(Debug)]
pub struct Shared<L>(pub L);

impl<L: RateLimiter> Scheduler for Shared<L> {
    type Token = L::Token;

    fn reserve_within(
        &mut self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        self.0.reserve_within(now, cells, max_wait)
    }

    fn reserve(&mut self, now: u64, cells: u32) -> Result<Reservation<L::Token>, Error> {
        self.0.reserve(now, cells)
    }

    fn try_acquire(&mut self, now: u64, cells: u32) -> Result<Reservation<L::Token>, Error> {
        self.0.try_acquire(now, cells)
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.0.earliest(now, cells)
    }

    fn cancel(&mut self, reservation: Reservation<L::Token>, now: u64) -> bool {
        self.0.cancel(reservation, now)
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.0.snapshot(now)
    }
}

/// What the driver needs to know about a scheduler beyond the [`Scheduler`] trait.
pub trait Subject: Scheduler + Sized {
    /// Whether it remembers the latest clock reading (the `&mut` schedulers and `Locked` do;
    /// `AtomicLimiter` does not, and is exempt from FIFO order under backwards clocks).
    const REMEMBERS_SEEN: bool = true;
    /// The largest weight one acquisition may take now.
    fn max_weight(&self) -> u32;
    /// The rules in force, one per limit. A window's rule is `(count, period)`, its burst unused.
    fn rules(&self) -> Vec<Rule>;
    /// The capacity of a sliding window's log, `None` for GCRA schedulers.
    fn window_capacity(&self) -> Option<usize> {
        None
    }
    /// An independent copy of the whole state, where there is one.
    fn copy(&self) -> Option<Self>;
    /// Whether two states are equal (only called where `copy` gives one).
    fn same(&self, other: &Self) -> bool;
    /// Changes the quota of limit `limit` at `now`; `None` if the scheduler cannot.
    fn reconfigure(&mut self, now: u64, limit: usize, quota: Quota) -> Option<Result<(), Error>>;
}

impl Subject for Gcra {
    fn max_weight(&self) -> u32 {
        self.quota().burst()
    }
    fn rules(&self) -> Vec<Rule> {
        vec![Rule::of(&self.quota())]
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

impl<const N: usize> Subject for SlidingWindow<N> {
    fn max_weight(&self) -> u32 {
        self.count()
    }
    fn rules(&self) -> Vec<Rule> {
        let period = u64::try_from(self.period().as_nanos()).unwrap();
        let count = u64::from(self.count());
        vec![Rule::new(count, period, count)]
    }
    fn window_capacity(&self) -> Option<usize> {
        Some(N)
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

impl<const K: usize> Subject for Limits<K> {
    fn max_weight(&self) -> u32 {
        self.quotas().iter().map(Quota::burst).min().unwrap()
    }
    fn rules(&self) -> Vec<Rule> {
        self.quotas().iter().map(Rule::of).collect()
    }
    fn copy(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn reconfigure(&mut self, now: u64, limit: usize, quota: Quota) -> Option<Result<(), Error>> {
        Some(
            self.set_quota(now, limit, quota)
                .map(|applied| assert!(applied)),
        )
    }
}

impl Subject for Shared<AtomicLimiter> {
    const REMEMBERS_SEEN: bool = false;
    fn max_weight(&self) -> u32 {
        self.0.quota().burst()
    }
    fn rules(&self) -> Vec<Rule> {
        vec![Rule::of(&self.0.quota())]
    }
    fn copy(&self) -> Option<Self> {
        None
    }
    fn same(&self, _: &Self) -> bool {
        unreachable!()
    }
    fn reconfigure(&mut self, _: u64, _: usize, _: Quota) -> Option<Result<(), Error>> {
        None
    }
}

impl Subject for Shared<Locked<Gcra>> {
    fn max_weight(&self) -> u32 {
        self.0.with(|g| g.quota().burst())
    }
    fn rules(&self) -> Vec<Rule> {
        vec![Rule::of(&self.0.with(|g| g.quota()))]
    }
    fn copy(&self) -> Option<Self> {
        Some(Shared(Locked::new(self.0.with(|g| g.clone()))))
    }
    fn same(&self, other: &Self) -> bool {
        self.0.with(|g| g.clone()) == other.0.with(|g| g.clone())
    }
    fn reconfigure(&mut self, now: u64, _: usize, quota: Quota) -> Option<Result<(), Error>> {
        Some(self.0.with(|g| g.set_quota(now, quota)))
    }
}

/// One successful acquisition of one or more cells.
#[derive(Clone, Copy, Debug)]
pub struct Admitted {
    pub at: u64,
    pub n: u32,
    /// How many changes of quota came before it.
    pub version: usize,
    /// Whether a cancel returned `true` for it.
    pub cancelled: bool,
}

/// What every limiter answers at a few instants: `earliest` for every weight, and `snapshot`.
type Observation = Vec<(u64, Vec<Result<u64, Error>>, Snapshot)>;

struct Held<S: Scheduler> {
    reservation: Reservation<S::Token>,
    id: usize,
    before: Option<S>,
    observed: Observation,
    /// The window model: the log before this reservation, and what recording it evicted.
    ring_before: VecDeque<u64>,
    evicted: Vec<u64>,
}

/// Counts of what a run exercised.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub admitted: usize,
    pub refused: usize,
    pub cancelled: usize,
    pub cancel_refused: usize,
    /// Cancels that restored the state exactly, and (sliding window) conservatively.
    pub exact_restores: usize,
    pub conservative_restores: usize,
    pub reconfigured: usize,
    /// Clock steps backwards.
    pub backwards: usize,
}

pub struct Driver<S: Subject> {
    pub s: S,
    scale: u64,
    now: u64,
    seen: u64,
    pub admitted: Vec<Admitted>,
    held: Vec<Held<S>>,
    initial: Vec<Rule>,
    changes: Vec<(usize, Rule)>,
    /// Model of a sliding window's log (what window.rs documents), to know when a cancel must
    /// restore exactly.
    ring: VecDeque<u64>,
    pub stats: Stats,
}

impl<S: Subject + Debug> Driver<S> {
    pub fn new(s: S, scale: u64) -> Self {
        let initial = s.rules();
        Driver {
            s,
            scale,
            now: 0,
            seen: 0,
            admitted: Vec::new(),
            held: Vec::new(),
            initial,
            changes: Vec::new(),
            ring: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Runs `ops`, checking the contract after each.
    pub fn run(&mut self, ops: &[Op]) -> Stats {
        for (step, op) in ops.iter().enumerate() {
            self.apply(op);
            self.check(&format!("after step {step} ({op:?}) at now {}", self.now));
        }
        self.stats
    }

    /// The instant the scheduler takes `now` to be.
    fn effective(&self) -> u64 {
        if S::REMEMBERS_SEEN {
            self.seen.max(self.now)
        } else {
            self.now
        }
    }

    /// Notes that an operation that remembers the clock was called at `now`.
    fn saw(&mut self) {
        self.seen = self.seen.max(self.now);
    }

    fn weight(&self, w: u32) -> u32 {
        w % (self.s.max_weight() + 2)
    }

    /// The admitted cells in force, in reservation order.
    pub fn live(&self) -> impl Iterator<Item = &Admitted> {
        self.admitted.iter().filter(|a| !a.cancelled)
    }

    /// Sorted instants of every admitted cell.
    pub fn cells(&self) -> Vec<u64> {
        check::cells(self.live().map(|a| (a.at, a.n)))
    }

    /// Instants to probe a state at: `earliest` is a pure function of the state and the probe.
    fn probes(&self) -> Vec<u64> {
        let e = self.effective();
        let mut probes: Vec<u64> = [0, 1, 3, 10, 31, 100, 400]
            .iter()
            .map(|d| e + d * self.scale)
            .collect();
        if let Some(last) = self.live().last() {
            probes.extend([
                last.at.saturating_sub(1).max(e),
                last.at.max(e),
                last.at.max(e) + 1,
            ]);
        }
        probes
    }

    fn observe(s: &S, probes: &[u64]) -> Observation {
        let max = s.max_weight();
        probes
            .iter()
            .map(|&p| {
                let earliest = (0..=max + 1).map(|m| s.earliest(p, m)).collect();
                (p, earliest, s.snapshot(p))
            })
            .collect()
    }

    /// A copy of `before` with its latest clock reading brought up to the driver's.
    fn synced(&self, before: &S) -> S {
        let mut copy = before.copy().unwrap();
        if S::REMEMBERS_SEEN {
            let r = copy.reserve(self.effective(), 0).unwrap();
            assert_eq!(r.cells(), 0);
            assert!(!copy.cancel(r, self.effective()));
        }
        copy
    }

    /// Asserts the state is what it was (`before` copy, or the observation at the probes).
    #[track_caller]
    fn assert_unchanged(&self, before: &Option<S>, observed: &Observation, what: &str) {
        match before {
            Some(before) => {
                let expect = self.synced(before);
                assert!(
                    self.s.same(&expect),
                    "{what}: state changed\n{:?}\n!=\n{expect:?}",
                    self.s
                );
            }
            None => {
                let probes: Vec<u64> = observed.iter().map(|o| o.0).collect();
                assert_eq!(
                    &Self::observe(&self.s, &probes),
                    observed,
                    "{what}: state changed"
                );
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Reserve { w } => self.reserve(self.weight(w), None),
            Op::ReserveWithin { w, wait } => {
                self.reserve(
                    self.weight(w),
                    Some(Duration::from_nanos(wait * self.scale)),
                );
            }
            Op::TryAcquire { w } => self.reserve(self.weight(w), Some(Duration::ZERO)),
            Op::Cancel { pick } => {
                if !self.held.is_empty() {
                    let i = pick.index(self.held.len());
                    self.cancel(i);
                }
            }
            Op::CancelNewest => {
                if !self.held.is_empty() {
                    self.cancel(self.held.len() - 1);
                }
            }
            Op::RoundTrip { w } => {
                let n = 1 + w % self.s.max_weight();
                // Sync the clock reading first, so the copy taken before compares equal.
                let r = self.s.reserve(self.now, 0).unwrap();
                self.saw();
                assert!(
                    !self.s.cancel(r, self.now),
                    "a cancel of zero cells returns nothing"
                );
                let held_before = self.held.len();
                self.reserve(n, None);
                assert_eq!(self.held.len(), held_before + 1, "a valid reserve succeeds");
                let at = self.held.last().unwrap().reservation.at();
                let returned = self.cancel(self.held.len() - 1);
                assert_eq!(returned, at > self.effective(), "round trip at {at}");
            }
            Op::Reconfigure { limit, quota } => self.reconfigure(limit, quota),
            Op::Step { delta } => {
                self.stats.backwards += usize::from(delta < 0);
                self.now = self.now.saturating_add_signed(delta * self.scale as i64);
            }
            Op::Snapshot => self.snapshot(),
        }
    }

    /// `reserve` (`wait` None), `reserve_within` or `try_acquire` (`wait` zero) of `n` cells.
    fn reserve(&mut self, n: u32, wait: Option<Duration>) {
        let max = self.s.max_weight();
        let predicted = self.s.earliest(self.now, n);
        let before = self.s.copy();
        let observed = if before.is_none() {
            Self::observe(&self.s, &self.probes())
        } else {
            Vec::new()
        };
        let result = match wait {
            None => self.s.reserve(self.now, n),
            Some(Duration::ZERO) => self.s.try_acquire(self.now, n),
            Some(wait) => self.s.reserve_within(self.now, n, wait),
        };
        self.saw();
        let e = self.effective();
        let what = format!(
            "reserve of {n} at {} (effective {e}, wait {wait:?})",
            self.now
        );
        if n > max {
            let heavy = Err(Error::TooHeavy { cells: n, max });
            assert_eq!(predicted, heavy, "{what}: earliest");
            assert_eq!(result.map(|r| r.at()), heavy, "{what}");
            self.assert_unchanged(&before, &observed, &what);
            self.stats.refused += 1;
            return;
        }
        if n == 0 {
            assert_eq!(predicted, Ok(e), "{what}: earliest");
            let r = result.expect("zero cells always succeed");
            assert_eq!((r.at(), r.cells()), (e, 0), "{what}");
            assert!(!self.s.cancel(r, self.now), "{what}: cancel of zero cells");
            self.assert_unchanged(&before, &observed, &what);
            return;
        }
        let at = predicted.unwrap_or_else(|err| panic!("{what}: earliest failed: {err}"));
        assert!(at >= e, "{what}: earliest {at} is before now");
        let deadline = e.saturating_add(wait.map_or(u64::MAX, |w| w.as_nanos() as u64));
        if at > deadline {
            assert_eq!(
                result.map(|r| r.at()),
                Err(Error::WouldWait { at }),
                "{what}"
            );
            self.assert_unchanged(&before, &observed, &what);
            self.stats.refused += 1;
            return;
        }
        let reservation = result.unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(
            (reservation.at(), reservation.cells()),
            (at, n),
            "{what}: the reservation is not at the instant earliest gave"
        );
        if wait == Some(Duration::ZERO) {
            assert_eq!(at, e, "{what}: try_acquire succeeded, so now");
        }
        let ring_before = self.ring.clone();
        let mut evicted = Vec::new();
        if let Some(capacity) = self.s.window_capacity() {
            for _ in 0..n {
                if self.ring.len() == capacity {
                    evicted.push(self.ring.pop_front().unwrap());
                }
                self.ring.push_back(at);
            }
        }
        self.admitted.push(Admitted {
            at,
            n,
            version: self.changes.len(),
            cancelled: false,
        });
        self.held.push(Held {
            reservation,
            id: self.admitted.len() - 1,
            before,
            observed,
            ring_before,
            evicted,
        });
        self.stats.admitted += 1;
    }

    /// Cancels held reservation `i` at the current `now`; returns what `cancel` returned.
    fn cancel(&mut self, i: usize) -> bool {
        let held = self.held.remove(i);
        let at = held.reservation.at();
        let n = held.reservation.cells();
        // The most recent reservation in force, made under the quota in force.
        let top = self.admitted.iter().rposition(|a| !a.cancelled) == Some(held.id)
            && self.admitted[held.id].version == self.changes.len();
        let returned = self.s.cancel(held.reservation, self.now);
        self.saw();
        let e = self.effective();
        let what = format!(
            "cancel of {n} cells at {at} (reservation #{}, newest in force: {top}) at now {} \
             (effective {e})",
            held.id, self.now
        );
        assert_eq!(
            returned,
            top && e < at,
            "{what}: cancel returned {returned}"
        );
        if !returned {
            self.stats.cancel_refused += 1;
            return false;
        }
        self.stats.cancelled += 1;
        self.admitted[held.id].cancelled = true;
        // The window model: pop the cells, put the evicted ones back at the newest of their
        // instants (window.rs: exact when they shared one instant, conservative otherwise).
        // After an earlier conservative restore the popped slots may hold later stand-ins.
        let mut exact = true;
        if self.s.window_capacity().is_some() {
            for _ in 0..n {
                let popped = self.ring.pop_back().unwrap();
                assert!(popped >= at, "model: popped {popped} for a cell at {at}");
            }
            if let Some(&newest) = held.evicted.last() {
                for _ in &held.evicted {
                    self.ring.push_front(newest);
                }
            }
            exact = self.ring == held.ring_before;
        }
        if exact {
            self.assert_unchanged(&held.before, &held.observed, &what);
            self.stats.exact_restores += 1;
        } else {
            self.stats.conservative_restores += 1;
            // Never more permissive than the true log: every answer is no earlier.
            let truth = self.synced(held.before.as_ref().unwrap());
            for p in self.probes() {
                for m in 1..=self.s.max_weight() {
                    let (now, was) = (
                        self.s.earliest(p, m).unwrap(),
                        truth.earliest(p, m).unwrap(),
                    );
                    assert!(
                        now >= was,
                        "{what}: after it {m} cells may go at {now} < {was}"
                    );
                }
            }
        }
        true
    }

    fn reconfigure(&mut self, limit: Index, raw: RawQuota) {
        let limit = limit.index(self.initial.len());
        let quota = raw.quota(self.scale);
        let before = self.s.copy();
        let Some(result) = self.s.reconfigure(self.now, limit, quota) else {
            return;
        };
        self.saw();
        let what = format!("reconfigure of limit {limit} to {quota} at {}", self.now);
        if let Some(capacity) = self.s.window_capacity()
            && quota.count() as usize > capacity
        {
            let expected = Error::WindowTooSmall {
                count: quota.count(),
                capacity,
            };
            assert_eq!(result, Err(expected), "{what}");
            self.assert_unchanged(&before, &Vec::new(), &what);
            return;
        }
        result.unwrap_or_else(|err| panic!("{what}: {err}"));
        let rule = if self.s.window_capacity().is_some() {
            let count = u64::from(quota.count());
            Rule::new(count, quota.period_nanos(), count)
        } else {
            Rule::of(&quota)
        };
        assert_eq!(
            self.s.rules()[limit],
            rule,
            "{what}: the new quota is in force"
        );
        self.changes.push((limit, rule));
        self.stats.reconfigured += 1;
    }

    fn snapshot(&mut self) {
        let snapshot = self.s.snapshot(self.now);
        assert_eq!(
            Ok(snapshot.earliest),
            self.s.earliest(self.now, 1),
            "snapshot at {}: earliest",
            self.now
        );
        if let Some(mut copy) = self.s.copy() {
            let max = self.s.max_weight();
            let mut taken = 0;
            while taken <= max && copy.try_acquire(self.now, 1).is_ok() {
                taken += 1;
            }
            assert_eq!(
                snapshot.remaining, taken,
                "snapshot at {}: remaining, against back-to-back try_acquire",
                self.now
            );
        }
    }

    /// The contract on the record so far.
    pub fn check(&self, what: &str) {
        if S::REMEMBERS_SEEN {
            let mut last = 0;
            for (i, a) in self
                .admitted
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.cancelled)
            {
                assert!(
                    a.at >= last,
                    "{what}: reservation #{i} at {} is before {last}",
                    a.at
                );
                last = a.at;
            }
        }
        if self.s.window_capacity().is_some() {
            let configs: Vec<(u32, u64)> = std::iter::once(self.initial[0])
                .chain(self.changes.iter().map(|c| c.1))
                .map(|r| (r.count as u32, r.period as u64))
                .collect();
            let acquisitions: Vec<_> = self.live().map(|a| (a.at, a.n, a.version)).collect();
            check::assert_window_epochs(&acquisitions, &configs, what);
            return;
        }
        for (limit, &initial) in self.initial.iter().enumerate() {
            // This limit's own epochs: the changes made to it.
            let mut rules = vec![initial];
            let mut epoch_of_version = vec![0];
            for &(l, rule) in &self.changes {
                if l == limit {
                    rules.push(rule);
                }
                epoch_of_version.push(rules.len() - 1);
            }
            let cells: Vec<_> = self
                .live()
                .map(|a| (a.at, a.n, epoch_of_version[a.version]))
                .collect();
            check::assert_gcra_epochs(&cells, &rules, &format!("{what}, limit {limit}"));
        }
    }
}
