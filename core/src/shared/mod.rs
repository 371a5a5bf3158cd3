//! Sharing a scheduler between threads and tasks: the [`RateLimiter`](crate::RateLimiter)
//! trait (every operation by `&self`), the lock-free [`AtomicLimiter`](crate::AtomicLimiter)
//! for one quota, [`Locked`](crate::Locked) around any scheduler, and the keyed counterpart
//! [`KeyedRateLimiter`](crate::KeyedRateLimiter).

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub(crate) mod atomic;
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub(crate) mod atomic_limiter;
#[cfg(feature = "keyed")]
pub(crate) mod keyed_rate_limiter;
#[cfg(any(feature = "std", feature = "critical-section"))]
pub(crate) mod locked;
#[cfg(any(
    feature = "portable-atomic",
    feature = "critical-section",
    target_has_atomic = "64"
))]
pub(crate) mod pausable;
#[cfg(any(
    feature = "portable-atomic",
    feature = "critical-section",
    target_has_atomic = "64"
))]
pub(crate) mod pause_state;
pub(crate) mod rate_limiter;
pub(crate) mod reconfigure;
