//! Z001 `parse-error`: A line or value of an input file cannot be parsed.
//! The full text is in `z001_parse_error.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z001",
    name: "parse-error",
    severity: Severity::Error,
    summary: "A line or value of an input file cannot be parsed.",
    doc: include_str!("z001_parse_error.md"),
};
