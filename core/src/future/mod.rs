//! The async layer (feature `async`): a shared limiter on a runtime's [`Timer`](crate::Timer).
//!
//! [`Pacer`](crate::Pacer) and [`KeyedPacer`](crate::KeyedPacer) hand out
//! [`Acquire`](crate::Acquire) futures that reserve on their first poll and sleep once;
//! [`Throttle`](crate::Throttle) paces a stream; with `std`, [`Gate`](crate::Gate) caps how
//! many are in flight and [`ManualTimer`](crate::ManualTimer) drives it all in tests, on virtual time that
//! moves by itself ([`ManualTimer::run`](crate::ManualTimer::run)).

pub(crate) mod acquire;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub(crate) mod gate;
#[cfg(feature = "keyed")]
pub(crate) mod keyed_pacer;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub(crate) mod manual_timer;
pub(crate) mod pacer;
#[cfg(any(
    feature = "portable-atomic",
    feature = "critical-section",
    target_has_atomic = "64"
))]
pub(crate) mod pause;
pub(crate) mod reconfigure;
pub(crate) mod retry_after;
pub(crate) mod throttle;
pub(crate) mod timer;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub(crate) mod virtual_time;
