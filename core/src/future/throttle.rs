//! `Throttle`: a stream that yields its items no faster than a limiter allows, borrowing its
//! [`Pacer`] or sharing it (an `Arc`), so that a function can return a throttled stream.

use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::{Clock, Pacer, RateLimiter, Reservation, Timer};

/// What a [`Throttle`] holds to reach its [`Pacer`]: a reference (`&Pacer`), a shared pointer
/// (`Arc<Pacer>`, `Rc<Pacer>`), a `Box<Pacer>`, or the `Pacer` itself.
///
/// Every pointer to a `Pacer` implements it, so code never implements it by hand; it exists
/// so that a [`Throttle`] names one type parameter for its pacer instead of three.
pub trait PacerRef {
    /// The pacer's shared limiter.
    type Limiter: RateLimiter;
    /// The pacer's timer.
    type Timer: Timer;

    /// The pacer.
    fn pacer(&self) -> &Pacer<Self::Limiter, Self::Timer>;
}

impl<P, L, T> PacerRef for P
where
    P: Deref<Target = Pacer<L, T>>,
    L: RateLimiter,
    T: Timer,
{
    type Limiter = L;
    type Timer = T;

    fn pacer(&self) -> &Pacer<L, T> {
        self
    }
}

impl<L: RateLimiter, T: Timer> PacerRef for Pacer<L, T> {
    type Limiter = L;
    type Timer = T;

    fn pacer(&self) -> &Pacer<L, T> {
        self
    }
}

type TokenOf<P> = <<P as PacerRef>::Limiter as RateLimiter>::Token;
type SleepOf<P> = <<P as PacerRef>::Timer as Timer>::Sleep;

pin_project! {
    /// A [`Stream`] that passes on the items of another, each no earlier than its pacer
    /// permits one cell. Made by [`Pacer::throttle`] (borrowing the pacer) or
    /// [`Throttle::new`] (holding it in any [`PacerRef`], such as an `Arc<Pacer>`, so the
    /// stream can be `'static` and returned from a function).
    ///
    /// An item is taken from the inner stream first and then paced, so a slow source is never
    /// delayed further. Each item reserves its instant when it arrives and sleeps once, on the
    /// pacer's timer, until it, exactly as an [`acquire`](Pacer::acquire) would (a pause of a
    /// [`Pausable`](crate::Pausable) limiter moves it later, and it sleeps again). Several
    /// throttles (and plain acquisitions) may draw on one `Pacer`: together they keep its
    /// quota. Dropping a throttle while an item waits cancels that item's reservation (its
    /// cell comes back only if no later reservation stands behind it). If the limiter refuses
    /// (its clock past its range, about 292 years), the item is dropped and the stream ends
    /// rather than pass it unpaced.
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<S: Stream, P: PacerRef> {
        #[pin]
        stream: S,
        pacer: P,
        item: Option<S::Item>,
        reservation: Option<Reservation<TokenOf<P>>>,
        #[pin]
        sleep: Option<SleepOf<P>>,
    }

    impl<S: Stream, P: PacerRef> PinnedDrop for Throttle<S, P> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(reservation) = this.reservation.take() {
                let pacer = this.pacer.pacer();
                pacer.limiter().cancel(reservation, pacer.timer().now());
            }
        }
    }
}

impl<S: Stream, P: PacerRef> Throttle<S, P> {
    /// Paces `stream` on the pacer `pacer` holds: its items come out no faster than that
    /// limiter allows, one cell each.
    ///
    /// With an `Arc<Pacer>` (an adapter's `Arc<Limiter>`), the stream owns a share of the
    /// limiter and can outlive the scope that made it:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use futures_core::Stream;
    /// use futures_util::StreamExt;
    /// use pacer_core::{AtomicLimiter, ManualTimer, Pacer, Quota, Throttle};
    ///
    /// // A function can return a throttled stream: it holds its share of the limiter.
    /// fn paced_ids(
    ///     limiter: &Arc<Pacer<AtomicLimiter, ManualTimer>>,
    /// ) -> impl Stream<Item = u32> + 'static {
    ///     Throttle::new(Arc::clone(limiter), futures_util::stream::iter(1..=3))
    /// }
    ///
    /// let timer = ManualTimer::new();
    /// let limiter = Arc::new(Pacer::from_parts(AtomicLimiter::new(Quota::per_second(2)?), timer.clone()));
    /// let ids: Vec<u32> = timer.block_on(paced_ids(&limiter).collect());
    /// assert_eq!(ids, [1, 2, 3]);
    /// assert_eq!(timer.clock().now(), 1_000_000_000); // 500 ms apart, on virtual time
    /// # use pacer_core::Clock;
    /// # Ok::<(), pacer_core::Error>(())
    /// ```
    pub fn new(pacer: P, stream: S) -> Self {
        Throttle {
            stream,
            pacer,
            item: None,
            reservation: None,
            sleep: None,
        }
    }

    /// The pacer this stream draws on.
    pub fn pacer(&self) -> &Pacer<P::Limiter, P::Timer> {
        self.pacer.pacer()
    }
}

impl<L: RateLimiter, T: Timer> Pacer<L, T> {
    /// Paces `stream`: its items come out no faster than this limiter allows, one cell each.
    /// The stream borrows the pacer; to return it from a function, make it with
    /// [`Throttle::new`] on an `Arc` of the pacer.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use pacer_core::{AtomicLimiter, ManualTimer, Pacer, Quota};
    /// # futures_executor::block_on(async {
    /// let timer = ManualTimer::new();
    /// let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(2)?), timer.clone());
    /// let mut paced = std::pin::pin!(pacer.throttle(futures_util::stream::iter([1, 2])));
    /// assert_eq!(paced.next().await, Some(1));
    /// assert!(futures_util::poll!(paced.next()).is_pending()); // 2 waits 500 ms
    /// timer.advance(std::time::Duration::from_millis(500));
    /// assert_eq!(paced.next().await, Some(2));
    /// # Ok::<(), pacer_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn throttle<S: Stream>(&self, stream: S) -> Throttle<S, &Self> {
        Throttle::new(self, stream)
    }
}

impl<S: Stream, P: PacerRef> Stream for Throttle<S, P> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        let pacer = this.pacer.pacer();
        if this.item.is_none() {
            let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            let now = pacer.timer().now();
            match pacer.limiter().reserve_within(now, 1, Duration::MAX) {
                // Due now: the cell is spent at once.
                Ok(reservation) if reservation.at() <= now => return Poll::Ready(Some(item)),
                Ok(reservation) => {
                    this.sleep
                        .set(Some(pacer.timer().sleep_until(reservation.at())));
                    *this.reservation = Some(reservation);
                    *this.item = Some(item);
                }
                // The limiter refuses: end rather than pass the item unpaced.
                Err(_) => return Poll::Ready(None),
            }
        }
        loop {
            let Some(reservation) = this.reservation.as_ref() else {
                return Poll::Ready(this.item.take());
            };
            let Some(sleep) = this.sleep.as_mut().as_pin_mut() else {
                return Poll::Ready(this.item.take());
            };
            ready!(sleep.poll(cx));
            let now = pacer.timer().now();
            match pacer.limiter().pending(reservation, now) {
                // The cell is spent: forgetting the reservation cancels nothing.
                Ok(None) => {
                    *this.reservation = None;
                    this.sleep.set(None);
                    return Poll::Ready(this.item.take());
                }
                // A pause moved the instant, or the timer fired early by this clock: sleep
                // again rather than go early.
                Ok(Some(at)) => this.sleep.set(Some(pacer.timer().sleep_until(at))),
                // The limiter refuses the moved instant (past its range): hand the
                // reservation back and end rather than pass the item unpaced.
                Err(_) => {
                    if let Some(reservation) = this.reservation.take() {
                        pacer.limiter().cancel(reservation, now);
                    }
                    this.sleep.set(None);
                    *this.item = None;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let held = usize::from(self.item.is_some());
        let (low, high) = self.stream.size_hint();
        (
            low.saturating_add(held),
            high.and_then(|h| h.checked_add(held)),
        )
    }
}
