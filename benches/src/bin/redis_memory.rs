//! What a keyed limit leaves in Redis: 1,000,000 distinct keys each take a cell, then go
//! idle, and the server's `used_memory` must come back to within 1 MiB of where it started
//! once their entries have expired.
//!
//! Run: `cargo run --release -p pacer-benches --bin redis_memory` (`-- --help` for the
//! options). It starts a private `redis-server` (which must be installed) with its default
//! settings.
//!
//! The steps: `used_memory` of the fresh server (before any client connects); `N` keys
//! (1,000,000) each `try_acquire` one cell of a quota of 1 per 60 s, from 64 tasks on one
//! connection, so that every entry lives the 60 s until its key is idle plus 1 s, longer
//! than the keys take to make; `used_memory` and `DBSIZE` at the peak; then nothing, while
//! Redis expires the entries by itself; `used_memory` once `DBSIZE` is 0 and the server has
//! shrunk its tables (read every 100 ms until it has not fallen for 1 s). Prints
//! the three figures, the bytes per key at the peak, and whether the end is within 1 MiB of
//! the start. Exits with status 1 if it is not.

use pacer_benches::cli::Cli;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pacer_redis::{Quota, RedisKeyedLimiter};
use pacer_tests::RedisServer;

struct Options {
    keys: usize,
    tasks: usize,
    period: Duration,
}

const USAGE: &str = "usage: redis_memory [--keys N (1000000)] [--tasks T (64)] [--period S (60)]";

fn options() -> Options {
    let mut cli = Cli::from_env("redis_memory", USAGE);
    let keys = cli.value("--keys", 1_000_000);
    let tasks = cli.value("--tasks", 64);
    let seconds: f64 = cli.value("--period", 60.0);
    if !(seconds.is_finite() && seconds > 0.0) {
        cli.fail("--period must be positive");
    }
    if keys == 0 || tasks == 0 {
        cli.fail("--keys and --tasks must be positive");
    }
    cli.finish();
    Options {
        keys,
        tasks,
        period: Duration::from_secs_f64(seconds),
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let options = options();
    let server = RedisServer::start().unwrap_or_else(|| {
        eprintln!("no redis-server to start: install one");
        std::process::exit(1)
    });
    let quota = Quota::new(1, options.period).expect("a positive period");
    let start_memory = server.used_memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let limiter = RedisKeyedLimiter::connect(&server.url(), "memory:", quota)
            .await
            .expect("connect");
        let limiter = Arc::new(limiter);
        let tasks: Vec<_> = (0..options.tasks)
            .map(|task| {
                let limiter = limiter.clone();
                let (keys, tasks) = (options.keys, options.tasks);
                tokio::spawn(async move {
                    for k in (task..keys).step_by(tasks) {
                        limiter.try_acquire(&format!("user-{k}"), 1).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let made_in = started.elapsed();
    let (peak_memory, peak_keys) = (server.used_memory(), server.keys());
    println!(
        "{} keys made in {:.1} s ({:.0} per second); at the peak {} entries in Redis",
        options.keys,
        made_in.as_secs_f64(),
        options.keys as f64 / made_in.as_secs_f64(),
        peak_keys
    );
    if peak_keys < options.keys as u64 {
        println!("  (some expired before the last was made: a longer --period keeps them all)");
    }

    let idle = Instant::now();
    while server.keys() > 0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let expired_in = idle.elapsed();
    // The server shrinks its tables in its periodic work: read until nothing falls for 1 s.
    let mut end_memory = server.used_memory();
    let (settle, mut fell) = (Instant::now(), Instant::now());
    while settle.elapsed() < Duration::from_secs(30) && fell.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(100));
        let now = server.used_memory();
        if now < end_memory {
            (end_memory, fell) = (now, Instant::now());
        }
    }
    let expired: u64 = server
        .info("expired_keys")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let growth = peak_memory as f64 - start_memory as f64;
    let left = end_memory as f64 - start_memory as f64;
    println!(
        "all expired {:.1} s after the last key was made ({expired} expired by Redis)",
        expired_in.as_secs_f64()
    );
    println!("| used_memory | bytes | MiB |");
    println!("|---|---:|---:|");
    println!(
        "| fresh server | {start_memory} | {:.2} |",
        start_memory as f64 / MIB
    );
    println!(
        "| {} keys | {peak_memory} | {:.2} |",
        peak_keys,
        peak_memory as f64 / MIB
    );
    println!(
        "| all expired | {end_memory} | {:.2} |",
        end_memory as f64 / MIB
    );
    println!(
        "{:.0} bytes per key at the peak; {:+.0} bytes ({:+.3} MiB) left after expiry",
        growth / peak_keys.max(1) as f64,
        left,
        left / MIB
    );
    let within = left <= MIB;
    println!(
        "{}: used_memory {} within 1 MiB of the start",
        if within { "PASS" } else { "FAIL" },
        if within { "is back" } else { "is NOT back" }
    );
    drop(server);
    if !within {
        std::process::exit(1);
    }
}
