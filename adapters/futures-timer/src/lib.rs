//! # pacer-futures-timer
//!
//! [pacer](pacer_core) on [`futures_timer`]: rate limiting for any executor with `std`
//! (`futures::executor`, your own, or a runtime pacer has no adapter for). Every acquisition
//! is a reservation: `acquire().await` reserves the earliest permitted instant on its first
//! poll, then sleeps once until it: waiters are served first come, first served, none is woken
//! to retry, none goes early, and the schedule is never faster than the quota.
//!
//! This crate is thin glue: [`FuturesTimer`] (a [`std::time::Instant`] clock and
//! [`futures_timer::Delay`]) and type aliases that name pacer's types on it, plus
//! re-exports, so you depend on this one crate.
//!
//! ```
//! use pacer_futures_timer::{Limiter, Quota};
//!
//! # futures::executor::block_on(async {
//! let limiter = Limiter::new(Quota::per_second(100)?);
//! for _ in 0..3 {
//!     limiter.acquire().await?; // 10 ms apart
//!     // call the API
//! }
//! # Ok::<(), pacer_futures_timer::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## 100 per second, at most 20 in flight
//!
//! A [`Gate`] takes a concurrency slot first, then a rate slot; the slot is free again when
//! the [`GatePermit`] drops. [`gather`](pacer_core::Gate::gather) runs a batch of calls
//! through it:
//!
//! ```
//! use futures::StreamExt;
//! use pacer_futures_timer::{Gate, Quota};
//!
//! # async fn call_api(i: u32) -> u32 { i }
//! # futures::executor::block_on(async {
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
//! # Ok::<(), pacer_futures_timer::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Testing
//!
//! futures-timer has no simulated time; pacer's is [`ManualTimer`]. Write throttled code over
//! [`Pacer`]`<L, T>` and test it on a `ManualTimer`: [`ManualTimer::block_on`] (or
//! `timer.run(future)` on any executor) moves its clock to the next wake whenever the future
//! is idle, so a test of minutes of pacing takes microseconds and every instant is exact.
//!
//! ## One crate
//!
//! Everything a user of futures-timer names comes from this crate: the runtime's types ([`Limiter`],
//! [`Gate`], [`KeyedLimiter`], [`FuturesTimer`]), pacer's ([`Pacer`], [`KeyedPacer`], [`Quota`],
//! [`Error`], [`Reservation`], [`Throttle`], the schedulers and shared limiters, and what
//! reads a server's answers: [`Feedback`], [`Adaptive`]), the test
//! timer ([`ManualTimer`], with [`Run`] for virtual time), and [`pacer_core`] itself. The
//! traits, to read a clock or to write code generic over a limiter or a timer, are in
//! [`traits`] (`use pacer_futures_timer::traits::*;`).
//!
//! ## A throttled stream that outlives its scope
//!
//! `limiter.throttle(stream)` borrows the limiter. To return a throttled stream from a
//! function, or to spawn it, give it a share of the limiter:
//! [`Throttle::new`]`(Arc::clone(&limiter), stream)` is `'static`.
//!
//! ```
//! use std::sync::Arc;
//! use futures::{Stream, StreamExt};
//! use pacer_futures_timer::{Limiter, Quota, Throttle};
//!
//! fn paced(limiter: &Arc<Limiter>, ids: Vec<u32>) -> impl Stream<Item = u32> + Send + 'static {
//!     Throttle::new(Arc::clone(limiter), futures::stream::iter(ids))
//! }
//!
//! # fn main() -> Result<(), pacer_futures_timer::Error> {
//! let limiter = Arc::new(Limiter::new(Quota::per_second(1_000)?));
//! let ids: Vec<u32> = futures::executor::block_on(paced(&limiter, vec![1, 2, 3]).collect());
//! assert_eq!(ids, [1, 2, 3]);
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
//! `Retry-After` header (never 0 for a positive wait); [`FuturesTimer::instant`] gives the
//! runtime's own instant. A keyed limiter has the same two methods.
#![forbid(unsafe_code)]

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use futures_timer::Delay;
use pacer_core::{Clock, Timer};

/// The core crate, for what is not re-exported here (the schedulers' cancel tokens, the
/// no_std building blocks, ...).
pub use pacer_core;
pub use pacer_core::{
    Acquire, Adaptive, AtomicLimiter, Decision, DutyCycle, Error, Feedback, FeedbackError,
    GatePermit, Gcra, KeyedGcra, KeyedPacer, Limits, Locked, ManualClock, ManualSleep, ManualTimer,
    Pacer, Pausable, PerKey, Policy, Quota, Reason, Reservation, Run, ShardedKeyedGcra,
    SlidingWindow, Snapshot, Throttle, WhenFull,
};

/// The traits behind the types: bring them into scope with `use pacer_futures_timer::traits::*;` to read
/// a timer's clock ([`now`](traits::Clock::now)), to write code generic over a limiter
/// (`L: RateLimiter`) or a timer (`T: Timer`), or to drive a pure scheduler by hand.
pub mod traits {
    pub use pacer_core::{
        Clock, KeyedRateLimiter, PacerRef, Pause, RateLimiter, Reconfigure, Scheduler, Timer,
    };
}

/// A rate limiter on futures-timer: `limiter.acquire().await` waits until a cell may go.
///
/// `Limiter` is a type alias, a name for [`Pacer`] on [`FuturesTimer`]: compiler errors and
/// rustdoc show the full type (`Pacer<…, FuturesTimer>`), and its methods are [`Pacer`]'s.
///
/// `L` is the shared limiter: the lock-free [`AtomicLimiter`] for one quota, in a [`Pausable`]
/// so that [`pause_for`](pacer_core::Pacer::pause_for) holds every waiter back when a server
/// says so (the default), or
/// [`Locked`] around a [`Gcra`], a [`SlidingWindow`] or [`Limits`] (several quotas at once),
/// made with [`with_limiter`](pacer_core::Pacer::with_limiter).
pub type Limiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, FuturesTimer>;

/// A rate and a cap on how many are in flight ("100 per second, at most 20 at once"), on
/// futures-timer.
///
/// `Gate` is a type alias, a name for [`pacer_core::Gate`] on [`FuturesTimer`]: compiler errors
/// and rustdoc show the full type (`Gate<…, FuturesTimer>`), and its methods are documented there.
pub type Gate<L = Pausable<AtomicLimiter>> = pacer_core::Gate<L, FuturesTimer>;

/// One limit per key (a user, an address, a host), for up to a fixed number of busy keys:
/// `limiter.acquire(&key).await` waits until a cell of that key's limit may go.
///
/// `KeyedLimiter` is a type alias, a name for [`KeyedPacer`] on [`FuturesTimer`] over a
/// [`ShardedKeyedGcra`]: compiler errors and rustdoc show the full type
/// (`KeyedPacer<ShardedKeyedGcra<K>, FuturesTimer>`), and its methods are [`KeyedPacer`]'s.
///
/// Idle keys are forgotten by the limiter itself, so memory stays what
/// [`new`](pacer_core::KeyedPacer::new) allocated; a new key with no room is refused with
/// [`Error::TableFull`] (see [`ShardedKeyedGcra`] and [`WhenFull`]).
///
/// When a server answers 429 for one key (a host, a tenant), [`pause_key_for`](pacer_core::KeyedPacer::pause_key_for)
/// holds that key's callers alone back, waiters already sleeping included, while every other
/// key goes on ([`PauseKey`](pacer_core::PauseKey)); [`pause_for`](pacer_core::KeyedPacer::pause_for)
/// holds every key.
///
/// ```
/// use pacer_futures_timer::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pacer_futures_timer::Error> {
/// futures::executor::block_on(async {
///     // 100 per second to each host, for up to 10,000 hosts at once.
///     let per_host = KeyedLimiter::<String>::new(Quota::per_second(100)?, 10_000)?;
///     per_host.acquire("example.com").await?;
///     per_host.acquire("example.org").await?; // another host: no wait
///     Ok(())
/// })
/// # }
/// ```
pub type KeyedLimiter<K> = pacer_core::KeyedPacer<Pausable<ShardedKeyedGcra<K>>, FuturesTimer>;

/// [`std::time::Instant`] and [`futures_timer::Delay`] as a pacer [`Timer`].
///
/// Instants are nanoseconds since the [`Instant`] at which the timer was made (its origin).
/// Copies share the origin, so they read the same instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuturesTimer {
    origin: Instant,
}

impl FuturesTimer {
    /// A timer whose origin is now.
    pub fn new() -> FuturesTimer {
        FuturesTimer::with_origin(Instant::now())
    }

    /// A timer whose instant 0 is `origin`.
    pub fn with_origin(origin: Instant) -> FuturesTimer {
        FuturesTimer { origin }
    }

    /// The instant this timer counts from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The [`Instant`] of pacer instant `at` (for example the instant of an
    /// [`Error::WouldWait`]): the origin plus `at` nanoseconds, or `None` if the platform's
    /// `Instant` cannot represent it.
    pub fn instant(&self, at: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(at))
    }
}

impl Default for FuturesTimer {
    /// A timer whose origin is now.
    fn default() -> FuturesTimer {
        FuturesTimer::new()
    }
}

impl Clock for FuturesTimer {
    /// Nanoseconds since the origin, saturating at `u64::MAX` (after about 584 years).
    fn now(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Timer for FuturesTimer {
    type Sleep = FuturesSleep;

    /// A [`Delay`] for the time left until `at`.
    fn sleep_until(&self, at: u64) -> FuturesSleep {
        FuturesSleep {
            delay: Delay::new(remaining(self.now(), at)),
            timer: *self,
            at,
        }
    }
}

/// The time from `now` until `at`, both in nanoseconds on one clock.
fn remaining(now: u64, at: u64) -> Duration {
    Duration::from_nanos(at.saturating_sub(now))
}

/// The sleep of a [`FuturesTimer`]: completes once its clock reads the instant, never before.
///
/// A [`Delay`] is relative, so it is made for the time left when the sleep is created, read
/// before the delay starts counting: it cannot end before the instant. Should it end early
/// anyway (futures-timer caps a delay at 30 years), the sleep reads the clock and waits for
/// the rest.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct FuturesSleep {
    delay: Delay,
    timer: FuturesTimer,
    at: u64,
}

impl Future for FuturesSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if Pin::new(&mut self.delay).poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = self.timer.now();
            if now >= self.at {
                return Poll::Ready(());
            }
            let left = remaining(now, self.at);
            self.delay.reset(left);
        }
    }
}
