//! # pacer-redis
//!
//! [pacer](pacer_core)'s rate limit shared by many processes through Redis. A
//! [`RedisLimiter`] names a key; every client that uses the key with the same quota shares one
//! limit, kept exactly as pacer keeps it in one process.
//!
//! ```no_run
//! use pacer_redis::{RedisLimiter, Quota};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), pacer_redis::Error> {
//! let limiter = RedisLimiter::connect("redis://127.0.0.1/", "limit:api.example.com",
//!     Quota::per_second(100)?).await?;
//! limiter.acquire().await?; // every process together: at most 100 per second
//! # Ok(())
//! # }
//! ```
//!
//! [`RedisGate`] adds a cap on how many of this process's calls are in flight ("100 per second
//! across all processes, at most 20 at once in each").
//!
//! [`RedisKeyedLimiter`] keeps one limit per key (a user, a tenant, an IP) under a prefix, each
//! with the same quota and the same guarantees as a [`RedisLimiter`] of its own; the method names
//! are those of `pacer_tokio::KeyedLimiter`, its in-process counterpart:
//!
//! ```no_run
//! use pacer_redis::{RedisKeyedLimiter, Quota};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), pacer_redis::Error> {
//! let per_user = RedisKeyedLimiter::connect("redis://127.0.0.1/", "limit:user:",
//!     Quota::per_second(10)?).await?;
//! per_user.acquire("alice").await?; // every process together: 10 per second for alice
//! # Ok(())
//! # }
//! ```
//!
//! Both run on one Redis server or on a Redis Cluster (`connect_cluster`, or a
//! [`Connection`] shared by several limiters): see [Redis Cluster](#redis-cluster).
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
//! The contract is pacer's (`docs/contract.md` in pacer's repository): for a quota of `count` per `period` with burst
//! `b`, the instants Redis hands out satisfy the conformance rule among all clients;
//! reservations are FIFO in the order Redis ran them; a weight above the burst is refused
//! at once; a bounded wait is refused without recording anything (not even its clock
//! reading, so a refusal costs Redis no write); cancelling the newest reservation before it
//! is due restores the limit exactly; a server clock that steps back is read as the latest
//! reading recorded (by a reservation, a cancel or a quota change).
//!
//! Lua numbers are doubles, so the script keeps every value an integer below 2^53: times
//! are nanoseconds after a per-key origin that moves forward in whole seconds, and the
//! theoretical arrival time is a whole number of nanoseconds plus a fraction over `count`,
//! carried exactly (3 per second stays 333,333,333⅓ ns apart, with no drift). This bounds
//! the quotas the engine takes: burst × period at most 2^50 ns (about 13 days) and
//! burst × count at most 2^50 ([`Error::QuotaTooLarge`] otherwise), and reservations at
//! most about 26 days ahead ([`InstantOverflow`](pacer_core::Error::InstantOverflow)).
//!
//! ## Pauses and refusals
//!
//! [`RedisLimiter::pause_for`] (or [`pause_until`](RedisLimiter::pause_until); per key on a
//! [`RedisKeyedLimiter`], and every key at once with
//! [`pause_all_for`](RedisKeyedLimiter::pause_all_for)) pauses the limit for every process
//! that shares it, as on a 429:
//! the limit's clock stops, every reservation not yet passed moves later by the pause, and a
//! waiter asleep in any process asks Redis when its sleep ends whether a pause moved it, and
//! sleeps on if so. A refusal is remembered ([`RedisKeyedLimiter::with_refusal_cache`]), so
//! that the same refusal is answered without a round trip until its instant, never admitting
//! what Redis would refuse. `docs/redis.md` in pacer's repository states both exactly.
//!
//! ## Keyed limits and memory
//!
//! Each limit is one string of 44 bytes in Redis (its quota, its origin, its theoretical
//! arrival time, the latest clock reading and an epoch, packed; 68 bytes while a pause
//! touches it), which expires (`SET ... PX`, on the server's clock) one second after the
//! limit is idle again, that is once its whole burst is free, and no sooner than 2 s after
//! it was last written. A keyed limiter adds one entry of 24 bytes,
//! `pacer-table-pause:<prefix>`, once its whole table is paused (kept 40 days after the
//! pause ends).
//! Forgetting an idle limit changes no answer, so a [`RedisKeyedLimiter`] leaves in Redis only
//! the keys that are active, and the number of distinct keys ever seen costs nothing:
//! 1,000,000 keys each taking a cell took 170 MiB in Redis (177 bytes a key), and once they
//! were idle and expired `used_memory` was back within 0.21 MiB of the fresh server's (the
//! `redis_memory` program of pacer-benches). The second after idleness guards
//! the one case where forgetting could matter: a server clock that steps back, after an
//! entry expired, by more than a second could let a new reservation come before the
//! forgotten limit's last cell.
//!
//! There is no table to fill, unlike the in-process keyed limiter: Redis's memory bounds the
//! active keys. With `maxmemory-policy noeviction` a full Redis refuses every script with
//! an out-of-memory error ([`Error::Unexpected`]); an eviction policy that may evict a
//! limiter's entry forgets that key's debt, as a restart without persistence does (below).
//!
//! ## Redis Cluster
//!
//! Every script names one limit's key, so on a cluster it runs on the master that holds the
//! key's slot (redis-rs's cluster connection routes it), keys of a [`RedisKeyedLimiter`] spread
//! over the masters, and the decision is as atomic as on one server. (A keyed limiter's call
//! also names its whole-table pause entry where that shares the key's slot: on a cluster only
//! with a prefix that has a hash tag, `{...}`, which keeps all its keys in one slot; without
//! one, [`pause_all_for`](RedisKeyedLimiter::pause_all_for) is
//! [`Error::TablePauseUnavailable`].) While a slot moves
//! between masters the connection follows `ASK` and `MOVED` redirects, and a limit moves
//! with its key (`MIGRATE` keeps its time to live): the crate's tests move a slot in the
//! middle of a run and no error reaches the caller. (redis-rs sends the `ASKING` that an
//! `ASK` redirect needs as a request of its own, which another task's request on the same
//! connection can overtake; a call that still meets `ASK` once redis-rs's retries are spent
//! is sent again with `ASKING` in one pipeline.) Each master's clock decides for its keys;
//! a limit that moves is read on the new master's clock, and a reading earlier than the
//! latest one seen counts as that one.
//!
//! A master that goes away takes its keys' limits with it: their calls fail with
//! [`Error::Unavailable`] (or go to the limiter's local fallback); keys on the other
//! masters go on until the cluster itself stops serving (by default it does once it marks
//! the master failed, `cluster-require-full-coverage`).
//!
//! ## When Redis goes away
//!
//! Every call that needs Redis fails with [`Error::Unavailable`] and admits nothing: at once
//! when the connection is refused or broken, and after the limiter's timeout (1 s unless
//! set by [`RedisLimiter::with_timeout`]) when Redis stops answering. That is the default;
//! [`RedisLimiter::with_fallback`] chooses instead to acquire from a local limiter while Redis
//! is unavailable, and [`RedisKeyedLimiter::with_fallback`] from a local limit per key, in a
//! table of bounded memory. To fail open, catch `Unavailable` and let the call go: the choice
//! is always the caller's, and never is a cell admitted silently beyond the limit.
//!
//! ## When Redis loses what it held
//!
//! The limit is as durable as the key. A server restarted without persistence starts every
//! limit afresh: each key can then admit again what its lost state still owed, which is at
//! most one burst for cells already gone, plus the reservations still queued for later at
//! the crash (they go anyway, and the fresh state does not know them), less what the
//! outage itself paid off. Measured with the server killed (SIGKILL) in the middle of a
//! saturated run and restarted empty (`redis_faults` in pacer-benches, 16 keys at 2 per
//! second, burst 5): at most 4 cells beyond the quota per key with `try_acquire` traffic,
//! at most 8 with four `acquire` calls waiting per key; at 1,000 per second the debt (5 ms)
//! was paid before the server was back, and nothing was admitted beyond the quota. With
//! `appendonly yes` and `appendfsync always` Redis writes and fsyncs every change before it
//! answers, and the limits survived the restart exactly: nothing beyond the quota (also
//! with `everysec`, which writes before answering too, but fsyncs once a second, so a
//! failure of the machine, unlike one of the process, can lose up to about a second).
//!
//! Redis replicates the script's writes, but asynchronously: if a primary fails and a
//! replica that had not yet received its last reservations takes over, those cells can be
//! reserved a second time. That window is Redis's replication, not the script's; a single
//! primary without failover does not have it. See [Failover](#failover) for the bound, and
//! for the durable mode that closes it.
//!
//! ## Failover
//!
//! [`Connection::connect_sentinel`] reaches the master of a group that Redis Sentinel
//! watches. When the connection breaks, or the node answers `READONLY` (a master demoted
//! to a replica while clients stayed connected), the call asks Sentinel for the master
//! again and is sent there, so the client follows a failover by itself, without a restart.
//! On a Redis Cluster ([`Connection::connect_cluster`]) redis-rs finds a promoted replica
//! from the cluster's slot map and follows its `MOVED` redirects. While the failover is
//! under way (Sentinel or the cluster has not yet promoted a replica) calls fail with
//! [`Error::Unavailable`] and admit nothing.
//!
//! What a failover can cost a limit:
//!
//! - **Default mode.** The new master holds the state the replica had received. Whatever
//!   it lacks, that state is one the key really had earlier, so each key can admit again at
//!   most its burst for cells already gone, plus the reservations it had queued for later
//!   (as with a restart without persistence, but usually much less: only the writes of the
//!   replication lag are lost). A demoted master that kept answering after the promotion
//!   (Sentinel demotes it seconds later) loses what it took meanwhile, within the same
//!   bound.
//! - **Durable mode** ([`Connection::wait_for_replicas`]). Each call is followed by `WAIT`
//!   in the same round trip and answered only once the replicas acknowledged it (else
//!   [`Error::Unavailable`], nothing admitted): a promoted replica that acknowledged holds
//!   every admitted reservation, and nothing is admitted beyond the quota. With one replica,
//!   or waiting for every replica that can be promoted, that holds whatever the timing. It
//!   costs a replica's acknowledgement per call, and calls on one connection wait for each
//!   other's `WAIT`; with fewer replicas than required, every call fails (closed).
//!
//! The crate's tests kill a Sentinel-watched master and a cluster master under a saturated
//! run, and demote one, and check these bounds; `docs/redis-failover.md` in pacer's
//! repository gives the measured figures.
//!
//! ## Runtimes
//!
//! On tokio by default. With the `smol` feature it also runs where no tokio runtime is
//! running: the connection, the timeout and the background cancel use smol, and
//! [`RedisLimiter::connect_with_timer`] with a `SmolTimer` sleeps on async-io's timer (a cluster
//! connection and a [`RedisKeyedLimiter`] too). The same
//! works inside async-std, which runs on async-io too (give it `pacer_async_std::AsyncStdTimer`,
//! the same type); the crate's tests run it there.
//!
//! ## Testing
//!
//! The crate's own tests start a private `redis-server` (and a private 3-master cluster);
//! code that uses a [`RedisLimiter`] or [`RedisKeyedLimiter`] can give it a
//! [`pacer_core::ManualTimer`] (`new`'s or `connect_with_timer`'s `timer`) so that its
//! sleeps follow a clock the test moves.
#![forbid(unsafe_code)]

mod ask;
mod connection;
mod durable;
mod engine;
mod error;
mod gate;
mod in_flight;
mod keyed;
mod limiter;
mod refusals;
mod reservation;
mod runtime;
mod script;
mod sentinel;
mod wait;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod keyed_tests;

pub use connection::Connection;
pub use error::Error;
pub use gate::{RedisGate, RedisGatePermit};
pub use keyed::RedisKeyedLimiter;
pub use limiter::RedisLimiter;
pub use reservation::RedisReservation;

pub use pacer_core::{ManualTimer, Quota, Snapshot, Timer};
#[cfg(feature = "smol")]
pub use pacer_smol::SmolTimer;
pub use pacer_tokio::TokioTimer;
/// The Redis client this crate uses, for building a [`redis::aio::ConnectionManager`] with
/// your own settings.
pub use redis;
