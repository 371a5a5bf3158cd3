//! `Acquire`: the future of one acquisition.
//!
//! Its life has three steps and no loop:
//! 1. first poll: read the clock once and reserve (a future never polled takes nothing);
//! 2. if the instant is later than now, sleep once on the runtime's timer until it;
//! 3. when the timer fires, ask the limiter where the reservation stands
//!    ([`RateLimiter::pending`]) and complete: the cells are spent. Only a limiter paused since
//!    (see [`Pausable`](crate::Pausable)) moves the instant; then the future sleeps once more,
//!    until the moved instant, or fails if that is past its bound.
//!
//! Dropping it between 1 and 3 cancels the reservation at the current time, which returns
//! the cells if it is still the newest (see [`RateLimiter::cancel`]).
//!
//! The three steps are the three variants of one enum, so a waiting future holds only what
//! waiting needs: the reservation and the sleep.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use crate::{Error, RateLimiter, Reservation, Timer};

pin_project! {
    /// Where an acquisition is in its life.
    #[project = StateProj]
    #[project_replace = StateReplace]
    enum State<K, S> {
        // Not polled yet: what to ask for.
        Start { cells: u32, max_wait: Duration },
        // Reserved for a later instant, sleeping until it.
        Waiting { reservation: Reservation<K>, #[pin] sleep: S },
        // Finished: the answer, repeated if it is polled again.
        Done { outcome: Result<(), Error> },
    }
}

pin_project! {
    /// The future returned by [`Pacer::acquire`](crate::Pacer::acquire) and its siblings:
    /// completes with `Ok(())` at the reserved instant, or at once with an error.
    ///
    /// It allocates nothing and holds no lock while pending; while it waits it holds the
    /// timer's sleep, the reservation and two references.
    #[must_use = "futures do nothing unless polled; this one reserves on its first poll"]
    ///
    /// `L` is what it reserves on: `&Limiter` for [`Pacer`](crate::Pacer), a
    /// [`PerKey`](crate::PerKey) for [`KeyedPacer`](crate::KeyedPacer).
    pub struct Acquire<'a, L: RateLimiter, T: Timer> {
        limiter: L,
        timer: &'a T,
        #[pin]
        state: State<L::Token, T::Sleep>,
    }

    impl<'a, L: RateLimiter, T: Timer> PinnedDrop for Acquire<'a, L, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let done = State::Done { outcome: Ok(()) };
            if let StateReplace::Waiting { reservation, .. } = this.state.project_replace(done) {
                this.limiter.cancel(reservation, this.timer.now());
            }
        }
    }
}

impl<'a, L: RateLimiter, T: Timer> Acquire<'a, L, T> {
    pub(crate) fn new(limiter: L, timer: &'a T, cells: u32, max_wait: Duration) -> Self {
        Acquire {
            limiter,
            timer,
            state: State::Start { cells, max_wait },
        }
    }
}

impl<L: RateLimiter, T: Timer> Future for Acquire<'_, L, T> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Start { cells, max_wait } => {
                    let (cells, max_wait) = (*cells, *max_wait);
                    let now = this.timer.now();
                    let reservation = match this.limiter.reserve_within(now, cells, max_wait) {
                        Ok(reservation) if reservation.at() > now => reservation,
                        // Due now: the cells are spent at once.
                        Ok(_spent) => return finish(this.state.as_mut(), Ok(())),
                        Err(error) => return finish(this.state.as_mut(), Err(error)),
                    };
                    let sleep = this.timer.sleep_until(reservation.at());
                    this.state.set(State::Waiting { reservation, sleep });
                }
                StateProj::Waiting {
                    reservation,
                    mut sleep,
                } => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let now = this.timer.now();
                    match this.limiter.pending(reservation, now) {
                        // The cells are spent: leaving `Waiting` cancels nothing.
                        Ok(None) => return finish(this.state.as_mut(), Ok(())),
                        // A pause moved the instant, or the timer fired early by this
                        // clock: sleep again rather than go early.
                        Ok(Some(at)) => sleep.set(this.timer.sleep_until(at)),
                        // A pause moved the instant past the acquisition's bound: give the
                        // reservation back and fail as a late reservation would have.
                        Err(error) => {
                            let done = State::Done {
                                outcome: Err(error),
                            };
                            if let StateReplace::Waiting { reservation, .. } =
                                this.state.as_mut().project_replace(done)
                            {
                                this.limiter.cancel(reservation, now);
                            }
                            return Poll::Ready(Err(error));
                        }
                    }
                }
                // Finished already: polling again is a caller error, answered calmly with
                // the same outcome rather than a panic.
                StateProj::Done { outcome } => return Poll::Ready(*outcome),
            }
        }
    }
}

/// Ends an acquisition with `outcome`, which later polls repeat.
fn finish<K, S>(
    mut state: Pin<&mut State<K, S>>,
    outcome: Result<(), Error>,
) -> Poll<Result<(), Error>> {
    state.set(State::Done { outcome });
    Poll::Ready(outcome)
}
