//! # pacer-smol
//!
//! [pacer](pacer_core) on [smol](https://docs.rs/smol): rate limiting whose every acquisition
//! is a reservation, waiting on smol's own timer without blocking the executor.
//!
//! Name one type, [`Limiter`], share it by `&` or `Arc`, and `.await` its
//! [`acquire`](pacer_core::Pacer::acquire):
//!
//! ```
//! use pacer_smol::{Limiter, Quota};
//!
//! # fn main() -> Result<(), pacer_smol::Error> {
//! smol::block_on(async {
//!     // 100 per second, strictly spaced: 10 ms apart.
//!     let limiter = Limiter::new(Quota::per_second(100)?);
//!     for call in 0..3 {
//!         limiter.acquire().await?; // the first goes at once, then one every 10 ms
//!         println!("call {call}");
//!     }
//!     Ok(())
//! })
//! # }
//! ```
//!
//! Each acquisition reserves its instant on its first poll and then sleeps exactly once, on
//! one [`async_io::Timer`], until that instant: waiters are served in the order they first
//! polled, none is woken to retry, none goes early, and a waiter dropped before its instant
//! hands its reservation back.
//!
//! # What is here
//! - [`Limiter`]: a limiter on smol's clock ([`Pacer`] on [`SmolTimer`]).
//!   [`Limiter::new`](pacer_core::Pacer::new) takes a [`Quota`] and shares it lock-free
//!   ([`AtomicLimiter`]); [`Limiter::with_limiter`](pacer_core::Pacer::with_limiter) takes
//!   any [`RateLimiter`](traits::RateLimiter), for example [`Locked`]`<`[`Limits<2>`](Limits)`>` for "10 per
//!   second and 1,000 per hour" or [`Locked`]`<`[`SlidingWindow<N>`](SlidingWindow)`>`.
//! - [`Gate`]: a rate and a cap on how many are in flight ("50 per second, at most 10 at
//!   once"), with [`gather`](pacer_core::Gate::gather) to run many futures through it.
//! - [`Throttle`]: a stream that yields no faster than a limiter, made by
//!   [`Limiter::throttle`](pacer_core::Pacer::throttle).
//! - [`SmolTimer`]: the clock and timer glue, for building any of these from parts.
//!
//! ```
//! use pacer_smol::{Gate, Quota};
//! use smol::stream::StreamExt;
//!
//! # fn main() -> Result<(), pacer_smol::Error> {
//! smol::block_on(async {
//!     // At most 200 per second (a burst of 5 after idleness), at most 2 in flight.
//!     let gate = Gate::new(Quota::per_second(200)?.with_burst(5)?, 2)?;
//!     let calls = (0..5).map(|i| async move { i * i });
//!     let mut squares: Vec<u32> = gate.gather(calls).map(Result::unwrap).collect().await;
//!     squares.sort();
//!     assert_eq!(squares, [0, 1, 4, 9, 16]);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # Executors
//! [`SmolTimer`] needs only async-io's reactor, which smol's executor drives, and which
//! async-io drives from its own thread under any other executor. So these types work on
//! `smol::block_on`, `smol::spawn`, an `async_executor::Executor` or `LocalExecutor`, and
//! anything else that runs futures. pacer starts no task of its own.
//!
//! # Testing without real time
//! smol has no paused clock; pacer's is [`ManualTimer`]. Code written over [`Pacer`]`<L, T>`
//! runs in tests on a `ManualTimer`, and `smol::block_on(timer.run(future))` (or
//! [`ManualTimer::block_on`]) moves its clock to the next wake whenever the future is idle,
//! like tokio's paused time: a test of minutes of pacing takes microseconds, and every
//! instant is exact. See [`ManualTimer::run`] and this crate's tests.
//!
//! # One crate
//!
//! Everything a user of smol names comes from this crate: the runtime's types ([`Limiter`],
//! [`Gate`], [`KeyedLimiter`], [`SmolTimer`]), pacer's ([`Pacer`], [`KeyedPacer`], [`Quota`],
//! [`Error`], [`Reservation`], [`Throttle`], the schedulers and shared limiters, and what
//! reads a server's answers: [`Feedback`], [`Adaptive`]), the test
//! timer ([`ManualTimer`], with [`Run`] for virtual time), and [`pacer_core`] itself. The
//! traits, to read a clock or to write code generic over a limiter or a timer, are in
//! [`traits`] (`use pacer_smol::traits::*;`).
//!
//! # A throttled stream that outlives its scope
//!
//! `limiter.throttle(stream)` borrows the limiter. To return a throttled stream from a
//! function, or to spawn it, give it a share of the limiter:
//! [`Throttle::new`]`(Arc::clone(&limiter), stream)` is `'static`.
//!
//! ```
//! use std::sync::Arc;
//! use pacer_smol::{Limiter, Quota, Throttle};
//! use smol::stream::{self, Stream, StreamExt};
//!
//! fn paced(limiter: &Arc<Limiter>, ids: Vec<u32>) -> impl Stream<Item = u32> + Send + 'static {
//!     Throttle::new(Arc::clone(limiter), stream::iter(ids))
//! }
//!
//! # fn main() -> Result<(), pacer_smol::Error> {
//! smol::block_on(async {
//!     let limiter = Arc::new(Limiter::new(Quota::per_second(1_000)?));
//!     let task = smol::spawn(paced(&limiter, vec![1, 2, 3]).collect::<Vec<u32>>());
//!     assert_eq!(task.await, [1, 2, 3]);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # Refusals and `Retry-After`
//!
//! A bounded wait that would be too long fails at once with [`Error::WouldWait`], whose
//! instant is in the limiter's nanoseconds. [`retry_after`](Pacer::retry_after) turns it into
//! the wait from now (exact to the nanosecond, never short), and
//! [`retry_after_secs`](Pacer::retry_after_secs) into whole seconds rounded up, for an HTTP
//! `Retry-After` header (never 0 for a positive wait); [`SmolTimer::instant`] gives the
//! runtime's own instant. A keyed limiter has the same two methods.
#![forbid(unsafe_code)]

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

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

/// The traits behind the types: bring them into scope with `use pacer_smol::traits::*;` to read
/// a timer's clock ([`now`](traits::Clock::now)), to write code generic over a limiter
/// (`L: RateLimiter`) or a timer (`T: Timer`), or to drive a pure scheduler by hand.
pub mod traits {
    pub use pacer_core::{
        Clock, KeyedRateLimiter, PacerRef, Pause, RateLimiter, Reconfigure, Scheduler, Timer,
    };
}

/// A rate limiter on smol's clock: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// `Limiter` is a type alias, a name for [`Pacer`] on [`SmolTimer`]: compiler errors and
/// rustdoc show the full type (`Pacer<…, SmolTimer>`), and its methods are [`Pacer`]'s.
///
/// `L` is the shared limiter: lock-free [`AtomicLimiter`] in a [`Pausable`] by default (one
/// [`Quota`]; [`pause_for`](pacer_core::Pacer::pause_for) holds every waiter back), or any
/// [`RateLimiter`](traits::RateLimiter) such as [`Locked`]`<`[`Limits<K>`](Limits)`>`. Every method takes `&self`;
/// share it by reference or in an `Arc`.
///
/// ```
/// use pacer_smol::{Limiter, Limits, Locked, Quota};
///
/// # fn main() -> Result<(), pacer_smol::Error> {
/// smol::block_on(async {
///     let simple = Limiter::new(Quota::per_second(1_000)?);
///     simple.acquire().await?;
///
///     // Several limits at once; name the limiter type (or let inference do it).
///     let limits = Limits::new([Quota::per_second(1_000)?, Quota::per_hour(100_000)?]);
///     let both: Limiter<Locked<Limits<2>>> = Limiter::with_limiter(Locked::new(limits));
///     both.acquire_n(1).await?;
///     Ok(())
/// })
/// # }
/// ```
pub type Limiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, SmolTimer>;

/// A [`Limiter`] behind a cap on how many are in flight: "at most 50 per second and at most 10
/// at once", the job of most API clients.
///
/// `Gate` is a type alias, a name for [`pacer_core::Gate`] on [`SmolTimer`]: compiler errors
/// and rustdoc show the full type (`Gate<…, SmolTimer>`), and its methods are documented there.
///
/// [`acquire`](pacer_core::Gate::acquire) waits for a concurrency slot, then for the rate,
/// and returns a [`GatePermit`] that holds the slot until dropped.
///
/// ```
/// use pacer_smol::{Gate, Quota};
///
/// # fn main() -> Result<(), pacer_smol::Error> {
/// smol::block_on(async {
///     let gate = Gate::new(Quota::per_second(1_000)?, 10)?;
///     let permit = gate.acquire().await?;
///     assert_eq!(gate.available(), 9);
///     drop(permit); // the call is done: the slot is free again
///     Ok(())
/// })
/// # }
/// ```
pub type Gate<L = Pausable<AtomicLimiter>> = pacer_core::Gate<L, SmolTimer>;

/// One limit per key (a user, an address, a host), for up to a fixed number of busy keys, on
/// smol's clock: `limiter.acquire(&key).await` waits until a cell of that key's limit may go.
///
/// `KeyedLimiter` is a type alias, a name for [`KeyedPacer`] on [`SmolTimer`] over a
/// [`ShardedKeyedGcra`]: compiler errors and rustdoc show the full type
/// (`KeyedPacer<ShardedKeyedGcra<K>, SmolTimer>`), and its methods are [`KeyedPacer`]'s.
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
/// use pacer_smol::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pacer_smol::Error> {
/// smol::block_on(async {
///     // 100 per second to each host, for up to 10,000 hosts at once.
///     let per_host = KeyedLimiter::<String>::new(Quota::per_second(100)?, 10_000)?;
///     per_host.acquire("example.com").await?;
///     per_host.acquire("example.org").await?; // another host: no wait
///     Ok(())
/// })
/// # }
/// ```
pub type KeyedLimiter<K> = pacer_core::KeyedPacer<Pausable<ShardedKeyedGcra<K>>, SmolTimer>;

/// smol's clock and timer, as pacer needs them: a [`Clock`] reading nanoseconds since an
/// origin (a [`std::time::Instant`]), and a [`Timer`] whose sleeps are [`async_io::Timer`]s,
/// the timers smol itself uses.
///
/// The origin is the moment of construction ([`SmolTimer::new`], [`Default`]), so the
/// limiter's instants count from there. Copies share the origin and so read the same instants.
///
/// A sleep never completes early: `async_io::Timer` fires only once `Instant::now()` has
/// reached its deadline, and [`now`](Clock::now) then reads at least the instant slept until.
///
/// ```
/// use pacer_smol::SmolTimer;
/// use pacer_smol::traits::{Clock, Timer};
///
/// smol::block_on(async {
///     let timer = SmolTimer::new();
///     let at = timer.now() + 1_000_000; // 1 ms from now
///     timer.sleep_until(at).await;
///     assert!(timer.now() >= at);
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SmolTimer {
    origin: Instant,
}

impl SmolTimer {
    /// A timer whose clock reads 0 now.
    pub fn new() -> SmolTimer {
        SmolTimer::with_origin(Instant::now())
    }

    /// A timer whose clock reads 0 at `origin` (and 0 before it, if `origin` is in the
    /// future).
    pub fn with_origin(origin: Instant) -> SmolTimer {
        SmolTimer { origin }
    }

    /// The moment this clock reads 0.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The moment this clock reads `at` (for example the instant of an
    /// [`Error::WouldWait`]), or `None` if the platform's `Instant` cannot represent it.
    pub fn instant(&self, at: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(at))
    }
}

impl Default for SmolTimer {
    /// A timer whose clock reads 0 now, the same as [`SmolTimer::new`].
    fn default() -> SmolTimer {
        SmolTimer::new()
    }
}

impl Clock for SmolTimer {
    /// Whole nanoseconds since the origin (rounded down, saturating at `u64::MAX`, 584 years).
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Timer for SmolTimer {
    type Sleep = SmolSleep;

    /// An [`async_io::Timer`] for the moment this clock reads `at`. An instant the platform
    /// cannot represent is never reached: that sleep never completes.
    fn sleep_until(&self, at: u64) -> SmolSleep {
        let timer = self
            .instant(at)
            .map_or_else(async_io::Timer::never, async_io::Timer::at);
        SmolSleep { timer, done: false }
    }
}

/// The sleep of a [`SmolTimer`]: an [`async_io::Timer`] whose completion is `()`.
///
/// It registers with async-io's reactor on its first poll (one timer entry, async-io's own)
/// and deregisters when dropped. Polled again after completing, it stays complete.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct SmolSleep {
    timer: async_io::Timer,
    done: bool,
}

impl Future for SmolSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(_fired_at) => {
                self.done = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
