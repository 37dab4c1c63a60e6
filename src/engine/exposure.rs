//! Exposure of a host firewall: what the world reaches. The region "any source but the host's own
//! loopback, from the clients' ephemeral ports → this host's addresses, on any interface peers
//! use, NEW connections, these ports" is evaluated
//! through the input pipeline, and the checks look at the *sources the evaluation admits*, never
//! at one rule's own match (`docs/architecture.md`, invariant 1): Z201 when the admitted sources
//! of a port cover a whole address family, Z202/Z203 when a port that must stay closed admits
//! anyone.

use super::reach::{Ends, Reach, Region};
use super::targets::Target;
use super::{AuditOptions, Finding, FlowRecord};
use crate::catalog::{role_includes, Environment};
use crate::checks::{z201_management_port_exposed, z202_internal_port_exposed};
use crate::inventory::Guards;
use crate::model::ports::{PortSet, ProtoSet};
use crate::model::{AddrSet, At, Family, Hook, RuleId, Ruleset, Verdict};

/// Ports of one protocol that every source address of a family reaches, and what lets them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    pub proto: u8,
    pub ports: PortSet,
    pub family: Family,
    /// The admitted sources hold every public address of the family, not only most.
    pub every: bool,
    /// The rules and defaults that decided the admitted pieces, in first-seen order.
    pub deciders: Vec<At>,
    /// The jumps, gotos and returns on the admitted pieces' paths.
    pub via: Vec<(usize, RuleId)>,
}

/// Evaluate the world region ([`Region::from_anywhere`]: any remote source to this host) through the input pipeline and say which ports are open to a whole
/// family. `None` when the ruleset has no input pipeline.
pub fn world_exposed(
    rs: &Ruleset,
    ends: &Ends,
    proto: &ProtoSet,
    ports: &PortSet,
) -> Option<Vec<Exposed>> {
    let input = rs.pipeline(Hook::Input)?;
    let reach = Reach::evaluate(
        rs,
        input,
        &Region::from_anywhere(rs, ends, proto.clone(), ports.clone()),
    );
    Some(exposed(rs, &reach, proto, ports))
}

/// "Open to the world": the admitted `sources` hold at least half of a family's globally
/// reachable addresses ([`AddrSet::public`]). All of `0.0.0.0/0` or `::/0` qualifies, so do two
/// rules admitting `0.0.0.0/1` and `128.0.0.0/1`, and so does `! -s 192.0.2.1` (everything but
/// one address); a company's own public block, a cloud region's ranges or the private ranges
/// (`10.0.0.0/8`) do not. This is the definition `Z201`'s doc states.
pub fn world_share(sources: &AddrSet, public: &AddrSet) -> bool {
    let total = public.size();
    total > 0 && sources.intersect(public).size() >= total.div_ceil(2)
}

/// The ports of `proto`/`ports` whose admitted sources in `reach` (an evaluation of the world
/// region) are open to the world in one family ([`world_share`]). Only pieces the
/// evaluation *allows* count: an unknown piece (an undecidable rule, a rule that failed to
/// parse) is never credited with an opening it only might make.
pub fn exposed(rs: &Ruleset, reach: &Reach, proto: &ProtoSet, ports: &PortSet) -> Vec<Exposed> {
    let allowed: Vec<_> = reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Allow)
        .collect();
    if allowed.is_empty() {
        return Vec::new();
    }
    // the ports cut where any allowed piece starts or ends: within an atom every piece either
    // holds all of it or none
    let mut cuts: Vec<u32> = Vec::new();
    for &(lo, hi) in ports.ranges() {
        cuts.push(lo as u32);
        cuts.push(hi as u32 + 1);
    }
    for o in &allowed {
        for &(lo, hi) in o.space.dport.intersect(ports).ranges() {
            cuts.push(lo as u32);
            cuts.push(hi as u32 + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let space = rs.address_space().difference(&AddrSet::loopback());
    let families: Vec<(Family, AddrSet)> = [Family::V4, Family::V6]
        .into_iter()
        .filter(|f| !space.family_part(*f).is_empty())
        .map(|f| (f, AddrSet::public(f)))
        .collect();
    let mut out: Vec<Exposed> = Vec::new();
    for &(plo, phi) in proto.ranges() {
        for p in plo..=phi {
            for w in cuts.windows(2) {
                let (lo, hi) = (w[0] as u16, (w[1] - 1) as u16);
                if !ports.contains(lo) {
                    continue;
                }
                let here: Vec<_> = allowed
                    .iter()
                    .filter(|o| o.space.proto.contains(p) && o.space.dport.contains(lo))
                    .collect();
                if here.is_empty() {
                    continue;
                }
                // the sources hold at most the sum of the pieces' (a blocklist's tens of
                // thousands of admitted ranges are far from half the world, and are not
                // united only to find that)
                let most = here
                    .iter()
                    .fold(0u128, |n, o| n.saturating_add(o.space.src.size()));
                if families
                    .iter()
                    .all(|(_, public)| most < public.size().div_ceil(2))
                {
                    continue;
                }
                let sources = AddrSet(crate::model::interval::IntervalSet::from_ranges(
                    here.iter()
                        .flat_map(|o| o.space.src.0.ranges().iter().copied()),
                ));
                for (family, public) in &families {
                    if !world_share(&sources, public) {
                        continue;
                    }
                    // the pieces that admit this family's sources, and their paths
                    let mut deciders: Vec<At> = Vec::new();
                    let mut via: Vec<(usize, RuleId)> = Vec::new();
                    for o in here
                        .iter()
                        .filter(|o| !o.space.src.intersect(public).is_empty())
                    {
                        for d in &o.deciders {
                            if !deciders.contains(d) {
                                deciders.push(*d);
                            }
                        }
                        for v in &o.via {
                            if !via.contains(v) {
                                via.push(*v);
                            }
                        }
                    }
                    let atom = PortSet::range(lo, hi);
                    let every = public.is_subset(&sources);
                    match out.iter_mut().find(|e| {
                        e.proto == p
                            && e.family == *family
                            && e.every == every
                            && e.deciders == deciders
                    }) {
                        Some(e) => {
                            e.ports = e.ports.union(&atom);
                            for v in via {
                                if !e.via.contains(&v) {
                                    e.via.push(v);
                                }
                            }
                        }
                        None => out.push(Exposed {
                            proto: p,
                            ports: atom,
                            family: *family,
                            every,
                            deciders,
                            via,
                        }),
                    }
                }
            }
        }
    }
    out
}

/// Z201, Z202, Z203 for one host firewall.
pub(super) fn exposure(
    t: &Target<'_>,
    env: Environment,
    opts: &AuditOptions<'_>,
    ends: &Ends,
    inbound: &[&FlowRecord],
) -> Vec<Finding> {
    let (fi, rs, g) = (t.file, &*t.ruleset, &t.guard);
    let Guards::Host(role) = &g.guards else {
        return Vec::new();
    };
    if rs.pipeline(Hook::Input).is_none() {
        return Vec::new();
    }
    let mut out = z201_management_port_exposed::check(fi, rs, role, opts, ends, inbound);
    for m in opts
        .catalog
        .must_not_open
        .iter()
        .filter(|m| m.environments.contains(&env))
        .filter(|m| m.applies(&opts.facts_at(t.guard.site.as_deref())))
    {
        if !(role_includes(role, &m.role) || m.role == "any") {
            continue;
        }
        out.extend(z202_internal_port_exposed::check(fi, rs, ends, m));
    }
    out
}
