//! The client layer against the strict server over real TCP (hyper-util's legacy client), and
//! against in-process services of the other shape (a tonic-like buffered channel), all on
//! pacer's ManualTimer: virtual time for both the client's limiter and the server's window,
//! and no wall-clock sleep.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pacer_core::{Adaptive, Decision, ManualTimer, Quota, Reason};
use pacer_examples_http::strict_server::{Mode, Schedule, StrictServer};
use pacer_tower::client::{Pushback, PushbackLayer};
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

const MS: u64 = 1_000_000;

/// The strict server on `timer`'s clock.
async fn server(mode: Mode, limit: u32, timer: &ManualTimer) -> StrictServer {
    let schedule = Schedule::constant(limit).unwrap();
    StrictServer::start_with_clock(mode, schedule, Arc::new(timer.clone()))
        .await
        .unwrap()
}

fn get(server: &StrictServer) -> Request<Empty<Bytes>> {
    Request::get(server.url()).body(Empty::new()).unwrap()
}

/// Lets every other task on the current-thread runtime run until it waits.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// hyper-util's client behind the layer, counting the calls that reach it.
fn client_behind(
    pushback: &Arc<Pushback<ManualTimer>>,
    sent: &Arc<AtomicUsize>,
) -> impl Service<
    Request<Empty<Bytes>>,
    Response = Response<hyper::body::Incoming>,
    Error = BoxError,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let sent = Arc::clone(sent);
    let counted = tower::service_fn(move |request| {
        sent.fetch_add(1, Ordering::SeqCst);
        http.request(request)
    });
    ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(pushback)))
        .service(counted)
}

#[tokio::test(flavor = "current_thread")]
async fn a_429_with_retry_after_holds_every_later_call_until_it_ends() {
    let timer = ManualTimer::new();
    let server = server(Mode::Bare, 1, &timer).await;
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(100).unwrap())
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let client = client_behind(&pushback, &sent);

    let first = client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    timer.advance(Duration::from_millis(10));
    let refused = client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // Retry-After: 1, heard at 10 ms.
    assert_eq!(pushback.pacer().paused_until(), Some(1_010 * MS));

    let third = tokio::spawn(client.clone().oneshot(get(&server)));
    settle().await;
    timer.advance(Duration::from_millis(1_009)); // 1,019 ms: the next cell goes at 1,020
    settle().await;
    assert_eq!(sent.load(Ordering::SeqCst), 2, "a call went out too soon");
    timer.advance(Duration::from_millis(1)); // 1,020 ms
    let third = third.await.unwrap().unwrap();
    assert_eq!(third.status(), StatusCode::OK);
    assert_eq!(sent.load(Ordering::SeqCst), 3);
    let stats = server.stats();
    assert_eq!((stats.admitted, stats.refused), (2, 1));
}

#[tokio::test(flavor = "current_thread")]
async fn ratelimit_fields_with_nothing_remaining_pause_until_the_reset() {
    let timer = ManualTimer::new();
    let server = server(Mode::Headers, 2, &timer).await;
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(100).unwrap())
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let client = client_behind(&pushback, &sent);

    client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(pushback.pacer().paused_until(), None, "r=1: no pause");
    timer.advance(Duration::from_millis(10));
    // The second of two: `RateLimit: "default";r=0;t=1`, an answer of 200 that still pauses.
    let last = client.clone().oneshot(get(&server)).await.unwrap();
    assert_eq!(last.status(), StatusCode::OK);
    assert_eq!(pushback.pacer().paused_until(), Some(1_010 * MS));
    let next = tokio::spawn(client.clone().oneshot(get(&server)));
    timer.advance(Duration::from_millis(1_009)); // the next cell goes at 1,020 ms
    settle().await;
    assert_eq!(sent.load(Ordering::SeqCst), 2);
    timer.advance(Duration::from_millis(1));
    assert_eq!(next.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(
        server.stats().refused,
        0,
        "the pause kept every call inside the limit"
    );
}

/// What the scripted service's calls return.
type Answer =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response<String>, BoxError>> + Send>>;

/// A tonic-like service: a `Buffer` (as a tonic `Channel` is) in front of an in-process
/// service answering with the statuses and headers given, with its own body type.
fn scripted(
    answers: Vec<(u16, Vec<(&'static str, &'static str)>)>,
) -> tower::buffer::Buffer<Request<String>, Answer> {
    let answers = Arc::new(std::sync::Mutex::new(answers.into_iter()));
    let script = move |_request: Request<String>| -> Answer {
        let (status, headers) = answers.lock().unwrap().next().expect("an answer left");
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        Box::pin(std::future::ready(Ok(response
            .body(String::new())
            .unwrap())))
    };
    tower::buffer::Buffer::new(tower::service_fn(script), 8)
}

#[tokio::test(flavor = "current_thread")]
async fn bad_feedback_changes_nothing() {
    let timer = ManualTimer::new();
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(1_000).unwrap())
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let hostile = vec![
        (429, vec![("retry-after", "-5")]),
        (429, vec![("retry-after", "soon")]),
        (503, vec![("retry-after", "99999999999999999999999")]),
        (429, vec![("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]), // in the past
        (429, vec![("retry-after", "7200")]),                          // over the maximum
        (200, vec![("ratelimit", "\"default\";r=-1;t=1")]),
        (200, vec![("ratelimit", "\"default\";r=0;t=garbage")]),
    ];
    let count = hostile.len();
    let mut service = ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(&pushback)))
        .service(scripted(hostile));
    for i in 0..count {
        timer.advance(Duration::from_millis(1));
        let response = service
            .ready()
            .await
            .unwrap()
            .call(Request::new(String::new()))
            .await
            .unwrap();
        assert!(response.status().as_u16() >= 200, "answer {i}");
        assert_eq!(pushback.pacer().paused_until(), None, "answer {i} paused");
    }
    let heard = pushback.listen(429, [("retry-after", "garbage")]);
    assert!(heard.refused.is_some());
    assert_eq!(heard.paused_for, None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_503_with_retry_after_pauses_a_buffered_service_too() {
    let timer = ManualTimer::new();
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(1_000).unwrap())
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let mut service = ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(&pushback)))
        .service(scripted(vec![
            (503, vec![("Retry-After", "3")]),
            (200, vec![]),
        ]));
    let busy = service
        .ready()
        .await
        .unwrap()
        .call(Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(pushback.pacer().paused_until(), Some(3_000 * MS));
    let next = tokio::spawn(service.clone().oneshot(Request::new(String::new())));
    timer.advance(Duration::from_millis(3_000)); // the next cell goes at 3,001 ms
    settle().await;
    assert!(!next.is_finished(), "a call passed too soon");
    timer.advance(Duration::from_millis(1));
    assert_eq!(next.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "current_thread")]
async fn the_concurrency_cap_holds_a_slot_until_the_answer() {
    let timer = ManualTimer::new();
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(1_000).unwrap().with_burst(10).unwrap())
            .concurrency(1)
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    // An in-process service whose answers wait until the test releases them.
    let sent = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let inner = {
        let (sent, release) = (Arc::clone(&sent), Arc::clone(&release));
        tower::service_fn(move |_request: Request<String>| {
            sent.fetch_add(1, Ordering::SeqCst);
            let release = Arc::clone(&release);
            async move {
                release.acquire().await?.forget();
                Ok::<_, BoxError>(Response::new(String::new()))
            }
        })
    };
    let service = ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(&pushback)))
        .service(inner);
    let first = tokio::spawn(service.clone().oneshot(Request::new(String::new())));
    let second = tokio::spawn(service.clone().oneshot(Request::new(String::new())));
    settle().await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "the cap let a second call out"
    );
    release.add_permits(1);
    first.await.unwrap().unwrap();
    settle().await;
    assert_eq!(sent.load(Ordering::SeqCst), 2);
    release.add_permits(1);
    second.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_controller_follows_the_stated_policy_and_backs_off_on_a_429() {
    let timer = ManualTimer::new();
    let server = server(Mode::Headers, 2, &timer).await;
    let decisions = Arc::new(std::sync::Mutex::new(Vec::new()));
    let adaptive = {
        let decisions = Arc::clone(&decisions);
        Adaptive::new(
            Quota::per_minute(1).unwrap(),
            Quota::per_second(100).unwrap(),
        )
        .unwrap()
        .on_decision(move |decision: &Decision| decisions.lock().unwrap().push(*decision))
    };
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(100).unwrap())
            .adapt(adaptive)
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let client = client_behind(&pushback, &sent);

    // `RateLimit-Policy: "default";q=2;w=1`: 2 per (1 s + 20 ms of lateness allowed), 1.960
    // per second, which is 49 per 25 s.
    client.clone().oneshot(get(&server)).await.unwrap();
    let stated = Quota::new(49, Duration::from_secs(25)).unwrap();
    assert_eq!(pushback.quota(), stated);
    let first = decisions.lock().unwrap()[0];
    assert_eq!((first.reason, first.new), (Reason::Policy, stated));

    // A 429 with no stated policy (a server of the bare kind): the rate halves.
    let bare = scripted(vec![(429, vec![("retry-after", "1")])]);
    let mut other = ServiceBuilder::new()
        .layer(PushbackLayer::new(Arc::clone(&pushback)))
        .service(bare);
    timer.advance(Duration::from_secs(2));
    let refused = other
        .ready()
        .await
        .unwrap()
        .call(Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let halved = Quota::new(49, Duration::from_secs(50)).unwrap();
    assert_eq!(pushback.quota(), halved);
    let last = *decisions.lock().unwrap().last().unwrap();
    assert_eq!(
        (last.reason, last.old, last.new),
        (Reason::Throttled, stated, halved)
    );
    assert_eq!(server.stats().refused, 0);
}

/// `callers` tasks that acquire in a loop (no call in between), recording the instant each
/// leaves at, driven on `timer` until `until`; `answers` are `(at, status, headers)` heard on
/// the way, at their instants.
async fn departures(
    pushback: &Arc<Pushback<ManualTimer>>,
    timer: &ManualTimer,
    callers: usize,
    until: u64,
    answers: &[(u64, Vec<(&'static str, String)>)],
) -> Vec<u64> {
    use pacer_core::Clock;
    let left = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (pushback, timer, left) = (Arc::clone(pushback), timer.clone(), Arc::clone(&left));
            tokio::spawn(async move {
                loop {
                    let _permit = pushback.acquire().await.unwrap();
                    let now = timer.now();
                    if now >= until {
                        break;
                    }
                    left.lock().unwrap().push(now);
                }
            })
        })
        .collect();
    let mut answers = answers.iter().peekable();
    settle().await;
    while let Some(wake) = timer.next_wake() {
        if let Some((at, headers)) = answers.next_if(|(at, _)| *at <= wake) {
            timer.set((*at).max(timer.now()));
            pushback.listen(200, headers.iter().map(|(n, v)| (*n, v.as_str())));
        } else {
            timer.set(wake);
        }
        settle().await;
        if timer.now() >= until {
            break;
        }
    }
    for task in tasks {
        task.abort();
    }
    let mut left = left.lock().unwrap().clone();
    left.sort_unstable();
    left
}

/// A full window of a policy `q` per second, as the strict server states it.
fn full(q: u32) -> Vec<(&'static str, String)> {
    vec![
        ("ratelimit-policy", format!("\"default\";q={q};w=1")),
        ("ratelimit", "\"default\";r=0;t=1".to_string()),
    ]
}

/// The most departures in a window of `window` ns ending at a departure at or after `from`.
fn busiest(left: &[u64], from: u64, window: u64) -> usize {
    left.iter()
        .enumerate()
        .filter(|(_, at)| **at >= from)
        .map(|(j, &at)| j + 1 - left.partition_point(|&x| x + window <= at))
        .max()
        .unwrap_or(0)
}

fn adaptive_pushback(ahead: usize, timer: &ManualTimer) -> Arc<Pushback<ManualTimer>> {
    let ceiling = Quota::new(100, Duration::from_millis(1_020)).unwrap();
    let adaptive = Adaptive::new(Quota::per_second(1).unwrap(), ceiling).unwrap();
    Arc::new(
        Pushback::builder(ceiling)
            .concurrency(50)
            .ahead(ahead)
            .adapt(adaptive)
            .build_with_timer(timer.clone())
            .unwrap(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_window_at_the_stated_pace_pauses_nothing() {
    let timer = ManualTimer::new();
    let pushback = adaptive_pushback(8, &timer);
    let heard = pushback.listen(200, full(100).iter().map(|(n, v)| (*n, v.as_str())));
    assert_eq!(heard.paused_for, None, "paced at 100 per 1.02 s already");
    assert_eq!(pushback.pacer().paused_until(), None);
    // The same answer stating 50: the guard holds the next calls, no pause is needed.
    let heard = pushback.listen(200, full(50).iter().map(|(n, v)| (*n, v.as_str())));
    assert_eq!(heard.paused_for, None);
    // A 429 pauses for its Retry-After whatever the pace.
    let heard = pushback.listen(429, [("retry-after", "1")]);
    assert_eq!(heard.paused_for, Some(Duration::from_secs(1)));
}

#[tokio::test(flavor = "current_thread")]
async fn after_a_drop_the_departure_guard_keeps_the_new_policy() {
    // 40 callers at 100 per 1.02 s; at 2 s the server says its window of 50 per second is
    // full. No window of 1.02 s ending after that holds more than 50 departures, although
    // 8 callers had reserved at the old pace: nothing leaves until the 98 departures of the
    // last 1.02 s fall below 50 (about 0.5 s), then 50 per 1.02 s, 122 in 3 s.
    let timer = ManualTimer::new();
    let pushback = adaptive_pushback(8, &timer);
    let drop = 2_000 * MS;
    let left = departures(&pushback, &timer, 40, 5_000 * MS, &[(drop, full(50))]).await;
    assert_eq!(busiest(&left, 0, 1_020 * MS), 100);
    assert_eq!(busiest(&left, drop, 1_020 * MS), 50);
    let after = left.iter().filter(|&&at| at >= drop).count();
    assert!(
        (120..=124).contains(&after),
        "{after} departures in the 3 s after the drop"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_raise_reaches_the_wire_after_the_few_calls_reserved_ahead() {
    // At 50 per 1.02 s, the server raises its policy to 100 at 3 s. With 8 reservations
    // ahead, the second after the raise sees about 100 departures less the 8 reserved at
    // the old pace; with 40 ahead (every caller), the old pace holds for much longer.
    let count_after_raise = |ahead: usize| async move {
        let timer = ManualTimer::new();
        let pushback = adaptive_pushback(ahead, &timer);
        let raise = 3_000 * MS;
        let answers = [(MS, full(50)), (raise, full(100))];
        let left = departures(&pushback, &timer, 40, 4_100 * MS, &answers).await;
        left.iter()
            .filter(|&&at| (raise..raise + 1_000 * MS).contains(&at))
            .count()
    };
    let few = count_after_raise(8).await;
    let all = count_after_raise(40).await;
    assert!(
        few >= 92,
        "{few} departures in the second after the raise, 8 ahead"
    );
    assert!(
        all <= 80,
        "{all} departures in the second after the raise, 40 ahead"
    );
}
