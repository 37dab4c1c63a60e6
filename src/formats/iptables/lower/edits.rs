//! The commands of a restore file that change what the lines before them built, applied in file
//! order as `iptables-restore` does (iptables(8)): `-D CHAIN rule-spec` deletes the first rule of
//! the chain with that spec, `-D CHAIN N` the N-th rule, `-R CHAIN N` replaces the N-th rule,
//! `-F [CHAIN]` empties the chain (every chain), `-X [CHAIN]` deletes an empty user chain no
//! rule jumps to (every such user chain), `-Z` zeroes counters (nothing Portolan evaluates).
//! Where iptables-restore would fail (no such rule, an index past the end, a chain still in
//! use), the line is a Z001 and changes nothing.

use super::{Ctx, RuleLine, RuleOp};
use crate::model::addr::AddrSet;
use crate::model::{Action, Chain, Rule};

/// The rules of each chain, in order: each entry is (index of its line in the table, the model
/// rules that line lowered to).
pub(super) type Slots = Vec<Vec<(usize, Vec<usize>)>>;

/// What iptables compares when `-D CHAIN rule-spec` looks for a rule: the base options in any
/// order, each match (with its options, the implicit `-m tcp` of `-p tcp` made explicit) in
/// order, the target and its options. Addresses are compared as the networks they denote
/// (`10.0.0.1` is `10.0.0.1/32`); counters are not compared.
pub(super) fn spec_key(line: &RuleLine<'_>) -> Vec<String> {
    let mut base: Vec<String> = Vec::new();
    let mut ext: Vec<String> = Vec::new();
    let with_options: Vec<&str> = line
        .args
        .iter()
        .filter_map(|a| a.module.as_ref().map(|m| m.text.as_ref()))
        .collect();
    for a in &line.args {
        let neg = if a.negated { "!" } else { "" };
        let values: Vec<String> = a
            .values
            .iter()
            .map(|v| {
                let t = v.text.as_ref();
                match (a.module.is_none(), a.name.as_ref()) {
                    (true, "s" | "d") => AddrSet::parse(t)
                        .map(|s| s.to_cidrs().join(","))
                        .unwrap_or_else(|_| t.to_string()),
                    (true, "p") => t.to_ascii_lowercase(),
                    _ => t.to_string(),
                }
            })
            .collect();
        match (&a.module, a.name.as_ref()) {
            (None, "m") => {
                // a match with no options of its own (`-m socket`) is part of the spec
                if let Some(m) = a.values.first() {
                    if !with_options.contains(&m.text.as_ref()) {
                        ext.push(format!("m {}", m.text));
                    }
                }
            }
            (None, name) => base.push(format!("{neg}{name}={}", values.join(" "))),
            (Some(m), name) => ext.push(format!("{}:{neg}{name}={}", m.text, values.join(" "))),
        }
    }
    base.sort();
    base.extend(ext);
    if let Some(t) = &line.target {
        base.push(format!(
            "{} {}",
            if t.goto { "g" } else { "j" },
            t.name.text
        ));
        for a in &t.args {
            let values: Vec<&str> = a.values.iter().map(|v| v.text.as_ref()).collect();
            base.push(format!("{}={}", a.name, values.join(" ")));
        }
    }
    base
}

/// The chain a model rule jumps or goes to.
fn target_chain(r: &Rule) -> Option<usize> {
    match r.action {
        Action::Jump(c) | Action::Goto(c) => Some(c),
        _ => None,
    }
}

/// Apply line `li` (`-D`, `-F`, `-X`, `-Z`) of `lines` to `order`; `chain` is its chain's id
/// (`None` for the commands on every chain). `deleted` marks the chains `-X` removed.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    lines: &[RuleLine<'_>],
    li: usize,
    chain: Option<usize>,
    order: &mut Slots,
    chains: &[Chain],
    rules: &[Rule],
    builtin: &dyn Fn(&str) -> bool,
    deleted: &mut [bool],
    ctx: &mut Ctx<'_>,
) {
    let line = &lines[li];
    let cname = line.chain.text.as_ref();
    match line.op {
        RuleOp::Append | RuleOp::Insert(_) | RuleOp::Replace(_) | RuleOp::Zero => {}
        RuleOp::Delete => {
            let Some(slot) = chain.and_then(|c| order.get_mut(c)) else {
                return;
            };
            let key = spec_key(line);
            match slot.iter().position(|(l, _)| spec_key(&lines[*l]) == key) {
                Some(at) => {
                    slot.remove(at);
                }
                None => ctx.error(
                    line.span,
                    format!(
                        "no rule of chain `{cname}` has this rule-spec: iptables-restore fails here \
                         (\"Bad rule (does a matching rule exist in that chain?)\"); the line changes nothing"
                    ),
                    "no such rule",
                ),
            }
        }
        RuleOp::DeleteAt(n) => {
            let Some(slot) = chain.and_then(|c| order.get_mut(c)) else {
                return;
            };
            if (n as usize) <= slot.len() {
                slot.remove(n as usize - 1);
            } else {
                ctx.error(
                    line.span,
                    format!(
                        "chain `{cname}` has {} rule(s) here: iptables-restore fails (\"Index of deletion too big\"); the line changes nothing",
                        slot.len()
                    ),
                    "no such rule",
                );
            }
        }
        RuleOp::Flush => match chain {
            Some(c) => {
                if let Some(slot) = order.get_mut(c) {
                    slot.clear();
                }
            }
            None if cname.is_empty() => order.iter_mut().for_each(Vec::clear),
            None => {}
        },
        RuleOp::DeleteChain => {
            let referenced = |c: usize, order: &Slots| {
                order.iter().flatten().any(|(_, ids)| {
                    ids.iter()
                        .any(|&id| rules.get(id).and_then(target_chain) == Some(c))
                })
            };
            let candidates: Vec<usize> = match chain {
                Some(c) => vec![c],
                None if cname.is_empty() => (0..chains.len())
                    .filter(|&c| !builtin(&chains[c].name) && !deleted[c])
                    .collect(),
                None => Vec::new(),
            };
            for c in candidates {
                let name = &chains[c].name;
                let why = if builtin(name) {
                    Some("a built-in chain cannot be deleted")
                } else if !order[c].is_empty() {
                    Some("the chain still has rules (\"Directory not empty\"); flush it first with `-F`")
                } else if referenced(c, order) {
                    Some("a rule still jumps to it (\"Too many links\")")
                } else {
                    None
                };
                match why {
                    None => deleted[c] = true,
                    Some(why) => ctx.error(
                        line.span,
                        format!(
                            "`-X` cannot delete chain `{name}`: {why}; iptables-restore fails here and the line changes nothing"
                        ),
                        "chain not deleted",
                    ),
                }
            }
        }
    }
}
