//! Many weighted waiters under an irregularly moving clock.

use std::time::Duration;

use pacer_core::{Clock, Quota};

use super::fixture::pacer;
use super::steps::{first_reading_at_or_after, step_to_end};
use super::waiters::Waiters;
use super::{Rt, ms};
use crate::check::assert_conforms;
use crate::rng::XorShift;

/// Hundreds of weighted waiters arriving in waves while the clock moves irregularly, on a quota
/// whose interval is not a whole number of nanoseconds: every waiter finishes, at the first
/// reading at or after its reserved instant (never early); the admitted cells conform; later
/// reservations never finish at an earlier reading (FIFO); each future is polled at most twice.
pub fn conformance_under_load<R: Rt>(rt: &R) {
    let quota = Quota::new(7, Duration::from_millis(11))
        .unwrap()
        .with_burst(3)
        .unwrap();
    let (pacer, timer) = pacer(quota);
    let (waves, per_wave) = (30, 10);
    let n = waves * per_wave;
    let waiters = Waiters::new(n);
    let mut rng = XorShift::new(0x5eed_1234);
    let mut visited = vec![0];

    for wave in 0..waves {
        for k in 0..per_wave {
            let cells = rng.between(1, 3) as u32;
            waiters.go(rt, &pacer, wave * per_wave + k, cells);
        }
        rt.settle();
        // Irregular steps: sometimes none, sometimes past several instants, sometimes exactly
        // to the next wake-up.
        match rng.between(0, 3) {
            0 => {}
            1 => {
                if let Some(at) = timer.next_wake() {
                    timer.set(at);
                }
            }
            _ => {
                timer.advance(Duration::from_nanos(rng.between(1, ms(9))));
            }
        }
        rt.settle();
        visited.push(timer.now());
    }
    let steps: Vec<Duration> = (0..17)
        .map(|_| Duration::from_nanos(rng.between(1, ms(4))))
        .collect();
    visited.extend(step_to_end(rt, &timer, &steps));

    assert_eq!(waiters.len(), n, "every waiter finished");
    for (tag, reading, result) in waiters.list() {
        assert_eq!(result, Ok(()), "waiter {tag}");
        let (at, _) = pacer.limiter().reservation_of(tag).expect("reserved");
        assert!(
            reading >= at,
            "waiter {tag} finished at {reading}, before {at}"
        );
        assert_eq!(
            reading,
            first_reading_at_or_after(&visited, at),
            "waiter {tag} finished at the first reading at or after its instant {at}"
        );
    }
    let cells = pacer.limiter().admitted_cells();
    assert!(cells.len() >= n);
    assert_conforms(&cells, quota);

    let order = pacer.limiter().reservation_order();
    assert_eq!(order.len(), n);
    let readings: Vec<u64> = order
        .iter()
        .map(|&tag| waiters.reading_of(tag).unwrap())
        .collect();
    assert!(
        readings.windows(2).all(|w| w[0] <= w[1]),
        "no later reservation finishes at an earlier reading"
    );
    assert!(waiters.polls().iter().all(|&p| (1..=2).contains(&p)));
}
