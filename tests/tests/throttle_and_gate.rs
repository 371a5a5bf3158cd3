//! The stream throttle and the rate + concurrency gate on the manual timer.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::StreamExt;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use pacer_core::{AtomicLimiter, Clock, Gate, ManualTimer, Pacer, Quota, Timer};
use pacer_tests::{drive, gcra_violation};

#[test]
fn throttled_stream_items_are_spaced_by_the_quota() {
    let timer = ManualTimer::new();
    let pacer = Rc::new(Pacer::from_parts(
        AtomicLimiter::new(Quota::per_second(5).unwrap()),
        timer.clone(),
    ));
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    {
        let (pacer, timer, seen) = (pacer.clone(), timer.clone(), seen.clone());
        pool.spawner()
            .spawn_local(async move {
                let mut paced = std::pin::pin!(pacer.throttle(futures::stream::iter(0..10)));
                while let Some(item) = paced.next().await {
                    seen.borrow_mut().push((item, timer.now()));
                }
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 20, || seen.borrow().len() == 10);
    for (k, &(item, at)) in seen.borrow().iter().enumerate() {
        assert_eq!((item, at), (k, k as u64 * 200_000_000));
    }
}

#[test]
fn two_streams_on_one_pacer_share_its_quota() {
    let timer = ManualTimer::new();
    let pacer = Rc::new(Pacer::from_parts(
        AtomicLimiter::new(Quota::per_second(10).unwrap()),
        timer.clone(),
    ));
    let mut pool = LocalPool::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    for _ in 0..2 {
        let (pacer, timer, seen) = (pacer.clone(), timer.clone(), seen.clone());
        pool.spawner()
            .spawn_local(async move {
                let mut paced = std::pin::pin!(pacer.throttle(futures::stream::iter(0..10)));
                while paced.next().await.is_some() {
                    seen.borrow_mut().push(timer.now());
                }
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 40, || seen.borrow().len() == 20);
    assert_eq!(gcra_violation(&seen.borrow(), 10, 1_000_000_000, 1), None);
    assert_eq!(*seen.borrow().iter().max().unwrap(), 1_900_000_000);
}

#[test]
fn the_gate_caps_in_flight_work_and_keeps_the_rate() {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(
        AtomicLimiter::new(Quota::per_second(100).unwrap()),
        timer.clone(),
    );
    let gate = Rc::new(Gate::from_parts(pacer, 4).unwrap());
    let in_flight = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let starts = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();
    for _ in 0..40 {
        let (gate, timer) = (gate.clone(), timer.clone());
        let (in_flight, most, starts) = (in_flight.clone(), most.clone(), starts.clone());
        pool.spawner()
            .spawn_local(async move {
                let permit = gate.acquire().await.unwrap();
                in_flight.set(in_flight.get() + 1);
                most.set(most.get().max(in_flight.get()));
                starts.borrow_mut().push(timer.now());
                // The call takes 55 ms, so the cap, not the rate, is what binds.
                timer.sleep_until(timer.now() + 55_000_000).await;
                in_flight.set(in_flight.get() - 1);
                drop(permit);
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 1000, || {
        starts.borrow().len() == 40 && in_flight.get() == 0
    });
    assert_eq!(most.get(), 4);
    assert_eq!(
        gcra_violation(&starts.borrow(), 100, 1_000_000_000, 1),
        None
    );
    assert_eq!(gate.available(), 4);
}

#[test]
fn gather_yields_every_result_within_the_cap() {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(
        AtomicLimiter::new(Quota::per_second(50).unwrap()),
        timer.clone(),
    );
    let gate = Rc::new(Gate::from_parts(pacer, 3).unwrap());
    let in_flight = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let results = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();
    {
        let (gate, timer) = (gate.clone(), timer.clone());
        let (in_flight, most, results) = (in_flight.clone(), most.clone(), results.clone());
        pool.spawner()
            .spawn_local(async move {
                let calls = (0..12u64).map(|i| {
                    let (timer, in_flight, most) = (timer.clone(), in_flight.clone(), most.clone());
                    async move {
                        in_flight.set(in_flight.get() + 1);
                        most.set(most.get().max(in_flight.get()));
                        let start = timer.now();
                        timer.sleep_until(start + 70_000_000 + i * 1_000_000).await;
                        in_flight.set(in_flight.get() - 1);
                        (i, start)
                    }
                });
                let mut out = std::pin::pin!(gate.gather(calls));
                while let Some(result) = out.next().await {
                    results.borrow_mut().push(result.unwrap());
                }
            })
            .unwrap();
    }
    drive(&mut pool, &timer, 1000, || results.borrow().len() == 12);
    assert!(most.get() <= 3, "in flight reached {}", most.get());
    let mut ids: Vec<u64> = results.borrow().iter().map(|&(i, _)| i).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..12).collect::<Vec<_>>());
    let starts: Vec<u64> = results.borrow().iter().map(|&(_, s)| s).collect();
    assert_eq!(gcra_violation(&starts, 50, 1_000_000_000, 1), None);
}

#[test]
fn a_gate_of_zero_is_refused() {
    let pacer = Pacer::from_parts(
        AtomicLimiter::new(Quota::per_second(1).unwrap()),
        ManualTimer::new(),
    );
    assert_eq!(
        Gate::from_parts(pacer, 0).err(),
        Some(pacer_core::Error::ZeroConcurrency)
    );
}
