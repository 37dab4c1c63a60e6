//! Z201 `management-port-exposed`: A Zerto port of the guarded host is reachable from any address.
//! The full text is in `z201_management_port_exposed.md`, next to this file.
//!
//! Decided on the region evaluation (`engine::exposure`): the sources the input pipeline admits
//! to each catalogue port of the guarded role, over all rules and chains, must not cover a whole
//! address family (IPv4 or IPv6, the host's own loopback aside).

use std::collections::BTreeMap;

use super::{Check, Severity};
use crate::engine::exposure::{world_exposed, Exposed};
use crate::engine::findings::label_at;
use crate::engine::jobs::{ports_of, protocol_set};
use crate::engine::{AuditOptions, Finding, FlowRecord};
use crate::model::ports::{port_string, protocol_name, PortSet, ProtoSet};
use crate::model::{Action, At, Decider, Family, Hook, Platform, Ruleset};

pub const CHECK: Check = Check {
    code: "Z201",
    name: "management-port-exposed",
    severity: Severity::Warning,
    summary: "A Zerto port of the guarded host is reachable from any address.",
    doc: include_str!("z201_management_port_exposed.md"),
};

/// What to change, in the platform's own terms.
pub fn help(platform: Platform) -> String {
    match platform {
        Platform::Nftables => {
            "restrict the source of the rules labelled here to the Zerto peers that need these ports (`ip saddr PEERS`, `ip6 saddr PEERS`), or drop the rest in an earlier base chain or rule".into()
        }
        Platform::Iptables => {
            "restrict the source of the rules labelled here to the Zerto peers that need these ports (`-s PEERS`), or drop the rest before them".into()
        }
        Platform::AzureNsg => {
            "set the rule's sourceAddressPrefix(es) to the peers' ranges (or an ASG) instead of `*`/`Internet`".into()
        }
        Platform::AwsSecurityGroup => {
            "replace 0.0.0.0/0 (or ::/0) in this permission with the peers' CIDRs or their security group".into()
        }
        Platform::AwsNetworkAcl => {
            "narrow the entry's CidrBlock to the peers' ranges".into()
        }
        Platform::WindowsFirewall => {
            "set the rule's remote address to the peers (`Set-NetFirewallRule -RemoteAddress PEERS`)".into()
        }
    }
}

/// Z201s of the Windows profiles of one export, merged: the same rules opening the same ports
/// in several profiles is one finding naming them all ("in the Domain, Private and Public
/// profiles"), not one per profile. `found` is each audited firewall's profile (`None` for a
/// platform without profiles) with its findings; findings of other codes pass unchanged.
pub fn merge_profiles(found: Vec<(Option<String>, Vec<Finding>)>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    // (file, labels, message with the profile cut out) -> (index in out, profiles)
    type Key = (Option<usize>, Vec<crate::model::Span>, String);
    let mut merged: Vec<(Key, usize, Vec<String>)> = Vec::new();
    for (profile, fs) in found {
        for f in fs {
            let marker = profile.as_deref().map(|p| format!(" in the {p} profile"));
            let Some(marker) = marker.filter(|m| f.code == CHECK.code && f.message.contains(m))
            else {
                out.push(f);
                continue;
            };
            let key = (
                f.file,
                f.labels.iter().map(|l| l.span).collect(),
                f.message.replacen(&marker, "\u{0}", 1),
            );
            let p = profile.clone().unwrap_or_default();
            match merged.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, ps)) => ps.push(p),
                None => {
                    merged.push((key, out.len(), vec![p]));
                    out.push(f);
                }
            }
        }
    }
    for ((_, _, base), i, ps) in merged {
        if ps.len() < 2 {
            continue;
        }
        let (last, rest) = ps.split_last().unwrap_or((&ps[0], &[]));
        let names = format!(" in the {} and {last} profiles", rest.join(", "));
        out[i].message = base.replacen('\u{0}', &names, 1);
    }
    out
}

/// Z201 for one host firewall guarding `role`: one finding per set of rules that together open
/// catalogue ports to a whole family. `inbound` are the firewall's inbound flow records: a
/// record whose region was the world region already holds its [`Exposed`] pieces.
pub fn check(
    file: usize,
    rs: &Ruleset,
    role: &str,
    opts: &AuditOptions<'_>,
    ends: &crate::engine::reach::Ends,
    inbound: &[&FlowRecord],
) -> Vec<Finding> {
    // (deciders) -> (requirements, ports per (protocol, family), jumps on the path)
    type Open = (
        Vec<String>,
        BTreeMap<(u8, u8), PortSet>,
        Vec<(usize, usize)>,
        bool,
    );
    let mut by_deciders: Vec<(Vec<At>, Open)> = Vec::new();
    // the world region of each (protocol, ports), evaluated once: several requirements share
    // a port (9669 for admin clients and the ZCM)
    let mut evaluated: std::collections::HashMap<(ProtoSet, PortSet), Vec<Exposed>> =
        Default::default();
    for rec in inbound {
        let Some(req) = opts
            .catalog
            .requirements
            .iter()
            .find(|r| r.id == rec.requirement)
        else {
            continue;
        };
        let Ok(ports) = ports_of(req, Hook::Input, opts) else {
            continue;
        };
        let exposed: &[Exposed] = match &rec.world_open {
            Some(e) => e,
            None => {
                let proto = protocol_set(req.protocol);
                evaluated
                    .entry((proto.clone(), ports.clone()))
                    .or_insert_with(|| world_exposed(rs, ends, &proto, &ports).unwrap_or_default())
            }
        };
        for e in exposed {
            let i = match by_deciders.iter().position(|(d, _)| *d == e.deciders) {
                Some(i) => i,
                None => {
                    by_deciders.push((
                        e.deciders.clone(),
                        (Vec::new(), BTreeMap::new(), Vec::new(), true),
                    ));
                    by_deciders.len() - 1
                }
            };
            let (reqs, by_proto, via, every) = &mut by_deciders[i].1;
            *every &= e.every;
            if !reqs.contains(&rec.requirement) {
                reqs.push(rec.requirement.clone());
            }
            let fam = match e.family {
                Family::V4 => 4,
                Family::V6 => 6,
            };
            let slot = by_proto.entry((e.proto, fam)).or_default();
            *slot = slot.union(&e.ports);
            for v in &e.via {
                if !via.contains(v) {
                    via.push(*v);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (deciders, (reqs, by_proto, via, every)) in by_deciders {
        let mut fams: Vec<&str> = Vec::new();
        let ports: Vec<String> = by_proto
            .iter()
            .map(|((p, fam), set)| {
                let f = if *fam == 4 { "IPv4" } else { "IPv6" };
                if !fams.contains(&f) {
                    fams.push(f);
                }
                format!("{}/{}", protocol_name(*p), port_string(set))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: Vec<String> = deciders
            .iter()
            .filter_map(|at| rs.provenance(*at).map(|p| p.label.to_string()))
            .collect();
        let who = match names.as_slice() {
            [one] => format!("{one} opens"),
            [] => "the rules open".to_string(),
            many => format!("together, {} open", many.join(", ")),
        };
        let mut f = Finding::new(
            &CHECK,
            format!(
                "{who} Zerto port(s) {} of this {role}{} to {} {} address",
                ports.join(" "),
                // a Windows export holds one ruleset per profile: say which one this is
                rs.profile
                    .as_deref()
                    .map(|p| format!(" in the {p} profile"))
                    .unwrap_or_default(),
                if every { "every public" } else { "most public" },
                fams.join(" and ")
            ),
        );
        f.file = Some(file);
        f.requirement = reqs.first().cloned();
        let text = if deciders.len() == 1 {
            "admits every source address".to_string()
        } else {
            "admits part of the sources (the labelled rules together admit all)".to_string()
        };
        f.labels = deciders
            .iter()
            .filter_map(|at| label_at(rs, *at, text.clone()))
            .collect();
        // the jumps that lead there
        for &(pi, r) in &via {
            let Some(rule) = rs.policies.get(pi).and_then(|p| p.rules.get(r)) else {
                continue;
            };
            let text = match rule.action {
                Action::Jump(c) | Action::Goto(c) => format!(
                    "leads there: {} {}",
                    if matches!(rule.action, Action::Jump(_)) {
                        "jumps to"
                    } else {
                        "goes to"
                    },
                    rs.policies[pi]
                        .chains
                        .get(c)
                        .map(|c| c.name.as_str())
                        .unwrap_or("?")
                ),
                _ => continue,
            };
            let at = At {
                policy: pi,
                decider: Decider::Rule(r),
            };
            if let Some(l) = label_at(rs, at, text) {
                if !f.labels.iter().any(|x| x.span == l.span) {
                    f.labels.push(l);
                }
            }
        }
        f.help = Some(help(rs.platform));
        out.push(f);
    }
    out
}
