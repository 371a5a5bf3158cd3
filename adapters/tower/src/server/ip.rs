//! `IpPrefix`: how many leading bits of an address make a client.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How an address becomes a key: IPv6 addresses are cut to a network prefix, since one host
/// is usually given a whole /64 (or a /56, or a /48) and can pick any address in it; IPv4
/// addresses are kept whole unless asked otherwise. An IPv4 address written as IPv6
/// (`::ffff:192.0.2.1`) counts as the IPv4 address.
///
/// The default is /64 for IPv6 and /32 for IPv4.
///
/// ```
/// use std::net::IpAddr;
/// use pacer_tower::server::IpPrefix;
///
/// let prefix = IpPrefix::default().with_ipv6(56)?;
/// let a: IpAddr = "2001:db8:1:2ff:1::1".parse()?;
/// let b: IpAddr = "2001:db8:1:200::9".parse()?;
/// assert_eq!(prefix.apply(a), prefix.apply(b)); // the same /56
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPrefix {
    v4: u8,
    v6: u8,
}

impl Default for IpPrefix {
    fn default() -> Self {
        IpPrefix { v4: 32, v6: 64 }
    }
}

/// A prefix length longer than the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixTooLong {
    /// The length asked for.
    pub bits: u8,
    /// The address's length in bits (32 or 128).
    pub max: u8,
}

impl fmt::Display for PrefixTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a prefix of {} bits is longer than the address's {}",
            self.bits, self.max
        )
    }
}

impl std::error::Error for PrefixTooLong {}

impl IpPrefix {
    /// IPv6 addresses cut to their first `bits` bits (0 to 128).
    pub fn with_ipv6(self, bits: u8) -> Result<IpPrefix, PrefixTooLong> {
        if bits > 128 {
            return Err(PrefixTooLong { bits, max: 128 });
        }
        Ok(IpPrefix { v6: bits, ..self })
    }

    /// IPv4 addresses cut to their first `bits` bits (0 to 32).
    pub fn with_ipv4(self, bits: u8) -> Result<IpPrefix, PrefixTooLong> {
        if bits > 32 {
            return Err(PrefixTooLong { bits, max: 32 });
        }
        Ok(IpPrefix { v4: bits, ..self })
    }

    /// The IPv6 prefix length.
    pub fn ipv6(&self) -> u8 {
        self.v6
    }

    /// The IPv4 prefix length.
    pub fn ipv4(&self) -> u8 {
        self.v4
    }

    /// `ip` with every bit past the prefix cleared.
    pub fn apply(&self, ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.v4)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.v6)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}
