//! `Policy`: a server's stated limit, a count of requests per window.

use core::cmp::Ordering;
use core::time::Duration;

/// A limit a server states: at most `quota` requests per `window`.
///
/// It comes from `RateLimit-Policy` (`q` and `w`) or from the legacy `X-RateLimit-Limit`
/// (which states no window). Where a server states several, [`Feedback`](crate::Feedback)
/// keeps the most restrictive.
///
/// ```
/// use pacer_core::{Feedback, Policy};
/// use core::time::Duration;
///
/// let feedback = Feedback::read(200, [("RateLimit-Policy", r#""default";q=100;w=60"#)], 0)?;
/// assert_eq!(
///     feedback.policy,
///     Some(Policy { quota: 100, window: Some(Duration::from_secs(60)) })
/// );
/// # Ok::<(), pacer_core::FeedbackError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Requests allowed per window.
    pub quota: u64,
    /// The window, if the server states one.
    pub window: Option<Duration>,
}

impl Policy {
    /// Whether `self` is more restrictive than `other`: a lower rate where both state a window;
    /// a policy with a window before one without (only a window gives a rate); a smaller quota
    /// where neither does.
    pub(crate) fn tighter_than(&self, other: &Policy) -> bool {
        match (self.window, other.window) {
            (Some(w), Some(v)) => {
                // quota / w < other.quota / v, exactly.
                let lhs = u128::from(self.quota) * v.as_nanos();
                let rhs = u128::from(other.quota) * w.as_nanos();
                lhs.cmp(&rhs) == Ordering::Less
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.quota < other.quota,
        }
    }
}
