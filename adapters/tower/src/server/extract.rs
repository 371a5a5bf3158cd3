//! Key extractors: how a limit names the client of a request.

use std::net::SocketAddr;

use http::HeaderName;
use http::request::Parts;

use super::forwarded;
use super::ip::IpPrefix;
use super::key::{Key, KeyError};

/// Reads a request's key for one limit.
///
/// Implemented by the extractors of this module and by any closure
/// `Fn(&http::request::Parts) -> Result<Key, KeyError>`:
///
/// ```
/// use pacer_tower::server::{Key, KeyError, KeyExtractor};
///
/// // A tenant named by the first segment of the path.
/// let tenant = |request: &http::request::Parts| {
///     let segment = request.uri.path().split('/').nth(1).unwrap_or("");
///     if segment.is_empty() || segment.len() > 64 {
///         return Err(KeyError::Malformed("tenant"));
///     }
///     Ok(Key::text(segment))
/// };
/// let request = http::Request::get("/acme/orders").body(())?.into_parts().0;
/// assert_eq!(tenant.extract(&request), Ok(Key::text("acme")));
/// # Ok::<(), http::Error>(())
/// ```
///
/// An extractor must not panic: a request whose key cannot be read is an [`KeyError`], which
/// the layer answers as configured ([`Unreadable`](super::Unreadable)).
pub trait KeyExtractor: Send + Sync + 'static {
    /// The key of `request`.
    fn extract(&self, request: &Parts) -> Result<Key, KeyError>;
}

impl<F> KeyExtractor for F
where
    F: Fn(&Parts) -> Result<Key, KeyError> + Send + Sync + 'static,
{
    fn extract(&self, request: &Parts) -> Result<Key, KeyError> {
        self(request)
    }
}

/// The peer's address, for servers that hand it to the request: put a [`PeerAddr`] in the
/// request's extensions (one line with hyper-util, see [`PeerAddr`]); with the `axum`
/// feature, serve with `into_make_service_with_connect_info::<SocketAddr>()`; with the
/// `tonic` feature, tonic's server hands it already (its `TcpConnectInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The key of the connection's peer address, IPv6 cut to a prefix (/64 by default).
///
/// It reads [`PeerAddr`] from the request's extensions, with the `axum` feature axum's
/// `ConnectInfo<SocketAddr>`, and with the `tonic` feature the remote address of tonic's
/// `TcpConnectInfo` (a server behind tonic's TLS hands `TlsConnectInfo` instead: insert a
/// [`PeerAddr`] or key by a closure there). None of them there is [`KeyError::Missing`].
///
/// ```
/// use pacer_tower::server::{Key, KeyExtractor, PeerAddr, PeerIp};
///
/// let mut request = http::Request::get("/").body(())?.into_parts().0;
/// request.extensions.insert(PeerAddr("[2001:db8::5:1]:443".parse()?));
/// let key = PeerIp::default().extract(&request);
/// assert_eq!(key, Ok(Key::Ip("2001:db8::".parse()?)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerIp {
    prefix: IpPrefix,
}

impl PeerIp {
    /// The peer's address cut to `prefix`.
    pub fn with_prefix(prefix: IpPrefix) -> PeerIp {
        PeerIp { prefix }
    }
}

impl KeyExtractor for PeerIp {
    fn extract(&self, request: &Parts) -> Result<Key, KeyError> {
        peer(request)
            .map(|addr| Key::Ip(self.prefix.apply(addr.ip())))
            .ok_or(KeyError::Missing("peer address"))
    }
}

fn peer(request: &Parts) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = request
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0);
    }
    #[cfg(feature = "tonic")]
    if let Some(peer) = request
        .extensions
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr)
    {
        return Some(peer);
    }
    request.extensions.get::<PeerAddr>().map(|peer| peer.0)
}

/// Where a proxy writes the client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    XForwardedFor,
    Forwarded,
    XRealIp,
}

/// The client's address as written by the proxies in front of the service, IPv6 cut to a
/// prefix (/64 by default).
///
/// Each proxy appends the address it received the request from, so with `n` trusted proxies
/// the `n`-th address from the right names the client; addresses further left were written by
/// the client and are never read. Fewer than `n` addresses is [`KeyError::TooFewHops`] (the
/// request did not pass all the proxies, or one of them does not append), an entry that is
/// not an address is [`KeyError::Malformed`]. Ports and brackets are accepted
/// (`192.0.2.1:80`, `[2001:db8::1]:443`).
///
/// Count the proxies that append, not more: trusting one more hop than there are lets every
/// client choose its key.
///
/// ```
/// use pacer_tower::server::{ClientIp, Key, KeyExtractor};
///
/// // One load balancer in front; the client wrote the first address itself.
/// let request = http::Request::get("/")
///     .header("x-forwarded-for", "1.2.3.4, 198.51.100.7:5123")
///     .body(())?
///     .into_parts()
///     .0;
/// let key = ClientIp::x_forwarded_for(1).extract(&request);
/// assert_eq!(key, Ok(Key::Ip("198.51.100.7".parse()?)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClientIp {
    source: Source,
    hops: usize,
    prefix: IpPrefix,
}

impl ClientIp {
    /// From `X-Forwarded-For`, behind `trusted_proxies` proxies that each append to it (0
    /// trusts none: every request is [`KeyError::TooFewHops`]; use [`PeerIp`]).
    pub fn x_forwarded_for(trusted_proxies: usize) -> ClientIp {
        ClientIp {
            source: Source::XForwardedFor,
            hops: trusted_proxies,
            prefix: IpPrefix::default(),
        }
    }

    /// From the `for=` parameters of `Forwarded` (RFC 7239), behind `trusted_proxies`
    /// proxies that each append an element.
    pub fn forwarded(trusted_proxies: usize) -> ClientIp {
        ClientIp {
            source: Source::Forwarded,
            ..ClientIp::x_forwarded_for(trusted_proxies)
        }
    }

    /// From `X-Real-IP`, set by the one proxy in front (which must replace any the client
    /// sent). Two `X-Real-IP` lines are [`KeyError::Malformed`].
    pub fn x_real_ip() -> ClientIp {
        ClientIp {
            source: Source::XRealIp,
            ..ClientIp::x_forwarded_for(1)
        }
    }

    /// The same, cutting addresses to `prefix`.
    pub fn with_prefix(self, prefix: IpPrefix) -> ClientIp {
        ClientIp { prefix, ..self }
    }
}

impl KeyExtractor for ClientIp {
    fn extract(&self, request: &Parts) -> Result<Key, KeyError> {
        let headers = &request.headers;
        let ip = match self.source {
            Source::XForwardedFor => forwarded::x_forwarded_for(headers, self.hops)?,
            Source::Forwarded => forwarded::forwarded(headers, self.hops)?,
            Source::XRealIp => forwarded::x_real_ip(headers)?,
        };
        Ok(Key::Ip(self.prefix.apply(ip)))
    }
}

/// The value of a header, such as an API key: visible ASCII, not empty, at most 256 bytes
/// unless set otherwise.
///
/// ```
/// use pacer_tower::server::{HeaderKey, Key, KeyError, KeyExtractor};
///
/// let api_key = HeaderKey::new(http::HeaderName::from_static("x-api-key"));
/// let request = http::Request::get("/").header("x-api-key", "k-123").body(())?.into_parts().0;
/// assert_eq!(api_key.extract(&request), Ok(Key::text("k-123")));
/// let anonymous = http::Request::get("/").body(())?.into_parts().0;
/// assert!(matches!(api_key.extract(&anonymous), Err(KeyError::Missing(_))));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HeaderKey {
    name: HeaderName,
    max_len: usize,
}

impl HeaderKey {
    /// The value of header `name`.
    pub fn new(name: HeaderName) -> HeaderKey {
        HeaderKey { name, max_len: 256 }
    }

    /// The same, accepting values up to `max_len` bytes.
    pub fn with_max_len(self, max_len: usize) -> HeaderKey {
        HeaderKey { max_len, ..self }
    }
}

impl KeyExtractor for HeaderKey {
    fn extract(&self, request: &Parts) -> Result<Key, KeyError> {
        let value = request
            .headers
            .get(&self.name)
            .ok_or(KeyError::Missing("key header"))?;
        if value.len() > self.max_len {
            return Err(KeyError::TooLong("key header"));
        }
        let text = value
            .to_str()
            .map_err(|_| KeyError::Malformed("key header"))?
            .trim();
        if text.is_empty() {
            return Err(KeyError::Malformed("key header"));
        }
        Ok(Key::text(text))
    }
}

/// The route: the request's path (at most 1,024 bytes), or with the `axum` feature and
/// `RoutePath::matched`, the route pattern axum matched (`/users/{id}`), so that a limit
/// per route has as many keys as the service has routes.
///
/// ```
/// use pacer_tower::server::{Key, KeyExtractor, RoutePath};
///
/// let request = http::Request::get("/search?q=x").body(())?.into_parts().0;
/// assert_eq!(RoutePath::path().extract(&request), Ok(Key::text("/search")));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RoutePath {
    matched: bool,
}

impl RoutePath {
    /// The request's path, without the query.
    pub fn path() -> RoutePath {
        RoutePath { matched: false }
    }

    /// The route pattern axum matched (`axum::extract::MatchedPath`), present when the layer
    /// is added with `Router::route_layer`; otherwise [`KeyError::Missing`].
    #[cfg(feature = "axum")]
    pub fn matched() -> RoutePath {
        RoutePath { matched: true }
    }
}

impl KeyExtractor for RoutePath {
    fn extract(&self, request: &Parts) -> Result<Key, KeyError> {
        if self.matched {
            #[cfg(feature = "axum")]
            if let Some(path) = request.extensions.get::<axum::extract::MatchedPath>() {
                return Ok(Key::text(path.as_str()));
            }
            return Err(KeyError::Missing("matched route"));
        }
        let path = request.uri.path();
        if path.len() > 1024 {
            return Err(KeyError::TooLong("path"));
        }
        Ok(Key::text(path))
    }
}

/// One key for every request: a limit on the whole service.
///
/// ```
/// use pacer_tower::server::{Global, Key, KeyExtractor};
/// let request = http::Request::get("/").body(())?.into_parts().0;
/// assert_eq!(Global.extract(&request), Ok(Key::Global));
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Global;

impl KeyExtractor for Global {
    fn extract(&self, _: &Parts) -> Result<Key, KeyError> {
        Ok(Key::Global)
    }
}
