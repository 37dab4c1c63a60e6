//! The one place fixes are made (Invariant 4). For a blocked or partly blocked flow, each
//! platform's module proposes the smallest native change that admits exactly the denied part of
//! the flow (its denied peers, the host when the inventory knows it, the flow's protocol and
//! ports, new connections), placed where the evaluation shows the denied packets pass; the model
//! rules of that change are then applied to a copy of the ruleset and the flow is evaluated
//! again ([`verify`]). A fix is printed only when the flow then passes (replies too, on stateless
//! filters) and nothing outside the flow's denied region becomes allowed; otherwise the remedy
//! says why no single change can fix it.
//!
//! The flows of one audited firewall are remedied together, in a fixed order ([`Batch`]): a fix
//! never reuses an Azure priority or rule name, or a network ACL rule number, that an earlier
//! fix of that firewall uses (Azure and AWS refuse duplicates per NSG/ACL and direction), so
//! the numbers are distinct and the same for the same input. Those numbered fixes are then
//! verified together as well: all applied to one copy, every one of their flows passes and
//! nothing outside their denied regions opens.
//!
//! - [`iptables`]: `-I CHAIN N` / `-A CHAIN` in the table that denies, before the first rule on the
//!   denied packets' path in its entry chain.
//! - [`nftables`]: `nft insert rule ... position H` / `add rule` in every base chain that drops
//!   the flow, in priority order (an `accept` ends only its own base chain).
//! - [`azure`]: `az network nsg rule create` at a free priority ahead of every denying rule.
//! - [`aws_sg`]: `aws ec2 authorize-security-group-ingress|egress` on a real group id.
//! - [`aws_nacl`]: `aws ec2 create-network-acl-entry` pairs (request and replies: stateless).
//! - [`windows`]: `New-NetFirewallRule`, unless a block rule decides (block wins over allow).
//! - [`later`]: the client's later packets (ESTABLISHED on the request's hook), which iptables
//!   and nftables fixes admit where they are dropped and are verified with.
//!
//! The text of every rule comes from the model (addresses, ports, native references and the
//! ruleset's platform), never from display labels.

mod aws_nacl;
mod aws_sg;
mod azure;
mod batch;
mod iptables;
mod later;
mod nftables;
mod windows;

use serde::{Deserialize, Serialize};

pub use batch::Batch;
pub(crate) use batch::Taken;

use crate::engine::reach::{Reach, Region};
use crate::engine::FlowRecord;
use crate::model::ports::{all_states, PortSet, ProtoSet};
use crate::model::{
    AddrSet, ChainId, Hook, Outcome, PacketBox, Pipeline, Platform, Rule, Ruleset, Verdict,
};

/// One verified change that fixes one flow. Serialized (JSON flow `fix`, `portolan fix`) with
/// `platform`, `lines`, `table` and `note` (those two only when set), `firewall`, `verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// `iptables`, `nftables`, `windows`, `azure`, `aws`.
    #[serde(deserialize_with = "crate::engine::shard::intern")]
    pub platform: crate::engine::shard::Word,
    /// What to run or insert, one entry per line.
    pub lines: Vec<String>,
    /// For iptables: the table whose `COMMIT` the lines go before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Anything the user must fill in (a placeholder) or know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The firewall kind exactly (`aws-security-group`, `aws-network-acl`, ...).
    #[serde(deserialize_with = "crate::engine::shard::intern")]
    pub firewall: crate::engine::shard::Word,
    /// What the re-evaluation of the changed model showed.
    pub verified: String,
}

/// What can be done about one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// A verified change.
    Fix(Fix),
    /// Why no single change can fix it.
    Cannot(String),
}

impl Remedy {
    /// The help text of the flow's Z101/Z102: the fix's lines, or why there is none.
    pub fn help(&self) -> String {
        match self {
            Remedy::Fix(f) => {
                let lines: Vec<String> = f.lines.iter().map(|l| format!("`{l}`")).collect();
                let mut s = format!("fix: {}", lines.join(" and "));
                if let Some(t) = &f.table {
                    s.push_str(&format!(" (in table `{t}`)"));
                }
                if let Some(n) = &f.note {
                    s.push_str(&format!("; note: {n}"));
                }
                s
            }
            Remedy::Cannot(why) => format!("no single change can fix it: {why}"),
        }
    }
}

/// How a fix's rule names one side's addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addrs {
    /// Any address (the side is not restricted).
    Any,
    /// These CIDRs.
    Cidrs(Vec<String>),
    /// Unknown peers (no inventory): the user fills the placeholder in.
    Placeholder,
}

/// The placeholder printed for unknown peers.
pub(crate) const PEERS: &str = "PEERS";

/// Everything a platform needs to propose a fix for one flow.
pub(crate) struct Ctx<'a> {
    pub rec: &'a FlowRecord,
    pub rs: &'a Ruleset,
    pub hook: Hook,
    pub region: &'a Region,
    /// The denied pieces of the request.
    pub denied: Vec<&'a Outcome>,
    /// The peers are the sources (inbound, or the opener through a boundary).
    pub peers_are_sources: bool,
    /// The peers the request's fix must admit (the denied ones), in the model; in quick mode a
    /// stand-in for the unknown peers.
    pub peer_set: AddrSet,
    pub peers: Addrs,
    /// The guarded host's side (or the server's, through a boundary).
    pub host_set: AddrSet,
    pub host: Addrs,
    pub proto: u8,
    pub ports: PortSet,
    /// The peers every admitted connection has (admitted before or by the fix): whose replies a
    /// stateless filter must let back.
    pub reply_peers: AddrSet,
    /// What the firewall's earlier fixes already use.
    pub taken: &'a Taken,
    /// The denied pieces of the client's later packets (its ACK and data, ESTABLISHED), once
    /// the request is admitted ([`later_denied`]).
    pub later: Vec<Outcome>,
}

impl Ctx<'_> {
    pub fn inbound(&self) -> bool {
        self.hook != Hook::Output
    }

    /// The flow's region restricted to [`Ctx::reply_peers`] (in quick mode, the stand-in peers):
    /// what a fix is verified on.
    pub fn flow_region(&self) -> Region {
        let mut region = self.region.clone();
        if self.peers_are_sources {
            region.src = region.src.intersect(&self.reply_peers);
        } else {
            region.dst = region.dst.intersect(&self.reply_peers);
        }
        region
    }

    pub fn proto_name(&self) -> &'static str {
        if self.proto == crate::model::ports::UDP {
            "udp"
        } else {
            "tcp"
        }
    }

    /// The model box of a rule admitting `peers` to/from `host` on the flow's ports, any state
    /// (platforms whose rules do not match connection state), any interface.
    pub fn rule_box(&self, peers: &AddrSet, host: &AddrSet, ports: PortSet) -> PacketBox {
        // what a rule without an address says: any
        let any = self.rs.address_space();
        let peers = if self.peers == Addrs::Any {
            &any
        } else {
            peers
        };
        let mut b = PacketBox::full();
        b.proto = ProtoSet::single(self.proto);
        b.dport = ports;
        b.state = all_states();
        if self.peers_are_sources {
            b.src = peers.clone();
            b.dst = host.clone();
        } else {
            b.src = host.clone();
            b.dst = peers.clone();
        }
        b
    }

    /// The placeholder note of quick mode, or `None` when the peers are known.
    pub fn placeholder_note(&self, form: &str) -> Option<String> {
        (self.peers == Addrs::Placeholder).then(|| {
            let role = if self.peers_are_sources {
                &self.rec.from_role
            } else {
                &self.rec.to_role
            };
            format!(
                "{form} is a placeholder: put the addresses of the {role} hosts there (the audit had no inventory, so the peers are unknown); verified on the model with {} ({}) standing in for them",
                if self.denied.is_empty() {
                    "the peers the request admits"
                } else if self.peers_are_sources {
                    "the denied sources"
                } else {
                    "the denied destinations"
                },
                shown(&self.peer_set)
            )
        })
    }

    pub fn addr_name(&self, at: usize) -> String {
        format!("portolan-{}-{at}", short(&self.rec.requirement))
    }
}

fn short(req: &str) -> &str {
    req.rsplit('.').next().unwrap_or(req)
}

/// A set for a message: its CIDRs, or how many.
pub(crate) fn shown(set: &AddrSet) -> String {
    let (c, n) = set.to_cidrs_head(4);
    if n > 4 {
        format!("{} and {} more", c.join(", "), n - 4)
    } else {
        c.join(", ")
    }
}

/// One model rule a fix adds: in which policy and chain. Its place in the chain follows from its
/// native reference, by the platform's `apply`.
#[derive(Debug, Clone)]
pub(crate) struct Add {
    pub policy: usize,
    pub chain: ChainId,
    pub rule: Rule,
}

/// What a platform proposes: the printed fix (its `verified` still empty) and its model rules.
pub(crate) struct Proposal {
    pub fix: Fix,
    pub adds: Vec<Add>,
    /// The platform cannot name the guarded host's addresses in a rule (security groups and
    /// network ACLs apply to what they are attached to): the host side is not compared.
    pub host_addressable: bool,
    /// Network ACLs cannot match source ports: the return entries' source ports are not compared.
    pub reply_any_sport: bool,
}

/// A new rule of the model, for a fix.
pub(crate) fn new_rule(matches: PacketBox, native: crate::model::NativeRef, label: String) -> Rule {
    Rule {
        matches,
        undecidable: Vec::new(),
        mark: None,
        action: crate::model::Action::Accept,
        prov: crate::model::Provenance {
            label: label.into(),
            ..Default::default()
        },
        comment: Some("portolan fix".into()),
        native,
        builtin: false,
    }
}

/// Insert `adds` into a copy of `rs`, each at the position `at` gives for it in its chain (as
/// the chain is before this add).
pub(crate) fn insert_rules(
    rs: &Ruleset,
    adds: &[Add],
    at: impl Fn(&crate::model::Policy, &[usize], &Rule) -> usize,
) -> Ruleset {
    let mut out = rs.clone(); // a clone's union cache starts empty
    for a in adds {
        let Some(p) = out.policies.get_mut(a.policy) else {
            continue;
        };
        // only the policy the rule goes into is copied
        let p = std::sync::Arc::make_mut(p);
        let id = p.rules.len();
        p.rules.push(a.rule.clone());
        let Some(chain) = p.chains.get(a.chain) else {
            continue;
        };
        let pos = at(p, &chain.rules, &a.rule).min(chain.rules.len());
        p.chains[a.chain].rules.insert(pos, id);
    }
    out
}

/// The remedy for a blocked or partly blocked flow evaluated as `reach` (request) over
/// `region`, or `None` when neither the request nor (on a stateless filter) its replies are
/// denied anywhere; with a fix, what it was verified against. Numbers and names in `taken` are
/// not used again.
pub(crate) fn compute(
    rec: &FlowRecord,
    region: &Region,
    reach: &Reach,
    rs: &Ruleset,
    pipeline: &Pipeline,
    taken: &Taken,
) -> Option<(Remedy, Option<Checked>)> {
    let hook = pipeline.hook;
    let peers_are_sources = hook != Hook::Output;
    // in quick mode a request some peer gets through is allowed (the peers are unknown): only
    // its replies can still need a fix
    let quick_allowed =
        !rec.exact_peers && reach.outcomes.iter().any(|o| o.verdict == Verdict::Allow);
    let denied: Vec<&Outcome> = reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Deny && !quick_allowed)
        .collect();
    let union = |f: fn(&PacketBox) -> &AddrSet, v: Verdict| {
        // one sort, not a union per outcome (a blocklist decides thousands of pieces)
        AddrSet(crate::model::IntervalSet::from_ranges(
            reach
                .outcomes
                .iter()
                .filter(|o| o.verdict == v && !(quick_allowed && v == Verdict::Deny))
                .flat_map(|o| f(&o.space).0.ranges().iter().copied()),
        ))
    };
    fn src_of(b: &PacketBox) -> &AddrSet {
        &b.src
    }
    fn dst_of(b: &PacketBox) -> &AddrSet {
        &b.dst
    }
    type Side = fn(&PacketBox) -> &AddrSet;
    let (peer_of, host_of): (Side, Side) = if peers_are_sources {
        (src_of, dst_of)
    } else {
        (dst_of, src_of)
    };
    let reply_peers = union(peer_of, Verdict::Deny).union(&union(peer_of, Verdict::Allow));
    // only the replies denied: the fix is for the peers that get in
    let (peer_set, host_set) = if denied.is_empty() {
        (reply_peers.clone(), union(host_of, Verdict::Allow))
    } else {
        (union(peer_of, Verdict::Deny), union(host_of, Verdict::Deny))
    };
    let needs_replies = rs.replies_filtered() && replies_denied(rs, hook, region, &reply_peers);
    let later = later::denied(rs, pipeline, reach);
    if denied.is_empty() && !needs_replies && later.is_empty() {
        return None;
    }
    let remote = rs.address_space().difference(&AddrSet::loopback());
    let side = |set: &AddrSet, exact: bool| {
        if remote.is_subset(set) {
            Addrs::Any
        } else if exact {
            Addrs::Cidrs(set.to_cidrs())
        } else {
            Addrs::Placeholder
        }
    };
    let peers = if rec.exact_peers {
        side(&peer_set, true)
    } else {
        Addrs::Placeholder
    };
    let host = match side(&host_set, rec.exact_peers) {
        Addrs::Placeholder => Addrs::Any,
        h => h,
    };
    let (proto, ports) = {
        let src = if denied.is_empty() {
            vec![(region.proto.clone(), region.dport.clone())]
        } else {
            denied
                .iter()
                .map(|o| (o.space.proto.clone(), o.space.dport.clone()))
                .collect()
        };
        let proto = src.iter().fold(ProtoSet::empty(), |a, (p, _)| a.union(p));
        let ports = src.iter().fold(PortSet::empty(), |a, (_, d)| a.union(d));
        (proto, ports)
    };
    let [(lo, hi)] = proto.ranges() else {
        return Some((
            Remedy::Cannot("the denied part spans several protocols".into()),
            None,
        ));
    };
    if lo != hi {
        return Some((
            Remedy::Cannot("the denied part spans several protocols".into()),
            None,
        ));
    }
    let cx = Ctx {
        rec,
        rs,
        hook,
        region,
        denied,
        peers_are_sources,
        peer_set,
        peers,
        host_set: match &host {
            Addrs::Any => rs.address_space(),
            _ => host_set,
        },
        host,
        proto: *lo,
        ports,
        reply_peers,
        taken,
        later,
    };
    let proposal = match rs.platform {
        Platform::Iptables => iptables::propose(&cx, needs_replies),
        Platform::AzureNsg => azure::propose(&cx),
        Platform::AwsSecurityGroup => aws_sg::propose(&cx),
        Platform::AwsNetworkAcl => aws_nacl::propose(&cx, needs_replies),
        Platform::WindowsFirewall => windows::propose(&cx),
        Platform::Nftables => nftables::propose(&cx, needs_replies),
    };
    Some(match proposal {
        Err(why) => (Remedy::Cannot(why), None),
        Ok(p) => match verify(&cx, &p) {
            Ok((text, checked)) => {
                let mut fix = p.fix;
                fix.verified = text;
                (Remedy::Fix(fix), Some(checked))
            }
            Err(why) => (Remedy::Cannot(why), None),
        },
    })
}

/// The replies of the flow to/from `peers`, restricted to them.
pub(crate) fn reply_region(region: &Region, peers_are_sources: bool, peers: &AddrSet) -> Region {
    let mut r = region.replies();
    if peers_are_sources {
        r.dst = r.dst.intersect(peers);
    } else {
        r.src = r.src.intersect(peers);
    }
    r
}

fn replies_denied(rs: &Ruleset, hook: Hook, region: &Region, peers: &AddrSet) -> bool {
    let Some(bp) = rs.pipeline(hook.reverse()) else {
        return false;
    };
    let r = reply_region(region, hook != Hook::Output, peers);
    Reach::evaluate(rs, bp, &r)
        .outcomes
        .iter()
        .any(|o| o.verdict == Verdict::Deny)
}

/// Apply a proposal to a copy of the ruleset, the platform's way.
fn apply(rs: &Ruleset, adds: &[Add]) -> Ruleset {
    match rs.platform {
        Platform::Iptables => iptables::apply(rs, adds),
        Platform::AzureNsg => azure::apply(rs, adds),
        Platform::AwsSecurityGroup => aws_sg::apply(rs, adds),
        Platform::AwsNetworkAcl => aws_nacl::apply(rs, adds),
        Platform::WindowsFirewall => windows::apply(rs, adds),
        Platform::Nftables => nftables::apply(rs, adds),
    }
}

/// The deciders of denied pieces, by label, for messages.
fn deny_labels(rs: &Ruleset, outcomes: &[Outcome]) -> String {
    let mut names: Vec<String> = Vec::new();
    for o in outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
        for at in &o.deciders {
            if let Some(p) = rs.provenance(*at) {
                let n = format!("`{}`", p.label);
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    if names.is_empty() {
        "something".into()
    } else {
        names.join(", ")
    }
}

/// More than this many boxes in a comparison: too complex to verify, so no fix is printed.
const MAX_BOXES: usize = 20_000;

/// `a \ b` over lists of boxes, or `None` when it grows past [`MAX_BOXES`].
fn minus(a: Vec<PacketBox>, b: &[PacketBox]) -> Option<Vec<PacketBox>> {
    let mut rest = a;
    for m in b {
        let mut next = Vec::new();
        for x in rest {
            x.subtract_into(m, &mut next);
        }
        if next.len() > MAX_BOXES {
            return None;
        }
        rest = next;
    }
    Some(rest)
}

/// What a verified fix was checked against, to check it again with the firewall's other fixes
/// ([`Batch`]).
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub hook: Hook,
    /// The flow's region (with the stand-in peers in quick mode).
    pub region: Region,
    /// On a stateless filter: the region of the peers' replies.
    pub replies: Option<Region>,
    /// Whether the client's later packets are checked (a stateful iptables or nftables host).
    pub later: bool,
    /// The denied region the change may open (request and replies).
    pub targets: Vec<PacketBox>,
    pub adds: Vec<Add>,
}

/// Check a proposal on the model (Invariant 4): applied to a copy of the ruleset, (a) the flow
/// has no denied piece (and, on a stateless filter, neither have the replies of its peers), and
/// (b) of what the new rules match, nothing becomes allowed outside the flow's denied region (and
/// its denied replies). Returns what was checked, or why the change does not fix the flow.
pub(crate) fn verify(cx: &Ctx<'_>, p: &Proposal) -> Result<(String, Checked), String> {
    let rs = cx.rs;
    let after = apply(rs, &p.adds);
    // the region of the fix: the flow, with the stand-in peers in quick mode
    let region = cx.flow_region();
    let pl = after
        .pipeline(cx.hook)
        .ok_or("the firewall has no pipeline for this direction")?;
    let now = still_denied(&after, pl, &region).map_err(|labels| {
        format!(
            "after adding an allow rule where the packets pass, {labels} still denies the flow{}",
            if p.fix.platform == "iptables" || rs.policies.len() > 1 {
                " (a later stage, or a rule the new one cannot precede)"
            } else {
                ""
            }
        )
    })?;
    let mut checked = vec!["the flow is allowed after the change".to_string()];
    let later = rs.replies_filtered() && !rs.stateless;
    if later {
        later::pass(&after, pl, &now).map_err(|labels| {
            format!(
                "{labels} still drops the client's later packets (ESTABLISHED) after the change"
            )
        })?;
        if !cx.later.is_empty() {
            checked.push(format!("the client's later packets get in ({})", pl.name));
        }
    }
    let unknown = now
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Unknown)
        .count();
    if unknown > 0 {
        checked.push(format!(
            "{unknown} piece(s) stay unknown as before ({})",
            now.unknown_reasons().join("; ")
        ));
    }
    // the denied region the change may open: the request's denied pieces, and the replies'
    let widen = |b: &PacketBox, reply: bool| {
        let mut b = b.clone();
        b.iif = PacketBox::full().iif;
        b.oif = PacketBox::full().oif;
        if !matches!(rs.platform, Platform::Iptables | Platform::Nftables) {
            b.state = all_states();
        }
        if !p.host_addressable {
            if cx.peers_are_sources != reply {
                b.dst = AddrSet::any();
            } else {
                b.src = AddrSet::any();
            }
        }
        if reply && p.reply_any_sport {
            b.sport = PortSet::full();
        }
        b
    };
    let mut targets: Vec<PacketBox> = cx.denied.iter().map(|o| widen(&o.space, false)).collect();
    targets.extend(cx.later.iter().map(|o| widen(&o.space, false)));
    let mut replies = None;
    if rs.replies_filtered() {
        let rr = reply_region(cx.region, cx.peers_are_sources, &cx.reply_peers);
        let bp = after
            .pipeline(cx.hook.reverse())
            .ok_or("the firewall has no pipeline for the replies")?;
        still_denied(&after, bp, &rr)
            .map_err(|labels| format!("{labels} still drops the replies after the change"))?;
        checked.push(format!(
            "the replies are let back ({})",
            rs.pipeline(cx.hook.reverse())
                .map(|p| p.name.as_str())
                .unwrap_or("?")
        ));
        if let Some(obp) = rs.pipeline(cx.hook.reverse()) {
            targets.extend(
                Reach::evaluate(rs, obp, &rr)
                    .outcomes
                    .iter()
                    .filter(|o| o.verdict == Verdict::Deny)
                    .map(|o| widen(&o.space, true)),
            );
        }
        replies = Some(rr);
    }
    opens(rs, &after, &p.adds, &targets)?;
    checked.push("nothing else opens".into());
    if cx.peers == Addrs::Placeholder {
        checked.push(format!("peers stood in for by {}", shown(&cx.reply_peers)));
    }
    Ok((
        format!("re-evaluated on the model: {}", checked.join("; ")),
        Checked {
            hook: cx.hook,
            region,
            replies,
            later,
            targets,
            adds: p.adds.clone(),
        },
    ))
}

/// `region` evaluated through `pl` of `after`: the evaluation when no piece is denied, or
/// (`Err`) the labels of what denies.
fn still_denied(after: &Ruleset, pl: &Pipeline, region: &Region) -> Result<Reach, String> {
    let now = Reach::evaluate(after, pl, region);
    if now.outcomes.iter().any(|o| o.verdict == Verdict::Deny) {
        return Err(deny_labels(after, &now.outcomes));
    }
    Ok(now)
}

/// (b) of [`verify`]: of what each rule of `adds` matches, in every pipeline that passes its
/// policy, nothing allowed in `after` that `rs` did not allow lies outside `targets`.
fn opens(rs: &Ruleset, after: &Ruleset, adds: &[Add], targets: &[PacketBox]) -> Result<(), String> {
    for a in adds {
        for (bp, ap) in rs.pipelines.iter().zip(&after.pipelines) {
            // only where packets can get to the changed chain: a stage of its policy entering
            // it, or a chain that jumps there (a rule in `filter/INPUT` changes nothing on
            // `FORWARD`)
            if !bp
                .stages
                .iter()
                .any(|s| s.policy == a.policy && leads_to(rs, a.policy, s.chain, a.chain))
            {
                continue;
            }
            let allowed = |r: &Ruleset, pl: &Pipeline| -> Vec<PacketBox> {
                r.evaluate(pl, &a.rule.matches)
                    .into_iter()
                    .filter(|o| o.verdict == Verdict::Allow)
                    .map(|o| o.space)
                    .collect()
            };
            let before = allowed(rs, bp);
            let opened = minus(allowed(after, ap), &before)
                .and_then(|o| minus(o, targets))
                .ok_or("the change is too complex to verify")?;
            if let Some(b) = opened.first() {
                return Err(format!(
                    "the smallest rule the platform can express would also admit packets outside the flow's denied part (e.g. from {} to {} on {}), so it is not suggested",
                    shown(&b.src),
                    shown(&b.dst),
                    crate::model::ports::port_string(&b.dport)
                ));
            }
        }
    }
    Ok(())
}

/// Can packets entering chain `from` of policy `pi` get to chain `to` (through jumps and gotos)?
fn leads_to(rs: &Ruleset, pi: usize, from: ChainId, to: ChainId) -> bool {
    let Some(p) = rs.policies.get(pi) else {
        return false;
    };
    let mut seen = vec![false; p.chains.len()];
    let mut stack = vec![from];
    while let Some(c) = stack.pop() {
        if c == to {
            return true;
        }
        if c >= seen.len() || std::mem::replace(&mut seen[c], true) {
            continue;
        }
        for &r in &p.chains[c].rules {
            if let Some(crate::model::Action::Jump(t) | crate::model::Action::Goto(t)) =
                p.rules.get(r).map(|r| r.action)
            {
                stack.push(t);
            }
        }
    }
    false
}

/// The first stage of the flow's pipeline whose policy denies part of it: where a fix goes.
pub(crate) fn denying_stage(cx: &Ctx<'_>) -> Result<crate::model::Stage, String> {
    let pipeline = cx
        .rs
        .pipeline(cx.hook)
        .ok_or("the firewall has no rules for this direction")?;
    let denying: Vec<usize> = cx
        .denied
        .iter()
        .flat_map(|o| o.deciders.iter().map(|d| d.policy))
        .collect();
    pipeline
        .stages
        .iter()
        .find(|s| denying.contains(&s.policy))
        .copied()
        .ok_or_else(|| "no stage on the path denies the flow".to_string())
}

/// The native position of a chain's rules: the model index before which a new rule goes so that
/// it comes before the first rule `after` says it must precede (or at the end).
pub(crate) fn position(rules: &[usize], after: impl Fn(usize) -> bool) -> usize {
    rules.iter().position(|&r| after(r)).unwrap_or(rules.len())
}

/// For each denied piece, the first rule of `entry` (a chain of policy `pi`) on its path: the
/// rule that drops it, or the jump that takes it to where it is dropped (none when the chain's
/// policy decides). A fix goes before the earliest of them.
pub(crate) fn rules_on_path<'a>(
    pi: usize,
    entry: &'a crate::model::Chain,
    denied: &'a [&'a Outcome],
) -> impl Iterator<Item = crate::model::RuleId> + 'a {
    use crate::model::Decider;
    denied.iter().filter_map(move |o| {
        o.via
            .iter()
            .filter(|(q, _)| *q == pi)
            .map(|(_, r)| *r)
            .chain(
                o.deciders
                    .iter()
                    .filter(|d| d.policy == pi)
                    .filter_map(|d| match d.decider {
                        Decider::Rule(r) | Decider::Loop(r) => Some(r),
                        Decider::ChainPolicy(_) => None,
                    }),
            )
            .find(|r| entry.rules.contains(r))
    })
}

/// A port set as ranges, `lo{sep}hi` for a range (`9081`, `4005:4009` or `4005-4009`).
pub(crate) fn port_ranges(ports: &PortSet, sep: &str) -> Vec<String> {
    ports
        .ranges()
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}{sep}{b}")
            }
        })
        .collect()
}
