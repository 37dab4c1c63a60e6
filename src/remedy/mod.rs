//! The smallest native change that admits a blocked or partly blocked flow: exactly the denied
//! part of the flow (its denied sources or destinations, its ports, NEW connections), placed where
//! it takes effect before whatever denies it.
//!
//! - iptables: `-I CHAIN N` before the first rule on the denied packets' path in the stage that
//!   drops them (the DROP itself, or the jump that leads to it), or `-A CHAIN` when the chain's
//!   policy decides; written so that `iptables-restore` (and Portolan) read it in place, just
//!   before the table's `COMMIT`.
//! - Windows: `New-NetFirewallRule` (and, when a block rule wins, which one to narrow).
//! - Azure: `az network nsg rule create` at a free priority just ahead of the denying rule.
//! - AWS: `aws ec2 authorize-security-group-ingress|egress`.

use serde::Serialize;

use crate::engine::reach::Reach;
use crate::engine::FlowRecord;
use crate::model::{Action, Decider, Hook, Policy, Ruleset, Semantics, Verdict};

/// One change that fixes one flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// `iptables`, `windows`, `azure`, `aws`.
    pub platform: &'static str,
    /// What to run or insert, one entry per line.
    pub lines: Vec<String>,
    /// For iptables: the table whose `COMMIT` the lines go before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Anything the user must fill in (a placeholder) or know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn position(label: &str) -> Option<(String, usize)> {
    // `table/CHAIN #N`
    let (c, n) = label.rsplit_once(" #")?;
    Some((c.split_once('/')?.1.to_string(), n.parse().ok()?))
}

/// The fix for a flow whose evaluation is `reach`, or `None` when nothing is denied.
pub fn compute(rec: &FlowRecord, reach: &Reach, rs: &Ruleset) -> Option<Fix> {
    let denied: Vec<_> = reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Deny)
        .collect();
    let first = denied.first()?;
    let at = *first.deciders.first()?;
    let p = rs.policies.get(at.policy)?;
    let inbound = rec.direction != "outbound";
    let peers = {
        let set = denied.iter().fold(crate::model::AddrSet::empty(), |a, o| {
            a.union(if inbound { &o.space.src } else { &o.space.dst })
        });
        let space = rs
            .address_space()
            .difference(&crate::model::AddrSet::loopback());
        if space.is_subset(&set) {
            None // every peer: no address restriction
        } else {
            Some(set.to_cidrs())
        }
    };
    let proto = rec.protocol.as_str();
    match p.semantics {
        Semantics::FirstMatch => iptables(rec, &denied, rs, at.policy, p, peers.as_deref()),
        Semantics::BlockWins => {
            let remote = peers
                .as_ref()
                .map(|c| c.join(","))
                .unwrap_or_else(|| "Any".into());
            let mut lines = Vec::new();
            let blocking: Vec<String> = denied
                .iter()
                .flat_map(|o| o.deciders.iter())
                .filter_map(|d| match d.decider {
                    Decider::Rule(r) => p
                        .rules
                        .get(r)
                        .filter(|r| r.action == Action::Drop)
                        .map(|r| r.prov.label.clone()),
                    _ => None,
                })
                .collect();
            lines.push(format!(
                "New-NetFirewallRule -DisplayName \"Zerto {}\" -Direction {} -Protocol {} -{} {} -RemoteAddress {} -Action Allow",
                rec.requirement,
                if inbound { "Inbound" } else { "Outbound" },
                proto.to_uppercase(),
                if inbound { "LocalPort" } else { "RemotePort" },
                rec.ports,
                remote
            ));
            Some(Fix {
                platform: "windows",
                lines,
                table: None,
                note: (!blocking.is_empty()).then(|| {
                    format!(
                        "block rules win over allow rules: narrow or remove {} as well",
                        blocking.join(", ")
                    )
                }),
            })
        }
        Semantics::Priority => {
            let prio = denied
                .iter()
                .flat_map(|o| o.deciders.iter())
                .filter_map(|d| rs.provenance(*d))
                .filter_map(|prov| {
                    prov.label
                        .rsplit_once("(priority ")
                        .and_then(|(_, x)| x.split(')').next()?.parse::<u32>().ok())
                })
                .min()
                .unwrap_or(4096);
            // a free priority just ahead of the denying rule
            let taken: Vec<u32> = p
                .rules
                .iter()
                .filter_map(|r| {
                    r.prov
                        .label
                        .rsplit_once("(priority ")
                        .and_then(|(_, x)| x.split(')').next()?.parse().ok())
                })
                .collect();
            let free = (100..prio).rev().find(|n| !taken.contains(n));
            let side = if inbound {
                "--source-address-prefixes"
            } else {
                "--destination-address-prefixes"
            };
            let prefixes = peers
                .as_ref()
                .map(|c| c.join(" "))
                .unwrap_or_else(|| "'*'".into());
            let nsg = p.name.clone();
            Some(Fix {
                platform: "azure",
                lines: vec![format!(
                    "az network nsg rule create --resource-group RG --nsg-name {nsg} --name Allow-Zerto-{} --priority {} --direction {} --access Allow --protocol {} {side} {prefixes} --destination-port-ranges {}",
                    rec.requirement.rsplit('.').next().unwrap_or("flow"),
                    free.unwrap_or(100),
                    if inbound { "Inbound" } else { "Outbound" },
                    match proto { "tcp" => "Tcp", "udp" => "Udp", _ => "'*'" },
                    rec.ports.replace(',', " ")
                )],
                table: None,
                note: free.is_none().then(|| "no free priority below the denying rule: renumber first".to_string()),
            })
        }
        Semantics::AllowUnion => {
            let verb = if inbound {
                "authorize-security-group-ingress"
            } else {
                "authorize-security-group-egress"
            };
            let cidrs = peers.clone().unwrap_or_else(|| vec!["0.0.0.0/0".into()]);
            let v4: Vec<String> = cidrs
                .iter()
                .filter(|c| !c.contains(':'))
                .map(|c| format!("{{CidrIp={c}}}"))
                .collect();
            let v6: Vec<String> = cidrs
                .iter()
                .filter(|c| c.contains(':'))
                .map(|c| format!("{{CidrIpv6={c}}}"))
                .collect();
            let lines = rec
                .ports
                .split(',')
                .map(|r| {
                    let (lo, hi) = r.split_once('-').unwrap_or((r, r));
                    let mut perm = format!("IpProtocol={proto},FromPort={lo},ToPort={hi}");
                    if !v4.is_empty() {
                        perm.push_str(&format!(",IpRanges=[{}]", v4.join(",")));
                    }
                    if !v6.is_empty() {
                        perm.push_str(&format!(",Ipv6Ranges=[{}]", v6.join(",")));
                    }
                    format!(
                        "aws ec2 {verb} --group-id {} --ip-permissions '{perm}'",
                        p.name
                    )
                })
                .collect();
            Some(Fix {
                platform: "aws",
                lines,
                table: None,
                note: None,
            })
        }
    }
}

fn iptables(
    rec: &FlowRecord,
    denied: &[&crate::model::Outcome],
    rs: &Ruleset,
    policy: usize,
    p: &Policy,
    peers: Option<&[String]>,
) -> Option<Fix> {
    let proto = rec.protocol.as_str();
    // through a boundary firewall both ends are known
    let forward_dsts = (rec.direction == "forward").then(|| {
        denied
            .iter()
            .fold(crate::model::AddrSet::empty(), |a, o| a.union(&o.space.dst))
            .to_cidrs()
    });
    // the entry chain of the stage that denies, and the earliest point of it on a denied path
    let hook = match rec.direction {
        "outbound" => Hook::Output,
        "forward" => Hook::Forward,
        _ => Hook::Input,
    };
    let stage = rs
        .pipeline(hook)?
        .stages
        .iter()
        .find(|s| s.policy == policy)?;
    let entry = p.chains.get(stage.chain)?;
    let mut at: Option<usize> = None; // 1-based position in the entry chain, None = append
    for o in denied {
        // the first jump taken from the entry chain, or the denying rule itself
        let first_rule = o
            .via
            .iter()
            .filter(|(pi, _)| *pi == policy)
            .map(|(_, r)| *r)
            .chain(o.deciders.iter().filter(|d| d.policy == policy).filter_map(
                |d| match d.decider {
                    Decider::Rule(r) => Some(r),
                    _ => None,
                },
            ))
            .find(|r| entry.rules.contains(r));
        if let Some(pos) = first_rule
            .and_then(|r| position(&p.rules.get(r)?.prov.label))
            .map(|(_, n)| n)
        {
            at = Some(at.map_or(pos, |a: usize| a.min(pos)));
        }
    }
    let chain = &entry.name;
    let mut addr = match peers {
        Some(c) if !c.is_empty() => format!(
            "{} {} ",
            if rec.direction == "outbound" {
                "-d"
            } else {
                "-s"
            },
            c.join(",")
        ),
        _ => String::new(),
    };
    if let Some(d) = forward_dsts.filter(|d| !d.is_empty()) {
        addr.push_str(&format!("-d {} ", d.join(",")));
    }
    let ports = rec.ports.replace('-', ":");
    let port = if ports.contains(',') {
        format!("-m multiport --dports {ports}")
    } else {
        format!("-m {proto} --dport {ports}")
    };
    let spec = format!(
        "{addr}-p {proto} {port} -m conntrack --ctstate NEW -m comment --comment \"portolan: {}\" -j ACCEPT",
        rec.requirement
    );
    let line = match at {
        Some(n) => format!("-I {chain} {n} {spec}"),
        None => format!("-A {chain} {spec}"),
    };
    Some(Fix {
        platform: "iptables",
        lines: vec![line],
        table: Some(p.name.clone()),
        note: peers.is_none().then(|| {
            "the flow's peers are not known (no inventory): this admits every source; add `-s PEERS`".to_string()
        }),
    })
}
