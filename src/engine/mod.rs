//! The audit engine: every firewall × every applicable requirement, evaluated exactly and in
//! parallel, into flow records and findings. One file per stage (see `docs/architecture.md`):
//! [`targets`] (which rulesets are audited, guarding what), [`jobs`] (target × requirement ×
//! direction), [`flow`] (one flow's region and evaluation), [`findings`] (Z101/Z102/Z103/Z002 of a
//! flow), [`exposure`] (Z201/Z202/Z203), [`waiver`] (waivers and baselines),
//! [`path`] (a flow across every firewall on its way between two sites, end to end),
//! [`diff`] (what a change does: `portolan diff`).

pub mod batch;
pub mod cidrs;
pub mod diff;
pub mod exposure;
pub mod finding;
pub mod findings;
pub mod flow;
pub mod jobs;
pub mod path;
pub mod reach;
pub mod reachability;
pub mod replies;
pub mod shard;
pub mod sites;
pub mod targets;
pub mod waiver;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use cidrs::Cidrs;

use crate::catalog::condition::Context;
use crate::catalog::{Catalog, Environment};
use crate::inventory::Inventory;
pub use crate::load::{load, InputFile};
pub use finding::{Finding, Label, Severity};
use reach::Status;

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
    /// `--host-address`: the guarded host's own addresses where the inventory names none
    /// (default: every unicast address that is not loopback, multicast, broadcast, link-local
    /// or unspecified; see [`reach::Ends`]).
    pub host_addresses: Option<crate::model::AddrSet>,
    /// Propose and verify a fix for each blocked or partly blocked flow (its record's `fix`
    /// or `no_fix`, its findings' help). Off only for a report that shows neither (`--format
    /// concise`, `--format gitlab`: `OutputFormat::shows_fixes`): the fixes are about 40% of a
    /// small file's audit.
    pub fixes: bool,
}

/// One rule or default that decided a piece of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deciding {
    /// The file's path, shared by every entry of the file (a blocklist's flow has 86,000).
    pub file: std::sync::Arc<str>,
    pub line: Option<u32>,
    /// The rule's label, shared with the ruleset (a blocklist's flow names 86,000 rules).
    pub rule: std::sync::Arc<str>,
    /// `accept`, `drop`, ... ([`crate::model::Action::name`]; a policy's verdict).
    #[serde(deserialize_with = "shard::intern")]
    pub action: shard::Word,
}

/// One firewall on a flow's path (`flows[].path`, inventory mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathHop {
    pub firewall: String,
    pub policy: String,
    /// `outbound` (the opener's host), `forward` (a boundary), `inbound` (the server's host).
    #[serde(deserialize_with = "shard::intern")]
    pub hook: shard::Word,
    /// What the hop does to what reached it (replies included); for a hop nothing reached,
    /// what it would do to the whole flow.
    pub status: Status,
    pub deciding: Vec<Deciding>,
    /// Some of the flow reached this hop (an earlier one did not drop it all).
    pub reached: bool,
}

/// One required flow through one firewall (the JSON contract's `flows[]`); with `direction`
/// `path`, the flow end to end through every firewall on its path (`path`), `firewall` and
/// `deciding` being the first hop's that loses packets (the last hop's when none does).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowRecord {
    pub requirement: String,
    pub environment: String,
    pub site: Option<String>,
    pub firewall: String,
    pub policy: String,
    #[serde(deserialize_with = "shard::intern")]
    pub direction: shard::Word,
    pub from_role: String,
    pub to_role: String,
    pub protocol: String,
    pub ports: String,
    pub status: Status,
    pub allowed_sources: Cidrs,
    pub deciding: Vec<Deciding>,
    /// The requirement's condition when the facts do not decide it (the flow may not be needed).
    pub condition: Option<String>,
    pub conditional: bool,
    /// For `unknown`: what could not be decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_reasons: Vec<String>,
    /// What the verdict assumes for lack of a fact (how many VRAs a 9082+ range is for), and
    /// what to set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumes: Vec<String>,
    /// Rules that match the flow's packets but are scoped to another application than the
    /// guarded role's (a Windows program, service or Store app), so they cannot match it
    /// (`model::app`): `label: why` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<String>,
    /// Stateless filters (network ACLs): what stops the replies, if anything does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// For a blocked or partial flow: the smallest native change that admits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Box<crate::remedy::Fix>>,
    /// For a blocked or partial flow no single verified change fixes: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_fix: Option<String>,
    /// For a `path` record: every firewall on the path, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathHop>,
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
    pub world_open: Option<Vec<exposure::Exposed>>,
    /// For an allowed or partial flow: the peers it admits.
    #[serde(skip)]
    pub admitted: Option<Box<reach::Admitted>>,
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
    /// Files a directory scan found that are no firewall export (skipped, not audited).
    pub skipped: Vec<String>,
    /// `--shard K/N`: the job, and where its files stand in the whole run (JSON `shard`).
    pub shard: Option<shard::ShardRun>,
    /// When, by what and from what the report was made (set by the command line).
    pub run: Option<crate::provenance::RunRecord>,
    /// How many firewalls (file × ruleset, or groups audited together) the run audited: the
    /// flows' `target` indices are below it.
    pub targets: usize,
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
    let targets = targets::targets(&files, opts);
    // a `--policy` name no file holds: the run audits less than asked (exit 2)
    let unmatched = targets::unmatched_policies(&files, opts);
    if !unmatched.is_empty() {
        let mut held: Vec<&str> = files
            .iter()
            .flat_map(|f| &f.rulesets)
            .filter_map(|r| r.name.as_deref())
            .collect();
        held.sort_unstable();
        held.dedup();
        let shown = held.len().min(8);
        let mut f = Finding::new(
            &crate::checks::z003_unrecognised_input::CHECK,
            format!(
                "--policy {}: no audited file holds a ruleset of that name",
                unmatched.join(",")
            ),
        );
        f.help = Some(if held.is_empty() {
            "the files hold no named ruleset".into()
        } else {
            format!(
                "the files hold {}{}",
                held[..shown].join(", "),
                if held.len() > shown {
                    format!(" and {} more", held.len() - shown)
                } else {
                    String::new()
                }
            )
        });
        report.findings.push(f);
        report.input_failed = true;
    }

    let jobs = jobs::jobs(&targets, env, opts);
    // the run's ends (the host's addresses, the clients' ports, `--peers`), made once for the
    // flows, the paths and the exposure checks
    let ends = reach::Ends::of(opts);

    // phase 1: every flow (in parallel), and beside them Z301/Z302 per audited firewall, which
    // read only the rules (a ruleset two inventory entries share is reported once, below);
    // phase 2: the remedies, per firewall in job order
    let (evaluated, shadows): (Vec<flow::Evaluated>, Vec<Vec<Finding>>) = rayon::join(
        || {
            // what each target's flows share, made once per target
            let bases: Vec<flow::Base<'_>> = targets
                .par_iter()
                .map(|t| flow::Base::of(&t.ruleset, &ends))
                .collect();
            jobs.par_iter()
                .filter_map(|job| {
                    let t = &targets[job.target];
                    flow::run_job(job, &files[t.file], t, env, opts, &bases[job.target])
                })
                .collect()
        },
        || {
            targets
                .par_iter()
                .map(|t| crate::checks::z301_shadowed_rule::check(t.file, t.as_written()))
                .collect()
        },
    );
    let mut results = flow::with_remedies(evaluated, &targets);
    // the flows across every firewall on their path (their hops' own findings get a note)
    let paths = path::paths(&targets, &files, env, opts, &ends, &mut results);
    results.extend(paths);
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
            findings::backticked(&f.message)
                .into_iter()
                .map(move |n| (f.file, n.to_string()))
        })
        .collect();
    let mut reasons_seen: std::collections::HashSet<(Option<usize>, String)> = Default::default();
    // grown once: a record is a few hundred bytes, and doubling copies them all each time
    report.flows.reserve(results.len());
    report
        .findings
        .reserve(results.iter().map(|(_, fs)| fs.len()).sum());
    for (rec, fs) in results {
        for f in fs {
            if f.code == "Z002" {
                let names = findings::backticked(&f.message);
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
    let exposures: Vec<(Option<String>, Vec<Finding>)> = targets
        .par_iter()
        .zip(inbound.par_iter())
        .map(|(t, flows)| {
            (
                t.ruleset.profile.clone(),
                exposure::exposure(t, env, opts, &ends, flows),
            )
        })
        .collect();
    report
        .findings
        .extend(crate::checks::z201_management_port_exposed::merge_profiles(
            exposures,
        ));
    // Z301/Z302's findings, after the exposure's (a ruleset two inventory entries share is
    // reported once)
    let partial = aws_partly_redundant(&targets, &shadows);
    let mut seen_spans = std::collections::HashSet::new();
    for f in shadows.into_iter().flatten() {
        let at = (f.file, f.labels.first().map(|l| l.span));
        if !partial.contains(&at) && seen_spans.insert((f.file, f.code, at.1)) {
            report.findings.push(f);
        }
    }
    sort_findings(&mut report.findings);
    report.targets = targets.len();
    report.files = files;
    report
}

/// A report's findings in their order: by file, line, code and requirement (stable).
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.file, a.line(), a.code, &a.requirement).cmp(&(b.file, b.line(), b.code, &b.requirement))
    });
}

/// AWS security-group rules that Z301/Z302 flag in some but not all of the audited firewalls
/// holding them (a group attached to two resources, with another group on one of them): removing
/// such a rule changes what the other firewall admits, so it is neither shadowed nor redundant.
fn aws_partly_redundant(
    targets: &[targets::Target<'_>],
    shadows: &[Vec<Finding>],
) -> std::collections::HashSet<(Option<usize>, Option<crate::model::Span>)> {
    use std::collections::{HashMap, HashSet};
    let mut holders: HashMap<(Option<usize>, Option<crate::model::Span>), usize> = HashMap::new();
    let mut flagged = holders.clone();
    for (t, found) in targets.iter().zip(shadows) {
        if t.ruleset.platform != crate::model::Platform::AwsSecurityGroup {
            continue;
        }
        let spans: HashSet<_> = t
            .ruleset
            .policies
            .iter()
            .flat_map(|p| p.rules.iter().map(|r| r.prov.span))
            .collect();
        for s in spans {
            *holders.entry((Some(t.file), Some(s))).or_default() += 1;
        }
        let mine: HashSet<_> = found
            .iter()
            .map(|f| (f.file, f.labels.first().map(|l| l.span)))
            .collect();
        for at in mine {
            *flagged.entry(at).or_default() += 1;
        }
    }
    flagged
        .into_iter()
        .filter(|(at, n)| holders.get(at).is_some_and(|h| h > n))
        .map(|(at, _)| at)
        .collect()
}
