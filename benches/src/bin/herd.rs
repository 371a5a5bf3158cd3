//! The herd: N tasks spawned at once, each takes one permit of a limiter at R per second with
//! burst 1 and records the instant it passed; pacer-tokio against governor and leaky-bucket,
//! on a tokio multi-thread runtime with 2 workers and on a current-thread runtime.
//!
//! Run: `cargo run --release -p pacer-benches --bin herd` (`-- --help` for the options).
//!
//! For each runtime, case (N, R) and limiter it reports: wall time (spawning the first task to
//! the last pass) against the ideal (N - 1) / R; the achieved rate (N - 1) / (last pass - first
//! pass) and, beside it, the rate of the least-squares line through the passes (which a
//! constant delay of every pass but the first, such as the runtime timer's, does not move);
//! process CPU time (getrusage user + sys, all threads) over the same interval; polls
//! of the task futures per acquisition (a counting wrapper around each task body); passes
//! earlier than the ideal schedule first + i / R (minus 1 µs); the median and worst lateness
//! against that schedule; the observed traffic: the most passes in any half-open window of one
//! period (1 s, in which the quota allows R) and in any window of ten intervals (10 / R s, in
//! which it allows 10), counted on the recorded pass instants, which is what a server counting
//! arrivals would see; and heap allocations per acquisition,
//! total and beyond those of a baseline task that only sleeps once on tokio's timer
//! (`sleep_until` its ideal instant), counted by a counting global allocator.
//!
//! The baseline rows show tokio's timer alone: its task `i` sleeps until `start + i / R` with
//! `start` 50 ms after the run begins (so spawning is over), and its schedule columns are
//! measured against that exact schedule; its wall time includes the 50 ms.
//!
//! A run that does not finish within the timeout (60 s by default) is cut, and reported with
//! how many tasks had passed by then.
//!
//! The runtimes are built as `#[tokio::main]` builds them, with the timer and the I/O driver
//! (`--no-io`: the timer only). *pacer-precise* is pacer-tokio's `PreciseLimiter`, whose
//! timer is a timerfd in that I/O driver, with its default slack (`--precise-slack` sets
//! another) and its queue reserved for the N waiters before the run.
//!
//! With `--runs K` each combination runs K times, round-robin over the limiters; each row is
//! the run with the median CPU time, and the last lines give, over all K runs, pacer's CPU
//! against each peer's, pacer's achieved rate (median, farthest, runs within 0.1%), and every
//! limiter's most passes in one period and in ten intervals (fewest to most).

use pacer_benches::cli::Cli;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pacer_benches::{CountingAlloc, Schedule, analyse_from, counted, cpu_time, most_in_window};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Pacer,
    Governor,
    Leaky,
    Baseline,
    /// pacer-tokio's `Gate` (rate and a cap of `GATE_SLOTS` in flight), not in the
    /// default set: it shows what waiting for a concurrency slot adds.
    Gate,
    /// pacer-futures-timer's `Limiter` (futures-timer's timer thread) on the same tokio
    /// runtime, not in the default set: a timer finer than tokio's 1 ms tick.
    FuturesTimer,
    /// pacer-tokio's `PreciseLimiter`: pacer on a timerfd in tokio's own reactor.
    Precise,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Pacer,
        Kind::Precise,
        Kind::Governor,
        Kind::Leaky,
        Kind::Baseline,
        Kind::Gate,
        Kind::FuturesTimer,
    ];
    /// What runs when no `--limiter` is given.
    const DEFAULT: [Kind; 5] = [
        Kind::Pacer,
        Kind::Precise,
        Kind::Governor,
        Kind::Leaky,
        Kind::Baseline,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Pacer => "pacer",
            Kind::Governor => "governor",
            Kind::Leaky => "leaky-bucket",
            Kind::Baseline => "baseline",
            Kind::Gate => "pacer-gate",
            Kind::FuturesTimer => "pacer-futures-timer",
            Kind::Precise => "pacer-precise",
        }
    }

    /// pacer itself, on either tokio timer: the rows compared with the peers.
    fn is_pacer(self) -> bool {
        matches!(self, Kind::Pacer | Kind::Precise)
    }

    /// The peer crates pacer is compared with.
    const PEERS: [Kind; 2] = [Kind::Governor, Kind::Leaky];

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "leaky" && *k == Kind::Leaky))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Multi,
    Current,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::Multi => "multi-thread (2 workers)",
            Flavor::Current => "current-thread",
        }
    }

    fn runtime(self) -> tokio::runtime::Runtime {
        let mut builder = match self {
            Flavor::Multi => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
            Flavor::Current => tokio::runtime::Builder::new_current_thread(),
        };
        // As `#[tokio::main]` builds it: the timer and the I/O driver (which pacer-precise's
        // timerfd needs; with it, an idle worker parks in epoll rather than on a futex).
        // `--no-io` builds it with the timer alone.
        if NO_IO.load(Ordering::Relaxed) {
            builder.enable_time();
        } else {
            builder.enable_all();
        }
        builder.build().expect("tokio runtime")
    }
}

/// One limiter under test, shared by every task of a run.
enum Limiter {
    Pacer(pacer_tokio::Limiter),
    Gate(pacer_tokio::Gate),
    FuturesTimer(pacer_futures_timer::Limiter),
    Precise(pacer_tokio::PreciseLimiter),
    Governor(governor::DefaultDirectRateLimiter),
    Leaky(leaky_bucket::RateLimiter),
    /// No limiter: task `i` sleeps until `start + i / R` on tokio's timer.
    Baseline(tokio::time::Instant),
}

/// The concurrency cap of the `pacer-gate` limiter (`--gate-slots`, 20 by default): the tasks
/// beyond it wait for a slot first (on async-lock's semaphore), then for their rate slot, and
/// release the slot as they pass.
static GATE_SLOTS: AtomicUsize = AtomicUsize::new(20);

/// `--precise-slack`: the slack of pacer-precise's timer, in microseconds (by default the
/// timer's own default, 1 ms).
static PRECISE_SLACK_US: AtomicU64 =
    AtomicU64::new(pacer_tokio::PreciseTimer::DEFAULT_SLACK.as_micros() as u64);

/// `--no-io`: runtimes with tokio's timer but no I/O driver.
static NO_IO: AtomicBool = AtomicBool::new(false);

/// The baseline's schedule starts this long after the run's base instant, so that spawning is
/// over before its first instant and its rows show tokio's own timer against an exact schedule.
const BASELINE_DELAY: Duration = Duration::from_millis(50);

impl Limiter {
    fn origin(&self, base: Instant) -> Option<u64> {
        match self {
            Limiter::Baseline(start) => {
                Some(start.into_std().saturating_duration_since(base).as_nanos() as u64)
            }
            _ => None,
        }
    }
}

impl Limiter {
    fn new(kind: Kind, n: usize, rate: u32, base: Instant) -> Limiter {
        match kind {
            Kind::Pacer => Limiter::Pacer(pacer_tokio::Limiter::new(
                pacer_tokio::Quota::per_second(rate).expect("quota"),
            )),
            Kind::Gate => Limiter::Gate(
                pacer_tokio::Gate::new(
                    pacer_tokio::Quota::per_second(rate).expect("quota"),
                    GATE_SLOTS.load(Ordering::Relaxed),
                )
                .expect("gate"),
            ),
            Kind::FuturesTimer => Limiter::FuturesTimer(pacer_futures_timer::Limiter::new(
                pacer_futures_timer::Quota::per_second(rate).expect("quota"),
            )),
            Kind::Precise => {
                let timer = pacer_tokio::PreciseTimer::new().expect("a timerfd in this runtime");
                timer.set_slack(Duration::from_micros(
                    PRECISE_SLACK_US.load(Ordering::Relaxed),
                ));
                // Room for every waiter up front, as a server that knows its concurrency
                // would: otherwise the queue's doubling adds about log2(N) allocations a run.
                timer.reserve(n).expect("room for the waiters");
                Limiter::Precise(pacer_tokio::PreciseLimiter::from_parts(
                    pacer_tokio::Pausable::new(pacer_tokio::AtomicLimiter::new(
                        pacer_tokio::Quota::per_second(rate).expect("quota"),
                    )),
                    timer,
                ))
            }
            Kind::Governor => {
                let quota = governor::Quota::per_second(NonZeroU32::new(rate).expect("rate"))
                    .allow_burst(NonZeroU32::MIN);
                Limiter::Governor(governor::RateLimiter::direct(quota))
            }
            Kind::Leaky => {
                let (refill, interval) = leaky_config(rate);
                Limiter::Leaky(
                    leaky_bucket::RateLimiter::builder()
                        .initial(1)
                        .max(refill)
                        .refill(refill)
                        .interval(interval)
                        .build(),
                )
            }
            Kind::Baseline => {
                Limiter::Baseline(tokio::time::Instant::from_std(base + BASELINE_DELAY))
            }
        }
    }

    /// Waits for one permit (task `i` of a run at `rate`).
    async fn acquire(&self, i: usize, rate: u32) {
        match self {
            Limiter::Pacer(l) => l.acquire().await.expect("weight 1 never fails"),
            Limiter::Gate(g) => drop(g.acquire().await.expect("weight 1 never fails")),
            Limiter::FuturesTimer(l) => l.acquire().await.expect("weight 1 never fails"),
            Limiter::Precise(l) => l.acquire().await.expect("weight 1 never fails"),
            Limiter::Governor(l) => l.until_ready().await,
            Limiter::Leaky(l) => l.acquire_one().await,
            Limiter::Baseline(start) => {
                let at = *start + ideal(i, rate);
                tokio::time::sleep_until(at).await;
            }
        }
    }
}

/// leaky-bucket's refill for `rate` per second: 1 per `1/rate` where that is a whole number of
/// milliseconds (its interval must be at least 1 ms), otherwise `rate / 1000` per 1 ms (so
/// 20,000 per second is 20 per 1 ms, and its bucket must then hold 20: a burst of 20).
fn leaky_config(rate: u32) -> (usize, Duration) {
    if 1000 % rate == 0 {
        (1, Duration::from_millis(u64::from(1000 / rate)))
    } else {
        (rate.div_ceil(1000) as usize, Duration::from_millis(1))
    }
}

fn ideal(i: usize, rate: u32) -> Duration {
    Duration::from_nanos((i as u64 * 1_000_000_000).div_ceil(u64::from(rate)))
}

/// What the tasks of one run share.
struct Shared {
    limiter: Limiter,
    rate: u32,
    base: Instant,
    /// Pass instant of task `i`, in nanoseconds since `base`; `u64::MAX` until it passes.
    passes: Vec<AtomicU64>,
    polls: AtomicU64,
    done: AtomicUsize,
    all_done: tokio::sync::Notify,
}

struct Outcome {
    kind: Kind,
    n: usize,
    rate: u32,
    passed: usize,
    cut: bool,
    wall: Duration,
    cpu: Duration,
    polls: u64,
    allocations: u64,
    schedule: Schedule,
    /// The most passes in any window of one period (1 s), where the quota allows `rate`.
    most_in_period: usize,
    /// The most passes in any window of ten intervals (10 / `rate` s), where it allows 10.
    most_in_ten: usize,
    /// Every pass instant, sorted, in nanoseconds since the run's base (for `--dump`).
    passes: Vec<u64>,
}

fn run(flavor: Flavor, kind: Kind, n: usize, rate: u32, timeout: Duration) -> Outcome {
    let runtime = flavor.runtime();
    let outcome = runtime.block_on(async {
        let base = Instant::now();
        let shared = Arc::new(Shared {
            limiter: Limiter::new(kind, n, rate, base),
            rate,
            base,
            passes: (0..n).map(|_| AtomicU64::new(u64::MAX)).collect(),
            polls: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            all_done: tokio::sync::Notify::new(),
        });
        let mut handles = Vec::with_capacity(n);
        let deadline = tokio::time::sleep(timeout);
        let finished = shared.all_done.notified();
        let mut deadline = std::pin::pin!(deadline);
        let mut finished = std::pin::pin!(finished);
        finished.as_mut().enable();

        let allocations = ALLOC.allocations();
        let cpu = cpu_time();
        let start = Instant::now();
        for i in 0..n {
            let shared = Arc::clone(&shared);
            handles.push(tokio::spawn(async move {
                let s = &*shared;
                counted(&s.polls, async {
                    s.limiter.acquire(i, s.rate).await;
                    let at = s.base.elapsed().as_nanos() as u64;
                    s.passes[i].store(at, Ordering::Relaxed);
                    if s.done.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        s.all_done.notify_one();
                    }
                })
                .await;
            }));
        }
        let cut = tokio::select! {
            () = &mut finished => false,
            () = &mut deadline => true,
        };
        let wall = start.elapsed();
        let cpu = cpu_time() - cpu;
        let allocations = ALLOC.allocations() - allocations;
        if cut {
            for h in &handles {
                h.abort();
            }
        }
        drop(handles);
        let mut passes: Vec<u64> = shared
            .passes
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .filter(|&p| p != u64::MAX)
            .collect();
        let origin = shared.limiter.origin(shared.base);
        let schedule = analyse_from(
            &mut passes,
            u64::from(rate),
            Duration::from_micros(1),
            origin,
        );
        // `analyse_from` sorted the passes.
        let rate64 = u64::from(rate);
        let most_in_period = most_in_window(&passes, rate64, rate64);
        let most_in_ten = most_in_window(&passes, 10, rate64);
        Outcome {
            kind,
            n,
            rate,
            passed: shared.done.load(Ordering::Acquire),
            cut,
            wall,
            cpu,
            polls: shared.polls.load(Ordering::Relaxed),
            allocations,
            schedule,
            most_in_period,
            most_in_ten,
            passes,
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// Writes the pass instants of `out` to `dir` for the `plots` program; a failure to write is
/// reported and ends the program, since the figures would lack this run.
fn dump(dir: &std::path::Path, flavor: Flavor, out: &Outcome, run_index: usize) {
    let runtime = match flavor {
        Flavor::Multi => "multi",
        Flavor::Current => "current",
    };
    let name = format!(
        "{runtime}-{}-{}-{}-{run_index}.csv",
        out.n,
        out.rate,
        out.kind.name()
    );
    let mut text = String::with_capacity(out.passes.len() * 12);
    for at in &out.passes {
        text.push_str(&at.to_string());
        text.push('\n');
    }
    let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(dir.join(&name), text));
    if let Err(error) = written {
        eprintln!("herd: cannot write {}: {error}", dir.join(&name).display());
        std::process::exit(1);
    }
}

struct Options {
    cases: Vec<(usize, u32)>,
    kinds: Vec<Kind>,
    flavors: Vec<Flavor>,
    timeout: Duration,
    runs: usize,
    /// Where `--dump` writes each run's pass instants, if anywhere.
    dump: Option<std::path::PathBuf>,
}

const USAGE: &str = "\
usage: herd [--quick] [--case N:R]... [--limiter NAME]...
            [--runtime multi|current]... [--timeout SECS] [--runs K] [--gate-slots C] [--no-io]
            [--precise-slack US] [--dump DIR]
  --quick      only the two short cases (1000:1000 and 10000:20000)
  --case       a case of N tasks at R per second (repeatable; default: the three of issue 4)
  --limiter    pacer, pacer-precise, governor, leaky, baseline, pacer-gate or
               pacer-futures-timer (repeatable; default: the first five, the baseline
               included; pacer-precise is pacer-tokio's PreciseLimiter, a timerfd in tokio's
               reactor; pacer-gate is pacer-tokio's Gate with a cap on how many are in
               flight; pacer-futures-timer is pacer on futures-timer's timer thread, inside
               the same tokio runtime)
  --gate-slots the pacer-gate limiter's cap (default 20)
  --runtime    runtimes (repeatable; default: both)
  --timeout    cut a run after SECS seconds (default 60)
  --runs       run each combination K times, round-robin over the limiters, and report the
               run with the median CPU time (default 1); with K > 1 the last lines compare
               pacer's CPU with each peer's over all K runs, give pacer's rate over them,
               and every limiter's most passes in one period and in ten intervals
  --precise-slack US
               pacer-precise's timer slack in microseconds (default 1000, the timer's
               own default; 0 wakes each waiter at its own instant; see
               PreciseTimer::set_slack)
  --dump DIR   write each run's pass instants to DIR/<runtime>-<N>-<R>-<limiter>-<run>.csv
               (one instant a line, nanoseconds since the run started, sorted; the input of
               the `plots` program, which draws BENCHMARKS.md's figures)
  --no-io      build the runtimes with tokio's timer only, no I/O driver (by default they
               have both, as #[tokio::main] builds them; pacer-precise needs the I/O driver)";

fn options() -> Options {
    let mut cli = Cli::from_env("herd", USAGE);
    let quick = cli.flag("--quick");
    if cli.flag("--no-io") {
        NO_IO.store(true, Ordering::Relaxed);
    }
    let mut o = Options {
        cases: Vec::new(),
        kinds: Vec::new(),
        flavors: Vec::new(),
        timeout: Duration::ZERO,
        runs: cli.value::<usize>("--runs", 1).max(1),
        dump: cli.text("--dump").map(Into::into),
    };
    let timeout: f64 = cli.value("--timeout", 60.0);
    if !(timeout.is_finite() && timeout > 0.0) {
        cli.fail("--timeout takes a positive number of seconds");
    }
    o.timeout = Duration::from_secs_f64(timeout);
    for case in cli.all_texts("--case") {
        let parsed = case.split_once(':').and_then(|(n, r)| {
            let n: usize = n.replace('_', "").parse().ok()?;
            let r: u32 = r.replace('_', "").parse().ok()?;
            (n > 0 && r > 0).then_some((n, r))
        });
        o.cases
            .push(parsed.unwrap_or_else(|| cli.fail("--case is N:R, both positive")));
    }
    for limiter in cli.all_texts("--limiter") {
        let kind = Kind::parse(&limiter).unwrap_or_else(|| cli.fail("unknown limiter"));
        o.kinds.push(kind);
    }
    for runtime in cli.all_texts("--runtime") {
        o.flavors.push(match runtime.as_str() {
            "multi" => Flavor::Multi,
            "current" => Flavor::Current,
            _ => cli.fail("--runtime is multi or current"),
        });
    }
    if let Some(slots) = cli.optional::<usize>("--gate-slots") {
        if slots == 0 {
            cli.fail("--gate-slots must be positive");
        }
        GATE_SLOTS.store(slots, Ordering::Relaxed);
    }
    if let Some(us) = cli.optional::<u64>("--precise-slack") {
        PRECISE_SLACK_US.store(us, Ordering::Relaxed);
    }
    let fail = |problem: &str| cli.fail(problem);
    if o.cases.is_empty() {
        o.cases = if quick {
            vec![(1_000, 1_000), (10_000, 20_000)]
        } else {
            vec![(1_000, 1_000), (10_000, 20_000), (10_000, 1_000)]
        };
    }
    if o.kinds.is_empty() {
        o.kinds = Kind::DEFAULT.to_vec();
        if NO_IO.load(Ordering::Relaxed) {
            o.kinds.retain(|&k| k != Kind::Precise);
        }
    }
    if NO_IO.load(Ordering::Relaxed) && o.kinds.contains(&Kind::Precise) {
        fail("pacer-precise needs the I/O driver: drop --no-io or that limiter");
    }
    if o.flavors.is_empty() {
        o.flavors = vec![Flavor::Multi, Flavor::Current];
    }
    cli.finish();
    o
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn main() {
    let o = options();
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "# herd: {} CPUs ({machine}), load average at start {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    sizes();

    let mut table = String::new();
    table.push_str(
        "| runtime | N | R/s | limiter | result | wall s | ideal s | achieved /s | vs target | \
         fitted vs target | CPU s | polls/acq | early | median late ms | worst late ms | \
         most in 1 period | most in 10 intervals | allocs/acq | allocs/acq beyond baseline |\n",
    );
    table.push_str(&"|---".repeat(19));
    table.push_str("|\n");
    let mut all: Vec<(Flavor, Outcome)> = Vec::new();
    let mut series: Vec<Series> = Vec::new();
    for &flavor in &o.flavors {
        for &(n, rate) in &o.cases {
            let mut baseline_allocs = None;
            // The baseline first, so the others can be compared with it.
            let mut kinds = o.kinds.clone();
            kinds.sort_by_key(|k| *k != Kind::Baseline);
            // Round-robin over the limiters, so a change in the machine's load during the
            // series falls on all of them alike.
            let mut by_kind: Vec<Vec<Outcome>> = kinds.iter().map(|_| Vec::new()).collect();
            for run_index in 0..o.runs {
                for (k, &kind) in kinds.iter().enumerate() {
                    let out = run(flavor, kind, n, rate, o.timeout);
                    if let Some(dir) = &o.dump {
                        dump(dir, flavor, &out, run_index);
                    }
                    eprintln!(
                        "  {} N={n} R={rate} {}: {} passed in {} s, CPU {} s, \
                         achieved {:+.3}%, polls/acq {:.2}",
                        flavor.name(),
                        kind.name(),
                        out.passed,
                        secs(out.wall),
                        secs(out.cpu),
                        percent_off(out.schedule.achieved, rate),
                        out.polls as f64 / out.passed.max(1) as f64,
                    );
                    by_kind[k].push(out);
                }
            }
            for (&kind, mut runs) in kinds.iter().zip(by_kind) {
                series.push(Series::new(flavor, kind, n, rate, &runs));
                runs.sort_by_key(|r| r.cpu);
                let out = runs.swap_remove(runs.len() / 2);
                let per = |x: u64| x as f64 / out.passed.max(1) as f64;
                if kind == Kind::Baseline && !out.cut {
                    baseline_allocs = Some(per(out.allocations));
                }
                let s = &out.schedule;
                let result = if out.cut {
                    format!("CUT at {} s: {}/{} passed", secs(out.wall), out.passed, n)
                } else {
                    "ok".into()
                };
                let ideal_wall = (n - 1) as f64 / f64::from(rate);
                let beyond = baseline_allocs
                    .filter(|_| kind != Kind::Baseline)
                    .map_or("-".into(), |b| format!("{:+.2}", per(out.allocations) - b));
                let _ = writeln!(
                    table,
                    "| {} | {n} | {rate} | {} | {result} | {} | {ideal_wall:.3} | {:.1} | {:+.3}% | {:+.3}% | \
                     {} | {:.2} | {} | {:.3} | {:.3} | {} | {} | {:.2} | {beyond} |",
                    flavor.name(),
                    kind.name(),
                    secs(out.wall),
                    s.achieved,
                    percent_off(s.achieved, rate),
                    percent_off(s.fitted, rate),
                    secs(out.cpu),
                    per(out.polls),
                    s.early,
                    s.median_late.as_secs_f64() * 1e3,
                    s.worst_late.as_secs_f64() * 1e3,
                    out.most_in_period,
                    out.most_in_ten,
                    per(out.allocations),
                );
                all.push((flavor, out));
            }
        }
    }
    if o.kinds.contains(&Kind::Leaky) {
        for &(_, rate) in &o.cases {
            let (refill, interval) = leaky_config(rate);
            if refill > 1 {
                println!(
                    "\nnote: leaky-bucket's interval is at least 1 ms, so {rate}/s is {refill} per \
                     {interval:?} with max {refill}: a burst of {refill}, not 1."
                );
            }
        }
    }
    println!(
        "\nmost in 1 period / most in 10 intervals: the most passes in any half-open window of \
         1 s / of ten intervals (10/R s), where a quota of R per second at burst 1 allows R / 10 \
         (leaky-bucket, whose burst is R/1000 above 1,000/s, allows more)."
    );
    println!("\n{table}");
    ratios(&all);
    if o.runs > 1 {
        pooled(&series, o.runs);
    }
}

/// How far `per_second` is from `target` per second, in percent (negative: slower).
fn percent_off(per_second: f64, target: u32) -> f64 {
    (per_second / f64::from(target) - 1.0) * 100.0
}

/// The CPU time, the rate and the observed traffic of every run of one limiter in one case.
struct Series {
    flavor: Flavor,
    kind: Kind,
    n: usize,
    rate: u32,
    /// Sorted.
    cpu: Vec<Duration>,
    /// The achieved rate, first pass to last, against the target in percent, of each run that
    /// was not cut; sorted.
    rate_errors: Vec<f64>,
    /// The fewest and the most of [`Outcome::most_in_period`] over the runs that were not cut.
    period_range: Option<(usize, usize)>,
    /// The same for [`Outcome::most_in_ten`].
    ten_range: Option<(usize, usize)>,
}

impl Series {
    fn new(flavor: Flavor, kind: Kind, n: usize, rate: u32, runs: &[Outcome]) -> Series {
        let mut cpu: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
        cpu.sort();
        let whole = || runs.iter().filter(|r| !r.cut);
        let mut rate_errors: Vec<f64> = whole()
            .map(|r| percent_off(r.schedule.achieved, rate))
            .collect();
        rate_errors.sort_by(f64::total_cmp);
        let range = |most: fn(&Outcome) -> usize| {
            let min = whole().map(most).min()?;
            Some((min, whole().map(most).max()?))
        };
        Series {
            flavor,
            kind,
            n,
            rate,
            cpu,
            rate_errors,
            period_range: range(|r| r.most_in_period),
            ten_range: range(|r| r.most_in_ten),
        }
    }

    fn median(&self) -> Duration {
        self.cpu[self.cpu.len() / 2]
    }

    /// The median rate error, the one farthest from the target, and how many runs were within
    /// 0.1% of it; `None` if every run was cut.
    fn rate_summary(&self) -> Option<(f64, f64, usize)> {
        let median = *self.rate_errors.get(self.rate_errors.len() / 2)?;
        let worst = self
            .rate_errors
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))?;
        let within = self.rate_errors.iter().filter(|e| e.abs() <= 0.1).count();
        Some((median, worst, within))
    }
}

/// With `--runs K`: pacer's CPU against each peer's over all K runs of a case, as the ratio of
/// the medians and the share of (pacer run, peer run) pairs in which pacer used less; then
/// pacer's achieved rate over the K runs; then every limiter's observed traffic over the K
/// runs.
fn pooled(all: &[Series], runs: usize) {
    println!(
        "\nover all {runs} runs of each (medians of CPU time, and the share of run pairs in which \
         pacer used less):"
    );
    for mine in all.iter().filter(|r| r.kind.is_pacer()) {
        let mut line = format!(
            "  {} {} N={} R={}: {} s;",
            mine.kind.name(),
            mine.flavor.name(),
            mine.n,
            mine.rate,
            secs(mine.median())
        );
        let peers = all.iter().filter(|p| {
            Kind::PEERS.contains(&p.kind)
                && (p.flavor, p.n, p.rate) == (mine.flavor, mine.n, mine.rate)
        });
        for peer in peers {
            let less = mine
                .cpu
                .iter()
                .map(|a| peer.cpu.iter().filter(|b| a < *b).count())
                .sum::<usize>();
            let _ = write!(
                line,
                "  vs {} {} s: ratio {:.3}, less in {:.0}% of pairs;",
                peer.kind.name(),
                secs(peer.median()),
                mine.median().as_secs_f64() / peer.median().as_secs_f64().max(1e-9),
                100.0 * less as f64 / (mine.cpu.len() * peer.cpu.len()) as f64,
            );
        }
        println!("{line}");
    }
    println!(
        "\nover all {runs} runs of each, pacer's achieved rate first pass to last against the \
         target (median, farthest, and runs within 0.1%):"
    );
    for mine in all.iter().filter(|r| r.kind.is_pacer()) {
        let summary = match mine.rate_summary() {
            Some((median, worst, within)) => format!(
                "median {median:+.3}%, farthest {worst:+.3}%, within 0.1% in {within} of {}",
                mine.rate_errors.len()
            ),
            None => "every run was cut".into(),
        };
        println!(
            "  {} {} N={} R={}: {summary}",
            mine.kind.name(),
            mine.flavor.name(),
            mine.n,
            mine.rate,
        );
    }
    println!(
        "\nover all {runs} runs of each, the most passes in any window of one period and of ten \
         intervals (fewest to most over the runs; the quota allows R and 10):"
    );
    for series in all {
        let span = |range: Option<(usize, usize)>| match range {
            Some((lo, hi)) if lo == hi => lo.to_string(),
            Some((lo, hi)) => format!("{lo} to {hi}"),
            None => "every run was cut".into(),
        };
        println!(
            "  {} {} N={} R={}: one period {}, ten intervals {}",
            series.kind.name(),
            series.flavor.name(),
            series.n,
            series.rate,
            span(series.period_range),
            span(series.ten_range),
        );
    }
}

/// Sizes of the futures a waiting task holds, for each limiter.
fn sizes() {
    let runtime = Flavor::Current.runtime();
    runtime.block_on(async {
        let quota = pacer_tokio::Quota::per_second(1).expect("quota");
        let pacer = pacer_tokio::Limiter::new(quota);
        let mut waiting = std::pin::pin!(pacer.acquire());
        // Poll twice: the first takes the free cell, the second waits.
        let mut first = std::pin::pin!(pacer.acquire());
        assert!(futures::poll!(first.as_mut()).is_ready());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        let governor = governor::RateLimiter::direct(governor::Quota::per_second(NonZeroU32::MIN));
        let leaky = leaky_bucket::RateLimiter::builder().build();
        let precise = match NO_IO.load(Ordering::Relaxed) {
            true => "not measured (no I/O driver)".to_string(),
            false => {
                let precise = pacer_tokio::PreciseLimiter::from_parts(
                    pacer_tokio::Pausable::new(pacer_tokio::AtomicLimiter::new(quota)),
                    pacer_tokio::PreciseTimer::new().expect("a timerfd in this runtime"),
                );
                format!(
                    "{} bytes (its sleep alone {})",
                    std::mem::size_of_val(&precise.acquire()),
                    std::mem::size_of::<pacer_tokio::PreciseSleep>()
                )
            }
        };
        println!(
            "size of a waiting acquisition future: pacer-tokio Acquire {} bytes \
             (tokio Sleep alone {}), on PreciseTimer {precise}, \
             governor until_ready {} bytes, leaky-bucket acquire_one {} bytes",
            std::mem::size_of_val(&*waiting),
            std::mem::size_of::<tokio::time::Sleep>(),
            std::mem::size_of_val(&governor.until_ready()),
            std::mem::size_of_val(&leaky.acquire_one()),
        );
    });
}

/// The last lines: pacer / peer for CPU and polls, per runtime and case.
fn ratios(all: &[(Flavor, Outcome)]) {
    let find = |flavor: Flavor, kind: Kind, n: usize, rate: u32| {
        all.iter()
            .find(|(f, o)| *f == flavor && o.kind == kind && o.n == n && o.rate == rate)
            .map(|(_, o)| o)
    };
    println!("pacer / peer (CPU time, polls per acquisition; below 1 means pacer used less):");
    for (flavor, out) in all.iter().filter(|(_, o)| o.kind.is_pacer()) {
        let mut line = format!(
            "  {} {} N={} R={}:",
            out.kind.name(),
            flavor.name(),
            out.n,
            out.rate
        );
        for peer in Kind::PEERS {
            if let Some(p) = find(*flavor, peer, out.n, out.rate) {
                let cut = if p.cut { " (peer CUT)" } else { "" };
                let _ = write!(
                    line,
                    "  vs {}: CPU {:.3}, polls {:.3}{cut};",
                    peer.name(),
                    out.cpu.as_secs_f64() / p.cpu.as_secs_f64().max(1e-9),
                    out.polls as f64
                        / out.passed.max(1) as f64
                        / (p.polls as f64 / p.passed.max(1) as f64).max(1e-9),
                );
            }
        }
        println!("{line}");
    }
}
