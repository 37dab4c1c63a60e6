//! The audit engine: every firewall × every applicable requirement, evaluated exactly and in
//! parallel, into flow records and findings.

pub mod checks;
pub mod finding;
pub mod fix;
pub mod input;
pub mod reach;
pub mod waiver;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::condition::{Context, Tri};
use crate::catalog::{
    role_includes, Catalog, Direction, Environment, MustNotKind, PortSpec, Protocol, Requirement,
};
use crate::inventory::{Guards, Inventory};
use crate::model::ports::{PortSet, ProtoSet, TCP, UDP};
use crate::model::{AddrSet, At, Decider, Hook, Ruleset, Verdict};
use checks::{
    z002_undecidable_match, z101_required_flow_blocked, z102_required_flow_partial,
    z103_required_flow_unknown, z201_management_port_exposed, z202_internal_port_exposed,
    z203_unneeded_port_open,
};
pub use finding::{Finding, Label, Severity};
pub use input::{load, InputFile};
use reach::{Reach, Region, Status};

/// What to audit against.
pub struct AuditOptions<'a> {
    pub catalog: &'a Catalog,
    /// `--env`; otherwise the inventory's.
    pub env: Option<Environment>,
    /// `--role` (quick mode): every file is the host firewall of a host of this role.
    pub role: Option<String>,
    pub inventory: Option<&'a Inventory>,
    /// Facts from the inventory and `--set`.
    pub facts: Context,
    /// `--interface`: the interfaces peers' traffic uses (default: any but loopback).
    pub interfaces: Vec<String>,
    /// `--profile`: the Windows Firewall profiles that are active (default: all three).
    pub profiles: Vec<String>,
}

/// One rule or default that decided a piece of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deciding {
    pub file: String,
    pub line: Option<u32>,
    pub rule: String,
    pub action: String,
}

/// One required flow through one firewall (the JSON contract's `flows[]`).
#[derive(Debug, Clone, Serialize)]
pub struct FlowRecord {
    pub requirement: String,
    pub environment: String,
    pub site: Option<String>,
    pub firewall: String,
    pub policy: String,
    pub direction: &'static str,
    pub from_role: String,
    pub to_role: String,
    pub protocol: String,
    pub ports: String,
    pub status: Status,
    pub allowed_sources: Vec<String>,
    pub deciding: Vec<Deciding>,
    /// The requirement's condition when the facts do not decide it (the flow may not be needed).
    pub condition: Option<String>,
    pub conditional: bool,
    /// For `unknown`: what could not be decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_reasons: Vec<String>,
    /// Stateless filters (network ACLs): what stops the replies, if anything does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// For a blocked or partial flow: the smallest native change that admits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<fix::Fix>,
    #[serde(skip)]
    pub file: usize,
    /// Which audited firewall (file × ruleset) this record is of.
    #[serde(skip)]
    pub target: usize,
    /// The peers came from the inventory (not "any address").
    #[serde(skip)]
    pub exact_peers: bool,
    /// For an inbound flow whose region is the exposure check's (from anywhere: quick mode):
    /// the rules and defaults that open it to every address, so that check need not evaluate
    /// the same region again.
    #[serde(skip)]
    pub world_open: Option<Vec<At>>,
}

/// The whole result of one audit run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<InputFile>,
    pub flows: Vec<FlowRecord>,
    pub findings: Vec<Finding>,
    /// Some named input could not be read or recognised (exit code 2).
    pub input_failed: bool,
    pub environment: Option<Environment>,
    /// Findings dropped because `--baseline` holds them.
    pub baselined: usize,
    /// `--fix-suggestions`: the human and Markdown reports show each flow's fix.
    pub show_fixes: bool,
}

impl Report {
    /// Findings of this severity that count (not waived).
    pub fn count(&self, s: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == s && !f.is_waived())
            .count()
    }
    pub fn waived(&self) -> usize {
        self.findings.iter().filter(|f| f.is_waived()).count()
    }
    pub fn flow_count(&self, s: Status) -> usize {
        self.flows.iter().filter(|f| f.status == s).count()
    }
}

/// What a file guards, resolved from `--role` or the inventory.
#[derive(Debug, Clone)]
struct Guard {
    guards: Guards,
    site: Option<String>,
    between: Vec<String>,
    interfaces: Vec<String>,
}

/// One firewall to audit: a ruleset of a file (or several combined) and what it guards.
struct Target<'a> {
    file: usize,
    ruleset: std::borrow::Cow<'a, Ruleset>,
    guard: Guard,
}

/// `set.to_cidrs()` for the sources of a flow through `rs`; remembered for the run when `set` is
/// every remote address (as the sources of most allowed flows of quick mode are): writing out
/// the 130 or so CIDRs of IPv6 minus `::1` for every flow was a tenth of a many-file run.
fn source_cidrs(rs: &Ruleset, set: &AddrSet) -> Vec<String> {
    // one entry per address space (IPv4, IPv6, both): a handful in any run
    static CACHE: std::sync::Mutex<Vec<(AddrSet, Vec<String>)>> = std::sync::Mutex::new(Vec::new());
    if *set != rs.address_space().difference(&AddrSet::loopback()) {
        return set.to_cidrs();
    }
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = cache.iter().find(|(s, _)| s == set) {
        return c.clone();
    }
    let c = set.to_cidrs();
    cache.push((set.clone(), c.clone()));
    c
}

/// The firewalls to audit. With an inventory entry for a file, its `policies` pick rulesets by
/// name (combined as a union for allow-only groups, in series otherwise); without, every ruleset
/// of the file is audited on its own, except that allow-only groups (AWS security groups) in one
/// file are taken as attached together (their union), as in quick mode.
fn targets<'a>(files: &'a [InputFile], opts: &AuditOptions<'_>) -> Vec<Target<'a>> {
    use std::borrow::Cow;
    let mut out = Vec::new();
    // Windows exports hold one ruleset per profile: keep the active ones
    // (their names are `Domain profile`, `Private profile (firewall off)`, ...)
    let active = |rs: &Ruleset| {
        let profile = rs
            .name
            .as_deref()
            .and_then(|n| n.split_once(" profile").map(|(p, _)| p));
        match profile {
            Some(p) if !opts.profiles.is_empty() => {
                opts.profiles.iter().any(|x| x.eq_ignore_ascii_case(p))
            }
            _ => true,
        }
    };
    for (fi, f) in files.iter().enumerate() {
        if f.rulesets.is_empty() {
            continue;
        }
        let entries: Vec<&crate::inventory::Firewall> = opts
            .inventory
            .map(|inv| inv.firewalls_for(std::path::Path::new(&f.path)))
            .unwrap_or_default();
        let quick = opts.role.as_ref().map(|r| Guard {
            guards: Guards::Host(r.clone()),
            site: None,
            between: Vec::new(),
            interfaces: opts.interfaces.clone(),
        });
        let add_all = |guard: Guard, out: &mut Vec<Target<'a>>| {
            let union = f.rulesets.len() > 1
                && f.rulesets.iter().all(|r| {
                    r.policies
                        .iter()
                        .all(|p| p.semantics == crate::model::Semantics::AllowUnion)
                });
            if union {
                out.push(Target {
                    file: fi,
                    ruleset: Cow::Owned(Ruleset::union_of(None, &f.rulesets)),
                    guard,
                });
            } else {
                for rs in f.rulesets.iter().filter(|r| active(r)) {
                    out.push(Target {
                        file: fi,
                        ruleset: Cow::Borrowed(rs),
                        guard: guard.clone(),
                    });
                }
            }
        };
        if entries.is_empty() {
            if let Some(g) = quick {
                add_all(g, &mut out);
            }
            continue;
        }
        for fw in entries {
            let guard = Guard {
                guards: fw.guards.clone(),
                site: fw.site.clone(),
                between: fw.between.clone(),
                interfaces: if opts.interfaces.is_empty() {
                    fw.interfaces.clone()
                } else {
                    opts.interfaces.clone()
                },
            };
            if fw.policies.is_empty() {
                add_all(guard, &mut out);
                continue;
            }
            let picked: Vec<Ruleset> = fw
                .policies
                .iter()
                .filter_map(|n| {
                    f.rulesets
                        .iter()
                        .find(|r| r.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
                        .cloned()
                })
                .collect();
            if picked.is_empty() {
                continue;
            }
            let name = Some(fw.policies.join(" + "));
            let allow_union = picked.iter().all(|r| {
                r.policies
                    .iter()
                    .all(|p| p.semantics == crate::model::Semantics::AllowUnion)
            });
            let rs = if picked.len() == 1 {
                picked.into_iter().next().map(Cow::Owned)
            } else if allow_union {
                Some(Cow::Owned(Ruleset::union_of(name, &picked)))
            } else {
                Some(Cow::Owned(Ruleset::in_series(name, &picked)))
            };
            if let Some(ruleset) = rs {
                out.push(Target {
                    file: fi,
                    ruleset,
                    guard,
                });
            }
        }
    }
    out
}

/// One evaluation to do.
struct Job<'a> {
    target: usize,
    req: &'a Requirement,
    hook: Hook,
    /// The role at the far end.
    peer_role: String,
    condition: Option<String>,
    /// For boundary firewalls: the (from, to) sites.
    sites: Option<(String, String)>,
    /// For boundary firewalls and `both` requirements: the to-role opens the connection.
    swapped: bool,
}

/// Where the peers of a requirement are, relative to the guarded host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The same site (ZVM and its VRAs, vCenter, hosts).
    Local,
    /// Other sites (paired ZVMs, peer VRAs).
    PeerSite,
    /// Anywhere (admin clients, ZCM, ZCC, ZSSP).
    Anywhere,
}

fn scope(req: &Requirement) -> Scope {
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

/// Run the audit over loaded files.
pub fn audit(files: Vec<InputFile>, opts: &AuditOptions<'_>) -> Report {
    let env = opts.env.or(opts.inventory.map(|i| i.environment));
    let mut report = Report {
        environment: env,
        ..Report::default()
    };
    report.input_failed = files.iter().any(|f| f.failed);
    for (i, f) in files.iter().enumerate() {
        for mut x in f.findings.clone() {
            x.file = Some(i);
            report.findings.push(x);
        }
    }
    let Some(env) = env else {
        report.files = files;
        return report;
    };
    let targets = targets(&files, opts);

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

    let results: Vec<(FlowRecord, Vec<Finding>)> = jobs
        .par_iter()
        .filter_map(|job| {
            let t = &targets[job.target];
            run_job(job, &files[t.file], t, env, opts)
        })
        .collect();
    // Z002s from flows: one per rule line and per distinct reason in a file, and none where
    // parsing already reported the line, or the name the reason is about (an unresolved tag)
    let mut z002_seen: std::collections::HashSet<(Option<usize>, Option<u32>)> = report
        .findings
        .iter()
        .filter(|f| f.code == "Z001" || f.code == "Z002")
        .map(|f| (f.file, f.line()))
        .collect();
    // the names parsing already reported as unresolved, per file
    let parse_z002: std::collections::HashSet<(Option<usize>, String)> = report
        .findings
        .iter()
        .filter(|f| f.code == "Z002")
        .flat_map(|f| {
            backticked(&f.message)
                .into_iter()
                .map(move |n| (f.file, n.to_string()))
        })
        .collect();
    let mut reasons_seen: std::collections::HashSet<(Option<usize>, String)> = Default::default();
    for (rec, fs) in results {
        for f in fs {
            if f.code == "Z002" {
                let names = backticked(&f.message);
                let already_named = names
                    .iter()
                    .any(|n| parse_z002.contains(&(f.file, n.to_string())));
                let reason = f
                    .message
                    .split_once(": ")
                    .map(|x| x.1)
                    .unwrap_or(&f.message)
                    .to_string();
                if already_named
                    || !z002_seen.insert((f.file, f.line()))
                    || !reasons_seen.insert((f.file, reason))
                {
                    continue;
                }
            }
            report.findings.push(f);
        }
        report.flows.push(rec);
    }

    // exposure checks, per host firewall, each with its own inbound flows (looked up once: a scan
    // of every flow per firewall would be quadratic in the number of files)
    let mut inbound: Vec<Vec<&FlowRecord>> = vec![Vec::new(); targets.len()];
    for rec in report.flows.iter().filter(|r| r.direction == "inbound") {
        if let Some(v) = inbound.get_mut(rec.target) {
            v.push(rec);
        }
    }
    let exposures: Vec<Vec<Finding>> = targets
        .par_iter()
        .zip(inbound.par_iter())
        .map(|(t, flows)| exposure(t, env, opts, flows))
        .collect();
    report.findings.extend(exposures.into_iter().flatten());
    // Z301/Z302 per audited firewall (a ruleset two inventory entries share is reported once)
    let shadows: Vec<Vec<Finding>> = targets
        .par_iter()
        .map(|t| checks::z301_shadowed_rule::check(t.file, &t.ruleset))
        .collect();
    let mut seen_spans = std::collections::HashSet::new();
    for f in shadows.into_iter().flatten() {
        if seen_spans.insert((f.file, f.code, f.labels.first().map(|l| l.span))) {
            report.findings.push(f);
        }
    }
    report.findings.sort_by(|a, b| {
        (a.file, a.line(), a.code, &a.requirement).cmp(&(b.file, b.line(), b.code, &b.requirement))
    });
    report.files = files;
    report
}

fn protocol_set(p: Protocol) -> ProtoSet {
    match p {
        Protocol::Tcp => ProtoSet::single(TCP),
        Protocol::Udp => ProtoSet::single(UDP),
        Protocol::Any => ProtoSet::single(TCP).union(&ProtoSet::single(UDP)),
    }
}

/// The ports of a requirement after the inventory's remapping, or why they are not known.
fn ports_of(req: &Requirement, hook: Hook, opts: &AuditOptions<'_>) -> Result<PortSet, String> {
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

fn run_job(
    job: &Job<'_>,
    file: &InputFile,
    t: &Target<'_>,
    env: Environment,
    opts: &AuditOptions<'_>,
) -> Option<(FlowRecord, Vec<Finding>)> {
    let rs: &Ruleset = &t.ruleset;
    let g = &t.guard;
    let pipeline = rs.pipeline(job.hook)?;
    let req = job.req;
    let space = rs.address_space();
    let remote = space.difference(&AddrSet::loopback());
    let ifs = &rs.interfaces;
    let peer_ifs = if g.interfaces.is_empty() {
        ifs.non_loopback()
    } else {
        g.interfaces
            .iter()
            .fold(crate::model::iface::IfaceSet::empty(), |a, i| {
                a.union(&ifs.matching(i))
            })
    };
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
            let host = if host.is_empty() { space.clone() } else { host };
            let peers = match scope(req) {
                Scope::Local => inv.addresses(&job.peer_role, g.site.as_deref()),
                Scope::Anywhere => inv.addresses(&job.peer_role, None),
                Scope::PeerSite => inv
                    .sites
                    .iter()
                    .filter(|s| Some(&s.name) != g.site.as_ref())
                    .filter_map(|s| s.roles.get(&job.peer_role))
                    .fold(AddrSet::empty(), |a, b| a.union(b)),
            }
            .intersect(&remote);
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
            match job.hook {
                Hook::Output => (host, peers, g.site.clone()),
                _ => (peers, host, g.site.clone()),
            }
        }
        (Guards::Boundary, Some(inv)) => {
            let (a, b) = job.sites.clone()?;
            let (opener, server) = forward_roles(job);
            let s = inv.addresses(opener, Some(&a)).intersect(&space);
            let d = inv.addresses(server, Some(&b)).intersect(&space);
            if s.is_empty() || d.is_empty() {
                return None;
            }
            exact = true;
            (s, d, Some(format!("{a} -> {b}")))
        }
        (_, None) => match job.hook {
            Hook::Output => (space.clone(), remote.clone(), None),
            _ => (remote.clone(), space.clone(), None),
        },
    };
    let (iif, oif) = match job.hook {
        Hook::Input => (peer_ifs, ifs.all()),
        Hook::Output => (ifs.all(), peer_ifs),
        Hook::Forward => (ifs.non_loopback(), ifs.non_loopback()),
    };
    let ports = ports_of(req, job.hook, opts);
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
        ports: req.ports.display(),
        status: Status::Unknown,
        allowed_sources: Vec::new(),
        deciding: Vec::new(),
        conditional: job.condition.is_some(),
        condition: job.condition.clone(),
        unknown_reasons: Vec::new(),
        return_path: None,
        fix: None,
        file: t.file,
        target: job.target,
        exact_peers: false,
        world_open: None,
    };
    let ports = match ports {
        Ok(p) => p,
        Err(why) => {
            rec.unknown_reasons.push(why.clone());
            let mut f = Finding::new(
                &z103_required_flow_unknown::CHECK,
                flow_message(&rec, "cannot be evaluated"),
            );
            f.help = Some(why);
            f.file = Some(t.file);
            f.requirement = Some(req.id.clone());
            return Some((rec, vec![f]));
        }
    };
    rec.ports = crate::model::ports::port_string(&ports);
    let region = Region {
        src,
        dst,
        proto: protocol_set(req.protocol),
        dport: ports,
        sport: PortSet::full(),
        iif,
        oif,
    };
    let reach = Reach::evaluate(rs, pipeline, &region);
    if job.hook == Hook::Input
        && region == Region::from_anywhere(rs, region.proto.clone(), region.dport.clone())
    {
        rec.world_open = Some(reach.world_open_deciders(rs));
    }
    rec.exact_peers = exact;
    rec.status = reach.status(exact);
    // a stateless filter (network ACL) must also let the replies back out
    let mut return_findings = Vec::new();
    if rs.stateless && rec.status != Status::Blocked {
        let back = match job.hook {
            Hook::Input => Hook::Output,
            Hook::Output => Hook::Input,
            Hook::Forward => Hook::Forward,
        };
        if let Some(bp) = rs.pipeline(back) {
            let reply_region = region.replies();
            let reply = Reach::evaluate(rs, bp, &reply_region);
            let rs_status = reply.status(true);
            if rs_status != Status::Allowed {
                let what = format!(
                    "its replies (tcp/udp from port {} to ports {}-{}) are not let back by {}",
                    rec.ports,
                    reach::EPHEMERAL.0,
                    reach::EPHEMERAL.1,
                    bp.name
                );
                rec.return_path = Some(format!("{}: {what}", rs_status.name()));
                rec.status = match (rec.status, rs_status) {
                    (_, Status::Blocked) => Status::Blocked,
                    (Status::Unknown, _) | (_, Status::Unknown) => Status::Unknown,
                    _ => Status::Partial,
                };
                let check = if rec.status == Status::Blocked {
                    &z101_required_flow_blocked::CHECK
                } else {
                    &z102_required_flow_partial::CHECK
                };
                let mut f = Finding::new(
                    check,
                    flow_message(&rec, &format!("is stateless-filtered and {what}")),
                );
                f.file = Some(t.file);
                f.requirement = Some(rec.requirement.clone());
                if rec.conditional && f.severity == Severity::Error {
                    f.severity = Severity::Warning;
                }
                f.labels = reply
                    .deciders(Verdict::Deny)
                    .into_iter()
                    .filter_map(|at| label_at(rs, at, "drops the replies".into()))
                    .collect();
                f.help = Some(format!(
                    "a network ACL is stateless: allow the return traffic in {} (ports {}-{} to the peers)",
                    bp.name,
                    reach::EPHEMERAL.0,
                    reach::EPHEMERAL.1
                ));
                return_findings.push(f);
            }
        }
    }
    rec.allowed_sources = source_cidrs(rs, &reach.allowed_sources());
    rec.deciding = reach
        .all_deciders()
        .into_iter()
        .filter_map(|(at, _)| deciding(file, rs, at))
        .collect();
    rec.unknown_reasons = reach.unknown_reasons();
    rec.unknown_reasons.extend(reasons);
    if matches!(rec.status, Status::Blocked | Status::Partial) && return_findings.is_empty() {
        rec.fix = fix::compute(&rec, &reach, rs);
    }
    let mut findings = if return_findings.is_empty() {
        flow_findings(&rec, &reach, rs)
    } else {
        // the request is let in; the finding is about the replies
        Vec::new()
    };
    findings.extend(return_findings);
    Some((rec, findings))
}

/// The (opening, accepting) roles of a boundary job.
fn forward_roles<'j>(job: &'j Job<'_>) -> (&'j str, &'j str) {
    if job.swapped {
        (&job.req.to_role, &job.req.from_role)
    } else {
        (&job.req.from_role, &job.req.to_role)
    }
}

fn guarded_name(g: &Guard, catalogue_role: &str) -> String {
    match &g.guards {
        Guards::Host(r) if r != catalogue_role => format!("{r} ({catalogue_role})"),
        _ => catalogue_role.to_string(),
    }
}

/// The JSON `deciding` entry of a decider.
fn deciding(file: &InputFile, rs: &Ruleset, at: At) -> Option<Deciding> {
    let p = rs.policies.get(at.policy)?;
    let (prov, action) = match at.decider {
        Decider::Rule(r) | Decider::Loop(r) => {
            let rule = p.rules.get(r)?;
            (&rule.prov, rule.action.name().to_string())
        }
        Decider::ChainPolicy(c) => {
            let ch = p.chains.get(c)?;
            let a = match ch.policy {
                Some(Verdict::Allow) => "accept",
                Some(Verdict::Deny) => "drop",
                _ => "unknown",
            };
            (&ch.decl, a.to_string())
        }
    };
    Some(Deciding {
        file: file.path.clone(),
        line: (!prov.span.is_empty() || prov.line > 0)
            .then_some(prov.line)
            .filter(|l| *l > 0),
        rule: prov.label.clone(),
        action,
    })
}

/// A label on a decider's source, if it has one in the file.
pub(crate) fn label_at(rs: &Ruleset, at: At, text: String) -> Option<Label> {
    let prov = rs.provenance(at)?;
    if prov.span.is_empty() {
        return None;
    }
    Some(Label {
        span: prov.span,
        line: prov.line,
        column: prov.column,
        text,
        rule: Some(prov.label.clone()),
    })
}

fn flow_message(rec: &FlowRecord, what: &str) -> String {
    let cond = match &rec.condition {
        Some(c) => format!(" (needed only if {c})"),
        None => String::new(),
    };
    format!(
        "{} {}/{} {} -> {} ({}, {}) {what}{cond}",
        rec.requirement,
        rec.protocol,
        rec.ports,
        rec.from_role,
        rec.to_role,
        rec.direction,
        rec.policy
    )
}

fn flow_findings(rec: &FlowRecord, reach: &Reach, rs: &Ruleset) -> Vec<Finding> {
    let mut out = Vec::new();
    let conditional = rec.conditional;
    let base = |check: &checks::Check, what: &str| {
        let mut f = Finding::new(check, flow_message(rec, what));
        f.file = Some(rec.file);
        f.requirement = Some(rec.requirement.clone());
        f.site = rec.site.clone();
        if conditional && f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        f
    };
    let deny_labels = |verb: &str| -> Vec<Label> {
        let mut labels: Vec<Label> = reach
            .deciders(Verdict::Deny)
            .into_iter()
            .filter_map(|at| label_at(rs, at, format!("{verb} {}/{}", rec.protocol, rec.ports)))
            .collect();
        // the jumps and returns that led there
        for o in reach.outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
            for &(pi, r) in &o.via {
                let Some(rule) = rs.policies.get(pi).and_then(|p| p.rules.get(r)) else {
                    continue;
                };
                let text = match rule.action {
                    crate::model::Action::Jump(c) | crate::model::Action::Goto(c) => format!(
                        "jumps to {}",
                        rs.policies[pi]
                            .chains
                            .get(c)
                            .map(|c| c.name.as_str())
                            .unwrap_or("?")
                    ),
                    crate::model::Action::Return => "returns to the calling chain".to_string(),
                    _ => continue,
                };
                let at = At {
                    policy: pi,
                    decider: Decider::Rule(r),
                };
                if let Some(l) = label_at(rs, at, text) {
                    if !labels.iter().any(|x| x.span == l.span) {
                        labels.push(l);
                    }
                }
            }
        }
        labels
    };
    match rec.status {
        Status::Allowed => {}
        Status::Blocked => {
            // name what denies it (with NSGs in series: which NSG)
            let by: Vec<String> = reach
                .deciders(Verdict::Deny)
                .into_iter()
                .filter_map(|at| rs.provenance(at).map(|p| p.label.clone()))
                .collect();
            let what = match by.as_slice() {
                [one] => format!("is blocked by {one}"),
                _ => "is blocked".to_string(),
            };
            let mut f = base(&z101_required_flow_blocked::CHECK, &what);
            f.labels = deny_labels("drops");
            let mut help = z101_required_flow_blocked::help(rec, reach, rs);
            if let Some(hint) = disabled_rule_hint(reach, rs) {
                help = format!("{hint}; or {help}");
            }
            f.help = Some(help);
            out.push(f);
        }
        Status::Partial => {
            let mut f = base(
                &z102_required_flow_partial::CHECK,
                &format!(
                    "is allowed only from {}",
                    display_list(&rec.allowed_sources)
                ),
            );
            f.labels = deny_labels("drops the rest of");
            f.help = Some(format!(
                "denied sources: {}; widen the allowing rule to every peer or move it above the rules labelled here",
                display_list(&reach.denied_sources().to_cidrs())
            ));
            out.push(f);
        }
        Status::Unknown => {
            let mut f = base(&z103_required_flow_unknown::CHECK, "cannot be decided");
            let und: Vec<At> = reach.deciders(Verdict::Unknown);
            f.labels = und
                .iter()
                .filter(|at| is_undecidable(rs, **at))
                .filter_map(|at| label_at(rs, *at, "cannot be evaluated".into()))
                .collect();
            f.help = Some(format!(
                "undecided because: {}",
                rec.unknown_reasons.join("; ")
            ));
            out.push(f);
            // Z002 once per undecidable rule that touched a required flow
            for at in und.into_iter().filter(|at| is_undecidable(rs, *at)) {
                let Some(p) = rs.policies.get(at.policy) else {
                    continue;
                };
                let (Decider::Rule(r) | Decider::Loop(r)) = at.decider else {
                    continue;
                };
                let Some(rule) = p.rules.get(r) else { continue };
                let why = if rule.undecidable.is_empty() {
                    "its verdict is not in the export".to_string()
                } else {
                    rule.undecidable.join("; ")
                };
                let mut f = Finding::new(
                    &z002_undecidable_match::CHECK,
                    format!("{}: {why}", rule.prov.label),
                );
                f.file = Some(rec.file);
                f.labels = label_at(rs, at, "undecidable".into()).into_iter().collect();
                f.help = Some(
                    "flows through this rule are reported as unknown; see `portolan explain Z002`"
                        .into(),
                );
                out.push(f);
            }
        }
    }
    out
}

fn is_undecidable(rs: &Ruleset, at: At) -> bool {
    match at.decider {
        Decider::Loop(_) => true,
        _ => rs
            .rule(at)
            .is_some_and(|r| !r.undecidable.is_empty() || r.action == crate::model::Action::Opaque),
    }
}

pub fn display_list(v: &[String]) -> String {
    const MAX: usize = 6;
    if v.is_empty() {
        return "nowhere".into();
    }
    if v.len() <= MAX {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..MAX].join(", "), v.len() - MAX)
    }
}

/// Windows keeps disabled rules in a `<chain> (disabled)` chain that nothing enters: if one of
/// them would admit what is denied, say so ("enabling rule X would fix this").
fn disabled_rule_hint(reach: &Reach, rs: &Ruleset) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for o in reach.outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
        for at in &o.deciders {
            let Some(p) = rs.policies.get(at.policy) else {
                continue;
            };
            for c in &p.chains {
                let Some(base) = c.name.strip_suffix(" (disabled)") else {
                    continue;
                };
                // only the disabled twin of a chain this policy is entered by
                if !p
                    .entries
                    .iter()
                    .any(|e| p.chains.get(e.chain).is_some_and(|x| x.name == base))
                {
                    continue;
                }
                let Some(ci) = p.chain_by_name(&c.name) else {
                    continue;
                };
                for piece in p.evaluate(ci, &o.space) {
                    if piece.verdict != Verdict::Allow {
                        continue;
                    }
                    for d in piece.deciders {
                        if let Decider::Rule(r) = d {
                            if let Some(rule) = p.rules.get(r) {
                                let n = if rule.prov.line > 0 {
                                    format!("`{}` (line {})", rule.prov.label, rule.prov.line)
                                } else {
                                    format!("`{}`", rule.prov.label)
                                };
                                if !names.contains(&n) {
                                    names.push(n);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (!names.is_empty()).then(|| {
        format!(
            "enabling the disabled rule {} would admit it",
            names.join(", ")
        )
    })
}

/// The `quoted` names in a message.
fn backticked(m: &str) -> Vec<&str> {
    m.split('`').skip(1).step_by(2).collect()
}

/// Z201, Z202, Z203 for one host firewall.
fn exposure(
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
