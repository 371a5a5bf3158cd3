//! A real axum server on 127.0.0.1 behind the layer, hyper's client, and an observer the
//! tests can wait on.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pacer_core::ManualTimer;
use pacer_tower::server::{Event, Observer, Outcome, RateLimitLayer};

/// The routes the tests serve: `/`, `/search` and `/users/{id}`.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/search", get(|| async { "results" }))
        .route("/users/{id}", get(|| async { "user" }))
}

/// Serves [`routes`] behind `layer` on a free port of 127.0.0.1, with the peer address handed
/// to the request (axum's `ConnectInfo`).
pub async fn serve(layer: RateLimitLayer<ManualTimer>) -> SocketAddr {
    serve_app(routes().layer(layer)).await
}

/// Serves `app` on a free port of 127.0.0.1, with the peer address handed to the request.
pub async fn serve_app(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    address
}

/// An HTTP/1 client, connecting from `from` (a 127.x.y.z address) when given.
pub fn client(from: Option<IpAddr>) -> Client<HttpConnector, Empty<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_local_address(from);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// What a test looks at in an answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// GET `path` with `headers`.
pub async fn get_with(
    client: &Client<HttpConnector, Empty<Bytes>>,
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = http::Request::get(format!("http://{address}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Empty::new()).expect("a well-formed request");
    let response = client.request(request).await.expect("the server answers");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// One report as recorded: outcome, limit, class, shadow.
pub type Report = (Outcome, Option<String>, Option<String>, bool);

/// Records every outcome and wakes tests waiting for one.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Report>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl Observer for Recorder {
    fn observe(&self, event: &Event<'_>) {
        self.seen.lock().unwrap().push((
            event.outcome,
            event.limit.map(str::to_owned),
            event.class.map(str::to_owned),
            event.shadow,
        ));
        self.notify.notify_waiters();
    }
}

impl Recorder {
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.seen.lock().unwrap().iter().map(|e| e.0).collect()
    }

    pub fn events(&self) -> Vec<Report> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes().iter().filter(|o| **o == outcome).count()
    }

    /// Waits until `outcome` has been seen `times` times (a bound of 10 s guards against a
    /// hang; it is not a timing check).
    pub async fn wait_for(&self, outcome: Outcome, times: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.notify.notified();
                let mut notified = std::pin::pin!(notified);
                notified.as_mut().enable();
                if self.count(outcome) >= times {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the outcome is reported");
    }
}
