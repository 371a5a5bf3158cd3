//! `FeedbackError`: why a server's feedback was refused.

use core::fmt;
use core::time::Duration;

/// Why a response's rate-limit feedback was refused.
///
/// Feedback is input from outside, so it gets the care of any input: a header value that does
/// not parse, is negative, overflows, asks for a pause longer than the maximum, names a date in
/// the past, or contradicts another header of the same response is refused with one of these,
/// and nothing is changed. `field` is the lower-case name of the header at fault.
///
/// ```
/// use pacer_core::{Feedback, FeedbackError};
///
/// let err = Feedback::read(429, [("Retry-After", "-5")], 0).unwrap_err();
/// assert_eq!(err, FeedbackError::Negative { field: "retry-after" });
/// assert_eq!(err.to_string(), "retry-after: negative value");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FeedbackError {
    /// The header is present but holds nothing (or only whitespace).
    Empty {
        /// The header at fault.
        field: &'static str,
    },
    /// A number is negative where only zero or more makes sense.
    Negative {
        /// The header at fault.
        field: &'static str,
    },
    /// A value that should be a number is not one.
    NotANumber {
        /// The header at fault.
        field: &'static str,
    },
    /// A number is too large to represent.
    Overflow {
        /// The header at fault.
        field: &'static str,
    },
    /// The server asks for a pause longer than the maximum accepted.
    TooLong {
        /// The header at fault.
        field: &'static str,
        /// The pause asked for, in whole seconds.
        seconds: u64,
        /// The longest pause accepted.
        max: Duration,
    },
    /// A date (an HTTP-date, or an epoch timestamp) lies before the current time.
    InPast {
        /// The header at fault.
        field: &'static str,
    },
    /// A value that looks like an HTTP-date is not a valid one (RFC 9110, section 5.6.7).
    BadDate {
        /// The header at fault.
        field: &'static str,
    },
    /// A structured field (RFC 8941 list) breaks the syntax at byte `at` of its value.
    BadSyntax {
        /// The header at fault.
        field: &'static str,
        /// The byte offset in the value at which parsing failed.
        at: usize,
    },
    /// A list member of a structured field is not a policy name (a string or a token).
    BadName {
        /// The header at fault.
        field: &'static str,
    },
    /// A required parameter of a structured field's member is missing.
    MissingParameter {
        /// The header at fault.
        field: &'static str,
        /// The parameter that is required.
        parameter: &'static str,
    },
    /// A parameter of a structured field's member has the wrong type or an invalid value
    /// (for example `w=0`, or `q` given as a string).
    BadParameter {
        /// The header at fault.
        field: &'static str,
        /// The parameter at fault.
        parameter: &'static str,
    },
    /// The same header, or the same policy in a list, is given twice with different values.
    Conflict {
        /// The header at fault.
        field: &'static str,
    },
    /// A structured field names more distinct policies than are tracked
    /// ([`Feedback::MAX_POLICIES`](crate::Feedback::MAX_POLICIES)).
    TooManyPolicies {
        /// The header at fault.
        field: &'static str,
    },
    /// An adaptation controller was given a floor faster than its ceiling.
    FloorAboveCeiling,
    /// An adaptation controller's ceiling is outside what it can represent exactly: more than
    /// 4,294,967 cells per period, or a period longer than 53 days.
    CeilingOutOfRange,
    /// An adaptation controller was given a backoff outside 1 to 99 percent.
    BackoffOutOfRange,
}

impl fmt::Display for FeedbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedbackError::Empty { field } => write!(f, "{field}: empty value"),
            FeedbackError::Negative { field } => write!(f, "{field}: negative value"),
            FeedbackError::NotANumber { field } => write!(f, "{field}: not a number"),
            FeedbackError::Overflow { field } => write!(f, "{field}: number too large"),
            FeedbackError::TooLong {
                field,
                seconds,
                max,
            } => write!(
                f,
                "{field}: a pause of {seconds} s is longer than the maximum of {} s",
                max.as_secs()
            ),
            FeedbackError::InPast { field } => write!(f, "{field}: date in the past"),
            FeedbackError::BadDate { field } => write!(f, "{field}: not a valid HTTP-date"),
            FeedbackError::BadSyntax { field, at } => {
                write!(f, "{field}: structured field syntax error at byte {at}")
            }
            FeedbackError::BadName { field } => {
                write!(f, "{field}: a list member is not a policy name")
            }
            FeedbackError::MissingParameter { field, parameter } => {
                write!(f, "{field}: required parameter `{parameter}` is missing")
            }
            FeedbackError::BadParameter { field, parameter } => {
                write!(f, "{field}: parameter `{parameter}` has an invalid value")
            }
            FeedbackError::Conflict { field } => {
                write!(f, "{field}: given twice with different values")
            }
            FeedbackError::TooManyPolicies { field } => {
                write!(f, "{field}: more distinct policies than are tracked")
            }
            FeedbackError::FloorAboveCeiling => {
                f.write_str("adaptation floor is faster than its ceiling")
            }
            FeedbackError::CeilingOutOfRange => f.write_str(
                "adaptation ceiling must be at most 4,294,967 cells per period of at most 53 days",
            ),
            FeedbackError::BackoffOutOfRange => {
                f.write_str("adaptation backoff must keep 1 to 99 percent of the rate")
            }
        }
    }
}

impl core::error::Error for FeedbackError {}
