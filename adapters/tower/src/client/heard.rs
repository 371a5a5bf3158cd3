//! `Heard`: what a [`Pushback`](super::Pushback) heard in one answer, and what it did.

use std::time::Duration;

use pacer_core::{Decision, Error, FeedbackError};

/// What [`Pushback::listen`](super::Pushback::listen) read in one answer and did about it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Heard {
    /// The answer's status code.
    pub status: u16,
    /// The server refused the call for load (429 or 503).
    pub throttled: bool,
    /// The pause applied to every caller, from when the answer was read.
    pub paused_for: Option<Duration>,
    /// The feedback did not parse or was out of bounds: nothing was changed.
    pub refused: Option<FeedbackError>,
    /// The controller's change of quota, if it made one (with [`adapt`] on).
    ///
    /// [`adapt`]: super::PushbackBuilder::adapt
    pub decision: Option<Decision>,
    /// The limiter refused the pause (longer than its maximum) or the controller's quota.
    pub error: Option<Error>,
}

impl Heard {
    pub(crate) fn new(status: u16) -> Heard {
        Heard {
            status,
            throttled: false,
            paused_for: None,
            refused: None,
            decision: None,
            error: None,
        }
    }

    /// Emits this decision as a `tracing` event (with the `tracing` feature).
    pub(crate) fn trace(&self) {
        #[cfg(feature = "tracing")]
        {
            const TARGET: &str = "pacer_tower::client";
            if let Some(error) = &self.refused {
                tracing::warn!(target: TARGET, status = self.status, %error, "rate-limit feedback refused; nothing changed");
                return;
            }
            if let Some(error) = &self.error {
                tracing::warn!(target: TARGET, status = self.status, %error, "pause or quota refused by the limiter");
            }
            if let Some(pause) = self.paused_for {
                tracing::info!(target: TARGET, status = self.status, throttled = self.throttled, pause_ms = pause.as_millis() as u64, "paused every caller");
            } else if self.throttled {
                tracing::info!(target: TARGET, status = self.status, "throttled without a pause");
            }
            if let Some(decision) = &self.decision {
                tracing::info!(target: TARGET, reason = %decision.reason, old = %decision.old, new = %decision.new, "quota changed");
            }
        }
    }
}
