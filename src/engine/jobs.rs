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
    /// For a host that serves every site (a ZCC): the one site whose peers this job is about,
    /// where sites differ in what they need (`engine::sites`).
    pub(super) peer_site: Option<String>,
    /// The ports, where they depend on the sites (the MSP 9082+ range); else the catalogue's.
    pub(super) ports: Option<PortSet>,
    /// What the verdict assumes for lack of a fact (the VRA count behind a 9082+ range).
    pub(super) assumes: Vec<String>,
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
    use super::sites::is_site_bound;
    if req.from_role == req.to_role {
        Scope::PeerSite
    } else if !is_site_bound(&req.from_role) || !is_site_bound(&req.to_role) {
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

/// What one site (or the run, without sites) makes of a requirement: whether it applies, the
/// condition left undecided, the ports where they depend on the site, and what is assumed.
#[derive(Clone, PartialEq)]
struct AtSite {
    condition: Option<String>,
    ports: Option<PortSet>,
    assumes: Vec<String>,
}

/// `req` judged at `site` (its facts, and for the 9082+ range the VRAs the site's VRAs reach);
/// `None` when the facts rule it out. `at_zcc`: in quick mode, the host is the ZCC.
fn at_site(
    req: &Requirement,
    site: Option<&str>,
    at_zcc: bool,
    opts: &AuditOptions<'_>,
    defaults: &Defaults<'_>,
) -> Option<AtSite> {
    let facts = opts.facts_at(site);
    let (condition, mut assumes) = match req.applies(&facts) {
        Tri::False => return None,
        Tri::True => (None, defaults_deciding(req, &facts, defaults)),
        Tri::Unknown => (req.condition_text.clone(), Vec::new()),
    };
    let (ports, assumed) = match (&req.ports, opts.inventory, site) {
        (PortSpec::MspVraRange, Some(inv), Some(s)) => {
            let (p, why) = super::sites::msp_range_from(inv, s);
            (Some(p), why)
        }
        (PortSpec::MspVraRange, _, _) => {
            let (p, why) = super::sites::msp_range_quick(&facts, at_zcc);
            (Some(p), why)
        }
        _ => (None, None),
    };
    assumes.extend(assumed);
    Some(AtSite {
        condition,
        ports,
        assumes,
    })
}

/// The catalogue's default facts, read once per run.
type Defaults<'c> = Vec<(&'c str, crate::catalog::condition::Value)>;

/// The catalogue defaults that make `req` required (`not single_scvmm` holds because
/// `single_scvmm` is false by default): said on the flow, so a reader knows what to set if the
/// installation differs. Nothing when the condition holds without them.
fn defaults_deciding(
    req: &Requirement,
    facts: &crate::catalog::Context,
    defaults: &Defaults<'_>,
) -> Vec<String> {
    let Some(c) = &req.condition else {
        return Vec::new();
    };
    let named = c.variables();
    let defaulted: Vec<&(&str, crate::catalog::condition::Value)> = defaults
        .iter()
        .filter(|(k, v)| named.contains(k) && facts.get(k) == Some(v))
        .collect();
    if defaulted.is_empty() {
        return Vec::new();
    }
    let mut bare = facts.clone();
    for (k, _) in &defaulted {
        bare.remove(k);
    }
    if req.applies(&bare) == Tri::True {
        return Vec::new();
    }
    defaulted
        .iter()
        .map(|(k, v)| {
            format!("needed because `{k}` is {v} by default (`--set {k}=...` or [facts] if this installation differs)")
        })
        .collect()
}

/// The jobs of a run: every target × requirement of the environment whose condition the facts do
/// not rule out × the directions the guarded host (or boundary) sees it in.
pub(super) fn jobs<'a>(
    targets: &[Target<'_>],
    env: Environment,
    opts: &AuditOptions<'a>,
) -> Vec<Job<'a>> {
    use super::sites::is_site_bound;
    let defaults = opts.catalog.default_facts();
    // the jobs: (target, requirement, direction)
    let mut jobs = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        let g = &t.guard;
        for req in opts.catalog.for_env(env) {
            let mut push = |hook, peer: &str, sites, swapped, peer_site, at: &AtSite| {
                jobs.push(Job {
                    target: ti,
                    req,
                    hook,
                    peer_role: peer.to_string(),
                    condition: at.condition.clone(),
                    sites,
                    swapped,
                    peer_site,
                    ports: at.ports.clone(),
                    assumes: at.assumes.clone(),
                })
            };
            match &g.guards {
                Guards::Host(role) => {
                    let is_to = role_includes(role, req.to_role.as_str());
                    let is_from = role_includes(role, req.from_role.as_str());
                    let (host_role, peer) = match (req.direction, is_to, is_from) {
                        (_, false, false) => continue,
                        (Direction::AToB, true, _) | (Direction::Both, true, _) => {
                            (req.to_role.as_str(), req.from_role.as_str())
                        }
                        _ => (req.from_role.as_str(), req.to_role.as_str()),
                    };
                    // a host of one site judges with its site's facts; one serving every site
                    // (a ZCC), with each peer site's where they differ
                    let mut per_site: Vec<(Option<String>, AtSite)> = Vec::new();
                    match opts.inventory {
                        Some(inv) if !is_site_bound(host_role) && is_site_bound(peer) => {
                            let peer_sites: Vec<&str> = inv
                                .sites
                                .iter()
                                .filter(|s| !inv.addresses(peer, Some(&s.name)).is_empty())
                                .map(|s| s.name.as_str())
                                .collect();
                            for s in &peer_sites {
                                if let Some(at) = at_site(req, Some(s), false, opts, &defaults) {
                                    per_site.push((Some(s.to_string()), at));
                                }
                            }
                            if peer_sites.is_empty() {
                                per_site.extend(
                                    at_site(req, None, false, opts, &defaults).map(|a| (None, a)),
                                );
                            } else if per_site.len() == peer_sites.len()
                                && per_site.windows(2).all(|w| w[0].1 == w[1].1)
                            {
                                // every site alike: one flow, as before
                                per_site.truncate(1);
                                if let Some(first) = per_site.first_mut() {
                                    first.0 = None;
                                }
                            }
                        }
                        _ => {
                            let zcc = role == "zcc";
                            per_site.extend(
                                at_site(req, g.site.as_deref(), zcc, opts, &defaults)
                                    .map(|a| (None, a)),
                            );
                        }
                    }
                    for (site, at) in per_site {
                        let hooks: &[Hook] = match (req.direction, is_to, is_from) {
                            (Direction::Both, _, _) => &[Hook::Input, Hook::Output],
                            (Direction::AToB, true, true) => &[Hook::Input, Hook::Output],
                            (Direction::AToB, true, false) => &[Hook::Input],
                            (Direction::AToB, false, _) => &[Hook::Output],
                        };
                        for &h in hooks {
                            let peer = match (req.direction, h) {
                                (Direction::AToB, Hook::Input) => &req.from_role,
                                (Direction::AToB, _) => &req.to_role,
                                _ => peer,
                            };
                            push(h, peer, None, false, site.clone(), &at);
                        }
                    }
                }
                Guards::Boundary => {
                    if scope(req) == Scope::Local || g.between.len() != 2 {
                        continue;
                    }
                    let (a, b) = (g.between[0].clone(), g.between[1].clone());
                    // from-role hosts on either side open it to to-role hosts on the other
                    // (and for "between" the to-role side may open it too); each judged with
                    // the facts of the site of its site-bound end
                    let mut ways =
                        vec![(a.clone(), b.clone(), false), (b.clone(), a.clone(), false)];
                    if req.direction == Direction::Both && req.from_role != req.to_role {
                        ways.push((a.clone(), b.clone(), true));
                        ways.push((b, a, true));
                    }
                    for (x, y, swapped) in ways {
                        let (opener, server) = if swapped {
                            (&req.to_role, &req.from_role)
                        } else {
                            (&req.from_role, &req.to_role)
                        };
                        let judged = if is_site_bound(opener) || !is_site_bound(server) {
                            &x
                        } else {
                            &y
                        };
                        let Some(mut at) = at_site(req, Some(judged), false, opts, &defaults)
                        else {
                            continue;
                        };
                        if req.ports == PortSpec::MspVraRange {
                            // the VRAs of the opening side reach the ZCC
                            at = at_site(req, Some(&x), false, opts, &defaults).unwrap_or(at);
                        }
                        push(
                            Hook::Forward,
                            server,
                            Some((x.clone(), y.clone())),
                            swapped,
                            None,
                            &at,
                        );
                    }
                }
            }
        }
    }

    jobs
}
