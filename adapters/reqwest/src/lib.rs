//! # pacer-reqwest
//!
//! [pacer](pacer_core) as a [`reqwest_middleware`] middleware: every request waits for a
//! shared limiter, and every answer is read for what the server says about its limit.
//!
//! A `429 Too Many Requests` or `503` with `Retry-After`, or `RateLimit` fields saying
//! nothing remains, **pauses** the limiter: no request goes out before the server said, and
//! requests already waiting move later in order. With adaptation on, the rate follows the
//! server's stated policy and its 429s. Headers that do not parse change nothing. See
//! [`pacer_tower::client::Pushback`] for the limiter itself.
//!
//! ```no_run
//! use std::sync::Arc;
//! use pacer_reqwest::{PacerMiddleware, Pushback, Quota};
//! use pacer_tokio::TokioTimer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pushback = Pushback::builder(Quota::per_second(100)?)
//!     .concurrency(20)
//!     .build::<TokioTimer>()?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(PacerMiddleware::new(Arc::new(pushback)))
//!     .build();
//! let answer = client.get("http://127.0.0.1:8080/").send().await?;
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

use std::sync::Arc;

use http::Extensions;
use pacer_core::Timer;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

pub use pacer_core::{Error, Quota};
pub use pacer_tower::client::{Heard, Pushback, PushbackBuilder};

/// The middleware: acquire from a shared [`Pushback`] before each request (a rate slot, and
/// a concurrency slot held until the answer's head has come, if there is a cap), then hand
/// the answer's status and headers to [`Pushback::listen`].
///
/// It does not retry: a refused request's answer reaches the caller (put a retry middleware
/// before this one, so each attempt waits out the pause). A limiter error is
/// [`reqwest_middleware::Error::Middleware`].
#[derive(Debug)]
pub struct PacerMiddleware<T> {
    pushback: Arc<Pushback<T>>,
}

impl<T> PacerMiddleware<T> {
    /// A middleware on `pushback`, which may be shared with other clients.
    pub fn new(pushback: Arc<Pushback<T>>) -> Self {
        PacerMiddleware { pushback }
    }

    /// The shared limiter.
    pub fn pushback(&self) -> &Arc<Pushback<T>> {
        &self.pushback
    }
}

impl<T> Clone for PacerMiddleware<T> {
    fn clone(&self) -> Self {
        PacerMiddleware {
            pushback: Arc::clone(&self.pushback),
        }
    }
}

#[async_trait::async_trait]
impl<T> Middleware for PacerMiddleware<T>
where
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let _permit = self
            .pushback
            .acquire()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.run(request, extensions).await?;
        let headers = response.headers().iter();
        self.pushback.listen(
            response.status().as_u16(),
            headers.map(|(name, value)| (name.as_str(), value.as_bytes())),
        );
        Ok(response)
    }
}
