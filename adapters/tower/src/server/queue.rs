//! A queued request's reservations: held while it waits for its instant, handed back if it
//! is given up first.

use std::sync::Arc;

use pacer_core::Timer;

use super::decision::{self, Held};
use super::layer::Shared;
use super::observe::{Event, Outcome};

/// The reservations of a request admitted for a later instant. Dropped before that instant
/// (the response future dropped: the client went away), it cancels them.
pub(crate) struct Ticket<T: Timer> {
    pub(crate) shared: Arc<Shared<T>>,
    pub(crate) held: Vec<Held>,
    pub(crate) at: u64,
}

impl<T: Timer> Ticket<T> {
    /// Waits until the reserved instant on the layer's timer, never earlier.
    pub(crate) async fn wait(mut self) {
        loop {
            if self.shared.timer.now() >= self.at {
                break;
            }
            self.shared.timer.sleep_until(self.at).await;
        }
        self.held.clear(); // spent
    }
}

impl<T: Timer> Drop for Ticket<T> {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let shared = &self.shared;
        let now = shared.timer.now();
        let held = std::mem::take(&mut self.held);
        if now < self.at {
            decision::cancel(&shared.limits, &shared.together, held, now);
            shared.observer.observe(&Event {
                outcome: Outcome::Cancelled,
                limit: None,
                class: None,
                shadow: false,
            });
        }
    }
}
