//! `RateLimitLayer`: the layer, its builder, and the judgement of one request.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderMap;
use http::request::Parts;
use pacer_core::{Error, Quota, Timer};

use super::answer::{Mode, Reason, Refusal, Respond, retry_after};
use smallvec::SmallVec;

use super::class::{ClassState, LimitState, Wanted};
use super::decision::{self, Asks, Denied};
use super::headers::{self, Fields, Headers, Policy, Reading};
use super::key::Key;
use super::limit::{ConfigError, Limit};
use super::observe::{Event, Observer, Outcome, Tracing};
use super::queue::Ticket;
use super::service::RateLimit;

/// The rate-limit layer for a tower service (axum, tonic, hyper-util): every service it
/// wraps, and every clone of it, shares one set of limits, however many connections there
/// are.
///
/// Made by [`RateLimitLayer::builder`] on a pacer [`Timer`] (for tokio,
/// `pacer_tokio::TokioTimer`), whose clock the limits read and on whose sleep a queued
/// request waits; nothing here depends on a runtime.
///
/// ```
/// use pacer_core::{ManualTimer, Quota};
/// use pacer_tower::server::{Limit, PeerIp, RateLimitLayer};
///
/// let layer = RateLimitLayer::builder(ManualTimer::new())
///     .limit(Limit::new("per-ip", PeerIp::default(), Quota::per_second(10)?, 100_000)?)
///     .build()?;
/// // With axum: `Router::new().route(...).layer(layer)`, served with
/// // `into_make_service_with_connect_info::<SocketAddr>()` (feature `axum`).
/// let service = tower::ServiceBuilder::new()
///     .layer(layer.clone())
///     .service(tower::service_fn(|_: http::Request<()>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(()))
///     }));
/// # drop(service);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RateLimitLayer<T: Timer> {
    shared: Arc<Shared<T>>,
}

impl<T: Timer> Clone for RateLimitLayer<T> {
    fn clone(&self) -> Self {
        RateLimitLayer {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Timer> fmt::Debug for RateLimitLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field(
                "limits",
                &self
                    .shared
                    .limits
                    .iter()
                    .map(|l| &l.name)
                    .collect::<Vec<_>>(),
            )
            .field("mode", &self.shared.mode)
            .finish_non_exhaustive()
    }
}

impl<S, T: Timer> tower::Layer<S> for RateLimitLayer<T> {
    type Service = RateLimit<S, T>;

    fn layer(&self, inner: S) -> RateLimit<S, T> {
        RateLimit::new(inner, self.shared.clone())
    }
}

/// Builds a [`RateLimitLayer`].
pub struct Builder<T> {
    timer: T,
    limits: Vec<Limit>,
    mode: Mode,
    headers: Headers,
    respond: Option<Box<Respond>>,
    observer: Box<dyn Observer>,
}

impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("limits", &self.limits)
            .field("mode", &self.mode)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl<T: Timer> RateLimitLayer<T> {
    /// A builder for a layer whose limits read `timer`'s clock.
    pub fn builder(timer: T) -> Builder<T> {
        Builder {
            timer,
            limits: Vec::new(),
            mode: Mode::Refuse,
            headers: Headers::Ietf,
            respond: None,
            observer: Box::new(Tracing),
        }
    }

    /// Changes the quota of class `class` of limit `limit`, now. Each key's debt carries
    /// over: requests already admitted or queued keep their instants, and the next ones follow
    /// the new quota after them (pacer's reconfiguration rule), so a change never admits more
    /// than the old or the new quota would. Takes time in proportion to the class's keys.
    ///
    /// ```
    /// use pacer_core::{ManualTimer, Quota};
    /// use pacer_tower::server::{Global, Limit, RateLimitLayer};
    ///
    /// let layer = RateLimitLayer::builder(ManualTimer::new())
    ///     .limit(Limit::new("all", Global, Quota::per_second(100)?, 1)?)
    ///     .build()?;
    /// layer.set_quota("all", "default", Quota::per_second(50)?)?;
    /// assert_eq!(layer.quota("all", "default")?, Quota::per_second(50)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_quota(&self, limit: &str, class: &str, quota: Quota) -> Result<(), ConfigError> {
        let now = self.shared.timer.now();
        let state = self.shared.limit(limit)?;
        if state.is_remote() {
            return Err(ConfigError::Fixed(limit.to_owned()));
        }
        state.class(class)?.set_quota(now, quota)
    }

    /// The quota of class `class` of limit `limit`.
    pub fn quota(&self, limit: &str, class: &str) -> Result<Quota, ConfigError> {
        Ok(self.shared.limit(limit)?.class(class)?.quota())
    }

    /// Keys held now by class `class` of limit `limit` (busy, or idle and not yet
    /// forgotten), and the most it holds.
    pub fn keys(&self, limit: &str, class: &str) -> Result<(usize, usize), ConfigError> {
        let class = self.shared.limit(limit)?.class(class)?;
        Ok((class.table.len(), class.table.capacity()))
    }
}

impl<T: Timer> Builder<T> {
    /// Adds a limit. A request goes only when every limit admits it, and then takes one
    /// request's worth from each, together (see the `decision` notes in the crate docs).
    pub fn limit(mut self, limit: Limit) -> Builder<T> {
        self.limits.push(limit);
        self
    }

    /// How requests over a limit are treated (default [`Mode::Refuse`]).
    pub fn mode(mut self, mode: Mode) -> Builder<T> {
        self.mode = mode;
        self
    }

    /// Which rate-limit fields answers carry (default [`Headers::Ietf`]).
    pub fn headers(mut self, headers: Headers) -> Builder<T> {
        self.headers = headers;
        self
    }

    /// Builds refusals with `respond` instead of [`Refusal::response`].
    pub fn respond_with(
        mut self,
        respond: impl Fn(&Refusal) -> http::Response<()> + Send + Sync + 'static,
    ) -> Builder<T> {
        self.respond = Some(Box::new(respond));
        self
    }

    /// Reports every decision to `observer` (default [`Tracing`]).
    pub fn observer(mut self, observer: impl Observer) -> Builder<T> {
        self.observer = Box::new(observer);
        self
    }

    /// The layer. Fails with [`ConfigError::NoLimit`] without a limit, and
    /// [`ConfigError::Duplicate`] for two limits of one name.
    pub fn build(self) -> Result<RateLimitLayer<T>, ConfigError> {
        if self.limits.is_empty() {
            return Err(ConfigError::NoLimit);
        }
        for (i, limit) in self.limits.iter().enumerate() {
            if self.limits[..i]
                .iter()
                .any(|other| other.name == limit.name)
            {
                return Err(ConfigError::Duplicate(limit.name.to_string()));
            }
        }
        let limits: Box<[LimitState]> = self
            .limits
            .into_iter()
            .map(LimitState::new)
            .collect::<Result<_, _>>()?;
        if matches!(self.mode, Mode::Queue(_)) && limits.iter().any(LimitState::is_remote) {
            return Err(ConfigError::Unsupported("queue mode with a Redis limit"));
        }
        Ok(RateLimitLayer {
            shared: Arc::new(Shared {
                limits,
                together: Mutex::new(()),
                mode: self.mode,
                headers: self.headers,
                respond: self.respond,
                observer: self.observer,
                timer: self.timer,
            }),
        })
    }
}

/// What every service of one layer shares. Aligned to 128 bytes, so that in its `Arc` the
/// counts, which a server changes with every request (it clones the service for each), sit
/// on cache lines apart from the fields every decision reads.
#[repr(align(128))]
pub(crate) struct Shared<T> {
    pub(crate) limits: Box<[LimitState]>,
    /// Held for a decision over several limits (see `decision`).
    pub(crate) together: Mutex<()>,
    mode: Mode,
    headers: Headers,
    respond: Option<Box<Respond>>,
    pub(crate) observer: Box<dyn Observer>,
    pub(crate) timer: T,
}

/// The keys of a request for the limits kept in Redis: (limit, key).
type RemoteAsks = SmallVec<[(usize, Key); 1]>;

/// The judgement on one request.
pub(crate) enum Verdict<T: Timer> {
    /// Pass it on now, adding these fields to the answer.
    Pass(Fields),
    /// Pass it on once the ticket's instant comes.
    Wait(Ticket<T>, Fields),
    /// Answer this instead.
    Refuse(http::Response<()>),
}

impl<T: Timer> Shared<T> {
    fn limit(&self, name: &str) -> Result<&LimitState, ConfigError> {
        self.limits
            .iter()
            .find(|limit| &*limit.name == name)
            .ok_or_else(|| ConfigError::UnknownLimit(name.to_owned()))
    }

    fn event(&self, outcome: Outcome, limit: Option<&LimitState>, class: Option<usize>) {
        let class = limit.zip(class).map(|(l, c)| &*l.classes[c].name);
        self.observer.observe(&Event {
            outcome,
            limit: limit.map(|l| &*l.name),
            class,
            shadow: self.mode == Mode::Shadow,
        });
    }

    /// Whether a limit is kept in Redis (then requests are decided by
    /// [`judge_remote`](Shared::judge_remote)).
    #[cfg(feature = "redis")]
    pub(crate) fn remote(&self) -> bool {
        self.limits.iter().any(LimitState::is_remote)
    }

    /// Whether answers carry rate-limit fields.
    fn fields(&self) -> bool {
        self.mode != Mode::Shadow && self.headers != Headers::None
    }

    /// The fields for the limits asked, each key's state read by `read`.
    fn write_fields(
        &self,
        asks: &[(usize, usize, Key)],
        now: u64,
        mut read: impl FnMut(usize, &ClassState, &Key, &Policy) -> pacer_core::Snapshot,
    ) -> Fields {
        let mut fields = Fields::new();
        if !self.fields() {
            return fields;
        }
        if let [(limit, class, key)] = asks {
            // One limit, the common case: no lists to build.
            let class = &self.limits[*limit].classes[*class];
            let policy = class.policy();
            let reading = Reading {
                policy: &policy,
                snapshot: read(0, class, key, &policy),
            };
            headers::write(
                self.headers,
                std::slice::from_ref(&reading),
                now,
                &mut fields,
            );
            return fields;
        }
        let policies: SmallVec<[_; 2]> = asks
            .iter()
            .map(|(limit, class, _)| self.limits[*limit].classes[*class].policy())
            .collect();
        let readings: SmallVec<[Reading<'_>; 2]> = asks
            .iter()
            .zip(&policies)
            .enumerate()
            .map(|(i, ((limit, class, key), policy))| {
                let class = &self.limits[*limit].classes[*class];
                Reading {
                    policy,
                    snapshot: read(i, class, key, policy),
                }
            })
            .collect();
        headers::write(self.headers, &readings, now, &mut fields);
        fields
    }

    /// The keys of `request` for the limits in this process and for those in Redis, or the
    /// answer to a key that cannot be read.
    fn asks(&self, request: &Parts) -> Result<(Asks, RemoteAsks), Box<http::Response<()>>> {
        let mut asks = Asks::new();
        let mut remote = RemoteAsks::new();
        for (i, limit) in self.limits.iter().enumerate() {
            match limit.wanted(request) {
                Ok(Wanted::Key { key, .. }) if limit.is_remote() => remote.push((i, key)),
                Ok(Wanted::Key { class, key }) => asks.push((i, class, key)),
                Ok(Wanted::Skip) => {}
                Err(error) => {
                    self.event(Outcome::Unreadable, Some(limit), None);
                    if self.mode == Mode::Shadow {
                        continue;
                    }
                    let status = match &limit.unreadable {
                        super::Unreadable::Respond(status) => *status,
                        _ => http::StatusCode::BAD_REQUEST,
                    };
                    let refusal = Refusal {
                        reason: Reason::Unreadable { error, status },
                        limit: Some(limit.name.clone()),
                        class: None,
                        retry_after: None,
                        headers: HeaderMap::new(),
                    };
                    return Err(Box::new(self.answer(&refusal)));
                }
            }
        }
        Ok((asks, remote))
    }

    /// Decides on `request`, when every limit is in this process.
    pub(crate) fn judge(self: &Arc<Self>, request: &Parts) -> Verdict<T> {
        let asks = match self.asks(request) {
            Ok((asks, _)) => asks,
            Err(refusal) => return Verdict::Refuse(*refusal),
        };
        let now = self.timer.now();
        let max_wait = match self.mode {
            Mode::Queue(max_wait) => max_wait,
            Mode::Refuse | Mode::Shadow => Duration::ZERO,
        };
        match decision::decide(&self.limits, &self.together, &asks, now, max_wait) {
            Ok(granted) => {
                let fields = self.write_fields(&asks, now, |i, _, _, policy| {
                    granted.reservations[i].snapshot(&policy.quota, now)
                });
                if granted.at <= now {
                    self.event(Outcome::Admitted, None, None);
                    return Verdict::Pass(fields);
                }
                let wait = Duration::from_nanos(granted.at - now);
                self.event(Outcome::Queued { wait }, None, None);
                let ticket = Ticket {
                    shared: self.clone(),
                    held: decision::held(&asks, granted.reservations),
                    at: granted.at,
                };
                Verdict::Wait(ticket, fields)
            }
            Err(denied) => self.refuse(denied, &asks, now),
        }
    }

    /// The answer to a request `denied` refused.
    fn refuse(&self, denied: Denied, asks: &[(usize, usize, Key)], now: u64) -> Verdict<T> {
        let Denied {
            limit,
            class,
            error,
        } = denied;
        let state = &self.limits[limit];
        let (reason, outcome, at) = match error {
            Error::WouldWait { at } => (Reason::OverLimit, Outcome::Refused, Some(at)),
            Error::TableFull { at } => (Reason::TableFull, Outcome::TableFull, Some(at)),
            _ => (Reason::Unavailable, Outcome::Unavailable, None),
        };
        self.event(outcome, Some(state), Some(class));
        if self.mode == Mode::Shadow {
            return Verdict::Pass(Fields::new());
        }
        let wait = at.map(|at| Duration::from_nanos(at.saturating_sub(now)));
        self.refusal(reason, limit, Some(class), wait, asks, now)
    }

    /// The refusal by limit `limit` for `reason`, with the fields of the limits asked.
    fn refusal(
        &self,
        reason: Reason,
        limit: usize,
        class: Option<usize>,
        wait: Option<Duration>,
        asks: &[(usize, usize, Key)],
        now: u64,
    ) -> Verdict<T> {
        let state = &self.limits[limit];
        let fields = self.write_fields(asks, now, |_, class, key, _| class.snapshot(key, now));
        let mut headers = HeaderMap::with_capacity(fields.len() + 1);
        headers.extend(fields);
        if let Some(wait) = wait {
            retry_after(&mut headers, wait);
        }
        let refusal = Refusal {
            reason,
            limit: Some(state.name.clone()),
            class: class.map(|class| state.classes[class].name.clone()),
            retry_after: wait,
            headers,
        };
        Verdict::Refuse(self.answer(&refusal))
    }

    /// Decides on `request` when some limits are kept in Redis (refuse and shadow modes): the
    /// limits in this process are asked first without recording anything, then Redis, then
    /// they record the request.
    #[cfg(feature = "redis")]
    pub(crate) async fn judge_remote(self: Arc<Self>, request: &Parts) -> Verdict<T> {
        use super::remote::RemoteAnswer;

        let (asks, remote) = match self.asks(request) {
            Ok(asks) => asks,
            Err(refusal) => return Verdict::Refuse(*refusal),
        };
        let now = self.timer.now();
        if let Err(denied) = decision::peek(&self.limits, &self.together, &asks, now) {
            return self.refuse(denied, &asks, now);
        }
        for (limit, key) in &remote {
            let Some(store) = &self.limits[*limit].remote else {
                continue;
            };
            let state = Some(&self.limits[*limit]);
            match store.decide(key, now).await {
                RemoteAnswer::Admitted { unavailable } => {
                    if unavailable {
                        self.event(Outcome::Unavailable, state, Some(0));
                    }
                }
                RemoteAnswer::Refused(wait) => {
                    self.event(Outcome::Refused, state, Some(0));
                    if self.mode != Mode::Shadow {
                        return self.refusal(Reason::OverLimit, *limit, Some(0), wait, &asks, now);
                    }
                }
                RemoteAnswer::Unavailable => {
                    self.event(Outcome::Unavailable, state, Some(0));
                    if self.mode != Mode::Shadow {
                        return self.refusal(
                            Reason::Unavailable,
                            *limit,
                            Some(0),
                            None,
                            &asks,
                            now,
                        );
                    }
                }
            }
        }
        let now = self.timer.now();
        match decision::decide(&self.limits, &self.together, &asks, now, Duration::ZERO) {
            Ok(granted) => {
                let fields = self.write_fields(&asks, now, |i, _, _, policy| {
                    granted.reservations[i].snapshot(&policy.quota, now)
                });
                self.event(Outcome::Admitted, None, None);
                Verdict::Pass(fields)
            }
            Err(denied) => self.refuse(denied, &asks, now),
        }
    }

    fn answer(&self, refusal: &Refusal) -> http::Response<()> {
        match &self.respond {
            Some(respond) => respond(refusal),
            None => refusal.response(),
        }
    }
}
