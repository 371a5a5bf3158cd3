//! Polls per acquisition, with a thousand waiters.

use pacer_core::Quota;

use super::fixture::pacer;
use super::waiters::Waiters;
use super::{Rt, ms};
use crate::check::assert_conforms;

/// 1,000 concurrent waiters, each acquisition future in a counting wrapper: each is polled at
/// most twice (the first poll reserves and registers one sleep; the wake-up completes it), only
/// the due one is woken at each step, and they finish in order.
pub fn poll_counts<R: Rt>(rt: &R) {
    let quota = Quota::per_second(1_000).unwrap(); // 1 ms
    let (pacer, timer) = pacer(quota);
    let n = 1_000;
    let waiters = Waiters::new(n);
    for tag in 0..n {
        waiters.go(rt, &pacer, tag, 1);
    }
    rt.settle();
    assert_eq!(
        timer.sleepers(),
        n - 1,
        "one sleep each, the first went at once"
    );
    assert_eq!(waiters.len(), 1);
    let after_first = waiters.polls();
    assert!(after_first.iter().all(|&p| p == 1), "one poll each so far");

    let mut step = 0;
    while let Some(at) = timer.next_wake() {
        timer.set(at);
        rt.settle();
        step += 1;
        assert_eq!(waiters.len(), step + 1, "one waiter per step");
    }
    assert_eq!(waiters.len(), n);
    let polls = waiters.polls();
    assert!(polls.iter().all(|&p| p <= 2), "{polls:?}");
    assert_eq!(polls.iter().sum::<usize>(), 2 * n - 1);
    let order = pacer.limiter().reservation_order();
    for (k, &tag) in order.iter().enumerate() {
        assert_eq!(waiters.reading_of(tag), Some(ms(1) * k as u64));
    }
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
}
