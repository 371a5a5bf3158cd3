//! `Acquire`: the future of one acquisition.
//!
//! Its life has three steps and no loop:
//! 1. first poll: read the clock once and reserve (a future never polled takes nothing);
//! 2. if the instant is later than now, sleep once on the runtime's timer until it;
//! 3. when the timer fires, complete: the cells are spent.
//!
//! Dropping it between 1 and 3 cancels the reservation at the current time, which returns
//! the cells if it is still the newest (see [`RateLimiter::cancel`]).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use crate::{Error, RateLimiter, Reservation, Timer};

pin_project! {
    /// The future returned by [`Pacer::acquire`](crate::Pacer::acquire) and its siblings:
    /// completes with `Ok(())` at the reserved instant, or at once with an error.
    ///
    /// It allocates nothing and holds no lock while pending; its size is that of the
    /// timer's sleep plus a few words.
    #[must_use = "futures do nothing unless polled; this one reserves on its first poll"]
    pub struct Acquire<'a, L: RateLimiter, T: Timer> {
        limiter: &'a L,
        timer: &'a T,
        cells: u32,
        max_wait: Duration,
        started: bool,
        // What a finished acquisition answered, repeated if it is polled again.
        outcome: Result<(), Error>,
        reservation: Option<Reservation<L::Token>>,
        #[pin]
        sleep: Option<T::Sleep>,
    }

    impl<'a, L: RateLimiter, T: Timer> PinnedDrop for Acquire<'a, L, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(reservation) = this.reservation.take() {
                this.limiter.cancel(reservation, this.timer.now());
            }
        }
    }
}

impl<'a, L: RateLimiter, T: Timer> Acquire<'a, L, T> {
    pub(crate) fn new(limiter: &'a L, timer: &'a T, cells: u32, max_wait: Duration) -> Self {
        Acquire {
            limiter,
            timer,
            cells,
            max_wait,
            started: false,
            outcome: Ok(()),
            reservation: None,
            sleep: None,
        }
    }
}

impl<L: RateLimiter, T: Timer> Future for Acquire<'_, L, T> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if !*this.started {
            *this.started = true;
            let now = this.timer.now();
            let reservation = match this
                .limiter
                .reserve_within(now, *this.cells, *this.max_wait)
            {
                Ok(reservation) => reservation,
                Err(error) => {
                    *this.outcome = Err(error);
                    return Poll::Ready(Err(error));
                }
            };
            if reservation.at() <= now {
                return Poll::Ready(Ok(()));
            }
            this.sleep
                .set(Some(this.timer.sleep_until(reservation.at())));
            *this.reservation = Some(reservation);
        }
        loop {
            let Some(at) = this.reservation.as_ref().map(Reservation::at) else {
                // Finished already: polling again is a caller error, answered calmly with the
                // same outcome rather than a panic.
                return Poll::Ready(*this.outcome);
            };
            let Some(sleep) = this.sleep.as_mut().as_pin_mut() else {
                return Poll::Ready(*this.outcome);
            };
            if sleep.poll(cx).is_pending() {
                return Poll::Pending;
            }
            if this.timer.now() >= at {
                // The cells are spent: forget the reservation so drop cancels nothing.
                this.reservation.take();
                this.sleep.set(None);
                return Poll::Ready(Ok(()));
            }
            // The timer fired early by this clock: sleep again rather than go early.
            this.sleep.set(Some(this.timer.sleep_until(at)));
        }
    }
}
