//! Reading an az CLI / REST / Resource Graph / ARM document into the AST: which shapes are ours,
//! and the reader of NSGs and rules (inside a template, strings are ARM expressions).

use std::cell::{Cell, RefCell};
use std::path::Path;

use super::arm::expr::{
    display_segs, first_why, literal_of, unresolved_reason, ArmInputs, ArmScope, Ev, Seg,
};
use super::arm::template::{read_template, ArmCollect};
use super::ast::{Nsg, NsgDoubt, NsgDoubtKind, SecurityRule, Value, ValueState};
use crate::formats::json::fields::parse_error;
use crate::formats::json::{Json, Kind};
use crate::formats::source::SourceText;
use crate::formats::ParseIssue;
use crate::model::Span;

// ------------------------------------------------------------------------------------------------
// Sniffing: which shapes are ours
// ------------------------------------------------------------------------------------------------

pub(super) const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
pub(super) const RULE_TYPE: &str = "Microsoft.Network/networkSecurityGroups/securityRules";
const DEFAULT_RULE_TYPE: &str = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules";
pub(super) const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";
/// How deep templates may nest (deployments in deployments, child resources).
pub(super) const MAX_NESTING: usize = 16;

/// What a document holds.
#[derive(Default)]
pub(super) struct Found<'j, 'a> {
    nsgs: Vec<&'j Json<'a>>,
    rules: Vec<&'j Json<'a>>,
    templates: Vec<&'j Json<'a>>,
    /// Array elements next to NSGs or rules that are neither (nor another typed resource).
    strays: Vec<&'j Json<'a>>,
}

impl Found<'_, '_> {
    pub(super) fn any(&self) -> bool {
        !(self.nsgs.is_empty() && self.rules.is_empty() && self.templates.is_empty())
    }
}

pub(super) fn str_ci(j: Option<&Json<'_>>, want: &str) -> bool {
    j.and_then(|v| v.as_str())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case(want))
}

pub(super) fn type_of<'j>(j: &'j Json<'_>) -> Option<&'j str> {
    j.get_ci("type").and_then(|t| t.as_str()).map(str::trim)
}

/// A field of a resource: under `properties` when that is an object, else at the top (the CLI
/// flattens `properties`).
fn field<'j, 'a>(j: &'j Json<'a>, key: &str) -> Option<&'j Json<'a>> {
    j.get_ci("properties")
        .filter(|p| p.members().is_some())
        .and_then(|p| p.get_ci(key))
        .or_else(|| j.get_ci(key))
}

fn is_nsg(j: &Json<'_>) -> bool {
    if j.members().is_none() {
        return false;
    }
    if type_of(j).is_some_and(|t| t.eq_ignore_ascii_case(NSG_TYPE)) {
        return true;
    }
    ["securityRules", "defaultSecurityRules"]
        .iter()
        .any(|k| field(j, k).is_some_and(|v| v.as_array().is_some()))
}

fn is_rule(j: &Json<'_>) -> bool {
    if j.members().is_none() {
        return false;
    }
    if type_of(j).is_some_and(|t| {
        t.eq_ignore_ascii_case(RULE_TYPE) || t.eq_ignore_ascii_case(DEFAULT_RULE_TYPE)
    }) {
        return true;
    }
    ["access", "direction", "priority"]
        .iter()
        .all(|k| field(j, k).is_some())
}

/// Some fields of a security rule (not enough to tell a rule on its own).
fn looks_like_rule(j: &Json<'_>) -> bool {
    j.members().is_some()
        && [
            "access",
            "direction",
            "priority",
            "protocol",
            "sourceAddressPrefix",
            "destinationAddressPrefix",
            "destinationPortRange",
            "destinationPortRanges",
        ]
        .iter()
        .any(|k| field(j, k).is_some())
}

fn is_template(j: &Json<'_>) -> bool {
    let resources = j
        .get("resources")
        .is_some_and(|r| r.as_array().is_some() || r.members().is_some());
    let schema = j
        .get("$schema")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.to_ascii_lowercase().contains("deploymenttemplate"));
    resources && (schema || j.get("contentVersion").is_some())
}

/// The resources of a template or of a parent resource: an array, or (Bicep `languageVersion`
/// 2.0) an object keyed by symbolic name.
pub(super) fn resources_of<'j, 'a>(j: &'j Json<'a>) -> Vec<&'j Json<'a>> {
    match j.get_ci("resources").map(|r| &r.kind) {
        Some(Kind::Array(items)) => items.iter().collect(),
        Some(Kind::Object(members)) => members.iter().map(|m| &m.value).collect(),
        _ => Vec::new(),
    }
}

fn template_has_nsg(t: &Json<'_>, depth: usize) -> bool {
    depth < MAX_NESTING
        && resources_of(t).into_iter().any(|r| {
            let ty = type_of(r).unwrap_or("");
            ty.eq_ignore_ascii_case(NSG_TYPE)
                || ty.eq_ignore_ascii_case(RULE_TYPE)
                || (ty.eq_ignore_ascii_case(DEPLOYMENT_TYPE)
                    && r.path(&["properties", "template"])
                        .is_some_and(|t| template_has_nsg(t, depth + 1)))
        })
}

pub(super) fn classify<'j, 'a>(j: &'j Json<'a>, depth: usize, out: &mut Found<'j, 'a>) {
    match &j.kind {
        Kind::Array(items) => {
            let mut rule_ish = Vec::new();
            let mut rules = 0;
            for item in items {
                if is_nsg(item) {
                    out.nsgs.push(item);
                } else if is_rule(item) {
                    out.rules.push(item);
                    rules += 1;
                } else if type_of(item).is_none() {
                    if looks_like_rule(item) {
                        rule_ish.push(item);
                    } else {
                        out.strays.push(item);
                    }
                }
                // another typed Azure resource (`az resource list`): not ours, skipped
            }
            // next to rules, an object with some rule fields is a rule with fields missing
            if rules > 0 {
                out.rules.extend(rule_ish);
            } else {
                out.strays.extend(rule_ish);
            }
        }
        Kind::Object(_) => {
            if is_template(j) {
                if template_has_nsg(j, 0) {
                    out.templates.push(j);
                }
            } else if let (Some(resp), true) = (j.get("responses"), depth < 2) {
                // REST example: {parameters, responses: {"200": {body}}}
                let bodies = resp.members().unwrap_or(&[]);
                let body = bodies
                    .iter()
                    .find(|m| m.key == "200")
                    .and_then(|m| m.value.get("body"))
                    .or_else(|| bodies.iter().find_map(|m| m.value.get("body")));
                if let Some(b) = body {
                    classify(b, depth + 1, out);
                }
            } else if let (Some(rows), true) =
                (j.get("data").filter(|d| d.as_array().is_some()), depth < 2)
            {
                // Resource Graph: {count, data: [rows], skip_token, total_records}
                classify(rows, depth + 1, out);
            } else if let (Some(list), true) =
                (j.get("value").filter(|d| d.as_array().is_some()), depth < 2)
            {
                // REST list: {value: [...], nextLink}
                classify(list, depth + 1, out);
            } else if is_nsg(j) {
                out.nsgs.push(j);
            } else if is_rule(j) {
                out.rules.push(j);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------------
// Reading JSON into the AST
// ------------------------------------------------------------------------------------------------

/// The source text of a span, shortened for messages.
pub(super) fn excerpt(src: &SourceText, span: Span) -> String {
    let t = src.text.get(span.start..span.end).unwrap_or("");
    let mut out: String = t.chars().take(60).collect();
    if t.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn file_stem(src: &SourceText) -> String {
    Path::new(&src.name)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("rules")
        .to_string()
}

/// Read every NSG a document holds (a bare list of rules becomes one NSG named after the file).
pub fn read(src: &SourceText, json: &Json<'_>, issues: &mut Vec<ParseIssue>) -> Vec<Nsg> {
    read_with(src, json, None, issues)
}

/// [`read`], with the `parameters` object of an ARM parameters file (`{"x": {"value": ...}}`)
/// whose values win over the template's `defaultValue`s.
pub fn read_with<'j, 'a>(
    src: &SourceText,
    json: &'j Json<'a>,
    given: Option<&'j Json<'a>>,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Nsg> {
    let mut found = Found::default();
    classify(json, 0, &mut found);
    let plain = Reader { src, arm: None };
    let mut out: Vec<Nsg> = found
        .nsgs
        .iter()
        .map(|j| plain.read_nsg(j, issues))
        .collect();
    if !found.rules.is_empty() {
        let mut nsg = Nsg::new(file_stem(src), Span::default(), json.span);
        nsg.rules = found
            .rules
            .iter()
            .filter_map(|j| plain.read_rule(j, false, issues))
            .collect();
        nsg.default_rules_present = nsg.rules.iter().any(|r| r.default_rule);
        out.push(nsg);
    }
    if found.any() {
        for s in &found.strays {
            issues.push(parse_error(
                s.span,
                format!(
                    "this element is {}, neither an NSG nor a security rule; it is skipped",
                    s.type_name()
                ),
                "not an NSG or rule",
            ));
        }
    }
    for t in &found.templates {
        let mut arm = ArmCollect::default();
        let steps = Cell::new(0);
        let assumed = RefCell::new(Vec::new());
        let inputs = ArmInputs {
            steps: &steps,
            given,
            assumed: &assumed,
        };
        let scope = ArmScope::of(t, inputs);
        read_template(src, t, scope, &[], 0, &mut arm, issues);
        out.extend(arm.finish());
    }
    out
}

/// Reads rules and NSGs; inside an ARM template, strings are evaluated as ARM expressions.
#[derive(Clone, Copy)]
pub(super) struct Reader<'r, 'j, 'a> {
    pub(super) src: &'r SourceText,
    pub(super) arm: Option<ArmScope<'j, 'a>>,
}

impl<'j, 'a> Reader<'_, 'j, 'a> {
    /// Evaluate a string: an ARM expression inside a template, a literal elsewhere.
    fn eval(&self, s: &str) -> Ev<'j, 'a> {
        match &self.arm {
            Some(scope) => scope.eval_string(s, 0),
            None => Ev::Str(vec![Seg::Lit(s.to_string())]),
        }
    }

    fn value_of_ev(&self, ev: Ev<'j, 'a>, raw: &str, span: Span) -> Option<Value> {
        match ev {
            Ev::Str(segs) => match literal_of(&segs) {
                Some(t) => Some(Value::literal(t, span)),
                None => Some(Value::unresolved(raw, span, unresolved_reason(raw, &segs))),
            },
            Ev::Node(n) => match &n.kind {
                Kind::Null => None,
                Kind::Number(t) => Some(Value::literal(*t, span)),
                Kind::String(s) => Some(Value::literal(s.as_ref(), span)),
                _ => Some(Value::wrong_type(raw, span, n.type_name())),
            },
        }
    }

    /// Values read from a parameters file have spans in that file: point them at the template's
    /// expression that asked for them instead.
    fn respan_given(&self, n: &Json<'_>, vals: &mut [Value], at: Span) {
        if self.arm.is_some_and(|s| s.is_given(n)) {
            for v in vals {
                v.span = at;
            }
        }
    }

    /// One scalar value (a string or a number); `None` for `null`.
    fn scalar(&self, v: &'j Json<'a>) -> Option<Value> {
        match &v.kind {
            Kind::Null => None,
            Kind::Number(t) => Some(Value::literal(*t, v.span)),
            Kind::String(s) => self.value_of_ev(self.eval(s), s, v.span),
            _ => Some(Value::wrong_type(
                excerpt(self.src, v.span),
                v.span,
                v.type_name(),
            )),
        }
    }

    /// A string, a number or an array of them (ARM: an expression may give an array). Empty
    /// strings (unused singulars) are left out.
    fn list(&self, v: &'j Json<'a>) -> Vec<Value> {
        let keep = |x: &Value| !(x.state == ValueState::Literal && x.text.trim().is_empty());
        match &v.kind {
            Kind::Null => Vec::new(),
            Kind::Array(items) => {
                items
                    .iter()
                    .filter_map(|i| match &i.kind {
                        Kind::Array(_) | Kind::Object(_) | Kind::Bool(_) => Some(
                            Value::wrong_type(excerpt(self.src, i.span), i.span, i.type_name()),
                        ),
                        _ => self.scalar(i),
                    })
                    .filter(keep)
                    .collect()
            }
            Kind::String(s) => match self.eval(s) {
                Ev::Node(n) if n.as_array().is_some() => {
                    let mut vals = self.list(n);
                    self.respan_given(n, &mut vals, v.span);
                    vals
                }
                ev => self
                    .value_of_ev(ev, s, v.span)
                    .into_iter()
                    .filter(keep)
                    .collect(),
            },
            _ => self.scalar(v).into_iter().filter(keep).collect(),
        }
    }

    /// `[{"id": "..."}]` (or plain id strings).
    fn asgs(&self, v: &'j Json<'a>) -> Vec<Value> {
        let one = |i: &'j Json<'a>| -> Option<Value> {
            match &i.kind {
                Kind::Object(_) => match i.get_ci("id") {
                    Some(id) => self.scalar(id),
                    None => Some(Value::wrong_type(
                        excerpt(self.src, i.span),
                        i.span,
                        "an object without an `id`",
                    )),
                },
                Kind::Null => None,
                _ => self.scalar(i),
            }
        };
        match &v.kind {
            Kind::Null => Vec::new(),
            Kind::Array(items) => items.iter().filter_map(one).collect(),
            Kind::String(s) => match self.eval(s) {
                Ev::Node(n) if n.as_array().is_some() => {
                    let mut vals = self.asgs(n);
                    self.respan_given(n, &mut vals, v.span);
                    vals
                }
                ev => self.value_of_ev(ev, s, v.span).into_iter().collect(),
            },
            _ => one(v).into_iter().collect(),
        }
    }

    /// A name: the display text and the evaluated segments (for matching ARM parents).
    pub(super) fn name(&self, v: Option<&'j Json<'a>>) -> Option<(String, Vec<Seg>, Span)> {
        let v = v?;
        let s = v.as_str()?;
        let segs = match self.eval(s) {
            Ev::Str(segs) => segs,
            Ev::Node(n) => vec![Seg::Lit(excerpt(self.src, n.span))],
        };
        let shown = literal_of(&segs).unwrap_or_else(|| display_segs(&segs));
        Some((shown, segs, v.span))
    }

    pub(super) fn read_rule(
        &self,
        j: &'j Json<'a>,
        default_hint: bool,
        issues: &mut Vec<ParseIssue>,
    ) -> Option<SecurityRule> {
        if j.members().is_none() {
            issues.push(parse_error(
                j.span,
                format!(
                    "a security rule must be a JSON object, not {}",
                    j.type_name()
                ),
                "not a rule object",
            ));
            return None;
        }
        let (name, _, name_span) = self
            .name(j.get_ci("name"))
            .unwrap_or_else(|| ("(unnamed rule)".to_string(), Vec::new(), Span::default()));
        let mut r = SecurityRule::new(name, name_span, j.span);
        // the defaults the name used do not decide a verdict: only those of the fields count
        let before = self.arm.map(|s| s.assumed.borrow().len()).unwrap_or(0);
        let id = j.get_ci("id").and_then(|v| v.as_str()).unwrap_or("");
        r.default_rule = default_hint
            || id.to_ascii_lowercase().contains("/defaultsecurityrules/")
            || type_of(j).is_some_and(|t| t.eq_ignore_ascii_case(DEFAULT_RULE_TYPE));
        let f = |k: &str| field(j, k);
        r.priority = f("priority").and_then(|v| self.scalar(v));
        r.direction = f("direction").and_then(|v| self.scalar(v));
        r.access = f("access").and_then(|v| self.scalar(v));
        r.protocol = f("protocol").and_then(|v| self.scalar(v));
        let both = |one: &str, many: &str| -> Vec<Value> {
            let mut v = f(one).map(|x| self.list(x)).unwrap_or_default();
            v.extend(f(many).map(|x| self.list(x)).unwrap_or_default());
            v
        };
        r.source_prefixes = both("sourceAddressPrefix", "sourceAddressPrefixes");
        r.destination_prefixes = both("destinationAddressPrefix", "destinationAddressPrefixes");
        r.source_ports = both("sourcePortRange", "sourcePortRanges");
        r.destination_ports = both("destinationPortRange", "destinationPortRanges");
        r.source_asgs = f("sourceApplicationSecurityGroups")
            .map(|v| self.asgs(v))
            .unwrap_or_default();
        r.destination_asgs = f("destinationApplicationSecurityGroups")
            .map(|v| self.asgs(v))
            .unwrap_or_default();
        r.description = f("description")
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string);
        if let Some(scope) = &self.arm {
            let mut a = scope.assumed.borrow_mut();
            for (n, v) in a.get(before..).unwrap_or(&[]) {
                if !r.assumptions.iter().any(|(m, _)| m.eq_ignore_ascii_case(n)) {
                    r.assumptions.push((n.clone(), v.clone()));
                }
            }
            // each rule reports the defaults it used, even ones an earlier rule used first
            a.truncate(before);
        }
        Some(r)
    }

    /// Read a list of rules (`securityRules`, `defaultSecurityRules`). `None` when absent.
    fn rule_list(
        &self,
        nsg: &mut Nsg,
        v: &'j Json<'a>,
        key: &str,
        default_hint: bool,
        issues: &mut Vec<ParseIssue>,
    ) {
        match &v.kind {
            Kind::Null => {}
            Kind::Array(items) => {
                for i in items {
                    if let Some(r) = self.read_rule(i, default_hint, issues) {
                        nsg.rules.push(r);
                    }
                }
            }
            Kind::String(s) if self.arm.is_some() => match self.eval(s) {
                Ev::Node(n) if n.as_array().is_some() => {
                    self.rule_list(nsg, n, key, default_hint, issues)
                }
                Ev::Str(segs) => nsg.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span: v.span,
                    reason: format!(
                        "the `{key}` of NSG `{}` are an ARM expression that cannot be evaluated ({})",
                        nsg.name,
                        first_why(&segs)
                    ),
                }),
                Ev::Node(n) => issues.push(parse_error(
                    v.span,
                    format!("`{key}` must be an array, not {}", n.type_name()),
                    "not an array",
                )),
            },
            _ => issues.push(parse_error(
                v.span,
                format!("`{key}` must be an array of rules, not {}", v.type_name()),
                "not an array",
            )),
        }
    }

    pub(super) fn read_nsg(&self, j: &'j Json<'a>, issues: &mut Vec<ParseIssue>) -> Nsg {
        let id = j.get_ci("id").and_then(|v| v.as_str()).unwrap_or("");
        let (name, _, name_span) = self.name(j.get_ci("name")).unwrap_or_else(|| {
            let last = id.rsplit('/').find(|s| !s.is_empty());
            (
                last.map(str::to_string)
                    .unwrap_or_else(|| file_stem(self.src)),
                Vec::new(),
                Span::default(),
            )
        });
        let mut nsg = Nsg::new(name, name_span, j.span);
        let custom = field(j, "securityRules");
        let defaults = field(j, "defaultSecurityRules");
        if let Some(v) = custom {
            self.rule_list(&mut nsg, v, "securityRules", false, issues);
        }
        if let Some(v) = defaults {
            nsg.default_rules_present = v.as_array().is_some();
            self.rule_list(&mut nsg, v, "defaultSecurityRules", true, issues);
        }
        if self.arm.is_some() {
            // property iteration: "copy": [{"name": "securityRules", "count": ..., "input": ...}]
            let copies = field(j, "copy").and_then(|c| c.as_array()).unwrap_or(&[]);
            for c in copies {
                if str_ci(c.get_ci("name"), "securityRules") {
                    nsg.doubts.push(NsgDoubt {
                        kind: NsgDoubtKind::RulesUnknown,
                        span: c.span,
                        reason: format!(
                            "the rules of NSG `{}` come from an ARM `copy` loop, which Portolan does not expand",
                            nsg.name
                        ),
                    });
                }
            }
        } else if custom.is_none() && defaults.is_none() {
            nsg.doubts.push(NsgDoubt {
                kind: NsgDoubtKind::RulesUnknown,
                span: if name_span.is_empty() {
                    j.span
                } else {
                    name_span
                },
                reason: format!(
                    "the export does not list the rules of NSG `{}` (no `securityRules`)",
                    nsg.name
                ),
            });
        }
        nsg
    }
}
