//! `PreciseTimer`: a tokio timer with nanosecond deadlines, for when tokio's 1 ms ticks are
//! too coarse (Linux and Android, feature `precise`).

mod alarm;
mod queue;
mod shared;
mod sleep;

use std::collections::TryReserveError;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pacer_core::{Clock, Timer};

pub use sleep::PreciseSleep;

use shared::Shared;

/// A pacer [`Timer`] for tokio with nanosecond deadlines, so that a rate is kept exactly where
/// tokio's millisecond wheel loses up to a tick per wait.
///
/// Each timer is one Linux `timerfd` in tokio's own reactor, set for the earliest deadline of
/// a queue of its sleeps. When it rings, tokio's I/O driver wakes every sleep that is due and
/// sets it for the next: no thread and no task of pacer's own, one file descriptor per timer
/// (not per sleep), and no allocation per sleep. Clones share the timer, its queue and its
/// origin.
///
/// A sleep never ends before its deadline, and ends at most the timer's
/// [slack](PreciseTimer::set_slack) after it (1 ms by default), plus the time the runtime
/// takes to wake. Close deadlines share one wake-up of the runtime, which rings at the last
/// of them, so that sleep ends on time. tokio's timer ends every wait on its next 1 ms tick,
/// which is why one task looping at 1,000 per second gets about 950, and why in pacer's herd
/// benchmark (1,000 or 10,000 waiters at once) the first-to-last rate read up to 0.38% under
/// its target. On this timer the loop keeps 1,000 and the herd stayed within 0.011%, at about
/// the CPU cost of tokio's timer.
///
/// It reads [`std::time::Instant`], not tokio's clock, so it does **not** follow tokio's paused
/// time: test throttled code on [`TokioTimer`](crate::TokioTimer) under paused time or on
/// [`pacer_core::ManualTimer`].
///
/// The timerfd belongs to the runtime the timer was made in. If that runtime shuts down while
/// the timer lives on, the timer can no longer ring: its sleeps then finish their waits on
/// tokio's own timer, in whatever runtime polls them, and still never end early.
///
/// ```
/// use pacer_tokio::{PreciseLimiter, PreciseTimer, Quota};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Made inside the runtime whose reactor it joins.
/// let timer = PreciseTimer::new()?;
/// let limiter: PreciseLimiter = timer.limiter(Quota::per_second(1_000)?);
/// for _ in 0..3 {
///     limiter.acquire().await?; // 1 ms apart, to within microseconds
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PreciseTimer {
    origin: Instant,
    shared: Arc<Shared>,
}

impl PreciseTimer {
    /// The slack a new timer has: 1 ms, tokio's own timer resolution (see
    /// [`set_slack`](PreciseTimer::set_slack)).
    pub const DEFAULT_SLACK: Duration = Duration::from_millis(1);

    /// A timer whose origin is now, in the current tokio runtime's reactor.
    ///
    /// # Errors
    ///
    /// If this thread is not in a tokio runtime, if the runtime was built without
    /// `enable_io` (tokio's panic is caught and turned into this error), or if the system
    /// refuses a `timerfd` (for example, out of file descriptors).
    pub fn new() -> io::Result<PreciseTimer> {
        PreciseTimer::with_origin(Instant::now())
    }

    /// A timer whose instant 0 is `origin`, in the current tokio runtime's reactor.
    ///
    /// # Errors
    ///
    /// As for [`new`](PreciseTimer::new).
    pub fn with_origin(origin: Instant) -> io::Result<PreciseTimer> {
        Ok(PreciseTimer {
            origin,
            shared: Shared::new()?,
        })
    }

    /// A limiter of `quota` on this timer (a clone of it, so many limiters can share one
    /// timer and its one file descriptor).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pacer_tokio::{PreciseTimer, Quota};
    ///
    /// let timer = PreciseTimer::new()?;
    /// let api = timer.limiter(Quota::per_second(100)?);
    /// let uploads = timer.limiter(Quota::per_second(5)?);
    /// api.acquire().await?;
    /// uploads.acquire().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn limiter(&self, quota: pacer_core::Quota) -> crate::PreciseLimiter {
        let limiter = pacer_core::Pausable::new(pacer_core::AtomicLimiter::new(quota));
        crate::PreciseLimiter::from_parts(limiter, self.clone())
    }

    /// A gate on this timer: `quota`, and at most `concurrency` holders of a permit at once.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroConcurrency`](pacer_core::Error::ZeroConcurrency) if `concurrency` is
    /// zero, which could never admit anything.
    pub fn gate(
        &self,
        quota: pacer_core::Quota,
        concurrency: usize,
    ) -> Result<crate::PreciseGate, pacer_core::Error> {
        crate::PreciseGate::from_parts(self.limiter(quota), concurrency)
    }

    /// The instant this timer counts from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The [`Instant`] of pacer instant `at`: the origin plus `at` nanoseconds, or `None` if
    /// that lies beyond what [`Instant`] can represent.
    pub fn instant(&self, at: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(at))
    }

    /// How many sleeps of this timer are queued, waiting for their deadline.
    pub fn waiting(&self) -> usize {
        self.shared.waiting()
    }

    /// Makes room for at least `additional` more sleeps than wait now, so that none of them
    /// allocates. For this timer and its clones.
    ///
    /// Without it the queue grows as needed, doubling: a timer that once had 1,000 sleeps
    /// waiting at the same time allocated about 10 times on the way, and never again for as
    /// many. Call it where even those few allocations matter, with the most sleeps that will
    /// wait at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let timer = pacer_tokio::PreciseTimer::new()?;
    /// timer.reserve(10_000)?;
    /// assert!(timer.reserve(usize::MAX).is_err()); // an error, not a panic
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// If the room asked for exceeds what the system can give, as
    /// [`Vec::try_reserve`] does; the timer works on as before.
    pub fn reserve(&self, additional: usize) -> Result<(), TryReserveError> {
        self.shared.reserve(additional)
    }

    /// Lets sleeps end up to `slack` after their deadline, so that close deadlines share one
    /// wake-up of the runtime: about one per `slack` rather than one per deadline. For this
    /// timer and its clones.
    ///
    /// The alarm rings at the latest deadline that is no more than `slack` after the earliest
    /// one waiting, and every sleep due by then ends together: the earliest at most `slack`
    /// late, the last on time. A sleep still never ends before its deadline. The default is
    /// [`DEFAULT_SLACK`](PreciseTimer::DEFAULT_SLACK); zero rings once for each deadline.
    ///
    /// A smaller slack trades CPU for punctuality at high rates only: at 20,000 per second the
    /// deadlines are 50 µs apart, and in pacer's herd benchmark (10,000 waiters, 2 cores) no
    /// slack cost 3 to 4 times the CPU of tokio's own timer, against about the same with the
    /// default. One waiter looping alone is woken at its own deadline whatever the slack.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    ///
    /// let timer = pacer_tokio::PreciseTimer::new()?;
    /// assert_eq!(timer.slack(), pacer_tokio::PreciseTimer::DEFAULT_SLACK);
    /// timer.set_slack(Duration::ZERO); // a wake-up for every deadline
    /// assert_eq!(timer.clone().slack(), Duration::ZERO);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_slack(&self, slack: Duration) {
        self.shared.set_slack(slack);
    }

    /// How late a sleep may end so that it ends with earlier ones (see
    /// [`set_slack`](PreciseTimer::set_slack)).
    pub fn slack(&self) -> Duration {
        self.shared.slack()
    }
}

impl fmt::Debug for PreciseTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreciseTimer")
            .field("origin", &self.origin)
            .field("slack", &self.slack())
            .field("waiting", &self.waiting())
            .finish()
    }
}

impl Clock for PreciseTimer {
    /// Nanoseconds since the origin by [`Instant`], saturating at `u64::MAX` (after about
    /// 584 years).
    fn now(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Timer for PreciseTimer {
    type Sleep = PreciseSleep;

    /// A sleep until the origin plus `at`; one beyond what [`Instant`] can represent never
    /// ends.
    fn sleep_until(&self, at: u64) -> PreciseSleep {
        PreciseSleep::new(self.shared.clone(), self.instant(at))
    }
}
