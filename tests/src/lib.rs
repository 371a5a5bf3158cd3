//! Support for pacer's tests: the cross-crate integration tests in `tests/tests/` and the
//! adapters' tests share it.
//!
//! - [`gcra_violation`], [`window_violation`], [`assert_conforms`]: an independent conformance
//!   checker. It uses its own integer arithmetic, not the schedulers', so a bug in pacer's
//!   arithmetic cannot hide itself.
//! - [`drive`]: runs tasks on a `LocalPool` against a manual clock.
//! - [`CountPolls`], [`count_polls`]: count a future's polls.
//! - [`race`]: tasks racing for one limiter's cells, each recording its reserved and
//!   completion instants.
//! - [`scenarios`]: the deterministic scenario suite an adapter runs on its executor, given
//!   an [`Rt`](scenarios::Rt) driver.
//! - [`real_timer`]: glue checks on an adapter's real timer, given a
//!   [`BlockOn`](real_timer::BlockOn) driver.
//! - [`RedisServer`]: a private `redis-server` for one test of `pacer-redis` (or a replica of
//!   one); [`RedisCluster`]: a private Redis Cluster of such servers, with or without
//!   replicas; [`RedisSentinel`]: a private Sentinel watching a master and its replicas.
//! - [`gcra_excess`]: how many cells a policer of the quota would have dropped.

mod check;
mod drive;
mod excess;
mod polls;
pub mod race;
pub mod real_timer;
mod redis_cluster;
mod redis_sentinel;
mod redis_server;
mod rng;
pub mod scenarios;
mod scratch_dir;

pub use check::{assert_conforms, gcra_violation, window_violation};
pub use drive::drive;
pub use excess::gcra_excess;
pub use polls::{CountPolls, count_polls, poll_once};
pub use redis_cluster::RedisCluster;
pub use redis_sentinel::{MASTER_NAME, RedisSentinel};
pub use redis_server::RedisServer;
pub use rng::XorShift;
