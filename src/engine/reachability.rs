//! Reachability: for every rule of a policy, the packets of its match that reach it from the
//! hooks, through jumps and gotos. Shadowing (Z301) and redundancy (Z302) are read off this.
//!
//! Chains are analysed from the chains a pipeline enters (all packets enter there) down the jump
//! graph, parents before children. In a chain, what reaches a rule's match is its match, within
//! what enters the chain, minus the matches of the earlier rules that take packets away (accept,
//! drop, reject, return, goto, a verdict not in the export): decidable ones only, so an
//! undecidable rule never hides another. What enters a user chain is what reaches the jumps and
//! gotos that lead to it. Packets that come back from a jump are taken to go on after it (all
//! of them: a jump never hides what follows), so every answer errs towards "reached": a rule
//! reported unreachable is really unreachable.
//!
//! Work is bounded: a chain longer than [`MAX_CHAIN`] is not analysed (its jumps are taken to
//! send anything), and a rule whose reaching region splits into more than [`MAX_PIECES`] boxes
//! is given up on (taken as reached).

use crate::model::space::Cut;
use crate::model::{Action, ChainId, PacketBox, Policy, RuleId};

/// Chains longer than this are not analysed (quadratic work; a generated dump of that size is
/// better served by its generator's own checks).
pub const MAX_CHAIN: usize = 4000;
/// Give up on one rule when its reaching region splits into more pieces than this.
pub const MAX_PIECES: usize = 512;

/// One rule as written (the model rules lowered from one source rule, judged together).
#[derive(Debug, Clone)]
pub struct Group {
    pub rules: Vec<RuleId>,
    /// The packets of the group's match that reach it.
    pub rest: Vec<PacketBox>,
    /// The earlier rules of the chain whose matches took part of it.
    pub by: Vec<RuleId>,
    /// Rules in the chains that lead here which take part of it first, or jumps that never send
    /// its packets here.
    pub upstream: Vec<RuleId>,
    /// The analysis gave up on this rule: taken as reached.
    pub gave_up: bool,
}

/// One analysed chain.
#[derive(Debug, Clone)]
pub struct ChainReach {
    pub chain: ChainId,
    /// Nothing at all enters the chain (every jump to it is itself unreachable): its rules are
    /// not judged one by one, the jumps are.
    pub nothing_enters: bool,
    pub groups: Vec<Group>,
}

/// Does an earlier rule with this action take the packets it matches away from later rules?
fn takes_away(a: Action) -> bool {
    matches!(
        a,
        Action::Accept
            | Action::Drop
            | Action::Reject
            | Action::Return
            | Action::Goto(_)
            | Action::Translate(_)
            | Action::Opaque
    )
}

/// What remains of `start` after the boxes of `cover`, and which of them took part; `None` when
/// it splits into too many pieces.
pub fn uncovered(
    start: Vec<PacketBox>,
    cover: &[(PacketBox, RuleId)],
) -> Option<(Vec<PacketBox>, Vec<RuleId>)> {
    let mut rest = start;
    let mut by = Vec::new();
    for (c, rid) in cover {
        if rest.is_empty() {
            break;
        }
        // most earlier rules miss (a blocklist's other prefixes): no copy of the pieces then
        if !rest.iter().any(|piece| piece.intersects(c)) {
            continue;
        }
        let mut next = Vec::with_capacity(rest.len());
        let mut hit = false;
        for piece in rest {
            match piece.split(c, &mut next) {
                Cut::Inside(_) => hit = true,
                Cut::Apart(piece) => next.push(piece),
            }
        }
        if hit && !by.contains(rid) {
            by.push(*rid);
        }
        if next.len() > MAX_PIECES {
            return None;
        }
        rest = next;
    }
    Some((rest, by))
}

/// Per chain: what enters it (`None`: anything) and the jumps that lead to it.
struct Entry {
    entering: Option<Vec<PacketBox>>,
    /// (parent chain, how many covering rules precede the jump there, the jump rule)
    parents: Vec<(ChainId, usize, RuleId)>,
}

fn within(entering: &Option<Vec<PacketBox>>, m: &PacketBox) -> Vec<PacketBox> {
    match entering {
        None => vec![m.clone()],
        Some(boxes) => boxes.iter().filter_map(|b| b.intersect(m)).collect(),
    }
}

/// Analyse every chain reachable from `entered` (the chains pipelines enter), parents first.
pub fn analyse(p: &Policy, entered: &[ChainId]) -> Vec<ChainReach> {
    let n = p.chains.len();
    let target = |r: RuleId| match p.rules[r].action {
        Action::Jump(c) | Action::Goto(c) if c < n => Some(c),
        _ => None,
    };
    // the chains reachable from the entered ones, and how many reachable chains lead to each
    let mut reachable = vec![false; n];
    let mut stack: Vec<ChainId> = entered.iter().copied().filter(|c| *c < n).collect();
    while let Some(c) = stack.pop() {
        if std::mem::replace(&mut reachable[c], true) {
            continue;
        }
        stack.extend(p.chains[c].rules.iter().filter_map(|&r| target(r)));
    }
    // the chains a chain's jumps and gotos lead to, each once
    let kids = |c: ChainId| -> Vec<ChainId> {
        let mut k: Vec<ChainId> = p.chains[c]
            .rules
            .iter()
            .filter_map(|&r| target(r))
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let mut indeg = vec![0usize; n];
    for c in (0..n).filter(|c| reachable[*c]) {
        for k in kids(c) {
            indeg[k] += 1;
        }
    }
    let mut entries: Vec<Entry> = (0..n)
        .map(|c| Entry {
            entering: if entered.contains(&c) {
                None
            } else {
                Some(Vec::new())
            },
            parents: Vec::new(),
        })
        .collect();
    let mut covers: Vec<Vec<(PacketBox, RuleId)>> = vec![Vec::new(); n];
    let mut order: Vec<ChainId> = (0..n)
        .filter(|c| reachable[*c] && (indeg[*c] == 0 || entered.contains(c)))
        .collect();
    // chains put in `order` (each once: a chain of 25,000 kube-proxy chains made the scans of
    // `order` quadratic)
    let mut queued = vec![false; n];
    for &c in &order {
        queued[c] = true;
    }
    let mut done = vec![false; n];
    let mut out = Vec::new();
    let mut i = 0;
    // where the search for a chain left on a jump loop goes on from
    let mut next_left = 0;
    loop {
        if i == order.len() {
            // what is left is on a jump loop: anything may enter it
            match (next_left..n).find(|c| reachable[*c] && !done[*c] && !queued[*c]) {
                Some(c) => {
                    next_left = c + 1;
                    entries[c].entering = None;
                    queued[c] = true;
                    order.push(c);
                }
                None => break,
            }
        }
        let c = order[i];
        i += 1;
        if std::mem::replace(&mut done[c], true) {
            continue;
        }
        let r = analyse_chain(p, c, &mut entries, &mut covers);
        // children whose parents are all done come next
        for k in kids(c) {
            indeg[k] = indeg[k].saturating_sub(1);
            if indeg[k] == 0 && !done[k] && !queued[k] {
                queued[k] = true;
                order.push(k);
            }
        }
        out.push(r);
    }
    out
}

fn analyse_chain(
    p: &Policy,
    ci: ChainId,
    entries: &mut [Entry],
    covers: &mut [Vec<(PacketBox, RuleId)>],
) -> ChainReach {
    let chain = &p.chains[ci];
    let entering = entries[ci].entering.clone();
    let nothing_enters = matches!(&entering, Some(b) if b.is_empty());
    let mut groups = Vec::new();
    let too_long = chain.rules.len() > MAX_CHAIN;
    let mut cover: Vec<(PacketBox, RuleId)> = Vec::new();
    let mut i = 0;
    while i < chain.rules.len() {
        // the model rules of one source rule (same span) are judged together
        let span = p.rules[chain.rules[i]].prov.span;
        let mut j = i + 1;
        while !span.is_empty() && j < chain.rules.len() && p.rules[chain.rules[j]].prov.span == span
        {
            j += 1;
        }
        let ids: Vec<RuleId> = chain.rules[i..j].to_vec();
        let mut g = Group {
            rules: ids.clone(),
            rest: Vec::new(),
            by: Vec::new(),
            upstream: Vec::new(),
            gave_up: too_long,
        };
        for &rid in &ids {
            let r = &p.rules[rid];
            let reached = if too_long {
                None
            } else {
                uncovered(within(&entering, &r.matches), &cover)
            };
            match reached {
                Some((rest, by)) => {
                    for x in by {
                        if !g.by.contains(&x) {
                            g.by.push(x);
                        }
                    }
                    // what the jump sends on: only what reaches it
                    if let Action::Jump(t) | Action::Goto(t) = r.action {
                        if let Some(e) = entries.get_mut(t) {
                            e.parents.push((ci, cover.len(), rid));
                            if let Some(boxes) = &mut e.entering {
                                boxes.extend(rest.iter().cloned());
                                if boxes.len() > MAX_PIECES * 4 {
                                    e.entering = None;
                                }
                            }
                        }
                    }
                    g.rest.extend(rest);
                }
                None => {
                    g.gave_up = true;
                    if let Action::Jump(t) | Action::Goto(t) = r.action {
                        if let Some(e) = entries.get_mut(t) {
                            e.parents.push((ci, cover.len(), rid));
                            e.entering = None;
                        }
                    }
                }
            }
        }
        if g.rest.is_empty() && !g.gave_up && !nothing_enters {
            g.upstream = upstream(p, ci, &ids, entries, covers);
        }
        for &rid in &ids {
            let r = &p.rules[rid];
            if takes_away(r.action) && r.undecidable.is_empty() {
                cover.push((r.matches.clone(), rid));
            }
        }
        groups.push(g);
        i = j;
    }
    covers[ci] = cover;
    ChainReach {
        chain: ci,
        nothing_enters,
        groups,
    }
}

/// The rules in the chains that lead to `ci` that take the packets of `ids` away before the
/// jump, or the jumps that do not send them here at all.
fn upstream(
    p: &Policy,
    ci: ChainId,
    ids: &[RuleId],
    entries: &[Entry],
    covers: &[Vec<(PacketBox, RuleId)>],
) -> Vec<RuleId> {
    let mut out: Vec<RuleId> = Vec::new();
    for &(parent, len, jump) in &entries[ci].parents {
        let pe = &entries[parent].entering;
        for &rid in ids {
            let Some(m) = p.rules[rid].matches.intersect(&p.rules[jump].matches) else {
                if !out.contains(&jump) {
                    out.push(jump);
                }
                continue;
            };
            let start = within(pe, &m);
            if start.is_empty() {
                if !out.contains(&jump) {
                    out.push(jump);
                }
                continue;
            }
            let prefix = &covers[parent][..len.min(covers[parent].len())];
            if let Some((_, by)) = uncovered(start, prefix) {
                for x in by {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
            }
        }
    }
    out
}
