//! Driving tasks on a `LocalPool` against a manual clock.

use futures::executor::LocalPool;
use pacer_core::ManualTimer;

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
