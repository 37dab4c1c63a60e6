//! Z201 `management-port-exposed`: A Zerto port of the guarded host is reachable from any address.
//! The full text is in `z201_management_port_exposed.md`, next to this file.

use super::Check;
use super::Severity;

pub const CHECK: Check = Check {
    code: "Z201",
    name: "management-port-exposed",
    severity: Severity::Warning,
    summary: "A Zerto port of the guarded host is reachable from any address.",
    doc: include_str!("z201_management_port_exposed.md"),
};

/// What to change, in the platform's own terms.
pub fn help(semantics: Option<crate::model::Semantics>) -> String {
    use crate::model::Semantics;
    match semantics {
        Some(Semantics::FirstMatch) | None => {
            "restrict the rule's source to the Zerto peers that need these ports (`-s PEERS`)".into()
        }
        Some(Semantics::Priority) => {
            "set the rule's sourceAddressPrefix(es) to the peers' ranges (or an ASG) instead of `*`/`Internet`".into()
        }
        Some(Semantics::AllowUnion) => {
            "replace 0.0.0.0/0 (or ::/0) in this permission with the peers' CIDRs or their security group".into()
        }
        Some(Semantics::BlockWins) => {
            "set the rule's remote address to the peers (`Set-NetFirewallRule -RemoteAddress PEERS`)".into()
        }
    }
}
