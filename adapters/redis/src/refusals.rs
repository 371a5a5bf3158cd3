//! `Refusals`: what Redis last refused, per key, so that the same refusal is answered here
//! without a round trip until its instant comes.
//!
//! When Redis answers that `cells` cells of a key cannot go before instant `t`, no later
//! request of as many cells can go before `t` either, whatever other processes do, save two
//! things that free cells early and that this process cannot see: another process's cancel
//! and a quota change. Other reservations and pauses only move `t` later. So until `t`, a
//! `try_acquire` or a bounded acquisition that Redis would refuse is refused here with the same
//! instant, and one it might grant goes to Redis. The server's now is read off the local timer
//! from the refusal's answer onwards: the answer left Redis before it arrived, so this reading
//! is at most one reply's travel late, and a late reading only refuses a little longer (never
//! admits a cell Redis would refuse).
//!
//! Memory is bounded: at most `capacity` keys, in shards; a full shard first forgets the
//! refusals whose instant has come, and otherwise does not remember the new one (its key
//! simply asks Redis again).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

const SHARDS: usize = 16;

/// One shard: the refusals of the keys that hash to it.
type Shard = Mutex<HashMap<Box<str>, Refused>>;

/// The refusals remembered, per key.
#[derive(Debug)]
pub(crate) struct Refusals {
    shards: Box<[Shard]>,
    per_shard: usize,
    hasher: RandomState,
}

/// One refusal: `cells` cannot go before `until` (server's clock, ns since the Unix epoch),
/// as Redis said at its `server_now`, which the local timer read as `local_now`.
#[derive(Clone, Copy, Debug)]
struct Refused {
    cells: u32,
    until: u64,
    server_now: u64,
    local_now: u64,
}

impl Refused {
    /// The server's now at local instant `local`, as late as it can be known here.
    fn server_now(&self, local: u64) -> u64 {
        self.server_now
            .saturating_add(local.saturating_sub(self.local_now))
    }
}

impl Refusals {
    /// Room for the refusals of at most `capacity` keys (0: none remembered).
    pub(crate) fn new(capacity: usize) -> Refusals {
        let per_shard = capacity.div_ceil(SHARDS);
        Refusals {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
            hasher: RandomState::new(),
        }
    }

    /// The instant to refuse `cells` of `key` with, if Redis would refuse a wait of at most
    /// `max_wait_ns` now (the local timer read by `local`, only for a key remembered);
    /// `None` to ask Redis.
    pub(crate) fn refusal(
        &self,
        key: &str,
        cells: u32,
        max_wait_ns: u64,
        local: impl FnOnce() -> u64,
    ) -> Option<u64> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(key).lock().ok()?;
        let refused = shard.get(key)?;
        let now = refused.server_now(local());
        (refused.cells == cells && refused.until > now.saturating_add(max_wait_ns))
            .then_some(refused.until)
    }

    /// Remembers Redis's refusal of `cells` of `key` before `until`, said at `server_now`,
    /// received at local instant `local`.
    pub(crate) fn remember(&self, key: &str, cells: u32, until: u64, server_now: u64, local: u64) {
        if self.per_shard == 0 {
            return;
        }
        let Ok(mut shard) = self.shard(key).lock() else {
            return;
        };
        let refused = Refused {
            cells,
            until,
            server_now,
            local_now: local,
        };
        if let Some(entry) = shard.get_mut(key) {
            *entry = refused;
            return;
        }
        if shard.len() >= self.per_shard {
            shard.retain(|_, old| old.until > old.server_now(local));
            if shard.len() >= self.per_shard {
                return;
            }
        }
        shard.insert(Box::from(key), refused);
    }

    /// How many keys' refusals are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().map_or(0, |shard| shard.len()))
            .sum()
    }

    fn shard(&self, key: &str) -> &Shard {
        let index = self.hasher.hash_one(key) as usize % SHARDS;
        &self.shards[index]
    }
}

#[cfg(test)]
mod tests {
    use super::Refusals;

    #[test]
    fn a_refusal_is_answered_until_its_instant_for_as_many_cells() {
        let refusals = Refusals::new(100);
        refusals.remember("k", 1, 1_000, 400, 10);
        // 100 ns later locally: the server's now is 500, the cell at 1,000.
        assert_eq!(refusals.refusal("k", 1, 0, || 110), Some(1_000));
        assert_eq!(refusals.refusal("k", 1, 499, || 110), Some(1_000));
        assert_eq!(
            refusals.refusal("k", 1, 500, || 110),
            None,
            "might be granted"
        );
        assert_eq!(
            refusals.refusal("k", 2, 0, || 110),
            None,
            "another weight asks Redis"
        );
        assert_eq!(refusals.refusal("other", 1, 0, || 110), None);
        assert_eq!(
            refusals.refusal("k", 1, 0, || 610),
            None,
            "its instant came"
        );
    }

    #[test]
    fn memory_is_bounded_and_passed_refusals_make_room() {
        let refusals = Refusals::new(32);
        for key in 0..1_000 {
            refusals.remember(&key.to_string(), 1, 1_000, 0, 0);
        }
        assert!(refusals.len() <= 32, "{} remembered", refusals.len());
        // Once their instants have come, new refusals take their room.
        for key in 1_000..2_000 {
            refusals.remember(&key.to_string(), 1, 5_000, 0, 2_000);
        }
        assert!(refusals.len() <= 32);
        assert!(
            (1_000..2_000).any(|key| refusals.refusal(&key.to_string(), 1, 0, || 2_000).is_some())
        );
        assert_eq!(Refusals::new(0).refusal("k", 1, 0, || 0), None);
    }
}
