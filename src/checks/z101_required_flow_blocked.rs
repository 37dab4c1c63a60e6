//! Z101 `required-flow-blocked`: No packet of a required Zerto flow gets through.
//! The full text is in `z101_required_flow_blocked.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z101",
    name: "required-flow-blocked",
    severity: Severity::Error,
    summary: "No packet of a required Zerto flow gets through.",
    doc: include_str!("z101_required_flow_blocked.md"),
};

// The help (what to change) is the remedy's: see `crate::remedy`.
