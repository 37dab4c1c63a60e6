//! ARM templates: resources, child rules, nested deployments and conditions, read into NSGs.

use super::expr::{display_segs, literal_of, merged, ArmScope, Seg};
use crate::formats::azure::ast::{Note, Nsg, NsgDoubt, NsgDoubtKind, SecurityRule};
use crate::formats::azure::read::{
    excerpt, resources_of, str_ci, type_of, Reader, DEPLOYMENT_TYPE, MAX_NESTING, NSG_TYPE,
    RULE_TYPE,
};
use crate::formats::json::fields::parse_error;
use crate::formats::json::{Json, Kind};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Split evaluated `parent/child` segments at the first `/` of a literal part.
fn split_child_name(segs: &[Seg]) -> Option<(Vec<Seg>, Vec<Seg>)> {
    for (i, s) in segs.iter().enumerate() {
        if let Seg::Lit(t) = s {
            if let Some((a, b)) = t.split_once('/') {
                let mut left: Vec<Seg> = segs.get(..i).unwrap_or(&[]).to_vec();
                left.push(Seg::Lit(a.to_string()));
                let mut right = vec![Seg::Lit(b.to_string())];
                right.extend(segs.get(i + 1..).unwrap_or(&[]).iter().cloned());
                return Some((merged(left), merged(right)));
            }
        }
    }
    None
}

/// NSGs and loose child rules found in a template.
#[derive(Default)]
pub(in crate::formats::azure) struct ArmCollect {
    /// Each NSG with its name as evaluated segments (the key child rules refer to).
    nsgs: Vec<(Nsg, Vec<Seg>)>,
    /// Child rules whose parent is named: (parent key, rule).
    children: Vec<(Option<Vec<Seg>>, SecurityRule)>,
}

fn add_rule(nsg: &mut Nsg, rule: SecurityRule) {
    // a child resource deploys after its parent: it replaces an inline rule of the same name
    match nsg
        .rules
        .iter_mut()
        .find(|r| !r.default_rule && r.name.eq_ignore_ascii_case(&rule.name))
    {
        Some(slot) => *slot = rule,
        None => nsg.rules.push(rule),
    }
}

impl ArmCollect {
    pub(in crate::formats::azure) fn finish(mut self) -> Vec<Nsg> {
        let mut orphans: Vec<(Option<Vec<Seg>>, Nsg)> = Vec::new();
        for (key, rule) in std::mem::take(&mut self.children) {
            if let Some(k) = &key {
                if let Some((nsg, _)) = self.nsgs.iter_mut().find(|(_, nk)| nk == k) {
                    add_rule(nsg, rule);
                    continue;
                }
            }
            match orphans.iter_mut().find(|(k, _)| k.is_some() && *k == key) {
                Some((_, nsg)) => add_rule(nsg, rule),
                None => {
                    let name = match &key {
                        Some(k) => literal_of(k).unwrap_or_else(|| display_segs(k)),
                        None => "(unknown NSG)".to_string(),
                    };
                    let mut nsg = Nsg::new(name.clone(), Span::default(), rule.span);
                    nsg.doubts.push(NsgDoubt {
                        kind: NsgDoubtKind::RulesUnknown,
                        span: if rule.name_span.is_empty() {
                            rule.span
                        } else {
                            rule.name_span
                        },
                        reason: match &key {
                            Some(_) => format!(
                                "NSG `{name}` is not defined in this template: only its rules given here are known, the others are not"
                            ),
                            None => format!(
                                "the NSG of rule `{}` cannot be told from its name",
                                rule.name
                            ),
                        },
                    });
                    nsg.rules.push(rule);
                    orphans.push((key, nsg));
                }
            }
        }
        let mut out: Vec<Nsg> = self.nsgs.into_iter().map(|(n, _)| n).collect();
        out.extend(orphans.into_iter().map(|(_, n)| n));
        out
    }
}

/// Whether a resource is deployed: `Some(true/false)` when the condition settles it, `None` (with
/// the reason) when it depends on the deployment.
fn condition_of(scope: &ArmScope<'_, '_>, r: &Json<'_>, src: &SourceText) -> Result<bool, Note> {
    let Some(c) = r.get_ci("condition") else {
        return Ok(true);
    };
    let settled = match &c.kind {
        Kind::Bool(b) => Some(*b),
        Kind::String(s) => scope
            .eval_string(s, 0)
            .segs()
            .and_then(|s| literal_of(&s))
            .and_then(|t| match t.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
        _ => None,
    };
    settled.ok_or_else(|| Note {
        span: c.span,
        reason: format!(
            "deployed only when the ARM condition `{}` holds",
            excerpt(src, c.span).trim_matches('"')
        ),
    })
}

pub(in crate::formats::azure) fn read_template<'j, 'a>(
    src: &SourceText,
    t: &'j Json<'a>,
    scope: ArmScope<'j, 'a>,
    inherited: &[Note],
    depth: usize,
    out: &mut ArmCollect,
    issues: &mut Vec<ParseIssue>,
) {
    if depth >= MAX_NESTING {
        issues.push(parse_error(
            t.span,
            "templates nest too deeply; the inner ones are not read".into(),
            "too deep",
        ));
        return;
    }
    for r in resources_of(t) {
        read_resource(src, r, scope, inherited, None, depth, out, issues);
    }
}

#[allow(clippy::too_many_arguments)]
fn read_resource<'j, 'a>(
    src: &SourceText,
    r: &'j Json<'a>,
    scope: ArmScope<'j, 'a>,
    inherited: &[Note],
    parent: Option<usize>,
    depth: usize,
    out: &mut ArmCollect,
    issues: &mut Vec<ParseIssue>,
) {
    let Some(ty) = type_of(r) else {
        return;
    };
    let mut notes = inherited.to_vec();
    match condition_of(&scope, r, src) {
        Ok(true) => {}
        Ok(false) => return, // never deployed
        Err(note) => notes.push(note),
    }
    let reader = Reader {
        src,
        arm: Some(scope),
    };
    let copy = r.get_ci("copy").filter(|c| c.members().is_some());
    let is_child_rule = ty.eq_ignore_ascii_case(RULE_TYPE)
        || (parent.is_some() && ty.eq_ignore_ascii_case("securityRules"));
    if ty.eq_ignore_ascii_case(NSG_TYPE) {
        if r.get_ci("existing").and_then(|e| e.as_bool()) == Some(true) {
            return; // a reference to an NSG deployed elsewhere: its children are orphans
        }
        let mut nsg = reader.read_nsg(r, issues);
        let key = reader
            .name(r.get_ci("name"))
            .map(|(_, segs, _)| merged(segs))
            .unwrap_or_default();
        if let Some(c) = copy {
            issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: c.span,
                message: format!(
                    "NSG `{}` is deployed by an ARM `copy` loop, which Portolan does not expand: it is read once",
                    nsg.name
                ),
                label: "copy loop".into(),
                help: Some("audit the deployed NSGs (`az network nsg list`) instead".into()),
            });
        }
        for n in notes {
            nsg.doubts.push(NsgDoubt {
                kind: NsgDoubtKind::MayBeAbsent,
                span: n.span,
                reason: format!(
                    "NSG `{}` is {}; without it nothing is filtered",
                    nsg.name, n.reason
                ),
            });
        }
        out.nsgs.push((nsg, key));
        let idx = out.nsgs.len() - 1;
        for child in resources_of(r) {
            // the NSG's own doubts cover conditions above it
            read_resource(src, child, scope, &[], Some(idx), depth + 1, out, issues);
        }
    } else if is_child_rule {
        let Some(mut rule) = reader.read_rule(r, false, issues) else {
            return;
        };
        let segs = reader
            .name(r.get_ci("name"))
            .map(|(_, segs, _)| merged(segs))
            .unwrap_or_default();
        let (parent_key, rule_segs) = match split_child_name(&segs) {
            Some((p, c)) => (Some(p), c),
            None => (None, segs),
        };
        rule.name = literal_of(&rule_segs).unwrap_or_else(|| display_segs(&rule_segs));
        for n in notes {
            rule.conditions.push(Note {
                span: n.span,
                reason: format!("the rule is {}", n.reason),
            });
        }
        if let Some(c) = copy {
            rule.conditions.push(Note {
                span: c.span,
                reason:
                    "the rule is deployed by an ARM `copy` loop, which Portolan does not expand"
                        .into(),
            });
        }
        match parent.and_then(|i| out.nsgs.get_mut(i)) {
            Some((nsg, _)) => add_rule(nsg, rule),
            None => out.children.push((parent_key, rule)),
        }
    } else if ty.eq_ignore_ascii_case(DEPLOYMENT_TYPE) {
        let props = r.get_ci("properties");
        let Some(inner) = props.and_then(|p| p.get_ci("template")) else {
            return;
        };
        let inner_scope = props
            .and_then(|p| p.path(&["expressionEvaluationOptions", "scope"]))
            .is_some_and(|s| str_ci(Some(s), "inner"));
        let s = if inner_scope {
            ArmScope::of(inner, scope.inner_inputs())
        } else {
            scope
        };
        read_template(src, inner, s, &notes, depth + 1, out, issues);
    }
}
