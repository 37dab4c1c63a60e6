//! Shared by the formats: the run record as labelled lines (`crate::provenance::RunRecord`),
//! and how a waived finding or flow is said (reason, ticket, expiry).

use crate::engine::finding::Waived;
use crate::engine::{Finding, FlowRecord, Report};

/// The run record as (label, value) lines, in the order the reports print them; empty when the
/// report has no record (a report built by the library, not the command line).
pub fn lines(r: &Report) -> Vec<(&'static str, String)> {
    let Some(rec) = &r.run else {
        return Vec::new();
    };
    let mut v = vec![
        (
            "made",
            if rec.started == rec.ended {
                rec.started.clone()
            } else {
                format!("{} – {}", rec.started, rec.ended)
            },
        ),
        ("tool", format!("{} {}", rec.tool, rec.version)),
        (
            "catalogue",
            format!("{} (sha256 {})", rec.catalog.version, rec.catalog.sha256),
        ),
    ];
    let mut env = rec.environment.clone().unwrap_or_else(|| "-".into());
    if let Some(role) = &rec.role {
        env.push_str(&format!(", role {role}"));
    }
    v.push(("environment", env));
    if !rec.facts.is_empty() {
        v.push(("facts", rec.facts.join(", ")));
    }
    if let Some(i) = &rec.inventory {
        v.push(("inventory", hashed(i)));
    }
    for i in &rec.inputs {
        v.push(("input", hashed(i)));
    }
    if let Some(g) = &rec.vcs {
        let mut s = g.revision.clone();
        if let Some(b) = &g.branch {
            s.push_str(&format!(" on {b}"));
        }
        if let Some(u) = &g.repository_uri {
            s.push_str(&format!(" of {u}"));
        }
        v.push(("commit", s));
    }
    v
}

fn hashed(h: &crate::provenance::Hashed) -> String {
    format!(
        "{} (sha256 {})",
        crate::provenance::repo_relative(&h.path),
        h.sha256.as_deref().unwrap_or("unreadable")
    )
}

/// `waived: <reason> (<ticket>), until <date>`; `waiver expired` when it no longer waives.
pub fn waiver(w: &Waived) -> String {
    format!(
        "{}: {}{}{}",
        if w.expired {
            "waiver expired"
        } else {
            "waived"
        },
        w.reason,
        w.ticket
            .as_ref()
            .map(|t| format!(" (ticket {t})"))
            .unwrap_or_default(),
        w.expires
            .as_ref()
            .map(|d| format!(", until {d}"))
            .unwrap_or_default()
    )
}

/// The flow finding (Z101/Z102/Z103) of a flow record, if the audit made one.
pub fn flow_finding<'a>(r: &'a Report, fl: &FlowRecord) -> Option<&'a Finding> {
    r.findings.iter().find(|f| {
        f.file == Some(fl.file)
            && f.requirement.as_deref() == Some(fl.requirement.as_str())
            && f.site == fl.site
            && matches!(f.code, "Z101" | "Z102" | "Z103")
    })
}

/// The live waiver of a flow's finding: the flow is not allowed, but accepted.
pub fn flow_waiver<'a>(r: &'a Report, fl: &FlowRecord) -> Option<&'a Waived> {
    flow_finding(r, fl)
        .and_then(|f| f.waiver.as_ref())
        .filter(|w| !w.expired)
}
