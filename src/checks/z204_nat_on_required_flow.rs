//! Z204 `nat-on-required-flow`: A NAT rule rewrites the destination of a required flow.
//! The full text is in `z204_nat_on_required_flow.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::{label_at, FlowCtx};
use crate::engine::Finding;
use crate::model::At;

pub const CHECK: Check = Check {
    code: "Z204",
    name: "nat-on-required-flow",
    severity: Severity::Warning,
    summary: "A NAT rule rewrites the destination of a required flow.",
    doc: include_str!("z204_nat_on_required_flow.md"),
};

/// Z204 for a flow some of whose packets a NAT rule translated on their way through the
/// pipeline (each evaluated piece says which rule rewrote what later stages saw, `Outcome::nat`):
/// one finding naming those rules, whatever the flow's status (a translation that blocks the
/// flow is the reason it is blocked). `None` when nothing translated it.
pub fn finding(cx: &FlowCtx<'_>) -> Option<Finding> {
    let mut by: Vec<(At, crate::model::nat::Translation)> = Vec::new();
    for o in &cx.reach.outcomes {
        if let Some(t) = o.nat {
            if !by.iter().any(|(at, _)| *at == t.by) {
                by.push((t.by, t.to));
            }
        }
    }
    if by.is_empty() {
        return None;
    }
    let describe = |t: &crate::model::nat::Translation| match (t.addr, t.port, t.local) {
        (_, Some(p), true) => format!("redirects it to port {p} of the host"),
        (_, None, true) => "redirects it to the host".to_string(),
        (Some(a), Some(p), _) => format!("rewrites its destination to {a}:{p}"),
        (Some(a), None, _) => format!("rewrites its destination address to {a}"),
        (None, Some(p), _) => format!("rewrites its destination port to {p}"),
        (None, None, _) => "translates it".to_string(),
    };
    let names: Vec<String> = by
        .iter()
        .filter_map(|(at, t)| {
            cx.rs
                .provenance(*at)
                .map(|p| format!("{} {}", p.label, describe(t)))
        })
        .collect();
    let mut f = cx.finding(
        &CHECK,
        &format!("is translated by NAT: {}", names.join("; ")),
    );
    f.labels = by
        .iter()
        .filter_map(|(at, t)| label_at(cx.rs, *at, describe(t)))
        .collect();
    f.help = Some(
        "Zerto peers address each other directly: make sure both ends know the translated address and port (or exempt the flow from the NAT rule)"
            .into(),
    );
    Some(f)
}
