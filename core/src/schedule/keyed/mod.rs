//! Keyed limits: one quota, one independent limit per key (a user, an IP address, a
//! destination), in memory bounded by a capacity fixed when the limiter is made.
//!
//! Every key behaves exactly as if it had its own [`Gcra`](crate::Gcra): the same operations,
//! the same conformance rule, FIFO per key, cancel per key. What makes the memory bounded is
//! that a key can be **idle**: once the limiter's clock reaches the key's arrival time, its
//! whole burst is available and its state equals a new key's. Forgetting an idle key changes
//! no answer, since every reservation of it is already spent, so the limiter forgets idle keys
//! by itself, lazily, when it needs their room. Nothing grows with the number of distinct keys
//! ever seen.
//!
//! When a new key arrives and every slot holds a key that is not idle, the limiter answers by
//! its [`WhenFull`] policy: refuse with [`Error::TableFull`](crate::Error::TableFull), carrying
//! the instant a slot frees (the default: exact, nothing recorded, no other key disturbed), or
//! forget the key that becomes idle soonest.
//!
//! Readings of the clock clamp to the latest seen by the whole table (not per key), so a stale
//! reading can never put a forgotten key's next cell before its last one.
//!
//! | type | for | storage |
//! |---|---|---|
//! | [`KeyedGcra<K, N>`](KeyedGcra) | `no_std`, `&mut`, or shared in [`Locked`](crate::Locked) | `N` keys on `heapless`, no allocation |
//! | `ShardedKeyedGcra<K>` (feature `std`) | many threads by `&self` | a capacity chosen at run time, split over shards |

mod entries;
mod fixed;
mod order;
pub(crate) mod table;
mod when_full;

mod key_pause;
#[cfg(feature = "std")]
mod sharded;
#[cfg(feature = "std")]
mod std_entries;

pub use fixed::KeyedGcra;
pub use table::KeyedToken;
pub use when_full::WhenFull;

#[cfg(feature = "std")]
pub use sharded::ShardedKeyedGcra;
