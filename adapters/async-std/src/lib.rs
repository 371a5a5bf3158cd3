//! # pacer-async-std
//!
//! [pacer](pacer_core) on [async-std](https://docs.rs/async-std): rate limiting whose every
//! acquisition is a reservation, waiting on async-std's timer without blocking the executor.
//!
//! **async-std is deprecated upstream** (its maintainers recommend
//! [smol](https://docs.rs/smol) instead). This crate keeps existing async-std programs working;
//! new code should prefer `pacer-smol`, which is the same timer under another name (see
//! [How it waits](#how-it-waits)).
//!
//! Name one type, [`Limiter`], share it by `&` or `Arc`, and `.await` its
//! [`acquire`](pacer_core::Pacer::acquire):
//!
//! ```
//! use pacer_async_std::{Limiter, Quota};
//!
//! # fn main() -> Result<(), pacer_async_std::Error> {
//! async_std::task::block_on(async {
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
//! one timer, until that instant: waiters are served in the order they first polled, none is
//! woken to retry, none goes early, and a waiter dropped before its instant hands its
//! reservation back.
//!
//! # What is here
//! - [`Limiter`]: a limiter on async-std's clock ([`Pacer`] on
//!   [`AsyncStdTimer`]). [`Limiter::new`](pacer_core::Pacer::new) takes a [`Quota`] and
//!   shares it lock-free ([`AtomicLimiter`]);
//!   [`Limiter::with_limiter`](pacer_core::Pacer::with_limiter) takes any [`RateLimiter`](traits::RateLimiter),
//!   for example [`Locked`]`<`[`Limits<2>`](Limits)`>` for "10 per second and 1,000 per
//!   hour" or [`Locked`]`<`[`SlidingWindow<N>`](SlidingWindow)`>`.
//! - [`Gate`]: a rate and a cap on how many are in flight ("50 per second, at most 10 at
//!   once"), with [`gather`](pacer_core::Gate::gather) to run many futures through it.
//! - [`Throttle`]: a stream that yields no faster than a limiter, made by
//!   [`Limiter::throttle`](pacer_core::Pacer::throttle).
//! - [`AsyncStdTimer`]: the clock and timer glue, for building any of these from parts.
//!
//! ```
//! use async_std::prelude::*;
//! use pacer_async_std::{Gate, Quota};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), pacer_async_std::Error> {
//! async_std::task::block_on(async {
//!     // At most 200 per second (a burst of 5 after idleness), at most 2 in flight, shared
//!     // by tasks on async-std's thread pool.
//!     let gate = Arc::new(Gate::new(Quota::per_second(200)?.with_burst(5)?, 2)?);
//!     let tasks: Vec<_> = (0..5u32)
//!         .map(|i| {
//!             let gate = Arc::clone(&gate);
//!             async_std::task::spawn(async move {
//!                 let _permit = gate.acquire().await?;
//!                 Ok::<_, pacer_async_std::Error>(i * i) // the guarded call
//!             })
//!         })
//!         .collect();
//!     let mut squares = Vec::new();
//!     for task in tasks {
//!         squares.push(task.await?);
//!     }
//!     assert_eq!(squares, [0, 1, 4, 9, 16]);
//!     // Or, within one task: gate.gather(futures) yields outputs as they finish.
//!     let calls = (0..3u32).map(|i| async move { i * 10 });
//!     let mut outputs = std::pin::pin!(gate.gather(calls));
//!     let mut sum = 0;
//!     while let Some(output) = outputs.next().await {
//!         sum += output?;
//!     }
//!     assert_eq!(sum, 30);
//!     Ok(())
//! })
//! # }
//! ```
//!
//! # How it waits
//! async-std's own sleep, `async_std::task::sleep`, is an `async fn`: its future has no name
//! a type could hold, and boxing it would allocate on every acquisition. Underneath, on every
//! target but `wasm32-unknown-unknown`, async-std's timers are
//! [`async_io::Timer`](https://docs.rs/async-io/2/async_io/struct.Timer.html)s (async-std
//! 1.13 depends on async-io 2), driven by the same async-io reactor. So [`AsyncStdTimer`]
//! sleeps on an `async_io::Timer` directly: the same timer and the same reactor as
//! `task::sleep`, in a future with a name and no allocation of pacer's (async-io keeps one
//! timer entry per waiting acquisition, as it does for `task::sleep`). smol's timers are the
//! same async-io timers, so [`AsyncStdTimer`] is pacer-smol's
//! [`SmolTimer`](pacer_smol::SmolTimer) under this crate's name.
//!
//! async-std's executor drives async-io's reactor, and async-io drives it from its own
//! thread under any other executor, so these types work on `async_std::task::block_on`,
//! `task::spawn`, and anything else that runs futures. pacer starts no task of its own.
//! (On `wasm32-unknown-unknown`, where async-std sleeps through the browser, this crate is
//! not supported.)
//!
//! # Testing without real time
//! async-std has no paused clock; pacer's is [`ManualTimer`]. Code written over
//! [`Pacer`]`<L, T>` runs in tests on a `ManualTimer`, and
//! `async_std::task::block_on(timer.run(future))` (or [`ManualTimer::block_on`]) moves its
//! clock to the next wake whenever the future is idle, like tokio's paused time. See
//! [`ManualTimer::run`] and this crate's tests.
//!
//! # One crate
//!
//! Everything a user of async-std names comes from this crate: the runtime's types ([`Limiter`],
//! [`Gate`], [`KeyedLimiter`], [`AsyncStdTimer`]), pacer's ([`Pacer`], [`KeyedPacer`], [`Quota`],
//! [`Error`], [`Reservation`], [`Throttle`], the schedulers and shared limiters, and what
//! reads a server's answers: [`Feedback`], [`Adaptive`]), the test
//! timer ([`ManualTimer`], with [`Run`] for virtual time), and [`pacer_core`] itself. The
//! traits, to read a clock or to write code generic over a limiter or a timer, are in
//! [`traits`] (`use pacer_async_std::traits::*;`).
//!
//! # A throttled stream that outlives its scope
//!
//! `limiter.throttle(stream)` borrows the limiter. To return a throttled stream from a
//! function, or to spawn it, give it a share of the limiter:
//! [`Throttle::new`]`(Arc::clone(&limiter), stream)` is `'static`.
//!
//! ```
//! use std::sync::Arc;
//! use async_std::prelude::*;
//! use async_std::stream;
//! use pacer_async_std::{Limiter, Quota, Throttle};
//!
//! fn paced(limiter: &Arc<Limiter>, ids: Vec<u32>) -> impl Stream<Item = u32> + Send + 'static {
//!     Throttle::new(Arc::clone(limiter), stream::from_iter(ids))
//! }
//!
//! # fn main() -> Result<(), pacer_async_std::Error> {
//! async_std::task::block_on(async {
//!     let limiter = Arc::new(Limiter::new(Quota::per_second(1_000)?));
//!     let stream = paced(&limiter, vec![1, 2, 3]);
//!     let task = async_std::task::spawn(async move {
//!         let mut stream = std::pin::pin!(stream);
//!         let mut ids = Vec::new();
//!         while let Some(id) = stream.next().await {
//!             ids.push(id);
//!         }
//!         ids
//!     });
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
//! `Retry-After` header (never 0 for a positive wait); [`AsyncStdTimer::instant`] gives the
//! runtime's own instant. A keyed limiter has the same two methods.
#![forbid(unsafe_code)]

/// The core crate, for what is not re-exported here (the schedulers' cancel tokens, the
/// no_std building blocks, ...).
pub use pacer_core;
pub use pacer_core::{
    Acquire, Adaptive, AtomicLimiter, Decision, DutyCycle, Error, Feedback, FeedbackError,
    GatePermit, Gcra, KeyedGcra, KeyedPacer, Limits, Locked, ManualClock, ManualSleep, ManualTimer,
    Pacer, Pausable, PerKey, Policy, Quota, Reason, Reservation, Run, ShardedKeyedGcra,
    SlidingWindow, Snapshot, Throttle, WhenFull,
};

/// The traits behind the types: bring them into scope with `use pacer_async_std::traits::*;` to read
/// a timer's clock ([`now`](traits::Clock::now)), to write code generic over a limiter
/// (`L: RateLimiter`) or a timer (`T: Timer`), or to drive a pure scheduler by hand.
pub mod traits {
    pub use pacer_core::{
        Clock, KeyedRateLimiter, PacerRef, Pause, RateLimiter, Reconfigure, Scheduler, Timer,
    };
}

/// A rate limiter on async-std's clock: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// `Limiter` is a type alias, a name for [`Pacer`] on [`AsyncStdTimer`]: compiler errors and
/// rustdoc show the full type (`Pacer<…, AsyncStdTimer>`), and its methods are [`Pacer`]'s.
///
/// `L` is the shared limiter: lock-free [`AtomicLimiter`] in a [`Pausable`] by default (one
/// [`Quota`]; [`pause_for`](pacer_core::Pacer::pause_for) holds every waiter back), or any
/// [`RateLimiter`](traits::RateLimiter) such as [`Locked`]`<`[`Limits<K>`](Limits)`>`. Every method takes `&self`;
/// share it by reference or in an `Arc`.
///
/// ```
/// use pacer_async_std::{Limiter, Limits, Locked, Quota};
///
/// # fn main() -> Result<(), pacer_async_std::Error> {
/// async_std::task::block_on(async {
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
pub type Limiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, AsyncStdTimer>;

/// A [`Limiter`] behind a cap on how many are in flight: "at most 50 per second and at most 10
/// at once", the job of most API clients.
///
/// `Gate` is a type alias, a name for [`pacer_core::Gate`] on [`AsyncStdTimer`]: compiler errors
/// and rustdoc show the full type (`Gate<…, AsyncStdTimer>`), and its methods are documented there.
///
/// [`acquire`](pacer_core::Gate::acquire) waits for a concurrency slot, then for the rate,
/// and returns a [`GatePermit`] that holds the slot until dropped.
///
/// ```
/// use pacer_async_std::{Gate, Quota};
///
/// # fn main() -> Result<(), pacer_async_std::Error> {
/// async_std::task::block_on(async {
///     let gate = Gate::new(Quota::per_second(1_000)?, 10)?;
///     let permit = gate.acquire().await?;
///     assert_eq!(gate.available(), 9);
///     drop(permit); // the call is done: the slot is free again
///     Ok(())
/// })
/// # }
/// ```
pub type Gate<L = Pausable<AtomicLimiter>> = pacer_core::Gate<L, AsyncStdTimer>;

/// One limit per key (a user, an address, a host), for up to a fixed number of busy keys:
/// `limiter.acquire(&key).await` waits until a cell of that key's limit may go.
///
/// `KeyedLimiter` is a type alias, a name for [`KeyedPacer`] on [`AsyncStdTimer`] over a
/// [`ShardedKeyedGcra`]: compiler errors and rustdoc show the full type
/// (`KeyedPacer<ShardedKeyedGcra<K>, AsyncStdTimer>`), and its methods are [`KeyedPacer`]'s.
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
/// use pacer_async_std::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pacer_async_std::Error> {
/// async_std::task::block_on(async {
///     // 100 per second to each host, for up to 10,000 hosts at once.
///     let per_host = KeyedLimiter::<String>::new(Quota::per_second(100)?, 10_000)?;
///     per_host.acquire("example.com").await?;
///     per_host.acquire("example.org").await?; // another host: no wait
///     Ok(())
/// })
/// # }
/// ```
pub type KeyedLimiter<K> = pacer_core::KeyedPacer<Pausable<ShardedKeyedGcra<K>>, AsyncStdTimer>;

/// async-std's clock and timer, as pacer needs them: a [`Clock`](traits::Clock) reading nanoseconds since an
/// origin (a [`std::time::Instant`]), and a [`Timer`](traits::Timer) whose sleeps are
/// [`async_io::Timer`][async-io-timer]s, the timers async-std's own `task::sleep` uses
/// underneath (see [How it waits](crate#how-it-waits)).
///
/// It is pacer-smol's [`SmolTimer`](pacer_smol::SmolTimer) under this crate's name: smol's
/// timers and async-std's are the same async-io timers, so one implementation serves both.
///
/// The origin is the moment of construction ([`AsyncStdTimer::new`], [`Default`]), so the
/// limiter's instants count from there. Copies share the origin and so read the same instants.
///
/// A sleep never completes early: `async_io::Timer` fires only once `Instant::now()` has
/// reached its deadline, and [`now`](traits::Clock::now) then reads at least the instant slept until.
///
/// ```
/// use pacer_async_std::AsyncStdTimer;
/// use pacer_async_std::traits::{Clock, Timer};
///
/// async_std::task::block_on(async {
///     let timer = AsyncStdTimer::new();
///     let at = timer.now() + 1_000_000; // 1 ms from now
///     timer.sleep_until(at).await;
///     assert!(timer.now() >= at);
/// });
/// ```
///
/// [async-io-timer]: https://docs.rs/async-io/2/async_io/struct.Timer.html
pub type AsyncStdTimer = pacer_smol::SmolTimer;

/// The sleep of an [`AsyncStdTimer`]: an [`async_io::Timer`][async-io-timer] whose completion
/// is `()` (pacer-smol's [`SmolSleep`](pacer_smol::SmolSleep)).
///
/// It registers with async-io's reactor on its first poll (one timer entry, async-io's own)
/// and deregisters when dropped. Polled again after completing, it stays complete.
///
/// [async-io-timer]: https://docs.rs/async-io/2/async_io/struct.Timer.html
pub type AsyncStdSleep = pacer_smol::SmolSleep;
