//! `Pacer`: a shared limiter on a runtime's timer, the type async code holds.

use core::time::Duration;

use crate::{Acquire, Error, RateLimiter, Snapshot, Timer};

/// A [`RateLimiter`] paired with a [`Timer`]: `acquire().await` waits, without blocking the
/// executor, until the cells may go.
///
/// Adapter crates name it for their runtime (`pacer_tokio::Limiter`, `pacer_smol::Limiter`,
/// ...), so user code names one type. Share it by `&` or `Arc`; every method takes `&self`.
///
/// Each waiting acquisition reserves its instant on its first poll and then sleeps exactly
/// once, until that instant: waiters are served in the order they first polled (FIFO), none
/// is woken to retry, and none passes early.
///
/// ```
/// use pacer_core::{ManualTimer, Pacer, Quota};
/// # futures_executor::block_on(async {
/// let timer = ManualTimer::new();
/// let pacer = Pacer::from_parts(
///     pacer_core::AtomicLimiter::new(Quota::per_second(10)?),
///     timer.clone(),
/// );
/// pacer.acquire().await?; // the first cell goes at once
/// assert!(pacer.try_acquire(1).is_err()); // the next is 100 ms away
/// timer.advance(std::time::Duration::from_millis(100));
/// pacer.acquire().await?;
/// # Ok::<(), pacer_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Pacer<L, T> {
    limiter: L,
    timer: T,
}

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
impl<T: Timer + Default> Pacer<crate::Pausable<crate::AtomicLimiter>, T> {
    /// A lock-free [`AtomicLimiter`](crate::AtomicLimiter) for `quota`, in a
    /// [`Pausable`](crate::Pausable) so that [`pause_for`](Pacer::pause_for) can hold every
    /// waiter back, on a new default timer of the runtime.
    ///
    /// For a limiter that cannot be paused (a few bytes and loads less), use
    /// [`with_limiter`](Pacer::with_limiter)`(AtomicLimiter::new(quota))`.
    pub fn new(quota: crate::Quota) -> Self {
        Pacer::from_parts(
            crate::Pausable::new(crate::AtomicLimiter::new(quota)),
            T::default(),
        )
    }
}

impl<L: RateLimiter, T: Timer + Default> Pacer<L, T> {
    /// Any limiter (for example [`Locked`](crate::Locked)`<`[`Limits<2>`](crate::Limits)`>`)
    /// on a new default timer of the runtime.
    pub fn with_limiter(limiter: L) -> Self {
        Pacer::from_parts(limiter, T::default())
    }
}

#[cfg(any(feature = "portable-atomic", target_has_atomic = "64"))]
impl<Q: core::borrow::Borrow<crate::Quota>, T: Timer> Pacer<crate::AtomicLimiter<Q>, T> {
    /// A lock-free [`AtomicLimiter`](crate::AtomicLimiter) for `quota` on `timer`, where
    /// `quota` is a [`Quota`](crate::Quota), a reference to one, or a type that lends one.
    ///
    /// A `const fn`: with a quota in a `static` (so in flash) and a timer that is a constant,
    /// the whole limiter can be a `static`. A reference costs a pointer of RAM and leaves the
    /// compiler a quota it knows only at run time; a zero-sized type that lends the `static`
    /// costs nothing and lets the compiler specialize every decision for that quota (see
    /// [`AtomicLimiter`](crate::AtomicLimiter)).
    ///
    /// ```
    /// use pacer_core::{ManualTimer, Pacer, Quota};
    ///
    /// static QUOTA: Quota = match Quota::per_second(10) {
    ///     Ok(quota) => quota,
    ///     Err(_) => panic!("a valid quota"),
    /// };
    /// let pacer = Pacer::from_quota(&QUOTA, ManualTimer::new());
    /// assert!(pacer.try_acquire(1).is_ok());
    /// assert!(pacer.try_acquire(1).is_err()); // the next is 100 ms away
    /// ```
    pub const fn from_quota(quota: Q, timer: T) -> Self {
        Pacer::from_parts(crate::AtomicLimiter::new(quota), timer)
    }
}

impl<L: RateLimiter, T: Timer> Pacer<L, T> {
    /// `limiter` on `timer` (a `const fn`, for limiters in `static`s).
    pub const fn from_parts(limiter: L, timer: T) -> Self {
        Pacer { limiter, timer }
    }

    /// Waits until one cell may go, then completes.
    pub fn acquire(&self) -> Acquire<'_, &L, T> {
        self.acquire_n(1)
    }

    /// Waits until `cells` cells may go at once, then completes. Fails at once with
    /// [`Error::TooHeavy`] if `cells` is more than the burst allows.
    pub fn acquire_n(&self, cells: u32) -> Acquire<'_, &L, T> {
        Acquire::new(&self.limiter, &self.timer, cells, Duration::MAX)
    }

    /// Like [`acquire_n`](Pacer::acquire_n), but fails at once with [`Error::WouldWait`]
    /// (reserving nothing) if the cells could go only after `max_wait`.
    pub fn acquire_within(&self, cells: u32, max_wait: Duration) -> Acquire<'_, &L, T> {
        Acquire::new(&self.limiter, &self.timer, cells, max_wait)
    }

    /// Takes `cells` cells now if they are free, without waiting.
    pub fn try_acquire(&self, cells: u32) -> Result<(), Error> {
        self.limiter
            .try_acquire(self.timer.now(), cells)
            .map(|_spent| ())
    }

    /// The remaining burst and the earliest instant for one cell, now.
    pub fn snapshot(&self) -> Snapshot {
        self.limiter.snapshot(self.timer.now())
    }

    /// How long a call to [`acquire_n`](Pacer::acquire_n) made now would wait.
    pub fn delay(&self, cells: u32) -> Result<Duration, Error> {
        let now = self.timer.now();
        let at = self.limiter.earliest(now, cells)?;
        Ok(Duration::from_nanos(at.saturating_sub(now)))
    }

    /// The shared limiter.
    pub fn limiter(&self) -> &L {
        &self.limiter
    }

    /// The timer, whose clock gives the limiter's instants.
    pub fn timer(&self) -> &T {
        &self.timer
    }
}
