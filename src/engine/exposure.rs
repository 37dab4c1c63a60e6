//! Exposure (Z201, Z202, Z203) of a host firewall.

use std::collections::BTreeMap;

use super::findings::{display_list, label_at};
use super::flow::source_cidrs;
use super::jobs::{ports_of, protocol_set};
use super::reach::{Reach, Region};
use super::targets::Target;
use super::{AuditOptions, Finding, FlowRecord};
use crate::catalog::{role_includes, Environment, MustNotKind};
use crate::checks::{
    z201_management_port_exposed, z202_internal_port_exposed, z203_unneeded_port_open,
};
use crate::inventory::Guards;
use crate::model::ports::{PortSet, ProtoSet};
use crate::model::{At, Hook, Ruleset, Verdict};

/// Z201, Z202, Z203 for one host firewall.
pub(super) fn exposure(
    t: &Target<'_>,
    env: Environment,
    opts: &AuditOptions<'_>,
    inbound: &[&FlowRecord],
) -> Vec<Finding> {
    let (fi, rs, g) = (t.file, &*t.ruleset, &t.guard);
    let Guards::Host(role) = &g.guards else {
        return Vec::new();
    };
    let Some(input) = rs.pipeline(Hook::Input) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let world = |proto: ProtoSet, ports: PortSet| {
        Reach::evaluate(rs, input, &Region::from_anywhere(rs, proto, ports))
    };
    // Z201: catalogue ports this host receives, open to the world; one finding per opening rule
    let mut by_decider: BTreeMap<At, (Vec<String>, BTreeMap<String, PortSet>)> = BTreeMap::new();
    for rec in inbound {
        let Some(req) = opts
            .catalog
            .requirements
            .iter()
            .find(|r| r.id == rec.requirement)
        else {
            continue;
        };
        let Ok(ports) = ports_of(req, Hook::Input, opts) else {
            continue;
        };
        let evaluated;
        let open: &[At] = match &rec.world_open {
            Some(open) => open,
            None => {
                evaluated =
                    world(protocol_set(req.protocol), ports.clone()).world_open_deciders(rs);
                &evaluated
            }
        };
        for &at in open {
            let (reqs, by_proto) = by_decider.entry(at).or_default();
            reqs.push(rec.requirement.clone());
            let e = by_proto.entry(rec.protocol.clone()).or_default();
            *e = e.union(&ports);
        }
    }
    for (at, (reqs, by_proto)) in by_decider {
        let ports: Vec<String> = by_proto
            .iter()
            .map(|(p, set)| format!("{p}/{}", crate::model::ports::port_string(set)))
            .collect();
        let mut f = Finding::new(
            &z201_management_port_exposed::CHECK,
            format!(
                "{} opens Zerto port(s) {} of this {role} to any address",
                decider_name(rs, at),
                ports.join(" ")
            ),
        );
        f.file = Some(fi);
        f.requirement = reqs.first().cloned();
        f.labels = label_at(rs, at, "admits every source address".into())
            .into_iter()
            .collect();
        f.help = Some(z201_management_port_exposed::help(
            rs.policies.get(at.policy).map(|p| p.semantics),
        ));
        out.push(f);
    }
    for m in opts
        .catalog
        .must_not_open
        .iter()
        .filter(|m| m.environments.contains(&env))
    {
        if !(role_includes(role, &m.role) || m.role == "any") {
            continue;
        }
        let ports = PortSet::from_ranges(m.ports.iter().copied());
        let reach = world(protocol_set(m.protocol), ports.clone());
        let allowers = reach.deciders(Verdict::Allow);
        if allowers.is_empty() {
            continue;
        }
        let check = match m.kind {
            MustNotKind::InternalOnly => &z202_internal_port_exposed::CHECK,
            MustNotKind::NotNeeded => &z203_unneeded_port_open::CHECK,
        };
        let what = format!(
            "{}/{}",
            m.protocol.as_str(),
            crate::model::ports::port_string(&ports)
        );
        let from = display_list(&source_cidrs(rs, &reach.allowed_sources()));
        let mut f = Finding::new(
            check,
            match m.kind {
                MustNotKind::InternalOnly => {
                    format!("{what} is internal to the ZVM but is reachable from {from}")
                }
                MustNotKind::NotNeeded => {
                    format!("{what} is not needed by Zerto but is open (from {from})")
                }
            },
        );
        f.file = Some(fi);
        f.requirement = Some(m.id.clone());
        f.labels = allowers
            .iter()
            .filter_map(|at| label_at(rs, *at, format!("admits {what}")))
            .collect();
        f.help = Some(match m.kind {
            MustNotKind::InternalOnly => {
                "only the ZVM itself uses 7073: drop it, or accept it on `-i lo` only".into()
            }
            MustNotKind::NotNeeded => {
                "block these ports unless something else on the host needs them".into()
            }
        });
        out.push(f);
    }
    out
}

fn decider_name(rs: &Ruleset, at: At) -> String {
    rs.provenance(at)
        .map(|p| p.label.clone())
        .unwrap_or_default()
}
