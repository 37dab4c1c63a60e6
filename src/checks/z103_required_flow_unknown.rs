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

/// Z103 for a flow the engine cannot decide: labels on the undecidable rules and the reasons.
pub fn finding(cx: &FlowCtx<'_>) -> Finding {
    let mut f = cx.finding(&CHECK, "cannot be decided");
    let und: Vec<At> = cx.reach.deciders(Verdict::Unknown);
    f.labels = und
        .iter()
        .filter(|at| is_undecidable(cx.rs, **at))
        .filter_map(|at| label_at(cx.rs, *at, "cannot be evaluated".into()))
        .collect();
    f.help = Some(format!(
        "undecided because: {}",
        cx.rec.unknown_reasons.join("; ")
    ));
    f
}
