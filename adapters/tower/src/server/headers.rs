//! The rate-limit header fields: the IETF `RateLimit` and `RateLimit-Policy` fields, in the
//! structured-field form of draft-ietf-httpapi-ratelimit-headers-08 and later (-10 is the
//! current draft), the legacy `X-RateLimit-*` trio, and `Retry-After`.
//!
//! ```text
//! RateLimit-Policy: "per-ip";q=100;w=60
//! RateLimit: "per-ip";r=50;t=30
//! ```
//!
//! `q` is the quota in a window of `w` seconds, `r` the requests that may go back to back
//! now, `t` the seconds until the whole burst is back (when nothing remains, until the next
//! request may go; rounded up, so a client that waits `t` is never early).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::InvalidHeaderValue;
use http::{HeaderName, HeaderValue};
use pacer_core::{Quota, Snapshot};

/// Which rate-limit fields the layer writes on its answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Headers {
    /// `RateLimit` and `RateLimit-Policy` (the default).
    #[default]
    Ietf,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds), for the
    /// limit with the fewest requests remaining.
    Legacy,
    /// Both.
    Both,
    /// None (a refusal still carries `Retry-After`).
    None,
}

impl Headers {
    fn ietf(self) -> bool {
        matches!(self, Headers::Ietf | Headers::Both)
    }

    fn legacy(self) -> bool {
        matches!(self, Headers::Legacy | Headers::Both)
    }
}

/// `RateLimit-Policy`.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// `X-RateLimit-Limit`.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset`.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Whole seconds in `duration`, rounded up.
pub(crate) fn seconds_up(duration: Duration) -> u64 {
    duration.as_nanos().div_ceil(1_000_000_000) as u64
}

/// A policy's quota as `q` requests in `w` whole seconds: `w` is the period rounded up to a
/// second, `q` what the rate allows in it, rounded down.
pub(crate) fn window(quota: &Quota) -> (u64, u64) {
    let period = u128::from(quota.period_nanos());
    let w = period.div_ceil(1_000_000_000).max(1);
    let q = u128::from(quota.count()) * w * 1_000_000_000 / period;
    (u64::try_from(q).unwrap_or(u64::MAX), w as u64)
}

/// Seconds until the whole burst is back, or until the next cell when none remains.
pub(crate) fn reset(quota: &Quota, snapshot: &Snapshot, now: u64) -> u64 {
    let owed = u64::from(quota.burst().saturating_sub(snapshot.remaining));
    let next = snapshot.earliest.saturating_sub(now);
    // In 64 bits when it fits (nearly always: a u128 division is a slow library call).
    let full = match owed.checked_mul(quota.period_nanos()) {
        Some(product) => product / u64::from(quota.count()),
        None => {
            let full =
                u128::from(owed) * u128::from(quota.period_nanos()) / u128::from(quota.count());
            u64::try_from(full).unwrap_or(u64::MAX)
        }
    };
    let nanos = full.max(next);
    seconds_up(Duration::from_nanos(nanos))
}

/// A class's quota, with its `RateLimit-Policy` item and its legacy limit written once.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) quota: Quota,
    /// `"name";q=Q;w=W`.
    pub(crate) item: String,
    /// `"name";r=`, how the policy's `RateLimit` item begins.
    state_head: String,
    /// `Q`, for `X-RateLimit-Limit`.
    pub(crate) q: u64,
    /// Which policy this is, of all made in this process (for [`policy_value`]).
    id: u64,
}

impl Policy {
    pub(crate) fn new(name: &str, quota: Quota) -> Policy {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let (q, w) = window(&quota);
        let mut item = String::with_capacity(name.len() + 24);
        item.push('"');
        item.push_str(name);
        item.push_str("\";q=");
        item.push_str(itoa::Buffer::new().format(q));
        item.push_str(";w=");
        item.push_str(itoa::Buffer::new().format(w));
        let state_head = format!("\"{name}\";r=");
        Policy {
            quota,
            item,
            state_head,
            q,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// How many policies' values each thread keeps made.
const KEPT_POLICIES: usize = 4;

/// A thread's policy values, by policy id, and the next one to replace.
struct Kept {
    values: [Option<(u64, HeaderValue)>; KEPT_POLICIES],
    next: usize,
}

/// `policy`'s item as a header value, made once per thread for the last few policies
/// answered with: an answer clones it (a reference count that only this thread's answers
/// move, where one value shared by all threads would have every thread move one count) and
/// does not copy and check the item again.
fn policy_value(policy: &Policy) -> Result<HeaderValue, InvalidHeaderValue> {
    thread_local! {
        static KEPT: RefCell<Kept> = const {
            RefCell::new(Kept {
                values: [const { None }; KEPT_POLICIES],
                next: 0,
            })
        };
    }
    KEPT.with(|kept| {
        let kept = &mut *kept.borrow_mut();
        let found = kept
            .values
            .iter()
            .flatten()
            .find(|(id, _)| *id == policy.id);
        if let Some((_, value)) = found {
            return Ok(value.clone());
        }
        let value = HeaderValue::from_bytes(policy.item.as_bytes())?;
        kept.values[kept.next] = Some((policy.id, value.clone()));
        kept.next = (kept.next + 1) % KEPT_POLICIES;
        Ok(value)
    })
}

/// One limit's state for the headers.
pub(crate) struct Reading<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) snapshot: Snapshot,
}

/// The header fields of an answer, most often two, kept without a map.
pub(crate) type Fields = smallvec::SmallVec<[(HeaderName, HeaderValue); 2]>;

/// Writes the fields `style` asks for, for the limits read, into `fields`.
pub(crate) fn write(style: Headers, readings: &[Reading<'_>], now: u64, fields: &mut Fields) {
    if readings.is_empty() {
        return;
    }
    if style.ietf() {
        // Names are checked printable ASCII without quotes or backslashes when made. Under
        // one limit the policy's item is the whole value.
        if let [one] = readings {
            let t = reset(&one.policy.quota, &one.snapshot, now);
            if let Ok(value) = policy_value(one.policy) {
                fields.push((RATELIMIT_POLICY, value));
            }
            if let Ok(value) = state_value(one.policy, one.snapshot.remaining, t) {
                fields.push((RATELIMIT, value));
            }
            return legacy(style, readings, now, fields);
        }
        let mut policy = Line::default();
        let mut state = Line::default();
        for reading in readings {
            if !state.is_empty() {
                policy.push(b", ");
                state.push(b", ");
            }
            policy.push(reading.policy.item.as_bytes());
            let t = reset(&reading.policy.quota, &reading.snapshot, now);
            let mut digits = Digits::default();
            for piece in digits.state_item(reading.policy, reading.snapshot.remaining, t) {
                state.push(piece);
            }
        }
        if let Ok(value) = policy.value() {
            fields.push((RATELIMIT_POLICY, value));
        }
        if let Ok(value) = state.value() {
            fields.push((RATELIMIT, value));
        }
    }
    legacy(style, readings, now, fields);
}

/// The legacy fields, when `style` asks for them, of the limit with the fewest requests
/// remaining.
fn legacy(style: Headers, readings: &[Reading<'_>], now: u64, fields: &mut Fields) {
    if style.legacy() {
        let tightest = readings
            .iter()
            .min_by_key(|reading| reading.snapshot.remaining)
            .expect("not empty");
        let t = reset(&tightest.policy.quota, &tightest.snapshot, now);
        fields.push((X_RATELIMIT_LIMIT, tightest.policy.q.into()));
        fields.push((X_RATELIMIT_REMAINING, tightest.snapshot.remaining.into()));
        fields.push((X_RATELIMIT_RESET, t.into()));
    }
}

/// Room for the two numbers of a `RateLimit` item.
#[derive(Default)]
struct Digits {
    remaining: itoa::Buffer,
    reset: itoa::Buffer,
}

impl Digits {
    /// `policy`'s `RateLimit` item, `"name";r=R;t=T`, in its four pieces.
    fn state_item<'a>(&'a mut self, policy: &'a Policy, remaining: u32, t: u64) -> [&'a [u8]; 4] {
        [
            policy.state_head.as_bytes(),
            self.remaining.format(remaining).as_bytes(),
            b";t=",
            self.reset.format(t).as_bytes(),
        ]
    }
}

/// The `RateLimit` value of `policy` alone: its item, written once, into a buffer of its
/// exact length that the value takes over.
fn state_value(policy: &Policy, remaining: u32, t: u64) -> Result<HeaderValue, InvalidHeaderValue> {
    let mut digits = Digits::default();
    let pieces = digits.state_item(policy, remaining, t);
    let mut value = Vec::with_capacity(pieces.iter().map(|piece| piece.len()).sum());
    for piece in pieces {
        value.extend_from_slice(piece);
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
}

/// A field value being written: on the stack while it fits (a value for one or two limits
/// does), on the heap beyond; copied once into the header value.
#[derive(Default)]
struct Line(smallvec::SmallVec<[u8; LINE]>);

/// The bytes a [`Line`] keeps on the stack.
const LINE: usize = 128;

impl Line {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn value(&self) -> Result<HeaderValue, InvalidHeaderValue> {
        HeaderValue::from_bytes(&self.0)
    }
}

/// Whether `name` can be written as a structured-field string without escapes.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_answers_with_its_own_value_however_many_a_thread_meets() {
        // More policies than a thread keeps, two of them for one name (a quota change):
        // every answer is its own policy's item, kept or made again.
        let policies: Vec<Policy> = (1..=KEPT_POLICIES as u32 + 2)
            .map(|count| Policy::new("api", Quota::per_second(count).unwrap()))
            .chain([Policy::new("api", Quota::per_second(1).unwrap())])
            .collect();
        for _ in 0..3 {
            for policy in policies.iter().chain(policies.iter().rev()) {
                let value = policy_value(policy).unwrap();
                assert_eq!(value.as_bytes(), policy.item.as_bytes());
            }
        }
        assert_eq!(policies[0].item, "\"api\";q=1;w=1");
        assert_eq!(policies[0].state_head, "\"api\";r=");
    }

    #[test]
    fn one_limits_state_value_is_its_item() {
        let policy = Policy::new("per-ip", Quota::per_second(10).unwrap());
        for (remaining, t) in [(0, 0), (9, 1), (u32::MAX, u64::MAX)] {
            let value = state_value(&policy, remaining, t).unwrap();
            let item = format!("\"per-ip\";r={remaining};t={t}");
            assert_eq!(value.as_bytes(), item.as_bytes());
        }
    }

    #[test]
    fn windows_in_whole_seconds() {
        let q = |count, ms| window(&Quota::new(count, Duration::from_millis(ms)).unwrap());
        assert_eq!(q(100, 60_000), (100, 60));
        assert_eq!(q(5, 1_000), (5, 1));
        assert_eq!(q(10, 100), (100, 1));
        assert_eq!(q(3, 1_500), (4, 2));
    }

    #[test]
    fn reset_rounds_up() {
        let quota = Quota::per_second(2).unwrap().with_burst(4).unwrap();
        let s = |remaining, earliest| Snapshot {
            remaining,
            earliest,
        };
        assert_eq!(reset(&quota, &s(4, 0), 0), 0);
        assert_eq!(reset(&quota, &s(3, 0), 0), 1); // 0.5 s owed
        assert_eq!(reset(&quota, &s(0, 400_000_000), 0), 2); // 2 s owed
        // Owed cells times the period beyond 64 bits: 2,000 cells of 1,000 per 10^7 s.
        let slow = Quota::new(1_000, Duration::from_secs(10_000_000))
            .unwrap()
            .with_burst(2_000)
            .unwrap();
        assert_eq!(reset(&slow, &s(0, 0), 0), 20_000_000);
    }

    #[test]
    fn a_line_past_its_stack_buffer_keeps_every_byte() {
        for sizes in [
            &[1usize, 127][..],
            &[128],
            &[100, 28, 1],
            &[129, 3],
            &[60; 9],
        ] {
            let mut line = Line::default();
            let mut expected = Vec::new();
            for (i, &size) in sizes.iter().enumerate() {
                let part = vec![b'a' + i as u8; size];
                line.push(&part);
                expected.extend_from_slice(&part);
            }
            assert!(!line.is_empty());
            assert_eq!(line.value().unwrap().as_bytes(), &expected[..], "{sizes:?}");
        }
        assert!(Line::default().is_empty());
    }
}
