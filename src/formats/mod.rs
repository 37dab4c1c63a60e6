//! Input formats. Each module parses one format into its own small AST (never panicking, collecting
//! [`ParseIssue`]s with spans) and lowers it into the common model.

pub mod aws;
pub mod azure;
pub mod detect;
pub mod encoding;
pub mod iptables;
pub mod json;
pub mod nftables;
pub mod source;
pub mod terraform;
pub mod windows;

/// The span-aware JSON parser under its former name, for code not yet moved to [`json`].
use std::collections::BTreeMap;

use crate::model::{AddrSet, Ruleset, Span};

/// What a format module returns for one file: every firewall it holds (an iptables dump is one;
/// a file of NSGs or security groups holds one per group) and the problems found.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub rulesets: Vec<Ruleset>,
    pub issues: Vec<ParseIssue>,
}

/// Names that rules use for sets of addresses, resolved by the inventory (`[addresses]`) or
/// `--address NAME=CIDR,...`: Azure service tags (`VirtualNetwork`, `Internet`, ...) and
/// application security groups, AWS security groups and prefix lists, ipsets. Lookups ignore ASCII
/// case (Azure treats tags that way). A name with no entry is *unresolved*: the rule using it is
/// undecidable, never guessed.
///
/// It also carries the deployment's facts (inventory `[facts]`, `--set KEY=VALUE`) that decide
/// what a rule matches: Windows rules that admit only IPsec-authenticated connections read
/// `ipsec`. Fact names are exact; values are the text given.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    names: BTreeMap<String, AddrSet>,
    facts: BTreeMap<String, String>,
}

impl Resolver {
    pub fn insert(&mut self, name: &str, set: AddrSet) {
        let e = self.names.entry(name.to_ascii_lowercase()).or_default();
        *e = e.union(&set);
    }
    pub fn get(&self, name: &str) -> Option<&AddrSet> {
        self.names.get(&name.to_ascii_lowercase())
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Record a fact (`ipsec` = `true`).
    pub fn set_fact(&mut self, name: &str, value: &str) {
        self.facts
            .insert(name.trim().to_string(), value.trim().to_string());
    }
    /// A fact as given, if it is known.
    pub fn fact(&self, name: &str) -> Option<&str> {
        self.facts.get(name).map(String::as_str)
    }
    /// A yes/no fact: `true`/`yes`/`false`/`no` in any case; anything else (or no fact) is `None`.
    pub fn fact_bool(&self, name: &str) -> Option<bool> {
        match self.fact(name)?.to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        }
    }
}

/// What kind of problem a parser found. Maps onto finding codes Z001 / Z002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Z001: the line or value cannot be parsed; the line is skipped, the rest is still read.
    ParseError,
    /// Z002: parsed, but a match the engine cannot evaluate (unknown module, ipset, limit...).
    Undecidable,
}

/// A problem found while parsing or lowering one input file, with the span of the bad token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIssue {
    pub kind: IssueKind,
    /// Span of the offending token (the label goes here).
    pub span: Span,
    /// One sentence: what is wrong ("unknown option `--dprt`").
    pub message: String,
    /// Short text for the label under the token ("not an iptables option").
    pub label: String,
    /// What to do about it, if we can say.
    pub help: Option<String>,
}

/// Lower `items` `chunk` at a time on every core, each chunk with its own lowerer (`new`, then
/// `one` per item): the rulesets in the items' order, and the lowerers in the chunks' order,
/// whose problems the caller joins (a cloud export holds thousands of groups or NSGs, each
/// lowered apart from the others).
pub(crate) fn lower_in_chunks<T: Sync, L: Send>(
    items: &[T],
    chunk: usize,
    new: impl Fn() -> L + Sync,
    one: impl Fn(&T, &mut L) -> Ruleset + Sync,
) -> (Vec<Ruleset>, Vec<L>) {
    use rayon::prelude::*;
    let parts: Vec<(Vec<Ruleset>, L)> = items
        .par_chunks(chunk.max(1))
        .map(|c| {
            let mut l = new();
            let rs = c.iter().map(|t| one(t, &mut l)).collect();
            (rs, l)
        })
        .collect();
    let mut rulesets = Vec::with_capacity(items.len());
    let mut lowerers = Vec::with_capacity(parts.len());
    for (rs, l) in parts {
        rulesets.extend(rs);
        lowerers.push(l);
    }
    (rulesets, lowerers)
}
