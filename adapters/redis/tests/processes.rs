//! Separate OS processes, not only separate connections, share one key's limit: three
//! processes, each with two tasks that acquire cells of one key for about 2 s at 1,000 per
//! second with a burst of 5, on one Redis server and on a 3-master cluster. Every admitted
//! instant of all of them, in the server's time (the instant the script returned), must
//! pass the conformance checker together.
//!
//! The processes are this test binary, started again to run only [`child_process`], with
//! the Redis to use in `PACER_REDIS_CHILD`; each writes its instants to the file named in
//! `PACER_REDIS_CHILD_OUT`. The 2 s are the length of the traffic, not a timing check: the
//! test asserts the rule on the instants, never how many there were.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pacer_redis::{Quota, RedisKeyedLimiter};
use pacer_tests::{RedisCluster, RedisServer, assert_conforms};

const CHILD: &str = "PACER_REDIS_CHILD";
const CHILD_OUT: &str = "PACER_REDIS_CHILD_OUT";
const PROCESSES: usize = 3;
const TASKS: usize = 2;
const RUN: Duration = Duration::from_secs(2);
const PREFIX: &str = "processes:";
const KEY: &str = "shared";

fn quota() -> Quota {
    Quota::per_second(1000).unwrap().with_burst(5).unwrap()
}

#[test]
#[ignore = "a child of the process tests, which start it with PACER_REDIS_CHILD set"]
fn child_process() {
    let Ok(target) = std::env::var(CHILD) else {
        return;
    };
    let out = std::env::var(CHILD_OUT).expect("PACER_REDIS_CHILD_OUT names the output file");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cells = runtime.block_on(async {
        let limiter = match target.split_once(' ') {
            Some(("cluster", urls)) => {
                RedisKeyedLimiter::connect_cluster(urls.split(','), PREFIX, quota()).await
            }
            Some(("single", url)) => RedisKeyedLimiter::connect(url, PREFIX, quota()).await,
            _ => panic!("{CHILD} is `single URL` or `cluster URL,URL,...`, not {target:?}"),
        };
        let limiter = std::sync::Arc::new(limiter.unwrap());
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    // What `acquire` does, keeping the instant the server gave: reserve,
                    // then sleep once for the wait it computed.
                    let mut cells = Vec::new();
                    while start.elapsed() < RUN {
                        let reservation = limiter.reserve(KEY, 1).await.unwrap();
                        tokio::time::sleep(reservation.wait()).await;
                        cells.push(reservation.at());
                    }
                    cells
                })
            })
            .collect();
        let mut cells = Vec::new();
        for task in tasks {
            cells.extend(task.await.unwrap());
        }
        cells
    });
    let text: String = cells.iter().map(|at| format!("{at}\n")).collect();
    std::fs::write(&out, text).unwrap();
}

/// Runs [`PROCESSES`] children against `target` at once; returns each one's instants.
fn run_children(target: &str, name: &str) -> Vec<Vec<u64>> {
    let exe = std::env::current_exe().unwrap();
    let outs: Vec<_> = (0..PROCESSES)
        .map(|n| {
            let file = format!("pacer-redis-cells-{}-{name}-{n}", std::process::id());
            std::env::temp_dir().join(file)
        })
        .collect();
    let children: Vec<_> = outs
        .iter()
        .map(|out| {
            Command::new(&exe)
                .args(["child_process", "--exact", "--ignored", "--test-threads=1"])
                .env(CHILD, target)
                .env(CHILD_OUT, out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut cells = Vec::new();
    for (child, out) in children.into_iter().zip(&outs) {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a child failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = std::fs::read_to_string(out).unwrap();
        let _ = std::fs::remove_file(out);
        cells.push(text.lines().map(|line| line.parse().unwrap()).collect());
    }
    cells
}

/// Every process admitted cells, while the others did, and all of them together keep the
/// limit by the server's clock.
fn check(cells: &[Vec<u64>]) {
    let spans: Vec<(u64, u64)> = cells
        .iter()
        .map(|mine| {
            assert!(!mine.is_empty(), "a process admitted nothing");
            (*mine.iter().min().unwrap(), *mine.iter().max().unwrap())
        })
        .collect();
    let latest_start = spans.iter().map(|s| s.0).max().unwrap();
    let earliest_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        latest_start < earliest_end,
        "the processes did not run at the same time: {spans:?}"
    );
    let all: Vec<u64> = cells.concat();
    let span = spans.iter().map(|s| s.1).max().unwrap() - spans.iter().map(|s| s.0).min().unwrap();
    eprintln!(
        "{} cells from {} processes over {:.3} s of the server's clock ({:?} each)",
        all.len(),
        cells.len(),
        span as f64 / 1e9,
        cells.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_conforms(&all, quota());
}

#[test]
fn three_processes_share_one_key_on_one_server() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    check(&run_children(&format!("single {}", server.url()), "single"));
}

#[test]
fn three_processes_share_one_key_on_a_cluster() {
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let target = format!("cluster {}", cluster.urls().join(","));
    check(&run_children(&target, "cluster"));
}
