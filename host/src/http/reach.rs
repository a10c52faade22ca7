//! Where a fetch smoke makes for a plugin may reach (a document, a `$ref`, a registry's blob):
//! the place the user named, or else only the public internet. An address is public unless it is
//! loopback, private, link-local (a cloud's metadata service), shared, reserved, benchmarking,
//! unspecified or multicast; a name is then reached only at the addresses checked, so a second
//! resolution cannot land elsewhere (DNS rebinding).

use std::net::SocketAddr;
use std::time::Duration;

/// Whether an address is on the public internet: not loopback, private, link-local (the cloud
/// metadata address), shared, reserved, benchmarking, unspecified or multicast; an IPv6 address
/// that carries an IPv4 one (mapped, NAT64, 6to4) is judged by that one.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => {
            let [a, b, c, _] = v.octets();
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18))
        }
        std::net::IpAddr::V6(v) => {
            let s = v.segments();
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if let Some(v4) = v.to_ipv4_mapped() {
                return is_public(v4.into());
            }
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public(embedded(s[6], s[7]).into());
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]).into());
            }
            !(v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0)
        }
    }
}

/// A host a fetch may not reach.
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    #[error("cannot resolve {host}: {why}")]
    Unresolved { host: String, why: String },
    #[error("{host} has no address")]
    NoAddress { host: String },
    #[error("{host} has a private address ({address}), and the user named another place")]
    Private { host: String, address: std::net::IpAddr },
}

/// The addresses of `host`, all of them public; else why not.
pub async fn public_addresses(host: &str, port: u16) -> Result<Vec<SocketAddr>, Unreachable> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let found = tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((bare, port))).await;
    let addresses: Vec<SocketAddr> = match found {
        Ok(Ok(found)) => found.collect(),
        Ok(Err(e)) => return Err(Unreachable::Unresolved { host: host.to_string(), why: e.to_string() }),
        Err(_) => {
            return Err(Unreachable::Unresolved {
                host: host.to_string(),
                why: "no answer within 10 s".into(),
            });
        }
    };
    if let Some(a) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(Unreachable::Private { host: host.to_string(), address: a.ip() });
    }
    if addresses.is_empty() {
        return Err(Unreachable::NoAddress { host: host.to_string() });
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn only_public_addresses_count_as_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:8",
            "2002:a9fe:a9fe::1",
            "fec0::1",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
