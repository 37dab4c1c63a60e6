//! AWS network ACLs: `aws ec2 create-network-acl-entry` at free rule numbers evaluated before the
//! entries that deny (first match by number), and — the ACL being stateless — the return entries
//! in the other direction for the replies (the peers' ephemeral ports 1024-65535), each only
//! where the evaluation shows that direction denies. Numbers and ids come from the entries'
//! `NativeRef::NetworkAcl`; numbers another fix of the firewall uses (`Ctx::taken`) are skipped.

use super::{
    insert_rules, new_rule, position, reply_region, Add, Addrs, Ctx, Fix, Proposal, PEERS,
};
use crate::engine::reach::{Reach, EPHEMERAL};
use crate::model::ports::PortSet;
use crate::model::{AddrSet, Decider, Hook, NativeRef, Outcome, Ruleset, Verdict};

/// The highest number a user's entry may have (32767 is the `*` entry).
const HIGHEST: u32 = 32766;
/// More entries than this in one direction is past AWS's default quota of 20: not one change.
const MAX_ENTRIES: usize = 18;

pub(super) fn propose(cx: &Ctx<'_>, needs_replies: bool) -> Result<Proposal, String> {
    let rs = cx.rs;
    let mut lines = Vec::new();
    let mut adds = Vec::new();
    let acl = rs
        .policies
        .iter()
        .flat_map(|p| p.rules.iter())
        .find_map(|r| match &r.native {
            NativeRef::NetworkAcl { acl_id, .. } => Some(acl_id.clone()),
            _ => None,
        })
        .or(rs.name.clone())
        .ok_or("the export names no network ACL id")?;
    let mut note = Vec::new();
    if !cx.denied.is_empty() {
        let denied: Vec<Outcome> = cx.denied.iter().map(|o| (*o).clone()).collect();
        entries(
            cx,
            &acl,
            cx.hook,
            &denied,
            &cx.peer_set,
            cx.ports.clone(),
            &mut lines,
            &mut adds,
        )?;
    }
    if needs_replies {
        let back = cx.hook.reverse();
        let bp = rs
            .pipeline(back)
            .ok_or("the ACL has no rules for the replies")?;
        let rr = reply_region(cx.region, cx.peers_are_sources, &cx.reply_peers);
        let denied: Vec<Outcome> = Reach::evaluate(rs, bp, &rr)
            .outcomes
            .into_iter()
            .filter(|o| o.verdict == Verdict::Deny)
            .collect();
        if !denied.is_empty() {
            entries(
                cx,
                &acl,
                back,
                &denied,
                &cx.reply_peers,
                PortSet::range(EPHEMERAL.0, EPHEMERAL.1),
                &mut lines,
                &mut adds,
            )?;
            note.push(format!(
                "a network ACL is stateless: the {} entry lets the replies back to the peers' ports {}-{} (it cannot match source ports, so it admits any {} from the subnet to those ports)",
                if back == Hook::Output { "egress" } else { "ingress" },
                EPHEMERAL.0,
                EPHEMERAL.1,
                cx.proto_name()
            ));
        }
    }
    note.extend(cx.placeholder_note(&format!("`{PEERS}/32`")));
    Ok(Proposal {
        fix: Fix {
            platform: "aws",
            lines,
            table: None,
            note: (!note.is_empty()).then(|| note.join("; ")),
            firewall: rs.platform.name(),
            verified: String::new(),
        },
        adds,
        host_addressable: false,
        reply_any_sport: true,
    })
}

/// The entries admitting `peers` on `ports` in the direction of `hook`, numbered before every
/// entry that denies `denied` there.
#[allow(clippy::too_many_arguments)]
fn entries(
    cx: &Ctx<'_>,
    acl: &str,
    hook: Hook,
    denied: &[Outcome],
    peers: &AddrSet,
    ports: PortSet,
    lines: &mut Vec<String>,
    adds: &mut Vec<Add>,
) -> Result<(), String> {
    let rs = cx.rs;
    let stage = rs
        .pipeline(hook)
        .and_then(|p| p.stages.first().copied())
        .ok_or("the ACL has no rules for this direction")?;
    let p = rs.policies.get(stage.policy).ok_or("no such ACL")?;
    let chain = p.chains.get(stage.chain).ok_or("no such chain")?;
    let number = |r: usize| match p.rules.get(r).map(|r| &r.native) {
        Some(NativeRef::NetworkAcl { number, .. }) => Some(*number),
        _ => None,
    };
    let first_deny = denied
        .iter()
        .flat_map(|o| o.deciders.iter())
        .filter_map(|d| match d.decider {
            Decider::Rule(r) => number(r),
            _ => Some(HIGHEST + 1),
        })
        .min()
        .unwrap_or(HIGHEST + 1);
    // the entries of this direction, and the firewall's other fixes there
    let mut taken: Vec<u32> = chain.rules.iter().filter_map(|&r| number(r)).collect();
    taken.extend_from_slice(cx.taken.numbers(stage.policy, stage.chain));
    let egress = hook == Hook::Output;
    // the peers' side of this direction: sources coming in, destinations going out
    let cidrs: Vec<String> = match &cx.peers {
        Addrs::Placeholder => vec![format!("{PEERS}/32")],
        Addrs::Any => vec!["0.0.0.0/0".into()],
        Addrs::Cidrs(_) => peers.to_cidrs(),
    };
    if cidrs.len() * ports.ranges().len() > MAX_ENTRIES {
        return Err(format!(
            "it needs {} entries in one direction of the ACL (one per CIDR and port range), more than its quota allows",
            cidrs.len() * ports.ranges().len()
        ));
    }
    for c in &cidrs {
        let set = match &cx.peers {
            Addrs::Placeholder => peers.clone(),
            Addrs::Any => rs.address_space(),
            Addrs::Cidrs(_) => AddrSet::parse(c).map_err(|e| format!("{c}: {e:?}"))?,
        };
        for &(lo, hi) in ports.ranges() {
            let n = (1..first_deny.min(HIGHEST + 1))
                .rev()
                .find(|n| !taken.contains(n))
                .ok_or(format!(
                    "no free rule number below {first_deny} in {acl} ({})",
                    if egress { "egress" } else { "ingress" }
                ))?;
            taken.push(n);
            let block = if c.contains(':') {
                "--ipv6-cidr-block"
            } else {
                "--cidr-block"
            };
            lines.push(format!(
                "aws ec2 create-network-acl-entry --network-acl-id {acl} --{} --rule-number {n} --protocol {} --port-range From={lo},To={hi} {block} {c} --rule-action allow",
                if egress { "egress" } else { "ingress" },
                cx.proto_name()
            ));
            // peers are sources coming in, destinations going out
            let mut b = cx.rule_box(&set, &rs.address_space(), PortSet::range(lo, hi));
            if egress == cx.peers_are_sources {
                std::mem::swap(&mut b.src, &mut b.dst);
            }
            adds.push(Add {
                policy: stage.policy,
                chain: stage.chain,
                rule: new_rule(
                    b,
                    NativeRef::NetworkAcl {
                        acl_id: acl.to_string(),
                        number: n,
                        egress,
                    },
                    format!("{acl} rule {n} (fix)"),
                ),
            });
        }
    }
    Ok(())
}

/// An entry goes where its number sorts it among the entries of its direction.
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |p, rules, new| {
        let NativeRef::NetworkAcl { number: n, .. } = new.native else {
            return rules.len();
        };
        position(
            rules,
            |r| matches!(p.rules.get(r).map(|x| &x.native), Some(NativeRef::NetworkAcl { number, .. }) if *number > n),
        )
    })
}
