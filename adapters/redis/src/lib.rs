//! # pacer-redis
//!
//! [pacer](pacer_core)'s rate limit shared by many processes through Redis. A
//! [`Limiter`] names a key; every client that uses the key with the same quota shares one
//! limit, kept exactly as pacer keeps it in one process.
//!
//! ```no_run
//! use pacer_redis::{Limiter, Quota};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), pacer_redis::Error> {
//! let limiter = Limiter::connect("redis://127.0.0.1/", "limit:api.example.com",
//!     Quota::per_second(100)?).await?;
//! limiter.acquire().await?; // every process together: at most 100 per second
//! # Ok(())
//! # }
//! ```
//!
//! [`Gate`] adds a cap on how many of this process's calls are in flight ("100 per second
//! across all processes, at most 20 at once in each").
//!
//! ## How it decides
//!
//! Each acquisition runs one Lua script on the key (`EVALSHA`, one round trip). Redis runs
//! scripts one at a time, so the decision is atomic across clients: the script reads the
//! **server's** clock (`TIME`, never a client's), computes the earliest permitted instant by
//! GCRA, records it and answers with the instant and the server's now. The client then
//! sleeps once, on its own timer, for the difference. The reply's travel time only makes a
//! cell later, so no cell goes early by the server's clock, and client clocks need not
//! agree with it or each other.
//!
//! The engine is GCRA, one quota per key; sliding windows and several limits at once
//! ([`pacer_core::SlidingWindow`], [`pacer_core::Limits`]) are not on Redis yet.
//!
//! The contract is pacer's (`design.md`): for a quota of `count` per `period` with burst
//! `b`, the instants Redis hands out satisfy the conformance rule among all clients;
//! reservations are FIFO in the order Redis ran them; a weight above the burst is refused
//! at once; a bounded wait is refused without recording anything; cancelling the newest
//! reservation before it is due restores the limit exactly; a server clock that steps back
//! is read as the latest reading seen.
//!
//! Lua numbers are doubles, so the script keeps every value an integer below 2^53: times
//! are nanoseconds after a per-key origin that moves forward in whole seconds, and the
//! theoretical arrival time is a whole number of nanoseconds plus a fraction over `count`,
//! carried exactly (3 per second stays 333,333,333⅓ ns apart, with no drift). This bounds
//! the quotas the engine takes: burst × period at most 2^50 ns (about 13 days) and
//! burst × count at most 2^50 ([`Error::QuotaTooLarge`] otherwise), and reservations at
//! most about 26 days ahead ([`InstantOverflow`](pacer_core::Error::InstantOverflow)). The
//! key expires one second after the limit is idle again, so idle limits take no memory.
//!
//! ## When Redis goes away
//!
//! Every call that needs Redis fails with [`Error::Unavailable`] and admits nothing: at once
//! when the connection is refused or broken, and after the limiter's timeout (1 s unless
//! set by [`Limiter::with_timeout`]) when Redis stops answering. That is the default;
//! [`Limiter::with_fallback`] chooses instead to acquire from a local limiter while Redis
//! is unavailable. Never is a cell admitted silently beyond the limit.
//!
//! The limit is as durable as the key. Redis replicates the script's writes, but
//! asynchronously: if a primary fails and a replica that had not yet received its last
//! reservations takes over, those cells can be reserved a second time. That window is
//! Redis's replication, not the script's; a single primary without failover does not have
//! it.
//!
//! ## Runtimes
//!
//! On tokio by default. With the `smol` feature it also runs where no tokio runtime is
//! running: the connection, the timeout and the background cancel use smol, and
//! [`Limiter::connect_with_timer`] with a `SmolTimer` sleeps on async-io's timer. The same
//! works inside async-std, which runs on async-io too (give it `pacer_async_std::AsyncStdTimer`,
//! the same type); the crate's tests run it there.
//!
//! ## Testing
//!
//! The crate's own tests start a private `redis-server`; code that uses a [`Limiter`] can
//! give it a [`pacer_core::ManualTimer`] ([`Limiter::new`]'s `timer`) so that its sleeps
//! follow a clock the test moves.
#![forbid(unsafe_code)]

mod ask;
mod connection;
mod engine;
mod error;
mod gate;
mod in_flight;
mod keyed;
mod limiter;
mod reservation;
mod runtime;
mod script;
mod wait;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod keyed_tests;

pub use connection::Connection;
pub use error::Error;
pub use gate::{Gate, GatePermit};
pub use keyed::KeyedLimiter;
pub use limiter::Limiter;
pub use reservation::Reservation;

pub use pacer_core::{ManualTimer, Quota, Snapshot, Timer};
#[cfg(feature = "smol")]
pub use pacer_smol::SmolTimer;
pub use pacer_tokio::TokioTimer;
/// The Redis client this crate uses, for building a [`redis::aio::ConnectionManager`] with
/// your own settings.
pub use redis;
