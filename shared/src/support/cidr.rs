//! IP allowlists: IPv4 and IPv6 CIDR blocks, parsed, normalised and matched.
//!
//! The block arithmetic is `ipnet`'s; the parsing is ours, because `ipnet`'s own parser
//! answers differently from what the API has always accepted (`tests/spec/bad_inputs.rs`):
//!
//! | input | `ipnet::IpNet::from_str` | [`Cidr`] |
//! | --- | --- | --- |
//! | a bare address, `192.0.2.7` | refused | a /32 or /128 |
//! | leading zeros in an IPv4 octet, `010.0.0.0/8` | accepted as `10.0.0.0/8` | refused (std's address parser) |
//! | a prefix written `+8` or `008` | refused | accepted (`u8::from_str`) |
//! | an IPv4-mapped IPv6 block, `::ffff:10.0.0.0/104` | accepted | refused |
//! | host bits set, `10.1.2.3/8` | kept | cleared: `10.0.0.0/8` |
//! | any refusal | "invalid IP address syntax" | says what is wrong, shown in the 422 |

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// A network block such as `10.0.0.0/8` or `2001:db8::/32`. A bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Whether `ip` is inside the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// Whether every address of `inner` is inside this block.
    pub fn covers(&self, inner: &Cidr) -> bool {
        self.0.contains(&inner.0)
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// Parses and normalises: host bits are cleared, so `10.1.2.3/8` reads as `10.0.0.0/8`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        if let IpAddr::V6(v6) = ip {
            // Clients are matched as IPv4 (`contains`), so such a block would match no one.
            if v6.to_ipv4_mapped().is_some() {
                return Err(format!(
                    "{addr:?} is an IPv4-mapped IPv6 address; give the IPv4 block instead"
                ));
            }
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => Ok(width),
            Some(p) => p.parse::<u8>(),
        };
        prefix
            .ok()
            .and_then(|p| IpNet::new(ip, p).ok())
            .map(|net| Self(net.trunc()))
            .ok_or_else(|| format!("prefix length must be 0..={width}"))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Whether `ip` is allowed by `list` (an empty list allows every address). Entries that do not
/// parse allow nothing.
pub fn allows(list: &[String], ip: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    list.iter()
        .filter_map(|c| c.parse::<Cidr>().ok())
        .any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_blocks_match_their_addresses_only() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6");
        assert!(!c.contains(ip("2001:db8::1")));
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn ipv6_blocks_match_their_addresses_only() {
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        assert!(!c.contains(ip("10.0.0.1")));
    }

    #[test]
    fn blocks_are_normalised_and_bad_ones_refused() {
        assert_eq!(
            "10.1.2.3/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            "2001:db8::1/32".parse::<Cidr>().unwrap().to_string(),
            "2001:db8::/32"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/-1",
            "10.0.0.0/",
            "::ffff:10.0.0.0/104",
            "::ffff:192.0.2.1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    /// The rows of the module's table: where `ipnet`'s parser alone would change answers.
    #[test]
    fn the_api_keeps_its_own_parsing_rules() {
        let ours = |s: &str| s.parse::<Cidr>().map(|c| c.to_string());
        let ipnet = |s: &str| s.parse::<IpNet>().map(|n| n.to_string()).ok();
        assert_eq!(ours("192.0.2.7"), Ok("192.0.2.7/32".into()));
        assert_eq!(ours("2001:db8::1"), Ok("2001:db8::1/128".into()));
        assert_eq!(ipnet("192.0.2.7"), None);
        assert!(ours("010.0.0.0/8").is_err());
        assert_eq!(ipnet("010.0.0.0/8"), Some("10.0.0.0/8".into()));
        assert_eq!(ours("10.0.0.0/+8"), Ok("10.0.0.0/8".into()));
        assert_eq!(ours("10.0.0.0/008"), Ok("10.0.0.0/8".into()));
        assert_eq!(ipnet("10.0.0.0/+8"), None);
        assert_eq!(ipnet("10.0.0.0/008"), None);
        assert!(ours("::ffff:10.0.0.0/104").is_err());
        assert!(ipnet("::ffff:10.0.0.0/104").is_some());
        assert_eq!(ours("10.1.2.3/8"), Ok("10.0.0.0/8".into()));
        assert_eq!(ipnet("10.1.2.3/8"), Some("10.1.2.3/8".into()));
        assert_eq!(ours("0.0.0.0/0"), Ok("0.0.0.0/0".into()));
        assert_eq!(ours("::/0"), Ok("::/0".into()));
        assert_eq!(ours("x/8"), Err(r#""x" is not an IP address"#.into()));
        assert_eq!(
            ours("10.0.0.0/33"),
            Err("prefix length must be 0..=32".into())
        );
        assert_eq!(ours("::/x"), Err("prefix length must be 0..=128".into()));
    }

    #[test]
    fn a_block_covers_only_blocks_inside_it() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        assert!(c("10.0.0.0/8").covers(&c("10.1.0.0/16")));
        assert!(c("10.0.0.0/8").covers(&c("10.0.0.0/8")));
        assert!(c("127.0.0.1").covers(&c("127.0.0.1/32")));
        assert!(!c("10.1.0.0/16").covers(&c("10.0.0.0/8")), "wider");
        assert!(!c("127.0.0.1/32").covers(&c("0.0.0.0/0")));
        assert!(!c("10.0.0.0/8").covers(&c("11.0.0.0/16")), "beside");
        assert!(!c("0.0.0.0/0").covers(&c("::/0")), "another family");
        assert!(!c("::/0").covers(&c("10.0.0.0/8")));
        assert!(c("2001:db8::/32").covers(&c("2001:db8:1::/48")));
    }

    #[test]
    fn an_empty_list_allows_everyone_and_a_missing_address_nothing_else() {
        assert!(allows(&[], None));
        let list = vec!["10.0.0.0/8".to_string()];
        assert!(allows(&list, Some(ip("10.0.0.1"))));
        assert!(!allows(&list, Some(ip("127.0.0.1"))));
        assert!(!allows(&list, None));
    }
}
