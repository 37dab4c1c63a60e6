//! Lowering of the iptables AST into the common model: one [`Policy`] per table, and the
//! pipelines a packet to, from or through the host passes.
//!
//! Modelling choices, all exact within what the dump says:
//! - A required flow is a NEW connection and its opening packet is a SYN: `--syn` and
//!   `--tcp-flags` are decided for state NEW; for other states they are undecidable.
//! - Packets are evaluated unfragmented: `-f` (non-first fragments) never matches them.
//! - Matches the dump cannot answer (`-m set` without the ipset, `-m limit`, `-m recent`,
//!   connection marks, owners, hostnames...) make the rule undecidable: evaluation follows both
//!   outcomes.
//! - The packet mark is tracked along the packet's path (`marks.rs`, `model::mark`): `-j MARK`
//!   (every form), `CONNMARK --restore-mark`, `HMARK` and `SET --map-mark` change what is known
//!   of it, and a `-m mark --mark` test is decided where earlier rules set the bits it tests;
//!   elsewhere (nothing set them: tc, routing or a socket may have) it stays undecidable.
//! - A value that cannot be read (`--dport 99999`) is a Z001 and makes the rule undecidable; the
//!   rule is kept, since dropping it could turn a DROP into an answer of "allowed".
//!
//! This file holds the tables, chains and pipelines; the translation of each match option into
//! a packet box is in `matches.rs`, each target into an action in `targets.rs`, the mark match
//! and targets in `marks.rs`.

mod edits;
mod family;
mod loops;
mod marks;
pub(crate) mod matches;
mod natport;
mod targets;

use std::collections::HashMap;

use rayon::prelude::*;

use super::{Dump, RuleLine, RuleOp, Table};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::iface::Interfaces;
use crate::model::rule::{content_hash_bytes, words_of};
use crate::model::{
    Action, Chain, ChainId, Entry, Family, Hook, PacketBox, Pipeline, Policy, Provenance, Rule,
    Ruleset, Semantics, Span, Stage, Verdict,
};
use crate::model::{NativeRef, Platform};
pub use family::family_of;
use matches::lower_matches;
use targets::lower_target;

/// The lowered ruleset and the problems found while lowering.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub ruleset: Ruleset,
    pub issues: Vec<ParseIssue>,
}

const BUILTIN: &[(&str, &[&str])] = &[
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
    (
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    ),
    ("raw", &["PREROUTING", "OUTPUT"]),
    ("security", &["INPUT", "FORWARD", "OUTPUT"]),
];

/// The stages each hook passes, in kernel order (hook priorities: raw -300, conntrack -200,
/// mangle -150, nat PREROUTING/OUTPUT (DNAT) -100, filter 0, security 50, nat INPUT and
/// POSTROUTING (SNAT) 100). `nat` never filters: its stages rewrite the destination later stages
/// see (`model::nat`); the source NAT stages come after every filtering stage of their hook, so
/// only the next firewall on the path sees what they rewrite.
const PIPELINES: &[(Hook, &[(&str, &str)])] = &[
    (
        Hook::Input,
        &[
            ("raw", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("nat", "PREROUTING"),
            ("mangle", "INPUT"),
            ("filter", "INPUT"),
            ("security", "INPUT"),
            ("nat", "INPUT"),
        ],
    ),
    (
        Hook::Output,
        &[
            ("raw", "OUTPUT"),
            ("mangle", "OUTPUT"),
            ("nat", "OUTPUT"),
            ("filter", "OUTPUT"),
            ("security", "OUTPUT"),
            ("mangle", "POSTROUTING"),
            ("nat", "POSTROUTING"),
        ],
    ),
    (
        Hook::Forward,
        &[
            ("raw", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("nat", "PREROUTING"),
            ("mangle", "FORWARD"),
            ("filter", "FORWARD"),
            ("security", "FORWARD"),
            ("mangle", "POSTROUTING"),
            ("nat", "POSTROUTING"),
        ],
    ),
];

struct Ctx<'s> {
    family: Family,
    /// The table is `raw`, which runs before connection tracking (its state matches see no
    /// conntrack entry: `matches::raw_state_view`).
    raw: bool,
    ifs: &'s Interfaces,
    issues: &'s mut Vec<ParseIssue>,
    /// The last port list read and its set: a blocklist's or a cluster's rules repeat the
    /// same `--dports` list rule after rule.
    last_ports: Option<(String, crate::model::ports::PortSet)>,
}

impl Ctx<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }
}

/// Lower a parsed dump. `family` is the family the dump filters (from its header or contents).
pub fn lower(dump: &Dump<'_>, src: &SourceText, family: Family) -> Lowered {
    let mut issues = Vec::new();
    let ifs = Interfaces::build(dump.tables.iter().flat_map(|t| {
        t.rules
            .iter()
            .flat_map(|r| r.args.iter())
            .filter(|a| a.module.is_none() && (a.name == "i" || a.name == "o"))
            .filter_map(|a| a.values.first().map(|v| v.text.as_ref()))
    }));
    // iptables-restore replaces a table each time it meets it: the last block wins
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, t) in dump.tables.iter().enumerate() {
        last.insert(t.name.text.as_ref(), i);
    }
    // the tables apart, on every core (a kube-proxy dump's `nat` beside its `filter`); their
    // problems in table order, as one after the other would find them
    let tables: Vec<&Table<'_>> = dump
        .tables
        .iter()
        .enumerate()
        .filter(|(i, t)| last.get(t.name.text.as_ref()) == Some(i))
        .map(|(_, t)| t)
        .collect();
    let one = |t: &&Table<'_>| {
        let mut found = Vec::new();
        let mut ctx = Ctx {
            family,
            raw: t.name.text == "raw",
            ifs: &ifs,
            issues: &mut found,
            last_ports: None,
        };
        (lower_table(t, src, &mut ctx), found)
    };
    // one table is lowered where the caller runs: its rules are then allocated, and later
    // freed, by one thread's arena (a blocklist lowered on a rayon worker cost 4% more CPU)
    let lowered: Vec<(Policy, Vec<ParseIssue>)> = if tables.len() < 2 {
        tables.iter().map(one).collect()
    } else {
        tables.par_iter().map(one).collect()
    };
    let mut policies = Vec::with_capacity(lowered.len());
    for (p, found) in lowered {
        policies.push(p);
        issues.extend(found);
    }
    // A built-in chain whose policy is ACCEPT and whose rules all continue (none, or only LOG,
    // CHECKSUM and the like: nothing that ends evaluation, jumps, or changes what later rules
    // test) changes no packet: it decides nothing, and is left out of the pipelines (else the
    // last such stage, `security/INPUT` of a dump that lists it, would be named as what
    // accepted every flow). The `filter` stages stay, and so does the stage a pipeline is named
    // after: an open host names its filter policy.
    let passes_all = |pi: usize, ci: usize| {
        let p: &Policy = &policies[pi];
        p.chains.get(ci).is_some_and(|c| {
            c.policy == Some(Verdict::Allow)
                && c.rules
                    .iter()
                    .all(|&r| p.rules.get(r).is_some_and(|r| r.action == Action::Continue))
        })
    };
    let stages_of = |stages: &[(&str, &str)], named: Option<&str>| -> Vec<Stage> {
        let mut st = Vec::new();
        for (table, chain) in stages.iter() {
            if let Some(pi) = policies.iter().position(|p: &Policy| p.name == *table) {
                if let Some(ci) = policies[pi].chain_by_name(chain) {
                    let keep = *table == "filter"
                        || named.is_some_and(|n| {
                            n.strip_prefix(*table)
                                .and_then(|r| r.strip_prefix('/'))
                                .is_some_and(|c| c == *chain)
                        })
                        || !passes_all(pi, ci);
                    if !keep {
                        continue;
                    }
                    st.push(Stage {
                        policy: pi,
                        chain: ci,
                    });
                }
            }
        }
        st
    };
    let mut pipelines = Vec::new();
    for (hook, stages) in PIPELINES {
        let name = stages
            .iter()
            .filter(|(table, _)| *table != "nat")
            .map(|(table, chain)| (*table, *chain))
            .filter(|(table, chain)| {
                policies
                    .iter()
                    .any(|p| p.name == *table && p.chain_by_name(chain).is_some())
            })
            .fold(None, |name: Option<String>, (table, chain)| {
                if table == "filter" || name.is_none() {
                    Some(format!("{table}/{chain}"))
                } else {
                    name
                }
            });
        let st = stages_of(stages, name.as_deref());
        // a DNAT in nat PREROUTING to another address routes the packet through FORWARD
        let diverted = match hook {
            Hook::Input if stages.contains(&("nat", "PREROUTING")) => {
                let at = stages
                    .iter()
                    .position(|s| *s == ("nat", "PREROUTING"))
                    .unwrap_or(0);
                let forward = PIPELINES
                    .iter()
                    .find(|(h, _)| *h == Hook::Forward)
                    .map(|(_, f)| *f)
                    .unwrap_or(&[]);
                let after = forward
                    .iter()
                    .position(|s| *s == ("nat", "PREROUTING"))
                    .map_or(0, |i| i + 1);
                let mut all: Vec<(&str, &str)> = stages[..=at].to_vec();
                all.extend_from_slice(&forward[after..]);
                // only when the nat stage is there (else nothing translates); both lists are
                // the same up to it
                if st
                    .iter()
                    .any(|s| policies[s.policy].semantics == Semantics::Translate)
                {
                    stages_of(&all, None)
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        };
        let default_chain = match hook {
            Hook::Input => "INPUT",
            Hook::Output => "OUTPUT",
            Hook::Forward => "FORWARD",
        };
        pipelines.push(Pipeline {
            name: name.unwrap_or_else(|| format!("filter/{default_chain}")),
            hook: *hook,
            stages: st,
            diverted,
        });
    }
    Lowered {
        ruleset: Ruleset {
            platform: Platform::Iptables,
            profile: None,
            name: None,
            stateless: false,
            policies: policies.into_iter().map(std::sync::Arc::new).collect(),
            pipelines,
            interfaces: ifs,
            family: Some(family),
        },
        issues,
    }
}

fn verdict_of(policy: &str) -> Option<Verdict> {
    match policy {
        "ACCEPT" => Some(Verdict::Allow),
        "DROP" => Some(Verdict::Deny),
        _ => None,
    }
}

/// A table's chains by name (a kube-proxy dump's `nat` table has 330,000, looked up several
/// times per rule: hashed with foldhash, not SipHash).
type Names<'a> = HashMap<&'a str, ChainId, foldhash::fast::RandomState>;

/// A label made of `parts` and a number, written in `buf` (a dump has a label per rule and per
/// chain: a million `format!`s were a fifth of lowering one).
fn label_of(buf: &mut String, parts: &[&str], n: Option<usize>) -> std::sync::Arc<str> {
    use std::fmt::Write;
    buf.clear();
    for p in parts {
        buf.push_str(p);
    }
    if let Some(n) = n {
        let _ = write!(buf, "{n}");
    }
    std::sync::Arc::from(buf.as_str())
}

/// A word of a line that is its packet and byte counters (`[12:3456]`), which are not part of
/// what the rule is.
fn is_counter_bytes(word: &[u8]) -> bool {
    // most words are not: only a bracketed one is read as text
    word.first() == Some(&b'[') && std::str::from_utf8(word).is_ok_and(super::is_counter)
}

fn lower_table(t: &Table<'_>, src: &SourceText, ctx: &mut Ctx<'_>) -> Policy {
    let tname = t.name.text.as_ref();
    let builtins: &[&str] = BUILTIN
        .iter()
        .find(|(n, _)| *n == tname)
        .map(|(_, c)| *c)
        .unwrap_or(&[]);
    let mut chains: Vec<Chain> = Vec::new();
    let mut index: Names<'_> = Names::default();
    let prov = |span: Span, label: std::sync::Arc<str>| {
        let (line, column) = src.line_col(span.start);
        Provenance {
            span,
            line,
            column,
            label,
        }
    };
    // a rule's label until its chain's order gives it one: one empty label for all
    let unlabelled: std::sync::Arc<str> = "".into();
    let mut buf = String::new();
    for d in &t.chains {
        let name = d.name.text.as_ref();
        let builtin = builtins.contains(&name);
        let policy = match &d.policy {
            Some(p) => match verdict_of(p.text.as_ref()) {
                Some(v) => Some(v),
                None => {
                    ctx.error(
                        p.span,
                        format!("`{}` is not a chain policy (ACCEPT or DROP)", p.text),
                        "not ACCEPT or DROP",
                    );
                    builtin.then_some(Verdict::Allow)
                }
            },
            None if builtin => Some(Verdict::Allow),
            None => None,
        };
        let decl = prov(
            d.span,
            label_of(&mut buf, &[tname, "/", name, " policy"], None),
        );
        if let Some(&i) = index.get(name) {
            // `-P` after `:` (iptables -S style) sets the policy
            if d.policy.is_some() {
                chains[i].policy = policy;
                chains[i].decl = decl;
            }
            continue;
        }
        index.insert(name, chains.len());
        chains.push(Chain {
            name: name.to_string(),
            policy,
            decl,
            rules: Vec::new(),
        });
    }
    for b in builtins {
        if !index.contains_key(b) {
            index.insert(b, chains.len());
            chains.push(Chain {
                name: b.to_string(),
                policy: Some(Verdict::Allow),
                decl: Provenance {
                    label: format!(
                        "{tname}/{b} policy (not in the dump; the kernel default is ACCEPT)"
                    )
                    .into(),
                    ..Provenance::default()
                },
                rules: Vec::new(),
            });
        }
    }
    // rules may name chains that were never declared
    for r in &t.rules {
        let n = r.chain.text.as_ref();
        if n.is_empty() {
            // `-F`, `-X`, `-Z` on every chain
            continue;
        }
        if !index.contains_key(n) {
            index.insert(n, chains.len());
            chains.push(Chain {
                name: n.to_string(),
                policy: None,
                decl: prov(r.chain.span, label_of(&mut buf, &[tname, "/", n], None)),
                rules: Vec::new(),
            });
        }
    }
    let by_name = index;

    // most lines are one rule: grown once, not by doubling (900k `nat` rules of a kube-proxy dump)
    let mut rules: Vec<Rule> = Vec::with_capacity(t.rules.len());
    // each line may lower to several disjoint model rules; keep them together per chain position
    let mut order: edits::Slots = vec![Vec::new(); chains.len()];
    let mut deleted = vec![false; chains.len()];
    // no `-X` line has deleted a chain yet (nothing to look up for each rule's target)
    let mut none_deleted = true;
    // only appended rules (most dumps): a rule's position is known as it is read, and it is
    // labelled then
    let appends_only = t.rules.iter().all(|l| l.op == RuleOp::Append);
    for (li, line) in t.rules.iter().enumerate() {
        let chain = by_name.get(line.chain.text.as_ref()).copied();
        if !matches!(
            line.op,
            RuleOp::Append | RuleOp::Insert(_) | RuleOp::Replace(_)
        ) {
            let builtin = |n: &str| builtins.contains(&n);
            edits::apply(
                &t.rules,
                li,
                chain,
                &mut order,
                &chains,
                &rules,
                &builtin,
                &mut deleted,
                ctx,
            );
            none_deleted = !deleted.contains(&true);
            continue;
        }
        let Some(ci) = chain else {
            continue;
        };
        let gone_target = line.target.as_ref().filter(|t| {
            !none_deleted
                && by_name
                    .get(t.name.text.as_ref())
                    .is_some_and(|&c| deleted[c])
        });
        if let Some(t) = gone_target {
            ctx.error(
                t.name.span,
                format!(
                    "chain `{}` was deleted by an `-X` line above: iptables-restore fails here; the line changes nothing",
                    t.name.text
                ),
                "no such chain",
            );
            continue;
        }
        if deleted[ci] {
            ctx.error(
                line.chain.span,
                format!(
                    "chain `{}` was deleted by an `-X` line above: iptables-restore fails here; the line changes nothing",
                    line.chain.text
                ),
                "no such chain",
            );
            continue;
        }
        let (action, mut target_why) = lower_target(line, tname, &by_name, ctx);
        let alts = lower_matches(line, ctx);
        let comment = line
            .args
            .iter()
            .find(|a| a.name == "comment")
            .and_then(|a| a.values.first())
            .map(|v| v.text.to_string());
        // what the rule is, whatever its position: its text, counters aside
        let content = content_hash_bytes(
            words_of(src.text.get(line.span.start..line.span.end).unwrap_or(""))
                .filter(|w| !is_counter_bytes(w)),
        );
        // appended at the end of its chain: labelled now (else once the edits are done)
        let (label, index) = if appends_only {
            let pos = order[ci].len() + 1;
            (
                label_of(&mut buf, &[tname, "/", &chains[ci].name, " #"], Some(pos)),
                pos as u32,
            )
        } else {
            (unlabelled.clone(), 0)
        };
        let mut ids = Vec::with_capacity(alts.len());
        for mut alt in alts {
            alt.why.append(&mut target_why.clone());
            ids.push(rules.len());
            rules.push(Rule {
                matches: alt.b,
                undecidable: alt.why,
                mark: alt.mark,
                action,
                prov: prov(line.span, label.clone()),
                comment: comment.clone(),
                native: NativeRef::Chain {
                    chain: ci,
                    index,
                    content,
                },
                builtin: false,
            });
        }
        target_why.clear();
        let slot = &mut order[ci];
        match line.op {
            RuleOp::Insert(n) => {
                let at = (n.max(1) as usize - 1).min(slot.len());
                slot.insert(at, (li, ids));
            }
            RuleOp::Replace(n) => match slot.get_mut(n as usize - 1) {
                Some(s) => *s = (li, ids),
                None => ctx.error(
                    line.span,
                    format!(
                        "chain `{}` has {} rule(s) here: iptables-restore fails (\"Index of replacement too big\"); the line changes nothing",
                        line.chain.text,
                        slot.len()
                    ),
                    "no such rule",
                ),
            },
            _ => slot.push((li, ids)),
        }
    }
    // only the rules still in a chain after the edits are in the policy (when an edit removed
    // some, the others are moved into a new list; else they stay where they are)
    let kept: usize = order.iter().flatten().map(|(_, ids)| ids.len()).sum();
    if kept == rules.len() && appends_only {
        // every rule is labelled and in its place: only the chains' lists are made
        for (ci, slots) in order.into_iter().enumerate() {
            chains[ci]
                .rules
                .extend(slots.into_iter().flat_map(|(_, ids)| ids));
        }
        order = Vec::new();
    } else if kept == rules.len() {
        for (ci, slots) in order.into_iter().enumerate() {
            let cname = chains[ci].name.clone();
            for (pos, (_, ids)) in slots.into_iter().enumerate() {
                for id in ids {
                    rules[id].prov.label =
                        label_of(&mut buf, &[tname, "/", &cname, " #"], Some(pos + 1));
                    if let NativeRef::Chain { index, .. } = &mut rules[id].native {
                        *index = (pos + 1) as u32;
                    }
                    chains[ci].rules.push(id);
                }
            }
        }
        order = Vec::new();
    }
    let mut lowered: Vec<Option<Rule>> = if order.is_empty() {
        Vec::new()
    } else {
        std::mem::take(&mut rules).into_iter().map(Some).collect()
    };
    for (ci, slots) in order.into_iter().enumerate() {
        let cname = chains[ci].name.clone();
        for (pos, (_, ids)) in slots.into_iter().enumerate() {
            for id in ids {
                let Some(mut rule) = lowered.get_mut(id).and_then(Option::take) else {
                    continue;
                };
                rule.prov.label = label_of(&mut buf, &[tname, "/", &cname, " #"], Some(pos + 1));
                if let NativeRef::Chain { index, .. } = &mut rule.native {
                    *index = (pos + 1) as u32;
                }
                chains[ci].rules.push(rules.len());
                rules.push(rule);
            }
        }
    }
    if !t.committed {
        // no `COMMIT` (a Z001 says so): the file may be cut short and the rules after its end
        // are not in it, so what falls off the end of a chain is unknown, not its policy
        let end = src.text.len();
        let (line, column) = src.line_col(end);
        for chain in chains.iter_mut() {
            chain.rules.push(rules.len());
            rules.push(Rule {
                matches: PacketBox::full(),
                undecidable: Vec::new(),
                mark: None,
                action: Action::Opaque,
                prov: Provenance {
                    span: Span::new(end, end),
                    line,
                    column,
                    label: format!(
                        "{tname}/{}: the rules after the end of the file (the table has no `COMMIT`)",
                        chain.name
                    ).into(),
                },
                comment: None,
                native: NativeRef::None,
                builtin: false,
            });
        }
    }
    loops::report_jump_loops(tname, &chains, &rules, ctx);
    let entries = [
        ("INPUT", Hook::Input),
        ("OUTPUT", Hook::Output),
        ("FORWARD", Hook::Forward),
    ]
    .iter()
    .filter_map(|(n, h)| {
        by_name.get(*n).map(|&c| Entry {
            name: format!("{tname}/{n}"),
            hook: *h,
            chain: c,
        })
    })
    .collect();
    Policy {
        name: tname.to_string(),
        family: Some(ctx.family),
        semantics: if tname == "nat" {
            Semantics::Translate
        } else {
            Semantics::FirstMatch
        },
        chains,
        rules,
        entries,
        union_cache: Default::default(),
    }
}
