//! Allow unions (AWS security groups, `Semantics::AllowUnion`) in linear time: a packet any
//! decided allow rule matches is allowed, whatever the others do. Rules that differ in their
//! sources only are split as one box (`union_groups`), made once per chain and cached.

use super::{Decider, Deciders, Piece, Policy, Verdict};
use crate::model::addr::AddrSet;
use crate::model::conntrack::Seen;
use crate::model::interval::IntervalSet;
use crate::model::rule::{Action, ChainId, Rule, RuleId};
use crate::model::space::{Cut, PacketBox};

impl Policy {
    /// A union of allow rules (a security group) in linear time: a packet any decided rule
    /// matches is allowed, whatever the others do; one only undecidable rules match is unknown;
    /// the rest gets the chain's policy. `None` when the chain is not a pure union.
    pub(super) fn evaluate_union(&self, entry: ChainId, region: &PacketBox) -> Option<Vec<Piece>> {
        let c = self.chains.get(entry)?;
        let rules: Vec<(RuleId, &Rule)> = c
            .rules
            .iter()
            .filter_map(|&r| self.rules.get(r).map(|x| (r, x)))
            .collect();
        // opaque rules end evaluation with an unknown verdict in first-match terms: not a union
        if !rules
            .iter()
            .all(|(_, r)| matches!(r.action, Action::Accept | Action::Continue))
        {
            return None;
        }
        let mut out = Vec::new();
        let mut rest = vec![region.clone()];
        let split =
            |rest: &mut Vec<PacketBox>, m: &PacketBox, mut emit: Box<dyn FnMut(PacketBox) + '_>| {
                let mut next = Vec::with_capacity(rest.len());
                for piece in rest.drain(..) {
                    match piece.split(m, &mut next) {
                        Cut::Inside(hit) => emit(hit),
                        Cut::Apart(piece) => next.push(piece),
                    }
                }
                *rest = next;
            };
        let slot = self.union_cache.slot(entry);
        let groups = slot.get_or_init(|| {
            union_groups(
                rules
                    .iter()
                    .filter(|(_, r)| r.action == Action::Accept && r.undecidable.is_empty())
                    .copied(),
            )
        });
        for (m, members) in groups {
            split(
                &mut rest,
                m,
                Box::new(|hit| {
                    out.push(Piece {
                        deciders: self.members_in(members, &hit),
                        space: hit,
                        verdict: Verdict::Allow,
                        via: Default::default(),
                        reasons: Vec::new(),
                        seen: Seen::OWN,
                    })
                }),
            );
        }
        for (rid, r) in rules
            .iter()
            .filter(|(_, r)| r.action == Action::Accept && !r.undecidable.is_empty())
        {
            let rid = *rid;
            let reasons = r.undecidable.clone();
            split(
                &mut rest,
                &r.matches,
                Box::new(|hit| {
                    out.push(Piece {
                        space: hit,
                        verdict: Verdict::Unknown,
                        deciders: smallvec::smallvec![Decider::Rule(rid)],
                        via: Default::default(),
                        reasons: reasons.clone(),
                        seen: Seen::OWN,
                    })
                }),
            );
        }
        let policy = c.policy.unwrap_or(Verdict::Unknown);
        for piece in rest {
            out.push(Piece {
                space: piece,
                verdict: policy,
                deciders: smallvec::smallvec![Decider::ChainPolicy(entry)],
                via: Default::default(),
                reasons: if c.policy.is_none() {
                    vec![format!("chain `{}` has no policy", c.name)]
                } else {
                    Vec::new()
                },
                seen: Seen::OWN,
            });
        }
        Some(out)
    }

    /// The members of a union group whose box meets `hit`: the rules that allow it.
    fn members_in(&self, members: &[RuleId], hit: &PacketBox) -> Deciders {
        if let [rid] = members {
            return smallvec::smallvec![Decider::Rule(*rid)];
        }
        members
            .iter()
            .filter(|&&rid| {
                self.rules
                    .get(rid)
                    .is_some_and(|r| r.matches.intersects(hit))
            })
            .map(|&rid| Decider::Rule(rid))
            .collect()
    }
}

/// Below this many rules that differ only in their source addresses, a union is split rule by
/// rule (each piece names the one rule that allows it); from this many on, they are split as one
/// box whose source set is the union of theirs.
const GROUP_AT: usize = 16;

/// The allow rules of a union, for splitting a region: rules that match the same packets but for
/// their sources (an export with a thousand CIDRs on one port) are merged into one box when there
/// are [`GROUP_AT`] or more of them. Exact: a union of boxes that agree on every other dimension
/// is the box of the union of their sources. Without this, what is left of the region is split
/// once per rule and its source set grows by one range each time: quadratic in the rules.
pub(super) fn union_groups<'r>(
    rules: impl Iterator<Item = (RuleId, &'r Rule)>,
) -> Vec<(PacketBox, Vec<RuleId>)> {
    let mut index: std::collections::HashMap<PacketBox, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<(usize, RuleId, &'r PacketBox)>> = Vec::new();
    for (pos, (rid, r)) in rules.enumerate() {
        let mut key = r.matches.clone();
        key.src = AddrSet::default();
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push((pos, rid, &r.matches));
    }
    // rule order is kept: small groups rule by rule at their rules' places, a large group at its
    // first rule's place
    let mut order: Vec<(usize, PacketBox, Vec<RuleId>)> = Vec::new();
    for members in groups {
        if members.len() < GROUP_AT {
            for (pos, rid, m) in members {
                order.push((pos, m.clone(), vec![rid]));
            }
        } else {
            let mut b = members[0].2.clone();
            b.src = AddrSet(IntervalSet::from_ranges(
                members
                    .iter()
                    .flat_map(|(_, _, m)| m.src.0.ranges().iter().copied()),
            ));
            let first = members[0].0;
            order.push((first, b, members.into_iter().map(|(_, r, _)| r).collect()));
        }
    }
    order.sort_by_key(|(first, _, _)| *first);
    order.into_iter().map(|(_, b, m)| (b, m)).collect()
}
