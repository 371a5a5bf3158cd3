//! pacer's async contract on async-std's executor, with time driven by
//! `pacer_core::ManualTimer`.
//!
//! async-std has no paused clock, so these tests spawn pacer's futures as tasks of async-std's
//! own (multi-threaded) executor and move a manual clock only while every task is idle. Idle is
//! known exactly, not guessed: each task counts itself busy from the moment it is woken (or
//! spawned) until its poll returns, so "no task busy" means every task has finished or waits for
//! a wake-up only the test can cause. Each test sees exactly one schedule and never waits on
//! real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_std::task::JoinHandle;
use pacer_tests::scenarios::{self, Rt};

/// async-std's executor, with a count of the tasks that are runnable or running.
struct AsyncStd {
    busy: Arc<AtomicUsize>,
}

impl AsyncStd {
    fn new() -> AsyncStd {
        AsyncStd {
            busy: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// The waker a [`Quiet`] task hands its future: marks the task busy, then wakes it.
struct QuietWaker {
    scheduled: AtomicBool,
    busy: Arc<AtomicUsize>,
    inner: Mutex<Option<Waker>>,
}

impl Wake for QuietWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::SeqCst) {
            self.busy.fetch_add(1, Ordering::SeqCst);
        }
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(waker) = inner.as_ref() {
            waker.wake_by_ref();
        }
    }
}

/// A task's future, counted busy while it is scheduled or being polled.
struct Quiet<F> {
    state: Arc<QuietWaker>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Quiet<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        {
            let mut inner = self
                .state
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !inner.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *inner = Some(cx.waker().clone());
            }
        }
        // This run takes over the wake-up that scheduled it (if one did: a wake-up absorbed
        // by an earlier run leaves nothing to take); a wake-up from here on counts anew.
        let held = self.state.scheduled.swap(false, Ordering::SeqCst);
        let waker = Waker::from(Arc::clone(&self.state));
        let poll = self.future.as_mut().poll(&mut Context::from_waker(&waker));
        if held {
            self.state.busy.fetch_sub(1, Ordering::SeqCst); // this run is over
        }
        poll
    }
}

impl<F> Drop for Quiet<F> {
    fn drop(&mut self) {
        // Cancelled while scheduled: that wake-up will never run.
        if self.state.scheduled.swap(false, Ordering::SeqCst) {
            self.state.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Rt for AsyncStd {
    type Handle = JoinHandle<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> JoinHandle<()> {
        self.busy.fetch_add(1, Ordering::SeqCst);
        let state = Arc::new(QuietWaker {
            scheduled: AtomicBool::new(true),
            busy: Arc::clone(&self.busy),
            inner: Mutex::new(None),
        });
        async_std::task::spawn(Quiet {
            state,
            future: Box::pin(future),
        })
    }

    fn detach(&self, handle: JoinHandle<()>) {
        drop(handle); // an async-std task runs on when its handle is dropped
    }

    fn cancel(&self, handle: JoinHandle<()>) {
        // Returns once the task has stopped and its future is dropped.
        async_std::task::block_on(handle.cancel());
        self.settle();
    }

    fn settle(&self) {
        // Only a watchdog: a broken test fails instead of hanging. Nothing here measures time.
        let started = Instant::now();
        while self.busy.load(Ordering::SeqCst) != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "tasks never settled"
            );
            std::thread::yield_now();
        }
    }
}

#[test]
fn completion_instants_conform_never_early_under_load() {
    scenarios::conformance_under_load(&AsyncStd::new());
}

#[test]
fn fifo_across_tasks() {
    scenarios::fifo_across_tasks(&AsyncStd::new());
}

#[test]
fn dropping_the_newest_waiter_returns_its_slot() {
    scenarios::cancel_returns_newest_slot(&AsyncStd::new());
}

#[test]
fn weighted_acquisitions() {
    scenarios::weights(&AsyncStd::new());
}

#[test]
fn too_heavy_and_would_wait() {
    scenarios::errors(&AsyncStd::new());
}

#[test]
fn throttle_spaces_items() {
    scenarios::throttle_spacing(&AsyncStd::new());
}

#[test]
fn gate_never_exceeds_its_concurrency() {
    scenarios::gate_concurrency(&AsyncStd::new());
}

#[test]
fn thousand_waiters_polled_at_most_twice() {
    scenarios::poll_counts(&AsyncStd::new());
}

#[test]
fn keyed_acquisitions_per_key() {
    scenarios::keyed_acquisitions(&AsyncStd::new());
}

#[test]
fn a_pause_moves_every_waiter() {
    scenarios::pause_moves_every_waiter(&AsyncStd::new());
}

#[test]
fn a_pause_of_one_key_moves_its_waiters() {
    scenarios::key_pause_moves_its_waiters(&AsyncStd::new());
}
