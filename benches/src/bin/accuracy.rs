//! Accuracy sweep: the rate pacer achieves against its target, in parts per million, for 10,
//! 100, 1,000, 10,000 and 100,000 per second (burst 1) over at least 2 seconds each, on tokio
//! (multi-thread runtime, 2 workers, built as `#[tokio::main]` builds it) with its own timer
//! and with pacer-tokio's `PreciseTimer`, and on smol (its global executor), with real timers.
//!
//! Run: `cargo run --release -p pacer-benches --bin accuracy` (`-- --help` for the options).
//!
//! Two ways to wait:
//! - *concurrent* (the measure of accuracy): `W` waiter tasks share the N = 2·R + 1
//!   acquisitions (`--seconds S` for N = S·R + 1), each acquiring in a loop, with `W` large enough that about 20 ms of the
//!   schedule is always reserved ahead (`W = max(4, R / 50)`), so a waiter that wakes late
//!   never leaves the schedule idle;
//! - *sequential*: one task acquires again as soon as its previous acquisition completed, for
//!   2 seconds (or N acquisitions). With burst 1 a cell that is not reserved by its instant is
//!   lost (strict spacing never catches up), so this shows how the runtime's timer resolution
//!   caps a single sequential waiter; it is not a measure of the schedule.
//!
//! Achieved rate = (passes - 1) / (last pass - first pass), by `std::time::Instant` taken as
//! each acquisition completes. Error in ppm = (achieved / target - 1) · 10^6 (negative: slower
//! than the target). The first acquisition of an idle limiter passes at once while every later
//! one ends on the runtime's timer, which on tokio ends a sleep on a 1 ms tick after its
//! deadline: that constant delay of all passes but the first lengthens the span by about a
//! millisecond, whatever the rate. "fitted" is the rate of the least-squares line through the
//! passes, which a constant delay does not move. "early" counts passes earlier than
//! first + i / R minus 1 µs; lateness is against that same schedule.

use pacer_benches::cli::Cli;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pacer_benches::{Schedule, analyse_burst};
use pacer_core::{AtomicLimiter, Pacer, Pausable, Quota, Timer};

const RATES: [u32; 5] = [10, 100, 1_000, 10_000, 100_000];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rt {
    Tokio,
    /// tokio with pacer-tokio's `PreciseTimer` (a timerfd in tokio's reactor).
    TokioPrecise,
    Smol,
}

impl Rt {
    fn name(self) -> &'static str {
        match self {
            Rt::Tokio => "tokio (multi-thread, 2 workers)",
            Rt::TokioPrecise => "tokio + PreciseTimer (multi-thread, 2 workers)",
            Rt::Smol => "smol (global executor)",
        }
    }
}

/// Runs the waiters on a tokio multi-thread runtime with 2 workers, built as `#[tokio::main]`
/// builds it (timer and I/O driver), on the limiter `make` returns inside it.
fn on_tokio<T>(
    make: impl FnOnce() -> Pacer<Pausable<AtomicLimiter>, T>,
    record: &Arc<Record>,
    mode: Mode,
    n: usize,
    waiters: usize,
    span: Duration,
) where
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let limiter = Arc::new(make());
        let handles: Vec<_> = shares(n, waiters)
            .map(|share| tokio::spawn(waiter(limiter.clone(), record.clone(), mode, share, span)))
            .collect();
        for h in handles {
            h.await.expect("waiter");
        }
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Concurrent,
    Sequential,
}

/// The passes of one run, in nanoseconds since `base`.
struct Record {
    base: Instant,
    next: AtomicUsize,
    passes: Vec<AtomicU64>,
}

impl Record {
    fn new(n: usize) -> Record {
        Record {
            base: Instant::now(),
            next: AtomicUsize::new(0),
            passes: (0..n).map(|_| AtomicU64::new(u64::MAX)).collect(),
        }
    }

    fn pass(&self) {
        let at = self.base.elapsed().as_nanos() as u64;
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.passes[i].store(at, Ordering::Relaxed);
    }

    fn schedule(&self, rate: u32, burst: u32) -> Schedule {
        let mut p: Vec<u64> = self
            .passes
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .filter(|&p| p != u64::MAX)
            .collect();
        analyse_burst(
            &mut p,
            u64::from(rate),
            burst,
            Duration::from_micros(1),
            None,
        )
    }
}

/// The work of waiter `w` of `waiters`: its share of `n` acquisitions (concurrent), or
/// acquisitions until `n` or the span is over (sequential, one waiter).
async fn waiter<T: Timer>(
    limiter: Arc<Pacer<Pausable<AtomicLimiter>, T>>,
    record: Arc<Record>,
    mode: Mode,
    share: usize,
    span: Duration,
) {
    let start = Instant::now();
    for _ in 0..share {
        limiter.acquire().await.expect("weight 1 never fails");
        record.pass();
        if mode == Mode::Sequential && start.elapsed() >= span {
            break;
        }
    }
}

fn shares(n: usize, waiters: usize) -> impl Iterator<Item = usize> {
    (0..waiters).map(move |w| n / waiters + usize::from(w < n % waiters))
}

fn run(rt: Rt, mode: Mode, rate: u32, burst: u32, span: Duration) -> (Schedule, usize) {
    let n = (span.as_secs_f64() * f64::from(rate)).round() as usize + 1;
    let waiters = match mode {
        Mode::Concurrent => (rate as usize / 50).max(4),
        Mode::Sequential => 1,
    };
    let quota = Quota::per_second(rate)
        .and_then(|q| q.with_burst(burst))
        .expect("quota");
    let record = Arc::new(Record::new(n));
    match rt {
        Rt::Tokio => on_tokio(
            || pacer_tokio::Limiter::new(quota),
            &record,
            mode,
            n,
            waiters,
            span,
        ),
        Rt::TokioPrecise => on_tokio(
            || {
                let timer = pacer_tokio::PreciseTimer::new().expect("a timerfd in this runtime");
                pacer_tokio::PreciseLimiter::from_parts(
                    Pausable::new(AtomicLimiter::new(quota)),
                    timer,
                )
            },
            &record,
            mode,
            n,
            waiters,
            span,
        ),
        Rt::Smol => smol::block_on(async {
            let limiter = Arc::new(pacer_smol::Limiter::new(quota));
            let tasks: Vec<_> = shares(n, waiters)
                .map(|share| {
                    smol::spawn(waiter(limiter.clone(), record.clone(), mode, share, span))
                })
                .collect();
            for t in tasks {
                t.await;
            }
        }),
    }
    (record.schedule(rate, burst), waiters)
}

const USAGE: &str =
    "usage: accuracy [--tokio] [--tokio-precise] [--smol] [--concurrent] [--sequential]
                [--rate R]... [--seconds S] [--burst B]
(default: all three, both modes, rates 10 100 1000 10000 100000, S = 2: N = S·R + 1
acquisitions, B = 1; --tokio-precise is pacer-tokio's PreciseTimer, a timerfd in tokio's
reactor)";

fn main() {
    let mut cli = Cli::from_env("accuracy", USAGE);
    let mut rts = Vec::new();
    for (flag, rt) in [
        ("--tokio", Rt::Tokio),
        ("--tokio-precise", Rt::TokioPrecise),
        ("--smol", Rt::Smol),
    ] {
        if cli.flag(flag) {
            rts.push(rt);
        }
    }
    let mut modes = Vec::new();
    for (flag, mode) in [
        ("--concurrent", Mode::Concurrent),
        ("--sequential", Mode::Sequential),
    ] {
        if cli.flag(flag) {
            modes.push(mode);
        }
    }
    let mut rates: Vec<u32> = cli.all("--rate");
    let seconds: f64 = cli.value("--seconds", 2.0);
    let burst: u32 = cli.value("--burst", 1);
    if rates.contains(&0) || burst == 0 || !(seconds.is_finite() && seconds > 0.0) {
        cli.fail("--rate, --seconds and --burst take positive numbers");
    }
    cli.finish();
    let span = Duration::from_secs_f64(seconds);
    if rts.is_empty() {
        rts = vec![Rt::Tokio, Rt::TokioPrecise, Rt::Smol];
    }
    if modes.is_empty() {
        modes = vec![Mode::Concurrent, Mode::Sequential];
    }
    if rates.is_empty() {
        rates = RATES.to_vec();
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "# accuracy: load average at start {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("# burst {burst} (the schedule columns allow the first {burst} passes at once)");

    println!("size of a waiting acquisition future (Acquire on the runtime's timer):");
    let quota = Quota::per_second(1).expect("quota");
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
        .block_on(async {
            let limiter = pacer_tokio::Limiter::new(quota);
            limiter.try_acquire(1).expect("the first cell is free");
            let mut waiting = std::pin::pin!(limiter.acquire());
            assert!(futures::poll!(waiting.as_mut()).is_pending());
            println!(
                "  tokio: pacer_tokio::Limiter::acquire(): {} bytes",
                std::mem::size_of_val(&*waiting)
            );
            println!(
                "    of which tokio::time::Sleep: {} bytes",
                std::mem::size_of::<tokio::time::Sleep>()
            );
        });
    smol::block_on(async {
        let limiter = pacer_smol::Limiter::new(quota);
        limiter.try_acquire(1).expect("the first cell is free");
        let mut waiting = std::pin::pin!(limiter.acquire());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        println!(
            "  smol: pacer_smol::Limiter::acquire(): {} bytes",
            std::mem::size_of_val(&*waiting)
        );
        println!(
            "    of which async_io::Timer: {} bytes",
            std::mem::size_of::<smol::Timer>()
        );
    });

    for &mode in &modes {
        println!(
            "\n{}\n",
            match mode {
                Mode::Concurrent => format!(
                    "## concurrent waiters (N = {}·R + 1 acquisitions)",
                    span.as_secs_f64()
                ),
                Mode::Sequential => format!(
                    "## one sequential waiter (for {} s, at most {}·R + 1 acquisitions)",
                    span.as_secs_f64(),
                    span.as_secs_f64()
                ),
            }
        );
        println!(
            "| runtime | target /s | waiters | passes | span s | achieved /s | error ppm | fitted error ppm | early | median late ms | worst late ms |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for &rt in &rts {
            for &rate in &rates {
                let (s, waiters) = run(rt, mode, rate, burst, span);
                println!(
                    "| {} | {rate} | {waiters} | {} | {:.4} | {:.3} | {:+.0} | {:+.0} | {} | {:.3} | {:.3} |",
                    rt.name(),
                    s.passes,
                    s.span.as_secs_f64(),
                    s.achieved,
                    (s.achieved / f64::from(rate) - 1.0) * 1e6,
                    (s.fitted / f64::from(rate) - 1.0) * 1e6,
                    s.early,
                    s.median_late.as_secs_f64() * 1e3,
                    s.worst_late.as_secs_f64() * 1e3,
                );
            }
        }
    }
}
