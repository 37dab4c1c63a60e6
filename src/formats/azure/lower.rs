//! Lowering NSGs into the model: one ruleset per NSG, one priority policy with an `Inbound` and
//! an `Outbound` chain.

mod dims;
mod icmp;

use std::collections::HashSet;

use super::ast::{default_rules, Nsg, NsgDoubtKind, SecurityRule, Value, ValueState};
use crate::formats::json::fields::parse_error;
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Resolver};
use crate::model::ports::{all_states, PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
use crate::model::{
    Action, AddrSet, Chain, Entry, Hook, IntervalSet, PacketBox, Policy, Provenance, Rule, RuleId,
    Ruleset, Semantics, Span, Verdict,
};
use crate::model::{NativeRef, Platform};

/// A name the resolver does not know.
struct Unresolved {
    key: String,
    shown: String,
    what: &'static str,
    span: Span,
    /// Only a default rule the export omits uses it (so far).
    via_default: Option<String>,
}

/// The box of a rule in one dimension: what is known to match, and whether more might.
struct Dim<T> {
    known: T,
    unknown: bool,
}

struct Lowerer<'l> {
    src: &'l SourceText,
    names: &'l Resolver,
    /// The problems found, each with what makes it a repeat of an earlier one ([`Once`]).
    issues: Vec<(Once, ParseIssue)>,
    unresolved: Vec<Unresolved>,
    exprs_seen: HashSet<String>,
    notes_seen: HashSet<(Span, String)>,
}

/// What an issue is reported once per file for: NSGs are lowered apart, and [`join`] keeps the
/// first of each.
#[derive(PartialEq, Eq, Hash)]
enum Once {
    /// Every one is reported.
    Each,
    /// A note at a place.
    Note(Span, String),
    /// An expression that could not be evaluated (its text).
    Expr(String),
}

/// What one security rule lowers to.
struct LoweredRule {
    hooks: Vec<Hook>,
    priority: Option<i64>,
    priority_span: Span,
    name: String,
    rules: Vec<RuleId>,
    /// The rule's ICMP piece when its only doubt is whether the ports restrict ICMP, with the
    /// source and destination ports as written (see [`Lowerer::drop_covered_icmp`]).
    icmp_doubt: Option<(RuleId, PortSet, PortSet)>,
}

/// Lower NSGs into rulesets (one per NSG), adding the problems found to `issues`. Names
/// (service tags, ASGs) resolve through `names`; each name left unresolved is reported once.
pub fn lower(
    nsgs: &[Nsg],
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    // a chunk of NSGs at a time on every core (a 50 MB list holds 860), their problems joined
    // in the NSGs' order
    let (out, lowered) = crate::formats::lower_in_chunks(
        nsgs,
        32,
        || Lowerer {
            src,
            names,
            issues: Vec::new(),
            unresolved: Vec::new(),
            exprs_seen: HashSet::new(),
            notes_seen: HashSet::new(),
        },
        |n, l| l.nsg(n),
    );
    join(lowered, issues);
    out
}

/// The problems of NSGs lowered apart, in their order, into `issues`: each repeat of an earlier
/// note or expression left out, and the unresolved names last, each once, where a rule of the
/// export first uses it (else where an omitted default rule does), as one lowering of every NSG
/// reports them.
fn join(parts: Vec<Lowerer<'_>>, issues: &mut Vec<ParseIssue>) {
    let mut seen = HashSet::new();
    let mut unresolved: Vec<Unresolved> = Vec::new();
    for part in parts {
        for (once, issue) in part.issues {
            if once == Once::Each || seen.insert(once) {
                issues.push(issue);
            }
        }
        for u in part.unresolved {
            u.add_to(&mut unresolved);
        }
    }
    for u in unresolved {
        issues.push(u.issue());
    }
}

impl Lowerer<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues
            .push((Once::Each, parse_error(span, message, label)));
    }

    fn note(&mut self, span: Span, message: &str, label: &str, help: Option<&str>) {
        if self.notes_seen.insert((span, message.to_string())) {
            self.issues.push((
                Once::Note(span, message.to_string()),
                ParseIssue {
                    kind: IssueKind::Undecidable,
                    span,
                    message: message.to_string(),
                    label: label.to_string(),
                    help: help.map(str::to_string),
                },
            ));
        }
    }

    fn unresolved_expr(&mut self, v: &Value, why: &str) {
        let text = v.text.trim();
        if !self.exprs_seen.contains(text) {
            self.exprs_seen.insert(text.to_string());
            self.issues.push((
                Once::Expr(text.to_string()),
                ParseIssue {
                    kind: IssueKind::Undecidable,
                    span: v.span,
                    message: why.to_string(),
                    label: "not evaluated".into(),
                    help: Some(
                        "audit the deployed NSG (`az network nsg show`) instead, or write the value out literally"
                            .into(),
                    ),
                },
            ));
        }
    }

    fn prov(&self, span: Span, label: String) -> Provenance {
        let (line, column) = if span.is_empty() && span.start == 0 {
            (0, 0)
        } else {
            self.src.line_col(span.start)
        };
        Provenance {
            span,
            line,
            column,
            label: label.into(),
        }
    }
}

impl Unresolved {
    /// A use of the name, added to the names seen so far: the first use is where it is
    /// reported, unless only an omitted default rule used it so far and this is a rule of the
    /// export.
    fn add_to(self, seen: &mut Vec<Unresolved>) {
        if !Unresolved::used_again(seen, &self.key, self.span, self.via_default.is_some()) {
            seen.push(self);
        }
    }

    /// A use of a name already in `seen` (by `key`) at `span`: moved there if only an omitted
    /// default rule used it so far and this is a rule of the export. False for a new name.
    fn used_again(seen: &mut [Unresolved], key: &str, span: Span, via_default: bool) -> bool {
        let Some(u) = seen.iter_mut().find(|u| u.key == key) else {
            return false;
        };
        if u.via_default.is_some() && !via_default {
            u.span = span;
            u.via_default = None;
        }
        true
    }

    /// The issue that reports the name.
    fn issue(&self) -> ParseIssue {
        let via = match &self.via_default {
            Some(rule) => {
                format!(" (used by the default rule `{rule}`, which Azure adds to every NSG)")
            }
            None => String::new(),
        };
        let internet = if self.shown.eq_ignore_ascii_case("Internet") {
            " `Internet` is the public address space outside the virtual network, not every address."
        } else {
            ""
        };
        ParseIssue {
            kind: IssueKind::Undecidable,
            span: self.span,
            message: format!(
                "{} `{}` is not resolved{via}: rules using it are undecidable",
                self.what, self.shown
            ),
            label: "not resolved".into(),
            help: Some(format!(
                "give its addresses in the inventory's [addresses] or with --address {}=CIDR.{internet}",
                self.shown
            )),
        }
    }
}

impl Lowerer<'_> {
    /// Record an unresolved name; return the rule's undecidable reason.
    fn unresolved_name(
        &mut self,
        what: &'static str,
        shown: &str,
        span: Span,
        via_default: Option<&str>,
    ) -> String {
        let key = format!("{what}\u{0}{}", shown.to_ascii_lowercase());
        // a name used again makes nothing new
        if !Unresolved::used_again(&mut self.unresolved, &key, span, via_default.is_some()) {
            self.unresolved.push(Unresolved {
                key,
                shown: shown.to_string(),
                what,
                span,
                via_default: via_default.map(str::to_string),
            });
        }
        format!(
            "{what} `{shown}` is not resolved: give its addresses in the inventory's [addresses] or with --address {shown}=CIDR"
        )
    }

    /// Check a value's state; `Some(text)` when it is a literal. Reports the problem otherwise.
    fn literal<'v>(
        &mut self,
        v: &'v Value,
        what: &str,
        expected: &str,
        why: &mut Vec<String>,
    ) -> Option<&'v str> {
        match &v.state {
            ValueState::Literal => Some(v.text.trim()),
            ValueState::Unresolved(reason) => {
                self.unresolved_expr(v, reason);
                why.push(reason.clone());
                None
            }
            ValueState::WrongType(found) => {
                self.error(
                    v.span,
                    format!("the {what} must be {expected}, not {found}"),
                    "wrong type",
                );
                why.push(format!("{what} `{}` could not be read", v.text));
                None
            }
        }
    }

    fn missing(&mut self, ctx: &RuleCtx, what: &str, why: &mut Vec<String>) {
        self.error(
            ctx.missing_span,
            format!("rule `{}` has no {what}", ctx.label),
            "field missing",
        );
        why.push(format!("the {what} is missing"));
    }

    /// Lower one rule into model rules pushed onto `rules`.
    fn rule(
        &mut self,
        nsg: &Nsg,
        r: &SecurityRule,
        synthesized: bool,
        rules: &mut Vec<Rule>,
    ) -> LoweredRule {
        let ctx = RuleCtx {
            label: format!("{}/{}", nsg.name, r.name),
            rule_name: r.name.clone(),
            missing_span: if r.name_span.is_empty() {
                r.span
            } else {
                r.name_span
            },
            synthesized,
            nsg_span: if nsg.name_span.is_empty() {
                nsg.span
            } else {
                nsg.name_span
            },
        };
        // reasons the whole rule is undecidable
        let mut why_all: Vec<String> = Vec::new();
        for c in &r.conditions {
            self.note(c.span, &c.reason, "condition", None);
            why_all.push(c.reason.clone());
        }
        let (priority, priority_span) = match &r.priority {
            None => {
                self.missing(&ctx, "priority", &mut why_all);
                (None, ctx.missing_span)
            }
            Some(v) => match self.literal(v, "priority", "a number", &mut why_all) {
                None => (None, v.span),
                Some(t) => match t.parse::<i64>() {
                    Ok(p) => {
                        if !r.default_rule && !(100..=4096).contains(&p) {
                            self.error(
                                v.span,
                                format!(
                                    "priority {p} is outside 100-4096, the range Azure accepts for a rule; it is used as written"
                                ),
                                "priority out of range",
                            );
                        }
                        (Some(p), v.span)
                    }
                    Err(_) => {
                        self.error(
                            v.span,
                            format!("priority `{t}` is not a whole number"),
                            "not a number",
                        );
                        why_all.push(format!("priority `{t}` could not be read"));
                        (None, v.span)
                    }
                },
            },
        };
        if priority.is_none() {
            why_all.push(
                "its priority is unknown, so it may come before or after any other rule".into(),
            );
        }
        let both = vec![Hook::Input, Hook::Output];
        let hooks = match &r.direction {
            None => {
                self.missing(&ctx, "direction", &mut why_all);
                both
            }
            Some(v) => match self.literal(v, "direction", "a string", &mut why_all) {
                None => both,
                Some(t) if t.eq_ignore_ascii_case("inbound") => vec![Hook::Input],
                Some(t) if t.eq_ignore_ascii_case("outbound") => vec![Hook::Output],
                Some(t) => {
                    self.error(
                        v.span,
                        format!(
                            "`{t}` is not an NSG direction (Inbound or Outbound): the rule is evaluated as possibly inbound and possibly outbound"
                        ),
                        "unknown direction",
                    );
                    why_all.push(format!("direction `{t}` could not be read"));
                    both
                }
            },
        };
        let mut verdict_known = true;
        let action = match &r.access {
            None => {
                self.missing(&ctx, "access", &mut why_all);
                verdict_known = false;
                Action::Opaque
            }
            Some(v) => match self.literal(v, "access", "a string", &mut why_all) {
                None => {
                    verdict_known = false;
                    Action::Opaque
                }
                Some(t) if t.eq_ignore_ascii_case("allow") => Action::Accept,
                Some(t) if t.eq_ignore_ascii_case("deny") => Action::Drop,
                Some(t) => {
                    self.error(
                        v.span,
                        format!("`{t}` is not an NSG access (Allow or Deny)"),
                        "unknown access",
                    );
                    why_all.push(format!("access `{t}` could not be read"));
                    verdict_known = false;
                    Action::Opaque
                }
            },
        };
        if !verdict_known {
            why_all.push("the rule's verdict is unknown".into());
        }
        // dimension by dimension
        let mut why_dim: Vec<String> = Vec::new();
        let proto = self.protocol(r, &ctx, &mut why_dim);
        let src = self.addresses(
            &r.source_prefixes,
            &r.source_asgs,
            "source",
            &ctx,
            &mut why_dim,
        );
        let dst = self.addresses(
            &r.destination_prefixes,
            &r.destination_asgs,
            "destination",
            &ctx,
            &mut why_dim,
        );
        let mut sport = self.ports(&r.source_ports, "source", &ctx, &mut why_dim);
        let mut dport = self.ports(&r.destination_ports, "destination", &ctx, &mut why_dim);
        let with_ports = ProtoSet::from_ranges([(TCP, TCP), (UDP, UDP)]);
        if !proto.unknown && !proto.known.intersects(&with_ports) {
            // Icmp, Esp, Ah: no ports. Ranges that leave out some port may or may not restrict
            // the rule, and what they would match is unknown: no part of it is sure then.
            let restricting =
                sport.unknown || dport.unknown || !sport.known.is_full() || !dport.known.is_full();
            let written: Vec<&Value> = r
                .source_ports
                .iter()
                .chain(&r.destination_ports)
                .filter(|v| !(v.state == ValueState::Literal && v.text.trim() == "*"))
                .collect();
            if let Some(first) = written.first().filter(|_| restricting) {
                let msg = format!(
                    "rule `{}` gives ports for a protocol without ports; Azure does not say whether they restrict it",
                    ctx.label
                );
                self.note(first.span, &msg, "ports on a portless protocol", None);
                why_dim.push(msg);
            }
            for d in [&mut sport, &mut dport] {
                d.known = if restricting {
                    PortSet::empty()
                } else {
                    PortSet::full()
                };
                d.unknown = restricting;
            }
        }
        let label = match (priority, synthesized) {
            (Some(p), false) => format!("{} (priority {p})", ctx.label),
            (Some(p), true) => {
                format!(
                    "{} (priority {p}) (default rule, not in the export)",
                    ctx.label
                )
            }
            (None, _) => format!("{} (priority unknown)", ctx.label),
        };
        let label = if r.assumptions.is_empty() {
            label
        } else {
            let list: Vec<String> = r
                .assumptions
                .iter()
                .map(|(p, v)| format!("`{p}` = `{v}`"))
                .collect();
            for (p, v) in &r.assumptions {
                let msg = format!(
                    "rule `{}` uses the defaultValue of ARM parameter `{p}` (`{v}`); a deployment can override it, so every verdict the rule decides assumes it",
                    ctx.label
                );
                self.note(
                    ctx.missing_span,
                    &msg,
                    "assumes a parameter default",
                    Some("give the deployment's parameters file (`<template>.parameters.json` beside the template is read), or audit the deployed NSG (`az network nsg show`)"),
                );
            }
            format!("{label} [assumes parameter default {}]", list.join(", "))
        };
        let span = if synthesized { Span::default() } else { r.span };
        let prov = self.prov(span, label);
        let dims_unknown =
            proto.unknown || src.unknown || dst.unknown || sport.unknown || dport.unknown;
        let make = |widen: bool| PacketBox {
            src: if widen && src.unknown {
                AddrSet::any()
            } else {
                src.known.clone()
            },
            dst: if widen && dst.unknown {
                AddrSet::any()
            } else {
                dst.known.clone()
            },
            proto: if widen && proto.unknown {
                ProtoSet::full()
            } else {
                proto.known.clone()
            },
            sport: if widen && sport.unknown {
                PortSet::full()
            } else {
                sport.known.clone()
            },
            dport: if widen && dport.unknown {
                PortSet::full()
            } else {
                dport.known.clone()
            },
            state: all_states(),
            iif: IntervalSet::full(),
            oif: IntervalSet::full(),
        };
        let mut boxes: Vec<(PacketBox, Vec<String>)> = Vec::new();
        if why_all.is_empty() && dims_unknown {
            // the part that certainly matches stays decided; the rest is undecidable
            let sure = make(false);
            if !sure.is_empty() {
                boxes.push((sure, Vec::new()));
            }
            boxes.push((make(true), why_dim));
        } else {
            let mut why = why_all;
            why.extend(why_dim);
            boxes.push((make(dims_unknown), why));
        }
        // ICMP has no ports (the model keeps its type and code there): whether the ports of an
        // any-protocol rule restrict ICMP is not documented, so that part is undecidable
        let icmp = ProtoSet::from_ranges([(ICMP, ICMP), (ICMPV6, ICMPV6)]);
        let mut split = Vec::with_capacity(boxes.len());
        let mut icmp_only_doubt = None;
        for (b, why) in boxes {
            let ported = !(b.sport.is_full() && b.dport.is_full());
            if !ported || !b.proto.intersects(&icmp) || b.proto.is_subset(&icmp) {
                split.push((b, why));
                continue;
            }
            let mut rest = b.clone();
            rest.proto = b.proto.difference(&icmp);
            let mut pings = b;
            pings.proto = pings.proto.intersect(&icmp);
            pings.sport = PortSet::full();
            pings.dport = PortSet::full();
            let mut why_icmp = why.clone();
            why_icmp.push(format!(
                "rule `{}` applies to any protocol with port ranges; Azure does not say whether the ports restrict ICMP",
                ctx.label
            ));
            if why.is_empty() {
                icmp_only_doubt = Some((split.len() + 1, rest.sport.clone(), rest.dport.clone()));
            }
            split.push((rest, why));
            split.push((pings, why_icmp));
        }
        let mut ids = Vec::new();
        let mut icmp_doubt = None;
        for (k, (b, why)) in split.into_iter().enumerate() {
            if let Some((_, sp, dp)) = icmp_only_doubt.as_ref().filter(|d| d.0 == k) {
                icmp_doubt = Some((rules.len(), sp.clone(), dp.clone()));
            }
            ids.push(rules.len());
            rules.push(Rule {
                matches: b,
                undecidable: dedup(why),
                mark: None,
                action,
                prov: prov.clone(),
                comment: r.description.clone(),
                native: NativeRef::Nsg {
                    name: r.name.clone(),
                    priority: priority.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
                },
                // Azure's default rules (AllowVnetInBound, DenyAllInBound, ...): always there
                builtin: r.default_rule || synthesized,
            });
        }
        LoweredRule {
            hooks,
            priority,
            priority_span,
            name: r.name.clone(),
            rules: ids,
            icmp_doubt,
        }
    }

    fn nsg(&mut self, n: &Nsg) -> Ruleset {
        let mut rules: Vec<Rule> = Vec::new();
        // (hook, sort key, lowered) in file order
        let mut placed: Vec<LoweredRule> = Vec::new();
        let mut front: Vec<RuleId> = Vec::new();
        for d in &n.doubts {
            let (action, what) = match d.kind {
                NsgDoubtKind::MayBeAbsent => (Action::Accept, "may not be deployed"),
                NsgDoubtKind::RulesUnknown => (Action::Opaque, "rules not in the file"),
            };
            self.note(d.span, &d.reason, what, None);
            front.push(rules.len());
            rules.push(Rule {
                matches: PacketBox::full(),
                undecidable: vec![d.reason.clone()],
                mark: None,
                action,
                prov: self.prov(d.span, format!("{} ({what})", n.name)),
                comment: None,
                native: NativeRef::None,
                builtin: false,
            });
        }
        let synthesized: Vec<SecurityRule> = default_rules()
            .into_iter()
            .filter(|d| {
                !n.rules
                    .iter()
                    .any(|r| r.default_rule && r.name.eq_ignore_ascii_case(&d.name))
            })
            .collect();
        for (r, synth) in n
            .rules
            .iter()
            .map(|r| (r, false))
            .chain(synthesized.iter().map(|r| (r, true)))
        {
            let lr = self.rule(n, r, synth, &mut rules);
            placed.push(lr);
        }
        let mut chains = Vec::new();
        for (hook, cname, dir) in [
            (Hook::Input, "Inbound", "inbound"),
            (Hook::Output, "Outbound", "outbound"),
        ] {
            let mut mine: Vec<&LoweredRule> =
                placed.iter().filter(|l| l.hooks.contains(&hook)).collect();
            // unknown priorities first (they may precede anything); stable: file order on ties
            mine.sort_by_key(|l| l.priority.unwrap_or(i64::MIN));
            for pair in mine.windows(2) {
                if let [a, b] = pair {
                    if let (Some(pa), Some(pb)) = (a.priority, b.priority) {
                        if pa == pb && a.hooks.len() == 1 && b.hooks.len() == 1 {
                            self.error(
                                b.priority_span,
                                format!(
                                    "priority {pb} is used by two {dir} rules of NSG `{}`, `{}` and `{}`; Azure refuses equal priorities in one direction (evaluated in file order)",
                                    n.name, a.name, b.name
                                ),
                                "duplicate priority",
                            );
                        }
                    }
                }
            }
            let mut ids = front.clone();
            ids.extend(icmp::drop_covered_icmp(&mine, &rules));
            chains.push(Chain {
                name: cname.to_string(),
                policy: Some(Verdict::Deny),
                decl: Provenance {
                    label: format!("{}/{cname}: no rule matched (deny)", n.name).into(),
                    ..Provenance::default()
                },
                rules: ids,
            });
        }
        let policy = Policy {
            name: n.name.clone(),
            family: None,
            semantics: Semantics::Priority,
            chains,
            rules,
            entries: vec![
                Entry {
                    name: format!("{}/Inbound", n.name),
                    hook: Hook::Input,
                    chain: 0,
                },
                Entry {
                    name: format!("{}/Outbound", n.name),
                    hook: Hook::Output,
                    chain: 1,
                },
            ],
            union_cache: Default::default(),
        };
        Ruleset::of_policy(Platform::AzureNsg, Some(n.name.clone()), policy, false)
    }
}

struct RuleCtx {
    /// `nsg/rule`
    label: String,
    rule_name: String,
    /// Where a missing field is reported: the rule's name, else its object.
    missing_span: Span,
    /// A default rule the export omits.
    synthesized: bool,
    /// The NSG's name (or object), where problems of omitted default rules are reported.
    nsg_span: Span,
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
