//! Z202 `internal-port-exposed`: 7073, internal to the ZVM, is reachable from outside it.
//! The full text is in `z202_internal_port_exposed.md`, next to this file. Z203 (next to this
//! file) shares the analysis: both are a catalogue "must not open" entry that the world region
//! (`engine::exposure`) reaches.

use super::{z203_unneeded_port_open, Check, Severity};
use crate::catalog::{MustNotKind, MustNotOpen};
use crate::engine::cidrs::source_cidrs;
use crate::engine::findings::{display_list, label_at};
use crate::engine::jobs::protocol_set;
use crate::engine::reach::{Ends, Reach, Region};
use crate::engine::Finding;
use crate::model::ports::{port_string, PortSet};
use crate::model::{Hook, Ruleset, Verdict};

pub const CHECK: Check = Check {
    code: "Z202",
    name: "internal-port-exposed",
    severity: Severity::Error,
    summary: "TCP 7073, internal to the ZVM, is reachable from outside it.",
    doc: include_str!("z202_internal_port_exposed.md"),
};

/// What to change so that 7073 stays inside the ZVM, in the platform's own terms (a cloud
/// filter has no loopback interface to allow it on).
fn internal_help(p: crate::model::Platform) -> &'static str {
    use crate::model::Platform;
    match p {
        Platform::Iptables | Platform::Nftables => {
            "only the ZVM itself uses 7073: drop it, or accept it on `-i lo` only"
        }
        Platform::AzureNsg => {
            "only the ZVM itself uses 7073: remove 7073 from the rule that allows it (or add a Deny for TCP 7073 at a lower priority number); the VM reaches its own port without the NSG"
        }
        Platform::AwsSecurityGroup | Platform::AwsNetworkAcl => {
            "only the ZVM itself uses 7073: remove 7073 from the rule that allows it; the instance reaches its own port without the security group or ACL"
        }
        Platform::WindowsFirewall => {
            "only the ZVM itself uses 7073: remove 7073 from the inbound allow rule (or scope it to the local address); local connections do not need an inbound rule"
        }
    }
}

/// Z202 (internal-only port) or Z203 (port not needed) for one "must not open" entry: a finding
/// when the world region admits any source to it, naming the rules that admit it.
pub fn check(file: usize, rs: &Ruleset, ends: &Ends, m: &MustNotOpen) -> Option<Finding> {
    let input = rs.pipeline(Hook::Input)?;
    let ports = PortSet::from_ranges(m.ports.iter().copied());
    let reach = Reach::evaluate(
        rs,
        input,
        &Region::from_anywhere(rs, ends, protocol_set(m.protocol), ports.clone()),
    );
    let allowers = reach.deciders(Verdict::Allow);
    if allowers.is_empty() {
        return None;
    }
    let check = match m.kind {
        MustNotKind::InternalOnly => &CHECK,
        MustNotKind::NotNeeded => &z203_unneeded_port_open::CHECK,
    };
    let what = format!("{}/{}", m.protocol.as_str(), port_string(&ports));
    let from = display_list(&source_cidrs(&reach.allowed_sources()));
    let mut f = Finding::new(
        check,
        match m.kind {
            MustNotKind::InternalOnly => {
                format!("{what} is internal to the ZVM but is reachable from {from}")
            }
            MustNotKind::NotNeeded => match &m.condition {
                // needed elsewhere, not here (9080 in ICDR mode)
                Some(c) => format!(
                    "{what} is not needed by Zerto when {c} but is open (from {from}): {}",
                    m.purpose
                ),
                None => format!("{what} is not needed by Zerto but is open (from {from})"),
            },
        },
    );
    f.file = Some(file);
    f.requirement = Some(m.id.clone());
    f.labels = allowers
        .iter()
        .filter_map(|at| label_at(rs, *at, format!("admits {what}")))
        .collect();
    // a rule lowered into several boxes (an nft rule with a set, say) is one label
    let mut seen = std::collections::HashSet::new();
    f.labels.retain(|l| seen.insert((l.span.start, l.span.end)));
    f.help = Some(match m.kind {
        MustNotKind::InternalOnly => internal_help(rs.platform).into(),
        MustNotKind::NotNeeded => {
            "block these ports unless something else on the host needs them".into()
        }
    });
    Some(f)
}
