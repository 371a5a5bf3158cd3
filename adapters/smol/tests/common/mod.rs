//! Deterministic scenarios for an adapter's executor, on `pacer_core::ManualTimer`.
//!
//! The same file is in the tests of pacer-smol and pacer-async-std; each crate supplies an
//! [`Rt`] for its executor (spawn, cancel, run until nothing is runnable). The clock moves only
//! when a scenario moves it, and it is moved only while every task is idle, so each scenario
//! sees one schedule, whatever the executor's threads do.
//!
//! The oracle for every scenario is pacer's design contract (design.md): completion
//! instants obey the conformance rule, waiters complete in reservation order, none completes
//! before its reserved instant (and each completes at the first clock reading at or after it),
//! a cancelled newest waiter hands its cells back, and each acquisition future is polled at most
//! twice (reserve and sleep, then complete).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use pacer_core::{
    AtomicLimiter, Clock, Error, Gate, Gcra, ManualTimer, Pacer, Quota, RateLimiter, Reservation,
    Scheduler, Snapshot,
};

/// What a scenario needs from an executor.
pub(crate) trait Rt {
    /// A spawned task; [`Rt::cancel`] drops its future.
    type Handle;

    /// Spawns `future` as a task of the executor.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Self::Handle;

    /// Lets a task run to completion without its handle.
    fn detach(&self, handle: Self::Handle);

    /// Cancels a task: once this returns, its future has been dropped.
    fn cancel(&self, handle: Self::Handle);

    /// Returns once every task is idle (finished, or waiting for a wake-up that only the test
    /// can cause by moving the clock).
    fn settle(&self);

    /// Spawns and detaches.
    fn go<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        let handle = self.spawn(future);
        self.detach(handle);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The waiter whose future is being polled or dropped on this thread.
    static TAG: Cell<Option<usize>> = const { Cell::new(None) };
}

/// What happened to a limiter, in order, each with the waiter that caused it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// Cells recorded at `at`.
    Reserved {
        tag: Option<usize>,
        now: u64,
        at: u64,
        cells: u32,
    },
    /// A reservation refused (nothing recorded).
    Refused {
        tag: Option<usize>,
        now: u64,
        error: Error,
    },
    /// A reservation handed back.
    Cancelled {
        tag: Option<usize>,
        now: u64,
        at: u64,
        cells: u32,
        returned: bool,
    },
}

/// A limiter that records every decision of the one it wraps.
#[derive(Debug)]
pub(crate) struct Recording<L> {
    inner: L,
    events: Mutex<Vec<Event>>,
}

impl<L> Recording<L> {
    pub(crate) fn new(inner: L) -> Self {
        Recording {
            inner,
            events: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The reservation of waiter `tag`: (instant, cells).
    pub(crate) fn reservation_of(&self, tag: usize) -> Option<(u64, u32)> {
        self.events().into_iter().find_map(|e| match e {
            Event::Reserved {
                tag: Some(t),
                at,
                cells,
                ..
            } if t == tag => Some((at, cells)),
            _ => None,
        })
    }

    /// The cancellation of waiter `tag`, if any: (now, whether its cells were returned).
    pub(crate) fn cancellation_of(&self, tag: usize) -> Option<(u64, bool)> {
        self.events().into_iter().find_map(|e| match e {
            Event::Cancelled {
                tag: Some(t),
                now,
                returned,
                ..
            } if t == tag => Some((now, returned)),
            _ => None,
        })
    }

    /// Tags in reservation order.
    pub(crate) fn reservation_order(&self) -> Vec<usize> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Reserved { tag, cells, .. } if cells > 0 => tag,
                _ => None,
            })
            .collect()
    }

    /// Every cell that stays admitted (reserved, and not handed back), as its instant, in
    /// reservation order.
    pub(crate) fn admitted_cells(&self) -> Vec<u64> {
        let events = self.events();
        let mut kept: Vec<(u64, u32)> = Vec::new();
        for event in &events {
            match *event {
                Event::Reserved { at, cells, .. } => kept.push((at, cells)),
                Event::Cancelled {
                    at,
                    cells,
                    returned: true,
                    ..
                } => {
                    // A returned reservation is the newest one with its instant.
                    let position = kept
                        .iter()
                        .rposition(|&k| k == (at, cells))
                        .expect("a returned reservation was recorded");
                    kept.remove(position);
                }
                _ => {}
            }
        }
        kept.into_iter()
            .flat_map(|(at, cells)| std::iter::repeat_n(at, cells as usize))
            .collect()
    }
}

impl<L: RateLimiter> RateLimiter for Recording<L> {
    type Token = L::Token;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        let tag = TAG.get();
        // The lock spans the decision, so the log is in decision order.
        let mut events = lock(&self.events);
        let result = self.inner.reserve_within(now, cells, max_wait);
        events.push(match &result {
            Ok(r) => Event::Reserved {
                tag,
                now,
                at: r.at(),
                cells: r.cells(),
            },
            Err(error) => Event::Refused {
                tag,
                now,
                error: *error,
            },
        });
        result
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.inner.earliest(now, cells)
    }

    fn cancel(&self, reservation: Reservation<L::Token>, now: u64) -> bool {
        let (at, cells) = (reservation.at(), reservation.cells());
        let mut events = lock(&self.events);
        let returned = self.inner.cancel(reservation, now);
        events.push(Event::Cancelled {
            tag: TAG.get(),
            now,
            at,
            cells,
            returned,
        });
        returned
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.inner.snapshot(now)
    }
}

/// A future that counts its polls and marks the limiter calls it makes with its tag.
pub(crate) struct Traced<F> {
    tag: usize,
    polls: Arc<[AtomicUsize]>,
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> Traced<F> {
    pub(crate) fn new(tag: usize, polls: Arc<[AtomicUsize]>, inner: F) -> Self {
        Traced {
            tag,
            polls,
            inner: Some(Box::pin(inner)),
        }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        this.polls[this.tag].fetch_add(1, Ordering::SeqCst);
        let inner = this.inner.as_mut().expect("polled after completion");
        TAG.set(Some(this.tag));
        let poll = inner.as_mut().poll(cx);
        TAG.set(None);
        if poll.is_ready() {
            this.inner = None;
        }
        poll
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        TAG.set(Some(self.tag));
        self.inner = None; // a pending acquisition cancels here, under its tag
        TAG.set(None);
    }
}

/// Poll counters for `n` waiters.
pub(crate) fn counters(n: usize) -> Arc<[AtomicUsize]> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

pub(crate) fn polls(counters: &[AtomicUsize]) -> Vec<usize> {
    counters.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

/// One finished waiter: its tag, the clock reading when it finished, and its result.
pub(crate) type Record = (usize, u64, Result<(), Error>);

/// What each waiter saw when it finished.
#[derive(Debug, Default)]
pub(crate) struct Finished {
    list: Mutex<Vec<Record>>,
}

impl Finished {
    pub(crate) fn push(&self, tag: usize, now: u64, result: Result<(), Error>) {
        lock(&self.list).push((tag, now, result));
    }

    /// (tag, clock reading, result) in completion order.
    pub(crate) fn list(&self) -> Vec<Record> {
        lock(&self.list).clone()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.list).len()
    }

    /// The clock reading at which waiter `tag` finished.
    pub(crate) fn reading_of(&self, tag: usize) -> Option<u64> {
        self.list()
            .into_iter()
            .find_map(|(t, now, _)| (t == tag).then_some(now))
    }
}

type Limiter = Recording<AtomicLimiter>;
type TestPacer = Pacer<Limiter, ManualTimer>;

fn pacer(quota: Quota) -> (Arc<TestPacer>, ManualTimer) {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(Recording::new(AtomicLimiter::new(quota)), timer.clone());
    (Arc::new(pacer), timer)
}

/// Spawns waiter `tag`: acquires `cells` (traced), then records its clock reading.
fn waiter<R: Rt>(
    rt: &R,
    pacer: &Arc<TestPacer>,
    counters: &Arc<[AtomicUsize]>,
    finished: &Arc<Finished>,
    tag: usize,
    cells: u32,
) -> R::Handle {
    let (pacer, counters, finished) = (pacer.clone(), counters.clone(), finished.clone());
    rt.spawn(async move {
        let result = Traced::new(tag, counters, pacer.acquire_n(cells)).await;
        finished.push(tag, pacer.timer().now(), result);
    })
}

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

/// The conformance rule with rounding, for every pair of cells (instants in any order; ties
/// keep their order): `(p_j - p_i + 1)·count > (j - i + 1 - burst)·period`.
pub(crate) fn assert_conforms(cells: &[u64], quota: Quota) {
    let mut cells = cells.to_vec();
    cells.sort(); // stable; equal instants are interchangeable for the rule
    let (count, period, burst) = (
        u128::from(quota.count()),
        u128::from(quota.period_nanos()),
        quota.burst() as usize,
    );
    for i in 0..cells.len() {
        for j in i + 1..cells.len() {
            let span = j - i + 1;
            if span <= burst {
                continue;
            }
            let gap = u128::from(cells[j] - cells[i]);
            assert!(
                (gap + 1) * count > (span - burst) as u128 * period,
                "cells {i} at {} and {j} at {} break {quota}",
                cells[i],
                cells[j],
            );
        }
    }
}

/// The first visited reading at or after `at` (or the reading at reservation if `at` was
/// already due).
fn first_reading_at_or_after(visited: &[u64], at: u64) -> u64 {
    *visited
        .iter()
        .find(|&&v| v >= at)
        .expect("the clock reached every reserved instant")
}

/// A tiny deterministic PRNG (xorshift64).
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

fn ms(n: u64) -> u64 {
    n * 1_000_000
}

/// Hundreds of weighted waiters arriving in waves while the clock moves irregularly, on a quota
/// whose interval is not a whole number of nanoseconds: every waiter finishes, at the first
/// reading at or after its reserved instant (never early); the admitted cells conform; later
/// reservations never finish at an earlier reading (FIFO); each future is polled at most twice.
pub(crate) fn conformance_under_load<R: Rt>(rt: &R) {
    let quota = Quota::new(7, Duration::from_millis(11))
        .unwrap()
        .with_burst(3)
        .unwrap();
    let (pacer, timer) = pacer(quota);
    let (waves, per_wave) = (30, 10);
    let n = waves * per_wave;
    let counters = counters(n);
    let finished = Arc::new(Finished::default());
    let mut rng = XorShift::new(0x5eed_1234);
    let mut visited = vec![0];

    for wave in 0..waves {
        for k in 0..per_wave {
            let cells = rng.between(1, 3) as u32;
            let handle = waiter(rt, &pacer, &counters, &finished, wave * per_wave + k, cells);
            rt.detach(handle);
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

    assert_eq!(finished.len(), n, "every waiter finished");
    for (tag, reading, result) in finished.list() {
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
        .map(|&tag| finished.reading_of(tag).unwrap())
        .collect();
    assert!(
        readings.windows(2).all(|w| w[0] <= w[1]),
        "no later reservation finishes at an earlier reading"
    );
    assert!(polls(&counters).iter().all(|&p| (1..=2).contains(&p)));
}

/// Waiters that all arrive at one instant finish one by one, in the order they arrived, each at
/// its own slot `k·T`, and the completion sequence is exactly the arrival sequence.
pub(crate) fn fifo_across_tasks<R: Rt>(rt: &R) {
    let quota = Quota::per_second(100).unwrap();
    let (pacer, timer) = pacer(quota);
    let n = 50;
    let counters = counters(n);
    let finished = Arc::new(Finished::default());
    for tag in 0..n {
        // One at a time, so the arrival order is the spawn order on any executor.
        let handle = waiter(rt, &pacer, &counters, &finished, tag, 1);
        rt.detach(handle);
        rt.settle();
    }
    assert_eq!(
        pacer.limiter().reservation_order(),
        (0..n).collect::<Vec<_>>()
    );
    assert_eq!(finished.len(), 1, "only the first goes at once");
    assert_eq!(timer.sleepers(), n - 1);

    run_to_end(rt, &timer);
    let list = finished.list();
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
pub(crate) fn cancel_returns_newest_slot<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms
    let (pacer, timer) = pacer(quota);
    let counters = counters(5);
    let finished = Arc::new(Finished::default());
    let mut handles = Vec::new();
    for tag in 0..3 {
        handles.push(waiter(rt, &pacer, &counters, &finished, tag, 1));
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
    let d = waiter(rt, &pacer, &counters, &finished, 3, 1);
    rt.settle();
    assert_eq!(
        pacer.limiter().reservation_of(3),
        Some((ms(200), 1)),
        "the next waiter gets the cancelled slot"
    );

    rt.cancel(b); // not the newest: its slot stays empty
    rt.settle();
    assert_eq!(pacer.limiter().cancellation_of(1), Some((ms(50), false)));
    let e = waiter(rt, &pacer, &counters, &finished, 4, 1);
    rt.settle();
    assert_eq!(pacer.limiter().reservation_of(4), Some((ms(300), 1)));

    rt.detach(d);
    rt.detach(e);
    run_to_end(rt, &timer);
    let list = finished.list();
    assert_eq!(
        list,
        vec![(0, 0, Ok(())), (3, ms(200), Ok(())), (4, ms(300), Ok(()))],
        "the cancelled never finish; the others at their slots"
    );
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
    assert_eq!(timer.sleepers(), 0, "cancelled sleeps deregistered");
}

/// Weighted acquisitions take their cells at one instant, exactly where a pure GCRA fed the same
/// requests puts them.
pub(crate) fn weights<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap().with_burst(5).unwrap();
    let (pacer, timer) = pacer(quota);
    let mut oracle = Gcra::new(quota);
    let weights = [5, 2, 5, 1, 3, 4, 1, 1, 5, 2];
    let counters = counters(weights.len());
    let finished = Arc::new(Finished::default());
    let mut expected = Vec::new();
    for (tag, &cells) in weights.iter().enumerate() {
        if tag == 5 {
            timer.advance(Duration::from_millis(130));
            rt.settle();
        }
        expected.push(oracle.reserve(timer.now(), cells).unwrap().at());
        let handle = waiter(rt, &pacer, &counters, &finished, tag, cells);
        rt.detach(handle);
        rt.settle();
    }
    assert_eq!(
        pacer.snapshot().remaining,
        0,
        "a waiting backlog leaves no burst"
    );
    run_to_end(rt, &timer);
    assert_eq!(finished.len(), weights.len());
    for (tag, &at) in expected.iter().enumerate() {
        assert_eq!(
            pacer.limiter().reservation_of(tag),
            Some((at, weights[tag]))
        );
        // Each waiter was due at or after the clock it arrived at, and the clock then visited
        // every wake-up exactly.
        assert_eq!(finished.reading_of(tag), Some(at), "waiter {tag}");
    }
    let cells = pacer.limiter().admitted_cells();
    assert_eq!(cells.len(), weights.iter().sum::<u32>() as usize);
    assert_conforms(&cells, quota);
}

/// More cells than the burst fail at once with `TooHeavy`, recording nothing; a wait longer
/// than `acquire_within` allows fails at once with `WouldWait` carrying the instant, recording
/// nothing; within the allowance it waits.
pub(crate) fn errors<R: Rt>(rt: &R) {
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

/// The stream throttle yields each item at the first reading at or after its slot, with slots
/// one interval apart, whatever steps the clock takes.
pub(crate) fn throttle_spacing<R: Rt>(rt: &R) {
    let quota = Quota::per_second(20).unwrap(); // 50 ms
    let (pacer, timer) = pacer(quota);
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let (pacer, seen) = (pacer.clone(), seen.clone());
        rt.go(async move {
            let items = futures_lite::stream::iter(0..12u32);
            let mut paced = std::pin::pin!(pacer.throttle(items));
            while let Some(item) = futures_lite::StreamExt::next(&mut paced).await {
                lock(&seen).push((item, pacer.timer().now()));
            }
        });
    }
    let visited = step_to_end(rt, &timer, &[Duration::from_millis(7)]);
    let seen = lock(&seen).clone();
    assert_eq!(seen.len(), 12);
    for (k, &(item, reading)) in seen.iter().enumerate() {
        assert_eq!(item, k as u32, "in order");
        let slot = ms(50) * k as u64;
        assert_eq!(reading, first_reading_at_or_after(&visited, slot));
    }
    assert!(seen.windows(2).all(|w| w[1].1 - w[0].1 >= ms(49)));
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
}

/// A gate never has more than its concurrency in flight (and does reach it when calls are slow),
/// and its calls start no faster than its rate; the same through `gather`.
pub(crate) fn gate_concurrency<R: Rt>(rt: &R) {
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
            let all: Vec<_> = futures_lite::StreamExt::collect(gate.gather(calls)).await;
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

/// 1,000 concurrent waiters, each acquisition future in a counting wrapper: each is polled at
/// most twice (the first poll reserves and registers one sleep; the wake-up completes it), only
/// the due one is woken at each step, and they finish in order.
pub(crate) fn poll_counts<R: Rt>(rt: &R) {
    let quota = Quota::per_second(1_000).unwrap(); // 1 ms
    let (pacer, timer) = pacer(quota);
    let n = 1_000;
    let counters = counters(n);
    let finished = Arc::new(Finished::default());
    for tag in 0..n {
        let handle = waiter(rt, &pacer, &counters, &finished, tag, 1);
        rt.detach(handle);
    }
    rt.settle();
    assert_eq!(
        timer.sleepers(),
        n - 1,
        "one sleep each, the first went at once"
    );
    assert_eq!(finished.len(), 1);
    let after_first = polls(&counters);
    assert!(after_first.iter().all(|&p| p == 1), "one poll each so far");

    let mut step = 0;
    while let Some(at) = timer.next_wake() {
        timer.set(at);
        rt.settle();
        step += 1;
        assert_eq!(finished.len(), step + 1, "one waiter per step");
    }
    assert_eq!(finished.len(), n);
    let polls = polls(&counters);
    assert!(polls.iter().all(|&p| p <= 2), "{polls:?}");
    assert_eq!(polls.iter().sum::<usize>(), 2 * n - 1);
    let order = pacer.limiter().reservation_order();
    for (k, &tag) in order.iter().enumerate() {
        assert_eq!(finished.reading_of(tag), Some(ms(1) * k as u64));
    }
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
}
