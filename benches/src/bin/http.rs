//! The rate-limit layer in an HTTP service: pacer-tower's `RateLimitLayer` beside
//! tower_governor's `GovernorLayer`, each around the same axum app (one route answering
//! `hello`), and the app with no layer. Both layers key requests by the peer address (axum's
//! `ConnectInfo`) and write their rate-limit fields on every answer (pacer's default, the IETF
//! `RateLimit` and `RateLimit-Policy`; tower_governor's `use_headers()`, its
//! `x-ratelimit-limit` and `x-ratelimit-remaining`).
//!
//! Run: `cargo run --release -p pacer-benches --bin http` (`-- --help` for the options).
//!
//! Three measures:
//! - *memory*: each app, in a child process of its own (this program, run again), answers
//!   one request from each of 1,000,000 distinct client addresses, as fast as it can on one
//!   thread (10 requests per second per address, burst 20, on the real clock; pacer's table
//!   has room for 100,000 busy addresses). Reported: the growth of the child's resident
//!   memory (`VmRSS`) from before the app is made to after the last request, the app still
//!   alive.
//! - *requests per second*: an in-process load generator, 64 tasks on a tokio runtime of 2
//!   worker threads, calls the app (`tower::ServiceExt::oneshot`, no sockets: the kernel's
//!   loopback would hide the layers' cost; its routes built once, as `axum::serve` builds
//!   them, not each request) with requests from 1,000 addresses, each allowed 1,000,000 per
//!   second (burst 1,000), so every request should be admitted and answered `hello`, the
//!   body read. Only those count; a refusal (a layer's error at this load: tower_governor's
//!   clock refused a few on a loaded machine) is counted and printed. The three apps take
//!   turns of at most `--slice` milliseconds, the first of each round a different one, until
//!   each has run `--seconds`; an app's rate is its requests over its time in all its
//!   turns. Short turns give the apps the same machine: a virtual machine's two cores can
//!   change speed together by a third for seconds at a time (where the host runs them), and
//!   one app measured in a slow second and another in a fast one would compare the host.
//! - *the keyed decision*: pacer's `ShardedKeyedGcra` against governor's keyed limiter at
//!   1,000,000 keys on 2 threads (the `keyed` program's measure).
//!
//! The last line sums it up in one line.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use pacer_benches::cli::Cli;
use pacer_benches::keyed_decisions::hot;
use pacer_core::Quota;
use pacer_tokio::TokioTimer;
use pacer_tower::server::{Limit, PeerIp, RateLimitLayer};
use tower::ServiceExt;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;

struct Options {
    spray: u64,
    seconds: f64,
    slice: f64,
    rounds: usize,
    decisions: u64,
    keys: u64,
    memory: Option<Which>,
    /// `--calls N --only APP`: N requests one after another through APP alone, then exit.
    calls: Option<(u64, Which)>,
}

const USAGE: &str = "usage: http [--spray N] [--seconds S] [--slice MS] [--rounds R]
            [--decisions D] [--keys K]
  --spray N      distinct client addresses in the memory measure (1000000)
  --seconds S    seconds of the requests/s measure per app, in all its turns (3)
  --slice MS     most milliseconds of one app's turn in the requests/s measure (100)
  --rounds R     rounds of the decision measure; the median (3)
  --decisions D  decisions per thread per round of the keyed measure (4000000)
  --keys K       keys of the keyed measure (1000000)
  --calls N --only APP
                 only N requests one after another through APP (pacer, tower_governor or
                 none) on one thread, then exit: run under `valgrind --tool=callgrind` at two
                 N, the difference of the instruction counts over the difference of N is one
                 request's cost";

fn options() -> Options {
    let mut cli = Cli::from_env("http", USAGE);
    let options = Options {
        spray: cli.value("--spray", 1_000_000),
        seconds: cli.value("--seconds", 3.0),
        slice: cli.value("--slice", 100.0),
        rounds: cli.value::<usize>("--rounds", 3).max(1),
        decisions: cli.value::<u64>("--decisions", 4_000_000).max(1),
        keys: cli.value::<u64>("--keys", 1_000_000).max(1),
        memory: None,
        calls: None,
    };
    let mut options = options;
    let which = |name: String| {
        [Which::Pacer, Which::Governor, Which::Nothing]
            .into_iter()
            .find(|which| which.name() == name)
    };
    if let Some(name) = cli.text("--memory") {
        match which(name) {
            Some(which) => options.memory = Some(which),
            None => cli.fail("--memory takes pacer, tower_governor or none"),
        }
    }
    let calls = cli.value::<u64>("--calls", 0);
    if calls > 0 {
        match cli.text("--only").and_then(which) {
            Some(which) => options.calls = Some((calls, which)),
            None => cli.fail("--calls takes --only pacer, tower_governor or none"),
        }
    }
    if !(options.seconds.is_finite() && options.seconds > 0.0) {
        cli.fail("--seconds takes a positive number");
    }
    if !(options.slice.is_finite() && options.slice >= 1.0) {
        cli.fail("--slice takes a number of milliseconds, at least 1");
    }
    cli.finish();
    options
}

/// Which layer the app has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Pacer,
    Governor,
    Nothing,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Pacer => "pacer",
            Which::Governor => "tower_governor",
            Which::Nothing => "none",
        }
    }
}

/// A rate per address: one cell every `interval`, `burst` back to back.
#[derive(Clone, Copy)]
struct Rate {
    interval: Duration,
    burst: u32,
    /// pacer's room for busy addresses.
    capacity: usize,
}

/// 10 per second per address, burst 20: the memory measure.
const SPRAY_RATE: Rate = Rate {
    interval: Duration::from_millis(100),
    burst: 20,
    capacity: 100_000,
};

/// 1,000,000 per second per address, burst 1,000: every request of the load admitted.
const LOAD_RATE: Rate = Rate {
    interval: Duration::from_micros(1),
    burst: 1_000,
    capacity: 10_000,
};

/// The app, with the layer `which` at `rate`.
fn app(which: Which, rate: Rate) -> Router {
    let app = Router::new().route("/", get(|| async { "hello" }));
    match which {
        Which::Nothing => app,
        Which::Pacer => {
            let quota = Quota::new(1, rate.interval)
                .and_then(|q| q.with_burst(rate.burst))
                .expect("a valid quota");
            let limit = Limit::new("per-ip", PeerIp::default(), quota, rate.capacity)
                .expect("a valid limit");
            let layer = RateLimitLayer::builder(TokioTimer::new())
                .limit(limit)
                .build()
                .expect("a valid layer");
            app.layer(layer)
        }
        Which::Governor => {
            let config = GovernorConfigBuilder::default()
                .period(rate.interval)
                .burst_size(rate.burst)
                .use_headers()
                .finish()
                .expect("a valid config");
            app.layer(GovernorLayer::new(Arc::new(config)))
        }
    }
}

/// A request from the `i`-th address of 10.0.0.0/8.
fn request(i: u64) -> Request<Body> {
    let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let mut request = Request::get("/").body(Body::empty()).expect("a request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
    request
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// The child's side of the memory measure: print `growth_kib G admitted A refused R`.
fn memory_child(which: Which, options: &Options) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let before = rss_kib();
        let app = app(which, SPRAY_RATE).with_state::<()>(());
        let (mut admitted, mut refused) = (0u64, 0u64);
        for i in 0..options.spray {
            let response = app.clone().oneshot(request(i)).await.expect("an answer");
            match response.status() {
                StatusCode::OK => admitted += 1,
                _ => refused += 1,
            }
        }
        let growth = rss_kib().saturating_sub(before);
        std::hint::black_box(&app);
        println!("growth_kib {growth} admitted {admitted} refused {refused}");
    });
}

/// Runs this program again as `--memory which`: its growth in MiB and its line.
fn memory(which: Which, options: &Options) -> (f64, String) {
    let exe = std::env::current_exe().expect("this program's path");
    let output = Command::new(exe)
        .args(["--memory", which.name()])
        .args(["--spray", &options.spray.to_string()])
        .output()
        .expect("the memory child runs");
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success(),
        "memory child {which:?} failed: {line}"
    );
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse().ok())
        .expect("growth_kib in the child's line");
    (kib / 1024.0, line)
}

/// Requests served (answered `hello`) through `app` (with `which`) for `seconds`, from 64
/// tasks on `runtime`, the requests refused, and the seconds taken. Each task reads the
/// clock between its requests (a request that is answered at once never yields to the
/// runtime, so the runtime's own timer would not be driven). The load is far below the
/// quota, so a refusal is a layer's error; it is counted and reported, not served.
fn throughput(
    runtime: &tokio::runtime::Runtime,
    app: &Router,
    which: Which,
    seconds: f64,
) -> (u64, u64, f64) {
    runtime.block_on(async {
        let began = Instant::now();
        let deadline = began + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..64u64)
            .map(|t| {
                let app = app.clone();
                tokio::spawn(async move {
                    let (mut served, mut refused) = (0u64, 0u64);
                    let mut i = t;
                    while Instant::now() < deadline {
                        let response = app
                            .clone()
                            .oneshot(request(i % 1_000))
                            .await
                            .expect("an answer");
                        let ok = response.status() == StatusCode::OK;
                        let body = axum::body::to_bytes(response.into_body(), 64).await;
                        if ok {
                            assert_eq!(&body.expect("a body")[..], b"hello", "{which:?}");
                            served += 1;
                        } else {
                            refused += 1;
                        }
                        i += 64;
                    }
                    (served, refused)
                })
            })
            .collect();
        let (mut served, mut refused) = (0, 0);
        for task in tasks {
            let (s, r) = task.await.expect("a load task");
            served += s;
            refused += r;
        }
        (served, refused, began.elapsed().as_secs_f64())
    })
}

/// `calls` requests one after another through `which`'s app on a current-thread runtime, its
/// routes built once: the loop to count one request's instructions in.
fn calls_only(calls: u64, which: Which) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let app = app(which, LOAD_RATE).with_state::<()>(());
        for i in 0..calls {
            let response = app
                .clone()
                .oneshot(request(i % 1_000))
                .await
                .expect("an answer");
            assert_eq!(response.status(), StatusCode::OK, "{which:?}");
        }
    });
    println!("http: {calls} requests through {}", which.name());
}

fn main() {
    let options = options();
    if let Some(which) = options.memory {
        memory_child(which, &options);
        return;
    }
    if let Some((calls, which)) = options.calls {
        calls_only(calls, which);
        return;
    }
    println!(
        "memory: one request from each of {} client addresses, 10 per second per address, \
         burst 20; pacer's capacity {}",
        options.spray, SPRAY_RATE.capacity
    );
    let mut mib = Vec::new();
    for which in [Which::Pacer, Which::Governor, Which::Nothing] {
        let (growth, line) = memory(which, &options);
        println!("  {:<14} {line}", which.name());
        mib.push(growth);
    }

    // Whole turns of at most `--slice` each, `--seconds` in all.
    let turns = (options.seconds * 1000.0 / options.slice).ceil().max(1.0) as usize;
    let seconds_each = options.seconds / turns as f64;
    println!(
        "requests/s: 64 tasks on 2 threads, {turns} turns of {:.0} ms per app, taken in turn",
        seconds_each * 1000.0
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let order = [Which::Pacer, Which::Governor, Which::Nothing];
    // Routes built once, as `axum::serve` builds them (`into_make_service` calls
    // `with_state`); a bare `Router` would apply every layer to its route on each request.
    // Each app keeps its limiter's state from turn to turn, as a server would.
    let apps = order.map(|which| app(which, LOAD_RATE).with_state::<()>(()));
    let (mut served, mut refused, mut seconds) = ([0u64; 3], [0u64; 3], [0f64; 3]);
    for turn in 0..turns {
        for k in 0..3 {
            // Each turn starts with the next app, so none always runs first.
            let i = (k + turn) % 3;
            let (s, r, t) = throughput(&runtime, &apps[i], order[i], seconds_each);
            served[i] += s;
            refused[i] += r;
            seconds[i] += t;
        }
    }
    let rates: Vec<f64> = (0..3).map(|i| served[i] as f64 / seconds[i]).collect();
    for ((which, rate), refused) in order.iter().zip(&rates).zip(refused) {
        println!(
            "  {:<14} {rate:>9.0}   ({refused} refused in all turns)",
            which.name()
        );
    }

    println!(
        "keyed decision: {} keys, 2 threads, median of {} rounds of {} per thread",
        options.keys, options.rounds, options.decisions
    );
    let (p, g) = hot(options.keys, 2, options.decisions, options.rounds);
    println!("  pacer {p:.1} ns, governor {g:.1} ns, ratio {:.2}", p / g);

    println!(
        "http: {} client IPs: pacer +{:.1} MiB, tower_governor +{:.1} MiB; requests/s \
         pacer/tower_governor/none: {:.0}/{:.0}/{:.0}; keyed ns at {} keys on 2 threads \
         pacer/governor: {p:.0}/{g:.0}",
        options.spray, mib[0], mib[1], rates[0], rates[1], rates[2], options.keys
    );
}
