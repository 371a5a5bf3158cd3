//! `Shared`: what a [`PreciseTimer`](super::PreciseTimer) and its sleeps share: the waiter
//! queue and the alarm set for its earliest deadline, under one mutex.
//!
//! The alarm wakes a waker of the timer's own (`Ring`), not a sleep's. Waking it runs
//! [`Shared::ring`] right where tokio's I/O driver delivers the event: it wakes every sleep
//! that is due and sets the alarm for the next. So no waiter depends on another waiter's task
//! being polled, and there is no background task.
//!
//! Sleeps are woken after the mutex is released, so a waker that runs code at once (some
//! executors poll inside `wake`) cannot come back into a held lock.

use std::collections::TryReserveError;
use std::io;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::alarm::Alarm;
use super::queue::{Ticket, WaiterQueue};

/// The queue and the alarm of one timer.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

/// What the mutex guards.
#[derive(Debug)]
struct State {
    queue: WaiterQueue,
    /// `None` once the alarm failed (its runtime shut down, or the system refused a call):
    /// sleeps then fall back to tokio's own timer.
    alarm: Option<Alarm>,
    /// Wakes [`Shared::ring`] when the alarm rings.
    ring: Waker,
    /// How late a sleep may end so that it is woken together with earlier ones (zero: each
    /// at its own deadline).
    slack: Duration,
    /// The wakers of sleeps taken out of the queue as due, to be woken once the lock is
    /// released. Empty whenever the lock is free; its buffer is kept, so waking allocates
    /// nothing once it has grown.
    due: Vec<Waker>,
    /// Wakers replaced or taken out with their sleep, to be dropped once the lock is released
    /// (dropping a waker may run an executor's code). Empty whenever the lock is free.
    dropped: Vec<Waker>,
}

/// The waker the alarm wakes. It holds the timer weakly, so a timer nobody uses any more is
/// freed even while tokio still holds this waker.
struct Ring(Weak<Shared>);

impl Wake for Ring {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(shared) = self.0.upgrade() {
            shared.ring();
        }
    }
}

/// What a sleep is told when it asks to wait.
pub(crate) enum Queued {
    /// Waiting under this ticket; its waker is woken at the deadline.
    Waiting(Ticket),
    /// The alarm failed: use tokio's timer instead.
    Unavailable,
}

impl Shared {
    /// A timer's shared state, with a new alarm in the current tokio runtime.
    pub(crate) fn new() -> io::Result<Arc<Shared>> {
        let alarm = Alarm::new()?;
        let shared = Arc::new_cyclic(|weak| Shared {
            state: Mutex::new(State {
                queue: WaiterQueue::default(),
                alarm: Some(alarm),
                ring: Waker::from(Arc::new(Ring(weak.clone()))),
                slack: super::PreciseTimer::DEFAULT_SLACK,
                due: Vec::new(),
                dropped: Vec::new(),
            }),
        });
        shared.serviced(|_| ());
        Ok(shared)
    }

    /// Queues a sleep until `deadline` woken by `waker`, or, if `ticket` is still queued,
    /// gives it `waker` instead.
    pub(crate) fn wait(&self, ticket: Option<Ticket>, deadline: Instant, waker: &Waker) -> Queued {
        self.serviced(|state| {
            if state.alarm.is_none() {
                return Queued::Unavailable;
            }
            if let Some(ticket) = ticket
                && state.queue.update(ticket, waker, &mut state.dropped)
            {
                return Queued::Waiting(ticket);
            }
            let (ticket, earliest) = state.queue.insert(deadline, waker.clone());
            if earliest {
                state.service();
            }
            match state.alarm {
                Some(_) => Queued::Waiting(ticket),
                // Setting the alarm for this sleep failed: every sleep is woken to fall back.
                None => Queued::Unavailable,
            }
        })
    }

    /// Takes a sleep that is not due out of the queue (it was dropped).
    pub(crate) fn leave(&self, ticket: Ticket) {
        self.serviced(|state| {
            if state.queue.remove(ticket, &mut state.dropped) == Some(true) {
                state.service();
            }
        });
    }

    /// How many sleeps wait.
    pub(crate) fn waiting(&self) -> usize {
        self.lock().queue.len()
    }

    /// Makes room for `additional` more waiting sleeps, and for waking that many at once.
    pub(crate) fn reserve(&self, additional: usize) -> Result<(), TryReserveError> {
        let mut state = self.lock();
        let waiting = state.queue.len();
        state.queue.reserve(additional)?;
        // `due` is empty while the lock is free.
        state.due.try_reserve(waiting.saturating_add(additional))
    }

    /// The slack: how late a sleep may end so that it is woken with earlier ones.
    pub(crate) fn slack(&self) -> Duration {
        self.lock().slack
    }

    /// Sets the slack, and the alarm for it.
    pub(crate) fn set_slack(&self, slack: Duration) {
        self.serviced(|state| {
            state.slack = slack;
            state.service();
        });
    }

    /// The alarm rang: wake what is due and set the alarm for what is next.
    fn ring(&self) {
        self.serviced(State::service);
    }

    /// Runs `change` on the state under the lock, then, after releasing it, wakes the sleeps
    /// `change` took out of the queue and drops the wakers it replaced.
    fn serviced<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let result = change(&mut state);
        if state.due.is_empty() && state.dropped.is_empty() {
            return result;
        }
        let mut due = mem::take(&mut state.due);
        let mut dropped = mem::take(&mut state.dropped);
        drop(state);
        dropped.clear();
        due.drain(..).for_each(Waker::wake);
        // Keep the buffers for the next time (the lock was free, so those there are empty).
        let mut state = self.lock();
        keep_larger(&mut state.due, due);
        keep_larger(&mut state.dropped, dropped);
        result
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A waker that panicked while this was held leaves the queue consistent: every
        // change to it is a single `VecDeque` operation.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Takes every due sleep out of the queue (into `due`, to be woken) and sets the alarm for
    /// the earliest ones left: at the earliest deadline, or with a slack at the latest one
    /// within it ([`WaiterQueue::ring_at`]).
    ///
    /// First it takes any ring the alarm has delivered, until the alarm is waiting with
    /// [`Ring`] registered, so a ring after this point is never missed. The alarm is then
    /// written once per call (and not at all when it is already set for that instant).
    fn service(&mut self) {
        if let Some(alarm) = self.alarm.as_mut() {
            let mut cx = Context::from_waker(&self.ring);
            loop {
                match alarm.poll_rung(&mut cx) {
                    Poll::Pending => break,
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(_)) => return self.fail(),
                }
            }
        }
        self.queue.take_due(Instant::now(), &mut self.due);
        if let Some(alarm) = self.alarm.as_mut()
            && alarm.set(self.queue.ring_at(self.slack)).is_err()
        {
            self.fail();
        }
    }

    /// The alarm cannot be trusted to ring: wake every sleep, and each goes on tokio's timer
    /// for what is left of its wait.
    fn fail(&mut self) {
        self.alarm = None;
        self.queue.take_all(&mut self.due);
    }
}

/// Puts `buffer` (empty) in `slot` (empty) if it has more room.
fn keep_larger(slot: &mut Vec<Waker>, buffer: Vec<Waker>) {
    if slot.capacity() < buffer.capacity() {
        *slot = buffer;
    }
}
