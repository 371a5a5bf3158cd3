//! `KeyedRateLimiter`: a keyed limiter shared by reference, and `PerKey`, the limit of one of
//! its keys as a [`RateLimiter`].

use core::time::Duration;

use crate::{Error, RateLimiter, Reservation, Snapshot};

/// A keyed limiter that many threads or tasks use at once through `&self`: one independent
/// limit per key, looked up by `&Q` (for example `&str` for `String` keys).
///
/// Each method is the [`RateLimiter`] method of the same name for the limit of `key`. The
/// limiter may have no room for a new key: then reservations fail with
/// [`Error::TableFull`], carrying the instant a slot frees (see
/// [`WhenFull`](crate::WhenFull)).
///
/// Implemented by [`Locked`](crate::Locked)`<`[`KeyedGcra`](crate::KeyedGcra)`>` and, with the
/// `std` feature, by the sharded `ShardedKeyedGcra`.
pub trait KeyedRateLimiter<Q: ?Sized> {
    /// What [`cancel`](KeyedRateLimiter::cancel) needs to undo a reservation.
    type Token;

    /// Reserves `cells` cells for `key` at its earliest permitted instant `at >= now`, unless
    /// that is later than `now + max_wait` ([`Error::WouldWait`], nothing recorded).
    fn reserve_within(
        &self,
        key: &Q,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error>;

    /// Reserves `cells` cells for `key` at its earliest permitted instant, however far away.
    #[inline]
    fn reserve(&self, key: &Q, now: u64, cells: u32) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(key, now, cells, Duration::MAX)
    }

    /// Takes `cells` cells for `key` now, or fails with [`Error::WouldWait`] carrying the
    /// instant at which they could go.
    #[inline]
    fn try_acquire(
        &self,
        key: &Q,
        now: u64,
        cells: u32,
    ) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_within(key, now, cells, Duration::ZERO)
    }

    /// The instant [`reserve`](KeyedRateLimiter::reserve) would return for `key`, or its
    /// error, without recording anything.
    fn earliest(&self, key: &Q, now: u64, cells: u32) -> Result<u64, Error>;

    /// Hands a reservation of `key` back at `now`; returns whether its cells were returned.
    fn cancel(&self, key: &Q, reservation: Reservation<Self::Token>, now: u64) -> bool;

    /// Where a reservation of `key` stands at `now`, asked by a waiter when its timer fires;
    /// see [`RateLimiter::pending`]. The default answers from [`Reservation::at`].
    #[inline]
    fn pending(
        &self,
        key: &Q,
        reservation: &Reservation<Self::Token>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        let _ = key;
        let at = reservation.at();
        Ok((now < at).then_some(at))
    }

    /// The remaining burst of `key` and the earliest instant for one of its cells, at `now`.
    fn snapshot(&self, key: &Q, now: u64) -> Snapshot;
}

impl<Q: ?Sized, L: KeyedRateLimiter<Q> + ?Sized> KeyedRateLimiter<Q> for &L {
    type Token = L::Token;

    fn reserve_within(
        &self,
        key: &Q,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        (**self).reserve_within(key, now, cells, max_wait)
    }

    fn earliest(&self, key: &Q, now: u64, cells: u32) -> Result<u64, Error> {
        (**self).earliest(key, now, cells)
    }

    fn cancel(&self, key: &Q, reservation: Reservation<L::Token>, now: u64) -> bool {
        (**self).cancel(key, reservation, now)
    }

    fn pending(
        &self,
        key: &Q,
        reservation: &Reservation<L::Token>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        (**self).pending(key, reservation, now)
    }

    fn snapshot(&self, key: &Q, now: u64) -> Snapshot {
        (**self).snapshot(key, now)
    }
}

/// The limit of one key of a [`KeyedRateLimiter`], as a [`RateLimiter`]: what a keyed
/// acquisition waits on. Two references, `Copy`.
///
/// ```
/// use pacer_core::{KeyedGcra, Locked, PerKey, Quota, RateLimiter};
///
/// let keyed = Locked::new(KeyedGcra::<u32, 4>::new(Quota::per_second(10)?));
/// let seven = PerKey::new(&keyed, &7);
/// assert_eq!(seven.reserve(0, 1)?.at(), 0);
/// assert_eq!(seven.earliest(0, 1)?, 100_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct PerKey<'a, L: ?Sized, Q: ?Sized> {
    limiter: &'a L,
    key: &'a Q,
}

impl<'a, L: ?Sized, Q: ?Sized> PerKey<'a, L, Q> {
    /// The limit of `key` in `limiter`.
    pub const fn new(limiter: &'a L, key: &'a Q) -> Self {
        PerKey { limiter, key }
    }

    /// The key.
    pub fn key(&self) -> &'a Q {
        self.key
    }
}

impl<L: ?Sized, Q: ?Sized> Clone for PerKey<'_, L, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: ?Sized, Q: ?Sized> Copy for PerKey<'_, L, Q> {}

impl<L: KeyedRateLimiter<Q> + ?Sized, Q: ?Sized> RateLimiter for PerKey<'_, L, Q> {
    type Token = L::Token;

    #[inline]
    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        self.limiter.reserve_within(self.key, now, cells, max_wait)
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.limiter.earliest(self.key, now, cells)
    }

    fn cancel(&self, reservation: Reservation<L::Token>, now: u64) -> bool {
        self.limiter.cancel(self.key, reservation, now)
    }

    fn pending(&self, reservation: &Reservation<L::Token>, now: u64) -> Result<Option<u64>, Error> {
        self.limiter.pending(self.key, reservation, now)
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.limiter.snapshot(self.key, now)
    }
}

#[cfg(any(feature = "std", feature = "critical-section"))]
mod locked {
    use core::hash::Hash;
    use core::time::Duration;

    use super::KeyedRateLimiter;
    use crate::schedule::keyed::table::KeyedToken;
    use crate::{Error, KeyedGcra, Locked, Reservation, Snapshot};

    /// A [`KeyedGcra`] shared behind its lock: each decision holds the lock for a lookup and a
    /// few arithmetic operations.
    impl<K: Hash + Eq + Clone, const N: usize, const P: usize> KeyedRateLimiter<K>
        for Locked<KeyedGcra<K, N, P>>
    {
        type Token = KeyedToken;

        fn reserve_within(
            &self,
            key: &K,
            now: u64,
            cells: u32,
            max_wait: Duration,
        ) -> Result<Reservation<KeyedToken>, Error> {
            self.with(|keyed| keyed.reserve_within(key, now, cells, max_wait))
        }

        fn earliest(&self, key: &K, now: u64, cells: u32) -> Result<u64, Error> {
            self.with(|keyed| keyed.earliest(key, now, cells))
        }

        fn cancel(&self, key: &K, reservation: Reservation<KeyedToken>, now: u64) -> bool {
            self.with(|keyed| keyed.cancel(key, reservation, now))
        }

        fn pending(
            &self,
            key: &K,
            reservation: &Reservation<KeyedToken>,
            now: u64,
        ) -> Result<Option<u64>, Error> {
            Ok(self.with(|keyed| keyed.pending(key, reservation, now)))
        }

        fn snapshot(&self, key: &K, now: u64) -> Snapshot {
            self.with(|keyed| keyed.snapshot(key, now))
        }
    }
}
