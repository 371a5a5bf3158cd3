//! Property tests of `Pausable`: random reservations (bounded or not, weighted), cancels,
//! pauses and clock steps, run as a discrete-event simulation of waiters that sleep until their
//! instant and ask `pending` when they wake, exactly as the `Acquire` future does. Checked
//! against the independent oracle in `common`:
//! - what passes keeps the conformance rule, at the instants it really passes;
//! - nothing passes inside a pause made before it;
//! - waiters pass in reservation order (FIFO), each re-arming at most once per pause;
//! - a bounded wait passes within its bound or fails with an instant past it;
//! - cancelling the newest reservation before its (moved) instant returns its cells.

mod common;

use std::time::Duration;

use common::check::{self, Rule};
use pacer_core::{
    AtomicLimiter, Error, Gcra, KeyedGcra, KeyedRateLimiter, KeyedToken, Locked, Pausable, Pause,
    PauseKey, PausedToken, PerKey, Quota, RateLimiter, Reservation, ShardedKeyedGcra,
};
use proptest::prelude::*;

const MS: u64 = 1_000_000;

#[derive(Clone, Debug)]
enum Op {
    /// Reserve `cells`, waiting at most `max_wait` ms if given.
    Reserve { cells: u32, max_wait: Option<u64> },
    /// Cancel the waiter at this index (modulo the live ones), newest first when 0.
    Cancel(usize),
    /// Pause for this many ms from now.
    Pause(u64),
    /// Let this many ms pass, waking every waiter due on the way.
    Advance(u64),
}

fn op(burst: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=burst, prop::option::of(0u64..1_500))
            .prop_map(|(cells, max_wait)| Op::Reserve { cells, max_wait }),
        1 => (0usize..4).prop_map(Op::Cancel),
        1 => (0u64..1_200).prop_map(Op::Pause),
        3 => (0u64..400).prop_map(Op::Advance),
    ]
}

/// A waiter of the simulation.
struct Waiter<T> {
    seq: usize,
    reservation: Reservation<T>,
    /// When its timer fires next.
    wake: u64,
    /// The last instant it accepts.
    bound: u64,
    /// Re-arms so far, and effective pauses made while it waited.
    rearms: usize,
    pauses: usize,
}

struct Sim<L: RateLimiter> {
    limiter: L,
    rule: Rule,
    now: u64,
    next_seq: usize,
    waiters: Vec<Waiter<L::Token>>,
    /// Reservations in order that were not cancelled successfully: the newest is last.
    stack: Vec<usize>,
    /// (instant, cells, seq) of everything that passed, in the order it passed.
    passed: Vec<(u64, u32, usize)>,
    /// Effective pauses: (made at, ends at, passes recorded before it).
    pauses: Vec<(u64, u64, usize)>,
}

impl<L: RateLimiter + Pause> Sim<L> {
    fn new(limiter: L, quota: Quota) -> Self {
        Sim {
            limiter,
            rule: Rule::of(&quota),
            now: 0,
            next_seq: 0,
            waiters: Vec::new(),
            stack: Vec::new(),
            passed: Vec::new(),
            pauses: Vec::new(),
        }
    }

    fn run(&mut self, ops: &[Op]) {
        for op in ops {
            match *op {
                Op::Reserve { cells, max_wait } => self.reserve(cells, max_wait),
                Op::Cancel(index) => self.cancel(index),
                Op::Pause(ms) => self.pause(ms),
                Op::Advance(ms) => self.advance(self.now + ms * MS),
            }
        }
        self.advance(u64::MAX / 4);
        assert!(self.waiters.is_empty());
        self.check();
    }

    fn reserve(&mut self, cells: u32, max_wait: Option<u64>) {
        let wait = max_wait.map_or(Duration::MAX, Duration::from_millis);
        let bound = max_wait.map_or(u64::MAX, |ms| self.now + ms * MS);
        let seq = self.next_seq;
        self.next_seq += 1;
        match self.limiter.reserve_within(self.now, cells, wait) {
            Ok(reservation) => {
                let at = reservation.at();
                assert!(
                    at >= self.now && at <= bound,
                    "{at} outside [{}, {bound}]",
                    self.now
                );
                self.stack.push(seq);
                if at == self.now {
                    self.passed.push((at, cells, seq));
                } else {
                    self.waiters.push(Waiter {
                        seq,
                        reservation,
                        wake: at,
                        bound,
                        rearms: 0,
                        pauses: 0,
                    });
                }
            }
            Err(Error::WouldWait { at }) => {
                assert!(at > bound, "refused although {at} is within {bound}");
                // What reserve_within refused is what earliest answers.
                assert_eq!(self.limiter.earliest(self.now, cells), Ok(at));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn cancel(&mut self, index: usize) {
        if self.waiters.is_empty() {
            return;
        }
        // 0 picks the newest live waiter, so cancel-the-newest is common.
        let index = if index == 0 {
            self.waiters.len() - 1
        } else {
            index % self.waiters.len()
        };
        let waiter = self.waiters.remove(index);
        let newest = self.stack.last() == Some(&waiter.seq);
        let corner = self.at_pause_end(&waiter.reservation);
        let returned = self.limiter.cancel(waiter.reservation, self.now);
        if newest && !corner {
            assert!(
                returned,
                "the newest waiter, before its instant, returns its cells"
            );
        }
        if returned {
            assert!(newest, "only the newest returns its cells");
            self.stack.pop();
        }
    }

    fn pause(&mut self, ms: u64) {
        let until = self.now + ms * MS;
        let before = self.limiter.paused_until(self.now);
        let changed = self.limiter.pause_until(self.now, until).unwrap();
        assert_eq!(
            changed,
            until > before.unwrap_or(self.now),
            "a pause changes things exactly when it ends later"
        );
        if changed {
            self.pauses.push((self.now, until, self.passed.len()));
            for waiter in &mut self.waiters {
                waiter.pauses += 1;
            }
        }
        assert_eq!(
            self.limiter.paused_until(self.now),
            (until > self.now).then_some(until).max(before)
        );
    }

    /// Wakes every waiter due up to `target`, in instant order (ties in reservation order).
    fn advance(&mut self, target: u64) {
        while let Some(index) = (0..self.waiters.len())
            .filter(|&i| self.waiters[i].wake <= target)
            .min_by_key(|&i| (self.waiters[i].wake, self.waiters[i].seq))
        {
            self.now = self.waiters[index].wake;
            match self
                .limiter
                .pending(&self.waiters[index].reservation, self.now)
            {
                Ok(None) => {
                    let waiter = self.waiters.remove(index);
                    assert!(self.now <= waiter.bound);
                    assert!(waiter.rearms <= waiter.pauses, "one re-arm per pause");
                    let cells = waiter.reservation.cells();
                    self.passed.push((self.now, cells, waiter.seq));
                }
                Ok(Some(at)) => {
                    let waiter = &mut self.waiters[index];
                    assert!(at > self.now, "a moved instant is later");
                    assert!(at <= waiter.bound);
                    waiter.wake = at;
                    waiter.rearms += 1;
                }
                Err(Error::WouldWait { at }) => {
                    let waiter = self.waiters.remove(index);
                    assert!(
                        at > waiter.bound,
                        "failed although {at} is within the bound"
                    );
                    let newest = self.stack.last() == Some(&waiter.seq);
                    let corner = self.at_pause_end(&waiter.reservation);
                    let returned = self.limiter.cancel(waiter.reservation, self.now);
                    assert!(returned <= newest, "only the newest returns its cells");
                    assert!(
                        returned || !newest || corner,
                        "a failed bounded wait returns its cells when newest"
                    );
                    if returned {
                        self.stack.pop();
                    }
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        self.now = self.now.max(target.min(u64::MAX / 4));
    }

    /// Whether a reservation stands at the very end of the current pause: the one case in
    /// which a cancel may keep its cells (the documented exception of `Pausable`).
    fn at_pause_end(&self, reservation: &Reservation<L::Token>) -> bool {
        let until = self.limiter.paused_until(self.now);
        let moved = match self.limiter.pending(reservation, self.now) {
            Ok(Some(at)) | Err(Error::WouldWait { at }) => Some(at),
            _ => None,
        };
        until.is_some() && moved == until
    }

    fn check(&self) {
        // FIFO: in the order they passed, reservations are in reservation order.
        let order: Vec<usize> = self.passed.iter().map(|&(_, _, seq)| seq).collect();
        assert!(order.is_sorted(), "passed out of order: {order:?}");
        // Nothing passes inside a pause made before it.
        for &(made, ends, before) in &self.pauses {
            for &(at, _, seq) in &self.passed[before..] {
                assert!(
                    !(made <= at && at < ends),
                    "{seq} passed at {at} in pause [{made}, {ends})"
                );
            }
        }
        let cells = check::cells(self.passed.iter().map(|&(at, n, _)| (at, n)));
        check::assert_gcra(&cells, self.rule, "what passes around pauses");
    }
}

fn quota(count: u32, period_ms: u64, burst: u32) -> Quota {
    Quota::new(count, Duration::from_millis(period_ms))
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pausable_gcra_keeps_the_contract(
        count in 1u32..6, period in 50u64..1_000, burst in 1u32..4,
        ops in prop::collection::vec(op(3), 1..80),
    ) {
        let quota = quota(count, period, burst);
        let ops: Vec<Op> = ops.into_iter().map(|op| clamp(op, burst)).collect();
        Sim::new(Pausable::new(Locked::new(Gcra::new(quota))), quota).run(&ops);
    }

    #[test]
    fn pausable_atomic_keeps_the_contract(
        count in 1u32..6, period in 50u64..1_000, burst in 1u32..4,
        ops in prop::collection::vec(op(3), 1..80),
    ) {
        let quota = quota(count, period, burst);
        let ops: Vec<Op> = ops.into_iter().map(|op| clamp(op, burst)).collect();
        Sim::new(Pausable::new(AtomicLimiter::new(quota)), quota).run(&ops);
    }

    #[test]
    fn a_paused_keyed_table_keeps_each_keys_contract(
        count in 1u32..6, period in 50u64..1_000, burst in 1u32..4,
        ops in prop::collection::vec(op(3), 1..80),
    ) {
        let quota = quota(count, period, burst);
        let ops: Vec<Op> = ops.into_iter().map(|op| clamp(op, burst)).collect();
        let table = Pausable::new(ShardedKeyedGcra::<u8>::new(quota, 4).unwrap());
        Sim::new(OneKey(&table), quota).run(&ops);
    }
}

/// Keeps weights within the burst (a heavier one is refused at once, tested elsewhere).
fn clamp(op: Op, burst: u32) -> Op {
    match op {
        Op::Reserve { cells, max_wait } => Op::Reserve {
            cells: cells.min(burst),
            max_wait,
        },
        other => other,
    }
}

/// One key of a paused keyed table, as a limiter the simulation can drive.
struct OneKey<'a>(&'a Pausable<ShardedKeyedGcra<u8>>);

impl<'a> RateLimiter for OneKey<'a> {
    type Token = <Pausable<ShardedKeyedGcra<u8>> as KeyedRateLimiter<u8>>::Token;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error> {
        PerKey::new(self.0, &7).reserve_within(now, cells, max_wait)
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        PerKey::new(self.0, &7).earliest(now, cells)
    }

    fn pending(&self, r: &Reservation<Self::Token>, now: u64) -> Result<Option<u64>, Error> {
        PerKey::new(self.0, &7).pending(r, now)
    }

    fn cancel(&self, r: Reservation<Self::Token>, now: u64) -> bool {
        PerKey::new(self.0, &7).cancel(r, now)
    }

    fn snapshot(&self, now: u64) -> pacer_core::Snapshot {
        PerKey::new(self.0, &7).snapshot(now)
    }
}

impl Pause for OneKey<'_> {
    fn pause_until(&self, now: u64, until: u64) -> Result<bool, Error> {
        self.0.pause_until(now, until)
    }

    fn paused_until(&self, now: u64) -> Option<u64> {
        self.0.paused_until(now)
    }
}

// ---- Pauses of single keys ----------------------------------------------------------------

/// The keys of the keyed simulation.
const KEYS: u8 = 3;

#[derive(Clone, Debug)]
enum KeyOp {
    /// Reserve `cells` of `key`, waiting at most `max_wait` ms if given.
    Reserve {
        key: u8,
        cells: u32,
        max_wait: Option<u64>,
    },
    /// Cancel the waiter of `key` at this index (modulo its live ones), its newest when 0.
    Cancel { key: u8, index: usize },
    /// Pause `key` alone for this many ms from now.
    PauseKey { key: u8, ms: u64 },
    /// Pause the whole table for this many ms from now.
    PauseAll(u64),
    /// Let this many ms pass, waking every waiter due on the way.
    Advance(u64),
}

fn key_op(burst: u32) -> impl Strategy<Value = KeyOp> {
    prop_oneof![
        5 => (0..KEYS, 1..=burst, prop::option::of(0u64..1_500))
            .prop_map(|(key, cells, max_wait)| KeyOp::Reserve { key, cells, max_wait }),
        1 => (0..KEYS, 0usize..4).prop_map(|(key, index)| KeyOp::Cancel { key, index }),
        2 => (0..KEYS, 0u64..1_200).prop_map(|(key, ms)| KeyOp::PauseKey { key, ms }),
        1 => (0u64..1_200).prop_map(KeyOp::PauseAll),
        4 => (0u64..400).prop_map(KeyOp::Advance),
    ]
}

/// (key, instant, cells, seq) of something that passed.
type Passed = (u8, u64, u32, usize);

/// A waiter of the keyed simulation.
struct KeyWaiter {
    key: u8,
    seq: usize,
    reservation: Reservation<PausedToken<KeyedToken>>,
    wake: u64,
    bound: u64,
    rearms: usize,
    /// Effective pauses of its key or of the whole table made while it waited.
    pauses: usize,
    /// Whether a pause of its own key moved it: then its cancel may keep its cells.
    moved_by_key: bool,
}

/// A pause in the keyed simulation: of one key, or of all (`None`).
struct KeyPauseMade {
    key: Option<u8>,
    made: u64,
    ends: u64,
    /// Passes recorded before it.
    before: usize,
}

/// A keyed limiter the keyed simulation can drive: paused per key and as a whole.
trait KeyedPaused:
    KeyedRateLimiter<u8, Token = PausedToken<KeyedToken>> + Pause + PauseKey<u8>
{
}

impl<L: KeyedRateLimiter<u8, Token = PausedToken<KeyedToken>> + Pause + PauseKey<u8>> KeyedPaused
    for L
{
}

struct KeyedSim<L> {
    limiter: L,
    rule: Rule,
    now: u64,
    next_seq: usize,
    waiters: Vec<KeyWaiter>,
    /// Per key, its reservations in order that were not cancelled successfully.
    stacks: Vec<Vec<usize>>,
    passed: Vec<Passed>,
    pauses: Vec<KeyPauseMade>,
    /// Keys that an effective pause of their own was made for.
    paused_keys: Vec<u8>,
}

impl KeyedSim<Pausable<ShardedKeyedGcra<u8>>> {
    fn new(quota: Quota, paused_keys: usize) -> Self {
        let table = ShardedKeyedGcra::<u8>::new(quota, 4)
            .unwrap()
            .with_paused_keys(paused_keys);
        KeyedSim::on(Pausable::new(table), quota)
    }
}

impl<L: KeyedPaused> KeyedSim<L> {
    fn on(limiter: L, quota: Quota) -> Self {
        KeyedSim {
            limiter,
            rule: Rule::of(&quota),
            now: 0,
            next_seq: 0,
            waiters: Vec::new(),
            stacks: vec![Vec::new(); KEYS as usize],
            passed: Vec::new(),
            pauses: Vec::new(),
            paused_keys: Vec::new(),
        }
    }

    /// Runs `ops`, checks, and returns what passed and the keys paused on their own.
    fn run(mut self, ops: &[KeyOp]) -> (Vec<Passed>, Vec<u8>) {
        for op in ops {
            match *op {
                KeyOp::Reserve {
                    key,
                    cells,
                    max_wait,
                } => self.reserve(key, cells, max_wait),
                KeyOp::Cancel { key, index } => self.cancel(key, index),
                KeyOp::PauseKey { key, ms } => self.pause_key(key, ms),
                KeyOp::PauseAll(ms) => self.pause_all(ms),
                KeyOp::Advance(ms) => self.advance(self.now + ms * MS),
            }
        }
        self.advance(u64::MAX / 4);
        assert!(self.waiters.is_empty());
        self.check();
        (self.passed, self.paused_keys)
    }

    fn reserve(&mut self, key: u8, cells: u32, max_wait: Option<u64>) {
        let wait = max_wait.map_or(Duration::MAX, Duration::from_millis);
        let bound = max_wait.map_or(u64::MAX, |ms| self.now + ms * MS);
        let seq = self.next_seq;
        self.next_seq += 1;
        match self.limiter.reserve_within(&key, self.now, cells, wait) {
            Ok(reservation) => {
                let at = reservation.at();
                assert!(at >= self.now && at <= bound);
                if let Some(until) = self.limiter.key_paused_until(&key, self.now) {
                    assert!(
                        at >= until,
                        "{at} inside the pause of key {key} until {until}"
                    );
                }
                self.stacks[key as usize].push(seq);
                if at == self.now {
                    self.passed.push((key, at, cells, seq));
                } else {
                    self.waiters.push(KeyWaiter {
                        key,
                        seq,
                        reservation,
                        wake: at,
                        bound,
                        rearms: 0,
                        pauses: 0,
                        moved_by_key: false,
                    });
                }
            }
            Err(Error::WouldWait { at }) => {
                assert!(at > bound, "refused although {at} is within {bound}");
                assert_eq!(self.limiter.earliest(&key, self.now, cells), Ok(at));
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn cancel(&mut self, key: u8, index: usize) {
        let mine: Vec<usize> = (0..self.waiters.len())
            .filter(|&i| self.waiters[i].key == key)
            .collect();
        if mine.is_empty() {
            return;
        }
        let index = if index == 0 {
            *mine.last().unwrap()
        } else {
            mine[index % mine.len()]
        };
        let waiter = self.waiters.remove(index);
        self.give_back(waiter, false);
    }

    /// Cancels a waiter's reservation and checks what came back.
    fn give_back(&mut self, waiter: KeyWaiter, failed: bool) {
        let key = waiter.key;
        let newest = self.stacks[key as usize].last() == Some(&waiter.seq);
        let corner = self.at_pause_end(key, &waiter.reservation);
        let returned = self.limiter.cancel(&key, waiter.reservation, self.now);
        if newest && !corner && !waiter.moved_by_key {
            assert!(
                returned,
                "the newest waiter of a key, not moved by a pause of its key, returns its cells \
                 (failed bound: {failed})"
            );
        }
        if returned {
            assert!(newest, "only the newest of a key returns its cells");
            self.stacks[key as usize].pop();
        }
    }

    fn at_pause_end(&self, key: u8, reservation: &Reservation<PausedToken<KeyedToken>>) -> bool {
        let until = self.limiter.paused_until(self.now);
        let moved = match self.limiter.pending(&key, reservation, self.now) {
            Ok(Some(at)) | Err(Error::WouldWait { at }) => Some(at),
            _ => None,
        };
        until.is_some() && moved == until
    }

    fn pause_key(&mut self, key: u8, ms: u64) {
        let until = self.now + ms * MS;
        let before = self.limiter.key_paused_until(&key, self.now);
        let table = self.limiter.paused_until(self.now);
        match self.limiter.pause_key_until(&key, self.now, until) {
            Ok(changed) => {
                let covered = self.now.max(before.unwrap_or(0)).max(table.unwrap_or(0));
                assert_eq!(
                    changed,
                    until > covered,
                    "a key's pause changes things when it ends later"
                );
                if changed {
                    self.pauses.push(KeyPauseMade {
                        key: Some(key),
                        made: self.now,
                        ends: until,
                        before: self.passed.len(),
                    });
                    self.paused_keys.push(key);
                    for waiter in self.waiters.iter_mut().filter(|w| w.key == key) {
                        waiter.pauses += 1;
                        waiter.moved_by_key = true;
                    }
                    assert_eq!(self.limiter.key_paused_until(&key, self.now), Some(until));
                } else {
                    assert_eq!(self.limiter.key_paused_until(&key, self.now), before);
                }
            }
            Err(Error::PausedKeysFull { .. }) => {
                // Refused, and nothing changed: the key is paused exactly as before.
                assert_eq!(self.limiter.key_paused_until(&key, self.now), before);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn pause_all(&mut self, ms: u64) {
        let until = self.now + ms * MS;
        let before = self.limiter.paused_until(self.now);
        let changed = self.limiter.pause_until(self.now, until).unwrap();
        assert_eq!(changed, until > before.unwrap_or(self.now));
        if changed {
            self.pauses.push(KeyPauseMade {
                key: None,
                made: self.now,
                ends: until,
                before: self.passed.len(),
            });
            for waiter in &mut self.waiters {
                waiter.pauses += 1;
            }
        }
    }

    fn advance(&mut self, target: u64) {
        while let Some(index) = (0..self.waiters.len())
            .filter(|&i| self.waiters[i].wake <= target)
            .min_by_key(|&i| (self.waiters[i].wake, self.waiters[i].seq))
        {
            self.now = self.waiters[index].wake;
            let key = self.waiters[index].key;
            match self
                .limiter
                .pending(&key, &self.waiters[index].reservation, self.now)
            {
                Ok(None) => {
                    let waiter = self.waiters.remove(index);
                    assert!(self.now <= waiter.bound);
                    assert!(waiter.rearms <= waiter.pauses, "one re-arm per pause");
                    let cells = waiter.reservation.cells();
                    self.passed.push((key, self.now, cells, waiter.seq));
                }
                Ok(Some(at)) => {
                    let waiter = &mut self.waiters[index];
                    assert!(at > self.now, "a moved instant is later");
                    assert!(at <= waiter.bound);
                    waiter.wake = at;
                    waiter.rearms += 1;
                }
                Err(Error::WouldWait { at }) => {
                    let waiter = self.waiters.remove(index);
                    assert!(
                        at > waiter.bound,
                        "failed although {at} is within the bound"
                    );
                    self.give_back(waiter, true);
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        self.now = self.now.max(target.min(u64::MAX / 4));
    }

    fn check(&self) {
        for key in 0..KEYS {
            let mine: Vec<_> = self.passed.iter().filter(|p| p.0 == key).collect();
            // FIFO per key.
            let order: Vec<usize> = mine.iter().map(|p| p.3).collect();
            assert!(
                order.is_sorted(),
                "key {key} passed out of order: {order:?}"
            );
            // The conformance rule per key.
            let cells = check::cells(mine.iter().map(|p| (p.1, p.2)));
            check::assert_gcra(&cells, self.rule, "what a key passes around pauses");
        }
        // Nothing passes inside a pause of its key, or of the table, made before it.
        for pause in &self.pauses {
            for &(key, at, _, seq) in &self.passed[pause.before..] {
                if pause.key.is_none_or(|paused| paused == key) {
                    assert!(
                        !(pause.made <= at && at < pause.ends),
                        "{seq} of key {key} passed at {at} in the pause of {:?} [{}, {})",
                        pause.key,
                        pause.made,
                        pause.ends
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random pauses of single keys (and of the whole table), reservations, cancels and clock
    /// steps: each key keeps its contract, and a key never paused on its own passes exactly
    /// as it does in the same run without the other keys' pauses.
    #[test]
    fn pauses_of_single_keys_keep_each_keys_contract(
        count in 1u32..6, period in 50u64..1_000, burst in 1u32..4,
        paused_keys in 1usize..4,
        ops in prop::collection::vec(key_op(3), 1..100),
    ) {
        let quota = quota(count, period, burst);
        let ops: Vec<KeyOp> = ops
            .into_iter()
            .map(|op| match op {
                KeyOp::Reserve { key, cells, max_wait } => KeyOp::Reserve {
                    key,
                    cells: cells.min(burst),
                    max_wait,
                },
                other => other,
            })
            .collect();
        let (passed, paused) = KeyedSim::new(quota, paused_keys).run(&ops);
        let without: Vec<KeyOp> = ops
            .iter()
            .filter(|op| !matches!(op, KeyOp::PauseKey { .. }))
            .cloned()
            .collect();
        let (reference, _) = KeyedSim::new(quota, paused_keys).run(&without);
        for key in (0..KEYS).filter(|key| !paused.contains(key)) {
            let mine: Vec<_> = passed.iter().filter(|p| p.0 == key).collect();
            let theirs: Vec<_> = reference.iter().filter(|p| p.0 == key).collect();
            prop_assert_eq!(mine, theirs, "key {} felt another key's pause", key);
        }
    }

    /// The same on a no_std `KeyedGcra` behind its lock, with room to pause two keys of the
    /// three at once.
    #[test]
    fn pauses_of_single_keys_of_a_fixed_table_keep_each_keys_contract(
        count in 1u32..6, period in 50u64..1_000, burst in 1u32..4,
        ops in prop::collection::vec(key_op(3), 1..100),
    ) {
        let quota = quota(count, period, burst);
        let ops: Vec<KeyOp> = ops
            .into_iter()
            .map(|op| match op {
                KeyOp::Reserve { key, cells, max_wait } => KeyOp::Reserve {
                    key,
                    cells: cells.min(burst),
                    max_wait,
                },
                other => other,
            })
            .collect();
        let fixed = || Pausable::new(Locked::new(KeyedGcra::<u8, 4, 2>::new(quota)));
        let (passed, paused) = KeyedSim::on(fixed(), quota).run(&ops);
        let without: Vec<KeyOp> = ops
            .iter()
            .filter(|op| !matches!(op, KeyOp::PauseKey { .. }))
            .cloned()
            .collect();
        let (reference, _) = KeyedSim::on(fixed(), quota).run(&without);
        for key in (0..KEYS).filter(|key| !paused.contains(key)) {
            let mine: Vec<_> = passed.iter().filter(|p| p.0 == key).collect();
            let theirs: Vec<_> = reference.iter().filter(|p| p.0 == key).collect();
            prop_assert_eq!(mine, theirs, "key {} felt another key's pause", key);
        }
    }
}
