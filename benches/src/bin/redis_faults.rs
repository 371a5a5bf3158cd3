//! What a Redis crash costs a limit: the cells admitted beyond the quota when the server is
//! killed (SIGKILL) in the middle of a saturated run and started again, without persistence
//! (empty) and with an append-only file (`appendfsync always`, and `everysec`).
//!
//! Run: `cargo run --release -p pacer-benches --bin redis_faults` (`-- --help` for the
//! options). It starts a private `redis-server` for each run (which must be installed).
//!
//! Each run: `K` keys (16) of one keyed limit, each saturated by `C` tasks (4) spread over
//! 4 connections, as 4 client processes would be, for 6 s. Half way through, the server is
//! killed and, after a pause (100 ms), started again on the same port and directory; the
//! connections come back by themselves and a failed call is tried again 5 ms later. Two
//! kinds of traffic: `acquire` (reserve, then sleep once for the wait the server computed:
//! each task keeps one reservation queued) and `try_acquire` (take a cell only if it is free
//! now; after a refusal, sleep until the instant it names: nothing is queued). Two quotas:
//! 2 per second with a burst of 5, whose debt (up to 2.5 s) outlasts the restart, and 1,000
//! per second with a burst of 5, whose debt (5 ms) is paid before the server is back.
//!
//! Every admitted instant is the one the server returned. The excess of a key is the number
//! of its cells that a GCRA policer of the quota, watching all of them in instant order,
//! would have dropped (`pacer_tests::gcra_excess`): zero when the limit held.
//!
//! What to expect. Restarted empty, a key starts afresh: it can admit again what its lost
//! state still owed, which is at most one burst for cells already gone, plus every
//! reservation still queued for later (those go anyway, and the fresh state does not know
//! them): at most the burst with `try_acquire` traffic, at most the burst plus the waiting
//! tasks with `acquire`, less what the outage itself paid off. With an append-only file the
//! state comes back as Redis last wrote it. With `appendfsync always` Redis writes and
//! fsyncs each change before it answers, so nothing a client saw is lost, even when the
//! machine fails. With `everysec` it writes the change to the kernel before it answers
//! (unless an fsync is running late) and fsyncs once a second, so a killed process loses
//! nothing either, but a machine failure can lose about a second of changes, which killing
//! the process does not test.

use pacer_benches::cli::Cli;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pacer_core::Error as LimitError;
use pacer_redis::{Error, Quota, RedisKeyedLimiter};
use pacer_tests::{RedisServer, gcra_excess};

const CONNECTIONS: usize = 4;

struct Options {
    rates: Vec<u32>,
    burst: u32,
    keys: usize,
    tasks_per_key: usize,
    seconds: f64,
    down: Duration,
    cases: Vec<Case>,
}

/// How the tasks saturate a key.
#[derive(Clone, Copy, PartialEq)]
enum Traffic {
    /// Reserve, then sleep until the instant (what `acquire` does): each task keeps one
    /// reservation queued.
    Acquire,
    /// Take a cell only if it is free now (`reserve_within` of zero, as `try_acquire`),
    /// and after a refusal sleep until the instant it names: nothing is ever queued.
    Try,
}

impl Traffic {
    fn name(self, tasks: usize) -> String {
        match self {
            Traffic::Acquire => format!("acquire, {tasks} waiting per key"),
            Traffic::Try => format!("try_acquire, {tasks} per key"),
        }
    }
}

/// A server's persistence settings.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    settings: &'static [&'static str],
}

const EMPTY: Case = Case {
    name: "none (restarted empty)",
    settings: &[],
};
const ALWAYS: Case = Case {
    name: "appendonly, fsync always",
    settings: &["--appendonly", "yes", "--appendfsync", "always"],
};
const EVERYSEC: Case = Case {
    name: "appendonly, fsync everysec",
    settings: &["--appendonly", "yes", "--appendfsync", "everysec"],
};

const USAGE: &str = "usage: redis_faults [--rates R,R,... (2,1000)] [--burst B (5)] [--keys K (16)]
                   [--tasks-per-key C (4)] [--seconds S (6)] [--down-ms D (100)]
                   [--case empty|always|everysec|all (all)]";

fn options() -> Options {
    let mut cli = Cli::from_env("redis_faults", USAGE);
    let mut options = Options {
        rates: cli.list("--rates", vec![2, 1000]),
        burst: cli.value("--burst", 5),
        keys: cli.value("--keys", 16),
        tasks_per_key: cli.value("--tasks-per-key", 4),
        seconds: cli.value("--seconds", 6.0),
        down: Duration::from_millis(cli.value("--down-ms", 100)),
        cases: vec![EMPTY, ALWAYS, EVERYSEC],
    };
    if let Some(case) = cli.text("--case") {
        options.cases = match case.as_str() {
            "empty" => vec![EMPTY],
            "always" => vec![ALWAYS],
            "everysec" => vec![EVERYSEC],
            "all" => vec![EMPTY, ALWAYS, EVERYSEC],
            _ => cli.fail("--case empty|always|everysec|all"),
        }
    }
    let positive = options.seconds.is_finite() && options.seconds > 0.0;
    if !positive || options.keys == 0 || options.tasks_per_key == 0 {
        cli.fail("--seconds, --keys and --tasks-per-key must be positive");
    }
    for &rate in &options.rates {
        if let Err(error) = quota(rate, options.burst) {
            cli.fail(&format!(
                "--rates {rate} with --burst {}: {error}",
                options.burst
            ));
        }
    }
    cli.finish();
    options
}

fn quota(rate: u32, burst: u32) -> Result<Quota, pacer_core::Error> {
    Quota::per_second(rate)?.with_burst(burst)
}

/// What one case measured.
struct Outcome {
    cells: usize,
    failed_calls: u64,
    /// From the kill to the first reservation answered after it, by this program's clock.
    outage: Duration,
    excess: Vec<usize>,
}

fn run_case(case: Case, traffic: Traffic, quota: Quota, options: &Options) -> Outcome {
    let mut server = RedisServer::start_with(case.settings).unwrap_or_else(|| {
        eprintln!("no redis-server to start: install one");
        std::process::exit(1)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let limiters: Vec<Arc<RedisKeyedLimiter>> = (0..CONNECTIONS)
        .map(|_| {
            let limiter =
                runtime.block_on(RedisKeyedLimiter::connect(&server.url(), "fault:", quota));
            Arc::new(limiter.expect("connect"))
        })
        .collect();
    let cells: Arc<Vec<Mutex<Vec<u64>>>> =
        Arc::new((0..options.keys).map(|_| Mutex::new(Vec::new())).collect());
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    // The program's clock, in ns after `start`, of the first admission after the kill.
    let first_after_kill = Arc::new(AtomicU64::new(u64::MAX));
    let killed_at = Arc::new(AtomicU64::new(u64::MAX));
    let mut tasks = Vec::new();
    for key in 0..options.keys {
        for task in 0..options.tasks_per_key {
            let limiter = limiters[(key * options.tasks_per_key + task) % CONNECTIONS].clone();
            let (cells, failed, stop) = (cells.clone(), failed.clone(), stop.clone());
            let (first_after_kill, killed_at) = (first_after_kill.clone(), killed_at.clone());
            tasks.push(runtime.spawn(async move {
                let name = format!("k{key}");
                while !stop.load(Ordering::Relaxed) {
                    let answer = match traffic {
                        Traffic::Acquire => limiter.reserve(&name, 1).await,
                        Traffic::Try => limiter.reserve_within(&name, 1, Duration::ZERO).await,
                    };
                    match answer {
                        Ok(reservation) => {
                            let now = start.elapsed().as_nanos() as u64;
                            if now > killed_at.load(Ordering::Relaxed) {
                                first_after_kill.fetch_min(now, Ordering::Relaxed);
                            }
                            tokio::time::sleep(reservation.wait()).await;
                            cells[key].lock().unwrap().push(reservation.at());
                        }
                        Err(Error::Limit(LimitError::WouldWait { at })) => {
                            // The instant is the server's; its clock is this machine's.
                            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                            let wait = Duration::from_nanos(at).saturating_sub(now);
                            tokio::time::sleep(wait).await;
                        }
                        Err(Error::Unavailable(_)) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
            }));
        }
    }
    let half = Duration::from_secs_f64(options.seconds / 2.0);
    std::thread::sleep(half);
    server.kill();
    killed_at.store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    std::thread::sleep(options.down);
    server.restart();
    std::thread::sleep(half.saturating_sub(options.down));
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        runtime.block_on(task).unwrap();
    }
    let excess: Vec<usize> = cells
        .iter()
        .map(|key| gcra_excess(&key.lock().unwrap(), quota))
        .collect();
    let outage = first_after_kill
        .load(Ordering::Relaxed)
        .saturating_sub(killed_at.load(Ordering::Relaxed));
    Outcome {
        cells: cells.iter().map(|key| key.lock().unwrap().len()).sum(),
        failed_calls: failed.load(Ordering::Relaxed),
        outage: Duration::from_nanos(outage),
        excess,
    }
}

fn main() {
    let options = options();
    println!(
        "{} keys, {} tasks per key on {CONNECTIONS} connections, {} s; SIGKILL at {} s, \
         restarted {} ms later",
        options.keys,
        options.tasks_per_key,
        options.seconds,
        options.seconds / 2.0,
        options.down.as_millis()
    );
    println!(
        "| quota per key | traffic | persistence | cells admitted | kill to first answer | failed calls | excess per key (max) | excess in all |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    let runs = [
        (Traffic::Try, EMPTY),
        (Traffic::Acquire, EMPTY),
        (Traffic::Acquire, ALWAYS),
        (Traffic::Acquire, EVERYSEC),
    ];
    for &rate in &options.rates {
        let quota = quota(rate, options.burst).expect("checked with the options");
        for (traffic, case) in runs {
            if !options.cases.iter().any(|c| c.name == case.name) {
                continue;
            }
            let outcome = run_case(case, traffic, quota, &options);
            println!(
                "| {rate}/s, burst {} | {} | {} | {} | {:.0} ms | {} | {} | {} |",
                options.burst,
                traffic.name(options.tasks_per_key),
                case.name,
                outcome.cells,
                outcome.outage.as_secs_f64() * 1e3,
                outcome.failed_calls,
                outcome.excess.iter().max().unwrap(),
                outcome.excess.iter().sum::<usize>()
            );
        }
    }
}
