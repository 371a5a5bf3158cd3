//! `ManualClock`: starts at 0, `advance` returns the new instant and saturates at the end of
//! time, `set` moves it anywhere (backwards too), every handle (`&`, `Arc`, the `Clock` impl
//! for references) sees the same time, and concurrent advances are never lost.

use std::sync::Arc;
use std::time::Duration;

use pacer_core::{Clock, ManualClock};

#[test]
fn starts_at_zero_and_advances() {
    let clock = ManualClock::new();
    assert_eq!(clock.now(), 0);
    assert_eq!(clock.advance(Duration::from_millis(5)), 5_000_000);
    assert_eq!(clock.advance(Duration::from_nanos(1)), 5_000_001);
    assert_eq!(clock.advance(Duration::ZERO), 5_000_001);
    assert_eq!(clock.now(), 5_000_001);
    assert_eq!(ManualClock::default().now(), 0);
}

#[test]
fn set_moves_backwards_and_forwards() {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(10));
    clock.set(3);
    assert_eq!(clock.now(), 3);
    clock.set(u64::MAX - 1);
    assert_eq!(clock.now(), u64::MAX - 1);
    clock.set(0);
    assert_eq!(clock.now(), 0);
}

#[test]
fn advance_saturates_at_the_end_of_time() {
    let clock = ManualClock::new();
    clock.set(u64::MAX - 10);
    assert_eq!(clock.advance(Duration::from_nanos(100)), u64::MAX);
    assert_eq!(clock.advance(Duration::MAX), u64::MAX);
    assert_eq!(clock.now(), u64::MAX);
    let fresh = ManualClock::new();
    assert_eq!(
        fresh.advance(Duration::MAX),
        u64::MAX,
        "a Duration beyond u64 nanoseconds"
    );
}

#[test]
fn every_handle_sees_the_same_time() {
    let clock = Arc::new(ManualClock::new());
    let by_ref: &ManualClock = &clock;
    fn read(c: impl Clock) -> u64 {
        c.now()
    }
    clock.advance(Duration::from_nanos(42));
    assert_eq!(read(by_ref), 42);
    let twice: &&ManualClock = &by_ref; // `Clock for &C`, twice over
    assert_eq!(read(twice), 42);
    assert_eq!(read(&*clock), 42);
    let dyn_clock: &dyn Clock = by_ref;
    assert_eq!(dyn_clock.now(), 42);
}

#[test]
fn shared_across_threads_no_advance_is_lost() {
    const THREADS: u64 = 4;
    const STEPS: u64 = 10_000;
    let clock = ManualClock::new();
    let seen: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    (0..STEPS)
                        .map(|_| clock.advance(Duration::from_nanos(3)))
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(clock.now(), THREADS * STEPS * 3);
    // Each advance returned a distinct instant: its own step, never another thread's.
    let mut all: Vec<u64> = seen.into_iter().flatten().collect();
    all.sort_unstable();
    let expected: Vec<u64> = (1..=THREADS * STEPS).map(|k| k * 3).collect();
    assert_eq!(all, expected);
}

#[test]
fn a_reader_thread_sees_a_writer_thread() {
    let clock = ManualClock::new();
    std::thread::scope(|s| {
        s.spawn(|| clock.set(7)).join().unwrap();
        assert_eq!(s.spawn(|| clock.now()).join().unwrap(), 7);
    });
}
