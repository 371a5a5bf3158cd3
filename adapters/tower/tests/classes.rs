//! Quotas by class over real TCP (a plan named by a header, a route group), changed while
//! serving; and the shadow mode and a custom answer.

mod common;

use std::time::Duration;

use common::{Recorder, client, get_with, serve};
use http::{HeaderName, StatusCode};
use pacer_core::{ManualTimer, Quota};
use pacer_tower::server::{
    ConfigError, HeaderKey, Limit, Mode, Outcome, RateLimitLayer, Reason, Refusal, RoutePath,
};

fn api_key() -> HeaderKey {
    HeaderKey::new(HeaderName::from_static("x-api-key"))
}

/// Free keys get 2 requests per second (burst 2), pro keys 10 (burst 10).
fn plans() -> Limit {
    Limit::new(
        "api",
        api_key(),
        Quota::per_second(2).unwrap().with_burst(2).unwrap(),
        100,
    )
    .unwrap()
    .class(
        "pro",
        Quota::per_second(10).unwrap().with_burst(10).unwrap(),
        10,
    )
    .unwrap()
    .classify(
        |request, _key| match request.headers.get("x-plan").map(|v| v.as_bytes()) {
            Some(b"pro") => "pro",
            Some(b"gold") => "no such class: the first one",
            _ => "default",
        },
    )
}

/// How many of `n` back-to-back requests with `headers` are admitted.
async fn admitted(address: std::net::SocketAddr, headers: &[(&str, &str)], n: usize) -> usize {
    let http = client(None);
    let mut ok = 0;
    for _ in 0..n {
        if get_with(&http, address, "/", headers).await.status == StatusCode::OK {
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn each_class_has_its_quota_and_its_table() {
    let timer = ManualTimer::new();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(plans())
        .build()
        .unwrap();
    let address = serve(layer.clone()).await;
    assert_eq!(admitted(address, &[("x-api-key", "a")], 5).await, 2);
    assert_eq!(
        admitted(address, &[("x-api-key", "b"), ("x-plan", "pro")], 15).await,
        10
    );
    assert_eq!(
        admitted(address, &[("x-api-key", "c"), ("x-plan", "gold")], 5).await,
        2
    );
    // The same key in another class is another limit (its own table).
    assert_eq!(
        admitted(address, &[("x-api-key", "a"), ("x-plan", "pro")], 15).await,
        10
    );
    let answer = get_with(
        &client(None),
        address,
        "/",
        &[("x-api-key", "b"), ("x-plan", "pro")],
    )
    .await;
    assert_eq!(
        answer.header("ratelimit-policy"),
        Some("\"api.pro\";q=10;w=1")
    );
    assert_eq!(layer.keys("api", "default").unwrap().0, 2);
    assert_eq!(layer.keys("api", "pro").unwrap().0, 2);
}

#[tokio::test]
async fn quotas_change_while_serving_and_debts_carry_over() {
    let timer = ManualTimer::new();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(plans())
        .build()
        .unwrap();
    let address = serve(layer.clone()).await;
    let key = [("x-api-key", "a")];
    assert_eq!(admitted(address, &key, 3).await, 2);
    // 2/s becomes 4/s (burst 4): the 2 cells taken still occupy the bucket, now 2 of 4.
    layer
        .set_quota(
            "api",
            "default",
            Quota::per_second(4).unwrap().with_burst(4).unwrap(),
        )
        .unwrap();
    assert_eq!(admitted(address, &key, 5).await, 2);
    timer.advance(Duration::from_secs(1));
    assert_eq!(admitted(address, &key, 6).await, 4);
    // Lowered to 1 per second (burst 1): the 4 cells in the bucket carry over as 4 cells at
    // the new spacing, so the next may go 4 s later, at 5 s.
    layer
        .set_quota("api", "default", Quota::per_second(1).unwrap())
        .unwrap();
    timer.advance(Duration::from_millis(3_999));
    assert_eq!(admitted(address, &key, 3).await, 0);
    timer.advance(Duration::from_millis(1));
    assert_eq!(admitted(address, &key, 3).await, 1);
    assert_eq!(
        layer.quota("api", "default").unwrap(),
        Quota::per_second(1).unwrap()
    );
    assert!(matches!(
        layer.set_quota("api", "gold", Quota::per_second(1).unwrap()),
        Err(ConfigError::UnknownClass(_))
    ));
    assert!(matches!(
        layer.set_quota("nope", "default", Quota::per_second(1).unwrap()),
        Err(ConfigError::UnknownLimit(_))
    ));
}

#[tokio::test]
async fn bad_configurations_are_errors_when_made() {
    let quota = Quota::per_second(1).unwrap();
    assert!(matches!(
        Limit::new("a\"b", api_key(), quota, 1),
        Err(ConfigError::BadName(_))
    ));
    assert!(matches!(
        Limit::new("", api_key(), quota, 1),
        Err(ConfigError::BadName(_))
    ));
    assert!(matches!(
        Limit::new("a", api_key(), quota, 0),
        Err(ConfigError::Pacer(_))
    ));
    let twice = Limit::new("a", api_key(), quota, 1)
        .unwrap()
        .class("default", quota, 1);
    assert!(matches!(twice, Err(ConfigError::Duplicate(_))));
    let none = RateLimitLayer::builder(ManualTimer::new()).build();
    assert!(matches!(none, Err(ConfigError::NoLimit)));
    let same = RateLimitLayer::builder(ManualTimer::new())
        .limit(Limit::new("a", api_key(), quota, 1).unwrap())
        .limit(Limit::new("a", RoutePath::path(), quota, 1).unwrap())
        .build();
    assert!(matches!(same, Err(ConfigError::Duplicate(_))));
}

#[tokio::test]
async fn shadow_mode_refuses_nothing_and_reports_what_it_would_have_refused() {
    let recorder = Recorder::default();
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(
            Limit::new(
                "api",
                api_key(),
                Quota::per_second(2).unwrap().with_burst(2).unwrap(),
                10,
            )
            .unwrap(),
        )
        .mode(Mode::Shadow)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let address = serve(layer).await;
    assert_eq!(admitted(address, &[("x-api-key", "a")], 5).await, 5);
    assert_eq!(admitted(address, &[], 1).await, 1);
    let answer = get_with(&client(None), address, "/", &[("x-api-key", "a")]).await;
    assert!(
        answer.header("ratelimit").is_none(),
        "no fields in shadow mode"
    );
    // Two admissions of key a, and the request without a key, which the limit skips.
    assert_eq!(recorder.count(Outcome::Admitted), 3);
    assert_eq!(recorder.count(Outcome::Refused), 4);
    assert_eq!(recorder.count(Outcome::Unreadable), 1);
    assert!(
        recorder.events().iter().all(|event| event.3),
        "every report says shadow"
    );
    let refused = recorder
        .events()
        .into_iter()
        .find(|e| e.0 == Outcome::Refused)
        .unwrap();
    assert_eq!(
        (refused.1.as_deref(), refused.2.as_deref()),
        (Some("api"), Some("default"))
    );
}

#[tokio::test]
async fn a_custom_answer_is_built_from_the_refusal() {
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(Limit::new("api", api_key(), Quota::per_second(1).unwrap(), 10).unwrap())
        .respond_with(|refusal| {
            let mut response = refusal.response();
            if refusal.reason == Reason::OverLimit {
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response.headers_mut().insert(
                    "x-limit",
                    refusal.limit.as_deref().unwrap_or("").parse().unwrap(),
                );
            }
            response
        })
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    assert_eq!(
        get_with(&http, address, "/", &[("x-api-key", "a")])
            .await
            .status,
        StatusCode::OK
    );
    let refused = get_with(&http, address, "/", &[("x-api-key", "a")]).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("x-limit"), Some("api"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    let unreadable = get_with(&http, address, "/", &[]).await;
    assert_eq!(unreadable.status, StatusCode::BAD_REQUEST);
}

/// The answer's body: the custom answer carries the refusal in its extensions, and an axum
/// middleware outside the layer writes it as JSON.
#[tokio::test]
async fn a_refusal_gets_a_body_from_a_middleware_outside_the_layer() {
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(Limit::new("api", api_key(), Quota::per_second(1).unwrap(), 10).unwrap())
        .respond_with(|refusal| {
            let mut response = refusal.response();
            response.extensions_mut().insert(refusal.clone());
            response
        })
        .build()
        .unwrap();
    async fn json(response: axum::response::Response) -> axum::response::Response {
        let Some(refusal) = response.extensions().get::<Refusal>() else {
            return response;
        };
        let body = format!(
            r#"{{"error":"rate_limited","limit":"{}","retry_after_ms":{}}}"#,
            refusal.limit.as_deref().unwrap_or(""),
            refusal.retry_after.unwrap_or_default().as_millis()
        );
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        axum::response::Response::from_parts(parts, axum::body::Body::from(body))
    }
    let app = common::routes()
        .layer(layer)
        .layer(axum::middleware::map_response(json));
    let address = common::serve_app(app).await;
    let http = client(None);
    let admitted = get_with(&http, address, "/", &[("x-api-key", "a")]).await;
    assert_eq!(
        &admitted.body[..],
        b"hello",
        "an admitted answer is untouched"
    );
    let refused = get_with(&http, address, "/", &[("x-api-key", "a")]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        &refused.body[..],
        br#"{"error":"rate_limited","limit":"api","retry_after_ms":1000}"#
    );
}

#[tokio::test]
async fn a_limit_per_route() {
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(
            Limit::new(
                "per-route",
                RoutePath::path(),
                Quota::per_second(1).unwrap(),
                10,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let address = serve(layer).await;
    let http = client(None);
    let statuses = [
        get_with(&http, address, "/", &[]).await.status,
        get_with(&http, address, "/search?q=1", &[]).await.status,
        get_with(&http, address, "/search?q=2", &[]).await.status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn a_limit_per_matched_route_with_axum() {
    use axum::Router;
    use axum::routing::get;
    let layer = RateLimitLayer::builder(ManualTimer::new())
        .limit(
            Limit::new(
                "per-route",
                RoutePath::matched(),
                Quota::per_second(1).unwrap(),
                10,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route_layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = client(None);
    let statuses = [
        get_with(&http, address, "/users/1", &[]).await.status,
        get_with(&http, address, "/users/2", &[]).await.status,
    ];
    // Every user is one route: the second request is over the route's limit.
    assert_eq!(statuses, [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
}
