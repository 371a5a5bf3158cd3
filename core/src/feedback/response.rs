//! `Feedback`: what one response says about the server's limit, read from its status and
//! headers.

use core::time::Duration;

use super::legacy::{self, Legacy};
use super::ratelimit::{self, Limits, Seen};
use super::{FeedbackError, Policy, retry_after};

/// What one HTTP response says about the server's rate limit: whether it refused the request,
/// how long to send nothing, the server's stated policy, and how much of it is left.
///
/// [`read`](Feedback::read) takes the status code and the response's headers as plain
/// `(name, value)` pairs (`&str`, `&[u8]`, `String`, or an HTTP library's header types), so it
/// needs no HTTP framework. Names are matched in any case. It reads:
///
/// - `Retry-After` (RFC 9110), as delay-seconds or as an HTTP-date in any of its three forms;
/// - `RateLimit-Policy` and `RateLimit`, in the structured form of the IETF draft
///   draft-ietf-httpapi-ratelimit-headers-10 (the form since -08): `"name";q=100;w=60` and
///   `"name";r=50;t=30`, several policies per field and per response;
/// - the legacy `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (also
///   without `X-`), with the reset as delta-seconds or as an epoch instant: a value at least
///   `now_unix` minus one year is an epoch instant, anything smaller is seconds to wait (the
///   two ranges are decades apart, and a misreading either way ends in an error, never in a
///   wrong wait).
///
/// Every field it reads is checked, and any bad value refuses the whole response with a
/// [`FeedbackError`] (so a caller applies all of it or none of it): garbage, negative numbers,
/// overflow, a date in the past, a pause longer than the maximum (one hour unless
/// [`read_within`](Feedback::read_within) is given another), or one field given twice with
/// different values. It never panics, whatever the bytes.
///
/// ```
/// use pacer_core::{Feedback, Policy};
/// use core::time::Duration;
///
/// let now_unix = 1_800_000_000; // seconds since the Unix epoch, from the caller's clock
/// let headers = [
///     ("retry-after", "30"),
///     ("RateLimit-Policy", r#""burst";q=100;w=60, "daily";q=1000;w=86400"#),
///     ("RateLimit", r#""burst";r=0;t=30"#),
/// ];
/// let feedback = Feedback::read(429, headers, now_unix)?;
/// assert!(feedback.throttled);
/// assert_eq!(feedback.pause, Some(Duration::from_secs(30)));
/// // The daily policy is the tighter one: 1000 per day is slower than 100 per minute.
/// assert_eq!(feedback.policy, Some(Policy { quota: 1000, window: Some(Duration::from_secs(86_400)) }));
/// assert_eq!((feedback.remaining, feedback.reset), (Some(0), Some(Duration::from_secs(30))));
/// # Ok::<(), pacer_core::FeedbackError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Feedback {
    /// The server refused the request for load: status 429 (Too Many Requests) or 503
    /// (Service Unavailable).
    pub throttled: bool,
    /// How long to send nothing, from when the response was read: the longest of
    /// `Retry-After` on a throttled response, the reset of a `RateLimit` policy with nothing
    /// remaining, and `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0. `None` when no
    /// pause (or a zero one) is asked for.
    pub pause: Option<Duration>,
    /// The server's stated policy: the most restrictive `RateLimit-Policy` counted in
    /// requests (the lowest rate; `qu` other than `"requests"` is skipped), else
    /// `X-RateLimit-Limit` with no window.
    pub policy: Option<Policy>,
    /// Requests remaining: the least of the `RateLimit` policies, else
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// When more quota comes, for the policy [`remaining`](Feedback::remaining) is taken from.
    pub reset: Option<Duration>,
    /// The stated policy that ran out: set when exactly one `RateLimit` entry says nothing
    /// remains with a reset above zero, and `RateLimit-Policy` states that policy (the same
    /// name and partition key) counted in requests. It tells a client how many requests the
    /// full window holds and how long it is, so that a client that knows how fast it sent
    /// can tell whether the window frees before its next request anyway
    /// ([`Adaptive::pause`](crate::Adaptive::pause)).
    pub exhausted: Option<Policy>,
}

impl Feedback {
    /// The longest pause [`read`](Feedback::read) accepts: one hour. Servers ask for seconds
    /// to minutes; a longer pause is more likely a bug or an attack than a limit (a daily
    /// quota that ran out is the exception: pass a longer maximum to
    /// [`read_within`](Feedback::read_within) if your server has one).
    pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(3600);

    /// The most distinct policies one `RateLimit-Policy` or `RateLimit` field may name in a
    /// response (real servers name one to three); more is refused as
    /// [`FeedbackError::TooManyPolicies`].
    pub const MAX_POLICIES: usize = 16;

    /// Reads a response: its status code, and its headers as `(name, value)` pairs. `now_unix`
    /// is the current time in seconds since the Unix epoch (for `Retry-After` dates and epoch
    /// resets). Pauses over [`DEFAULT_MAX_PAUSE`](Feedback::DEFAULT_MAX_PAUSE) are refused.
    pub fn read<I, N, V>(status: u16, headers: I, now_unix: u64) -> Result<Feedback, FeedbackError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        Self::read_within(status, headers, now_unix, Self::DEFAULT_MAX_PAUSE)
    }

    /// [`read`](Feedback::read), refusing pauses longer than `max_pause`
    /// ([`FeedbackError::TooLong`]).
    ///
    /// ```
    /// use pacer_core::{Feedback, FeedbackError};
    /// use core::time::Duration;
    ///
    /// let headers = [("Retry-After", "600")];
    /// let err = Feedback::read_within(503, headers, 0, Duration::from_secs(60)).unwrap_err();
    /// assert!(matches!(err, FeedbackError::TooLong { seconds: 600, .. }));
    /// ```
    pub fn read_within<I, N, V>(
        status: u16,
        headers: I,
        now_unix: u64,
        max_pause: Duration,
    ) -> Result<Feedback, FeedbackError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut retry: Option<Duration> = None;
        let mut policy: Option<Policy> = None;
        let mut policies = Seen::new();
        let mut limits = Limits::default();
        let mut limit_names = Seen::new();
        let mut legacy = Legacy::default();
        for (name, value) in headers {
            let (name, value) = (name.as_ref(), value.as_ref());
            if name.eq_ignore_ascii_case(b"retry-after") {
                // Checked here for its syntax; bounded below only where it asks for a pause.
                let wait = retry_after::parse(value, now_unix, Duration::MAX)?;
                if retry.is_some_and(|r| r != wait) {
                    return Err(FeedbackError::Conflict {
                        field: "retry-after",
                    });
                }
                retry = Some(wait);
            } else if name.eq_ignore_ascii_case(ratelimit::POLICY.as_bytes()) {
                ratelimit::policy_line(value, &mut policies, &mut policy)?;
            } else if name.eq_ignore_ascii_case(ratelimit::RATELIMIT.as_bytes()) {
                ratelimit::ratelimit_line(value, &mut limit_names, &mut limits)?;
            } else if let Some(field) = legacy::which(name) {
                legacy.read(field, value, now_unix)?;
            }
        }

        let throttled = status == 429 || status == 503;
        let mut pause = Duration::ZERO;
        let mut ask = |wait: Duration, field: &'static str| {
            if wait > max_pause {
                return Err(FeedbackError::TooLong {
                    field,
                    seconds: wait
                        .as_secs()
                        .saturating_add(u64::from(wait.subsec_nanos() > 0)),
                    max: max_pause,
                });
            }
            pause = pause.max(wait);
            Ok(())
        };
        if throttled && let Some(wait) = retry {
            ask(wait, "retry-after")?;
        }
        if let Some(t) = limits.exhausted_for {
            ask(Duration::from_secs(t), ratelimit::RATELIMIT)?;
        }
        if legacy.remaining == Some(0)
            && let Some(wait) = legacy.reset
        {
            ask(wait, "x-ratelimit-reset")?;
        }

        let exhausted = if limits.exhausted == 1 {
            policies.policy(limits.exhausted_name)
        } else {
            None
        };
        let (remaining, reset) = match limits.remaining {
            Some((r, t)) => (Some(r), t.map(Duration::from_secs)),
            None => (legacy.remaining, legacy.reset),
        };
        Ok(Feedback {
            throttled,
            pause: (!pause.is_zero()).then_some(pause),
            policy: policy.or(legacy.limit.map(|quota| Policy {
                quota,
                window: None,
            })),
            remaining,
            reset,
            exhausted,
        })
    }

    /// The wait one `Retry-After` value asks for: delay-seconds (`120`) or an HTTP-date in any
    /// of the three forms of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete
    /// `Sunday, 06-Nov-94 08:49:37 GMT` and `Sun Nov  6 08:49:37 1994`), measured from
    /// `now_unix` (seconds since the Unix epoch), refused above `max_pause`.
    ///
    /// ```
    /// use pacer_core::{Feedback, FeedbackError};
    /// use core::time::Duration;
    ///
    /// let max = Feedback::DEFAULT_MAX_PAUSE;
    /// assert_eq!(Feedback::retry_after("120", 0, max), Ok(Duration::from_secs(120)));
    /// let now = 784_111_777 - 90; // 90 s before the date below
    /// let date = "Sun, 06 Nov 1994 08:49:37 GMT";
    /// assert_eq!(Feedback::retry_after(date, now, max), Ok(Duration::from_secs(90)));
    /// assert_eq!(
    ///     Feedback::retry_after(date, now + 91, max),
    ///     Err(FeedbackError::InPast { field: "retry-after" })
    /// );
    /// assert_eq!(
    ///     Feedback::retry_after("soon", 0, max),
    ///     Err(FeedbackError::BadDate { field: "retry-after" })
    /// );
    /// ```
    pub fn retry_after(
        value: impl AsRef<[u8]>,
        now_unix: u64,
        max_pause: Duration,
    ) -> Result<Duration, FeedbackError> {
        retry_after::parse(value.as_ref(), now_unix, max_pause)
    }
}
