//! Z201 `management-port-exposed`: A Zerto port of the guarded host is reachable from any address.
//! The full text is in `z201_management_port_exposed.md`, next to this file.

use super::Check;
use crate::audit::finding::Severity;

pub const CHECK: Check = Check {
    code: "Z201",
    name: "management-port-exposed",
    severity: Severity::Warning,
    summary: "A Zerto port of the guarded host is reachable from any address.",
    doc: include_str!("z201_management_port_exposed.md"),
};
