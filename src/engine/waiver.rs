//! Waivers (`[[waiver]]` in the inventory) and baselines (`--baseline`): accepting known findings
//! without hiding them.

use std::path::Path;

use super::finding::{fingerprint, normalise, Finding, Waived};
use super::Report;
use crate::checks::z004_unused_waiver;
use crate::inventory::Waiver;

fn date(d: (i32, u32, u32)) -> String {
    format!("{:04}-{:02}-{:02}", d.0, d.1, d.2)
}

fn same_file(a: &Path, b: &str) -> bool {
    let b = Path::new(b);
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn matches(w: &Waiver, f: &Finding, r: &Report) -> bool {
    w.code == f.code
        && w.requirement
            .as_ref()
            .is_none_or(|q| f.requirement.as_ref() == Some(q))
        && w.site.as_ref().is_none_or(|s| f.site.as_ref() == Some(s))
        && w.rule.as_ref().is_none_or(|rule| names_rule(rule, f, r))
        && w.file.as_ref().is_none_or(|p| {
            f.file
                .and_then(|i| r.files.get(i))
                .is_some_and(|file| same_file(p, &file.path))
        })
}

/// Does a waiver's `rule` name a rule a label of the finding is on? By the rule's identity, never
/// its position: its native name (an NSG rule's name, a Windows rule id, a security group id, a
/// network ACL entry), or for an iptables rule its own text (whitespace folded, counters left
/// out), so a rule inserted above does not move the waiver. A label on no rule of the platform
/// (a chain's default) is named by its label, which holds no position.
fn names_rule(rule: &str, f: &Finding, r: &Report) -> bool {
    let wanted = normalise(rule);
    f.labels.iter().any(|l| match &l.identity {
        Some(id) => {
            id.names.iter().any(|n| n.eq_ignore_ascii_case(&wanted))
                || (id.by_text
                    && f.file
                        .and_then(|i| r.files.get(i))
                        .and_then(|file| file.source.as_ref())
                        .and_then(|src| src.text.get(l.span.start..l.span.end))
                        .is_some_and(|t| normalise(t).eq_ignore_ascii_case(&wanted)))
        }
        None => l
            .rule
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(&wanted)),
    })
}

/// Mark the findings each waiver matches. A live waiver waives; an expired one is recorded on the
/// finding (which counts again) and said in its help; a waiver matching nothing is a Z004.
pub fn apply(r: &mut Report, waivers: &[Waiver], inventory: &Path, today: (i32, u32, u32)) {
    let mut used = vec![false; waivers.len()];
    for i in 0..r.findings.len() {
        let Some(wi) = waivers.iter().position(|w| matches(w, &r.findings[i], r)) else {
            continue;
        };
        used[wi] = true;
        let w = &waivers[wi];
        let expired = w.expires.is_some_and(|e| e < today);
        let f = &mut r.findings[i];
        f.waiver = Some(Waived {
            reason: w.reason.clone(),
            ticket: w.ticket.clone(),
            expires: w.expires.map(date),
            expired,
        });
        if expired {
            let note = format!(
                "the waiver for this ({}{}) expired on {}; it no longer applies",
                w.reason,
                w.ticket
                    .as_ref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default(),
                w.expires.map(date).unwrap_or_default()
            );
            f.help = Some(match f.help.take() {
                Some(h) => format!("{h}\n{note}"),
                None => note,
            });
        }
    }
    for (w, used) in waivers.iter().zip(used) {
        if used {
            continue;
        }
        let mut f = Finding::new(
            &z004_unused_waiver::CHECK,
            format!(
                "the waiver at {}:{} ({} {}{}) matches no finding",
                inventory.display(),
                w.line,
                w.code,
                w.requirement.as_deref().or(w.rule.as_deref()).unwrap_or(""),
                w.ticket
                    .as_ref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default()
            ),
        );
        f.help =
            Some("remove the waiver, or correct what it names, so waivers do not pile up".into());
        r.findings.push(f);
    }
}

/// The fingerprints of the findings of a report, for `--write-baseline`.
pub fn baseline_json(r: &Report) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            let file = f.file.and_then(|i| r.files.get(i));
            serde_json::json!({
                "fingerprint": fingerprint(f, file),
                "code": f.code,
                "file": file.map(|x| x.path.clone()),
                "message": f.message,
            })
        })
        .collect();
    serde_json::json!({ "schema": "portolan-baseline/1", "findings": entries })
}

/// Drop the findings whose fingerprint the baseline holds; returns how many were dropped.
pub fn apply_baseline(r: &mut Report, baseline: &serde_json::Value) -> usize {
    let known: std::collections::HashSet<&str> = baseline["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["fingerprint"].as_str()).collect())
        .unwrap_or_default();
    let before = r.findings.len();
    let files = &r.files;
    r.findings
        .retain(|f| !known.contains(fingerprint(f, f.file.and_then(|i| files.get(i))).as_str()));
    before - r.findings.len()
}
