//! `RedisLimiter`: one limit in Redis, shared by every process that names its key.

use std::sync::Arc;
use std::time::Duration;

use pacer_core::{AtomicLimiter, Pacer, Quota, Snapshot, Timer};
use pacer_tokio::TokioTimer;

use crate::connection::Connection;
use crate::engine::{Engine, PauseEnd, QuotaArgs};
use crate::refusals::Refusals;
use crate::wait;
use crate::{Error, RedisReservation};

/// A rate limit kept in Redis and shared by every client that uses the same key and quota.
///
/// Each acquisition is one round trip: a script reserves the earliest permitted instant
/// atomically inside Redis, by the server's clock, and the client then sleeps once, on its
/// own timer `T` ([`TokioTimer`] unless given another), for the wait the server computed.
/// The cells therefore never go early by the server's clock (the reply's travel time only
/// makes them later), and the limit holds across all clients exactly as
/// [`pacer_core::Gcra`] holds it in one process: FIFO in the order Redis ran the
/// reservations, weighted, cancellable.
///
/// Every method that talks to Redis can fail with [`Error::Unavailable`]. By default that
/// is the answer; [`with_fallback`](RedisLimiter::with_fallback) makes the `acquire` and
/// `try_acquire` methods use a local limiter instead, which is your choice to make.
///
/// ```no_run
/// use pacer_redis::{RedisLimiter, Quota};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), pacer_redis::Error> {
/// // Every process that runs this shares one limit of 100 per second.
/// let limiter = RedisLimiter::connect("redis://127.0.0.1/", "limit:api.example.com",
///     Quota::per_second(100)?).await?;
/// for _ in 0..3 {
///     limiter.acquire().await?;
///     // call the API
/// }
/// # Ok(())
/// # }
/// ```
pub struct RedisLimiter<T: Timer = TokioTimer> {
    engine: Engine,
    timer: T,
    fallback: Option<Pacer<AtomicLimiter, T>>,
    /// The latest refusal, answered here until its instant ([`Refusals`]).
    refusals: Refusals,
}

impl<T: Timer> std::fmt::Debug for RedisLimiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("key", &self.engine.key())
            .field("quota", &self.engine.quota())
            .field(
                "fallback",
                &self.fallback.as_ref().map(|local| local.limiter().quota()),
            )
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// Connects to the Redis at `url` and makes a limiter for `key` with `quota`, on tokio's
    /// timer.
    ///
    /// The connection is [`Connection::connect`]'s: it reconnects by itself, and a connection
    /// attempt or a reply times out after 1 s. For other settings build a
    /// [`ConnectionManager`](redis::aio::ConnectionManager) and use [`RedisLimiter::new`].
    ///
    /// Fails with [`Error::Unavailable`] if Redis cannot be reached now, and
    /// [`Error::QuotaTooLarge`] for a quota beyond the engine's range.
    pub async fn connect(url: &str, key: &str, quota: Quota) -> Result<RedisLimiter, Error> {
        RedisLimiter::connect_with_timer(url, key, quota, TokioTimer::new()).await
    }

    /// Connects to the Redis Cluster that `nodes` (URLs of some of its masters) belong to
    /// ([`Connection::connect_cluster`]) and makes a limiter for `key` with `quota`, on
    /// tokio's timer. The key lives on the master that holds its slot.
    pub async fn connect_cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
        key: &str,
        quota: Quota,
    ) -> Result<RedisLimiter, Error> {
        let conn = Connection::connect_cluster(nodes).await?;
        RedisLimiter::new(conn, key, quota, TokioTimer::new())
    }
}

impl<T: Timer + Clone> RedisLimiter<T> {
    /// [`connect`](RedisLimiter::connect), sleeping on `timer`: for smol (with the `smol` feature)
    /// `pacer_redis::SmolTimer::new()`, or a [`ManualTimer`](pacer_core::ManualTimer) in
    /// tests.
    pub async fn connect_with_timer(
        url: &str,
        key: &str,
        quota: Quota,
        timer: T,
    ) -> Result<RedisLimiter<T>, Error> {
        let conn = Connection::connect(url).await?;
        RedisLimiter::new(conn, key, quota, timer)
    }

    /// A limiter for `key` with `quota` on an existing connection (a [`Connection`], or a
    /// redis-rs `ConnectionManager` or `ClusterConnection`), sleeping on `timer`.
    ///
    /// Nothing is sent to Redis yet. Fails with [`Error::QuotaTooLarge`] for a quota beyond
    /// the engine's range.
    pub fn new(
        conn: impl Into<Connection>,
        key: &str,
        quota: Quota,
        timer: T,
    ) -> Result<RedisLimiter<T>, Error> {
        let engine = Engine::new(conn.into(), Arc::from(key), QuotaArgs::new(quota)?);
        Ok(RedisLimiter::from_engine(engine, timer))
    }

    pub(crate) fn from_engine(engine: Engine, timer: T) -> RedisLimiter<T> {
        RedisLimiter {
            engine,
            timer,
            fallback: None,
            refusals: Refusals::new(1),
        }
    }

    /// While Redis is unavailable, `acquire`, `acquire_n`, `acquire_within` and
    /// `try_acquire` take their cells from a local limiter of `quota` instead of failing.
    ///
    /// The local limiter knows nothing of other processes, so give it this process's share
    /// of the limit (for example the shared quota divided by the number of processes), or
    /// the processes together may exceed it while Redis is away. `reserve`, `cancel`,
    /// `set_quota` and `snapshot` still report [`Error::Unavailable`]. A refusal from the
    /// local limiter carries an instant of the local timer (nanoseconds since its origin),
    /// not of the server's clock.
    pub fn with_fallback(mut self, quota: Quota) -> RedisLimiter<T> {
        let local = AtomicLimiter::new(quota);
        self.fallback = Some(Pacer::from_parts(local, self.timer.clone()));
        self
    }

    /// Bounds every call to Redis by `timeout` (1 s unless set): a call with no answer by
    /// then fails with [`Error::Unavailable`] (or goes to the fallback), whatever the
    /// connection's own settings. A decision takes one round trip, so the bound is only
    /// reached when Redis is away or stalled.
    pub fn with_timeout(mut self, timeout: Duration) -> RedisLimiter<T> {
        self.engine = self.engine.with_timeout(timeout);
        self
    }

    /// The key in Redis.
    pub fn key(&self) -> &str {
        self.engine.key()
    }

    /// The quota this client holds for the key.
    pub fn quota(&self) -> Quota {
        self.engine.quota()
    }

    /// Waits until one cell may go.
    pub async fn acquire(&self) -> Result<(), Error> {
        self.acquire_within(1, Duration::MAX).await
    }

    /// Waits until `cells` cells may go at once. Fails at once with
    /// [`TooHeavy`](pacer_core::Error::TooHeavy) if `cells` is more than the burst.
    pub async fn acquire_n(&self, cells: u32) -> Result<(), Error> {
        self.acquire_within(cells, Duration::MAX).await
    }

    /// Like [`acquire_n`](RedisLimiter::acquire_n), but fails at once with
    /// [`WouldWait`](pacer_core::Error::WouldWait), reserving nothing, if the cells could go
    /// only more than `max_wait` after the server's now.
    ///
    /// Dropping the future while it sleeps cancels the reservation in the background (a
    /// task on the current runtime), which returns the cells if no later reservation was
    /// made. Dropped while its request is in flight, or given up on at the timeout, the
    /// request goes on in that task, which cancels the reservation once Redis answers
    /// (within 10 s; a server silent for longer leaves that slot unused, which never admits
    /// more).
    pub async fn acquire_within(&self, cells: u32, max_wait: Duration) -> Result<(), Error> {
        match self.decide(cells, max_wait).await {
            Ok(None) => Ok(()),
            Ok(Some(reservation)) => {
                let deadline = wait::deadline(reservation.decided_at(), max_wait);
                wait::until_due(&self.engine, &self.timer, reservation, deadline).await
            }
            Err(Error::Unavailable(error)) => {
                Ok(self.local(error)?.acquire_within(cells, max_wait).await?)
            }
            Err(error) => Err(error),
        }
    }

    /// Takes `cells` cells now if they are free, without waiting; otherwise fails with
    /// [`WouldWait`](pacer_core::Error::WouldWait) carrying the instant they could go.
    pub async fn try_acquire(&self, cells: u32) -> Result<(), Error> {
        match self.decide(cells, Duration::ZERO).await {
            Ok(_spent) => Ok(()),
            Err(Error::Unavailable(error)) => Ok(self.local(error)?.try_acquire(cells)?),
            Err(error) => Err(error),
        }
    }

    /// Reserves `cells` cells at the earliest permitted instant, however far away, and
    /// returns the receipt without waiting. Wait out [`RedisReservation::wait`] before using the
    /// cells, or hand the receipt to [`cancel`](RedisLimiter::cancel).
    pub async fn reserve(&self, cells: u32) -> Result<RedisReservation, Error> {
        self.engine.reserve(cells, None).await
    }

    /// Like [`reserve`](RedisLimiter::reserve), but fails with
    /// [`WouldWait`](pacer_core::Error::WouldWait), reserving nothing, if the cells could go
    /// only more than `max_wait` after the server's now.
    pub async fn reserve_within(
        &self,
        cells: u32,
        max_wait: Duration,
    ) -> Result<RedisReservation, Error> {
        self.engine.reserve(cells, Some(max_wait)).await
    }

    /// Hands a reservation back; returns whether its cells were returned. They are if it is
    /// not yet due by the server's clock and no reservation was made after it; otherwise its
    /// slot stays empty, so that no later reservation moves and no newcomer jumps the queue.
    pub async fn cancel(&self, reservation: RedisReservation) -> Result<bool, Error> {
        self.engine.cancel(&reservation).await
    }

    /// How long a call to [`acquire_n`](RedisLimiter::acquire_n) made now would wait, by the
    /// server's clock.
    pub async fn delay(&self, cells: u32) -> Result<Duration, Error> {
        let (at, now) = self.engine.peek(cells).await?;
        Ok(Duration::from_nanos(at.saturating_sub(now)))
    }

    /// The remaining burst and the earliest instant for one cell (nanoseconds since the Unix
    /// epoch by the server's clock), for headers and metrics.
    pub async fn snapshot(&self) -> Result<Snapshot, Error> {
        Ok(self.engine.snapshot().await?.0)
    }

    /// Changes the key's quota to `quota`, for every client, at the server's now.
    ///
    /// Reservations already made keep their instants; new ones follow the new quota, after
    /// them, by the three cases of [`pacer_core::Gcra::set_quota`] (every rounding towards
    /// fewer cells). This client uses the new quota from now on; other
    /// clients get [`Error::QuotaMismatch`] until they are given it too, so no client keeps
    /// deciding by the old one. Setting the quota already in force changes nothing (so a
    /// rollout may call this from every client).
    pub async fn set_quota(&mut self, quota: Quota) -> Result<(), Error> {
        self.engine = self.engine.set_quota(QuotaArgs::new(quota)?).await?;
        Ok(())
    }

    /// Pauses the limit for every process that shares it until `until` (nanoseconds since
    /// the Unix epoch by the Redis server's clock, the frame of [`RedisReservation::at`]),
    /// as when an API answered 429 with `Retry-After`. Returns whether the pause now ends
    /// later than before.
    ///
    /// The limit's own clock stops until `until`: no acquisition passes before it (except
    /// one already past its instant), and every reservation not yet passed moves later by
    /// the length of the pause, keeping its order and spacing, so the conformance rule holds
    /// for what passes; reservations made during the pause queue behind them. Waiters in any
    /// process hear of it when their sleep ends (they ask Redis where their reservation
    /// stands, one round trip) and sleep again until the moved instant. A cancel stays exact:
    /// the newest reservation gives its cells back until its moved instant.
    ///
    /// Pauses combine to the latest end: one that ends no later than the pause in force, or
    /// in the past, changes nothing and returns `false`. A pause ending more than about 13
    /// days (2^50 ns) after the server's now fails with [`Error::PauseTooLong`].
    pub async fn pause_until(&self, until: u64) -> Result<bool, Error> {
        Ok(self.engine.pause(PauseEnd::At(until)).await?.0)
    }

    /// [`pause_until`](RedisLimiter::pause_until) the server's now plus `duration` (for
    /// example a `Retry-After` of that many seconds).
    pub async fn pause_for(&self, duration: Duration) -> Result<bool, Error> {
        Ok(self.engine.pause(PauseEnd::After(duration)).await?.0)
    }

    /// The end of the pause in force (nanoseconds since the Unix epoch by the server's
    /// clock), or `None` if the limit is not paused.
    pub async fn paused_until(&self) -> Result<Option<u64>, Error> {
        let (_, end, now) = self.engine.pause(PauseEnd::After(Duration::ZERO)).await?;
        Ok((end > now).then_some(end))
    }

    /// Where a reservation from [`reserve`](RedisLimiter::reserve) stands: `None` once it
    /// has passed, otherwise the instant it may go (nanoseconds since the Unix epoch by the
    /// server's clock), later than [`RedisReservation::at`] if a pause moved it. A
    /// reservation waited out by hand should be asked this when its wait ends, and waited on
    /// again while it answers an instant.
    pub async fn pending(&self, reservation: &RedisReservation) -> Result<Option<u64>, Error> {
        Ok(self.engine.pending(reservation).await?.map(|(at, _now)| at))
    }

    /// Answers refusals locally no more: every call asks Redis.
    ///
    /// By default, when Redis refuses `cells` cells until instant `t`, a later
    /// [`try_acquire`](RedisLimiter::try_acquire) or
    /// [`acquire_within`](RedisLimiter::acquire_within) of as many cells that Redis would
    /// refuse too is refused here, with the same `t`, until `t` comes by the local timer
    /// (which reads the server's clock from the refusal's answer on; a reply's travel makes
    /// it refuse that much longer at most). Other processes' reservations and pauses only
    /// move `t` later, so the answer is Redis's own; a cancel or a quota change by another
    /// process can free cells earlier, which this process then sees at `t` at the latest.
    /// Never is a cell admitted that Redis would refuse.
    pub fn without_refusal_cache(mut self) -> RedisLimiter<T> {
        self.refusals = Refusals::new(0);
        self
    }

    /// Reserves `cells` within `max_wait`, or refuses: here, if Redis refused as much
    /// before and its instant has not come, otherwise by asking Redis. `None`: admitted
    /// with nothing to wait for (`max_wait` zero).
    async fn decide(
        &self,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Option<RedisReservation>, Error> {
        let bounded = max_wait != Duration::MAX && cells > 0;
        let wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        let key = self.engine.key();
        if bounded
            && let Some(at) = self
                .refusals
                .refusal(key, cells, wait_ns, || self.timer.now())
        {
            return Err(pacer_core::Error::WouldWait { at }.into());
        }
        match self.engine.decide(cells, max_wait).await? {
            Ok(reservation) => Ok(reservation),
            Err(refusal) => {
                if bounded {
                    let local = self.timer.now();
                    self.refusals
                        .remember(key, cells, refusal.at, refusal.now, local);
                }
                Err(refusal.into_error())
            }
        }
    }

    /// The fallback limiter, where one was chosen; otherwise `error` as [`Error::Unavailable`].
    fn local(&self, error: redis::RedisError) -> Result<&Pacer<AtomicLimiter, T>, Error> {
        self.fallback.as_ref().ok_or(Error::Unavailable(error))
    }
}
