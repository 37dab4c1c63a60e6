//! Windows Defender Firewall: `New-NetFirewallRule` for the profile audited, when the profile's
//! default denies the flow. When a block rule denies it, no allow rule can help (block wins over
//! allow): the remedy names the block rule (by its Windows rule id) that must be narrowed.

use super::{insert_rules, new_rule, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::model::{Action, Decider, NativeRef, Ruleset};

pub(super) fn propose(cx: &Ctx<'_>) -> Result<Proposal, String> {
    let rs = cx.rs;
    let mut blocks: Vec<String> = Vec::new();
    for o in &cx.denied {
        for at in &o.deciders {
            let Some(rule) = rs.rule(*at) else { continue };
            if !matches!(at.decider, Decider::Rule(_))
                || !matches!(rule.action, Action::Drop | Action::Reject)
            {
                continue;
            }
            let id = match &rule.native {
                NativeRef::Windows { id, .. } => format!("`{id}`"),
                _ => format!("`{}`", rule.prov.label),
            };
            if !blocks.contains(&id) {
                blocks.push(id);
            }
        }
    }
    if !blocks.is_empty() {
        return Err(format!(
            "block rules win over allow rules in Windows Firewall: narrow the block rule {} (Set-NetFirewallRule -Name <id> ...) so that it no longer covers {}/{} from the peers; no allow rule can admit it",
            blocks.join(", "),
            cx.proto_name(),
            crate::model::ports::port_string(&cx.ports)
        ));
    }
    let pipeline = rs
        .pipeline(cx.hook)
        .ok_or("the profile has no rules for this direction")?;
    let stage = pipeline
        .stages
        .first()
        .ok_or("the profile has no rules for this direction")?;
    let addr = |a: &Addrs| match a {
        Addrs::Any => None,
        Addrs::Cidrs(c) => Some(c.join(",")),
        Addrs::Placeholder => Some(PEERS.to_string()),
    };
    let ports = crate::model::ports::port_string(&cx.ports);
    let inbound = cx.inbound();
    // one rule per profile (each profile is its own firewall here): the rule name (its id, which
    // New-NetFirewallRule requires to be unique) says which
    let id = match &rs.profile {
        Some(p) => format!("{}-{}", cx.addr_name(0), p.to_ascii_lowercase()),
        None => cx.addr_name(0),
    };
    let mut line = format!(
        "New-NetFirewallRule -Name \"{}\" -DisplayName \"Zerto {}\" -Direction {}",
        id,
        cx.rec.requirement,
        if inbound { "Inbound" } else { "Outbound" }
    );
    if let Some(p) = &rs.profile {
        line.push_str(&format!(" -Profile {p}"));
    }
    line.push_str(&format!(
        " -Protocol {} -{} {ports}",
        cx.proto_name().to_uppercase(),
        if inbound { "LocalPort" } else { "RemotePort" }
    ));
    if let Some(r) = addr(&cx.peers) {
        line.push_str(&format!(" -RemoteAddress {r}"));
    }
    if let Some(l) = addr(&cx.host) {
        line.push_str(&format!(" -LocalAddress {l}"));
    }
    line.push_str(" -Action Allow");
    let rule = new_rule(
        cx.rule_box(&cx.peer_set, &cx.host_set, cx.ports.clone()),
        NativeRef::Windows {
            id,
            enabled: true,
            outbound: !inbound,
            scopes: Vec::new(),
        },
        format!("{} (fix)", cx.addr_name(0)),
    );
    Ok(Proposal {
        fix: Fix {
            platform: "windows",
            lines: vec![line],
            table: None,
            note: cx.placeholder_note(&format!("`-RemoteAddress {PEERS}`")),
            firewall: rs.platform.name(),
            verified: String::new(),
        },
        adds: vec![Add {
            policy: stage.policy,
            chain: stage.chain,
            rule,
        }],
        host_addressable: true,
        reply_any_sport: false,
    })
}

/// Allow rules come after every block rule (a block wins): the new one goes at the end.
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |_, rules, _| rules.len())
}
