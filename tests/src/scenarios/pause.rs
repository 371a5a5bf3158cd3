//! A pause on any executor: every waiter not yet passed moves later by the same amount, keeps
//! its order and spacing, sleeps once more (three polls in all), and a waiter cancelled during
//! the pause hands its moved slot back; a pause of one key moves only that key's waiters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_core::{
    AtomicLimiter, Clock, KeyedPacer, ManualTimer, Pacer, Pausable, Quota, ShardedKeyedGcra,
};

use super::steps::run_to_end;
use super::{Rt, lock, ms};
use crate::check::assert_conforms;
use crate::polls::CountPolls;

type Paused = Pacer<Pausable<AtomicLimiter>, ManualTimer>;

/// What each waiter saw: (tag, clock reading when it finished, polls).
type Finished = Arc<Mutex<Vec<(usize, u64, usize)>>>;

/// Spawns a waiter that records (tag, reading when it finished, polls) once it has its cell.
fn waiter<R: Rt>(rt: &R, pacer: &Arc<Paused>, tag: usize, finished: &Finished) -> R::Handle {
    let (pacer, finished) = (pacer.clone(), finished.clone());
    rt.spawn(async move {
        let polls = Arc::new(AtomicUsize::new(0));
        let result = CountPolls::new(pacer.acquire(), polls.clone()).await;
        assert_eq!(result, Ok(()));
        let reading = pacer.timer().now();
        lock(&finished).push((tag, reading, polls.load(Ordering::SeqCst)));
    })
}

/// Ten waiters at 100 ms spacing; at 250 ms the server says "come back in 2 s"; two more
/// arrive during the pause; the newest of those is cancelled during the pause.
pub fn pause_moves_every_waiter<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms
    let timer = ManualTimer::new();
    let pacer = Arc::new(Pacer::from_parts(
        Pausable::new(AtomicLimiter::new(quota)),
        timer.clone(),
    ));
    let finished = Finished::default();
    for tag in 0..10 {
        rt.detach(waiter(rt, &pacer, tag, &finished));
        rt.settle();
    }
    for at in [100, 200, 250] {
        timer.set(ms(at));
        rt.settle();
    }
    assert_eq!(pacer.pause_for(Duration::from_secs(2)), Ok(true)); // until 2250 ms
    let late = waiter(rt, &pacer, 10, &finished);
    rt.settle();
    let cancelled = waiter(rt, &pacer, 11, &finished);
    rt.settle();
    timer.set(ms(1_000)); // waiters 3.. wake at their old instants and sleep again
    rt.settle();
    rt.cancel(cancelled); // the newest, before its moved instant (3350 ms): its slot returns
    rt.settle();
    rt.detach(late);
    let replacement = waiter(rt, &pacer, 12, &finished);
    rt.detach(replacement);
    run_to_end(rt, &timer);

    let list = lock(&finished).clone();
    let got: Vec<(usize, u64)> = list.iter().map(|&(tag, at, _)| (tag, at)).collect();
    let mut expected: Vec<(usize, u64)> = vec![(0, 0), (1, ms(100)), (2, ms(200))];
    expected.extend((3..10).map(|tag| (tag, ms(2_000 + 100 * tag as u64))));
    expected.push((10, ms(3_000)));
    expected.push((12, ms(3_100)));
    assert_eq!(
        got, expected,
        "moved by 2 s, in order, spacing kept; 12 took 11's slot"
    );
    for &(tag, _, polls) in &list {
        assert!(polls <= 3, "waiter {tag} polled {polls} times");
    }
    let instants: Vec<u64> = list.iter().map(|&(_, at, _)| at).collect();
    assert_conforms(&instants, quota);
    assert_eq!(timer.sleepers(), 0);
}

type KeyPaused = KeyedPacer<Pausable<ShardedKeyedGcra<String>>, ManualTimer>;

/// What each keyed waiter saw: (key, tag, clock reading when it finished, polls).
type KeyFinished = Arc<Mutex<Vec<(&'static str, usize, u64, usize)>>>;

fn key_waiter<R: Rt>(
    rt: &R,
    keyed: &Arc<KeyPaused>,
    key: &'static str,
    tag: usize,
    finished: &KeyFinished,
) -> R::Handle {
    let (keyed, finished) = (keyed.clone(), finished.clone());
    rt.spawn(async move {
        let polls = Arc::new(AtomicUsize::new(0));
        let result = CountPolls::new(keyed.acquire(key), polls.clone()).await;
        assert_eq!(result, Ok(()));
        let reading = keyed.timer().now();
        lock(&finished).push((key, tag, reading, polls.load(Ordering::SeqCst)));
    })
}

/// Four waiters on each of two keys at 100 ms spacing; at 150 ms the server says "come back
/// in 1 s" for key "a" alone; one more waiter of "a" arrives during its pause. Key "a"'s
/// waiters not yet passed move by 1 s in order and spacing, the late one queues behind them,
/// and key "b" goes on as if nothing happened.
pub fn key_pause_moves_its_waiters<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms
    let timer = ManualTimer::new();
    let table = ShardedKeyedGcra::new(quota, 16).unwrap();
    let keyed = Arc::new(KeyedPacer::from_parts(Pausable::new(table), timer.clone()));
    let finished = KeyFinished::default();
    for tag in 0..4 {
        rt.detach(key_waiter(rt, &keyed, "a", tag, &finished));
        rt.settle();
        rt.detach(key_waiter(rt, &keyed, "b", tag, &finished));
        rt.settle();
    }
    for at in [100, 150] {
        timer.set(ms(at));
        rt.settle();
    }
    assert_eq!(keyed.pause_key_for("a", Duration::from_secs(1)), Ok(true)); // to 1150 ms
    assert_eq!(keyed.key_paused_until("a"), Some(ms(1_150)));
    rt.detach(key_waiter(rt, &keyed, "a", 4, &finished));
    rt.settle();
    run_to_end(rt, &timer);

    let list = lock(&finished).clone();
    let of = |key: &str| -> Vec<(usize, u64)> {
        list.iter()
            .filter(|f| f.0 == key)
            .map(|&(_, tag, at, _)| (tag, at))
            .collect()
    };
    assert_eq!(
        of("a"),
        [
            (0, 0),
            (1, ms(100)),
            (2, ms(1_200)),
            (3, ms(1_300)),
            (4, ms(1_400))
        ],
        "a: nothing in [150, 1150), moved by 1 s in order and spacing, the late one behind"
    );
    assert_eq!(
        of("b"),
        [(0, 0), (1, ms(100)), (2, ms(200)), (3, ms(300))],
        "b is not affected"
    );
    for &(key, tag, _, polls) in &list {
        assert!(polls <= 3, "waiter {key}/{tag} polled {polls} times");
    }
    for key in ["a", "b"] {
        let instants: Vec<u64> = of(key).iter().map(|&(_, at)| at).collect();
        assert_conforms(&instants, quota);
    }
    assert_eq!(timer.sleepers(), 0);
}
