//! A required flow across every firewall on its path (inventory mode): the opener's host firewall
//! (outbound), the boundaries between the two sites in order, the server's host firewall
//! (inbound). Each hop evaluates what the hop before it let through (as its NAT handed it on),
//! replies included where the hop's rules see them; the end-to-end status is the answer for the
//! whole region, and the record names the first hop that loses packets.

use super::findings::{deciding, flow_message, label_at};
use super::flow::peer_interfaces;
use super::jobs::{ports_of, protocol_set, scope, Scope};
use super::reach::{Ends, Reach, Status};
use super::replies::{admitted_groups, replies, with_replies};
use super::targets::Target;
use super::{AuditOptions, Deciding, Finding, FlowRecord, InputFile, PathHop, Severity};
use crate::catalog::condition::Tri;
use crate::catalog::{role_includes, Direction, Environment, Requirement};
use crate::checks::{
    z101_required_flow_blocked, z102_required_flow_partial, z103_required_flow_unknown,
};
use crate::inventory::Guards;
use crate::model::iface::IfaceSet;
use crate::model::ports::{ConnState, PortSet};
use crate::model::{AddrSet, At, Hook, Outcome, PacketBox, Ruleset, Verdict};

/// A flow's record and findings.
type Flow = (FlowRecord, Vec<Finding>);

/// One firewall on a path.
struct Hop {
    target: usize,
    hook: Hook,
}

/// The targets guarding a host of `role` at `site`.
fn hosts(targets: &[Target<'_>], role: &str, site: &str) -> Vec<usize> {
    targets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            matches!(&t.guard.guards, Guards::Host(r) if role_includes(r, role))
                && t.guard.site.as_deref() == Some(site)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The boundaries between two (distinct) sites, in path order from `a` to `b`: by `order`
/// (counted from `between[0]`), then as declared; the way from `between[1]` is the reverse.
fn boundaries(targets: &[Target<'_>], a: &str, b: &str) -> Vec<usize> {
    if a == b {
        return Vec::new();
    }
    let mut found: Vec<(Option<u32>, usize)> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.guard.guards == Guards::Boundary
                && t.guard.between.iter().any(|s| s == a)
                && t.guard.between.iter().any(|s| s == b)
        })
        .map(|(i, t)| (t.guard.order, i))
        .collect();
    // `None` after every number, declared order kept among equals
    found.sort_by_key(|(o, _)| o.unwrap_or(u32::MAX));
    let forward = |i: usize| targets[i].guard.between.first().map(String::as_str) == Some(a);
    let mut out: Vec<usize> = found.into_iter().map(|(_, i)| i).collect();
    if out.first().is_some_and(|&i| !forward(i)) {
        out.reverse();
    }
    out
}

/// The paths of the run and their findings; notes the hop that drops a flow on the findings of
/// that firewall's own record in `results`.
pub(super) fn paths(
    targets: &[Target<'_>],
    files: &[InputFile],
    env: Environment,
    opts: &AuditOptions<'_>,
    run: &Ends,
    results: &mut [Flow],
) -> Vec<Flow> {
    let Some(inv) = opts.inventory else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut notes: Vec<Vec<String>> = vec![Vec::new(); results.len()];
    for req in opts.catalog.for_env(env) {
        let condition = match req.applies(&opts.facts) {
            Tri::False => continue,
            Tri::True => None,
            Tri::Unknown => req.condition_text.clone(),
        };
        let mut openings = vec![(req.from_role.as_str(), req.to_role.as_str())];
        if req.direction == Direction::Both && req.from_role != req.to_role {
            openings.push((req.to_role.as_str(), req.from_role.as_str()));
        }
        for &(opener, server) in &openings {
            for sa in &inv.sites {
                for sb in &inv.sites {
                    let same = sa.name == sb.name;
                    match scope(req) {
                        Scope::Local if !same => continue,
                        Scope::PeerSite if same => continue,
                        _ => {}
                    }
                    let (a, b) = (sa.name.as_str(), sb.name.as_str());
                    let src = inv.addresses_playing(opener, a);
                    let dst = inv.addresses_playing(server, b);
                    if src.is_empty() || dst.is_empty() {
                        continue;
                    }
                    let firsts = hosts(targets, opener, a);
                    let lasts = hosts(targets, server, b);
                    let middle = boundaries(targets, a, b);
                    let firsts: Vec<Option<usize>> = if firsts.is_empty() {
                        vec![None]
                    } else {
                        firsts.into_iter().map(Some).collect()
                    };
                    let lasts: Vec<Option<usize>> = if lasts.is_empty() {
                        vec![None]
                    } else {
                        lasts.into_iter().map(Some).collect()
                    };
                    for &first in &firsts {
                        for &last in &lasts {
                            // one host at both ends (a ZCA's ZVM and VRA parts) is no path
                            if first.is_some() && first == last {
                                continue;
                            }
                            let hops: Vec<Hop> = first
                                .map(|t| Hop {
                                    target: t,
                                    hook: Hook::Output,
                                })
                                .into_iter()
                                .chain(middle.iter().map(|&t| Hop {
                                    target: t,
                                    hook: Hook::Forward,
                                }))
                                .chain(last.map(|t| Hop {
                                    target: t,
                                    hook: Hook::Input,
                                }))
                                .filter(|h| targets[h.target].ruleset.pipeline(h.hook).is_some())
                                .collect();
                            if hops.len() < 2 {
                                continue;
                            }
                            let ends = End {
                                req,
                                opener,
                                server,
                                a,
                                b,
                                src: &src,
                                dst: &dst,
                                condition: &condition,
                            };
                            if let Some(flow) = evaluate(
                                &ends, &hops, targets, files, env, opts, run, results, &mut notes,
                            ) {
                                out.push(flow);
                            }
                        }
                    }
                }
            }
        }
    }
    for ((_, findings), notes) in results.iter_mut().zip(notes) {
        if notes.is_empty() {
            continue;
        }
        for f in findings
            .iter_mut()
            .filter(|f| matches!(f.code, "Z101" | "Z102" | "Z103"))
        {
            f.message = format!("{} ({})", f.message, notes.join("; "));
        }
    }
    out
}

/// The two ends of a path and the requirement it carries.
struct End<'a> {
    req: &'a Requirement,
    opener: &'a str,
    server: &'a str,
    a: &'a str,
    b: &'a str,
    src: &'a AddrSet,
    dst: &'a AddrSet,
    condition: &'a Option<String>,
}

impl End<'_> {
    fn name(&self) -> String {
        format!("{}/{} -> {}/{}", self.a, self.opener, self.b, self.server)
    }
}

/// One hop evaluated: on what reached it (or, `reached: false`, on the whole region), with the
/// replies where its rules see them.
struct HopResult {
    status: Status,
    /// Its status on the whole region, as if it were the only firewall on the path.
    alone: Status,
    reached: bool,
    reach: Reach,
    reply_deciders: Vec<At>,
    /// The status of its replies (allowed where they are not filtered).
    replies: Status,
}

/// A hop's evaluation of some pieces: the outcomes, the replies of what it let in and the
/// client's later packets (`replies::later_packets`), which must pass too.
fn evaluate_hop(
    rs: &Ruleset,
    hop: &Hop,
    pieces: &[PacketBox],
    local: &AddrSet,
) -> (Reach, Reach, Reach, bool) {
    let mut reach = Reach {
        outcomes: Vec::new(),
    };
    let mut reply = Reach {
        outcomes: Vec::new(),
    };
    let mut later_all = Reach {
        outcomes: Vec::new(),
    };
    let mut admitted = false;
    let Some(pipeline) = rs.pipeline(hop.hook) else {
        return (reach, reply, later_all, admitted);
    };
    let back = rs
        .pipeline(hop.hook.reverse())
        .filter(|_| rs.replies_filtered());
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        let r = Reach {
            outcomes: rs.evaluate_with(pipeline, piece, local),
        };
        if let Some(bp) = back {
            let groups = admitted_groups(hop.hook, &r);
            let (rp, adm) = replies(rs, bp, &groups);
            admitted |= adm;
            // the client's later packets pass this hop too, or the connection does not work
            if !rs.stateless {
                let later = super::replies::later_packets(
                    rs,
                    pipeline,
                    hop.hook,
                    &groups,
                    local,
                    Some(&rp),
                );
                later_all.outcomes.extend(later.outcomes);
            }
            reply.outcomes.extend(rp.outcomes);
        }
        reach.outcomes.extend(r.outcomes);
    }
    (reach, reply, later_all, admitted)
}

/// The interfaces a hop sees the flow's request on: (in, out).
fn hop_interfaces(t: &Target<'_>, hook: Hook) -> (IfaceSet, IfaceSet) {
    let ifs = &t.ruleset.interfaces;
    match hook {
        Hook::Output => (crate::model::iface::none(), peer_interfaces(t)),
        Hook::Input => (peer_interfaces(t), crate::model::iface::none()),
        Hook::Forward => (ifs.non_loopback(), ifs.non_loopback()),
    }
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    end: &End<'_>,
    hops: &[Hop],
    targets: &[Target<'_>],
    files: &[InputFile],
    env: Environment,
    opts: &AuditOptions<'_>,
    run: &Ends,
    results: &[Flow],
    notes: &mut [Vec<String>],
) -> Option<Flow> {
    let req = end.req;
    let ports: PortSet = ports_of(req, Hook::Input, opts)
        .or_else(|_| ports_of(req, Hook::Output, opts))
        .ok()?;
    // the addresses every hop can see (a hop of one family sees only that family)
    let space = hops.iter().fold(AddrSet::any(), |a, h| {
        a.intersect(&targets[h.target].ruleset.address_space())
    });
    let (src, dst) = (end.src.intersect(&space), end.dst.intersect(&space));
    if src.is_empty() || dst.is_empty() {
        return None;
    }
    let whole = |t: &Target<'_>, hook: Hook| {
        let (iif, oif) = hop_interfaces(t, hook);
        PacketBox {
            src: src.clone(),
            dst: dst.clone(),
            proto: protocol_set(req.protocol),
            sport: run.client_ports.clone(),
            dport: ports.clone(),
            state: ConnState::New.set(),
            iif,
            oif,
        }
    };
    let local_of = |hook: Hook| {
        AddrSet::loopback().union(&match hook {
            Hook::Output => src.clone(),
            Hook::Input => dst.clone(),
            Hook::Forward => AddrSet::empty(),
        })
    };
    // the pieces still on their way: as the next hop sees them, and whether an earlier hop
    // could not decide them
    let mut pieces: Vec<(PacketBox, bool)> = Vec::new();
    let mut terminal: Vec<Outcome> = Vec::new();
    let mut results_of: Vec<HopResult> = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let t = &targets[hop.target];
        let rs: &Ruleset = &t.ruleset;
        let full = whole(t, hop.hook);
        let local = local_of(hop.hook);
        let (alone, alone_reply, alone_later, alone_admitted) =
            evaluate_hop(rs, hop, std::slice::from_ref(&full), &local);
        let alone_status = reply_status(&alone, &alone_reply, &alone_later, alone_admitted);
        let reached = i == 0 || !pieces.is_empty();
        if !reached {
            results_of.push(HopResult {
                status: alone_status.0,
                alone: alone_status.0,
                reached,
                reply_deciders: rest_deciders(&alone_reply, &alone_later),
                replies: alone_status.1,
                reach: alone,
            });
            continue;
        }
        let (iif, oif) = hop_interfaces(t, hop.hook);
        let incoming: Vec<(PacketBox, bool)> = if i == 0 {
            vec![(full, false)]
        } else {
            std::mem::take(&mut pieces)
                .into_iter()
                .map(|(mut b, u)| {
                    b.iif = iif.clone();
                    b.oif = oif.clone();
                    // a new connection to this hop's connection tracking
                    b.state = ConnState::New.set();
                    (b, u)
                })
                .collect()
        };
        let mut reach = Reach {
            outcomes: Vec::new(),
        };
        let mut reply = Reach {
            outcomes: Vec::new(),
        };
        let mut later = Reach {
            outcomes: Vec::new(),
        };
        let mut admitted = false;
        for (b, undecided) in &incoming {
            let (r, rp, lp, adm) = evaluate_hop(rs, hop, std::slice::from_ref(b), &local);
            admitted |= adm;
            reply.outcomes.extend(rp.outcomes);
            later.outcomes.extend(lp.outcomes);
            for o in &r.outcomes {
                match o.verdict {
                    Verdict::Deny => terminal.push(o.clone()),
                    v => {
                        let next = match &o.nat {
                            Some(tr) => tr.to.view(&o.space),
                            None => o.space.clone(),
                        };
                        pieces.push((next, *undecided || v == Verdict::Unknown));
                    }
                }
            }
            reach.outcomes.extend(r.outcomes);
        }
        let (status, replies) = reply_status(&reach, &reply, &later, admitted);
        results_of.push(HopResult {
            status,
            alone: if i == 0 { status } else { alone_status.0 },
            reached,
            reply_deciders: rest_deciders(&reply, &later),
            replies,
            reach,
        });
    }
    // what got through every hop
    for (b, undecided) in pieces {
        terminal.push(Outcome {
            space: b,
            verdict: if undecided {
                Verdict::Unknown
            } else {
                Verdict::Allow
            },
            deciders: Default::default(),
            via: Vec::new(),
            reasons: Vec::new(),
            seen: crate::model::Seen::OWN,
            nat: None,
            diverted: false,
        });
    }
    let through = Reach { outcomes: terminal };
    let mut status = through.status(true);
    for h in results_of.iter().filter(|h| h.reached) {
        if status != Status::Blocked {
            status = with_replies(status, h.replies);
        }
    }
    let n = hops.len();
    let drop_at = results_of
        .iter()
        .position(|h| h.reached && h.status != Status::Allowed)
        .filter(|_| status != Status::Allowed)
        .unwrap_or(n - 1);
    let path: Vec<PathHop> = hops
        .iter()
        .zip(&results_of)
        .map(|(hop, h)| {
            let t = &targets[hop.target];
            let file = &files[t.file];
            PathHop {
                firewall: file.path.clone(),
                policy: t
                    .ruleset
                    .pipeline(hop.hook)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                hook: direction(hop.hook),
                status: h.status,
                deciding: hop_deciding(file, &t.ruleset, h),
                reached: h.reached,
            }
        })
        .collect();
    let drop_hop = &hops[drop_at];
    let dt = &targets[drop_hop.target];
    let mut unknown_reasons = through.unknown_reasons();
    for h in &results_of {
        for r in h.reach.unknown_reasons() {
            if !unknown_reasons.contains(&r) {
                unknown_reasons.push(r);
            }
        }
    }
    let rec = FlowRecord {
        requirement: req.id.clone(),
        environment: env.as_str().to_string(),
        site: Some(format!("{} -> {}", end.a, end.b)),
        firewall: path[drop_at].firewall.clone(),
        policy: path[drop_at].policy.clone(),
        direction: "path",
        from_role: end.opener.to_string(),
        to_role: end.server.to_string(),
        protocol: req.protocol.as_str().to_string(),
        ports: crate::model::ports::port_string(&ports),
        status,
        allowed_sources: through.allowed_sources().to_cidrs().into(),
        deciding: path[drop_at].deciding.clone(),
        condition: end.condition.clone(),
        conditional: end.condition.is_some(),
        assumes: Vec::new(),
        set_aside: Vec::new(),
        unknown_reasons: if status == Status::Unknown {
            unknown_reasons
        } else {
            Vec::new()
        },
        return_path: None,
        fix: None,
        no_fix: None,
        file: dt.file,
        target: drop_hop.target,
        exact_peers: true,
        world_open: None,
        admitted: None,
        path,
    };
    // the hops that lose packets: their own findings say where they are on the path
    let mut told = false;
    for (i, (hop, h)) in hops.iter().zip(&results_of).enumerate() {
        if !h.reached || h.status == Status::Allowed {
            continue;
        }
        let note = format!("hop {} of {n} on the path {}", i + 1, end.name());
        for (k, (r, fs)) in results.iter().enumerate() {
            if own_record(r, hop, end, req) {
                told |= fs
                    .iter()
                    .any(|f| matches!(f.code, "Z101" | "Z102" | "Z103"));
                if !notes[k].contains(&note) {
                    notes[k].push(note.clone());
                }
            }
        }
    }
    // a path finding only where no hop's own finding says as much: the path is worse than
    // every hop alone (each lets a different part through), or no hop that loses packets has
    // a finding of its own
    let worst_alone = results_of.iter().map(|h| h.alone.rank()).max().unwrap_or(0);
    let mut findings = Vec::new();
    if status != Status::Allowed && (status.rank() > worst_alone || !told) {
        let check = match status {
            Status::Blocked => &z101_required_flow_blocked::CHECK,
            Status::Partial => &z102_required_flow_partial::CHECK,
            _ => &z103_required_flow_unknown::CHECK,
        };
        let hops_text: Vec<String> = rec
            .path
            .iter()
            .enumerate()
            .map(|(i, h)| {
                format!(
                    "hop {} of {n} {} ({}) {}",
                    i + 1,
                    h.firewall,
                    h.policy,
                    h.status.name()
                )
            })
            .collect();
        let mut f = Finding::new(
            check,
            flow_message(
                &rec,
                &format!(
                    "is {} end to end on the path {}{}: {}",
                    status.name(),
                    end.name(),
                    if status.rank() > worst_alone {
                        ", though each firewall alone lets some of it through"
                    } else {
                        ""
                    },
                    hops_text.join(", ")
                ),
            ),
        );
        f.file = Some(dt.file);
        f.requirement = Some(req.id.clone());
        f.site = rec.site.clone();
        if rec.conditional && f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        let dh = &results_of[drop_at];
        f.labels = dh
            .reach
            .deciders(Verdict::Deny)
            .into_iter()
            .chain(dh.reply_deciders.iter().copied())
            .filter_map(|at| {
                label_at(
                    &dt.ruleset,
                    at,
                    format!(
                        "hop {} of {n} drops {}/{} here",
                        drop_at + 1,
                        rec.protocol,
                        rec.ports
                    ),
                )
            })
            .collect();
        f.help = Some(if status.rank() > worst_alone {
            "the firewalls on the path admit different parts of the flow, and no packet passes them all: admit the same peers and ports on every hop".into()
        } else {
            format!(
                "admit the flow on hop {} of {n} ({}, {})",
                drop_at + 1,
                rec.firewall,
                rec.policy
            )
        });
        findings.push(f);
    }
    Some((rec, findings))
}

/// A hop's request status (with its replies and the client's later packets) and the status of
/// the rest of its connections: both must pass (where both get through in part only, partial).
fn reply_status(reach: &Reach, reply: &Reach, later: &Reach, admitted: bool) -> (Status, Status) {
    let request = reach.status(true);
    if !admitted || request == Status::Blocked {
        return (request, Status::Allowed);
    }
    let replies = reply.status(true);
    let later = if later.outcomes.is_empty() {
        Status::Allowed
    } else {
        later.status(true)
    };
    let rest = if replies == Status::Blocked {
        Status::Blocked
    } else {
        with_replies(replies, later)
    };
    (with_replies(request, rest), rest)
}

/// What drops a hop's replies or its client's later packets.
fn rest_deciders(reply: &Reach, later: &Reach) -> Vec<At> {
    let mut out = reply.deciders(Verdict::Deny);
    for at in later.deciders(Verdict::Deny) {
        if !out.contains(&at) {
            out.push(at);
        }
    }
    out
}

fn hop_deciding(file: &InputFile, rs: &Ruleset, h: &HopResult) -> Vec<Deciding> {
    let mut out: Vec<Deciding> = Vec::new();
    let ats = h
        .reach
        .all_deciders()
        .into_iter()
        .map(|(at, _)| at)
        .chain(h.reply_deciders.iter().copied());
    let path: std::sync::Arc<str> = file.path.as_str().into();
    for d in ats.filter_map(|at| deciding(&path, rs, at)) {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn direction(hook: Hook) -> &'static str {
    match hook {
        Hook::Input => "inbound",
        Hook::Output => "outbound",
        Hook::Forward => "forward",
    }
}

/// Is `r` the record the hop's firewall has of its own for this flow?
fn own_record(r: &FlowRecord, hop: &Hop, end: &End<'_>, req: &Requirement) -> bool {
    if r.target != hop.target || r.requirement != req.id || r.direction != direction(hop.hook) {
        return false;
    }
    match hop.hook {
        Hook::Forward => {
            r.site.as_deref() == Some(&format!("{} -> {}", end.a, end.b))
                && r.from_role == end.opener
        }
        Hook::Output => r.to_role == end.server,
        Hook::Input => r.from_role == end.opener,
    }
}
