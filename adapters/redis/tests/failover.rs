//! Failover with real processes: a master and its replica watched by Sentinel, a demoted master
//! that answers `READONLY`, and a Redis Cluster whose master is replaced by its replica.
//!
//! Each test drives a saturated keyed run (every key's cells taken as soon as they come free,
//! by `reserve_within(key, 1, 0)`), breaks the master in the middle of it and lets the run go
//! on until every key has made progress on the new master. It then measures, per key, the
//! cells admitted beyond the quota ([`gcra_excess`]), and prints the calls that failed and
//! the longest time without an admitted cell.
//!
//! The bounds asserted hold by construction, whatever the timing:
//! - default mode: replication is asynchronous, so the new master may lack the last
//!   reservations the old one made, and hands those cells out again. Whatever it lacks, its
//!   state is one the key really had earlier, which owes the key's true state at most the
//!   burst (for cells already gone; reservations queued for later would add theirs, and this
//!   traffic queues none). So each key's excess is at most its burst.
//! - durable mode ([`Connection::wait_for_replicas`]): every answer given was acknowledged by
//!   the one replica, which is the one promoted: no excess at all.
//!
//! The figures (failed calls, the longest gap) are printed, not asserted: they are timings.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pacer_core::Error as LimitError;
use pacer_redis::{Connection, Error, Quota, RedisKeyedLimiter, TokioTimer};
use pacer_tests::{MASTER_NAME, RedisCluster, RedisSentinel, RedisServer, gcra_excess};
use tokio::runtime::Runtime;

/// 100 cells per second per key, 5 at once.
fn quota() -> Quota {
    Quota::per_second(100).unwrap().with_burst(5).unwrap()
}

/// How long any one wait of the test may take before it counts as hung.
const PATIENCE: Duration = Duration::from_secs(30);

/// What the run's tasks record.
#[derive(Default)]
struct Record {
    /// Each admitted cell: the key's index, its instant by the server's clock, and when the
    /// client got it.
    cells: Vec<(usize, u64, Instant)>,
    /// Each call that failed with `Unavailable`: when, and the error.
    failures: Vec<(Instant, String)>,
    /// Any other error (none expected).
    unexpected: Vec<String>,
}

/// A saturated keyed run: two tasks per key on one limiter, until stopped.
struct Run {
    runtime: Runtime,
    keys: Vec<String>,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Run {
    fn new() -> Run {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Run {
            runtime,
            keys: Vec::new(),
            record: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        }
    }

    /// Starts the tasks on `limiter` for `keys` (added to those of earlier calls).
    fn start(&mut self, limiter: RedisKeyedLimiter, keys: Vec<String>) {
        let limiter = Arc::new(limiter);
        let first = self.keys.len();
        for (index, key) in (first..).zip(keys.iter()) {
            for _ in 0..2 {
                let (limiter, key) = (limiter.clone(), key.clone());
                let (record, stop) = (self.record.clone(), self.stop.clone());
                self.tasks.push(self.runtime.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let answer = limiter.reserve_within(&key, 1, Duration::ZERO).await;
                        let pause = match answer {
                            Ok(reservation) => {
                                let cell = (index, reservation.at(), Instant::now());
                                record.lock().unwrap().cells.push(cell);
                                Duration::ZERO
                            }
                            // The next cell's instant, by the server's clock, which is this
                            // machine's: come back then.
                            Err(Error::Limit(LimitError::WouldWait { at })) => until(at),
                            Err(Error::Unavailable(error)) => {
                                let failure = (Instant::now(), error.to_string());
                                record.lock().unwrap().failures.push(failure);
                                Duration::from_millis(5)
                            }
                            Err(other) => {
                                record.lock().unwrap().unexpected.push(other.to_string());
                                Duration::from_millis(5)
                            }
                        };
                        tokio::time::sleep(pause).await;
                    }
                }));
            }
        }
        self.keys.extend(keys);
    }

    /// Waits until every key has `more` more admitted cells than now.
    fn progress(&self, more: usize) {
        let counts = || {
            let record = self.record.lock().unwrap();
            let mut counts = vec![0; self.keys.len()];
            for cell in &record.cells {
                counts[cell.0] += 1;
            }
            counts
        };
        let target: Vec<usize> = counts().iter().map(|count| count + more).collect();
        let start = Instant::now();
        while counts().iter().zip(&target).any(|(now, want)| now < want) {
            assert!(
                start.elapsed() < PATIENCE,
                "no progress on every key: {:?} of {target:?}; last errors {:?}",
                counts(),
                self.record
                    .lock()
                    .unwrap()
                    .failures
                    .iter()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until `more` more calls have failed than now.
    fn failures(&self, more: usize) {
        let count = || self.record.lock().unwrap().failures.len();
        let target = count() + more;
        let start = Instant::now();
        while count() < target {
            assert!(start.elapsed() < PATIENCE, "calls kept succeeding");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the tasks and returns what they recorded.
    fn finish(self) -> Figures {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            self.runtime.block_on(task).unwrap();
        }
        let record = std::mem::take(&mut *self.record.lock().unwrap());
        Figures::new(&self.keys, record)
    }
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

/// What a run measured.
struct Figures {
    /// Per key: its cells and their excess over the quota.
    per_key: BTreeMap<String, (usize, usize)>,
    failures: Vec<(Instant, String)>,
    unexpected: Vec<String>,
    /// The longest time between two admitted cells (any key), as the client saw it.
    longest_gap: Duration,
}

impl Figures {
    fn new(keys: &[String], record: Record) -> Figures {
        let mut per_key = BTreeMap::new();
        for (index, key) in keys.iter().enumerate() {
            let cells: Vec<u64> = record
                .cells
                .iter()
                .filter(|cell| cell.0 == index)
                .map(|cell| cell.1)
                .collect();
            per_key.insert(key.clone(), (cells.len(), gcra_excess(&cells, quota())));
        }
        let mut seen: Vec<Instant> = record.cells.iter().map(|cell| cell.2).collect();
        seen.sort_unstable();
        let longest_gap = seen
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or_default();
        Figures {
            per_key,
            failures: record.failures,
            unexpected: record.unexpected,
            longest_gap,
        }
    }

    /// Prints the figures under `name`.
    fn report(&self, name: &str) {
        let span = match (self.failures.first(), self.failures.last()) {
            (Some(first), Some(last)) => last.0 - first.0,
            _ => Duration::ZERO,
        };
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for (_, error) in &self.failures {
            let kind: String = error.chars().take(60).collect();
            *kinds.entry(kind).or_default() += 1;
        }
        eprintln!(
            "{name}: cells and excess per key {:?}; {} failed calls over {span:?}; longest \
             time without a cell {:?}; failures by kind {kinds:?}",
            self.per_key,
            self.failures.len(),
            self.longest_gap
        );
    }

    /// Asserts that no error other than `Unavailable` reached the caller and that each key's
    /// excess is at most `bound`.
    fn assert_excess_at_most(&self, bound: usize) {
        assert!(self.unexpected.is_empty(), "{:?}", self.unexpected);
        for (key, (cells, excess)) in &self.per_key {
            assert!(
                *excess <= bound,
                "{key}: {excess} cells beyond the quota (of {cells}), bound {bound}"
            );
        }
    }
}

fn keys(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("user-{n}")).collect()
}

/// A master, its replica, and a Sentinel watching both.
struct Group {
    master: RedisServer,
    replica: RedisServer,
    sentinel: RedisSentinel,
}

impl Group {
    fn start() -> Option<Group> {
        let master = RedisServer::start()?;
        let replica = RedisServer::start_replica_of(&master, &[])?;
        let sentinel = RedisSentinel::start(&master, 1);
        Some(Group {
            master,
            replica,
            sentinel,
        })
    }

    fn connect(&self, runtime: &Runtime) -> Connection {
        let url = self.sentinel.url();
        runtime
            .block_on(Connection::connect_sentinel([url.as_str()], MASTER_NAME))
            .unwrap()
    }

    /// Makes the replica lag: paused, and cut off from the master, which goes on alone.
    fn cut_off_replica(&self) {
        self.replica.pause();
        self.master.cut_replicas();
    }

    /// Kills the master and lets the lagging replica go on (it has what it received before
    /// it was cut off, and can no longer reach the master).
    fn kill_master(&mut self) {
        self.master.kill();
        self.replica.resume();
    }
}

#[test]
fn sentinel_promotes_the_replica_of_a_killed_master_and_the_client_follows() {
    let Some(mut group) = Group::start() else {
        return;
    };
    let mut run = Run::new();
    let conn = group.connect(&run.runtime);
    let limiter = RedisKeyedLimiter::new(conn, "failover:", quota(), TokioTimer::new()).unwrap();
    run.start(limiter, keys(4));
    run.progress(20);
    // The replica lags by at least 10 cells of every key when the master dies: they are
    // lost, but the outage pays most of that debt back (at this quota the whole of it), and
    // each key admits again no more than its burst.
    group.cut_off_replica();
    run.progress(10);
    group.kill_master();
    group
        .sentinel
        .wait_for_master(group.replica.port(), PATIENCE);
    run.progress(20);
    let figures = run.finish();
    figures.report("sentinel, master killed, default mode");
    figures.assert_excess_at_most(quota().burst() as usize);
}

#[test]
fn in_durable_mode_a_sentinel_failover_admits_nothing_beyond_the_quota() {
    let Some(mut group) = Group::start() else {
        return;
    };
    let mut run = Run::new();
    let conn = group
        .connect(&run.runtime)
        .wait_for_replicas(1, Duration::from_millis(500));
    let limiter = RedisKeyedLimiter::new(conn, "durable:", quota(), TokioTimer::new()).unwrap();
    run.start(limiter, keys(4));
    run.progress(20);
    // With the replica cut off, no call is acknowledged: calls fail (closed) instead of
    // admitting cells the replica would not have.
    group.cut_off_replica();
    run.failures(8);
    group.kill_master();
    group
        .sentinel
        .wait_for_master(group.replica.port(), PATIENCE);
    // The new master has no replica: every call fails (closed) until one is back.
    let _new_replica = RedisServer::start_replica_of(&group.replica, &[]).unwrap();
    run.progress(20);
    let figures = run.finish();
    figures.report("sentinel, master killed, durable mode");
    figures.assert_excess_at_most(0);
}

/// One cell per 100 s, 3 at once: no cell comes back by time alone while a test runs, so
/// what a failover loses is exactly what the new master lets a key take again.
fn slow() -> Quota {
    Quota::new(1, Duration::from_secs(100))
        .unwrap()
        .with_burst(3)
        .unwrap()
}

/// Every cell of `key` free now, by `reserve_within(key, 1, 0)` until refused; the
/// instants taken. A call that finds Redis unavailable (the client finding the new master)
/// is tried again, for at most [`PATIENCE`]; any other error panics.
async fn take_all_free(limiter: &RedisKeyedLimiter, key: &str) -> Vec<u64> {
    let mut taken = Vec::new();
    let start = Instant::now();
    loop {
        match limiter.reserve_within(key, 1, Duration::ZERO).await {
            Ok(reservation) => taken.push(reservation.at()),
            Err(Error::Limit(LimitError::WouldWait { .. })) => return taken,
            Err(Error::Unavailable(error)) => {
                assert!(start.elapsed() < PATIENCE, "{key}: {error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("{key}: {other}"),
        }
    }
}

#[test]
fn a_lagging_replica_loses_what_it_lacks_and_the_durable_mode_loses_nothing() {
    let Some(mut group) = Group::start() else {
        return;
    };
    let runtime = Run::new().runtime;
    let plain = RedisKeyedLimiter::new(group.connect(&runtime), "lag:", slow(), TokioTimer::new());
    let plain = plain.unwrap();
    let durable = group
        .connect(&runtime)
        .wait_for_replicas(1, Duration::from_millis(500));
    let durable =
        RedisKeyedLimiter::new(durable, "lag-durable:", slow(), TokioTimer::new()).unwrap();
    let keys = ["a", "b", "c"];
    // Acknowledged by the replica: 2 cells of each durable key.
    let mut durable_cells: Vec<Vec<u64>> = keys
        .iter()
        .map(|key| {
            let take = || durable.reserve_within(key, 1, Duration::ZERO);
            (0..2)
                .map(|_| runtime.block_on(take()).unwrap().at())
                .collect()
        })
        .collect();
    group.cut_off_replica();
    // The default mode takes every key's burst on the master alone; the durable mode's
    // call gets no acknowledgement and admits nothing.
    let mut plain_cells: Vec<Vec<u64>> = keys
        .iter()
        .map(|key| runtime.block_on(take_all_free(&plain, key)))
        .collect();
    for key in keys {
        match runtime.block_on(durable.reserve_within(key, 1, Duration::ZERO)) {
            Err(Error::Unavailable(error)) => {
                assert!(error.to_string().contains("0 of 1 replicas"), "{error}")
            }
            other => panic!("{key}: expected Unavailable, got {other:?}"),
        }
    }
    group.kill_master();
    group
        .sentinel
        .wait_for_master(group.replica.port(), PATIENCE);
    let _new_replica = RedisServer::start_replica_of(&group.replica, &[]).unwrap();
    for (index, key) in keys.iter().enumerate() {
        // The new master never saw the default mode's cells: the whole burst again.
        let again = runtime.block_on(take_all_free(&plain, key));
        assert_eq!((plain_cells[index].len(), again.len()), (3, 3), "{key}");
        plain_cells[index].extend(again);
        assert_eq!(gcra_excess(&plain_cells[index], slow()), 3, "{key}");
        // It saw both acknowledged cells of each durable key: one more, and nothing beyond.
        let again = runtime.block_on(take_all_free(&durable, key));
        assert_eq!(again.len(), 1, "{key}");
        durable_cells[index].extend(again);
        assert_eq!(gcra_excess(&durable_cells[index], slow()), 0, "{key}");
    }
}

#[test]
fn a_demoted_master_answering_readonly_sends_the_client_to_the_new_master() {
    let Some(group) = Group::start() else {
        return;
    };
    let mut run = Run::new();
    let conn = group.connect(&run.runtime);
    // A timeout far beyond a loaded machine's stalls: a call that finds the old master
    // demoted looks up the new one and runs there within it.
    let limiter = RedisKeyedLimiter::new(conn, "demoted:", quota(), TokioTimer::new())
        .unwrap()
        .with_timeout(Duration::from_secs(10));
    run.start(limiter, keys(4));
    run.progress(20);
    group.sentinel.failover();
    group
        .sentinel
        .wait_for_master(group.replica.port(), PATIENCE);
    // What Sentinel does some seconds later: the old master becomes a replica of the new
    // one. The client's connection to it stays open, and its writes meet `READONLY`.
    group.master.replicate(&group.replica);
    assert_eq!(group.master.role(), "slave");
    run.progress(20);
    let figures = run.finish();
    figures.report("sentinel, master demoted");
    figures.assert_excess_at_most(quota().burst() as usize);
    assert!(
        figures.failures.is_empty(),
        "calls failed instead of following the new master: {:?}",
        figures.failures
    );
    assert!(
        errors(&group.master, "READONLY") > 0,
        "the demoted master never answered READONLY: the test missed its case"
    );
    assert!(
        script_calls(&group.replica) > 0,
        "no script call reached the new master"
    );
}

#[test]
fn a_cluster_master_killed_is_replaced_by_its_replica_and_the_client_follows() {
    let Some(mut cluster) = RedisCluster::start_with_replicas(3, 1) else {
        return;
    };
    let mut run = Run::new();
    let urls = cluster.urls();
    let prefix = "cluster-failover:";
    let key_of = |key: &String| format!("{prefix}{key}");
    let mut all = keys(64);
    let master = cluster.owner_of_key(&key_of(&all[0]));
    // Four keys on the master to be killed, two elsewhere.
    let (mut doomed, mut others): (Vec<String>, Vec<String>) = all
        .drain(..)
        .partition(|key| cluster.owner_of_key(&key_of(key)) == master);
    doomed.truncate(4);
    others.truncate(2);
    let slot = cluster.slot_of(&key_of(&doomed[0]));
    let replica = cluster.replica_of(master);
    let limiter = run
        .runtime
        .block_on(RedisKeyedLimiter::connect_cluster(
            urls.iter().map(String::as_str),
            prefix,
            quota(),
        ))
        .unwrap();
    run.start(limiter, doomed.into_iter().chain(others).collect());
    // Durable mode on two keys of another master: the script and its `WAIT` go together to
    // the master of the key's slot, whose replica acknowledges.
    let durable_prefix = "cluster-durable:";
    let durable_keys: Vec<String> = (0..)
        .map(|n| format!("durable-{n}"))
        .filter(|key| cluster.owner_of_key(&format!("{durable_prefix}{key}")) != master)
        .take(2)
        .collect();
    let durable = run.runtime.block_on(async {
        let conn = Connection::connect_cluster(urls.iter().map(String::as_str)).await?;
        let conn = conn.wait_for_replicas(1, Duration::from_millis(500));
        RedisKeyedLimiter::new(conn, durable_prefix, quota(), TokioTimer::new())
    });
    run.start(durable.unwrap(), durable_keys.clone());
    run.progress(20);
    cluster.node_mut(master).kill();
    cluster.wait_until_serves(slot, replica, PATIENCE);
    run.progress(20);
    let figures = run.finish();
    figures.report("cluster, master killed, default mode (and durable on another master)");
    figures.assert_excess_at_most(quota().burst() as usize);
    for key in &durable_keys {
        assert_eq!(figures.per_key[key].1, 0, "{key}");
    }
}

#[tokio::test]
async fn no_sentinel_is_a_clear_error() {
    match Connection::connect_sentinel([], MASTER_NAME).await {
        Err(error @ Error::Unavailable(_)) => {
            assert!(
                error
                    .to_string()
                    .contains("At least one sentinel is required"),
                "{error}"
            )
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn in_durable_mode_a_master_without_replicas_admits_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = Connection::connect(&server.url())
        .await
        .unwrap()
        .wait_for_replicas(1, Duration::from_millis(20));
    // One cell per 100 s: no cell comes back by time alone while the test runs.
    let slow = Quota::new(1, Duration::from_secs(100))
        .unwrap()
        .with_burst(5)
        .unwrap();
    let limiter = RedisKeyedLimiter::new(conn, "alone:", slow, TokioTimer::new()).unwrap();
    for _ in 0..3 {
        match limiter.try_acquire("k", 1).await {
            Err(Error::Unavailable(error)) => {
                let message = error.to_string();
                assert!(message.contains("reached 0 of 1 replicas"), "{message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    // Each refused answer's reservation stays on the master, unused: the limit only gets
    // stricter (3 of the burst of 5 are taken, as a plain client sees).
    let plain = RedisKeyedLimiter::connect(&server.url(), "alone:", slow)
        .await
        .unwrap();
    assert_eq!(plain.snapshot("k").await.unwrap().remaining, 2);
}

/// How many commands `server` answered with error `kind`, from its `INFO errorstats`.
fn errors(server: &RedisServer, kind: &str) -> u64 {
    server
        .info(&format!("errorstat_{kind}"))
        .and_then(|value| value.strip_prefix("count=")?.parse().ok())
        .unwrap_or(0)
}

/// How many `EVALSHA` and `EVAL` calls `server` ran for clients (replicated writes are not
/// script calls), from its `INFO commandstats`.
fn script_calls(server: &RedisServer) -> u64 {
    ["cmdstat_evalsha", "cmdstat_eval"]
        .iter()
        .filter_map(|name| {
            let stats = server.info(name)?;
            let calls = stats.strip_prefix("calls=")?.split(',').next()?;
            calls.parse::<u64>().ok()
        })
        .sum()
}
