//! Any-protocol rules with port ranges: their ICMP pieces that earlier rules already take.

use super::LoweredRule;
use crate::model::ports::PortSet;
use crate::model::{Action, PacketBox, Rule, RuleId};

/// The rule ids of one chain in order, without the ICMP pieces that earlier rules already
/// take whole. The ICMP piece of an any-protocol rule with port ranges is undecidable only
/// because Azure does not say whether (or how) the ports restrict ICMP: Microsoft's security
/// rule documentation gives protocols and port ranges without relating them, which leaves open
/// that the ports are ignored, keep ICMP out, or are compared with a value the packet carries
/// (a user reports the ICMP type for `Icmp` rules, MicrosoftDocs/azure-docs#51522; the oracle's
/// `IcmpPorts` takes each reading in turn). Whatever the answer, it is the same for every rule
/// of the NSG and a rule with more ports matches no less, so where decided earlier rules and
/// earlier pieces of that same doubt with at least the same ports cover it, no packet can reach
/// it under any reading: leaving it out changes no evaluation, and reachability (Z301/Z302)
/// then judges such a rule like its `Tcp` twin.
pub(super) fn drop_covered_icmp(mine: &[&LoweredRule], rules: &[Rule]) -> Vec<RuleId> {
    let mut out = Vec::new();
    // (the box, the ports a doubt piece was written with)
    let mut cover: Vec<(&PacketBox, Option<(&PortSet, &PortSet)>)> = Vec::new();
    for l in mine {
        for &id in &l.rules {
            let r = &rules[id];
            let doubt = l
                .icmp_doubt
                .as_ref()
                .filter(|d| d.0 == id)
                .map(|d| (&d.1, &d.2));
            if let (Some((sp, dp)), 1) = (doubt, l.hooks.len()) {
                let usable: Vec<&PacketBox> = cover
                    .iter()
                    .filter(|(_, ports)| {
                        ports.is_none_or(|(s, d)| sp.is_subset(s) && dp.is_subset(d))
                    })
                    .map(|(b, _)| *b)
                    .collect();
                if covered(&r.matches, &usable) {
                    continue;
                }
            }
            out.push(id);
            if l.hooks.len() == 1
                && (r.undecidable.is_empty() || doubt.is_some())
                && matches!(r.action, Action::Accept | Action::Drop)
            {
                cover.push((&r.matches, doubt));
            }
        }
    }
    out
}

/// Is `b` inside the union of `cover`? (Bounded: a split into too many pieces answers no.)
fn covered(b: &PacketBox, cover: &[&PacketBox]) -> bool {
    let mut rest = vec![b.clone()];
    for c in cover {
        let mut next = Vec::new();
        for piece in rest {
            piece.subtract_into(c, &mut next);
        }
        if next.len() > 256 {
            return false;
        }
        rest = next;
        if rest.is_empty() {
            return true;
        }
    }
    rest.is_empty()
}
