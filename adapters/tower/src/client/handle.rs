//! `Pushback`: the limiter a client shares between its calls, which listens to the server.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pacer_core::{
    Adaptive, Decision, Error, Feedback, Gate, GatePermit, Gcra, Locked, Pacer, Pausable, Policy,
    Quota, Timer,
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
}

/// The rate part alone, or the rate behind a concurrency cap.
#[derive(Debug)]
enum Limit<T> {
    Rate(Pacer<PushbackLimiter, T>),
    Gate(Gate<PushbackLimiter, T>),
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
    limit: Limit<T>,
    controller: Option<Mutex<Box<dyn Controller>>>,
    max_pause: Duration,
}

impl<T: fmt::Debug> fmt::Debug for Pushback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pushback")
            .field("limit", &self.limit)
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
    _slot: Option<GatePermit<'a>>,
}

/// Options for a [`Pushback`], from [`Pushback::builder`].
pub struct PushbackBuilder {
    quota: Quota,
    concurrency: Option<usize>,
    max_pause: Duration,
    controller: Option<Box<dyn Controller>>,
}

impl fmt::Debug for PushbackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushbackBuilder")
            .field("quota", &self.quota)
            .field("concurrency", &self.concurrency)
            .field("max_pause", &self.max_pause)
            .field("adaptive", &self.controller.is_some())
            .finish()
    }
}

impl PushbackBuilder {
    /// At most `concurrency` calls in flight at once (held from the acquisition until the
    /// permit drops). No cap unless set.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency);
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
    /// an accepted call whose answer says nothing remains pauses every caller until the
    /// reset and counts as a success. The limiter then starts at the
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
        let limit = match self.concurrency {
            None => Limit::Rate(pacer),
            Some(concurrency) => Limit::Gate(Gate::from_parts(pacer, concurrency)?),
        };
        Ok(Pushback {
            limit,
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
            max_pause: Feedback::DEFAULT_MAX_PAUSE,
            controller: None,
        }
    }
}

impl<T: Timer> Pushback<T> {
    /// Waits for a concurrency slot (if there is a cap), then for the rate, as paused or
    /// slowed by what the server said.
    ///
    /// A call whose instant came just before a pause began, but whose timer woke it after
    /// (a timer is late by up to a millisecond or so), also waits for the pause to end: no
    /// call leaves while the limiter is paused.
    pub async fn acquire(&self) -> Result<PushbackPermit<'_>, Error> {
        let slot = match &self.limit {
            Limit::Rate(pacer) => {
                pacer.acquire().await?;
                None
            }
            Limit::Gate(gate) => Some(gate.acquire().await?),
        };
        let pacer = self.pacer();
        while let Some(until) = pacer.paused_until() {
            pacer.timer().sleep_until(until).await;
        }
        Ok(PushbackPermit { _slot: slot })
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
        if let Some(pause) = feedback.pause {
            match pacer.pause_for(pause) {
                Ok(_) => heard.paused_for = Some(pause),
                Err(error) => heard.error = Some(error),
            }
        }
        if let Some(controller) = &self.controller {
            let mut controller = controller.lock().unwrap_or_else(PoisonError::into_inner);
            let limiter = pacer.limiter();
            let adopted = match feedback.policy {
                Some(policy) => controller.adopt(limiter, now, policy),
                None => Ok(None),
            };
            // Only a refusal lowers the rate. An accepted call whose answer says nothing
            // remains (`r=0`) pauses every caller until the reset, but the server took it:
            // it counts as a success, so a window that is merely full does not halve a rate
            // the server just stated.
            let counted = if feedback.throttled {
                controller.on_throttled(limiter, now)
            } else {
                controller.on_success(limiter, now)
            };
            match (adopted, counted) {
                (Ok(adopted), Ok(counted)) => heard.decision = counted.or(adopted),
                (Err(error), _) | (_, Err(error)) => heard.error = Some(error),
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
        match &self.limit {
            Limit::Rate(pacer) => pacer,
            Limit::Gate(gate) => gate.pacer(),
        }
    }
}
