//! Z202 `internal-port-exposed`: TCP 7073, internal to the ZVM, is reachable from outside it.
//! The full text is in `z202_internal_port_exposed.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z202",
    name: "internal-port-exposed",
    severity: Severity::Error,
    summary: "TCP 7073, internal to the ZVM, is reachable from outside it.",
    doc: include_str!("z202_internal_port_exposed.md"),
};
