//! The legacy `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` headers
//! (also read without the `X-`, as earlier drafts named them), which no standard defines.
//!
//! Values are decimals (`100`, `599.0`, `1470173023.123`); a fraction of remaining or limit is
//! dropped, a fraction of reset rounds up.
//!
//! # Reset: delta-seconds or epoch
//!
//! Some servers send the seconds until the reset (`60`), others the instant of the reset in
//! seconds since the Unix epoch (`1735689600`). The two ranges are far apart: a reset a year
//! away is 31,536,000 seconds, while an epoch instant of this century is over 946,684,800.
//! So a value is read as an **epoch instant when it is at least `now_unix` minus one year**
//! ([`EPOCH_MARGIN`]), and as delta-seconds below that. The year's margin lets an epoch
//! instant that is a little in the past (a client clock ahead of the server's) be recognised
//! as one, and refused as a date in the past, instead of being read as a delay of decades. A
//! delta-seconds value could be misread only if it were over about 55 years, far above any
//! maximum pause; an epoch value only if it were over a year in the past. Either misreading
//! ends in an error (too long), never in a wrong wait.

use core::time::Duration;

use super::{FeedbackError, number};

/// The margin below `now_unix` down to which an `X-RateLimit-Reset` value is read as an epoch
/// instant: one year (365 days), in seconds.
pub(crate) const EPOCH_MARGIN: u64 = 365 * 86_400;

/// The legacy headers of one response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Legacy {
    pub(crate) limit: Option<u64>,
    pub(crate) remaining: Option<u64>,
    pub(crate) reset: Option<Duration>,
}

/// Which legacy header `name` (in any case, with or without `X-`) is, if any, by the name its
/// errors carry.
pub(crate) fn which(name: &[u8]) -> Option<&'static str> {
    let bare = match name.get(..2) {
        Some(x) if x.eq_ignore_ascii_case(b"x-") => &name[2..],
        _ => name,
    };
    [
        ("ratelimit-limit", "x-ratelimit-limit"),
        ("ratelimit-remaining", "x-ratelimit-remaining"),
        ("ratelimit-reset", "x-ratelimit-reset"),
    ]
    .into_iter()
    .find(|(known, _)| bare.eq_ignore_ascii_case(known.as_bytes()))
    .map(|(_, field)| field)
}

impl Legacy {
    /// Reads one legacy header (`field` as [`which`] names it).
    pub(crate) fn read(
        &mut self,
        field: &'static str,
        value: &[u8],
        now_unix: u64,
    ) -> Result<(), FeedbackError> {
        match field {
            "x-ratelimit-limit" => set(&mut self.limit, number::decimal(value, field)?.0, field),
            "x-ratelimit-remaining" => {
                set(&mut self.remaining, number::decimal(value, field)?.0, field)
            }
            _ => set(&mut self.reset, reset(value, now_unix, field)?, field),
        }
    }
}

/// Sets a header's value, refusing a second one that differs.
fn set<T: PartialEq>(
    slot: &mut Option<T>,
    value: T,
    field: &'static str,
) -> Result<(), FeedbackError> {
    match slot {
        Some(old) if *old != value => Err(FeedbackError::Conflict { field }),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// `X-RateLimit-Reset` as the wait until the reset (see the module's docs for the rule).
fn reset(value: &[u8], now_unix: u64, field: &'static str) -> Result<Duration, FeedbackError> {
    let (seconds, nanos) = number::decimal(value, field)?;
    if seconds >= now_unix.saturating_sub(EPOCH_MARGIN) {
        // An epoch instant; compare it in nanoseconds, as it may carry a fraction.
        let at = Duration::new(seconds, nanos);
        let now = Duration::from_secs(now_unix);
        at.checked_sub(now).ok_or(FeedbackError::InPast { field })
    } else {
        Ok(Duration::new(seconds, nanos))
    }
}
