//! Z101 `required-flow-blocked`: No packet of a required Zerto flow gets through.
//! The full text is in `z101_required_flow_blocked.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::FlowCtx;
use crate::engine::Finding;
use crate::model::Verdict;

pub const CHECK: Check = Check {
    code: "Z101",
    name: "required-flow-blocked",
    severity: Severity::Error,
    summary: "No packet of a required Zerto flow gets through.",
    doc: include_str!("z101_required_flow_blocked.md"),
};

// The help (what to change) is the remedy's: see `crate::remedy`.

/// Z101 for a blocked flow: what denies it (with NSGs in series, which NSG), labels on it and on
/// the jumps that led there, and the remedy (or a disabled Windows rule that would admit it).
pub fn finding(cx: &FlowCtx<'_>) -> Finding {
    let by: Vec<String> = cx
        .reach
        .deciders(Verdict::Deny)
        .into_iter()
        .filter_map(|at| cx.rs.provenance(at).map(|p| p.label.to_string()))
        .collect();
    let what = match by.as_slice() {
        [one] => format!("is blocked by {one}"),
        _ => "is blocked".to_string(),
    };
    let mut f = cx.finding(&CHECK, &what);
    f.labels = cx.deny_labels("drops");
    let mut help = cx.fix_help();
    if let Some(hint) = cx.disabled_rule_hint() {
        help = format!("{hint}; or {help}");
    }
    f.help = Some(help);
    f
}
