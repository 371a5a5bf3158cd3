//! The radio of `examples/embassy-firmware`, run on a PC: at most 10 sends per second with
//! bursts of up to 3, shared by two embassy tasks through one pacer-embassy `Limiter`, on
//! embassy-executor's std platform and embassy-time's std driver (real time).
//!
//! `telemetry` has a reading every 20 ms and sends 30 of them, each as soon as the radio may;
//! `heartbeat` sends once a second, or skips a beat that would wait more than 250 ms. Every
//! send prints its instant; the last lines give the rate achieved.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use embassy_executor::{Executor, Spawner};
use embassy_time::Timer;
use pacer_embassy::{Clock, Error, Limiter, Quota};

/// Telemetry readings to send before the program ends.
const READINGS: u32 = 30;
const COUNT: u32 = 10;
const BURST: u32 = 3;

/// Every send: nanoseconds since the limiter's origin, and what was sent.
static SENT: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
/// Set once telemetry has sent its last reading: the executor then returns.
static DONE: AtomicBool = AtomicBool::new(false);

fn main() {
    let quota = Quota::per_second(COUNT)
        .and_then(|quota| quota.with_burst(BURST))
        .expect("a valid quota");
    let radio: &'static Limiter = Box::leak(Box::new(Limiter::new(quota)));
    println!("radio: at most {COUNT} sends per second, bursts of up to {BURST}");

    let executor: &'static mut Executor = Box::leak(Box::new(Executor::new()));
    executor.run_until(
        |spawner: Spawner| {
            spawner.spawn(telemetry(radio).expect("telemetry spawns once"));
            spawner.spawn(heartbeat(radio).expect("heartbeat spawns once"));
        },
        || DONE.load(Ordering::Acquire),
    );

    report(&SENT.lock().expect("log"));
}

/// A sensor reading every 20 ms, each sent as soon as the radio may.
#[embassy_executor::task]
async fn telemetry(radio: &'static Limiter) {
    for reading in 1..=READINGS {
        Timer::after_millis(20).await;
        // Waits (without blocking the executor) until a cell is free.
        radio.acquire().await.expect("one cell always fits");
        radio_send(radio, format!("telemetry #{reading}"));
    }
    DONE.store(true, Ordering::Release);
}

/// A heartbeat every second, dropped rather than sent late.
#[embassy_executor::task]
async fn heartbeat(radio: &'static Limiter) {
    loop {
        Timer::after_secs(1).await;
        match radio.acquire_within(1, Duration::from_millis(250)).await {
            Ok(()) => radio_send(radio, "heartbeat".to_owned()),
            // Would have waited too long: skip this beat; nothing was reserved.
            Err(Error::WouldWait { at }) => println!(
                "           heartbeat skipped (next slot at {:.3} s)",
                seconds(at)
            ),
            Err(other) => panic!("heartbeat: {other}"),
        }
    }
}

/// The radio driver, stubbed: prints the packet with its instant.
fn radio_send(radio: &Limiter, packet: String) {
    let at = radio.timer().now();
    println!("{:>8.3} s  {packet}", seconds(at));
    SENT.lock().expect("log").push((at, packet));
}

/// How fast the radio went: overall, and in the busiest one-second window. (The instants are
/// read as each send happens, a few microseconds after the reserved instant, so on a loaded
/// machine they jitter; the reserved instants themselves keep the quota exactly, which the
/// pacer-embassy tests check on embassy-time's mock driver.)
fn report(sent: &[(u64, String)]) {
    let instants: Vec<u64> = sent.iter().map(|&(at, _)| at).collect();
    let (first, last) = (instants[0], instants[instants.len() - 1]);
    let n = instants.len() as f64;
    // The first `BURST` may go back to back; each later one needs 1/COUNT s.
    let steady = (n - f64::from(BURST)) / seconds(last - first);
    let busiest = (0..instants.len())
        .map(|i| instants[i..].partition_point(|&at| at < instants[i] + 1_000_000_000))
        .max()
        .unwrap_or(0);
    println!(
        "achieved: {} sends in {:.3} s, {steady:.2} per second after the first burst \
         (quota {COUNT} per second); busiest 1-second window: {busiest} sends \
         (at most {COUNT} + burst {BURST} - 1 = {})",
        instants.len(),
        seconds(last - first),
        COUNT + BURST - 1,
    );
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}
