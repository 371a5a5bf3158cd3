//! Moving the manual clock, only while every task is idle.

use std::time::Duration;

use pacer_core::{Clock, ManualTimer};

use super::Rt;

/// Moves the clock to each next wake-up in turn, letting the tasks run after each, until no
/// one sleeps; returns the clock readings visited.
pub(crate) fn run_to_end<R: Rt>(rt: &R, timer: &ManualTimer) -> Vec<u64> {
    let mut visited = vec![timer.now()];
    rt.settle();
    while let Some(at) = timer.next_wake() {
        timer.set(at);
        rt.settle();
        visited.push(at);
    }
    visited
}

/// Moves the clock in the given steps (cycled), letting the tasks run after each, until no one
/// sleeps; returns the clock readings visited.
pub(crate) fn step_to_end<R: Rt>(rt: &R, timer: &ManualTimer, steps: &[Duration]) -> Vec<u64> {
    let mut visited = vec![timer.now()];
    rt.settle();
    for step in steps.iter().cycle() {
        if timer.sleepers() == 0 {
            break;
        }
        visited.push(timer.advance(*step));
        rt.settle();
    }
    visited
}

/// The first visited reading at or after `at` (or the reading at reservation if `at` was
/// already due).
pub(crate) fn first_reading_at_or_after(visited: &[u64], at: u64) -> u64 {
    *visited
        .iter()
        .find(|&&v| v >= at)
        .expect("the clock reached every reserved instant")
}
