//! Z102 `required-flow-partial`: Some sources, destinations or ports of a required flow are denied.
//! The full text is in `z102_required_flow_partial.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::{display_list, FlowCtx};
use crate::engine::Finding;

pub const CHECK: Check = Check {
    code: "Z102",
    name: "required-flow-partial",
    severity: Severity::Error,
    summary: "Some sources, destinations or ports of a required flow are denied.",
    doc: include_str!("z102_required_flow_partial.md"),
};

/// Z102 for a partly allowed flow: who gets through, labels on what drops the rest, the denied
/// peers and the remedy.
pub fn finding(cx: &FlowCtx<'_>) -> Finding {
    // every peer gets some of the ports, none gets the rest: say which ports are denied
    let (peers_denied, peers_allowed) = if cx.rec.direction == "outbound" {
        (
            cx.reach.denied_destinations(),
            cx.reach.allowed_destinations(),
        )
    } else {
        (cx.reach.denied_sources(), cx.reach.allowed_sources())
    };
    let ports = cx.reach.denied_ports();
    let what = if peers_denied.is_subset(&peers_allowed) && !ports.is_empty() {
        format!(
            "is allowed only on some ports: {}/{} denied (to every peer)",
            cx.rec.protocol,
            crate::model::ports::port_string(&ports)
        )
    } else {
        format!(
            "is allowed only from {}",
            display_list(&cx.rec.allowed_sources)
        )
    };
    let mut f = cx.finding(&CHECK, &what);
    f.labels = cx.deny_labels("drops the rest of");
    let (what, denied) = if cx.rec.direction == "outbound" {
        ("destinations", cx.reach.denied_destinations())
    } else {
        ("sources", cx.reach.denied_sources())
    };
    f.help = Some(format!(
        "denied {what}: {}; {}",
        display_list(&denied.to_cidrs()),
        cx.fix_help()
    ));
    f
}
