//! `--format junit`: JUnit XML for CI test tabs (Jenkins, GitLab, Azure DevOps). One testsuite per
//! firewall file; one testcase per required flow (failure when blocked or partly allowed, skipped
//! when undecidable, passed when allowed) and one per other finding of the file (failure for
//! errors and warnings, passed with the message as output for info).

use std::fmt::Write as _;
use std::io::Write;

use crate::engine::reach::Status;
use crate::engine::{Report, Severity};

/// Escape text for XML attribute values and character data.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // characters XML 1.0 cannot hold at all
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

struct Case {
    class: String,
    name: String,
    outcome: Outcome,
    output: Option<String>,
}

enum Outcome {
    Passed,
    Failure {
        kind: String,
        message: String,
        detail: String,
    },
    Skipped(String),
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut suites = String::new();
    let (mut total, mut failures, mut skipped) = (0, 0, 0);
    // the run record, in every suite (JUnit has properties per suite only)
    let rec = super::record::lines(r);
    let mut properties = String::new();
    if !rec.is_empty() {
        properties.push_str("    <properties>\n");
        for (k, v) in &rec {
            let _ = writeln!(
                properties,
                "      <property name=\"portolan.{k}\" value=\"{}\"/>",
                esc(v)
            );
        }
        properties.push_str("    </properties>\n");
    }
    for (fi, file) in r.files.iter().enumerate() {
        let mut cases = Vec::new();
        for fl in r.flows.iter().filter(|f| f.file == fi) {
            let name = format!(
                "{} {} {}/{} {} -> {}",
                fl.requirement, fl.direction, fl.protocol, fl.ports, fl.from_role, fl.to_role
            );
            let class = match &fl.site {
                Some(s) => format!("{}.{}.{}", file.path, fl.policy, s),
                None => format!("{}.{}", file.path, fl.policy),
            };
            let finding = r.findings.iter().find(|f| {
                f.file == Some(fi)
                    && f.requirement.as_deref() == Some(fl.requirement.as_str())
                    && matches!(f.code, "Z101" | "Z102" | "Z103")
            });
            let deciding: Vec<String> = fl
                .deciding
                .iter()
                .map(|d| match d.line {
                    Some(l) => format!("{}:{} {} ({})", d.file, l, d.rule, d.action),
                    None => format!("{} {} ({})", d.file, d.rule, d.action),
                })
                .collect();
            let waived = finding
                .and_then(|f| f.waiver.as_ref())
                .filter(|w| !w.expired);
            let outcome = match fl.status {
                Status::Allowed => Outcome::Passed,
                _ if waived.is_some() => {
                    Outcome::Skipped(waived.map(super::record::waiver).unwrap_or_default())
                }
                Status::Blocked | Status::Partial => Outcome::Failure {
                    kind: finding.map(|f| f.code).unwrap_or("Z101").to_string(),
                    message: finding
                        .map(|f| f.message.clone())
                        .unwrap_or_else(|| format!("{} is {}", fl.requirement, fl.status.name())),
                    detail: format!(
                        "status: {}\nallowed sources: {}\ndeciding: {}\n{}",
                        fl.status.name(),
                        if fl.allowed_sources.is_empty() {
                            "none".into()
                        } else {
                            fl.allowed_sources.join(", ")
                        },
                        deciding.join("; "),
                        finding.and_then(|f| f.help.clone()).unwrap_or_default()
                    ),
                },
                Status::Unknown => Outcome::Skipped(format!(
                    "cannot be decided: {}",
                    fl.unknown_reasons.join("; ")
                )),
            };
            cases.push(Case {
                class,
                name,
                outcome,
                output: fl
                    .condition
                    .as_ref()
                    .map(|c| format!("conditional: needed only if {c}")),
            });
        }
        for f in r
            .findings
            .iter()
            .filter(|f| f.file == Some(fi) && !matches!(f.code, "Z101" | "Z102" | "Z103"))
        {
            let loc = super::place::describe(&file.path, super::place::of(r, f).as_ref(), false);
            let outcome = match f.severity {
                _ if f.is_waived() => Outcome::Skipped(
                    f.waiver
                        .as_ref()
                        .map(super::record::waiver)
                        .unwrap_or_default(),
                ),
                Severity::Error | Severity::Warning => Outcome::Failure {
                    kind: f.code.to_string(),
                    message: f.message.clone(),
                    detail: format!("{loc}\n{}", f.help.clone().unwrap_or_default()),
                },
                Severity::Info => Outcome::Passed,
            };
            cases.push(Case {
                class: format!("{}.findings", file.path),
                name: format!("{} {} at {loc}: {}", f.code, f.name, f.message),
                output: matches!(f.severity, Severity::Info).then(|| f.message.clone()),
                outcome,
            });
        }
        let n = cases.len();
        let nf = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failure { .. }))
            .count();
        let ns = cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .count();
        total += n;
        failures += nf;
        skipped += ns;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{nf}\" errors=\"0\" skipped=\"{ns}\">",
            esc(&file.path)
        );
        suites.push_str(&properties);
        for c in cases {
            let _ = write!(
                suites,
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&c.class),
                esc(&c.name)
            );
            let body = match &c.outcome {
                Outcome::Passed => String::new(),
                Outcome::Failure {
                    kind,
                    message,
                    detail,
                } => format!(
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                    esc(kind),
                    esc(message),
                    esc(detail)
                ),
                Outcome::Skipped(m) => format!("      <skipped message=\"{}\"/>\n", esc(m)),
            };
            let output = c
                .output
                .map(|o| format!("      <system-out>{}</system-out>\n", esc(&o)))
                .unwrap_or_default();
            if body.is_empty() && output.is_empty() {
                suites.push_str("/>\n");
            } else {
                let _ = write!(suites, ">\n{body}{output}    </testcase>\n");
            }
        }
        suites.push_str("  </testsuite>\n");
    }
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"portolan\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
    )?;
    out.write_all(suites.as_bytes())?;
    writeln!(out, "</testsuites>")
}
