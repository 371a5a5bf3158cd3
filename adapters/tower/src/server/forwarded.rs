//! Reading the client's address from what trusted proxies wrote: `X-Forwarded-For`,
//! `Forwarded` (RFC 7239) and `X-Real-IP`.
//!
//! Each proxy appends the address it received the request from, so entries are read from the
//! right: with `n` trusted proxies, the `n`-th entry from the right was written by the
//! outermost trusted proxy and names the client. Entries further left were written by the
//! client or by proxies nobody vouches for, and are never read, however they look.

use std::net::{IpAddr, Ipv4Addr};

use http::HeaderMap;

use super::key::KeyError;

/// The `hops`-th address from the right of every `X-Forwarded-For` line, read as one list.
pub(crate) fn x_forwarded_for(headers: &HeaderMap, hops: usize) -> Result<IpAddr, KeyError> {
    const WHAT: &str = "X-Forwarded-For entry";
    if hops == 0 {
        return Err(KeyError::TooFewHops);
    }
    let mut seen = 0;
    for line in headers.get_all("x-forwarded-for").iter().rev() {
        let line = line.to_str().map_err(|_| KeyError::Malformed(WHAT))?;
        for entry in line.rsplit(',') {
            seen += 1;
            let ip = node(entry).ok_or(KeyError::Malformed(WHAT))?;
            if seen == hops {
                return Ok(ip);
            }
        }
    }
    if seen == 0 {
        Err(KeyError::Missing("X-Forwarded-For header"))
    } else {
        Err(KeyError::TooFewHops)
    }
}

/// The `for=` address of the `hops`-th element from the right of every `Forwarded` line.
pub(crate) fn forwarded(headers: &HeaderMap, hops: usize) -> Result<IpAddr, KeyError> {
    const WHAT: &str = "Forwarded element";
    if hops == 0 {
        return Err(KeyError::TooFewHops);
    }
    let mut seen = 0;
    for line in headers.get_all("forwarded").iter().rev() {
        let line = line.to_str().map_err(|_| KeyError::Malformed(WHAT))?;
        for element in split_unquoted(line, ',').rev() {
            seen += 1;
            if seen == hops {
                let value = split_unquoted(element, ';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .map(|(_, value)| value)
                    .ok_or(KeyError::Malformed(WHAT))?;
                return node(value).ok_or(KeyError::Malformed("Forwarded for= address"));
            }
        }
    }
    if seen == 0 {
        Err(KeyError::Missing("Forwarded header"))
    } else {
        Err(KeyError::TooFewHops)
    }
}

/// The one address of `X-Real-IP`, which the proxy in front sets (replacing any the client
/// sent).
pub(crate) fn x_real_ip(headers: &HeaderMap) -> Result<IpAddr, KeyError> {
    const WHAT: &str = "X-Real-IP header";
    let mut lines = headers.get_all("x-real-ip").iter();
    let line = lines.next().ok_or(KeyError::Missing(WHAT))?;
    if lines.next().is_some() {
        return Err(KeyError::Malformed(WHAT));
    }
    let line = line.to_str().map_err(|_| KeyError::Malformed(WHAT))?;
    node(line).ok_or(KeyError::Malformed(WHAT))
}

/// Splits `text` at `separator`s outside double quotes.
fn split_unquoted(text: &str, separator: char) -> impl DoubleEndedIterator<Item = &str> {
    let mut cuts = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => cuts.push(i),
            _ => {}
        }
    }
    let starts = std::iter::once(0).chain(cuts.iter().map(|&i| i + 1));
    let ends = cuts.clone().into_iter().chain(std::iter::once(text.len()));
    starts
        .zip(ends)
        .map(|(start, end)| &text[start..end])
        .collect::<Vec<_>>()
        .into_iter()
}

/// One address as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:8080`, any of them in double quotes, with spaces around.
pub(crate) fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = match text.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => text,
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        return inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    // An IPv4 address with a port; IPv6 with a port must be in brackets.
    let (address, port) = text.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    address.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, lines: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(name, line.parse().unwrap());
        }
        map
    }

    #[test]
    fn nodes_with_ports_brackets_and_quotes() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        for text in ["192.0.2.1", " 192.0.2.1:8080 ", "\"192.0.2.1:1\""] {
            assert_eq!(node(text), Some(v4), "{text}");
        }
        for text in [
            "2001:db8::1",
            "[2001:db8::1]",
            "[2001:db8::1]:443",
            "\"[2001:db8::1]:4711\"",
        ] {
            assert_eq!(node(text), Some(v6), "{text}");
        }
        for text in [
            "",
            "unknown",
            "_hidden",
            "192.0.2.1:",
            "192.0.2.1:99999",
            "192.0.2.1:x",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "2001:db8::1:80x",
            "[192.0.2.1]",
            "\"192.0.2.1",
            "300.0.0.1",
        ] {
            assert_eq!(node(text), None, "{text:?}");
        }
    }

    #[test]
    fn x_forwarded_for_reads_from_the_right() {
        let map = headers("x-forwarded-for", &["6.6.6.6, 10.0.0.1", "10.0.0.2:80"]);
        assert_eq!(x_forwarded_for(&map, 1), Ok("10.0.0.2".parse().unwrap()));
        assert_eq!(x_forwarded_for(&map, 2), Ok("10.0.0.1".parse().unwrap()));
        assert_eq!(x_forwarded_for(&map, 3), Ok("6.6.6.6".parse().unwrap()));
        assert_eq!(x_forwarded_for(&map, 4), Err(KeyError::TooFewHops));
        assert_eq!(x_forwarded_for(&map, 0), Err(KeyError::TooFewHops));
        // Garbage left of the client's entry is never read.
        let map = headers("x-forwarded-for", &["not an address, 10.0.0.1"]);
        assert_eq!(x_forwarded_for(&map, 1), Ok("10.0.0.1".parse().unwrap()));
        assert!(matches!(
            x_forwarded_for(&map, 2),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            x_forwarded_for(&HeaderMap::new(), 1),
            Err(KeyError::Missing(_))
        ));
    }

    #[test]
    fn forwarded_reads_for_from_the_right() {
        let map = headers(
            "forwarded",
            &[
                "for=6.6.6.6;proto=http, For=\"[2001:db8::7]:4711\";by=x",
                "proto=https;for=192.0.2.60:80",
            ],
        );
        assert_eq!(forwarded(&map, 1), Ok("192.0.2.60".parse().unwrap()));
        assert_eq!(forwarded(&map, 2), Ok("2001:db8::7".parse().unwrap()));
        assert_eq!(forwarded(&map, 3), Ok("6.6.6.6".parse().unwrap()));
        assert_eq!(forwarded(&map, 4), Err(KeyError::TooFewHops));
        let map = headers("forwarded", &["for=unknown", "proto=http"]);
        assert!(matches!(forwarded(&map, 1), Err(KeyError::Malformed(_))));
        assert!(matches!(forwarded(&map, 2), Err(KeyError::Malformed(_))));
    }

    #[test]
    fn x_real_ip_is_one_address() {
        let map = headers("x-real-ip", &["[2001:db8::1]:80"]);
        assert_eq!(x_real_ip(&map), Ok("2001:db8::1".parse().unwrap()));
        let map = headers("x-real-ip", &["192.0.2.1", "192.0.2.2"]);
        assert!(matches!(x_real_ip(&map), Err(KeyError::Malformed(_))));
    }
}
