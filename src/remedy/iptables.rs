//! iptables / ip6tables: one `-I CHAIN N` (or `-A CHAIN`) in the table that denies, in the entry
//! chain of that stage, before the first rule on the denied packets' path there: the rule that
//! drops them, or the jump that takes them to where they are dropped. Where the reverse hook
//! drops the connection's replies (they are ESTABLISHED, and `:OUTPUT DROP` with no ESTABLISHED
//! accept drops them), a second line accepts exactly those replies the same way. Positions come
//! from the rules' native references (`NativeRef::Chain { index }`), never from labels.

use super::{insert_rules, new_rule, position, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::model::ports::ConnState;
use crate::model::{NativeRef, Ruleset};

pub(super) fn propose(cx: &Ctx<'_>, needs_replies: bool) -> Result<Proposal, String> {
    let mut lines = Vec::new();
    let mut adds = Vec::new();
    let mut table = None;
    if !cx.denied.is_empty() {
        let (line, add, t) = request(cx)?;
        lines.push(line);
        adds.push(add);
        table = Some(t);
    }
    if !cx.later.is_empty() {
        let (line, add, t) = later(cx)?;
        if table.as_ref().is_some_and(|x| *x != t) {
            return Err(format!(
                "the request and its later packets are dropped in different tables ({} and {t}): two changes",
                table.unwrap_or_default()
            ));
        }
        // in the request's chain, the `-I` at the later position is printed first: run in
        // order, the other would shift it by one
        let index = |a: &Add| match a.rule.native {
            NativeRef::Chain { index, .. } => index,
            _ => 0,
        };
        let first = adds.first().is_some_and(|r: &Add| {
            r.policy == add.policy && r.chain == add.chain && index(&add) > index(r) && index(r) > 0
        });
        if first {
            lines.insert(0, line);
        } else {
            lines.push(line);
        }
        adds.push(add);
        table = Some(t);
    }
    if needs_replies {
        let (line, add, t) = replies(cx)?;
        if table.as_ref().is_some_and(|x| *x != t) {
            return Err(format!(
                "the request and its replies are dropped in different tables ({} and {t}): two changes",
                table.unwrap_or_default()
            ));
        }
        lines.push(line);
        adds.push(add);
        table = Some(t);
    }
    Ok(Proposal {
        fix: Fix {
            platform: "iptables",
            lines,
            table,
            // the peers are the requests' sources and the replies' destinations (inbound)
            note: cx.placeholder_note(&{
                let (req, rep) = if cx.peers_are_sources {
                    ("s", "d")
                } else {
                    ("d", "s")
                };
                // the request's and its later packets' rules name the peers one way, the
                // replies' the other
                let forward = !cx.denied.is_empty() || !cx.later.is_empty();
                match (forward, needs_replies) {
                    (true, true) => format!("`-{req} {PEERS}` (and `-{rep} {PEERS}`)"),
                    (false, _) => format!("`-{rep} {PEERS}`"),
                    (true, false) => format!("`-{req} {PEERS}`"),
                }
            }),
            firewall: cx.rs.platform.name(),
            verified: String::new(),
        },
        adds,
        host_addressable: true,
        reply_any_sport: false,
    })
}

/// The position in `entry` (of policy `pi`) before the first rule on the path of `denied` there:
/// the rule that drops them or the jump that takes them to it (`None`: the chain's policy).
fn first_on_path(
    rs: &Ruleset,
    pi: usize,
    entry: &crate::model::Chain,
    denied: &[&crate::model::Outcome],
) -> Option<u32> {
    let p = rs.policies.get(pi)?;
    let native_index = |r: usize| match p.rules.get(r).map(|r| &r.native) {
        Some(NativeRef::Chain { index, .. }) => Some(*index),
        _ => None,
    };
    let mut at: Option<u32> = None;
    for r in super::rules_on_path(pi, entry, denied) {
        if let Some(n) = native_index(r) {
            at = Some(at.map_or(n, |a| a.min(n)));
        }
    }
    at
}

/// `-s SRC -d DST ` of a rule (either left out when it is any address).
fn addresses(src: &Addrs, dst: &Addrs) -> String {
    let mut spec = String::new();
    if let Some(s) = addr(src) {
        spec.push_str(&format!("-s {s} "));
    }
    if let Some(d) = addr(dst) {
        spec.push_str(&format!("-d {d} "));
    }
    spec
}

fn addr(a: &Addrs) -> Option<String> {
    match a {
        Addrs::Any => None,
        Addrs::Cidrs(c) => Some(c.join(",")),
        Addrs::Placeholder => Some(PEERS.to_string()),
    }
}

fn port_opt(cx: &Ctx<'_>, opt: &str) -> Result<String, String> {
    let proto = cx.proto_name();
    let ranges = super::port_ranges(&cx.ports, ":");
    match ranges.as_slice() {
        [one] => Ok(format!("-m {proto} --{opt} {one}")),
        many if many.len() <= 15 => Ok(format!("-m multiport --{opt}s {}", many.join(","))),
        _ => Err("the denied ports need more than 15 port ranges in one rule".into()),
    }
}

/// The new connections: `-I CHAIN N -s PEERS -d HOST -p P --dport PORTS --ctstate NEW -j ACCEPT`
/// in the entry chain of the first stage that denies them.
fn request(cx: &Ctx<'_>) -> Result<(String, Add, String), String> {
    let rs = cx.rs;
    // the first stage (table) on the path that denies any of it
    let stage = super::denying_stage(cx)?;
    let p = rs.policies.get(stage.policy).ok_or("no such table")?;
    let entry = p.chains.get(stage.chain).ok_or("no such chain")?;
    let at = first_on_path(rs, stage.policy, entry, &cx.denied);
    accept_on_request_path(cx, (stage, p, entry, at), ConnState::New, &cx.peer_set, "")
}

/// A rule in the request's direction (`-s PEERS -d HOST` inbound) accepting the flow's ports in
/// `state` from `peers` (in the model), at `place` ([`place`]); `what` follows the requirement
/// in its comment and the model rule's label.
fn accept_on_request_path(
    cx: &Ctx<'_>,
    (stage, p, entry, at): (
        crate::model::Stage,
        &crate::model::Policy,
        &crate::model::Chain,
        Option<u32>,
    ),
    state: ConnState,
    peers: &crate::model::AddrSet,
    what: &str,
) -> Result<(String, Add, String), String> {
    let mut spec = if cx.peers_are_sources {
        addresses(&cx.peers, &cx.host)
    } else {
        addresses(&cx.host, &cx.peers)
    };
    spec.push_str(&format!(
        "-p {} {} -m conntrack --ctstate {} -m comment --comment \"portolan: {}{}\" -j ACCEPT",
        cx.proto_name(),
        port_opt(cx, "dport")?,
        state,
        cx.rec.requirement,
        if what.is_empty() {
            String::new()
        } else {
            format!(" {what}")
        }
    ));
    let line = match at {
        Some(n) => format!("-I {} {n} {spec}", entry.name),
        None => format!("-A {} {spec}", entry.name),
    };
    let mut b = cx.rule_box(peers, &cx.host_set, cx.ports.clone());
    b.state = state.set();
    let rule = new_rule(
        b,
        NativeRef::Chain {
            chain: stage.chain,
            index: at.unwrap_or(0),
            content: 0,
        },
        if what.is_empty() {
            format!("{}/{} (fix)", p.name, entry.name)
        } else {
            format!("{}/{} (fix for the {what})", p.name, entry.name)
        },
    );
    Ok((
        line,
        Add {
            policy: stage.policy,
            chain: stage.chain,
            rule,
        },
        p.name.clone(),
    ))
}

/// The replies of the connections (ESTABLISHED, from the service's ports back to the clients'
/// ephemeral ports), where the reverse hook drops them: `-I CHAIN N -s HOST -d PEERS -p P
/// --sport PORTS --dport 1024:65535 --ctstate ESTABLISHED -j ACCEPT`. Only packets of
/// connections the kernel has already seen are ESTABLISHED: no new connection is admitted.
fn replies(cx: &Ctx<'_>) -> Result<(String, Add, String), String> {
    let rs = cx.rs;
    let back = cx.hook.reverse();
    let bp = rs
        .pipeline(back)
        .ok_or("the firewall has no chain for the replies")?;
    let rr = super::reply_region(cx.region, cx.peers_are_sources, &cx.reply_peers);
    let reach = crate::engine::reach::Reach::evaluate(rs, bp, &rr);
    let denied: Vec<&crate::model::Outcome> = reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == crate::model::Verdict::Deny)
        .collect();
    let policies: Vec<usize> = denied
        .iter()
        .flat_map(|o| o.deciders.iter().map(|d| d.policy))
        .collect();
    let (stage, p, entry, at) = place(rs, bp, &denied, &policies)?;
    // the replies go from the host (or the server) back to the peers
    let mut spec = if cx.peers_are_sources {
        addresses(&cx.host, &cx.peers)
    } else {
        addresses(&cx.peers, &cx.host)
    };
    let (lo, hi) = crate::engine::reach::EPHEMERAL;
    let sport = port_opt(cx, "sport")?;
    let dport = if sport.starts_with("-m multiport") {
        format!("-m {} --dport {lo}:{hi}", cx.proto_name())
    } else {
        format!("--dport {lo}:{hi}")
    };
    spec.push_str(&format!(
        "-p {} {sport} {dport} -m conntrack --ctstate ESTABLISHED -m comment --comment \"portolan: {} replies\" -j ACCEPT",
        cx.proto_name(),
        cx.rec.requirement
    ));
    let line = match at {
        Some(n) => format!("-I {} {n} {spec}", entry.name),
        None => format!("-A {} {spec}", entry.name),
    };
    // the model rule: exactly what the printed one matches
    let mut b = cx.rule_box(&cx.reply_peers, &cx.host_set, cx.ports.clone());
    std::mem::swap(&mut b.src, &mut b.dst);
    b.sport = cx.ports.clone();
    b.dport = crate::model::ports::PortSet::range(lo, hi);
    b.state = ConnState::Established.set();
    let rule = new_rule(
        b,
        NativeRef::Chain {
            chain: stage.chain,
            index: at.unwrap_or(0),
            content: 0,
        },
        format!("{}/{} (fix for the replies)", p.name, entry.name),
    );
    Ok((
        line,
        Add {
            policy: stage.policy,
            chain: stage.chain,
            rule,
        },
        p.name.clone(),
    ))
}

/// Where a rule admitting `denied` (evaluated through `pl`) goes: the entry chain of the first
/// stage whose rules (of `policies`) deny them, before the first rule on their path there.
fn place<'r>(
    rs: &'r Ruleset,
    pl: &crate::model::Pipeline,
    denied: &[&crate::model::Outcome],
    policies: &[usize],
) -> Result<
    (
        crate::model::Stage,
        &'r crate::model::Policy,
        &'r crate::model::Chain,
        Option<u32>,
    ),
    String,
> {
    let stage = pl
        .stages
        .iter()
        .find(|s| policies.contains(&s.policy))
        .copied()
        .ok_or("no stage on the packets' path denies them")?;
    let pi = stage.policy;
    let p = rs.policies.get(pi).ok_or("no such table")?;
    let entry = p.chains.get(stage.chain).ok_or("no such chain")?;
    let at = first_on_path(rs, pi, entry, denied);
    Ok((stage, p, entry, at))
}

/// The client's later packets (its ACK and data, ESTABLISHED) where the request's own hook
/// drops them (a chain accepting only NEW): `-I CHAIN N -s PEERS -d HOST -p P --dport PORTS
/// --ctstate ESTABLISHED -j ACCEPT`. Only packets of connections the kernel has already seen
/// are ESTABLISHED: no new connection is admitted.
fn later(cx: &Ctx<'_>) -> Result<(String, Add, String), String> {
    let rs = cx.rs;
    let pl = rs
        .pipeline(cx.hook)
        .ok_or("the firewall has no chain for this direction")?;
    let denied: Vec<&crate::model::Outcome> = cx.later.iter().collect();
    let policies: Vec<usize> = denied
        .iter()
        .flat_map(|o| o.deciders.iter().map(|d| d.policy))
        .collect();
    let place = place(rs, pl, &denied, &policies)?;
    accept_on_request_path(
        cx,
        place,
        ConnState::Established,
        &cx.reply_peers,
        "later packets",
    )
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
