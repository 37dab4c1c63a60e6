//! The evaluations to do: every target × every applicable requirement × direction.

use super::targets::{Guard, Target};
use super::AuditOptions;
use crate::catalog::condition::Tri;
use crate::catalog::{role_includes, Direction, Environment, PortSpec, Protocol, Requirement};
use crate::inventory::Guards;
use crate::model::ports::{PortSet, ProtoSet, TCP, UDP};
use crate::model::Hook;

/// One evaluation to do.
pub(super) struct Job<'a> {
    pub(super) target: usize,
    pub(super) req: &'a Requirement,
    pub(super) hook: Hook,
    /// The role at the far end.
    pub(super) peer_role: String,
    pub(super) condition: Option<String>,
    /// For boundary firewalls: the (from, to) sites.
    pub(super) sites: Option<(String, String)>,
    /// For boundary firewalls and `both` requirements: the to-role opens the connection.
    pub(super) swapped: bool,
}

/// Where the peers of a requirement are, relative to the guarded host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// The same site (ZVM and its VRAs, vCenter, hosts).
    Local,
    /// Other sites (paired ZVMs, peer VRAs).
    PeerSite,
    /// Anywhere (admin clients, ZCM, ZCC, ZSSP).
    Anywhere,
}

pub(super) fn scope(req: &Requirement) -> Scope {
    const ANYWHERE: &[&str] = &[
        "admin-client",
        "zcm",
        "zcc",
        "zssp",
        "azure-services",
        "aws-services",
    ];
    if req.from_role == req.to_role {
        Scope::PeerSite
    } else if ANYWHERE.contains(&req.from_role.as_str()) || ANYWHERE.contains(&req.to_role.as_str())
    {
        Scope::Anywhere
    } else {
        Scope::Local
    }
}

pub(crate) fn protocol_set(p: Protocol) -> ProtoSet {
    match p {
        Protocol::Tcp => ProtoSet::single(TCP),
        Protocol::Udp => ProtoSet::single(UDP),
        Protocol::Any => ProtoSet::single(TCP).union(&ProtoSet::single(UDP)),
    }
}

/// The ports of a requirement after the inventory's remapping, or why they are not known.
pub(crate) fn ports_of(
    req: &Requirement,
    hook: Hook,
    opts: &AuditOptions<'_>,
) -> Result<PortSet, String> {
    if let Some(inv) = opts.inventory {
        let mapped = req
            .port_key
            .as_ref()
            .and_then(|k| inv.ports.get(k))
            .or_else(|| inv.ports.get(&req.id));
        if let Some(&p) = mapped {
            return Ok(PortSet::single(p));
        }
    }
    match &req.ports {
        PortSpec::List(r) => Ok(PortSet::from_ranges(r.iter().copied())),
        PortSpec::MspVraRange => {
            // two ports per VRA on the receiving side
            let key = if hook == Hook::Output {
                "remote_vras"
            } else {
                "local_vras"
            };
            let n = opts
                .facts
                .get(key)
                .map(|v| v.to_string())
                .and_then(|t| t.trim().parse::<u32>().ok());
            match n.and_then(crate::catalog::msp::vra_port_range) {
                Some((a, b)) => Ok(PortSet::range(a, b)),
                None => Err(format!(
                    "the 9082+ range depends on how many VRAs the receiving side has: set `{key}` (e.g. `--set {key}=4`)"
                )),
            }
        }
    }
}

/// The (opening, accepting) roles of a boundary job.
pub(super) fn forward_roles<'j>(job: &'j Job<'_>) -> (&'j str, &'j str) {
    if job.swapped {
        (&job.req.to_role, &job.req.from_role)
    } else {
        (&job.req.from_role, &job.req.to_role)
    }
}

pub(super) fn guarded_name(g: &Guard, catalogue_role: &str) -> String {
    match &g.guards {
        Guards::Host(r) if r != catalogue_role => format!("{r} ({catalogue_role})"),
        _ => catalogue_role.to_string(),
    }
}

/// The jobs of a run: every target × requirement of the environment whose condition the facts do
/// not rule out × the directions the guarded host (or boundary) sees it in.
pub(super) fn jobs<'a>(
    targets: &[Target<'_>],
    env: Environment,
    opts: &AuditOptions<'a>,
) -> Vec<Job<'a>> {
    // the jobs: (target, requirement, direction)
    let mut jobs = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        let g = &t.guard;
        for req in opts.catalog.for_env(env) {
            let condition = match req.applies(&opts.facts) {
                Tri::False => continue,
                Tri::True => None,
                Tri::Unknown => req.condition_text.clone(),
            };
            let mut push = |hook, peer: &str, sites, swapped| {
                jobs.push(Job {
                    target: ti,
                    req,
                    hook,
                    peer_role: peer.to_string(),
                    condition: condition.clone(),
                    sites,
                    swapped,
                })
            };
            match &g.guards {
                Guards::Host(role) => {
                    let is_to = role_includes(role, req.to_role.as_str());
                    let is_from = role_includes(role, req.from_role.as_str());
                    match req.direction {
                        Direction::AToB => {
                            if is_to {
                                push(Hook::Input, &req.from_role, None, false);
                            }
                            if is_from {
                                push(Hook::Output, &req.to_role, None, false);
                            }
                        }
                        Direction::Both => {
                            if is_to || is_from {
                                let peer = if is_to { &req.from_role } else { &req.to_role };
                                push(Hook::Input, peer, None, false);
                                push(Hook::Output, peer, None, false);
                            }
                        }
                    }
                }
                Guards::Boundary => {
                    if scope(req) == Scope::Local || g.between.len() != 2 {
                        continue;
                    }
                    let (a, b) = (g.between[0].clone(), g.between[1].clone());
                    // from-role hosts on either side open it to to-role hosts on the other
                    push(
                        Hook::Forward,
                        &req.to_role,
                        Some((a.clone(), b.clone())),
                        false,
                    );
                    push(
                        Hook::Forward,
                        &req.to_role,
                        Some((b.clone(), a.clone())),
                        false,
                    );
                    if req.direction == Direction::Both && req.from_role != req.to_role {
                        // "between": the to-role side may open it too
                        push(
                            Hook::Forward,
                            &req.from_role,
                            Some((a.clone(), b.clone())),
                            true,
                        );
                        push(Hook::Forward, &req.from_role, Some((b, a)), true);
                    }
                }
            }
        }
    }

    jobs
}
