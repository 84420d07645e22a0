//! Who may post plates: each `[[camera]]` of the agent config names a token,
//! a source-address allowlist, or both, and optionally the device ids the
//! camera may report for. A plate opens a gate, so an unknown sender is
//! refused before its body is read.

use crate::secret::Secret;
use std::net::IpAddr;

/// An address block: `192.168.1.0/24`, `10.0.0.5`, `::1`, `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| format!("'{s}' is not an IP address or CIDR block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("'{s}': prefix must be 0..={max}")),
            },
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => mask_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => mask_eq(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

/// An IPv4 peer on a dual-stack socket shows up as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xFFu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

/// One `[[camera]]`, resolved (token files read).
#[derive(Clone, Debug, Default)]
pub struct CameraRule {
    /// For logs.
    pub name: String,
    pub token: Option<Secret>,
    pub allow: Vec<Cidr>,
    /// Device ids this camera may report for; empty = any.
    pub devices: Vec<String>,
}

impl CameraRule {
    /// The implicit rule when no `[[camera]]` is configured: loopback only,
    /// which is all the default listen address can hear anyway.
    pub fn loopback() -> CameraRule {
        CameraRule {
            name: "loopback".into(),
            token: None,
            allow: vec![
                Cidr { net: IpAddr::from([127, 0, 0, 0]), prefix: 8 },
                Cidr { net: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), prefix: 128 },
            ],
            devices: Vec::new(),
        }
    }

    fn address_ok(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip))
    }

    fn token_ok(&self, given: Option<&str>) -> bool {
        match &self.token {
            None => true,
            Some(t) => given.is_some_and(|g| t.matches(g)),
        }
    }
}

/// The outcome of checking a request's credentials (before its body).
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Admitted by these rules (indexes); the device check comes after parsing.
    Admitted(Vec<usize>),
    /// Address allowed by some rule but its token missing or wrong: 401.
    BadToken,
    /// No rule allows the source address: 403.
    BadAddress,
}

pub fn check(rules: &[CameraRule], peer: IpAddr, token: Option<&str>) -> Access {
    let mut admitted = Vec::new();
    let mut address_known = false;
    for (i, r) in rules.iter().enumerate() {
        if r.address_ok(peer) {
            address_known = true;
            if r.token_ok(token) {
                admitted.push(i);
            }
        }
    }
    if !admitted.is_empty() {
        Access::Admitted(admitted)
    } else if address_known {
        Access::BadToken
    } else {
        Access::BadAddress
    }
}

/// Whether one of the admitting rules lets the camera report for `device`.
pub fn device_allowed(rules: &[CameraRule], admitted: &[usize], device: &str) -> bool {
    admitted.iter().filter_map(|i| rules.get(*i)).any(|r| r.devices.is_empty() || r.devices.iter().any(|d| d == device))
}

/// The token of a request: `Authorization: Bearer <token>` or `?token=`.
pub fn request_token<'a>(authorization: Option<&'a str>, query: Option<&'a str>) -> Option<String> {
    if let Some(h) = authorization {
        let h = h.trim();
        if h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ") {
            return Some(h[7..].trim().to_string());
        }
    }
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_match_by_prefix() {
        let c = Cidr::parse("192.168.1.0/24").unwrap();
        assert!(c.contains(ip("192.168.1.77")));
        assert!(!c.contains(ip("192.168.2.1")));
        assert!(c.contains(ip("::ffff:192.168.1.9")), "v4-mapped peers are v4");
        assert!(Cidr::parse("10.0.0.5").unwrap().contains(ip("10.0.0.5")));
        assert!(!Cidr::parse("10.0.0.5").unwrap().contains(ip("10.0.0.6")));
        assert!(Cidr::parse("10.0.0.0/9").unwrap().contains(ip("10.127.255.255")));
        assert!(!Cidr::parse("10.0.0.0/9").unwrap().contains(ip("10.128.0.0")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Cidr::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("camera-1").is_err());
    }

    #[test]
    fn token_and_address_both_count_and_give_401_or_403() {
        let rules = vec![
            CameraRule { name: "a".into(), token: Some("t1".into()), allow: vec![Cidr::parse("10.0.0.0/24").unwrap()], devices: vec!["1".into()] },
            CameraRule { name: "b".into(), token: Some("t2".into()), allow: vec![], devices: vec![] },
        ];
        assert_eq!(check(&rules, ip("10.0.0.3"), Some("t1")), Access::Admitted(vec![0]));
        // Right token from the wrong network: only rule b could admit, and its token differs.
        assert_eq!(check(&rules, ip("172.16.0.1"), Some("t1")), Access::BadToken);
        assert_eq!(check(&rules, ip("172.16.0.1"), Some("t2")), Access::Admitted(vec![1]));
        assert_eq!(check(&rules, ip("10.0.0.3"), None), Access::BadToken);
        let only_net = vec![CameraRule { allow: vec![Cidr::parse("10.0.0.0/24").unwrap()], ..Default::default() }];
        assert_eq!(check(&only_net, ip("10.0.1.3"), Some("anything")), Access::BadAddress);
        assert_eq!(check(&only_net, ip("10.0.0.9"), None), Access::Admitted(vec![0]));
        assert!(device_allowed(&rules, &[0], "1"));
        assert!(!device_allowed(&rules, &[0], "2"));
        assert!(device_allowed(&rules, &[0, 1], "2"));
    }

    #[test]
    fn loopback_rule_admits_only_this_machine() {
        let r = vec![CameraRule::loopback()];
        assert!(matches!(check(&r, ip("127.0.0.1"), None), Access::Admitted(_)));
        assert!(matches!(check(&r, ip("::1"), None), Access::Admitted(_)));
        assert_eq!(check(&r, ip("192.168.1.20"), None), Access::BadAddress);
    }

    #[test]
    fn token_comes_from_bearer_header_or_query() {
        assert_eq!(request_token(Some("Bearer abc"), None).as_deref(), Some("abc"));
        assert_eq!(request_token(Some("bearer  abc "), None).as_deref(), Some("abc"));
        assert_eq!(request_token(None, Some("x=1&token=a%2Bb")).as_deref(), Some("a+b"));
        assert_eq!(request_token(Some("Basic Zm9v"), Some("token=q")).as_deref(), Some("q"));
        assert_eq!(request_token(None, Some("tokenx=1")), None);
        assert_eq!(request_token(None, None), None);
    }
}
