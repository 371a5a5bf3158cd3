//! `PreciseTimer` on real time: correctness only. A loaded machine may wake any sleep late, so
//! nothing here asserts how late; what must hold is that no sleep ends before its deadline,
//! every sleep ends, a dropped one leaves the queue, and limiters on it keep their contract.
//! How close to its deadline a sleep ends is measured by the benchmarks (`herd`, `accuracy`).
#![cfg(all(feature = "precise", any(target_os = "linux", target_os = "android")))]

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use pacer_tests::race::{Race, Record};
use pacer_tests::{XorShift, assert_conforms, count_polls, poll_once};
use pacer_tokio::traits::{Clock, Timer};
use pacer_tokio::{AtomicLimiter, PreciseLimiter, PreciseTimer, Quota};

const MS: u64 = 1_000_000;

/// A bound on a wait that must end, so a broken alarm fails the test instead of hanging it.
const MUST_END_WITHIN: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it has not ended after [`MUST_END_WITHIN`].
async fn must_end<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(MUST_END_WITHIN, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not end within {MUST_END_WITHIN:?}"),
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `sleeps` tasks sleep until random deadlines up to `spread_ms` ahead (queued in random
/// order); a random third of them are cut short by a timeout, which drops the sleep.
async fn random_sleeps(timer: PreciseTimer, sleeps: usize, spread_ms: u64, seed: u64) {
    let mut rng = XorShift::new(seed);
    let start = timer.now();
    let handles: Vec<_> = (0..sleeps)
        .map(|_| {
            let timer = timer.clone();
            let at = start + rng.next_u64() % (spread_ms * MS);
            let cut = rng
                .next_u64()
                .is_multiple_of(3)
                .then(|| rng.next_u64() % (spread_ms * MS));
            tokio::spawn(async move {
                let sleep = timer.sleep_until(at);
                match cut {
                    Some(cut) => {
                        let cut = Duration::from_nanos(cut);
                        if tokio::time::timeout(cut, sleep).await.is_ok() {
                            assert!(timer.now() >= at, "a sleep ended early");
                        }
                    }
                    None => {
                        sleep.await;
                        assert!(timer.now() >= at, "a sleep ended early");
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        must_end("a sleep", handle).await.unwrap();
    }
    assert_eq!(timer.waiting(), 0, "every sleep left the queue");
}

#[test]
fn random_sleeps_never_end_early_and_all_leave_the_queue_on_two_workers() {
    let rt = multi_thread();
    rt.block_on(async {
        let timer = PreciseTimer::new().unwrap();
        random_sleeps(timer, 2_000, 30, 7).await;
    });
}

#[tokio::test(flavor = "current_thread")]
async fn random_sleeps_never_end_early_and_all_leave_the_queue_on_one_thread() {
    let timer = PreciseTimer::new().unwrap();
    random_sleeps(timer, 2_000, 30, 11).await;
}

#[test]
fn with_no_slack_random_sleeps_never_end_early_and_all_leave_the_queue() {
    let rt = multi_thread();
    rt.block_on(async {
        let timer = PreciseTimer::new().unwrap();
        timer.set_slack(Duration::ZERO);
        random_sleeps(timer, 2_000, 30, 17).await;
    });
}

#[test]
fn with_a_slack_random_sleeps_still_never_end_early() {
    let rt = multi_thread();
    rt.block_on(async {
        let timer = PreciseTimer::new().unwrap();
        timer.set_slack(Duration::from_millis(3));
        random_sleeps(timer, 2_000, 30, 13).await;
    });
}

/// With a slack, sleeps whose deadlines lie within it of the earliest end on one ring, at the
/// last of those deadlines: when the first ends, the second is due too. (With no slack the
/// first ends about 20 ms before the second is due.)
#[tokio::test(flavor = "current_thread")]
async fn with_a_slack_close_deadlines_end_on_one_ring() {
    let timer = PreciseTimer::new().unwrap();
    assert_eq!(timer.slack(), PreciseTimer::DEFAULT_SLACK);
    timer.set_slack(Duration::from_millis(50));
    assert_eq!(
        timer.clone().slack(),
        Duration::from_millis(50),
        "clones share it"
    );
    let first_at = timer.now() + 5 * MS;
    let second_at = first_at + 20 * MS;
    let mut second = Box::pin(timer.sleep_until(second_at));
    assert!(poll_once(&mut second).await.is_pending());
    must_end("the first sleep", timer.sleep_until(first_at)).await;
    assert!(
        timer.now() >= second_at,
        "the first ended before the ring for both"
    );
    assert!(poll_once(&mut second).await.is_ready());
    assert_eq!(timer.waiting(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn an_earlier_sleep_queued_later_moves_the_alarm() {
    let timer = PreciseTimer::new().unwrap();
    // An hour away: if the alarm stayed set for it, the next sleep would not end.
    let mut far = pin!(timer.sleep_until(timer.now() + 3_600_000 * MS));
    assert!(poll_once(&mut far).await.is_pending());
    let near = timer.now() + 2 * MS;
    must_end("the nearer sleep", timer.sleep_until(near)).await;
    assert!(timer.now() >= near);
    assert_eq!(timer.waiting(), 1, "the far sleep still waits");
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_earliest_sleep_moves_the_alarm_to_the_next() {
    let timer = PreciseTimer::new().unwrap();
    let soon = timer.now() + 3_600_000 * MS;
    let mut first = Box::pin(timer.sleep_until(soon));
    let mut second = Box::pin(timer.sleep_until(soon + MS));
    assert!(poll_once(&mut first).await.is_pending());
    assert!(poll_once(&mut second).await.is_pending());
    assert_eq!(timer.waiting(), 2);
    drop(first);
    assert_eq!(timer.waiting(), 1, "the dropped sleep left the queue");
    drop(second);
    assert_eq!(timer.waiting(), 0);
    // The alarm, last set for a dropped sleep, serves the next one.
    let at = timer.now() + MS;
    must_end("a sleep after drops", timer.sleep_until(at)).await;
    assert!(timer.now() >= at);
}

#[tokio::test(flavor = "current_thread")]
async fn past_instants_are_due_at_once_and_unreachable_ones_never() {
    let timer = PreciseTimer::new().unwrap();
    pacer_tests::real_timer::past_instants_are_due_at_once_and_unreachable_ones_never(&timer);
    assert_eq!(
        timer.waiting(),
        0,
        "the unreachable sleep left when dropped"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn clones_share_the_origin_and_the_queue() {
    let timer = PreciseTimer::new().unwrap();
    let copy = timer.clone();
    assert_eq!(copy.origin(), timer.origin());
    assert_eq!(timer.instant(0), Some(timer.origin()));
    let mut sleep = Box::pin(copy.sleep_until(copy.now() + 3_600_000 * MS));
    assert!(poll_once(&mut sleep).await.is_pending());
    assert_eq!(timer.waiting(), 1);
    let debug = format!("{timer:?}");
    assert!(
        debug.contains("waiting: 1") && debug.contains("slack: 1ms"),
        "{debug}"
    );
}

/// On one thread nothing runs between a racer's reading of its instant and its reservation,
/// so each record's `reserved` is exact: every acquisition completes at its reserved instant
/// or later, the reserved instants conform, and each acquisition is polled at most twice.
#[tokio::test(flavor = "current_thread")]
async fn a_limiter_on_it_passes_no_cell_early_and_polls_each_waiter_at_most_twice() {
    let quota = Quota::per_second(2_000).unwrap();
    let timer = PreciseTimer::new().unwrap();
    let limiter = Arc::new(PreciseLimiter::from_parts(AtomicLimiter::new(quota), timer));
    let race = Arc::new(Race::default());
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let (limiter, race) = (limiter.clone(), race.clone());
            tokio::spawn(async move { count_polls(race.take_one(&limiter)).await })
        })
        .collect();
    let mut records: Vec<Record> = Vec::new();
    for handle in handles {
        let (record, polls) = must_end("an acquisition", handle).await.unwrap();
        // take_one's own future: its first poll reserves, its second completes.
        assert!(polls <= 2, "an acquisition was polled {polls} times");
        records.push(record);
    }
    for record in &records {
        assert!(record.completed >= record.reserved, "{record:?} went early");
    }
    let reserved: Vec<u64> = records.iter().map(|r| r.reserved).collect();
    assert_conforms(&reserved, quota);
    assert_eq!(limiter.timer().waiting(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_acquisition_returns_its_cell_and_leaves_the_queue() {
    let timer = PreciseTimer::new().unwrap();
    let limiter =
        PreciseLimiter::from_parts(AtomicLimiter::new(Quota::per_second(1).unwrap()), timer);
    limiter.acquire().await.unwrap();
    let mut second = Box::pin(limiter.acquire());
    assert!(poll_once(&mut second).await.is_pending());
    assert_eq!(limiter.timer().waiting(), 1);
    assert!(
        limiter.delay(1).unwrap() > Duration::from_secs(1),
        "two cells ahead"
    );
    drop(second);
    assert_eq!(limiter.timer().waiting(), 0);
    assert!(
        limiter.delay(1).unwrap() <= Duration::from_secs(1),
        "the cell came back"
    );
}

#[test]
fn made_outside_a_runtime_or_without_io_it_is_an_error_not_a_panic() {
    let error = PreciseTimer::new().unwrap_err();
    assert!(error.to_string().contains("tokio runtime"), "{error}");
    let no_io = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let error = no_io.block_on(async { PreciseTimer::new().unwrap_err() });
    assert!(error.to_string().contains("enable_io"), "{error}");
}

/// A timer that outlives the runtime it was made in cannot ring any more; its sleeps fall
/// back to tokio's timer in the runtime that polls them, and still never end early.
#[test]
fn after_its_runtime_shuts_down_sleeps_fall_back_to_tokio_time() {
    let first = multi_thread();
    let (timer, queued_at) = first.block_on(async {
        let timer = PreciseTimer::new().unwrap();
        (timer.clone(), timer.now())
    });
    drop(first);
    let second = multi_thread();
    second.block_on(async {
        for step in 1..=3 {
            let at = queued_at.max(timer.now()) + step * MS;
            must_end("a sleep after shutdown", timer.sleep_until(at)).await;
            assert!(timer.now() >= at, "a fallback sleep ended early");
        }
        assert_eq!(timer.waiting(), 0);
    });
}

/// The alarm reads the same clock as [`Instant`]: a sleep's deadline is its timer's origin
/// plus the instant.
#[tokio::test(flavor = "current_thread")]
async fn a_sleep_reports_its_deadline() {
    let origin = Instant::now();
    let timer = PreciseTimer::with_origin(origin).unwrap();
    assert_eq!(
        timer.sleep_until(5).deadline(),
        Some(origin + Duration::from_nanos(5))
    );
    assert_eq!(
        timer.sleep_until(u64::MAX).deadline(),
        origin.checked_add(Duration::from_nanos(u64::MAX))
    );
}

/// Spends the current task's tokio budget: ready `oneshot` receivers each take one unit.
fn spend_budget(cx: &mut std::task::Context<'_>) {
    for _ in 0..1_000 {
        let (sender, mut receiver) = tokio::sync::oneshot::channel::<()>();
        sender.send(()).unwrap();
        let _ = Pin::new(&mut receiver).poll(cx);
    }
}

/// tokio answers an I/O poll from a task whose budget is spent with `Pending`, and wakes the
/// waker given; where no scheduler defers that wake (a `block_on` on the multi-thread
/// runtime) it is immediate. The alarm's poll must not depend on the budget.
#[test]
fn a_sleep_queued_by_a_task_with_its_budget_spent_still_ends() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        multi_thread().block_on(async {
            let timer = PreciseTimer::new().unwrap();
            // Far enough that a loaded machine still finds it pending at its first poll.
            let at = timer.now() + 200 * MS;
            let mut sleep = Box::pin(timer.sleep_until(at));
            poll_fn(|cx| {
                spend_budget(cx);
                assert!(sleep.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            must_end("a sleep queued without budget", sleep).await;
            assert!(timer.now() >= at);
        });
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(MUST_END_WITHIN + Duration::from_secs(10))
        .expect("the thread hung (a deadlock) or panicked");
}

/// Limiters and gates made by one timer share it: their sleeps wait in its one queue.
#[tokio::test(flavor = "current_thread")]
async fn limiters_and_gates_made_by_a_timer_share_it() {
    let timer = PreciseTimer::new().unwrap();
    let quota = Quota::per_second(1).unwrap();
    let limiter = timer.limiter(quota);
    let gate = timer.gate(quota, 2).unwrap();
    limiter.acquire().await.unwrap();
    drop(gate.acquire().await.unwrap());
    let mut waiting = Box::pin(limiter.acquire());
    let mut gated = Box::pin(gate.acquire());
    assert!(poll_once(&mut waiting).await.is_pending());
    assert!(poll_once(&mut gated).await.is_pending());
    assert_eq!(timer.waiting(), 2, "both wait on the timer that made them");
    assert!(matches!(
        timer.gate(quota, 0),
        Err(pacer_tokio::Error::ZeroConcurrency)
    ));
}
