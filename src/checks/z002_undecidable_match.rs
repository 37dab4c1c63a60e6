//! Z002 `undecidable-match`: A match the engine cannot evaluate from the export alone.
//! The full text is in `z002_undecidable_match.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::{is_undecidable, label_at, FlowCtx};
use crate::engine::Finding;
use crate::model::{Decider, Verdict};

pub const CHECK: Check = Check {
    code: "Z002",
    name: "undecidable-match",
    severity: Severity::Warning,
    summary: "A match the engine cannot evaluate from the export alone.",
    doc: include_str!("z002_undecidable_match.md"),
};

/// Z002 once per undecidable rule that touched an unknown required flow (the engine keeps one
/// per rule line and reason in a file, and none where parsing already said it).
pub fn from_flow(cx: &FlowCtx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for at in cx
        .reach
        .deciders(Verdict::Unknown)
        .into_iter()
        .filter(|at| is_undecidable(cx.rs, *at))
    {
        let Some(p) = cx.rs.policies.get(at.policy) else {
            continue;
        };
        let (Decider::Rule(r) | Decider::Loop(r)) = at.decider else {
            continue;
        };
        let Some(rule) = p.rules.get(r) else { continue };
        let why = if rule.undecidable.is_empty() {
            "its verdict is not in the export".to_string()
        } else {
            rule.undecidable.join("; ")
        };
        let mut f = Finding::new(&CHECK, [&*rule.prov.label, ": ", &why].concat());
        f.file = Some(cx.rec.file);
        f.labels = label_at(cx.rs, at, "undecidable".into())
            .into_iter()
            .collect();
        f.help = Some(
            "flows through this rule are reported as unknown; see `portolan explain Z002`".into(),
        );
        out.push(f);
    }
    out
}
