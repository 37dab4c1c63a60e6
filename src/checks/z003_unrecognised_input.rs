//! Z003 `unrecognised-input`: A file named on the command line is no format Portolan reads, or cannot be read.
//! The full text is in `z003_unrecognised_input.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z003",
    name: "unrecognised-input",
    severity: Severity::Error,
    summary: "A file named on the command line is no format Portolan reads, or cannot be read.",
    doc: include_str!("z003_unrecognised_input.md"),
};
