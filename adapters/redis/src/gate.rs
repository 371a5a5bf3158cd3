//! `RedisGate`: a rate shared through Redis, and a cap on how many of this process's calls are
//! in flight.

use async_lock::{Semaphore, SemaphoreGuard};
use pacer_core::Timer;
use pacer_tokio::TokioTimer;

use crate::{Error, RedisLimiter};

/// "At most 100 per second across all processes, and at most 20 in flight in this one": a
/// [`RedisLimiter`] behind a local concurrency cap.
///
/// [`acquire`](RedisGate::acquire) first takes one of this process's slots (waiting fairly on an
/// `async-lock` semaphore), then the shared rate's cell, and returns a [`RedisGatePermit`] that
/// holds the slot until it drops, typically when the call it guards has finished. Taking
/// the slot first means a waiter never holds a cell of the shared rate that it cannot use.
/// The cap is per process: each process that builds a gate has its own.
///
/// As with `pacer_core::Gate`, a waiter holds its slot while it sleeps towards its instant,
/// so size the cap for the rate this process gets times the call's duration, plus margin.
///
/// ```no_run
/// use pacer_redis::{RedisGate, RedisLimiter, Quota};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), pacer_redis::Error> {
/// let limiter = RedisLimiter::connect("redis://127.0.0.1/", "limit:api.example.com",
///     Quota::per_second(100)?).await?;
/// let gate = RedisGate::new(limiter, 20)?;
/// let permit = gate.acquire().await?; // a slot here, then a cell of the shared rate
/// // call the API
/// drop(permit);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisGate<T: Timer = TokioTimer> {
    limiter: RedisLimiter<T>,
    slots: Semaphore,
}

/// Proof of a passed [`RedisGate`]: holds one of its slots until dropped.
#[derive(Debug)]
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct RedisGatePermit<'a> {
    _slot: SemaphoreGuard<'a>,
}

impl<T: Timer + Clone> RedisGate<T> {
    /// `limiter` with at most `concurrency` permits of this gate out at once.
    ///
    /// Fails with [`ZeroConcurrency`](pacer_core::Error::ZeroConcurrency) for zero, which
    /// could never admit anything.
    pub fn new(limiter: RedisLimiter<T>, concurrency: usize) -> Result<RedisGate<T>, Error> {
        if concurrency == 0 {
            return Err(pacer_core::Error::ZeroConcurrency.into());
        }
        Ok(RedisGate {
            limiter,
            slots: Semaphore::new(concurrency),
        })
    }

    /// Waits for a slot, then for one cell of the shared rate.
    pub async fn acquire(&self) -> Result<RedisGatePermit<'_>, Error> {
        self.acquire_n(1).await
    }

    /// Waits for a slot, then for `cells` cells of the shared rate at once. On an error the
    /// slot is free again at once.
    pub async fn acquire_n(&self, cells: u32) -> Result<RedisGatePermit<'_>, Error> {
        let slot = self.slots.acquire().await;
        self.limiter.acquire_n(cells).await?;
        Ok(RedisGatePermit { _slot: slot })
    }

    /// Slots free now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }

    /// The shared limiter behind the gate.
    pub fn limiter(&self) -> &RedisLimiter<T> {
        &self.limiter
    }
}
