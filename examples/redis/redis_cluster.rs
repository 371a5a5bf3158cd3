//! Limits on a Redis Cluster: four tenants at 20 per second each, and all of them together
//! at most 50 per second, shared by three clients.
//!
//! Each tenant's limit is one entry of a `RedisKeyedLimiter`, on the master that holds its slot,
//! so the tenants spread over the masters; the global limit is a `RedisLimiter` on one key. Every
//! call takes the tenant's cell, then the global one:
//!
//! ```text
//! 3 clients on the cluster at redis://127.0.0.1:7000/, ... (3 nodes)
//!   tenant-a (slot  6454): 30 cells, achieved 12.6/s (its limit 20/s)
//!   ...
//!   tenant-d (slot  2451): 30 cells, achieved 12.7/s (its limit 20/s)
//! all tenants: 120 cells, achieved 50.0/s (the global limit 50/s)
//! ```
//!
//! It needs a Redis Cluster: the URLs of some of its masters, comma-separated, in
//! `REDIS_CLUSTER` (by default three on ports 7000 to 7002 of this machine).
//! Run it with `cargo run --release --example redis_cluster`.

use std::sync::Arc;
use std::time::Instant;

use pacer_redis::{Connection, Error, Quota, RedisKeyedLimiter, RedisLimiter, TokioTimer, redis};

const CLIENTS: usize = 3;
const TENANTS: [&str; 4] = ["tenant-a", "tenant-b", "tenant-c", "tenant-d"];
const CALLS_EACH: usize = 10;
const TENANT_RATE: u32 = 20;
const GLOBAL_RATE: u32 = 50;
const PREFIX: &str = "pacer-example:cluster:";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let nodes = std::env::var("REDIS_CLUSTER").unwrap_or_else(|_| {
        "redis://127.0.0.1:7000/,redis://127.0.0.1:7001/,redis://127.0.0.1:7002/".into()
    });
    let nodes: Vec<&str> = nodes.split(',').collect();
    println!(
        "{CLIENTS} clients on the cluster at {}, ... ({} nodes)",
        nodes[0],
        nodes.len()
    );
    let per_tenant = Quota::per_second(TENANT_RATE)?;
    let global = Quota::per_second(GLOBAL_RATE)?;

    let start = Instant::now();
    let mut calls = Vec::new();
    let mut any_conn = None;
    for _client in 0..CLIENTS {
        // One cluster connection per client, shared by both of its limiters.
        let conn = match Connection::connect_cluster(nodes.iter().copied()).await {
            Ok(conn) => conn,
            Err(error @ Error::Unavailable(_)) => {
                eprintln!("{error}\nstart a cluster, or name one in REDIS_CLUSTER");
                std::process::exit(1);
            }
            Err(error) => return Err(error),
        };
        any_conn = Some(conn.clone());
        let tenants = RedisKeyedLimiter::new(conn.clone(), PREFIX, per_tenant, TokioTimer::new())?;
        let all = RedisLimiter::new(
            conn,
            "pacer-example:cluster-global",
            global,
            TokioTimer::new(),
        )?;
        let (tenants, all) = (Arc::new(tenants), Arc::new(all));
        for tenant in TENANTS {
            let (tenants, all) = (tenants.clone(), all.clone());
            calls.push(tokio::spawn(async move {
                let mut passed = Vec::with_capacity(CALLS_EACH);
                for _ in 0..CALLS_EACH {
                    tenants.acquire(tenant).await?;
                    all.acquire().await?;
                    passed.push(start.elapsed().as_secs_f64());
                }
                Ok::<_, Error>((tenant, passed))
            }));
        }
    }

    let mut everything = Vec::new();
    let mut by_tenant: Vec<(&str, Vec<f64>)> = TENANTS.iter().map(|t| (*t, Vec::new())).collect();
    for call in calls {
        let (tenant, passed) = call.await.expect("a task panicked")?;
        everything.extend(&passed);
        by_tenant
            .iter_mut()
            .find(|t| t.0 == tenant)
            .unwrap()
            .1
            .extend(passed);
    }
    let mut conn = any_conn.expect("at least one client");
    for (tenant, passed) in &mut by_tenant {
        // Any node answers which slot a key is in.
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(format!("{PREFIX}{tenant}"))
            .query_async(&mut conn)
            .await
            .map_err(Error::Unavailable)?;
        println!(
            "  {tenant} (slot {slot:>5}): {} cells, achieved {:.1}/s (its limit {TENANT_RATE}/s)",
            passed.len(),
            rate(passed)
        );
    }
    println!(
        "all tenants: {} cells, achieved {:.1}/s (the global limit {GLOBAL_RATE}/s)",
        everything.len(),
        rate(&mut everything)
    );
    Ok(())
}

/// Cells per second from the first to the last.
fn rate(passed: &mut [f64]) -> f64 {
    passed.sort_by(f64::total_cmp);
    (passed.len() - 1) as f64 / (passed[passed.len() - 1] - passed[0])
}
