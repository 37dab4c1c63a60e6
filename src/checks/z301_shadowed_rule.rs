//! Z301 `shadowed-rule`: a rule no packet can reach. The full text is in `z301_shadowed_rule.md`.
//! Z302 (`redundant-rule`, next to this file) shares the analysis.

use rayon::prelude::*;

use super::Check;
use crate::engine::finding::{Finding, Label, Severity};
use crate::model::{Action, PacketBox, Policy, RuleId, Ruleset, Semantics, Verdict};

pub const CHECK: Check = Check {
    code: "Z301",
    name: "shadowed-rule",
    severity: Severity::Warning,
    summary: "A rule can never match: earlier rules cover all it matches.",
    doc: include_str!("z301_shadowed_rule.md"),
};

/// Chains longer than this are not analysed (quadratic work; a generated dump of that size is
/// better served by its generator's own checks).
pub const MAX_CHAIN: usize = 4000;
/// Give up on one rule when its uncovered part splits into more pieces than this.
const MAX_PIECES: usize = 512;

fn label(r: &crate::model::Rule, text: &str) -> Option<Label> {
    (!r.prov.span.is_empty()).then(|| Label {
        span: r.prov.span,
        line: r.prov.line,
        column: r.prov.column,
        text: text.to_string(),
        rule: Some(r.prov.label.clone()),
    })
}

/// Does an earlier rule with this action take the packets it matches away from later rules?
fn covers(a: Action) -> bool {
    matches!(
        a,
        Action::Accept
            | Action::Drop
            | Action::Reject
            | Action::Return
            | Action::Goto(_)
            | Action::Opaque
    )
}

/// What remains of `b` after the boxes of `cover`, and which of them took part.
fn uncovered(
    b: &PacketBox,
    cover: &[(PacketBox, RuleId)],
) -> Option<(Vec<PacketBox>, Vec<RuleId>)> {
    let mut rest = vec![b.clone()];
    let mut by = Vec::new();
    for (c, rid) in cover {
        if rest.is_empty() {
            break;
        }
        let mut next = Vec::with_capacity(rest.len());
        let mut hit = false;
        for piece in rest {
            if piece.intersects(c) {
                hit = true;
                next.extend(piece.subtract(c));
            } else {
                next.push(piece);
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

/// Z301 and Z302 for every chain that a pipeline of the ruleset enters.
pub fn check(file: usize, rs: &Ruleset) -> Vec<Finding> {
    let mut out = Vec::new();
    for (pi, p) in rs.policies.iter().enumerate() {
        let entered: Vec<usize> = rs
            .pipelines
            .iter()
            .flat_map(|pl| pl.stages.iter())
            .filter(|s| s.policy == pi)
            .map(|s| s.chain)
            .collect();
        if entered.is_empty() {
            continue;
        }
        // built-in chains a pipeline enters, and user chains (reached by jumps); chains are
        // independent, so they are analysed in parallel and their findings kept in chain order
        let chains: Vec<usize> = p
            .chains
            .iter()
            .enumerate()
            .filter(|(ci, c)| {
                (c.policy.is_none() || entered.contains(ci)) && c.rules.len() <= MAX_CHAIN
            })
            .map(|(ci, _)| ci)
            .collect();
        let found: Vec<Vec<Finding>> = chains
            .par_iter()
            .map(|&ci| {
                let mut v = Vec::new();
                check_chain(file, p, ci, &mut v);
                v
            })
            .collect();
        out.extend(found.into_iter().flatten());
    }
    out
}

fn check_chain(file: usize, p: &Policy, ci: usize, out: &mut Vec<Finding>) {
    let chain = &p.chains[ci];
    let mut cover: Vec<(PacketBox, RuleId)> = Vec::new();
    let mut i = 0;
    while i < chain.rules.len() {
        // the model rules of one source rule (same span) are judged together
        let first = chain.rules[i];
        let span = p.rules[first].prov.span;
        let mut j = i;
        while j < chain.rules.len() && p.rules[chain.rules[j]].prov.span == span && !span.is_empty()
        {
            j += 1;
        }
        if j == i {
            j = i + 1;
        }
        let group: Vec<RuleId> = chain.rules[i..j].to_vec();
        let mut all_shadowed = true;
        let mut by: Vec<RuleId> = Vec::new();
        let mut reaching: Vec<PacketBox> = Vec::new();
        let mut gave_up = false;
        for &rid in &group {
            match uncovered(&p.rules[rid].matches, &cover) {
                Some((rest, b)) => {
                    if !rest.is_empty() {
                        all_shadowed = false;
                    }
                    reaching.extend(rest);
                    for x in b {
                        if !by.contains(&x) {
                            by.push(x);
                        }
                    }
                }
                None => {
                    gave_up = true;
                    all_shadowed = false;
                }
            }
        }
        let rule = &p.rules[first];
        // order means nothing among allow rules of a union, nor among Windows allow rules (block
        // rules win, allows are unioned): there a covered allow is redundant, not shadowed
        let union = p.semantics == Semantics::AllowUnion
            || (p.semantics == Semantics::BlockWins
                && rule.action == Action::Accept
                && by.iter().all(|r| p.rules[*r].action == Action::Accept));
        // nor a stand-in for rules the export does not show (an iptables table cut short)
        let stand_in = rule.prov.span.is_empty() && rule.action == Action::Opaque;
        if rule.builtin || stand_in {
            // reported never; it still covers what follows
        } else if all_shadowed && !by.is_empty() && !gave_up {
            let names: Vec<String> = by
                .iter()
                .take(4)
                .map(|r| p.rules[*r].prov.label.clone())
                .collect();
            let check = if union {
                &super::z302_redundant_rule::CHECK
            } else {
                &CHECK
            };
            let mut f = Finding::new(
                check,
                if union {
                    format!(
                        "{} allows nothing the other allow rules do not already allow ({})",
                        rule.prov.label,
                        names.join(", ")
                    )
                } else {
                    format!(
                        "{} can never match: everything it matches is taken by {} first",
                        rule.prov.label,
                        names.join(", ")
                    )
                },
            );
            f.file = Some(file);
            f.labels.extend(label(
                rule,
                if union { "redundant" } else { "never reached" },
            ));
            for r in by.iter().take(4) {
                f.labels.extend(label(&p.rules[*r], "covers it"));
            }
            f.help = Some(if union {
                "delete the redundant rule".into()
            } else {
                "move the rule above the rules that cover it if it should win, or delete it".into()
            });
            out.push(f);
        } else if !gave_up
            && !union
            && chain.policy.is_some()
            && !reaching.is_empty()
            && rule.undecidable.is_empty()
        {
            // Z302: what reaches the rule gets the same answer without it
            let want = match rule.action {
                Action::Accept => Some(Verdict::Allow),
                Action::Drop | Action::Reject => Some(Verdict::Deny),
                _ => None,
            };
            if let Some(want) = want {
                // the same verdict by the same kind of action (a DROP is not a REJECT)
                let same_action = |d: &crate::model::Decider| match d {
                    crate::model::Decider::Rule(x) => {
                        p.rules.get(*x).is_some_and(|x| x.action == rule.action)
                    }
                    crate::model::Decider::ChainPolicy(_) => rule.action != Action::Reject,
                    crate::model::Decider::Loop(_) => false,
                };
                let same = reaching.iter().all(|b| {
                    p.evaluate_from(ci, j, b).iter().all(|piece| {
                        piece.verdict == want && piece.deciders.iter().all(same_action)
                    })
                });
                if same {
                    let mut f = Finding::new(
                        &super::z302_redundant_rule::CHECK,
                        format!(
                            "{} is redundant: without it the rules after it and the chain's default give the same answer ({})",
                            rule.prov.label,
                            want.name()
                        ),
                    );
                    f.file = Some(file);
                    f.labels.extend(label(rule, "changes nothing"));
                    f.help = Some("delete it, or say in a comment why it must stay".into());
                    out.push(f);
                }
            }
        }
        for &rid in &group {
            let r = &p.rules[rid];
            if covers(r.action) && r.undecidable.is_empty() {
                cover.push((r.matches.clone(), rid));
            }
        }
        i = j;
    }
}
