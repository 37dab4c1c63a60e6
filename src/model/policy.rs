//! Policies and their exact evaluation over regions of packet space.
//!
//! Every platform's semantics lowers into chains evaluated first-match: iptables as written; NSG
//! rules sorted by priority; AWS security groups as a chain of allows ending in deny; Windows as
//! block rules before allow rules before the profile default. [`Semantics`] records which one it
//! was, for traces and messages.

use super::addr::Family;
use super::conntrack::Seen;
use super::rule::{Action, ChainId, Provenance, Rule, RuleId};
use super::space::{Cut, PacketBox};
use std::sync::OnceLock;

mod runs;
mod union;
#[cfg(test)]
use union::union_groups;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// iptables: chains, jumps, RETURN, policies, first match.
    FirstMatch,
    /// Azure NSG: ascending priority, first match, default rules.
    Priority,
    /// AWS security group: the union of allow rules, everything else denied.
    AllowUnion,
    /// Windows Defender Firewall: any matching block rule wins over allow rules.
    BlockWins,
    /// iptables `nat`: first match like `FirstMatch`; its rules rewrite destinations
    /// ([`Action::Translate`], `model::nat`) and never filter.
    Translate,
}

/// The final answer for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Allow,
    Deny,
    Unknown,
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// The verdict for packets falling off the end of a built-in chain; `None` for a user chain
    /// (they return to the caller).
    pub policy: Option<Verdict>,
    /// The declaration (`:INPUT DROP [0:0]`) or, for a default the export did not show, an empty span.
    pub decl: Provenance,
    /// Rules in evaluation order.
    pub rules: Vec<RuleId>,
}

/// Where traffic enters a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Packets to this host.
    Input,
    /// Packets from this host.
    Output,
    /// Packets passing through (a boundary firewall).
    Forward,
}

impl Hook {
    /// The hook a connection's replies pass: a host's replies to what it received leave by
    /// OUTPUT, replies to what it opened arrive by INPUT; a boundary forwards both ways.
    pub fn reverse(self) -> Hook {
        match self {
            Hook::Input => Hook::Output,
            Hook::Output => Hook::Input,
            Hook::Forward => Hook::Forward,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `filter/INPUT`
    pub name: String,
    pub hook: Hook,
    pub chain: ChainId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `filter` for an iptables table, the NSG or group name elsewhere.
    pub name: String,
    /// The address family the policy filters, when it filters one only (iptables vs ip6tables).
    pub family: Option<Family>,
    pub semantics: Semantics,
    pub chains: Vec<Chain>,
    pub rules: Vec<Rule>,
    pub entries: Vec<Entry>,
    /// For an allow union: the groups its allow rules split regions by, per chain, made on the
    /// first evaluation (an audit evaluates one policy some fifty times). Build a policy with
    /// `UnionCache::default()`; its rules must not change once it has been evaluated.
    pub union_cache: UnionCache,
}

/// The allow-rule groups of each union chain of a policy (see [`union_groups`]): each group's
/// box and the rules it is made of; and the runs of rules that differ in one address dimension
/// only, with which rule first matches each address (`runs.rs`). Both are made on the first
/// evaluation that needs them and emptied together when rules change.
#[derive(Default)]
pub struct UnionCache(
    std::sync::Mutex<std::collections::HashMap<ChainId, std::sync::Arc<OnceLock<UnionGroups>>>>,
    runs::RunCache,
);

type UnionGroups = Vec<(PacketBox, Vec<RuleId>)>;

impl UnionCache {
    /// The slot of `chain`'s groups: the first evaluation fills it (`get_or_init`) while others
    /// that ask meanwhile wait; the lock on the map is only held to find the slot.
    fn slot(&self, chain: ChainId) -> std::sync::Arc<OnceLock<UnionGroups>> {
        // a poisoned lock only means another evaluation panicked: the map is still whole
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(chain)
            .or_default()
            .clone()
    }
}

/// A copy starts empty: it may be changed before it is evaluated.
impl Clone for UnionCache {
    fn clone(&self) -> Self {
        UnionCache::default()
    }
}

/// Only a cache: never part of what a policy is.
impl PartialEq for UnionCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for UnionCache {}

impl std::fmt::Debug for UnionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnionCache")
    }
}

/// What decided a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decider {
    Rule(RuleId),
    /// The policy of this (built-in) chain.
    ChainPolicy(ChainId),
    /// A jump from this rule would enter a chain already being evaluated.
    Loop(RuleId),
}

/// The deciders of a piece: almost always one (a blocklist's flow is tens of thousands of
/// pieces, each of which would otherwise allocate its list).
pub type Deciders = smallvec::SmallVec<[Decider; 1]>;

/// One piece of an evaluated region: a box, its verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub space: PacketBox,
    pub verdict: Verdict,
    /// The rules or policies whose action is the verdict (several when an undecidable match made
    /// two paths agree, or disagree).
    pub deciders: Deciders,
    /// The jumps, gotos and returns taken on the way, in order.
    pub via: Via,
    /// For `Unknown`: what could not be decided.
    pub reasons: Vec<String>,
    /// The state later stages see these packets in (after a NOTRACK); `space` stays the packets
    /// as they arrived.
    pub seen: Seen,
}

/// A call stack of (chain, index of the next rule to look at): inline for the few chains deep
/// that rulesets nest, so that each jump's copy of it allocates nothing.
type Stack = smallvec::SmallVec<[(ChainId, usize); 4]>;

/// The jumps, gotos and returns a piece took: inline up to two (the size of a `Vec`), so that
/// the piece of each rule a region meets copies its path without the heap.
pub type Via = smallvec::SmallVec<[RuleId; 2]>;

/// The pieces of a region still going down a chain: one at the start, two or three once a rule
/// has cut it; inline up to two, so that entering a chain or meeting a rule allocates nothing.
type Pieces = smallvec::SmallVec<[PacketBox; 2]>;

/// A copy of a call stack or a path with room for one more item (a jump's frame, a jump or
/// return taken), so that a list past its inline room is copied once rather than copied and
/// then grown; copied as bytes (`SmallVec`'s `clone` pushes the items one at a time).
fn with_room<A: smallvec::Array>(items: &[A::Item]) -> smallvec::SmallVec<A>
where
    A::Item: Copy,
{
    let mut v = smallvec::SmallVec::with_capacity(items.len() + 1);
    v.extend_from_slice(items);
    v
}

/// How deep evaluation may nest (jumps plus undecidable rules on one path). Each level copies the
/// call stack and the path taken, so memory grows with the square of the depth: real rulesets
/// nest a handful of chains; past this the region is reported unknown.
pub const MAX_DEPTH: usize = 1_000;

/// An unknown piece names at most this many of the undecidable rules behind it (nested forks
/// would otherwise carry every one of thousands).
pub const MAX_DECIDERS: usize = 16;

/// How many rule visits one region evaluation may make before the rest is reported unknown
/// ("too complex"): overlapping undecidable rules can otherwise split and fork without end.
pub const MAX_WORK: u64 = 20_000_000;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
thread_local! {
    /// Tests lower the work bound to reach it, and turn the runs' fast path off to compare.
    static TEST_LIMIT: std::cell::Cell<u64> = const { std::cell::Cell::new(MAX_WORK) };
    static TEST_NO_RUNS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The work bound ([`MAX_WORK`]; lower in some tests).
fn work_limit() -> u64 {
    #[cfg(test)]
    return TEST_LIMIT.with(|l| l.get());
    #[cfg(not(test))]
    MAX_WORK
}

/// Whether runs are evaluated at once (`runs.rs`; some tests compare with rule by rule).
fn runs_on() -> bool {
    #[cfg(test)]
    return !TEST_NO_RUNS.with(|o| o.get());
    #[cfg(not(test))]
    true
}

impl Policy {
    pub fn entry(&self, hook: Hook) -> Option<&Entry> {
        self.entries.iter().find(|e| e.hook == hook)
    }

    pub fn chain_by_name(&self, name: &str) -> Option<ChainId> {
        self.chains.iter().position(|c| c.name == name)
    }

    /// The exact partition of `region` by verdict, starting at `entry`. The pieces are disjoint
    /// and cover `region`.
    pub fn evaluate(&self, entry: ChainId, region: &PacketBox) -> Vec<Piece> {
        self.evaluate_seen(entry, region, Seen::OWN)
    }

    /// [`Policy::evaluate`] for packets an earlier stage made be `seen` in another state.
    pub fn evaluate_seen(&self, entry: ChainId, region: &PacketBox, seen: Seen) -> Vec<Piece> {
        self.evaluate_owned(entry, region.clone(), seen)
    }

    /// [`Policy::evaluate_seen`] of a region the caller no longer needs (no copy of it).
    pub fn evaluate_owned(&self, entry: ChainId, region: PacketBox, seen: Seen) -> Vec<Piece> {
        let mut out = Vec::new();
        if region.is_empty() {
            return out;
        }
        if self.semantics == Semantics::AllowUnion && seen == Seen::OWN {
            if let Some(pieces) = self.evaluate_union(entry, &region) {
                return pieces;
            }
        }
        WORK.with(|w| w.set(0));
        self.run(
            smallvec::smallvec![(entry, 0)],
            Via::new(),
            region,
            seen,
            &mut out,
        );
        out
    }
}

impl Policy {
    /// Evaluate `region` as if it reached rule position `index` of `chain` (for "what would happen
    /// without this rule"). A user chain's end then counts as unknown (there is no caller).
    pub fn evaluate_from(&self, chain: ChainId, index: usize, region: &PacketBox) -> Vec<Piece> {
        let mut out = Vec::new();
        if !region.is_empty() {
            WORK.with(|w| w.set(0));
            self.run(
                smallvec::smallvec![(chain, index)],
                Via::new(),
                region.clone(),
                Seen::OWN,
                &mut out,
            );
        }
        out
    }

    fn run(&self, stack: Stack, via: Via, region: PacketBox, seen: Seen, out: &mut Vec<Piece>) {
        // every jump and every undecidable rule nests one call: bound the depth so that hostile
        // input (100k chains jumping in a line) gives an unknown piece, not a stack overflow
        let depth = DEPTH.with(|d| {
            let v = d.get() + 1;
            d.set(v);
            v
        });
        let work = WORK.with(|w| w.get());
        if depth > MAX_DEPTH || work > work_limit() {
            out.push(Piece {
                space: region,
                verdict: Verdict::Unknown,
                deciders: Default::default(),
                via,
                reasons: vec![if depth > MAX_DEPTH {
                    format!("evaluation nests more than {MAX_DEPTH} jumps or undecidable rules deep")
                } else {
                    format!("evaluation gave up after {MAX_WORK} rule visits (the region split into too many pieces)")
                }],
                seen,
            });
        } else {
            self.run_inner(stack, via, region, seen, out);
        }
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }

    fn run_inner(
        &self,
        mut stack: Stack,
        via: Via,
        region: PacketBox,
        seen: Seen,
        out: &mut Vec<Piece>,
    ) {
        let Some(&(chain, start)) = stack.last() else {
            return;
        };
        let Some(c) = self.chains.get(chain) else {
            return;
        };
        let mut remaining: Pieces = smallvec::smallvec![region];
        // runs of rules that differ in one address only are evaluated at once (`runs.rs`)
        let runs = (runs_on() && c.rules.len().saturating_sub(start) >= runs::MIN_RUN)
            .then(|| self.union_cache.1.of(self, chain))
            .flatten();
        // the end of a run the fast path declined: rule by rule until there
        let mut declined_until = 0;
        let mut idx = start;
        while idx < c.rules.len() {
            if remaining.is_empty() {
                return;
            }
            if idx >= declined_until {
                if let Some(run) = runs.and_then(|r| r.run_at(idx)) {
                    let all = remaining.into_vec();
                    match self.run_span(c, run, idx, &stack, &via, all, seen, out) {
                        runs::Span::Through(left) => {
                            remaining = Pieces::from_vec(left);
                            idx = run.end();
                            continue;
                        }
                        runs::Span::Ended => return,
                        runs::Span::Declined(back) => {
                            remaining = Pieces::from_vec(back);
                            declined_until = run.end();
                        }
                    }
                }
            }
            let pos = idx;
            let rid = c.rules[pos];
            idx += 1;
            let spent = WORK.with(|w| {
                let v = w.get() + remaining.len() as u64;
                w.set(v);
                v
            });
            if spent > work_limit() {
                give_up(remaining, &via, seen, out);
                return;
            }
            let Some(rule) = self.rules.get(rid) else {
                continue;
            };
            if rule.action == Action::Continue {
                continue; // both outcomes of a non-terminating rule lead to the next rule
            }
            // packets seen in a rewritten state: the rule's state test is all or nothing
            let Some(m) = seen.rule_box(&rule.matches) else {
                continue;
            };
            // a mark test on bits earlier rules set is decided for the whole piece
            let Some(undecidable) = rule.reasons_under(seen.mark) else {
                continue;
            };
            let m = m.as_ref();
            // a rule none of the pieces meets leaves them as they are (a chain of thousands of
            // rules each piece of a few meets)
            if !remaining.iter().any(|piece| piece.intersects(m)) {
                continue;
            }
            let mut next_remaining = Pieces::with_capacity(remaining.len());
            for piece in remaining {
                let hit = match piece.split(m, &mut next_remaining) {
                    Cut::Inside(hit) => hit,
                    Cut::Apart(piece) => {
                        next_remaining.push(piece);
                        continue;
                    }
                };
                if undecidable.is_empty() {
                    self.act(&stack, pos, rid, &via, hit, seen, out);
                } else {
                    // follow both worlds: the rule matched, or it did not
                    let mut matched = Vec::new();
                    self.act(&stack, pos, rid, &via, hit.clone(), seen, &mut matched);
                    let mut missed = Vec::new();
                    let mut cont = Stack::from_slice(&stack);
                    if let Some(top) = cont.last_mut() {
                        top.1 = pos + 1;
                    }
                    self.run(cont, Via::from_slice(&via), hit, seen, &mut missed);
                    combine(rid, &undecidable, matched, missed, out);
                }
            }
            remaining = next_remaining;
        }
        // fell off the end of the chain
        for piece in remaining {
            self.leave_chain(
                &mut Stack::from_slice(&stack),
                Via::from_slice(&via),
                None,
                piece,
                seen,
                out,
            );
        }
        stack.clear();
    }

    /// Apply a matching rule's action to `hit`.
    #[allow(clippy::too_many_arguments)]
    fn act(
        &self,
        stack: &Stack,
        idx: usize,
        rid: RuleId,
        via: &[RuleId],
        hit: PacketBox,
        seen: Seen,
        out: &mut Vec<Piece>,
    ) {
        let rule = &self.rules[rid];
        let done = |hit: PacketBox, verdict| Piece {
            space: hit,
            verdict,
            deciders: smallvec::smallvec![Decider::Rule(rid)],
            via: Via::from_slice(via),
            reasons: Vec::new(),
            seen,
        };
        match rule.action {
            Action::Accept | Action::Translate(_) => out.push(done(hit, Verdict::Allow)),
            Action::Drop | Action::Reject => out.push(done(hit, Verdict::Deny)),
            Action::Opaque => {
                let mut p = done(hit, Verdict::Unknown);
                p.reasons = if rule.undecidable.is_empty() {
                    vec![format!(
                        "{}: the verdict is not in the export",
                        rule.prov.label
                    )]
                } else {
                    rule.undecidable.clone()
                };
                out.push(p)
            }
            Action::Continue | Action::SetState(_) | Action::SetMark(_) => {
                let mut cont = Stack::from_slice(stack);
                if let Some(top) = cont.last_mut() {
                    top.1 = idx + 1;
                }
                let seen = match rule.action {
                    Action::SetState(s) => seen.with_state(s),
                    Action::SetMark(op) => Seen {
                        mark: seen.mark.apply(op),
                        ..seen
                    },
                    _ => seen,
                };
                self.run(cont, Via::from_slice(via), hit, seen, out);
            }
            Action::Return => {
                self.leave_chain(
                    &mut Stack::from_slice(stack),
                    with_room(via),
                    Some(rid),
                    hit,
                    seen,
                    out,
                );
            }
            Action::Jump(target) | Action::Goto(target) => {
                let goto = matches!(rule.action, Action::Goto(_));
                let mut next: Stack = with_room(stack);
                if goto && next.len() > 1 {
                    next.pop();
                } else if let Some(top) = next.last_mut() {
                    // a goto from the entry chain returns nowhere in it: coming back, the
                    // packet leaves that chain (the kernel's underflow to the hook's policy)
                    top.1 = if goto { usize::MAX } else { idx + 1 };
                }
                if stack.iter().any(|&(c, _)| c == target) || target >= self.chains.len() {
                    out.push(Piece {
                        space: hit,
                        verdict: Verdict::Unknown,
                        deciders: smallvec::smallvec![Decider::Loop(rid)],
                        via: Via::from_slice(via),
                        reasons: vec![format!(
                            "{} jumps into chain `{}`, which is already being evaluated (a loop)",
                            rule.prov.label,
                            self.chains
                                .get(target)
                                .map(|c| c.name.as_str())
                                .unwrap_or("?")
                        )],
                        seen,
                    });
                    return;
                }
                next.push((target, 0));
                let mut v: Via = with_room(via);
                v.push(rid);
                self.run(next, v, hit, seen, out);
            }
        }
    }

    /// A piece leaves the chain on top of `stack` (by RETURN rule `ret`, or by falling off).
    fn leave_chain(
        &self,
        stack: &mut Stack,
        mut via: Via,
        ret: Option<RuleId>,
        piece: PacketBox,
        seen: Seen,
        out: &mut Vec<Piece>,
    ) {
        let Some((chain, _)) = stack.pop() else {
            return;
        };
        if let Some(r) = ret {
            via.push(r);
        }
        let policy = self.chains.get(chain).and_then(|c| c.policy);
        match (policy, stack.is_empty()) {
            // a built-in chain: its policy decides, even for a RETURN in it
            (Some(v), _) => out.push(Piece {
                space: piece,
                verdict: v,
                deciders: smallvec::smallvec![Decider::ChainPolicy(chain)],
                via,
                reasons: Vec::new(),
                seen,
            }),
            // a user chain returns to its caller, which carries on after the jump
            // (every caller hands over a copy of its stack: it is taken, not copied again)
            (None, false) => self.run(std::mem::take(stack), via, piece, seen, out),
            // a user chain entered directly with nothing to return to
            (None, true) => out.push(Piece {
                space: piece,
                verdict: Verdict::Unknown,
                deciders: Default::default(),
                via,
                reasons: vec![format!(
                    "chain `{}` has no policy and no caller",
                    self.chains
                        .get(chain)
                        .map(|c| c.name.as_str())
                        .unwrap_or("?")
                )],
                seen,
            }),
        }
    }
}

/// The work bound was reached: what is left of the region is unknown.
fn give_up(
    remaining: impl IntoIterator<Item = PacketBox>,
    via: &[RuleId],
    seen: Seen,
    out: &mut Vec<Piece>,
) {
    for piece in remaining {
        out.push(Piece {
            space: piece,
            verdict: Verdict::Unknown,
            deciders: Default::default(),
            via: Via::from_slice(via),
            reasons: vec![format!(
                "evaluation gave up after {MAX_WORK} rule visits (the region split into too many pieces)"
            )],
            seen,
        });
    }
}

/// The deciders [`combine`] gives a piece: `first`'s, then those of `other` it lacks, up to
/// `cap` in all; with room for the undecidable rule's own in front of an unknown piece
/// (`decided` false). Made at its length, a list that stays within the inline one allocates
/// nothing and a longer one allocates once, not at each doubling.
fn merged(first: &[Decider], other: &[Decider], cap: usize, decided: bool) -> Deciders {
    let added = other.iter().filter(|d| !first.contains(d)).count();
    let room = first.len().max(cap.min(first.len() + added)) + usize::from(!decided);
    let mut deciders = Deciders::with_capacity(room);
    deciders.extend_from_slice(first);
    for d in other {
        if deciders.len() >= cap {
            break;
        }
        if !deciders.contains(d) {
            deciders.push(*d);
        }
    }
    deciders
}

/// Merge the two worlds of an undecidable rule `rid` over the same region: where both agree on
/// allow or deny, that is the verdict; elsewhere the piece is unknown. An allow on which the
/// worlds see the packets in different states (an undecidable NOTRACK) is unknown too: a later
/// stage could tell them apart. Where they know different marks (an undecidable MARK), the piece
/// keeps the bits both agree on: a later mark test on the others is undecidable there.
fn combine(
    rid: RuleId,
    why: &[String],
    matched: Vec<Piece>,
    missed: Vec<Piece>,
    out: &mut Vec<Piece>,
) {
    // the common case: the rule's own action decides all it matches with one verdict, so each
    // piece of the other world keeps its space (no pairwise intersections)
    if let Some(first) = matched.first() {
        let v = first.verdict;
        let mseen = first.seen;
        if v != Verdict::Unknown && matched.iter().all(|m| m.verdict == v && m.seen == mseen) {
            let mut mdeciders = Deciders::new();
            let mut mvia = Via::new();
            for m in &matched {
                for d in &m.deciders {
                    if !mdeciders.contains(d) {
                        mdeciders.push(*d);
                    }
                }
                if mvia.is_empty() {
                    mvia = Via::from_slice(&m.via);
                }
            }
            for b in missed {
                // a decided piece keeps (nearly) all its deciders; an unknown one a few
                let cap = if b.verdict == v {
                    16 * MAX_DECIDERS
                } else {
                    MAX_DECIDERS
                };
                let decided = b.verdict == v && (v == Verdict::Deny || b.seen.state == mseen.state);
                let mut deciders = merged(&mdeciders, &b.deciders, cap, decided);
                if decided {
                    out.push(Piece {
                        space: b.space,
                        verdict: v,
                        deciders,
                        via: Via::from_slice(&mvia),
                        reasons: Vec::new(),
                        seen: b.seen.merge(mseen),
                    });
                } else {
                    let mut reasons: Vec<String> = why.to_vec();
                    for r in b.reasons.iter().take(MAX_DECIDERS) {
                        if !reasons.contains(r) {
                            reasons.push(r.clone());
                        }
                    }
                    deciders.insert(0, Decider::Rule(rid));
                    deciders.dedup();
                    out.push(Piece {
                        space: b.space,
                        verdict: Verdict::Unknown,
                        deciders,
                        via: Via::from_slice(&mvia),
                        reasons,
                        seen: b.seen.merge(mseen),
                    });
                }
            }
            return;
        }
    }
    for a in &matched {
        for b in &missed {
            let Some(space) = a.space.intersect(&b.space) else {
                continue;
            };
            let seen = a.seen.merge(b.seen);
            let decided = a.verdict == b.verdict
                && a.verdict != Verdict::Unknown
                && (a.verdict == Verdict::Deny || !seen.is_undecided());
            let mut deciders = merged(&a.deciders, &b.deciders, MAX_DECIDERS, decided);
            if decided {
                out.push(Piece {
                    space,
                    verdict: a.verdict,
                    deciders,
                    via: Via::from_slice(&a.via),
                    reasons: Vec::new(),
                    seen,
                });
            } else {
                let mut reasons: Vec<String> = why.to_vec();
                for r in a.reasons.iter().chain(&b.reasons).take(MAX_DECIDERS) {
                    if !reasons.contains(r) {
                        reasons.push(r.clone());
                    }
                }
                deciders.insert(0, Decider::Rule(rid));
                deciders.dedup();
                out.push(Piece {
                    space,
                    verdict: Verdict::Unknown,
                    deciders,
                    via: Via::from_slice(&a.via),
                    reasons,
                    seen,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::addr::AddrSet;
    use crate::model::interval::IntervalSet;
    use crate::model::ports::{PortSet, TCP};
    use crate::model::space::Packet;
    use proptest::prelude::*;

    /// A small universe: addresses 0..16, protocols 0..4, ports 0..16, states 0..5, interfaces 0..4.
    fn universe() -> PacketBox {
        PacketBox {
            src: AddrSet(IntervalSet::range(0, 15)),
            dst: AddrSet(IntervalSet::range(0, 15)),
            proto: IntervalSet::range(0, 3),
            sport: IntervalSet::range(0, 15),
            dport: IntervalSet::range(0, 15),
            state: IntervalSet::range(0, 4),
            iif: IntervalSet::range(0, 3),
            oif: IntervalSet::range(0, 3),
        }
    }

    fn span<T: crate::model::interval::Point + From<u8>>(
        max: u8,
    ) -> impl Strategy<Value = IntervalSet<T>> {
        prop_oneof![
            1 => Just(IntervalSet::full()),
            3 => (0..max, 0..max).prop_map(|(a, b)| IntervalSet::range(T::from(a.min(b)), T::from(a.max(b)))),
        ]
    }

    fn rule_box() -> impl Strategy<Value = PacketBox> {
        (
            span::<u128>(16),
            span::<u128>(16),
            span::<u8>(4),
            span::<u16>(16),
            span::<u16>(16),
            span::<u8>(5),
            span::<u16>(4),
        )
            .prop_map(|(src, dst, proto, sport, dport, state, iif)| PacketBox {
                src: AddrSet(src),
                dst: AddrSet(dst),
                proto,
                sport,
                dport,
                state,
                iif,
                oif: IntervalSet::full(),
            })
    }

    fn action(chains: usize) -> impl Strategy<Value = Action> {
        prop_oneof![
            3 => Just(Action::Accept),
            3 => Just(Action::Drop),
            1 => Just(Action::Reject),
            2 => Just(Action::Return),
            1 => Just(Action::Continue),
            1 => Just(Action::Opaque),
            2 => (1..chains).prop_map(Action::Jump),
            1 => (1..chains).prop_map(Action::Goto),
            1 => prop::sample::select(vec![
                crate::model::ports::ConnState::Untracked,
                crate::model::ports::ConnState::New,
            ])
            .prop_map(Action::SetState),
            2 => (0u32..4, 0u32..4, 0..3).prop_map(|(v, m, kind)| {
                use crate::model::mark::MarkOp;
                Action::SetMark(match kind {
                    0 => MarkOp::set_xmark(v, m),
                    1 => MarkOp::xor(v),
                    _ => MarkOp::restore(m, v),
                })
            }),
        ]
    }

    /// Random policies: chain 0 is built-in with a random policy, chains 1.. are user chains;
    /// jumps may form loops; some rules are undecidable.
    fn policy() -> impl Strategy<Value = Policy> {
        (2usize..5).prop_flat_map(|nchains| {
            (
                any::<bool>(),
                prop::collection::vec(
                    (
                        0..nchains,
                        rule_box(),
                        action(nchains),
                        prop::bool::weighted(0.2),
                        prop::option::weighted(0.3, (0u32..4, 1u32..4, any::<bool>())),
                    ),
                    0..14,
                ),
            )
                .prop_map(move |(accept, rules)| {
                    let mut chains: Vec<Chain> = (0..nchains)
                        .map(|i| Chain {
                            name: format!("C{i}"),
                            policy: (i == 0).then_some(if accept {
                                Verdict::Allow
                            } else {
                                Verdict::Deny
                            }),
                            decl: Provenance::default(),
                            rules: Vec::new(),
                        })
                        .collect();
                    let mut rs = Vec::new();
                    for (i, (c, b, a, und, mark)) in rules.into_iter().enumerate() {
                        chains[c].rules.push(i);
                        let mut undecidable: Vec<String> =
                            if und { vec!["opaque".into()] } else { vec![] };
                        // a mark test, with its reason listed as the lowering does
                        let mark = mark.map(|(value, mask, negated)| {
                            let reason = format!("mark {value}/{mask}");
                            undecidable.push(reason.clone());
                            crate::model::mark::MarkMatch {
                                value,
                                mask,
                                negated,
                                reason,
                            }
                        });
                        rs.push(Rule {
                            matches: b,
                            undecidable,
                            mark,
                            action: a,
                            prov: Provenance::default(),
                            native: Default::default(),
                            builtin: false,
                            comment: None,
                        });
                    }
                    Policy {
                        name: "t".into(),
                        family: None,
                        semantics: Semantics::FirstMatch,
                        chains,
                        rules: rs,
                        entries: vec![],
                        union_cache: Default::default(),
                    }
                })
        })
    }

    fn packet_in(b: &PacketBox) -> impl Strategy<Value = Packet> {
        let pick16 = |s: &IntervalSet<u16>| {
            let v: Vec<u16> = s.ranges().iter().flat_map(|&(a, b)| a..=b).collect();
            prop::sample::select(v)
        };
        let pick8 = |s: &IntervalSet<u8>| {
            let v: Vec<u8> = s.ranges().iter().flat_map(|&(a, b)| a..=b).collect();
            prop::sample::select(v)
        };
        let pick128 = |s: &AddrSet| {
            let v: Vec<u128> = s.0.ranges().iter().flat_map(|&(a, b)| a..=b).collect();
            prop::sample::select(v)
        };
        (
            pick128(&b.src),
            pick128(&b.dst),
            pick8(&b.proto),
            pick16(&b.sport),
            pick16(&b.dport),
            pick8(&b.state),
            pick16(&b.iif),
            pick16(&b.oif),
        )
            .prop_map(|(src, dst, proto, sport, dport, state, iif, oif)| Packet {
                src,
                dst,
                proto,
                sport,
                dport,
                state,
                iif,
                oif,
            })
    }

    /// A security-group-like union policy of one chain.
    fn sg_union(chain: Chain, rules: Vec<Rule>) -> Policy {
        Policy {
            name: "sg".into(),
            family: None,
            semantics: Semantics::AllowUnion,
            chains: vec![chain],
            rules,
            entries: vec![],
            union_cache: Default::default(),
        }
    }

    /// Random unions of allow rules (some undecidable, some opaque): the linear union evaluation
    /// agrees with first-match evaluation of every packet.
    fn union_policy() -> impl Strategy<Value = Policy> {
        prop::collection::vec(
            (
                rule_box(),
                prop::bool::weighted(0.3),
                prop::bool::weighted(0.1),
            ),
            0..12,
        )
        .prop_map(|rules| {
            let mut rs = Vec::new();
            let mut chain = chain("Ingress", Some(Verdict::Deny), vec![]);
            for (i, (b, und, opaque)) in rules.into_iter().enumerate() {
                chain.rules.push(i);
                rs.push(Rule {
                    matches: b,
                    undecidable: if und {
                        vec!["unresolved group".into()]
                    } else {
                        vec![]
                    },
                    mark: None,
                    action: if opaque {
                        Action::Opaque
                    } else {
                        Action::Accept
                    },
                    prov: Provenance::default(),
                    native: Default::default(),
                    builtin: false,
                    comment: None,
                });
            }
            sg_union(chain, rs)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn union_evaluation_agrees_with_first_match(
            (pol, pkts) in union_policy().prop_flat_map(|p| (Just(p), prop::collection::vec(packet_in(&universe()), 48)))
        ) {
            let pieces = pol.evaluate(0, &universe());
            for p in &pkts {
                let holding: Vec<&Piece> = pieces.iter().filter(|x| x.space.contains(p)).collect();
                prop_assert_eq!(holding.len(), 1);
                prop_assert_eq!(holding[0].verdict, pol.evaluate_packet(0, p));
            }
        }
    }

    /// Unions with many rules that differ only in their sources (merged into one box when there
    /// are `GROUP_AT` or more): the verdicts still agree packet by packet, and every allowed
    /// packet's piece names a rule that matches it.
    fn grouped_union_policy() -> impl Strategy<Value = Policy> {
        (
            prop::collection::vec(rule_box(), 1..3),
            prop::collection::vec((0usize..3, 0u128..16, 0u128..4), 10..60),
        )
            .prop_map(|(shapes, srcs)| {
                let mut rs = Vec::new();
                let mut chain = chain("Ingress", Some(Verdict::Deny), vec![]);
                for (i, (shape, lo, len)) in srcs.into_iter().enumerate() {
                    let mut b = shapes[shape % shapes.len()].clone();
                    b.src = AddrSet(IntervalSet::range(lo, (lo + len).min(15)));
                    chain.rules.push(i);
                    rs.push(rule(b, Action::Accept));
                }
                sg_union(chain, rs)
            })
    }

    /// Twenty rules on one port that differ only in their sources become one group (and four on
    /// another port stay rules of their own); the groups are made once and kept, a copy of the
    /// policy starts without them, and a piece names the group's rules, not the others'.
    #[test]
    fn union_groups_merge_sources_and_are_made_once() {
        let mut rules = Vec::new();
        let mut ch = chain("Ingress", Some(Verdict::Deny), vec![]);
        let mut region = universe();
        region.src = AddrSet(IntervalSet::range(0, 63));
        let on_port = |port: u16, src: u128| {
            let mut b = region.clone();
            b.dport = IntervalSet::single(port);
            b.src = AddrSet(IntervalSet::single(src));
            rule(b, Action::Accept)
        };
        for i in 0..20u128 {
            ch.rules.push(rules.len());
            rules.push(on_port(5, i * 2));
        }
        for i in 0..4u128 {
            ch.rules.push(rules.len());
            rules.push(on_port(6, i));
        }
        let pol = sg_union(ch, rules);
        let groups = union_groups(pol.rules.iter().enumerate());
        assert_eq!(groups.len(), 1 + 4);
        assert_eq!(groups[0].1, (0..20).collect::<Vec<RuleId>>());
        assert_eq!(groups[0].0.src.0.ranges().len(), 20);

        let first = pol.evaluate(0, &region);
        assert_eq!(pol.union_cache.0.lock().unwrap().len(), 1);
        let made = pol.union_cache.slot(0);
        assert_eq!(made.get(), Some(&groups));
        assert_eq!(pol.evaluate(0, &region), first);
        // the second evaluation used the same slot: the groups were not made again
        assert!(std::sync::Arc::ptr_eq(&made, &pol.union_cache.slot(0)));
        assert_eq!(pol.union_cache.0.lock().unwrap().len(), 1);
        assert!(pol.clone().union_cache.0.lock().unwrap().is_empty());
        // the piece holding source 6 to port 5 names rule 3 (of the group's), none of port 6's
        let mut p = first
            .iter()
            .find(|x| x.verdict == Verdict::Allow && x.space.dport.contains(5))
            .map(|x| x.space.clone())
            .unwrap();
        p.src = AddrSet(IntervalSet::single(6));
        let holding: Vec<&Piece> = first.iter().filter(|x| x.space.intersects(&p)).collect();
        assert_eq!(holding.len(), 1);
        assert!(holding[0].deciders.contains(&Decider::Rule(3)));
        assert!(!holding[0].deciders.contains(&Decider::Rule(21)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn grouped_union_agrees_with_first_match(
            (pol, pkts) in grouped_union_policy().prop_flat_map(|p| (Just(p), prop::collection::vec(packet_in(&universe()), 48)))
        ) {
            let pieces = pol.evaluate(0, &universe());
            for p in &pkts {
                let holding: Vec<&Piece> = pieces.iter().filter(|x| x.space.contains(p)).collect();
                prop_assert_eq!(holding.len(), 1);
                prop_assert_eq!(holding[0].verdict, pol.evaluate_packet(0, p));
                if holding[0].verdict == Verdict::Allow {
                    let named = |d: &Decider| match d {
                        Decider::Rule(r) => pol.rules[*r].matches.contains(p),
                        _ => false,
                    };
                    prop_assert!(holding[0].deciders.iter().any(named));
                    for d in &holding[0].deciders {
                        if let Decider::Rule(r) = d {
                            prop_assert!(pol.rules[*r].matches.intersects(&holding[0].space));
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Region evaluation is a partition of the region, and each piece's verdict is the verdict
        /// of every single packet in it.
        #[test]
        fn region_evaluation_agrees_with_single_packets(
            (pol, pkts) in policy().prop_flat_map(|p| {
                let u = universe();
                (Just(p), prop::collection::vec(packet_in(&u), 64))
            })
        ) {
            let (pieces, verdicts) = on_big_stack(|| {
                let verdicts: Vec<Verdict> = pkts.iter().map(|p| pol.evaluate_packet(0, p)).collect();
                (pol.evaluate(0, &universe()), verdicts)
            });
            for (p, want) in pkts.iter().zip(verdicts) {
                let holding: Vec<&Piece> = pieces.iter().filter(|x| x.space.contains(p)).collect();
                prop_assert_eq!(holding.len(), 1, "pieces must partition the region: {:?}", p);
                prop_assert_eq!(holding[0].verdict, want, "packet {:?}", p);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Two random policies as the stages of one pipeline, with rules that rewrite the state
        /// (NOTRACK) in either: region evaluation through the pipeline agrees, packet by packet,
        /// with the single-packet reference, and every piece keeps the packets as they arrived.
        #[test]
        fn pipeline_evaluation_with_rewritten_states_agrees_with_single_packets(
            (a, b, pkts) in (policy(), policy()).prop_flat_map(|(a, b)| {
                (Just(a), Just(b), prop::collection::vec(packet_in(&universe()), 48))
            })
        ) {
            use crate::model::ruleset::{Pipeline, Ruleset, Stage};
            let rs = Ruleset {
                platform: Default::default(),
                profile: None,
                name: None,
                stateless: false,
                policies: vec![a.into(), b.into()],
                pipelines: Vec::new(),
                interfaces: Default::default(),
                family: None,
            };
            let pl = Pipeline {
                name: "p".into(),
                hook: Hook::Input,
                stages: vec![Stage { policy: 0, chain: 0 }, Stage { policy: 1, chain: 0 }],
                diverted: Vec::new(),
            };
            let (outs, want): (Vec<_>, Vec<Verdict>) = on_big_stack(|| {
                (
                    rs.evaluate(&pl, &universe()),
                    pkts.iter().map(|p| rs.evaluate_packet(&pl, p)).collect(),
                )
            });
            for (p, want) in pkts.iter().zip(want) {
                let holding: Vec<_> = outs.iter().filter(|o| o.space.contains(p)).collect();
                prop_assert_eq!(holding.len(), 1, "outcomes must partition the region: {:?}", p);
                prop_assert_eq!(holding[0].verdict, want, "packet {:?}", p);
            }
        }
    }

    /// Evaluation nests a call per jump and per undecidable rule, and the CLI and rayon's workers
    /// run it on 1 GiB stacks (`cli::STACK`). In a debug build, a rare random policy nests deeper
    /// than the test harness's 2 MiB thread holds (it aborted one CI run of 512 cases): the property
    /// tests evaluate on a thread with the CLI's stack.
    fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(1 << 30)
                .spawn_scoped(s, f)
                .expect("a thread with a large stack")
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    fn rule(m: PacketBox, action: Action) -> Rule {
        Rule {
            matches: m,
            undecidable: vec![],
            mark: None,
            action,
            prov: Provenance::default(),
            native: Default::default(),
            builtin: false,
            comment: None,
        }
    }

    fn chain(name: &str, policy: Option<Verdict>, rules: Vec<RuleId>) -> Chain {
        Chain {
            name: name.into(),
            policy,
            decl: Provenance::default(),
            rules,
        }
    }

    fn tcp(port: u16) -> PacketBox {
        let mut b = PacketBox::full();
        b.proto = IntervalSet::single(TCP);
        b.dport = PortSet::single(port);
        b
    }

    #[test]
    fn user_chain_return_falls_through_to_the_policy() {
        // INPUT: -j ZERTO ; policy DROP.  ZERTO: -s 10.1/16 -j RETURN ; -p tcp --dport 9669 -j ACCEPT
        let mut from = tcp(9669);
        from.src = AddrSet::parse("10.1.0.0/16").unwrap();
        let pol = Policy {
            name: "filter".into(),
            family: None,
            semantics: Semantics::FirstMatch,
            chains: vec![
                chain("INPUT", Some(Verdict::Deny), vec![0]),
                chain("ZERTO", None, vec![1, 2]),
            ],
            rules: vec![
                rule(PacketBox::full(), Action::Jump(1)),
                rule(from, Action::Return),
                rule(tcp(9669), Action::Accept),
            ],
            entries: vec![],
            union_cache: Default::default(),
        };
        let mut region = tcp(9669);
        region.src = AddrSet::parse("10.0.0.0/8").unwrap();
        let pieces = pol.evaluate(0, &region);
        assert_eq!(pieces.len(), 2);
        let denied = pieces.iter().find(|p| p.verdict == Verdict::Deny).unwrap();
        assert_eq!(denied.space.src, AddrSet::parse("10.1.0.0/16").unwrap());
        assert_eq!(denied.deciders[..], [Decider::ChainPolicy(0)]);
        assert_eq!(denied.via.as_slice(), [0, 1]); // the jump, then the RETURN
        let allowed = pieces.iter().find(|p| p.verdict == Verdict::Allow).unwrap();
        assert_eq!(allowed.deciders[..], [Decider::Rule(2)]);
    }

    #[test]
    fn undecidable_rule_is_unknown_only_where_worlds_disagree() {
        // -m limit ... -j ACCEPT on 9669 ; -p tcp -j ACCEPT ; policy DROP
        let mut limited = rule(tcp(9669), Action::Accept);
        limited.undecidable = vec!["-m limit".into()];
        let mut any_tcp = PacketBox::full();
        any_tcp.proto = IntervalSet::single(TCP);
        let mut pol = Policy {
            name: "filter".into(),
            family: None,
            semantics: Semantics::FirstMatch,
            chains: vec![chain("INPUT", Some(Verdict::Deny), vec![0, 1])],
            rules: vec![limited, rule(any_tcp, Action::Accept)],
            entries: vec![],
            union_cache: Default::default(),
        };
        let pieces = pol.evaluate(0, &tcp(9669));
        assert!(
            pieces.iter().all(|p| p.verdict == Verdict::Allow),
            "{pieces:?}"
        );
        // without the later ACCEPT the limited rule decides nothing for sure
        pol.chains[0].rules = vec![0];
        let pieces = pol.evaluate(0, &tcp(9669));
        assert!(pieces.iter().all(|p| p.verdict == Verdict::Unknown));
        assert_eq!(pieces[0].reasons, vec!["-m limit".to_string()]);
    }

    #[test]
    fn jump_loop_is_unknown_not_a_hang() {
        let pol = Policy {
            name: "filter".into(),
            family: None,
            semantics: Semantics::FirstMatch,
            chains: vec![
                chain("INPUT", Some(Verdict::Allow), vec![0]),
                chain("A", None, vec![1]),
                chain("B", None, vec![2]),
            ],
            rules: vec![
                rule(PacketBox::full(), Action::Jump(1)),
                rule(PacketBox::full(), Action::Jump(2)),
                rule(PacketBox::full(), Action::Jump(1)),
            ],
            entries: vec![],
            union_cache: Default::default(),
        };
        let pieces = pol.evaluate(0, &tcp(1));
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].verdict, Verdict::Unknown);
        assert_eq!(pieces[0].deciders[..], [Decider::Loop(2)]);
    }

    /// Random policies with runs in them: blocks of three to eight rules that differ in their
    /// source or their destination only, at random places of random chains.
    fn policy_with_runs() -> impl Strategy<Value = Policy> {
        let block = (
            (rule_box(), any::<bool>()).prop_map(|(mut b, wide)| {
                // pieces inside a run's later dimensions are what the fast path takes
                if wide {
                    b.dst = AddrSet(IntervalSet::full());
                    b.sport = IntervalSet::full();
                    b.iif = IntervalSet::full();
                }
                b
            }),
            any::<bool>(),
            prop::collection::vec((span::<u128>(16), action(3)), 3..9),
            0usize..4,
            any::<prop::sample::Index>(),
        );
        (policy(), prop::collection::vec(block, 1..3)).prop_map(|(mut p, blocks)| {
            for (base, by_src, members, chain, at) in blocks {
                let chain = chain % p.chains.len();
                let pos = at.index(p.chains[chain].rules.len() + 1);
                let mut ids = Vec::new();
                for (set, action) in members {
                    let mut m = base.clone();
                    if by_src {
                        m.src = AddrSet(set);
                    } else {
                        m.dst = AddrSet(set);
                    }
                    ids.push(p.rules.len());
                    p.rules.push(rule(m, action));
                }
                p.chains[chain].rules.splice(pos..pos, ids);
            }
            p
        })
    }

    proptest! {
        /// Runs evaluated at once give what rule-by-rule evaluation gives, piece for piece and in
        /// the same order, from the entry, from any rule, in a rewritten state, and when the work
        /// bound is reached part way.
        #[test]
        fn runs_evaluate_as_rule_by_rule(
            p in policy_with_runs(),
            region in prop_oneof![Just(universe()), rule_box()],
            limit in prop_oneof![Just(MAX_WORK), 1u64..60],
            chain in 0usize..4,
            index in 0usize..24,
            state in prop::sample::select(vec![
                crate::model::ports::ConnState::Untracked,
                crate::model::ports::ConnState::New,
                crate::model::ports::ConnState::Established,
            ]),
        ) {
            let chain = chain % p.chains.len();
            let eval = |no_runs: bool| {
                on_big_stack(|| {
                    TEST_NO_RUNS.with(|o| o.set(no_runs));
                    TEST_LIMIT.with(|l| l.set(limit));
                    (
                        p.evaluate(0, &region),
                        p.evaluate_from(chain, index, &region),
                        p.evaluate_seen(chain, &region, Seen::OWN.with_state(state)),
                    )
                })
            };
            let fast = eval(false);
            let slow = eval(true);
            prop_assert_eq!(fast, slow);
        }
    }

    proptest! {
        /// `combine`'s deciders: `first`, then each of `other` it lacks, up to `cap`, made with
        /// room for the rule put in front of an unknown piece (the list never grows after) and,
        /// when `other` repeats nothing, no more (a list that fits the inline one stays there).
        #[test]
        fn combine_merges_deciders_in_the_room_they_need(
            first in prop::collection::vec(0usize..6, 0..4),
            other in prop::collection::vec(0usize..6, 0..6),
            cap in 1usize..8,
            decided in any::<bool>(),
        ) {
            let first: Vec<Decider> = first.into_iter().map(Decider::Rule).collect();
            let other: Vec<Decider> = other.into_iter().map(Decider::Rule).collect();
            // what the merge says, written the plain way
            let mut want = first.clone();
            for d in &other {
                if want.len() >= cap {
                    break;
                }
                if !want.contains(d) {
                    want.push(*d);
                }
            }
            let got = merged(&first, &other, cap, decided);
            prop_assert_eq!(got.as_slice(), want.as_slice());
            let room = want.len() + usize::from(!decided);
            prop_assert!(got.capacity() >= room, "capacity {} for {}", got.capacity(), room);
            let mut uniq = other.clone();
            uniq.sort_unstable();
            uniq.dedup();
            if uniq.len() == other.len() {
                // the inline one when that is enough
                prop_assert_eq!(got.capacity(), room.max(1));
            }
        }
    }
}
