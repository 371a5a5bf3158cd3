//! Keyed limits, case by case: full tables under both policies, the order in which keys are
//! forgotten, bad input, clocks that step backwards, borrowed lookups, and memory that stays
//! bounded however many distinct keys pass.

use std::time::Duration;

use pacer_core::{Error, KeyedGcra, KeyedRateLimiter, Quota, ShardedKeyedGcra, Snapshot, WhenFull};

const SECOND: u64 = 1_000_000_000;

fn one_per_second() -> Quota {
    Quota::per_second(1).unwrap()
}

#[test]
fn a_full_table_refuses_with_the_instant_a_slot_frees() {
    let mut keyed = KeyedGcra::<u32, 2>::new(one_per_second());
    keyed.reserve(&1, 0, 1).unwrap().at(); // busy until 1 s
    keyed.reserve(&2, SECOND / 2, 1).unwrap().at(); // busy until 1.5 s
    let full = Error::TableFull { at: SECOND };
    assert_eq!(keyed.reserve(&3, SECOND / 2, 1).unwrap_err(), full);
    assert_eq!(
        keyed
            .reserve_within(&3, SECOND / 2, 1, Duration::MAX)
            .unwrap_err(),
        full
    );
    assert_eq!(keyed.try_acquire(&3, SECOND / 2, 1).unwrap_err(), full);
    assert_eq!(keyed.earliest(&3, SECOND / 2, 1), Err(full));
    assert_eq!(
        keyed.snapshot(&3, SECOND / 2),
        Snapshot {
            remaining: 0,
            earliest: SECOND
        }
    );
    assert_eq!(full.earliest(), Some(SECOND));
    // Nothing was recorded and no other key was disturbed.
    assert_eq!(keyed.earliest(&1, SECOND / 2, 1), Ok(SECOND));
    assert_eq!(keyed.earliest(&2, SECOND / 2, 1), Ok(3 * SECOND / 2));
    // At 1 s key 1 is idle: forgetting it makes room, and changes none of its answers.
    assert_eq!(keyed.reserve(&3, SECOND, 1).unwrap().at(), SECOND);
    assert_eq!(
        keyed.earliest(&1, SECOND, 1),
        Err(Error::TableFull { at: 3 * SECOND / 2 })
    );
    assert_eq!(keyed.len(), 2);
}

#[test]
fn a_forgetting_table_forgets_the_key_that_becomes_idle_soonest() {
    let mut keyed = KeyedGcra::<u32, 2>::new(one_per_second()).when_full(WhenFull::Forget);
    keyed.reserve(&1, 0, 1).unwrap().at();
    keyed.reserve(&1, 0, 1).unwrap().at(); // key 1 busy until 2 s
    keyed.reserve(&2, 0, 1).unwrap().at(); // key 2 busy until 1 s: the soonest
    assert_eq!(keyed.reserve(&3, 0, 1).unwrap().at(), 0);
    // Key 2 was forgotten (its debt of one cell written off); key 1 kept its place.
    assert_eq!(
        keyed.snapshot(&2, 0),
        Snapshot {
            remaining: 1,
            earliest: 0
        }
    );
    assert_eq!(keyed.earliest(&1, 0, 1), Ok(2 * SECOND));
    // Key 2 comes back: admitted at once, one cell (its debt) earlier than it would have been.
    assert_eq!(keyed.reserve(&2, 0, 1).unwrap().at(), 0);
    assert_eq!(keyed.full_policy(), WhenFull::Forget);
}

/// A cancel lowers a key's arrival time below the bound the table keeps for it; the bound
/// must follow, or an idle key hides behind busy ones and a new key is refused.
#[test]
fn a_cancelled_key_is_found_idle_behind_busy_ones() {
    let mut keyed = KeyedGcra::<u32, 4>::new(one_per_second());
    keyed.reserve(&1, 0, 1).unwrap().at();
    let second = keyed.reserve(&1, 0, 1).unwrap(); // at 1 s; key 1 busy until 2 s
    for _ in 0..3 {
        keyed.reserve(&2, 0, 1).unwrap().at(); // busy until 3 s
    }
    keyed.reserve(&4, 0, 1).unwrap().at(); // busy until 1 s
    keyed.reserve(&4, 0, 1).unwrap().at(); // busy until 2 s
    keyed.reserve(&5, SECOND / 2, 1).unwrap().at(); // busy until 1.5 s
    // Full: looking for room makes the bounds of keys 1 and 2 exact.
    let refused = keyed.reserve(&3, SECOND / 2, 1).unwrap_err();
    assert_eq!(refused, Error::TableFull { at: 3 * SECOND / 2 });
    // Key 1 hands its second cell back: busy only until 1 s now.
    assert!(keyed.cancel(&1, second, SECOND / 2));
    assert_eq!(keyed.reserve(&3, SECOND, 1).unwrap().at(), SECOND);
}

#[test]
fn a_sharded_limiter_refuses_and_forgets_alike() {
    let limiter = ShardedKeyedGcra::<u32>::with_shards(one_per_second(), 2, 1).unwrap();
    limiter.reserve(&1, 0, 1).unwrap().at();
    limiter.reserve(&2, 0, 1).unwrap().at();
    assert_eq!(
        limiter.reserve(&3, 0, 1).unwrap_err(),
        Error::TableFull { at: SECOND }
    );
    let limiter = limiter.when_full(WhenFull::Forget);
    assert_eq!(limiter.reserve(&3, 0, 1).unwrap().at(), 0);
    assert_eq!(limiter.len(), 2);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let quota = Quota::per_second(10).unwrap().with_burst(3).unwrap();
    assert_eq!(
        ShardedKeyedGcra::<u32>::new(quota, 0).unwrap_err(),
        Error::ZeroCapacity
    );
    assert_eq!(
        ShardedKeyedGcra::<u32>::with_shards(quota, 0, 4).unwrap_err(),
        Error::ZeroCapacity
    );
    assert_eq!(
        Error::ZeroCapacity.to_string(),
        "keyed limiter capacity must be at least 1 key"
    );
    assert!(
        Error::TableFull { at: 7 }
            .to_string()
            .contains("a slot frees at instant 7 ns")
    );
    let mut keyed = KeyedGcra::<u32, 2>::new(quota);
    let heavy = Error::TooHeavy { cells: 4, max: 3 };
    assert_eq!(keyed.reserve(&1, 0, 4).unwrap_err(), heavy);
    assert_eq!(keyed.earliest(&1, 0, 4), Err(heavy));
    assert!(keyed.is_empty(), "a refused weight takes no slot");
    // Zero cells succeed now and take no slot either, even from a full table.
    keyed.reserve(&1, 0, 3).unwrap().at();
    keyed.reserve(&2, 0, 3).unwrap().at();
    assert_eq!(keyed.reserve(&3, 0, 0).unwrap().at(), 0);
    assert_eq!(keyed.earliest(&3, 0, 0), Ok(0));
    let sharded = ShardedKeyedGcra::<u32>::with_shards(quota, 1, 0).unwrap();
    assert_eq!(sharded.shards(), 1, "zero shards are one");
    assert_eq!(sharded.reserve(&1, 0, 4).unwrap_err(), heavy);
}

#[test]
fn readings_clamp_to_the_latest_seen_by_any_key() {
    let mut keyed = KeyedGcra::<u32, 4>::new(one_per_second());
    keyed.reserve(&1, 10 * SECOND, 1).unwrap().at();
    // A reading from before, for another key, counts as 10 s.
    assert_eq!(keyed.reserve(&2, 0, 1).unwrap().at(), 10 * SECOND);
    assert_eq!(keyed.earliest(&3, 5 * SECOND, 1), Ok(10 * SECOND));
    let sharded = ShardedKeyedGcra::<u32>::with_shards(one_per_second(), 4, 1).unwrap();
    sharded.reserve(&1, 10 * SECOND, 1).unwrap().at();
    assert_eq!(sharded.reserve(&2, 0, 1).unwrap().at(), 10 * SECOND);
}

#[test]
fn string_keys_are_looked_up_by_str() {
    let limiter = ShardedKeyedGcra::<String>::new(Quota::per_second(2).unwrap(), 16).unwrap();
    let alice = String::from("alice");
    assert_eq!(limiter.reserve(&alice, 0, 1).unwrap().at(), 0);
    assert_eq!(limiter.reserve("alice", 0, 1).unwrap().at(), SECOND / 2);
    assert_eq!(limiter.snapshot("alice", 0).earliest, SECOND);
    assert_eq!(limiter.earliest("bob", 0, 1), Ok(0));
}

/// A receipt from a forgotten entry cancels nothing in a new entry of the same key, even
/// one whose arrival time happens to equal the receipt's.
#[test]
fn a_forgotten_reservation_cancels_nothing() {
    let quota = Quota::per_second(1).unwrap().with_burst(2).unwrap();
    let mut keyed = KeyedGcra::<u32, 2>::new(quota).when_full(WhenFull::Forget);
    keyed.reserve(&1, 0, 2).unwrap().at();
    let held = keyed.reserve(&1, 0, 1).unwrap(); // at 1 s, arrival time 2 s -> 3 s
    assert_eq!(held.at(), SECOND);
    keyed.reserve(&2, 0, 2).unwrap().at();
    keyed.reserve(&2, 0, 2).unwrap().at(); // key 2 busy until 4 s
    keyed.reserve(&3, 0, 1).unwrap().at(); // forgets key 1 (idle at 3 s)
    keyed.reserve(&1, 0, 1).unwrap().at(); // forgets key 3; key 1 anew, arrival time 1 s
    assert_eq!(keyed.reserve(&1, 0, 2).unwrap().at(), SECOND); // arrival time 3 s again
    assert!(
        !keyed.cancel(&1, held, 0),
        "a receipt from the forgotten entry"
    );
    // Nothing changed: two cells at 1 s, so the next goes at 2 s (burst 2).
    assert_eq!(keyed.earliest(&1, 0, 1), Ok(2 * SECOND));
}

/// A million distinct keys through a table of a thousand: it never holds more than its
/// capacity, and never allocates more than it did when it was made.
#[test]
fn capacity_holds_after_a_million_distinct_keys() {
    let quota = Quota::per_second(10).unwrap();
    let sharded = ShardedKeyedGcra::<u64>::new(quota, 1_000).unwrap();
    let allocated = sharded.allocated_bytes();
    let capacity = sharded.capacity();
    let mut fixed = KeyedGcra::<u64, 1024>::new(quota);
    let mut refused = 0u32;
    for key in 0..1_000_000u64 {
        // 20 µs apart: about 5,000 keys are busy at a time (each for 100 ms), more than
        // either table holds.
        let now = key * 20_000;
        match sharded.reserve(&key, now, 1) {
            Ok(r) => assert_eq!(r.at(), now),
            Err(Error::TableFull { at }) => {
                assert!(at > now);
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
        let _ = fixed.reserve(&key, now, 1);
        assert!(fixed.len() <= 1024);
    }
    assert!(sharded.len() <= capacity);
    assert_eq!(sharded.allocated_bytes(), allocated, "no growth");
    assert!(refused > 0, "the table was full at times");
    // Once every key is idle, new keys find room: as many as the smallest share of a shard
    // holds, however they fall.
    let later = 1_000_000 * 20_000 + SECOND;
    let share = (capacity / sharded.shards()) as u64;
    for key in 2_000_000..2_000_000 + share {
        sharded.reserve(&key, later, 1).unwrap().at();
    }
    assert_eq!(sharded.allocated_bytes(), allocated, "no growth");
}
