//! Port sets, protocols and connection states: the small dimensions of packet space.

use std::fmt;

use super::interval::IntervalSet;

/// A set of ports (0–65535). For ICMP and ICMPv6 the destination-port dimension of packet space
/// holds `type << 8 | code` instead (see [`icmp_types`]).
pub type PortSet = IntervalSet<u16>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("`{0}` is not a port number (0-65535)")]
    BadPort(String),
    #[error("port range `{0}` runs backwards")]
    Backwards(String),
    #[error("`{0}` is not a protocol name or number")]
    BadProtocol(String),
    #[error("`{0}` is not an ICMP type")]
    BadIcmpType(String),
}

fn port_num(t: &str) -> Result<u16, PortError> {
    t.trim()
        .parse::<u16>()
        .map_err(|_| PortError::BadPort(t.trim().to_string()))
}

/// One port or range with the given range separator (`:` for iptables, `-` elsewhere). Open ends
/// (`:1023`, `1024:`) are allowed with `:`.
pub fn parse_port_range(t: &str, sep: char) -> Result<PortSet, PortError> {
    let t = t.trim();
    match t.split_once(sep) {
        None => Ok(PortSet::single(port_num(t)?)),
        Some((a, b)) => {
            let lo = if a.is_empty() && sep == ':' {
                0
            } else {
                port_num(a)?
            };
            let hi = if b.is_empty() && sep == ':' {
                u16::MAX
            } else {
                port_num(b)?
            };
            if lo > hi {
                return Err(PortError::Backwards(t.to_string()));
            }
            Ok(PortSet::range(lo, hi))
        }
    }
}

/// A comma-separated list of ports and ranges: `80,443,8000:8080` / `4005-4009,9669`.
pub fn parse_port_list(t: &str, sep: char) -> Result<PortSet, PortError> {
    let mut parts = Vec::new();
    for part in t.split(',') {
        parts.extend_from_slice(parse_port_range(part, sep)?.ranges());
    }
    // united once (a list of dozens of ports would otherwise copy the set per port)
    Ok(PortSet::from_ranges(parts))
}

/// Render a port set the way the JSON contract wants it: `9669`, `4005-4009`, `80,443,9082-9089`.
pub fn port_string(set: &PortSet) -> String {
    if set.is_full() {
        return "any".into();
    }
    set.ranges()
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// A protocol set over IP protocol numbers.
pub type ProtoSet = IntervalSet<u8>;

/// A protocol by name (as /etc/protocols and iptables-save spell them) or number; `all`/`any` is
/// every protocol.
pub fn parse_protocol(t: &str) -> Result<ProtoSet, PortError> {
    let l = t.trim().to_ascii_lowercase();
    let n = match l.as_str() {
        "all" | "any" | "*" | "ip" | "0" => return Ok(ProtoSet::full()),
        "tcp" => TCP,
        "udp" => UDP,
        "icmp" => ICMP,
        "ipv6-icmp" | "icmpv6" | "icmp6" => ICMPV6,
        "igmp" => 2,
        "ipencap" | "ipip" => 4,
        "egp" => 8,
        "ipv6" => 41,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "rsvp" => 46,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "ospf" | "ospfigp" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "l2tp" => 115,
        "sctp" => 132,
        "udplite" => 136,
        "dccp" => 33,
        "mh" | "ipv6-mh" => 135,
        _ => l
            .parse::<u8>()
            .map_err(|_| PortError::BadProtocol(t.trim().to_string()))?,
    };
    Ok(ProtoSet::single(n))
}

/// Protocol name for display (`tcp`, `udp`, `icmp`, or the number).
pub fn protocol_name(p: u8) -> String {
    match p {
        TCP => "tcp".into(),
        UDP => "udp".into(),
        ICMP => "icmp".into(),
        ICMPV6 => "ipv6-icmp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}

/// ICMP / ICMPv6 type matches, encoded in the destination-port dimension as `type << 8 | code`.
/// Accepts `8`, `3/4`, `any`, and the names iptables knows (`echo-request`, `neighbour-solicitation`).
pub fn icmp_types(t: &str, v6: bool) -> Result<PortSet, PortError> {
    let l = t.trim().to_ascii_lowercase();
    if l == "any" {
        return Ok(PortSet::full());
    }
    let (ty, code): (u8, Option<u8>) = if let Some((a, b)) = l.split_once('/') {
        let a = a
            .parse()
            .map_err(|_| PortError::BadIcmpType(t.to_string()))?;
        let b = b
            .parse()
            .map_err(|_| PortError::BadIcmpType(t.to_string()))?;
        (a, Some(b))
    } else if let Ok(n) = l.parse::<u8>() {
        (n, None)
    } else {
        let named: Option<(u8, Option<u8>)> = if v6 {
            match l.as_str() {
                "destination-unreachable" => Some((1, None)),
                "no-route" => Some((1, Some(0))),
                "communication-prohibited" => Some((1, Some(1))),
                "address-unreachable" => Some((1, Some(3))),
                "port-unreachable" => Some((1, Some(4))),
                "packet-too-big" => Some((2, None)),
                "time-exceeded" | "ttl-exceeded" => Some((3, None)),
                "ttl-zero-during-transit" => Some((3, Some(0))),
                "ttl-zero-during-reassembly" => Some((3, Some(1))),
                "parameter-problem" => Some((4, None)),
                "bad-header" => Some((4, Some(0))),
                "unknown-header-type" => Some((4, Some(1))),
                "unknown-option" => Some((4, Some(2))),
                "echo-request" | "ping" => Some((128, None)),
                "echo-reply" | "pong" => Some((129, None)),
                "router-solicitation" => Some((133, None)),
                "router-advertisement" => Some((134, None)),
                "neighbour-solicitation" | "neighbor-solicitation" => Some((135, None)),
                "neighbour-advertisement" | "neighbor-advertisement" => Some((136, None)),
                "redirect" => Some((137, None)),
                _ => None,
            }
        } else {
            match l.as_str() {
                "echo-reply" | "pong" => Some((0, None)),
                "destination-unreachable" => Some((3, None)),
                "network-unreachable" => Some((3, Some(0))),
                "host-unreachable" => Some((3, Some(1))),
                "protocol-unreachable" => Some((3, Some(2))),
                "port-unreachable" => Some((3, Some(3))),
                "fragmentation-needed" => Some((3, Some(4))),
                "source-route-failed" => Some((3, Some(5))),
                "network-prohibited" => Some((3, Some(9))),
                "host-prohibited" => Some((3, Some(10))),
                "communication-prohibited" => Some((3, Some(13))),
                "source-quench" => Some((4, None)),
                "redirect" => Some((5, None)),
                "echo-request" | "ping" => Some((8, None)),
                "router-advertisement" => Some((9, None)),
                "router-solicitation" => Some((10, None)),
                "time-exceeded" | "ttl-exceeded" => Some((11, None)),
                "ttl-zero-during-transit" => Some((11, Some(0))),
                "ttl-zero-during-reassembly" => Some((11, Some(1))),
                "parameter-problem" => Some((12, None)),
                "timestamp-request" => Some((13, None)),
                "timestamp-reply" => Some((14, None)),
                "address-mask-request" => Some((17, None)),
                "address-mask-reply" => Some((18, None)),
                _ => None,
            }
        };
        named.ok_or_else(|| PortError::BadIcmpType(t.to_string()))?
    };
    let base = (ty as u16) << 8;
    Ok(match code {
        Some(c) => PortSet::single(base | c as u16),
        None => PortSet::range(base, base | 0xff),
    })
}

/// Connection-tracking states, one bit position each in the state dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnState {
    New = 0,
    Established = 1,
    Related = 2,
    Invalid = 3,
    Untracked = 4,
}

pub type StateSet = IntervalSet<u8>;

pub fn all_states() -> StateSet {
    StateSet::range(0, ConnState::Untracked as u8)
}

impl ConnState {
    pub fn parse(t: &str) -> Option<ConnState> {
        match t.trim().to_ascii_uppercase().as_str() {
            "NEW" => Some(ConnState::New),
            "ESTABLISHED" => Some(ConnState::Established),
            "RELATED" => Some(ConnState::Related),
            "INVALID" => Some(ConnState::Invalid),
            "UNTRACKED" => Some(ConnState::Untracked),
            _ => None,
        }
    }
    pub fn set(self) -> StateSet {
        StateSet::single(self as u8)
    }
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnState::New => "NEW",
            ConnState::Established => "ESTABLISHED",
            ConnState::Related => "RELATED",
            ConnState::Invalid => "INVALID",
            ConnState::Untracked => "UNTRACKED",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_and_lists() {
        assert_eq!(parse_port_range("22", ':').unwrap(), PortSet::single(22));
        assert_eq!(
            parse_port_range("1024:", ':').unwrap(),
            PortSet::range(1024, 65535)
        );
        assert_eq!(
            parse_port_range(":1023", ':').unwrap(),
            PortSet::range(0, 1023)
        );
        assert_eq!(
            parse_port_range("4005-4009", '-').unwrap(),
            PortSet::range(4005, 4009)
        );
        assert!(parse_port_range("9:1", ':').is_err());
        assert!(parse_port_range("65536", ':').is_err());
        assert!(parse_port_range("-5", '-').is_err());
        let l = parse_port_list("80,443,8000:8080", ':').unwrap();
        assert_eq!(port_string(&l), "80,443,8000-8080");
        assert_eq!(port_string(&PortSet::single(9669)), "9669");
        assert_eq!(port_string(&PortSet::full()), "any");
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocol("tcp").unwrap(), ProtoSet::single(6));
        assert_eq!(parse_protocol("TCP").unwrap(), ProtoSet::single(6));
        assert_eq!(parse_protocol("17").unwrap(), ProtoSet::single(17));
        assert_eq!(parse_protocol("icmpv6").unwrap(), ProtoSet::single(58));
        assert!(parse_protocol("all").unwrap().is_full());
        assert!(parse_protocol("tcpp").is_err());
        assert!(parse_protocol("300").is_err());
    }

    #[test]
    fn icmp() {
        assert_eq!(
            icmp_types("8", false).unwrap(),
            PortSet::range(0x800, 0x8ff)
        );
        assert_eq!(icmp_types("3/4", false).unwrap(), PortSet::single(0x304));
        assert_eq!(
            icmp_types("echo-request", false).unwrap(),
            icmp_types("8", false).unwrap()
        );
        assert_eq!(
            icmp_types("neighbour-solicitation", true).unwrap(),
            icmp_types("135", true).unwrap()
        );
        assert!(icmp_types("bogus", false).is_err());
    }

    #[test]
    fn states() {
        assert_eq!(
            ConnState::parse("established"),
            Some(ConnState::Established)
        );
        assert_eq!(ConnState::parse("SNAT"), None);
        assert_eq!(all_states().ranges(), &[(0, 4)]);
    }
}
