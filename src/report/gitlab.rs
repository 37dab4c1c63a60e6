//! `--format gitlab`: a GitLab Code Quality report (a JSON array of Code Climate issues), for the
//! `artifacts:reports:codequality` of a job. Each issue carries our stable fingerprint (made
//! unique within the report, as GitLab requires); findings waived by the inventory are left out.
//!
//! Severities: error → `major`, warning → `minor`, info → `info`; Z202 (the ZVM-internal port
//! 7073 reachable from outside) is `critical`.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{json, Value};

use crate::engine::finding::fingerprint;
use crate::engine::{Finding, Report, Severity};

/// Our severity in GitLab's scale (info, minor, major, critical, blocker).
pub fn severity(f: &Finding) -> &'static str {
    match (f.code, f.severity) {
        ("Z202", _) => "critical",
        (_, Severity::Error) => "major",
        (_, Severity::Warning) => "minor",
        (_, Severity::Info) => "info",
    }
}

pub fn to_value(r: &Report) -> Value {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = r
        .findings
        .iter()
        .filter(|f| !f.is_waived())
        .map(|f| {
            let file = f.file.and_then(|i| r.files.get(i));
            let base = fingerprint(f, file);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let fp = if *n == 1 { base } else { format!("{base}-{n}") };
            let mut description = format!("{}: {}", f.code, f.message);
            if let Some(req) = f
                .requirement
                .as_ref()
                .filter(|r| !f.message.contains(r.as_str()))
            {
                description.push_str(&format!(" [{req}]"));
            }
            // a binary file (`.wfw`) has no lines: line 1, and the description says which value
            if let Some(b) = super::place::of(r, f).and_then(|p| p.binary().cloned()) {
                description.push_str(&format!(" (at {b})"));
            }
            json!({
                "type": "issue",
                "description": description,
                "check_name": format!("{} {}", f.code, f.name),
                "categories": ["Security"],
                "fingerprint": fp,
                "severity": severity(f),
                "location": {
                    "path": file
                        .map(|x| super::github::repo_path(&x.path))
                        .unwrap_or_else(|| ".".into()),
                    "lines": { "begin": f.line().unwrap_or(1).max(1) }
                }
            })
        })
        .collect();
    Value::Array(issues)
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    writeln!(out)
}
