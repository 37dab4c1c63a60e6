//! The value syntaxes netsh, PowerShell and the registry share: protocols, ports, addresses,
//! ICMP types and comma-separated lists.

use super::ast::{AddrSpec, IcmpSpec, PortSpec, Protocol, Security};
use crate::model::ports;
use crate::model::{AddrSet, Span};

// ---------------------------------------------------------------------------------------------
// Value syntaxes shared by every format

/// A protocol as netsh, PowerShell and the registry write it: `TCP`, `UDP`, `ICMPv4`, `ICMPv6`,
/// `Any`, a number (256 = any in the COM API).
pub fn parse_protocol(t: &str) -> Protocol {
    let t = t.trim();
    match t.to_ascii_lowercase().as_str() {
        "" | "any" | "*" | "256" => Protocol::Any,
        "tcp" => Protocol::Number(ports::TCP),
        "udp" => Protocol::Number(ports::UDP),
        "icmpv4" | "icmp" => Protocol::Number(ports::ICMP),
        "icmpv6" => Protocol::Number(ports::ICMPV6),
        "igmp" => Protocol::Number(2),
        "gre" => Protocol::Number(47),
        "ipv6" => Protocol::Number(41),
        "esp" => Protocol::Number(50),
        "ah" => Protocol::Number(51),
        l => match l.parse::<u8>() {
            Ok(n) => Protocol::Number(n),
            Err(_) => Protocol::Bad(t.to_string()),
        },
    }
}

/// An IPsec requirement as the registry ([MS-GPFAS] 2.2.2.6 IfSecure tokens: `Authenticate`,
/// `AuthenticateEncrypt`, `An-NoEncap`, `AnE-Nego`) and netsh (`NotRequired`, `Authenticate`,
/// `AuthEnc`, `AuthDynEnc`, `AuthNoEncap`, as `netsh advfirewall firewall add rule security=`
/// spells them) write it; any case. Empty, `NotRequired` and `None` are no requirement.
pub fn parse_security(t: &str) -> Security {
    let t = t.trim();
    match t.to_ascii_lowercase().as_str() {
        "" | "notrequired" | "none" | "not required" => Security::NotRequired,
        "authenticate"
        | "authenticateencrypt"
        | "authenc"
        | "authdynenc"
        | "authnoencap"
        | "an-noencap"
        | "ane-nego"
        | "auth-dynenc"
        | "auth-noencap"
        | "authenticatewithencryption"
        | "authenticateencryptdynamic" => Security::Required(t.to_string()),
        _ => Security::Bad(t.to_string()),
    }
}

const PORT_KEYWORDS: &[&str] = &[
    "RPC",
    "RPC-EPMap",
    "RPCEPMap",
    "IPHTTPS",
    "IPHTTPSIn",
    "IPHTTPSOut",
    "IPTLSIn",
    "IPTLSOut",
    "Teredo",
    "Ply2Disc",
    "PlayToDiscovery",
    "mDNS",
    "DHCP",
    "CortanaOut",
    "ProximalTcpCdp",
    "Edge",
];

/// One port element: `Any`, `80`, `4005-4009`, or a keyword.
pub fn parse_port(t: &str) -> PortSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return PortSpec::Any;
    }
    if let Some(k) = PORT_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(t)) {
        return PortSpec::Keyword((*k).to_string());
    }
    match ports::parse_port_range(t, '-') {
        Ok(set) => match (set.min(), set.ranges().last()) {
            (Some(lo), Some(&(_, hi))) => PortSpec::Range(lo, hi),
            _ => PortSpec::Bad(t.to_string()),
        },
        Err(_) => PortSpec::Bad(t.to_string()),
    }
}

const ADDR_KEYWORDS: &[&str] = &[
    "LocalSubnet",
    "DNS",
    "DHCP",
    "WINS",
    "DefaultGateway",
    "Intranet",
    "Internet",
    "IntranetRemoteAccess",
    "RmtIntranet",
    "Ply2Renders",
    "PlayToDevice",
    "CaptivePortal",
];

/// One address element: `Any`, `10.1.2.3`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `a-b`,
/// `fe80::/64`, or a keyword (known ones get their canonical spelling; `LocalSubnet4` keeps its
/// suffix). Anything else that looks like a name (letters first, no dots or colons) is a keyword
/// the resolver may know; the rest is bad.
pub fn parse_addr(t: &str) -> AddrSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return AddrSpec::Any;
    }
    if let Some(k) = ADDR_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(t)) {
        return AddrSpec::Keyword((*k).to_string());
    }
    if let Ok(set) = AddrSet::parse(t) {
        return AddrSpec::Literal(set);
    }
    let namelike = t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ')
        && !t.contains(':')
        && !t.contains('.');
    if namelike {
        AddrSpec::Keyword(t.to_string())
    } else {
        AddrSpec::Bad(t.to_string())
    }
}

/// One ICMP element: `Any`, `8`, `8:*`, `3:4`, `3:04`, `8:Any`.
pub fn parse_icmp(t: &str) -> IcmpSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return IcmpSpec::Any;
    }
    let (ty, code) = match t.split_once(':') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (t, None),
    };
    let Ok(ty) = ty.parse::<u8>() else {
        return IcmpSpec::Bad(t.to_string());
    };
    match code {
        None => IcmpSpec::TypeCode(ty, None),
        Some(c) if c == "*" || c.eq_ignore_ascii_case("any") => IcmpSpec::TypeCode(ty, None),
        Some(c) => match c.parse::<u8>() {
            Ok(c) => IcmpSpec::TypeCode(ty, Some(c)),
            Err(_) => IcmpSpec::Bad(t.to_string()),
        },
    }
}

/// Split a comma-separated list, giving each element's span (`base` is the offset of `t`).
pub fn split_list(t: &str, base: usize) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in t.split(',') {
        let lead = part.len() - part.trim_start().len();
        let trimmed = part.trim();
        if !trimmed.is_empty() {
            let s = base + start + lead;
            out.push((trimmed, Span::new(s, s + trimmed.len())));
        }
        start += part.len() + 1;
    }
    out
}

/// Is this program value "any program" (absent, `Any`, `*`) or the kernel (`System`), which
/// owns the traffic of kernel-mode services such as SMB and HTTP.sys?
pub(super) fn program_unscoped(p: &str) -> bool {
    let p = p.trim();
    p.is_empty() || p.eq_ignore_ascii_case("any") || p == "*" || p.eq_ignore_ascii_case("system")
}

pub(super) fn service_unscoped(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s.eq_ignore_ascii_case("any")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_syntaxes() {
        assert_eq!(parse_protocol("TCP"), Protocol::Number(6));
        assert_eq!(parse_protocol("ICMPv6"), Protocol::Number(58));
        assert_eq!(parse_protocol("Any"), Protocol::Any);
        assert!(matches!(parse_protocol("tcpx"), Protocol::Bad(_)));
        assert_eq!(parse_port("4005-4009"), PortSpec::Range(4005, 4009));
        assert_eq!(
            parse_port("rpc-epmap"),
            PortSpec::Keyword("RPC-EPMap".into())
        );
        assert!(matches!(parse_port("99999"), PortSpec::Bad(_)));
        assert!(matches!(parse_port("9-1"), PortSpec::Bad(_)));
        assert!(matches!(
            parse_addr("10.0.0.0/255.0.0.0"),
            AddrSpec::Literal(_)
        ));
        assert_eq!(
            parse_addr("localsubnet"),
            AddrSpec::Keyword("LocalSubnet".into())
        );
        assert_eq!(parse_addr("Client"), AddrSpec::Keyword("Client".into()));
        assert!(matches!(parse_addr("10.0.0.300"), AddrSpec::Bad(_)));
        assert_eq!(parse_icmp("8:*"), IcmpSpec::TypeCode(8, None));
        assert_eq!(parse_icmp("3:04"), IcmpSpec::TypeCode(3, Some(4)));
        assert!(matches!(parse_icmp("x:1"), IcmpSpec::Bad(_)));
        assert_eq!(
            split_list(" a, b ,,c", 10),
            vec![
                ("a", Span::new(11, 12)),
                ("b", Span::new(14, 15)),
                ("c", Span::new(18, 19))
            ]
        );
    }
}
