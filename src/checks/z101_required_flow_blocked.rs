//! Z101 `required-flow-blocked`: No packet of a required Zerto flow gets through.
//! The full text is in `z101_required_flow_blocked.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z101",
    name: "required-flow-blocked",
    severity: Severity::Error,
    summary: "No packet of a required Zerto flow gets through.",
    doc: include_str!("z101_required_flow_blocked.md"),
};

use crate::engine::reach::Reach;
use crate::engine::FlowRecord;
use crate::model::{Decider, Ruleset, Semantics, Verdict};

/// What to change: allow the flow ahead of the first rule (or the policy) that drops it.
pub fn help(rec: &FlowRecord, reach: &Reach, rs: &Ruleset) -> String {
    let first = reach.deciders(Verdict::Deny).into_iter().next();
    let Some(at) = first else {
        return "allow the flow for the peers that need it".into();
    };
    let Some(p) = rs.policies.get(at.policy) else {
        return "allow the flow for the peers that need it".into();
    };
    let chain_hint = match rec.direction {
        "outbound" => "OUTPUT",
        "forward" => "FORWARD",
        _ => "INPUT",
    };
    // with an inventory the peers are known: name them
    let denied = if rec.direction == "outbound" {
        reach.denied_destinations()
    } else {
        reach.denied_sources()
    };
    // (written out only when they are shown: IPv6 minus `::1` alone is some 130 CIDRs)
    let cidrs = if rec.exact_peers {
        denied.to_cidrs()
    } else {
        Vec::new()
    };
    let peers = if !cidrs.is_empty() && cidrs.len() <= 8 {
        cidrs.join(",")
    } else {
        "PEERS".to_string()
    };
    let peer = if rec.direction == "outbound" {
        format!("-d {peers}")
    } else {
        format!("-s {peers}")
    };
    let label = match at.decider {
        Decider::Rule(r) => p.rules.get(r).map(|r| r.prov.label.clone()),
        _ => None,
    };
    let inbound = rec.direction != "outbound";
    let proto = rec.protocol.as_str();
    match p.semantics {
        Semantics::FirstMatch => {
            let ports = rec.ports.replace('-', ":");
            let port_opt = if ports.contains(',') {
                format!("-m multiport --dports {ports}")
            } else {
                format!("--dport {ports}")
            };
            let rule = format!(
                "{peer} -p {proto} -m {proto} {port_opt} -m conntrack --ctstate NEW -j ACCEPT"
            );
            match &label {
                // label is `table/CHAIN #N`: insert at N in that chain
                Some(label) => match label
                    .rsplit_once(" #")
                    .and_then(|(c, n)| Some((c.split('/').nth(1)?, n)))
                {
                    Some((chain, n)) => format!("insert before {label}: `-I {chain} {n} {rule}`"),
                    None => format!("allow it before {label}: `-I {chain_hint} 1 {rule}`"),
                },
                None => format!(
                    "the chain policy drops it; append an allow rule: `-A {chain_hint} {rule}`"
                ),
            }
        }
        Semantics::BlockWins => {
            let dir = if inbound { "Inbound" } else { "Outbound" };
            let port = if inbound { "-LocalPort" } else { "-RemotePort" };
            let new = format!(
                "New-NetFirewallRule -DisplayName \"Zerto {} {}\" -Direction {dir} -Protocol {} {port} {} -RemoteAddress {} -Action Allow",
                rec.requirement,
                rec.ports,
                proto.to_uppercase(),
                rec.ports,
                peers
            );
            match &label {
                Some(label) => format!(
                    "block rules win over allow rules in Windows Firewall: narrow or remove `{label}` so it no longer covers {proto}/{}, then make sure an allow rule exists: `{new}`",
                    rec.ports
                ),
                None => format!("the profile's default blocks it; add an allow rule: `{new}`"),
            }
        }
        Semantics::Priority => {
            let dir = if inbound { "Inbound" } else { "Outbound" };
            let side = if inbound {
                "--source-address-prefixes"
            } else {
                "--destination-address-prefixes"
            };
            // one ahead of the denying rule (its label ends in `(priority N)`)
            let prio = label
                .as_deref()
                .and_then(|l| l.rsplit_once("(priority "))
                .and_then(|(_, x)| x.trim_end_matches(')').parse::<u32>().ok())
                .map(|n| n.saturating_sub(1).max(100))
                .unwrap_or(4000);
            format!(
                "add an allow rule at a priority ahead of {}: `az network nsg rule create --nsg-name {} --resource-group RG --name Allow-Zerto-{} --priority {prio} --direction {dir} --access Allow --protocol {} {side} {} --destination-port-ranges {}`",
                label.as_deref().unwrap_or("the rule that denies it"),
                p.name,
                rec.ports.replace(',', "-"),
                if proto == "tcp" { "Tcp" } else if proto == "udp" { "Udp" } else { "*" },
                peers.replace(',', " "),
                rec.ports.replace(',', " ")
            )
        }
        Semantics::AllowUnion => {
            let (lo, hi) = rec
                .ports
                .split(',')
                .next()
                .map(|r| r.split_once('-').unwrap_or((r, r)))
                .unwrap_or(("0", "65535"));
            let verb = if inbound {
                "authorize-security-group-ingress"
            } else {
                "authorize-security-group-egress"
            };
            let cidrs: Vec<String> = peers
                .split(',')
                .map(|c| format!("{{CidrIp={c}}}"))
                .collect();
            format!(
                "security groups only allow: add the permission: `aws ec2 {verb} --group-id {} --ip-permissions 'IpProtocol={proto},FromPort={lo},ToPort={hi},IpRanges=[{}]'`",
                p.name,
                cidrs.join(",")
            )
        }
    }
}
