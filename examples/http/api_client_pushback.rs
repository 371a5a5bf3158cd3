//! The main job against a server that pushes back: 2,000 calls of 20 to 200 ms, at most 50 in
//! flight, to a local API server that admits at most 100 requests in any second, drops to 50
//! after 10 s and comes back to 100 after 20 s, without notice.
//!
//! The client is hyper-util's behind `pacer_tower::client::PushbackLayer`: a limiter starting
//! at 100 per second that adapts to what the server says. In the default *headers* mode the
//! server states its limit on every answer (`RateLimit-Policy`, `RateLimit`); with `--bare` it
//! only answers 429 with `Retry-After`. A refused call is sent again through the layer, which
//! holds it until the pause ends.
//!
//! Every second it prints the calls done, the 429s, the client's rate and whether it is
//! paused; at the end, the goodput: admitted calls as a percentage of what the server allowed
//! over the same time.
//!
//! Run it with `cargo run --release --example api_client_pushback` (`-- --bare` for the other
//! mode, `-- --calls N` for another count).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pacer_core::Adaptive;
use pacer_examples_http::strict_server::{Mode, Schedule, StrictServer};
use pacer_tokio::{Quota, TokioTimer};
use pacer_tower::client::{Pushback, PushbackLayer};
use tower::{ServiceBuilder, ServiceExt};

const IN_FLIGHT: usize = 50;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mode = Mode::Headers;
    let mut calls: usize = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bare" => mode = Mode::Bare,
            "--calls" => calls = args.next().ok_or("--calls needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let server = StrictServer::start(mode, Schedule::pushback()).await?;
    println!(
        "{calls} calls of 20-200 ms, {IN_FLIGHT} in flight, to {} ({mode:?} mode): 100/s, 50/s after 10 s, 100/s after 20 s",
        server.url()
    );

    // The few lines a user writes: a limiter that listens, as a layer on the client.
    let documented = Quota::per_second(100)?;
    // A stated policy of q per second is served at q per (1 s + 20 ms of room for lateness),
    // and calls leave no more than q in any 1.02 s; a full window (`r=0`) at that pace
    // pauses nothing.
    let adaptive = Adaptive::new(Quota::per_second(1)?, documented)?
        .on_decision(|decision| println!("        pacer: {decision}"));
    let pushback = Arc::new(
        Pushback::builder(documented)
            .concurrency(IN_FLIGHT)
            .adapt(adaptive)
            .build::<TokioTimer>()?,
    );
    let http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(IN_FLIGHT)
        .build_http::<Empty<Bytes>>();
    let client = ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(&pushback)))
        .service(http);

    let done = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let progress = {
        let (done, refused, pushback) = (done.clone(), refused.clone(), pushback.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let paused = match pushback.pacer().paused_until() {
                    Some(_) => "paused",
                    None => "",
                };
                let rate = pushback.quota();
                let rate = f64::from(rate.count()) / rate.period().as_secs_f64();
                println!(
                    "{:>5.1} s  done {:>5}  429s {:>4}  rate {rate:>5.1}/s  {paused}",
                    started.elapsed().as_secs_f64(),
                    done.load(Ordering::Relaxed),
                    refused.load(Ordering::Relaxed),
                );
            }
        })
    };

    let url: Arc<str> = server.url().into();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, url, done, refused, next) = (
                client.clone(),
                url.clone(),
                done.clone(),
                refused.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < calls as u64 {
                    let i = done.load(Ordering::Relaxed);
                    let work = 20 + (i * 7919) % 181; // 20 to 200 ms
                    loop {
                        let request = Request::get(&*url)
                            .header("x-work-ms", work.to_string())
                            .body(Empty::new())?;
                        let response = client.clone().oneshot(request).await?;
                        let status = response.status();
                        response.into_body().collect().await?;
                        if status.is_success() {
                            done.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .collect();
    for worker in workers {
        worker.await?.map_err(|e| e.to_string())?;
    }
    progress.abort();

    let stats = server.stats();
    println!(
        "done: {} calls admitted in {:.1} s, {} answered 429; the server allowed {:.0} over that time; goodput {:.1}%",
        stats.admitted,
        stats.span.as_secs_f64(),
        stats.refused,
        stats.allowed,
        stats.goodput_percent().unwrap_or(0.0),
    );
    server.stop().await?;
    Ok(())
}
