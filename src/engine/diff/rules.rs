//! The rules of both sides compared chain by chain: added, removed and moved, by their source
//! text (whitespace folded, iptables `[packets:bytes]` counters dropped).

use std::collections::{BTreeMap, BTreeSet};

use super::Side;

/// One rule (or a default the export does not spell out) of one chain of one side.
#[derive(Debug, Clone)]
pub struct RuleEntry {
    /// The firewall file, named as on both sides ([`Side::name`]).
    pub firewall: String,
    pub ruleset: Option<String>,
    pub policy: String,
    pub chain: String,
    /// 1-based position in its chain.
    pub position: usize,
    /// The display label (`filter/INPUT #8`).
    pub label: String,
    pub line: Option<u32>,
    pub action: &'static str,
    /// The normalised source text (what rules are compared by).
    pub text: String,
}

/// A rule on both sides whose order against the others of its chain changed.
#[derive(Debug, Clone)]
pub struct Moved {
    pub old: RuleEntry,
    pub new: RuleEntry,
}

/// The rules added, removed and moved, and every rule of the new side present on both (with its
/// old position in its chain).
pub(super) struct RuleChanges {
    pub added: Vec<RuleEntry>,
    pub removed: Vec<RuleEntry>,
    pub moved: Vec<Moved>,
    pub kept: Vec<(RuleEntry, usize)>,
}

/// A rule's source text for comparing: whitespace folded, iptables `[packets:bytes]` counters
/// dropped (the same normalisation waivers and fingerprints use).
pub(super) use crate::engine::finding::normalise;

fn rules_of(side: &Side) -> Vec<RuleEntry> {
    let mut out = Vec::new();
    for f in &side.report.files {
        let text = f.source.as_ref().map(|s| s.text.as_str()).unwrap_or("");
        for rs in &f.rulesets {
            for p in &rs.policies {
                for c in &p.chains {
                    for (pos, &ri) in c.rules.iter().enumerate() {
                        let Some(r) = p.rules.get(ri) else { continue };
                        let src = text.get(r.prov.span.start..r.prov.span.end).unwrap_or("");
                        let mut norm = normalise(src);
                        if norm.is_empty() {
                            // a default the export does not spell out
                            norm = format!("<{}>", r.prov.label);
                        }
                        out.push(RuleEntry {
                            firewall: f.path.clone(),
                            ruleset: rs.name.clone(),
                            policy: p.name.clone(),
                            chain: c.name.clone(),
                            position: pos + 1,
                            label: r.prov.label.to_string(),
                            line: (r.prov.line > 0).then_some(r.prov.line),
                            action: r.action.name(),
                            text: norm,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Indices of a longest common subsequence of `a` and `b` (pairs), after trimming the common
/// prefix and suffix; a middle too large for the table matches nothing (its rules then pair up
/// as moved by text).
fn lcs(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let mut out: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (n, m) = (ma.len(), mb.len());
    if n > 0 && m > 0 && n.saturating_mul(m) <= 4_000_000 {
        // table[i][j] = LCS length of ma[i..] and mb[j..]
        let w = m + 1;
        let mut t = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * w + j] = if ma[i] == mb[j] {
                    t[(i + 1) * w + j + 1] + 1
                } else {
                    t[(i + 1) * w + j].max(t[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if ma[i] == mb[j] {
                out.push((pre + i, pre + j));
                i += 1;
                j += 1;
            } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    out.extend((0..suf).map(|k| (a.len() - suf + k, b.len() - suf + k)));
    out
}

type ChainKey = (String, Option<String>, String, String);

pub(super) fn compare_rules(old: &Side, new: &Side) -> RuleChanges {
    let group = |rules: Vec<RuleEntry>| {
        let mut m: BTreeMap<ChainKey, Vec<RuleEntry>> = BTreeMap::new();
        for r in rules {
            m.entry((
                r.firewall.clone(),
                r.ruleset.clone(),
                r.policy.clone(),
                r.chain.clone(),
            ))
            .or_default()
            .push(r);
        }
        m
    };
    let (mut og, mut ng) = (group(rules_of(old)), group(rules_of(new)));
    let keys: BTreeSet<ChainKey> = og.keys().chain(ng.keys()).cloned().collect();
    let (mut added, mut removed, mut moved) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = Vec::new();
    for k in keys {
        let o = og.remove(&k).unwrap_or_default();
        let n = ng.remove(&k).unwrap_or_default();
        let ot: Vec<&str> = o.iter().map(|r| r.text.as_str()).collect();
        let nt: Vec<&str> = n.iter().map(|r| r.text.as_str()).collect();
        let common = lcs(&ot, &nt);
        let mut o_used = vec![false; o.len()];
        let mut n_used = vec![false; n.len()];
        for (i, j) in common {
            o_used[i] = true;
            n_used[j] = true;
            kept.push((n[j].clone(), o[i].position));
        }
        // the same text elsewhere in the chain: moved
        for j in 0..n.len() {
            if n_used[j] {
                continue;
            }
            if let Some(i) = (0..o.len()).find(|&i| !o_used[i] && o[i].text == n[j].text) {
                o_used[i] = true;
                n_used[j] = true;
                kept.push((n[j].clone(), o[i].position));
                moved.push(Moved {
                    old: o[i].clone(),
                    new: n[j].clone(),
                });
            }
        }
        added.extend(
            n.iter()
                .zip(&n_used)
                .filter(|(_, u)| !**u)
                .map(|(r, _)| r.clone()),
        );
        removed.extend(
            o.iter()
                .zip(&o_used)
                .filter(|(_, u)| !**u)
                .map(|(r, _)| r.clone()),
        );
    }
    RuleChanges {
        added,
        removed,
        moved,
        kept,
    }
}

pub(super) fn same_chain(a: &RuleEntry, b: &RuleEntry) -> bool {
    a.firewall == b.firewall && a.ruleset == b.ruleset && a.policy == b.policy && a.chain == b.chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_whitespace_are_ignored() {
        assert_eq!(
            normalise("[12:720]  -A INPUT   -p tcp -j ACCEPT"),
            normalise("-A INPUT -p tcp -j ACCEPT")
        );
        assert_eq!(normalise(":INPUT DROP [0:0]"), ":INPUT DROP");
        // only `[digits:digits]` is a counter
        assert_eq!(
            normalise("-A X -m comment --comment [a:1] [:]"),
            "-A X -m comment --comment [a:1] [:]"
        );
    }

    #[test]
    fn lcs_keeps_the_longest_common_order() {
        let a = ["a", "b", "c", "d"];
        let b = ["a", "x", "b", "c", "d"];
        assert_eq!(lcs(&a, &b), vec![(0, 0), (1, 2), (2, 3), (3, 4)]);
        let b = ["b", "c", "a", "d"];
        let m = lcs(&a, &b);
        assert_eq!(m.len(), 3);
        assert!(lcs(&[], &["a"]).is_empty());
        assert!(lcs(&["a"], &[]).is_empty());
    }
}
