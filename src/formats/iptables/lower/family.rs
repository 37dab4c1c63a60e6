//! Which family a dump filters, when its header does not say.

use super::super::Dump;
use crate::model::Family;

/// The family a dump filters: its header says, else any IPv6 literal in `-s`/`-d` says IPv6.
pub fn family_of(dump: &Dump<'_>) -> Family {
    if let Some(f) = dump.family_hint {
        return match f {
            super::super::Family::V4 => Family::V4,
            super::super::Family::V6 => Family::V6,
        };
    }
    // what only ip6tables accepts: an IPv6 address, the ICMPv6 protocol (`ipv6-icmp`, its
    // `icmpv6`/`icmp6` aliases, 58) or the mobility header, an IPv6-only match, an ICMPv6 reject
    let v6_value = |a: &super::super::Arg<'_>| {
        let v = a.values.first().map_or("", |v| v.text.as_ref());
        match (a.module.as_ref().map(|m| m.text.as_ref()), a.name.as_ref()) {
            (None, "s" | "d") => v.contains(':'),
            (None, "p") => ["ipv6-icmp", "icmpv6", "icmp6", "58", "ipv6-mh", "mh", "135"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(v)),
            (None, "m") => matches!(
                v,
                "icmp6" | "hl" | "rt" | "frag" | "ipv6header" | "mh" | "hbh" | "dst" | "eui64"
            ),
            (_, "icmpv6-type") => true,
            (_, "reject-with") => {
                v.starts_with("icmp6-")
                    || matches!(v, "no-route" | "adm-prohibited" | "addr-unreach")
            }
            _ => false,
        }
    };
    let v6 = dump.tables.iter().flat_map(|t| &t.rules).any(|r| {
        r.args.iter().any(v6_value)
            || r.target
                .as_ref()
                .is_some_and(|t| t.args.iter().any(v6_value))
    });
    if v6 {
        Family::V6
    } else {
        Family::V4
    }
}
