//! What one decision costs the Redis server: pacer-redis's script beside a baseline GCRA
//! script of the simplest published kind, on one private Redis.
//!
//! Run: `cargo run --release -p pacer-benches --bin redis_script` (needs `redis-server`).
//!
//! The baseline is written here from the description of go-redis/redis_rate's `allowN`: the
//! theoretical arrival time as a float in one string, then `TIME`, `GET`, and `SET` with `EX`
//! when the call is admitted (a refusal writes nothing). pacer's script keeps exact
//! fractions, the server clock's latest reading, cancel tokens, quota epochs, pauses and
//! expiry on top.
//!
//! Both are driven alike: 32 tasks on one multiplexed connection (a current-thread tokio
//! runtime) make 100,000 `try`-style calls at 10 per second per key (burst 10), in ten
//! chunks of 10,000 that alternate between the two scripts, so that a busy machine weighs
//! on both alike:
//! - *100,000 random keys*: each call on a key drawn at random from 100,000, so most are
//!   admitted and write;
//! - *100 hot keys*: each call on one of 100 keys, so nearly all are refused.
//!
//! pacer is driven through its own client, `RedisKeyedLimiter::try_acquire` (each call also
//! reads the entry of the limiter's whole-table pause, which costs what it costs in use), the
//! baseline through redis-rs's `Script`. The server's microseconds per call come from
//! `INFO commandstats` (`cmdstat_evalsha`, reset before each chunk), divided by the decisions
//! (pacer's refusal cache answers most hot-key refusals without a script call); the client's CPU per
//! decision from `getrusage` over pacer's phases (the server is another process). With
//! `--flood` it also measures the refusal cache: 100,000 refused `try_acquire` calls on 100
//! hot keys, and the script calls they caused.
//!
//! The last line:
//! `redis script: server us per decision pacer/redis_rate: 100000 keys A/B, 100 hot keys C/D; client us per decision pacer E`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pacer_benches::cli::Cli;
use pacer_benches::cpu_time;
use pacer_redis::{Error, Quota, RedisKeyedLimiter, TokioTimer};
use pacer_tests::{RedisServer, XorShift};
use redis::Script;
use redis::aio::ConnectionManager;

/// The baseline: redis_rate's `allowN` as its description has it, in our own words.
const BASELINE: &str = r#"
local rate, period, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local interval = period / rate
local tolerance = interval * burst
local clock = redis.call('TIME')
-- seconds since a recent epoch, so that the float keeps microseconds
local now = (clock[1] - 1700000000) + clock[2] / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local next_tat = tat + cost * interval
local diff = now - (next_tat - tolerance)
local left = math.floor(diff / interval)
if left < 0 then
  return { 0, 0, tostring(-diff), tostring(tat - now) }
end
local reset = next_tat - now
if reset > 0 then
  redis.call('SET', KEYS[1], next_tat, 'EX', math.ceil(reset))
end
return { cost, left, tostring(-1), tostring(reset) }
"#;

const CALLS: usize = 100_000;
const CHUNKS: usize = 10;
const TASKS: usize = 32;
const RANDOM_KEYS: u64 = 100_000;
const HOT_KEYS: u64 = 100;

fn quota() -> Quota {
    Quota::per_second(10).unwrap().with_burst(10).unwrap()
}

/// Which script a phase drives.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Pacer,
    Baseline,
}

/// What one phase measured: microseconds per call, summed over its chunks.
#[derive(Default)]
struct Phase {
    server_us: f64,
    client_us: f64,
    admitted: usize,
    script_calls: u64,
    server_total_us: f64,
    client_total_us: f64,
    calls: usize,
}

impl Phase {
    /// Adds a chunk's figures, keeping the per-call means over all chunks.
    fn add(&mut self, chunk: Phase) {
        self.server_total_us += chunk.server_total_us;
        self.client_total_us += chunk.client_total_us;
        self.script_calls += chunk.script_calls;
        self.admitted += chunk.admitted;
        self.calls += chunk.calls;
        // Per decision, not per script call: a refusal answered locally costs Redis nothing.
        self.server_us = self.server_total_us / self.calls.max(1) as f64;
        self.client_us = self.client_total_us / self.calls.max(1) as f64;
    }
}

const USAGE: &str = "usage: redis_script [--flood]
  --flood  also measure 100,000 refused calls on 100 hot keys, and the script calls they cause";

fn main() {
    let mut cli = Cli::from_env("redis_script", USAGE);
    let flood = cli.flag("--flood");
    cli.finish();
    let Some(server) = RedisServer::start() else {
        eprintln!("redis_script needs redis-server on the PATH (or REDIS_SERVER)");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&server, flood));
}

async fn run(server: &RedisServer, flood: bool) {
    let client = redis::Client::open(server.url()).unwrap();
    let conn = ConnectionManager::new(client).await.unwrap();
    let version: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    let version = version
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .to_string();
    println!(
        "redis_script: Redis {version}, {CALLS} calls per phase, {TASKS} tasks on one connection, 10/s burst 10 per key"
    );
    println!(
        "{:<22} {:>10} {:>12} {:>12} {:>10}",
        "phase", "script", "server us", "client us", "admitted"
    );
    let mut figures = Vec::new();
    for (name, keys) in [
        ("100000 random keys", RANDOM_KEYS),
        ("100 hot keys", HOT_KEYS),
    ] {
        let mut admin = conn.clone();
        let () = redis::cmd("FLUSHALL")
            .query_async(&mut admin)
            .await
            .unwrap();
        let mut pacer = Phase::default();
        let mut baseline = Phase::default();
        for _chunk in 0..CHUNKS {
            pacer.add(phase(&conn, Side::Pacer, keys).await);
            baseline.add(phase(&conn, Side::Baseline, keys).await);
        }
        for (side, figures) in [("pacer", &pacer), ("redis_rate", &baseline)] {
            println!(
                "{name:<22} {side:>10} {:>12.2} {:>12.2} {:>10}",
                figures.server_us, figures.client_us, figures.admitted
            );
        }
        figures.push((pacer, baseline));
    }
    if flood {
        let refused = flood_phase(&conn).await;
        println!(
            "refusal cache: {CALLS} try_acquire calls on {HOT_KEYS} hot keys, {} admitted, {} script calls on the server",
            refused.admitted, refused.script_calls
        );
    }
    let client = (figures[0].0.client_us + figures[1].0.client_us) / 2.0;
    println!(
        "redis script: server us per decision pacer/redis_rate: 100000 keys {:.1}/{:.1}, 100 hot keys {:.1}/{:.1}; client us per decision pacer {:.1}",
        figures[0].0.server_us,
        figures[0].1.server_us,
        figures[1].0.server_us,
        figures[1].1.server_us,
        client
    );
}

/// Runs `CALLS / CHUNKS` calls of `side` on keys drawn from `keys`.
async fn phase(conn: &ConnectionManager, side: Side, keys: u64) -> Phase {
    let mut admin = conn.clone();
    let calls = CALLS / CHUNKS;
    let limiter = Arc::new(
        RedisKeyedLimiter::new(conn.clone(), "pacer:", quota(), TokioTimer::new()).unwrap(),
    );
    let baseline = Arc::new(Script::new(BASELINE));
    // Load both scripts and warm the connection before the counters start.
    let _ = limiter.try_acquire("warm", 1).await;
    let _: redis::Value = baseline
        .key("warm")
        .arg(10)
        .arg(1)
        .arg(10)
        .arg(1)
        .invoke_async(&mut conn.clone())
        .await
        .unwrap();
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut admin)
        .await
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let admitted = Arc::new(AtomicUsize::new(0));
    let cpu = cpu_time();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (next, admitted) = (next.clone(), admitted.clone());
        let (limiter, baseline, mut conn) = (limiter.clone(), baseline.clone(), conn.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = XorShift::new(seed(task));
            let mut name = String::new();
            while next.fetch_add(1, Ordering::Relaxed) < calls {
                use std::fmt::Write;
                name.clear();
                let _ = write!(name, "{}", rng.between(0, keys - 1));
                let ok = match side {
                    Side::Pacer => match limiter.try_acquire(&name, 1).await {
                        Ok(()) => true,
                        Err(Error::Limit(_)) => false,
                        Err(other) => panic!("pacer: {other}"),
                    },
                    Side::Baseline => {
                        let (cost, _left, _retry, _reset): (i64, i64, String, String) = baseline
                            .key(format!("rate:{name}"))
                            .arg(10)
                            .arg(1)
                            .arg(10)
                            .arg(1)
                            .invoke_async(&mut conn)
                            .await
                            .unwrap();
                        cost > 0
                    }
                };
                if ok {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let client_total_us = (cpu_time() - cpu).as_secs_f64() * 1e6;
    let (script_calls, usec) = evalsha_stats(&mut admin).await;
    let mut figures = Phase::default();
    figures.add(Phase {
        server_total_us: usec,
        client_total_us,
        admitted: admitted.load(Ordering::Relaxed),
        script_calls,
        calls,
        ..Phase::default()
    });
    figures
}

/// A flood of refused calls on hot keys through pacer's client, and the script calls the
/// server saw for it.
async fn flood_phase(conn: &ConnectionManager) -> Phase {
    let mut admin = conn.clone();
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let quota = Quota::per_second(1).unwrap();
    let limiter = RedisKeyedLimiter::new(conn.clone(), "flood:", quota, TokioTimer::new()).unwrap();
    let _ = limiter.try_acquire("warm", 1).await;
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut admin)
        .await
        .unwrap();
    let mut rng = XorShift::new(0xf100d);
    let mut admitted = 0;
    let cpu = cpu_time();
    for _ in 0..CALLS {
        let key = rng.between(0, HOT_KEYS - 1).to_string();
        if limiter.try_acquire(&key, 1).await.is_ok() {
            admitted += 1;
        }
    }
    let client_total_us = (cpu_time() - cpu).as_secs_f64() * 1e6;
    let (script_calls, usec) = evalsha_stats(&mut admin).await;
    let mut figures = Phase::default();
    figures.add(Phase {
        server_total_us: usec,
        client_total_us,
        admitted,
        script_calls,
        calls: CALLS,
        ..Phase::default()
    });
    figures
}

/// `EVALSHA` calls and their microseconds since the last `CONFIG RESETSTAT`.
async fn evalsha_stats(admin: &mut ConnectionManager) -> (u64, f64) {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(admin)
        .await
        .unwrap();
    let line = stats
        .lines()
        .find(|line| line.starts_with("cmdstat_evalsha:"))
        .unwrap_or("cmdstat_evalsha:calls=0,usec=0");
    let field = |name: &str| {
        line.split([':', ','])
            .find_map(|part| part.strip_prefix(name))
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field("calls=") as u64, field("usec="))
}

/// A fresh seed for each task of each chunk, so chunks draw different keys.
fn seed(task: usize) -> u64 {
    static CHUNK: AtomicUsize = AtomicUsize::new(0);
    let chunk = CHUNK.fetch_add(1, Ordering::Relaxed) as u64;
    0x5eed_0000 + (chunk << 8) + task as u64
}
