//! What failover costs a limit on Redis, and what the durable mode costs each decision.
//!
//! Run: `cargo run --release -p pacer-benches --bin redis_failover` (`-- --help` for the
//! options). It starts its own `redis-server` processes, all on loopback: masters, replicas,
//! a Sentinel (`redis-server --sentinel`) and clusters (`redis-cli --cluster create`).
//!
//! 1. **Price of the durable mode.** One master and one replica. A keyed limiter on a plain
//!    connection to the master, one through Sentinel, and one in durable mode
//!    (`Connection::wait_for_replicas(1, 1 s)`: the script and `WAIT 1` in one round trip).
//!    Each takes `--calls` cells (every call admitted: a quota far above the load) over 1,000
//!    keys one call at a time (latency: median, 99th percentile, mean, in µs), and as many
//!    again from 16 tasks sharing the limiter's one connection (decisions per second). The modes
//!    take turns, a tenth of the calls at a time, so that the machine's load falls on all
//!    alike.
//! 2. **Failover.** For each mode, `--runs` times: a fresh master, replica and Sentinel (a
//!    master is judged down after 500 ms); 8 keys at 100 per second with a burst of 5, each
//!    saturated by 2 tasks taking cells as soon as they are free (`reserve_within(key, 1,
//!    0)`, nothing queued; a failed call is tried again 5 ms later). After 1 s the master is
//!    killed (SIGKILL); Sentinel promotes the replica; in durable mode a new replica of the
//!    new master is started (without one, durable calls fail closed); the run goes on 1 s
//!    after the switch. Each mode runs twice: with the replica up to date, and with the
//!    replica lagging: paused (SIGSTOP) and cut off from the master (`CLIENT KILL TYPE
//!    replica`) `--cut-ms` (2,000) before the kill, so that it lacks that much of the
//!    master's writes; and at two rates, 100 per second (a burst's debt is 50 ms) and 2 per
//!    second (2.5 s, longer than the outage). Per run: the cells admitted beyond the quota
//!    (`pacer_tests::gcra_excess`, per key, the largest and the sum), the calls that failed,
//!    and the longest time without an admitted cell.
//!
//! 3. **Redis Cluster.** At each rate, `--runs` times: a fresh cluster of 3 masters with a
//!    replica each (node timeout 1 s); 8 keys on one master, saturated as above; after 1 s
//!    that master is killed and its replica takes over by the cluster's own failure
//!    detection; the run goes on 1 s after the replica serves. The same figures.
//!
//! What to expect. Default mode: the replica may lack the master's last writes, and each key
//! can then admit again at most its burst (the state it falls back to is one the key really
//! had earlier), less what the outage paid back. With the replica up to date nothing is
//! lost. Lagging, the replica's state is older than the truth: at 100 per second both have
//! their burst free again by the end of the outage (about 1.7 s), so nothing shows; at 2
//! per second the debt outlasts the outage, and the replica's older state frees more of it.
//! Durable mode: every answer given was acknowledged by the one replica, which is the one
//! promoted: nothing beyond the quota, ever; while the replica is cut off, calls fail.
//! Its price: one replica acknowledgement per decision, and one connection's decisions wait
//! for each other's `WAIT`.

use pacer_benches::cli::Cli;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pacer_core::Error as LimitError;
use pacer_redis::{Connection, Error, Quota, RedisKeyedLimiter, TokioTimer};
use pacer_tests::{MASTER_NAME, RedisCluster, RedisSentinel, RedisServer, gcra_excess};
use tokio::runtime::Runtime;

struct Options {
    calls: usize,
    runs: usize,
    cut: Duration,
    rates: Vec<u32>,
}

const USAGE: &str = "usage: redis_failover [--calls N (20000)] [--runs R (3, 0 to skip failovers)]
                      [--cut-ms C (2000)] [--rates R,R,... (100,2)]";

fn options() -> Options {
    let mut cli = Cli::from_env("redis_failover", USAGE);
    let options = Options {
        calls: cli.value("--calls", 20_000),
        runs: cli.value("--runs", 3),
        cut: Duration::from_millis(cli.value("--cut-ms", 2_000)),
        rates: cli.list("--rates", vec![100, 2]),
    };
    if options.calls < 100 {
        cli.fail("--calls must be at least 100");
    }
    if options.rates.contains(&0) {
        cli.fail("--rates must be positive");
    }
    cli.finish();
    options
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start_server(master: Option<&RedisServer>) -> RedisServer {
    let server = match master {
        None => RedisServer::start(),
        Some(master) => RedisServer::start_replica_of(master, &[]),
    };
    server.unwrap_or_else(|| {
        eprintln!("no redis-server to start: install one");
        std::process::exit(1)
    })
}

/// The three ways to reach the master.
#[derive(Clone, Copy)]
enum Mode {
    Plain,
    Sentinel,
    Durable,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "default, plain connection",
            Mode::Sentinel => "default, through Sentinel",
            Mode::Durable => "durable (WAIT 1), through Sentinel",
        }
    }

    async fn connect(self, master: &RedisServer, sentinel: &RedisSentinel) -> Connection {
        let sentinel_url = sentinel.url();
        let conn = match self {
            Mode::Plain => Connection::connect(&master.url()).await,
            Mode::Sentinel | Mode::Durable => {
                Connection::connect_sentinel([sentinel_url.as_str()], MASTER_NAME).await
            }
        };
        let conn = conn.expect("connect");
        match self {
            Mode::Durable => conn.wait_for_replicas(1, Duration::from_secs(1)),
            Mode::Plain | Mode::Sentinel => conn,
        }
    }
}

/// Part 1: latency and throughput of each mode; returns the medians in µs.
fn price(options: &Options) -> Vec<f64> {
    let master = start_server(None);
    let _replica = start_server(Some(&master));
    let sentinel = RedisSentinel::start(&master, 1);
    let runtime = runtime();
    // Far above the load: every call is admitted, and writes.
    let quota = Quota::per_second(1_000_000_000)
        .unwrap()
        .with_burst(1_000_000)
        .unwrap();
    let modes = [Mode::Plain, Mode::Sentinel, Mode::Durable];
    let limiters: Vec<Arc<RedisKeyedLimiter>> = modes
        .iter()
        .map(|mode| {
            let conn = runtime.block_on(mode.connect(&master, &sentinel));
            Arc::new(RedisKeyedLimiter::new(conn, "price:", quota, TokioTimer::new()).unwrap())
        })
        .collect();
    // The modes take turns, a tenth of the calls at a time, so that a change in the machine's
    // load falls on all of them alike.
    let rounds = 10;
    let per_round = options.calls / rounds;
    let tasks = 16;
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    let mut busy: Vec<Duration> = vec![Duration::ZERO; modes.len()];
    for round in 0..rounds {
        for (index, limiter) in limiters.iter().enumerate() {
            runtime.block_on(async {
                for n in 0..per_round {
                    let key = ((round * per_round + n) % 1000).to_string();
                    let start = Instant::now();
                    limiter.try_acquire(&key, 1).await.expect("admitted");
                    latencies[index].push(start.elapsed());
                }
            });
            let started = Instant::now();
            runtime.block_on(async {
                let handles: Vec<_> = (0..tasks)
                    .map(|task| {
                        let limiter = limiter.clone();
                        let calls = per_round / tasks;
                        tokio::spawn(async move {
                            for n in 0..calls {
                                let key = ((task * calls + n) % 1000).to_string();
                                limiter.try_acquire(&key, 1).await.expect("admitted");
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            });
            busy[index] += started.elapsed();
        }
    }
    println!(
        "price of a decision, {} calls over 1,000 keys per mode, the modes taking turns:",
        per_round * rounds
    );
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let mut medians = Vec::new();
    for (index, mode) in modes.iter().enumerate() {
        let latencies = &mut latencies[index];
        latencies.sort_unstable();
        let median = micros(latencies[latencies.len() / 2]);
        let p99 = micros(latencies[latencies.len() * 99 / 100]);
        let mean = latencies.iter().map(|d| micros(*d)).sum::<f64>() / latencies.len() as f64;
        let concurrent = (per_round / tasks * tasks * rounds) as f64;
        let per_second = concurrent / busy[index].as_secs_f64();
        println!(
            "  {:<36} one at a time: median {median:.0} us, p99 {p99:.0} us, mean {mean:.0} us; \
             16 tasks on one connection: {per_second:.0} decisions/s",
            mode.name()
        );
        medians.push(median);
    }
    medians
}

/// What one failover run measured.
struct Outcome {
    cells: usize,
    max_excess: usize,
    total_excess: usize,
    failed: usize,
    longest_gap: Duration,
    kill_to_switch: Duration,
}

/// A saturated run: two tasks per key taking each cell as soon as it is free.
struct Load {
    keys: usize,
    quota: Quota,
    cells: Arc<Mutex<Vec<(usize, u64, Instant)>>>,
    failed: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(runtime: &Runtime, limiter: RedisKeyedLimiter, keys: Vec<String>) -> Load {
        let quota = limiter.quota();
        let limiter = Arc::new(limiter);
        let mut load = Load {
            keys: keys.len(),
            quota,
            cells: Arc::default(),
            failed: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        for task in 0..keys.len() * 2 {
            let (limiter, cells, failed, stop) = (
                limiter.clone(),
                load.cells.clone(),
                load.failed.clone(),
                load.stop.clone(),
            );
            let key = task % keys.len();
            let name = keys[key].clone();
            load.tasks.push(runtime.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let pause = match limiter.reserve_within(&name, 1, Duration::ZERO).await {
                        Ok(reservation) => {
                            let cell = (key, reservation.at(), Instant::now());
                            cells.lock().unwrap().push(cell);
                            Duration::ZERO
                        }
                        Err(Error::Limit(LimitError::WouldWait { at })) => until(at),
                        Err(_) => {
                            *failed.lock().unwrap() += 1;
                            Duration::from_millis(5)
                        }
                    };
                    tokio::time::sleep(pause).await;
                }
            }));
        }
        load
    }

    fn finish(self, runtime: &Runtime, kill_to_switch: Duration) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            runtime.block_on(task).unwrap();
        }
        let cells = std::mem::take(&mut *self.cells.lock().unwrap());
        let excess: Vec<usize> = (0..self.keys)
            .map(|key| {
                let mine: Vec<u64> = cells.iter().filter(|c| c.0 == key).map(|c| c.1).collect();
                gcra_excess(&mine, self.quota)
            })
            .collect();
        let mut seen: Vec<Instant> = cells.iter().map(|c| c.2).collect();
        seen.sort_unstable();
        let longest_gap = seen
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        let failed = *self.failed.lock().unwrap();
        Outcome {
            cells: cells.len(),
            max_excess: excess.iter().copied().max().unwrap_or(0),
            total_excess: excess.iter().sum(),
            failed,
            longest_gap,
            kill_to_switch,
        }
    }
}

fn keys(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("user-{n}")).collect()
}

/// Part 2: one failover run in `mode` (Sentinel or durable); with `cut`, the replica is
/// paused and cut off from the master that long before the master is killed.
fn failover(mode: Mode, cut: Option<Duration>, rate: u32) -> Outcome {
    let quota = Quota::per_second(rate).unwrap().with_burst(5).unwrap();
    let mut master = start_server(None);
    let replica = start_server(Some(&master));
    let sentinel = RedisSentinel::start(&master, 1);
    let runtime = runtime();
    let conn = runtime.block_on(mode.connect(&master, &sentinel));
    let limiter = RedisKeyedLimiter::new(conn, "failover:", quota, TokioTimer::new()).unwrap();
    let load = Load::start(&runtime, limiter, keys(8));
    std::thread::sleep(Duration::from_secs(1));
    if let Some(cut) = cut {
        replica.pause();
        master.cut_replicas();
        std::thread::sleep(cut);
    }
    master.kill();
    replica.resume();
    let killed = Instant::now();
    sentinel.wait_for_master(replica.port(), Duration::from_secs(60));
    let kill_to_switch = killed.elapsed();
    let _new_replica = matches!(mode, Mode::Durable).then(|| start_server(Some(&replica)));
    std::thread::sleep(Duration::from_secs(1));
    load.finish(&runtime, kill_to_switch)
}

/// Part 3: one failover run on a Redis Cluster of 3 masters with a replica each: 8 keys on
/// the master that is killed; its replica takes over by the cluster's own failure detection
/// (node timeout 1 s).
fn cluster_failover(rate: u32) -> Outcome {
    let quota = Quota::per_second(rate).unwrap().with_burst(5).unwrap();
    let mut cluster = RedisCluster::start_with_replicas(3, 1).unwrap_or_else(|| {
        eprintln!("no redis-server or redis-cli to start: install them");
        std::process::exit(1)
    });
    let runtime = runtime();
    let prefix = "cluster:";
    let master = cluster.owner_of_key(&format!("{prefix}user-0"));
    let doomed: Vec<String> = keys(200)
        .into_iter()
        .filter(|key| cluster.owner_of_key(&format!("{prefix}{key}")) == master)
        .take(8)
        .collect();
    let slot = cluster.slot_of(&format!("{prefix}{}", doomed[0]));
    let replica = cluster.replica_of(master);
    let urls = cluster.urls();
    let limiter = runtime
        .block_on(RedisKeyedLimiter::connect_cluster(
            urls.iter().map(String::as_str),
            prefix,
            quota,
        ))
        .expect("connect");
    let load = Load::start(&runtime, limiter, doomed);
    std::thread::sleep(Duration::from_secs(1));
    cluster.node_mut(master).kill();
    let killed = Instant::now();
    cluster.wait_until_serves(slot, replica, Duration::from_secs(60));
    let kill_to_switch = killed.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    load.finish(&runtime, kill_to_switch)
}

/// How long from now until `at` (nanoseconds since the Unix epoch), at most 50 ms.
fn until(at: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let wait = u128::from(at).saturating_sub(now);
    Duration::from_nanos(u64::try_from(wait).unwrap_or(u64::MAX)).min(Duration::from_millis(50))
}

fn main() {
    let options = options();
    let medians = price(&options);
    let mut summary = Vec::new();
    let cut = options.cut;
    let mut cases = Vec::new();
    for mode in [Mode::Sentinel, Mode::Durable] {
        for &rate in &options.rates {
            cases.extend([(mode, None, rate), (mode, Some(cut), rate)]);
        }
    }
    for (mode, cut, rate) in cases {
        if options.runs == 0 {
            break;
        }
        let lag = match cut {
            None => "replica up to date".to_string(),
            Some(cut) => format!("replica cut off {} ms before", cut.as_millis()),
        };
        println!(
            "failover, {}: 8 keys at {rate}/s, burst 5, master killed, {lag}",
            mode.name()
        );
        let mut max_excess = 0;
        let mut longest = Duration::ZERO;
        for run in 1..=options.runs {
            let outcome = failover(mode, cut, rate);
            println!(
                "  run {run}: {} cells, excess per key at most {} (sum {}), {} failed calls, \
                 longest time without a cell {:.0} ms, kill to Sentinel's switch {:.0} ms",
                outcome.cells,
                outcome.max_excess,
                outcome.total_excess,
                outcome.failed,
                outcome.longest_gap.as_secs_f64() * 1e3,
                outcome.kill_to_switch.as_secs_f64() * 1e3
            );
            max_excess = max_excess.max(outcome.max_excess);
            longest = longest.max(outcome.longest_gap);
        }
        let name = match (mode, cut) {
            (Mode::Durable, None) => "durable",
            (Mode::Durable, Some(_)) => "durable lagging",
            (_, None) => "default",
            (_, Some(_)) => "default lagging",
        };
        summary.push(format!(
            "{name} {rate}/s excess/key <= {max_excess}, gap {:.0} ms",
            longest.as_secs_f64() * 1e3
        ));
    }
    for &rate in &options.rates {
        if options.runs == 0 {
            break;
        }
        println!(
            "failover, Redis Cluster (3 masters, 1 replica each): 8 keys at {rate}/s on the \
             master killed, burst 5"
        );
        let mut max_excess = 0;
        let mut longest = Duration::ZERO;
        for run in 1..=options.runs {
            let outcome = cluster_failover(rate);
            println!(
                "  run {run}: {} cells, excess per key at most {} (sum {}), {} failed calls, \
                 longest time without a cell {:.0} ms, kill to the replica serving {:.0} ms",
                outcome.cells,
                outcome.max_excess,
                outcome.total_excess,
                outcome.failed,
                outcome.longest_gap.as_secs_f64() * 1e3,
                outcome.kill_to_switch.as_secs_f64() * 1e3
            );
            max_excess = max_excess.max(outcome.max_excess);
            longest = longest.max(outcome.longest_gap);
        }
        summary.push(format!(
            "cluster {rate}/s excess/key <= {max_excess}, gap {:.0} ms",
            longest.as_secs_f64() * 1e3
        ));
    }
    println!(
        "redis failover: median us per decision plain/sentinel/durable {:.0}/{:.0}/{:.0}; {}",
        medians[0],
        medians[1],
        medians[2],
        summary.join("; ")
    );
}
