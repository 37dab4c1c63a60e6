//! Z301 `shadowed-rule`: a rule no packet can reach. The full text is in `z301_shadowed_rule.md`.
//! Z302 (`redundant-rule`, next to this file) shares the analysis.

use rayon::prelude::*;

use super::Check;
use crate::engine::finding::{Finding, Label, Severity};
use crate::engine::reachability::{analyse, ChainReach};
use crate::model::{Action, Policy, RuleId, Ruleset, Semantics, Verdict};

pub const CHECK: Check = Check {
    code: "Z301",
    name: "shadowed-rule",
    severity: Severity::Warning,
    summary: "A rule can never match: earlier rules cover all it matches.",
    doc: include_str!("z301_shadowed_rule.md"),
};

fn label(p: &Policy, r: &crate::model::Rule, text: &str) -> Option<Label> {
    (!r.prov.span.is_empty()).then(|| Label {
        span: r.prov.span,
        line: r.prov.line,
        column: r.prov.column,
        text: text.to_string(),
        rule: Some(r.prov.label.to_string()),
        identity: crate::engine::finding::identity(p, r),
    })
}

/// Z301 and Z302 for every chain that a pipeline of the ruleset enters and every chain its
/// jumps reach, from the reachability analysis (`engine::reachability`).
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
        // a translating policy (iptables `nat`) never filters: its rules are not judged (a
        // kube-proxy node's nat table is 90% of its rules, and judging them cost more than the
        // whole audit of the rest)
        if entered.is_empty() || p.semantics == crate::model::Semantics::Translate {
            continue;
        }
        let mut chains = analyse(p, &entered);
        chains.sort_by_key(|c| c.chain);
        let found: Vec<Vec<Finding>> = chains
            .par_iter()
            .map(|c| {
                let mut v = Vec::new();
                judge_chain(file, p, c, &mut v);
                v
            })
            .collect();
        out.extend(found.into_iter().flatten());
    }
    out
}

fn judge_chain(file: usize, p: &Policy, cr: &ChainReach, out: &mut Vec<Finding>) {
    if cr.nothing_enters {
        return;
    }
    let ci = cr.chain;
    let chain = &p.chains[ci];
    let mut end = 0;
    for g in &cr.groups {
        end += g.rules.len();
        let first = g.rules[0];
        let rule = &p.rules[first];
        let by = &g.by;
        let all_shadowed = g.rest.is_empty();
        let gave_up = g.gave_up;
        // order means nothing among allow rules of a union, nor among Windows allow rules (block
        // rules win, allows are unioned): there a covered allow is redundant, not shadowed
        let union = p.semantics == Semantics::AllowUnion
            || (p.semantics == Semantics::BlockWins
                && rule.action == Action::Accept
                && by.iter().all(|r| p.rules[*r].action == Action::Accept));
        // nor a stand-in for rules the export does not show (an iptables table cut short)
        let stand_in = rule.prov.span.is_empty() && rule.action == Action::Opaque;
        let takers: Vec<RuleId> = by.iter().chain(g.upstream.iter()).copied().collect();
        if rule.builtin || stand_in {
            // reported never; it still covers what follows
        } else if all_shadowed && !takers.is_empty() && !gave_up {
            let names: Vec<String> = takers
                .iter()
                .take(4)
                .map(|r| p.rules[*r].prov.label.to_string())
                .collect();
            let check = if union && g.upstream.is_empty() {
                &super::z302_redundant_rule::CHECK
            } else {
                &CHECK
            };
            let redundant = check.code == "Z302";
            let mut f = Finding::new(
                check,
                if redundant {
                    format!(
                        "{} allows nothing the other allow rules do not already allow ({})",
                        rule.prov.label,
                        names.join(", ")
                    )
                } else if by.is_empty() {
                    format!(
                        "{} can never match: no packet it matches gets to chain {} ({} take(s) them first)",
                        rule.prov.label,
                        chain.name,
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
                p,
                rule,
                if redundant {
                    "redundant"
                } else {
                    "never reached"
                },
            ));
            for r in by.iter().take(4) {
                f.labels.extend(label(p, &p.rules[*r], "covers it"));
            }
            for r in g.upstream.iter().take(4) {
                let x = &p.rules[*r];
                let text = match x.action {
                    Action::Jump(_) | Action::Goto(_) => {
                        "the way into its chain, never with its packets"
                    }
                    _ => "takes its packets before they get to its chain",
                };
                f.labels.extend(label(p, x, text));
            }
            f.help = Some(if redundant {
                "delete the redundant rule".into()
            } else {
                "move the rule above the rules that take its packets if it should win, or delete it"
                    .into()
            });
            out.push(f);
        } else if !gave_up
            && !union
            && chain.policy.is_some()
            && !g.rest.is_empty()
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
                let same = g.rest.iter().all(|b| {
                    p.evaluate_from(ci, end, b).iter().all(|piece| {
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
                    f.labels.extend(label(p, rule, "changes nothing"));
                    f.help = Some("delete it, or say in a comment why it must stay".into());
                    out.push(f);
                }
            }
        }
    }
}
