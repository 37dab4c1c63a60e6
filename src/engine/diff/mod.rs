//! The diff engine behind `portolan diff`: two audited sides compared — required flows whose
//! status changed (with the rule changes that caused a new block), flows whose admitted sources
//! widened or narrowed (compared as address sets), findings added and fixed (matched by
//! fingerprint), and the rules added, removed and moved — and rendered as text or as the
//! `portolan-diff/1` JSON.
//!
//! Both sides are audited with the same options by the caller; [`Side::new`] renames each side's
//! files to their path relative to the side's root, so the same firewall has the same name on
//! both sides. [`git`] copies the files of a revision out of a repository for the old side.

mod admitted;
pub mod ci;
mod findings;
mod flows;
pub mod git;
mod render;
mod rules;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::engine::{Report, Severity};
use crate::inventory::Inventory;

pub use admitted::{is_any, Admitted, Direction};
pub use findings::FindingEntry;
pub use flows::{AdmittedChange, Cause, Change, FlowChange};
pub use render::{render_human, to_json, DiffJson};
pub use rules::{Moved, RuleEntry};

/// One side of the diff after auditing: the report (its files renamed), and the name of each
/// file relative to the side's root (the same name on both sides for the same firewall).
pub struct Side {
    pub report: Report,
    /// Loaded path → relative name.
    names: HashMap<String, String>,
}

impl Side {
    /// A side from its audit: each file renamed with `naming` (fingerprints include the path, so
    /// the same finding gets the same fingerprint on both sides).
    pub fn new(mut report: Report, naming: &Naming) -> Side {
        let mut names = HashMap::new();
        for f in &mut report.files {
            let rel = naming.name(&f.path);
            names.insert(f.path.clone(), rel.clone());
            f.path = rel;
        }
        Side { report, names }
    }

    /// The name on both sides of a path as loaded (flows and deciding rules keep those).
    pub fn name(&self, path: &str) -> String {
        self.names
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.to_string())
    }
}

/// How to name a side's files: strip a root, or (two single files) one fixed name.
#[derive(Debug, Clone)]
pub enum Naming {
    Under(PathBuf),
    Fixed(String),
}

impl Naming {
    pub fn name(&self, path: &str) -> String {
        match self {
            Naming::Fixed(n) => n.clone(),
            Naming::Under(root) => match Path::new(path).strip_prefix(root) {
                Ok(rest) if !rest.as_os_str().is_empty() => slash(rest),
                _ => path.to_string(),
            },
        }
    }
}

/// A path with `/` separators, for names that are the same on every platform.
pub(crate) fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// An inventory whose firewall paths at or under `from` are moved to the same place under `to`,
/// so that the entries written for one side also describe the other.
pub fn rebase(inv: &Inventory, moves: &[(PathBuf, PathBuf)]) -> Inventory {
    let mut out = inv.clone();
    for fw in &mut out.firewalls {
        let have = std::fs::canonicalize(&fw.path).unwrap_or_else(|_| fw.path.clone());
        for (from, to) in moves {
            let from = std::fs::canonicalize(from).unwrap_or_else(|_| from.clone());
            if let Ok(rest) = have.strip_prefix(&from) {
                fw.path = if rest.as_os_str().is_empty() {
                    to.clone()
                } else {
                    to.join(rest)
                };
                break;
            }
        }
    }
    out
}

/// What a change does: everything that differs between the two audits.
#[derive(Debug, Clone)]
pub struct Diff {
    /// Flows whose status changed, worst first.
    pub flows: Vec<FlowChange>,
    /// Flows whose status is the same but whose admitted sources differ, widened first. They do
    /// not make the change breaking: a wider exposure fails the check through the findings it
    /// adds (Z201, Z202).
    pub admitted: Vec<AdmittedChange>,
    pub findings_added: Vec<FindingEntry>,
    pub findings_fixed: Vec<FindingEntry>,
    pub rules_added: Vec<RuleEntry>,
    pub rules_removed: Vec<RuleEntry>,
    pub rules_moved: Vec<Moved>,
}

impl Diff {
    /// A required (unconditional) flow newly blocked or partly blocked.
    pub fn breaking(&self) -> bool {
        self.flows.iter().any(FlowChange::is_breaking)
    }

    /// A finding of at least this severity, not waived, was added.
    pub fn adds_finding_at(&self, threshold: Severity) -> bool {
        self.findings_added
            .iter()
            .any(|f| f.severity >= threshold && !f.waived)
    }

    /// How many flows changed this way.
    pub fn count(&self, c: Change) -> usize {
        self.flows.iter().filter(|f| f.change == c).count()
    }

    /// How many flows of the same status admit sources that changed this way.
    pub fn count_admitted(&self, d: Direction) -> usize {
        self.admitted.iter().filter(|f| f.direction() == d).count()
    }
}

/// Compare two audited sides.
pub fn compare(old: &Side, new: &Side) -> Diff {
    let rules = rules::compare_rules(old, new);
    let (flows, admitted) = flows::compare_flows(old, new, &rules);
    let (findings_added, findings_fixed) = findings::compare_findings(old, new);
    let rules::RuleChanges {
        added: rules_added,
        removed: rules_removed,
        moved: rules_moved,
        ..
    } = rules;
    Diff {
        flows,
        admitted,
        findings_added,
        findings_fixed,
        rules_added,
        rules_removed,
        rules_moved,
    }
}
