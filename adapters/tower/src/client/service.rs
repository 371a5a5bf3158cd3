//! `PushbackService`: a client service whose calls wait for a [`Pushback`] and report back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use pacer_core::Timer;
use tower::{BoxError, Service};

use super::Pushback;

/// The service [`PushbackLayer`](super::PushbackLayer) makes: each call first waits for the
/// shared [`Pushback`] (rate, pause and concurrency cap), then goes to the inner service, and
/// its answer's status and headers go to [`Pushback::listen`] before the caller sees it.
///
/// A gRPC server refuses a call with a `200 OK` whose head carries `grpc-status` (a
/// *trailers-only* answer, as tonic sends every error a handler returns): there,
/// `grpc-status: 8` (`RESOURCE_EXHAUSTED`) is heard as a `429` and `grpc-status: 14`
/// (`UNAVAILABLE`) as a `503`, so their `Retry-After` metadata pauses every caller. A status
/// sent in trailers after response messages is not heard: it comes after the answer has
/// gone to the caller.
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
                    heard_status(response.status(), response.headers()),
                    headers.map(|(name, value)| (name.as_str(), value.as_bytes())),
                );
                Ok(response)
            }),
        }
    }
}

/// The status [`Pushback::listen`] hears for an answer: gRPC's `RESOURCE_EXHAUSTED` (8) and
/// `UNAVAILABLE` (14) in the head of a `200 OK` (a trailers-only gRPC answer) as `429` and
/// `503`, anything else as it is.
fn heard_status(status: StatusCode, headers: &HeaderMap) -> u16 {
    if status == StatusCode::OK {
        match headers.get("grpc-status").map(HeaderValue::as_bytes) {
            Some(b"8") => return StatusCode::TOO_MANY_REQUESTS.as_u16(),
            Some(b"14") => return StatusCode::SERVICE_UNAVAILABLE.as_u16(),
            _ => {}
        }
    }
    status.as_u16()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, grpc_status: Option<&'static str>) -> (StatusCode, HeaderMap) {
        let mut headers = HeaderMap::new();
        if let Some(code) = grpc_status {
            headers.insert("grpc-status", HeaderValue::from_static(code));
        }
        (StatusCode::from_u16(status).unwrap(), headers)
    }

    #[test]
    fn a_trailers_only_grpc_refusal_is_heard_as_its_http_status() {
        let cases = [
            (200, Some("8"), 429),  // RESOURCE_EXHAUSTED
            (200, Some("14"), 503), // UNAVAILABLE
            (200, Some("0"), 200),  // OK
            (200, Some("2"), 200),  // UNKNOWN: not about load
            (200, Some("80"), 200),
            (200, Some(" 8"), 200),
            (200, None, 200),
            (429, None, 429),
            (503, Some("0"), 503),
            (500, Some("8"), 500), // not a gRPC answer: its HTTP status stands
        ];
        for (status, grpc, heard) in cases {
            let (status, headers) = head(status, grpc);
            assert_eq!(heard_status(status, &headers), heard, "{status} {grpc:?}");
        }
    }

    #[test]
    fn its_retry_after_pauses_every_caller() {
        use pacer_core::{ManualTimer, Quota};
        use std::time::Duration;

        let pushback = Pushback::builder(Quota::per_second(10).unwrap())
            .build_with_timer(ManualTimer::new())
            .unwrap();
        let (status, mut headers) = head(200, Some("8"));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let heard = pushback.listen(
            heard_status(status, &headers),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        assert!(heard.throttled);
        assert_eq!(heard.paused_for, Some(Duration::from_secs(3)));
    }
}
