//! An HTTP service on axum that limits each client to 5 requests per second (bursts of 5),
//! answering `429 Too Many Requests` with `Retry-After` once a client is over, and
//! `X-RateLimit-Remaining` on every answer. One `pacer_tokio::KeyedLimiter` holds a limit
//! per API key in memory fixed when the server starts: idle clients are forgotten by the
//! limiter itself, so a flood of new keys cannot grow it.
//!
//! The program serves on a free local port and drives itself: three clients send requests at
//! different paces and each prints what it got.
//!
//! Run it with `cargo run --release --example keyed_server`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pacer_tokio::{Error, KeyedLimiter, Quota};

/// Requests per second per client, and how many may come back to back.
const RATE: u32 = 5;
/// Clients the limiter holds at once; beyond that, new clients wait for an idle one's slot.
const CLIENTS: usize = 100_000;

type Limiter = Arc<KeyedLimiter<String>>;

/// The one handler: a client is named by its `x-api-key` header.
async fn hello(State(limiter): State<Limiter>, headers: HeaderMap) -> Response {
    let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) else {
        return (StatusCode::UNAUTHORIZED, "an x-api-key header, please\n").into_response();
    };
    match limiter.try_acquire(key, 1) {
        Ok(()) => {
            let remaining = limiter.snapshot(key).remaining;
            let mut response = (StatusCode::OK, "hello\n").into_response();
            response
                .headers_mut()
                .insert("x-ratelimit-remaining", remaining.into());
            response
        }
        // Over the limit, or no room for a new client: both carry the instant to come back.
        Err(error @ (Error::WouldWait { .. } | Error::TableFull { .. })) => {
            let wait = limiter.retry_after(&error).unwrap_or(Duration::MAX);
            // Retry-After is in whole seconds: round up, so a client that obeys is never early.
            let seconds = wait.as_nanos().div_ceil(1_000_000_000).max(1) as u64;
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "slow down\n").into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", seconds.into());
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            response
        }
        Err(other) => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()).into_response(),
    }
}

/// What one client saw: each answer's status and headers.
async fn client(address: SocketAddr, key: &'static str, requests: usize, pause: Duration) {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut lines = Vec::new();
    for _ in 0..requests {
        let request = hyper::Request::get(format!("http://{address}/"))
            .header("x-api-key", key)
            .body(Empty::new())
            .expect("a well-formed request");
        let response = http.request(request).await.expect("the server answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        lines.push(match response.status() {
            StatusCode::OK => format!("200 remaining {}", header("x-ratelimit-remaining")),
            status => format!("{} retry-after {}s", status.as_u16(), header("retry-after")),
        });
        tokio::time::sleep(pause).await;
    }
    println!(
        "{key:>6} ({requests} requests, {} ms apart):",
        pause.as_millis()
    );
    for (i, line) in lines.iter().enumerate() {
        println!("        #{:<2} {line}", i + 1);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quota = Quota::per_second(RATE)?.with_burst(RATE)?;
    let limiter: Limiter = Arc::new(KeyedLimiter::new(quota, CLIENTS)?);
    let app = Router::new()
        .route("/", get(hello))
        .with_state(limiter.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "serving http://{address}/: {RATE} requests per second per x-api-key, bursts of {RATE}, \
         up to {CLIENTS} clients at once"
    );

    // alice bursts 8 requests; bob asks 3 times, slowly; carol keeps to 4 per second.
    tokio::join!(
        client(address, "alice", 8, Duration::ZERO),
        client(address, "bob", 3, Duration::from_millis(300)),
        client(address, "carol", 10, Duration::from_millis(250)),
    );
    println!(
        "{} clients held by the limiter, which has room for {}",
        limiter.limiter().inner().len(),
        limiter.limiter().inner().capacity()
    );
    Ok(())
}
