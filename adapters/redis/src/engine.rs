//! `Engine`: the Lua script that decides inside Redis, and the calls that run it.
//!
//! Each call is one `EVALSHA` of `gcra.lua` on the limiter's key. Redis runs a script
//! atomically, so every decision sees the state the previous one left, whichever process
//! made it, and reads one clock: the server's `TIME`.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use pacer_core::{Quota, Snapshot};
use redis::{RedisError, RetryMethod, Value};

use crate::connection::Connection;
use crate::in_flight::InFlight;
use crate::reservation::Token;
use crate::runtime;
use crate::script::{Keys, LuaScript, ScriptCall};
use crate::{Error, RedisReservation};

/// burst × period (ns) and burst × count must stay within this, so that every value the
/// script computes is an integer below 2^53, exact in a double.
const LIMIT: u128 = 1 << 50;

const NANOS_PER_SEC: i128 = 1_000_000_000;
const NANOS: u64 = 1_000_000_000;

/// The end of a pause: an instant of the server's clock (ns since the Unix epoch), or a
/// duration from the server's now.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PauseEnd {
    At(u64),
    After(Duration),
}

/// A quota as the script takes it, checked against the script's range.
#[derive(Clone, Debug)]
pub(crate) struct QuotaArgs {
    quota: Quota,
}

impl QuotaArgs {
    pub(crate) fn new(quota: Quota) -> Result<QuotaArgs, Error> {
        let burst = u128::from(quota.burst());
        let spans = burst * u128::from(quota.period_nanos());
        if spans > LIMIT || burst * u128::from(quota.count()) > LIMIT {
            return Err(Error::QuotaTooLarge(quota));
        }
        Ok(QuotaArgs { quota })
    }

    pub(crate) fn quota(&self) -> Quota {
        self.quota
    }

    /// A script call of `op` with this quota and the operation's numbers `x` and `y`.
    fn call(&self, op: u8, x: i128, y: i128) -> ScriptCall {
        let quota = self.quota;
        ScriptCall::new(quota.count(), quota.period_nanos(), quota.burst(), op, x, y)
    }
}

/// Redis's refusal of a wait too long: the cells could go at `at` (ns since the Unix epoch,
/// server's clock), and Redis decided at `now`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refusal {
    pub(crate) at: u64,
    pub(crate) now: u64,
}

impl Refusal {
    pub(crate) fn into_error(self) -> Error {
        pacer_core::Error::WouldWait { at: self.at }.into()
    }
}

/// How long a call may take before Redis counts as unavailable, unless set otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// One limit in Redis: a connection, a key and the quota this client holds for it.
#[derive(Clone)]
pub(crate) struct Engine {
    conn: Connection,
    key: Arc<str>,
    /// The entry of the whole table's pause that every key's call reads, for a keyed
    /// limiter's engine (`None`: an unkeyed limit, or a cluster whose keys it cannot share a
    /// slot with).
    table: Option<Arc<str>>,
    quota: QuotaArgs,
    script: Arc<LuaScript>,
    timeout: Duration,
}

impl Engine {
    pub(crate) fn new(conn: Connection, key: Arc<str>, quota: QuotaArgs) -> Engine {
        Engine::with_script(conn, key, quota, LuaScript::pacer())
    }

    /// The same on another script: the tests' copy whose clock they set.
    pub(crate) fn with_script(
        conn: Connection,
        key: Arc<str>,
        quota: QuotaArgs,
        script: Arc<LuaScript>,
    ) -> Engine {
        Engine {
            conn,
            key,
            table: None,
            quota,
            script,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same with every call reading the whole table's pause from `table`.
    pub(crate) fn with_table(self, table: Option<Arc<str>>) -> Engine {
        Engine { table, ..self }
    }

    /// The entry of the whole table's pause, where this engine reads one.
    pub(crate) fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// The same with calls bounded by `timeout`.
    pub(crate) fn with_timeout(self, timeout: Duration) -> Engine {
        Engine { timeout, ..self }
    }

    /// The same limit's engine for another key: what a keyed limiter runs each call on.
    pub(crate) fn for_key(&self, key: Arc<str>) -> Engine {
        Engine {
            key,
            ..self.clone()
        }
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    pub(crate) fn quota(&self) -> Quota {
        self.quota.quota()
    }

    /// Reserves `cells` at the earliest permitted instant, unless that is more than
    /// `max_wait` after the server's now.
    ///
    /// Given up on before Redis answers (the future dropped, or the timeout run out), the
    /// request goes on in the background and its reservation is cancelled ([`InFlight`]).
    pub(crate) async fn reserve(
        &self,
        cells: u32,
        max_wait: Option<Duration>,
    ) -> Result<RedisReservation, Error> {
        self.reserve_or_refusal(cells, max_wait)
            .await?
            .map_err(Refusal::into_error)
    }

    /// [`reserve`](Engine::reserve), with a refusal for waiting too long given apart, with
    /// the server's now when Redis decided it.
    pub(crate) async fn reserve_or_refusal(
        &self,
        cells: u32,
        max_wait: Option<Duration>,
    ) -> Result<Result<RedisReservation, Refusal>, Error> {
        let max_wait = max_wait.map_or(-1, |wait| i128::try_from(wait.as_nanos()).unwrap_or(-1));
        let engine = self.clone();
        let request = Box::pin(async move {
            let call = engine.quota.call(b'r', cells.into(), max_wait);
            let (key, table) = (&*engine.key, engine.table.as_deref());
            engine
                .conn
                .run_script(&engine.script, Keys::new("", key, table), &call)
                .await
        });
        let value = self
            .answer(pin!(InFlight::new(self.clone(), cells, request)))
            .await?;
        self.decision_from(value, cells)
    }

    /// Takes `cells` now if they are free, or gives Redis's refusal with the instant they
    /// could go: what `try_acquire` needs and no more, so the answer to an admission is one
    /// integer. Given up on before Redis answers, nothing is left to cancel: an admitted
    /// cell is due at once, past any cancel.
    pub(crate) async fn try_reserve(&self, cells: u32) -> Result<Result<(), Refusal>, Error> {
        self.try_reserve_on("", cells).await
    }

    /// [`try_reserve`](Engine::try_reserve) on the key `self.key() + name`: a keyed
    /// limiter's key, named without building its string.
    pub(crate) async fn try_reserve_on(
        &self,
        name: &str,
        cells: u32,
    ) -> Result<Result<(), Refusal>, Error> {
        let call = self.quota.call(b't', cells.into(), 0);
        let keys = Keys::new(&self.key, name, self.table.as_deref());
        let request = pin!(self.conn.run_script(&self.script, keys, &call));
        match self.answer(request).await? {
            Value::Int(1) => Ok(Ok(())),
            other => {
                let reply = Reply::parse(other)?;
                if reply.status != "wait" {
                    return Err(self.refusal(reply, cells));
                }
                let [origin, at, now] = reply.ints()?;
                Ok(Err(Refusal {
                    at: absolute(origin, at)?,
                    now: absolute(origin, now)?,
                }))
            }
        }
    }

    /// [`try_reserve`](Engine::try_reserve) when `max_wait` is zero (no reservation to
    /// wait for: `None`), otherwise [`reserve_or_refusal`](Engine::reserve_or_refusal).
    pub(crate) async fn decide(
        &self,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Result<Option<RedisReservation>, Refusal>, Error> {
        if max_wait.is_zero() {
            return Ok(self.try_reserve(cells).await?.map(|()| None));
        }
        Ok(self
            .reserve_or_refusal(cells, Some(max_wait))
            .await?
            .map(Some))
    }

    /// The reservation (or the refusal) in the script's answer to a reserve call.
    pub(crate) fn reservation_from(
        &self,
        value: Value,
        cells: u32,
    ) -> Result<RedisReservation, Error> {
        self.decision_from(value, cells)?
            .map_err(Refusal::into_error)
    }

    /// The reservation, or the refusal for waiting too long, in the script's answer to a
    /// reserve call; any other refusal is the error.
    fn decision_from(
        &self,
        value: Value,
        cells: u32,
    ) -> Result<Result<RedisReservation, Refusal>, Error> {
        if let Value::BulkString(bytes) = &value {
            let [origin, at, now, epoch, shift, bw, bf, aw, af] = doubles(bytes)?;
            return Ok(Ok(RedisReservation {
                key: self.key.clone(),
                at: absolute(origin, at)?,
                decided: absolute(origin, now)?,
                cells,
                token: Token {
                    origin,
                    epoch,
                    // The token keeps limiter time, which a pause does not move.
                    at: at - shift,
                    shift,
                    before: (bw, bf),
                    after: (aw, af),
                },
            }));
        }
        let reply = Reply::parse(value)?;
        match reply.status.as_str() {
            "wait" => {
                let [origin, at, now] = reply.ints()?;
                Ok(Err(Refusal {
                    at: absolute(origin, at)?,
                    now: absolute(origin, now)?,
                }))
            }
            _ => Err(self.refusal(reply, cells)),
        }
    }

    /// The instant `reserve` would give `cells` now, and the server's now, recording nothing.
    pub(crate) async fn peek(&self, cells: u32) -> Result<(u64, u64), Error> {
        let call = self.quota.call(b'l', cells.into(), 0);
        let reply = self.run(&self.key, &call).await?;
        if reply.status != "ok" {
            return Err(self.refusal(reply, cells));
        }
        let [origin, at, now] = reply.ints()?;
        Ok((absolute(origin, at)?, absolute(origin, now)?))
    }

    /// The remaining burst and the earliest instant for one cell, and the server's now.
    pub(crate) async fn snapshot(&self) -> Result<(Snapshot, u64), Error> {
        let reply = self.run(&self.key, &self.quota.call(b's', 0, 0)).await?;
        if reply.status != "ok" {
            return Err(self.refusal(reply, 1));
        }
        let [origin, remaining, earliest, now] = reply.ints()?;
        let remaining = u32::try_from(remaining).map_err(|_| unexpected(&remaining))?;
        let (earliest, now) = (absolute(origin, earliest)?, absolute(origin, now)?);
        let snapshot = Snapshot {
            // The script counts the burst at the limit's own clock, which a pause stops; while
            // paused nothing goes now, as `pacer_core::Pausable` reports too.
            remaining: if earliest > now { 0 } else { remaining },
            earliest,
        };
        Ok((snapshot, now))
    }

    /// Hands a reservation back to the key it was made on; whether its cells were returned
    /// (the rules of [`pacer_core::Scheduler::cancel`], by the server's clock).
    pub(crate) async fn cancel(&self, reservation: &RedisReservation) -> Result<bool, Error> {
        if reservation.cells == 0 {
            return Ok(false);
        }
        let token = reservation.token;
        let mut call = self.quota.call(b'c', 0, 0);
        call.arg(token.origin).arg(token.epoch).arg(token.at);
        call.arg(token.before.0).arg(token.before.1);
        call.arg(token.after.0).arg(token.after.1);
        let reply = self.run(&reservation.key, &call).await?;
        match (reply.status.as_str(), reply.ints()?) {
            ("ok", [returned]) => Ok(returned == 1),
            (status, _) => Err(unexpected(&status)),
        }
    }

    /// Changes the stored quota to `quota` at the server's now (the design's three cases),
    /// and returns the engine for it.
    pub(crate) async fn set_quota(&self, quota: QuotaArgs) -> Result<Engine, Error> {
        let reply = self.run(&self.key, &quota.call(b'q', 0, 0)).await?;
        match reply.status.as_str() {
            "ok" => Ok(Engine {
                quota,
                ..self.clone()
            }),
            "horizon" => Err(Error::QuotaTooLarge(quota.quota())),
            status => Err(unexpected(&status)),
        }
    }

    /// Pauses the limit until `end` ([`PauseEnd`]), by the server's clock: whether the
    /// pause moved its end later, the end of the pause in force (ns since the Unix epoch),
    /// and the server's now.
    pub(crate) async fn pause(&self, end: PauseEnd) -> Result<(bool, u64, u64), Error> {
        let reply = self.run(&self.key, &self.pause_call(b'z', end)).await?;
        Engine::paused(reply)
    }

    /// Pauses the whole table (every key of a keyed limiter) until `end`, as
    /// [`pause`](Engine::pause) does one key; `None` reads the pause in force without
    /// changing it. Fails with [`Error::TablePauseUnavailable`] for an engine whose keys
    /// cannot read the table's pause.
    pub(crate) async fn pause_table(
        &self,
        end: Option<PauseEnd>,
    ) -> Result<(bool, u64, u64), Error> {
        let Some(table) = self.table.as_deref() else {
            return Err(Error::TablePauseUnavailable);
        };
        let call = match end {
            Some(end) => self.pause_call(b'Z', end),
            None => self.quota.call(b'Z', -2, 0),
        };
        let request = self
            .conn
            .run_script(&self.script, Keys::new("", table, None), &call);
        Engine::paused(Reply::parse(self.answer(pin!(request)).await?)?)
    }

    /// A pause's call: its end as seconds and nanoseconds of the server's clock, or -1 and
    /// the nanoseconds from the server's now.
    fn pause_call(&self, op: u8, end: PauseEnd) -> ScriptCall {
        match end {
            PauseEnd::At(at) => self
                .quota
                .call(op, (at / NANOS).into(), (at % NANOS).into()),
            PauseEnd::After(wait) => self.quota.call(op, -1, wait.as_nanos() as i128),
        }
    }

    /// A pause's answer: whether it moved the end later, the end in force and the server's
    /// now (ns since the Unix epoch).
    fn paused(reply: Reply) -> Result<(bool, u64, u64), Error> {
        match reply.status.as_str() {
            "ok" => {
                let [extended, origin, end, now] = reply.ints()?;
                Ok((
                    extended == 1,
                    absolute(origin, end)?,
                    absolute(origin, now)?,
                ))
            }
            "long" => Err(Error::PauseTooLong),
            status => Err(unexpected(&status)),
        }
    }

    /// Where `reservation` stands now: `None` once it has passed (or its key's state is
    /// gone, which happens only once it is idle), otherwise its instant, moved by every
    /// pause since it was made, and the pauses' shift in force (ns; the instant moved by
    /// its difference from the reservation's own).
    pub(crate) async fn pending(
        &self,
        reservation: &RedisReservation,
    ) -> Result<Option<(u64, i64)>, Error> {
        let token = reservation.token;
        let call = self.quota.call(b'w', token.origin.into(), token.at.into());
        let reply = self.run(&reservation.key, &call).await?;
        match (reply.status.as_str(), reply.ints.as_slice()) {
            ("ok", [0]) => Ok(None),
            ("ok", &[1, origin, at, _now, shift]) => Ok(Some((absolute(origin, at)?, shift))),
            (status, _) => Err(unexpected(&status)),
        }
    }

    /// Runs `call` of the script on `key` once. A call that has no answer within the
    /// timeout (a server that stopped answering, or a connection still trying to come
    /// back) is [`Error::Unavailable`].
    async fn run(&self, key: &str, call: &ScriptCall) -> Result<Reply, Error> {
        let keys = Keys::new("", key, self.table.as_deref());
        let request = pin!(self.conn.run_script(&self.script, keys, call));
        Reply::parse(self.answer(request).await?)
    }

    /// The answer to `request`, or [`Error::Unavailable`] if it has none within the timeout
    /// or the connection failed.
    ///
    /// `request` is pinned where its caller made it and is not moved on its way to the
    /// timeout: copies of a call's future showed in a decision's client CPU (`perf`, the
    /// `redis_script` benchmark).
    async fn answer(
        &self,
        request: Pin<&mut impl Future<Output = Result<Value, RedisError>>>,
    ) -> Result<Value, Error> {
        runtime::timeout(self.timeout, request)
            .await
            .ok_or_else(|| Error::Unavailable(timed_out(self.timeout)))?
            .map_err(classify)
    }

    /// The error for a status other than "ok" (and "wait", handled by `reserve`).
    fn refusal(&self, reply: Reply, cells: u32) -> Error {
        match reply.status.as_str() {
            "heavy" => pacer_core::Error::TooHeavy {
                cells,
                max: self.quota().burst(),
            }
            .into(),
            "horizon" => pacer_core::Error::InstantOverflow.into(),
            "mismatch" => Error::QuotaMismatch {
                ours: self.quota(),
                stored: reply.text.unwrap_or_default(),
            },
            status => unexpected(&status),
        }
    }
}

/// Redis that cannot be reached or answer is [`Error::Unavailable`]; an error that retrying
/// cannot mend (the server refused the script, another type under the key) is not.
fn classify(error: RedisError) -> Error {
    if matches!(error.retry_method(), RetryMethod::NoRetry) && !error.is_timeout() {
        Error::Unexpected(error.to_string())
    } else {
        Error::Unavailable(error)
    }
}

fn timed_out(timeout: Duration) -> RedisError {
    let message = format!("no answer from Redis within {timeout:?}");
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, message))
}

fn unexpected(what: &dyn std::fmt::Debug) -> Error {
    Error::Unexpected(format!("{what:?} from the pacer script"))
}

/// Nanoseconds since the Unix epoch of the script's (origin seconds, ns after the origin).
fn absolute(origin: i64, nanos: i64) -> Result<u64, Error> {
    let at = i128::from(origin) * NANOS_PER_SEC + i128::from(nanos);
    u64::try_from(at).map_err(|_| unexpected(&(origin, nanos)))
}

/// The nine numbers of a reservation's answer: doubles, little-endian, each a whole number
/// within 2^53.
fn doubles(bytes: &[u8]) -> Result<[i64; 9], Error> {
    if bytes.len() != 72 {
        return Err(unexpected(&bytes));
    }
    let mut out = [0i64; 9];
    for (slot, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(chunk);
        let value = f64::from_le_bytes(raw);
        if value.fract() != 0.0 || value.abs() > 9_007_199_254_740_992.0 {
            return Err(unexpected(&value));
        }
        *slot = value as i64;
    }
    Ok(out)
}

/// A script's reply: a status word, then integers (or, for "mismatch", the stored quota).
struct Reply {
    status: String,
    text: Option<String>,
    ints: Vec<i64>,
}

impl Reply {
    fn parse(value: Value) -> Result<Reply, Error> {
        let Value::Array(items) = value else {
            return Err(unexpected(&value));
        };
        let mut items = items.into_iter();
        let status = match items.next() {
            Some(Value::BulkString(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            other => return Err(unexpected(&other)),
        };
        let mut reply = Reply {
            status,
            text: None,
            ints: Vec::new(),
        };
        for item in items {
            match item {
                Value::Int(n) => reply.ints.push(n),
                Value::BulkString(bytes) => {
                    reply.text = Some(String::from_utf8_lossy(&bytes).into_owned())
                }
                other => return Err(unexpected(&other)),
            }
        }
        Ok(reply)
    }

    /// Exactly `N` integers.
    fn ints<const N: usize>(&self) -> Result<[i64; N], Error> {
        <[i64; N]>::try_from(self.ints.as_slice()).map_err(|_| unexpected(&self.ints))
    }
}
