//! An HTTP service on axum that limits each client to 5 requests per second (bursts of 5),
//! through pacer-tower's rate-limit layer: a client is named by its `x-api-key` header, a
//! request without one is answered `401`, and a client over its limit gets `429 Too Many
//! Requests` with `Retry-After`. Every answer carries the IETF `RateLimit-Policy` and
//! `RateLimit` fields. The layer's table holds up to 100,000 busy clients in memory fixed
//! when the server starts: idle clients are forgotten by the table itself, so a flood of new
//! keys cannot grow it.
//!
//! The program serves on a free local port and drives itself: three clients send requests at
//! different paces and each prints what it got.
//!
//! Run it with `cargo run -p pacer-examples-http --example keyed_server`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pacer_tokio::{Quota, TokioTimer};
use pacer_tower::server::{HeaderKey, Limit, RateLimitLayer, Unreadable};

/// Requests per second per client, and how many may come back to back.
const RATE: u32 = 5;
/// Clients the layer holds at once; beyond that, new clients are refused until a slot frees.
const CLIENTS: usize = 100_000;

/// What one client saw: each answer's status and rate-limit fields.
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
            StatusCode::OK => format!("200 RateLimit: {}", header("ratelimit")),
            status => format!(
                "{} retry-after {}s, RateLimit: {}",
                status.as_u16(),
                header("retry-after"),
                header("ratelimit")
            ),
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
    let per_key = Limit::new(
        "per-key",
        HeaderKey::new(HeaderName::from_static("x-api-key")),
        quota,
        CLIENTS,
    )?
    .on_unreadable(Unreadable::Respond(StatusCode::UNAUTHORIZED));
    let layer = RateLimitLayer::builder(TokioTimer::new())
        .limit(per_key)
        .build()?;
    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(layer.clone());
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
    let (held, room) = layer.keys("per-key", "default")?;
    println!("{held} clients held by the layer, which has room for {room}");
    Ok(())
}
