//! `Retry-After` (RFC 9110, section 10.2.3): delay-seconds or an HTTP-date, as a wait.

use core::time::Duration;

use super::{FeedbackError, http_date, number};

const FIELD: &str = "retry-after";

/// The wait a `Retry-After` value asks for, from `now_unix` (seconds since the Unix epoch),
/// refused above `max_pause`.
pub(crate) fn parse(
    value: &[u8],
    now_unix: u64,
    max_pause: Duration,
) -> Result<Duration, FeedbackError> {
    let trimmed = number::trim_ows(value);
    let seconds = if trimmed.first().is_some_and(u8::is_ascii_alphabetic) {
        let at =
            http_date::parse(trimmed, now_unix).ok_or(FeedbackError::BadDate { field: FIELD })?;
        let now = i64::try_from(now_unix).map_err(|_| FeedbackError::Overflow { field: FIELD })?;
        if at < now {
            return Err(FeedbackError::InPast { field: FIELD });
        }
        (at - now) as u64
    } else {
        number::seconds(trimmed, FIELD)?
    };
    within(seconds, max_pause, FIELD)
}

/// `seconds` as a wait, or [`FeedbackError::TooLong`] above `max_pause`.
pub(crate) fn within(
    seconds: u64,
    max_pause: Duration,
    field: &'static str,
) -> Result<Duration, FeedbackError> {
    let wait = Duration::from_secs(seconds);
    if wait > max_pause {
        return Err(FeedbackError::TooLong {
            field,
            seconds,
            max: max_pause,
        });
    }
    Ok(wait)
}
