//! Pushback: a client of a strict API server whose limit drops without notice, with pacer
//! listening to the server's answers against what users write today.
//!
//! Run: `cargo run --release -p pacer-benches --bin pushback` (`-- --help` for the options).
//!
//! The server (`pacer_examples_http::strict_server`, on 127.0.0.1) admits at most L requests
//! in any sliding second of arrivals, L being 100 for 10 s from the first request, then 50 for
//! 10 s, then 100 again. Each contender sends the same 2,000 calls (20 to 200 ms of work each,
//! the same list every time), at most 50 in flight, each retried until it is admitted:
//!
//! - *pacer*: `pacer_tower::client::PushbackLayer` around hyper-util's client, with the
//!   adaptive limiter starting at its ceiling, the documented 100 per (1 s + 20 ms of
//!   headroom, as the contract advises against a strict server): on a 429 every waiter
//!   pauses for `Retry-After` and the rate drops to 80 %; the `RateLimit` fields set the rate
//!   to the server's policy `q` per (1 s + the controller's default lateness allowance,
//!   20 ms), and an answer saying the window is full (`r=0`) pauses only as long as the pace
//!   the requests went at needs (`Adaptive::pause`); each calm second adds 10 per second. A
//!   refused call is simply sent again through the layer.
//! - *retry-loop*: `pacer_tokio::Limiter` at a fixed 100 per second; on a 429 the call sleeps
//!   its own `Retry-After` and is sent again.
//! - *governor-retry*: the same loop on governor's `Quota::per_second(100)`.
//!
//! Each runs against a fresh server in *headers* mode (the `RateLimit` and `RateLimit-Policy`
//! fields on every answer) and the first two in *bare* mode (a 429 with `Retry-After` only).
//! A row per run gives the server's count of 429s and admitted calls, the time from the first
//! request to the last admitted one, what the server allowed over that time (the integral of
//! L), goodput (admitted as a percentage of allowed), and for pacer the calls the layer sent
//! while its limiter was paused (read from the limiter as each call goes out).
//!
//! The last line sums it up in a fixed shape.

mod calls;
mod http;
mod retry_loop;
mod with_pacer;

use pacer_benches::cli::Cli;
use std::time::Duration;

use pacer_examples_http::strict_server::{Mode, Schedule, Stats, StrictServer};

use crate::calls::Counts;
use crate::retry_loop::Fixed;

const HELP: &str = "\
pushback: pacer listening to a strict server's pushback, against fixed limiters with a retry loop

USAGE: pushback [--calls N] [--in-flight N] [--phase-secs S] [--pacer-only] [--trace]
                [--headroom-ms MS] [--backoff PCT] [--step CELLS] [--lateness-ms MS]

  --calls N          calls to make (default 2000)
  --in-flight N      most calls in flight at once (default 50)
  --phase-secs S     length of the 100/s and 50/s phases (default 10)
  --pacer-only       run pacer's two rows only (the summary line needs all five)
  --trace            print pacer's decisions, pauses and refusals to stderr
  --headroom-ms MS   pacer's ceiling is 100 per (1 s + MS) (default 20)
  --backoff PCT      pacer's controller: rate kept on a 429, percent (default 80)
  --step CELLS       pacer's controller: cells per second added per calm second (default 10)
  --lateness-ms MS   pacer's controller: lateness allowed for a stated policy (default: the
                     controller's own, 20)
";

struct Options {
    calls: usize,
    in_flight: usize,
    phase: Duration,
    pacer_only: bool,
    tuning: with_pacer::Tuning,
}

fn options() -> Options {
    let mut cli = Cli::from_env("pushback", HELP);
    let millis = |ms: Option<u64>| ms.map(Duration::from_millis);
    let phase: f64 = cli.value("--phase-secs", 10.0);
    let phase = Duration::try_from_secs_f64(phase)
        .unwrap_or_else(|error| cli.fail(&format!("--phase-secs: {error}")));
    let options = Options {
        calls: cli.value("--calls", 2000),
        in_flight: cli.value("--in-flight", 50),
        phase,
        pacer_only: cli.flag("--pacer-only"),
        tuning: with_pacer::Tuning {
            trace: cli.flag("--trace"),
            headroom: millis(cli.optional("--headroom-ms")).unwrap_or(Duration::from_millis(20)),
            lateness: millis(cli.optional("--lateness-ms")),
            backoff: Some(cli.value("--backoff", 80)),
            step: Some(cli.value("--step", 10)),
        },
    };
    if options.calls == 0 || options.in_flight == 0 {
        cli.fail("--calls and --in-flight must be at least 1");
    }
    cli.finish();
    options
}

/// One contender's run against a fresh server.
struct Run {
    stats: Stats,
    counts: Counts,
}

impl Run {
    fn goodput(&self) -> f64 {
        self.stats.goodput_percent().unwrap_or(0.0)
    }
}

#[derive(Clone, Copy)]
enum Contender {
    Pacer,
    Fixed(Fixed),
}

impl Contender {
    fn name(self) -> &'static str {
        match self {
            Contender::Pacer => "pacer",
            Contender::Fixed(Fixed::Pacer) => "retry-loop",
            Contender::Fixed(Fixed::Governor) => "governor-retry",
        }
    }
}

async fn run(options: &Options, mode: Mode, contender: Contender) -> Run {
    let schedule = Schedule::new(vec![(100, options.phase), (50, options.phase)], 100)
        .expect("limits above zero");
    let server = StrictServer::start(mode, schedule)
        .await
        .expect("the strict server starts on 127.0.0.1");
    let work = calls::durations(options.calls);
    let counts = match contender {
        Contender::Pacer => {
            with_pacer::run(server.url(), work, options.in_flight, options.tuning).await
        }
        Contender::Fixed(fixed) => {
            retry_loop::run(server.url(), work, options.in_flight, fixed).await
        }
    };
    let stats = server.stats();
    server.stop().await.expect("the server stops");
    let run = Run { stats, counts };
    println!(
        "| {:<7} | {:<14} | {:>5} | {:>8} | {:>7.2} | {:>7.1} | {:>8.1} | {:>6} | {:>6} | {:>6} |",
        match mode {
            Mode::Headers => "headers",
            Mode::Bare => "bare",
        },
        contender.name(),
        run.stats.refused,
        run.stats.admitted,
        run.stats.span.as_secs_f64(),
        run.stats.allowed,
        run.goodput(),
        run.stats.busiest_second,
        run.counts.started_while_paused,
        run.counts.failed,
    );
    if run.counts.refused != run.stats.refused {
        println!(
            "  (the client counted {} answers 429, the server {})",
            run.counts.refused, run.stats.refused
        );
    }
    run
}

#[tokio::main]
async fn main() {
    let options = options();
    println!(
        "pushback: {} calls of 20-200 ms, {} in flight; server 100/s for {:?}, 50/s for {:?}, then 100/s",
        options.calls, options.in_flight, options.phase, options.phase
    );
    println!(
        "| mode    | contender      |  429s | admitted | span s  | allowed | goodput% | busiest | paused | failed |"
    );
    println!(
        "|---------|----------------|-------|----------|---------|---------|----------|---------|--------|--------|"
    );
    let headers_pacer = run(&options, Mode::Headers, Contender::Pacer).await;
    if options.pacer_only {
        run(&options, Mode::Bare, Contender::Pacer).await;
        return;
    }
    let headers_loop = run(&options, Mode::Headers, Contender::Fixed(Fixed::Pacer)).await;
    let headers_governor = run(&options, Mode::Headers, Contender::Fixed(Fixed::Governor)).await;
    let bare_pacer = run(&options, Mode::Bare, Contender::Pacer).await;
    let bare_loop = run(&options, Mode::Bare, Contender::Fixed(Fixed::Pacer)).await;
    let paused = headers_pacer.counts.started_while_paused + bare_pacer.counts.started_while_paused;
    println!(
        "pushback: {} calls, server 100/50/100 per s; headers mode: 429s pacer {}, retry-loop {}, governor-retry {}; goodput % pacer {:.1}, retry-loop {:.1}, governor-retry {:.1}; bare mode: 429s pacer {}, retry-loop {}; goodput % pacer {:.1}, retry-loop {:.1}; calls started while paused {}",
        options.calls,
        headers_pacer.stats.refused,
        headers_loop.stats.refused,
        headers_governor.stats.refused,
        headers_pacer.goodput(),
        headers_loop.goodput(),
        headers_governor.goodput(),
        bare_pacer.stats.refused,
        bare_loop.stats.refused,
        bare_pacer.goodput(),
        bare_loop.goodput(),
        paused,
    );
}
