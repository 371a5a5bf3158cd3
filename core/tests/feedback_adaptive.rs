//! The adaptation controller (`Adaptive`): its rules against a model written from its docs,
//! its bounds under any sequence of events, the headroom of an adopted policy checked by
//! simulating completions late by up to `D` against a server counting strict windows, and a
//! `Pacer` whose quota it changes keeping the conformance rule (the independent checker of
//! `tests/common/check.rs`).

mod common;

use std::cell::RefCell;
use std::time::Duration;

use common::check::{self, Rule};
use common::rng::Rng;
use pacer_core::{
    Adaptive, Clock, Decision, Feedback, FeedbackError, Gcra, Locked, ManualTimer, Pacer, Policy,
    Quota, RateLimiter, Reason, Reconfigure,
};
use proptest::prelude::*;

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// A quota's rate in thousandths of a cell per `period` ns, which must be exact.
fn milli_rate(q: &Quota, period: u64) -> u64 {
    let n = u128::from(q.count()) * 1000 * u128::from(period);
    assert_eq!(
        n % u128::from(q.period_nanos()),
        0,
        "{q} is not on the grid of {period} ns"
    );
    (n / u128::from(q.period_nanos())) as u64
}

/// The controller's rules, from its docs, in thousandths of a cell per ceiling period.
#[derive(Debug)]
struct Model {
    period: u64,
    floor: u64,
    ceiling: u64,
    cap: u64,
    rate: u64,
    backoff: u64,
    step: u64,
    hold: u64,
    lateness: u64,
    calm_since: Option<u64>,
    held_until: u64,
    adopted: Option<Policy>,
}

impl Model {
    fn new(
        floor: &Quota,
        ceiling: &Quota,
        backoff: u8,
        step: u32,
        hold: u64,
        lateness: u64,
    ) -> Model {
        let period = ceiling.period_nanos();
        let floor = (u128::from(floor.count()) * 1000 * u128::from(period))
            .div_ceil(u128::from(floor.period_nanos())) as u64;
        let ceiling = u64::from(ceiling.count()) * 1000;
        Model {
            period,
            floor,
            ceiling,
            cap: ceiling,
            rate: ceiling,
            backoff: u64::from(backoff),
            step: u64::from(step) * 1000,
            hold,
            lateness,
            calm_since: None,
            held_until: 0,
            adopted: None,
        }
    }

    fn set(&mut self, now: u64, rate: u64) -> Option<u64> {
        (rate != self.rate).then(|| {
            self.rate = rate;
            self.calm_since = Some(now);
            rate
        })
    }

    fn throttled(&mut self, now: u64) -> Option<u64> {
        self.calm_since = Some(self.calm_since.map_or(now, |c| c.max(now)));
        if now < self.held_until {
            return None;
        }
        self.held_until = now.saturating_add(self.hold);
        self.set(now, (self.rate * self.backoff / 100).max(self.floor))
    }

    fn succeeded(&mut self, now: u64) -> Option<u64> {
        let Some(calm) = self.calm_since else {
            self.calm_since = Some(now);
            return None;
        };
        if now < calm + self.period || self.rate >= self.cap {
            return None;
        }
        self.set(now, (self.rate + self.step).min(self.cap))
    }

    fn adopt(&mut self, now: u64, policy: Policy) -> Option<u64> {
        let window = policy.window?;
        if self.adopted == Some(policy) {
            return None;
        }
        let target = u128::from(policy.quota) * 1000 * u128::from(self.period)
            / (window.as_nanos() + u128::from(self.lateness));
        let cap = (target.min(u128::from(self.ceiling)) as u64).max(self.floor);
        let lowering = cap < self.rate;
        let changed = self.set(now, cap);
        self.cap = cap;
        self.adopted = Some(policy);
        self.calm_since = Some(now);
        if lowering {
            self.held_until = now + self.hold;
        }
        changed
    }
}

#[derive(Clone, Debug)]
enum Event {
    Wait(u64),
    Throttled,
    Succeeded,
    Adopt(u64, Option<u64>),
}

fn events(period: u64) -> impl Strategy<Value = Vec<Event>> {
    let event = prop_oneof![
        3 => (0..3 * period).prop_map(Event::Wait),
        2 => Just(Event::Throttled),
        4 => Just(Event::Succeeded),
        1 => (0u64..2000, prop::option::weighted(0.8, 1u64..100))
            .prop_map(|(q, w)| Event::Adopt(q, w)),
    ];
    prop::collection::vec(event, 0..80)
}

/// A ceiling (count per period ms), a floor below it, and the controller's settings.
fn setup() -> impl Strategy<Value = (Quota, Quota, u8, u32, u64, u64)> {
    (1u32..2000, 1u64..5000).prop_flat_map(|(count, period_ms)| {
        let ceiling = Quota::new(count, Duration::from_millis(period_ms)).unwrap();
        (
            Just(ceiling),
            (1u32..=count, 1u64..=10).prop_map(move |(c, k)| {
                Quota::new(c, Duration::from_millis(period_ms * k)).unwrap()
            }),
            1u8..=99,
            0u32..=count,
            0..2 * period_ms * MS,
            0..100 * MS,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The rules of the docs, event by event: a throttle outside the hold multiplies the rate
    /// down (strictly, unless at the floor), a success a period after the last change raises
    /// it one step, a new policy sets its rate; the limiter always holds the controller's
    /// quota; every change is one decision, seen by the observer; and the rate never leaves
    /// [floor, ceiling].
    #[test]
    fn the_rules_hold_under_any_events(
        (ceiling, floor, backoff, step, hold, lateness) in setup(),
        events in events(SEC),
    ) {
        let seen = RefCell::new(Vec::new());
        let mut adaptive = Adaptive::new(floor, ceiling)
            .unwrap()
            .with_backoff(backoff)
            .unwrap()
            .with_step(step)
            .with_hold(Duration::from_nanos(hold))
            .with_lateness(Duration::from_nanos(lateness))
            .on_decision(|d: &Decision| seen.borrow_mut().push(*d));
        let mut model = Model::new(&floor, &ceiling, backoff, step, hold, lateness);
        let limiter = Locked::new(Gcra::new(adaptive.quota()));
        let period = ceiling.period_nanos();
        prop_assert_eq!(milli_rate(&adaptive.quota(), period), model.ceiling);
        let mut now = 0;
        let mut decisions = 0;
        for event in &events {
            let before = model.rate;
            let (got, want, reason) = match *event {
                Event::Wait(dt) => {
                    now += dt;
                    continue;
                }
                Event::Throttled => {
                    let outside_hold = now >= model.held_until;
                    let want = model.throttled(now);
                    if outside_hold && before > model.floor {
                        prop_assert!(want.is_some_and(|r| r < before), "a throttle lowers");
                    }
                    (adaptive.on_throttled(&limiter, now).unwrap(), want, Reason::Throttled)
                }
                Event::Succeeded => {
                    let want = model.succeeded(now);
                    (adaptive.on_success(&limiter, now).unwrap(), want, Reason::Succeeded)
                }
                Event::Adopt(quota, window) => {
                    let policy = Policy { quota, window: window.map(Duration::from_secs) };
                    let want = model.adopt(now, policy);
                    (adaptive.adopt(&limiter, now, policy).unwrap(), want, Reason::Policy)
                }
            };
            prop_assert_eq!(got.map(|d| milli_rate(&d.new, period)), want, "{:?} at {}", event, now);
            if let Some(d) = got {
                decisions += 1;
                prop_assert_eq!(d.reason, reason);
                prop_assert_eq!(d.at, now);
                prop_assert_eq!(milli_rate(&d.old, period), before);
            }
            let quota = limiter.quota();
            prop_assert_eq!(quota, adaptive.quota());
            prop_assert_eq!(quota.burst(), 1);
            let r = Rule::of(&quota);
            prop_assert!(Rule::of(&ceiling).rate_at_least(&r), "{} above the ceiling {}", quota, ceiling);
            prop_assert!(r.rate_at_least(&Rule::of(&floor)), "{} below the floor {}", quota, floor);
        }
        prop_assert_eq!(seen.borrow().len(), decisions);
    }

    /// An adopted policy `q` per `w` is served at most at `q` per `w + D` (and less than a
    /// thousandth of a cell per period under it), and that is enough: cells reserved back to
    /// back, each completing late by anything from 0 to `D`, put at most `q` completions in
    /// any window of `w`.
    #[test]
    fn an_adopted_policy_keeps_a_strict_server_below_its_quota(
        q in 1u64..300,
        w_ms in 1u64..3000,
        d_ms in 0u64..100,
        seed in any::<u64>(),
    ) {
        let window = Duration::from_millis(w_ms);
        let d = d_ms * MS;
        // A ceiling well above the policy, so that the policy decides.
        let ceiling = Quota::new(4000, Duration::from_millis(w_ms)).unwrap();
        let floor = Quota::new(1, Duration::from_secs(3600)).unwrap();
        let mut adaptive = Adaptive::new(floor, ceiling).unwrap().with_lateness(Duration::from_nanos(d));
        let limiter = Locked::new(Gcra::new(adaptive.quota()));
        let decision = adaptive
            .adopt(&limiter, 0, Policy { quota: q, window: Some(window) })
            .unwrap()
            .expect("a policy below the ceiling changes the rate");
        prop_assert_eq!(decision.reason, Reason::Policy);
        let quota = decision.new;
        // In thousandths of a cell per ceiling period P: m <= q·P/(w + D) < m + 1.
        let cp = ceiling.period_nanos();
        let m = u128::from(milli_rate(&quota, cp));
        let span = u128::from(w_ms * MS + d);
        let exact = u128::from(q) * 1000 * u128::from(cp);
        prop_assert!(m * span <= exact, "{} is faster than {} per {:?} + {} ns", quota, q, window, d);
        prop_assert!((m + 1) * span > exact, "{} is needlessly slow", quota);
        // Saturate: 3q cells back to back from an idle limiter, completions late by 0..=D.
        let mut rng = Rng(seed);
        let mut done: Vec<u64> = (0..3 * q)
            .map(|_| limiter.reserve(MS, 1).unwrap().at() + rng.below(d + 1))
            .collect();
        done.sort_unstable();
        check::assert_window(&done, q as usize, w_ms * MS, "completions of an adopted policy");
    }

    /// A `Pacer` whose quota the controller changes (through `Pacer::set_quota`'s trait) keeps
    /// the conformance rule of every quota in force, and of every two on either side of a
    /// change, by the independent checker.
    #[test]
    fn a_pacer_under_the_controller_conforms(
        (ceiling, floor, backoff, step, hold, lateness) in setup(),
        ops in prop::collection::vec((0u8..8, 0u64..400, 0u32..3), 0..120),
    ) {
        let timer = ManualTimer::new();
        let mut adaptive = Adaptive::new(floor, ceiling)
            .unwrap()
            .with_backoff(backoff)
            .unwrap()
            .with_step(step)
            .with_hold(Duration::from_nanos(hold))
            .with_lateness(Duration::from_nanos(lateness));
        let pacer = Pacer::from_parts(Locked::new(Gcra::new(adaptive.quota())), timer.clone());
        let mut rules = vec![Rule::of(&pacer.quota())];
        let mut cells = Vec::new();
        let period = ceiling.period_nanos();
        for (op, x, n) in ops {
            let now = timer.now();
            let decision = match op {
                0 | 1 => {
                    if pacer.try_acquire(n).is_ok() {
                        cells.push((now, n, rules.len() - 1));
                    }
                    None
                }
                2 => {
                    match pacer.limiter().reserve(now, n) {
                        Ok(r) => cells.push((r.at(), n, rules.len() - 1)),
                        Err(e) => prop_assert_eq!(e, pacer_core::Error::TooHeavy { cells: n, max: 1 }),
                    }
                    None
                }
                3 => {
                    timer.advance(Duration::from_nanos(x * period / 100));
                    None
                }
                4 => adaptive.on_throttled(pacer.limiter(), now).unwrap(),
                5 | 6 => adaptive.on_success(pacer.limiter(), now).unwrap(),
                _ => {
                    let policy = Policy {
                        quota: x,
                        window: Some(Duration::from_nanos(period * (1 + u64::from(n)))),
                    };
                    adaptive.adopt(pacer.limiter(), now, policy).unwrap()
                }
            };
            if let Some(d) = decision {
                prop_assert_eq!(pacer.quota(), d.new);
                rules.push(Rule::of(&d.new));
            }
        }
        check::assert_gcra_epochs(&cells, &rules, "a pacer under the controller");
    }
}

#[test]
fn settings_are_checked() {
    let q = |n, ms| Quota::new(n, Duration::from_millis(ms)).unwrap();
    assert_eq!(
        Adaptive::new(q(101, 1000), q(100, 1000)).unwrap_err(),
        FeedbackError::FloorAboveCeiling
    );
    assert!(Adaptive::new(q(100, 1000), q(100, 1000)).is_ok());
    assert!(Adaptive::new(q(1, 1000), q(4_294_967, 1000)).is_ok());
    assert_eq!(
        Adaptive::new(q(1, 1000), q(4_294_968, 1000)).unwrap_err(),
        FeedbackError::CeilingOutOfRange
    );
    let day = 86_400_000;
    assert!(Adaptive::new(q(1, 53 * day), q(1, 53 * day)).is_ok());
    assert_eq!(
        Adaptive::new(q(1, 54 * day), q(1, 54 * day)).unwrap_err(),
        FeedbackError::CeilingOutOfRange
    );
    let a = || Adaptive::new(q(1, 1000), q(100, 1000)).unwrap();
    assert_eq!(
        a().with_backoff(0).unwrap_err(),
        FeedbackError::BackoffOutOfRange
    );
    assert_eq!(
        a().with_backoff(100).unwrap_err(),
        FeedbackError::BackoffOutOfRange
    );
    assert!(a().with_backoff(99).is_ok());
    // A floor between grid points is rounded up: never below what was asked.
    let a = Adaptive::new(Quota::new(1, Duration::from_secs(3)).unwrap(), q(1, 1000)).unwrap();
    let limiter = Locked::new(Gcra::new(a.quota()));
    let mut a = a.with_hold(Duration::ZERO);
    for k in 0..20 {
        a.on_throttled(&limiter, k).unwrap();
    }
    assert_eq!(
        limiter.quota(),
        Quota::new(167, Duration::from_secs(500)).unwrap()
    );
}

#[test]
fn a_burst_of_429s_from_requests_in_flight_lowers_once() {
    let ceiling = Quota::per_second(100).unwrap();
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    let limiter = Locked::new(Gcra::new(a.quota()));
    let throttled = Feedback::read(429, [("Retry-After", "1")], 0).unwrap();
    let mut changes = 0;
    for k in 0..50 {
        changes += usize::from(
            a.on_feedback(&limiter, SEC + k * 10 * MS, &throttled)
                .unwrap()
                .is_some(),
        );
    }
    assert_eq!(changes, 1, "one decrease per hold (one period)");
    assert_eq!(limiter.quota(), Quota::per_second(50).unwrap());
    // After the hold, the next 429 lowers again.
    a.on_feedback(&limiter, 2 * SEC, &throttled).unwrap();
    assert_eq!(limiter.quota(), Quota::per_second(25).unwrap());
}

#[test]
fn a_pause_asked_on_a_success_counts_as_throttled() {
    // Nothing remains for 3 s, said on a 200: the same as a refusal.
    let ceiling = Quota::per_second(100).unwrap();
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    let limiter = Locked::new(Gcra::new(a.quota()));
    let exhausted = Feedback::read(200, [("RateLimit", "p;r=0;t=3")], 0).unwrap();
    assert!(!exhausted.throttled);
    let d = a.on_feedback(&limiter, SEC, &exhausted).unwrap().unwrap();
    assert_eq!(
        (d.reason, d.new),
        (Reason::Throttled, Quota::per_second(50).unwrap())
    );
    // Any other response is a success: the server took the pace.
    let fine = Feedback::read(500, [("RateLimit", "p;r=9;t=3")], 0).unwrap();
    let d = a.on_feedback(&limiter, 2 * SEC, &fine).unwrap().unwrap();
    assert_eq!(
        (d.reason, d.new),
        (Reason::Succeeded, Quota::per_second(55).unwrap())
    );
}

#[test]
fn recovery_is_one_step_per_period_of_successes() {
    let ceiling = Quota::per_second(100).unwrap();
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    let limiter = Locked::new(Gcra::new(a.quota()));
    a.on_throttled(&limiter, 0).unwrap();
    let mut rates = Vec::new();
    for k in 1..=120 {
        // A success every 100 ms.
        if let Some(d) = a.on_success(&limiter, k * 100 * MS).unwrap() {
            rates.push((k * 100, d.new.count()));
        }
    }
    let expected: Vec<(u64, u32)> = (1..=10).map(|s| (s * 1000, 50 + 5 * s as u32)).collect();
    assert_eq!(
        rates, expected,
        "5 % of the ceiling per second, up to the ceiling"
    );
}

#[test]
fn a_server_that_lowers_its_policy_is_followed_at_once_and_not_overcorrected() {
    // The strict server: 100/s, then 50/s, then 100/s again, stated in RateLimit-Policy.
    let ceiling = Quota::per_second(1000).unwrap();
    let log = RefCell::new(Vec::new());
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling)
        .unwrap()
        .on_decision(|d: &Decision| log.borrow_mut().push((d.reason, d.new)));
    let limiter = Locked::new(Gcra::new(a.quota()));
    let read = |status, q: u32| {
        let policy = format!("\"sliding\";q={q};w=1");
        Feedback::read(status, [("RateLimit-Policy", policy.as_str())], 0).unwrap()
    };
    a.on_feedback(&limiter, 0, &read(200, 100)).unwrap();
    // 100 per 1.02 s.
    assert_eq!(
        limiter.quota(),
        Quota::new(98_039, Duration::from_secs(1000)).unwrap()
    );
    // The limit drops: the first 429 carries the new policy; others follow from requests in
    // flight. The rate follows the policy, and the 429s within the hold do not halve it.
    for k in 0..20 {
        a.on_feedback(&limiter, 10 * SEC + k * 20 * MS, &read(429, 50))
            .unwrap();
    }
    assert_eq!(
        limiter.quota(),
        Quota::new(49_019, Duration::from_secs(1000)).unwrap()
    );
    for k in 0..100 {
        a.on_feedback(&limiter, 11 * SEC + k * 20 * MS, &read(200, 50))
            .unwrap();
    }
    assert_eq!(
        limiter.quota(),
        Quota::new(49_019, Duration::from_secs(1000)).unwrap(),
        "capped by the policy"
    );
    a.on_feedback(&limiter, 20 * SEC, &read(200, 100)).unwrap();
    assert_eq!(
        limiter.quota(),
        Quota::new(98_039, Duration::from_secs(1000)).unwrap()
    );
    let reasons: Vec<Reason> = log.borrow().iter().map(|(r, _)| *r).collect();
    assert_eq!(reasons, [Reason::Policy, Reason::Policy, Reason::Policy]);
}

#[test]
fn a_limiter_that_refuses_a_quota_changes_nothing() {
    struct Refuses(Quota);
    impl Reconfigure for Refuses {
        fn quota(&self) -> Quota {
            self.0
        }
        fn set_quota(&self, _: u64, _: Quota) -> Result<(), pacer_core::Error> {
            Err(pacer_core::Error::QuotaOverflow)
        }
    }
    let ceiling = Quota::per_second(100).unwrap();
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    let limiter = Refuses(a.quota());
    assert_eq!(
        a.on_throttled(&limiter, SEC),
        Err(pacer_core::Error::QuotaOverflow)
    );
    assert_eq!(a.quota(), Quota::per_second(100).unwrap());
}

#[test]
fn pacer_set_quota_uses_the_timers_clock() {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(
        Locked::new(Gcra::new(Quota::per_second(10).unwrap())),
        timer.clone(),
    );
    pacer.try_acquire(1).unwrap();
    timer.advance(Duration::from_millis(50));
    // Half a cell of 10/s is left in the bucket at 50 ms; under 20/s that is 25 ms.
    pacer.set_quota(Quota::per_second(20).unwrap()).unwrap();
    assert_eq!(pacer.delay(1).unwrap(), Duration::from_millis(25));
}

/// The example of docs/feedback.md, as written there.
#[test]
fn docs_example() -> Result<(), Box<dyn std::error::Error>> {
    let mut adaptive = Adaptive::new(Quota::per_second(1)?, Quota::per_second(100)?)?
        .on_decision(|d: &Decision| eprintln!("pacer: {d}"));
    let pacer = Pacer::from_parts(Locked::new(Gcra::new(adaptive.quota())), ManualTimer::new());

    // For every response: its status, its headers, and the wall-clock time in Unix seconds.
    let now_unix = 1_800_000_000;
    match Feedback::read(429, [("Retry-After", "2")], now_unix) {
        Ok(feedback) => {
            adaptive.on_feedback(pacer.limiter(), pacer.timer().now(), &feedback)?;
            // feedback.pause (2 s here) is the wait every queued caller should take
            // (`Pacer::pause_for` on a `Pausable` limiter).
        }
        Err(bad) => eprintln!("ignored bad rate-limit feedback: {bad}"),
    }
    assert_eq!(pacer.quota(), Quota::per_second(50)?);
    Ok(())
}

/// What a server counting strictly sees after its limit drops from `q1` to `q2` per `w`,
/// heard at `t1` on an accepted answer saying the window is full (`r=0`, `t = 2w`), from a
/// client that sent back to back at `q1` per `w + D` until then, then `3·q2` at the new
/// pace, everything not yet passed at `t1` moved later by the pause `Adaptive::pause` asks
/// (as a `Pausable` limiter moves it), and
/// each arrival late by `lateness(cell, before t1)`. Returns the arrivals after `t1`, each
/// with the count of arrivals in the window of `w` ending at it, and the pause.
fn after_a_drop(
    q1: u32,
    q2: u32,
    w: u64,
    d: u64,
    t1: u64,
    shorten: u64,
    mut lateness: impl FnMut(usize, bool) -> u64,
) -> (Vec<(u64, usize)>, Option<Duration>) {
    let ceiling = Quota::new(q1, Duration::from_nanos(w * SEC + d)).unwrap();
    let mut adaptive = Adaptive::new(Quota::per_hour(1).unwrap(), ceiling)
        .unwrap()
        .with_lateness(Duration::from_nanos(d));
    let limiter = Locked::new(Gcra::new(adaptive.quota()));
    // A reset `t` of two windows, which no pause here reaches: a server states it from the
    // arrivals it saw, which may be later than these requests left, by up to `D`.
    let answer = |q: u32, r: u32| {
        let policy = format!("p;q={q};w={w}");
        let state = format!("p;r={r};t={}", 2 * w);
        Feedback::read(
            200,
            [
                ("RateLimit-Policy", policy.as_str()),
                ("RateLimit", state.as_str()),
            ],
            0,
        )
        .unwrap()
    };
    adaptive.on_feedback(&limiter, 0, &answer(q1, 1)).unwrap();
    let mut sends = Vec::new();
    while limiter.earliest(0, 1).unwrap() < t1 {
        sends.push(limiter.reserve(0, 1).unwrap().at());
    }
    let full = answer(q2, 0);
    adaptive.on_feedback(&limiter, t1, &full).unwrap();
    let pause = adaptive.pause(t1, &full);
    for _ in 0..3 * q2 {
        sends.push(limiter.reserve(t1, 1).unwrap().at());
    }
    let shift = pause.map_or(0, |p| p.as_nanos() as u64 - shorten);
    let mut arrivals: Vec<(u64, bool)> = sends
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let before = s < t1;
            let moved = if before { s } else { s + shift };
            (moved + lateness(i, before), before)
        })
        .collect();
    arrivals.sort_unstable();
    let window = w * SEC;
    let seen = arrivals
        .iter()
        .enumerate()
        .filter(|(_, (_, before))| !before)
        .map(|(j, &(a, _))| {
            let first = arrivals.partition_point(|&(x, _)| x + window <= a);
            (a, j + 1 - first)
        })
        .collect();
    (seen, pause)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// After a server's limit drops, the pause an accepted answer with a full window asks is
    /// enough: no window of `w` ending at an arrival after it holds more than the new `q2`,
    /// whatever the lateness of each request from 0 to `D`; and it is at most `w + D`.
    #[test]
    fn the_pause_after_a_drop_keeps_the_new_limit(
        q1 in 2u32..300,
        drop in 1u32..100,
        w in 1u64..3,
        d_ms in 0u64..60,
        t1_windows in 1u64..3,
        extra in 0u64..1000,
        seed in any::<u64>(),
    ) {
        let q2 = (q1 * drop / 100).max(1);
        prop_assume!(q2 < q1);
        let d = d_ms * MS;
        let t1 = t1_windows * w * SEC + extra * MS;
        let mut rng = Rng(seed);
        let (seen, pause) = after_a_drop(q1, q2, w, d, t1, 0, |_, _| rng.below(d + 1));
        prop_assert!(pause.is_some_and(|p| p <= Duration::from_nanos(w * SEC + d)), "{:?}", pause);
        for (a, held) in seen {
            prop_assert!(held <= q2 as usize, "{} arrivals in the window ending at {}, limit {}", held, a, q2);
        }
        // The worst lateness: every request before the drop late by D, none after.
        let (seen, _) = after_a_drop(q1, q2, w, d, t1, 0, |_, before| if before { d } else { 0 });
        prop_assert!(seen.iter().all(|&(_, held)| held <= q2 as usize));
    }
}

#[test]
fn a_shorter_pause_after_a_drop_would_be_refused() {
    // 100 per 1.02 s back to back until 2.04 s, when the limit drops to 50 per second: the
    // pause is 1.02 s less 50 intervals of 10.2 ms, and 1 ms less lets a 51st arrival into a
    // window when the requests before the drop were 20 ms late and those after on time.
    let worst = |_: usize, before: bool| if before { 20 * MS } else { 0 };
    let (seen, pause) = after_a_drop(100, 50, 1, 20 * MS, 2_040 * MS, 0, worst);
    assert_eq!(pause, Some(Duration::from_millis(510)));
    assert_eq!(seen.iter().map(|&(_, held)| held).max(), Some(50));
    let (seen, _) = after_a_drop(100, 50, 1, 20 * MS, 2_040 * MS, MS, worst);
    assert_eq!(seen.iter().map(|&(_, held)| held).max(), Some(51));
}

#[test]
fn a_window_filled_at_the_stated_pace_pauses_nothing_but_a_refusal_pauses_in_full() {
    let ceiling = Quota::per_second(100).unwrap();
    let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    let limiter = Locked::new(Gcra::new(a.quota()));
    let full = Feedback::read(
        200,
        [
            ("RateLimit-Policy", "p;q=100;w=1"),
            ("RateLimit", "p;r=0;t=1"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(full.exhausted, full.policy);
    // Adopting 100 per 1.02 s lowers the rate from the ceiling of 100 per second: for a
    // window (and D) after that, requests may still have gone at 100 per second, 20 ms short.
    a.on_feedback(&limiter, SEC, &full).unwrap();
    assert_eq!(a.pause(SEC, &full), Some(Duration::from_millis(20)));
    assert_eq!(a.pause(2_019 * MS, &full), Some(Duration::from_millis(20)));
    assert_eq!(a.pause(2_020 * MS, &full), None);
    // It counts as a success then, not as a throttle.
    let d = a.on_feedback(&limiter, 3 * SEC, &full).unwrap();
    assert_eq!(d, None);
    assert_eq!(
        limiter.quota(),
        Quota::new(98_039, Duration::from_secs(1000)).unwrap()
    );
    // Never longer than the reset the server stated: a window of 1 per 2 s, full, would
    // need 2.02 s less one interval of the cap, but the server says it frees within 1 s.
    let slow = Feedback::read(
        200,
        [
            ("RateLimit-Policy", "p;q=1;w=2"),
            ("RateLimit", "p;r=0;t=1"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(a.pause(3 * SEC, &slow), Some(Duration::from_secs(1)));
    // A refusal pauses for its Retry-After, whatever the pace.
    let refused = Feedback::read(
        429,
        [
            ("Retry-After", "1"),
            ("RateLimit-Policy", "p;q=100;w=1"),
            ("RateLimit", "p;r=0;t=1"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(a.pause(4 * SEC, &refused), Some(Duration::from_secs(1)));
    // A pause that names no stated policy, or a legacy reset asking for more, is kept whole.
    let unnamed = Feedback::read(200, [("RateLimit", "p;r=0;t=1")], 0).unwrap();
    assert_eq!(a.pause(4 * SEC, &unnamed), Some(Duration::from_secs(1)));
    let longer = Feedback::read(
        200,
        [
            ("RateLimit-Policy", "p;q=100;w=1"),
            ("RateLimit", "p;r=0;t=1"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "5"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(a.pause(4 * SEC, &longer), Some(Duration::from_secs(5)));
}

#[test]
fn the_pause_counts_the_fastest_rate_of_the_last_window() {
    let ceiling = Quota::per_second(100).unwrap();
    let setup = || {
        let mut a = Adaptive::new(Quota::per_second(1).unwrap(), ceiling)
            .unwrap()
            .with_hold(Duration::ZERO)
            .with_lateness(Duration::ZERO);
        let limiter = Locked::new(Gcra::new(a.quota()));
        // A policy of 80 per second: the rate and the cap drop from 100 at 0.
        let policy = Policy {
            quota: 80,
            window: Some(Duration::from_secs(1)),
        };
        a.adopt(&limiter, 0, policy).unwrap();
        (a, limiter)
    };
    // Another policy's window of 5 is full.
    let full = Feedback::read(
        200,
        [
            ("RateLimit-Policy", "p;q=5;w=1"),
            ("RateLimit", "p;r=0;t=1"),
        ],
        0,
    )
    .unwrap();
    let (mut a, limiter) = setup();
    // Within a window of the drop, requests may have gone at 100 per second: 5 intervals of
    // 10 ms; after it, at the cap of 80 per second: 5 of 12.5 ms.
    assert_eq!(a.pause(999 * MS, &full), Some(Duration::from_millis(950)));
    assert_eq!(a.pause(SEC, &full), Some(Duration::from_micros(937_500)));
    // Throttles lower the rate below the cap; the cap still bounds what the next requests
    // may do.
    a.on_throttled(&limiter, 2 * SEC).unwrap();
    assert_eq!(
        a.pause(2 * SEC, &full),
        Some(Duration::from_micros(937_500))
    );
    // Five decreases in quick succession: the oldest (from 100 at 0) is no longer kept, so
    // while it may still count, the ceiling is assumed.
    let (mut a, limiter) = setup();
    for k in 1..5 {
        a.on_throttled(&limiter, k * 100 * MS).unwrap();
    }
    assert_eq!(a.pause(999 * MS, &full), Some(Duration::from_millis(950)));
    assert_eq!(a.pause(SEC, &full), Some(Duration::from_micros(937_500)));
}
