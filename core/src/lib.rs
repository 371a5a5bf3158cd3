//! # pacer-core
//!
//! The pure heart of pacer: a clock-injected rate-limiting state machine for `no_std`, with no
//! allocation and no required dependency.
//!
//! Given "now", a scheduler computes the **earliest permitted instant** for each acquisition
//! and records it there. Every acquisition is therefore a reservation: granted in FIFO order
//! by construction, weighted (`n` cells at one instant), cancellable, and exact: the schedule
//! is never faster than the quota, and no slower than rounding each instant up to a whole
//! nanosecond.
//!
//! What every limiter promises, stated so that it can be checked (the conformance rule, FIFO,
//! weights, cancel, reconfiguration, clocks that step backwards, precision, and what holds for
//! reserved instants against the completions a server observes), is `docs/contract.md` in
//! pacer's repository.
//!
//! | type | what it enforces | state |
//! |---|---|---|
//! | [`Gcra`] | a rate and a burst ([`Quota`]) | one arrival time |
//! | [`SlidingWindow<N>`](SlidingWindow) | at most `count` cells in any window of `period` | the last `N` instants |
//! | [`DutyCycle<E>`](DutyCycle) | the same for large counts (airtime), cells merging later when full | `E` entries |
//! | [`Limits<K>`](Limits) | `K` quotas at once ("10 per second and 1,000 per hour") | `K` arrival times |
//! | [`AtomicLimiter`] | one quota, shared lock-free | one `AtomicU64` |
//! | [`Locked<S>`](Locked) | any of the above, shared behind a short lock | `S` and a lock |
//! | `KeyedGcra<K, N>` (`keyed`) | one quota per key, up to `N` busy keys | `N` arrival times, on `heapless` |
//! | `ShardedKeyedGcra<K>` (`std`) | one quota per key, shared by many threads | a capacity fixed at run time, in shards |
//!
//! Instants are nanoseconds since the limiter's origin, as `u64`. The schedulers never read a
//! clock: every operation takes `now`, from a [`Clock`] such as [`ManualClock`] in tests or a
//! runtime's clock in the adapter crates (`pacer-tokio`, `pacer-smol`, ...).
//!
//! ```
//! use pacer_core::{Gcra, Quota, Scheduler};
//!
//! let mut limiter = Gcra::new(Quota::per_second(100)?);
//! let first = limiter.reserve(0, 1)?;
//! let second = limiter.reserve(0, 1)?;
//! assert_eq!((first.at(), second.at()), (0, 10_000_000)); // 10 ms apart, FIFO
//! assert!(limiter.try_acquire(0, 1).is_err()); // nothing free now
//! assert!(limiter.cancel(second, 0)); // the newest hands its slot back
//! assert_eq!(limiter.earliest(0, 1)?, 10_000_000);
//! # Ok::<(), pacer_core::Error>(())
//! ```
//!
//! # Async
//!
//! With the `async` feature, [`Pacer`] puts any shared limiter on a [`Timer`] (a runtime's
//! clock and sleep, supplied by an adapter crate): `pacer.acquire().await` reserves on its
//! first poll and sleeps exactly once, until its instant. [`Throttle`] paces a stream, and with
//! `std`, [`Gate`] adds a cap on how many are in flight, [`Gate::gather`] runs many futures
//! through one, and [`ManualTimer`] drives it all in tests on virtual time
//! ([`ManualTimer::block_on`] moves its clock to the next wake whenever the future is idle).
//!
//! # Features
//! - `async`: [`Timer`], [`Pacer`], [`Acquire`], [`Throttle`] (adds `pin-project-lite` and
//!   `futures-core`).
//! - `std` (implies `async`): [`Locked`] on `std::sync::Mutex`, [`Gate`] (on `async-lock`),
//!   [`ManualTimer`].
//! - `critical-section`: [`Locked`] on a `critical-section` mutex, for single-core targets.
//! - `keyed`: [`KeyedGcra`] (on `heapless`), [`KeyedRateLimiter`], [`PerKey`], [`WhenFull`],
//!   and with `async` [`KeyedPacer`]; `std` turns it on and adds `ShardedKeyedGcra`.
//! - `portable-atomic`: [`AtomicLimiter`] and [`ManualClock`] on targets without 64-bit
//!   atomics. With `critical-section` too (as on any single-core Cortex-M), their word sits in
//!   a `critical-section` mutex; alone, in `portable-atomic`'s global lock table (thumbv7em;
//!   thumbv6m has no compare-and-swap at all and needs `critical-section`).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod clock;
mod error;
mod feedback;
mod quota;
mod reservation;

#[cfg(feature = "async")]
mod future;
mod schedule;
mod shared;

pub use clock::Clock;
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub use clock::ManualClock;
pub use error::Error;
pub use feedback::{Adaptive, Decision, Feedback, FeedbackError, Policy, Reason};
pub use quota::Quota;
pub use reservation::{Reservation, Snapshot};
pub use schedule::duty_cycle::{DutyCycle, DutyCycleToken};
pub use schedule::gcra::{Gcra, GcraToken};
#[cfg(feature = "keyed")]
pub use schedule::keyed::{KeyedGcra, KeyedToken, WhenFull};
pub use schedule::limits::{Limits, LimitsToken};
pub use schedule::scheduler::Scheduler;
pub use schedule::window::{SlidingWindow, WindowToken};
#[cfg(feature = "keyed")]
pub use shared::keyed_rate_limiter::{KeyedRateLimiter, PerKey};
pub use shared::rate_limiter::RateLimiter;
pub use shared::reconfigure::Reconfigure;

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub use shared::atomic_limiter::{AtomicLimiter, AtomicToken};
#[cfg(any(feature = "std", feature = "critical-section"))]
pub use shared::locked::Locked;
#[cfg(any(
    feature = "portable-atomic",
    feature = "critical-section",
    target_has_atomic = "64"
))]
pub use shared::pausable::{Pausable, Pause, PauseKey, PausedToken};

#[cfg(feature = "async")]
pub use future::acquire::Acquire;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub use future::gate::{Gate, GatePermit};
#[cfg(all(feature = "async", feature = "keyed"))]
pub use future::keyed_pacer::KeyedPacer;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub use future::manual_timer::{ManualSleep, ManualTimer};
#[cfg(feature = "async")]
pub use future::pacer::Pacer;
#[cfg(feature = "async")]
pub use future::throttle::{PacerRef, Throttle};
#[cfg(feature = "async")]
pub use future::timer::Timer;
#[cfg(all(feature = "std", target_has_atomic = "64"))]
pub use future::virtual_time::Run;
#[cfg(feature = "std")]
pub use schedule::keyed::ShardedKeyedGcra;
