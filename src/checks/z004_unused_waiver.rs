//! Z004 `unused-waiver`: a waiver in the inventory matches no finding.
//! The full text is in `z004_unused_waiver.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z004",
    name: "unused-waiver",
    severity: Severity::Info,
    summary: "A waiver in the inventory matches no finding.",
    doc: include_str!("z004_unused_waiver.md"),
};
