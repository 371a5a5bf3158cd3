//! `Pausable`: any shared limiter, with a pause that stops its clock.
//!
//! The wrapped limiter never learns of a pause. It is given its own time,
//! `max(now, until) - shift` (see `pause_state.rs`), which stands still while a pause lasts and
//! runs with the caller's clock otherwise; `Pausable` adds `shift` back to every instant it
//! hands out. A reservation not yet passed when a pause begins is therefore worth `shift` more
//! of the caller's time when it is asked again, which is how every waiter moves later by the
//! same amount, keeping its order and its spacing.

use core::time::Duration;

use crate::reservation::deadline;
use crate::shared::pause_state::{PauseState, limiter_time};
use crate::{Error, RateLimiter, Reservation, Snapshot};

/// What [`Pausable`] records for each reservation: the wrapped limiter's own reservation, in
/// its own time, and the last instant the caller accepted.
#[derive(Debug, PartialEq, Eq)]
pub struct PausedToken<T> {
    inner: Reservation<T>,
    deadline: u64,
}

/// A limiter whose waiters can all be held back at once: [`pause_until`](Pause::pause_until)
/// stops its clock until an instant, as when a server answers 429 with `Retry-After`.
///
/// After a pause made at `p` that ends at `r`:
/// - nothing passes in `[p, r)`, except an acquisition whose instant was already reached
///   before `p` (its timer was late);
/// - every reservation not yet passed moves later by the time the clock stood still
///   (`r - p`, or less where an earlier pause already covered part of it), so waiters keep
///   their order and their spacing, and the quota still holds for what passes;
/// - reservations made during the pause queue behind them; the limiter resumes at `r` as it
///   was at `p`;
/// - a waiter learns of the pause when its timer fires, and sleeps once more, until its
///   moved instant;
/// - pauses combine to the latest end, and one that ends no later than the current end, or
///   in the past, changes nothing;
/// - a bounded wait ([`reserve_within`](RateLimiter::reserve_within), `acquire_within`) that
///   a pause pushes past its bound fails with [`Error::WouldWait`] carrying the moved instant,
///   and its cancel returns its cells when it is the newest reservation.
///
/// A pause longer than [`max_pause`](Pausable::max_pause) (one day unless set with
/// [`with_max_pause`](Pausable::with_max_pause)) is refused with [`Error::PauseTooLong`],
/// so a hostile or garbled `Retry-After` cannot stop the limiter for ever.
///
/// ```
/// use std::time::Duration;
/// use pacer_core::{AtomicLimiter, ManualTimer, Pacer, Pausable, Quota};
/// # futures_executor::block_on(async {
/// let timer = ManualTimer::new();
/// let pacer = Pacer::from_parts(Pausable::new(AtomicLimiter::new(Quota::per_second(10)?)), timer.clone());
/// pacer.acquire().await?; // at 0
/// pacer.pause_for(Duration::from_secs(2))?; // the server said: Retry-After: 2
/// assert_eq!(pacer.delay(1)?, Duration::from_millis(2_100)); // the next cell: 2 s later
/// # Ok::<(), pacer_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Pausable<L> {
    limiter: L,
    pause: PauseState,
    max_pause: u64,
}

/// One day, in nanoseconds: the longest pause [`Pausable`] accepts by default.
const DEFAULT_MAX_PAUSE: u64 = 86_400 * 1_000_000_000;

impl<L> Pausable<L> {
    /// `limiter`, never paused yet, accepting pauses of up to one day.
    pub const fn new(limiter: L) -> Pausable<L> {
        Pausable::with_max_pause(limiter, Duration::from_nanos(DEFAULT_MAX_PAUSE))
    }

    /// `limiter`, accepting pauses of up to `max_pause` (saturating at about 584 years).
    pub const fn with_max_pause(limiter: L, max_pause: Duration) -> Pausable<L> {
        let nanos = max_pause.as_nanos();
        let max_pause = if nanos > u64::MAX as u128 {
            u64::MAX
        } else {
            nanos as u64
        };
        Pausable {
            limiter,
            pause: PauseState::new(),
            max_pause,
        }
    }

    /// The longest pause accepted.
    pub const fn max_pause(&self) -> Duration {
        Duration::from_nanos(self.max_pause)
    }

    /// The wrapped limiter. Its instants are in its own time, which a pause holds still.
    pub fn inner(&self) -> &L {
        &self.limiter
    }

    /// The limiter's own time at `now`, and the shift that maps it back to the caller's.
    #[inline]
    fn time(&self, now: u64) -> (u64, u64) {
        let pause = self.pause.read();
        (limiter_time(now, pause), pause.1)
    }
}

impl<L: Default> Default for Pausable<L> {
    fn default() -> Self {
        Pausable::new(L::default())
    }
}

/// A limiter that can be paused: every waiter held back until an instant.
///
/// Implemented by [`Pausable`], which wraps any [`RateLimiter`] or
/// [`KeyedRateLimiter`](crate::KeyedRateLimiter) (pausing every key at once); the async
/// layer's [`Pacer::pause_for`](crate::Pacer::pause_for) and
/// [`KeyedPacer::pause_for`](crate::KeyedPacer::pause_for) read the clock and call it.
pub trait Pause {
    /// Holds every acquisition back until `until`, at `now`; returns whether the pause
    /// changed anything (it does not when `until` is no later than `now` or than the end of
    /// the current pause). Fails with [`Error::PauseTooLong`], changing nothing, when `until`
    /// is further from `now` than the limiter accepts.
    fn pause_until(&self, now: u64, until: u64) -> Result<bool, Error>;

    /// The instant the current pause ends, or `None` when the limiter is not paused at `now`.
    fn paused_until(&self, now: u64) -> Option<u64>;
}

impl<P: Pause + ?Sized> Pause for &P {
    fn pause_until(&self, now: u64, until: u64) -> Result<bool, Error> {
        (**self).pause_until(now, until)
    }

    fn paused_until(&self, now: u64) -> Option<u64> {
        (**self).paused_until(now)
    }
}

impl<L> Pause for Pausable<L> {
    fn pause_until(&self, now: u64, until: u64) -> Result<bool, Error> {
        if until.saturating_sub(now) > self.max_pause {
            return Err(Error::PauseTooLong {
                until,
                max: self.max_pause,
            });
        }
        Ok(self.pause.extend(now, until).is_some())
    }

    fn paused_until(&self, now: u64) -> Option<u64> {
        let (until, _) = self.pause.read();
        (until > now).then_some(until)
    }
}

/// Moves an instant of the wrapped limiter's time into the caller's.
#[inline]
fn out(at: u64, shift: u64) -> Result<u64, Error> {
    at.checked_add(shift).ok_or(Error::InstantOverflow)
}

/// Moves the instant an error carries into the caller's time.
#[inline]
fn out_error(error: Error, shift: u64) -> Error {
    match error {
        Error::WouldWait { at } => match out(at, shift) {
            Ok(at) => Error::WouldWait { at },
            Err(overflow) => overflow,
        },
        Error::TableFull { at } => match out(at, shift) {
            Ok(at) => Error::TableFull { at },
            Err(overflow) => overflow,
        },
        other => other,
    }
}

/// Shared by the keyed and the unkeyed limiter: the bound, the call in the wrapped limiter's
/// time, and the answer moved back into the caller's.
impl<L> Pausable<L> {
    #[inline]
    fn reserve_with<T>(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
        reserve: impl FnOnce(u64, Duration) -> Result<Reservation<T>, Error>,
        earliest: impl FnOnce(u64) -> Result<u64, Error>,
    ) -> Result<Reservation<PausedToken<T>>, Error> {
        let (time, shift) = self.time(now);
        let last = deadline(now, max_wait);
        // Every instant handed out now is at least `time + shift = max(now, until)`; a bound
        // that ends before that cannot be met.
        let start = time + shift;
        if cells > 0 && last < start {
            let at = earliest(time).map_err(|error| out_error(error, shift))?;
            return Err(Error::WouldWait {
                at: out(at, shift)?,
            });
        }
        let inner_wait = if max_wait == Duration::MAX {
            Duration::MAX
        } else {
            Duration::from_nanos(last.saturating_sub(start))
        };
        let inner = reserve(time, inner_wait).map_err(|error| out_error(error, shift))?;
        let at = if inner.cells() == 0 {
            now
        } else {
            out(inner.at(), shift)?
        };
        let cells = inner.cells();
        Ok(Reservation::new(
            at,
            cells,
            PausedToken {
                inner,
                deadline: last,
            },
        ))
    }

    #[inline]
    fn earliest_with(
        &self,
        now: u64,
        cells: u32,
        earliest: impl FnOnce(u64) -> Result<u64, Error>,
    ) -> Result<u64, Error> {
        if cells == 0 {
            return Ok(now);
        }
        let (time, shift) = self.time(now);
        out(
            earliest(time).map_err(|error| out_error(error, shift))?,
            shift,
        )
    }

    #[inline]
    fn pending_with<T>(
        &self,
        reservation: &Reservation<PausedToken<T>>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        let token = reservation.token();
        let pause = self.pause.read();
        let (time, shift) = (limiter_time(now, pause), pause.1);
        let inner = token.inner.at();
        // While paused, the wrapped limiter's clock stands at `time`, and what it reserved
        // for `time` itself goes when the pause ends; before the pause it went at `time`.
        let passed = inner < time || (inner == time && now >= pause.0);
        if token.inner.cells() == 0 || passed {
            return Ok(None);
        }
        let at = out(inner, shift)?;
        if at > token.deadline {
            return Err(Error::WouldWait { at });
        }
        Ok(Some(at))
    }

    #[inline]
    fn snapshot_with(&self, now: u64, snapshot: impl FnOnce(u64) -> Snapshot) -> Snapshot {
        let (time, shift) = self.time(now);
        let inner = snapshot(time);
        let earliest = inner.earliest.saturating_add(shift);
        Snapshot {
            // While paused, nothing goes now.
            remaining: if earliest > now { 0 } else { inner.remaining },
            earliest,
        }
    }
}

impl<L: RateLimiter> RateLimiter for Pausable<L> {
    type Token = PausedToken<L::Token>;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_with(
            now,
            cells,
            max_wait,
            |time, wait| self.limiter.reserve_within(time, cells, wait),
            |time| self.limiter.earliest(time, cells),
        )
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.earliest_with(now, cells, |time| self.limiter.earliest(time, cells))
    }

    fn pending(
        &self,
        reservation: &Reservation<Self::Token>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        self.pending_with(reservation, now)
    }

    fn cancel(&self, reservation: Reservation<Self::Token>, now: u64) -> bool {
        let (time, _) = self.time(now);
        self.limiter.cancel(reservation.into_token().inner, time)
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.snapshot_with(now, |time| self.limiter.snapshot(time))
    }
}

#[cfg(feature = "keyed")]
impl<Q: ?Sized, L: crate::KeyedRateLimiter<Q>> crate::KeyedRateLimiter<Q> for Pausable<L> {
    type Token = PausedToken<L::Token>;

    fn reserve_within(
        &self,
        key: &Q,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<Self::Token>, Error> {
        self.reserve_with(
            now,
            cells,
            max_wait,
            |time, wait| self.limiter.reserve_within(key, time, cells, wait),
            |time| self.limiter.earliest(key, time, cells),
        )
    }

    fn earliest(&self, key: &Q, now: u64, cells: u32) -> Result<u64, Error> {
        self.earliest_with(now, cells, |time| self.limiter.earliest(key, time, cells))
    }

    fn pending(
        &self,
        key: &Q,
        reservation: &Reservation<Self::Token>,
        now: u64,
    ) -> Result<Option<u64>, Error> {
        let token = reservation.token();
        let pause = self.pause.read();
        let (time, shift) = (limiter_time(now, pause), pause.1);
        // Where the wrapped limiter puts it in its own time: a pause of the key may have
        // moved it there.
        let inner = match self.limiter.pending(key, &token.inner, time)? {
            Some(at) => at,
            // While the whole limiter is paused its clock stands at `time`, and what is due
            // at `time` itself goes when the pause ends (asked a nanosecond before, the
            // wrapped limiter says whether it is due exactly then).
            None if now < pause.0 => match time.checked_sub(1) {
                // Instants are not negative: due by 0 is due at 0.
                None => time,
                Some(before) => match self.limiter.pending(key, &token.inner, before)? {
                    Some(at) => at,
                    None => return Ok(None),
                },
            },
            None => return Ok(None),
        };
        let at = out(inner, shift)?;
        if at > token.deadline {
            return Err(Error::WouldWait { at });
        }
        Ok(Some(at))
    }

    fn cancel(&self, key: &Q, reservation: Reservation<Self::Token>, now: u64) -> bool {
        let (time, _) = self.time(now);
        self.limiter
            .cancel(key, reservation.into_token().inner, time)
    }

    fn snapshot(&self, key: &Q, now: u64) -> Snapshot {
        self.snapshot_with(now, |time| self.limiter.snapshot(key, time))
    }
}

/// A paused limiter's quota changes at the wrapped limiter's own time, so a change made during
/// a pause takes effect where the limiter resumes, with the reservations already moved.
impl<L: crate::Reconfigure> crate::Reconfigure for Pausable<L> {
    fn quota(&self) -> crate::Quota {
        self.limiter.quota()
    }

    fn set_quota(&self, now: u64, quota: crate::Quota) -> Result<(), Error> {
        let (time, _) = self.time(now);
        self.limiter.set_quota(time, quota)
    }
}

/// A keyed limiter whose keys can be paused one at a time: a server answered 429 for one
/// destination or tenant, and only that key's waiters must hold back.
///
/// Implemented by [`Pausable`]`<`[`ShardedKeyedGcra`](crate::ShardedKeyedGcra)`>` (what
/// [`KeyedPacer::new`](crate::KeyedPacer::new) builds) and, for `no_std`, by
/// `Pausable<Locked<KeyedGcra<K, N, P>>>` with room for `P` paused keys (see
/// [`KeyedGcra`](crate::KeyedGcra)); the async layer's
/// [`KeyedPacer::pause_key_for`](crate::KeyedPacer::pause_key_for) reads the clock and calls
/// it. A pause of one key keeps every rule of a pause of the whole limiter (see [`Pausable`]),
/// for that key alone:
/// - nothing of the key passes in `[p, r)`, except an acquisition whose instant was reached
///   before `p`;
/// - every reservation of the key not yet passed moves later by the time the key's clock
///   stood still, keeping its order and spacing; reservations of the key made during the pause
///   queue behind them, and the key resumes at `r` as it was at `p`;
/// - other keys are not affected;
/// - a waiter of the key sleeps once more per pause; pauses of a key combine to the latest
///   end; a bounded wait that the pause pushes past its bound fails with
///   [`Error::WouldWait`];
/// - a pause longer than the limiter's maximum fails with [`Error::PauseTooLong`].
///
/// Unlike the whole limiter's pause, a reservation that a pause of its key moved keeps its
/// cells when cancelled (its slot stays empty: never an over-admission), and the limiter keeps
/// pause records for a bounded number of keys at once: one more fails with
/// [`Error::PausedKeysFull`], changing nothing (pausing the whole limiter is the fallback
/// that never pauses a key less than asked). See
/// [`ShardedKeyedGcra::with_paused_keys`](crate::ShardedKeyedGcra::with_paused_keys) and
/// `KeyedGcra`'s `P`.
///
/// A pause of a key counts on the limiter's clock, which a pause of the whole limiter stops:
/// a pause of the whole limiter made while a key's pause runs extends the key's pause by as
/// much.
pub trait PauseKey<Q: ?Sized> {
    /// Holds every acquisition of `key` back until `until`, at `now`; returns whether the
    /// pause changed anything (it does not when `until` is no later than `now`, than the end
    /// of the key's current pause, or than the end of the whole limiter's pause).
    fn pause_key_until(&self, key: &Q, now: u64, until: u64) -> Result<bool, Error>;

    /// The instant the key's own pause ends, or `None` when the key is not paused at `now`
    /// (see [`Pause::paused_until`] for the whole limiter's).
    fn key_paused_until(&self, key: &Q, now: u64) -> Option<u64>;
}

impl<Q: ?Sized, P: PauseKey<Q> + ?Sized> PauseKey<Q> for &P {
    fn pause_key_until(&self, key: &Q, now: u64, until: u64) -> Result<bool, Error> {
        (**self).pause_key_until(key, now, until)
    }

    fn key_paused_until(&self, key: &Q, now: u64) -> Option<u64> {
        (**self).key_paused_until(key, now)
    }
}

/// The key's pause is made in the wrapped limiter's own time, which the pause of the whole
/// limiter holds still.
///
/// ```
/// use std::time::Duration;
/// use pacer_core::{KeyedRateLimiter, Pausable, PauseKey, Quota, ShardedKeyedGcra};
///
/// const MS: u64 = 1_000_000;
/// let limiter = Pausable::new(ShardedKeyedGcra::<String>::new(Quota::per_second(10)?, 100)?);
/// let a = limiter.reserve("a", 0, 1)?; // at 0
/// let b = limiter.reserve("a", 0, 1)?; // at 100 ms
/// limiter.pause_key_until("a", 50 * MS, 550 * MS)?; // "a" answered 429, Retry-After 0.5 s
/// assert_eq!(limiter.pending("a", &b, 100 * MS)?, Some(600 * MS)); // moved by 500 ms
/// assert_eq!(limiter.earliest("a", 100 * MS, 1)?, 700 * MS); // queues behind it
/// assert_eq!(limiter.earliest("b", 100 * MS, 1)?, 100 * MS); // "b" is not paused
/// assert_eq!(limiter.key_paused_until("a", 100 * MS), Some(550 * MS));
/// # let _ = a;
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[cfg(feature = "std")]
impl<K, Q> PauseKey<Q> for Pausable<crate::ShardedKeyedGcra<K>>
where
    K: core::borrow::Borrow<Q> + core::hash::Hash + Eq,
    Q: core::hash::Hash + Eq + alloc::borrow::ToOwned<Owned = K> + ?Sized,
{
    fn pause_key_until(&self, key: &Q, now: u64, until: u64) -> Result<bool, Error> {
        if until.saturating_sub(now) > self.max_pause {
            return Err(Error::PauseTooLong {
                until,
                max: self.max_pause,
            });
        }
        let pause = self.pause.read();
        // Before the whole limiter's pause ends nothing passes anyway; after it, the
        // wrapped limiter's time is the caller's less the shift.
        if until <= now.max(pause.0) {
            return Ok(false);
        }
        self.limiter
            .pause_key(key, limiter_time(now, pause), until - pause.1)
    }

    fn key_paused_until(&self, key: &Q, now: u64) -> Option<u64> {
        let (time, shift) = self.time(now);
        self.limiter
            .key_paused_until(key, time)
            .and_then(|until| until.checked_add(shift))
            .filter(|&until| until > now)
    }
}

/// The key's pause is made in the wrapped limiter's own time, which the pause of the whole
/// limiter holds still; see [`KeyedGcra`](crate::KeyedGcra) for an example.
#[cfg(any(feature = "std", feature = "critical-section"))]
#[cfg(feature = "keyed")]
impl<K, const N: usize, const P: usize> PauseKey<K>
    for Pausable<crate::Locked<crate::KeyedGcra<K, N, P>>>
where
    K: core::hash::Hash + Eq + Clone,
{
    fn pause_key_until(&self, key: &K, now: u64, until: u64) -> Result<bool, Error> {
        if until.saturating_sub(now) > self.max_pause {
            return Err(Error::PauseTooLong {
                until,
                max: self.max_pause,
            });
        }
        let pause = self.pause.read();
        if until <= now.max(pause.0) {
            return Ok(false);
        }
        let (time, inner_until) = (limiter_time(now, pause), until - pause.1);
        self.limiter
            .with(|keyed| keyed.pause_key(key, time, inner_until))
    }

    fn key_paused_until(&self, key: &K, now: u64) -> Option<u64> {
        let (time, shift) = self.time(now);
        self.limiter
            .with(|keyed| keyed.paused_until(key, time))
            .and_then(|until| until.checked_add(shift))
            .filter(|&until| until > now)
    }
}
