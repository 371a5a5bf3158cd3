//! What the layer answers: refuse at once, queue for a bounded wait, or only report; the
//! refusal a custom response is built from; and the refusal as a gRPC answer.

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

    /// The gRPC status code of this refusal, by the numbers of gRPC's status codes:
    ///
    /// | refusal | code |
    /// |---|---|
    /// | over a limit, or a full table | 8 `RESOURCE_EXHAUSTED` |
    /// | a failed store | 14 `UNAVAILABLE` |
    /// | an unreadable key answered `401` | 16 `UNAUTHENTICATED` |
    /// | an unreadable key answered `403` | 7 `PERMISSION_DENIED` |
    /// | an unreadable key answered `429` | 8 `RESOURCE_EXHAUSTED` |
    /// | an unreadable key answered `503` | 14 `UNAVAILABLE` |
    /// | an unreadable key answered any other `4xx` | 3 `INVALID_ARGUMENT` |
    /// | an unreadable key answered any other status | 13 `INTERNAL` |
    ///
    /// ```
    /// use pacer_tower::server::{Reason, Refusal};
    ///
    /// let refusal = Refusal {
    ///     reason: Reason::OverLimit,
    ///     limit: Some("per-peer".into()),
    ///     class: None,
    ///     retry_after: None,
    ///     headers: Default::default(),
    /// };
    /// assert_eq!(refusal.grpc_code(), 8); // RESOURCE_EXHAUSTED
    /// ```
    pub fn grpc_code(&self) -> u8 {
        match self.reason {
            Reason::OverLimit | Reason::TableFull => GRPC_RESOURCE_EXHAUSTED,
            Reason::Unavailable => GRPC_UNAVAILABLE,
            Reason::Unreadable { status, .. } => match status {
                StatusCode::UNAUTHORIZED => 16,
                StatusCode::FORBIDDEN => 7,
                StatusCode::TOO_MANY_REQUESTS => GRPC_RESOURCE_EXHAUSTED,
                StatusCode::SERVICE_UNAVAILABLE => GRPC_UNAVAILABLE,
                status if status.is_client_error() => 3,
                _ => 13,
            },
        }
    }

    /// The answer for a gRPC server (tonic): a *trailers-only* response, which every gRPC
    /// client reads as a failed call with [`grpc_code`](Refusal::grpc_code) (8,
    /// `RESOURCE_EXHAUSTED`, over a limit). Its head is `200 OK`, `content-type:
    /// application/grpc`, `grpc-status`, a `grpc-message` naming the limit (percent-encoded
    /// as gRPC requires), and [`headers`](Refusal::headers): `Retry-After` and the rate-limit
    /// fields, which a gRPC client sees as the status's metadata. The body is empty, so the
    /// head ends the stream.
    ///
    /// The default answer, a `429`, is not a gRPC answer: gRPC clients map it to
    /// `UNAVAILABLE`, the code for a server that cannot be reached (tonic keeps its head as
    /// the status's metadata). Give this one to
    /// [`Builder::respond_with`](super::Builder::respond_with) for a layer in front of gRPC
    /// services only: the builder sees the refusal, not the request, so the layer answers
    /// every refusal this way.
    ///
    /// ```
    /// use pacer_core::{ManualTimer, Quota};
    /// use pacer_tower::server::{HeaderKey, Limit, RateLimitLayer, Reason, Refusal};
    ///
    /// // Per API key, read from the call's `x-api-key` metadata.
    /// let api_key = HeaderKey::new(http::HeaderName::from_static("x-api-key"));
    /// let layer = RateLimitLayer::builder(ManualTimer::new())
    ///     .limit(Limit::new("per-key", api_key, Quota::per_second(10)?, 10_000)?)
    ///     .respond_with(Refusal::grpc_response)
    ///     .build()?;
    /// // tonic::transport::Server::builder().layer(layer).add_service(...)
    /// # drop(layer);
    ///
    /// let refusal = Refusal {
    ///     reason: Reason::OverLimit,
    ///     limit: Some("per-key".into()),
    ///     class: None,
    ///     retry_after: Some(std::time::Duration::from_millis(300)),
    ///     headers: [(http::header::RETRY_AFTER, http::HeaderValue::from(1))]
    ///         .into_iter()
    ///         .collect(),
    /// };
    /// let answer = refusal.grpc_response();
    /// assert_eq!(answer.status(), http::StatusCode::OK);
    /// assert_eq!(answer.headers()["grpc-status"], "8");
    /// assert_eq!(answer.headers()["grpc-message"], "rate limit per-key exceeded");
    /// assert_eq!(answer.headers()["retry-after"], "1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn grpc_response(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        let headers = response.headers_mut();
        headers.reserve(self.headers.len() + 3);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(GRPC_STATUS, HeaderValue::from(u16::from(self.grpc_code())));
        if let Ok(message) = HeaderValue::from_bytes(&percent_encode(&self.grpc_message())) {
            headers.insert(GRPC_MESSAGE, message);
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        response
    }

    /// What [`grpc_response`](Refusal::grpc_response) says in `grpc-message`, before encoding.
    fn grpc_message(&self) -> String {
        let limit = match &self.limit {
            Some(limit) => format!("rate limit {limit}"),
            None => "rate limit".to_owned(),
        };
        match self.reason {
            Reason::OverLimit => format!("{limit} exceeded"),
            Reason::TableFull => format!("{limit}: too many clients at once"),
            Reason::Unreadable { error, .. } => format!("{limit}: {error}"),
            Reason::Unavailable => format!("{limit}: store unavailable"),
        }
    }
}

/// gRPC's status code `RESOURCE_EXHAUSTED`.
const GRPC_RESOURCE_EXHAUSTED: u8 = 8;
/// gRPC's status code `UNAVAILABLE`.
const GRPC_UNAVAILABLE: u8 = 14;
/// The gRPC status of a call, in the head of a trailers-only answer.
const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
/// Its message, percent-encoded.
const GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");

/// `text` as gRPC's `grpc-message` carries it: every byte outside printable ASCII, and `%`,
/// as `%XX` (upper-case hex).
fn percent_encode(text: &str) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = Vec::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            encoded.push(byte);
        } else {
            encoded.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 15)],
            ]);
        }
    }
    encoded
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(reason: Reason, limit: Option<&str>) -> Refusal {
        Refusal {
            reason,
            limit: limit.map(Into::into),
            class: None,
            retry_after: None,
            headers: HeaderMap::new(),
        }
    }

    #[test]
    fn grpc_codes_follow_the_reason() {
        let unreadable = |status| Reason::Unreadable {
            error: KeyError::Missing("key header"),
            status,
        };
        let cases = [
            (Reason::OverLimit, 8),
            (Reason::TableFull, 8),
            (Reason::Unavailable, 14),
            (unreadable(StatusCode::BAD_REQUEST), 3),
            (unreadable(StatusCode::UNAUTHORIZED), 16),
            (unreadable(StatusCode::FORBIDDEN), 7),
            (unreadable(StatusCode::TOO_MANY_REQUESTS), 8),
            (unreadable(StatusCode::SERVICE_UNAVAILABLE), 14),
            (unreadable(StatusCode::INTERNAL_SERVER_ERROR), 13),
            (unreadable(StatusCode::OK), 13),
        ];
        for (reason, code) in cases {
            assert_eq!(refusal(reason, None).grpc_code(), code, "{reason:?}");
        }
    }

    #[test]
    fn the_grpc_answer_is_trailers_only_and_keeps_the_fields() {
        let mut refused = refusal(Reason::TableFull, Some("per-peer"));
        retry_after(&mut refused.headers, Duration::from_millis(1_500));
        refused.headers.insert(
            super::super::RATELIMIT,
            HeaderValue::from_static("\"per-peer\";r=0;t=2"),
        );
        let answer = refused.grpc_response();
        assert_eq!(answer.status(), StatusCode::OK);
        let headers = answer.headers();
        assert_eq!(headers["content-type"], "application/grpc");
        assert_eq!(headers["grpc-status"], "8");
        assert_eq!(
            headers["grpc-message"],
            "rate limit per-peer: too many clients at once"
        );
        assert_eq!(headers["retry-after"], "2");
        assert_eq!(headers["ratelimit"], "\"per-peer\";r=0;t=2");
    }

    #[test]
    fn the_grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("plain text: ok"), b"plain text: ok");
        assert_eq!(percent_encode("100%"), b"100%25");
        assert_eq!(percent_encode("caf\u{e9}\n"), b"caf%C3%A9%0A");
        let answer = refusal(Reason::OverLimit, Some("\u{e9}t\u{e9} 50%")).grpc_response();
        assert_eq!(
            answer.headers()["grpc-message"],
            "rate limit %C3%A9t%C3%A9 50%25 exceeded"
        );
    }
}
