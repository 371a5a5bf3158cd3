//! What the layer answers: refuse at once, queue for a bounded wait, or only report; and the
//! refusal a custom response is built from.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};

use super::headers::seconds_up;
use super::key::KeyError;

/// How the layer treats a request over its limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Refuse it at once: `429 Too Many Requests` with `Retry-After` (the default).
    #[default]
    Refuse,
    /// Reserve its slot and hold it until then, if that is at most this long away; refuse it
    /// otherwise. A client that goes away while its request waits (the response future is
    /// dropped) hands its reservations back.
    Queue(Duration),
    /// Refuse nothing: count as [`Refuse`](Mode::Refuse) would (a request it would refuse
    /// takes nothing from any limit), report every decision, and pass every request on,
    /// without rate-limit fields. For trying limits on real traffic.
    Shadow,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Over a limit (in queue mode: its slot is further away than the longest wait).
    OverLimit,
    /// A limit's table is full of busy keys and had no room for this new one.
    TableFull,
    /// A limit could not read the request's key, and answers that with `status`.
    Unreadable {
        /// What went wrong.
        error: KeyError,
        /// The status the limit answers it with.
        status: StatusCode,
    },
    /// A limit's store failed, or can never admit the request.
    Unavailable,
}

/// A refusal, as a custom response builder receives it: the reason, the limit and class
/// that refused, when to come back, and the header fields the default answer carries.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// The limit that refused.
    pub limit: Option<Arc<str>>,
    /// Its class of the request.
    pub class: Option<Arc<str>>,
    /// How long until the request could go (for a full table: until a slot frees), if
    /// known.
    pub retry_after: Option<Duration>,
    /// `Retry-After` (whole seconds, rounded up) and the rate-limit fields configured.
    pub headers: HeaderMap,
}

impl Refusal {
    /// The default answer: `429 Too Many Requests` over a limit or with a full table, the
    /// limit's status for an unreadable key, `503 Service Unavailable` for a failed store;
    /// with [`headers`](Refusal::headers).
    ///
    /// ```
    /// use pacer_tower::server::{Reason, Refusal};
    ///
    /// let refusal = Refusal {
    ///     reason: Reason::OverLimit,
    ///     limit: Some("per-ip".into()),
    ///     class: None,
    ///     retry_after: Some(std::time::Duration::from_millis(1_200)),
    ///     headers: Default::default(),
    /// };
    /// assert_eq!(refusal.status(), http::StatusCode::TOO_MANY_REQUESTS);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self.reason {
            Reason::OverLimit | Reason::TableFull => StatusCode::TOO_MANY_REQUESTS,
            Reason::Unreadable { status, .. } => status,
            Reason::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The default answer's head: [`status`](Refusal::status) and
    /// [`headers`](Refusal::headers), with an empty body.
    pub fn response(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = self.status();
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Builds the answer to a refusal: the status and header fields; the body is the response
/// body type's default (empty).
pub(crate) type Respond = dyn Fn(&Refusal) -> http::Response<()> + Send + Sync;

/// `Retry-After` in whole seconds, rounded up, so a client that waits that long is never
/// early.
pub(crate) fn retry_after(headers: &mut HeaderMap, wait: Duration) {
    headers.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(seconds_up(wait).max(1)),
    );
}
