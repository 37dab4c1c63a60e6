//! Runs of rules that differ in one address dimension only: a blocklist or a geo allow-list kept
//! without ipset (thousands of `-s CIDR -j DROP|ACCEPT`), a chain of `-d CIDR -j RETURN`.
//!
//! Evaluated rule by rule, what is left of a region after each of them keeps every address range
//! the earlier rules did not match, so each rule costs the size of that set: quadratic in the
//! rules. A run is evaluated at once instead, with the same result, piece for piece and in the same
//! order: which rule of the run first matches each address is painted once per policy (a sorted
//! list of address ranges, each with its rule), and a piece of the region meets that painting in
//! one walk. What the rule-by-rule loop would have left after each rule, and how much work it
//! would have counted, follows from it exactly (see [`Policy::run_span`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{work_limit, Chain, Piece, Policy, Stack, WORK};
use crate::model::addr::AddrSet;
use crate::model::conntrack::Seen;
use crate::model::interval::IntervalSet;
use crate::model::rule::{Action, ChainId, RuleId};
use crate::model::space::{Cut, PacketBox};

/// Runs shorter than this are evaluated rule by rule.
pub(super) const MIN_RUN: usize = 3;

/// The address dimension the rules of a run differ in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Src,
    Dst,
}

impl Dim {
    fn of(self, b: &PacketBox) -> &AddrSet {
        match self {
            Dim::Src => &b.src,
            Dim::Dst => &b.dst,
        }
    }
    fn of_mut(self, b: &mut PacketBox) -> &mut AddrSet {
        match self {
            Dim::Src => &mut b.src,
            Dim::Dst => &mut b.dst,
        }
    }
    /// Do `a` and `b` agree on every dimension but this one?
    fn same_but(self, a: &PacketBox, b: &PacketBox) -> bool {
        (self == Dim::Src || a.src == b.src)
            && (self == Dim::Dst || a.dst == b.dst)
            && a.proto == b.proto
            && a.sport == b.sport
            && a.dport == b.dport
            && a.state == b.state
            && a.iif == b.iif
            && a.oif == b.oif
    }
    /// Is `q` inside `frame` on the dimensions `PacketBox::subtract` peels after this one?
    fn late_within(self, q: &PacketBox, frame: &PacketBox) -> bool {
        (self == Dim::Dst || q.dst.is_subset(&frame.dst))
            && q.sport.is_subset(&frame.sport)
            && q.iif.is_subset(&frame.iif)
            && q.oif.is_subset(&frame.oif)
    }
}

/// One run: rule positions `start..end` of a chain.
pub(super) struct Run {
    start: usize,
    end: usize,
    dim: Dim,
    /// The union of the run's address sets, as sorted disjoint ranges, each with the position of
    /// the first rule of the run that matches it.
    segs: Segs,
    /// Every later rule of the run matching each range of `segs`, for a piece that comes back
    /// into the middle of the run (from a jump: a chain of `-s CIDR -j TENANT`); `None` where
    /// the rules overlap too much to list (such a piece then goes rule by rule).
    later: Option<Later>,
}

/// Sorted disjoint address ranges, each with the position of the first rule matching it.
type Segs = Vec<(u128, u128, usize)>;

/// For each range `k` of [`Run::segs`], the positions `pos[off[k]..off[k + 1]]` (ascending) of
/// the rules after its first one that match all of it.
struct Later {
    off: Vec<u32>,
    pos: Vec<u32>,
}

impl Later {
    /// The first rule at or after `from` matching all of range `k`.
    fn first_from(&self, k: usize, from: usize) -> Option<usize> {
        let (a, b) = (*self.off.get(k)? as usize, *self.off.get(k + 1)? as usize);
        let list = self.pos.get(a..b)?;
        let i = list.partition_point(|&p| (p as usize) < from);
        list.get(i).map(|&p| p as usize)
    }
}

/// The runs of one chain.
pub(super) struct ChainRuns {
    /// The run each rule position belongs to, if any.
    at: Vec<Option<u32>>,
    runs: Vec<Run>,
}

impl ChainRuns {
    /// The run rule position `pos` is in.
    pub(super) fn run_at(&self, pos: usize) -> Option<&Run> {
        self.at
            .get(pos)
            .copied()
            .flatten()
            .and_then(|r| self.runs.get(r as usize))
    }
}

impl Run {
    /// The position after the run's last rule.
    pub(super) fn end(&self) -> usize {
        self.end
    }
}

/// The runs of each chain of a policy, found on the first evaluation that meets the chain (part
/// of `UnionCache`: it is emptied with it when the rules change). A slot per chain, made on the
/// first use: a lookup takes no lock and hashes nothing (it is made on every entry into a chain).
#[derive(Default)]
pub(super) struct RunCache(OnceLock<Box<[OnceLock<ChainRuns>]>>);

impl RunCache {
    /// The runs of `chain` (`None` for a chain the policy did not have when the cache was made,
    /// which the rules not changing rules out: that chain is then evaluated rule by rule).
    pub(super) fn of(&self, p: &Policy, chain: ChainId) -> Option<&ChainRuns> {
        let slots = self
            .0
            .get_or_init(|| (0..p.chains.len()).map(|_| OnceLock::new()).collect());
        Some(slots.get(chain)?.get_or_init(|| find_runs(p, chain)))
    }
}

/// Rules a run may hold: decided (no undecidable match, no mark test) and not `Continue` (which
/// evaluation skips).
fn eligible(p: &Policy, rid: RuleId) -> bool {
    p.rules.get(rid).is_some_and(|r| {
        r.action != Action::Continue && r.undecidable.is_empty() && r.mark.is_none()
    })
}

fn find_runs(p: &Policy, chain: ChainId) -> ChainRuns {
    let rules: &[RuleId] = p
        .chains
        .get(chain)
        .map(|c| c.rules.as_slice())
        .unwrap_or(&[]);
    let mut out = ChainRuns {
        at: vec![None; rules.len()],
        runs: Vec::new(),
    };
    let mut i = 0;
    while i < rules.len() {
        if !eligible(p, rules[i]) {
            i += 1;
            continue;
        }
        let first = &p.rules[rules[i]].matches;
        let (mut src, mut dst) = (true, true);
        let mut j = i + 1;
        while j < rules.len() && eligible(p, rules[j]) {
            let m = &p.rules[rules[j]].matches;
            let s = src && Dim::Src.same_but(first, m);
            let d = dst && Dim::Dst.same_but(first, m);
            if !s && !d {
                break;
            }
            (src, dst) = (s, d);
            j += 1;
        }
        if j - i < MIN_RUN {
            i += 1;
            continue;
        }
        let dim = if src { Dim::Src } else { Dim::Dst };
        let id = out.runs.len() as u32;
        out.at[i..j].iter_mut().for_each(|a| *a = Some(id));
        let sets = || (i..j).map(|pos| (pos, dim.of(&p.rules[rules[pos]].matches).0.ranges()));
        let (segs, later) = match sweep(sets()) {
            Some((segs, later)) => (segs, Some(later)),
            None => (paint(sets()), None),
        };
        out.runs.push(Run {
            start: i,
            end: j,
            dim,
            segs,
            later,
        });
        i = j;
    }
    out
}

/// Which of the sets hold each point of their union, as [`paint`] gives it (the first one) plus
/// the others ([`Later`]); `None` when they overlap so much that listing them would cost more
/// than a few times their ranges. Keys must come ascending, each set's ranges disjoint.
fn sweep<'a>(sets: impl Iterator<Item = (usize, &'a [(u128, u128)])>) -> Option<(Segs, Later)> {
    // (point, 0 = a set's range ends before it | 1 = one starts at it, key)
    let mut events: Vec<(u128, u8, usize)> = Vec::new();
    for (key, ranges) in sets {
        for &(lo, hi) in ranges {
            events.push((lo, 1, key));
            if let Some(after) = hi.checked_add(1) {
                events.push((after, 0, key));
            }
        }
    }
    let cap = 4 * events.len() + 4096;
    events.sort_unstable();
    let mut active: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let mut segs = Vec::new();
    let mut later = Later {
        off: vec![0],
        pos: Vec::new(),
    };
    fn emit(
        segs: &mut Segs,
        later: &mut Later,
        (lo, hi): (u128, u128),
        active: &std::collections::BTreeSet<usize>,
    ) {
        let mut keys = active.iter();
        if let Some(&first) = keys.next() {
            segs.push((lo, hi, first));
            later.pos.extend(keys.map(|&k| k as u32));
            later.off.push(later.pos.len() as u32);
        }
    }
    let mut k = 0;
    let mut prev: Option<u128> = None;
    while k < events.len() {
        let at = events[k].0;
        if let Some(p) = prev {
            if !active.is_empty() {
                emit(&mut segs, &mut later, (p, at - 1), &active);
            }
        }
        while let Some(&(q, start, key)) = events.get(k) {
            if q != at {
                break;
            }
            if start == 1 {
                active.insert(key);
            } else {
                active.remove(&key);
            }
            k += 1;
        }
        prev = Some(at);
        if later.pos.len() > cap {
            return None;
        }
    }
    if let Some(p) = prev {
        if !active.is_empty() {
            emit(&mut segs, &mut later, (p, u128::MAX), &active);
        }
    }
    if later.pos.len() > cap || u32::try_from(later.pos.len()).is_err() {
        return None;
    }
    Some((segs, later))
}

/// Which of the sets first holds each point of their union: sorted disjoint ranges, each with
/// its set's key. Each range of a set costs a logarithm plus the covered ranges it swallows.
fn paint<'a>(sets: impl Iterator<Item = (usize, &'a [(u128, u128)])>) -> Vec<(u128, u128, usize)> {
    let mut covered: BTreeMap<u128, u128> = BTreeMap::new();
    let mut segs = Vec::new();
    for (key, ranges) in sets {
        for &(lo, hi) in ranges {
            // the covered ranges that meet [lo, hi], in order
            let mut meet: Vec<(u128, u128)> = Vec::new();
            if let Some((&a, &b)) = covered.range(..lo).next_back() {
                if b >= lo {
                    meet.push((a, b));
                }
            }
            meet.extend(covered.range(lo..=hi).map(|(&a, &b)| (a, b)));
            // `next`: the first point not yet known to be covered (None: past the top)
            let mut next = Some(lo);
            let (mut new_lo, mut new_hi) = (lo, hi);
            for &(a, b) in &meet {
                if let Some(n) = next {
                    if a > n {
                        segs.push((n, a - 1, key));
                    }
                    if b >= n {
                        next = b.checked_add(1);
                    }
                }
                new_lo = new_lo.min(a);
                new_hi = new_hi.max(b);
                covered.remove(&a);
            }
            if let Some(n) = next {
                if n <= hi {
                    segs.push((n, hi, key));
                }
            }
            covered.insert(new_lo, new_hi);
        }
    }
    segs.sort_unstable_by_key(|s| s.0);
    segs
}

/// What a run does to one piece that meets it.
struct Hit {
    /// The piece's part inside the run's other dimensions, its address dimension left empty:
    /// each part a rule decides is this box with that rule's addresses (cloned once per rule,
    /// so the piece's whole address set is not copied each time).
    core: PacketBox,
    /// The pieces `PacketBox::subtract` peels off before the address dimension, at the first rule.
    early: Vec<PacketBox>,
    /// Per rule position of the run (ascending): the addresses of the piece it decides.
    owners: Vec<(usize, AddrSet)>,
    /// The addresses no rule of the run matches.
    left: AddrSet,
}

/// The outcome of [`Policy::run_span`].
pub(super) enum Span {
    /// The fast path does not apply: go on rule by rule.
    Declined(Vec<PacketBox>),
    /// Evaluated through the run: what is left, at the run's end.
    Through(Vec<PacketBox>),
    /// Evaluation of the chain is over (nothing left, or the work bound was reached).
    Ended,
}

impl Policy {
    /// Evaluate `remaining` through the rules `from..run.end` of chain `c`, exactly as the
    /// rule-by-rule loop of `run_inner` would: the same pieces to `act`, in the same order, the
    /// same work counted, the same pieces left. Declines (handing `remaining` back) when a piece
    /// meets the run's rules but reaches outside them on a dimension peeled after the address
    /// one, or meets addresses of rules before `from` (a piece coming back from a jump).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_span(
        &self,
        c: &Chain,
        run: &Run,
        from: usize,
        stack: &Stack,
        via: &[RuleId],
        remaining: Vec<PacketBox>,
        seen: Seen,
        out: &mut Vec<Piece>,
    ) -> Span {
        let dim = run.dim;
        let Some(first) = c.rules.get(from).and_then(|&r| self.rules.get(r)) else {
            return Span::Declined(remaining);
        };
        // every rule of the run has the same box but for `dim`, so the same state test
        let Some(m) = seen.rule_box(&first.matches) else {
            return Span::Declined(remaining);
        };
        let mut frame = m.into_owned();
        *dim.of_mut(&mut frame) = AddrSet(IntervalSet::full());
        let mut hits: Vec<Option<Hit>> = Vec::with_capacity(remaining.len());
        for q in &remaining {
            if !q.intersects(&frame) {
                hits.push(None);
                continue;
            }
            if !dim.late_within(q, &frame) {
                return Span::Declined(remaining);
            }
            let Some((owners, left)) = run.owners(dim.of(q), from) else {
                return Span::Declined(remaining);
            };
            if owners.is_empty() {
                hits.push(None);
                continue;
            }
            // the part inside the frame and the pieces outside it, in one pass
            let mut early = Vec::new();
            let Cut::Inside(mut core) = q.clone().split(&frame, &mut early) else {
                hits.push(None);
                continue;
            };
            *dim.of_mut(&mut core) = AddrSet::empty();
            hits.push(Some(Hit {
                early,
                core,
                owners,
                left,
            }));
        }
        if hits.iter().all(Option::is_none) {
            return pass_untouched(remaining, run.end - from, via, seen, out);
        }
        // how many pieces the loop would hold before each rule, as changes from `from`: a piece
        // is one until its first rule, then its early pieces and its rest while the rest lasts
        let n = run.end - from;
        let mut delta = vec![0i64; n + 1];
        // (position, piece, owner) in the order the loop acts on them
        let mut events: Vec<(usize, usize, usize)> = Vec::new();
        for (k, h) in hits.iter().enumerate() {
            let Some(h) = h else { continue };
            let (i1, last) = match (h.owners.first(), h.owners.last()) {
                (Some(a), Some(b)) => (a.0, b.0),
                _ => continue,
            };
            delta[i1 + 1 - from] += h.early.len() as i64;
            if h.left.is_empty() {
                delta[last + 1 - from] -= 1;
            }
            events.extend(
                h.owners
                    .iter()
                    .enumerate()
                    .map(|(o, (pos, _))| (*pos, k, o)),
            );
        }
        events.sort_unstable();
        out.reserve(events.len());
        let mut alive = remaining.len() as i64;
        let mut ev = events.into_iter().peekable();
        for pos in from..run.end {
            alive += delta[pos - from];
            if alive <= 0 {
                return Span::Ended;
            }
            let spent = WORK.with(|w| {
                let v = w.get() + alive as u64;
                w.set(v);
                v
            });
            if spent > work_limit() {
                let left = pieces_before(&remaining, &hits, dim, pos);
                super::give_up(left, via, seen, out);
                return Span::Ended;
            }
            let rid = c.rules[pos];
            while let Some((_, k, o)) = ev.next_if(|e| e.0 == pos) {
                let Some(h) = &mut hits[k] else { continue };
                let mut hit = h.core.clone();
                // each part is acted on once, and only the rules before `pos` are read after
                *dim.of_mut(&mut hit) = std::mem::take(&mut h.owners[o].1);
                self.act(stack, pos, rid, via, hit, seen, out);
            }
        }
        let mut left = Vec::with_capacity(remaining.len());
        for (q, h) in remaining.into_iter().zip(hits) {
            match h {
                None => left.push(q),
                Some(h) => {
                    left.extend(h.early);
                    if !h.left.is_empty() {
                        let mut d = h.core;
                        *dim.of_mut(&mut d) = h.left;
                        left.push(d);
                    }
                }
            }
        }
        Span::Through(left)
    }
}

impl Run {
    /// The rules of the run from position `from` on that first match parts of `set`,
    /// ascending, each with its part, and the part of `set` none of them matches; `None` when
    /// that is not known (a part whose first rule is before `from`, and the later ones were not
    /// listed).
    fn owners(&self, set: &AddrSet, from: usize) -> Option<(Vec<(usize, AddrSet)>, AddrSet)> {
        let mut parts: Vec<(usize, u128, u128)> = Vec::new();
        // what no rule takes, in address order as the walk meets it
        let mut left: Vec<(u128, u128)> = Vec::new();
        for &(lo, hi) in set.0.ranges() {
            // the first address of the range not yet taken or left; `None` past its end
            let mut next = Some(lo);
            let mut k = self.segs.partition_point(|s| s.1 < lo);
            while let Some(&(a, b, first)) = self.segs.get(k) {
                if a > hi {
                    break;
                }
                let pos = if first >= from {
                    Some(first)
                } else {
                    self.later.as_ref()?.first_from(k, from)
                };
                if let Some(pos) = pos {
                    let (pa, pb) = (a.max(lo), b.min(hi));
                    if let Some(c) = next.filter(|&c| c < pa) {
                        left.push((c, pa - 1));
                    }
                    next = pb.checked_add(1);
                    parts.push((pos, pa, pb));
                }
                k += 1;
            }
            if let Some(c) = next.filter(|&c| c <= hi) {
                left.push((c, hi));
            }
        }
        // by rule, each rule's ranges in address order (the order the walk made them in)
        let parts = self.by_rule(parts);
        let mut out: Vec<(usize, AddrSet)> = Vec::new();
        let mut i = 0;
        while i < parts.len() {
            let pos = parts[i].0;
            let mut j = i;
            while j < parts.len() && parts[j].0 == pos {
                j += 1;
            }
            out.push((
                pos,
                AddrSet(IntervalSet::from_sorted(
                    parts[i..j].iter().map(|p| (p.1, p.2)),
                )),
            ));
            i = j;
        }
        debug_assert!(out
            .iter()
            .all(|o| o.0 >= self.start.max(from) && o.0 < self.end));
        Some((out, AddrSet(IntervalSet::from_normalised(left))))
    }
}

impl Run {
    /// `parts` (rule position, range), in address order, ordered by rule keeping the address
    /// order within each: counted out by position when they are many for the run's length
    /// (a piece of a whole address space meets every rule of a blocklist), else sorted.
    fn by_rule(&self, mut parts: Vec<(usize, u128, u128)>) -> Vec<(usize, u128, u128)> {
        let len = self.end - self.start;
        if parts.len() < 64 || parts.len() < len / 8 {
            // a rule's ranges are disjoint: (rule, start) orders them as the walk made them
            parts.sort_unstable_by_key(|p| (p.0, p.1));
            return parts;
        }
        // where each position's parts start
        let mut at = vec![0u32; len + 1];
        for p in &parts {
            at[p.0 - self.start + 1] += 1;
        }
        for i in 1..at.len() {
            at[i] += at[i - 1];
        }
        let mut out = vec![(0usize, 0u128, 0u128); parts.len()];
        for p in parts {
            let slot = &mut at[p.0 - self.start];
            out[*slot as usize] = p;
            *slot += 1;
        }
        out
    }
}

/// No piece meets the `rules` rules of a run: the rule-by-rule loop would only count a visit per
/// piece and rule (and give up where that passes the bound), leaving the pieces as they were.
fn pass_untouched(
    remaining: Vec<PacketBox>,
    rules: usize,
    via: &[RuleId],
    seen: Seen,
    out: &mut Vec<Piece>,
) -> Span {
    if rules == 0 {
        return Span::Through(remaining);
    }
    if remaining.is_empty() {
        return Span::Ended;
    }
    let alive = remaining.len() as u64;
    let limit = work_limit();
    let w0 = WORK.with(|w| w.get());
    let total = w0.saturating_add(alive.saturating_mul(rules as u64));
    if total <= limit {
        WORK.with(|w| w.set(total));
        return Span::Through(remaining);
    }
    // the loop stops at the first rule that takes the count past the bound
    let m = if w0 >= limit {
        1
    } else {
        (limit - w0) / alive + 1
    };
    WORK.with(|w| w.set(w0 + alive * m));
    super::give_up(remaining, via, seen, out);
    Span::Ended
}

/// The pieces the rule-by-rule loop would hold before the rule at `pos`.
fn pieces_before(
    remaining: &[PacketBox],
    hits: &[Option<Hit>],
    dim: Dim,
    pos: usize,
) -> Vec<PacketBox> {
    let mut out = Vec::new();
    for (q, h) in remaining.iter().zip(hits) {
        match h {
            Some(h) if h.owners.first().is_some_and(|o| o.0 < pos) => {
                out.extend(h.early.iter().cloned());
                // what no rule before `pos` took: the parts of the rules from `pos` on (not yet
                // acted on) and what no rule of the run matches
                let rest = AddrSet(IntervalSet::from_ranges(
                    h.owners
                        .iter()
                        .filter(|o| o.0 >= pos)
                        .flat_map(|o| o.1 .0.ranges().iter().copied())
                        .chain(h.left.0.ranges().iter().copied()),
                ));
                if !rest.is_empty() {
                    let mut d = h.core.clone();
                    *dim.of_mut(&mut d) = rest;
                    out.push(d);
                }
            }
            _ => out.push(q.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ordering a piece's parts by rule, counted out or sorted, keeps each rule's parts in
        /// the address order the walk made them in.
        #[test]
        fn by_rule_orders_parts_by_rule_in_address_order(
            start in 0usize..50,
            len in 1usize..400,
            picks in prop::collection::vec((0usize..400, 1u128..5), 0..300),
        ) {
            let run = Run {
                start,
                end: start + len,
                dim: Dim::Src,
                segs: Vec::new(),
                later: None,
            };
            // disjoint ranges in address order, each with a rule of the run
            let mut lo = 0u128;
            let parts: Vec<(usize, u128, u128)> = picks
                .iter()
                .map(|&(r, w)| {
                    let p = (start + r % len, lo, lo + w - 1);
                    lo += w + 1;
                    p
                })
                .collect();
            let mut want = parts.clone();
            want.sort_by_key(|p| p.0);
            prop_assert_eq!(run.by_rule(parts), want);
        }

        /// The sweep gives each point its first set, as the painting does, and lists every
        /// later set holding all of each of its ranges.
        #[test]
        fn sweep_lists_every_set_of_each_range(
            sets in prop::collection::vec(
                prop::collection::vec((0u128..64, 0u128..8), 0..4), 1..12),
        ) {
            let sets: Vec<Vec<(u128, u128)>> = sets
                .into_iter()
                .map(|r| {
                    IntervalSet::from_ranges(r.into_iter().map(|(lo, w)| (lo, lo + w)))
                        .ranges()
                        .to_vec()
                })
                .collect();
            let holds = |k: usize, x: u128| sets[k].iter().any(|&(a, b)| a <= x && x <= b);
            let (segs, later) = sweep(sets.iter().enumerate().map(|(k, s)| (k, s.as_slice())))
                .expect("small sets are listed");
            let painted = paint(sets.iter().enumerate().map(|(k, s)| (k, s.as_slice())));
            for x in 0u128..80 {
                let first = (0..sets.len()).find(|&k| holds(k, x));
                let at = segs.iter().position(|s| s.0 <= x && x <= s.1);
                prop_assert_eq!(first, at.map(|i| segs[i].2));
                prop_assert_eq!(
                    first,
                    painted.iter().find(|s| s.0 <= x && x <= s.1).map(|s| s.2)
                );
                if let Some(i) = at {
                    let all: Vec<usize> = (0..sets.len()).filter(|&k| holds(k, x)).collect();
                    for from in 0..=sets.len() {
                        let want = all.iter().copied().find(|&k| k >= from);
                        let got = if segs[i].2 >= from {
                            Some(segs[i].2)
                        } else {
                            later.first_from(i, from)
                        };
                        prop_assert_eq!(want, got);
                    }
                }
            }
        }
    }

    #[test]
    fn paint_gives_each_point_its_first_set() {
        let sets: Vec<Vec<(u128, u128)>> = vec![
            vec![(10, 20)],
            vec![(5, 12), (30, 40)],
            vec![(0, 50)],
            vec![(15, 16)],
            vec![(u128::MAX - 1, u128::MAX)],
            vec![(0, u128::MAX)],
        ];
        let segs = paint(sets.iter().enumerate().map(|(k, s)| (k, s.as_slice())));
        assert_eq!(
            segs,
            vec![
                (0, 4, 2),
                (5, 9, 1),
                (10, 20, 0),
                (21, 29, 2),
                (30, 40, 1),
                (41, 50, 2),
                (51, u128::MAX - 2, 5),
                (u128::MAX - 1, u128::MAX, 4),
            ]
        );
    }
}
