//! Pausing one key of a keyed limiter on a manual timer, through the async layer: the key's
//! waiters move by the same amount and sleep once more (at most three polls), other keys go
//! on, pauses of a key combine, a bounded wait pushed past its bound fails, the table of paused
//! keys is bounded with a clear error, and its memory is fixed when the limiter is made.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use pacer_core::{
    Clock, Error, KeyedPacer, ManualTimer, Pausable, PauseKey, Quota, ShardedKeyedGcra,
};

const MS: u64 = 1_000_000;

type Keyed = KeyedPacer<Pausable<ShardedKeyedGcra<String>>, ManualTimer>;

/// (key, tag, when it finished, its outcome, its polls).
type Finished = Rc<RefCell<Vec<(&'static str, usize, u64, Result<(), Error>, usize)>>>;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    polls: Rc<RefCell<usize>>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        *self.polls.borrow_mut() += 1;
        self.future.as_mut().poll(cx)
    }
}

fn keyed(count: u32, paused_keys: usize) -> (Rc<Keyed>, ManualTimer) {
    let timer = ManualTimer::new();
    let table = ShardedKeyedGcra::new(Quota::per_second(count).unwrap(), 16)
        .unwrap()
        .with_paused_keys(paused_keys);
    (
        Rc::new(KeyedPacer::from_parts(Pausable::new(table), timer.clone())),
        timer,
    )
}

fn spawn_waiter(
    pool: &mut LocalPool,
    keyed: &Rc<Keyed>,
    key: &'static str,
    tag: usize,
    max_wait: Duration,
    finished: &Finished,
) {
    let (keyed, finished) = (keyed.clone(), finished.clone());
    pool.spawner()
        .spawn_local(async move {
            let polls = Rc::new(RefCell::new(0));
            let acquire = Counted {
                polls: polls.clone(),
                future: Box::pin(keyed.acquire_within(key, 1, max_wait)),
            };
            let result = acquire.await;
            let now = keyed.timer().now();
            finished
                .borrow_mut()
                .push((key, tag, now, result, *polls.borrow()));
        })
        .unwrap();
    pool.run_until_stalled();
}

/// Moves the clock to each next wake-up until no one sleeps.
fn run_to_end(pool: &mut LocalPool, timer: &ManualTimer) {
    pool.run_until_stalled();
    while let Some(at) = timer.next_wake() {
        timer.set(at);
        pool.run_until_stalled();
    }
}

#[test]
fn a_pause_of_one_key_moves_its_waiters_and_leaves_the_others() {
    let (keyed, timer) = keyed(10, 4); // T = 100 ms
    let mut pool = LocalPool::new();
    let finished = Finished::default();
    for tag in 0..4 {
        spawn_waiter(&mut pool, &keyed, "a", tag, Duration::MAX, &finished);
        spawn_waiter(&mut pool, &keyed, "b", tag, Duration::MAX, &finished);
    }
    timer.set(100 * MS);
    pool.run_until_stalled(); // a's and b's cells at 0 and 100 ms have passed
    timer.set(150 * MS);
    // "a" answered 429 with Retry-After: 1.
    assert_eq!(keyed.pause_key_for("a", Duration::from_secs(1)), Ok(true));
    assert_eq!(keyed.key_paused_until("a"), Some(1_150 * MS));
    assert_eq!(keyed.key_paused_until("b"), None);
    assert_eq!(keyed.paused_until(), None, "the whole table is not paused");
    // During the pause a new waiter of "a" queues behind the moved ones; "b" goes on.
    spawn_waiter(&mut pool, &keyed, "a", 4, Duration::MAX, &finished);
    spawn_waiter(&mut pool, &keyed, "b", 4, Duration::MAX, &finished);
    run_to_end(&mut pool, &timer);
    let finished = finished.borrow();
    let of = |key: &str| -> Vec<(usize, u64)> {
        finished
            .iter()
            .filter(|f| f.0 == key)
            .map(|f| (f.1, f.2 / MS))
            .collect()
    };
    assert_eq!(
        of("a"),
        [(0, 0), (1, 100), (2, 1_200), (3, 1_300), (4, 1_400)],
        "nothing of a in [150, 1150); its queue keeps its order and spacing"
    );
    assert_eq!(
        of("b"),
        [(0, 0), (1, 100), (2, 200), (3, 300), (4, 400)],
        "b is not affected"
    );
    for &(key, tag, _, result, polls) in finished.iter() {
        assert_eq!(result, Ok(()));
        assert!(polls <= 3, "waiter {key}/{tag} polled {polls} times");
    }
    assert_eq!(keyed.key_paused_until("a"), None);
}

#[test]
fn pauses_of_a_key_combine_to_the_latest_end() {
    let (keyed, timer) = keyed(10, 4);
    keyed.try_acquire("a", 1).unwrap(); // at 0; the next at 100 ms
    assert_eq!(
        keyed.pause_key_until("a", 0),
        Ok(false),
        "ending now: nothing"
    );
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_millis(500)),
        Ok(true)
    );
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_millis(300)),
        Ok(false)
    );
    timer.set(200 * MS);
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_millis(500)),
        Ok(true)
    );
    assert_eq!(keyed.key_paused_until("a"), Some(700 * MS));
    // a's clock stood still from 0 to 700 ms: its next cell, due at 100 ms, goes at 800 ms.
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(600)));
    assert_eq!(
        keyed.snapshot("a").remaining,
        0,
        "nothing of a goes while paused"
    );
    assert_eq!(keyed.delay("b", 1), Ok(Duration::ZERO));
    assert_eq!(keyed.snapshot("b").remaining, 1);
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_secs(2 * 86_400)),
        Err(Error::PauseTooLong {
            until: 200 * MS + 2 * 86_400 * 1_000 * MS,
            max: 86_400 * 1_000 * MS
        }),
        "an absurd pause is refused and changes nothing"
    );
    assert_eq!(keyed.key_paused_until("a"), Some(700 * MS));
    // A pause of the whole table that ends earlier than the key's changes nothing for it; a
    // pause of the key that ends within the table's pause changes nothing either.
    assert_eq!(keyed.pause_for(Duration::from_millis(100)), Ok(true)); // to 300 ms
    assert_eq!(keyed.pause_key_until("b", 250 * MS), Ok(false));
    assert_eq!(keyed.key_paused_until("b"), None);
}

#[test]
fn a_new_key_paused_before_its_first_cell_waits_for_the_end() {
    let (keyed, timer) = keyed(10, 4);
    assert_eq!(
        keyed.pause_key_for("new", Duration::from_millis(250)),
        Ok(true)
    );
    assert_eq!(keyed.delay("new", 1), Ok(Duration::from_millis(250)));
    assert!(keyed.try_acquire("new", 1).is_err());
    assert!(keyed.try_acquire("other", 1).is_ok());
    timer.set(250 * MS);
    assert!(
        keyed.try_acquire("new", 1).is_ok(),
        "at the end, the whole burst"
    );
}

#[test]
fn a_bounded_wait_pushed_past_its_bound_by_its_keys_pause_fails() {
    let (keyed, timer) = keyed(10, 4);
    let mut pool = LocalPool::new();
    let finished = Finished::default();
    keyed.try_acquire("a", 1).unwrap(); // the cell at 0
    spawn_waiter(
        &mut pool,
        &keyed,
        "a",
        0,
        Duration::from_millis(500),
        &finished,
    ); // 100 ms
    timer.set(50 * MS);
    keyed
        .pause_key_for("a", Duration::from_millis(1_000))
        .unwrap(); // to 1050: it to 1100
    run_to_end(&mut pool, &timer);
    let list = finished.borrow().clone();
    assert_eq!(list.len(), 1);
    let (_, _, at, result, polls) = list[0];
    assert_eq!(at, 100 * MS, "it learns when its timer fires");
    assert_eq!(result, Err(Error::WouldWait { at: 1_100 * MS }));
    assert!(polls <= 2);
    // Moved by its key's pause, it keeps its slot (the documented conservative cancel): the
    // next cell of a is the one after it.
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(1_100)));
    // A bounded wait that cannot end before the key's pause does is refused at once.
    let refused = keyed.acquire_within("a", 1, Duration::from_millis(10));
    assert_eq!(
        now_or_never(refused),
        Some(Err(Error::WouldWait { at: 1_200 * MS }))
    );
    assert_eq!(
        now_or_never(keyed.acquire_within("b", 1, Duration::from_millis(10))),
        Some(Ok(()))
    );
}

#[test]
fn a_waiter_of_a_paused_key_that_queued_during_the_pause_cancels_exactly() {
    let (keyed, timer) = keyed(10, 4);
    keyed.try_acquire("a", 1).unwrap();
    keyed
        .pause_key_for("a", Duration::from_millis(1_000))
        .unwrap(); // to 1000; next at 1100
    let mut pending = Box::pin(keyed.acquire("a"));
    assert_eq!(poll_once(&mut pending), None);
    assert_eq!(timer.next_wake(), Some(1_100 * MS));
    timer.set(500 * MS);
    drop(pending); // made after the pause, the newest: its slot comes back
    assert_eq!(timer.sleepers(), 0);
    assert_eq!(keyed.delay("a", 1), Ok(Duration::from_millis(600)));
}

#[test]
fn the_table_of_paused_keys_is_bounded_and_says_so_when_full() {
    let (keyed, timer) = keyed(10, 1);
    keyed.try_acquire("a", 1).unwrap();
    keyed.try_acquire("a", 1).unwrap_err();
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_millis(300)),
        Ok(true)
    );
    assert_eq!(
        keyed.pause_key_for("b", Duration::from_millis(300)),
        Err(Error::PausedKeysFull { capacity: 1 })
    );
    assert_eq!(keyed.key_paused_until("b"), None, "nothing changed");
    assert_eq!(keyed.delay("b", 1), Ok(Duration::ZERO));
    // The same key can still be paused further: it has its record.
    assert_eq!(
        keyed.pause_key_for("a", Duration::from_millis(400)),
        Ok(true)
    );
    // Once a's pause is over and its moved reservations have passed, its record goes.
    timer.set(500 * MS);
    assert_eq!(
        keyed.pause_key_for("b", Duration::from_millis(300)),
        Ok(true)
    );
    assert_eq!(keyed.key_paused_until("b"), Some(800 * MS));
    // Turned off: every pause of a key is refused, and pausing the whole table still works.
    let (off, _) = keyed_with(0);
    assert_eq!(
        off.pause_key_for("a", Duration::from_millis(1)),
        Err(Error::PausedKeysFull { capacity: 0 })
    );
    assert_eq!(off.pause_for(Duration::from_millis(1)), Ok(true));
}

fn keyed_with(paused_keys: usize) -> (Rc<Keyed>, ManualTimer) {
    keyed(10, paused_keys)
}

#[test]
fn the_memory_of_paused_keys_is_fixed_when_the_limiter_is_made() {
    let quota = Quota::per_second(10).unwrap();
    let bytes = |paused_keys: usize| {
        ShardedKeyedGcra::<u64>::with_shards(quota, 1_000, 1)
            .unwrap()
            .with_paused_keys(paused_keys)
            .allocated_bytes()
    };
    let (none, default, many) = (bytes(0), bytes(64), bytes(1_024));
    let per_key = |cost: usize, keys: usize| cost as f64 / keys as f64;
    println!(
        "paused-key records for u64 keys: 64 keys {} bytes ({:.1}/key), 1024 keys {} bytes \
         ({:.1}/key), table of 1000 keys {} bytes",
        default - none,
        per_key(default - none, 64),
        many - none,
        per_key(many - none, 1_024),
        none
    );
    // hashbrown's buckets for twice the room (so clearing tombstones never allocates): a power
    // of two at most 7/8 full, each the key, the 32-byte record and a control byte.
    assert_eq!(default - none, 256 * (8 + 32 + 1) + 16);
    let strings = |paused_keys: usize| {
        ShardedKeyedGcra::<String>::with_shards(quota, 1_000, 1)
            .unwrap()
            .with_paused_keys(paused_keys)
            .allocated_bytes()
    };
    assert_eq!(strings(64) - strings(0), 256 * (24 + 32 + 1) + 16);
    let limiter = Pausable::new(
        ShardedKeyedGcra::<u64>::with_shards(quota, 1_000, 1)
            .unwrap()
            .with_paused_keys(64),
    );
    let before = limiter.inner().allocated_bytes();
    for key in 0..64 {
        assert_eq!(limiter.pause_key_until(&key, 0, 1_000 * MS), Ok(true));
    }
    assert_eq!(
        limiter.pause_key_until(&64, 0, 1_000 * MS),
        Err(Error::PausedKeysFull { capacity: 64 })
    );
    assert_eq!(limiter.inner().allocated_bytes(), before, "nothing grew");
    // A full table where one record settles as another key pauses, over and over: the
    // removals' tombstones are cleared in place, never by a larger allocation.
    let limiter = Pausable::new(
        ShardedKeyedGcra::<u64>::with_shards(quota, 1_000, 1)
            .unwrap()
            .with_paused_keys(64),
    );
    let before = limiter.inner().allocated_bytes();
    for key in 0..5_000u64 {
        let now = 10_000 * MS + key * 10 * MS;
        // Key k's pause ends 635 ms on: 63 younger ones are still paused when k + 64 comes.
        assert_eq!(limiter.pause_key_until(&key, now, now + 635 * MS), Ok(true));
    }
    assert_eq!(limiter.inner().allocated_bytes(), before, "nothing grew");
}

fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let waker = futures_util::task::noop_waker();
    match Pin::new(future).poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = Box::pin(future);
    poll_once(&mut future)
}

/// The same on a no_std `KeyedGcra` behind its lock, with room to pause one key at once.
#[test]
fn a_fixed_table_pauses_one_key_within_its_room() {
    use pacer_core::{KeyedGcra, Locked};
    let timer = ManualTimer::new();
    let table = Locked::new(KeyedGcra::<u8, 4, 1>::new(Quota::per_second(10).unwrap()));
    let radio = KeyedPacer::from_parts(Pausable::new(table), timer.clone());
    radio.try_acquire(&1, 1).unwrap(); // node 1 at 0; its next at 100 ms
    let mut waiting = Box::pin(radio.acquire(&1));
    assert_eq!(poll_once(&mut waiting), None);
    timer.set(50 * MS);
    // Node 1 said: busy for 500 ms.
    assert_eq!(
        radio.pause_key_for(&1, Duration::from_millis(500)),
        Ok(true)
    );
    assert_eq!(radio.key_paused_until(&1), Some(550 * MS));
    assert_eq!(
        radio.pause_key_for(&2, Duration::from_millis(500)),
        Err(Error::PausedKeysFull { capacity: 1 }),
        "room for one paused key"
    );
    assert!(radio.try_acquire(&2, 1).is_ok(), "node 2 goes on");
    timer.set(100 * MS); // the waiter's old instant: it sleeps again, until 600 ms
    assert_eq!(poll_once(&mut waiting), None);
    assert_eq!(timer.next_wake(), Some(600 * MS));
    timer.set(600 * MS);
    assert_eq!(poll_once(&mut waiting), Some(Ok(())));
    assert_eq!(radio.delay(&1, 1), Ok(Duration::from_millis(100)));
    // Each slot for a paused key costs the key and a 32-byte record, and no slot costs nothing.
    let slot = size_of::<KeyedGcra<u8, 4, 1>>() - size_of::<KeyedGcra<u8, 4>>();
    println!(
        "a KeyedGcra<u8, 4>: {} bytes; each paused-key slot {slot}",
        size_of::<KeyedGcra<u8, 4>>()
    );
    assert_eq!(slot, 40);
    // Without room (the default), every pause of one key is refused; the whole table's works.
    let plain = Pausable::new(Locked::new(KeyedGcra::<u8, 4>::new(
        Quota::per_second(10).unwrap(),
    )));
    assert_eq!(
        plain.pause_key_until(&1, 0, 100 * MS),
        Err(Error::PausedKeysFull { capacity: 0 })
    );
}
