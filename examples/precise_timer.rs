//! One task that acquires in a loop, at 1,000 per second with burst 1, on tokio's timer and on
//! pacer-tokio's `PreciseTimer` (feature `precise`, Linux and Android).
//!
//! On tokio's 1 ms timer each wait ends up to about 2 ms late, and with burst 1 a slot the task
//! reaches late is gone, so the loop falls short of the rate and further behind the schedule
//! with every lost slot. `PreciseTimer` ends a lone waiter's wait within microseconds (its
//! slack only groups waits that are queued together), so the same loop keeps the rate. The program prints one line per timer; three runs here gave:
//!
//! ```text
//! tokio's timer:  500 passes, achieved 940.1/s (target 1000/s), median 16.38 ms after the slot
//! PreciseTimer:   500 passes, achieved 999.2/s (target 1000/s), median 0.05 ms after the slot
//! tokio's timer:  500 passes, achieved 952.8/s (target 1000/s), median 13.31 ms after the slot
//! PreciseTimer:   500 passes, achieved 1000.0/s (target 1000/s), median 0.03 ms after the slot
//! tokio's timer:  500 passes, achieved 957.4/s (target 1000/s), median 10.81 ms after the slot
//! PreciseTimer:   500 passes, achieved 999.9/s (target 1000/s), median 0.02 ms after the slot
//! ```
//!
//! "after the slot" is each pass's distance from the ideal schedule first + i / rate. (On
//! tokio's timer a burst of 3 also keeps the rate: see pacer-tokio's docs.)
//!
//! Run it with `cargo run --release --example precise_timer`.

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::time::Instant;

    use pacer_tokio::{Limiter, PreciseTimer, Quota};

    const RATE: u32 = 1_000;
    const PASSES: usize = 500;

    /// Acquires `PASSES` cells one after the other; returns the instant of each pass.
    async fn in_a_loop<L, T>(
        limiter: &pacer_core::Pacer<L, T>,
    ) -> Result<Vec<Instant>, pacer_tokio::Error>
    where
        L: pacer_core::RateLimiter,
        T: pacer_core::Timer,
    {
        let mut passes = Vec::with_capacity(PASSES);
        for _ in 0..PASSES {
            limiter.acquire().await?;
            passes.push(Instant::now());
        }
        Ok(passes)
    }

    /// The line for one timer: achieved rate first to last, and the median distance of a pass
    /// from the ideal schedule.
    fn report(name: &str, passes: &[Instant]) -> String {
        let span = passes[passes.len() - 1] - passes[0];
        let achieved = (passes.len() - 1) as f64 / span.as_secs_f64();
        let interval = 1.0 / f64::from(RATE);
        let mut late: Vec<f64> = passes
            .iter()
            .enumerate()
            .map(|(i, &at)| (at - passes[0]).as_secs_f64() - i as f64 * interval)
            .collect();
        late.sort_by(f64::total_cmp);
        format!(
            "{name:<15} {} passes, achieved {achieved:.1}/s (target {RATE}/s), median {:.2} ms after the slot",
            passes.len(),
            late[late.len() / 2] * 1e3,
        )
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let quota = Quota::per_second(RATE)?;

        let coarse = Limiter::new(quota);
        println!("{}", report("tokio's timer:", &in_a_loop(&coarse).await?));

        let precise = PreciseTimer::new()?.limiter(quota);
        println!("{}", report("PreciseTimer:", &in_a_loop(&precise).await?));
        Ok(())
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() {
    println!("PreciseTimer uses a Linux timerfd: this example runs on Linux and Android only.");
}
