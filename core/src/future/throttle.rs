//! `Throttle`: a stream that yields its items no faster than a limiter allows.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::{Acquire, Pacer, RateLimiter, Timer};

pin_project! {
    /// A [`Stream`] that passes on the items of another, each no earlier than its limiter
    /// permits one cell. Made by [`Pacer::throttle`].
    ///
    /// An item is taken from the inner stream first and then paced, so a slow source is never
    /// delayed further. Several throttles (and plain acquisitions) may draw on one `Pacer`:
    /// together they keep its quota. Dropping a throttle while an item waits cancels that
    /// item's reservation. If the limiter's clock runs past its range (about 292 years), the
    /// stream ends rather than pass an item unpaced.
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<'a, S: Stream, L: RateLimiter, T: Timer> {
        #[pin]
        stream: S,
        pacer: &'a Pacer<L, T>,
        item: Option<S::Item>,
        #[pin]
        wait: Option<Acquire<'a, &'a L, T>>,
    }
}

impl<L: RateLimiter, T: Timer> Pacer<L, T> {
    /// Paces `stream`: its items come out no faster than this limiter allows, one cell each.
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
    pub fn throttle<S: Stream>(&self, stream: S) -> Throttle<'_, S, L, T> {
        Throttle {
            stream,
            pacer: self,
            item: None,
            wait: None,
        }
    }
}

impl<'a, S: Stream, L: RateLimiter, T: Timer> Stream for Throttle<'a, S, L, T> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if this.wait.is_none() {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => {
                    *this.item = Some(item);
                    this.wait.set(Some(this.pacer.acquire()));
                }
                None => return Poll::Ready(None),
            }
        }
        if let Some(wait) = this.wait.as_mut().as_pin_mut() {
            let paced = ready!(wait.poll(cx));
            this.wait.set(None);
            let item = this.item.take();
            return Poll::Ready(if paced.is_ok() { item } else { None });
        }
        Poll::Ready(None)
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
