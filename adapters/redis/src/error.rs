//! The error type of pacer-redis.

use core::fmt;

use pacer_core::Quota;

/// Everything that can go wrong when a limit lives in Redis.
///
/// The limiter's own answers ([`Error::Limit`]) are the same as a local limiter's: a weight
/// above the burst, a wait longer than allowed (carrying the instant), and so on. The other
/// variants are about Redis: it could not be reached, it holds another quota under the key,
/// or it answered something unexpected. None of them ever admits a cell.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The limiter's answer, as a local limiter would give it. A
    /// [`WouldWait`](pacer_core::Error::WouldWait) carries the instant in nanoseconds since
    /// the Unix epoch by the Redis server's clock.
    Limit(pacer_core::Error),
    /// Redis could not be reached, or did not answer in time. This call admitted nothing; if
    /// the request reached Redis before the connection failed, its cells may stay reserved
    /// there unused (never over-admission). See [`RedisLimiter::with_fallback`](crate::RedisLimiter::with_fallback)
    /// for acquiring from a local limiter instead.
    Unavailable(redis::RedisError),
    /// The key holds a different quota, set by another client or by
    /// [`set_quota`](crate::RedisLimiter::set_quota). Nothing was recorded. Clients sharing a limit
    /// must agree on its quota; this one should be given `stored`.
    QuotaMismatch {
        /// The quota this client was made with.
        ours: Quota,
        /// The quota stored in Redis, as `count:period_ns:burst`.
        stored: String,
    },
    /// The quota is beyond what the Redis engine's exact arithmetic can hold: burst × period
    /// must be at most 2^50 ns (about 13 days), and burst × count at most 2^50.
    QuotaTooLarge(Quota),
    /// A pause refused as absurd: it would end more than 2^50 ns (about 13 days) after the
    /// server's now, or a limit that stays busy would be paused for more than that in all.
    /// Nothing changed.
    PauseTooLong,
    /// A pause of a keyed limiter's whole table on a Redis Cluster whose prefix has no hash
    /// tag: the keys spread over the cluster's slots, and a script can read only its own
    /// slot, so no key could see that pause. Give the prefix a hash tag (`{...}`) to keep a
    /// limiter's keys in one slot, or pause keys one by one. Nothing changed.
    TablePauseUnavailable,
    /// Redis answered something pacer-redis does not expect: another kind of value under the
    /// key, or an error from the server. Nothing was admitted.
    Unexpected(String),
}

impl From<pacer_core::Error> for Error {
    fn from(error: pacer_core::Error) -> Error {
        Error::Limit(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Limit(error) => error.fmt(f),
            Error::Unavailable(error) => write!(f, "Redis is unavailable: {error}"),
            Error::QuotaMismatch { ours, stored } => write!(
                f,
                "the key holds quota {stored} (count:period_ns:burst), not this client's {ours}"
            ),
            Error::QuotaTooLarge(quota) => write!(
                f,
                "quota {quota} is too large for the Redis engine: burst × period must be at \
                 most 2^50 ns and burst × count at most 2^50"
            ),
            Error::PauseTooLong => write!(
                f,
                "pause refused: a pause may end at most 2^50 ns (about 13 days) after the \
                 server's now, and a busy limit's pauses may add up to at most that"
            ),
            Error::TablePauseUnavailable => write!(
                f,
                "a whole-table pause needs every key in one slot on a Redis Cluster: give the \
                 prefix a hash tag, or pause keys one by one"
            ),
            Error::Unexpected(what) => write!(f, "unexpected answer from Redis: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Limit(error) => Some(error),
            Error::Unavailable(error) => Some(error),
            _ => None,
        }
    }
}
