//! The match options of a rule line (`-s`, `-p`, `--dport`, `-m conntrack --ctstate`, ...) into
//! packet boxes: one or more alternatives, each with the reasons it is undecidable.

use super::Ctx;
use crate::formats::iptables::{Arg, RuleLine};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::mark::MarkMatch;
use crate::model::ports::{self, ConnState, StateSet};
use crate::model::{AddrSet, Family, IntervalSet, PacketBox};

/// Matches evaluated exactly.
const MODELLED: &[&str] = &[
    "tcp",
    "udp",
    "sctp",
    "dccp",
    "udplite",
    "multiport",
    "icmp",
    "icmp6",
    "conntrack",
    "state",
    "comment",
    "iprange",
    "addrtype",
    "mark",
];

/// Matches we know but cannot evaluate from the dump alone, with the reason we give.
fn opaque_module(m: &str) -> Option<&'static str> {
    Some(match m {
        "limit" | "hashlimit" => "rate limits are not modelled",
        "recent" => "`-m recent` depends on addresses seen earlier at run time",
        "set" => "ipset contents are not in an iptables-save dump",
        "mac" => "MAC addresses of peers are not known",
        "connmark" => "connection marks are set at run time",
        "owner" => "the owning process is not known",
        "physdev" => "bridge ports are not modelled",
        "pkttype" => "link-layer packet types are not modelled",
        "ttl" | "hl" => "TTL / hop limits are not modelled",
        "length" => "packet lengths are not modelled",
        "string" | "bpf" | "u32" => "payload matches are not modelled",
        "statistic" => "random or nth sampling cannot be decided",
        "policy" => "IPsec policy matching is not modelled",
        "socket" => "socket lookups happen at run time",
        "connlimit" | "connbytes" | "quota" | "nfacct" | "rateest" => {
            "counters and connection limits depend on run time"
        }
        "time" => "time-of-day matches depend on when the packet arrives",
        "helper" => "conntrack helpers are not modelled",
        "dscp" | "tos" | "ecn" => "header marks are not modelled",
        "rt" | "frag" | "ipv6header" | "hbh" | "dst" | "mh" | "eui64" => {
            "IPv6 extension headers are not modelled"
        }
        "cgroup" | "devgroup" | "realm" | "cpu" | "rpfilter" | "cluster" | "ipvs" | "comment2" => {
            "host run-time state is not in the dump"
        }
        _ => return None,
    })
}

/// One alternative of a rule line: a box and the reasons it is undecidable.
/// A rule's alternatives: almost always one (no heap for it).
pub(super) type Alts = smallvec::SmallVec<[Alt; 1]>;

#[derive(Clone)]
pub(super) struct Alt {
    pub(super) b: PacketBox,
    pub(super) why: Vec<String>,
    /// The rule's `-m mark --mark` test (`marks.rs`).
    pub(super) mark: Option<MarkMatch>,
}

/// A `multiport` list's ports (`ports::parse_port_list`), read once for a run of rules that
/// repeat it.
fn port_list(text: &str, ctx: &mut Ctx<'_>) -> Result<ports::PortSet, ports::PortError> {
    if let Some((last, set)) = &ctx.last_ports {
        if last == text {
            return Ok(set.clone());
        }
    }
    let set = ports::parse_port_list(text, ':')?;
    ctx.last_ports = Some((text.to_string(), set.clone()));
    Ok(set)
}

fn parse_addr_list(arg: &Arg<'_>, ctx: &mut Ctx<'_>, why: &mut Vec<String>) -> Option<AddrSet> {
    let v = arg.values.first()?;
    let mut set = AddrSet::empty();
    for part in v.text.split(',') {
        match AddrSet::parse_in(part, ctx.family) {
            Ok(s) => set = set.union(&s),
            Err(e) => {
                let looks_like_host = part.chars().any(|c| c.is_ascii_alphabetic())
                    && !part.contains(':')
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-_/".contains(c));
                if looks_like_host {
                    why.push(format!(
                        "`{part}` is a host name, resolved only when the rules are loaded"
                    ));
                } else if let Some(m) = address_mask(part, ctx.family) {
                    match m {
                        Ok(s) => {
                            set = set.union(&s);
                            continue;
                        }
                        Err(reason) => why.push(reason),
                    }
                } else {
                    ctx.error(v.span, e.to_string(), "not an address of this family");
                    why.push(format!("`{}` could not be read", v.text));
                }
                return None;
            }
        }
    }
    Some(set)
}

/// `ADDR/MASK` with a mask written as an address, which iptables and ip6tables accept whatever
/// its bits (iptables(8): "a plain number ... or a network mask"): `None` when `part` is not
/// that; the exact set when the model holds it (an IPv6 mask that is a prefix); else the reason
/// the rule is undecidable (a non-contiguous mask with more than 4096 ranges, or any
/// non-contiguous IPv6 mask), never a rounded set. (IPv4 dotted masks the model holds exactly
/// never get here: `AddrSet::parse` reads them.)
fn address_mask(part: &str, family: Family) -> Option<Result<AddrSet, String>> {
    let (addr, mask) = part.split_once('/')?;
    match (addr.parse::<std::net::IpAddr>().ok()?, family) {
        (std::net::IpAddr::V4(_), Family::V4) => {
            let m: std::net::Ipv4Addr = mask.parse().ok()?;
            Some(Err(format!(
                "`{part}`: the non-contiguous mask {m} selects more address ranges than Portolan \
                 enumerates (4096); the rule is not rounded to a CIDR"
            )))
        }
        (std::net::IpAddr::V6(_), Family::V6) => {
            let m = u128::from(mask.parse::<std::net::Ipv6Addr>().ok()?);
            if m.leading_ones() + m.trailing_zeros() == 128 {
                Some(
                    AddrSet::parse_in(&format!("{addr}/{}", m.leading_ones()), family)
                        .map_err(|e| e.to_string()),
                )
            } else {
                Some(Err(format!(
                    "`{part}`: a non-contiguous IPv6 mask, whose address set Portolan does not \
                     model; the rule is not rounded to a prefix"
                )))
            }
        }
        _ => None,
    }
}

/// A state match in the `raw` table, which runs before connection tracking: a packet there has
/// no conntrack entry yet, so the kernel's state match (`xt_state`, `xt_conntrack`: no entry is
/// INVALID) sees INVALID, or UNTRACKED once a NOTRACK marked it (iptables-extensions(8),
/// `model::conntrack`). In the model a packet reaches raw in its own state (NEW for a request,
/// ESTABLISHED for a reply: never UNTRACKED) or seen UNTRACKED after a NOTRACK. So `set` (after
/// any negation) becomes: every state but UNTRACKED when it holds INVALID, and UNTRACKED when it
/// holds UNTRACKED.
pub(crate) fn raw_state_view(set: &StateSet) -> StateSet {
    let mut out = StateSet::empty();
    if set.contains(ConnState::Invalid as u8) {
        for s in [
            ConnState::New,
            ConnState::Established,
            ConnState::Related,
            ConnState::Invalid,
        ] {
            out = out.union(&s.set());
        }
    }
    if set.contains(ConnState::Untracked as u8) {
        out = out.union(&ConnState::Untracked.set());
    }
    out
}

pub(super) fn lower_matches(line: &RuleLine<'_>, ctx: &mut Ctx<'_>) -> Alts {
    let fam = AddrSet::any_of(ctx.family);
    let mut base = PacketBox::full();
    base.src = fam.clone();
    base.dst = fam;
    let mut alts: Alts = smallvec::smallvec![Alt {
        b: base,
        why: Vec::new(),
        mark: None,
    }];
    let v6 = ctx.family == Family::V6;
    for arg in &line.args {
        let module = arg.module.as_ref().map(|m| m.text.as_ref());
        let name = arg.name.as_ref();
        let neg = arg.negated;
        let value = arg.values.first();
        let mut why = Vec::new();
        // one refinement of every alternative
        let refine = |alts: &mut Alts, f: &dyn Fn(&mut PacketBox)| {
            for a in alts.iter_mut() {
                f(&mut a.b);
            }
        };
        macro_rules! bad {
            ($e:expr, $label:expr) => {{
                let sp = value.map(|v| v.span).unwrap_or(arg.span);
                ctx.error(sp, $e, $label);
                why.push(format!(
                    "`{}` could not be read",
                    value.map(|v| v.text.as_ref()).unwrap_or("")
                ));
            }};
        }
        match (module, name) {
            (_, "comment") => {}
            (None, "s") | (None, "d") => {
                if let Some(set) = parse_addr_list(arg, ctx, &mut why) {
                    let set = if neg {
                        set.complement_in(ctx.family)
                    } else {
                        set
                    };
                    let is_src = name == "s";
                    refine(&mut alts, &|b| {
                        if is_src {
                            b.src = b.src.intersect(&set)
                        } else {
                            b.dst = b.dst.intersect(&set)
                        }
                    });
                }
            }
            (None, "i") | (None, "o") => {
                if let Some(v) = value {
                    let m = ctx.ifs.matching(&v.text);
                    let set = if neg { m.complement() } else { m };
                    let is_in = name == "i";
                    refine(&mut alts, &|b| {
                        if is_in {
                            b.iif = b.iif.intersect(&set)
                        } else {
                            b.oif = b.oif.intersect(&set)
                        }
                    });
                }
            }
            (None, "p") => {
                if let Some(v) = value {
                    match ports::parse_protocol(&v.text) {
                        Ok(p) => {
                            let p = if neg { p.complement() } else { p };
                            refine(&mut alts, &|b| b.proto = b.proto.intersect(&p));
                        }
                        Err(e) => bad!(e.to_string(), "unknown protocol"),
                    }
                }
            }
            (None, "f") => {
                // evaluated packets are unfragmented: `-f` never matches, `! -f` always does
                if !neg {
                    refine(&mut alts, &|b| b.proto = IntervalSet::empty());
                }
            }
            (None, "4") if v6 => refine(&mut alts, &|b| b.proto = IntervalSet::empty()),
            (None, "6") if !v6 => refine(&mut alts, &|b| b.proto = IntervalSet::empty()),
            (None, "4") | (None, "6") => {}
            (Some("tcp" | "udp" | "sctp" | "dccp" | "udplite"), "dport" | "sport") => {
                if let Some(v) = value {
                    match ports::parse_port_range(&v.text, ':') {
                        Ok(p) => {
                            let p = if neg { p.complement() } else { p };
                            let d = name == "dport";
                            refine(&mut alts, &|b| {
                                if d {
                                    b.dport = b.dport.intersect(&p)
                                } else {
                                    b.sport = b.sport.intersect(&p)
                                }
                            });
                        }
                        Err(e) => bad!(e.to_string(), "not a port or port range"),
                    }
                }
            }
            (Some("tcp"), "syn" | "tcp-flags") => {
                let syn_matches = if name == "syn" {
                    Some(true)
                } else {
                    match (arg.values.first(), arg.values.get(1)) {
                        (Some(m), Some(c)) => match (tcp_flags(&m.text), tcp_flags(&c.text)) {
                            (Some(mask), Some(comp)) => Some(SYN & mask == comp),
                            _ => None,
                        },
                        _ => None,
                    }
                };
                match syn_matches {
                    Some(hit) => {
                        let hit = hit != neg;
                        let later = ports::all_states().difference(&ConnState::New.set());
                        // the opening SYN (state NEW) is decided; later packets are not
                        let mut out = Alts::new();
                        for a in &alts {
                            if hit {
                                let mut n = a.clone();
                                n.b.state = n.b.state.intersect(&ConnState::New.set());
                                out.push(n);
                            }
                            let mut l = a.clone();
                            l.b.state = l.b.state.intersect(&later);
                            l.why
                                .push("TCP flags of packets after the opening SYN".into());
                            out.push(l);
                        }
                        alts = out;
                    }
                    None => bad!(
                        format!("cannot read the TCP flags of `{}`", arg.option.text),
                        "bad TCP flags"
                    ),
                }
            }
            (Some("tcp"), _) | (Some("udp"), _) => {
                why.push(format!("`--{name}` is not modelled"));
            }
            (Some("multiport"), "dports" | "sports" | "ports") => {
                if let Some(v) = value {
                    match port_list(&v.text, ctx) {
                        Ok(p) => match (name, neg) {
                            ("dports", _) | ("sports", _) => {
                                let p = if neg { p.complement() } else { p };
                                let d = name == "dports";
                                refine(&mut alts, &|b| {
                                    if d {
                                        b.dport = b.dport.intersect(&p)
                                    } else {
                                        b.sport = b.sport.intersect(&p)
                                    }
                                });
                            }
                            (_, true) => {
                                let c = p.complement();
                                refine(&mut alts, &|b| {
                                    b.dport = b.dport.intersect(&c);
                                    b.sport = b.sport.intersect(&c);
                                });
                            }
                            (_, false) => {
                                // either port in the list: dport in P, or sport in P and dport not
                                let mut out = Alts::new();
                                for a in &alts {
                                    let mut x = a.clone();
                                    x.b.dport = x.b.dport.intersect(&p);
                                    out.push(x);
                                    let mut y = a.clone();
                                    y.b.sport = y.b.sport.intersect(&p);
                                    y.b.dport = y.b.dport.difference(&p);
                                    out.push(y);
                                }
                                alts = out;
                            }
                        },
                        Err(e) => bad!(e.to_string(), "not a port list"),
                    }
                }
            }
            (Some("icmp"), "icmp-type") | (Some("icmp6"), "icmpv6-type") => {
                if let Some(v) = value {
                    match ports::icmp_types(&v.text, name == "icmpv6-type") {
                        Ok(t) => {
                            let t = if neg { t.complement() } else { t };
                            refine(&mut alts, &|b| b.dport = b.dport.intersect(&t));
                        }
                        Err(e) => bad!(e.to_string(), "unknown ICMP type"),
                    }
                }
            }
            (Some("conntrack"), "ctstate") | (Some("state"), "state") => {
                if let Some(v) = value {
                    let mut set = StateSet::empty();
                    let mut nat_state = false;
                    let mut bad_state = None;
                    for s in v.text.split(',') {
                        match ConnState::parse(s) {
                            Some(c) => set = set.union(&c.set()),
                            None if s.eq_ignore_ascii_case("SNAT")
                                || s.eq_ignore_ascii_case("DNAT") =>
                            {
                                nat_state = true
                            }
                            None => bad_state = Some(s.to_string()),
                        }
                    }
                    if let Some(s) = bad_state {
                        bad!(format!("`{s}` is not a connection state"), "unknown state");
                    } else if nat_state {
                        why.push("conntrack SNAT/DNAT states depend on NAT at run time".into());
                    } else {
                        let set = if neg {
                            ports::all_states().difference(&set)
                        } else {
                            set
                        };
                        let set = if ctx.raw { raw_state_view(&set) } else { set };
                        refine(&mut alts, &|b| b.state = b.state.intersect(&set));
                    }
                }
            }
            (Some("conntrack"), _) => {
                why.push(format!("`--{name}` of `-m conntrack` is not modelled"))
            }
            (Some("iprange"), "src-range" | "dst-range") => {
                if let Some(v) = value {
                    match AddrSet::parse_in(&v.text, ctx.family) {
                        Ok(set) => {
                            let set = if neg {
                                set.complement_in(ctx.family)
                            } else {
                                set
                            };
                            let s = name == "src-range";
                            refine(&mut alts, &|b| {
                                if s {
                                    b.src = b.src.intersect(&set)
                                } else {
                                    b.dst = b.dst.intersect(&set)
                                }
                            });
                        }
                        Err(e) => bad!(e.to_string(), "not an address range"),
                    }
                }
            }
            (Some("addrtype"), "dst-type") => {
                if let Some(v) = value {
                    let limited = line.args.iter().any(|a| {
                        a.module.as_ref().is_some_and(|m| m.text == "addrtype")
                            && a.name.starts_with("limit-iface")
                    });
                    let on_input = line.chain.text == "INPUT";
                    let (yes, no, unk) = addrtype_split(&v.text, ctx.family, on_input && !limited);
                    let hit = if neg { no } else { yes };
                    let mut out = Alts::new();
                    for a in &alts {
                        let mut x = a.clone();
                        x.b.dst = x.b.dst.intersect(&hit);
                        out.push(x);
                        let mut u = a.clone();
                        u.b.dst = u.b.dst.intersect(&unk);
                        if !u.b.dst.is_empty() {
                            u.why.push(ADDRTYPE_UNDECIDED.into());
                            out.push(u);
                        }
                    }
                    alts = out;
                }
            }
            (Some("addrtype"), "src-type") => why.push(ADDRTYPE_UNDECIDED.into()),
            (Some("mark"), "mark") => {
                // decided by evaluation where earlier rules set the bits; a second test in one
                // rule stays undecidable (its reason is in `why`, with no test to decide it)
                if let Some(t) = super::marks::mark_match(arg, ctx, &mut why) {
                    for a in alts.iter_mut().filter(|a| a.mark.is_none()) {
                        a.mark = Some(t.clone());
                    }
                }
            }
            (Some("addrtype"), "limit-iface-in" | "limit-iface-out") => {}
            (None, "m") => {
                if let Some(m) = value {
                    let m = m.text.as_ref();
                    if !MODELLED.contains(&m) {
                        match opaque_module(m) {
                            Some(reason) => why.push(format!("-m {m}: {reason}")),
                            None => {
                                why.push(format!("-m {m}: this match is not modelled"));
                                ctx.issues.push(ParseIssue {
                                    kind: IssueKind::Undecidable,
                                    span: value.map(|v| v.span).unwrap_or(arg.span),
                                    message: format!(
                                        "match `-m {m}` is not modelled; packets it could match are unknown"
                                    ),
                                    label: "unknown match".into(),
                                    help: Some(
                                        "Portolan reports what this rule decides as unknown rather than guessing"
                                            .into(),
                                    ),
                                });
                            }
                        }
                    }
                }
            }
            // options of a module that is not modelled were accounted for at its `-m`
            (Some(m), _) if !MODELLED.contains(&m) => {}
            (Some(m), _) => why.push(format!("`--{name}` of `-m {m}` is not modelled")),
            (None, other) => why.push(format!("option `{other}` is not modelled")),
        }
        if !why.is_empty() {
            for a in alts.iter_mut() {
                for w in &why {
                    if !a.why.contains(w) {
                        a.why.push(w.clone());
                    }
                }
            }
        }
    }
    alts.retain(|a| !a.b.is_empty());
    alts
}

pub(crate) const ADDRTYPE_UNDECIDED: &str =
    "-m addrtype: address types depend on the host's addresses";

/// `-m addrtype --dst-type TYPES` (iptables-extensions(8); the kernel's `xt_addrtype`): the
/// destinations that certainly have one of `types`, those that certainly have none, and the
/// rest (undecided), within `family`.
///
/// Decided: `MULTICAST` (224.0.0.0/4, `ff00::/8`: the kernel types them by address, on every
/// hook); `LOCAL` on the INPUT chain without `--limit-iface-in`, because a packet the host
/// receives is addressed to one of its own addresses unless it is a broadcast (0.0.0.0/8,
/// 255.255.255.255) or multicast, which the kernel types before any route lookup (IPv6
/// multicast stays undecided: its type comes from a route lookup). A subnet-directed broadcast
/// (which depends on the interfaces' masks, not in the dump) is taken as a host address. Every
/// other type, and `LOCAL` on other chains (a user chain may be jumped to from any hook), is
/// undecided.
pub(crate) fn addrtype_split(
    types: &str,
    family: Family,
    on_input: bool,
) -> (AddrSet, AddrSet, AddrSet) {
    let fam = AddrSet::any_of(family);
    let parse = |list: &[&str]| {
        list.iter().fold(AddrSet::empty(), |a, c| {
            a.union(&AddrSet::parse(c).unwrap_or_else(|_| AddrSet::empty()))
        })
    };
    let v6 = family == Family::V6;
    let multicast = parse(&[if v6 { "ff00::/8" } else { "224.0.0.0/4" }]).intersect(&fam);
    let (mut yes, mut no) = (AddrSet::empty(), fam.clone());
    for t in types.split(',') {
        let (y, n) = match t.trim().to_ascii_uppercase().as_str() {
            "MULTICAST" => (multicast.clone(), fam.difference(&multicast)),
            "LOCAL" if on_input && v6 => {
                let unspec = parse(&["::/128"]);
                (fam.difference(&multicast).difference(&unspec), unspec)
            }
            "LOCAL" if on_input => {
                let other = parse(&["0.0.0.0/8", "255.255.255.255/32"]).union(&multicast);
                (fam.difference(&other), other)
            }
            _ => (AddrSet::empty(), AddrSet::empty()),
        };
        yes = yes.union(&y);
        no = no.intersect(&n);
    }
    let unk = fam.difference(&yes).difference(&no);
    (yes, no, unk)
}

const SYN: u8 = 0x02;

fn tcp_flags(t: &str) -> Option<u8> {
    let mut v = 0u8;
    for f in t.split(',') {
        v |= match f.trim().to_ascii_uppercase().as_str() {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ECE" => 0x40,
            "CWR" => 0x80,
            "ALL" => 0xff,
            "NONE" => 0,
            _ => return None,
        };
    }
    Some(v)
}
