//! `--format github`: GitHub Actions workflow commands (`::error file=…,line=…::message`), so
//! findings show inline on a pull request without uploading SARIF. One line per finding; findings
//! waived by the inventory are left out (they are accepted, an annotation would only be noise).
//!
//! GitHub shows only ten annotations of a kind per step: a summary notice comes first (the
//! verdict, the counts, the run record), then the findings, errors first and within a severity
//! by code (flows before exposure before rule hygiene).

use std::io::Write;

use crate::engine::{Finding, Report, Severity};

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Escape a command's message the way the runner decodes it.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (`file=`, `title=`): as a message, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A path as GitHub and GitLab want it: relative to the checkout (`GITHUB_WORKSPACE`,
/// `CI_PROJECT_DIR`, else the repository root around the current directory), forward slashes.
pub fn repo_path(path: &str) -> String {
    crate::provenance::repo_relative(path)
}

/// One workflow command for a finding.
pub fn line(r: &Report, f: &Finding) -> String {
    let mut props = Vec::new();
    if let Some(file) = f.file.and_then(|i| r.files.get(i)) {
        props.push(format!("file={}", escape_property(&repo_path(&file.path))));
        // a binary file (`.wfw`) has no lines: the annotation is on the file, the message says
        // which value
        if super::place::of(r, f)
            .and_then(|p| p.binary().cloned())
            .is_none()
        {
            if let Some(l) = f.line() {
                props.push(format!("line={}", l.max(1)));
            }
            if let Some(c) = f.column() {
                props.push(format!("col={}", c.max(1)));
            }
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", f.code, f.name))
    ));
    let mut message = f.message.clone();
    if let Some(b) = super::place::of(r, f).and_then(|p| p.binary().cloned()) {
        message = format!("{message} (at {b})");
    }
    if let Some(req) = f
        .requirement
        .as_ref()
        .filter(|r| !f.message.contains(r.as_str()))
    {
        message.push_str(&format!(" [{req}]"));
    }
    if let Some(h) = &f.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    format!(
        "::{} {}::{}",
        command(f.severity),
        props.join(","),
        escape_data(&message)
    )
}

/// The summary notice: verdict, counts, and what made the report.
pub fn summary(r: &Report) -> String {
    use crate::engine::reach::Status;
    let mut s = format!(
        "{}: {} file(s), {} required flow(s): {} allowed, {} partial, {} blocked, {} unknown; {} error(s), {} warning(s), {} info, {} waived",
        if r.count(Severity::Error) > 0 { "FAIL" } else { "PASS" },
        r.files.len(),
        r.flows.len(),
        r.flow_count(Status::Allowed),
        r.flow_count(Status::Partial),
        r.flow_count(Status::Blocked),
        r.flow_count(Status::Unknown),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
        r.waived()
    );
    for (k, v) in super::record::lines(r) {
        if matches!(k, "made" | "tool" | "catalogue" | "environment" | "commit") {
            s.push_str(&format!("\n{k}: {v}"));
        }
    }
    format!(
        "::notice title={}::{}",
        escape_property("Portolan audit"),
        escape_data(&s)
    )
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", summary(r))?;
    let mut findings: Vec<&Finding> = r.findings.iter().filter(|f| !f.is_waived()).collect();
    findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.code));
    for f in findings {
        writeln!(out, "{}", line(r, f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_decodes() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn paths_are_relative_with_forward_slashes() {
        assert_eq!(repo_path("./fw/zvm.rules"), "fw/zvm.rules");
        assert_eq!(repo_path("fw/a b.rules"), "fw/a b.rules");
    }
}
