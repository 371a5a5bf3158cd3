//! `StaticLimiter` on `Uptime`, as firmware builds it (a `static`, its quota in a `static`),
//! on embassy-time's mock driver: acquisitions complete exactly at the first tick that reads
//! their instant and never a tick before, whether the limiter names its quota by a type or
//! holds a reference; a dropped acquisition hands its slot back; and the limiter is the
//! arrival time and nothing more (plus the reference, in that form).
#![allow(missing_docs)]

use std::borrow::Borrow;
use std::future::Future;
use std::pin::pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use embassy_time::{Instant, MockDriver};
use pacer_embassy::{Clock, Gcra, Quota, RateLimiter, Scheduler, StaticLimiter, Uptime};

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes this test's turn with the global mock driver, reset to instant 0.
fn serial() -> MutexGuard<'static, ()> {
    let turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    MockDriver::get().reset();
    turn
}

fn advance_to(to: Instant) {
    let now = Instant::now();
    if to > now {
        MockDriver::get().advance(to - now);
    }
}

const fn valid(quota: Result<Quota, pacer_embassy::Error>) -> Quota {
    match quota {
        Ok(quota) => quota,
        Err(_) => panic!("invalid quota"),
    }
}

/// 3 per second, burst 2: an interval of 333,333,333⅓ ns, not a whole number of nanoseconds.
static THIRDS: Quota = valid(match Quota::per_second(3) {
    Ok(quota) => quota.with_burst(2),
    Err(error) => Err(error),
});

/// Names `THIRDS` by a type.
struct Thirds;

impl Borrow<Quota> for Thirds {
    fn borrow(&self) -> &Quota {
        &THIRDS
    }
}

static BY_TYPE: StaticLimiter<Thirds> = StaticLimiter::from_quota(Thirds, Uptime);
static BY_REFERENCE: StaticLimiter = StaticLimiter::from_quota(&THIRDS, Uptime);
static DROPPED: StaticLimiter<Thirds> = StaticLimiter::from_quota(Thirds, Uptime);

/// Acquires `instants.len()` single cells on `limiter`, all asked for at instant 0, and steps
/// the mock driver to one tick before and onto each reference instant: each completes on its
/// tick, none before.
fn run<Q: Borrow<Quota>>(limiter: &'static StaticLimiter<Q>, n: usize) {
    let mut reference = Gcra::new(THIRDS);
    let mut acquisitions: Vec<_> = (0..n).map(|_| Box::pin(limiter.acquire())).collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut instants = Vec::new();
    for acquisition in &mut acquisitions {
        let at = reference.reserve(0, 1).unwrap().at();
        let first = acquisition.as_mut().poll(&mut cx); // reserves
        assert_eq!(first.is_ready(), at == 0, "instant {at}");
        instants.push(at);
    }
    for (k, &at) in instants.iter().enumerate() {
        if at == 0 {
            continue;
        }
        let tick = Uptime.instant_at(at);
        assert!(
            Uptime.nanos_at(tick) >= at,
            "the wake tick reads {at} or more"
        );
        advance_to(Instant::from_ticks(tick.as_ticks() - 1));
        assert!(
            acquisitions[k].as_mut().poll(&mut cx).is_pending(),
            "acquisition {k} (instant {at}) completed a tick early"
        );
        advance_to(tick);
        assert_eq!(acquisitions[k].as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        assert!(Uptime.now() >= at);
    }
    assert_eq!(instants[..3], [0, 0, 333_333_334]);
}

#[test]
fn a_static_limiter_completes_on_the_tick_of_each_instant() {
    let _turn = serial();
    run(&BY_TYPE, 8);
}

#[test]
fn a_static_limiter_by_reference_keeps_the_same_schedule() {
    let _turn = serial();
    run(&BY_REFERENCE, 8);
}

#[test]
fn a_dropped_acquisition_hands_its_slot_back() {
    let _turn = serial();
    let mut cx = Context::from_waker(Waker::noop());
    // The burst of 2 goes at once; the third waits for 333,333,334 ns.
    DROPPED.try_acquire(2).unwrap();
    {
        let mut third = pin!(DROPPED.acquire());
        assert!(third.as_mut().poll(&mut cx).is_pending());
        assert_eq!(DROPPED.limiter().earliest(0, 1), Ok(666_666_667));
    } // dropped before its instant: cancelled
    assert_eq!(DROPPED.limiter().earliest(0, 1), Ok(333_333_334));
}

#[test]
fn the_limiter_is_its_arrival_time() {
    use std::mem::size_of;
    assert_eq!(size_of::<Uptime>(), 0);
    assert_eq!(size_of::<StaticLimiter<Thirds>>(), size_of::<u64>());
    assert_eq!(
        size_of::<StaticLimiter>(),
        size_of::<u64>() + size_of::<&Quota>()
    );
}
