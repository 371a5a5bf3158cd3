//! `Pushback`: the limiter a client shares between its calls, which listens to the server.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_lock::{Semaphore, SemaphoreGuard};
use pacer_core::{
    Adaptive, Decision, Error, Feedback, Gcra, Locked, Pacer, Pausable, Policy, Quota, Scheduler,
    SlidingWindow, Timer,
};

use super::Heard;

/// The limiter under a [`Pushback`]: a GCRA whose quota can change, which can be paused.
pub type PushbackLimiter = Pausable<Locked<Gcra>>;

/// What the limiter needs of an [`Adaptive`] controller, whatever its observer.
trait Controller: Send {
    fn quota(&self) -> Quota;
    fn adopt(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
        policy: Policy,
    ) -> Result<Option<Decision>, Error>;
    fn on_throttled(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
    ) -> Result<Option<Decision>, Error>;
    fn on_success(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
    ) -> Result<Option<Decision>, Error>;
    fn pause(&self, now: u64, feedback: &Feedback) -> Option<Duration>;
    fn policy(&self) -> Option<Policy>;
    fn lateness(&self) -> Duration;
}

impl<F: FnMut(&Decision) + Send> Controller for Adaptive<F> {
    fn quota(&self) -> Quota {
        Adaptive::quota(self)
    }

    fn adopt(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
        policy: Policy,
    ) -> Result<Option<Decision>, Error> {
        Adaptive::adopt(self, limiter, now, policy)
    }

    fn on_throttled(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
    ) -> Result<Option<Decision>, Error> {
        Adaptive::on_throttled(self, limiter, now)
    }

    fn on_success(
        &mut self,
        limiter: &PushbackLimiter,
        now: u64,
    ) -> Result<Option<Decision>, Error> {
        Adaptive::on_success(self, limiter, now)
    }

    fn pause(&self, now: u64, feedback: &Feedback) -> Option<Duration> {
        Adaptive::pause(self, now, feedback)
    }

    fn policy(&self) -> Option<Policy> {
        Adaptive::policy(self)
    }

    fn lateness(&self) -> Duration {
        Adaptive::lateness(self)
    }
}

/// The most requests per window a [`Pushback`]'s departure guard keeps in its log: a stated
/// policy of more requests than this per window is paced by the rate alone.
pub const MAX_GUARDED: usize = 1024;

/// The departure guard: a second limiter, on the instants calls leave at rather than the
/// instants reserved for them, at the adopted policy `q` per `w + D`: calls at least
/// `(w + D) / q` apart, and at most `q` in any window of `w + D`.
struct Departures {
    /// The policy it enforces, once one is adopted that it can hold.
    policy: Option<Policy>,
    window: SlidingWindow<MAX_GUARDED>,
    /// The least time between two departures, in ns (0 while no policy is enforced).
    interval: u64,
    /// The instant given to the latest departure.
    last: Option<u64>,
}

impl Departures {
    /// A guard that lets everything go until a policy is adopted (but logs every departure).
    fn open() -> Departures {
        Departures {
            policy: None,
            window: SlidingWindow::new(Departures::unlimited()).expect("within the capacity"),
            interval: 0,
            last: None,
        }
    }

    /// A window that never holds a call back.
    fn unlimited() -> Quota {
        Quota::new(MAX_GUARDED as u32, Duration::from_nanos(MAX_GUARDED as u64))
            .expect("a valid quota")
    }

    /// The instant a call ready at `now` may leave, taken.
    fn take(&mut self, now: u64) -> u64 {
        let spaced = self
            .last
            .map_or(now, |last| now.max(last.saturating_add(self.interval)));
        let at = self
            .window
            .reserve(spaced, 1)
            .map_or(spaced, |reservation| reservation.at());
        self.last = Some(at);
        at
    }

    /// Follows the adopted `policy` from `now`, with the lateness allowance `lateness`.
    fn follow(&mut self, now: u64, policy: Option<Policy>, lateness: Duration) {
        if policy == self.policy {
            return;
        }
        let quota = policy
            .and_then(|p| Some((u32::try_from(p.quota).ok()?, p.window?)))
            .filter(|&(q, _)| q > 0 && q as usize <= MAX_GUARDED)
            .and_then(|(q, w)| Quota::new(q, w.checked_add(lateness)?).ok());
        if self
            .window
            .set_quota(now, quota.unwrap_or_else(Departures::unlimited))
            .is_ok()
        {
            self.policy = quota.and(policy);
            self.interval = quota.map_or(0, |q| q.period_nanos().div_ceil(u64::from(q.count())));
        }
    }
}

/// A client's limiter that listens to the server: acquire before each call with
/// [`acquire`](Pushback::acquire), hand each answer to [`listen`](Pushback::listen).
///
/// [`PushbackLayer`](super::PushbackLayer) does both around a tower service; use this type
/// directly for any other client (the `pacer-reqwest` middleware does). Share it by `Arc`.
///
/// ```
/// use std::time::Duration;
/// use pacer_core::{ManualTimer, Quota};
/// use pacer_tower::client::Pushback;
/// # futures_executor::block_on(async {
/// let pushback = Pushback::builder(Quota::per_second(100)?)
///     .concurrency(50)
///     .build_with_timer(ManualTimer::new())?;
/// let permit = pushback.acquire().await?; // a rate slot and a concurrency slot
/// // ... send the request; then, with its status and headers:
/// let heard = pushback.listen(429, [("retry-after", "2")]);
/// assert_eq!(heard.paused_for, Some(Duration::from_secs(2)));
/// drop(permit); // the concurrency slot is free again
/// assert!(pushback.pacer().paused_until().is_some()); // nothing goes out for 2 s
/// # Ok::<(), pacer_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Pushback<T> {
    pacer: Pacer<PushbackLimiter, T>,
    /// The concurrency cap's slots, if there is a cap.
    slots: Option<Semaphore>,
    /// The calls that may hold a reservation of the rate at once.
    ahead: Semaphore,
    controller: Option<Mutex<Box<dyn Controller>>>,
    /// With a controller: the departure guard.
    departures: Option<Mutex<Box<Departures>>>,
    max_pause: Duration,
}

impl<T: fmt::Debug> fmt::Debug for Pushback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pushback")
            .field("pacer", &self.pacer)
            .field(
                "concurrency",
                &self.slots.as_ref().map(Semaphore::available_permits),
            )
            .field("adaptive", &self.controller.is_some())
            .field("max_pause", &self.max_pause)
            .finish()
    }
}

/// Proof of a passed [`Pushback::acquire`]: holds the concurrency slot, if there is a cap,
/// until dropped (when the call's answer has come).
#[derive(Debug)]
#[must_use = "the concurrency slot is released as soon as the permit is dropped"]
pub struct PushbackPermit<'a> {
    _slot: Option<SemaphoreGuard<'a>>,
}

/// Options for a [`Pushback`], from [`Pushback::builder`].
pub struct PushbackBuilder {
    quota: Quota,
    concurrency: Option<usize>,
    ahead: usize,
    max_pause: Duration,
    controller: Option<Box<dyn Controller>>,
}

impl fmt::Debug for PushbackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushbackBuilder")
            .field("quota", &self.quota)
            .field("concurrency", &self.concurrency)
            .field("ahead", &self.ahead)
            .field("max_pause", &self.max_pause)
            .field("adaptive", &self.controller.is_some())
            .finish()
    }
}

impl PushbackBuilder {
    /// How many calls may hold a reservation of the rate at once unless
    /// [`ahead`](PushbackBuilder::ahead) says otherwise.
    pub const DEFAULT_AHEAD: usize = 8;

    /// At most `concurrency` calls in flight at once (held from the acquisition until the
    /// permit drops). No cap unless set.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency);
        self
    }

    /// How many calls may hold a reservation of the rate at once (8 unless set; at least 1).
    ///
    /// A reservation keeps its instant when the rate changes (docs/contract.md,
    /// "Reconfiguration"), so calls that reserved before the server raised its policy still
    /// leave at the old, slower pace, and the new one applies only after them; after a drop
    /// they would leave at the old, faster pace (the departure guard holds them back). The
    /// other callers wait their turn without a reservation, and take one at the rate in
    /// force when it comes. With 50 callers waiting at 50 per second, the raise to
    /// 100 would otherwise reach the wire a second late; with 8 ahead, 0.16 s. Fewer than
    /// 8 leaves less room for a busy machine: the next reservation is made when a waiter
    /// wakes, and a late wake-up must not leave the rate idle.
    pub fn ahead(mut self, ahead: usize) -> Self {
        self.ahead = ahead.max(1);
        self
    }

    /// The longest pause a server may ask for (one hour unless set): feedback asking for more
    /// is refused and changes nothing.
    pub fn max_pause(mut self, max_pause: Duration) -> Self {
        self.max_pause = max_pause;
        self
    }

    /// Adapts the rate with `controller` (opt-in): a 429 or 503 lowers it, a stated policy
    /// sets it to the server's rate less the headroom for timer lateness, and successes raise
    /// it again, between the controller's floor and ceiling. Only a refusal lowers the rate:
    /// an accepted call whose answer says nothing remains counts as a success, and pauses
    /// every caller only as long as [`Adaptive::pause`] says the pace of the requests needs
    /// (none when they went at the stated policy; about half a second, not the whole second
    /// the reset rounds up to, when a server's limit halves). Without a controller it pauses
    /// until the reset. The limiter then starts at the
    /// controller's quota (its ceiling) instead of the builder's. Give the controller an
    /// observer ([`Adaptive::on_decision`]) to see every change.
    ///
    /// ```
    /// use pacer_core::{Adaptive, ManualTimer, Quota};
    /// use pacer_tower::client::Pushback;
    ///
    /// let documented = Quota::per_second(100)?;
    /// let adaptive = Adaptive::new(Quota::per_second(1)?, documented)?
    ///     .on_decision(|decision| println!("pacer: {decision}"));
    /// let pushback = Pushback::builder(documented)
    ///     .adapt(adaptive)
    ///     .build_with_timer(ManualTimer::new())?;
    /// pushback.listen(429, [("retry-after", "1")]); // pacer: throttled ... 100 -> 50 per 1s
    /// assert_eq!(pushback.quota(), Quota::per_second(50)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn adapt<F: FnMut(&Decision) + Send + 'static>(mut self, controller: Adaptive<F>) -> Self {
        self.controller = Some(Box::new(controller));
        self
    }

    /// The limiter on `timer`. Fails with [`Error::ZeroConcurrency`] for a cap of zero.
    pub fn build_with_timer<T: Timer>(self, timer: T) -> Result<Pushback<T>, Error> {
        let quota = self
            .controller
            .as_ref()
            .map_or(self.quota, |controller| controller.quota());
        let limiter = Pausable::with_max_pause(Locked::new(Gcra::new(quota)), self.max_pause);
        let pacer = Pacer::from_parts(limiter, timer);
        let slots = match self.concurrency {
            None => None,
            Some(0) => return Err(Error::ZeroConcurrency),
            Some(concurrency) => Some(Semaphore::new(concurrency)),
        };
        Ok(Pushback {
            pacer,
            slots,
            ahead: Semaphore::new(self.ahead),
            departures: self
                .controller
                .is_some()
                .then(|| Mutex::new(Box::new(Departures::open()))),
            controller: self.controller.map(Mutex::new),
            max_pause: self.max_pause,
        })
    }

    /// The limiter on a new default timer of the runtime. Fails with
    /// [`Error::ZeroConcurrency`] for a cap of zero.
    pub fn build<T: Timer + Default>(self) -> Result<Pushback<T>, Error> {
        self.build_with_timer(T::default())
    }
}

impl Pushback<()> {
    /// Options for a limiter starting at `quota` (keep its burst at 1 against a server that
    /// counts strictly); the timer is chosen when it is built. (Defined on `Pushback<()>`
    /// only so that `Pushback::builder` needs no type.)
    pub fn builder(quota: Quota) -> PushbackBuilder {
        PushbackBuilder {
            quota,
            concurrency: None,
            ahead: PushbackBuilder::DEFAULT_AHEAD,
            max_pause: Feedback::DEFAULT_MAX_PAUSE,
            controller: None,
        }
    }
}

impl<T: Timer> Pushback<T> {
    /// Waits for a concurrency slot (if there is a cap), then for the rate, as paused or
    /// slowed by what the server said, then (with a controller that adopted a stated policy)
    /// for the departure guard.
    ///
    /// A call whose instant came just before a pause began, but whose timer woke it after
    /// (a timer is late by up to a millisecond or so), also waits for the pause to end: no
    /// call leaves while the limiter is paused.
    ///
    /// **The departure guard.** The rate spaces the *reserved instants* of the calls; a call
    /// leaves when its timer wakes it, later by the timer's lateness, which a busy machine
    /// stretches to tens of milliseconds, so calls held back by a stall leave together and
    /// can put more than the policy's `q` into one window of the server (docs/contract.md,
    /// "Reserved instants and observed completions"). And after the server lowers its
    /// policy, calls already waiting keep the instants they reserved at the old rate. So
    /// once the controller has adopted a policy of `q` requests per `w` (`q` up to
    /// [`MAX_GUARDED`]), every call also takes a place in a sliding window of `q` per
    /// `w + D` (`D` the controller's lateness allowance) of the instants calls actually
    /// leave at, and waits for it. At the stated pace it never waits; after a stall it holds
    /// back the calls that would make a window too full, and after a drop it holds back the
    /// calls reserved at the old rate until the server's window has room. A call that a
    /// pause holds after the guard gave it an instant is logged again when the pause ends,
    /// and a call dropped while it waits there keeps its place: the guard may count a call
    /// twice, never a whole pause too early. (A call woken late by a busy machine is counted
    /// at the instant it was given: `D` is the room for that lateness.)
    pub async fn acquire(&self) -> Result<PushbackPermit<'_>, Error> {
        let slot = match &self.slots {
            Some(slots) => Some(slots.acquire().await),
            None => None,
        };
        {
            // At most `ahead` calls hold a reservation at once: the others wait here, and
            // reserve at the rate in force when their turn comes.
            let _ahead = self.ahead.acquire().await;
            self.pacer.acquire().await?;
        }
        let pacer = self.pacer();
        self.wait_out_pause().await;
        if let Some(departures) = &self.departures {
            let mut now = pacer.timer().now();
            loop {
                let leave = departures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(now);
                if leave > now {
                    pacer.timer().sleep_until(leave).await;
                }
                if !self.wait_out_pause().await {
                    break;
                }
                now = pacer.timer().now();
            }
        }
        Ok(PushbackPermit { _slot: slot })
    }

    /// Sleeps until no pause is in force; whether there was one.
    async fn wait_out_pause(&self) -> bool {
        let pacer = self.pacer();
        let mut waited = false;
        while let Some(until) = pacer.paused_until() {
            pacer.timer().sleep_until(until).await;
            waited = true;
        }
        waited
    }

    /// Reads one answer (its status code and headers, as `(name, value)` pairs) and acts on
    /// it: pauses every caller for as long as the server asks, and returns what it heard and
    /// did. Feedback that does not parse changes nothing and is returned in
    /// [`Heard::refused`].
    pub fn listen<I, N, V>(&self, status: u16, headers: I) -> Heard
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut heard = Heard::new(status);
        let feedback = match Feedback::read_within(status, headers, now_unix, self.max_pause) {
            Ok(feedback) => feedback,
            Err(error) => {
                heard.refused = Some(error);
                heard.trace();
                return heard;
            }
        };
        heard.throttled = feedback.throttled;
        let pacer = self.pacer();
        let now = pacer.timer().now();
        let mut pause = feedback.pause;
        if let Some(controller) = &self.controller {
            let mut controller = controller.lock().unwrap_or_else(PoisonError::into_inner);
            let limiter = pacer.limiter();
            let adopted = match feedback.policy {
                Some(policy) => controller.adopt(limiter, now, policy),
                None => Ok(None),
            };
            // Only a refusal lowers the rate. An accepted call whose answer says nothing
            // remains (`r=0`) may pause every caller (below), but the server took it: it
            // counts as a success, so a window that is merely full does not halve a rate the
            // server just stated.
            let counted = if feedback.throttled {
                controller.on_throttled(limiter, now)
            } else {
                controller.on_success(limiter, now)
            };
            match (adopted, counted) {
                (Ok(adopted), Ok(counted)) => heard.decision = counted.or(adopted),
                (Err(error), _) | (_, Err(error)) => heard.error = Some(error),
            }
            let policy = controller.policy();
            if let Some(departures) = &self.departures {
                let mut departures = departures.lock().unwrap_or_else(PoisonError::into_inner);
                departures.follow(now, policy, controller.lateness());
                // A full window of the policy the guard enforces needs no pause on an
                // accepted answer: the guard holds back every call the window has no room
                // for. Any other pause is as long as the pace it was filled at needs.
                let guarded =
                    departures.policy.is_some() && departures.policy == feedback.exhausted;
                pause = if !feedback.throttled && guarded && feedback.pause <= feedback.reset {
                    None
                } else {
                    controller.pause(now, &feedback)
                };
            }
        }
        if let Some(pause) = pause {
            match pacer.pause_for(pause) {
                Ok(_) => heard.paused_for = Some(pause),
                Err(error) => heard.error = Some(error),
            }
        }
        heard.trace();
        heard
    }

    /// The quota in force: the builder's, or the controller's latest.
    pub fn quota(&self) -> Quota {
        self.pacer().quota()
    }

    /// The rate part: for [`paused_until`](Pacer::paused_until), a manual
    /// [`pause_for`](Pacer::pause_for), or the current quota.
    pub fn pacer(&self) -> &Pacer<PushbackLimiter, T> {
        &self.pacer
    }
}
