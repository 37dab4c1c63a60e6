//! Z203 `unneeded-port-open`: Ports the Zerto documents say are not needed (UDP 444xx, DHCP) are open.
//! The full text is in `z203_unneeded_port_open.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z203",
    name: "unneeded-port-open",
    severity: Severity::Info,
    summary: "Ports the Zerto documents say are not needed (UDP 444xx, DHCP) are open.",
    doc: include_str!("z203_unneeded_port_open.md"),
};
