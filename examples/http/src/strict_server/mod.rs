//! A local API server that counts strictly and changes its limit without notice.
//!
//! It admits at most `L` requests in any sliding window of one second of arrivals, `L`
//! following a [`Schedule`] from its first request ([`Schedule::pushback`]: 100, then 50 after
//! 10 s, then 100 after 20 s). Every request is `GET /` (any path) with an optional
//! `x-work-ms` header: an admitted request is answered `200` after that many milliseconds of
//! "work" (at most 10,000), a refused one at once with `429 Too Many Requests` and
//! `Retry-After` in whole seconds, rounded up.
//!
//! In [`Mode::Headers`] every answer also carries the IETF rate-limit fields in their
//! structured-field form, `RateLimit-Policy: "default";q=100;w=1` and
//! `RateLimit: "default";r=37;t=1` (`r` requests remain in the window, `t` whole seconds until
//! it admits one more, rounded up), as they stand when the answer leaves. In [`Mode::Bare`] a client learns nothing but the 429.
//!
//! The server reads time from any pacer [`Clock`], so tests drive it with a `ManualClock`.

mod schedule;
mod stats;
mod window;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pacer_core::Clock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use schedule::{Schedule, ZeroLimit};
pub use stats::Stats;
pub use window::{Decision, Window};

/// The longest `x-work-ms` the server accepts.
const MAX_WORK: Duration = Duration::from_secs(10);

/// What the server tells a client besides a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every answer carries `RateLimit` and `RateLimit-Policy`.
    Headers,
    /// Only a 429 with `Retry-After`.
    Bare,
}

struct Shared {
    mode: Mode,
    clock: Arc<dyn Clock + Send + Sync>,
    window: Mutex<(Window, Stats)>,
}

/// A running strict server on `127.0.0.1`; it stops when [`stop`](StrictServer::stop)ped or
/// dropped.
pub struct StrictServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for StrictServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrictServer")
            .field("addr", &self.addr)
            .field("mode", &self.shared.mode)
            .finish_non_exhaustive()
    }
}

impl StrictServer {
    /// Serves `schedule` in `mode` on a free port of `127.0.0.1`, on tokio's clock.
    pub async fn start(mode: Mode, schedule: Schedule) -> io::Result<StrictServer> {
        StrictServer::start_with_clock(mode, schedule, Arc::new(pacer_tokio::TokioTimer::new()))
            .await
    }

    /// Like [`start`](StrictServer::start), reading time from `clock` (a `ManualClock` in
    /// tests).
    pub async fn start_with_clock(
        mode: Mode,
        schedule: Schedule,
        clock: Arc<dyn Clock + Send + Sync>,
    ) -> io::Result<StrictServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode,
            clock,
            window: Mutex::new((Window::new(schedule), Stats::default())),
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(StrictServer {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// What it admitted and refused so far.
    pub fn stats(&self) -> Stats {
        self.lock(|_, stats| stats.clone())
    }

    /// The schedule it follows.
    pub fn schedule(&self) -> Schedule {
        self.lock(|window, _| window.schedule().clone())
    }

    /// Stops accepting, lets the requests in progress finish, and waits for that.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }

    fn lock<R>(&self, f: impl FnOnce(&Window, &Stats) -> R) -> R {
        let guard = self
            .shared
            .window
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&guard.0, &guard.1)
    }
}

impl Drop for StrictServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The one handler.
async fn answer(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let work = match work(&headers) {
        Ok(work) => work,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let decision = {
        let now = shared.clock.now();
        let mut guard = shared.window.lock().unwrap_or_else(PoisonError::into_inner);
        let (window, stats) = &mut *guard;
        let decision = window.arrive(now);
        stats.record(window, now, &decision);
        decision
    };
    let mut response = if decision.admitted {
        tokio::time::sleep(work).await;
        (StatusCode::OK, "done\n").into_response()
    } else {
        let mut refused = (StatusCode::TOO_MANY_REQUESTS, "slow down\n").into_response();
        refused
            .headers_mut()
            .insert("retry-after", decision.reset.max(1).into());
        refused
    };
    if shared.mode == Mode::Headers {
        // The fields state the window as it is when the answer leaves, after the work.
        let decision = if decision.admitted && !work.is_zero() {
            let now = shared.clock.now();
            let mut guard = shared.window.lock().unwrap_or_else(PoisonError::into_inner);
            guard.0.state(now)
        } else {
            decision
        };
        let headers = response.headers_mut();
        let policy = format!("\"default\";q={};w=1", decision.limit);
        let state = format!("\"default\";r={};t={}", decision.remaining, decision.reset);
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    response
}

/// The `x-work-ms` header: how long an admitted request takes.
fn work(headers: &HeaderMap) -> Result<Duration, &'static str> {
    let Some(value) = headers.get("x-work-ms") else {
        return Ok(Duration::ZERO);
    };
    let ms: u64 = value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or("x-work-ms: a whole number of milliseconds, please\n")?;
    let work = Duration::from_millis(ms);
    if work > MAX_WORK {
        return Err("x-work-ms: at most 10000\n");
    }
    Ok(work)
}
