//! `RedisKeyedLimiter`: one quota, one independent limit per key, every limit in Redis.

use std::sync::Arc;
use std::time::Duration;

use pacer_core::{KeyedPacer, Quota, ShardedKeyedGcra, Snapshot, Timer};
use pacer_tokio::TokioTimer;

use crate::connection::Connection;
use crate::engine::{Engine, PauseEnd, QuotaArgs};
use crate::refusals::Refusals;
use crate::wait;
use crate::{Error, RedisReservation};

/// One quota and an independent limit per key (a user, a tenant, an IP), kept in Redis and
/// shared by every process that uses the same prefix and quota.
///
/// Key `k` is the Redis entry `prefix + k`, a short string that the same script as
/// [`RedisLimiter`](crate::RedisLimiter)'s decides on: every key behaves exactly as if it had its own
/// `RedisLimiter` (the same operations, the conformance rule, FIFO, weights, bounded waits,
/// cancel and cancel on drop), and each call is one round trip on the server's clock,
/// followed by one local sleep. The entry expires (`PEXPIRE`, on the server's clock) one
/// second after its key is idle again, that is once its whole burst is free (and no sooner
/// than 2 s after it was written), so Redis holds only keys that are active: the number of
/// distinct keys ever seen costs nothing. Forgetting an idle key changes no answer, because
/// its state then equals a fresh one.
///
/// A key can be paused on its own ([`pause_for`](RedisKeyedLimiter::pause_for)), and every
/// key at once ([`pause_all_for`](RedisKeyedLimiter::pause_all_for)), for every process:
/// each call on a key also reads the whole table's pause from its entry,
/// [`table_pause_key`](RedisKeyedLimiter::table_pause_key), in the same round trip.
///
/// On a Redis Cluster ([`RedisKeyedLimiter::connect_cluster`]) each key's entry lives on the
/// master of its slot, so the keys spread over the masters; a prefix with a hash tag
/// (`{...}`) would put them all in one slot instead, which the whole-table pause needs.
///
/// The in-process counterpart is `pacer_tokio::KeyedLimiter`, with the same method names.
/// Unlike it, this limiter has no table to fill: Redis's memory bounds the active keys (with
/// `maxmemory-policy noeviction` a full Redis refuses every call with [`Error::Unexpected`];
/// an eviction policy that evicts a limiter's entry forgets its debt, up to one burst of
/// that key, as a restart without persistence would).
///
/// # When Redis goes away
///
/// Every call fails with [`Error::Unavailable`] and admits nothing: at once when the
/// connection is refused or broken, and after the timeout (1 s unless set by
/// [`with_timeout`](RedisKeyedLimiter::with_timeout)) when Redis stops answering: fail
/// closed, the default. To fall back on a local limit per key instead, in memory bounded by a
/// capacity, use [`with_fallback`](RedisKeyedLimiter::with_fallback); to fail open, catch
/// `Unavailable` and let the call go.
///
/// ```no_run
/// use pacer_redis::{RedisKeyedLimiter, Quota};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), pacer_redis::Error> {
/// // Every process that runs this shares one limit of 10 per second for each user.
/// let limiter = RedisKeyedLimiter::connect("redis://127.0.0.1/", "limit:user:",
///     Quota::per_second(10)?).await?;
/// limiter.acquire("alice").await?; // alice's limit
/// limiter.acquire("bob").await?;   // bob's, independent of alice's
/// # Ok(())
/// # }
/// ```
pub struct RedisKeyedLimiter<T: Timer = TokioTimer> {
    /// The engine every key's calls run on, each through [`Engine::for_key`].
    engine: Engine,
    prefix: Arc<str>,
    timer: T,
    /// Refusals answered here until their instant ([`Refusals`]).
    refusals: Refusals,
    /// The local keyed limit used while Redis is unavailable, where one was chosen.
    fallback: Option<KeyedPacer<ShardedKeyedGcra<String>, T>>,
}

/// How many keys' refusals a keyed limiter answers locally unless told otherwise.
const DEFAULT_REFUSAL_KEYS: usize = 10_000;

impl<T: Timer> std::fmt::Debug for RedisKeyedLimiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyedLimiter")
            .field("prefix", &self.prefix)
            .field("quota", &self.engine.quota())
            .finish_non_exhaustive()
    }
}

impl RedisKeyedLimiter {
    /// Connects to the Redis at `url` ([`Connection::connect`]) and makes a keyed limiter
    /// whose keys live under `prefix`, each with `quota`, on tokio's timer.
    ///
    /// Fails with [`Error::Unavailable`] if Redis cannot be reached now, and
    /// [`Error::QuotaTooLarge`] for a quota beyond the engine's range.
    pub async fn connect(
        url: &str,
        prefix: &str,
        quota: Quota,
    ) -> Result<RedisKeyedLimiter, Error> {
        RedisKeyedLimiter::connect_with_timer(url, prefix, quota, TokioTimer::new()).await
    }

    /// Connects to the Redis Cluster that `nodes` (URLs of some of its masters) belong to
    /// ([`Connection::connect_cluster`]) and makes a keyed limiter as
    /// [`connect`](RedisKeyedLimiter::connect) does. Each key's entry lives on the master of its
    /// slot.
    pub async fn connect_cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
        prefix: &str,
        quota: Quota,
    ) -> Result<RedisKeyedLimiter, Error> {
        let conn = Connection::connect_cluster(nodes).await?;
        RedisKeyedLimiter::new(conn, prefix, quota, TokioTimer::new())
    }
}

impl<T: Timer + Clone> RedisKeyedLimiter<T> {
    /// [`connect`](RedisKeyedLimiter::connect), sleeping on `timer`: for smol (with the `smol`
    /// feature) `pacer_redis::SmolTimer::new()`, or a
    /// [`ManualTimer`](pacer_core::ManualTimer) in tests.
    pub async fn connect_with_timer(
        url: &str,
        prefix: &str,
        quota: Quota,
        timer: T,
    ) -> Result<RedisKeyedLimiter<T>, Error> {
        let conn = Connection::connect(url).await?;
        RedisKeyedLimiter::new(conn, prefix, quota, timer)
    }

    /// A keyed limiter under `prefix` with `quota` for each key, on an existing connection
    /// (a [`Connection`], or a redis-rs `ConnectionManager` or `ClusterConnection`), sleeping
    /// on `timer`.
    ///
    /// Nothing is sent to Redis yet. Fails with [`Error::QuotaTooLarge`] for a quota beyond
    /// the engine's range.
    pub fn new(
        conn: impl Into<Connection>,
        prefix: &str,
        quota: Quota,
        timer: T,
    ) -> Result<RedisKeyedLimiter<T>, Error> {
        let conn: Connection = conn.into();
        let table = table_entry(&conn, prefix);
        let prefix: Arc<str> = Arc::from(prefix);
        let engine = Engine::new(conn, prefix.clone(), QuotaArgs::new(quota)?).with_table(table);
        Ok(RedisKeyedLimiter {
            engine,
            prefix,
            timer,
            refusals: Refusals::new(DEFAULT_REFUSAL_KEYS),
            fallback: None,
        })
    }

    /// While Redis is unavailable, `acquire`, `acquire_n`, `acquire_within` and
    /// `try_acquire` take their cells from a local limit of `quota` for each key instead of
    /// failing, in a table of at least `capacity` keys (pacer-core's `ShardedKeyedGcra`:
    /// memory fixed here, idle keys forgotten by themselves, a new key refused with
    /// [`TableFull`](pacer_core::Error::TableFull) when every slot is busy).
    ///
    /// The local limits know nothing of other processes, so give each key this process's share
    /// of its limit, or the processes together may exceed it while Redis is away. `reserve`,
    /// `cancel`, `snapshot` and the pauses still report [`Error::Unavailable`]. A refusal from
    /// the local limit carries an instant of the local timer, not of the server's clock.
    /// Fails with [`ZeroCapacity`](pacer_core::Error::ZeroCapacity) for a capacity of zero.
    pub fn with_fallback(
        mut self,
        quota: Quota,
        capacity: usize,
    ) -> Result<RedisKeyedLimiter<T>, Error> {
        let local = ShardedKeyedGcra::new(quota, capacity)?;
        self.fallback = Some(KeyedPacer::from_parts(local, self.timer.clone()));
        Ok(self)
    }

    /// The local keyed limit, where one was chosen; otherwise `error` as
    /// [`Error::Unavailable`].
    fn local(
        &self,
        error: redis::RedisError,
    ) -> Result<&KeyedPacer<ShardedKeyedGcra<String>, T>, Error> {
        self.fallback.as_ref().ok_or(Error::Unavailable(error))
    }

    /// Bounds every call to Redis by `timeout` (1 s unless set): a call with no answer by
    /// then fails with [`Error::Unavailable`].
    pub fn with_timeout(mut self, timeout: Duration) -> RedisKeyedLimiter<T> {
        self.engine = self.engine.with_timeout(timeout);
        self
    }

    /// The prefix of every key's Redis entry.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The quota each key has.
    pub fn quota(&self) -> Quota {
        self.engine.quota()
    }

    /// The Redis key that holds `key`'s limit: the prefix followed by `key`.
    pub fn redis_key(&self, key: &str) -> String {
        let mut redis_key = String::with_capacity(self.prefix.len() + key.len());
        redis_key.push_str(&self.prefix);
        redis_key.push_str(key);
        redis_key
    }

    /// Waits until one cell of `key`'s limit may go.
    pub async fn acquire(&self, key: &str) -> Result<(), Error> {
        self.acquire_within(key, 1, Duration::MAX).await
    }

    /// Waits until `cells` cells of `key`'s limit may go at once. Fails at once with
    /// [`TooHeavy`](pacer_core::Error::TooHeavy) if `cells` is more than the burst.
    pub async fn acquire_n(&self, key: &str, cells: u32) -> Result<(), Error> {
        self.acquire_within(key, cells, Duration::MAX).await
    }

    /// Like [`acquire_n`](RedisKeyedLimiter::acquire_n), but fails at once with
    /// [`WouldWait`](pacer_core::Error::WouldWait), reserving nothing, if the cells could go
    /// only more than `max_wait` after the server's now.
    ///
    /// Dropping the future while it sleeps cancels the reservation in the background (a
    /// task on the current runtime), which returns the cells to `key` if no later
    /// reservation of `key` was made. Dropped while its request is in flight, or given up on
    /// at the timeout, the request goes on in that task, which cancels the reservation once
    /// Redis answers (within 10 s).
    pub async fn acquire_within(
        &self,
        key: &str,
        cells: u32,
        max_wait: Duration,
    ) -> Result<(), Error> {
        let (engine, reservation) = match self.decide(key, cells, max_wait).await {
            Ok(None) => return Ok(()),
            Ok(Some(decided)) => decided,
            Err(Error::Unavailable(error)) => {
                let local = self.local(error)?;
                return Ok(local.acquire_within(key, cells, max_wait).await?);
            }
            Err(error) => return Err(error),
        };
        let deadline = wait::deadline(reservation.decided_at(), max_wait);
        wait::until_due(&engine, &self.timer, reservation, deadline).await
    }

    /// Reserves `cells` of `key` within `max_wait`, or refuses: here, if Redis refused as
    /// much before and its instant has not come, otherwise by asking Redis. `None`: admitted
    /// with nothing to wait for (`max_wait` zero, asked without building the key's engine or
    /// its name); otherwise the key's engine and the reservation to wait for.
    async fn decide(
        &self,
        key: &str,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Option<(Engine, RedisReservation)>, Error> {
        let bounded = max_wait != Duration::MAX && cells > 0;
        let wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        if bounded
            && let Some(at) = self
                .refusals
                .refusal(key, cells, wait_ns, || self.timer.now())
        {
            return Err(pacer_core::Error::WouldWait { at }.into());
        }
        let decision = if max_wait.is_zero() {
            self.engine.try_reserve_on(key, cells).await?.map(|()| None)
        } else {
            let engine = self.engine_for(key);
            let decision = engine.reserve_or_refusal(cells, Some(max_wait)).await?;
            decision.map(|reservation| Some((engine, reservation)))
        };
        match decision {
            Ok(decided) => Ok(decided),
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

    /// Answers refusals locally for at most `keys` keys at once (10,000 unless set; 0: never,
    /// every call asks Redis).
    ///
    /// When Redis refuses `cells` cells of a key until instant `t`, a later
    /// [`try_acquire`](RedisKeyedLimiter::try_acquire) or
    /// [`acquire_within`](RedisKeyedLimiter::acquire_within) of as many cells on that key that
    /// Redis would refuse too is refused here, with the same `t`, until `t` comes by the local
    /// timer (which reads the server's clock from the refusal's answer on; a reply's travel
    /// makes it refuse that much longer at most). Other processes' reservations and pauses
    /// only move `t` later, so the answer is Redis's own; a cancel or a quota change by
    /// another process can free cells earlier, which this process then sees at `t` at the
    /// latest. Never is a cell admitted that Redis would refuse.
    pub fn with_refusal_cache(mut self, keys: usize) -> RedisKeyedLimiter<T> {
        self.refusals = Refusals::new(keys);
        self
    }

    /// Takes `cells` cells of `key`'s limit now if they are free, without waiting; otherwise
    /// fails with [`WouldWait`](pacer_core::Error::WouldWait) carrying the instant they could
    /// go.
    pub async fn try_acquire(&self, key: &str, cells: u32) -> Result<(), Error> {
        match self.decide(key, cells, Duration::ZERO).await {
            Ok(_spent) => Ok(()),
            Err(Error::Unavailable(error)) => Ok(self.local(error)?.try_acquire(key, cells)?),
            Err(error) => Err(error),
        }
    }

    /// Reserves `cells` cells of `key`'s limit at the earliest permitted instant, however far
    /// away, and returns the receipt without waiting. Wait out [`RedisReservation::wait`] before
    /// using the cells, or hand the receipt to [`cancel`](RedisKeyedLimiter::cancel).
    pub async fn reserve(&self, key: &str, cells: u32) -> Result<RedisReservation, Error> {
        self.engine_for(key).reserve(cells, None).await
    }

    /// Like [`reserve`](RedisKeyedLimiter::reserve), but fails with
    /// [`WouldWait`](pacer_core::Error::WouldWait), reserving nothing, if the cells could go
    /// only more than `max_wait` after the server's now.
    pub async fn reserve_within(
        &self,
        key: &str,
        cells: u32,
        max_wait: Duration,
    ) -> Result<RedisReservation, Error> {
        self.engine_for(key).reserve(cells, Some(max_wait)).await
    }

    /// Hands a reservation back to the key it was made on; returns whether its cells were
    /// returned (if it is not yet due by the server's clock and no reservation of that key
    /// was made after it).
    pub async fn cancel(&self, reservation: RedisReservation) -> Result<bool, Error> {
        self.engine.cancel(&reservation).await
    }

    /// How long a call to [`acquire_n`](RedisKeyedLimiter::acquire_n) on `key` made now would
    /// wait, by the server's clock. Records nothing (a key never seen stays absent).
    pub async fn delay(&self, key: &str, cells: u32) -> Result<Duration, Error> {
        let (at, now) = self.engine_for(key).peek(cells).await?;
        Ok(Duration::from_nanos(at.saturating_sub(now)))
    }

    /// `key`'s remaining burst and the earliest instant for one cell (nanoseconds since the
    /// Unix epoch by the server's clock). Records nothing.
    pub async fn snapshot(&self, key: &str) -> Result<Snapshot, Error> {
        Ok(self.engine_for(key).snapshot().await?.0)
    }

    /// Pauses `key`'s limit for every process until `until` (nanoseconds since the Unix
    /// epoch by the Redis server's clock), as [`RedisLimiter::pause_until`](crate::RedisLimiter::pause_until)
    /// does for an unkeyed limit: `key`'s clock stops, its waiters in every process move
    /// later by the pause, other keys go on. Returns whether the pause now ends later than
    /// before; fails with [`Error::PauseTooLong`] beyond about 13 days.
    pub async fn pause_until(&self, key: &str, until: u64) -> Result<bool, Error> {
        Ok(self.engine_for(key).pause(PauseEnd::At(until)).await?.0)
    }

    /// [`pause_until`](RedisKeyedLimiter::pause_until) the server's now plus `duration`.
    pub async fn pause_for(&self, key: &str, duration: Duration) -> Result<bool, Error> {
        Ok(self
            .engine_for(key)
            .pause(PauseEnd::After(duration))
            .await?
            .0)
    }

    /// The end of the pause in force on `key` (nanoseconds since the Unix epoch by the
    /// server's clock), its own or the whole table's, whichever holds it longer; `None` if
    /// it is not paused.
    pub async fn paused_until(&self, key: &str) -> Result<Option<u64>, Error> {
        let engine = self.engine_for(key);
        let (_, end, now) = engine.pause(PauseEnd::After(Duration::ZERO)).await?;
        Ok((end > now).then_some(end))
    }

    /// Pauses every key of this limiter, in every process, until `until` (nanoseconds since
    /// the Unix epoch by the Redis server's clock): the whole table's clock stops, as
    /// [`pause_until`](RedisKeyedLimiter::pause_until) stops one key's. Nothing passes in
    /// any key from now until `until`, except a reservation already past its instant; every
    /// key's reservations not yet passed move later by the pause, keeping their order and
    /// spacing, and waiters in every process learn of it when their sleep ends, as for a
    /// key's pause. Pauses of the whole table combine to the latest end. Returns whether the
    /// pause now ends later than before; fails with [`Error::PauseTooLong`] for a pause
    /// ending more than about 13 days after the server's now, or once the table's pauses add
    /// up to more than about 26 days within 40 days of each other.
    ///
    /// A key's own pause runs on the table's clock: one in force when the whole table is
    /// paused resumes, after the table's pause, for the time it had left.
    ///
    /// On a Redis Cluster this needs a prefix with a hash tag (`{...}`, all keys in one slot);
    /// otherwise it fails with [`Error::TablePauseUnavailable`].
    pub async fn pause_all_until(&self, until: u64) -> Result<bool, Error> {
        Ok(self.engine.pause_table(Some(PauseEnd::At(until))).await?.0)
    }

    /// [`pause_all_until`](RedisKeyedLimiter::pause_all_until) the server's now plus
    /// `duration`.
    pub async fn pause_all_for(&self, duration: Duration) -> Result<bool, Error> {
        Ok(self
            .engine
            .pause_table(Some(PauseEnd::After(duration)))
            .await?
            .0)
    }

    /// The end of the whole table's pause in force (nanoseconds since the Unix epoch by the
    /// server's clock), or `None` if the table is not paused. A key paused on its own
    /// reports that in [`paused_until`](RedisKeyedLimiter::paused_until).
    pub async fn paused_all_until(&self) -> Result<Option<u64>, Error> {
        let (_, end, now) = self.engine.pause_table(None).await?;
        Ok((end > now).then_some(end))
    }

    /// Where a reservation from [`reserve`](RedisKeyedLimiter::reserve) stands: `None` once
    /// it has passed, otherwise its instant, later than [`RedisReservation::at`] if a pause
    /// of its key moved it.
    pub async fn pending(&self, reservation: &RedisReservation) -> Result<Option<u64>, Error> {
        Ok(self.engine.pending(reservation).await?.map(|(at, _now)| at))
    }

    /// A keyed limiter on `engine` (its key is the prefix): the tests' engine on their clock.
    #[cfg(test)]
    pub(crate) fn from_engine(engine: Engine, timer: T) -> RedisKeyedLimiter<T> {
        let prefix = Arc::from(engine.key());
        // The tests' engine reads a clock they set, which the local timer does not follow,
        // so refusals are never answered locally there.
        RedisKeyedLimiter {
            engine,
            prefix,
            timer,
            refusals: Refusals::new(0),
            fallback: None,
        }
    }

    /// The Redis entry that holds the pause of this limiter's whole table,
    /// `pacer-table-pause:` followed by the prefix (keep other data out of that name); `None`
    /// on a Redis Cluster when the prefix has no hash tag, where no key could read it.
    pub fn table_pause_key(&self) -> Option<&str> {
        self.engine.table()
    }

    fn engine_for(&self, key: &str) -> Engine {
        self.engine.for_key(Arc::from(self.redis_key(key)))
    }
}

/// The entry of a keyed limiter's whole-table pause: `pacer-table-pause:` followed by the
/// prefix, outside the prefix's own keys. On a cluster a script reads only keys of its own
/// slot, so the entry exists only where it shares every key's slot: a prefix with a hash tag
/// (the first `{` followed, within the prefix, by a `}` with something between).
fn table_entry(conn: &Connection, prefix: &str) -> Option<Arc<str>> {
    if conn.is_cluster() && !has_hash_tag(prefix) {
        return None;
    }
    Some(Arc::from(format!("{TABLE_PAUSE_PREFIX}{prefix}")))
}

/// What a keyed limiter's whole-table pause entry is named by, before the limiter's prefix.
const TABLE_PAUSE_PREFIX: &str = "pacer-table-pause:";

/// Whether every key that starts with `prefix` hashes to the slot of `prefix`'s hash tag.
fn has_hash_tag(prefix: &str) -> bool {
    let Some(open) = prefix.find('{') else {
        return false;
    };
    match prefix[open + 1..].find('}') {
        Some(close) => close > 0,
        None => false,
    }
}

#[cfg(test)]
mod table_entry_tests {
    use super::has_hash_tag;

    #[test]
    fn a_hash_tag_is_the_first_brace_pair_with_something_inside() {
        assert!(has_hash_tag("{limits}:user:"));
        assert!(has_hash_tag("app:{a}:"));
        assert!(!has_hash_tag("limits:user:"));
        assert!(
            !has_hash_tag("{}:user:"),
            "an empty tag hashes the whole key"
        );
        assert!(!has_hash_tag("a{b:"), "the key would close it");
        assert!(!has_hash_tag("a}{"));
    }
}
