//! A radio that may send at most 10 packets per second, with bursts of up to 3, shared by two
//! embassy tasks through one pacer-embassy `Limiter`.
//!
//! `telemetry` has a reading every 20 ms, far more than the radio may send, and waits for its
//! turn; `heartbeat` sends once a second but gives up on a beat that would wait more than
//! 250 ms. Both draw on the same quota, served in the order they asked (FIFO). While they wait,
//! the executor sleeps (`WFE`) until the SysTick time driver wakes it.
//!
//! The limiter is a `static` `StaticLimiter`: its quota is computed at compile time and kept in
//! flash, and its RAM is the 8-byte arrival time, shared through a `critical-section` mutex.
#![no_std]
#![no_main]

mod systick;

#[cfg(not(feature = "quota-by-reference"))]
use core::borrow::Borrow;
use core::cell::Cell;
use core::time::Duration;

use critical_section::Mutex;

use embassy_executor::Spawner;
use embassy_time::Timer;
use pacer_embassy::{Error, Quota, StaticLimiter, Uptime};
use panic_halt as _;

/// At most 10 sends per second, bursts of up to 3: computed at compile time, kept in flash.
static QUOTA: Quota = valid(match Quota::per_second(10) {
    Ok(quota) => quota.with_burst(3),
    Err(error) => Err(error),
});

/// The radio's quota as a type: it lends [`QUOTA`], which the compiler then knows, so the
/// acquisition's code is specialized for it (a whole number of nanoseconds per cell needs no
/// 128-bit arithmetic at all) and the limiter's RAM is its 8-byte arrival time alone.
#[cfg(not(feature = "quota-by-reference"))]
struct RadioQuota;

#[cfg(not(feature = "quota-by-reference"))]
impl Borrow<Quota> for RadioQuota {
    fn borrow(&self) -> &Quota {
        &QUOTA
    }
}

/// The radio's limiter, a `static` shared by `&'static` between tasks.
#[cfg(not(feature = "quota-by-reference"))]
type Radio = StaticLimiter<RadioQuota>;
#[cfg(not(feature = "quota-by-reference"))]
static RADIO: Radio = Radio::from_quota(RadioQuota, Uptime);

/// The same limiter holding a reference to the quota (feature `quota-by-reference`): any
/// quota at run time, at the cost of generic code and 4 more bytes of RAM (8 with padding).
#[cfg(feature = "quota-by-reference")]
type Radio = StaticLimiter;
#[cfg(feature = "quota-by-reference")]
static RADIO: Radio = Radio::from_quota(&QUOTA, Uptime);

/// Packets handed to the radio (watch it in a debugger). A `critical-section` cell rather than
/// an atomic counter: thumbv6m has no atomic read-modify-write.
static SENT: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    systick::start(core.SYST);

    spawner.spawn(telemetry(&RADIO).expect("telemetry spawns once"));
    spawner.spawn(heartbeat(&RADIO).expect("heartbeat spawns once"));
}

/// The quota, or a compile error: in a `static` this runs at compile time.
const fn valid(quota: Result<Quota, Error>) -> Quota {
    match quota {
        Ok(quota) => quota,
        Err(_) => panic!("the radio's quota is invalid"),
    }
}

/// A sensor reading every 20 ms, each sent as soon as the radio may.
#[embassy_executor::task]
async fn telemetry(radio: &'static Radio) {
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
async fn heartbeat(radio: &'static Radio) {
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
    critical_section::with(|cs| {
        let sent = SENT.borrow(cs);
        sent.set(sent.get().wrapping_add(1));
    });
}
