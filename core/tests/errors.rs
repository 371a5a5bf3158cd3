//! Every error path of pacer-core: quota construction (ZeroCount, ZeroPeriod, ZeroBurst,
//! TooFast, QuotaOverflow at its exact boundaries), WindowTooSmall, TooHeavy and WouldWait
//! (with the right payload, and nothing recorded), InstantOverflow near `u64::MAX` (nothing
//! recorded, and `earliest` agreeing with `reserve`), and the Display texts.

use std::time::Duration;

use pacer_core::{
    AtomicLimiter, Error, Gcra, Limits, Locked, Quota, RateLimiter, Scheduler, SlidingWindow,
};

const MS: u64 = 1_000_000;

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

#[test]
fn zero_count_period_and_burst() {
    assert_eq!(Quota::new(0, Duration::from_secs(1)), Err(Error::ZeroCount));
    assert_eq!(Quota::per_second(0), Err(Error::ZeroCount));
    assert_eq!(Quota::per_minute(0), Err(Error::ZeroCount));
    assert_eq!(Quota::per_hour(0), Err(Error::ZeroCount));
    assert_eq!(Quota::new(1, Duration::ZERO), Err(Error::ZeroPeriod));
    assert_eq!(
        Quota::new(0, Duration::ZERO),
        Err(Error::ZeroCount),
        "count is checked first"
    );
    assert_eq!(
        Quota::per_second(1).unwrap().with_burst(0),
        Err(Error::ZeroBurst)
    );
}

#[test]
fn more_than_one_cell_per_nanosecond_is_too_fast() {
    assert_eq!(Quota::per_second(1_000_000_001), Err(Error::TooFast));
    assert_eq!(Quota::new(2, ns(1)), Err(Error::TooFast));
    assert_eq!(
        Quota::new(u32::MAX, ns(u64::from(u32::MAX) - 1)),
        Err(Error::TooFast)
    );
    // Exactly one per nanosecond is the limit, and allowed.
    assert!(Quota::per_second(1_000_000_000).is_ok());
    assert!(Quota::new(u32::MAX, ns(u64::from(u32::MAX))).is_ok());
    assert!(Quota::new(1, ns(1)).is_ok());
}

#[test]
fn huge_period_or_burst_overflows() {
    // A period beyond u64 nanoseconds.
    assert_eq!(Quota::new(1, Duration::MAX), Err(Error::QuotaOverflow));
    assert_eq!(Quota::new(1, ns(u64::MAX)), Err(Error::QuotaOverflow));
    // One cell may span at most 2^62 ns (about 146 years).
    assert!(Quota::new(1, ns(1 << 62)).is_ok());
    assert_eq!(Quota::new(1, ns((1 << 62) + 1)), Err(Error::QuotaOverflow));
    assert!(Quota::new(2, ns(1 << 63)).is_ok(), "the bound is per cell");
    // A burst may span at most 2^62 units. 1 per minute is a whole 6·10^10 ns a cell, so a
    // unit is one nanosecond and the burst may be floor(2^62 / 6·10^10) = 76,861,433 cells.
    let per_minute = Quota::per_minute(1).unwrap();
    assert_eq!(
        per_minute.with_burst(76_861_433).map(|q| q.burst()),
        Ok(76_861_433)
    );
    assert_eq!(per_minute.with_burst(76_861_434), Err(Error::QuotaOverflow));
    // 7 per minute is not a whole number of nanoseconds a cell (8,571,428,571.4...), so a
    // cell is 2^33 units and the burst may be 2^29 cells.
    let seven_per_minute = Quota::per_minute(7).unwrap();
    assert_eq!(
        seven_per_minute.with_burst(1 << 29).map(|q| q.burst()),
        Ok(1 << 29)
    );
    assert_eq!(
        seven_per_minute.with_burst((1 << 29) + 1),
        Err(Error::QuotaOverflow)
    );
    assert_eq!(
        Quota::new(1, ns(1 << 62)).unwrap().with_burst(2),
        Err(Error::QuotaOverflow)
    );
    // A fast quota takes any burst.
    assert!(
        Quota::per_second(1_000)
            .unwrap()
            .with_burst(u32::MAX)
            .is_ok()
    );
}

#[test]
fn window_larger_than_its_log() {
    let q = Quota::per_second(5).unwrap();
    assert_eq!(
        SlidingWindow::<4>::new(q).map(|w| w.count()),
        Err(Error::WindowTooSmall {
            count: 5,
            capacity: 4
        })
    );
    assert_eq!(SlidingWindow::<5>::new(q).map(|w| w.count()), Ok(5));
    assert_eq!(
        SlidingWindow::<0>::new(Quota::per_second(1).unwrap()).map(|w| w.count()),
        Err(Error::WindowTooSmall {
            count: 1,
            capacity: 0
        })
    );
}

/// `n > burst` fails at once with TooHeavy from every operation, and records nothing.
#[test]
fn too_heavy_records_nothing() {
    let q = Quota::per_second(10).unwrap().with_burst(3).unwrap();
    let heavy = Err(Error::TooHeavy { cells: 4, max: 3 });

    let mut gcra = Gcra::new(q);
    let _ = gcra.reserve(0, 2).unwrap();
    let before = gcra.clone();
    assert_eq!(gcra.earliest(0, 4), heavy);
    assert_eq!(gcra.reserve(0, 4).map(|r| r.at()), heavy);
    assert_eq!(gcra.try_acquire(0, 4).map(|r| r.at()), heavy);
    assert_eq!(
        gcra.reserve_within(0, 4, Duration::MAX).map(|r| r.at()),
        heavy
    );
    assert_eq!(
        gcra.reserve(0, u32::MAX).map(|r| r.at()),
        Err(Error::TooHeavy {
            cells: u32::MAX,
            max: 3
        })
    );
    assert_eq!(gcra, before);

    let limiter = AtomicLimiter::new(q);
    let _ = limiter.reserve(0, 2).unwrap();
    assert_eq!(limiter.reserve(0, 4).map(|r| r.at()), heavy);
    assert_eq!(limiter.earliest(0, 4), heavy);
    assert_eq!(
        limiter.earliest(0, 1),
        Ok(0),
        "one more of the burst is left"
    );

    let locked = Locked::new(Gcra::new(q));
    assert_eq!(locked.try_acquire(0, 4).map(|r| r.at()), heavy);
    assert_eq!(locked.with(|g| g.clone()), Gcra::new(q));

    // Limits: the smallest burst is the limit.
    let mut limits = Limits::new([Quota::per_second(10).unwrap().with_burst(5).unwrap(), q]);
    let before = limits.clone();
    assert_eq!(limits.reserve(0, 4).map(|r| r.at()), heavy);
    assert_eq!(limits.earliest(0, 4), heavy);
    assert_eq!(limits, before);
    assert_eq!(limits.reserve(0, 3).map(|r| r.at()), Ok(0));

    // A window: its count is the limit, whatever the quota's burst.
    let mut window = SlidingWindow::<8>::new(Quota::per_second(5).unwrap()).unwrap();
    let before = window.clone();
    assert_eq!(
        window.reserve(0, 6).map(|r| r.at()),
        Err(Error::TooHeavy { cells: 6, max: 5 })
    );
    assert_eq!(
        window.earliest(0, 6),
        Err(Error::TooHeavy { cells: 6, max: 5 })
    );
    assert_eq!(window, before);
    assert_eq!(window.reserve(0, 5).map(|r| r.at()), Ok(0));
}

/// A wait longer than allowed fails with the instant it would have taken, recording nothing.
#[test]
fn would_wait_carries_the_instant_and_records_nothing() {
    let q = Quota::per_second(10).unwrap();
    let mut gcra = Gcra::new(q);
    let _ = gcra.reserve(0, 1).unwrap();
    let _ = gcra.reserve(0, 1).unwrap(); // at 100 ms; the next is due at 200 ms
    let before = gcra.clone();
    let err = gcra
        .reserve_within(0, 1, Duration::from_millis(199))
        .unwrap_err();
    assert_eq!(err, Error::WouldWait { at: 200 * MS });
    assert_eq!(err.earliest(), Some(200 * MS));
    assert_eq!(
        gcra.try_acquire(0, 1).map(|r| r.at()),
        Err(Error::WouldWait { at: 200 * MS })
    );
    assert_eq!(gcra, before);
    // The wait is counted from the latest reading the scheduler has seen.
    let _ = gcra.reserve(150 * MS, 0).unwrap();
    assert_eq!(
        gcra.reserve_within(0, 1, Duration::from_millis(49))
            .map(|r| r.at()),
        Err(Error::WouldWait { at: 200 * MS })
    );
    // Exactly the wait needed is enough.
    assert_eq!(
        gcra.reserve_within(0, 1, Duration::from_millis(50))
            .map(|r| r.at()),
        Ok(200 * MS)
    );

    let limiter = AtomicLimiter::new(q);
    let _ = limiter.reserve(0, 1).unwrap();
    assert_eq!(
        limiter.try_acquire(0, 1).map(|r| r.at()),
        Err(Error::WouldWait { at: 100 * MS })
    );
    assert_eq!(
        limiter.try_acquire(99 * MS, 1).map(|r| r.at()),
        Err(Error::WouldWait { at: 100 * MS })
    );
    assert_eq!(limiter.earliest(0, 1), Ok(100 * MS), "nothing was recorded");
    assert_eq!(
        limiter.try_acquire(100 * MS, 1).map(|r| r.at()),
        Ok(100 * MS)
    );

    let mut window = SlidingWindow::<4>::new(Quota::per_second(2).unwrap()).unwrap();
    let _ = window.reserve(0, 2).unwrap();
    let before = window.clone();
    assert_eq!(
        window.try_acquire(10, 1).map(|r| r.at()),
        Err(Error::WouldWait { at: 1_000 * MS })
    );
    let _ = window.reserve(10, 0).unwrap();
    assert_eq!(window, before.clone().tap_seen(10));

    let mut limits = Limits::new([
        Quota::per_second(10).unwrap(),
        Quota::per_second(1).unwrap(),
    ]);
    let _ = limits.reserve(0, 1).unwrap();
    let before = limits.clone();
    assert_eq!(
        limits.try_acquire(0, 1).map(|r| r.at()),
        Err(Error::WouldWait { at: 1_000 * MS })
    );
    assert_eq!(limits, before);
}

/// Brings a clone's latest clock reading to `now` (what a failed call remembers).
trait TapSeen {
    fn tap_seen(self, now: u64) -> Self;
}

impl<S: Scheduler> TapSeen for S {
    fn tap_seen(mut self, now: u64) -> Self {
        let r = self.reserve(now, 0).unwrap();
        assert!(!self.cancel(r, now));
        self
    }
}

/// Instants near the end of `u64`: every operation either works or fails with
/// InstantOverflow, records nothing when it fails, `earliest` agrees with `reserve`, and a
/// snapshot's earliest instant agrees with `earliest` (`u64::MAX` where there is none).
#[test]
fn instant_overflow_near_the_end_of_time() {
    let quotas = [
        Quota::per_second(1_000_000_000).unwrap(),
        Quota::per_second(3).unwrap().with_burst(2).unwrap(),
        Quota::new(1, Duration::from_secs(86_400)).unwrap(),
    ];
    for q in quotas {
        for now in [
            u64::MAX,
            u64::MAX - 1,
            u64::MAX - 1_000,
            1 << 63,
            u64::MAX / 10 * 9,
        ] {
            let mut gcra = Gcra::new(q);
            let mut limits = Limits::new([q]);
            let limiter = AtomicLimiter::new(q);
            for _ in 0..3 {
                let g_before = gcra.clone().tap_seen(now);
                let l_before = limits.clone().tap_seen(now);
                let look = gcra.earliest(now, 1);
                // A refusal names the instant `reserve` would give, or fails as it would.
                if look != Ok(now) {
                    let expect = look.and_then(|at| Err(Error::WouldWait { at }));
                    let mut probe = gcra.clone();
                    assert_eq!(
                        probe.try_acquire(now, 1).map(|r| r.at()),
                        expect,
                        "{q} at {now}: Gcra"
                    );
                    let mut probe = limits.clone();
                    assert_eq!(
                        probe.try_acquire(now, 1).map(|r| r.at()),
                        expect,
                        "{q} at {now}: Limits"
                    );
                    assert_eq!(
                        limiter.try_acquire(now, 1).map(|r| r.at()),
                        expect,
                        "{q} at {now}: AtomicLimiter"
                    );
                }
                assert_eq!(
                    gcra.snapshot(now).earliest,
                    look.unwrap_or(u64::MAX),
                    "{q} at {now}: Gcra snapshot and earliest disagree"
                );
                let got = gcra.reserve(now, 1).map(|r| r.at());
                assert_eq!(
                    look, got,
                    "{q} at {now}: Gcra earliest and reserve disagree"
                );
                match got {
                    Ok(at) => assert!(at >= now),
                    Err(e) => {
                        assert_eq!(e, Error::InstantOverflow, "{q} at {now}");
                        assert_eq!(gcra, g_before, "{q} at {now}: a failure recorded something");
                    }
                }
                let look = limits.earliest(now, 1);
                assert_eq!(
                    limits.snapshot(now).earliest,
                    look.unwrap_or(u64::MAX),
                    "{q} at {now}: Limits snapshot and earliest disagree"
                );
                let got_l = limits.reserve(now, 1).map(|r| r.at());
                assert_eq!(
                    look, got_l,
                    "{q} at {now}: Limits earliest and reserve disagree"
                );
                assert_eq!(got_l, got, "{q} at {now}: Limits<1> differs from Gcra");
                if got_l.is_err() {
                    assert_eq!(limits, l_before);
                }
                let look = limiter.earliest(now, 1);
                assert_eq!(
                    limiter.snapshot(now).earliest,
                    look.unwrap_or(u64::MAX),
                    "{q} at {now}: AtomicLimiter snapshot and earliest disagree"
                );
                let got_a = limiter.reserve(now, 1).map(|r| r.at());
                assert_eq!(
                    look, got_a,
                    "{q} at {now}: AtomicLimiter earliest and reserve disagree"
                );
                assert_eq!(got_a, got, "{q} at {now}: AtomicLimiter differs from Gcra");
            }
        }
    }
    // The window's arithmetic: the next free instant is a cell's instant plus the period.
    let mut window = SlidingWindow::<2>::new(Quota::per_second(1).unwrap()).unwrap();
    assert_eq!(
        window.reserve(u64::MAX - 10, 1).map(|r| r.at()),
        Ok(u64::MAX - 10)
    );
    let before = window.clone();
    assert_eq!(window.earliest(0, 1), Err(Error::InstantOverflow));
    assert_eq!(
        window.reserve(0, 1).map(|r| r.at()),
        Err(Error::InstantOverflow)
    );
    assert_eq!(window, before);
}

/// A wait of `Duration::MAX` near the end of time saturates instead of overflowing.
#[test]
fn longest_wait_saturates() {
    let mut gcra = Gcra::new(Quota::per_second(1_000_000_000).unwrap());
    let r = gcra.reserve_within(u64::MAX - 5, 1, Duration::MAX).unwrap();
    assert_eq!(r.at(), u64::MAX - 5);
    assert_eq!(r.delay_from(0), Duration::from_nanos(u64::MAX - 5));
    assert_eq!(r.delay_from(u64::MAX), Duration::ZERO);
}

#[test]
fn display_texts_name_the_numbers() {
    let cases = [
        (Error::ZeroCount, vec![]),
        (Error::ZeroPeriod, vec![]),
        (Error::ZeroBurst, vec![]),
        (Error::TooFast, vec![]),
        (Error::QuotaOverflow, vec![]),
        (
            Error::WindowTooSmall {
                count: 17,
                capacity: 12,
            },
            vec!["17", "12"],
        ),
        (Error::TooHeavy { cells: 9, max: 4 }, vec!["9", "4"]),
        (Error::WouldWait { at: 123_456_789 }, vec!["123456789"]),
        (Error::InstantOverflow, vec![]),
    ];
    let mut texts = Vec::new();
    for (err, numbers) in cases {
        let text = err.to_string();
        assert!(!text.is_empty(), "{err:?}");
        for n in numbers {
            assert!(text.contains(n), "{err:?}: {text:?} does not mention {n}");
        }
        assert_eq!(
            err.earliest().is_some(),
            matches!(err, Error::WouldWait { .. })
        );
        texts.push(text);
    }
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 9, "every error has its own text");
    // It is a std error.
    let boxed: Box<dyn std::error::Error> = Box::new(Error::TooFast);
    assert!(boxed.to_string().contains("10^9"));
}
