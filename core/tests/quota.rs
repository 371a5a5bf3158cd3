//! `Quota`: the constructors (`new`, `per_second`, `per_minute`, `per_hour`, `with_burst`),
//! its getters, the interval rounded up for display, and its Display text
//! ("100 per 1s, burst 1").

use std::time::Duration;

use pacer_core::Quota;

#[test]
fn constructors_and_getters() {
    let q = Quota::per_second(100).unwrap();
    assert_eq!(
        (q.count(), q.period(), q.burst()),
        (100, Duration::from_secs(1), 1)
    );
    assert_eq!(q.period_nanos(), 1_000_000_000);
    let q = Quota::per_minute(30).unwrap();
    assert_eq!(
        (q.count(), q.period_nanos(), q.burst()),
        (30, 60_000_000_000, 1)
    );
    let q = Quota::per_hour(1_000).unwrap();
    assert_eq!(
        (q.count(), q.period(), q.burst()),
        (1_000, Duration::from_secs(3_600), 1)
    );
    let q = Quota::new(7, Duration::from_millis(11)).unwrap();
    assert_eq!((q.count(), q.period_nanos(), q.burst()), (7, 11_000_000, 1));
}

#[test]
fn with_burst_keeps_the_rate() {
    let q = Quota::per_second(10).unwrap();
    let b = q.with_burst(5).unwrap();
    assert_eq!(
        (b.count(), b.period(), b.burst()),
        (10, Duration::from_secs(1), 5)
    );
    assert_eq!(
        b.with_burst(1).unwrap(),
        q,
        "back to burst 1 is the same quota"
    );
    assert_ne!(b, q);
    assert_eq!(
        Quota::per_second(10).unwrap(),
        q,
        "equal quotas compare equal"
    );
}

#[test]
fn interval_is_rounded_up() {
    assert_eq!(
        Quota::per_second(3).unwrap().interval(),
        Duration::from_nanos(333_333_334)
    );
    assert_eq!(
        Quota::per_second(100).unwrap().interval(),
        Duration::from_millis(10)
    );
    assert_eq!(
        Quota::per_second(1_000_000_000).unwrap().interval(),
        Duration::from_nanos(1)
    );
    assert_eq!(
        Quota::per_second(999_999_937).unwrap().interval(),
        Duration::from_nanos(2),
        "just over 1 ns rounds up to 2"
    );
    assert_eq!(
        Quota::new(7, Duration::from_millis(11)).unwrap().interval(),
        Duration::from_nanos(1_571_429)
    );
}

#[test]
fn display() {
    let text = |q: Quota| q.to_string();
    assert_eq!(text(Quota::per_second(100).unwrap()), "100 per 1s, burst 1");
    assert_eq!(text(Quota::per_minute(30).unwrap()), "30 per 60s, burst 1");
    assert_eq!(
        text(Quota::per_hour(1_000).unwrap().with_burst(50).unwrap()),
        "1000 per 3600s, burst 50"
    );
    assert_eq!(
        text(
            Quota::new(7, Duration::from_millis(11))
                .unwrap()
                .with_burst(3)
                .unwrap()
        ),
        "7 per 11ms, burst 3"
    );
    assert_eq!(
        text(Quota::new(3, Duration::from_nanos(10)).unwrap()),
        "3 per 10ns, burst 1"
    );
    assert_eq!(
        text(Quota::new(1, Duration::from_nanos(1_500)).unwrap()),
        "1 per 1.5µs, burst 1"
    );
}
