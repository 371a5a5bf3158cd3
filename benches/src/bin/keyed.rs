//! Keyed limits: pacer's `ShardedKeyedGcra` against governor's keyed `RateLimiter` (on
//! `DashMap`), side by side, with the same quota per key (10 per second, burst 1).
//!
//! Run: `cargo run --release -p pacer-benches --bin keyed` (`-- --help` for the options).
//!
//! Two measures:
//! - *memory*: each limiter in a process of its own (this program, run again as a child), on
//!   a manual clock, takes one cell for each of 10,000,000 distinct keys, 2 µs apart, so about
//!   50,000 keys are busy at any moment (each for 100 ms); pacer's table has room for 100,000.
//!   Reported: the growth of the child's resident memory (`VmRSS`) from before the limiter is
//!   made to after the last key, with the limiter still alive.
//! - *decisions*: keys drawn at random from a fixed set (1,000 or 1,000,000 keys, made
//!   present by one pass over them first), on one thread and on two threads sharing the
//!   limiter and its manual clock. Each decision is a `try_acquire` (pacer) or `check_key`
//!   (governor) of one cell, mostly refused with 1,000 keys and mostly admitted with
//!   1,000,000; every 64 decisions a thread moves the clock on by 64 µs. pacer's table for
//!   the 1,000,000 keys has room for 1,250,000, enough for every shard to hold its share.
//!   Reported: CPU nanoseconds per decision (the busier thread's CPU time over its decisions),
//!   the median of `--rounds` rounds, the two limiters alternating.
//!
//! The last line sums it all up in one line.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use governor::state::keyed::DefaultKeyedStateStore;
use pacer_benches::cli::Cli;
use pacer_benches::keyed_decisions::{RATE, governor_quota, hot, pacer_quota};
use pacer_core::{KeyedRateLimiter, ShardedKeyedGcra};

type Governor = governor::RateLimiter<
    u64,
    DefaultKeyedStateStore<u64>,
    FakeRelativeClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

struct Options {
    keys: u64,
    capacity: usize,
    step_ns: u64,
    decisions: u64,
    rounds: usize,
    memory: Option<String>,
}

const USAGE: &str =
    "usage: keyed [--keys N] [--capacity C] [--step-ns S] [--decisions D] [--rounds R]
  --keys N       distinct keys streamed in the memory measure (10000000)
  --capacity C   pacer's table for the stream (100000)
  --step-ns S    manual-clock nanoseconds between streamed keys (2000)
  --decisions D  decisions per thread per round in the hot measure (4000000)
  --rounds R     rounds of the hot measure; the median is reported (3)";

fn options() -> Options {
    let mut cli = Cli::from_env("keyed", USAGE);
    let options = Options {
        keys: cli.value("--keys", 10_000_000),
        capacity: cli.value("--capacity", 100_000),
        step_ns: cli.value("--step-ns", 2_000),
        decisions: cli.value("--decisions", 4_000_000),
        rounds: cli.value::<usize>("--rounds", 3).max(1),
        memory: cli.text("--memory"),
    };
    if let Some(which) = &options.memory
        && which != "pacer"
        && which != "governor"
    {
        cli.fail("--memory takes pacer or governor");
    }
    cli.finish();
    options
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

/// The child's side of the memory measure: stream the keys through one limiter and print
/// `growth_kib G admitted A refused R`.
fn memory_child(which: &str, options: &Options) {
    let before = rss_kib();
    let (mut admitted, mut refused) = (0u64, 0u64);
    match which {
        "pacer" => {
            let limiter = ShardedKeyedGcra::<u64>::new(pacer_quota(), options.capacity)
                .expect("a capacity above zero");
            for key in 0..options.keys {
                match limiter.try_acquire(&key, 1 + key * options.step_ns, 1) {
                    Ok(_) => admitted += 1,
                    Err(_) => refused += 1,
                }
            }
            let growth = rss_kib().saturating_sub(before);
            black_box(&limiter);
            println!(
                "growth_kib {growth} admitted {admitted} refused {refused} held {}",
                limiter.len()
            );
        }
        "governor" => {
            let clock = FakeRelativeClock::default();
            let limiter = Governor::dashmap_with_clock(governor_quota(), clock.clone());
            for key in 0..options.keys {
                clock.advance(Duration::from_nanos(options.step_ns));
                match limiter.check_key(&key) {
                    Ok(()) => admitted += 1,
                    Err(_) => refused += 1,
                }
            }
            let growth = rss_kib().saturating_sub(before);
            println!(
                "growth_kib {growth} admitted {admitted} refused {refused} held {}",
                limiter.len()
            );
        }
        other => unreachable!("--memory {other} is refused when the options are read"),
    }
}

/// Runs this program again as `--memory which`, and returns its growth in MiB and its line.
fn memory(which: &str, options: &Options) -> (f64, String) {
    let exe = std::env::current_exe().expect("this program's path");
    let output = Command::new(exe)
        .args(["--memory", which])
        .args(["--keys", &options.keys.to_string()])
        .args(["--capacity", &options.capacity.to_string()])
        .args(["--step-ns", &options.step_ns.to_string()])
        .output()
        .expect("the memory child runs");
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        output.status.success(),
        "memory child {which} failed: {line}"
    );
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse().ok())
        .expect("growth_kib in the child's line");
    (kib / 1024.0, line)
}

fn main() {
    let options = options();
    if let Some(which) = &options.memory {
        memory_child(which, &options);
        return;
    }
    println!(
        "memory: {} distinct keys, {} ns apart on a manual clock, {RATE} per second per key; \
         pacer's capacity {}",
        options.keys, options.step_ns, options.capacity
    );
    let (pacer_mib, pacer_line) = memory("pacer", &options);
    println!("  pacer    {pacer_line}");
    let (governor_mib, governor_line) = memory("governor", &options);
    println!("  governor {governor_line}");

    println!(
        "decisions: ns each, median of {} rounds of {} per thread",
        options.rounds, options.decisions
    );
    let mut cases = Vec::new();
    for keys in [1_000u64, 1_000_000] {
        for threads in [1u64, 2] {
            let (p, g) = hot(keys, threads, options.decisions, options.rounds);
            println!(
                "  {keys:>9} keys, {threads} thread(s): pacer {p:6.1}  governor {g:6.1}  \
                 ratio {:.2}",
                p / g
            );
            cases.push((p, g));
        }
    }
    let c = |i: usize| format!("{:.0}/{:.0}", cases[i].0, cases[i].1);
    println!(
        "keyed: {} keys through capacity {}: pacer +{pacer_mib:.1} MiB, governor \
         +{governor_mib:.1} MiB; decision ns pacer/governor: 1000 keys {} (1 thread) {} \
         (2 threads), 1000000 keys {} (1 thread) {} (2 threads)",
        options.keys,
        options.capacity,
        c(0),
        c(1),
        c(2),
        c(3)
    );
}
