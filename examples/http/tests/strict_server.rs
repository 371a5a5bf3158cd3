//! The strict server over real TCP, its clock driven by hand: no wall-clock sleeps.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use pacer_core::ManualClock;
use pacer_examples_http::strict_server::{Mode, Schedule, StrictServer};

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    policy: Option<String>,
    state: Option<String>,
}

async fn get(client: &HttpClient, server: &StrictServer, work: Option<&str>) -> Answer {
    let mut request = Request::get(server.url());
    if let Some(work) = work {
        request = request.header("x-work-ms", work);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .expect("the server answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status(),
        retry_after: header("retry-after"),
        policy: header("ratelimit-policy"),
        state: header("ratelimit"),
    }
}

async fn start(mode: Mode, schedule: Schedule) -> (StrictServer, Arc<ManualClock>, HttpClient) {
    let clock = Arc::new(ManualClock::new());
    let server = StrictServer::start_with_clock(mode, schedule, clock.clone())
        .await
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    (server, clock, client)
}

#[tokio::test]
async fn headers_mode_states_the_policy_and_the_window() {
    let (server, clock, client) = start(Mode::Headers, Schedule::constant(3).unwrap()).await;
    let first = get(&client, &server, None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.policy.as_deref(), Some("\"default\";q=3;w=1"));
    assert_eq!(first.state.as_deref(), Some("\"default\";r=2;t=0"));
    assert_eq!(first.retry_after, None);
    clock.advance(Duration::from_millis(300));
    get(&client, &server, None).await;
    let third = get(&client, &server, None).await;
    assert_eq!(third.state.as_deref(), Some("\"default\";r=0;t=1"));
    let refused = get(&client, &server, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert_eq!(refused.state.as_deref(), Some("\"default\";r=0;t=1"));
    // The first arrival leaves the window at 1 s.
    clock.advance(Duration::from_millis(700));
    assert_eq!(get(&client, &server, None).await.status, StatusCode::OK);
    let stats = server.stats();
    assert_eq!(
        (stats.admitted, stats.refused, stats.busiest_second),
        (4, 1, 3)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bare_mode_says_nothing_but_the_429() {
    let (server, _clock, client) = start(Mode::Bare, Schedule::constant(1).unwrap()).await;
    let admitted = get(&client, &server, Some("0")).await;
    assert_eq!(admitted.status, StatusCode::OK);
    assert_eq!((admitted.policy, admitted.state), (None, None));
    let refused = get(&client, &server, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    assert_eq!((refused.policy, refused.state), (None, None));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_limit_changes_without_notice() {
    let (server, clock, client) = start(Mode::Headers, Schedule::pushback()).await;
    // 100 at the start of the first phase, then the 101st is refused.
    for _ in 0..100 {
        assert_eq!(get(&client, &server, None).await.status, StatusCode::OK);
    }
    assert_eq!(
        get(&client, &server, None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // At 10 s the limit is 50: 50 arrivals admitted at 9.9 s and 10.0 s ...
    clock.set(9_900_000_000);
    for _ in 0..50 {
        assert_eq!(get(&client, &server, None).await.status, StatusCode::OK);
    }
    clock.set(10_000_000_000);
    let refused = get(&client, &server, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.policy.as_deref(), Some("\"default\";q=50;w=1"));
    // ... and a window of 50 admits nothing more until 10.9 s.
    clock.set(10_899_999_999);
    assert_eq!(
        get(&client, &server, None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    clock.set(10_900_000_000);
    assert_eq!(get(&client, &server, None).await.status, StatusCode::OK);
    // At 20 s, 100 again.
    clock.set(20_000_000_000);
    let back = get(&client, &server, None).await;
    assert_eq!(back.policy.as_deref(), Some("\"default\";q=100;w=1"));
    let stats = server.stats();
    assert_eq!((stats.admitted, stats.refused), (152, 3));
    assert_eq!(stats.span, Duration::from_secs(20));
    assert_eq!(stats.allowed, 1500.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_bad_work_header_is_a_400_and_counts_nothing() {
    let (server, _clock, client) = start(Mode::Bare, Schedule::constant(1).unwrap()).await;
    for bad in ["-1", "soon", "10001", "18446744073709551616"] {
        let answer = get(&client, &server, Some(bad)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(server.stats().admitted + server.stats().refused, 0);
    server.stop().await.unwrap();
}
