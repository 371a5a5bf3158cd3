//! Per-user limits shared through Redis: three clients, each with its own connection as
//! separate processes would have, call for three users; every user has a limit of 20 per
//! second (with a burst of 3) across all clients, and no user's calls slow another's.
//!
//! Redis decides every instant on its own clock, one entry per user, and forgets a user's
//! entry once the user is idle:
//!
//! ```text
//! 3 clients, per-user limit 20/s through redis://127.0.0.1:6379/ (prefix pacer-example:user:)
//!   alice  60 cells over 2.85 s, achieved 20.00/s target 20/s
//!   bob    15 cells over 0.60 s, achieved 19.96/s target 20/s
//!   carol   3 cells over 0.00 s (within the burst)
//! ```
//!
//! It needs a Redis: `redis-server` on the default port, or one named by `REDIS_URL`.
//! Run it with `cargo run --release --example redis_keyed`.

use std::sync::Arc;
use std::time::Instant;

use pacer_redis::{Error, Quota, RedisKeyedLimiter};

const CLIENTS: usize = 3;
const RATE: u32 = 20;
const BURST: u32 = 3;
const PREFIX: &str = "pacer-example:user:";
/// Each user, and how many calls each client makes for them.
const USERS: [(&str, usize); 3] = [("alice", 20), ("bob", 5), ("carol", 1)];

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let quota = Quota::per_second(RATE)?.with_burst(BURST)?;
    println!("{CLIENTS} clients, per-user limit {RATE}/s through {url} (prefix {PREFIX})");

    let start = Instant::now();
    let mut calls = Vec::new();
    for _client in 0..CLIENTS {
        let limiter = match RedisKeyedLimiter::connect(&url, PREFIX, quota).await {
            Ok(limiter) => Arc::new(limiter),
            Err(error @ Error::Unavailable(_)) => {
                eprintln!("{error}\nstart one with `redis-server`, or set REDIS_URL");
                std::process::exit(1);
            }
            Err(error) => return Err(error),
        };
        for (user, count) in USERS {
            let limiter = limiter.clone();
            calls.push(tokio::spawn(async move {
                let mut passed = Vec::with_capacity(count);
                for _ in 0..count {
                    limiter.acquire(user).await?;
                    passed.push(start.elapsed().as_secs_f64());
                }
                Ok::<_, Error>((user, passed))
            }));
        }
    }

    let mut by_user: Vec<(&str, Vec<f64>)> = USERS.iter().map(|u| (u.0, Vec::new())).collect();
    for call in calls {
        let (user, passed) = call.await.expect("a task panicked")?;
        let slot = by_user.iter_mut().find(|u| u.0 == user).unwrap();
        slot.1.extend(passed);
    }
    for (user, mut passed) in by_user {
        passed.sort_by(f64::total_cmp);
        let span = passed[passed.len() - 1] - passed[0];
        let cells = passed.len();
        if cells as u32 <= BURST {
            println!("  {user:<6} {cells:>2} cells over {span:.2} s (within the burst)");
        } else {
            // The first `BURST` cells may go at once; the rest follow at the rate.
            let achieved = (cells - BURST as usize) as f64 / span;
            println!(
                "  {user:<6} {cells:>2} cells over {span:.2} s, achieved {achieved:.2}/s target {RATE}/s"
            );
        }
    }
    Ok(())
}
