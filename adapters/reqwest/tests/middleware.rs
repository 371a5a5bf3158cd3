//! The middleware on a real reqwest client against the strict server over TCP, on pacer's
//! ManualTimer (virtual time for the limiter and the server's window alike).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Extensions;
use pacer_core::ManualTimer;
use pacer_examples_http::strict_server::{Mode, Schedule, StrictServer};
use pacer_reqwest::{PacerMiddleware, Pushback, Quota};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

const MS: u64 = 1_000_000;

/// Counts the requests that get past pacer's middleware.
struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Middleware for Counting {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.0.fetch_add(1, Ordering::SeqCst);
        next.run(request, extensions).await
    }
}

struct Setup {
    timer: ManualTimer,
    server: StrictServer,
    pushback: Arc<Pushback<ManualTimer>>,
    client: ClientWithMiddleware,
    sent: Arc<AtomicUsize>,
}

async fn setup(mode: Mode, limit: u32) -> Setup {
    let timer = ManualTimer::new();
    let server = StrictServer::start_with_clock(
        mode,
        Schedule::constant(limit).unwrap(),
        Arc::new(timer.clone()),
    )
    .await
    .unwrap();
    let pushback = Arc::new(
        Pushback::builder(Quota::per_second(100).unwrap())
            .concurrency(4)
            .build_with_timer(timer.clone())
            .unwrap(),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(PacerMiddleware::new(Arc::clone(&pushback)))
        .with(Counting(Arc::clone(&sent)))
        .build();
    Setup {
        timer,
        server,
        pushback,
        client,
        sent,
    }
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_429_pauses_the_client_for_retry_after() {
    let s = setup(Mode::Bare, 1).await;
    let ok = s.client.get(s.server.url()).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    s.timer.advance(Duration::from_millis(10));
    let refused = s.client.get(s.server.url()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(s.pushback.pacer().paused_until(), Some(1_010 * MS));

    let retry = tokio::spawn(s.client.get(s.server.url()).send());
    settle().await;
    s.timer.advance(Duration::from_millis(1_009)); // the limiter resumes as it was at 10 ms: the next cell goes at 1,020 ms
    settle().await;
    assert_eq!(s.sent.load(Ordering::SeqCst), 2, "a request left too soon");
    s.timer.advance(Duration::from_millis(1));
    assert_eq!(retry.await.unwrap().unwrap().status(), StatusCode::OK);
    let stats = s.server.stats();
    assert_eq!((stats.admitted, stats.refused), (2, 1));
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_remaining_in_the_ratelimit_fields_pauses_until_the_reset() {
    let s = setup(Mode::Headers, 1).await;
    let last = s.client.get(s.server.url()).send().await.unwrap();
    // The only request the window admits: `RateLimit: "default";r=0;t=1`.
    assert_eq!(last.status(), StatusCode::OK);
    assert_eq!(s.pushback.pacer().paused_until(), Some(1_000 * MS));
    // Paused at 0 until 1,000 ms, when the next cell was 10 ms away: it goes at 1,010 ms.
    let next = tokio::spawn(s.client.get(s.server.url()).send());
    s.timer.advance(Duration::from_millis(1_009));
    settle().await;
    assert_eq!(s.sent.load(Ordering::SeqCst), 1);
    s.timer.advance(Duration::from_millis(1));
    assert_eq!(next.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(s.server.stats().refused, 0);
}
