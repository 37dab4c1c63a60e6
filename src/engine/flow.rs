//! One required flow through one firewall: its region, the evaluation and the flow record.

use super::findings::{deciding, flow_findings, flow_message, label_at};
use super::jobs::{forward_roles, guarded_name, ports_of, protocol_set, scope, Job, Scope};
use super::reach::{self, Reach, Region, Status};
use super::targets::Target;
use super::{AuditOptions, Finding, FlowRecord, InputFile, Severity};
use crate::catalog::{role_includes, Direction, Environment};
use crate::checks::{
    z101_required_flow_blocked, z102_required_flow_partial, z103_required_flow_unknown,
};
use crate::inventory::Guards;
use crate::model::conntrack::Tracking;
use crate::model::{AddrSet, Hook, Ruleset, Verdict};

/// The interfaces a target's peers' traffic uses: the inventory's (or `--interface`), else any
/// but loopback. An interface the rules never name is the class they treat alike (issue 21: it
/// made every flow unknown, matching no class at all).
pub(super) fn peer_interfaces(t: &Target<'_>) -> crate::model::iface::IfaceSet {
    let ifs = &t.ruleset.interfaces;
    if t.guard.interfaces.is_empty() {
        ifs.non_loopback()
    } else {
        t.guard
            .interfaces
            .iter()
            .fold(crate::model::iface::IfaceSet::empty(), |a, i| {
                a.union(&ifs.arriving_on(i))
            })
    }
}

/// The rules of the pipeline's chains that [`Ruleset::for_application`] set aside and that
/// match packets of `region`: `label: why` each (the flow record says what it did not count).
fn set_aside(
    rs: &Ruleset,
    aside: &[crate::model::app::SetAside],
    pipeline: &crate::model::Pipeline,
    region: &crate::model::PacketBox,
) -> Vec<String> {
    aside
        .iter()
        .filter(|s| {
            pipeline.stages.iter().any(|st| {
                st.policy == s.policy
                    && rs.policies[st.policy]
                        .chains
                        .get(st.chain)
                        .is_some_and(|c| c.rules.contains(&s.rule))
            })
        })
        .filter(|s| s.matches.intersect(region).is_some())
        .filter_map(|s| {
            let r = rs.policies.get(s.policy)?.rules.get(s.rule)?;
            // made at its length (`format!` starts from nothing when the text opens with a value)
            Some([&*r.prov.label, ": ", &s.why].concat())
        })
        .collect()
}

/// What every flow of one target starts from, made once per target ([`Base::of`]), not per
/// flow: the run's ends, the addresses a peer may have, the host's own.
pub(super) struct Base<'e> {
    ends: &'e reach::Ends,
    /// The addresses a peer may have ([`reach::remote_space`]).
    remote: AddrSet,
    /// The host's own addresses where the inventory names none ([`reach::Ends::host_addresses`]).
    own: AddrSet,
}

impl<'e> Base<'e> {
    pub(super) fn of(rs: &Ruleset, ends: &'e reach::Ends) -> Base<'e> {
        Base {
            ends,
            remote: reach::remote_space(rs),
            own: ends.host_addresses(rs),
        }
    }
}

/// Evaluate one job (phase 1): the flow's region through the target's pipeline, its record and
/// findings; for a blocked or partly blocked flow, what its remedy needs ([`with_remedies`]).
pub(super) fn run_job(
    job: &Job<'_>,
    file: &InputFile,
    t: &Target<'_>,
    env: Environment,
    opts: &AuditOptions<'_>,
    base: &Base<'_>,
) -> Option<Evaluated> {
    let rs: &Ruleset = &t.ruleset;
    let g = &t.guard;
    let pipeline = rs.pipeline(job.hook)?;
    let req = job.req;
    let space = rs.address_space();
    let (remote, own, ends) = (&base.remote, &base.own, base.ends);
    let ifs = &rs.interfaces;
    let peer_ifs = peer_interfaces(t);
    let mut reasons = Vec::new();
    let mut exact = false;
    let (src, dst, site) = match (&g.guards, opts.inventory) {
        (Guards::Host(role), Some(inv)) => {
            let host_roles: Vec<&str> = if role == "zca" {
                vec!["zca", "zvm", "vra"]
            } else {
                vec![role.as_str()]
            };
            let host = host_roles
                .iter()
                .fold(AddrSet::empty(), |a, r| {
                    a.union(&inv.addresses(r, g.site.as_deref()))
                })
                .intersect(&space);
            let host = if host.is_empty() { own.clone() } else { host };
            let peers = match scope(req) {
                Scope::Local => inv.addresses(&job.peer_role, g.site.as_deref()),
                // a host serving every site, where the sites differ: one site's peers
                Scope::Anywhere => inv.addresses(&job.peer_role, job.peer_site.as_deref()),
                Scope::PeerSite => inv
                    .sites
                    .iter()
                    .filter(|s| Some(&s.name) != g.site.as_ref())
                    .filter_map(|s| s.roles.get(&job.peer_role))
                    .fold(AddrSet::empty(), |a, b| a.union(b)),
            }
            .intersect(remote);
            let peers = match &ends.peers {
                Some(p) if peers.is_empty() && !p.intersect(remote).is_empty() => {
                    p.intersect(remote)
                }
                _ => peers,
            };
            let peers = if peers.is_empty() {
                reasons.push(format!(
                    "the inventory names no {} address for this flow: any address assumed",
                    job.peer_role
                ));
                remote.clone()
            } else {
                exact = true;
                peers
            };
            // the flow's site: the host's, or the peers' one site for a host of every site
            let site = match (&job.peer_site, &g.site) {
                (Some(p), Some(h)) if p != h => Some(match job.hook {
                    Hook::Output => format!("{h} -> {p}"),
                    _ => format!("{p} -> {h}"),
                }),
                (Some(p), _) => Some(p.clone()),
                (None, h) => h.clone(),
            };
            match job.hook {
                Hook::Output => (host, peers, site),
                _ => (peers, host, site),
            }
        }
        (Guards::Boundary, Some(inv)) => {
            let (a, b) = job.sites.clone()?;
            let (opener, server) = forward_roles(job);
            // a ZCA at a site plays its ZVM and VRA
            let s = inv.addresses_playing(opener, &a).intersect(&space);
            let d = inv.addresses_playing(server, &b).intersect(&space);
            if s.is_empty() || d.is_empty() {
                return None;
            }
            exact = true;
            (s, d, Some(format!("{a} -> {b}")))
        }
        (_, None) => {
            // `--peers`: the flow of those peers only, every one of which must pass
            let peers = match &ends.peers {
                Some(p) if !p.intersect(remote).is_empty() => {
                    exact = true;
                    p.intersect(remote)
                }
                Some(_) => {
                    reasons.push(
                        "--peers names no address of this firewall's family: any address assumed"
                            .into(),
                    );
                    remote.clone()
                }
                None => remote.clone(),
            };
            match job.hook {
                Hook::Output => (own.clone(), peers, None),
                Hook::Input => (peers, own.clone(), None),
                Hook::Forward => (peers, space.clone(), None),
            }
        }
    };
    let (iif, oif) = match job.hook {
        // a packet for the host has no output interface, one it sends no input interface
        Hook::Input => (peer_ifs, crate::model::iface::none()),
        Hook::Output => (crate::model::iface::none(), peer_ifs),
        Hook::Forward => (ifs.non_loopback(), ifs.non_loopback()),
    };
    let ports = match &job.ports {
        Some(p) => Ok(p.clone()),
        None => ports_of(req, job.hook, opts),
    };
    // the catalogue role the guarded host plays in this flow
    let host_role = match (&g.guards, req.direction, job.hook) {
        (_, Direction::AToB, Hook::Input) => req.to_role.as_str(),
        (_, Direction::AToB, _) => req.from_role.as_str(),
        (Guards::Host(r), Direction::Both, _) if role_includes(r, &req.to_role) => {
            req.to_role.as_str()
        }
        _ => req.from_role.as_str(),
    };
    let (from_role, to_role) = match job.hook {
        Hook::Input => (job.peer_role.clone(), guarded_name(g, host_role)),
        Hook::Output => (guarded_name(g, host_role), job.peer_role.clone()),
        Hook::Forward => {
            let (f, t) = forward_roles(job);
            (f.to_string(), t.to_string())
        }
    };
    let mut rec = FlowRecord {
        requirement: req.id.clone(),
        environment: env.as_str().to_string(),
        site,
        firewall: file.path.clone(),
        policy: pipeline.name.clone(),
        direction: match job.hook {
            Hook::Input => "inbound",
            Hook::Output => "outbound",
            Hook::Forward => "forward",
        },
        from_role,
        to_role,
        protocol: req.protocol.as_str().to_string(),
        // the ports evaluated, below (the catalogue's notation where they cannot be)
        ports: String::new(),
        status: Status::Unknown,
        allowed_sources: Default::default(),
        deciding: Vec::new(),
        conditional: job.condition.is_some(),
        condition: job.condition.clone(),
        unknown_reasons: Vec::new(),
        assumes: job.assumes.clone(),
        set_aside: Vec::new(),
        return_path: None,
        fix: None,
        no_fix: None,
        path: Vec::new(),
        file: t.file,
        target: job.target,
        exact_peers: false,
        world_open: None,
        admitted: None,
    };
    let ports = match ports {
        Ok(p) => p,
        Err(why) => {
            rec.ports = req.ports.display();
            rec.unknown_reasons.push(why.clone());
            let mut f = Finding::new(
                &z103_required_flow_unknown::CHECK,
                flow_message(&rec, "cannot be evaluated"),
            );
            f.help = Some(why);
            f.file = Some(t.file);
            f.requirement = Some(req.id.clone());
            return Some(Evaluated::done(rec, vec![f]));
        }
    };
    rec.ports = crate::model::ports::port_string(&ports);
    let region = Region {
        src,
        dst,
        proto: protocol_set(req.protocol),
        dport: ports,
        // the opening packet: NEW, from the client's ephemeral ports
        sport: ends.client_ports.clone(),
        state: crate::model::ports::ConnState::New.set(),
        iif,
        oif,
    };
    // a DNAT to an address of the host keeps the packets local; where the host's addresses are
    // not known (quick mode without `--host-address`), a DNAT to another address leaves it
    let host_known =
        ends.host.is_some() || matches!((&g.guards, opts.inventory), (Guards::Host(_), Some(_)));
    let local = AddrSet::loopback().union(&match (host_known, job.hook) {
        (false, _) | (_, Hook::Forward) => AddrSet::empty(),
        (true, Hook::Output) => region.src.clone(),
        (true, Hook::Input) => region.dst.clone(),
    });
    let reach = Reach {
        outcomes: match region.to_box() {
            b if b.is_empty() => Vec::new(),
            b => {
                rec.set_aside = set_aside(rs, &t.set_aside, pipeline, &b);
                rs.evaluate_with(pipeline, &b, &local)
            }
        },
    };
    if job.hook == Hook::Input && region.is_from_anywhere(rs, ends, remote, own) {
        rec.world_open = Some(super::exposure::exposed(
            rs,
            &reach,
            &region.proto,
            &region.dport,
        ));
    }
    rec.exact_peers = exact;
    rec.status = reach.status(exact);
    // the replies must get back too where the rules see them: an iptables host (they are
    // ESTABLISHED, and the reverse hook's chains must accept that) or a stateless filter
    let mut return_findings = Vec::new();
    // what drops the replies, named with the request's deciders
    let mut reply_deciders = Vec::new();
    // the peers whose replies get back, where some do not
    let mut reply_peers: Option<AddrSet> = None;
    // the replies, and whether they get back in part only (which connections they leave
    // working)
    let mut replied: Option<(Reach, bool)> = None;
    // the request's admitted pieces, which the replies and the later packets both start from
    let groups = if rs.replies_filtered() && rec.status != Status::Blocked {
        super::replies::admitted_groups(job.hook, &reach)
    } else {
        Vec::new()
    };
    if rs.replies_filtered() && rec.status != Status::Blocked {
        if let Some(bp) = rs.pipeline(job.hook.reverse()) {
            let (reply, admitted) = super::replies::replies(rs, bp, &groups);
            let rs_status = reply.status(true);
            let partial = admitted && !matches!(rs_status, Status::Allowed | Status::Blocked);
            if admitted && rs_status != Status::Allowed {
                reply_peers = Some(match job.hook {
                    Hook::Output => reply.allowed_sources(),
                    _ => reply.allowed_destinations(),
                });
                reply_deciders = reply.deciders(Verdict::Deny);
                let blame = dropped_by(
                    rs,
                    &reply_deciders,
                    rs_status,
                    "perhaps not let back by",
                    &bp.name,
                );
                let untracked = reach.outcomes.iter().any(|o| {
                    o.verdict == Verdict::Allow && matches!(o.seen.state, Tracking::As(_))
                });
                let what = format!(
                    "its replies ({}{} from port {} to ports {}-{}) are {blame}",
                    match (rs.stateless, untracked) {
                        (true, _) => "",
                        (false, false) => "ESTABLISHED ",
                        // a NOTRACK'd request left no conntrack entry for them to belong to
                        (false, true) => "NEW or INVALID, the request being untracked, ",
                    },
                    rec.protocol,
                    rec.ports,
                    reach::EPHEMERAL.0,
                    reach::EPHEMERAL.1,
                );
                rec.return_path = Some(format!("{}: {what}", rs_status.name()));
                rec.status = super::replies::with_replies(rec.status, rs_status);
                let check = rest_check(rec.status);
                let message = if rs.stateless {
                    format!("is stateless-filtered and {what}")
                } else {
                    format!("is let in, but {what}")
                };
                let mut f = Finding::new(check, flow_message(&rec, &message));
                f.file = Some(t.file);
                f.requirement = Some(rec.requirement.clone());
                f.site = rec.site.clone();
                if rec.conditional && f.severity == Severity::Error {
                    f.severity = Severity::Warning;
                }
                f.labels = reply
                    .deciders(Verdict::Deny)
                    .into_iter()
                    .filter_map(|at| label_at(rs, at, "drops the replies".into()))
                    .collect();
                f.help = Some(if rs.stateless {
                    format!(
                        "a network ACL is stateless: allow the return traffic in {} (ports {}-{} to the peers)",
                        bp.name,
                        reach::EPHEMERAL.0,
                        reach::EPHEMERAL.1
                    )
                } else if untracked {
                    format!(
                        "the request is NOTRACKed in raw, so no connection is tracked and an ESTABLISHED accept never sees its replies: NOTRACK the replies too (raw OUTPUT, `--sport {}`) and accept `--ctstate UNTRACKED` in {}, or stop NOTRACKing the request",
                        rec.ports, bp.name
                    )
                } else {
                    format!(
                        "accept the connection's replies in {} (`-m conntrack --ctstate ESTABLISHED -j ACCEPT` before what drops them)",
                        bp.name
                    )
                });
                return_findings.push(f);
            }
            replied = Some((reply, partial));
        }
    }
    // the client's later packets (its ACK and data) must get in too, where rules see their state
    let (later_peers, later_deciders) = if rs.replies_filtered() && rec.status != Status::Blocked {
        let later = super::replies::later_packets(
            rs,
            pipeline,
            job.hook,
            &groups,
            &local,
            replied.as_ref().map(|(r, _)| r),
        );
        let out = later_packet_findings(
            &mut rec,
            &later,
            rs,
            t,
            pipeline,
            job.hook,
            &mut return_findings,
        );
        // replies and later packets each dropped in part: a connection works only where both
        // pass, for the same peer and client port
        if let (Some((reply, true)), true) = (&replied, out.0.is_some()) {
            let works = super::replies::connections_work(job.hook, reply, &later);
            if works != Status::Allowed && rec.status != Status::Blocked {
                rec.status = if works == Status::Blocked {
                    Status::Blocked
                } else {
                    super::replies::with_replies(rec.status, Status::Unknown)
                };
                for f in &mut return_findings {
                    retag(f, rec.status, rec.conditional);
                }
            }
        }
        out
    } else {
        (None, Vec::new())
    };
    // united once: a blocklist's flow admits tens of thousands of pieces
    let allowed_sources = reach.allowed_sources();
    rec.allowed_sources = super::cidrs::source_cidrs(&allowed_sources);
    if matches!(rec.status, Status::Allowed | Status::Partial) {
        let (admitted, side) = match job.hook {
            Hook::Output => (reach.allowed_destinations(), &region.dst),
            _ => (allowed_sources, &region.src),
        };
        let mut peers = admitted.intersect(side);
        for some in [&reply_peers, &later_peers].into_iter().flatten() {
            peers = peers.intersect(some);
        }
        rec.admitted = Some(Box::new(reach::Admitted {
            every: peers == *side,
            whole: side.clone(),
            named: exact,
            peers,
        }));
    }
    let path: std::sync::Arc<str> = file.path.as_str().into();
    rec.deciding = reach
        .all_deciders()
        .into_iter()
        .map(|(at, _)| at)
        .chain(reply_deciders)
        .chain(later_deciders)
        .filter_map(|at| deciding(&path, rs, at))
        .collect();
    rec.unknown_reasons = reach.unknown_reasons();
    rec.unknown_reasons.extend(reasons);
    // the one remedy (verified on the model) is computed with the firewall's other fixes
    // ([`with_remedies`]); meanwhile only such flows keep their evaluation
    // a connection a NAT rule sends elsewhere is not fixed by an allow rule for the packets as
    // they arrived: whether to exempt it from the translation or admit what the translation
    // makes of it is the owner's choice (Z204 names the rule)
    let translated = reach
        .outcomes
        .iter()
        .any(|o| o.verdict != Verdict::Allow && o.nat.is_some_and(|t| t.dst_by.is_some()));
    if translated && matches!(rec.status, Status::Blocked | Status::Partial) {
        rec.no_fix = Some(
            "a NAT rule translates this flow (see Z204): exempt it from the translation, or admit the translated packets where they are dropped; no single rule is proposed".into(),
        );
    } else if matches!(rec.status, Status::Blocked | Status::Partial) && opts.fixes {
        // a fix is a native rule, which matches any client port and (unless the host's
        // addresses are known) any destination: it is proposed and verified on the flow's
        // region widened so, which holds the flow's own
        let mut fix_region = region.clone();
        fix_region.sport = crate::model::ports::PortSet::full();
        if fix_region.dst == *own && ends.host.is_none() {
            fix_region.dst = match job.hook {
                Hook::Input => space.clone(),
                _ => fix_region.dst,
            };
        }
        if fix_region.src == *own && ends.host.is_none() && job.hook == Hook::Output {
            fix_region.src = space.clone();
        }
        let fix_reach = if fix_region == region {
            reach.clone()
        } else {
            Reach::evaluate(rs, pipeline, &fix_region)
        };
        return Some(Evaluated {
            rec,
            findings: return_findings,
            pending: Some(Box::new(Pending {
                region: fix_region,
                fix_reach,
                reach,
                hook: job.hook,
            })),
        });
    }
    let (rec, findings) = finish(rec, &reach, rs, None, return_findings);
    Some(Evaluated::done(rec, findings))
}

/// The check of a finding about the rest of a connection (its replies, its client's later
/// packets) for the flow's status.
fn rest_check(status: Status) -> &'static crate::checks::Check {
    match status {
        Status::Blocked => &z101_required_flow_blocked::CHECK,
        Status::Unknown => &z103_required_flow_unknown::CHECK,
        _ => &z102_required_flow_partial::CHECK,
    }
}

/// A finding about the rest of a connection, once the flow's status is known.
fn retag(f: &mut Finding, status: Status, conditional: bool) {
    let check = rest_check(status);
    f.code = check.code;
    f.name = check.name;
    f.severity = check.severity;
    if conditional && f.severity == Severity::Error {
        f.severity = Severity::Warning;
    }
}

/// Where the client's later packets (`later`, [`super::replies::later_packets`]) do not all get
/// in: the record's status and `return_path` say so, and a finding names the rules that drop
/// them. The peers whose later packets get in, and those rules.
fn later_packet_findings(
    rec: &mut FlowRecord,
    later: &Reach,
    rs: &Ruleset,
    t: &Target<'_>,
    pipeline: &crate::model::Pipeline,
    hook: Hook,
    findings: &mut Vec<Finding>,
) -> (Option<AddrSet>, Vec<crate::model::At>) {
    let status = later.status(true);
    if later.outcomes.is_empty() || status == Status::Allowed {
        return (None, Vec::new());
    }
    let peers = match hook {
        Hook::Output => later.allowed_destinations(),
        _ => later.allowed_sources(),
    };
    let deny = later.deciders(Verdict::Deny);
    let what = format!(
        "the client's later packets ({} to port {}: its ACK and data, ESTABLISHED once the server has answered) are {}",
        rec.protocol,
        rec.ports,
        dropped_by(rs, &deny, status, "perhaps not let in by", &pipeline.name),
    );
    rec.return_path = Some(match rec.return_path.take() {
        Some(replies) => format!("{replies}; {}: {what}", status.name()),
        None => format!("{}: {what}", status.name()),
    });
    rec.status = super::replies::with_replies(rec.status, status);
    let check = rest_check(rec.status);
    let mut f = Finding::new(check, flow_message(rec, &format!("is let in, but {what}")));
    f.file = Some(t.file);
    f.requirement = Some(rec.requirement.clone());
    f.site = rec.site.clone();
    if rec.conditional && f.severity == Severity::Error {
        f.severity = Severity::Warning;
    }
    f.labels = deny
        .iter()
        .filter_map(|&at| label_at(rs, at, "drops the connection's later packets".into()))
        .collect();
    f.help = Some(if rs.platform == crate::model::Platform::Nftables {
        format!(
            "accept the connection's packets once established in {} (`ct state established,related accept` before what drops them)",
            pipeline.name
        )
    } else {
        format!(
            "accept the connection's packets once established in {} (`-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` before what drops them)",
            pipeline.name
        )
    });
    findings.push(f);
    (Some(peers), deny)
}

/// A flow's record and findings.
type Flow = (FlowRecord, Vec<Finding>);

/// A flow after phase 1 ([`run_job`]): its record and findings, or (`pending`) what its remedy
/// needs, its findings then being only a stateless filter's about the replies (their help is
/// the remedy's).
pub(super) struct Evaluated {
    rec: FlowRecord,
    findings: Vec<Finding>,
    pending: Option<Box<Pending>>,
}

impl Evaluated {
    fn done(rec: FlowRecord, findings: Vec<Finding>) -> Self {
        Evaluated {
            rec,
            findings,
            pending: None,
        }
    }
}

/// What the remedy of a blocked or partly blocked flow needs.
pub(super) struct Pending {
    /// The region a fix is proposed and verified on (the flow's, any client port).
    region: Region,
    /// `region` evaluated.
    fix_reach: Reach,
    /// The flow's own evaluation (its findings name what decided it).
    reach: Reach,
    hook: Hook,
}

/// Phase 2: the remedies of the pending flows, per target (in parallel) and within a target in
/// job order (`evaluated` is in job order), so that one firewall's fixes get distinct numbers,
/// the same whatever the scheduling ([`crate::remedy::Batch`]); then their findings. The flows
/// come back in the order of `evaluated`.
pub(super) fn with_remedies(evaluated: Vec<Evaluated>, targets: &[Target<'_>]) -> Vec<Flow> {
    use rayon::prelude::*;
    let mut out: Vec<Option<Flow>> = Vec::with_capacity(evaluated.len());
    let mut per_target: Vec<Vec<(usize, Evaluated)>> = targets.iter().map(|_| Vec::new()).collect();
    for (i, e) in evaluated.into_iter().enumerate() {
        match per_target.get_mut(e.rec.target) {
            Some(v) if e.pending.is_some() => {
                out.push(None);
                v.push((i, e));
            }
            _ => out.push(Some((e.rec, e.findings))),
        }
    }
    let done: Vec<Vec<(usize, Flow)>> = per_target
        .into_par_iter()
        .zip(targets.par_iter())
        .map(|(flows, t)| {
            let rs: &Ruleset = &t.ruleset;
            let mut batch = crate::remedy::Batch::new(rs);
            let mut remedies: Vec<Option<crate::remedy::Remedy>> = flows
                .iter()
                .map(|(_, e)| {
                    let p = e.pending.as_ref()?;
                    batch.compute(&e.rec, &p.region, &p.fix_reach, rs.pipeline(p.hook)?)
                })
                .collect();
            batch.finish(&mut remedies);
            flows
                .into_iter()
                .zip(remedies)
                .filter_map(|((i, e), remedy)| {
                    let p = e.pending?;
                    Some((i, finish(e.rec, &p.reach, rs, remedy, e.findings)))
                })
                .collect()
        })
        .collect();
    for (i, x) in done.into_iter().flatten() {
        out[i] = Some(x);
    }
    out.into_iter().flatten().collect()
}

/// The record and findings of an evaluated flow with its remedy (the fix, or why there is none).
fn finish(
    mut rec: FlowRecord,
    reach: &Reach,
    rs: &Ruleset,
    remedy: Option<crate::remedy::Remedy>,
    mut return_findings: Vec<Finding>,
) -> Flow {
    match &remedy {
        Some(crate::remedy::Remedy::Fix(f)) => rec.fix = Some(Box::new(f.clone())),
        Some(crate::remedy::Remedy::Cannot(why)) => rec.no_fix = Some(why.clone()),
        None => {}
    }
    if let Some(r) = &remedy {
        for f in &mut return_findings {
            f.help = Some(r.help());
        }
    }
    let mut findings = if return_findings.is_empty() {
        flow_findings(&rec, reach, rs, remedy.as_ref())
    } else {
        // the request is let in; the finding is about the replies
        Vec::new()
    };
    let cx = super::findings::FlowCtx {
        rec: &rec,
        reach,
        rs,
        remedy: remedy.as_ref(),
    };
    findings.extend(crate::checks::z204_nat_on_required_flow::finding(&cx));
    findings.extend(return_findings);
    (rec, findings)
}

/// How part of a connection is lost: "dropped by" the rules of `deny` (the pipeline `chain`
/// when none is named), or `unsure` ("perhaps not let back by") where it is undecided.
fn dropped_by(
    rs: &Ruleset,
    deny: &[crate::model::ruleset::At],
    status: Status,
    unsure: &str,
    chain: &str,
) -> String {
    let by: Vec<String> = deny
        .iter()
        .filter_map(|&at| rs.provenance(at).map(|p| p.label.to_string()))
        .collect();
    let verb = if status == Status::Unknown {
        unsure
    } else {
        "dropped by"
    };
    match by.as_slice() {
        [] => format!("{verb} {chain}"),
        names => format!("{verb} {}", names.join(", ")),
    }
}
