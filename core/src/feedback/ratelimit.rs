//! The IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10):
//! Lists of Items, each a policy name (a String, or a Token, which some servers send) with
//! Parameters.
//!
//! ```text
//! RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400
//! RateLimit: "burst";r=50;t=30
//! ```
//!
//! `RateLimit-Policy` parameters: `q` quota (required, Integer >= 0), `w` window in seconds
//! (Integer > 0), `qu` quota unit (String), `pk` partition key (Byte Sequence). `RateLimit`
//! parameters: `r` remaining (required, Integer >= 0), `t` seconds until more quota is
//! available (Integer >= 0), `pk`. Other parameters are ignored, as the draft allows.

use core::time::Duration;

use super::structured::{Bare, List, Member, Params, unescaped};
use super::{Feedback, FeedbackError, Policy, number};

pub(crate) const POLICY: &str = "ratelimit-policy";
pub(crate) const RATELIMIT: &str = "ratelimit";

/// What one response's `RateLimit` fields say, summed up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The least remaining quota of any policy, with that policy's reset (the longest among
    /// equals).
    pub(crate) remaining: Option<(u64, Option<u64>)>,
    /// The longest reset among policies with nothing remaining.
    pub(crate) exhausted_for: Option<u64>,
    /// How many policies say nothing remains with a reset above zero (each asks for a pause).
    pub(crate) exhausted: usize,
    /// The name (with its partition key), hashed, of the last of them.
    pub(crate) exhausted_name: u64,
}

/// The policies seen so far in one field (over all its lines), to refuse a policy stated twice
/// with different values: a name (with its partition key) and a fingerprint of its values,
/// both hashed (FNV-1a). For `RateLimit-Policy`, also each policy counted in requests, so
/// that a `RateLimit` entry can be matched with the policy it speaks of.
#[derive(Debug)]
pub(crate) struct Seen {
    entries: [(u64, u64); Feedback::MAX_POLICIES],
    policies: [Option<Policy>; Feedback::MAX_POLICIES],
    len: usize,
}

impl Seen {
    pub(crate) const fn new() -> Self {
        Seen {
            entries: [(0, 0); Feedback::MAX_POLICIES],
            policies: [None; Feedback::MAX_POLICIES],
            len: 0,
        }
    }

    /// Checks a policy against those seen, and returns its place.
    fn check(
        &mut self,
        field: &'static str,
        name: u64,
        values: u64,
    ) -> Result<usize, FeedbackError> {
        match self.entries[..self.len]
            .iter()
            .position(|(n, _)| *n == name)
        {
            Some(at) if self.entries[at].1 == values => Ok(at),
            Some(_) => Err(FeedbackError::Conflict { field }),
            None if self.len == Feedback::MAX_POLICIES => {
                Err(FeedbackError::TooManyPolicies { field })
            }
            None => {
                self.entries[self.len] = (name, values);
                self.len += 1;
                Ok(self.len - 1)
            }
        }
    }

    /// The policy counted in requests stated under `name` (hashed with its partition key).
    pub(crate) fn policy(&self, name: u64) -> Option<Policy> {
        let at = self.entries[..self.len]
            .iter()
            .position(|(n, _)| *n == name)?;
        self.policies[at]
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(mut self, bytes: impl IntoIterator<Item = u8>) -> Self {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    fn number(self, n: u64) -> Self {
        self.bytes(n.to_le_bytes())
    }
}

/// One line of `RateLimit-Policy`: keeps in `best` the most restrictive policy counted in
/// requests.
pub(crate) fn policy_line(
    value: &[u8],
    seen: &mut Seen,
    best: &mut Option<Policy>,
) -> Result<(), FeedbackError> {
    let field = POLICY;
    for member in members(value, field)? {
        let name = name(&member, field)?;
        let params = member.params;
        let quota =
            non_negative(params, b"q", "q", field)?.ok_or(FeedbackError::MissingParameter {
                field,
                parameter: "q",
            })?;
        let window = match non_negative(params, b"w", "w", field)? {
            Some(0) => {
                return Err(FeedbackError::BadParameter {
                    field,
                    parameter: "w",
                });
            }
            w => w,
        };
        let unit = match params.get(b"qu") {
            None => None,
            Some(Bare::String(unit)) => Some(unit),
            Some(_) => {
                return Err(FeedbackError::BadParameter {
                    field,
                    parameter: "qu",
                });
            }
        };
        let key = partition_key(params, field)?;
        let values = Fnv::new()
            .number(quota)
            .number(window.unwrap_or(0))
            .bytes(unit.unwrap_or(b"requests").iter().copied());
        let at = seen.check(
            field,
            name.bytes([0xff]).bytes(key.iter().copied()).0,
            values.0,
        )?;
        // Only a quota of requests says how fast to send; bytes or concurrency do not.
        if unit.is_some_and(|u| u != b"requests") {
            continue;
        }
        let policy = Policy {
            quota,
            window: window.map(Duration::from_secs),
        };
        seen.policies[at] = Some(policy);
        if best.is_none_or(|b| policy.tighter_than(&b)) {
            *best = Some(policy);
        }
    }
    Ok(())
}

/// One line of `RateLimit`: folds its service limits into `limits`.
pub(crate) fn ratelimit_line(
    value: &[u8],
    seen: &mut Seen,
    limits: &mut Limits,
) -> Result<(), FeedbackError> {
    let field = RATELIMIT;
    for member in members(value, field)? {
        let name = name(&member, field)?;
        let params = member.params;
        let remaining =
            non_negative(params, b"r", "r", field)?.ok_or(FeedbackError::MissingParameter {
                field,
                parameter: "r",
            })?;
        let reset = non_negative(params, b"t", "t", field)?;
        let key = partition_key(params, field)?;
        let values = Fnv::new()
            .number(remaining)
            .number(reset.map_or(u64::MAX, |t| t));
        let name = name.bytes([0xff]).bytes(key.iter().copied()).0;
        seen.check(field, name, values.0)?;
        let replace = match limits.remaining {
            None => true,
            Some((r, t)) => remaining < r || (remaining == r && reset > t),
        };
        if replace {
            limits.remaining = Some((remaining, reset));
        }
        if remaining == 0
            && let Some(t) = reset
        {
            limits.exhausted_for = Some(limits.exhausted_for.map_or(t, |e| e.max(t)));
            if t > 0 {
                limits.exhausted += 1;
                limits.exhausted_name = name;
            }
        }
    }
    Ok(())
}

/// The members of a List field value, once its whole syntax is checked: a field that does
/// not parse is refused as a whole (RFC 8941 fails the field), before any member's meaning is
/// looked at. An offset in the error counts from the first byte that is not whitespace.
fn members<'a>(
    value: &'a [u8],
    field: &'static str,
) -> Result<impl Iterator<Item = Member<'a>>, FeedbackError> {
    // HTTP trims optional whitespace around a field value; so do we, for callers that kept it.
    let value = number::trim_ows(value);
    if let Some(Err(at)) = List::new(value).find(Result::is_err) {
        return Err(FeedbackError::BadSyntax { field, at });
    }
    Ok(List::new(value).map_while(Result::ok))
}

/// The member's name, hashed: it must be a String or a Token.
fn name(member: &Member<'_>, field: &'static str) -> Result<Fnv, FeedbackError> {
    match member.item {
        Some(Bare::String(raw)) => Ok(Fnv::new().bytes(unescaped(raw))),
        Some(Bare::Token(raw)) => Ok(Fnv::new().bytes(raw.iter().copied())),
        _ => Err(FeedbackError::BadName { field }),
    }
}

/// The Integer parameter `key`, if given, which must not be negative.
fn non_negative(
    params: Params<'_>,
    key: &[u8],
    parameter: &'static str,
    field: &'static str,
) -> Result<Option<u64>, FeedbackError> {
    match params.get(key) {
        None => Ok(None),
        Some(Bare::Integer(n)) if n < 0 => Err(FeedbackError::Negative { field }),
        Some(Bare::Integer(n)) => Ok(Some(n as u64)),
        Some(_) => Err(FeedbackError::BadParameter { field, parameter }),
    }
}

/// The partition key (`pk`), which must be a Byte Sequence; empty if none is given.
fn partition_key<'a>(params: Params<'a>, field: &'static str) -> Result<&'a [u8], FeedbackError> {
    match params.get(b"pk") {
        None => Ok(b""),
        Some(Bare::Bytes(key)) => Ok(key),
        Some(_) => Err(FeedbackError::BadParameter {
            field,
            parameter: "pk",
        }),
    }
}
