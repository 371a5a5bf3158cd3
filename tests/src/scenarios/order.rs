//! FIFO order across tasks, and what cancelling a waiter does to the order.

use std::time::Duration;

use pacer_core::Quota;

use super::fixture::pacer;
use super::steps::run_to_end;
use super::waiters::Waiters;
use super::{Rt, ms};
use crate::check::assert_conforms;

/// Waiters that all arrive at one instant finish one by one, in the order they arrived, each at
/// its own slot `k·T`, and the completion sequence is exactly the arrival sequence.
pub fn fifo_across_tasks<R: Rt>(rt: &R) {
    let quota = Quota::per_second(100).unwrap();
    let (pacer, timer) = pacer(quota);
    let n = 50;
    let waiters = Waiters::new(n);
    for tag in 0..n {
        // One at a time, so the arrival order is the spawn order on any executor.
        waiters.go(rt, &pacer, tag, 1);
        rt.settle();
    }
    assert_eq!(
        pacer.limiter().reservation_order(),
        (0..n).collect::<Vec<_>>()
    );
    assert_eq!(waiters.len(), 1, "only the first goes at once");
    assert_eq!(timer.sleepers(), n - 1);

    run_to_end(rt, &timer);
    let list = waiters.list();
    let tags: Vec<usize> = list.iter().map(|&(tag, _, _)| tag).collect();
    assert_eq!(
        tags,
        (0..n).collect::<Vec<_>>(),
        "completion order is arrival order"
    );
    for (k, &(_, reading, result)) in list.iter().enumerate() {
        assert_eq!(result, Ok(()));
        assert_eq!(reading, ms(10) * k as u64, "waiter {k} at its slot");
    }
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
}

/// Dropping the newest waiter hands its slot to the next one; dropping a waiter with another
/// behind it leaves its slot empty (FIFO is never broken).
pub fn cancel_returns_newest_slot<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms
    let (pacer, timer) = pacer(quota);
    let waiters = Waiters::new(5);
    let mut handles = Vec::new();
    for tag in 0..3 {
        handles.push(waiters.spawn(rt, &pacer, tag, 1));
        rt.settle();
    }
    let c = handles.pop().unwrap();
    let b = handles.pop().unwrap();
    rt.detach(handles.pop().unwrap());
    assert_eq!(pacer.limiter().reservation_of(0), Some((0, 1)));
    assert_eq!(pacer.limiter().reservation_of(1), Some((ms(100), 1)));
    assert_eq!(pacer.limiter().reservation_of(2), Some((ms(200), 1)));

    timer.advance(Duration::from_millis(50));
    rt.settle();
    rt.cancel(c); // the newest: its cell comes back
    rt.settle();
    assert_eq!(pacer.limiter().cancellation_of(2), Some((ms(50), true)));
    let d = waiters.spawn(rt, &pacer, 3, 1);
    rt.settle();
    assert_eq!(
        pacer.limiter().reservation_of(3),
        Some((ms(200), 1)),
        "the next waiter gets the cancelled slot"
    );

    rt.cancel(b); // not the newest: its slot stays empty
    rt.settle();
    assert_eq!(pacer.limiter().cancellation_of(1), Some((ms(50), false)));
    let e = waiters.spawn(rt, &pacer, 4, 1);
    rt.settle();
    assert_eq!(pacer.limiter().reservation_of(4), Some((ms(300), 1)));

    rt.detach(d);
    rt.detach(e);
    run_to_end(rt, &timer);
    let list = waiters.list();
    assert_eq!(
        list,
        vec![(0, 0, Ok(())), (3, ms(200), Ok(())), (4, ms(300), Ok(()))],
        "the cancelled never finish; the others at their slots"
    );
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
    assert_eq!(timer.sleepers(), 0, "cancelled sleeps deregistered");
}
