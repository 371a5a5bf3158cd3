//! The server layer: limit requests by key, by class and by route, in one decision.
//!
//! A [`RateLimitLayer`] holds one or more [`Limit`]s. Each limit reads a [`Key`] from the
//! request with a [`KeyExtractor`] (the peer address, the client address behind trusted
//! proxies, a header, the route, one global key, or any closure), picks a quota class, and
//! keeps one independent pacer limit per key in a table of fixed capacity: idle keys are
//! forgotten by the table itself, so a flood of new keys costs slots, never memory.
//!
//! A request goes only when every limit admits it, and then counts against all of them at
//! one instant; a refusal takes nothing from any limit (see [`decision`](self#one-decision-over-several-limits)).
//! Over its limits, a request is refused at once (`429`, `Retry-After`, and the IETF
//! `RateLimit` / `RateLimit-Policy` fields), queued for its slot for a bounded wait, or, in
//! shadow mode, only reported. With the `redis` feature a limit can be kept in Redis and
//! shared by every server (`Limit::redis`), with an explicit answer for when Redis is away.
//!
//! # One decision over several limits
//!
//! With one limit the decision is that limit's own atomic reservation. With several (per key
//! and global, per key and per route), the layer decides one request at a time under a short
//! lock, never held across an `.await`: it asks every limit for the earliest instant it
//! allows (recording nothing), refuses if the latest of these is beyond the wait allowed, and
//! otherwise reserves on every limit at that latest instant. Since nothing else touches the
//! layer's tables, every reservation then succeeds, so a refusal has taken nothing from any
//! limit and no limit is charged for a request another refused; and every limit accounts the
//! request at the instant it really goes. A queued request given up before its instant hands
//! its reservations back newest first: each comes back exactly unless a later request of the
//! same key has reserved behind it, in which case its slot stays empty (pacer's cancel rule),
//! never admitting more than the limits allow.
//!
//! # Sizing a table for a spray of new keys
//!
//! A key is busy from its first request until its bucket is full again: `T = period / count`
//! after a lone request, `n · T` after `n` back to back. A flood of `R` new keys per second
//! (spoofed addresses, random API keys), each sending one request, keeps about `R · T` keys
//! busy. A table of capacity `C` with room for `R · T + N` busy keys, `N` the clients you
//! serve at once, never refuses one of them for want of room: idle keys make room, busy ones
//! are never forgotten under [`WhenFull::Refuse`](pacer_core::WhenFull::Refuse). Beyond it,
//! new keys (the flood's, and a returning client's) are refused with `429` and a
//! `Retry-After` until a slot frees; keys already held are never disturbed. A table in
//! several shards holds each shard's share plus a margin of three standard deviations; one
//! shard ([`Limit::shards`]) makes the capacity exact.
//!
//! Example: 10 requests per second per address (`T` = 100 ms) against a spray of 100,000 new
//! addresses per second needs room for 10,000 busy keys plus your clients: a bucket of 40
//! bytes a key and 4 beside it, the buckets at most three quarters full, and 12 bytes a key in
//! the order in which idle keys are forgotten, under 1 MiB.

mod answer;
mod class;
mod decision;
mod extract;
mod forwarded;
mod headers;
mod ip;
mod key;
mod layer;
mod limit;
mod observe;
mod queue;
#[cfg(feature = "redis")]
mod remote;
mod service;

pub use answer::{Mode, Reason, Refusal};
pub use extract::{ClientIp, Global, HeaderKey, KeyExtractor, PeerAddr, PeerIp, RoutePath};
pub use headers::{
    Headers, RATELIMIT, RATELIMIT_POLICY, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING,
    X_RATELIMIT_RESET,
};
pub use ip::{IpPrefix, PrefixTooLong};
pub use key::{Key, KeyError};
pub use layer::{Builder, RateLimitLayer};
pub use limit::{ConfigError, Limit, Unreadable};
pub use observe::{Event, Observer, Outcome, Tracing};
#[cfg(feature = "redis")]
pub use remote::WhenUnavailable;
pub use service::{RateLimit, ResponseFuture};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExample;
