//! Sleeping once until a reservation is due, and cancelling it if the sleep is dropped first:
//! the second half of every acquisition, keyed or not.

use pacer_core::Timer;

use crate::engine::Engine;
use crate::{RedisReservation, runtime};

/// Sleeps once on `timer` until `reservation` is due (its wait after the server's decision),
/// cancelling it in the background through `engine` if this future is dropped first.
pub(crate) async fn until_due<T: Timer>(engine: &Engine, timer: &T, reservation: RedisReservation) {
    let wait = u64::try_from(reservation.wait().as_nanos()).unwrap_or(u64::MAX);
    if wait == 0 {
        return;
    }
    let guard = CancelOnDrop {
        engine,
        reservation: Some(reservation),
    };
    let due = timer.now().saturating_add(wait);
    while timer.now() < due {
        timer.sleep_until(due).await;
    }
    guard.spent();
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
