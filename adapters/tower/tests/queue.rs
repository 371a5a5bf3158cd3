//! Queue mode over real TCP: a request over its limit waits for its reserved slot, up to a
//! bound, on the layer's timer (a manual one here); a client that goes away while its
//! request waits hands the slot back.

mod common;

use std::time::Duration;

use common::{Recorder, client, get_with, serve};
use http::StatusCode;
use pacer_core::{ManualTimer, Quota};
use pacer_tower::server::{Global, Limit, Mode, Outcome, RateLimitLayer};

fn layer(
    timer: &ManualTimer,
    recorder: &Recorder,
    max_wait: Duration,
) -> RateLimitLayer<ManualTimer> {
    RateLimitLayer::builder(timer.clone())
        .limit(Limit::new("all", Global, Quota::per_second(1).unwrap(), 1).unwrap())
        .mode(Mode::Queue(max_wait))
        .observer(recorder.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_queued_request_goes_at_its_instant_and_not_before() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let address = serve(layer(&timer, &recorder, Duration::from_secs(2))).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );

    let waiting = tokio::spawn({
        let http = http.clone();
        async move { get_with(&http, address, "/", &[]).await }
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(1),
            },
            1,
        )
        .await;
    timer.advance(Duration::from_millis(999));
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "not before its instant");
    timer.advance(Duration::from_millis(1));
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], b"hello");
}

#[tokio::test]
async fn a_request_further_away_than_the_bound_is_refused_and_takes_nothing() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let address = serve(layer(&timer, &recorder, Duration::from_millis(1500))).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );
    let second = tokio::spawn({
        let http = http.clone();
        async move { get_with(&http, address, "/", &[]).await }
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(1),
            },
            1,
        )
        .await;
    // The third would go at 2 s, beyond 1.5 s: refused, with Retry-After 2.
    let third = get_with(&http, address, "/", &[]).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.header("retry-after"), Some("2"));
    timer.advance(Duration::from_secs(1));
    assert_eq!(second.await.unwrap().status, StatusCode::OK);
    // The refusal took nothing: the next slot is at 2 s, one interval after the second.
    let fourth = tokio::spawn({
        let http = http.clone();
        async move { get_with(&http, address, "/", &[]).await }
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(1),
            },
            2,
        )
        .await;
    timer.advance(Duration::from_secs(1));
    assert_eq!(fourth.await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_disconnects_while_queued_hands_its_slot_back() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let address = serve(layer(&timer, &recorder, Duration::from_secs(10))).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );

    // A client queues for the slot at 1 s, then goes away: its own client, so its
    // connection closes when the request is dropped.
    let leaving = tokio::spawn(async move {
        let own = client(None);
        get_with(&own, address, "/", &[]).await
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(1),
            },
            1,
        )
        .await;
    leaving.abort();
    assert!(leaving.await.unwrap_err().is_cancelled());
    recorder.wait_for(Outcome::Cancelled, 1).await;

    // The slot at 1 s is free again: the next request gets it, not the one at 2 s.
    let next = tokio::spawn({
        let http = http.clone();
        async move { get_with(&http, address, "/", &[]).await }
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(1),
            },
            2,
        )
        .await;
    timer.advance(Duration::from_secs(1));
    assert_eq!(next.await.unwrap().status, StatusCode::OK);
    assert_eq!(timer.sleepers(), 0);
}

#[tokio::test]
async fn many_clients_disconnecting_leave_the_limit_exact() {
    let (timer, recorder) = (ManualTimer::new(), Recorder::default());
    let address = serve(layer(&timer, &recorder, Duration::from_secs(100))).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[]).await.status,
        StatusCode::OK
    );
    // Ten clients queue at 1 s .. 10 s; the even ones go away.
    let mut waiting = Vec::new();
    for i in 1..=10u64 {
        let task = tokio::spawn(async move {
            let own = client(None);
            get_with(&own, address, "/", &[]).await
        });
        recorder
            .wait_for(
                Outcome::Queued {
                    wait: Duration::from_secs(i),
                },
                1,
            )
            .await;
        waiting.push(task);
    }
    for (i, task) in waiting.iter().enumerate() {
        if i % 2 == 1 {
            task.abort();
        }
    }
    recorder.wait_for(Outcome::Cancelled, 5).await;
    // Only the newest (10 s) could be handed back exactly; the others' slots stay empty
    // (nothing moves later reservations): the next request queues at 10 s.
    let next = tokio::spawn({
        let http = http.clone();
        async move { get_with(&http, address, "/", &[]).await }
    });
    recorder
        .wait_for(
            Outcome::Queued {
                wait: Duration::from_secs(10),
            },
            2,
        )
        .await;
    timer.advance(Duration::from_secs(10));
    let mut served = 0;
    for (i, task) in waiting.into_iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(task.await.unwrap().status, StatusCode::OK);
            served += 1;
        }
    }
    assert_eq!(served, 5);
    assert_eq!(next.await.unwrap().status, StatusCode::OK);
}
