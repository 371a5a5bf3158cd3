//! One limit shared through Redis: three clients, each with its own connection as separate
//! processes would have, take 50 cells each from one limit of 50 per second.
//!
//! Redis decides every instant on its own clock, so the clients together keep the limit:
//!
//! ```text
//! 3 clients sharing 50/s through redis://127.0.0.1:6379/ (key pacer-example:shared)
//!   client 0: 50 cells
//!   ...
//! together: achieved 50.00/s target 50/s, 150 cells
//! ```
//!
//! It needs a Redis: `redis-server` on the default port, or one named by `REDIS_URL`.
//! Run it with `cargo run --release --example redis_shared`.

use std::time::Instant;

use pacer_redis::{Error, Quota, RedisLimiter};

const CLIENTS: usize = 3;
const CELLS_EACH: usize = 50;
const RATE: u32 = 50;
const KEY: &str = "pacer-example:shared";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let quota = Quota::per_second(RATE)?;
    println!("{CLIENTS} clients sharing {RATE}/s through {url} (key {KEY})");

    let start = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let limiter = match RedisLimiter::connect(&url, KEY, quota).await {
            Ok(limiter) => limiter,
            Err(error @ Error::Unavailable(_)) => {
                eprintln!("{error}\nstart one with `redis-server`, or set REDIS_URL");
                std::process::exit(1);
            }
            Err(error) => return Err(error),
        };
        clients.push(tokio::spawn(async move {
            let mut passed = Vec::with_capacity(CELLS_EACH);
            for _ in 0..CELLS_EACH {
                limiter.acquire().await?;
                passed.push(start.elapsed().as_secs_f64());
            }
            println!("  client {client}: {} cells", passed.len());
            Ok::<_, Error>(passed)
        }));
    }

    let mut passed = Vec::new();
    for client in clients {
        passed.extend(client.await.expect("a client task panicked")?);
    }
    passed.sort_by(f64::total_cmp);
    let span = passed[passed.len() - 1] - passed[0];
    let achieved = (passed.len() - 1) as f64 / span;
    println!(
        "together: achieved {achieved:.2}/s target {RATE}/s, {} cells",
        passed.len()
    );
    Ok(())
}
