//! A [`Diff`] for pull requests: Markdown (a comment), SARIF (code scanning: the findings the
//! change adds, and each required flow it newly blocks as a Z101/Z102 result at the rule that
//! now decides it) and GitHub workflow commands (annotations, errors first, after a summary).
//!
//! `locate` turns a name "as on both sides" into the new side's path, which the SARIF and
//! GitHub paths are made from (relative to the repository root, `crate::provenance`).

use std::io::Write;

use serde_json::{json, Value};

use super::{Change, Diff, FindingEntry, FlowChange};
use crate::engine::Severity;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn summary(d: &Diff) -> String {
    format!(
        "{}: {} required flow(s) newly blocked, {} newly partly blocked, {} newly allowed; {} finding(s) added, {} fixed",
        if d.breaking() || d.adds_finding_at(Severity::Error) {
            "FAIL"
        } else {
            "PASS"
        },
        d.count(Change::Blocked),
        d.count(Change::Partial),
        d.count(Change::Allowed),
        d.findings_added.iter().filter(|f| !f.waived).count(),
        d.findings_fixed.len()
    )
}

fn flow_line(f: &FlowChange) -> String {
    format!(
        "`{}` {} {}/{} {} → {} on `{}` ({})",
        f.rec.requirement,
        f.rec.direction,
        f.rec.protocol,
        f.rec.ports,
        f.rec.from_role,
        f.rec.to_role,
        f.rec.firewall,
        f.rec.policy
    )
}

/// `--format markdown`: the verdict, the flows whose status changed (worst first), the findings
/// added and fixed, the rules that caused it; kept under GitHub's comment limit.
pub fn render_markdown(d: &Diff, old: &str, new: &str, w: &mut dyn Write) -> std::io::Result<()> {
    let mut s = format!(
        "## Portolan diff: `{}` → `{}`\n\n**{}**.\n",
        cell(old),
        cell(new),
        summary(d)
    );
    let limit = crate::report::markdown::LIMIT - 400;
    let mut left = 0usize;
    let mut push = |s: &mut String, line: String| {
        if s.len() + line.len() > limit {
            left += 1;
        } else {
            s.push_str(&line);
        }
    };
    if !d.flows.is_empty() {
        s.push_str("\n### Required flows\n\n| change | flow | caused by |\n|---|---|---|\n");
        for f in &d.flows {
            let causes: Vec<String> = f
                .caused_by
                .iter()
                .map(|c| {
                    format!(
                        "{} `{}`{}",
                        c.how,
                        c.rule.label,
                        c.rule
                            .line
                            .map(|l| format!(" ({}:{l})", c.rule.firewall))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let mark = match f.change {
                Change::Blocked => "❌",
                Change::Partial => "⚠️",
                Change::Unknown => "❔",
                Change::Allowed => "✅",
                Change::Gone => "➖",
            };
            push(
                &mut s,
                format!(
                    "| {mark} {}{} | {} | {} |\n",
                    f.change.title(),
                    if f.rec.conditional {
                        " (conditional)"
                    } else {
                        ""
                    },
                    cell(&flow_line(f)),
                    cell(&causes.join(", "))
                ),
            );
        }
    }
    for (title, list) in [
        ("Findings added", &d.findings_added),
        ("Findings fixed", &d.findings_fixed),
    ] {
        if list.is_empty() {
            continue;
        }
        s.push_str(&format!("\n### {title}\n\n"));
        let mut sorted: Vec<&FindingEntry> = list.iter().collect();
        sorted.sort_by_key(|f| (f.waived, std::cmp::Reverse(f.severity)));
        for f in sorted {
            let at = match (&f.file, f.line) {
                (Some(file), Some(l)) => format!(" (`{file}:{l}`)"),
                (Some(file), None) => format!(" (`{file}`)"),
                _ => String::new(),
            };
            push(
                &mut s,
                format!(
                    "- **{}** `{}` {}: {}{at}{}\n",
                    f.code,
                    f.name,
                    f.severity.name(),
                    cell(&f.message),
                    if f.waived { " — waived" } else { "" }
                ),
            );
        }
    }
    if left > 0 {
        s.push_str(&format!(
            "\n_{left} more line(s) left out to keep this under GitHub's 65,536-character limit: `--format json` has them all._\n"
        ));
    }
    w.write_all(s.as_bytes())
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Where a result points: a file and a line.
type At = Option<(String, u32)>;

/// A breaking flow change as a finding-like result: Z101 newly blocked, Z102 newly partial.
fn flow_result(f: &FlowChange) -> Option<(&'static str, String, At)> {
    let code = match f.change {
        Change::Blocked => "Z101",
        Change::Partial => "Z102",
        _ => return None,
    };
    if !f.is_breaking() {
        return None;
    }
    let at = f
        .deciding
        .iter()
        .find_map(|d| d.line.map(|l| (d.file.to_string(), l)));
    Some((
        code,
        format!("this change {}: {}", f.change.title(), flow_line(f)),
        at,
    ))
}

/// `--format sarif`: the findings the change adds (and each flow it newly blocks) as results.
pub fn to_sarif(d: &Diff, locate: &dyn Fn(&str) -> String) -> Value {
    use crate::report::sarif::artifact;
    let rule_index = |code: &str| {
        crate::checks::ALL
            .iter()
            .position(|c| c.code == code)
            .unwrap_or(0)
    };
    let location = |file: &str, line: Option<u32>, col: Option<u32>| {
        let mut p = json!({ "artifactLocation": artifact(&locate(file)) });
        if let Some(l) = line.filter(|l| *l > 0) {
            p["region"] = json!({ "startLine": l, "startColumn": col.unwrap_or(1).max(1) });
        }
        json!([{ "physicalLocation": p }])
    };
    let mut results = Vec::new();
    for f in &d.flows {
        if let Some((code, message, at)) = flow_result(f) {
            let mut r = json!({
                "ruleId": code,
                "ruleIndex": rule_index(code),
                "level": "error",
                "message": { "text": message },
                "properties": { "requirement": f.rec.requirement, "change": f.change.name() }
            });
            match &at {
                Some((file, l)) => r["locations"] = location(file, Some(*l), None),
                None => r["locations"] = location(&f.rec.firewall, None, None),
            }
            results.push(r);
        }
    }
    for f in d.findings_added.iter().filter(|f| !f.waived) {
        let mut r = json!({
            "ruleId": f.code,
            "ruleIndex": rule_index(f.code),
            "level": level(f.severity),
            "message": { "text": f.message },
            "partialFingerprints": { "portolanFingerprint/v1": f.fingerprint }
        });
        if let Some(file) = &f.file {
            r["locations"] = location(file, f.line, f.column);
        }
        results.push(r);
    }
    let rules: Vec<Value> = crate::checks::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": { "text": c.summary },
                "help": { "text": c.doc, "markdown": c.doc },
                "defaultConfiguration": { "level": level(c.severity) }
            })
        })
        .collect();
    let mut run = json!({
        "tool": { "driver": {
            "name": "portolan",
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules
        }},
        "automationDetails": { "id": "portolan-diff/" },
        "results": results,
        "columnKind": "unicodeCodePoints"
    });
    if let Some(root) = crate::provenance::report_root() {
        run["originalUriBaseIds"] = json!({ crate::report::sarif::SRCROOT: {
            "uri": format!("file://{}/", root.to_string_lossy().trim_end_matches('/'))
        }});
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run]
    })
}

/// `--format github`: a summary notice, then one annotation per breaking flow and per finding
/// added, errors first.
pub fn render_github(
    d: &Diff,
    locate: &dyn Fn(&str) -> String,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    use crate::report::github::{escape_data, escape_property};
    writeln!(
        w,
        "::notice title={}::{}",
        escape_property("Portolan diff"),
        escape_data(&summary(d))
    )?;
    let mut lines: Vec<(Severity, &str, String)> = Vec::new();
    let props = |file: &str, line: Option<u32>, code: &str, name: &str| {
        let mut p = vec![format!(
            "file={}",
            escape_property(&crate::provenance::repo_relative(&locate(file)))
        )];
        if let Some(l) = line.filter(|l| *l > 0) {
            p.push(format!("line={l}"));
        }
        p.push(format!(
            "title={}",
            escape_property(&format!("{code} {name}"))
        ));
        p.join(",")
    };
    for f in &d.flows {
        if let Some((code, message, at)) = flow_result(f) {
            let (file, line) = match &at {
                Some((file, l)) => (file.as_str(), Some(*l)),
                None => (f.rec.firewall.as_str(), None),
            };
            lines.push((
                Severity::Error,
                code,
                format!(
                    "::error {}::{}",
                    props(file, line, code, "newly blocked"),
                    escape_data(&message)
                ),
            ));
        }
    }
    for f in d.findings_added.iter().filter(|f| !f.waived) {
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let p = match &f.file {
            Some(file) => props(file, f.line, f.code, f.name),
            None => format!(
                "title={}",
                escape_property(&format!("{} {}", f.code, f.name))
            ),
        };
        lines.push((
            f.severity,
            f.code,
            format!("::{cmd} {p}::{}", escape_data(&f.message)),
        ));
    }
    lines.sort_by_key(|(s, c, _)| (std::cmp::Reverse(*s), *c));
    for (_, _, l) in lines {
        writeln!(w, "{l}")?;
    }
    Ok(())
}
