//! pacer listening: `PushbackLayer` around hyper-util's client; a refused call is sent again
//! through the layer, which holds it until the pause ends.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::BodyExt;
use pacer_core::Clock;
use pacer_core::{Adaptive, Quota};
use pacer_tokio::TokioTimer;
use pacer_tower::client::{Pushback, PushbackLayer};
use tower::{ServiceBuilder, ServiceExt};

use crate::calls::{Counts, Tally, drive};
use crate::http::{Answer, answer, client, request};

/// How pacer's controller is set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// The ceiling: the documented 100 per second, over a period of `1 s + headroom`.
    pub(crate) headroom: Duration,
    /// The controller's backoff on a 429, in percent (`None`: its default).
    pub(crate) backoff: Option<u8>,
    /// The controller's additive step, in cells per second (`None`: its default).
    pub(crate) step: Option<u32>,
    /// The lateness allowance of an adopted policy (`None`: its default).
    pub(crate) lateness: Option<Duration>,
    /// Print every decision, pause and refusal to stderr, with its time from the start.
    pub(crate) trace: bool,
}

/// Runs the calls through the layer.
pub(crate) async fn run(
    url: String,
    work: Arc<[Duration]>,
    in_flight: usize,
    tuning: Tuning,
) -> Counts {
    let tally = Arc::new(Tally::default());
    // The documented 100 per second with the contract's headroom for a strict server is the
    // ceiling; 1 per second the floor.
    let ceiling = Quota::new(100, Duration::from_secs(1) + tuning.headroom).expect("a valid quota");
    let mut adaptive = Adaptive::new(Quota::per_second(1).expect("a valid quota"), ceiling)
        .expect("the floor is below the ceiling");
    if let Some(backoff) = tuning.backoff {
        adaptive = adaptive.with_backoff(backoff).expect("a backoff in 1..=99");
    }
    if let Some(step) = tuning.step {
        adaptive = adaptive.with_step(step);
    }
    if let Some(lateness) = tuning.lateness {
        adaptive = adaptive.with_lateness(lateness);
    }
    let timer = TokioTimer::new();
    let trace = tuning.trace;
    let secs = move |at: u64| at as f64 / 1e9;
    let adaptive = adaptive.on_decision(move |d| {
        if trace {
            eprintln!("{:8.3} {} -> {}", secs(d.at), d.reason, d.new);
        }
    });
    let pushback = Arc::new(
        Pushback::builder(ceiling)
            .concurrency(in_flight)
            .adapt(adaptive)
            .build_with_timer(timer)
            .expect("a cap above zero"),
    );
    if trace {
        let pushback = pushback.clone();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let until = pushback.pacer().paused_until();
                if until != last {
                    if let Some(until) = until {
                        eprintln!(
                            "{:8.3} paused until {:.3}",
                            secs(pushback.pacer().timer().now()),
                            secs(until)
                        );
                    }
                    last = until;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
    }
    let http = client(in_flight);
    // Every call that reaches the client is checked against the limiter's pause as it goes.
    let sends = Arc::new(std::sync::Mutex::new(Vec::new()));
    let watched = {
        let (pushback, tally, sends) = (pushback.clone(), tally.clone(), sends.clone());
        tower::service_fn(move |request| {
            if pushback.pacer().paused_until().is_some() {
                tally.started_while_paused.fetch_add(1, Ordering::Relaxed);
            }
            if trace {
                sends.lock().unwrap().push(pushback.pacer().timer().now());
            }
            http.request(request)
        })
    };
    let service = ServiceBuilder::new()
        .layer(PushbackLayer::new(pushback))
        .service(watched);
    let url: Arc<str> = url.into();
    let attempt = {
        let tally = tally.clone();
        move |work: Duration| {
            let (tally, service, url) = (tally.clone(), service.clone(), url.clone());
            async move {
                let Ok(response) = service.oneshot(request(&url, work)).await else {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    return false;
                };
                let outcome = answer(&response);
                let _ = response.into_body().collect().await;
                match outcome {
                    Answer::Done => true,
                    Answer::Refused(_) => {
                        if trace {
                            eprintln!("{:8.3} 429", secs(timer.now()));
                        }
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                    Answer::Failed => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                }
            }
        }
    };
    drive(work, in_flight, attempt).await;
    if trace {
        // The sends of each second, and the busiest second ending at each of them.
        let sends = sends.lock().unwrap();
        let mut line = String::new();
        let mut busiest = 0;
        for (j, &at) in sends.iter().enumerate() {
            let first = sends.partition_point(|&x| x + 1_000_000_000 <= at);
            busiest = busiest.max(j + 1 - first);
            let next = sends.get(j + 1).map_or(u64::MAX, |&n| n / 1_000_000_000);
            if next != at / 1_000_000_000 {
                let second = at / 1_000_000_000;
                let count = sends
                    .iter()
                    .filter(|&&x| x / 1_000_000_000 == second)
                    .count();
                line += &format!(" {second}:{count}/{busiest}");
                busiest = 0;
            }
        }
        eprintln!("sends per second (count/busiest sliding second):{line}");
    }
    tally.counts()
}
