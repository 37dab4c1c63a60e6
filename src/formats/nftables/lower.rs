//! Lowering of the nftables AST into the common model, with nftables' own semantics.
//!
//! Sources: nft(8) ("CHAINS", "VERDICT STATEMENT", "NAT STATEMENTS", "SETS", "MAPS"), the
//! nftables wiki pages "Netfilter hooks" and "Configuring chains", libnftables-json(5).
//!
//! - **Two rulesets**, one per address family: IPv4 packets pass the base chains of the `ip` and
//!   `inet` tables, IPv6 packets those of the `ip6` and `inet` tables. Both are made whenever the
//!   input holds an `ip`, `ip6` or `inet` table (a family with no table of its own is not filtered:
//!   its ruleset has no stages and lets everything through, as the kernel does). Tables of the
//!   `arp`, `bridge` and `netdev` families are recognised and not modelled (a Z002 says so).
//! - **Base chains in priority order, across tables**: every base chain registered at a hook is
//!   called, lowest priority first, whatever table it is in. An `accept` ends only its own base
//!   chain: the packet goes on to the next base chain (the model's pipeline does exactly that
//!   between stages). `drop` and `reject` are final. The chain's policy (`accept` when none is
//!   written) applies at its end. Base chains of equal priority run in the order the input lists
//!   them (the kernel orders them by registration, which for a loaded file is file order).
//! - **The hooks a flow passes**: a packet to the host passes `prerouting` then `input` chains;
//!   one from it `output` then `postrouting`; a forwarded one `prerouting`, `forward`,
//!   `postrouting`. A `dnat` to another address in a prerouting chain sends the packet on the
//!   forwarding path (`Pipeline::diverted`), as for iptables.
//! - **One model policy per table and chain type**: `type filter` and `type route` chains are first
//!   match (`route` reroutes on a changed mark, which filtering does not see); `type nat` chains
//!   translate (`model::nat`): `dnat`/`redirect` change the destination later chains see, `snat`
//!   and `masquerade` the source the next hop sees. Each policy holds all of the table's chains, so
//!   `jump`/`goto` reach its regular chains; `return` goes back to the caller (at a base chain: its
//!   policy).
//! - **Connection tracking runs at priority -200** (the wiki's "Netfilter hooks" table): in a chain
//!   of lower priority `notrack` makes the packet UNTRACKED for everything after it, and `ct state`
//!   sees no conntrack entry yet (INVALID, or UNTRACKED after a `notrack`), exactly as iptables'
//!   `raw` table (`iptables::lower::matches::raw_state_view`). A regular chain takes the position
//!   of the base chains that reach it.
//! - **Matches** become boxes of packet space (`exprs.rs`): a set (anonymous or named, prefixes,
//!   ranges, concatenations) is a union of boxes, `!=` their complement; a verdict map is one
//!   model rule per element (its keys are disjoint, so their order does not matter). Matches the
//!   export cannot answer (`limit`, `quota`, `meter`, `ct count`, a set updated at run time, an
//!   unknown expression or statement) make the rule undecidable, naming why: evaluation follows
//!   both outcomes. `counter` and `log` change nothing.
//!
//! Labels are `FAMILY TABLE CHAIN #N` (the rule's 1-based position); the native reference
//! ([`NativeRef::Nft`]) keeps the family, table, chain, the handle when `nft -a` printed one, the
//! position and a hash of what the rule means (its lowered boxes and actions: the same for the
//! text and the JSON of one ruleset, and unchanged by counters, handles and comments).

mod exprs;
mod stmts;

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::{self, Stmt, TableFamily};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Parsed};
use crate::model::iface::Interfaces;
use crate::model::rule::Fnv;
use crate::model::{
    Chain, ChainId, Family, Hook, NativeRef, Pipeline, Platform, Policy, Provenance, Rule, Ruleset,
    Semantics, Span, Stage, Verdict,
};

/// Connection tracking's priority at prerouting and output (the wiki's "Netfilter hooks").
const CONNTRACK_PRIORITY: i32 = -200;

/// The hooks each pipeline passes, in order.
const PIPELINES: &[(Hook, &[&str])] = &[
    (Hook::Input, &["prerouting", "input"]),
    (Hook::Output, &["output", "postrouting"]),
    (Hook::Forward, &["prerouting", "forward", "postrouting"]),
];

/// Lower a read ruleset; the AST's own issues come first in the result.
pub fn lower(rs: &ast::Ruleset, src: &SourceText) -> Parsed {
    let mut issues = rs.issues.clone();
    for t in &rs.tables {
        if matches!(
            t.family.v,
            TableFamily::Arp | TableFamily::Bridge | TableFamily::Netdev
        ) {
            issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: t.span,
                message: format!(
                    "table `{} {}` is not modelled: Portolan evaluates the ip, ip6 and inet tables that filter the host's IP traffic",
                    t.family.v.name(),
                    t.name.v
                ),
                label: "not modelled".into(),
                help: Some(
                    "if this table drops Zerto traffic (a netdev ingress chain, a bridge filter), the audit does not see it"
                        .into(),
                ),
            });
        }
    }
    if !rs.tables.iter().any(|t| host_table(t.family.v)) {
        return Parsed {
            rulesets: Vec::new(),
            issues,
        };
    }
    let ifs = Interfaces::build(interface_patterns(rs).iter().map(String::as_str));
    let rulesets = [Family::V4, Family::V6]
        .into_iter()
        .map(|f| lower_family(rs, src, f, &ifs, &mut issues))
        .collect();
    if let Some(inc) = rs.includes.first() {
        // a set the file names but does not define may come from an included file: that is not
        // invalid input, only input not read (the rules naming it are undecidable either way)
        for x in issues.iter_mut().filter(|x| x.label == "no such set") {
            x.kind = IssueKind::Undecidable;
            x.message = format!(
                "{}; it may be defined in `include \"{}\"`, which is not followed",
                x.message, inc.v
            );
            x.label = "defined elsewhere?".into();
        }
    }
    Parsed { rulesets, issues }
}

fn host_table(f: TableFamily) -> bool {
    matches!(f, TableFamily::Ip | TableFamily::Ip6 | TableFamily::Inet)
}

fn in_family(f: TableFamily, family: Family) -> bool {
    match f {
        TableFamily::Ip => family == Family::V4,
        TableFamily::Ip6 => family == Family::V6,
        TableFamily::Inet => true,
        _ => false,
    }
}

/// Every interface name a match or a verdict map key compares with.
fn interface_patterns(rs: &ast::Ruleset) -> Vec<String> {
    use ast::Expr;
    let is_iface = |e: &Expr| matches!(e, Expr::Meta { key, .. } if matches!(key.as_str(), "iifname" | "oifname" | "iif" | "oif"));
    let mut out = Vec::new();
    let add = |e: &Expr, t: &ast::Table, out: &mut Vec<String>| {
        let mut push_key = |k: &Expr| {
            if let Expr::Value(v) = k {
                out.push(exprs::iface_pattern(&v.v));
            }
        };
        match e {
            Expr::Set(els) => els.iter().for_each(|el| push_key(&el.key)),
            Expr::SetRef(n) => {
                if let Some(s) = t.sets.iter().find(|s| s.name.v == n.v) {
                    s.elements.iter().for_each(|el| push_key(&el.key));
                }
            }
            k => push_key(k),
        }
    };
    for t in &rs.tables {
        for c in &t.chains {
            for r in &c.rules {
                for s in &r.stmts {
                    match s {
                        Stmt::Match { left, right, .. } if is_iface(left) => {
                            add(right, t, &mut out)
                        }
                        Stmt::VerdictMap { key, map, .. } if is_iface(key) => add(map, t, &mut out),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// The chains each chain of `t` is reached from: (hook, priority) of the base chains that
/// reach it through jumps and gotos.
fn contexts(t: &ast::Table) -> Vec<Vec<(String, i32)>> {
    let index: HashMap<&str, usize> = t
        .chains
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.v.as_str(), i))
        .collect();
    let targets = |c: &ast::Chain| -> Vec<usize> {
        let mut out = Vec::new();
        for r in &c.rules {
            for s in &r.stmts {
                match s {
                    Stmt::Verdict(v) => {
                        if let ast::Verdict::Jump(n) | ast::Verdict::Goto(n) = &v.v {
                            if let Some(&i) = index.get(n.v.as_str()) {
                                out.push(i);
                            }
                        }
                    }
                    Stmt::VerdictMap { map, .. } => {
                        let els: Vec<&ast::Element> = match map {
                            ast::Expr::Set(e) => e.iter().collect(),
                            ast::Expr::SetRef(n) => t
                                .sets
                                .iter()
                                .filter(|s| s.name.v == n.v)
                                .flat_map(|s| s.elements.iter())
                                .collect(),
                            _ => Vec::new(),
                        };
                        for e in els {
                            let words: Vec<&str> = match &e.data {
                                Some(ast::Expr::Value(v)) => v.v.split_whitespace().collect(),
                                _ => Vec::new(),
                            };
                            if let ["jump" | "goto", n] = words.as_slice() {
                                if let Some(&i) = index.get(*n) {
                                    out.push(i);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    };
    let edges: Vec<Vec<usize>> = t.chains.iter().map(targets).collect();
    let mut ctx: Vec<Vec<(String, i32)>> = vec![Vec::new(); t.chains.len()];
    for (i, c) in t.chains.iter().enumerate() {
        let Some(b) = &c.base else { continue };
        let me = (b.hook.v.clone(), b.priority.v);
        let mut seen = vec![false; t.chains.len()];
        let mut stack = vec![i];
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            if !ctx[x].contains(&me) {
                ctx[x].push(me.clone());
            }
            stack.extend(edges[x].iter().copied());
        }
    }
    ctx
}

/// A base chain as a stage candidate.
struct Base {
    hook: String,
    priority: i32,
    order: usize,
    stage: Stage,
}

fn lower_family(
    rs: &ast::Ruleset,
    src: &SourceText,
    family: Family,
    ifs: &Interfaces,
    issues: &mut Vec<ParseIssue>,
) -> Ruleset {
    let mut policies: Vec<Policy> = Vec::new();
    let mut bases: Vec<Base> = Vec::new();
    for t in rs.tables.iter().filter(|t| in_family(t.family.v, family)) {
        let ctxs = contexts(t);
        let has_nat = t
            .chains
            .iter()
            .any(|c| c.base.as_ref().is_some_and(|b| b.kind.v == "nat"));
        let has_filter = t
            .chains
            .iter()
            .any(|c| c.base.as_ref().is_some_and(|b| b.kind.v != "nat"));
        for nat in [false, true] {
            if (nat && !has_nat) || (!nat && !has_filter && has_nat) {
                continue;
            }
            let pi = policies.len();
            // only the IPv4 ruleset reports the problems of an inet table's rules (once)
            let mut scratch = Vec::new();
            let sink = if family == Family::V4 || t.family.v == TableFamily::Ip6 {
                &mut *issues
            } else {
                &mut scratch
            };
            let sink = if nat && has_filter {
                // the rules are lowered twice: report once
                &mut scratch
            } else {
                sink
            };
            policies.push(lower_table(t, src, family, nat, ifs, &ctxs, sink));
            for (ci, c) in t.chains.iter().enumerate() {
                let Some(b) = &c.base else { continue };
                if (b.kind.v == "nat") != nat {
                    continue;
                }
                bases.push(Base {
                    hook: b.hook.v.clone(),
                    priority: b.priority.v,
                    order: bases.len(),
                    stage: Stage {
                        policy: pi,
                        chain: ci,
                    },
                });
            }
        }
    }
    let stages_at = |hooks: &[&str]| -> Vec<Stage> {
        let mut out = Vec::new();
        for h in hooks {
            let mut at: Vec<&Base> = bases.iter().filter(|b| b.hook == *h).collect();
            at.sort_by_key(|b| (b.priority, b.order));
            out.extend(at.iter().map(|b| b.stage));
        }
        out
    };
    let mut pipelines = Vec::new();
    for (hook, hooks) in PIPELINES {
        let stages = stages_at(hooks);
        let translates = |s: &Stage| policies[s.policy].semantics == Semantics::Translate;
        let diverted = if *hook == Hook::Input && stages_at(&["prerouting"]).iter().any(translates)
        {
            stages_at(&["prerouting", "forward", "postrouting"])
        } else {
            Vec::new()
        };
        let main = match hook {
            Hook::Input => "input",
            Hook::Output => "output",
            Hook::Forward => "forward",
        };
        let names: Vec<String> = stages_at(&[main])
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    policies[s.policy].name, policies[s.policy].chains[s.chain].name
                )
            })
            .collect();
        pipelines.push(Pipeline {
            // `ipv4: inet early input + inet late input`: the family, then the base chains of the
            // hook in the order they run
            name: if names.is_empty() {
                format!("{}: no {main} chain", family_name(family))
            } else {
                format!("{}: {}", family_name(family), names.join(" + "))
            },
            hook: *hook,
            stages,
            diverted,
        });
    }
    Ruleset {
        platform: Platform::Nftables,
        profile: None,
        name: Some(family_name(family).into()),
        stateless: false,
        policies: policies.into_iter().map(std::sync::Arc::new).collect(),
        pipelines,
        interfaces: ifs.clone(),
        family: Some(family),
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

fn lower_table(
    t: &ast::Table,
    src: &SourceText,
    family: Family,
    nat: bool,
    ifs: &Interfaces,
    ctxs: &[Vec<(String, i32)>],
    issues: &mut Vec<ParseIssue>,
) -> Policy {
    let fam = t.family.v.name();
    let tname = &t.name.v;
    let prov = |span: Span, label: String| {
        let (line, column) = src.line_col(span.start);
        Provenance {
            span,
            line,
            column,
            label: label.into(),
        }
    };
    let mut index: HashMap<String, ChainId> = HashMap::new();
    let mut chains: Vec<Chain> = Vec::new();
    for c in &t.chains {
        if index.contains_key(&c.name.v) {
            continue;
        }
        index.insert(c.name.v.clone(), chains.len());
        let (policy, decl) = match &c.base {
            Some(b) => {
                let verdict = match b.policy.as_ref().map(|p| p.v.as_str()) {
                    None | Some("accept") => Verdict::Allow,
                    Some("drop") => Verdict::Deny,
                    Some(other) => {
                        issues.push(ParseIssue {
                            kind: IssueKind::ParseError,
                            span: b.policy.as_ref().map_or(c.span, |p| p.span),
                            message: format!("`{other}` is not a chain policy (accept or drop)"),
                            label: "not accept or drop".into(),
                            help: None,
                        });
                        Verdict::Unknown
                    }
                };
                let end = b
                    .policy
                    .as_ref()
                    .map_or(b.priority.span.end, |p| p.span.end);
                let span = Span::new(b.kind.span.start, end.max(b.kind.span.start));
                let label = match &b.policy {
                    Some(_) => format!("{fam} {tname} {} policy", c.name.v),
                    None => format!("{fam} {tname} {} policy (none written: accept)", c.name.v),
                };
                (Some(verdict), prov(span, label))
            }
            None => (
                None,
                prov(c.name.span, format!("{fam} {tname} {}", c.name.v)),
            ),
        };
        chains.push(Chain {
            name: c.name.v.clone(),
            policy,
            decl,
            rules: Vec::new(),
        });
    }
    // most rules lower to one model rule: grown once, not by doubling (a `Rule` is 576 bytes)
    let mut rules: Vec<Rule> = Vec::with_capacity(t.chains.iter().map(|c| c.rules.len()).sum());
    for (ci, c) in t.chains.iter().enumerate() {
        let Some(&mi) = index.get(&c.name.v) else {
            continue;
        };
        if mi != ci {
            continue;
        }
        let cx = &ctxs[ci];
        let raw = if cx.iter().all(|(_, p)| *p < CONNTRACK_PRIORITY) && !cx.is_empty() {
            Some(true)
        } else if cx.iter().all(|(_, p)| *p >= CONNTRACK_PRIORITY) {
            Some(false)
        } else {
            None
        };
        let on_input = !cx.is_empty() && cx.iter().all(|(h, _)| h == "input");
        // the chain's names, shared by its rules' native references
        let names: (Arc<str>, Arc<str>, Arc<str>) = (
            fam.to_string().into(),
            tname.as_str().into(),
            c.name.v.as_str().into(),
        );
        for (pos, r) in c.rules.iter().enumerate() {
            let mut ctx = exprs::Ctx {
                family,
                table: t,
                chains: &index,
                nat,
                raw,
                on_input,
                ifs,
                issues: &mut *issues,
            };
            let emits = stmts::lower_rule(r, &mut ctx);
            // what the rule means, not how it is written: the same from `nft list ruleset` and
            // from `nft -j`, and unchanged by counters, handles and comments
            let content = {
                use std::hash::{Hash, Hasher};
                let mut h = Fnv::default();
                for e in &emits {
                    (&e.alt.b, &e.alt.why, &e.alt.mark, &e.action).hash(&mut h);
                }
                h.finish()
            };
            // made at its length (`format!` would start from nothing here and grow four times)
            let label = {
                use std::fmt::Write;
                let mut l = String::with_capacity(fam.len() + tname.len() + c.name.v.len() + 24);
                let _ = write!(l, "{fam} {tname} {} #{}", c.name.v, pos + 1);
                l
            };
            for e in emits {
                chains[ci].rules.push(rules.len());
                rules.push(Rule {
                    matches: e.alt.b,
                    undecidable: e.alt.why,
                    mark: e.alt.mark,
                    action: e.action,
                    prov: prov(r.span, label.clone()),
                    comment: r.comment.clone(),
                    native: NativeRef::Nft {
                        family: names.0.clone(),
                        table: names.1.clone(),
                        chain: names.2.clone(),
                        handle: r.handle,
                        index: (pos + 1) as u32,
                        content,
                    },
                    builtin: false,
                });
            }
        }
    }
    let entries = Vec::new();
    Policy {
        name: if nat {
            format!("{fam} {tname} (nat)")
        } else {
            format!("{fam} {tname}")
        },
        family: Some(family),
        semantics: if nat {
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

#[cfg(test)]
mod tests;
