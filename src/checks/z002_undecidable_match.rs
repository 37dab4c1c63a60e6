//! Z002 `undecidable-match`: A match the engine cannot evaluate from the export alone.
//! The full text is in `z002_undecidable_match.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z002",
    name: "undecidable-match",
    severity: Severity::Warning,
    summary: "A match the engine cannot evaluate from the export alone.",
    doc: include_str!("z002_undecidable_match.md"),
};
