//! # pacer-tokio
//!
//! [pacer](pacer_core) on tokio's timer: a rate limiter whose every acquisition is a
//! reservation. `acquire().await` reserves the earliest permitted instant on its first poll,
//! then sleeps once on [`tokio::time`] until it: waiters are served first come, first served,
//! none is woken to retry, none goes early, and the schedule is never faster than the quota.
//!
//! This crate is thin glue: [`TokioTimer`] (tokio's clock and sleep) and type aliases that
//! name pacer's types on it, plus re-exports, so you depend on this one crate.
//!
//! ```
//! use pacer_tokio::{Limiter, Quota};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pacer_tokio::Error> {
//! let limiter = Limiter::new(Quota::per_second(100)?);
//! for _ in 0..3 {
//!     limiter.acquire().await?; // 10 ms apart
//!     // call the API
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## 100 per second, at most 20 in flight
//!
//! A [`Gate`] takes a concurrency slot first, then a rate slot; the slot is free again when
//! the [`GatePermit`] drops. [`gather`](pacer_core::Gate::gather) runs a batch of calls
//! through it:
//!
//! ```
//! use futures_util::StreamExt;
//! use pacer_tokio::{Gate, Quota};
//!
//! # async fn call_api(i: u32) -> u32 { i }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pacer_tokio::Error> {
//! let gate = Gate::new(Quota::per_second(100)?, 20)?;
//!
//! // one call at a time, holding the permit while it runs
//! let permit = gate.acquire().await?;
//! call_api(0).await;
//! drop(permit);
//!
//! // or a whole batch, results in completion order
//! let results: Vec<u32> = gate
//!     .gather((1..=5).map(call_api))
//!     .map(|result| result.expect("an AtomicLimiter of weight 1 never fails"))
//!     .collect()
//!     .await;
//! assert_eq!(results.len(), 5);
//! # Ok(())
//! # }
//! ```
//!
//! ## Testing
//!
//! [`TokioTimer`] reads [`tokio::time::Instant`], so throttled code runs under tokio's paused
//! time (`#[tokio::test(start_paused = true)]`, with tokio's `test-util` feature): a test of a
//! minute of pacing takes microseconds, and every instant is exact. Code written over
//! [`Pacer`]`<L, T>` also runs on a [`ManualTimer`], on any executor:
//! [`ManualTimer::block_on`] moves its clock to the next wake whenever the future is idle.
//!
//! ## Timer resolution
//!
//! Tokio's timer rounds each sleep up to its next millisecond tick, so a wait ends at its
//! instant or after it, never before: typically about a millisecond after, more when the
//! runtime is busy. Waiters that queue up keep the exact rate through that, because their
//! instants are reserved in advance. A single task that acquires in a loop at a high rate does
//! not: with burst 1 a slot it reaches late is gone. Give such a loop a burst of about
//! `rate × 2 ms + 1` (for 1,000 per second, [`Quota::with_burst`]`(3)`).
//!
//! Where a millisecond is too coarse, the `precise` feature (Linux and Android) adds
//! `PreciseTimer`: a `timerfd` in tokio's own reactor with nanosecond deadlines. A lone waiter
//! ends within microseconds of its instant, so a loop at 1,000 per second comes close to its
//! rate at burst 1 (994 per second measured, against 924 on tokio's timer); waiters within 1 ms of each other share one wake-up of the runtime, at the last of
//! their instants, so a herd keeps its rate exactly at about the CPU cost of tokio's timer. It
//! reads the real clock, not tokio's paused one. Name the limiter `PreciseLimiter`.
//!
//! ## One crate
//!
//! Everything a user of tokio names comes from this crate: the runtime's types ([`Limiter`],
//! [`Gate`], [`KeyedLimiter`], [`TokioTimer`]), pacer's ([`Pacer`], [`KeyedPacer`], [`Quota`],
//! [`Error`], [`Reservation`], [`Throttle`], the schedulers and shared limiters, and what
//! reads a server's answers: [`Feedback`], [`Adaptive`]), the test
//! timer ([`ManualTimer`], with [`Run`] for virtual time), and [`pacer_core`] itself. The
//! traits, to read a clock or to write code generic over a limiter or a timer, are in
//! [`traits`] (`use pacer_tokio::traits::*;`).
//!
//! ## A throttled stream that outlives its scope
//!
//! `limiter.throttle(stream)` borrows the limiter. To return a throttled stream from a
//! function, or to spawn it, give it a share of the limiter:
//! [`Throttle::new`]`(Arc::clone(&limiter), stream)` is `'static`.
//!
//! ```
//! use std::sync::Arc;
//! use futures_util::{Stream, StreamExt};
//! use pacer_tokio::{Limiter, Quota, Throttle};
//!
//! fn paced(limiter: &Arc<Limiter>, ids: Vec<u32>) -> impl Stream<Item = u32> + Send + 'static {
//!     Throttle::new(Arc::clone(limiter), futures_util::stream::iter(ids))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pacer_tokio::Error> {
//! let limiter = Arc::new(Limiter::new(Quota::per_second(1_000)?));
//! let task = tokio::spawn(paced(&limiter, vec![1, 2, 3]).collect::<Vec<u32>>());
//! assert_eq!(task.await.expect("the task ran"), [1, 2, 3]);
//! # Ok(())
//! # }
//! ```
//!
//! ## Refusals and `Retry-After`
//!
//! A bounded wait that would be too long fails at once with [`Error::WouldWait`], whose
//! instant is in the limiter's nanoseconds. [`retry_after`](Pacer::retry_after) turns it into
//! the wait from now (exact to the nanosecond, never short), and
//! [`retry_after_secs`](Pacer::retry_after_secs) into whole seconds rounded up, for an HTTP
//! `Retry-After` header (never 0 for a positive wait); [`TokioTimer::instant`] gives the
//! runtime's own instant. A keyed limiter has the same two methods.
#![forbid(unsafe_code)]

use core::time::Duration;

use pacer_core::{Clock, Timer};

use tokio::time::{Instant, Sleep};

#[cfg(all(feature = "precise", any(target_os = "linux", target_os = "android")))]
mod precise;
#[cfg(all(feature = "precise", any(target_os = "linux", target_os = "android")))]
pub use precise::{PreciseSleep, PreciseTimer};

/// The core crate, for what is not re-exported here (the schedulers' cancel tokens, the
/// no_std building blocks, ...).
pub use pacer_core;
pub use pacer_core::{
    Acquire, Adaptive, AtomicLimiter, Decision, DutyCycle, Error, Feedback, FeedbackError,
    GatePermit, Gcra, KeyedGcra, KeyedPacer, Limits, Locked, ManualClock, ManualSleep, ManualTimer,
    Pacer, Pausable, PerKey, Policy, Quota, Reason, Reservation, Run, ShardedKeyedGcra,
    SlidingWindow, Snapshot, Throttle, WhenFull,
};

/// The traits behind the types: bring them into scope with `use pacer_tokio::traits::*;` to read
/// a timer's clock ([`now`](traits::Clock::now)), to write code generic over a limiter
/// (`L: RateLimiter`) or a timer (`T: Timer`), or to drive a pure scheduler by hand.
pub mod traits {
    pub use pacer_core::{
        Clock, KeyedRateLimiter, PacerRef, Pause, RateLimiter, Reconfigure, Scheduler, Timer,
    };
}

/// A rate limiter on tokio's timer: `limiter.acquire().await` waits until a cell may go.
///
/// `Limiter` is a type alias, a name for [`Pacer`] on [`TokioTimer`]: compiler errors and
/// rustdoc show the full type (`Pacer<…, TokioTimer>`), and its methods are [`Pacer`]'s.
///
/// `L` is the shared limiter: the lock-free [`AtomicLimiter`] for one quota, in a [`Pausable`]
/// so that [`pause_for`](pacer_core::Pacer::pause_for) holds every waiter back when a server
/// says so (the default), or
/// [`Locked`] around a [`Gcra`], a [`SlidingWindow`] or [`Limits`] (several quotas at once),
/// made with [`with_limiter`](pacer_core::Pacer::with_limiter).
pub type Limiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, TokioTimer>;

/// A rate and a cap on how many are in flight ("100 per second, at most 20 at once"), on
/// tokio's timer.
///
/// `Gate` is a type alias, a name for [`pacer_core::Gate`] on [`TokioTimer`]: compiler errors
/// and rustdoc show the full type (`Gate<…, TokioTimer>`), and its methods are documented there.
pub type Gate<L = Pausable<AtomicLimiter>> = pacer_core::Gate<L, TokioTimer>;

/// One limit per key (a client, an API key, a destination host), for up to a fixed number of
/// busy keys, on tokio's timer: `limiter.acquire(&key).await` waits until a cell of that
/// key's limit may go.
///
/// `KeyedLimiter` is a type alias, a name for [`KeyedPacer`] on [`TokioTimer`] over a
/// [`ShardedKeyedGcra`]: compiler errors and rustdoc show the full type
/// (`KeyedPacer<ShardedKeyedGcra<K>, TokioTimer>`), and its methods are [`KeyedPacer`]'s.
///
/// Idle keys are forgotten by the limiter itself, so memory stays what
/// [`new`](pacer_core::KeyedPacer::new) allocated, however many distinct keys pass; a new key
/// with no room is refused with [`Error::TableFull`], which carries the instant a slot frees
/// (or, by [`WhenFull::Forget`], the key that becomes idle soonest makes room). See
/// [`ShardedKeyedGcra`] for the table.
///
/// When a server answers 429 for one key (a host, a tenant), [`pause_key_for`](pacer_core::KeyedPacer::pause_key_for)
/// holds that key's callers alone back, waiters already sleeping included, while every other
/// key goes on ([`PauseKey`](pacer_core::PauseKey)); [`pause_for`](pacer_core::KeyedPacer::pause_for)
/// holds every key.
///
/// ```
/// use std::time::Duration;
/// use pacer_tokio::{Error, KeyedLimiter, Quota};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// // 2 requests per second per client, for up to 100,000 clients at once.
/// let per_client = KeyedLimiter::<String>::new(Quota::per_second(2)?, 100_000)?;
/// per_client.acquire("203.0.113.7").await?;
/// // A server answers at once instead of queueing: the error says when to come back.
/// match per_client.acquire_within("203.0.113.7", 1, Duration::ZERO).await {
///     Err(Error::WouldWait { .. }) => {} // 429, Retry-After: about 0.5 s
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(per_client.snapshot("198.51.100.1").remaining, 1); // another client: untouched
/// // An upstream answered 429 with Retry-After: 2 for this client's requests: hold it alone.
/// per_client.pause_key_for("203.0.113.7", Duration::from_secs(2))?;
/// assert!(per_client.key_paused_until("203.0.113.7").is_some());
/// assert_eq!(per_client.delay("198.51.100.1", 1)?, Duration::ZERO);
/// # Ok(())
/// # }
/// ```
pub type KeyedLimiter<K> = pacer_core::KeyedPacer<Pausable<ShardedKeyedGcra<K>>, TokioTimer>;

/// A rate limiter on a [`PreciseTimer`]: waits never end early and keep the rate exactly.
/// Make it with [`PreciseTimer::limiter`] (or [`from_parts`](pacer_core::Pacer::from_parts))
/// on a timer made inside the runtime.
#[cfg(all(feature = "precise", any(target_os = "linux", target_os = "android")))]
pub type PreciseLimiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, PreciseTimer>;

/// A rate and a cap on how many are in flight, on a [`PreciseTimer`]; made with
/// [`PreciseTimer::gate`].
#[cfg(all(feature = "precise", any(target_os = "linux", target_os = "android")))]
pub type PreciseGate<L = Pausable<AtomicLimiter>> = pacer_core::Gate<L, PreciseTimer>;

/// tokio's clock and sleep as a pacer [`Timer`].
///
/// Instants are nanoseconds since the [`tokio::time::Instant`] at which the timer was made
/// (its origin). Because it reads tokio's clock, it follows tokio's paused and advanced time
/// in tests. Copies share the origin, so they read the same instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokioTimer {
    origin: Instant,
}

impl TokioTimer {
    /// A timer whose origin is now, by tokio's clock.
    pub fn new() -> TokioTimer {
        TokioTimer::with_origin(Instant::now())
    }

    /// A timer whose instant 0 is `origin`.
    pub fn with_origin(origin: Instant) -> TokioTimer {
        TokioTimer { origin }
    }

    /// The tokio instant this timer counts from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The tokio instant of pacer instant `at`: the origin plus `at` nanoseconds.
    ///
    /// Returns `None` if that lies beyond what [`Instant`] can represent.
    pub fn instant(&self, at: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(at))
    }
}

impl Default for TokioTimer {
    /// A timer whose origin is now, by tokio's clock.
    fn default() -> TokioTimer {
        TokioTimer::new()
    }
}

impl Clock for TokioTimer {
    /// Nanoseconds since the origin, saturating at `u64::MAX` (after about 584 years).
    fn now(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Timer for TokioTimer {
    type Sleep = Sleep;

    /// [`tokio::time::sleep_until`] the origin plus `at`. Tokio rounds the deadline up to
    /// its next millisecond tick and never fires early.
    ///
    /// An instant beyond what [`Instant`] can represent (centuries away on every supported
    /// platform) sleeps as long as tokio's farthest timer; pacer's acquisition re-checks the
    /// clock when a sleep ends and sleeps again, so nothing goes early even then.
    fn sleep_until(&self, at: u64) -> Sleep {
        match self.instant(at) {
            Some(deadline) => tokio::time::sleep_until(deadline),
            None => tokio::time::sleep(Duration::MAX),
        }
    }
}
