//! `ManualTimer`: a timer whose sleeps complete when a test moves its clock.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Clock, ManualClock, Timer};

/// A [`Timer`] on a [`ManualClock`]: its sleeps complete when the test advances the clock past
/// them, on any executor, in microseconds of real time.
///
/// Clones share one clock and one set of sleepers. [`advance`](ManualTimer::advance) and
/// [`set`](ManualTimer::set) wake exactly the sleepers whose instant has been reached; the
/// woken tasks run when the executor next polls them.
///
/// ```
/// use pacer_core::{Clock, ManualTimer, Timer};
/// use std::time::Duration;
///
/// let timer = ManualTimer::new();
/// let mut sleep = std::pin::pin!(timer.sleep_until(5_000));
/// let waker = std::task::Waker::noop();
/// let mut cx = std::task::Context::from_waker(&waker);
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// timer.advance(Duration::from_micros(5));
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// # use std::future::Future;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualTimer {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    clock: ManualClock,
    /// Sleepers by (instant, id): the id keeps equal instants apart.
    sleepers: Mutex<Sleepers>,
}

#[derive(Debug, Default)]
struct Sleepers {
    next_id: u64,
    waiting: BTreeMap<(u64, u64), Waker>,
}

impl ManualTimer {
    /// A timer whose clock reads 0.
    pub fn new() -> ManualTimer {
        ManualTimer::default()
    }

    /// The clock this timer reads.
    pub fn clock(&self) -> &ManualClock {
        &self.shared.clock
    }

    /// Moves the clock forward by `by`, wakes every sleeper now due, and returns the new
    /// instant.
    pub fn advance(&self, by: Duration) -> u64 {
        let now = self.shared.clock.advance(by);
        self.wake_due(now);
        now
    }

    /// Sets the clock to `nanos` (forwards or backwards) and wakes every sleeper now due.
    pub fn set(&self, nanos: u64) {
        self.shared.clock.set(nanos);
        self.wake_due(nanos);
    }

    /// How many sleeps are registered and not yet due.
    pub fn sleepers(&self) -> usize {
        self.lock().waiting.len()
    }

    /// The earliest instant a registered sleep waits for, if any: advance to it to wake the
    /// next sleeper.
    pub fn next_wake(&self) -> Option<u64> {
        self.lock().waiting.keys().next().map(|&(at, _)| at)
    }

    fn wake_due(&self, now: u64) {
        let due = {
            let mut sleepers = self.lock();
            let later = sleepers.waiting.split_off(&(now.saturating_add(1), 0));
            core::mem::replace(&mut sleepers.waiting, later)
        };
        due.into_values().for_each(Waker::wake);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sleepers> {
        self.shared
            .sleepers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualTimer {
    fn now(&self) -> u64 {
        self.shared.clock.now()
    }
}

impl Timer for ManualTimer {
    type Sleep = ManualSleep;

    fn sleep_until(&self, at: u64) -> ManualSleep {
        ManualSleep {
            timer: self.clone(),
            at,
            key: None,
        }
    }
}

/// The sleep of a [`ManualTimer`]: completes once its clock reads the instant.
#[derive(Debug)]
pub struct ManualSleep {
    timer: ManualTimer,
    at: u64,
    key: Option<(u64, u64)>,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.timer.now() >= self.at {
            self.deregister();
            return Poll::Ready(());
        }
        let at = self.at;
        let mut sleepers = self.timer.lock();
        let key = match self.key {
            Some(key) => key,
            None => {
                sleepers.next_id += 1;
                (at, sleepers.next_id)
            }
        };
        sleepers.waiting.insert(key, cx.waker().clone());
        drop(sleepers);
        self.key = Some(key);
        // The clock may have moved between the check and the registration.
        if self.timer.now() >= self.at {
            self.deregister();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl ManualSleep {
    fn deregister(&mut self) {
        if let Some(key) = self.key.take() {
            self.timer.lock().waiting.remove(&key);
        }
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        self.deregister();
    }
}
