//! What a decision costs when the limit lives in Redis, and how the decisions scale with
//! client processes, on one Redis and on a Redis Cluster.
//!
//! Run: `cargo run --release -p pacer-benches --bin redis` (`-- --help` for the options).
//! It starts a private `redis-server` (which must be installed), or uses `--url URL`, and a
//! private 3-master cluster (which needs `redis-cli` too), or uses `--cluster URL,URL,...`,
//! or none with `--no-cluster`.
//!
//! **Latency and one client** (the first table): pacer-redis's script against a bare `PING`
//! (the round trip every Redis call pays) and against the fixed-window counter most
//! hand-written Redis limiters use (`INCR` and `PEXPIRE` in one `MULTI`), on one connection:
//! - *sequential*: one task makes `N` calls one after another; per-call latency by
//!   `std::time::Instant`, median and 99th percentile, after 1,000 calls of warm-up;
//! - *concurrent*: `T` tasks on a tokio multi-thread runtime with 2 workers share one
//!   multiplexed connection and make `N` calls in all; calls per second over the whole run,
//!   and the client process's CPU time per call (getrusage, user + system; the server is a
//!   separate process and is not counted).
//!
//! The operations: `ping`; `window`, the fixed-window counter; `pacer admit`, pacer-redis's
//! `try_acquire` on a quota of 10^9 per second, so every call is admitted and writes;
//! `pacer refuse`, `try_acquire` on a quota of 1 per hour after its one cell, so every call
//! is refused (and records only its clock reading).
//!
//! **Scaling with processes** (the second table): for 1, 2 and 4 client processes (this
//! program started again with `--child`), each with 16 tasks on one connection and a
//! current-thread runtime, keyed `try_acquire` decisions over 64 keys (on the cluster they
//! spread over the masters by slot) for 3 s, all processes at once; decisions per second
//! in all, against one process; the clients' CPU per decision (each child's getrusage over
//! its window); and the servers' CPU per decision and cores kept busy (`INFO cpu`). See
//! [`scaling`].

use std::sync::Arc;
use std::time::Instant;

use pacer_benches::cli::Cli;
use pacer_benches::cpu_time;
use pacer_redis::{Quota, RedisLimiter, TokioTimer};
use pacer_tests::{RedisCluster, RedisServer};
use redis::aio::ConnectionManager;

mod child;
mod scaling;
mod target;

use child::ChildArgs;
use target::Target;

/// The prefix of the keyed limits the scaling runs use.
pub(crate) const KEYED_PREFIX: &str = "bench:keyed:";

/// The quota of every key in the scaling runs: 10^9 per second, so each decision is an
/// admission that writes.
pub(crate) fn keyed_quota() -> Quota {
    Quota::per_second(1_000_000_000).unwrap()
}

struct Options {
    url: Option<String>,
    cluster: Option<Vec<String>>,
    no_cluster: bool,
    calls: usize,
    tasks: usize,
    processes: Vec<usize>,
    child_tasks: usize,
    seconds: f64,
    keys: usize,
    child: Option<Target>,
}

const USAGE: &str = "usage: redis [--url redis://HOST:PORT/] [--cluster URL,URL,... | --no-cluster]
             [--calls N (20000)] [--tasks T (64)]
             [--processes P,P,... (1,2,4)] [--child-tasks T (16)]
             [--seconds S (3)] [--keys K (64)]";

fn options() -> Options {
    let mut cli = Cli::from_env("redis", USAGE);
    let mut options = Options {
        url: cli.text("--url"),
        cluster: cli
            .text("--cluster")
            .map(|urls| urls.split(',').map(String::from).collect()),
        no_cluster: cli.flag("--no-cluster"),
        calls: cli.value("--calls", 20_000),
        tasks: cli.value("--tasks", 64),
        processes: cli.list("--processes", vec![1, 2, 4]),
        child_tasks: cli.value("--child-tasks", 16),
        seconds: cli.value("--seconds", 3.0),
        keys: cli.value("--keys", 64),
        child: None,
    };
    if let Some(kind) = cli.text("--child") {
        let urls = cli.text("--child-urls").unwrap_or_default();
        match Target::from_args(&kind, &urls) {
            Some(target) => options.child = Some(target),
            None => cli.fail("--child single|cluster --child-urls URL[,URL...]"),
        }
    }
    if options.calls < 2 || options.tasks == 0 {
        cli.fail("--calls must be at least 2 and --tasks at least 1");
    }
    let positive = options.seconds.is_finite() && options.seconds > 0.0;
    if !positive || options.child_tasks == 0 || options.keys == 0 {
        cli.fail("--seconds, --child-tasks and --keys must be positive");
    }
    if options.processes.contains(&0) {
        cli.fail("--processes takes positive counts");
    }
    cli.finish();
    options
}

/// One kind of call, made on a connection or a limiter of its own.
#[derive(Clone)]
enum Op {
    Ping(ConnectionManager),
    Window(ConnectionManager),
    Pacer(Arc<RedisLimiter<TokioTimer>>),
}

impl Op {
    async fn call(&self) {
        match self {
            Op::Ping(conn) => {
                let mut conn = conn.clone();
                let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
            }
            Op::Window(conn) => {
                let mut conn = conn.clone();
                let (count, _): (u64, bool) = redis::pipe()
                    .atomic()
                    .incr("bench:window", 1)
                    .pexpire("bench:window", 1000)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                std::hint::black_box(count);
            }
            Op::Pacer(limiter) => {
                let outcome = limiter.try_acquire(1).await;
                assert!(
                    matches!(
                        outcome,
                        Ok(())
                            | Err(pacer_redis::Error::Limit(
                                pacer_core::Error::WouldWait { .. }
                            ))
                    ),
                    "{outcome:?}"
                );
                let _ = std::hint::black_box(outcome);
            }
        }
    }
}

/// Median and 99th percentile of `calls` sequential calls, in microseconds.
async fn sequential(op: &Op, calls: usize) -> (f64, f64) {
    for _ in 0..1_000 {
        op.call().await;
    }
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        op.call().await;
        latencies.push(start.elapsed());
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// Calls per second and client CPU microseconds per call, `tasks` tasks sharing `calls`.
async fn concurrent(op: &Op, calls: usize, tasks: usize) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            let share = calls / tasks + usize::from(task < calls % tasks);
            tokio::spawn(async move {
                for _ in 0..share {
                    op.call().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
    (
        calls as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / calls as f64,
    )
}

async fn connect(url: &str) -> ConnectionManager {
    let client = redis::Client::open(url).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

async fn pacer(url: &str, key: &str, quota: Quota) -> Op {
    let limiter = RedisLimiter::new(connect(url).await, key, quota, TokioTimer::new()).unwrap();
    limiter.try_acquire(1).await.unwrap();
    Op::Pacer(Arc::new(limiter))
}

fn main() {
    let options = options();
    if let Some(target) = options.child.clone() {
        child::run(ChildArgs {
            target,
            tasks: options.child_tasks,
            seconds: options.seconds,
            keys: options.keys,
        });
        return;
    }
    let server = match &options.url {
        Some(_) => None,
        None => Some(RedisServer::start().unwrap_or_else(|| {
            eprintln!("no redis-server to start: install one, or pass --url");
            std::process::exit(1)
        })),
    };
    let url = options
        .url
        .clone()
        .unwrap_or_else(|| server.as_ref().unwrap().url());
    latency(&url, &options);

    let cluster = match (&options.cluster, options.no_cluster) {
        (_, true) | (Some(_), _) => None,
        (None, false) => RedisCluster::start(3).or_else(|| {
            eprintln!("no redis-cli to make a cluster with: its rows are left out");
            None
        }),
    };
    let mut targets = vec![Target::Single(url)];
    if let Some(urls) = options.cluster.clone() {
        targets.push(Target::Cluster(urls));
    } else if let Some(cluster) = &cluster {
        targets.push(Target::Cluster(cluster.urls()));
    }
    scale(&targets, &options);
    drop((server, cluster));
}

/// The first table: latency and one client's throughput, per operation.
fn latency(url: &str, options: &Options) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ops = [
            ("ping", Op::Ping(connect(url).await)),
            ("window", Op::Window(connect(url).await)),
            (
                "pacer admit",
                pacer(
                    url,
                    "bench:admit",
                    Quota::per_second(1_000_000_000).unwrap(),
                )
                .await,
            ),
            (
                "pacer refuse",
                pacer(url, "bench:refuse", Quota::per_hour(1).unwrap()).await,
            ),
        ];
        println!(
            "{} sequential calls each; {} calls by {} tasks on one connection",
            options.calls, options.calls, options.tasks
        );
        println!(
            "{:<13} {:>11} {:>11} {:>13} {:>13}",
            "operation", "median us", "p99 us", "calls/s (T)", "CPU us/call"
        );
        for (name, op) in &ops {
            let (median, p99) = sequential(op, options.calls).await;
            let (rate, cpu) = concurrent(op, options.calls, options.tasks).await;
            println!("{name:<13} {median:>11.1} {p99:>11.1} {rate:>13.0} {cpu:>13.1}");
        }
    });
}

/// The second table: keyed decisions per second against client processes, per target.
fn scale(targets: &[Target], options: &Options) {
    println!();
    println!(
        "keyed try_acquire over {} keys: P client processes x {} tasks, {} s, all at once",
        options.keys, options.child_tasks, options.seconds
    );
    println!(
        "{:<18} {:>3} {:>13} {:>8} {:>15} {:>15} {:>13}",
        "target", "P", "decisions/s", "x first", "client us/dec", "server us/dec", "server cores"
    );
    for target in targets {
        let mut first = None;
        for &processes in &options.processes {
            let run = scaling::run(
                target,
                processes,
                options.child_tasks,
                options.seconds,
                options.keys,
            );
            let base = *first.get_or_insert(run.rate);
            println!(
                "{:<18} {:>3} {:>13.0} {:>7.2}x {:>15.1} {:>15.1} {:>13.2}{}",
                target.name(),
                run.processes,
                run.rate,
                run.rate / base,
                run.client_cpu_us,
                run.server_cpu_us,
                run.server_cores,
                if run.errors > 0 {
                    format!("  ({} errors)", run.errors)
                } else {
                    String::new()
                }
            );
        }
    }
}
