//! Z102 `required-flow-partial`: Some sources, destinations or ports of a required flow are denied.
//! The full text is in `z102_required_flow_partial.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z102",
    name: "required-flow-partial",
    severity: Severity::Error,
    summary: "Some sources, destinations or ports of a required flow are denied.",
    doc: include_str!("z102_required_flow_partial.md"),
};
