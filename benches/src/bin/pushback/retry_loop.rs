//! What users write today: a fixed limiter at the documented 100 per second, and on a 429 a
//! sleep of that request's `Retry-After`, then the same request again.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::BodyExt;

use crate::calls::{Counts, Tally, drive};
use crate::http::{Answer, answer, client, request};

/// Which fixed limiter.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fixed {
    /// `pacer_tokio::Limiter`, 100 per second, burst 1.
    Pacer,
    /// governor's `Quota::per_second(100)`, as its docs write it (burst 100).
    Governor,
}

/// Runs the calls through a fixed limiter with a per-request retry loop.
pub(crate) async fn run(
    url: String,
    work: Arc<[Duration]>,
    in_flight: usize,
    fixed: Fixed,
) -> Counts {
    let tally = Arc::new(Tally::default());
    let http = client(in_flight);
    let pacer = Arc::new(pacer_tokio::Limiter::new(
        pacer_tokio::Quota::per_second(100).expect("a valid quota"),
    ));
    let governor = Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(
        NonZeroU32::new(100).expect("not zero"),
    )));
    let url: Arc<str> = url.into();
    let attempt = {
        let tally = tally.clone();
        move |work: Duration| {
            let (tally, http, url) = (tally.clone(), http.clone(), url.clone());
            let (pacer, governor) = (pacer.clone(), governor.clone());
            async move {
                match fixed {
                    Fixed::Pacer => pacer.acquire().await.expect("one cell always fits"),
                    Fixed::Governor => governor.until_ready().await,
                }
                let Ok(response) = http.request(request(&url, work)).await else {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    return false;
                };
                let outcome = answer(&response);
                let _ = response.into_body().collect().await;
                match outcome {
                    Answer::Done => true,
                    Answer::Refused(wait) => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(wait.unwrap_or(Duration::from_secs(1))).await;
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
    tally.counts()
}
