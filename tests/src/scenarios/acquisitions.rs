//! Weighted acquisitions, and the acquisitions that fail at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_core::{Clock, Error, Gcra, Quota, Scheduler};

use super::fixture::pacer;
use super::recording::Event;
use super::steps::run_to_end;
use super::waiters::Waiters;
use super::{Rt, lock, ms};
use crate::check::assert_conforms;

/// Weighted acquisitions take their cells at one instant, exactly where a pure GCRA fed the same
/// requests puts them.
pub fn weights<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let (pacer, timer) = pacer(quota);
    let mut oracle = Gcra::new(quota);
    let weights = [5, 2, 5, 1, 3, 4, 1, 1, 5, 2];
    let waiters = Waiters::new(weights.len());
    let mut expected = Vec::new();
    for (tag, &cells) in weights.iter().enumerate() {
        if tag == 5 {
            timer.advance(Duration::from_millis(130));
            rt.settle();
        }
        expected.push(oracle.reserve(timer.now(), cells).unwrap().at());
        waiters.go(rt, &pacer, tag, cells);
        rt.settle();
    }
    assert_eq!(
        pacer.snapshot().remaining,
        0,
        "a waiting backlog leaves no burst"
    );
    run_to_end(rt, &timer);
    assert_eq!(waiters.len(), weights.len());
    for (tag, &at) in expected.iter().enumerate() {
        assert_eq!(
            pacer.limiter().reservation_of(tag),
            Some((at, weights[tag]))
        );
        // Each waiter was due at or after the clock it arrived at, and the clock then visited
        // every wake-up exactly.
        assert_eq!(waiters.reading_of(tag), Some(at), "waiter {tag}");
    }
    let cells = pacer.limiter().admitted_cells();
    assert_eq!(cells.len(), weights.iter().sum::<u32>() as usize);
    assert_conforms(&cells, quota);
}

/// More cells than the burst fail at once with `TooHeavy`, recording nothing; a wait longer
/// than `acquire_within` allows fails at once with `WouldWait` carrying the instant, recording
/// nothing; within the allowance it waits.
pub fn errors<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap().with_burst(3).unwrap();
    let (pacer, timer) = pacer(quota);
    let results = Arc::new(Mutex::new(Vec::new()));
    {
        let (pacer, results) = (pacer.clone(), results.clone());
        rt.go(async move {
            let push = |tag: &str, result: Result<(), Error>| {
                lock(&results).push((tag.to_owned(), pacer.timer().now(), result));
            };
            push("too heavy", pacer.acquire_n(4).await);
            push("burst", pacer.acquire_n(3).await); // the whole burst, at once
            push(
                "within 50 ms",
                pacer.acquire_within(1, Duration::from_millis(50)).await,
            );
            push(
                "within 100 ms",
                pacer.acquire_within(1, Duration::from_millis(100)).await,
            );
            push("zero", pacer.acquire_n(0).await);
        });
    }
    run_to_end(rt, &timer);
    let results = lock(&results).clone();
    let expected = [
        ("too heavy", 0, Err(Error::TooHeavy { cells: 4, max: 3 })),
        ("burst", 0, Ok(())),
        ("within 50 ms", 0, Err(Error::WouldWait { at: ms(100) })),
        ("within 100 ms", ms(100), Ok(())),
        ("zero", ms(100), Ok(())),
    ];
    assert_eq!(
        results,
        expected
            .iter()
            .map(|&(t, n, r)| (t.to_owned(), n, r))
            .collect::<Vec<_>>()
    );
    let reserved: Vec<(u64, u32)> = pacer
        .limiter()
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Reserved { at, cells, .. } => Some((at, cells)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reserved,
        [(0, 3), (ms(100), 1), (ms(100), 0)],
        "the refused recorded nothing"
    );
}
