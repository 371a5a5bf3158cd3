//! A LoRa-style radio under the EU868 duty cycle: at most 1% of airtime, 36,000 ms in any
//! hour, weighted by each packet's airtime (a cell is 1 ms of airtime), shared by two embassy
//! tasks through one pacer-embassy limiter on a `DutyCycle` window of 32 entries.
//!
//! `uplink` sends sensor packets of 50 to 1,500 ms of airtime, `acks` short ones of 20 to
//! 100 ms; each sends its next packet as soon as the last one is off the air, far more than
//! the duty cycle allows, so both wait on the limiter. A cell-by-cell log of an hour would
//! need 36,000 instants (288 KB); the window here is 32 entries (512 bytes), whose merges may
//! only make the radio wait longer than the exact rule would, by at most 2 h / 32 = 225 s.
//!
//! It runs six hours of radio time in about a second: on embassy-time's mock driver, which
//! moves only when told, each step jumps the clock to the next timer that is due (the tasks'
//! sleeps and the limiter's, which the simulation notes as they are made). It prints the
//! airtime used in each hour and in the worst hour (checked against the 36,000 ms), then the
//! same for the same senders on an exact log of every cell (`SlidingWindow<36000>`), to show
//! what the merging costs.
//!
//! Run: `cargo run --release -p pacer-embassy --example duty_cycle`.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem::size_of;
use std::rc::Rc;

use embassy_time::{Instant, MockDriver};
use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use pacer_embassy::{
    Clock, DutyCycle, EmbassyTimer, Locked, Pacer, Quota, RateLimiter, SlidingWindow, Timer,
};

/// Milliseconds of airtime per hour: 1% of 3,600,000.
const AIRTIME_PER_HOUR: u32 = 36_000;
/// Cells an exact log must hold: one per millisecond of airtime in an hour.
const EXACT: usize = AIRTIME_PER_HOUR as usize;
/// Entries of the duty-cycle log.
const ENTRIES: usize = 32;
const MS: u64 = 1_000_000;
const HOUR: u64 = 3_600_000 * MS;
/// Radio time simulated.
const HOURS: u64 = 6;

fn main() -> Result<(), pacer_embassy::Error> {
    let quota = Quota::per_hour(AIRTIME_PER_HOUR)?;
    let window = DutyCycle::<ENTRIES>::new(quota)?;
    println!(
        "radio: {AIRTIME_PER_HOUR} ms of airtime per hour, sent by uplink (50-1,500 ms a \
         packet) and acks (20-100 ms)"
    );
    println!(
        "DutyCycle<{ENTRIES}>: {} bytes; merges may make the radio wait up to {} s longer than \
         exact",
        size_of::<DutyCycle<ENTRIES>>(),
        window.merge_bound().as_secs()
    );
    // In firmware: a `static` `Limiter<Locked<DutyCycle<32>>>` (feature `critical-section`)
    // on embassy-time's own timer; here the timer also tells the simulation when to wake.
    let merged = simulate(Locked::new(window));
    let merged_worst = report(&format!("DutyCycle<{ENTRIES}>"), &merged);

    // The same senders on an exact log of every cell: 36,000 instants, on the heap.
    let exact = Box::new(Locked::new(SlidingWindow::<EXACT>::new(quota)?));
    println!(
        "SlidingWindow<{EXACT}> (exact): {} bytes",
        size_of::<SlidingWindow<EXACT>>()
    );
    let exact = simulate(&*Box::leak(exact));
    let exact_worst = report(&format!("SlidingWindow<{EXACT}>"), &exact);

    let limit = u64::from(AIRTIME_PER_HOUR);
    assert!(
        merged_worst <= limit && exact_worst <= limit,
        "the duty cycle was exceeded"
    );
    Ok(())
}

/// Runs the two senders on `limiter` for [`HOURS`] of radio time; returns every send.
fn simulate<L: RateLimiter + 'static>(limiter: L) -> Vec<Send> {
    MockDriver::get().reset();
    let timer = SimTimer::new();
    let radio = Rc::new(Pacer::from_parts(limiter, timer.clone()));
    let log: Rc<RefCell<Vec<Send>>> = Rc::default();

    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let tasks = [("uplink", 50, 1_500, 1), ("acks", 20, 100, 2)];
    for (name, shortest, longest, seed) in tasks {
        let (radio, log) = (radio.clone(), log.clone());
        let task = sender(radio, log, name, shortest, longest, seed);
        spawner.spawn_local(task).expect("spawn");
    }

    // The simulation: run every task until it waits, then move the clock to the next alarm.
    while timer.now() < HOURS * HOUR {
        pool.run_until_stalled();
        let Some(next) = timer.next_alarm() else {
            break;
        };
        let now = Instant::now();
        let to = timer.inner.instant_at(next);
        if to > now {
            MockDriver::get().advance(to - now);
        }
    }
    log.take()
}

/// Prints the airtime per hour and in the worst hour (the most airtime in any window of an
/// hour, found over the windows that start at a send); returns the worst hour's airtime.
fn report(name: &str, sends: &[Send]) -> u64 {
    let total: u64 = sends.iter().map(|s| u64::from(s.airtime)).sum();
    let per_sender = ["uplink", "acks"].map(|sender| {
        let mine = sends.iter().filter(|s| s.sender == sender);
        let airtime: u64 = mine.clone().map(|s| u64::from(s.airtime)).sum();
        format!("{sender} {} packets {airtime} ms", mine.count())
    });
    let hours: Vec<String> = (0..HOURS)
        .map(|hour| {
            let used: u64 = sends
                .iter()
                .filter(|s| s.at / HOUR == hour)
                .map(|s| u64::from(s.airtime))
                .sum();
            used.to_string()
        })
        .collect();
    let mut worst = (0u64, 0u64);
    let mut end = 0;
    let mut held = 0u64;
    for send in sends {
        while end < sends.len() && sends[end].at < send.at + HOUR {
            held += u64::from(sends[end].airtime);
            end += 1;
        }
        worst = worst.max((held, send.at));
        held -= u64::from(send.airtime);
    }
    println!(
        "  {}; ms of airtime by hour: {}",
        per_sender.join(", "),
        hours.join(", ")
    );
    println!(
        "  {name}: {} ms of airtime in {HOURS} h ({:.2}% of the {} allowed); worst hour: {} ms \
         (from {:.1} s; limit {AIRTIME_PER_HOUR})",
        total,
        total as f64 * 100.0 / (HOURS * u64::from(AIRTIME_PER_HOUR)) as f64,
        HOURS * u64::from(AIRTIME_PER_HOUR),
        worst.0,
        worst.1 as f64 / 1e9,
    );
    worst.0
}

/// One packet on the air: when it started, its airtime in ms, and who sent it.
#[derive(Clone, Copy, Debug)]
struct Send {
    at: u64,
    airtime: u32,
    sender: &'static str,
}

/// Sends packets of `shortest..=longest` ms of airtime, each as soon as the last is off the
/// air and the duty cycle allows.
async fn sender<L: RateLimiter>(
    radio: Rc<Pacer<L, SimTimer>>,
    log: Rc<RefCell<Vec<Send>>>,
    sender: &'static str,
    shortest: u32,
    longest: u32,
    seed: u64,
) {
    let mut random = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    loop {
        let airtime = shortest + (random.next() % u64::from(longest - shortest + 1)) as u32;
        // Waits, without blocking the executor, until the hour has room for this airtime.
        radio
            .acquire_n(airtime)
            .await
            .expect("a packet within the hour's airtime always fits");
        let at = radio.timer().now();
        log.borrow_mut().push(Send {
            at,
            airtime,
            sender,
        });
        // On the air.
        let end = at + u64::from(airtime) * MS;
        radio.timer().sleep_until(end).await;
    }
}

/// pacer-embassy's timer, noting every sleep so the simulation knows when to wake next.
#[derive(Clone)]
struct SimTimer {
    inner: EmbassyTimer,
    alarms: Rc<RefCell<BinaryHeap<Reverse<u64>>>>,
}

impl SimTimer {
    fn new() -> SimTimer {
        SimTimer {
            inner: EmbassyTimer::new(),
            alarms: Rc::default(),
        }
    }

    /// The earliest alarm after now, forgetting those already due.
    fn next_alarm(&self) -> Option<u64> {
        let now = self.now();
        let mut alarms = self.alarms.borrow_mut();
        while alarms.peek().is_some_and(|&Reverse(at)| at <= now) {
            alarms.pop();
        }
        alarms.peek().map(|&Reverse(at)| at)
    }
}

impl Clock for SimTimer {
    fn now(&self) -> u64 {
        self.inner.now()
    }
}

impl Timer for SimTimer {
    type Sleep = embassy_time::Timer;

    fn sleep_until(&self, at: u64) -> embassy_time::Timer {
        self.alarms.borrow_mut().push(Reverse(at));
        self.inner.sleep_until(at)
    }
}

/// xorshift64: a fixed pseudo-random sequence, the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
