//! pacer on tokio under paused time: every instant is exact and no test waits on the wall
//! clock. Tokio's timer rounds sleeps up to whole milliseconds, so the quotas here use whole
//! millisecond intervals unless a test says otherwise.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use pacer_tests::assert_conforms;
use pacer_tests::race::{Race, Record};
use pacer_tokio::traits::{Clock, Timer};
use pacer_tokio::{Error, Gate, Limiter, Quota, TokioTimer};

const MS: u64 = 1_000_000;

/// Spawns `tasks` tasks that each take one cell of `limiter`, and returns their records by
/// ticket (first-poll order). On a current-thread runtime nothing runs between a task's ticket
/// and its acquisition's first poll, so each record's `reserved` is the instant it reserves.
async fn race(limiter: Arc<Limiter>, tasks: usize) -> Vec<Record> {
    let race = Arc::new(Race::default());
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (limiter, race) = (limiter.clone(), race.clone());
            tokio::spawn(async move { race.take_one(&limiter).await })
        })
        .collect();
    let mut records = Vec::new();
    for handle in handles {
        records.push(handle.await.unwrap());
    }
    records.sort_by_key(|r| r.ticket);
    records
}

#[tokio::test(start_paused = true)]
async fn timer_follows_paused_time() {
    let timer = TokioTimer::new();
    assert_eq!(timer.now(), 0);
    tokio::time::advance(Duration::from_millis(1500)).await;
    assert_eq!(timer.now(), 1_500 * MS);
    let copy = timer;
    assert_eq!(copy.now(), timer.now());

    for at in [1_500 * MS, 1_500 * MS + 1, 2_000 * MS, 2_000 * MS + 123_456] {
        timer.sleep_until(at).await;
        assert!(timer.now() >= at, "woke at {} before {at}", timer.now());
        // Tokio's timer ticks in milliseconds: it may end late by less than one.
        assert!(timer.now() < at + MS);
    }
}

#[tokio::test(start_paused = true)]
async fn far_instants_do_not_panic() {
    let timer = TokioTimer::default();
    assert!(timer.instant(u64::MAX).is_some());
    let sleep = timer.sleep_until(u64::MAX);
    let outcome = tokio::time::timeout(Duration::from_secs(3600), sleep).await;
    assert!(
        outcome.is_err(),
        "a sleep to the end of time ended within an hour"
    );
}

#[tokio::test(start_paused = true)]
async fn fifo_and_never_early() {
    let quota = Quota::per_second(100).unwrap();
    let limiter = Arc::new(Limiter::new(quota));
    let records = race(limiter, 200).await;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.reserved, i as u64 * 10 * MS, "{r:?}");
        assert!(r.completed >= r.reserved, "early: {r:?}");
        assert!(r.completed < r.reserved + MS, "late: {r:?}");
        // With burst 1 every instant differs, so completion order is first-poll order.
        assert_eq!(r.finish_order, r.ticket, "out of order: {r:?}");
    }
    let completed: Vec<u64> = records.iter().map(|r| r.completed).collect();
    assert_conforms(&completed, quota);
}

#[tokio::test(start_paused = true)]
async fn completions_conform_with_a_burst() {
    let quota = Quota::new(7, Duration::from_millis(350))
        .unwrap()
        .with_burst(4)
        .unwrap();
    let limiter = Arc::new(Limiter::new(quota));
    let records = race(limiter, 60).await;
    let mut previous = 0;
    for r in &records {
        assert!(r.completed >= r.reserved, "early: {r:?}");
        assert!(r.completed >= previous, "FIFO broken: {r:?}");
        previous = r.completed;
    }
    // The burst goes at once, then 50 ms apart.
    assert!(records[..4].iter().all(|r| r.completed == 0));
    assert_eq!(records[4].completed, 50 * MS);
    let completed: Vec<u64> = records.iter().map(|r| r.completed).collect();
    assert_conforms(&completed, quota);
}

#[tokio::test(start_paused = true)]
async fn reservations_conform_when_the_interval_is_not_whole_milliseconds() {
    // 3 per second: 333.33.. ms apart, rounded up to whole nanoseconds by the limiter and
    // then up to tokio's next millisecond tick by the timer.
    let quota = Quota::per_second(3).unwrap();
    let limiter = Arc::new(Limiter::new(quota));
    let records = race(limiter, 30).await;
    for r in &records {
        assert!(r.completed >= r.reserved, "early: {r:?}");
        assert!(r.completed < r.reserved + MS, "late: {r:?}");
    }
    let reserved: Vec<u64> = records.iter().map(|r| r.reserved).collect();
    assert_eq!(reserved[1], 333_333_334);
    assert_eq!(reserved[3], 1_000_000_000);
    assert_conforms(&reserved, quota);
}

#[tokio::test(start_paused = true)]
async fn weights() {
    let quota = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let limiter = Limiter::new(quota);
    let mut cells = Vec::new();
    for (n, expected) in [
        (5, 0),
        (2, 200 * MS),
        (5, 700 * MS),
        (1, 800 * MS),
        (0, 800 * MS),
    ] {
        limiter.acquire_n(n).await.unwrap();
        let now = limiter.timer().now();
        assert_eq!(now, expected, "acquire_n({n})");
        cells.extend(std::iter::repeat_n(now, n as usize));
    }
    assert_conforms(&cells, quota);
}

#[tokio::test(start_paused = true)]
async fn too_heavy_fails_at_once_and_takes_nothing() {
    let limiter = Limiter::new(Quota::per_second(10).unwrap().with_burst(5).unwrap());
    assert_eq!(
        limiter.acquire_n(6).await,
        Err(Error::TooHeavy { cells: 6, max: 5 })
    );
    assert_eq!(limiter.timer().now(), 0);
    assert_eq!(limiter.snapshot().remaining, 5);
    limiter.try_acquire(5).unwrap();
}

#[tokio::test(start_paused = true)]
async fn would_wait_beyond_the_maximum() {
    let limiter = Limiter::new(Quota::per_second(100).unwrap());
    limiter.acquire().await.unwrap();
    assert_eq!(
        limiter.acquire_within(1, Duration::from_millis(5)).await,
        Err(Error::WouldWait { at: 10 * MS })
    );
    assert_eq!(limiter.timer().now(), 0, "a refused acquisition waited");
    // Nothing was recorded: the next one still gets 10 ms.
    limiter
        .acquire_within(1, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(limiter.timer().now(), 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_newest_waiter_returns_its_slot() {
    let limiter = Limiter::new(Quota::per_second(10).unwrap());
    limiter.acquire().await.unwrap(); // 0 ms
    // A waiter for 100 ms gives up at 50 ms; it was the newest, so its cells come back.
    let gave_up = tokio::time::timeout(Duration::from_millis(50), limiter.acquire()).await;
    assert!(gave_up.is_err());
    assert_eq!(limiter.timer().now(), 50 * MS);
    limiter.acquire().await.unwrap();
    assert_eq!(
        limiter.timer().now(),
        100 * MS,
        "the next waiter got the freed slot"
    );

    // An older waiter that drops leaves its slot empty: later ones keep their instants.
    let limiter = Arc::new(limiter);
    let older = tokio::spawn({
        let limiter = limiter.clone();
        async move { limiter.acquire().await }
    });
    let newer = tokio::spawn({
        let limiter = limiter.clone();
        async move {
            limiter.acquire().await.unwrap();
            limiter.timer().now()
        }
    });
    tokio::time::sleep(Duration::from_millis(10)).await; // both have reserved
    older.abort();
    assert_eq!(newer.await.unwrap(), 300 * MS);
}

#[tokio::test(start_paused = true)]
async fn throttle_spaces_a_stream() {
    let limiter = Limiter::new(Quota::per_second(20).unwrap());
    let timer = *limiter.timer();
    let paced: pacer_tokio::Throttle<_, &Limiter> =
        limiter.throttle(futures_util::stream::iter(0..10));
    let seen: Vec<(u32, u64)> = paced.map(|item| (item, timer.now())).collect().await;
    let expected: Vec<(u32, u64)> = (0..10).map(|i| (i, u64::from(i) * 50 * MS)).collect();
    assert_eq!(seen, expected);
}

#[tokio::test(start_paused = true)]
async fn gate_never_exceeds_its_concurrency() {
    let quota = Quota::per_second(100).unwrap();
    let gate = Arc::new(Gate::new(quota, 5).unwrap());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..60u64)
        .map(|i| {
            let (gate, in_flight, most, starts) = (
                gate.clone(),
                in_flight.clone(),
                most.clone(),
                starts.clone(),
            );
            tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                starts.lock().unwrap().push(gate.pacer().timer().now());
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Calls of 20 to 113 ms: longer than 5 rate slots, so the cap binds.
                tokio::time::sleep(Duration::from_millis(20 + (i * 37) % 94)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 5);
    assert_eq!(gate.available(), 5);
    let starts = starts.lock().unwrap();
    assert_eq!(starts.len(), 60);
    assert_conforms(&starts, quota);
}

#[tokio::test(start_paused = true)]
async fn gather_keeps_rate_and_concurrency() {
    let quota = Quota::per_second(50).unwrap().with_burst(3).unwrap();
    let gate = Gate::new(quota, 4).unwrap();
    let timer = *gate.pacer().timer();
    let in_flight = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let calls = (0..40u64).map(|i| {
        let (in_flight, most) = (&in_flight, &most);
        async move {
            let start = timer.now();
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10 + (i * 53) % 120)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            start
        }
    });
    let starts: Vec<u64> = gate.gather(calls).map(Result::unwrap).collect().await;
    assert_eq!(starts.len(), 40);
    assert_eq!(most.load(Ordering::SeqCst), 4);
    assert_conforms(&starts, quota);
}
