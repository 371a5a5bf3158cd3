//! Counting how often a future is polled (each acquisition is polled at most twice: once to
//! reserve and start its one sleep, once when that sleep ends), and polling one by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// A future that counts its polls in a shared counter, readable while it is still pending.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> CountPolls<F> {
    /// Wraps `inner`, adding one to `polls` at each of its polls.
    pub fn new(inner: F, polls: Arc<AtomicUsize>) -> Self {
        CountPolls {
            inner: Box::pin(inner),
            polls,
        }
    }
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Runs `future` and returns its output with the number of times it was polled.
pub async fn count_polls<F: Future>(future: F) -> (F::Output, usize) {
    let polls = Arc::new(AtomicUsize::new(0));
    let output = CountPolls::new(future, Arc::clone(&polls)).await;
    (output, polls.load(Ordering::SeqCst))
}

/// Polls `future` once, with the current task's waker: for a test that must see a future
/// pending (its request sent, its sleep queued) before it drops it.
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}
