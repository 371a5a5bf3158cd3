//! Keyed acquisitions on an executor: each key FIFO on its own schedule, none early, at most
//! two polls each, a dropped waiter cancelling its own key's reservation, and a new key with
//! no room refused with the instant a slot frees.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacer_core::{Clock, Error, KeyedPacer, ManualTimer, Quota, ShardedKeyedGcra};

use super::steps::run_to_end;
use super::traced::Traced;
use super::{Rt, lock, ms};
use crate::check::assert_conforms;

type Keyed = KeyedPacer<ShardedKeyedGcra<String>, ManualTimer>;

/// (tag, key, clock reading when it finished, result).
type Finished = Arc<Mutex<Vec<(usize, &'static str, u64, Result<(), Error>)>>>;

fn spawn<R: Rt>(
    rt: &R,
    keyed: &Arc<Keyed>,
    finished: &Finished,
    polls: &[Arc<AtomicUsize>],
    tag: usize,
    key: &'static str,
) -> R::Handle {
    let (keyed, finished, polls) = (keyed.clone(), finished.clone(), polls[tag].clone());
    rt.spawn(async move {
        let result = Traced::new(tag, polls, keyed.acquire(key)).await;
        let now = keyed.timer().now();
        lock(&finished).push((tag, key, now, result));
    })
}

/// Two keys with room for two: each key's waiters finish one interval apart in arrival
/// order, independently of the other key; a third key is refused with the instant the
/// first slot frees; the newest waiter of a key, dropped, hands its slot to that key's next.
pub fn keyed_acquisitions<R: Rt>(rt: &R) {
    let quota = Quota::per_second(10).unwrap(); // T = 100 ms
    let timer = ManualTimer::new();
    let limiter = ShardedKeyedGcra::with_shards(quota, 2, 1).unwrap();
    let keyed = Arc::new(KeyedPacer::from_parts(limiter, timer.clone()));
    let finished: Finished = Arc::default();
    let polls: Vec<Arc<AtomicUsize>> = (0..7).map(|_| Arc::default()).collect();
    let mut handles = Vec::new();
    for (tag, key) in [(0, "a"), (1, "a"), (2, "a"), (3, "b"), (4, "b")] {
        handles.push(spawn(rt, &keyed, &finished, &polls, tag, key));
        rt.settle();
    }
    assert_eq!(timer.sleepers(), 3, "one waiter of each key went at once");
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(300)));
    assert_eq!(keyed.delay("b", 1), Ok(Duration::from_millis(200)));
    // Key "b" is busy until 200 ms, "a" until 300 ms: "c" has no room until 200 ms.
    let full = Err(Error::TableFull { at: ms(200) });
    assert_eq!(keyed.try_acquire("c", 1), full);
    rt.detach(spawn(rt, &keyed, &finished, &polls, 5, "c"));
    rt.settle();

    timer.advance(Duration::from_millis(50));
    rt.settle();
    let newest_of_a = handles.remove(2);
    rt.cancel(newest_of_a); // its 200 ms slot comes back to "a"
    rt.settle();
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(150)));
    handles.push(spawn(rt, &keyed, &finished, &polls, 6, "a"));
    rt.settle();
    for handle in handles {
        rt.detach(handle);
    }
    run_to_end(rt, &timer);

    let mut list = lock(&finished).clone();
    list.sort_by_key(|&(tag, ..)| tag);
    assert_eq!(
        list,
        vec![
            (0, "a", 0, Ok(())),
            (1, "a", ms(100), Ok(())),
            (3, "b", 0, Ok(())),
            (4, "b", ms(100), Ok(())),
            (5, "c", 0, full),
            (6, "a", ms(200), Ok(())),
        ],
        "each at its key's slot, never early; the dropped one never finished"
    );
    let polls: Vec<usize> = polls.iter().map(|p| p.load(Ordering::SeqCst)).collect();
    assert!(
        polls.iter().all(|&p| p <= 2),
        "at most two polls each: {polls:?}"
    );
    for key in ["a", "b"] {
        let cells: Vec<u64> = list
            .iter()
            .filter(|&&(_, k, _, result)| k == key && result.is_ok())
            .map(|&(_, _, at, _)| at)
            .collect();
        assert_conforms(&cells, quota);
    }
    // At 300 ms both keys are idle: "c" finds room at once.
    timer.set(ms(300));
    assert_eq!(keyed.try_acquire("c", 1), Ok(()));
    assert_eq!(
        timer.sleepers(),
        0,
        "the dropped waiter's sleep was deregistered"
    );
}
