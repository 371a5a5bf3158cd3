//! `PreciseSleep`: the future [`PreciseTimer::sleep_until`](super::PreciseTimer) returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::queue::Ticket;
use super::shared::{Queued, Shared};

/// A sleep on a [`PreciseTimer`](super::PreciseTimer): completes at its deadline or after it,
/// never before, by [`std::time::Instant`].
///
/// It queues itself with its timer on its first pending poll and leaves the queue when it is
/// dropped early. It allocates nothing (the timer's queue grows once to the most sleeps that
/// ever wait at the same time).
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct PreciseSleep {
    shared: Arc<Shared>,
    /// `None` if the deadline is beyond what [`Instant`] can hold: the sleep never ends.
    deadline: Option<Instant>,
    /// Its place in the timer's queue, once queued.
    ticket: Option<Ticket>,
    /// tokio's own sleep, for what is left of the wait, once the timer's alarm has failed
    /// (its runtime shut down while the timer lived on).
    fallback: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl PreciseSleep {
    pub(super) fn new(shared: Arc<Shared>, deadline: Option<Instant>) -> PreciseSleep {
        PreciseSleep {
            shared,
            deadline,
            ticket: None,
            fallback: None,
        }
    }

    /// The instant this sleep completes at or after, or `None` if it never completes.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Future for PreciseSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let Some(fallback) = this.fallback.as_mut() {
            return fallback.as_mut().poll(cx);
        }
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            // Still queued only if polled before the alarm's ring took it out; the next ring
            // does (its deadline has passed), so nothing is left to do here.
            this.ticket = None;
            return Poll::Ready(());
        }
        match this.shared.wait(this.ticket, deadline, cx.waker()) {
            Queued::Waiting(ticket) => {
                this.ticket = Some(ticket);
                Poll::Pending
            }
            Queued::Unavailable => {
                this.ticket = None;
                let fallback = this
                    .fallback
                    .insert(Box::pin(tokio::time::sleep_until(deadline.into())));
                fallback.as_mut().poll(cx)
            }
        }
    }
}

impl Drop for PreciseSleep {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            // A due sleep is taken out by the alarm's next ring; one not due yet leaves now,
            // so the alarm does not ring for it.
            if Instant::now() < ticket.deadline() {
                self.shared.leave(ticket);
            }
        }
    }
}
