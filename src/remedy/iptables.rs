//! iptables / ip6tables: one `-I CHAIN N` (or `-A CHAIN`) in the table that denies, in the entry
//! chain of that stage, before the first rule on the denied packets' path there: the rule that
//! drops them, or the jump that takes them to where they are dropped. Positions come from the
//! rules' native references (`NativeRef::Chain { index }`), never from labels.

use super::{insert_rules, new_rule, position, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::model::ports::ConnState;
use crate::model::{Decider, NativeRef, Ruleset};

pub(super) fn propose(cx: &Ctx<'_>) -> Result<Proposal, String> {
    let rs = cx.rs;
    // the first stage (table, NSG) on the path that denies any of it
    let stage = super::denying_stage(cx)?;
    let pi = stage.policy;
    let p = rs.policies.get(pi).ok_or("no such table")?;
    let entry = p.chains.get(stage.chain).ok_or("no such chain")?;
    let native_index = |r: usize| match p.rules.get(r).map(|r| &r.native) {
        Some(NativeRef::Chain { index, .. }) => Some(*index),
        _ => None,
    };
    // per denied piece: the first rule of the entry chain on its path (None: the policy)
    let mut at: Option<u32> = None;
    for o in &cx.denied {
        let first =
            o.via
                .iter()
                .filter(|(q, _)| *q == pi)
                .map(|(_, r)| *r)
                .chain(o.deciders.iter().filter(|d| d.policy == pi).filter_map(
                    |d| match d.decider {
                        Decider::Rule(r) | Decider::Loop(r) => Some(r),
                        Decider::ChainPolicy(_) => None,
                    },
                ))
                .find(|r| entry.rules.contains(r));
        if let Some(n) = first.and_then(native_index) {
            at = Some(at.map_or(n, |a| a.min(n)));
        }
    }
    let addr = |a: &Addrs| match a {
        Addrs::Any => None,
        Addrs::Cidrs(c) => Some(c.join(",")),
        Addrs::Placeholder => Some(PEERS.to_string()),
    };
    let (s, d) = if cx.peers_are_sources {
        (addr(&cx.peers), addr(&cx.host))
    } else {
        (addr(&cx.host), addr(&cx.peers))
    };
    let proto = cx.proto_name();
    let ranges: Vec<String> = cx
        .ports
        .ranges()
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect();
    let port = match ranges.as_slice() {
        [one] => format!("-m {proto} --dport {one}"),
        many if many.len() <= 15 => format!("-m multiport --dports {}", many.join(",")),
        _ => return Err("the denied ports need more than 15 port ranges in one rule".into()),
    };
    let mut spec = String::new();
    if let Some(s) = s {
        spec.push_str(&format!("-s {s} "));
    }
    if let Some(d) = d {
        spec.push_str(&format!("-d {d} "));
    }
    spec.push_str(&format!(
        "-p {proto} {port} -m conntrack --ctstate NEW -m comment --comment \"portolan: {}\" -j ACCEPT",
        cx.rec.requirement
    ));
    let line = match at {
        Some(n) => format!("-I {} {n} {spec}", entry.name),
        None => format!("-A {} {spec}", entry.name),
    };
    let mut b = cx.rule_box(&cx.peer_set, &cx.host_set, cx.ports.clone());
    b.state = ConnState::New.set();
    let rule = new_rule(
        b,
        NativeRef::Chain {
            chain: stage.chain,
            index: at.unwrap_or(0),
            content: 0,
        },
        format!("{}/{} (fix)", p.name, entry.name),
    );
    Ok(Proposal {
        fix: Fix {
            platform: "iptables",
            lines: vec![line],
            table: Some(p.name.clone()),
            note: cx.placeholder_note(&format!(
                "`-{} {PEERS}`",
                if cx.peers_are_sources { "s" } else { "d" }
            )),
            firewall: rs.platform.name(),
            verified: String::new(),
        },
        adds: vec![Add {
            policy: pi,
            chain: stage.chain,
            rule,
        }],
        host_addressable: true,
        reply_any_sport: false,
    })
}

/// `-I CHAIN N` goes before the rule written at position N; `-A` (index 0) at the end.
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |p, rules, new| {
        let n = match new.native {
            NativeRef::Chain { index, .. } if index > 0 => index,
            _ => return rules.len(),
        };
        position(
            rules,
            |r| matches!(p.rules.get(r).map(|x| &x.native), Some(NativeRef::Chain { index, .. }) if *index >= n),
        )
    })
}
