//! Virtual time that moves by itself: [`ManualTimer::run`] and [`ManualTimer::block_on`] run a
//! future and, whenever it is idle, move the timer's clock to the next sleep's instant.

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use alloc::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::task::Wake;
use std::thread::{self, Thread};

use pin_project_lite::pin_project;

use crate::{Clock, ManualTimer};

impl ManualTimer {
    /// Runs `future` on virtual time: a future that completes with `future`'s output, and
    /// that, whenever `future` is idle (it returned `Pending` and nothing woke it since),
    /// moves this timer's clock to the earliest registered sleep's instant, waking that sleep.
    /// It is tokio's paused time on pacer's clock, for any executor: `smol::block_on`,
    /// `LocalPool::run_until`, `futures::executor::block_on`, or [`block_on`](Self::block_on).
    ///
    /// Time moves only when everything inside `future` waits, and only as far as the next
    /// sleep, so the code under test sees the exact instants it would see on a real clock, in
    /// microseconds of real time. Run everything the test needs to happen at once inside this
    /// one future (join them, or use a `FuturesUnordered`, [`Gate::gather`](crate::Gate::gather),
    /// `select`): tasks spawned on the executor outside it do not hold time back, so they could
    /// find the clock moved past their instants before they run.
    ///
    /// When `future` is idle and no sleep of this timer is registered, nothing on virtual time
    /// can move it: the run waits to be woken from outside, as any future would (a future that
    /// waits for something that never happens never completes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{AtomicLimiter, Clock, ManualTimer, Pacer, Quota};
    ///
    /// let timer = ManualTimer::new();
    /// let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(10)?), timer.clone());
    /// let sent_at = futures_executor::block_on(timer.run(async {
    ///     let mut sent_at = Vec::new();
    ///     for _ in 0..25 {
    ///         pacer.acquire().await?;
    ///         sent_at.push(pacer.timer().now());
    ///     }
    ///     Ok::<_, pacer_core::Error>(sent_at)
    /// }))?;
    /// assert_eq!(sent_at[1] - sent_at[0], 100_000_000); // 100 ms apart
    /// assert_eq!(timer.now(), 2_400_000_000); // 2.4 s of virtual time
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn run<F: Future>(&self, future: F) -> Run<F> {
        Run {
            future,
            timer: self.clone(),
            wakes: Arc::new(Wakes::default()),
        }
    }

    /// Runs `future` to completion on the current thread, on virtual time (see
    /// [`run`](Self::run)): whenever it is idle, the clock moves to the next sleep's instant.
    ///
    /// If `future` is idle and no sleep of this timer is registered, the thread parks until
    /// something outside wakes the future (another thread, a channel), as any `block_on`
    /// does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pacer_core::{AtomicLimiter, Clock, ManualTimer, Pacer, Quota};
    ///
    /// let timer = ManualTimer::new();
    /// let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(5)?), timer.clone());
    /// // Three callers at once: their waits end at 0, 200 and 400 ms of virtual time.
    /// timer.block_on(async {
    ///     let call = || async { pacer.acquire().await.map(|()| pacer.timer().now()) };
    ///     let (a, b, c) = futures_util::join!(call(), call(), call());
    ///     assert_eq!((a?, b?, c?), (0, 200_000_000, 400_000_000));
    ///     Ok::<(), pacer_core::Error>(())
    /// })?;
    /// assert_eq!(timer.now(), 400_000_000);
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut run = core::pin::pin!(self.run(future));
        let parker = Arc::new(Parker {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&parker));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = run.as_mut().poll(&mut cx) {
                return output;
            }
            while !parker.woken.swap(false, Ordering::AcqRel) {
                thread::park();
            }
        }
    }

    /// Moves the clock to the earliest registered sleep's instant, waking it, and returns
    /// that instant; `None` (and no move) if no sleep is registered.
    fn advance_to_next_wake(&self) -> Option<u64> {
        let at = self.next_wake()?.max(self.now());
        self.set(at);
        Some(at)
    }
}

pin_project! {
    /// A future on virtual time, made by [`ManualTimer::run`]: it completes with the inner
    /// future's output, moving the timer's clock to the next sleep whenever the inner future
    /// is idle.
    #[must_use = "futures do nothing unless polled"]
    pub struct Run<F> {
        #[pin]
        future: F,
        timer: ManualTimer,
        wakes: Arc<Wakes>,
    }
}

impl<F> core::fmt::Debug for Run<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Run")
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for Run<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        this.wakes.forward_to(cx.waker());
        let waker = Waker::from(Arc::clone(this.wakes));
        let mut inner = Context::from_waker(&waker);
        loop {
            this.wakes.woken.store(false, Ordering::Release);
            if let Poll::Ready(output) = this.future.as_mut().poll(&mut inner) {
                return Poll::Ready(output);
            }
            if this.wakes.woken.load(Ordering::Acquire) {
                // Something is ready already (the wake went on to the executor): let the
                // executor poll again rather than move time.
                return Poll::Pending;
            }
            // Idle: move time to the next sleep, which wakes it, and poll again; with no
            // sleep registered, only a wake from outside can move the future.
            if this.timer.advance_to_next_wake().is_none() {
                return Poll::Pending;
            }
        }
    }
}

/// The waker a [`Run`] gives its future: records that the future was woken, and passes the
/// wake on to the executor's waker.
#[derive(Debug, Default)]
struct Wakes {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wakes {
    fn forward_to(&self, waker: &Waker) {
        let mut outer = self.outer.lock().unwrap_or_else(PoisonError::into_inner);
        if !outer.as_ref().is_some_and(|held| held.will_wake(waker)) {
            *outer = Some(waker.clone());
        }
    }
}

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        // Wake outside the lock, so an executor whose wake runs code that wakes this run
        // again cannot find the lock held.
        let outer = self
            .outer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(waker) = outer {
            waker.wake();
        }
    }
}

/// The waker of [`ManualTimer::block_on`]: unparks the blocked thread.
#[derive(Debug)]
struct Parker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
