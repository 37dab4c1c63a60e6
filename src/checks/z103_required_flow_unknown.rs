//! Z103 `required-flow-unknown`: Whether a required flow gets through depends on something the engine cannot decide.
//! The full text is in `z103_required_flow_unknown.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z103",
    name: "required-flow-unknown",
    severity: Severity::Warning,
    summary: "Whether a required flow gets through depends on something the engine cannot decide.",
    doc: include_str!("z103_required_flow_unknown.md"),
};
