//! `Gate`: a rate and a cap on how many are in flight, the job of most API clients.

use core::future::Future;

use async_lock::{Semaphore, SemaphoreGuard};
use futures_core::Stream;
use futures_util::StreamExt;

use crate::{AtomicLimiter, Error, Pacer, Quota, RateLimiter, Timer};

/// "At most 100 per second, and at most 20 in flight": a [`Pacer`] behind a concurrency cap.
///
/// [`acquire`](Gate::acquire) first takes a concurrency slot (waiting on an `async-lock`
/// semaphore, fairly), then a rate slot (reserving on the pacer, FIFO), and returns a
/// [`GatePermit`]. The slot is free again when the permit drops, typically when the call it
/// guards has finished. Taking the slot first means a waiter never holds a rate reservation
/// it cannot use.
///
/// A waiter holds its slot while it waits for its rate instant, so the cap bounds calls in
/// flight plus waiters whose instant is near. Size it for the rate times the call's duration
/// plus the timer's lateness (about 1 ms on tokio): 100 per second of 200 ms calls need more
/// than 20 slots to keep the full rate, and a cap below that lowers the rate instead. A
/// waiter that finds no free slot waits on `async-lock`'s semaphore, which allocates its
/// listener on the heap.
///
/// ```
/// use pacer_core::{AtomicLimiter, Gate, ManualTimer, Pacer, Quota};
/// # futures_executor::block_on(async {
/// let timer = ManualTimer::new();
/// let pacer = Pacer::from_parts(AtomicLimiter::new(Quota::per_second(100)?), timer.clone());
/// let gate = Gate::from_parts(pacer, 2)?;
/// let first = gate.acquire().await?;
/// timer.advance(std::time::Duration::from_millis(10));
/// let second = gate.acquire().await?;
/// assert_eq!(gate.available(), 0); // both slots in use
/// drop(first);
/// assert_eq!(gate.available(), 1);
/// # drop(second);
/// # Ok::<(), pacer_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Gate<L, T> {
    pacer: Pacer<L, T>,
    slots: Semaphore,
    concurrency: usize,
}

/// Proof of a passed [`Gate`]: holds one concurrency slot until dropped.
#[derive(Debug)]
#[must_use = "the concurrency slot is released as soon as the permit is dropped"]
pub struct GatePermit<'a> {
    _slot: SemaphoreGuard<'a>,
}

impl<T: Timer + Default> Gate<crate::Pausable<AtomicLimiter>, T> {
    /// `quota` (a [`Pausable`](crate::Pausable) [`AtomicLimiter`]) with at most
    /// `concurrency` permits out at once, on a new default timer.
    ///
    /// Fails with [`Error::ZeroConcurrency`] for a concurrency of zero, which could never
    /// admit anything.
    pub fn new(quota: Quota, concurrency: usize) -> Result<Self, Error> {
        Gate::from_parts(Pacer::new(quota), concurrency)
    }
}

impl<L: RateLimiter, T: Timer> Gate<L, T> {
    /// `pacer` with at most `concurrency` permits out at once.
    ///
    /// Fails with [`Error::ZeroConcurrency`] for a concurrency of zero.
    pub fn from_parts(pacer: Pacer<L, T>, concurrency: usize) -> Result<Self, Error> {
        if concurrency == 0 {
            return Err(Error::ZeroConcurrency);
        }
        Ok(Gate {
            pacer,
            slots: Semaphore::new(concurrency),
            concurrency,
        })
    }

    /// Waits for a concurrency slot, then for one cell of the rate; the slot is held until
    /// the permit drops. If the rate fails (an error of the limiter), the slot is freed.
    pub async fn acquire(&self) -> Result<GatePermit<'_>, Error> {
        let slot = self.slots.acquire().await;
        self.pacer.acquire().await?;
        Ok(GatePermit { _slot: slot })
    }

    /// Concurrency slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }

    /// The most permits out at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The rate part of the gate.
    pub fn pacer(&self) -> &Pacer<L, T> {
        &self.pacer
    }

    /// Runs each future of `futures` once it has passed the gate, at most `concurrency` at a
    /// time and no faster than the rate, and yields their outputs as they finish (in
    /// completion order): a rate-limited gather.
    ///
    /// A future is created lazily, when its turn comes, if the iterator builds it (as
    /// `(0..n).map(|i| call(i))` does). An item is `Err` only if the limiter fails.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use pacer_core::{AtomicLimiter, Gate, ManualTimer, Pacer, Quota};
    /// # futures_executor::block_on(async {
    /// // A burst of 3 lets all three calls go at once, so the manual clock need not move.
    /// let quota = Quota::per_second(10)?.with_burst(3)?;
    /// let pacer = Pacer::from_parts(AtomicLimiter::new(quota), ManualTimer::new());
    /// let gate = Gate::from_parts(pacer, 4)?;
    /// let calls = (0..3).map(|i| async move { i * 10 });
    /// let mut results: Vec<u32> = gate.gather(calls).map(Result::unwrap).collect().await;
    /// results.sort();
    /// assert_eq!(results, [0, 10, 20]);
    /// # Ok::<(), pacer_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn gather<'a, I, F>(
        &'a self,
        futures: I,
    ) -> impl Stream<Item = Result<F::Output, Error>> + 'a
    where
        I: IntoIterator<Item = F>,
        I::IntoIter: 'a,
        F: Future + 'a,
    {
        self.gather_stream(futures_util::stream::iter(futures))
    }

    /// [`gather`](Gate::gather) for a stream of futures.
    pub fn gather_stream<'a, S>(
        &'a self,
        futures: S,
    ) -> impl Stream<Item = Result<<S::Item as Future>::Output, Error>> + 'a
    where
        S: Stream + 'a,
        S::Item: Future + 'a,
    {
        futures
            .map(move |future| async move {
                let _permit = self.acquire().await?;
                Ok(future.await)
            })
            .buffer_unordered(self.concurrency)
    }
}
