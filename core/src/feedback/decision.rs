//! `Decision`: one change of quota made by the adaptation controller, for observers.

use core::fmt;

use crate::Quota;

/// Why the controller changed the quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The server refused a request for load (429 or 503) or asked for a pause: the rate was
    /// multiplied down.
    Throttled,
    /// Calls kept succeeding for a period: the rate went up by one step.
    Succeeded,
    /// The server stated a new policy: the rate became that policy minus the headroom.
    Policy,
}

/// One change of quota by [`Adaptive`](crate::Adaptive): when, from what, to what, and why.
/// Every change is one `Decision`, handed to the observer given to
/// [`on_decision`](crate::Adaptive::on_decision) and returned to the caller.
///
/// ```
/// use pacer_core::{Decision, Quota, Reason};
///
/// let decision = Decision {
///     at: 5_000_000_000,
///     old: Quota::per_second(100)?,
///     new: Quota::per_second(50)?,
///     reason: Reason::Throttled,
/// };
/// assert_eq!(decision.to_string(), "throttled at 5000000000 ns: 100 per 1s, burst 1 -> 50 per 1s, burst 1");
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The instant of the change, in the limiter's nanoseconds.
    pub at: u64,
    /// The quota before.
    pub old: Quota,
    /// The quota after.
    pub new: Quota,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Throttled => "throttled",
            Reason::Succeeded => "succeeded",
            Reason::Policy => "server policy",
        })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} ns: {} -> {}",
            self.reason, self.at, self.old, self.new
        )
    }
}
