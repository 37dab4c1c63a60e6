//! Z103 `required-flow-unknown`: Whether a required flow gets through depends on something the engine cannot decide.
//! The full text is in `z103_required_flow_unknown.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::{is_undecidable, label_at, FlowCtx};
use crate::engine::Finding;
use crate::model::{At, Verdict};

pub const CHECK: Check = Check {
    code: "Z103",
    name: "required-flow-unknown",
    severity: Severity::Warning,
    summary: "Whether a required flow gets through depends on something the engine cannot decide.",
    doc: include_str!("z103_required_flow_unknown.md"),
};

/// How many undecidable rules a Z103 names (and labels); beyond, it counts them.
pub const NAMED: usize = 3;

/// Z103 for a flow the engine cannot decide: one finding per flow, labelled on the first
/// [`NAMED`] undecidable rules, and saying how many there are.
pub fn finding(cx: &FlowCtx<'_>) -> Finding {
    let und: Vec<At> = cx
        .reach
        .deciders(Verdict::Unknown)
        .into_iter()
        .filter(|at| is_undecidable(cx.rs, *at))
        .collect();
    let names: Vec<String> = und
        .iter()
        .filter_map(|at| cx.rs.provenance(*at).map(|p| format!("`{}`", p.label)))
        .collect();
    let what = match names.len() {
        n if n <= NAMED => "cannot be decided".to_string(),
        n => format!(
            "cannot be decided: it depends on {n} undecidable rules ({} and {} more)",
            names[..NAMED].join(", "),
            n - NAMED
        ),
    };
    let mut f = cx.finding(&CHECK, &what);
    f.labels = und
        .iter()
        .take(NAMED)
        .filter_map(|at| label_at(cx.rs, *at, "cannot be evaluated".into()))
        .collect();
    f.help = Some(format!(
        "undecided because: {}",
        cx.rec.unknown_reasons.join("; ")
    ));
    f
}
