//! Waiters' acquisition futures, traced: each counts its polls and marks the limiter calls it
//! makes (on a poll or on being dropped) with its tag.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll};

use super::recording::with_tag;
use crate::polls::CountPolls;

/// A future that counts its polls and marks the limiter calls it makes with its tag.
pub(crate) struct Traced<F> {
    tag: usize,
    inner: Option<CountPolls<F>>,
}

impl<F: Future> Traced<F> {
    pub(crate) fn new(tag: usize, polls: Arc<AtomicUsize>, inner: F) -> Self {
        Traced {
            tag,
            inner: Some(CountPolls::new(inner, polls)),
        }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let inner = this.inner.as_mut().expect("polled after completion");
        let poll = with_tag(this.tag, || Pin::new(inner).poll(cx));
        if poll.is_ready() {
            this.inner = None;
        }
        poll
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        with_tag(self.tag, || self.inner = None); // a pending acquisition cancels here
    }
}
