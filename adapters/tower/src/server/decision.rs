//! One decision over several limits: reserved on all of them, or on none.
//!
//! # Why it is exact
//!
//! With one limit the decision is that limit's own `reserve_within`, atomic by itself.
//!
//! With several, reserving on one limit and then another is not enough: if the second
//! refuses, the first must be refunded by a cancel, and a cancel gives cells back only while
//! the reservation is that key's newest. A request for the same key arriving in between would
//! make the refund fail, and the first limit would be charged for a request the second
//! refused. Peeking first and reserving after is not enough either: between the peek and the
//! reservation another request can take the slot the peek saw.
//!
//! So a layer with several limits takes its decisions one at a time, under one short lock
//! held for the whole decision and never across an `.await`: it asks every limit for the
//! instant it would allow (`earliest`, which records nothing, and also finds a full table),
//! takes the latest of these instants `A`, refuses (recording nothing anywhere) if `A` is
//! beyond the wait allowed, and otherwise reserves on every limit *at* `A`
//! ([`ShardedKeyedGcra::reserve_from`](pacer_core::ShardedKeyedGcra::reserve_from)), so each
//! limit accounts the request at the instant it really goes, never earlier. Nothing else
//! touches the layer's tables, so under the lock every reservation returns exactly `A`: a
//! refusal has taken nothing, and no limit is charged for a request another refused.
//!
//! The cost is that such a layer decides one request at a time, a few hundred nanoseconds
//! each; a limit on a global key decides one at a time anyway.
//!
//! A queued request given up before its instant cancels its reservations newest first,
//! under the same lock: each comes back exactly when no later request of the same key (in
//! that limit) has reserved since, and otherwise its slot stays empty, as a single limiter's
//! cancel does: never more than the limits allow.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pacer_core::{Error, KeyedRateLimiter, KeyedToken, Reservation};
use smallvec::SmallVec;

use super::class::LimitState;
use super::key::Key;

/// A reservation held on one limit.
pub(crate) struct Held {
    pub(crate) limit: usize,
    pub(crate) class: usize,
    pub(crate) key: Key,
    pub(crate) reservation: Reservation<KeyedToken>,
}

/// A request admitted for instant `at`, with its reservation on each limit asked, in the
/// order asked.
pub(crate) struct Granted {
    pub(crate) at: u64,
    pub(crate) reservations: Reservations,
}

/// A request's reservations, most often one or two.
pub(crate) type Reservations = SmallVec<[Reservation<KeyedToken>; 2]>;

/// A request refused by one limit, with the error that limit answered.
pub(crate) struct Denied {
    pub(crate) limit: usize,
    pub(crate) class: usize,
    pub(crate) error: Error,
}

/// What one request asks of the limits: (limit, class, key) for each that applies.
pub(crate) type Asks = SmallVec<[(usize, usize, Key); 2]>;

/// Decides one request at `now`, waiting at most `max_wait`.
pub(crate) fn decide(
    limits: &[LimitState],
    together: &Mutex<()>,
    asks: &[(usize, usize, Key)],
    now: u64,
    max_wait: Duration,
) -> Result<Granted, Denied> {
    match asks {
        [] => Ok(Granted {
            at: now,
            reservations: SmallVec::new(),
        }),
        [(limit, class, key)] => {
            let table = &limits[*limit].classes[*class].table;
            match table.reserve_within(key, now, 1, max_wait) {
                Ok(reservation) => Ok(Granted {
                    at: reservation.at(),
                    reservations: smallvec::smallvec![reservation],
                }),
                Err(error) => Err(Denied {
                    limit: *limit,
                    class: *class,
                    error,
                }),
            }
        }
        _ => {
            let _one_at_a_time = together.lock().unwrap_or_else(PoisonError::into_inner);
            decide_together(limits, asks, now, max_wait)
        }
    }
}

/// Several limits, under the layer's lock: peek all, then reserve all at the latest instant.
fn decide_together(
    limits: &[LimitState],
    asks: &[(usize, usize, Key)],
    now: u64,
    max_wait: Duration,
) -> Result<Granted, Denied> {
    let mut at = now;
    let mut latest = (asks[0].0, asks[0].1);
    for (limit, class, key) in asks {
        let table = &limits[*limit].classes[*class].table;
        match table.earliest(key, now, 1) {
            Ok(instant) if instant > at => {
                at = instant;
                latest = (*limit, *class);
            }
            Ok(_) => {}
            Err(error) => {
                return Err(Denied {
                    limit: *limit,
                    class: *class,
                    error,
                });
            }
        }
    }
    if at > pacer_deadline(now, max_wait) {
        return Err(Denied {
            limit: latest.0,
            class: latest.1,
            error: Error::WouldWait { at },
        });
    }
    let mut reservations = Reservations::new();
    for (i, (limit, class, key)) in asks.iter().enumerate() {
        let table = &limits[*limit].classes[*class].table;
        match table.reserve_from(key, now, at, 1, max_wait) {
            Ok(reservation) => {
                debug_assert_eq!(reservation.at(), at, "a reservation at the peeked instant");
                reservations.push(reservation);
            }
            Err(error) => {
                // Not reached while only this layer touches its tables (every reservation
                // finds what the peek found); if it were, the newest-first cancels below
                // restore each table exactly, since nothing else ran in between.
                cancel_held(limits, held(&asks[..i], reservations), now);
                return Err(Denied {
                    limit: *limit,
                    class: *class,
                    error,
                });
            }
        }
    }
    Ok(Granted { at, reservations })
}

/// The reservations of `asks`, with their keys, to hand back later.
pub(crate) fn held(asks: &[(usize, usize, Key)], reservations: Reservations) -> Vec<Held> {
    asks.iter()
        .zip(reservations)
        .map(|((limit, class, key), reservation)| Held {
            limit: *limit,
            class: *class,
            key: key.clone(),
            reservation,
        })
        .collect()
}

/// Whether every limit of `asks` would admit the request at `now`, recording nothing (a
/// refusal names the limit that refuses, as [`decide`] would).
#[cfg(feature = "redis")]
pub(crate) fn peek(
    limits: &[LimitState],
    together: &Mutex<()>,
    asks: &[(usize, usize, Key)],
    now: u64,
) -> Result<(), Denied> {
    let _one_at_a_time =
        (asks.len() > 1).then(|| together.lock().unwrap_or_else(PoisonError::into_inner));
    for (limit, class, key) in asks {
        let refused = match limits[*limit].classes[*class].table.earliest(key, now, 1) {
            Ok(at) if at > now => Error::WouldWait { at },
            Ok(_) => continue,
            Err(error) => error,
        };
        return Err(Denied {
            limit: *limit,
            class: *class,
            error: refused,
        });
    }
    Ok(())
}

/// Hands back `held` at `now`, newest first, under the layer's lock when there are several;
/// returns how many came back.
pub(crate) fn cancel(
    limits: &[LimitState],
    together: &Mutex<()>,
    held: Vec<Held>,
    now: u64,
) -> usize {
    if held.len() > 1 {
        let _one_at_a_time = together.lock().unwrap_or_else(PoisonError::into_inner);
        cancel_held(limits, held, now)
    } else {
        cancel_held(limits, held, now)
    }
}

fn cancel_held(limits: &[LimitState], held: Vec<Held>, now: u64) -> usize {
    held.into_iter()
        .rev()
        .map(|h| {
            limits[h.limit].classes[h.class]
                .table
                .cancel(&h.key, h.reservation, now)
        })
        .filter(|&returned| returned)
        .count()
}

/// The last acceptable instant for a wait of `max_wait` from `now`.
fn pacer_deadline(now: u64, max_wait: Duration) -> u64 {
    let wait = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
    now.saturating_add(wait)
}
