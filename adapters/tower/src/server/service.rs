//! `RateLimit`: the service the layer wraps around another, and its response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pacer_core::Timer;

use super::headers::Fields;
use super::layer::{Shared, Verdict};

/// A service limited by a [`RateLimitLayer`](super::RateLimitLayer). Cloning it (as servers
/// do per connection) shares the layer's limits.
pub struct RateLimit<S, T: Timer> {
    inner: S,
    shared: Arc<Shared<T>>,
}

impl<S, T: Timer> RateLimit<S, T> {
    pub(crate) fn new(inner: S, shared: Arc<Shared<T>>) -> Self {
        RateLimit { inner, shared }
    }

    /// The wrapped service.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Clone, T: Timer> Clone for RateLimit<S, T> {
    fn clone(&self) -> Self {
        RateLimit {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S: fmt::Debug, T: Timer> fmt::Debug for RateLimit<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// A queued request's way to its answer.
type Queued<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

pin_project_lite::pin_project! {
    /// The answer of a [`RateLimit`] service: the inner service's, with the rate-limit
    /// fields added, or the refusal.
    #[project = Project]
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProject]
    enum State<F, B, E> {
        Admitted {
            #[pin]
            future: F,
            fields: Fields,
        },
        Queued {
            future: Queued<Response<B>, E>,
        },
        Refused {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProject::Admitted { future, fields } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                let headers = response.headers_mut();
                for (name, value) in fields.drain(..) {
                    headers.insert(name, value);
                }
                Poll::Ready(Ok(response))
            }
            StateProject::Queued { future } => future.as_mut().poll(cx),
            StateProject::Refused { response } => Poll::Ready(Ok(response
                .take()
                .expect("a refused response future polled after it completed"))),
        }
    }
}

impl<S, T, ReqBody, ResBody> tower::Service<Request<ReqBody>> for RateLimit<S, T>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        #[cfg(feature = "redis")]
        if self.shared.remote() {
            return self.call_remote(request);
        }
        let (parts, body) = request.into_parts();
        let verdict = self.shared.judge(&parts);
        let request = Request::from_parts(parts, body);
        let state = match verdict {
            Verdict::Pass(fields) => State::Admitted {
                future: self.inner.call(request),
                fields,
            },
            Verdict::Refuse(head) => {
                let (parts, ()) = head.into_parts();
                State::Refused {
                    response: Some(Response::from_parts(parts, ResBody::default())),
                }
            }
            Verdict::Wait(ticket, fields) => {
                // The ready service goes with the request; this one gets a fresh clone.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                State::Queued {
                    future: Box::pin(async move {
                        ticket.wait().await;
                        let mut response = inner.call(request).await?;
                        let headers = response.headers_mut();
                        for (name, value) in fields {
                            headers.insert(name, value);
                        }
                        Ok(response)
                    }),
                }
            }
        };
        ResponseFuture { state }
    }
}

#[cfg(feature = "redis")]
impl<S, T> RateLimit<S, T>
where
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    /// A request decided with a round trip to Redis: the whole answer is one future.
    fn call_remote<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S::Future, ResBody, S::Error>
    where
        S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Send + 'static,
        ReqBody: Send + 'static,
        ResBody: Default + Send + 'static,
    {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let future = async move {
            let (parts, body) = request.into_parts();
            let verdict = shared.judge_remote(&parts).await;
            let request = Request::from_parts(parts, body);
            match verdict {
                Verdict::Refuse(head) => {
                    let (parts, ()) = head.into_parts();
                    Ok(Response::from_parts(parts, ResBody::default()))
                }
                Verdict::Pass(fields) | Verdict::Wait(_, fields) => {
                    let mut response = inner.call(request).await?;
                    let headers = response.headers_mut();
                    for (name, value) in fields {
                        headers.insert(name, value);
                    }
                    Ok(response)
                }
            }
        };
        ResponseFuture {
            state: State::Queued {
                future: Box::pin(future),
            },
        }
    }
}
