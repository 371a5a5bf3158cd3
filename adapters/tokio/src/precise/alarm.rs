//! `Alarm`: one Linux `timerfd` registered with tokio's own reactor, set to one deadline at a
//! time with nanosecond resolution.
//!
//! When it rings, tokio's I/O driver sees the descriptor become readable and wakes the waker
//! last given to [`poll_rung`](Alarm::poll_rung). No thread and no task of pacer's own: the
//! runtime's epoll does the waiting.

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::OwnedFd;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A `timerfd` on `CLOCK_MONOTONIC` (the clock [`Instant`] reads on Linux), in tokio's reactor.
#[derive(Debug)]
pub(crate) struct Alarm {
    fd: AsyncFd<OwnedFd>,
    /// The deadline the descriptor is set to, until it rings.
    set_for: Option<Instant>,
}

impl Alarm {
    /// A new alarm, not set, registered with the reactor of the current tokio runtime.
    ///
    /// Fails if this thread is not in a tokio runtime, if that runtime was built without
    /// `enable_io`, or if the system refuses a timerfd (for example, out of file descriptors).
    pub(crate) fn new() -> io::Result<Alarm> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "PreciseTimer needs a tokio runtime: make it inside one",
            ));
        }
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // tokio panics, rather than failing, in a runtime without I/O; catch that and say so.
        let registered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // tokio 1.54 deprecates this safe constructor for its `unsafe` `register_with_interest`,
            // because a `T` whose `as_raw_fd` changed or closed its descriptor would be unsound.
            // An `OwnedFd` owns one open descriptor for its whole life and always returns it,
            // which is that function's whole safety condition; this keeps the crate free of
            // `unsafe` and working with tokio from 1.38.
            #[allow(deprecated)]
            AsyncFd::with_interest(fd, Interest::READABLE)
        }));
        let fd = registered.map_err(|_| {
            io::Error::other(
                "PreciseTimer needs tokio's I/O driver: build the runtime with enable_io or enable_all",
            )
        })??;
        Ok(Alarm { fd, set_for: None })
    }

    /// Sets the alarm to ring at `deadline`, or clears it with `None`. Does nothing if it is
    /// set for that already.
    ///
    /// The descriptor is set relative to a clock reading taken first, so it rings at `deadline`
    /// or later by [`Instant`], never before.
    pub(crate) fn set(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        if deadline == self.set_for {
            return Ok(());
        }
        let value = match deadline {
            // A zero value would clear the timer: a deadline already past rings in 1 ns.
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1)),
            None => Duration::ZERO,
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            // Beyond what a timespec holds (about 292 billion years): set it to the farthest.
            it_value: Timespec::try_from(value).unwrap_or(Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            }),
        };
        timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        self.set_for = deadline;
        Ok(())
    }

    /// `Ready` if the alarm rang since the last call that returned `Ready`; otherwise `Pending`,
    /// and `cx`'s waker is the one tokio wakes when it rings (the last one given wins).
    ///
    /// A ring clears the deadline it was set for, so the next [`set`](Alarm::set) always
    /// writes the descriptor.
    pub(crate) fn poll_rung(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Outside tokio's cooperative budget: with the calling task's budget spent, tokio would
        // answer `Pending` without registering `cx`'s waker and wake that waker itself, at
        // once where no scheduler defers it; the caller holds a lock that waker takes.
        let poll = pin!(tokio::task::unconstrained(poll_fn(|cx| {
            self.fd.poll_read_ready(cx).map_ok(|mut guard| {
                // Setting the timer again resets its expiry count, so the count is not read.
                guard.clear_ready();
            })
        })))
        .poll(cx);
        if let Poll::Ready(Ok(())) = poll {
            self.set_for = None;
        }
        poll
    }
}
