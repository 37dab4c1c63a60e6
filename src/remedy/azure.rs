//! Azure NSG: `az network nsg rule create` in the NSG that denies, at a free priority evaluated
//! before every rule that denies the flow there (strictly lower, within 100-4096, not used by
//! another rule of that direction, nor by another fix of the firewall: `Ctx::taken`). Priorities
//! come from the rules' native references.

use super::{insert_rules, new_rule, position, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::model::{Decider, NativeRef, Ruleset};

/// The priorities Azure lets users give their own rules.
const LOWEST: u32 = 100;
const HIGHEST: u32 = 4096;

pub(super) fn propose(cx: &Ctx<'_>) -> Result<Proposal, String> {
    let rs = cx.rs;
    // the first stage (table, NSG) on the path that denies any of it
    let stage = super::denying_stage(cx)?;
    let pi = stage.policy;
    let p = rs.policies.get(pi).ok_or("no such NSG")?;
    let chain = p.chains.get(stage.chain).ok_or("no such chain")?;
    let prio = |r: usize| match p.rules.get(r).map(|r| &r.native) {
        Some(NativeRef::Nsg { priority, name }) => Some((*priority, name.clone())),
        _ => None,
    };
    // the earliest denying rule of this NSG (none: no rule matched, the implicit deny)
    let mut first_deny: Option<(u32, String)> = None;
    for o in &cx.denied {
        for d in o.deciders.iter().filter(|d| d.policy == pi) {
            if let Decider::Rule(r) = d.decider {
                if let Some((n, name)) = prio(r) {
                    if first_deny.as_ref().is_none_or(|(m, _)| n < *m) {
                        first_deny = Some((n, name));
                    }
                }
            }
        }
    }
    // the NSG's rules of this direction, and the firewall's other fixes there
    let mut taken: Vec<u32> = chain
        .rules
        .iter()
        .filter_map(|&r| prio(r).map(|x| x.0))
        .collect();
    taken.extend_from_slice(cx.taken.numbers(pi, stage.chain));
    let below = first_deny
        .as_ref()
        .map_or(HIGHEST, |(n, _)| n.saturating_sub(1).min(HIGHEST));
    let free = (LOWEST..=below).rev().find(|n| !taken.contains(n));
    let Some(priority) = free else {
        let fixes = cx.taken.numbers(pi, stage.chain).len();
        let others = if fixes > 0 {
            format!(" ({fixes} of them taken by this firewall's other fixes)")
        } else {
            String::new()
        };
        return Err(match &first_deny {
            Some((n, name)) if *n <= LOWEST => format!(
                "`{name}` in NSG `{}` denies it at priority {n}, and no rule can be evaluated before priority {LOWEST}: renumber `{name}` (or narrow it) first",
                p.name
            ),
            Some((n, name)) => format!(
                "no free priority between {LOWEST} and {} in NSG `{}` comes before `{name}` at priority {n}{others}: renumber first",
                below, p.name
            ),
            None => format!(
                "no free priority between {LOWEST} and {HIGHEST} in NSG `{}`{others}",
                p.name
            ),
        });
    };
    let prefixes = |a: &Addrs| match a {
        Addrs::Any => "'*'".to_string(),
        Addrs::Cidrs(c) => c.join(" "),
        Addrs::Placeholder => PEERS.to_string(),
    };
    let (src, dst) = if cx.peers_are_sources {
        (prefixes(&cx.peers), prefixes(&cx.host))
    } else {
        (prefixes(&cx.host), prefixes(&cx.peers))
    };
    let ports = super::port_ranges(&cx.ports, "-");
    let mut name = format!("Allow-Zerto-{}", super::short(&cx.rec.requirement));
    let used = |n: &str| {
        cx.taken.has_name(pi, n)
            || p.rules.iter().any(
                |r| matches!(&r.native, NativeRef::Nsg { name, .. } if name.eq_ignore_ascii_case(n)),
            )
    };
    if used(&name) {
        name = format!("{name}-{priority}");
    }
    let line = format!(
        "az network nsg rule create --resource-group RG --nsg-name {} --name {name} --priority {priority} --direction {} --access Allow --protocol {} --source-address-prefixes {src} --source-port-ranges '*' --destination-address-prefixes {dst} --destination-port-ranges {}",
        p.name,
        if cx.inbound() { "Inbound" } else { "Outbound" },
        if cx.proto_name() == "udp" { "Udp" } else { "Tcp" },
        ports.join(" ")
    );
    let mut note = vec!["RG is the NSG's resource group".to_string()];
    note.extend(cx.placeholder_note(&format!("`{PEERS}`")));
    if let Some((n, dn)) = &first_deny {
        note.push(format!(
            "priority {priority} is evaluated before `{dn}` ({n})"
        ));
    }
    let rule = new_rule(
        cx.rule_box(&cx.peer_set, &cx.host_set, cx.ports.clone()),
        NativeRef::Nsg {
            name: name.clone(),
            priority,
        },
        format!("{}/{name} (fix)", p.name),
    );
    Ok(Proposal {
        fix: Fix {
            platform: "azure",
            lines: vec![line],
            table: None,
            note: Some(note.join("; ")),
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

/// A rule goes where its priority sorts it among the NSG's rules of its direction.
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |p, rules, new| {
        let NativeRef::Nsg { priority: n, .. } = new.native else {
            return rules.len();
        };
        position(
            rules,
            |r| matches!(p.rules.get(r).map(|x| &x.native), Some(NativeRef::Nsg { priority, .. }) if *priority > n),
        )
    })
}
