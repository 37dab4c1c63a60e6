//! Z101 `required-flow-blocked`: No packet of a required Zerto flow gets through.
//! The full text is in `z101_required_flow_blocked.md`, next to this file.

use super::Check;
use crate::audit::finding::Severity;

pub const CHECK: Check = Check {
    code: "Z101",
    name: "required-flow-blocked",
    severity: Severity::Error,
    summary: "No packet of a required Zerto flow gets through.",
    doc: include_str!("z101_required_flow_blocked.md"),
};

use crate::audit::reach::Reach;
use crate::audit::FlowRecord;
use crate::model::{Decider, Ruleset, Verdict};

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
    let cidrs = denied.to_cidrs();
    let peers = if rec.exact_peers && !cidrs.is_empty() && cidrs.len() <= 8 {
        cidrs.join(",")
    } else {
        "PEERS".to_string()
    };
    let peer = if rec.direction == "outbound" {
        format!("-d {peers}")
    } else {
        format!("-s {peers}")
    };
    let ports = rec.ports.replace('-', ":");
    let port_opt = if ports.contains(',') {
        format!("-m multiport --dports {ports}")
    } else {
        format!("--dport {ports}")
    };
    let rule = format!(
        "{peer} -p {} -m {} {port_opt} -m conntrack --ctstate NEW -j ACCEPT",
        rec.protocol, rec.protocol
    );
    match at.decider {
        Decider::Rule(r) => {
            let label = p.rules.get(r).map(|r| r.prov.label.as_str()).unwrap_or("");
            // label is `table/CHAIN #N`: insert at N in that chain
            match label
                .rsplit_once(" #")
                .and_then(|(c, n)| Some((c.split('/').nth(1)?, n)))
            {
                Some((chain, n)) => format!("insert before {label}: `-I {chain} {n} {rule}`"),
                None => format!("allow it before {label}: `-I {chain_hint} 1 {rule}`"),
            }
        }
        _ => format!("the chain policy drops it; append an allow rule: `-A {chain_hint} {rule}`"),
    }
}
