//! The gate's two limits at once: its rate and its concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use pacer_core::{AtomicLimiter, Clock, Gate, ManualTimer, Pacer, Quota};

use super::recording::Recording;
use super::steps::run_to_end;
use super::{Rt, lock, ms};
use crate::check::assert_conforms;
use crate::rng::XorShift;

/// A gate never has more than its concurrency in flight (and does reach it when calls are slow),
/// and its calls start no faster than its rate; the same through `gather`.
pub fn gate_concurrency<R: Rt>(rt: &R) {
    let quota = Quota::per_second(100).unwrap(); // 10 ms
    let timer = ManualTimer::new();
    let concurrency = 3;
    let gate = Arc::new(
        Gate::from_parts(
            Pacer::from_parts(Recording::new(AtomicLimiter::new(quota)), timer.clone()),
            concurrency,
        )
        .unwrap(),
    );
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let mut rng = XorShift::new(77);
    let n = 30;
    for _ in 0..n {
        let work = rng.between(ms(25), ms(60));
        let (gate, timer) = (gate.clone(), timer.clone());
        let (in_flight, max_in_flight, starts) =
            (in_flight.clone(), max_in_flight.clone(), starts.clone());
        rt.go(async move {
            let permit = gate.acquire().await.unwrap();
            let now = timer.now();
            let current = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_in_flight.fetch_max(current, Ordering::SeqCst);
            lock(&starts).push(now);
            pacer_core::Timer::sleep_until(&timer, now + work).await; // the call
            in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
    rt.settle();
    run_to_end(rt, &timer);
    let starts = lock(&starts).clone();
    assert_eq!(starts.len(), n);
    assert_eq!(max_in_flight.load(Ordering::SeqCst), concurrency);
    assert_eq!(gate.available(), concurrency);
    assert!(starts.windows(2).all(|w| w[1] >= w[0] + ms(10)));
    assert_conforms(&starts, quota);

    // The same job through gather, inside one task.
    in_flight.store(0, Ordering::SeqCst);
    max_in_flight.store(0, Ordering::SeqCst);
    let outputs = Arc::new(Mutex::new(Vec::new()));
    {
        let (gate, timer, outputs) = (gate.clone(), timer.clone(), outputs.clone());
        let (in_flight, max_in_flight) = (in_flight.clone(), max_in_flight.clone());
        rt.go(async move {
            let calls = (0..20u64).map(|i| {
                let (timer, in_flight, max_in_flight) =
                    (timer.clone(), in_flight.clone(), max_in_flight.clone());
                async move {
                    let start = timer.now();
                    let current = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max_in_flight.fetch_max(current, Ordering::SeqCst);
                    pacer_core::Timer::sleep_until(&timer, start + ms(20 + i % 4 * 10)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    (i, start)
                }
            });
            let all: Vec<_> = gate.gather(calls).collect().await;
            *lock(&outputs) = all;
        });
    }
    run_to_end(rt, &timer);
    let outputs = lock(&outputs).clone();
    assert_eq!(outputs.len(), 20);
    let mut ids: Vec<u64> = outputs.iter().map(|r| r.as_ref().unwrap().0).collect();
    ids.sort();
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
    assert!((2..=concurrency).contains(&max_in_flight.load(Ordering::SeqCst)));
    let mut gathered: Vec<u64> = outputs.iter().map(|r| r.as_ref().unwrap().1).collect();
    gathered.sort();
    let mut all = starts;
    all.extend(gathered);
    assert_conforms(&all, quota);
}
