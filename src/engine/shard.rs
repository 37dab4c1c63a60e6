//! `--shard K/N` and `portolan merge`: a run split across the jobs of a CI matrix, and put back
//! together. Each job audits its share of the inputs ([`crate::load::shard`]) and writes the JSON
//! report, which then carries a `shard` member: the job, where each of its files stands in the
//! whole run's order, and what of each flow and finding the report's other members leave out
//! (the firewall it belongs to, the peers it admits, the identity of the rules it points at).
//! [`merge`] reads the jobs' reports back into one [`Report`], in the whole run's order, which
//! every output format then renders as it renders a single run's. The inputs are read again for
//! their text (the snippets and positions the reports show), not audited again.
//!
//! A job's share is whole files, and in quick mode a file's flows and findings depend on that
//! file alone: so the merged report is the single run's. An inventory's flows cross files, and
//! `--policy` looks at every file: those runs are not sharded ([`refused`]).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

use serde::{Deserialize, Deserializer, Serialize};

use crate::engine::finding::{Finding, Label, RuleIdentity, Waived};
use crate::engine::reach::Admitted;
use crate::engine::{FlowRecord, Report, Severity};
use crate::load::shard::{Origins, Shard};
use crate::model::{AddrSet, Span};

/// What a sharded run is: the job, and where its files stand in the whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRun {
    pub job: Shard,
    pub origins: Origins,
}

/// Why a run cannot be sharded, if it cannot: its flows or findings would depend on files
/// another job reads.
pub fn refused(inventory: bool, policy: bool) -> Option<&'static str> {
    if inventory {
        Some("an inventory's flows cross the firewalls of several files, so its run cannot be split by file: run one job per inventory (an MSP: one portolan.toml per tenant) instead")
    } else if policy {
        Some("`--policy` names rulesets across every file of the run: shard without it")
    } else {
        None
    }
}

/// A `&'static str` field that a report is read back into (with [`intern`]). The alias keeps
/// serde from taking the field for one it borrows from the input, which a `&'static str` spelt
/// out would be.
pub type Word = &'static str;

/// A word the report writes from a fixed set (a flow's direction, a fix's platform), read back:
/// each distinct word is kept once for the rest of the process.
pub fn intern<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    static SEEN: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
    let s = String::deserialize(d)?;
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(x) = seen.get(s.as_str()) {
        return Ok(x);
    }
    let x: &'static str = Box::leak(s.into_boxed_str());
    seen.insert(x);
    Ok(x)
}

/// The JSON report's `shard` member.
#[derive(Debug, Serialize, Deserialize)]
pub struct Extras {
    /// K of `--shard K/N` (from 1).
    pub index: usize,
    /// N.
    pub count: usize,
    /// For each of `files`, its position among the whole run's inputs.
    pub files: Vec<usize>,
    /// For each of `skipped`, its position among the whole run's inputs.
    pub skipped: Vec<usize>,
    pub input_failed: bool,
    pub show_fixes: bool,
    /// One for each of `flows`, in order.
    pub flows: Vec<FlowExtra>,
    /// One for each of `findings`, in order.
    pub findings: Vec<FindingExtra>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FlowExtra {
    /// Index into the job's `files`.
    pub file: usize,
    /// The firewall (file × ruleset) the flow went through, numbered in the job.
    pub target: usize,
    pub exact_peers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted: Option<AdmittedOut>,
}

/// [`Admitted`], its address sets as ranges of the model's address points (decimal strings:
/// they are 128-bit).
#[derive(Debug, Serialize, Deserialize)]
pub struct AdmittedOut {
    pub peers: Vec<[String; 2]>,
    pub whole: Vec<[String; 2]>,
    pub named: bool,
    pub every: bool,
}

fn ranges_out(s: &AddrSet) -> Vec<[String; 2]> {
    s.0.ranges()
        .iter()
        .map(|(a, b)| [a.to_string(), b.to_string()])
        .collect()
}

fn ranges_in(v: &[[String; 2]]) -> Option<AddrSet> {
    let mut out = Vec::with_capacity(v.len());
    for [a, b] in v {
        out.push((a.parse().ok()?, b.parse().ok()?));
    }
    Some(AddrSet(crate::model::interval::IntervalSet::from_ranges(
        out,
    )))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FindingExtra {
    /// Index into the job's `files`.
    pub file: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// One for each of the finding's `labels`.
    pub labels: Vec<LabelExtra>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LabelExtra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<RuleIdentity>,
}

/// The `shard` member of a sharded run's JSON report (`None` for a whole run).
pub fn extras(r: &Report) -> Option<Extras> {
    let run = r.shard.as_ref()?;
    Some(Extras {
        index: run.job.index + 1,
        count: run.job.count,
        files: run.origins.files.clone(),
        skipped: run.origins.skipped.clone(),
        input_failed: r.input_failed,
        show_fixes: r.show_fixes,
        flows: r
            .flows
            .iter()
            .map(|f| FlowExtra {
                file: f.file,
                target: f.target,
                exact_peers: f.exact_peers,
                admitted: f.admitted.as_deref().map(|a| AdmittedOut {
                    peers: ranges_out(&a.peers),
                    whole: ranges_out(&a.whole),
                    named: a.named,
                    every: a.every,
                }),
            })
            .collect(),
        findings: r
            .findings
            .iter()
            .map(|f| FindingExtra {
                file: f.file,
                site: f.site.clone(),
                labels: f
                    .labels
                    .iter()
                    .map(|l| LabelExtra {
                        rule: l.rule.clone(),
                        identity: l.identity.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// A job's JSON report, as `merge` reads it: the members it needs.
#[derive(Debug, Deserialize)]
pub struct JobReport {
    schema: String,
    run: Option<crate::provenance::RunRecord>,
    environment: Option<String>,
    files: Vec<FileIn>,
    flows: Vec<FlowRecord>,
    findings: Vec<FindingIn>,
    summary: SummaryIn,
    #[serde(default)]
    skipped: Vec<String>,
    shard: Option<Extras>,
}

#[derive(Debug, Deserialize)]
struct FileIn {
    path: String,
    format: Option<String>,
}

/// The whole run's report, and the inputs that could not be read again (their findings are
/// shown without snippets).
#[derive(Debug)]
pub struct Merged {
    pub report: Report,
    pub unread: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct SummaryIn {
    findings: FindingCountsIn,
}

#[derive(Debug, Deserialize)]
struct FindingCountsIn {
    baselined: usize,
}

#[derive(Debug, Deserialize)]
struct FindingIn {
    code: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    requirement: Option<String>,
    labels: Vec<LabelIn>,
    waiver: Option<Waived>,
}

#[derive(Debug, Deserialize)]
struct LabelIn {
    line: Option<u32>,
    column: Option<u32>,
    start: usize,
    end: usize,
    text: String,
}

/// Why job reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {path}: {error}")]
    Unreadable { path: String, error: String },
    #[error("{path} is not a Portolan JSON report (portolan-audit/1): {error}")]
    NotAReport { path: String, error: String },
    #[error("{path} is the report of a whole run, not of a job of one: write the jobs' reports with `audit --shard K/N --format json`")]
    NotAShard { path: String },
    #[error("{path} is job {index} of {count}, {first} of {expected}: the reports are of different matrices")]
    Counts {
        path: String,
        index: usize,
        count: usize,
        first: String,
        expected: usize,
    },
    #[error("job {index} of {count} is given twice ({a} and {b})")]
    Twice {
        index: usize,
        count: usize,
        a: String,
        b: String,
    },
    #[error("the report of job(s) {missing} of {count} is missing: every job's report is needed")]
    Missing { missing: String, count: usize },
    #[error(
        "{path} audits for {found}, {first} for {expected}: the jobs ran with different options"
    )]
    Environments {
        path: String,
        found: String,
        first: String,
        expected: String,
    },
    #[error("{path} does not fit the others: {why}")]
    Inconsistent { path: String, why: String },
}

/// Read one job's report.
pub fn read(path: &Path) -> Result<JobReport, MergeError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| MergeError::Unreadable {
        path: name.clone(),
        error: e.to_string(),
    })?;
    let doc: JobReport = serde_json::from_str(&text).map_err(|e| MergeError::NotAReport {
        path: name.clone(),
        error: e.to_string(),
    })?;
    if doc.schema != "portolan-audit/1" {
        return Err(MergeError::NotAReport {
            path: name,
            error: format!("its schema is `{}`", doc.schema),
        });
    }
    if doc.shard.is_none() {
        return Err(MergeError::NotAShard { path: name });
    }
    Ok(doc)
}

/// Put the jobs' reports (each with the path it was read from) back into the whole run's report.
/// Every job of the matrix must be there, once; the inputs are read again (where the reports say
/// they are) for their text.
pub fn merge(mut jobs: Vec<(String, JobReport)>) -> Result<Merged, MergeError> {
    check_matrix(&jobs)?;
    jobs.sort_by_key(|(_, d)| d.shard.as_ref().map(|s| s.index));
    // every file and skipped file, by its place in the whole run
    let mut files: Vec<(usize, usize, usize)> = Vec::new(); // (origin, job, index in the job)
    let mut skipped: Vec<(usize, String)> = Vec::new();
    for (j, (path, d)) in jobs.iter().enumerate() {
        let Some(x) = d.shard.as_ref() else {
            return Err(MergeError::NotAShard { path: path.clone() });
        };
        let bad = |why: String| MergeError::Inconsistent {
            path: path.clone(),
            why,
        };
        if x.files.len() != d.files.len() || x.skipped.len() != d.skipped.len() {
            return Err(bad("its `shard` member does not list its files".into()));
        }
        if x.flows.len() != d.flows.len() || x.findings.len() != d.findings.len() {
            return Err(bad(
                "its `shard` member does not list its flows and findings".into(),
            ));
        }
        files.extend(x.files.iter().enumerate().map(|(i, &o)| (o, j, i)));
        skipped.extend(x.skipped.iter().copied().zip(d.skipped.iter().cloned()));
    }
    files.sort_unstable();
    skipped.sort_unstable();
    let origins: Vec<usize> = files
        .iter()
        .map(|f| f.0)
        .chain(skipped.iter().map(|s| s.0))
        .collect();
    if origins.iter().collect::<HashSet<_>>().len() != origins.len() {
        return Err(MergeError::Inconsistent {
            path: jobs[0].0.clone(),
            why: "two jobs audited the same input: were they run on the same paths?".into(),
        });
    }
    // job j's file i is the merged report's file `global[j][i]`
    let mut global: Vec<Vec<usize>> = jobs.iter().map(|(_, d)| vec![0; d.files.len()]).collect();
    for (g, &(_, j, i)) in files.iter().enumerate() {
        global[j][i] = g;
    }
    let inputs = reread(&files, &jobs);
    let unread: Vec<String> = files
        .iter()
        .zip(&inputs)
        .filter(|((_, j, i), f)| f.source.is_none() && jobs[*j].1.files[*i].format.is_some())
        .map(|(_, f)| f.path.clone())
        .collect();

    let mut report = Report {
        environment: jobs[0]
            .1
            .environment
            .as_deref()
            .and_then(|e| e.parse().ok()),
        skipped: skipped.into_iter().map(|s| s.1).collect(),
        ..Report::default()
    };
    report.run = run_record(&files, &jobs);
    let mut targets: Vec<(usize, usize)> = Vec::new();
    for (j, (path, d)) in jobs.into_iter().enumerate() {
        let Some(x) = d.shard else {
            return Err(MergeError::NotAShard { path });
        };
        report.input_failed |= x.input_failed;
        report.show_fixes |= x.show_fixes;
        report.baselined += d.summary.findings.baselined;
        let at = |i: usize| {
            global[j].get(i).copied().ok_or(MergeError::Inconsistent {
                path: path.clone(),
                why: format!("it points at file {i}, which it does not list"),
            })
        };
        for (mut fl, e) in d.flows.into_iter().zip(x.flows) {
            fl.file = at(e.file)?;
            fl.target = e.target;
            targets.push((fl.file, fl.target));
            fl.exact_peers = e.exact_peers;
            fl.admitted = e.admitted.and_then(|a| {
                Some(Box::new(Admitted {
                    peers: ranges_in(&a.peers)?,
                    whole: ranges_in(&a.whole)?,
                    named: a.named,
                    every: a.every,
                }))
            });
            report.flows.push(fl);
        }
        for (f, e) in d.findings.into_iter().zip(x.findings) {
            let Some(check) = crate::checks::find(&f.code) else {
                return Err(MergeError::Inconsistent {
                    path,
                    why: format!("it holds a finding of code {}, which this portolan does not know: merge with the version that wrote it", f.code),
                });
            };
            let file = match e.file {
                Some(i) => Some(at(i)?),
                None => None,
            };
            report.findings.push(Finding {
                code: check.code,
                name: check.name,
                severity: f.severity,
                message: f.message,
                help: f.help,
                file,
                labels: f
                    .labels
                    .into_iter()
                    .zip(e.labels)
                    .map(|(l, e)| Label {
                        span: Span::new(l.start, l.end),
                        line: l.line.unwrap_or(0),
                        column: l.column.unwrap_or(0),
                        text: l.text,
                        rule: e.rule,
                        identity: e.identity,
                    })
                    .collect(),
                requirement: f.requirement,
                site: e.site,
                waiver: f.waiver,
            });
        }
    }
    // the firewalls numbered as the whole run numbers them: by file, then as the job did
    targets.sort_unstable();
    targets.dedup();
    for fl in &mut report.flows {
        fl.target = targets.binary_search(&(fl.file, fl.target)).unwrap_or(0);
    }
    // the whole run's order: its flows by firewall, its findings sorted as `engine::audit` does
    // (each file's flows and findings come from one job, already in that order)
    report.flows.sort_by_key(|f| f.file);
    report.findings.sort_by(|a, b| {
        (a.file, a.line(), a.code, &a.requirement).cmp(&(b.file, b.line(), b.code, &b.requirement))
    });
    report.files = inputs;
    Ok(Merged { report, unread })
}

/// The whole run's record: the first job's, from the earliest start to the latest end, with
/// every job's inputs in the whole run's order, and the work tree where `merge` runs (the jobs'
/// checkout: the record does not carry its root).
fn run_record(
    files: &[(usize, usize, usize)],
    jobs: &[(String, JobReport)],
) -> Option<crate::provenance::RunRecord> {
    let runs: Vec<&crate::provenance::RunRecord> =
        jobs.iter().filter_map(|(_, d)| d.run.as_ref()).collect();
    let mut run = (*runs.first()?).clone();
    run.started = runs
        .iter()
        .map(|r| r.started.clone())
        .min()
        .unwrap_or_default();
    run.ended = runs
        .iter()
        .map(|r| r.ended.clone())
        .max()
        .unwrap_or_default();
    run.inputs = files
        .iter()
        .filter_map(|&(_, j, i)| jobs[j].1.run.as_ref()?.inputs.get(i).cloned())
        .collect();
    if run.vcs.is_some() {
        run.vcs = std::env::current_dir()
            .ok()
            .and_then(|d| crate::provenance::vcs(&d));
    }
    Some(run)
}

/// Every job is of the same matrix and the same options, and every job is there once.
fn check_matrix(jobs: &[(String, JobReport)]) -> Result<(), MergeError> {
    let Some((first, d0)) = jobs.first() else {
        return Err(MergeError::Missing {
            missing: "all".into(),
            count: 0,
        });
    };
    // `read` refuses a report without its `shard` member; a caller's own reports are held to
    // the same here, not trusted
    let Some(x0) = d0.shard.as_ref() else {
        return Err(MergeError::NotAShard {
            path: first.clone(),
        });
    };
    let mut seen: Vec<Option<&str>> = vec![None; x0.count];
    for (path, d) in jobs {
        let Some(x) = d.shard.as_ref() else {
            return Err(MergeError::NotAShard { path: path.clone() });
        };
        if x.count != x0.count || x.index == 0 || x.index > x.count {
            return Err(MergeError::Counts {
                path: path.clone(),
                index: x.index,
                count: x.count,
                first: first.clone(),
                expected: x0.count,
            });
        }
        if d.environment != d0.environment {
            return Err(MergeError::Environments {
                path: path.clone(),
                found: d.environment.clone().unwrap_or("no environment".into()),
                first: first.clone(),
                expected: d0.environment.clone().unwrap_or("no environment".into()),
            });
        }
        if let Some(a) = seen[x.index - 1].replace(path) {
            return Err(MergeError::Twice {
                index: x.index,
                count: x.count,
                a: a.to_string(),
                b: path.clone(),
            });
        }
    }
    let missing: Vec<String> = (1..=x0.count)
        .filter(|k| seen[k - 1].is_none())
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count: x0.count,
        });
    }
    Ok(())
}

/// The inputs, read again (in parallel) for their text and rulesets, in the merged order. One
/// that cannot be read now keeps its path and format from the report, without text: its
/// findings are shown without a snippet, and `merge` says so.
fn reread(
    files: &[(usize, usize, usize)],
    jobs: &[(String, JobReport)],
) -> Vec<crate::load::InputFile> {
    use rayon::prelude::*;
    let names = crate::formats::Resolver::default();
    files
        .par_iter()
        .map(|&(_, j, i)| {
            let path = &jobs[j].1.files[i].path;
            let mut f = crate::load::reread(Path::new(path), &names).unwrap_or_else(|| {
                crate::load::InputFile {
                    path: path.clone(),
                    format: None,
                    source: None,
                    rulesets: Vec::new(),
                    findings: Vec::new(),
                    failed: true,
                    attachments: Vec::new(),
                }
            });
            f.path = path.clone();
            f.findings.clear();
            f
        })
        .collect()
}
