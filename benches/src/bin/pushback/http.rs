//! One request to the strict server, on hyper-util's client.

use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The client every contender sends with.
pub(crate) type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// A client that keeps enough idle connections for every call in flight.
pub(crate) fn client(in_flight: usize) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(in_flight)
        .build_http()
}

/// A call doing `work` on the server at `url`.
pub(crate) fn request(url: &str, work: Duration) -> Request<Empty<Bytes>> {
    Request::get(url)
        .header("x-work-ms", work.as_millis().to_string())
        .body(Empty::new())
        .expect("a valid request")
}

/// The server's answer, as a retry loop reads it.
pub(crate) enum Answer {
    /// Admitted.
    Done,
    /// Refused, with the `Retry-After` it carried.
    Refused(Option<Duration>),
    /// Anything else.
    Failed,
}

/// Reads a response's status and `Retry-After` (delay-seconds only: the strict server sends
/// no dates).
pub(crate) fn answer<B>(response: &hyper::Response<B>) -> Answer {
    match response.status() {
        StatusCode::OK => Answer::Done,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Answer::Refused(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs),
        ),
        _ => Answer::Failed,
    }
}
