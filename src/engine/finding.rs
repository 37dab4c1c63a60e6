//! Findings: what the audit reports, with a stable code, a severity and labelled spans.

use crate::model::{ChainId, NativeRef, Policy, Rule, Span};

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
    /// What the rule under the span is, whatever its position (waivers and fingerprints).
    pub identity: Option<RuleIdentity>,
}

/// A rule's identity on its platform, from its [`NativeRef`]: never its position, never a count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleIdentity {
    /// For fingerprints: the policy, the chain and the native reference's stable key (for an
    /// iptables rule a hash of its text without counters).
    pub key: String,
    /// Names a waiver's `rule` may use for it (`nsg-zvm/AllowZerto`, a Windows rule id, a
    /// security group id, `acl-1/ingress 100`); compared ignoring ASCII case.
    pub names: Vec<String>,
    /// The rule is also named by its own text as written (an iptables rule: `-A INPUT -p tcp
    /// --dport 9669 -j ACCEPT`, whitespace folded, counters left out).
    pub by_text: bool,
}

/// The identity of rule `r` of policy `p`; `None` for a rule the lowering made up.
pub fn identity(p: &Policy, r: &Rule) -> Option<RuleIdentity> {
    let chain = match &r.native {
        NativeRef::Chain { chain, .. } => p.chains.get(*chain).map(|c| c.name.as_str()),
        _ => None,
    };
    let names = match &r.native {
        NativeRef::None => return None,
        NativeRef::Chain { .. } => Vec::new(),
        NativeRef::Nft {
            family,
            table,
            chain,
            handle: Some(h),
            ..
        } => vec![{
            // made at its length (`format!` starts from nothing when the text opens with a value)
            use std::fmt::Write;
            let mut n = String::with_capacity(family.len() + table.len() + chain.len() + 32);
            let _ = write!(n, "{family} {table} {chain} handle {h}");
            n
        }],
        NativeRef::Nft { .. } => Vec::new(),
        NativeRef::Nsg { name, .. } => vec![format!("{}/{name}", p.name), name.clone()],
        NativeRef::SecurityGroup { group_id, .. } => vec![group_id.clone()],
        NativeRef::NetworkAcl {
            acl_id,
            number,
            egress,
        } => vec![format!(
            "{acl_id}/{} {number}",
            if *egress { "egress" } else { "ingress" }
        )],
        NativeRef::Windows { id, .. } => vec![id.clone()],
    };
    let mut key = String::with_capacity(p.name.len() + 96);
    key.push_str(&p.name);
    key.push(' ');
    r.native.write_stable_key(chain, &mut key);
    Some(RuleIdentity {
        key,
        names,
        by_text: matches!(r.native, NativeRef::Chain { .. } | NativeRef::Nft { .. }),
    })
}

/// The identity of a chain's default (its policy): the chain's name, which is stable.
pub fn chain_identity(p: &Policy, chain: ChainId) -> Option<RuleIdentity> {
    let c = p.chains.get(chain)?;
    Some(RuleIdentity {
        key: [p.name.as_str(), " chain-default ", c.name.as_str()].concat(),
        names: vec![c.decl.label.to_string()],
        by_text: false,
    })
}

/// Text as a fingerprint or a waiver compares it: whitespace folded, `[packets:bytes]` counters
/// left out (a fresh export changes them).
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !crate::formats::iptables::is_counter(w))
        .collect::<Vec<_>>()
        .join(" ")
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// A stable fingerprint of a finding: its code, requirement, file and what it points at — the
/// native identity of the rule under its first label (policy, chain, rule name or content hash),
/// else the text there with whitespace folded and counters left out — never a line number, a
/// position or a counter, so it survives rules inserted above and a fresh export. Used for SARIF
/// `partialFingerprints` and baselines.
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
        // the firewall's identity: its path from the repository root, whatever directory the
        // run starts in
        eat(&crate::provenance::repo_relative(&file.path));
        match f.labels.first() {
            Some(Label {
                identity: Some(id), ..
            }) => eat(&id.key),
            Some(l) => {
                if let Some(src) = &file.source {
                    eat(&normalise(
                        src.text.get(l.span.start..l.span.end).unwrap_or(""),
                    ));
                }
            }
            None => {}
        }
    }
    if f.labels.is_empty() {
        eat(&f.message);
    }
    format!("{h:016x}")
}
