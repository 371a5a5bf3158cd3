//! # pacer-embassy
//!
//! [pacer](pacer_core) on [embassy-time](embassy_time): rate limiting for `no_std` async
//! firmware that never blocks the executor. Every acquisition is a reservation: it takes its
//! instant on its first poll and then sleeps exactly once, on an [`embassy_time::Timer`], until
//! that instant. No polling loop, no background task, no allocation.
//!
//! ```
//! use pacer_embassy::{Limiter, Quota};
//!
//! /// At most 10 packets per second, up to 3 back to back after a quiet spell.
//! async fn transmit(radio: &Limiter, packets: &[&[u8]]) -> Result<(), pacer_embassy::Error> {
//!     for packet in packets {
//!         radio.acquire().await?; // waits on embassy-time, the executor runs other tasks
//!         send(packet);
//!     }
//!     Ok(())
//! }
//! # fn send(_: &[u8]) {}
//!
//! # fn main() -> Result<(), pacer_embassy::Error> {
//! let radio = Limiter::new(Quota::per_second(10)?.with_burst(3)?);
//! # // The doctest runs on embassy-time's mock driver; the burst of 3 needs no waiting.
//! # futures_executor::block_on(transmit(&radio, &[b"a", b"b", b"c"]))?;
//! # assert!(radio.try_acquire(1).is_err());
//! # Ok(())
//! # }
//! ```
//!
//! In firmware, `radio` is usually a `static` (built once, for example in a `StaticCell`)
//! shared by `&'static` between tasks; every method takes `&self`.
//!
//! # Time
//!
//! An [`EmbassyTimer`] reads [`embassy_time::Instant::now`] and counts nanoseconds from the
//! instant it was made, converting ticks exactly ([`embassy_time::TICK_HZ`], rounding down);
//! its sleeps end at the first tick at or after the reserved instant (rounding up), so an
//! acquisition never completes early by either clock.
//!
//! [`Uptime`] is the same clock counted from embassy-time's own origin (boot), with no state:
//! the timer of [`StaticLimiter`], a limiter that can be a `static`, with its quota in flash.
//! At tick rates that divide 10^9 (1 kHz, 1 MHz, ...) or are a power of two (32,768 Hz) the
//! conversions need no 128-bit division.
//!
//! This crate enables no embassy-time driver and no tick rate: the application picks them
//! (a HAL's time driver, `embassy-time/std` on a host, `embassy-time/mock-driver` in tests).
//!
//! # Features
//! - `portable-atomic`: 64-bit atomics through `portable-atomic`, for `AtomicLimiter` (the
//!   default of [`Limiter`]) on targets without them: thumbv7em, thumbv6m, riscv32imc.
//! - `critical-section`: `Locked` limiters ([`Limits`], [`SlidingWindow`], or a [`Gcra`] that
//!   can be reconfigured) on a `critical-section` mutex, and, with `portable-atomic`, atomics
//!   on targets with no compare-and-swap at all (thumbv6m). The application supplies the
//!   `critical-section` implementation (for example `cortex-m`'s `critical-section-single-core`),
//!   as embassy already requires.
//!
//! On a target with native 64-bit atomics no feature is needed for [`Limiter`]. Cortex-M parts
//! (thumbv6m, thumbv7em) want both `portable-atomic` and `critical-section`: the limiter's
//! 64-bit word then lives in a `critical-section` mutex. (thumbv7em builds with
//! `portable-atomic` alone, through `portable-atomic`'s fallback: a global table of spin locks,
//! about 2 KiB of RAM.)
#![no_std]
#![forbid(unsafe_code)]

mod ticks;
mod uptime;

use core::cmp::Ordering;

use embassy_time::Instant;

use ticks::TICKS;
pub use uptime::Uptime;

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub use pacer_core::AtomicLimiter;
#[cfg(feature = "critical-section")]
pub use pacer_core::Locked;
pub use pacer_core::{
    Acquire, Clock, DutyCycle, Error, Gcra, KeyedGcra, KeyedRateLimiter, Limits, Pacer, PacerRef,
    Quota, RateLimiter, Reservation, Scheduler, SlidingWindow, Snapshot, Throttle, Timer, WhenFull,
};
pub use pacer_core::{Pausable, Pause};

/// One limit per key (a destination node, a channel), for up to `N` busy keys at once, on
/// embassy-time: `limiter.acquire(&node).await` waits until a cell of that key's limit may
/// go. `N` is a power of two; the table is a fixed [`KeyedGcra`] behind a `critical-section`
/// lock, so it needs no allocation and no 64-bit atomics, and the timer is the zero-sized
/// [`Uptime`], so the limiter can be a `static` built at compile time
/// (`KeyedLimiter::from_parts(Pausable::new(Locked::new(KeyedGcra::new(QUOTA))), Uptime)`).
/// A new key with no room is refused with [`Error::TableFull`], which carries the instant a
/// slot frees (or see [`WhenFull`]).
///
/// It is [`Pausable`]: [`pause_for`](pacer_core::KeyedPacer::pause_for) holds every key back
/// (the link is down), and [`pause_key_for`](pacer_core::KeyedPacer::pause_key_for) one key
/// alone (that node said it is busy), for up to `P` keys at once, 2 by default; one more is
/// refused with [`Error::PausedKeysFull`] and pauses nothing. Each paused-key slot is the key
/// and a 32-byte record (40 bytes for a `u8` key), and the pause of the whole table 24 bytes:
/// a `KeyedLimiter<u8, 2>` is 280 bytes on a Cortex-M. `P = 0` leaves the slots out.
///
/// ```
/// use core::time::Duration;
/// use pacer_embassy::{KeyedLimiter, Quota};
///
/// # fn main() -> Result<(), pacer_embassy::Error> {
/// // 10 sends per second to each of up to 8 nodes.
/// let per_node = KeyedLimiter::<u8, 8>::new(Quota::per_second(10)?);
/// # futures_executor::block_on(async {
/// per_node.acquire(&3).await?;
/// per_node.acquire(&4).await?; // another node: no wait
/// # Ok::<(), pacer_embassy::Error>(())
/// # })?;
/// assert!(per_node.try_acquire(&3, 1).is_err()); // node 3 waits 100 ms
///
/// per_node.pause_key_for(&5, Duration::from_secs(2))?; // node 5 is busy for 2 s
/// assert!(per_node.try_acquire(&5, 1).is_err());
/// assert!(per_node.key_paused_until(&5).is_some());
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "critical-section")]
pub type KeyedLimiter<K, const N: usize, const P: usize = 2> =
    pacer_core::KeyedPacer<Pausable<Locked<KeyedGcra<K, N, P>>>, Uptime>;

/// A rate limiter on embassy-time: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// By default it is a lock-free [`AtomicLimiter`] for one [`Quota`] in a [`Pausable`], made with
/// [`Limiter::new`](pacer_core::Pacer::new); any other [`RateLimiter`] (for example
/// `Locked<Limits<2>>`, with the `critical-section` feature) goes in with
/// [`Limiter::with_limiter`](pacer_core::Pacer::with_limiter). See [`pacer_core::Pacer`] for
/// all its methods.
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub type Limiter<L = Pausable<AtomicLimiter>> = pacer_core::Pacer<L, EmbassyTimer>;

/// A rate limiter on embassy-time: `limiter.acquire().await` waits, without blocking the
/// executor, until a cell may go.
///
/// This target has no 64-bit atomics, so there is no default limiter: enable the
/// `portable-atomic` feature for `AtomicLimiter`, or use `Locked` (feature
/// `critical-section`). See [`pacer_core::Pacer`] for all its methods.
#[cfg(not(any(feature = "portable-atomic", target_has_atomic = "64")))]
pub type Limiter<L> = pacer_core::Pacer<L, EmbassyTimer>;

/// The limiter for firmware: a lock-free [`AtomicLimiter`] that borrows a quota kept in flash,
/// on the zero-sized [`Uptime`] timer, built at compile time so it can be a `static`.
///
/// `Q` is how it holds the quota: by default a `&'static Quota` (16 bytes of RAM on a 32-bit
/// part: the arrival time and the reference), or a zero-sized type of the application's that
/// lends its `static` quota through [`Borrow`](core::borrow::Borrow): then the RAM is the
/// 8-byte arrival time alone, and the compiler specializes the acquisition for that quota
/// (on a Cortex-M4 with a 10-per-second quota, 1,244 bytes of code instead of 2,742; see the
/// README). [`Limiter`] holds its quota and its timer's origin in RAM: 80 bytes on thumbv7em.
/// Make it with [`StaticLimiter::from_quota`](pacer_core::Pacer::from_quota); every method
/// of [`pacer_core::Pacer`] is there.
///
/// ```
/// use pacer_embassy::{Quota, StaticLimiter, Uptime};
///
/// static QUOTA: Quota = match Quota::per_second(10) {
///     Ok(quota) => quota,
///     Err(_) => panic!("10 per second is valid"), // a compile error, never a run-time one
/// };
/// static RADIO: StaticLimiter = StaticLimiter::from_quota(&QUOTA, Uptime);
///
/// async fn send(packet: &[u8]) -> Result<(), pacer_embassy::Error> {
///     RADIO.acquire().await?; // waits on embassy-time
///     # let _ = packet;
///     Ok(())
/// }
/// # futures_executor::block_on(send(b"hello")).unwrap();
/// # assert!(RADIO.try_acquire(1).is_err());
/// ```
///
/// The quota as a type, for the least RAM and code:
///
/// ```
/// use core::borrow::Borrow;
/// use pacer_embassy::{Quota, StaticLimiter, Uptime};
///
/// static QUOTA: Quota = match Quota::per_second(10) {
///     Ok(quota) => quota,
///     Err(_) => panic!("10 per second is valid"),
/// };
///
/// /// Lends `QUOTA`: a limiter holding it keeps nothing of the quota in RAM.
/// struct RadioQuota;
///
/// impl Borrow<Quota> for RadioQuota {
///     fn borrow(&self) -> &Quota {
///         &QUOTA
///     }
/// }
///
/// static RADIO: StaticLimiter<RadioQuota> = StaticLimiter::from_quota(RadioQuota, Uptime);
/// # assert!(RADIO.try_acquire(1).is_ok());
/// ```
#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
pub type StaticLimiter<Q = &'static Quota> = pacer_core::Pacer<AtomicLimiter<Q>, Uptime>;

/// The [`Clock`] and [`Timer`] of embassy-time: instants are nanoseconds since its origin, an
/// [`embassy_time::Instant`] taken when it is made, and its sleeps are
/// [`embassy_time::Timer`]s.
///
/// It is one `Instant` (`Copy`), so every [`Limiter`] holds its own; readings need the
/// application's embassy-time driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbassyTimer {
    origin: Instant,
}

impl EmbassyTimer {
    /// A timer whose origin is now.
    pub fn new() -> EmbassyTimer {
        EmbassyTimer::with_origin(Instant::now())
    }

    /// A timer whose origin is `origin` (instants before it read as 0).
    pub const fn with_origin(origin: Instant) -> EmbassyTimer {
        EmbassyTimer { origin }
    }

    /// The embassy-time instant this timer counts from.
    pub const fn origin(&self) -> Instant {
        self.origin
    }

    /// The first embassy-time instant (a whole tick) at which this clock reads `at`
    /// nanoseconds or more: what [`sleep_until`](Timer::sleep_until) waits for.
    /// [`Instant::MAX`] if that is beyond embassy-time's range.
    pub fn instant_at(&self, at: u64) -> Instant {
        let ticks = TICKS.ticks(at);
        Instant::from_ticks(self.origin.as_ticks().saturating_add(ticks))
    }

    /// The reading of this clock at `instant`: whole nanoseconds since the origin, rounded
    /// down (0 before the origin, `u64::MAX` past the range).
    pub fn nanos_at(&self, instant: Instant) -> u64 {
        match instant.cmp(&self.origin) {
            Ordering::Greater => TICKS.nanos(instant.as_ticks() - self.origin.as_ticks()),
            _ => 0,
        }
    }
}

impl Default for EmbassyTimer {
    /// A timer whose origin is now, as [`EmbassyTimer::new`].
    fn default() -> EmbassyTimer {
        EmbassyTimer::new()
    }
}

impl Clock for EmbassyTimer {
    /// Nanoseconds since the origin, exact to the tick: `ticks · 10^9 / TICK_HZ`, rounded down.
    fn now(&self) -> u64 {
        self.nanos_at(Instant::now())
    }
}

impl Timer for EmbassyTimer {
    type Sleep = embassy_time::Timer;

    /// An [`embassy_time::Timer`] at [`instant_at(at)`](EmbassyTimer::instant_at): the first
    /// tick at which [`now`](Clock::now) reads `at` or more, so it never wakes early.
    fn sleep_until(&self, at: u64) -> embassy_time::Timer {
        embassy_time::Timer::at(self.instant_at(at))
    }
}
