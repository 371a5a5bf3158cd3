//! pacer-embassy on emulated hardware: QEMU's `microbit` (Cortex-M0, thumbv6m) and
//! `mps2-an386` (Cortex-M4, thumbv7em).
//!
//! A radio may send at most 10 packets per second, bursts of up to 3, and three tasks share it
//! through one `static` limiter whose quota is fixed at compile time (in flash; the limiter's
//! RAM is its 8-byte arrival time):
//! - `telemetry` has a reading every 20 ms, far more than the radio may send, and waits;
//! - `alarms` raises an alarm every 130 ms and waits too;
//! - `heartbeat` beats once a second, skipping a beat that would wait more than 250 ms;
//! - `beacon` tries every 700 ms but gives up on a send still waiting after 40 ms: its
//!   acquisition is dropped, which cancels the reservation (handing the slot back when it is
//!   still the newest), the path of the limiter's compare-and-swap on the target.
//!
//! Beside the radio, a `mesh` task relays to three neighbouring nodes on a second link, each
//! destination limited to 4 sends per second (bursts of 2) by one keyed limiter, a `static`
//! fixed table of room for 2 destinations (`KeyedLimiter<u8, 2>`): three destinations in two
//! slots, so the table is often full, a destination waits for the instant a slot frees
//! (`Error::TableFull`), and idle destinations are forgotten on the target. At 3 s one
//! destination answers "busy" and the mesh pauses that destination alone for 500 ms; the
//! check finds none of its sends in the pause.
//!
//! Every send is logged with the instant it went. After 6 s of emulated time the program
//! checks the log against the conformance rule itself (integer arithmetic, every pair of
//! sends; the radio's sends under its quota, each destination's under its own), prints what
//! it found through semihosting, and exits QEMU with status 0, or 1 on any violation. Its last
//! line is `qemu cortex-m0: N sends, max in any 1 s window K (limit L), ok`.
//!
//! Run: `bash run.sh cortex-m0` or `bash run.sh cortex-m4` (README.md).
#![no_std]
#![no_main]

mod check;
mod sends;
mod systick;

use core::borrow::Borrow;
use core::time::Duration;

use core::fmt::Arguments;
use cortex_m_semihosting::{debug, hprintln};
use embassy_executor::Spawner;
use embassy_time::{TimeoutError, Timer, with_timeout};
use pacer_embassy::{
    Clock, Error, KeyedGcra, Locked, Pausable, Quota, StaticLimiter, Timer as _, Uptime,
};
use panic_semihosting as _;

use check::{Rule, Verdict};

/// The core this machine emulates, as the last line names it.
#[cfg(machine = "microbit")]
const CORE: &str = "cortex-m0";
#[cfg(machine = "mps2-an386")]
const CORE: &str = "cortex-m4";

const COUNT: u32 = 10;
const BURST: u32 = 3;
/// How long the tasks send before the log is checked (at least 5 s of emulated time).
const RUN: Duration = Duration::from_secs(6);

/// At most 10 sends per second, bursts of up to 3: computed at compile time, kept in flash.
static QUOTA: Quota = valid(match Quota::per_second(COUNT) {
    Ok(quota) => quota.with_burst(BURST),
    Err(error) => Err(error),
});

/// The radio's quota as a type: it lends [`QUOTA`], so the compiler knows the quota and the
/// limiter keeps nothing of it in RAM.
struct RadioQuota;

impl Borrow<Quota> for RadioQuota {
    fn borrow(&self) -> &Quota {
        &QUOTA
    }
}

type Radio = StaticLimiter<RadioQuota>;

/// The radio's limiter, shared by `&'static` between the tasks.
static RADIO: Radio = Radio::from_quota(RadioQuota, Uptime);

/// Each destination of the mesh link: at most 4 sends per second, bursts of 2.
const NODE_COUNT: u32 = 4;
const NODE_BURST: u32 = 2;
static NODE_QUOTA: Quota = valid(match Quota::per_second(NODE_COUNT) {
    Ok(quota) => quota.with_burst(NODE_BURST),
    Err(error) => Err(error),
});

/// One limit per destination, in a fixed table with room for 2 destinations at once.
type Nodes = pacer_embassy::KeyedLimiter<u8, 2>;

/// The mesh link's per-destination limiter, built at compile time.
static NODES: Nodes = Nodes::from_parts(
    Pausable::new(Locked::new(KeyedGcra::new(NODE_QUOTA))),
    Uptime,
);

/// The mesh's destinations, as logged (senders `MESH + node`).
const DESTINATIONS: [u8; 3] = [1, 2, 3];
const MESH: u8 = 10;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let core = cortex_m::Peripherals::take().expect("core peripherals taken once");
    systick::start(core.SYST);
    say(format_args!(
        "qemu {CORE}: a radio of {COUNT} sends per second, bursts of {BURST}, shared by 4 tasks"
    ));

    spawner.spawn(telemetry(&RADIO).expect("telemetry spawns once"));
    spawner.spawn(alarms(&RADIO).expect("alarms spawns once"));
    spawner.spawn(heartbeat(&RADIO).expect("heartbeat spawns once"));
    spawner.spawn(beacon(&RADIO).expect("beacon spawns once"));
    spawner.spawn(mesh(&NODES).expect("mesh spawns once"));

    Timer::after(embassy_time::Duration::from_micros(RUN.as_micros() as u64)).await;
    let ok = report();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
}

/// Task numbers, as logged with each send.
const TELEMETRY: u8 = 0;
const ALARMS: u8 = 1;
const HEARTBEAT: u8 = 2;
const BEACON: u8 = 3;
const NAMES: [&str; 4] = ["telemetry", "alarms", "heartbeat", "beacon"];

/// Beacons given up on: their acquisition was dropped while it waited.
static GAVE_UP: critical_section::Mutex<core::cell::Cell<u32>> =
    critical_section::Mutex::new(core::cell::Cell::new(0));

/// A sensor reading every 20 ms, each sent as soon as the radio may.
#[embassy_executor::task]
async fn telemetry(radio: &'static Radio) {
    loop {
        Timer::after_millis(20).await;
        // Waits (without blocking the executor) until a cell is free.
        match radio.acquire().await {
            Ok(()) => radio_send(radio, TELEMETRY),
            Err(error) => fail("telemetry", error),
        }
    }
}

/// An alarm every 130 ms, each sent as soon as the radio may.
#[embassy_executor::task]
async fn alarms(radio: &'static Radio) {
    loop {
        Timer::after_millis(130).await;
        match radio.acquire().await {
            Ok(()) => radio_send(radio, ALARMS),
            Err(error) => fail("alarms", error),
        }
    }
}

/// A heartbeat every second, dropped rather than sent late.
#[embassy_executor::task]
async fn heartbeat(radio: &'static Radio) {
    loop {
        Timer::after_secs(1).await;
        match radio.acquire_within(1, Duration::from_millis(250)).await {
            Ok(()) => radio_send(radio, HEARTBEAT),
            // Would have waited too long: skip this beat; nothing was reserved.
            Err(Error::WouldWait { .. }) => {}
            Err(error) => fail("heartbeat", error),
        }
    }
}

/// A beacon every 700 ms, given up on if the radio has no slot for it within 40 ms.
#[embassy_executor::task]
async fn beacon(radio: &'static Radio) {
    loop {
        Timer::after_millis(700).await;
        match with_timeout(embassy_time::Duration::from_millis(40), radio.acquire()).await {
            Ok(Ok(())) => radio_send(radio, BEACON),
            // Timed out: the acquisition was dropped, and its reservation cancelled.
            Err(TimeoutError) => critical_section::with(|cs| {
                let gave_up = GAVE_UP.borrow(cs);
                gave_up.set(gave_up.get() + 1);
            }),
            Ok(Err(error)) => fail("beacon", error),
        }
    }
}

/// Relays to each destination in turn every 40 ms (about 8 per second to each, more than
/// its limit), waiting for that destination's cell; when the table has no room for it, waits
/// for the instant a slot frees and asks again. At 3 s destination [`BUSY_NODE`] answers
/// "busy" and the mesh pauses that destination alone for [`BUSY_FOR`].
#[embassy_executor::task]
async fn mesh(nodes: &'static Nodes) {
    for node in DESTINATIONS.iter().cycle() {
        Timer::after_millis(40).await;
        let now = nodes.timer().now();
        if now >= BUSY_AT && critical_section::with(|cs| BUSY.borrow(cs).get()).is_none() {
            match nodes.pause_key_for(&BUSY_NODE, BUSY_FOR) {
                Ok(_) => {
                    let until = nodes.key_paused_until(&BUSY_NODE).unwrap_or(now);
                    critical_section::with(|cs| BUSY.borrow(cs).set(Some((now, until))));
                }
                Err(error) => fail("mesh", error),
            }
        }
        loop {
            match nodes.acquire(node).await {
                Ok(()) => break,
                Err(Error::TableFull { at }) => {
                    critical_section::with(|cs| {
                        let full = TABLE_FULL.borrow(cs);
                        full.set(full.get() + 1);
                    });
                    nodes.timer().sleep_until(at).await;
                }
                Err(error) => fail("mesh", error),
            }
        }
        sends::record(nodes.timer().now(), MESH + node);
    }
}

/// The destination that answers "busy" once, when, and for how long the mesh pauses it.
const BUSY_NODE: u8 = 3;
const BUSY_AT: u64 = 3_000_000_000;
const BUSY_FOR: Duration = Duration::from_millis(500);

/// The pause of [`BUSY_NODE`] as made: the instant it was made and the instant it ends.
static BUSY: critical_section::Mutex<core::cell::Cell<Option<(u64, u64)>>> =
    critical_section::Mutex::new(core::cell::Cell::new(None));

/// New destinations the mesh's table had no room for at first.
static TABLE_FULL: critical_section::Mutex<core::cell::Cell<u32>> =
    critical_section::Mutex::new(core::cell::Cell::new(0));

/// The radio driver, stubbed: logs the send with the instant it goes.
fn radio_send(radio: &Radio, sender: u8) {
    sends::record(radio.timer().now(), sender);
}

/// An acquisition failed where none may: report it and stop with a failure status.
fn fail(task: &str, error: Error) -> ! {
    say(format_args!("qemu {CORE}: {task}: {error}"));
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Checks the log and prints the verdict; true if every send conforms.
fn report() -> bool {
    let rule = Rule {
        count: u64::from(QUOTA.count()),
        period: QUOTA.period_nanos(),
        burst: u64::from(QUOTA.burst()),
    };
    let limit = (rule.count + rule.burst - 1) as usize;
    let mesh_ok = report_mesh();
    sends::with(|all_instants, all_senders, lost| {
        // The radio's sends; the mesh's are checked per destination by `report_mesh`.
        let mut instants = [0u64; sends::CAPACITY];
        let mut senders = [0u8; sends::CAPACITY];
        let mut len = 0;
        for (&at, &sender) in all_instants.iter().zip(all_senders) {
            if sender < MESH {
                instants[len] = at;
                senders[len] = sender;
                len += 1;
            }
        }
        let (instants, senders) = (&instants[..len], &senders[..len]);
        let mut by_task = [0usize; 4];
        for &sender in senders {
            by_task[usize::from(sender)] += 1;
        }
        let last = instants.last().copied().unwrap_or(0);
        say(format_args!(
            "qemu {CORE}: {} sends in {} ms of emulated time ({} {}, {} {}, {} {}, {} {}; \
             beacons given up {})",
            instants.len(),
            last / 1_000_000,
            NAMES[0],
            by_task[0],
            NAMES[1],
            by_task[1],
            NAMES[2],
            by_task[2],
            NAMES[3],
            by_task[3],
            critical_section::with(|cs| GAVE_UP.borrow(cs).get()),
        ));
        if lost > 0 {
            say(format_args!(
                "qemu {CORE}: {lost} sends did not fit the log: FAILED"
            ));
            return false;
        }
        if senders.iter().any(|&s| s != TELEMETRY) && by_task.iter().filter(|&&n| n > 0).count() < 2
        {
            say(format_args!(
                "qemu {CORE}: fewer than two tasks sent: FAILED"
            ));
            return false;
        }
        if last < RUN.as_nanos() as u64 * 5 / 6 {
            say(format_args!(
                "qemu {CORE}: the sends cover less than 5 s: FAILED"
            ));
            return false;
        }
        if !mesh_ok {
            return false;
        }
        match check::check(instants, rule) {
            Verdict::Conforms { busiest } if busiest <= limit => {
                say(format_args!(
                    "qemu {CORE}: {} sends, max in any 1 s window {busiest} (limit {limit}), ok",
                    instants.len()
                ));
                true
            }
            Verdict::Conforms { busiest } => {
                say(format_args!(
                    "qemu {CORE}: {} sends, max in any 1 s window {busiest} (limit {limit}), \
                     FAILED",
                    instants.len()
                ));
                false
            }
            Verdict::TooClose { i, j } => {
                say(format_args!(
                    "qemu {CORE}: sends {i} (at {} ns) and {j} (at {} ns) are too close: \
                     {} sends in {} ns break {COUNT} per second, burst {BURST}: FAILED",
                    instants[i],
                    instants[j],
                    j - i + 1,
                    instants[j] - instants[i]
                ));
                false
            }
            Verdict::OutOfOrder { i } => {
                say(format_args!(
                    "qemu {CORE}: send {i} went before send {}: FAILED",
                    i - 1
                ));
                false
            }
        }
    })
}

/// Checks each mesh destination's sends against its own limit and prints a line for each;
/// true if every one conforms.
fn report_mesh() -> bool {
    let rule = Rule {
        count: u64::from(NODE_QUOTA.count()),
        period: NODE_QUOTA.period_nanos(),
        burst: u64::from(NODE_QUOTA.burst()),
    };
    let limit = (rule.count + rule.burst - 1) as usize;
    let full = critical_section::with(|cs| TABLE_FULL.borrow(cs).get());
    let mut ok = true;
    for node in DESTINATIONS {
        let mut instants = [0u64; sends::CAPACITY];
        let mut len = 0;
        sends::with(|all, senders, _| {
            for (&at, &sender) in all.iter().zip(senders) {
                if sender == MESH + node {
                    instants[len] = at;
                    len += 1;
                }
            }
        });
        let instants = &instants[..len];
        // Conforms, within the window bound, and enough sends to say so (6 s at 4 per second).
        let busiest = match check::check(instants, rule) {
            Verdict::Conforms { busiest } => Some(busiest),
            _ => None,
        };
        // The busy destination sent nothing while it was paused, and was paused at all.
        let busy = critical_section::with(|cs| BUSY.borrow(cs).get());
        let quiet = match busy {
            Some((from, until)) if node == BUSY_NODE => {
                let during = instants
                    .iter()
                    .filter(|&&at| at >= from && at < until)
                    .count();
                say(format_args!(
                    "qemu {CORE}: mesh node {node}: paused from {} ms to {} ms, {during} sends in it",
                    from / 1_000_000,
                    until / 1_000_000
                ));
                until - from == BUSY_FOR.as_nanos() as u64 && during == 0
            }
            Some(_) => true,
            None => false,
        };
        let verdict = busiest.is_some_and(|b| b <= limit) && len >= 5 && quiet;
        let busiest = busiest.unwrap_or(usize::MAX);
        say(format_args!(
            "qemu {CORE}: mesh node {node}: {len} sends, max in any 1 s window {busiest} \
             (limit {limit}), {}",
            if verdict { "ok" } else { "FAILED" }
        ));
        ok &= verdict;
    }
    say(format_args!(
        "qemu {CORE}: mesh: {} destinations in a table of 2 ({} bytes of RAM); a destination \
         waited for a slot {full} times",
        DESTINATIONS.len(),
        core::mem::size_of::<Nodes>()
    ));
    ok
}

/// Prints one line through semihosting (QEMU's standard output).
fn say(line: Arguments<'_>) {
    hprintln!("{}", line);
}

/// The quota, or a compile error: in a `static` this runs at compile time.
const fn valid(quota: Result<Quota, Error>) -> Quota {
    match quota {
        Ok(quota) => quota,
        Err(_) => panic!("the radio's quota is invalid"),
    }
}
