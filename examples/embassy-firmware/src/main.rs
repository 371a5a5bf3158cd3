//! A radio that may send at most 10 packets per second, with bursts of up to 3, shared by two
//! embassy tasks through one pacer-embassy `Limiter`.
//!
//! `telemetry` has a reading every 20 ms, far more than the radio may send, and waits for its
//! turn; `heartbeat` sends once a second but gives up on a beat that would wait more than
//! 250 ms. Both draw on the same quota, served in the order they asked (FIFO). While they wait,
//! the executor sleeps (`WFE`) until the SysTick time driver wakes it.
#![no_std]
#![no_main]

mod systick;

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use embassy_executor::Spawner;
use embassy_time::Timer;
use pacer_embassy::{Error, Limiter, Quota};
use panic_halt as _;
use static_cell::StaticCell;

/// The radio's limiter, shared by `&'static` between tasks.
static RADIO: StaticCell<Limiter> = StaticCell::new();

/// Packets handed to the radio (watch it in a debugger).
static SENT: AtomicU32 = AtomicU32::new(0);

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    systick::start(core.SYST);

    let quota = Quota::per_second(10)
        .and_then(|quota| quota.with_burst(3))
        .expect("a valid quota");
    let radio: &'static Limiter = RADIO.init(Limiter::new(quota));

    spawner.spawn(telemetry(radio).expect("telemetry spawns once"));
    spawner.spawn(heartbeat(radio).expect("heartbeat spawns once"));
}

/// A sensor reading every 20 ms, each sent as soon as the radio may.
#[embassy_executor::task]
async fn telemetry(radio: &'static Limiter) {
    let mut reading: u32 = 0;
    loop {
        Timer::after_millis(20).await;
        reading = reading.wrapping_add(1);
        // Waits (without blocking the executor) until a cell is free.
        if radio.acquire().await.is_ok() {
            radio_send(&reading.to_le_bytes());
        }
    }
}

/// A heartbeat every second, dropped rather than sent late.
#[embassy_executor::task]
async fn heartbeat(radio: &'static Limiter) {
    loop {
        Timer::after_secs(1).await;
        match radio.acquire_within(1, Duration::from_millis(250)).await {
            Ok(()) => radio_send(b"alive"),
            // Would have waited too long: skip this beat; nothing was reserved.
            Err(Error::WouldWait { .. }) => {}
            Err(_) => {}
        }
    }
}

/// The radio driver, stubbed: counts the packet and keeps it from being optimized away.
fn radio_send(packet: &[u8]) {
    core::hint::black_box(packet);
    SENT.fetch_add(1, Ordering::Relaxed);
}
