//! Lowering security groups (allow-union, stateful) and network ACLs (first match, stateless)
//! into the model.

use std::collections::HashSet;

use super::ast::{Field, NaclEntry, NetworkAcl, Peer, SecurityGroup, Target, Val};
use crate::formats::json::fields::parse_error;
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Resolver};
use crate::model::ports::{PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
use crate::model::rule::content_hash;
use crate::model::{
    Action, AddrSet, Chain, Entry, Family, Hook, PacketBox, Policy, Provenance, Rule, Ruleset,
    Semantics, Span, Verdict,
};
use crate::model::{NativeRef, Platform};

/// An AWS protocol: `-1`/`all` is every protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    All,
    One(u8),
}

fn aws_protocol(t: &str) -> Option<Proto> {
    let l = t.trim().to_ascii_lowercase();
    Some(match l.as_str() {
        "-1" | "all" => Proto::All,
        "tcp" => Proto::One(TCP),
        "udp" => Proto::One(UDP),
        "icmp" => Proto::One(ICMP),
        "icmpv6" => Proto::One(ICMPV6),
        n if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => Proto::One(n.parse().ok()?),
        _ => return None,
    })
}

/// A CIDR block of one family, strictly `address/prefix` as AWS requires. An IPv6 block is
/// taken without the IPv4-mapped addresses (`::/0` is every IPv6 address, and no IPv4 one).
fn parse_cidr(t: &str, family: Family) -> Result<AddrSet, String> {
    let t = t.trim();
    let fam = match family {
        Family::V4 => "an IPv4",
        Family::V6 => "an IPv6",
    };
    let bad = || format!("`{t}` is not {fam} CIDR block (address/prefix length)");
    let Some((addr, len)) = t.split_once('/') else {
        return Err(bad());
    };
    let addr_ok = match family {
        Family::V4 => addr.parse::<std::net::Ipv4Addr>().is_ok(),
        Family::V6 => addr.parse::<std::net::Ipv6Addr>().is_ok(),
    };
    if !addr_ok || len.is_empty() || !len.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let set = AddrSet::parse(t).map_err(|e| format!("{}: {e}", bad()))?;
    Ok(match family {
        Family::V4 => set,
        Family::V6 => set.intersect(&AddrSet::any_v6()),
    })
}

/// Where one of a pair of port-like fields comes from, for messages.
struct PortFields<'f> {
    from: Option<&'f Field<i64>>,
    to: Option<&'f Field<i64>>,
    from_key: &'static str,
    to_key: &'static str,
}

/// The protocol and destination-port part of a rule's box.
#[derive(Clone)]
struct Service {
    proto: ProtoSet,
    dport: PortSet,
    why: Vec<String>,
    /// `tcp 9669`, `all traffic`, `icmp 8/0`.
    text: String,
}

enum PortVal {
    All,
    Num(u16),
    Bad,
}

struct Lower<'a> {
    src: &'a SourceText,
    names: &'a Resolver,
    /// The problems found, each with the unresolved name it reports, if any (lower case): one
    /// issue per name per file, the first, which [`Lower::finish`] keeps.
    issues: Vec<(Option<String>, ParseIssue)>,
    /// Unresolved names already reported here (lower case).
    reported: HashSet<String>,
}

impl<'a> Lower<'a> {
    fn new(src: &'a SourceText, names: &'a Resolver) -> Self {
        Lower {
            src,
            names,
            issues: Vec::new(),
            reported: HashSet::new(),
        }
    }

    /// The problems of lowerings done apart, in their order, into `issues`: an unresolved name
    /// reported by an earlier one is not reported again.
    fn finish(parts: impl IntoIterator<Item = Self>, issues: &mut Vec<ParseIssue>) {
        let mut reported = HashSet::new();
        for part in parts {
            for (name, issue) in part.issues {
                if name.is_none_or(|n| reported.insert(n)) {
                    issues.push(issue);
                }
            }
        }
    }

    fn prov(&self, span: Span, label: String) -> Provenance {
        let (line, column) = self.src.line_col(span.start);
        Provenance {
            span,
            line,
            column,
            label: label.into(),
        }
    }

    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push((None, parse_error(span, message, label)));
    }

    fn port_value(
        &mut self,
        f: Option<&Field<i64>>,
        key: &str,
        what: &str,
        max: i64,
        why: &mut Vec<String>,
    ) -> PortVal {
        let Some(f) = f else { return PortVal::All };
        match &f.value {
            Val::Unknown(r) => {
                why.push(r.clone());
                PortVal::Bad
            }
            Val::Known(-1) => PortVal::All,
            Val::Known(n) if (0..=max).contains(n) => PortVal::Num(*n as u16),
            Val::Known(n) => {
                self.error(
                    f.span,
                    format!("{key} {n} is not {what} (0-{max}, or -1 for all)"),
                    "out of range",
                );
                why.push(format!("{key} {n} is out of range"));
                PortVal::Bad
            }
        }
    }

    fn service(
        &mut self,
        protocol: &Field<String>,
        ports: PortFields<'_>,
        icmp: PortFields<'_>,
    ) -> Service {
        let mut why = Vec::new();
        let t = match &protocol.value {
            Val::Unknown(r) => {
                why.push(r.clone());
                return Service {
                    proto: ProtoSet::full(),
                    dport: PortSet::full(),
                    why,
                    text: "unknown protocol".into(),
                };
            }
            Val::Known(t) => t,
        };
        let Some(proto) = aws_protocol(t) else {
            self.error(
                protocol.span,
                format!(
                    "`{t}` is not an AWS protocol (tcp, udp, icmp, icmpv6, -1, or a number 0-255)"
                ),
                "unknown protocol",
            );
            why.push(format!("protocol `{t}` could not be read"));
            return Service {
                proto: ProtoSet::full(),
                dport: PortSet::full(),
                why,
                text: format!("protocol {t}"),
            };
        };
        let n = match proto {
            Proto::All => {
                return Service {
                    proto: ProtoSet::full(),
                    dport: PortSet::full(),
                    why,
                    text: "all traffic".into(),
                }
            }
            Proto::One(n) => n,
        };
        let name = match n {
            TCP => "tcp",
            UDP => "udp",
            ICMP => "icmp",
            ICMPV6 => "icmpv6",
            _ => "",
        };
        let (dport, text) = match n {
            TCP | UDP => {
                let a = self.port_value(ports.from, ports.from_key, "a port", 65535, &mut why);
                let b = self.port_value(ports.to, ports.to_key, "a port", 65535, &mut why);
                match (a, b) {
                    (PortVal::All, PortVal::All) => (PortSet::full(), format!("{name} all ports")),
                    (PortVal::Num(a), PortVal::Num(b)) if a <= b => (
                        PortSet::range(a, b),
                        if a == b {
                            format!("{name} {a}")
                        } else {
                            format!("{name} {a}-{b}")
                        },
                    ),
                    (PortVal::Num(a), PortVal::Num(b)) => {
                        let span = match (ports.from, ports.to) {
                            (Some(x), Some(y)) => x.span.join(y.span),
                            _ => protocol.span,
                        };
                        self.error(
                            span,
                            format!(
                                "{} {a} is greater than {} {b}: the range runs backwards",
                                ports.from_key, ports.to_key
                            ),
                            "backwards port range",
                        );
                        why.push(format!(
                            "port range {a}-{b} ({} > {}) could not be read",
                            ports.from_key, ports.to_key
                        ));
                        (PortSet::full(), format!("{name} {a}-{b}"))
                    }
                    (PortVal::Bad, _) | (_, PortVal::Bad) => {
                        (PortSet::full(), format!("{name} unreadable ports"))
                    }
                    (PortVal::Num(p), PortVal::All) | (PortVal::All, PortVal::Num(p)) => {
                        let (missing, given) = if ports.from.is_some_and(|f| f.get() == Some(&-1))
                            || ports.from.is_none()
                        {
                            (ports.from_key, ports.to)
                        } else {
                            (ports.to_key, ports.from)
                        };
                        let span = given.map(|g| g.span).unwrap_or(protocol.span);
                        self.error(
                            span,
                            format!(
                                "only one end of the port range is given ({missing} is absent or -1)"
                            ),
                            "half a port range",
                        );
                        why.push(format!("the port range has one end only ({p})"));
                        (PortSet::full(), format!("{name} port {p}?"))
                    }
                }
            }
            ICMP | ICMPV6 => {
                let ty = self.port_value(icmp.from, icmp.from_key, "an ICMP type", 255, &mut why);
                let code = self.port_value(icmp.to, icmp.to_key, "an ICMP code", 255, &mut why);
                match (ty, code) {
                    (PortVal::Bad, _) | (_, PortVal::Bad) => {
                        (PortSet::full(), format!("{name} unreadable type"))
                    }
                    (PortVal::All, _) => (PortSet::full(), format!("{name} all")),
                    (PortVal::Num(t), PortVal::All) => {
                        let base = t << 8;
                        (
                            PortSet::range(base, base | 0xff),
                            format!("{name} type {t}"),
                        )
                    }
                    (PortVal::Num(t), PortVal::Num(c)) => {
                        (PortSet::single((t << 8) | c), format!("{name} {t}/{c}"))
                    }
                }
            }
            // other protocols have no ports: AWS ignores any given
            n => (PortSet::full(), format!("protocol {n}")),
        };
        Service {
            proto: ProtoSet::single(n),
            dport,
            why,
            text,
        }
    }

    /// An unresolved name: the reason for the rule, and one issue per name per file.
    fn unresolved(&mut self, what: &str, name: &str, note: &str, span: Span) -> String {
        let key = name.to_ascii_lowercase();
        if !self.reported.contains(&key) {
            self.reported.insert(key.clone());
            self.issues.push((Some(key), ParseIssue {
                kind: IssueKind::Undecidable,
                span,
                message: format!(
                    "{what} `{name}`{note} has no known addresses: the rules that use it are undecidable"
                ),
                label: format!("unresolved {what}"),
                help: Some(format!(
                    "give its addresses in the inventory (`[addresses]` \"{name}\" = [\"10.0.0.0/24\"]) or with `--address {name}=10.0.0.0/24`"
                )),
            }));
        }
        format!(
            "{what} `{name}`{note} is not resolved: give its addresses in `[addresses]` of the inventory or with `--address {name}=10.0.0.0/24`"
        )
    }

    /// The address set of a peer and how it reads in a label; a set it cannot know is every
    /// address, with the reason in `why`.
    fn peer_set(
        &mut self,
        peer: &Peer,
        owner: Option<&str>,
        why: &mut Vec<String>,
    ) -> (AddrSet, String) {
        match &peer.target {
            Target::Cidr4(t) | Target::Cidr6(t) => {
                let family = match peer.target {
                    Target::Cidr4(_) => Family::V4,
                    _ => Family::V6,
                };
                match parse_cidr(t, family) {
                    Ok(set) => (set, t.clone()),
                    Err(m) => {
                        self.error(peer.value_span, m, "not a CIDR block");
                        why.push(format!("address `{t}` could not be read"));
                        (AddrSet::any(), t.clone())
                    }
                }
            }
            Target::PrefixList(id) => match self.names.get(id) {
                Some(s) => (s.clone(), id.clone()),
                None => {
                    let r = self.unresolved("prefix list", id, "", peer.value_span);
                    why.push(r);
                    (AddrSet::any(), id.clone())
                }
            },
            Target::Group(g) => {
                let found =
                    g.id.as_deref()
                        .and_then(|i| self.names.get(i))
                        .or_else(|| g.name.as_deref().and_then(|n| self.names.get(n)));
                let key = g.key().unwrap_or("?").to_string();
                match found {
                    Some(s) => (s.clone(), key),
                    None => {
                        let mut note = String::new();
                        if let Some(u) = g
                            .user_id
                            .as_deref()
                            .filter(|u| owner.is_some_and(|o| o != *u))
                        {
                            note.push_str(&format!(" (account {u})"));
                        }
                        if let Some(p) = &g.vpc_peering {
                            note.push_str(&format!(" (through VPC peering {p})"));
                        }
                        let r = self.unresolved("security group", &key, &note, peer.value_span);
                        why.push(r);
                        (AddrSet::any(), key)
                    }
                }
            }
            Target::Param { name, default } => match self.names.get(name) {
                Some(s) => (s.clone(), name.clone()),
                None => {
                    let note = match default {
                        Some(d) => format!(" (default `{d}`; the deployed value may differ)"),
                        None => String::new(),
                    };
                    let r = self.unresolved("template parameter", name, &note, peer.value_span);
                    why.push(r);
                    (AddrSet::any(), name.clone())
                }
            },
            Target::Unknown { shown, reason } => {
                why.push(reason.clone());
                (AddrSet::any(), shown.clone())
            }
        }
    }
}

fn one_policy_ruleset(
    platform: Platform,
    key: &str,
    semantics: Semantics,
    stateless: bool,
    chains: Vec<Chain>,
    rules: Vec<Rule>,
) -> Ruleset {
    let hooks = [Hook::Input, Hook::Output];
    let entries: Vec<Entry> = chains
        .iter()
        .zip(hooks)
        .enumerate()
        .map(|(i, (c, hook))| Entry {
            name: format!("{key}/{}", c.name),
            hook,
            chain: i,
        })
        .collect();
    Ruleset::of_policy(
        platform,
        Some(key.to_string()),
        Policy {
            name: key.to_string(),
            family: None,
            semantics,
            chains,
            rules,
            entries,
            union_cache: Default::default(),
        },
        stateless,
    )
}

/// Lower security groups: one allow-union [`Ruleset`] each, named by the group id (else name).
/// Group and prefix-list references resolve through `names`; one undecidable issue is added per
/// unresolved name in this call, and problems with values as parse errors.
pub fn lower_groups(
    groups: &[SecurityGroup],
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    // a chunk of groups at a time on every core (a 50 MB export holds 4,607 groups), their
    // problems joined in the groups' order
    let (rulesets, lowered) =
        crate::formats::lower_in_chunks(groups, 64, || Lower::new(src, names), lower_group);
    Lower::finish(lowered, issues);
    rulesets
}

fn lower_group(g: &SecurityGroup, lw: &mut Lower<'_>) -> Ruleset {
    let key = g.key();
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for (dir, chain_name, perms) in [
        ("ingress", "Ingress", &g.ingress),
        ("egress", "Egress", &g.egress),
    ] {
        let mut ids = Vec::new();
        for (i, p) in perms.iter().enumerate() {
            let fields = || PortFields {
                from: p.from_port.as_ref(),
                to: p.to_port.as_ref(),
                from_key: "FromPort",
                to_key: "ToPort",
            };
            let svc = lw.service(&p.protocol, fields(), fields());
            let pos = p.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            for peer in &p.peers {
                let mut why = svc.why.clone();
                why.extend(p.unknown.iter().cloned());
                let (set, shown) = lw.peer_set(peer, g.owner_id.as_deref(), &mut why);
                let mut b = PacketBox::full();
                b.proto = svc.proto.clone();
                b.dport = svc.dport.clone();
                let word = if dir == "ingress" {
                    b.src = set;
                    "from"
                } else {
                    b.dst = set;
                    "to"
                };
                let label = format!("{key}/{dir} {pos} {} {word} {shown}", svc.text);
                why.dedup();
                ids.push(rules.len());
                rules.push(Rule {
                    matches: b,
                    undecidable: why,
                    mark: None,
                    action: Action::Accept,
                    prov: lw.prov(peer.span, label),
                    comment: peer.description.clone().or_else(|| p.description.clone()),
                    native: NativeRef::SecurityGroup {
                        group_id: key.clone(),
                        egress: dir == "egress",
                        content: content_hash([dir, svc.text.as_str(), shown.as_str()]),
                    },
                    builtin: false,
                });
            }
        }
        chains.push(Chain {
            name: chain_name.to_string(),
            policy: Some(Verdict::Deny),
            decl: lw.prov(g.span, format!("{key} implicit deny")),
            rules: ids,
        });
    }
    one_policy_ruleset(
        Platform::AwsSecurityGroup,
        &key,
        Semantics::AllowUnion,
        false,
        chains,
        rules,
    )
}

/// Lower network ACLs: one stateless first-match [`Ruleset`] each, named by the ACL id.
pub fn lower_nacls(
    acls: &[NetworkAcl],
    src: &SourceText,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let names = Resolver::default();
    let mut lw = Lower::new(src, &names);
    let rulesets = acls.iter().map(|a| lower_acl(a, &mut lw)).collect();
    Lower::finish([lw], issues);
    rulesets
}

fn lower_acl(acl: &NetworkAcl, lw: &mut Lower<'_>) -> Ruleset {
    let key = acl.key();
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for (egress, chain_name) in [(false, "Inbound"), (true, "Outbound")] {
        // the entries of this direction (an unknown direction goes to both), by rule number; an
        // unknown number sorts first, where its doubt covers every position it could have
        let mut mine: Vec<&NaclEntry> = acl
            .entries
            .iter()
            .filter(|e| match e.egress.value {
                Val::Known(b) => b == egress,
                Val::Unknown(_) => true,
            })
            .collect();
        mine.sort_by_key(|e| e.rule_number.get().copied().unwrap_or(i64::MIN));
        let mut seen: HashSet<i64> = HashSet::new();
        let mut ids = Vec::new();
        for e in mine {
            let mut why = e.unknown.clone();
            if let Val::Unknown(r) = &e.egress.value {
                why.push(format!("{r}, so its direction is unknown"));
            }
            let number = match &e.rule_number.value {
                Val::Known(n) => {
                    if !(1..=32768).contains(n) {
                        lw.error(
                            e.rule_number.span,
                            format!("rule number {n} is out of range (1-32766, or 32767/32768 for the defaults)"),
                            "out of range",
                        );
                        why.push(format!("rule number {n} is out of range"));
                    } else if !seen.insert(*n) {
                        lw.error(
                            e.rule_number.span,
                            format!(
                                "rule number {n} appears twice in the {} entries of {key}",
                                chain_name.to_ascii_lowercase()
                            ),
                            "duplicate rule number",
                        );
                        why.push(format!("rule number {n} appears twice"));
                    }
                    n.to_string()
                }
                Val::Unknown(r) => {
                    why.push(format!("{r}, so its place in the order is unknown"));
                    "?".to_string()
                }
            };
            let native_number = e
                .rule_number
                .get()
                .and_then(|n| u32::try_from(*n).ok())
                .unwrap_or(0);
            let svc = lw.service(
                &e.protocol,
                PortFields {
                    from: e.from_port.as_ref(),
                    to: e.to_port.as_ref(),
                    from_key: "PortRange.From",
                    to_key: "PortRange.To",
                },
                PortFields {
                    from: e.icmp_type.as_ref(),
                    to: e.icmp_code.as_ref(),
                    from_key: "IcmpTypeCode.Type",
                    to_key: "IcmpTypeCode.Code",
                },
            );
            why.extend(svc.why.iter().cloned());
            let (action, verb) = match &e.action.value {
                Val::Known(a) if a.eq_ignore_ascii_case("allow") => (Action::Accept, "allow"),
                Val::Known(a) if a.eq_ignore_ascii_case("deny") => (Action::Drop, "deny"),
                Val::Known(a) => {
                    lw.error(
                        e.action.span,
                        format!("`{a}` is not a rule action (allow or deny)"),
                        "not allow or deny",
                    );
                    why.push(format!("rule action `{a}` could not be read"));
                    (Action::Opaque, "?")
                }
                Val::Unknown(r) => {
                    why.push(r.clone());
                    (Action::Opaque, "?")
                }
            };
            let (set, shown) = lw.peer_set(&e.peer, None, &mut why);
            let mut b = PacketBox::full();
            b.proto = svc.proto.clone();
            b.dport = svc.dport.clone();
            let word = if egress {
                b.dst = set;
                "to"
            } else {
                b.src = set;
                "from"
            };
            why.dedup();
            let label = format!(
                "{key}/{chain_name} rule {number} {verb} {} {word} {shown}",
                svc.text
            );
            ids.push(rules.len());
            rules.push(Rule {
                matches: b,
                undecidable: why,
                mark: None,
                action,
                prov: lw.prov(e.span, label),
                comment: None,
                native: NativeRef::NetworkAcl {
                    acl_id: key.clone(),
                    number: native_number,
                    egress,
                },
                // the `*` entries every network ACL ends with (IPv4 32767, IPv6 32768)
                builtin: native_number >= 32767,
            });
        }
        chains.push(Chain {
            name: chain_name.to_string(),
            policy: Some(Verdict::Deny),
            decl: lw.prov(acl.span, format!("{key} implicit deny")),
            rules: ids,
        });
    }
    one_policy_ruleset(
        Platform::AwsNetworkAcl,
        &key,
        Semantics::FirstMatch,
        true,
        chains,
        rules,
    )
}
