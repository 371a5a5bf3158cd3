//! A LoRa-style radio under the EU868 duty cycle: at most 1% of airtime, 36,000 ms in any
//! hour, weighted by each packet's airtime (a cell is 1 ms of airtime), shared by two embassy
//! tasks through one pacer-embassy `Limiter` on a `DutyCycle` window of 32 entries.
//!
//! `uplink` sends sensor packets of 50 to 1,500 ms of airtime, `acks` short ones of 20 to
//! 100 ms; each sends its next packet as soon as the last one is off the air, far more than
//! the duty cycle allows, so both wait on the limiter. A cell-by-cell log of an hour would
//! need 36,000 instants (288 KB); the window here is 32 entries (512 bytes), whose merges may
//! only make the radio wait longer than the exact rule would, by at most 2 h / 32 = 225 s.
//!
//! It runs six hours of radio time in well under a second: on embassy-time's mock driver,
//! which moves only when told, each step jumps the clock to the next timer that is due (the
//! tasks' sleeps and the limiter's, which the simulation notes as they are made). At the end it
//! prints the airtime used in the worst hour, checked against the 36,000 ms.
//!
//! Run: `cargo run -p pacer-embassy --example duty_cycle`.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

use embassy_time::{Instant, MockDriver};
use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use pacer_embassy::{Clock, DutyCycle, EmbassyTimer, Locked, Pacer, Quota, Timer};

/// Milliseconds of airtime per hour: 1% of 3,600,000.
const AIRTIME_PER_HOUR: u32 = 36_000;
/// Entries of the duty-cycle log.
const ENTRIES: usize = 32;
const MS: u64 = 1_000_000;
const HOUR: u64 = 3_600_000 * MS;
/// Radio time simulated.
const HOURS: u64 = 6;

/// The radio's limiter: cells are milliseconds of airtime, a window of an hour.
/// (In firmware: `Limiter<Locked<DutyCycle<ENTRIES>>>` on embassy-time's own timer; here the
/// timer also tells the simulation when to wake.)
type Radio = Pacer<Locked<DutyCycle<ENTRIES>>, SimTimer>;

fn main() -> Result<(), pacer_embassy::Error> {
    let quota = Quota::per_hour(AIRTIME_PER_HOUR)?;
    let window = DutyCycle::<ENTRIES>::new(quota)?;
    println!(
        "radio: {AIRTIME_PER_HOUR} ms of airtime per hour, a window of {ENTRIES} entries \
         (merges wait at most {} s longer than exact)",
        window.merge_bound().as_secs()
    );

    MockDriver::get().reset();
    let timer = SimTimer::new();
    let radio = Rc::new(Radio::from_parts(Locked::new(window), timer.clone()));
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

    report(&log.borrow())
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
async fn sender(
    radio: Rc<Radio>,
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

/// Prints the airtime per hour, and the worst hour: the most airtime in any window of an hour.
fn report(sends: &[Send]) -> Result<(), pacer_embassy::Error> {
    let total: u64 = sends.iter().map(|s| u64::from(s.airtime)).sum();
    for sender in ["uplink", "acks"] {
        let mine: Vec<_> = sends.iter().filter(|s| s.sender == sender).collect();
        let airtime: u64 = mine.iter().map(|s| u64::from(s.airtime)).sum();
        println!(
            "{sender:>7}: {} packets, {airtime} ms of airtime",
            mine.len()
        );
    }
    for hour in 0..HOURS {
        let used: u64 = sends
            .iter()
            .filter(|s| s.at / HOUR == hour)
            .map(|s| u64::from(s.airtime))
            .sum();
        println!("hour {hour}: {used} ms of airtime");
    }
    // The worst hour: windows [t, t + 1 h) starting at each send hold the most airtime.
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
        "{} packets, {total} ms of airtime in {HOURS} h; worst hour: {} ms of airtime \
         (from {:.1} s; limit {AIRTIME_PER_HOUR})",
        sends.len(),
        worst.0,
        worst.1 as f64 / 1e9,
    );
    assert!(
        worst.0 <= u64::from(AIRTIME_PER_HOUR),
        "the duty cycle was exceeded"
    );
    Ok(())
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
