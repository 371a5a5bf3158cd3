//! Sleeping until a reservation is due, and cancelling it if the sleep is dropped first: the
//! second half of every acquisition, keyed or not.
//!
//! A pause made after the reservation (by any process) moves its instant later. So when the
//! local sleep ends, the waiter asks Redis where its reservation stands (one light call,
//! `TIME` and `GET`): passed, or not moved by a pause, it goes; moved, it sleeps again for as
//! long as the pauses since moved it, then asks again. A waiter therefore never goes inside a
//! pause that Redis knew of when it asked; with no pause, the check changes nothing, and the
//! local timer alone decides as before.

use pacer_core::Timer;

use crate::engine::Engine;
use crate::{Error, RedisReservation, runtime};

/// Sleeps on `timer` until `reservation` is due (its wait after the server's decision, moved
/// by any pause since), cancelling it in the background through `engine` if this future is
/// dropped first.
///
/// With a `deadline` (ns since the Unix epoch, server's clock), a reservation that a pause
/// moves past it is cancelled (its cells come back if no later reservation stands behind
/// it) and the call fails with [`WouldWait`](pacer_core::Error::WouldWait) at the moved
/// instant. If Redis cannot be asked when the sleep ends, the reservation goes at the instant
/// it was given: a pause it cannot hear of does not hold it.
pub(crate) async fn until_due<T: Timer>(
    engine: &Engine,
    timer: &T,
    reservation: RedisReservation,
    deadline: Option<u64>,
) -> Result<(), Error> {
    let wait = u64::try_from(reservation.wait().as_nanos()).unwrap_or(u64::MAX);
    if wait == 0 {
        return Ok(());
    }
    let mut shift = reservation.token.shift;
    let mut guard = CancelOnDrop {
        engine,
        reservation: Some(reservation),
    };
    let mut due = timer.now().saturating_add(wait);
    loop {
        while timer.now() < due {
            timer.sleep_until(due).await;
        }
        let Some(reservation) = guard.reservation.as_ref() else {
            return Ok(());
        };
        let Ok(Some((at, now_shift))) = engine.pending(reservation).await else {
            break; // passed, or Redis cannot be asked
        };
        let moved = u64::try_from(now_shift.saturating_sub(shift)).unwrap_or(0);
        if moved == 0 {
            break; // no pause since: the local timer decides, as without pauses
        }
        if deadline.is_some_and(|deadline| at > deadline) {
            if let Some(reservation) = guard.reservation.take() {
                let _ = engine.cancel(&reservation).await;
            }
            return Err(pacer_core::Error::WouldWait { at }.into());
        }
        shift = now_shift;
        due = timer.now().saturating_add(moved);
    }
    guard.spent();
    Ok(())
}

/// Cancels a reservation in the background if the acquisition is dropped while it sleeps.
struct CancelOnDrop<'a> {
    engine: &'a Engine,
    reservation: Option<RedisReservation>,
}

impl CancelOnDrop<'_> {
    /// The reservation came due: its cells are spent, nothing to cancel.
    fn spent(mut self) {
        self.reservation = None;
    }
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let Some(reservation) = self.reservation.take() else {
            return;
        };
        let engine = self.engine.clone();
        runtime::spawn_detached(async move {
            let _ = engine.cancel(&reservation).await;
        });
    }
}

/// The latest instant (ns since the Unix epoch, server's clock) a bounded wait of `max_wait`
/// decided at `decided` may go: `None` for an unbounded one.
pub(crate) fn deadline(decided: u64, max_wait: std::time::Duration) -> Option<u64> {
    if max_wait == std::time::Duration::MAX {
        return None;
    }
    Some(decided.saturating_add(u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX)))
}
