//! AWS security groups: `aws ec2 authorize-security-group-ingress|egress` on a real group id
//! (from the rules' `NativeRef::SecurityGroup`): a group only allows, so the permission is
//! appended; where several groups are attached together (their union is audited), one of them.

use super::{insert_rules, new_rule, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::model::{NativeRef, Ruleset};

pub(super) fn propose(cx: &Ctx<'_>) -> Result<Proposal, String> {
    let rs = cx.rs;
    let pipeline = rs
        .pipeline(cx.hook)
        .ok_or("the security group has no rules for this direction")?;
    let stage = pipeline
        .stages
        .first()
        .ok_or("the security group has no rules for this direction")?;
    let pi = stage.policy;
    let p = rs.policies.get(pi).ok_or("no such group")?;
    let mut ids: Vec<String> = Vec::new();
    for r in &p.rules {
        if let NativeRef::SecurityGroup { group_id, .. } = &r.native {
            if !ids.contains(group_id) {
                ids.push(group_id.clone());
            }
        }
    }
    if ids.is_empty() {
        ids.extend(rs.name.clone());
    }
    let group = ids
        .iter()
        .find(|g| g.starts_with("sg-"))
        .or(ids.first())
        .cloned()
        .ok_or("the export names no group id to add the permission to")?;
    let mut note = Vec::new();
    if ids.len() > 1 {
        note.push(format!(
            "the host has the groups {} attached together (their union is audited): the permission goes to `{group}`",
            ids.join(", ")
        ));
    }
    if !group.starts_with("sg-") {
        note.push(format!(
            "`{group}` is not a group id (a template's logical name?): it is a placeholder for the deployed group's `sg-...` id"
        ));
    }
    note.extend(cx.placeholder_note(&format!("`{PEERS}/32`")));
    let ranges = match &cx.peers {
        Addrs::Placeholder => format!("IpRanges=[{{CidrIp={PEERS}/32}}]"),
        Addrs::Any => "IpRanges=[{CidrIp=0.0.0.0/0}],Ipv6Ranges=[{CidrIpv6=::/0}]".to_string(),
        Addrs::Cidrs(c) => {
            let v4: Vec<String> = c
                .iter()
                .filter(|c| !c.contains(':'))
                .map(|c| format!("{{CidrIp={c}}}"))
                .collect();
            let v6: Vec<String> = c
                .iter()
                .filter(|c| c.contains(':'))
                .map(|c| format!("{{CidrIpv6={c}}}"))
                .collect();
            let mut r = Vec::new();
            if !v4.is_empty() {
                r.push(format!("IpRanges=[{}]", v4.join(",")));
            }
            if !v6.is_empty() {
                r.push(format!("Ipv6Ranges=[{}]", v6.join(",")));
            }
            r.join(",")
        }
    };
    let perms: Vec<String> = cx
        .ports
        .ranges()
        .iter()
        .map(|&(a, b)| {
            format!(
                "'IpProtocol={},FromPort={a},ToPort={b},{ranges}'",
                cx.proto_name()
            )
        })
        .collect();
    let verb = if cx.inbound() {
        "authorize-security-group-ingress"
    } else {
        "authorize-security-group-egress"
    };
    let line = format!(
        "aws ec2 {verb} --group-id {group} --ip-permissions {}",
        perms.join(" ")
    );
    let rule = new_rule(
        cx.rule_box(&cx.peer_set, &rs.address_space(), cx.ports.clone()),
        NativeRef::SecurityGroup {
            group_id: group.clone(),
            egress: !cx.inbound(),
            content: 0,
        },
        format!("{group} (fix)"),
    );
    Ok(Proposal {
        fix: Fix {
            platform: "aws",
            lines: vec![line],
            table: None,
            note: (!note.is_empty()).then(|| note.join("; ")),
            firewall: rs.platform.name(),
            verified: String::new(),
        },
        adds: vec![Add {
            policy: pi,
            chain: stage.chain,
            rule,
        }],
        host_addressable: false,
        reply_any_sport: false,
    })
}

/// A group only allows: a new permission joins the union (at the end of its chain).
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |_, rules, _| rules.len())
}
