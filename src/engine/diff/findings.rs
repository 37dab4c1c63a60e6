//! Findings of both sides matched by fingerprint (and, failing that, by the fingerprint's parts
//! with iptables counters ignored): those only on the new side were added, those only on the old
//! side were fixed.

use super::rules::normalise;
use super::Side;
use crate::engine::finding::fingerprint;
use crate::engine::Severity;

/// One finding of one side, with the file named as on both sides.
#[derive(Debug, Clone)]
pub struct FindingEntry {
    pub fingerprint: String,
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub requirement: Option<String>,
    pub waived: bool,
    /// Matches the same finding on the other side when the fingerprints differ only by counters.
    pub(super) soft: String,
}

fn findings_of(side: &Side) -> Vec<FindingEntry> {
    let r = &side.report;
    r.findings
        .iter()
        .map(|f| {
            let file = f.file.and_then(|i| r.files.get(i));
            let src = file
                .and_then(|x| x.source.as_ref())
                .zip(f.labels.first())
                .and_then(|(s, l)| s.text.get(l.span.start..l.span.end))
                .unwrap_or("");
            let soft = format!(
                "{}\u{1}{}\u{1}{}\u{1}{}",
                f.code,
                f.requirement.as_deref().unwrap_or(""),
                file.map(|x| x.path.as_str()).unwrap_or(""),
                if f.labels.is_empty() {
                    f.message.clone()
                } else {
                    normalise(src)
                }
            );
            FindingEntry {
                fingerprint: fingerprint(f, file),
                code: f.code,
                name: f.name,
                severity: f.severity,
                message: f.message.clone(),
                file: file.map(|x| x.path.clone()),
                line: f.line(),
                column: f.column(),
                requirement: f.requirement.clone(),
                waived: f.is_waived(),
                soft,
            }
        })
        .collect()
}

/// Findings of `a` with no counterpart in `b`: by fingerprint, then (for those left) by the
/// fingerprint's parts with counters ignored. Each finding of `b` answers one of `a`.
fn unmatched(a: Vec<FindingEntry>, b: &[FindingEntry]) -> Vec<FindingEntry> {
    let mut used = vec![false; b.len()];
    let mut left = Vec::new();
    for f in a {
        if let Some(i) = (0..b.len()).find(|&i| !used[i] && b[i].fingerprint == f.fingerprint) {
            used[i] = true;
        } else {
            left.push(f);
        }
    }
    let mut out = Vec::new();
    for f in left {
        if let Some(i) =
            (0..b.len()).find(|&i| !used[i] && b[i].soft == f.soft && !f.soft.ends_with('\u{1}'))
        {
            used[i] = true;
        } else {
            out.push(f);
        }
    }
    out
}

/// The findings added (only on `new`) and fixed (only on `old`), each worst first.
pub(super) fn compare_findings(old: &Side, new: &Side) -> (Vec<FindingEntry>, Vec<FindingEntry>) {
    let (ofind, nfind) = (findings_of(old), findings_of(new));
    let mut findings_added = unmatched(nfind.clone(), &ofind);
    let mut findings_fixed = unmatched(ofind, &nfind);
    let worst_first = |a: &FindingEntry, b: &FindingEntry| {
        (std::cmp::Reverse(a.severity), &a.file, a.line, a.code).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.file,
            b.line,
            b.code,
        ))
    };
    findings_added.sort_by(worst_first);
    findings_fixed.sort_by(worst_first);
    (findings_added, findings_fixed)
}
