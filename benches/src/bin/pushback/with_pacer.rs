//! pacer listening: `PushbackLayer` around hyper-util's client; a refused call is sent again
//! through the layer, which holds it until the pause ends.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::BodyExt;
use pacer_core::{Adaptive, Quota};
use pacer_tokio::TokioTimer;
use pacer_tower::client::{Pushback, PushbackLayer};
use tower::{ServiceBuilder, ServiceExt};

use crate::calls::{Counts, Tally, drive};
use crate::http::{Answer, answer, client, request};

/// Runs the calls through the layer.
pub(crate) async fn run(url: String, work: Arc<[Duration]>, in_flight: usize) -> Counts {
    let tally = Arc::new(Tally::default());
    // The documented 100 per second is the ceiling; the controller's defaults otherwise.
    let documented = Quota::per_second(100).expect("a valid quota");
    let adaptive = Adaptive::new(Quota::per_second(1).expect("a valid quota"), documented)
        .expect("the floor is below the ceiling");
    let pushback = Arc::new(
        Pushback::builder(documented)
            .concurrency(in_flight)
            .adapt(adaptive)
            .build::<TokioTimer>()
            .expect("a cap above zero"),
    );
    let http = client(in_flight);
    // Every call that reaches the client is checked against the limiter's pause as it goes.
    let watched = {
        let (pushback, tally) = (pushback.clone(), tally.clone());
        tower::service_fn(move |request| {
            if pushback.pacer().paused_until().is_some() {
                tally.started_while_paused.fetch_add(1, Ordering::Relaxed);
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
    tally.counts()
}
