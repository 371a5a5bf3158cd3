//! `PushbackService`: a client service whose calls wait for a [`Pushback`] and report back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pacer_core::Timer;
use tower::{BoxError, Service};

use super::Pushback;

/// The service [`PushbackLayer`](super::PushbackLayer) makes: each call first waits for the
/// shared [`Pushback`] (rate, pause and concurrency cap), then goes to the inner service, and
/// its answer's status and headers go to [`Pushback::listen`] before the caller sees it.
///
/// Generic over the request and response bodies, so it fits hyper-util's legacy client, a
/// tonic `Channel` and anything else that serves `http::Request`s. Errors are boxed: the
/// inner service's, or the limiter's ([`pacer_core::Error`]).
pub struct PushbackService<S, T> {
    inner: S,
    pushback: Arc<Pushback<T>>,
}

impl<S, T> PushbackService<S, T> {
    /// `inner` behind `pushback`.
    pub fn new(inner: S, pushback: Arc<Pushback<T>>) -> Self {
        PushbackService { inner, pushback }
    }

    /// The shared limiter.
    pub fn pushback(&self) -> &Arc<Pushback<T>> {
        &self.pushback
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Clone, T> Clone for PushbackService<S, T> {
    fn clone(&self) -> Self {
        PushbackService {
            inner: self.inner.clone(),
            pushback: Arc::clone(&self.pushback),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for PushbackService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushbackService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of a [`PushbackService`] call.
#[must_use = "futures do nothing unless polled"]
pub struct PushbackFuture<R> {
    inner: Pin<Box<dyn Future<Output = Result<R, BoxError>> + Send>>,
}

impl<R> fmt::Debug for PushbackFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushbackFuture").finish_non_exhaustive()
    }
}

impl<R> Future for PushbackFuture<R> {
    type Output = Result<R, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<S, T, B, RB> Service<Request<B>> for PushbackService<S, T>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Send + 'static,
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = PushbackFuture<Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service polled ready goes into the future; a fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pushback = Arc::clone(&self.pushback);
        PushbackFuture {
            inner: Box::pin(async move {
                let _permit = pushback.acquire().await?;
                let response = inner.call(request).await.map_err(Into::into)?;
                let headers = response.headers().iter();
                pushback.listen(
                    response.status().as_u16(),
                    headers.map(|(name, value)| (name.as_str(), value.as_bytes())),
                );
                Ok(response)
            }),
        }
    }
}
