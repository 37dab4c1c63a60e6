//! The client's later packets in a fix: its ACK and data after the SYN are ESTABLISHED on the
//! request's own hook (`engine::replies::later_packets`), so a fix admits them where they are
//! dropped, and is verified with them.

use super::{deny_labels, Outcome, Pipeline, Reach, Ruleset, Verdict};
use crate::engine::replies::admitted_groups;
use crate::model::AddrSet;

/// The denied pieces of the client's later packets (its ACK and data: the request's packets,
/// ESTABLISHED, through the request's hook; `engine::replies::later_packets`) of every piece of
/// `reach`, as if the request were admitted where it is denied: what a fix must let in too.
pub(super) fn denied(rs: &Ruleset, pipeline: &Pipeline, reach: &Reach) -> Vec<Outcome> {
    if !rs.replies_filtered() || rs.stateless {
        return Vec::new();
    }
    let mut admitted = reach.clone();
    for o in &mut admitted.outcomes {
        if o.verdict == Verdict::Deny {
            o.verdict = Verdict::Allow;
        }
    }
    let groups = admitted_groups(pipeline.hook, &admitted);
    crate::engine::replies::later_packets(
        rs,
        pipeline,
        pipeline.hook,
        &groups,
        &AddrSet::loopback(),
        None,
    )
    .outcomes
    .into_iter()
    .filter(|o| o.verdict == Verdict::Deny)
    .collect()
}

/// After a change: where the flow's request is admitted (`now`), its later packets get in too.
pub(super) fn pass(after: &Ruleset, pl: &Pipeline, now: &Reach) -> Result<(), String> {
    let groups = admitted_groups(pl.hook, now);
    let later = crate::engine::replies::later_packets(
        after,
        pl,
        pl.hook,
        &groups,
        &AddrSet::loopback(),
        None,
    );
    if later.outcomes.iter().any(|o| o.verdict == Verdict::Deny) {
        return Err(deny_labels(after, &later.outcomes));
    }
    Ok(())
}
