//! `Key`: what one limit counts a request by, and `KeyError`: why it could not be read.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// What a limit counts a request by: the client's address (or its IPv6 network), a header's
/// value, a route, or one key for every request.
///
/// A limit holds one independent rate per key, in a table of fixed capacity, so the number
/// of distinct keys a client can make up costs it table slots, never memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// One key for every request: a global limit.
    Global,
    /// An address; an IPv6 address is already cut to its network prefix.
    Ip(IpAddr),
    /// Text, such as an API key or a route.
    Text(Arc<str>),
}

impl Key {
    /// A text key.
    ///
    /// ```
    /// use pacer_tower::server::Key;
    /// assert_eq!(Key::text("alice"), Key::Text("alice".into()));
    /// ```
    pub fn text(text: impl Into<Arc<str>>) -> Key {
        Key::Text(text.into())
    }
}

impl From<IpAddr> for Key {
    fn from(ip: IpAddr) -> Key {
        Key::Ip(ip)
    }
}

impl fmt::Display for Key {
    /// The form a shared store (Redis) files the key under: `*` for [`Key::Global`], the
    /// address, or the text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Global => f.write_str("*"),
            Key::Ip(ip) => write!(f, "{ip}"),
            Key::Text(text) => f.write_str(text),
        }
    }
}

/// Why a request's key could not be read. It names the reason only, never the request's
/// content, so it is safe to log and to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The header or connection information the key comes from is absent.
    Missing(&'static str),
    /// It is present but does not parse (for example an `X-Forwarded-For` entry that is not
    /// an address).
    Malformed(&'static str),
    /// Fewer proxy hops are recorded than the number configured as trusted, so the entry that
    /// would name the client could have been written by the client itself.
    TooFewHops,
    /// The value is longer than the extractor accepts.
    TooLong(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Missing(what) => write!(f, "no {what} in the request"),
            KeyError::Malformed(what) => write!(f, "malformed {what}"),
            KeyError::TooFewHops => {
                f.write_str("fewer forwarding hops than the trusted proxies configured")
            }
            KeyError::TooLong(what) => write!(f, "{what} longer than the limit accepts"),
        }
    }
}

impl std::error::Error for KeyError {}
