//! Support for pacer's cross-crate integration tests (in `tests/tests/`): an independent
//! conformance checker and a driver that runs tasks on a manual clock.
//!
//! The checker uses its own integer arithmetic, not the schedulers', so a bug in pacer's
//! arithmetic cannot hide itself.

use futures::executor::LocalPool;
use pacer_core::ManualTimer;

/// Checks the GCRA conformance rule on admitted cell instants (any order; a weight-`n`
/// acquisition contributes `n` equal instants): sorted, for all `i < j`,
/// `(p_j - p_i + 1) · count > (j - i + 1 - burst) · period`, the form of the rule that allows
/// each instant to be rounded up to a whole nanosecond. Returns the first violating pair.
pub fn gcra_violation(
    cells: &[u64],
    count: u32,
    period: u64,
    burst: u32,
) -> Option<(usize, usize)> {
    let mut p = cells.to_vec();
    p.sort_unstable();
    for i in 0..p.len() {
        for j in i + 1..p.len() {
            let cells_between = (j - i + 1) as i128 - i128::from(burst);
            let lhs = (i128::from(p[j] - p[i]) + 1) * i128::from(count);
            let rhs = cells_between * i128::from(period);
            if lhs <= rhs {
                return Some((i, j));
            }
        }
    }
    None
}

/// Checks that no half-open window `[t, t + period)` holds more than `count` of `cells`.
pub fn window_violation(cells: &[u64], count: usize, period: u64) -> Option<u64> {
    let mut p = cells.to_vec();
    p.sort_unstable();
    let mut start = 0;
    for end in 0..p.len() {
        while p[end] - p[start] >= period {
            start += 1;
        }
        if end - start + 1 > count {
            return Some(p[start]);
        }
    }
    None
}

/// Runs `pool` until `done()` holds, moving `timer` to each next registered wake-up whenever
/// every task is stalled. Fails if the tasks are stuck with no wake-up registered, or after
/// `max_steps` clock moves.
pub fn drive(
    pool: &mut LocalPool,
    timer: &ManualTimer,
    max_steps: usize,
    mut done: impl FnMut() -> bool,
) {
    for _ in 0..max_steps {
        pool.run_until_stalled();
        if done() {
            return;
        }
        let next = timer
            .next_wake()
            .expect("tasks are stuck: nothing done and no sleep registered");
        timer.set(next);
    }
    panic!("not done after {max_steps} clock moves");
}
