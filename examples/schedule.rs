//! Prints the instants pacer's core schedulers hand out, with no runtime and no real time:
//! "100 per second, burst 1" for 10 acquisitions, "3 per second" (an interval that is not a
//! whole number of nanoseconds), and a sliding window of 5 per second.
//!
//! Run: `cargo run --example schedule`

use pacer_core::{Error, Gcra, Quota, Scheduler, SlidingWindow};

fn main() -> Result<(), Error> {
    let mut strict = Gcra::new(Quota::per_second(100)?);
    print_schedule("100 per second, burst 1", |now| {
        strict.reserve(now, 1).map(|r| r.at())
    })?;

    let mut thirds = Gcra::new(Quota::per_second(3)?);
    print_schedule("3 per second (exact thirds, rounded up)", |now| {
        thirds.reserve(now, 1).map(|r| r.at())
    })?;

    let mut window = SlidingWindow::<5>::new(Quota::per_second(5)?)?;
    print_schedule("sliding window, 5 per second", |now| {
        window.reserve(now, 1).map(|r| r.at())
    })?;
    Ok(())
}

/// Makes 10 acquisitions, all asked for at instant 0, and prints when each may go.
fn print_schedule(
    title: &str,
    mut reserve: impl FnMut(u64) -> Result<u64, Error>,
) -> Result<(), Error> {
    println!("{title}:");
    for i in 0..10 {
        let at = reserve(0)?;
        println!("  #{i:<2} at {:>13.6} ms", at as f64 / 1e6);
    }
    Ok(())
}
