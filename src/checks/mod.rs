//! One file per finding kind. Each holds its [`Check`] (code, name, severity) and, next to it, a
//! Markdown doc with `## What it finds`, `## Why it matters`, `## Example` and `## Fix`: the text
//! `portolan explain CODE` prints and SARIF rules carry.

use serde::{Deserialize, Serialize};

/// How much a finding weighs; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

pub mod z001_parse_error;
pub mod z002_undecidable_match;
pub mod z003_unrecognised_input;
pub mod z004_unused_waiver;
pub mod z101_required_flow_blocked;
pub mod z102_required_flow_partial;
pub mod z103_required_flow_unknown;
pub mod z201_management_port_exposed;
pub mod z202_internal_port_exposed;
pub mod z203_unneeded_port_open;
pub mod z204_nat_on_required_flow;
pub mod z301_shadowed_rule;
pub mod z302_redundant_rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Markdown: what, why, example, fix.
    pub doc: &'static str,
}

/// Every check, in code order. Codes are stable: add new ones, never renumber.
pub const ALL: &[&Check] = &[
    &z001_parse_error::CHECK,
    &z002_undecidable_match::CHECK,
    &z003_unrecognised_input::CHECK,
    &z004_unused_waiver::CHECK,
    &z101_required_flow_blocked::CHECK,
    &z102_required_flow_partial::CHECK,
    &z103_required_flow_unknown::CHECK,
    &z201_management_port_exposed::CHECK,
    &z202_internal_port_exposed::CHECK,
    &z203_unneeded_port_open::CHECK,
    &z204_nat_on_required_flow::CHECK,
    &z301_shadowed_rule::CHECK,
    &z302_redundant_rule::CHECK,
];

/// A check by code (`Z101`) or name (`required-flow-blocked`).
pub fn find(code_or_name: &str) -> Option<&'static Check> {
    ALL.iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(code_or_name) || c.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_every_check_is_documented() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for c in ALL {
            assert!(codes.insert(c.code), "duplicate code {}", c.code);
            assert!(names.insert(c.name), "duplicate name {}", c.name);
            assert!(c.code.len() == 4 && c.code.starts_with('Z'), "{}", c.code);
            for section in [
                "## What it finds",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(c.doc.contains(section), "{} lacks {section}", c.code);
            }
            assert!(!c.summary.is_empty());
        }
        let mut sorted: Vec<_> = ALL.iter().map(|c| c.code).collect();
        sorted.sort();
        assert_eq!(sorted, ALL.iter().map(|c| c.code).collect::<Vec<_>>());
        assert_eq!(find("z101").map(|c| c.name), Some("required-flow-blocked"));
        assert_eq!(find("internal-port-exposed").map(|c| c.code), Some("Z202"));
    }
}
