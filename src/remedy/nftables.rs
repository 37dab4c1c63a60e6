//! nftables: one `nft insert rule FAMILY TABLE CHAIN position HANDLE ...` (or `index N` when the
//! listing has no handles, or `add rule` when the chain's policy decides) in every base chain
//! that drops the flow. nftables differs from iptables here: an `accept` ends only its own base
//! chain (nft(8), "VERDICT STATEMENT"), so a base chain of higher priority at the same hook that
//! drops the packets still drops them after the first one accepts. The remedy therefore walks the
//! hook's base chains in priority order on the changed model: it adds a rule to the first base
//! chain that still denies, evaluates again, and goes on until nothing denies (at most one rule
//! per base chain). The replies, where the reverse hook drops them (`policy drop` on `output`
//! with no `ct state established` accept), get the same treatment.
//!
//! Each rule names the table's family exactly: `ip saddr`/`ip6 saddr` for the addresses, and in
//! an `inet` table with no address to match, `meta nfproto ipv4|ipv6`, so that the rule admits
//! exactly what was verified on this family's model and nothing of the other family.

use super::{insert_rules, new_rule, position, Add, Addrs, Ctx, Fix, Proposal, PEERS};
use crate::engine::reach::{Reach, Region};
use crate::model::ports::{ConnState, PortSet};
use crate::model::{Family, NativeRef, Outcome, PacketBox, Pipeline, Ruleset, Verdict};

/// Where one new rule goes in its base chain.
struct Place {
    /// `position H` (before the rule with handle H), `index N` (before the rule at 0-based
    /// position N), or nothing (`add rule`: at the end, before the policy).
    at: Option<At>,
    /// The 1-based position of the rule it goes before (0: the end), for the model.
    index: u32,
}

enum At {
    Handle(u64),
    Index(u32),
}

pub(super) fn propose(cx: &Ctx<'_>, needs_replies: bool) -> Result<Proposal, String> {
    let mut lines = Vec::new();
    let mut adds: Vec<Add> = Vec::new();
    let mut no_handles = false;
    if !cx.denied.is_empty() {
        no_handles |= own_hook(cx, ConnState::New, &cx.peer_set, "", &mut adds, &mut lines)?;
    }
    if !cx.later.is_empty() {
        // the client's later packets (ESTABLISHED) through the request's own hook
        no_handles |= own_hook(
            cx,
            ConnState::Established,
            &cx.reply_peers,
            " later packets",
            &mut adds,
            &mut lines,
        )?;
    }
    if needs_replies {
        let back = cx.hook.reverse();
        let bp = cx
            .rs
            .pipeline(back)
            .ok_or("the firewall has no base chain for the replies")?;
        let rr = super::reply_region(cx.region, cx.peers_are_sources, &cx.reply_peers);
        let (lo, hi) = crate::engine::reach::EPHEMERAL;
        let mut b = cx.rule_box(&cx.reply_peers, &cx.host_set, cx.ports.clone());
        std::mem::swap(&mut b.src, &mut b.dst);
        b.sport = cx.ports.clone();
        b.dport = PortSet::range(lo, hi);
        b.state = ConnState::Established.set();
        let (src, dst) = if cx.peers_are_sources {
            (&cx.host, &cx.peers)
        } else {
            (&cx.peers, &cx.host)
        };
        let p = cx.proto_name();
        let spec = format!(
            "{}{p} sport {} {p} dport {lo}-{hi} ct state established counter accept comment \"portolan: {} replies\"",
            addresses(cx, src, dst),
            ports(&cx.ports),
            cx.rec.requirement
        );
        // the request's rules are in place when the replies are walked
        no_handles |= walk(cx, bp, &rr, &b, &spec, &mut adds, &mut lines)?;
    }
    let mut notes = Vec::new();
    if no_handles {
        notes.push(
            "the listing has no handles, so the place is an `index` (the chain's rules counted from 0 as listed); with `nft -a list ruleset` the fix names the handle".to_string(),
        );
    }
    if let Some(n) = cx.placeholder_note(&format!("`{PEERS}`")) {
        notes.push(n);
    }
    Ok(Proposal {
        fix: Fix {
            platform: "nftables",
            lines,
            table: None,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            firewall: cx.rs.platform.name(),
            verified: String::new(),
        },
        adds,
        host_addressable: true,
        reply_any_sport: false,
    })
}

/// Add `b` (printed as `spec`) to every base chain of `pl` that denies part of `region`, in
/// priority order, each checked on the model with the rules before it in place. Returns whether
/// a place had to be named by index (no handles in the listing).
fn walk(
    cx: &Ctx<'_>,
    pl: &Pipeline,
    region: &Region,
    b: &PacketBox,
    spec: &str,
    adds: &mut Vec<Add>,
    lines: &mut Vec<String>,
) -> Result<bool, String> {
    let mut no_handles = false;
    let mut fixed: Vec<usize> = Vec::new();
    for _ in 0..=pl.stages.len() {
        // nothing added yet: the ruleset itself (with its evaluation caches)
        let after = if adds.is_empty() {
            std::borrow::Cow::Borrowed(cx.rs)
        } else {
            std::borrow::Cow::Owned(apply(cx.rs, adds))
        };
        // the first base chain (in the order they run) where part of the region is dropped
        let Some((k, denied)) = first_denying(&after, pl, region) else {
            return Ok(no_handles);
        };
        if fixed.contains(&k) {
            // an accept there did not help (a rule it cannot precede): verification says which
            return Ok(no_handles);
        }
        fixed.push(k);
        let stage = pl.stages[k];
        let p = after.policies.get(stage.policy).ok_or("no such table")?;
        let entry = p.chains.get(stage.chain).ok_or("no such chain")?;
        let (family, table) = table_of(&p.name);
        let denied: Vec<&Outcome> = denied.iter().collect();
        let place = place(&after, stage.policy, entry, &denied);
        let verb = match &place.at {
            Some(At::Handle(h)) => {
                format!("insert rule {family} {table} {} position {h}", entry.name)
            }
            Some(At::Index(i)) => {
                no_handles = true;
                format!("insert rule {family} {table} {} index {i}", entry.name)
            }
            None => format!("add rule {family} {table} {}", entry.name),
        };
        let nfproto = if family == "inet" && !spec.starts_with("ip") {
            match cx.rs.family {
                Some(Family::V6) => "meta nfproto ipv6 ",
                _ => "meta nfproto ipv4 ",
            }
        } else {
            ""
        };
        lines.push(format!("nft '{verb} {nfproto}{spec}'"));
        adds.push(Add {
            policy: stage.policy,
            chain: stage.chain,
            rule: new_rule(
                b.clone(),
                NativeRef::Nft {
                    family: family.to_string().into(),
                    table: table.into(),
                    chain: entry.name.as_str().into(),
                    handle: match place.at {
                        Some(At::Handle(h)) => Some(h),
                        _ => None,
                    },
                    index: place.index,
                    content: 0,
                },
                format!("{family} {table} {} (fix)", entry.name),
            ),
        });
    }
    Ok(no_handles)
}

/// Accept the flow's packets in `state` (NEW: the request; ESTABLISHED: the client's later
/// packets) from `peers` in every base chain of the request's own hook that drops them.
fn own_hook(
    cx: &Ctx<'_>,
    state: ConnState,
    peers: &crate::model::AddrSet,
    comment: &str,
    adds: &mut Vec<Add>,
    lines: &mut Vec<String>,
) -> Result<bool, String> {
    let pl = cx
        .rs
        .pipeline(cx.hook)
        .ok_or("the firewall has no base chain for this direction")?;
    let mut region = cx.flow_region();
    if state != ConnState::New {
        // the request's region keeps the states it was evaluated in
        region.state = state.set();
    }
    let mut b = cx.rule_box(peers, &cx.host_set, cx.ports.clone());
    b.state = state.set();
    let (src, dst) = if cx.peers_are_sources {
        (&cx.peers, &cx.host)
    } else {
        (&cx.host, &cx.peers)
    };
    let word = state.to_string().to_ascii_lowercase();
    let spec = format!(
        "{}{} dport {} ct state {word} counter accept comment \"portolan: {}{comment}\"",
        addresses(cx, src, dst),
        cx.proto_name(),
        ports(&cx.ports),
        cx.rec.requirement
    );
    walk(cx, pl, &region, &b, &spec, adds, lines)
}

/// The index in `pl.stages` of the first base chain that drops part of `region` (the pipeline
/// cut after it denies, the one cut before it does not), with the denied pieces there.
fn first_denying(rs: &Ruleset, pl: &Pipeline, region: &Region) -> Option<(usize, Vec<Outcome>)> {
    // without a diverted path the cuts are cuts of the whole pipeline: the first that denies
    // is the answer, and none denies when the whole does not
    if !pl.diverted.is_empty() {
        let whole = Reach::evaluate(rs, pl, region);
        if !whole.outcomes.iter().any(|o| o.verdict == Verdict::Deny) {
            return None;
        }
    }
    // the cut after each stage in turn, in one evaluation
    let b = region.to_box();
    if b.is_empty() {
        return None;
    }
    rs.first_deny(pl, &b)
}

/// `inet filter` (or `ip nat (nat)`) → (`inet`, `filter`).
fn table_of(policy: &str) -> (&str, &str) {
    let name = policy.strip_suffix(" (nat)").unwrap_or(policy);
    name.split_once(' ').unwrap_or(("inet", name))
}

/// The place in `entry` before the first rule on the path of `denied` there: the rule that
/// drops them or the jump that takes them to it (none: the chain's policy decides).
fn place(rs: &Ruleset, pi: usize, entry: &crate::model::Chain, denied: &[&Outcome]) -> Place {
    let Some(p) = rs.policies.get(pi) else {
        return Place { at: None, index: 0 };
    };
    let mut first: Option<(u32, Option<u64>)> = None;
    for r in super::rules_on_path(pi, entry, denied) {
        if let Some(NativeRef::Nft { index, handle, .. }) = p.rules.get(r).map(|r| &r.native) {
            if first.is_none_or(|(i, _)| *index < i) {
                first = Some((*index, *handle));
            }
        }
    }
    match first {
        None => Place { at: None, index: 0 },
        Some((index, Some(h))) => Place {
            at: Some(At::Handle(h)),
            index,
        },
        Some((index, None)) => Place {
            at: Some(At::Index(index - 1)),
            index,
        },
    }
}

/// `ip saddr X ip daddr Y ` (either left out when it is any address).
fn addresses(cx: &Ctx<'_>, src: &Addrs, dst: &Addrs) -> String {
    let ip = match cx.rs.family {
        Some(Family::V6) => "ip6",
        _ => "ip",
    };
    let mut s = String::new();
    if let Some(a) = addr(src) {
        s.push_str(&format!("{ip} saddr {a} "));
    }
    if let Some(a) = addr(dst) {
        s.push_str(&format!("{ip} daddr {a} "));
    }
    s
}

fn addr(a: &Addrs) -> Option<String> {
    match a {
        Addrs::Any => None,
        Addrs::Cidrs(c) if c.len() == 1 => Some(c[0].clone()),
        Addrs::Cidrs(c) => Some(format!("{{ {} }}", c.join(", "))),
        Addrs::Placeholder => Some(PEERS.to_string()),
    }
}

/// `9081` or `{ 4005-4009, 9081 }`.
fn ports(set: &PortSet) -> String {
    let r = super::port_ranges(set, "-");
    if r.len() == 1 {
        r[0].clone()
    } else {
        format!("{{ {} }}", r.join(", "))
    }
}

/// A rule goes before the rule listed at its 1-based `index` (0: at the end).
pub(super) fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    insert_rules(rs, adds, |p, rules, new| {
        let n = match new.native {
            NativeRef::Nft { index, .. } if index > 0 => index,
            _ => return rules.len(),
        };
        position(
            rules,
            |r| matches!(p.rules.get(r).map(|x| &x.native), Some(NativeRef::Nft { index, .. }) if *index >= n),
        )
    })
}
