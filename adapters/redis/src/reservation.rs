//! `RedisReservation`: cells recorded in Redis for an instant of the server's clock.

use std::sync::Arc;
use std::time::Duration;

/// Cells recorded in Redis for instant [`at`](RedisReservation::at): the receipt of a
/// reservation made by [`RedisLimiter::reserve`](crate::RedisLimiter::reserve) or
/// [`RedisKeyedLimiter::reserve`](crate::RedisKeyedLimiter::reserve).
///
/// Instants are nanoseconds since the Unix epoch by the Redis server's clock, the one clock
/// every client of the limit shares. [`wait`](RedisReservation::wait) is how long after the
/// decision the cells may go; a client sleeps that long on its own timer.
///
/// Not `Clone`: a reservation can be cancelled at most once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation holds cells: wait until it is due before using them, or cancel it"]
pub struct RedisReservation {
    /// The Redis key it was made on, so that a cancel goes there.
    pub(crate) key: Arc<str>,
    pub(crate) at: u64,
    pub(crate) decided: u64,
    pub(crate) cells: u32,
    pub(crate) token: Token,
}

/// What the script needs to undo a reservation: where the state stood before and after it,
/// in the script's own frame (origin seconds, nanoseconds and fractions after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) origin: i64,
    pub(crate) epoch: i64,
    pub(crate) at: i64,
    /// The pauses' shift (ns) when it was made: a later shift moved it by the difference.
    pub(crate) shift: i64,
    pub(crate) before: (i64, i64),
    pub(crate) after: (i64, i64),
}

impl RedisReservation {
    /// The instant the cells may go: nanoseconds since the Unix epoch, by the Redis server's
    /// clock.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The server's clock when Redis decided, in the same frame as [`at`](RedisReservation::at).
    pub fn decided_at(&self) -> u64 {
        self.decided
    }

    /// How long after the decision the cells may go (zero if at once).
    pub fn wait(&self) -> Duration {
        Duration::from_nanos(self.at.saturating_sub(self.decided))
    }

    /// How many cells were reserved (0 for an empty acquisition, which records nothing).
    pub fn cells(&self) -> u32 {
        self.cells
    }
}
