//! Limits kept in Redis (feature `redis`): one limit shared by every server, through
//! pacer-redis's keyed limiter, with an explicit answer for when Redis is unreachable.

use std::fmt;

use pacer_core::{Error, KeyedRateLimiter, ShardedKeyedGcra};

use super::key::Key;

/// What a Redis limit does while Redis cannot be reached (the connection refused or broken,
/// or no answer within the limiter's timeout). There is no default: choose one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenUnavailable {
    /// Fail closed: refuse the request with `503 Service Unavailable`.
    Refuse,
    /// Fail open: this limit lets the request pass (the layer's other limits still decide).
    Admit,
    /// Fall back to a limit in this process, with the Redis limit's quota per key and room
    /// for `capacity` busy keys: give it this server's share of the traffic.
    Local {
        /// Busy keys the local table holds.
        capacity: usize,
    },
}

/// A Redis limit, running: pacer-redis's keyed limiter and the fallback table.
pub(crate) struct Remote {
    pub(crate) limiter: pacer_redis::RedisKeyedLimiter,
    pub(crate) when_unavailable: WhenUnavailable,
    pub(crate) fallback: Option<ShardedKeyedGcra<Key>>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("prefix", &self.limiter.prefix())
            .field("when_unavailable", &self.when_unavailable)
            .finish_non_exhaustive()
    }
}

/// A Redis limit's answer to one request.
pub(crate) enum RemoteAnswer {
    /// Admitted (by Redis, by the fallback, or passed while Redis is unreachable).
    Admitted {
        /// Whether Redis was unreachable.
        unavailable: bool,
    },
    /// Over the limit; come back after this long, if known.
    Refused(Option<std::time::Duration>),
    /// Redis unreachable, and the limit fails closed.
    Unavailable,
}

impl Remote {
    pub(crate) fn new(
        limiter: pacer_redis::RedisKeyedLimiter,
        when_unavailable: WhenUnavailable,
    ) -> Result<Remote, Error> {
        let fallback = match when_unavailable {
            WhenUnavailable::Local { capacity } => {
                Some(ShardedKeyedGcra::new(limiter.quota(), capacity)?)
            }
            WhenUnavailable::Refuse | WhenUnavailable::Admit => None,
        };
        Ok(Remote {
            limiter,
            when_unavailable,
            fallback,
        })
    }

    /// Takes one request's cell for `key` now, by Redis's clock.
    pub(crate) async fn decide(&self, key: &Key, now: u64) -> RemoteAnswer {
        let name = key.to_string();
        match self.limiter.try_acquire(&name, 1).await {
            Ok(()) => RemoteAnswer::Admitted { unavailable: false },
            Err(pacer_redis::Error::Limit(Error::WouldWait { .. })) => {
                // The instant is on the server's clock: ask it how long, for Retry-After.
                RemoteAnswer::Refused(self.limiter.delay(&name, 1).await.ok())
            }
            Err(_) => self.unavailable(key, now),
        }
    }

    fn unavailable(&self, key: &Key, now: u64) -> RemoteAnswer {
        match (&self.when_unavailable, &self.fallback) {
            (WhenUnavailable::Admit, _) => RemoteAnswer::Admitted { unavailable: true },
            (WhenUnavailable::Local { .. }, Some(table)) => match table.try_acquire(key, now, 1) {
                Ok(_) => RemoteAnswer::Admitted { unavailable: true },
                Err(error) => RemoteAnswer::Refused(
                    error
                        .earliest()
                        .map(|at| std::time::Duration::from_nanos(at.saturating_sub(now))),
                ),
            },
            _ => RemoteAnswer::Unavailable,
        }
    }
}
