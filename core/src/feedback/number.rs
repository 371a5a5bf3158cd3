//! Plain numbers in header values: delay-seconds, and the decimals some servers send in the
//! legacy `X-RateLimit-*` headers.

use super::FeedbackError;

/// `value` without the optional whitespace (space and tab) HTTP allows around a field value.
pub(crate) fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// A run of ASCII digits as a `u64` (the caller has checked that `digits` is all digits and
/// not empty).
fn whole(digits: &[u8], field: &'static str) -> Result<u64, FeedbackError> {
    digits.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(d - b'0')))
            .ok_or(FeedbackError::Overflow { field })
    })
}

/// The error for a trimmed, non-empty value that is not an unsigned number: `Negative` when it
/// is a minus sign before something number-like, `NotANumber` otherwise.
fn not_unsigned(value: &[u8], field: &'static str) -> FeedbackError {
    match value.split_first() {
        Some((b'-', rest)) if rest.first().is_some_and(u8::is_ascii_digit) => {
            FeedbackError::Negative { field }
        }
        _ => FeedbackError::NotANumber { field },
    }
}

/// `1*DIGIT`, as delay-seconds (RFC 9110, section 10.2.3), surrounded by optional whitespace.
pub(crate) fn seconds(value: &[u8], field: &'static str) -> Result<u64, FeedbackError> {
    let value = trim_ows(value);
    if value.is_empty() {
        return Err(FeedbackError::Empty { field });
    }
    if !value.iter().all(u8::is_ascii_digit) {
        return Err(not_unsigned(value, field));
    }
    whole(value, field)
}

/// A non-negative decimal, `1*DIGIT [ "." 1*DIGIT ]`, as whole units and nanoparts (billionths)
/// rounded up, so that a reset time read from it is never early. Reddit sends
/// `X-Ratelimit-Remaining: 599.0`, Discord `X-RateLimit-Reset: 1470173023.123`.
pub(crate) fn decimal(value: &[u8], field: &'static str) -> Result<(u64, u32), FeedbackError> {
    let value = trim_ows(value);
    if value.is_empty() {
        return Err(FeedbackError::Empty { field });
    }
    let (int, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], Some(&value[dot + 1..])),
        None => (value, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(not_unsigned(value, field));
    }
    let mut units = whole(int, field)?;
    let mut nanos = 0u32;
    if let Some(frac) = frac {
        let (kept, rest) = frac.split_at(frac.len().min(9));
        for (k, d) in kept.iter().enumerate() {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - k as u32);
        }
        if rest.iter().any(|&d| d != b'0') {
            nanos += 1;
        }
        if nanos == 1_000_000_000 {
            nanos = 0;
            units = units
                .checked_add(1)
                .ok_or(FeedbackError::Overflow { field })?;
        }
    }
    Ok((units, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "test";

    #[test]
    fn seconds_accept_digits_and_whitespace_only() {
        assert_eq!(seconds(b" 120\t", F), Ok(120));
        assert_eq!(seconds(b"0", F), Ok(0));
        assert_eq!(seconds(b"", F), Err(FeedbackError::Empty { field: F }));
        assert_eq!(seconds(b"  ", F), Err(FeedbackError::Empty { field: F }));
        assert_eq!(seconds(b"-1", F), Err(FeedbackError::Negative { field: F }));
        assert_eq!(
            seconds(b"+1", F),
            Err(FeedbackError::NotANumber { field: F })
        );
        assert_eq!(
            seconds(b"1.5", F),
            Err(FeedbackError::NotANumber { field: F })
        );
        assert_eq!(
            seconds(b"1 2", F),
            Err(FeedbackError::NotANumber { field: F })
        );
        assert_eq!(seconds(b"18446744073709551615", F), Ok(u64::MAX));
        assert_eq!(
            seconds(b"18446744073709551616", F),
            Err(FeedbackError::Overflow { field: F })
        );
    }

    #[test]
    fn decimals_round_their_fraction_up() {
        assert_eq!(decimal(b"599.0", F), Ok((599, 0)));
        assert_eq!(decimal(b"1.5", F), Ok((1, 500_000_000)));
        assert_eq!(decimal(b"0.0000000001", F), Ok((0, 1)));
        assert_eq!(decimal(b"0.9999999999", F), Ok((1, 0)));
        assert_eq!(decimal(b"7", F), Ok((7, 0)));
        assert_eq!(
            decimal(b"1.", F),
            Err(FeedbackError::NotANumber { field: F })
        );
        assert_eq!(
            decimal(b".5", F),
            Err(FeedbackError::NotANumber { field: F })
        );
        assert_eq!(
            decimal(b"-0.5", F),
            Err(FeedbackError::Negative { field: F })
        );
    }
}
