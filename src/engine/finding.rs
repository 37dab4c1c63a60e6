//! Findings: what the audit reports, with a stable code, a severity and labelled spans.

use crate::model::Span;

pub use crate::checks::Severity;

/// A labelled span in the finding's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub line: u32,
    pub column: u32,
    pub text: String,
    /// The label of the rule (or policy) under the span, when it is one (`filter/INPUT #6`).
    pub rule: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    /// Index into the report's files; `None` for a finding about no file.
    pub file: Option<usize>,
    /// The primary location; the first label is at it.
    pub labels: Vec<Label>,
    pub requirement: Option<String>,
    /// The site of the flow, with an inventory.
    pub site: Option<String>,
    /// A waiver from the inventory that matched this finding.
    pub waiver: Option<Waived>,
}

/// How a waiver applies to a finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Waived {
    pub reason: String,
    pub ticket: Option<String>,
    pub expires: Option<String>,
    /// An expired waiver no longer waives: the finding counts again.
    pub expired: bool,
}

impl Finding {
    /// Waived by a live waiver: reported, but not counted for the exit code.
    pub fn is_waived(&self) -> bool {
        self.waiver.as_ref().is_some_and(|w| !w.expired)
    }
}

impl Finding {
    pub fn new(check: &crate::checks::Check, message: impl Into<String>) -> Self {
        Finding {
            code: check.code,
            name: check.name,
            severity: check.severity,
            message: message.into(),
            help: None,
            file: None,
            labels: Vec::new(),
            requirement: None,
            site: None,
            waiver: None,
        }
    }
    pub fn line(&self) -> Option<u32> {
        self.labels.first().map(|l| l.line)
    }
    pub fn column(&self) -> Option<u32> {
        self.labels.first().map(|l| l.column)
    }
}

/// A stable fingerprint of a finding: its code, requirement, file and the *text* of the source it
/// points at (whitespace folded), not its line number, so it survives lines moving around. Used
/// for SARIF `partialFingerprints` and baselines.
pub fn fingerprint(f: &Finding, file: Option<&crate::load::InputFile>) -> String {
    // FNV-1a, 64 bit: stable across runs and platforms (std's hasher is not)
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(f.code);
    eat(f.requirement.as_deref().unwrap_or(""));
    if let Some(file) = file {
        eat(&file.path);
        if let (Some(src), Some(l)) = (&file.source, f.labels.first()) {
            let text = src.text.get(l.span.start..l.span.end).unwrap_or("");
            eat(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    if f.labels.is_empty() {
        eat(&f.message);
    }
    format!("{h:016x}")
}
