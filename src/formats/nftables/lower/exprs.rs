//! The matches of one nftables rule: each narrows the rule's boxes of packet space (or adds the
//! reason it cannot be decided); selectors, values, sets and verdict-map keys into boxes. The
//! statements with an effect are `stmts.rs`.

use std::collections::HashMap;

use crate::formats::iptables::lower::matches::{
    addrtype_split, raw_state_view, ADDRTYPE_UNDECIDED,
};
use crate::formats::nftables::ast::{Element, Expr, Op, Table};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::iface::Interfaces;
use crate::model::mark::MarkMatch;
use crate::model::ports::{self, ConnState, PortSet, ProtoSet, StateSet};
use crate::model::{Action, AddrSet, ChainId, Family, PacketBox, Span};

/// What one rule is lowered in.
pub(super) struct Ctx<'a> {
    pub(super) family: Family,
    pub(super) table: &'a Table,
    pub(super) chains: &'a HashMap<String, ChainId>,
    /// The rule's policy is a `type nat` one (NAT statements translate there).
    pub(super) nat: bool,
    /// The chain runs before connection tracking (priority below -200) on every path that
    /// reaches it: `Some(true)`; after it on every path: `Some(false)`; both: `None`.
    pub(super) raw: Option<bool>,
    /// Every base chain that reaches the chain is at the input hook (for `fib daddr type`).
    pub(super) on_input: bool,
    pub(super) ifs: &'a Interfaces,
    pub(super) issues: &'a mut Vec<ParseIssue>,
}

impl Ctx<'_> {
    pub(super) fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }
}

/// A box of packets the rule's matches so far select, the reasons it is undecidable, and its
/// packet mark test.
#[derive(Clone)]
pub(super) struct Alt {
    pub(super) b: PacketBox,
    pub(super) why: Vec<String>,
    pub(super) mark: Option<MarkMatch>,
}

/// A model rule to make: its box and what it does.
pub(super) struct Emit {
    pub(super) alt: Alt,
    pub(super) action: Action,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dim {
    Src,
    Dst,
    Proto,
    Sport,
    Dport,
    Icmp { v6: bool },
    State,
    Iif,
    Oif,
    NfProto,
}

/// What a match's left side is.
pub(super) enum Left {
    /// A packet box dimension, and what the expression implies by itself (`tcp dport` implies
    /// TCP, `ip saddr` an IPv4 packet).
    Dim(Dim, Box<PacketBox>),
    Mark,
    FibType,
}

const TH_PROTOS: [u8; 5] = [6, 17, 136, 132, 33];

fn family_only(family: Family, want: Family) -> PacketBox {
    let mut b = PacketBox::full();
    if family != want {
        b.proto = ProtoSet::empty();
    }
    b
}

fn proto_only(protos: &[u8]) -> PacketBox {
    let mut b = PacketBox::full();
    b.proto = ProtoSet::from_ranges(protos.iter().map(|&p| (p, p)));
    b
}

fn left_one(e: &Expr, ctx: &Ctx<'_>) -> Result<Left, String> {
    let fam = ctx.family;
    Ok(match e {
        Expr::Payload { proto, field, .. } => match (proto.as_str(), field.as_str()) {
            ("ip", "saddr") => Left::Dim(Dim::Src, Box::new(family_only(fam, Family::V4))),
            ("ip", "daddr") => Left::Dim(Dim::Dst, Box::new(family_only(fam, Family::V4))),
            ("ip6", "saddr") => Left::Dim(Dim::Src, Box::new(family_only(fam, Family::V6))),
            ("ip6", "daddr") => Left::Dim(Dim::Dst, Box::new(family_only(fam, Family::V6))),
            ("ip", "protocol") => Left::Dim(Dim::Proto, Box::new(family_only(fam, Family::V4))),
            ("ip6", "nexthdr") => Left::Dim(Dim::Proto, Box::new(family_only(fam, Family::V6))),
            (p @ ("tcp" | "udp" | "udplite" | "sctp" | "dccp"), f @ ("sport" | "dport")) => {
                let n = ports::parse_protocol(p).map_err(|e| e.to_string())?;
                let mut b = PacketBox::full();
                b.proto = n;
                Left::Dim(
                    if f == "sport" { Dim::Sport } else { Dim::Dport },
                    Box::new(b),
                )
            }
            ("th", f @ ("sport" | "dport")) => Left::Dim(
                if f == "sport" { Dim::Sport } else { Dim::Dport },
                Box::new(proto_only(&TH_PROTOS)),
            ),
            ("icmp", "type") => Left::Dim(Dim::Icmp { v6: false }, Box::new(proto_only(&[1]))),
            ("icmpv6", "type") => Left::Dim(Dim::Icmp { v6: true }, Box::new(proto_only(&[58]))),
            (p, f) => return Err(format!("`{p} {f}` is not modelled")),
        },
        Expr::Meta { key, .. } => match key.as_str() {
            "l4proto" => Left::Dim(Dim::Proto, Box::new(PacketBox::full())),
            "iifname" => Left::Dim(Dim::Iif, Box::new(PacketBox::full())),
            "oifname" => Left::Dim(Dim::Oif, Box::new(PacketBox::full())),
            // an interface index: a packet with no such interface (one the host sends has no
            // input interface, `iface::NONE`) reads as index 0 (nft_meta.c), which no device
            // has: `iif "eth0"` never matches it, `iif != "eth0"` always does, as with names
            "iif" => Left::Dim(Dim::Iif, Box::new(PacketBox::full())),
            "oif" => Left::Dim(Dim::Oif, Box::new(PacketBox::full())),
            "nfproto" => Left::Dim(Dim::NfProto, Box::new(PacketBox::full())),
            "mark" => Left::Mark,
            k => return Err(format!("`meta {k}` is not modelled")),
        },
        Expr::Ct { key, dir: None, .. } if key == "state" => {
            Left::Dim(Dim::State, Box::new(PacketBox::full()))
        }
        Expr::Ct { key, dir, .. } => {
            return Err(match dir {
                Some(d) => format!("`ct {d} {key}` is not modelled"),
                None => format!("`ct {key}` is not modelled"),
            })
        }
        Expr::Fib { flags, result, .. }
            if result == "type" && flags.len() == 1 && flags[0] == "daddr" =>
        {
            Left::FibType
        }
        Expr::Fib { flags, result, .. } => {
            return Err(format!(
                "`fib {} {result}` depends on the host's routes",
                flags.join(" . ")
            ))
        }
        _ => return Err("a match on this expression is not modelled".into()),
    })
}

pub(super) fn lefts(e: &Expr, ctx: &Ctx<'_>) -> Result<Vec<Left>, String> {
    match e {
        Expr::Concat(v) => {
            let out = v
                .iter()
                .map(|x| left_one(x, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            if out.iter().any(|l| !matches!(l, Left::Dim(..))) {
                return Err("a mark or fib lookup in a concatenation is not modelled".into());
            }
            Ok(out)
        }
        _ => Ok(vec![left_one(e, ctx)?]),
    }
}

/// The text of a literal (a value, `ADDR/LEN`); `None` for anything else.
pub(super) fn text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => Some(v.v.clone()),
        Expr::Prefix { addr, len } => Some(format!("{}/{}", addr.v, len.v)),
        _ => None,
    }
}

/// Well-known service names nft prints for ports (`/etc/services`), the ones a firewall
/// usually names.
fn service(name: &str) -> Option<u16> {
    Some(match name {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "http" => 80,
        "kerberos" => 88,
        "pop3" => 110,
        "sunrpc" => 111,
        "ntp" => 123,
        "netbios-ns" => 137,
        "netbios-dgm" => 138,
        "netbios-ssn" => 139,
        "imap" => 143,
        "snmp" => 161,
        "snmp-trap" => 162,
        "ldap" => 389,
        "https" => 443,
        "microsoft-ds" => 445,
        "syslog" => 514,
        "submission" => 587,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "nfs" => 2049,
        "mysql" => 3306,
        "ms-wbt-server" => 3389,
        _ => return None,
    })
}

pub(super) fn port(t: &str) -> Result<u16, String> {
    t.parse::<u16>()
        .ok()
        .or_else(|| service(t))
        .ok_or_else(|| format!("`{t}` is not a port number or a known service name"))
}

fn number_set<T>(e: &Expr, one: &dyn Fn(&str) -> Result<T, String>) -> Result<Vec<(T, T)>, String>
where
    T: Copy + PartialOrd,
{
    match e {
        Expr::Range(a, b) => match (text(a), text(b)) {
            (Some(a), Some(b)) => {
                let (a, b) = (one(&a)?, one(&b)?);
                Ok(if a <= b { vec![(a, b)] } else { Vec::new() })
            }
            _ => Err("a range of something other than values".into()),
        },
        Expr::Or(v) => {
            let mut out = Vec::new();
            for x in v {
                out.extend(number_set(x, one)?);
            }
            Ok(out)
        }
        _ => match text(e) {
            Some(t) => {
                let x = one(&t)?;
                Ok(vec![(x, x)])
            }
            None => Err("a value that is not a literal".into()),
        },
    }
}

/// The literal ranges of `e` (a single value `v` is `(v, v)`).
fn text_pairs(e: &Expr) -> Result<Vec<(String, String)>, String> {
    match e {
        Expr::Range(a, b) => match (text(a), text(b)) {
            (Some(a), Some(b)) => Ok(vec![(a, b)]),
            _ => Err("a range of something other than values".into()),
        },
        Expr::Or(v) => {
            let mut out = Vec::new();
            for x in v {
                out.extend(text_pairs(x)?);
            }
            Ok(out)
        }
        _ => match text(e) {
            Some(t) => Ok(vec![(t.clone(), t)]),
            None => Err("a value that is not a literal".into()),
        },
    }
}

fn states(e: &Expr) -> Result<StateSet, String> {
    match e {
        Expr::Or(v) => v
            .iter()
            .try_fold(StateSet::empty(), |a, x| Ok(a.union(&states(x)?))),
        Expr::Value(v) => v.v.split(',').try_fold(StateSet::empty(), |a, s| {
            ConnState::parse(s)
                .map(|c| a.union(&c.set()))
                .ok_or_else(|| {
                    format!(
                        "`{}` is a connection state Portolan does not model",
                        s.trim()
                    )
                })
        }),
        _ => Err("a connection state that is not a literal".into()),
    }
}

/// An interface name as nft writes it (`"eth*"` a wildcard) as an [`Interfaces`] pattern.
pub(super) fn iface_pattern(name: &str) -> String {
    match name.strip_suffix('*') {
        Some(stem) => format!("{stem}+"),
        None => name.to_string(),
    }
}

/// The box of packets whose `dim` holds the value `e` (the whole space aside from `dim`).
fn value_box(dim: Dim, e: &Expr, ctx: &mut Ctx<'_>) -> Result<PacketBox, String> {
    let mut b = PacketBox::full();
    match dim {
        Dim::Src | Dim::Dst => {
            let t = match e {
                Expr::Range(a, z) => match (text(a), text(z)) {
                    (Some(a), Some(z)) => format!("{a}-{z}"),
                    _ => return Err("an address range of something other than values".into()),
                },
                _ => text(e).ok_or("an address that is not a literal")?,
            };
            let set = match AddrSet::parse_in(&t, ctx.family) {
                Ok(s) => s,
                Err(err) => {
                    ctx.error(e.span(), err.to_string(), "not an address of this family");
                    return Err(format!("`{t}` could not be read"));
                }
            };
            if dim == Dim::Src {
                b.src = set;
            } else {
                b.dst = set;
            }
        }
        Dim::Proto => {
            let mut set = ProtoSet::empty();
            for (lo, hi) in number_set(e, &|t| {
                ports::parse_protocol(t)
                    .ok()
                    .filter(|s| !s.is_full())
                    .and_then(|s| s.min())
                    .ok_or_else(|| format!("`{t}` is not a protocol Portolan knows"))
            })? {
                set = set.union(&ProtoSet::range(lo, hi));
            }
            b.proto = set;
        }
        Dim::Sport | Dim::Dport => {
            let mut set = PortSet::empty();
            for (lo, hi) in number_set(e, &port)? {
                set = set.union(&PortSet::range(lo, hi));
            }
            if dim == Dim::Sport {
                b.sport = set;
            } else {
                b.dport = set;
            }
        }
        Dim::Icmp { v6 } => {
            let mut set = PortSet::empty();
            for (a, z) in text_pairs(e)? {
                let lo = ports::icmp_types(&a, v6).map_err(|e| e.to_string())?;
                let hi = ports::icmp_types(&z, v6).map_err(|e| e.to_string())?;
                // a type range covers every code of the types between
                match (lo.min(), hi.ranges().last()) {
                    (Some(l), Some(&(_, h))) if l <= h => set = set.union(&PortSet::range(l, h)),
                    _ => return Err("an empty ICMP type range".into()),
                }
            }
            b.dport = set;
        }
        Dim::State => {
            let s = states(e)?;
            b.state =
                match ctx.raw {
                    Some(true) => raw_state_view(&s),
                    Some(false) => s,
                    None => return Err(
                        "`ct state` in a chain reached both before and after connection tracking"
                            .into(),
                    ),
                };
        }
        Dim::Iif | Dim::Oif => {
            let t = text(e).ok_or("an interface name that is not a literal")?;
            let set = ctx.ifs.matching(&iface_pattern(&t));
            if dim == Dim::Iif {
                b.iif = set;
            } else {
                b.oif = set;
            }
        }
        Dim::NfProto => {
            let t = text(e).ok_or("a family that is not a literal")?;
            let want = match t.as_str() {
                "ipv4" => Family::V4,
                "ipv6" => Family::V6,
                _ => return Err(format!("`meta nfproto {t}` is not modelled")),
            };
            if want != ctx.family {
                b.proto = ProtoSet::empty();
            }
        }
    }
    Ok(b)
}

/// The keys a match compares with: an anonymous set's elements, a named set's, or one value.
pub(super) fn keys<'e>(right: &'e Expr, ctx: &mut Ctx<'e>) -> Result<Vec<&'e Element>, String> {
    match right {
        Expr::Set(els) => Ok(els.iter().collect()),
        Expr::SetRef(name) => {
            let table: &'e Table = ctx.table;
            match table.sets.iter().find(|s| s.name.v == name.v) {
                None => {
                    ctx.error(
                        name.span,
                        format!(
                            "`@{}` names no set of table `{} {}`",
                            name.v,
                            table.family.v.name(),
                            table.name.v
                        ),
                        "no such set",
                    );
                    Err(format!("the set `@{}` is not in the table", name.v))
                }
                Some(s) if s.dynamic => Err(format!(
                    "the set `@{}` is updated at run time: its elements in the export are a snapshot",
                    name.v
                )),
                Some(s) => Ok(s.elements.iter().collect()),
            }
        }
        _ => Err(String::new()),
    }
}

/// The boxes (a union) of the keys `right` holds for the fields `ls`; `Err` with the reason when
/// it cannot be decided.
pub(super) fn key_boxes(
    ls: &[Left],
    key: &Expr,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<PacketBox>, String> {
    let comps: Vec<&Expr> = if ls.len() == 1 {
        vec![key]
    } else {
        match key {
            Expr::Concat(v) if v.len() == ls.len() => v.iter().collect(),
            _ => return Err("a set element that does not fit the concatenation".into()),
        }
    };
    let mut out = PacketBox::full();
    for (l, c) in ls.iter().zip(comps) {
        let Left::Dim(d, _) = l else {
            return Err("not a packet field".into());
        };
        // `ct state established|related` as one value: each flag is an alternative
        let b = value_box(*d, c, ctx)?;
        match out.intersect(&b) {
            Some(x) => out = x,
            None => return Ok(Vec::new()),
        }
    }
    Ok(vec![out])
}

fn all_key_boxes(ls: &[Left], right: &Expr, ctx: &mut Ctx<'_>) -> Result<Vec<PacketBox>, String> {
    let els: Vec<Element> = match right {
        Expr::Set(_) | Expr::SetRef(_) => {
            // the borrow of ctx for the table's sets ends here: clone the keys
            let table = ctx.table;
            let mut tmp = Ctx {
                family: ctx.family,
                table,
                chains: ctx.chains,
                nat: ctx.nat,
                raw: ctx.raw,
                on_input: ctx.on_input,
                ifs: ctx.ifs,
                issues: &mut *ctx.issues,
            };
            keys(right, &mut tmp)?.into_iter().cloned().collect()
        }
        _ => vec![Element {
            key: right.clone(),
            data: None,
            span: right.span(),
        }],
    };
    let mut out = Vec::new();
    for e in &els {
        out.extend(key_boxes(ls, &e.key, ctx)?);
    }
    Ok(out)
}

pub(super) fn base_of(ls: &[Left]) -> PacketBox {
    let mut b = PacketBox::full();
    for l in ls {
        if let Left::Dim(_, x) = l {
            b = b.intersect(x).unwrap_or_else(|| {
                let mut e = PacketBox::full();
                e.proto = ProtoSet::empty();
                e
            });
        }
    }
    b
}

/// Narrow `alts` to the packets in `boxes` (`negate`: outside them), within `base`.
pub(super) fn narrow(
    alts: Vec<Alt>,
    base: &PacketBox,
    boxes: &[PacketBox],
    negate: bool,
) -> Vec<Alt> {
    let mut out = Vec::new();
    for a in alts {
        let Some(inb) = a.b.intersect(base) else {
            continue;
        };
        if negate {
            let mut pieces = vec![inb];
            for m in boxes {
                pieces = pieces.iter().flat_map(|p| p.subtract(m)).collect();
            }
            out.extend(pieces.into_iter().map(|b| Alt { b, ..a.clone() }));
        } else {
            for m in boxes {
                if let Some(b) = inb.intersect(m) {
                    out.push(Alt { b, ..a.clone() });
                }
            }
        }
    }
    out
}

pub(super) fn add_why(alts: &mut [Alt], why: &str) {
    for a in alts {
        if !a.why.iter().any(|w| w == why) {
            a.why.push(why.to_string());
        }
    }
}

/// `tcp dport < 1024` and the like, as a set of values.
fn ordered(op: Op, right: &Expr) -> Option<Expr> {
    let t = text(right)?;
    let n: u32 = t.parse().ok()?;
    let (lo, hi) = match op {
        Op::Lt => (0, n.checked_sub(1)?),
        Op::Le => (0, n),
        Op::Gt => (n + 1, 65535),
        Op::Ge => (n, 65535),
        _ => return None,
    };
    if lo > hi || lo > 65535 {
        return None;
    }
    let v = |x: u32| {
        Box::new(Expr::Value(crate::formats::nftables::ast::Sp::new(
            x.to_string(),
            right.span(),
        )))
    };
    Some(Expr::Range(v(lo), v(hi.min(65535))))
}

pub(super) fn lower_match(
    alts: Vec<Alt>,
    left: &Expr,
    op: Op,
    right: &Expr,
    ctx: &mut Ctx<'_>,
) -> Vec<Alt> {
    let mut alts = alts;
    let ls = match lefts(left, ctx) {
        Ok(l) => l,
        Err(why) => {
            add_why(&mut alts, &why);
            return alts;
        }
    };
    match ls.first() {
        Some(Left::Mark) => return mark_match(alts, op, right),
        Some(Left::FibType) => return fib_type(alts, op, right, ctx),
        _ => {}
    }
    let base = base_of(&ls);
    if base.is_empty() {
        // a field of the other family (`ip saddr` for an IPv6 packet): never matches
        return Vec::new();
    }
    let (right, negate) = match op {
        Op::Eq => (right.clone(), false),
        Op::Ne => (right.clone(), true),
        _ => match ordered(op, right) {
            Some(r) if ls.len() == 1 => (r, false),
            _ => {
                add_why(&mut alts, "an ordered comparison that is not modelled");
                return alts;
            }
        },
    };
    match all_key_boxes(&ls, &right, ctx) {
        Ok(boxes) => narrow(alts, &base, &boxes, negate),
        Err(why) => {
            // still only packets the field exists for
            let mut alts = narrow(alts, &base, &[PacketBox::full()], false);
            add_why(&mut alts, &why);
            alts
        }
    }
}

pub(super) fn mark_value(e: &Expr) -> Option<u32> {
    let t = text(e)?;
    match t.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

/// `meta mark VALUE` / `!= VALUE`: decided where earlier rules on the path set the mark
/// (`model::mark`), else undecidable with the reason.
fn mark_match(mut alts: Vec<Alt>, op: Op, right: &Expr) -> Vec<Alt> {
    let value = match (op, mark_value(right)) {
        (Op::Eq | Op::Ne, Some(v)) => v,
        _ => {
            add_why(&mut alts, "this `meta mark` comparison is not modelled");
            return alts;
        }
    };
    let reason = format!(
        "meta mark {}{value:#x}: no earlier rule on the packet's path sets the packet mark (tc, policy routing or a socket may set it at run time)",
        if op == Op::Ne { "!= " } else { "" }
    );
    let m = MarkMatch {
        value,
        mask: u32::MAX,
        negated: op == Op::Ne,
        reason: reason.clone(),
    };
    for a in alts.iter_mut() {
        if a.mark.is_none() {
            a.mark = Some(m.clone());
        }
    }
    add_why(&mut alts, &reason);
    alts
}

/// `fib daddr type [!=] TYPES`: like iptables' `-m addrtype --dst-type` (the kernel types the
/// same way), decided for `local` where every base chain reaching the rule is at the input hook.
fn fib_type(mut alts: Vec<Alt>, op: Op, right: &Expr, ctx: &mut Ctx<'_>) -> Vec<Alt> {
    let vals: Option<Vec<String>> = match right {
        Expr::Set(els) => els.iter().map(|e| text(&e.key)).collect(),
        _ => text(right).map(|t| vec![t]),
    };
    let (Some(vals), Op::Eq | Op::Ne) = (vals, op) else {
        add_why(&mut alts, ADDRTYPE_UNDECIDED);
        return alts;
    };
    let (yes, no, unk) = addrtype_split(&vals.join(","), ctx.family, ctx.on_input);
    let hit = if op == Op::Ne { no } else { yes };
    let mut out = Vec::new();
    for a in &alts {
        let mut x = a.clone();
        x.b.dst = x.b.dst.intersect(&hit);
        if !x.b.is_empty() {
            out.push(x);
        }
        let mut u = a.clone();
        u.b.dst = u.b.dst.intersect(&unk);
        if !u.b.is_empty() {
            u.why
                .push("fib daddr type: address types depend on the host's addresses".into());
            out.push(u);
        }
    }
    out
}
