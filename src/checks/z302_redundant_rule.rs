//! Z302 `redundant-rule`: removing the rule changes nothing. The full text is in
//! `z302_redundant_rule.md`; the analysis is shared with Z301 in `z301_shadowed_rule.rs`.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z302",
    name: "redundant-rule",
    severity: Severity::Info,
    summary: "Removing the rule changes nothing: later rules or the default give the same answer.",
    doc: include_str!("z302_redundant_rule.md"),
};
