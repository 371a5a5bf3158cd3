//! `Adaptive`: an opt-in AIMD controller of a limiter's quota, driven by server feedback.

use core::time::Duration;

use super::{Decision, Feedback, FeedbackError, Policy, Reason};
use crate::{Error, Quota, Reconfigure};

/// Rates are kept in thousandths of a cell per period of the ceiling.
const MILLI: u64 = 1000;

/// The longest ceiling period, in nanoseconds times [`MILLI`], whose quotas stay exact:
/// `1000 · period <= 2^62` (about 53 days), so that every quota on the grid has a burst of
/// one cell within [`Quota`]'s range.
const MAX_SCALED_PERIOD: u128 = 1 << 62;

/// The observer of a controller that was given none.
fn ignore(_: &Decision) {}

/// An opt-in adaptation controller: it lowers a limiter's rate multiplicatively when the
/// server pushes back and raises it additively while calls succeed (AIMD), always between a
/// floor and a ceiling, and can adopt the server's stated policy with the headroom pacer's
/// observed-traffic bound calls for.
///
/// It is pure, like the rest of the core: every method takes `now` (the limiter's instant, in
/// nanoseconds) and changes the limiter only through [`Reconfigure::set_quota`], so the
/// reconfiguration rule holds across every change (reservations already made keep their
/// instants; the two sides of a change conform to the more generous quota). The async layers
/// call it from where they see responses; share it behind a lock if several tasks do.
///
/// The rules, with the rate `r` in cells per period of the ceiling, in steps of a thousandth
/// of a cell:
///
/// - **Throttled** ([`on_throttled`](Adaptive::on_throttled): a 429, a 503 or a pause):
///   `r = max(floor, r · backoff)`, `backoff` 50 % unless set by
///   [`with_backoff`](Adaptive::with_backoff). Then, for the **hold** (one ceiling period
///   unless set by [`with_hold`](Adaptive::with_hold)), further throttles are ignored: they
///   answer requests sent before the decrease, and must not multiply it again.
/// - **Succeeded** ([`on_success`](Adaptive::on_success)): once a whole ceiling period has
///   passed since the last change or throttle, `r = min(cap, r + step)`, `step` 5 % of the
///   ceiling unless set by [`with_step`](Adaptive::with_step). At most one step per period.
/// - **Policy** ([`adopt`](Adaptive::adopt)): a server that states `q` requests per window
///   `w` is served at `q` per `w + D`, with `D` the lateness allowance (20 ms unless set by
///   [`with_lateness`](Adaptive::with_lateness)), rounded down to the grid. That rate,
///   within floor and ceiling, becomes the **cap** that successes climb back to, and the
///   rate when the stated policy changes. Why `w + D`: an acquisition completes at its
///   instant or later, so if the lateness of the completions varies by at most `D`, the
///   completions in any window of length `w` come from reserved instants in a window of
///   `w + D`; at `q` per `w + D`, burst 1, such a window holds at most `q` instants. So a
///   server that counts arrivals strictly in windows of `w` sees at most `q`, and no 429, at
///   steady state.
///
/// Every quota it sets has burst 1, which a strict server needs. Build the limiter with
/// [`quota`](Adaptive::quota) (the ceiling, at burst 1) so they start in agreement.
///
/// ```
/// use pacer_core::{Adaptive, Decision, Feedback, Gcra, Locked, Quota, Reason, Reconfigure};
/// use core::time::Duration;
///
/// let floor = Quota::per_second(1)?;
/// let ceiling = Quota::per_second(100)?;
/// let mut adaptive = Adaptive::new(floor, ceiling)?
///     .on_decision(|d: &Decision| println!("pacer: {d}"));
/// let limiter = Locked::new(Gcra::new(adaptive.quota()));
///
/// // A 429: the rate halves.
/// let now = 1_000_000_000;
/// let feedback = Feedback::read(429, [("Retry-After", "1")], 1_800_000_000)?;
/// let decision = adaptive.on_feedback(&limiter, now, &feedback)?.unwrap();
/// assert_eq!(decision.reason, Reason::Throttled);
/// assert_eq!(limiter.quota(), Quota::per_second(50)?);
///
/// // A second of successes later: one step of 5 per second back up.
/// adaptive.on_success(&limiter, now + 2_000_000_000)?;
/// assert_eq!(limiter.quota(), Quota::per_second(55)?);
///
/// // The server states 60 per second: served at 60 per 1.02 s, 58.823 per second.
/// let feedback = Feedback::read(200, [("RateLimit-Policy", "p;q=60;w=1")], 1_800_000_000)?;
/// adaptive.on_feedback(&limiter, now + 2_500_000_000, &feedback)?;
/// assert_eq!(limiter.quota(), Quota::new(58_823, Duration::from_secs(1000))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Adaptive<F = fn(&Decision)> {
    /// The ceiling's period `P`, in nanoseconds: rates are thousandths of a cell per `P`.
    period: u64,
    floor: u64,
    ceiling: u64,
    /// `min(ceiling, adopted policy)`, at least the floor: what successes climb back to.
    cap: u64,
    rate: u64,
    /// The quota of `rate`, as set on the limiter.
    quota: Quota,
    backoff_percent: u64,
    step: u64,
    hold: u64,
    lateness: u64,
    /// Successes count from this instant (the last change or throttle), once known.
    calm_since: Option<u64>,
    /// Throttles before this instant are ignored.
    held_until: u64,
    /// The policy adopted last.
    adopted: Option<Policy>,
    /// The latest decreases of the rate: when, and the rate before. The fastest rate in force
    /// since an instant is the highest of the cap and the rates before each decrease after it.
    lowered: Lowered,
    observer: F,
}

impl Adaptive {
    /// A controller between `floor` and `ceiling` (each a rate; their bursts are not used),
    /// starting at the ceiling.
    ///
    /// Fails with [`FeedbackError::FloorAboveCeiling`] if the floor is the faster, and
    /// [`FeedbackError::CeilingOutOfRange`] if the ceiling counts more than 4,294,967 cells per
    /// period or has a period over 53 days (say 1,000 per millisecond rather than 10^6 per
    /// second). A floor is kept to a thousandth of a cell per ceiling period, rounded up.
    ///
    /// ```
    /// use pacer_core::{Adaptive, FeedbackError, Quota};
    ///
    /// let adaptive = Adaptive::new(Quota::per_minute(6)?, Quota::per_second(100)?)?;
    /// assert_eq!(adaptive.quota(), Quota::per_second(100)?); // starts at the ceiling
    /// assert_eq!(
    ///     Adaptive::new(Quota::per_second(200)?, Quota::per_second(100)?).unwrap_err(),
    ///     FeedbackError::FloorAboveCeiling
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(floor: Quota, ceiling: Quota) -> Result<Adaptive, FeedbackError> {
        let period = ceiling.period_nanos();
        if ceiling.count() > u32::MAX / MILLI as u32
            || u128::from(period) * u128::from(MILLI) > MAX_SCALED_PERIOD
        {
            return Err(FeedbackError::CeilingOutOfRange);
        }
        let ceiling_rate = u64::from(ceiling.count()) * MILLI;
        let floor_rate = (u128::from(floor.count()) * u128::from(MILLI) * u128::from(period))
            .div_ceil(u128::from(floor.period_nanos()));
        if floor_rate > u128::from(ceiling_rate) {
            return Err(FeedbackError::FloorAboveCeiling);
        }
        let quota = quota_of(ceiling_rate, period).map_err(|_| FeedbackError::CeilingOutOfRange)?;
        Ok(Adaptive {
            period,
            floor: floor_rate as u64,
            ceiling: ceiling_rate,
            cap: ceiling_rate,
            rate: ceiling_rate,
            quota,
            backoff_percent: 50,
            step: ceiling_rate.div_ceil(20),
            hold: period,
            lateness: 20_000_000,
            calm_since: None,
            held_until: 0,
            adopted: None,
            lowered: Lowered::default(),
            observer: ignore,
        })
    }
}

impl<F: FnMut(&Decision)> Adaptive<F> {
    /// Hands every [`Decision`] (every change of quota) to `observer` as it is made: log it,
    /// count it, or emit a `tracing` event.
    pub fn on_decision<G: FnMut(&Decision)>(self, observer: G) -> Adaptive<G> {
        Adaptive {
            period: self.period,
            floor: self.floor,
            ceiling: self.ceiling,
            cap: self.cap,
            rate: self.rate,
            quota: self.quota,
            backoff_percent: self.backoff_percent,
            step: self.step,
            hold: self.hold,
            lateness: self.lateness,
            calm_since: self.calm_since,
            held_until: self.held_until,
            adopted: self.adopted,
            lowered: self.lowered,
            observer,
        }
    }

    /// The share of the rate kept on a throttle, in percent (50 unless set): 1 to 99, else
    /// [`FeedbackError::BackoffOutOfRange`].
    pub fn with_backoff(mut self, percent: u8) -> Result<Self, FeedbackError> {
        if !(1..=99).contains(&percent) {
            return Err(FeedbackError::BackoffOutOfRange);
        }
        self.backoff_percent = u64::from(percent);
        Ok(self)
    }

    /// The cells per ceiling period added after each period of successes (5 % of the
    /// ceiling's count, rounded up, unless set). Zero never raises the rate.
    pub fn with_step(mut self, cells: u32) -> Self {
        self.step = u64::from(cells) * MILLI;
        self
    }

    /// How long after a decrease further throttles are ignored (one ceiling period unless
    /// set). Zero makes every throttle count.
    pub fn with_hold(mut self, hold: Duration) -> Self {
        self.hold = u64::try_from(hold.as_nanos()).unwrap_or(u64::MAX);
        self
    }

    /// `D`, the variation of lateness an adopted policy leaves room for (20 ms unless set):
    /// a few milliseconds of the runtime's timer, plus its stalls under load, plus the jitter
    /// of the network between this process and the server.
    pub fn with_lateness(mut self, lateness: Duration) -> Self {
        self.lateness = u64::try_from(lateness.as_nanos()).unwrap_or(u64::MAX);
        self
    }

    /// The quota the controller has set (at first, the ceiling at burst 1).
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The server's policy adopted last (by [`adopt`](Adaptive::adopt) or
    /// [`on_feedback`](Adaptive::on_feedback)), if any.
    pub fn policy(&self) -> Option<Policy> {
        self.adopted
    }

    /// `D`, the variation of lateness an adopted policy leaves room for (20 ms unless set by
    /// [`with_lateness`](Adaptive::with_lateness)).
    pub fn lateness(&self) -> Duration {
        Duration::from_nanos(self.lateness)
    }

    /// The pause a response asks of this controller's limiter at `now`, once the response's
    /// policy is adopted: `feedback.pause`, shortened where the server's window is merely full
    /// and this limiter's own pace already keeps its next request out of it.
    ///
    /// - A refusal (429 or 503) pauses for all it asks (`Retry-After`, or the reset of a
    ///   policy with nothing remaining), whatever the pace.
    /// - An accepted response whose `RateLimit` says one policy of `q` requests per window `w`
    ///   has nothing left ([`Feedback::exhausted`]) asks for its reset `t`, in whole seconds.
    ///   A limiter whose requests leave at intervals of at least `T` knows more: its next
    ///   request leaves at least `T` after its last, and the `q`-th newest before it left at
    ///   least `(q - 1)·T` before the last, so the two are `q·T` apart, and the server's
    ///   window of `w` counts at most `q` of them once `q·T >= w + D` (`D` the lateness
    ///   allowance of [`with_lateness`](Adaptive::with_lateness), as in
    ///   [`adopt`](Adaptive::adopt)). The pause is the rest, `w + D - q·T`, never more than
    ///   `t`, and none when the rate is at most `q` per `w + D`: the rate `adopt` sets. `T` is
    ///   the interval of the fastest rate in force over the last `w + D` or allowed next: the
    ///   cap (what successes may raise the rate to), or the rate before a decrease made
    ///   within `w + D`.
    ///   So the drop of a server's limit from 100 to 50 per second, heard on an accepted
    ///   response, pauses about half a second (the time the window takes to fall below 50 of
    ///   requests sent at 100 per second), not the whole second `t` rounds up to, and a
    ///   window filled at the stated pace pauses nothing.
    /// - Any other pause (no stated policy for the exhausted one, several exhausted, or a
    ///   legacy `X-RateLimit-Reset` asking for longer) is kept whole.
    ///
    /// The bound counts this client's requests only, as they leave at their reserved
    /// instants. Where other clients share the server's limit, the window can hold theirs
    /// too, and a request sent before `t` may be refused; that 429 pauses for its
    /// `Retry-After` and lowers the rate. And reservations made before a decrease keep their
    /// instants (docs/contract.md, "Reconfiguration"): a pause moves them all alike, so
    /// callers already queued at the old pace still leave at that pace after it. Keep few
    /// reservations ahead, or hold departures to the policy as pacer-tower's `Pushback`
    /// does with its departure guard.
    ///
    /// ```
    /// use pacer_core::{Adaptive, Feedback, Gcra, Locked, Quota};
    /// use core::time::Duration;
    ///
    /// // The documented 100 per second, with the contract's 20 ms of headroom.
    /// let ceiling = Quota::new(100, Duration::from_millis(1020))?;
    /// let mut adaptive = Adaptive::new(Quota::per_second(1)?, ceiling)?;
    /// let limiter = Locked::new(Gcra::new(adaptive.quota()));
    /// let full = |q: u32| {
    ///     let policy = format!("p;q={q};w=1");
    ///     Feedback::read(200, [("RateLimit-Policy", policy.as_str()), ("RateLimit", "p;r=0;t=1")], 0)
    /// };
    /// // Paced at 100 per 1.02 s, a full window of 100 per second needs no pause.
    /// let at_pace = full(100)?;
    /// adaptive.on_feedback(&limiter, 0, &at_pace)?;
    /// assert_eq!(adaptive.pause(0, &at_pace), None);
    /// // The server now allows 50: requests went at up to 100 per 1.02 s, so 50 of them
    /// // span 0.51 s, and the window of 1 s (+ 20 ms) needs 0.51 s more.
    /// let second = 1_000_000_000;
    /// let lowered = full(50)?;
    /// adaptive.on_feedback(&limiter, 5 * second, &lowered)?;
    /// assert_eq!(adaptive.pause(5 * second, &lowered), Some(Duration::from_millis(510)));
    /// // Once a window has passed at the new pace, a full window needs no pause again.
    /// assert_eq!(adaptive.pause(7 * second, &lowered), None);
    /// // A refusal pauses for all it asks.
    /// let refused = Feedback::read(429, [("Retry-After", "1")], 0)?;
    /// assert_eq!(adaptive.pause(5 * second, &refused), Some(Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pause(&self, now: u64, feedback: &Feedback) -> Option<Duration> {
        let pause = feedback.pause?;
        if feedback.throttled {
            return Some(pause);
        }
        let (
            Some(Policy {
                quota,
                window: Some(window),
            }),
            Some(reset),
        ) = (feedback.exhausted, feedback.reset)
        else {
            return Some(pause);
        };
        if quota == 0 || pause > reset {
            return Some(pause);
        }
        let span = window.as_nanos() + u128::from(self.lateness);
        let fastest = self
            .lowered
            .fastest_within(now, span, self.ceiling)
            .max(self.cap)
            .max(self.rate);
        if fastest == 0 {
            return Some(pause);
        }
        // q intervals of the fastest rate, in ns, rounded down (towards a longer pause).
        let spaced =
            u128::from(quota) * u128::from(self.period) * u128::from(MILLI) / u128::from(fastest);
        let needed = span.saturating_sub(spaced);
        if needed == 0 {
            return None;
        }
        Some(pause.min(Duration::from_nanos(
            u64::try_from(needed).unwrap_or(u64::MAX),
        )))
    }

    /// The server refused a request for load (a 429 or a 503), or asked for a pause, at `now`:
    /// multiplies the rate down (not below the floor), unless within the hold of the last
    /// decrease. Returns the decision, if the quota changed.
    ///
    /// ```
    /// use pacer_core::{Adaptive, Gcra, Locked, Quota, Reconfigure};
    ///
    /// let mut adaptive = Adaptive::new(Quota::per_second(10)?, Quota::per_second(100)?)?.with_backoff(70)?;
    /// let limiter = Locked::new(Gcra::new(adaptive.quota()));
    /// let second = 1_000_000_000;
    /// assert!(adaptive.on_throttled(&limiter, second)?.is_some());
    /// assert_eq!(limiter.quota(), Quota::per_second(70)?);
    /// assert!(adaptive.on_throttled(&limiter, second + 1)?.is_none()); // within the hold
    /// adaptive.on_throttled(&limiter, 2 * second)?;
    /// assert_eq!(limiter.quota(), Quota::per_second(49)?);
    /// for k in 3..10 {
    ///     adaptive.on_throttled(&limiter, k * second)?;
    /// }
    /// assert_eq!(limiter.quota(), Quota::per_second(10)?); // never below the floor
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_throttled<L: Reconfigure + ?Sized>(
        &mut self,
        limiter: &L,
        now: u64,
    ) -> Result<Option<Decision>, Error> {
        self.calm_since = Some(self.calm_since.map_or(now, |c| c.max(now)));
        if now < self.held_until {
            return Ok(None);
        }
        let lowered = (u128::from(self.rate) * u128::from(self.backoff_percent) / 100) as u64;
        let decision = self.change(limiter, now, lowered.max(self.floor), Reason::Throttled)?;
        self.held_until = now.saturating_add(self.hold);
        Ok(decision)
    }

    /// A call succeeded at `now`: once a whole ceiling period has passed since the last change
    /// or throttle, raises the rate one step (not above the cap). Returns the decision, if the
    /// quota changed.
    ///
    /// ```
    /// use pacer_core::{Adaptive, Gcra, Locked, Quota, Reconfigure};
    ///
    /// let mut adaptive = Adaptive::new(Quota::per_second(1)?, Quota::per_second(100)?)?.with_step(10);
    /// let limiter = Locked::new(Gcra::new(adaptive.quota()));
    /// adaptive.on_throttled(&limiter, 0)?; // 50 per second
    /// adaptive.on_success(&limiter, 500_000_000)?; // half a period: too soon
    /// assert_eq!(limiter.quota(), Quota::per_second(50)?);
    /// adaptive.on_success(&limiter, 1_000_000_000)?;
    /// assert_eq!(limiter.quota(), Quota::per_second(60)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_success<L: Reconfigure + ?Sized>(
        &mut self,
        limiter: &L,
        now: u64,
    ) -> Result<Option<Decision>, Error> {
        let Some(calm_since) = self.calm_since else {
            self.calm_since = Some(now);
            return Ok(None);
        };
        if now < calm_since.saturating_add(self.period) || self.rate >= self.cap {
            return Ok(None);
        }
        let raised = self.rate.saturating_add(self.step).min(self.cap);
        self.change(limiter, now, raised, Reason::Succeeded)
    }

    /// Adopts the server's stated `policy` at `now`: `quota` per `window + D`, within floor
    /// and ceiling, becomes the cap, and the rate when the policy differs from the one adopted
    /// last (a policy restated unchanged leaves the rate to the other rules). A policy without
    /// a window states no rate and changes nothing. Returns the decision, if the quota
    /// changed.
    ///
    /// ```
    /// use pacer_core::{Adaptive, Gcra, Locked, Policy, Quota, Reconfigure};
    /// use core::time::Duration;
    ///
    /// let mut adaptive = Adaptive::new(Quota::per_hour(1)?, Quota::per_second(1000)?)?
    ///     .with_lateness(Duration::from_millis(10));
    /// let limiter = Locked::new(Gcra::new(adaptive.quota()));
    /// // 100 per second is served at 100 per 1.01 s: 99.009 per second.
    /// let policy = Policy { quota: 100, window: Some(Duration::from_secs(1)) };
    /// adaptive.adopt(&limiter, 0, policy)?;
    /// assert_eq!(limiter.quota(), Quota::new(99_009, Duration::from_secs(1000))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adopt<L: Reconfigure + ?Sized>(
        &mut self,
        limiter: &L,
        now: u64,
        policy: Policy,
    ) -> Result<Option<Decision>, Error> {
        let Some(window) = policy.window else {
            return Ok(None);
        };
        if self.adopted == Some(policy) {
            return Ok(None);
        }
        // q per (w + D), in thousandths of a cell per P, rounded down (towards fewer cells).
        let span = window.as_nanos() + u128::from(self.lateness);
        let target = u128::from(policy.quota) * u128::from(MILLI) * u128::from(self.period) / span;
        let cap = (target.min(u128::from(self.ceiling)) as u64).max(self.floor);
        let lowering = cap < self.rate;
        let decision = self.change(limiter, now, cap, Reason::Policy)?;
        self.cap = cap;
        self.adopted = Some(policy);
        self.calm_since = Some(now);
        if lowering {
            // Requests already sent at the old rate may still come back refused.
            self.held_until = now.saturating_add(self.hold);
        }
        Ok(decision)
    }

    /// Everything one response says, at `now`: adopts its stated policy (if it has a window),
    /// then counts it as throttled (429, 503, or a pause that [`pause`](Adaptive::pause) says
    /// this limiter needs) or else as a success (any other status, errors included, means the
    /// server took the pace). Returns the last decision, if the quota changed (the observer
    /// sees every one).
    pub fn on_feedback<L: Reconfigure + ?Sized>(
        &mut self,
        limiter: &L,
        now: u64,
        feedback: &Feedback,
    ) -> Result<Option<Decision>, Error> {
        let adopted = match feedback.policy {
            Some(policy) => self.adopt(limiter, now, policy)?,
            None => None,
        };
        let counted = if feedback.throttled || self.pause(now, feedback).is_some() {
            self.on_throttled(limiter, now)?
        } else {
            self.on_success(limiter, now)?
        };
        Ok(counted.or(adopted))
    }

    /// Sets `rate` on the limiter and tells the observer, if it differs from the rate in
    /// force; on an error, nothing changes.
    fn change<L: Reconfigure + ?Sized>(
        &mut self,
        limiter: &L,
        now: u64,
        rate: u64,
        reason: Reason,
    ) -> Result<Option<Decision>, Error> {
        if rate == self.rate {
            return Ok(None);
        }
        let new = quota_of(rate, self.period)?;
        let old = limiter.quota();
        limiter.set_quota(now, new)?;
        let decision = Decision {
            at: now,
            old,
            new,
            reason,
        };
        if rate < self.rate {
            self.lowered.record(now, self.rate);
        }
        self.rate = rate;
        self.quota = new;
        self.calm_since = Some(now);
        (self.observer)(&decision);
        Ok(Some(decision))
    }
}

/// The latest decreases of a controller's rate, to know the fastest rate in force since an
/// instant: the rate in force at any instant after `since` is at most the current cap or the
/// rate before one of the decreases made after `since` (between decreases it only rises).
#[derive(Clone, Copy, Debug, Default)]
struct Lowered {
    /// `(at, rate before)`, the newest last; empty slots are `(0, 0)`.
    latest: [(u64, u64); 4],
    /// The instant of the newest decrease no longer kept.
    forgotten: Option<u64>,
}

impl Lowered {
    fn record(&mut self, at: u64, before: u64) {
        let (oldest, _) = self.latest[0];
        if self.latest[0] != (0, 0) {
            self.forgotten = Some(oldest);
        }
        self.latest.rotate_left(1);
        self.latest[3] = (at, before);
    }

    /// The fastest rate before a decrease made within `span` before `now` (0 if none), or
    /// `ceiling` if such a decrease is no longer kept.
    fn fastest_within(&self, now: u64, span: u128, ceiling: u64) -> u64 {
        let recent = |at: u64| u128::from(at) + span > u128::from(now);
        if self.forgotten.is_some_and(recent) {
            return ceiling;
        }
        self.latest
            .iter()
            .filter(|&&(at, before)| before > 0 && recent(at))
            .map(|&(_, before)| before)
            .max()
            .unwrap_or(0)
    }
}

/// `rate` thousandths of a cell per `period` ns as a quota, burst 1: whole cells per `period`
/// where the rate is a whole number of cells (so 50 per second reads as such), otherwise the
/// thousandths per `1000 · period` reduced by their common factor with 1000.
fn quota_of(rate: u64, period: u64) -> Result<Quota, Error> {
    let span = period.saturating_mul(MILLI);
    let g = gcd(rate, MILLI);
    let count = u32::try_from(rate / g).map_err(|_| Error::QuotaOverflow)?;
    Quota::new(count, Duration::from_nanos(span / g))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}
