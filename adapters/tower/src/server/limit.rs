//! `Limit`: one limit of the layer: how it keys requests, its quota classes and its tables.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use http::request::Parts;
use pacer_core::{Quota, WhenFull};

use super::extract::KeyExtractor;
use super::headers::valid_name;
use super::key::Key;

/// Picks a request's quota class by the request and its key (a plan, a route group).
pub(crate) type Classify = dyn Fn(&Parts, &Key) -> &'static str + Send + Sync;

/// What a limit does with a request whose key cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Refuse the request with this status (the default: `400 Bad Request`).
    Respond(StatusCode),
    /// Let this limit pass the request; the layer's other limits still decide.
    Skip,
    /// Count it under this one key, shared by every such request (a bucket for the
    /// anonymous).
    Shared(Key),
}

impl Default for Unreadable {
    fn default() -> Self {
        Unreadable::Respond(StatusCode::BAD_REQUEST)
    }
}

/// A mistake in the layer's configuration, found when it is made (or when a quota is
/// changed), never while serving.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A limit or class name is empty, or not printable ASCII without `"` and `\` (it goes
    /// into the `RateLimit` fields).
    BadName(String),
    /// Two classes of one limit, or two limits of one layer, have the same name.
    Duplicate(String),
    /// No limit by this name.
    UnknownLimit(String),
    /// The limit has no class by this name.
    UnknownClass(String),
    /// The layer has no limit.
    NoLimit,
    /// The limit's store cannot change its quota while serving (Redis: every process must
    /// agree on it).
    Fixed(String),
    /// A combination the layer does not offer (queue mode with a Redis limit, classes on a
    /// Redis limit).
    Unsupported(&'static str),
    /// pacer refused the table or the quota (a capacity of zero, an arrival time that
    /// cannot be carried over).
    Pacer(pacer_core::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadName(name) => write!(
                f,
                "bad name {name:?}: names are printable ASCII without quotes or backslashes"
            ),
            ConfigError::Duplicate(name) => write!(f, "two limits or classes named {name:?}"),
            ConfigError::UnknownLimit(name) => write!(f, "no limit named {name:?}"),
            ConfigError::UnknownClass(name) => write!(f, "no class named {name:?}"),
            ConfigError::NoLimit => f.write_str("a rate-limit layer needs at least one limit"),
            ConfigError::Fixed(name) => write!(f, "the quota of limit {name:?} is fixed"),
            ConfigError::Unsupported(what) => write!(f, "not supported: {what}"),
            ConfigError::Pacer(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<pacer_core::Error> for ConfigError {
    fn from(error: pacer_core::Error) -> Self {
        ConfigError::Pacer(error)
    }
}

/// One class of a limit: a quota, and a table of fixed capacity for its keys.
#[derive(Clone, Debug)]
pub(crate) struct ClassSpec {
    pub(crate) name: Arc<str>,
    pub(crate) quota: Quota,
    pub(crate) capacity: usize,
}

/// One limit: a key per request, and a quota per class of request, each class a table of
/// keys of fixed capacity.
///
/// A limit with one class (made by [`Limit::new`]) has one quota for every key:
///
/// ```
/// use pacer_core::Quota;
/// use pacer_tower::server::{Limit, PeerIp};
///
/// // 10 requests per second per client address, bursts of 20, up to 100,000 clients busy
/// // at once.
/// let per_ip = Limit::new("per-ip", PeerIp::default(), Quota::per_second(10)?.with_burst(20)?, 100_000)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Quotas by class: each class has its own quota and table, and a function picks a request's
/// class (an unknown name picks the first class). Quotas change while serving with
/// [`RateLimitLayer::set_quota`](super::RateLimitLayer::set_quota).
///
/// ```
/// use http::HeaderName;
/// use pacer_core::Quota;
/// use pacer_tower::server::{HeaderKey, Limit};
///
/// let per_key = Limit::new("api", HeaderKey::new(HeaderName::from_static("x-api-key")),
///         Quota::per_minute(60)?, 10_000)?
///     .class("pro", Quota::per_minute(6_000)?, 1_000)?
///     .classify(|request, _key| match request.headers.get("x-plan").map(|v| v.as_bytes()) {
///         Some(b"pro") => "pro",
///         _ => "default",
///     });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Limit {
    pub(crate) name: Arc<str>,
    pub(crate) extractor: Box<dyn KeyExtractor>,
    pub(crate) classes: Vec<ClassSpec>,
    pub(crate) classify: Option<Box<Classify>>,
    pub(crate) unreadable: Unreadable,
    pub(crate) when_full: WhenFull,
    pub(crate) shards: Option<usize>,
    #[cfg(feature = "redis")]
    pub(crate) remote: Option<super::remote::Remote>,
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("name", &self.name)
            .field("classes", &self.classes)
            .field("unreadable", &self.unreadable)
            .field("when_full", &self.when_full)
            .finish_non_exhaustive()
    }
}

impl Limit {
    /// A limit named `name` (as the `RateLimit` fields and the reports name it), keyed by
    /// `extractor`, with `quota` per key and room for `capacity` busy keys, in one class
    /// named `default`.
    ///
    /// Fails with [`ConfigError::BadName`] for a name that cannot go into a header, and
    /// [`ConfigError::Pacer`] for a capacity of zero.
    pub fn new(
        name: &str,
        extractor: impl KeyExtractor,
        quota: Quota,
        capacity: usize,
    ) -> Result<Limit, ConfigError> {
        if !valid_name(name) {
            return Err(ConfigError::BadName(name.to_owned()));
        }
        if capacity == 0 {
            return Err(pacer_core::Error::ZeroCapacity.into());
        }
        Ok(Limit {
            name: name.into(),
            extractor: Box::new(extractor),
            classes: vec![ClassSpec {
                name: "default".into(),
                quota,
                capacity,
            }],
            classify: None,
            unreadable: Unreadable::default(),
            when_full: WhenFull::Refuse,
            shards: None,
            #[cfg(feature = "redis")]
            remote: None,
        })
    }

    /// A limit named `name`, keyed by `extractor`, kept in Redis by `limiter` (pacer-redis's
    /// keyed limiter, with its quota and key prefix): every server that uses the same prefix
    /// shares it. While Redis cannot be reached the limit answers by `when_unavailable`,
    /// which you must choose. Feature `redis`.
    ///
    /// A Redis limit decides each request with one round trip, on the server's clock, in
    /// refuse or shadow mode ([`Mode::Queue`](super::Mode::Queue) with a Redis limit is a
    /// [`ConfigError::Unsupported`]). In one decision with limits in this process, those are
    /// asked first without recording anything, then Redis, then they record the request: a
    /// request they refuse never reaches Redis. In the moment of the round trip a concurrent
    /// request may take their last slot; the request is then refused and Redis keeps its cell
    /// (an under-admission of one, never an over-admission). Likewise, of several Redis limits,
    /// one that refuses leaves the cells the earlier ones took. Answers carry the rate-limit
    /// fields of the limits in this process; a refusal by Redis carries `Retry-After` by the
    /// server's clock.
    ///
    /// ```no_run
    /// use pacer_tower::server::{Limit, PeerIp, WhenUnavailable};
    ///
    /// # async fn make() -> Result<(), Box<dyn std::error::Error>> {
    /// let quota = pacer_core::Quota::per_second(10)?;
    /// let shared = pacer_redis::RedisKeyedLimiter::connect("redis://127.0.0.1/", "rl:ip:", quota).await?;
    /// let per_ip = Limit::redis("per-ip", PeerIp::default(), shared,
    ///     WhenUnavailable::Local { capacity: 100_000 })?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(
        name: &str,
        extractor: impl KeyExtractor,
        limiter: pacer_redis::RedisKeyedLimiter,
        when_unavailable: super::remote::WhenUnavailable,
    ) -> Result<Limit, ConfigError> {
        let mut limit = Limit::new(name, extractor, limiter.quota(), 1)?;
        limit.remote = Some(super::remote::Remote::new(limiter, when_unavailable)?);
        Ok(limit)
    }

    /// The same limit with another class: its own quota and a table with room for
    /// `capacity` busy keys.
    pub fn class(
        mut self,
        name: &str,
        quota: Quota,
        capacity: usize,
    ) -> Result<Limit, ConfigError> {
        if !valid_name(name) {
            return Err(ConfigError::BadName(name.to_owned()));
        }
        if self.classes.iter().any(|class| &*class.name == name) {
            return Err(ConfigError::Duplicate(name.to_owned()));
        }
        if capacity == 0 {
            return Err(pacer_core::Error::ZeroCapacity.into());
        }
        self.classes.push(ClassSpec {
            name: name.into(),
            quota,
            capacity,
        });
        Ok(self)
    }

    /// The same limit, picking each request's class with `classify` (from the request and
    /// its key). A name that is not one of the limit's classes picks the first class.
    pub fn classify(
        mut self,
        classify: impl Fn(&Parts, &Key) -> &'static str + Send + Sync + 'static,
    ) -> Limit {
        self.classify = Some(Box::new(classify));
        self
    }

    /// The same limit, answering a request whose key cannot be read by `unreadable`.
    pub fn on_unreadable(mut self, unreadable: Unreadable) -> Limit {
        self.unreadable = unreadable;
        self
    }

    /// The same limit, answering a new key that finds its table full of busy keys by
    /// `when_full` (default [`WhenFull::Refuse`]: refused with `Retry-After` until a slot
    /// frees, no other key disturbed).
    pub fn when_full(mut self, when_full: WhenFull) -> Limit {
        self.when_full = when_full;
        self
    }

    /// The same limit with each class's table in `shards` shards (by default several per
    /// core). One shard makes the capacity exact over all keys (see the crate's notes on
    /// sizing for a spray of new keys), at the cost of one lock per class.
    pub fn shards(mut self, shards: usize) -> Limit {
        self.shards = Some(shards);
        self
    }

    /// The limit's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
