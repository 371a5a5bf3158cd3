//! HTTP-date (RFC 9110, section 5.6.7) to seconds since the Unix epoch, in all three forms a
//! recipient must accept:
//!
//! ```text
//! IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//! rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//! asctime      Sun Nov  6 08:49:37 1994
//! ```
//!
//! Names are case-sensitive, as the grammar says, and the day name must be the date's weekday.
//! A leap second (`:60`) is accepted and counts as the next second.

const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Seconds since the Unix epoch of an HTTP-date, or `None` if `value` is not one. `now_unix`
/// is needed only to place an rfc850-date's two-digit year. Dates before 1970 are `Some` of a
/// negative number; a date beyond `i64` seconds (which only a two-digit year placed by a clock
/// billions of years ahead could give) is `None`.
pub(crate) fn parse(value: &[u8], now_unix: u64) -> Option<i64> {
    let comma = value.iter().position(|&b| b == b',');
    let (weekday, date) = match comma {
        Some(3) => (day_index(&DAYS, &value[..3])?, imf_fixdate(&value[4..])?),
        Some(n) => (
            day_index(&LONG_DAYS, &value[..n])?,
            rfc850(&value[n + 1..], now_unix)?,
        ),
        None => (day_index(&DAYS, value.get(..3)?)?, asctime(&value[3..])?),
    };
    let days = days_from_civil(date.year, date.month, date.day);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    if (days + 3).rem_euclid(7) != weekday as i64 {
        return None;
    }
    // Only a two-digit year placed by an absurd clock comes near i64's range.
    days.checked_mul(86_400)?.checked_add(date.seconds)
}

/// A calendar date and the seconds into it.
struct Date {
    year: i64,
    month: u32,
    day: u32,
    seconds: i64,
}

fn day_index(names: &[&[u8]; 7], name: &[u8]) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// `SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP "GMT"` (after the day name and comma).
fn imf_fixdate(s: &[u8]) -> Option<Date> {
    // " 06 Nov 1994 08:49:37 GMT"
    if s.len() != 25 || s[0] != b' ' || s[3] != b' ' || s[7] != b' ' || s[12] != b' ' {
        return None;
    }
    if &s[21..] != b" GMT" {
        return None;
    }
    let day = digits(&s[1..3])?;
    let month = month(&s[4..7])?;
    let year = digits(&s[8..12])?;
    date(i64::from(year), month, day, &s[13..21])
}

/// `SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"` (after the day name and comma).
fn rfc850(s: &[u8], now_unix: u64) -> Option<Date> {
    // " 06-Nov-94 08:49:37 GMT"
    if s.len() != 23 || s[0] != b' ' || s[3] != b'-' || s[7] != b'-' || s[10] != b' ' {
        return None;
    }
    if &s[19..] != b" GMT" {
        return None;
    }
    let day = digits(&s[1..3])?;
    let month = month(&s[4..7])?;
    let yy = i64::from(digits(&s[8..10])?);
    // RFC 9110: a two-digit year that appears to be more than 50 years in the future is the
    // most recent past year with the same last two digits. So it is the year with those digits
    // from 49 years ago to 50 years ahead.
    let this_year = civil_year(now_unix);
    let mut year = this_year - this_year.rem_euclid(100) + yy;
    if year > this_year + 50 {
        year -= 100;
    } else if year < this_year - 49 {
        year += 100;
    }
    date(year, month, day, &s[11..19])
}

/// `SP month SP ( 2DIGIT / SP DIGIT ) SP time-of-day SP 4DIGIT` (after the day name).
fn asctime(s: &[u8]) -> Option<Date> {
    // " Nov  6 08:49:37 1994"
    if s.len() != 21 || s[0] != b' ' || s[4] != b' ' || s[7] != b' ' || s[16] != b' ' {
        return None;
    }
    let month = month(&s[1..4])?;
    let day = match s[5] {
        b' ' => digits(&s[6..7])?,
        _ => digits(&s[5..7])?,
    };
    let year = digits(&s[17..21])?;
    date(i64::from(year), month, day, &s[8..16])
}

/// Validates the day of the month and reads `HH:MM:SS`.
fn date(year: i64, month: u32, day: u32, time: &[u8]) -> Option<Date> {
    if time.len() != 8 || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits(&time[0..2])?,
        digits(&time[3..5])?,
        digits(&time[6..8])?,
    );
    if h > 23 || m > 59 || s > 60 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(Date {
        year,
        month,
        day,
        seconds: i64::from(h * 3600 + m * 60 + s),
    })
}

fn month(name: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// ASCII digits only (no sign, no space) as a number; `s` is at most 4 bytes here.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian calendar, counted in
/// 400-year eras that start on March 1st (so the leap day ends each era's year).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // 0..=399
    let month_from_march = i64::from((month + 9) % 12); // March is 0
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The Gregorian year in which `unix` seconds fall.
fn civil_year(unix: u64) -> i64 {
    // Estimate by the mean Gregorian year (146,097 days per 400 years), off by a year at
    // most, then correct it: a constant number of steps, whatever `unix`.
    let days = (unix / 86_400) as i64;
    let mut year = 1970 + days * 400 / 146_097;
    while days_from_civil(year, 1, 1) > days {
        year -= 1;
    }
    while days_from_civil(year + 1, 1, 1) <= days {
        year += 1;
    }
    year
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_6_1994: i64 = 784_111_777;

    #[test]
    fn the_three_forms_of_rfc_9110() {
        let now = 1_800_000_000; // 2027
        assert_eq!(
            parse(b"Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(NOV_6_1994)
        );
        assert_eq!(
            parse(b"Sunday, 06-Nov-94 08:49:37 GMT", now),
            Some(NOV_6_1994)
        );
        assert_eq!(parse(b"Sun Nov  6 08:49:37 1994", now), Some(NOV_6_1994));
        assert_eq!(parse(b"Thu, 01 Jan 1970 00:00:00 GMT", now), Some(0));
        assert_eq!(
            parse(b"Tue, 29 Feb 2028 23:59:60 GMT", now),
            Some(1_835_481_600)
        );
    }

    #[test]
    fn two_digit_years_more_than_50_years_ahead_are_in_the_past() {
        let now = 1_800_000_000; // 2027-01-15
        assert_eq!(civil_year(now), 2027);
        // 77 would be 2077, exactly 50 years ahead: kept. 78 would be 2078: 1978.
        assert_eq!(
            parse(b"Friday, 01-Jan-77 00:00:00 GMT", now),
            Some(days_from_civil(2077, 1, 1) * 86_400)
        );
        assert_eq!(
            parse(b"Sunday, 01-Jan-78 00:00:00 GMT", now),
            Some(days_from_civil(1978, 1, 1) * 86_400)
        );
        // In 1990, 27 is 2027 (37 years ahead), not 1927.
        assert_eq!(
            parse(b"Friday, 01-Jan-27 00:00:00 GMT", 631_152_000),
            Some(days_from_civil(2027, 1, 1) * 86_400)
        );
    }

    #[test]
    fn civil_arithmetic_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_year(0), 1970);
        assert_eq!(civil_year(951_868_800), 2000); // 2000-03-01
        assert_eq!(civil_year(946_684_799), 1999); // 1999-12-31T23:59:59
        assert_eq!(civil_year(946_684_800), 2000);
        assert_eq!(civil_year(4_102_444_800), 2100); // 2100-01-01
        // The far future, at once: about 584.5 billion years.
        assert!(civil_year(u64::MAX) > 584_000_000_000);
        for day in (0..200_000u64).step_by(97) {
            let year = civil_year(day * 86_400);
            assert!(days_from_civil(year, 1, 1) <= day as i64);
            assert!(days_from_civil(year + 1, 1, 1) > day as i64);
        }
    }

    #[test]
    fn malformed_dates_are_refused() {
        let now = 1_800_000_000;
        for bad in [
            &b"Mon, 06 Nov 1994 08:49:37 GMT"[..], // wrong weekday
            b"sun, 06 Nov 1994 08:49:37 GMT",      // names are case-sensitive
            b"Sun, 06 nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Sun, 31 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:00 GMT",
            b"Sun, 06 Nov 1994 08:49:61 GMT",
            b"Sun, 06 Nov 1994 08:49:37 GMT ",
            b"Sun, 00 Nov 1994 08:49:37 GMT",
            b"Sun, 29 Feb 1900 08:49:37 GMT",
            b"Sun Nov 6 08:49:37 1994",
            b"Sun Nov  6 08:49:37 94",
            b"Sunday, 06-Nov-1994 08:49:37 GMT",
            b"Sun, +6 Nov 1994 08:49:37 GMT",
            b"",
            b",",
            b"Sun",
        ] {
            assert_eq!(parse(bad, now), None, "{:?}", core::str::from_utf8(bad));
        }
    }
}
