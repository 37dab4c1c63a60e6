//! `--format json`: the `portolan-audit/1` contract (README, `--format json`). Fields are only ever added.

use std::io::Write;

use serde::Serialize;

use crate::engine::reach::Status;
use crate::engine::{FlowRecord, Report, Severity};

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    /// When, by what and from what the report was made (`crate::provenance::RunRecord`).
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<&'a crate::provenance::RunRecord>,
    environment: Option<&'static str>,
    files: Vec<FileOut>,
    flows: &'a [FlowRecord],
    findings: Vec<FindingOut<'a>>,
    summary: Summary,
    /// Files a directory scan found that are no firewall export (not audited).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    skipped: &'a [String],
    /// `--shard K/N`: what `portolan merge` needs besides the above (`engine::shard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<crate::engine::shard::Extras>,
}

#[derive(Serialize)]
struct FileOut {
    path: String,
    format: Option<&'static str>,
    policies: Vec<String>,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    /// In a binary file (`.wfw`), which has no lines: the registry value and the character of
    /// its string (`line` and `column` are null).
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<crate::formats::source::BinaryPlace>,
    requirement: Option<&'a str>,
    labels: Vec<LabelOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a crate::engine::finding::Waived>,
}

#[derive(Serialize)]
struct LabelOut<'a> {
    line: Option<u32>,
    column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<crate::formats::source::BinaryPlace>,
    start: usize,
    end: usize,
    text: &'a str,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    flows: FlowCounts,
    findings: FindingCounts,
}

#[derive(Serialize)]
struct FlowCounts {
    allowed: usize,
    partial: usize,
    blocked: usize,
    unknown: usize,
}

#[derive(Serialize)]
struct FindingCounts {
    error: usize,
    warning: usize,
    info: usize,
    waived: usize,
    baselined: usize,
}

/// The document, borrowing from the report.
fn doc(r: &Report) -> Doc<'_> {
    Doc {
        schema: "portolan-audit/1",
        run: r.run.as_ref(),
        environment: r.environment.map(|e| e.as_str()),
        files: r
            .files
            .iter()
            .map(|f| FileOut {
                path: f.path.clone(),
                format: f.format.map(|x| x.name()),
                policies: f.policies(),
            })
            .collect(),
        skipped: &r.skipped,
        shard: crate::engine::shard::extras(r),
        flows: &r.flows,
        findings: r
            .findings
            .iter()
            .map(|f| FindingOut {
                code: f.code,
                name: f.name,
                severity: f.severity,
                message: &f.message,
                help: f.help.as_deref(),
                file: f.file.and_then(|i| r.files.get(i)).map(|x| x.path.as_str()),
                line: f.line().filter(|l| *l > 0),
                column: f.column().filter(|c| *c > 0),
                value: super::place::of(r, f).and_then(|p| p.binary().cloned()),
                requirement: f.requirement.as_deref(),
                waiver: f.waiver.as_ref(),
                labels: f
                    .labels
                    .iter()
                    .map(|l| LabelOut {
                        line: Some(l.line).filter(|l| *l > 0),
                        column: Some(l.column).filter(|c| *c > 0),
                        value: super::place::of_label(r, f, l).and_then(|p| p.binary().cloned()),
                        start: l.span.start,
                        end: l.span.end,
                        text: &l.text,
                    })
                    .collect(),
            })
            .collect(),
        summary: Summary {
            files: r.files.len(),
            flows: FlowCounts {
                allowed: r.flow_count(Status::Allowed),
                partial: r.flow_count(Status::Partial),
                blocked: r.flow_count(Status::Blocked),
                unknown: r.flow_count(Status::Unknown),
            },
            findings: FindingCounts {
                error: r.count(Severity::Error),
                warning: r.count(Severity::Warning),
                info: r.count(Severity::Info),
                waived: r.waived(),
                baselined: r.baselined,
            },
        },
    }
}

/// Written straight from the report (no `serde_json::Value` in between: for a report of
/// thousands of deciding rules that tree was a fifth of the run).
pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // serde writes a few bytes at a time: buffered here, each write is a copy, not a call
    // through `dyn Write` (a blocklist's report is 140 MB)
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buf, &doc(r))?;
    writeln!(buf)?;
    buf.flush()
}
