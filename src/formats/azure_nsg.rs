//! Azure network security groups: `az network nsg show|list`, `az network nsg rule list|show`,
//! REST / Resource Graph / Az PowerShell resources (rule fields nested under `properties` or
//! flattened), the REST example wrapper `{parameters, responses: {"200": {body}}}`, and ARM
//! templates (inline `securityRules` and child `networkSecurityGroups/securityRules` resources).
//!
//! The file is first read into a small vendor AST ([`Nsg`], [`SecurityRule`], every value a
//! [`Value`] with its span), then [`lower`]ed into the common model: one [`Ruleset`] per NSG with
//! one [`Policy`] (priority semantics) holding an `Inbound` and an `Outbound` chain.
//!
//! Modelling choices, all sound (a doubt never becomes an answer):
//! - Rules are sorted by ascending priority per direction. The six default rules are appended
//!   when the export lacks them (ARM templates never show them).
//! - Service tags and application security groups resolve through the [`Resolver`]; an unknown
//!   name makes the rule undecidable on that side (the part of the rule that only uses literal
//!   addresses stays decided). `Internet` is *not* "everything": it too must be resolved.
//! - A value that cannot be read (`"priority": true`, port `99999`) is a Z001 and makes the rule
//!   undecidable; the rule is kept. A rule whose priority is unknown (missing, unreadable, an ARM
//!   expression) may sit anywhere in its chain, so it is evaluated *first*, undecidable: where it
//!   matches, both "it decides" and "the later rules decide" are followed. A rule whose direction
//!   is unknown is likewise placed, undecidable, in both chains.
//! - ARM expressions are evaluated only as far as the template settles them: `parameters('x')`
//!   with a literal `defaultValue`, `variables('x')`, `concat`, `format`, `resourceId`. Anything
//!   else leaves the value unresolved, which is a Z002, never a guess. A resource `condition` makes
//!   the rule undecidable (it may not be deployed); on the NSG itself it adds an undecidable
//!   "allow everything" rule in front (without the NSG nothing is filtered).
//! - `Icmp` is ICMP and ICMPv6; ports do not apply to `Icmp`, `Esp` and `Ah` (a rule that still
//!   names some is undecidable). For a `*` rule with port ranges, whether the ports restrict ICMP
//!   is not documented: its ICMP part is undecidable, the rest is decided.
//! - Rules the file cannot show (an NSG only referenced by child rules, a `copy` loop of rules)
//!   put an undecidable rule of unknown verdict in front: every answer through that NSG is unknown.

use std::cell::Cell;
use std::collections::HashSet;
use std::path::Path;

use super::json::{Json, Kind};
use super::source::SourceText;
use super::{IssueKind, ParseIssue, Parsed, Resolver};
use crate::model::ports::{self, all_states, PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
use crate::model::{
    Action, AddrSet, Chain, Entry, Hook, IntervalSet, PacketBox, Policy, Provenance, Rule, RuleId,
    Ruleset, Semantics, Span, Verdict,
};

// ------------------------------------------------------------------------------------------------
// The vendor AST
// ------------------------------------------------------------------------------------------------

/// How a [`Value`] was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueState {
    /// As written (a string's contents, or a number as text).
    Literal,
    /// An expression the file cannot settle (an ARM `[variables('x')]`, a Terraform unknown):
    /// the reason, one sentence naming the expression.
    Unresolved(String),
    /// The JSON type is wrong: what was found (`a boolean`, `an object`).
    WrongType(&'static str),
}

/// One field value of a rule, with the span of the value in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text: a string's contents, a number as written, or (unresolved, wrong type) the source
    /// text of the value.
    pub text: String,
    pub span: Span,
    pub state: ValueState,
}

impl Value {
    pub fn literal(text: impl Into<String>, span: Span) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::Literal,
        }
    }
    pub fn unresolved(text: impl Into<String>, span: Span, why: impl Into<String>) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::Unresolved(why.into()),
        }
    }
    pub fn wrong_type(text: impl Into<String>, span: Span, found: &'static str) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::WrongType(found),
        }
    }
}

/// Something that makes a rule (or an NSG) uncertain, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub span: Span,
    /// One sentence: why (`the rule is deployed only when the ARM condition `...` holds`).
    pub reason: String,
}

/// One security rule as the export gives it. Singular and plural fields (`sourcePortRange` and
/// `sourcePortRanges`) are merged into one list; unused empty singulars (`""`, `null`) are left
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRule {
    pub name: String,
    pub name_span: Span,
    /// The rule's whole object (the provenance of the model rules).
    pub span: Span,
    /// One of the six rules Azure adds to every NSG (from `defaultSecurityRules`, or an id or type
    /// that says so).
    pub default_rule: bool,
    pub priority: Option<Value>,
    pub direction: Option<Value>,
    pub access: Option<Value>,
    pub protocol: Option<Value>,
    pub source_prefixes: Vec<Value>,
    pub destination_prefixes: Vec<Value>,
    /// Application security groups by resource id (or name).
    pub source_asgs: Vec<Value>,
    pub destination_asgs: Vec<Value>,
    pub source_ports: Vec<Value>,
    pub destination_ports: Vec<Value>,
    pub description: Option<String>,
    /// Conditions on the rule's existence (an ARM resource `condition`, a `copy` loop): each makes
    /// the rule undecidable.
    pub conditions: Vec<Note>,
}

impl SecurityRule {
    /// An empty rule with this name; the fields are filled by the caller.
    pub fn new(name: impl Into<String>, name_span: Span, span: Span) -> Self {
        SecurityRule {
            name: name.into(),
            name_span,
            span,
            default_rule: false,
            priority: None,
            direction: None,
            access: None,
            protocol: None,
            source_prefixes: Vec::new(),
            destination_prefixes: Vec::new(),
            source_asgs: Vec::new(),
            destination_asgs: Vec::new(),
            source_ports: Vec::new(),
            destination_ports: Vec::new(),
            description: None,
            conditions: Vec::new(),
        }
    }
}

/// What a doubt about a whole NSG means for its evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsgDoubtKind {
    /// The NSG may not exist (an ARM `condition`): then nothing is filtered.
    MayBeAbsent,
    /// Some of its rules are not in the file: any packet's verdict is unknown.
    RulesUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsgDoubt {
    pub kind: NsgDoubtKind,
    pub span: Span,
    pub reason: String,
}

/// One network security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsg {
    pub name: String,
    pub name_span: Span,
    /// The NSG's object (or resource) in the file.
    pub span: Span,
    /// Custom rules, then any default rules the export shows, in file order.
    pub rules: Vec<SecurityRule>,
    /// The export carried a `defaultSecurityRules` list. Informational: [`lower`] appends each of
    /// the six defaults that is not among `rules` either way.
    pub default_rules_present: bool,
    pub doubts: Vec<NsgDoubt>,
}

impl Nsg {
    pub fn new(name: impl Into<String>, name_span: Span, span: Span) -> Self {
        Nsg {
            name: name.into(),
            name_span,
            span,
            rules: Vec::new(),
            default_rules_present: false,
            doubts: Vec::new(),
        }
    }
}

/// The six rules Azure puts at the end of every NSG: (name, direction, priority, source,
/// destination, access, description).
const DEFAULTS: [(&str, &str, i64, &str, &str, &str, &str); 6] = [
    (
        "AllowVnetInBound",
        "Inbound",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        "Allow inbound traffic from all VMs in VNET",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Inbound",
        65001,
        "AzureLoadBalancer",
        "*",
        "Allow",
        "Allow inbound traffic from azure load balancer",
    ),
    (
        "DenyAllInBound",
        "Inbound",
        65500,
        "*",
        "*",
        "Deny",
        "Deny all inbound traffic",
    ),
    (
        "AllowVnetOutBound",
        "Outbound",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        "Allow outbound traffic from all VMs to all VMs in VNET",
    ),
    (
        "AllowInternetOutBound",
        "Outbound",
        65001,
        "*",
        "Internet",
        "Allow",
        "Allow outbound traffic from all VMs to Internet",
    ),
    (
        "DenyAllOutBound",
        "Outbound",
        65500,
        "*",
        "*",
        "Deny",
        "Deny all outbound traffic",
    ),
];

/// The six default rules as Azure defines them, with empty spans (they are not in any file).
pub fn default_rules() -> Vec<SecurityRule> {
    DEFAULTS
        .iter()
        .map(|&(name, dir, prio, s, d, access, descr)| {
            let v = |t: &str| Value::literal(t, Span::default());
            let mut r = SecurityRule::new(name, Span::default(), Span::default());
            r.default_rule = true;
            r.priority = Some(v(&prio.to_string()));
            r.direction = Some(v(dir));
            r.access = Some(v(access));
            r.protocol = Some(v("*"));
            r.source_prefixes = vec![v(s)];
            r.destination_prefixes = vec![v(d)];
            r.source_ports = vec![v("*")];
            r.destination_ports = vec![v("*")];
            r.description = Some(descr.to_string());
            r
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Sniffing: which shapes are ours
// ------------------------------------------------------------------------------------------------

const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
const RULE_TYPE: &str = "Microsoft.Network/networkSecurityGroups/securityRules";
const DEFAULT_RULE_TYPE: &str = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules";
const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";
/// How deep templates may nest (deployments in deployments, child resources).
const MAX_NESTING: usize = 16;

/// What a document holds.
#[derive(Default)]
struct Found<'j, 'a> {
    nsgs: Vec<&'j Json<'a>>,
    rules: Vec<&'j Json<'a>>,
    templates: Vec<&'j Json<'a>>,
    /// Array elements next to NSGs or rules that are neither (nor another typed resource).
    strays: Vec<&'j Json<'a>>,
}

impl Found<'_, '_> {
    fn any(&self) -> bool {
        !(self.nsgs.is_empty() && self.rules.is_empty() && self.templates.is_empty())
    }
}

fn str_ci(j: Option<&Json<'_>>, want: &str) -> bool {
    j.and_then(|v| v.as_str())
        .is_some_and(|s| s.trim().eq_ignore_ascii_case(want))
}

fn type_of<'j>(j: &'j Json<'_>) -> Option<&'j str> {
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
fn resources_of<'j, 'a>(j: &'j Json<'a>) -> Vec<&'j Json<'a>> {
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

fn classify<'j, 'a>(j: &'j Json<'a>, depth: usize, out: &mut Found<'j, 'a>) {
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

/// Is this JSON document this format? True for an NSG object (flattened CLI or nested
/// `properties`), an array of NSGs or of security rules, a single rule, an ARM template holding
/// an NSG or a `securityRules` resource, a REST example wrapper, a REST `{value: [...]}` list or
/// Resource Graph rows of NSGs.
pub fn sniff(json: &Json<'_>) -> bool {
    let mut found = Found::default();
    classify(json, 0, &mut found);
    found.any()
}

/// Parse and lower a document that [`sniff`] accepted.
pub fn parse(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    let mut issues = Vec::new();
    let nsgs = read(src, json, &mut issues);
    let rulesets = lower(&nsgs, src, names, &mut issues);
    Parsed { rulesets, issues }
}

// ------------------------------------------------------------------------------------------------
// Reading JSON into the AST
// ------------------------------------------------------------------------------------------------

fn parse_error(span: Span, message: String, label: &str) -> ParseIssue {
    ParseIssue {
        kind: IssueKind::ParseError,
        span,
        message,
        label: label.to_string(),
        help: None,
    }
}

/// The source text of a span, shortened for messages.
fn excerpt(src: &SourceText, span: Span) -> String {
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
        let scope = ArmScope::of(t, &steps);
        read_template(src, t, scope, &[], 0, &mut arm, issues);
        out.extend(arm.finish());
    }
    out
}

/// Reads rules and NSGs; inside an ARM template, strings are evaluated as ARM expressions.
#[derive(Clone, Copy)]
struct Reader<'r, 'j, 'a> {
    src: &'r SourceText,
    arm: Option<ArmScope<'j, 'a>>,
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
                Ev::Node(n) if n.as_array().is_some() => self.list(n),
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
                Ev::Node(n) if n.as_array().is_some() => self.asgs(n),
                ev => self.value_of_ev(ev, s, v.span).into_iter().collect(),
            },
            _ => one(v).into_iter().collect(),
        }
    }

    /// A name: the display text and the evaluated segments (for matching ARM parents).
    fn name(&self, v: Option<&'j Json<'a>>) -> Option<(String, Vec<Seg>, Span)> {
        let v = v?;
        let s = v.as_str()?;
        let segs = match self.eval(s) {
            Ev::Str(segs) => segs,
            Ev::Node(n) => vec![Seg::Lit(excerpt(self.src, n.span))],
        };
        let shown = literal_of(&segs).unwrap_or_else(|| display_segs(&segs));
        Some((shown, segs, v.span))
    }

    fn read_rule(
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

    fn read_nsg(&self, j: &'j Json<'a>, issues: &mut Vec<ParseIssue>) -> Nsg {
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

// ------------------------------------------------------------------------------------------------
// ARM templates: expressions and resources
// ------------------------------------------------------------------------------------------------

/// A piece of an evaluated string: literal text, or an expression left unevaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// The expression's text (whitespace outside quotes removed) and why it stays unevaluated.
    Expr(String, String),
}

/// The value of an ARM expression: a (partly evaluated) string, or a JSON value of the template
/// (a non-string default value or variable).
#[derive(Debug, Clone)]
enum Ev<'j, 'a> {
    Str(Vec<Seg>),
    Node(&'j Json<'a>),
}

impl Ev<'_, '_> {
    fn opaque(text: &str, why: impl Into<String>) -> Self {
        Ev::Str(vec![Seg::Expr(text.to_string(), why.into())])
    }
    fn segs(&self) -> Option<Vec<Seg>> {
        match self {
            Ev::Str(s) => Some(s.clone()),
            Ev::Node(n) => match &n.kind {
                Kind::Number(t) => Some(vec![Seg::Lit(t.to_string())]),
                Kind::Bool(b) => Some(vec![Seg::Lit(b.to_string())]),
                _ => None,
            },
        }
    }
}

fn literal_of(segs: &[Seg]) -> Option<String> {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Lit(t) => out.push_str(t),
            Seg::Expr(..) => return None,
        }
    }
    Some(out)
}

/// Segments with neighbouring literals merged (so equal strings compare equal).
fn merged(segs: Vec<Seg>) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for s in segs {
        match (out.last_mut(), s) {
            (Some(Seg::Lit(a)), Seg::Lit(b)) => a.push_str(&b),
            (_, Seg::Lit(b)) if b.is_empty() => {}
            (_, s) => out.push(s),
        }
    }
    out
}

fn display_segs(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Lit(t) => t.clone(),
            Seg::Expr(e, _) => format!("[{e}]"),
        })
        .collect()
}

fn first_why(segs: &[Seg]) -> String {
    segs.iter()
        .find_map(|s| match s {
            Seg::Expr(e, why) => Some(format!("`{e}`: {why}")),
            Seg::Lit(_) => None,
        })
        .unwrap_or_default()
}

fn unresolved_reason(raw: &str, segs: &[Seg]) -> String {
    format!(
        "ARM expression `{}` cannot be evaluated from the template ({})",
        raw.trim(),
        first_why(segs)
    )
}

/// The body of an ARM expression string (`[...]`, but not the `[[` escape).
fn expr_body(s: &str) -> Option<&str> {
    let t = s.trim();
    if t.starts_with("[[") {
        return None;
    }
    t.strip_prefix('[')?.strip_suffix(']')
}

/// Remove whitespace outside single-quoted strings.
fn normalize(e: &str) -> String {
    let mut out = String::with_capacity(e.len());
    let mut quoted = false;
    for c in e.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The expression language of ARM templates, as far as we evaluate it.
#[derive(Debug, Clone)]
enum Ex {
    Str(String),
    Num(String),
    Call {
        name: String,
        args: Vec<Ex>,
        text: String,
    },
    Prop {
        base: Box<Ex>,
        name: String,
        text: String,
    },
    Index {
        base: Box<Ex>,
        index: Box<Ex>,
        text: String,
    },
}

impl Ex {
    fn text(&self) -> String {
        match self {
            Ex::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Ex::Num(n) => n.clone(),
            Ex::Call { text, .. } | Ex::Prop { text, .. } | Ex::Index { text, .. } => text.clone(),
        }
    }
}

struct ExParser<'x> {
    s: &'x str,
    b: &'x [u8],
    i: usize,
    depth: usize,
}

fn parse_ex(s: &str) -> Option<Ex> {
    let mut p = ExParser {
        s,
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let e = p.expr()?;
    p.ws();
    (p.i == p.b.len()).then_some(e)
}

impl ExParser<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn text(&self, start: usize) -> String {
        normalize(self.s.get(start..self.i).unwrap_or(""))
    }
    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        {
            self.i += 1;
        }
        (self.i > start).then(|| self.s.get(start..self.i).unwrap_or("").to_string())
    }
    fn string(&mut self) -> Option<String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        let mut start = self.i;
        loop {
            match self.peek()? {
                b'\'' => {
                    out.push_str(self.s.get(start..self.i)?);
                    self.i += 1;
                    if self.peek() == Some(b'\'') {
                        out.push('\'');
                        self.i += 1;
                        start = self.i;
                    } else {
                        return Some(out);
                    }
                }
                _ => self.i += 1,
            }
        }
    }
    fn expr(&mut self) -> Option<Ex> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        self.ws();
        let start = self.i;
        let c = self.peek()?;
        let mut e = if c == b'\'' {
            Ex::Str(self.string()?)
        } else if c.is_ascii_digit() || c == b'-' {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            Ex::Num(self.s.get(start..self.i)?.to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let name = self.ident()?;
            self.ws();
            if self.peek() != Some(b'(') {
                return None;
            }
            self.i += 1;
            let mut args = Vec::new();
            self.ws();
            if self.peek() == Some(b')') {
                self.i += 1;
            } else {
                loop {
                    args.push(self.expr()?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b')' => {
                            self.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Ex::Call {
                name,
                args,
                text: self.text(start),
            }
        } else {
            return None;
        };
        loop {
            self.ws();
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    self.ws();
                    let name = self.ident()?;
                    e = Ex::Prop {
                        base: Box::new(e),
                        name,
                        text: self.text(start),
                    };
                }
                Some(b'[') => {
                    self.i += 1;
                    let index = self.expr()?;
                    self.ws();
                    if self.peek() != Some(b']') {
                        return None;
                    }
                    self.i += 1;
                    e = Ex::Index {
                        base: Box::new(e),
                        index: Box::new(index),
                        text: self.text(start),
                    };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Some(e)
    }
}

/// Where ARM expressions look up `parameters(...)` and `variables(...)`.
#[derive(Clone, Copy)]
struct ArmScope<'j, 'a> {
    params: Option<&'j Json<'a>>,
    vars: Option<&'j Json<'a>>,
    /// Evaluation steps taken for this file: variables referring to variables can make the work
    /// grow exponentially with depth, so it is capped.
    steps: &'j Cell<usize>,
}

const MAX_EVAL_DEPTH: usize = 32;
const MAX_EVAL_STEPS: usize = 200_000;

impl<'j, 'a> ArmScope<'j, 'a> {
    fn of(template: &'j Json<'a>, steps: &'j Cell<usize>) -> Self {
        ArmScope {
            params: template.get_ci("parameters"),
            vars: template.get_ci("variables"),
            steps,
        }
    }

    fn eval_string(&self, s: &str, depth: usize) -> Ev<'j, 'a> {
        let Some(body) = expr_body(s) else {
            let lit = if s.trim_start().starts_with("[[") {
                s.trim_start().get(1..).unwrap_or("")
            } else {
                s
            };
            return Ev::Str(vec![Seg::Lit(lit.to_string())]);
        };
        if depth > MAX_EVAL_DEPTH {
            return Ev::opaque(&normalize(body), "the expressions nest too deeply");
        }
        match parse_ex(body) {
            Some(e) => self.eval(&e, depth + 1),
            None => Ev::opaque(&normalize(body), "Portolan cannot read this expression"),
        }
    }

    fn node(&self, j: &'j Json<'a>, depth: usize) -> Ev<'j, 'a> {
        match j.as_str() {
            Some(s) => self.eval_string(s, depth),
            None => Ev::Node(j),
        }
    }

    fn eval(&self, e: &Ex, depth: usize) -> Ev<'j, 'a> {
        if depth > MAX_EVAL_DEPTH {
            return Ev::opaque(&e.text(), "the expressions nest too deeply");
        }
        self.steps.set(self.steps.get().saturating_add(1));
        if self.steps.get() > MAX_EVAL_STEPS {
            return Ev::opaque(
                &e.text(),
                "the template's expressions are too large to evaluate",
            );
        }
        match e {
            Ex::Str(s) => Ev::Str(vec![Seg::Lit(s.clone())]),
            Ex::Num(n) => Ev::Str(vec![Seg::Lit(n.clone())]),
            Ex::Call { name, args, text } => self.call(name, args, text, depth),
            Ex::Prop { base, name, text } => match self.eval(base, depth + 1) {
                Ev::Node(n) if n.members().is_some() => match n.get_ci(name) {
                    Some(v) => self.node(v, depth + 1),
                    None => Ev::opaque(text, format!("the object has no property `{name}`")),
                },
                Ev::Str(segs) if literal_of(&segs).is_none() => {
                    Ev::Str(vec![Seg::Expr(text.clone(), first_why(&segs))])
                }
                _ => Ev::opaque(text, "a property of a value that has none"),
            },
            Ex::Index { base, index, text } => {
                let key = self
                    .eval(index, depth + 1)
                    .segs()
                    .and_then(|s| literal_of(&s));
                match (self.eval(base, depth + 1), key) {
                    (Ev::Node(n), Some(k)) => {
                        let hit = match &n.kind {
                            Kind::Array(items) => {
                                k.trim().parse::<usize>().ok().and_then(|i| items.get(i))
                            }
                            Kind::Object(_) => n.get_ci(&k),
                            _ => None,
                        };
                        match hit {
                            Some(v) => self.node(v, depth + 1),
                            None => Ev::opaque(text, format!("no element `{k}`")),
                        }
                    }
                    _ => Ev::opaque(text, "an index Portolan cannot evaluate"),
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let arg_lit = |i: usize| -> Option<String> {
            args.get(i)
                .map(|a| self.eval(a, depth + 1))
                .and_then(|ev| ev.segs())
                .and_then(|s| literal_of(&s))
        };
        match name.to_ascii_lowercase().as_str() {
            "parameters" => {
                let Some(p) = arg_lit(0) else {
                    return Ev::opaque(text, "the parameter name is not a literal");
                };
                match self.params.and_then(|ps| ps.get_ci(&p)) {
                    None => Ev::opaque(text, format!("parameter `{p}` is not declared")),
                    Some(decl) => match decl.get_ci("defaultValue") {
                        Some(d) => self.node(d, depth + 1),
                        None => Ev::opaque(
                            text,
                            format!(
                                "parameter `{p}` has no default value; it is given at deployment"
                            ),
                        ),
                    },
                }
            }
            "variables" => {
                let Some(v) = arg_lit(0) else {
                    return Ev::opaque(text, "the variable name is not a literal");
                };
                match self.vars.and_then(|vs| vs.get_ci(&v)) {
                    Some(val) => self.node(val, depth + 1),
                    None => Ev::opaque(text, format!("variable `{v}` is not defined")),
                }
            }
            "concat" => {
                let mut out = Vec::new();
                for a in args {
                    match self.eval(a, depth + 1).segs() {
                        Some(s) => out.extend(s),
                        None => return Ev::opaque(text, "`concat` of non-strings"),
                    }
                }
                Ev::Str(merged(out))
            }
            "format" => self.format(args, text, depth),
            "resourceid" => self.resource_id(args, text, depth),
            "tolower" | "toupper" => match arg_lit(0) {
                Some(s) if name.eq_ignore_ascii_case("tolower") => {
                    Ev::Str(vec![Seg::Lit(s.to_lowercase())])
                }
                Some(s) => Ev::Str(vec![Seg::Lit(s.to_uppercase())]),
                None => Ev::opaque(text, "its argument cannot be evaluated"),
            },
            "string" => match args.first().map(|a| self.eval(a, depth + 1)) {
                Some(ev) => match ev.segs() {
                    Some(s) => Ev::Str(s),
                    None => Ev::opaque(text, "`string` of a non-scalar"),
                },
                None => Ev::opaque(text, "`string` needs an argument"),
            },
            _ => Ev::opaque(
                text,
                format!("`{name}()` is only known at deployment or not evaluated by Portolan"),
            ),
        }
    }

    fn format(&self, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let Some(fmt) = args
            .first()
            .and_then(|a| self.eval(a, depth + 1).segs())
            .and_then(|s| literal_of(&s))
        else {
            return Ev::opaque(text, "the format string is not a literal");
        };
        let vals: Vec<Option<Vec<Seg>>> = args
            .iter()
            .skip(1)
            .map(|a| self.eval(a, depth + 1).segs())
            .collect();
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut n = String::new();
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                        n.push(d);
                    }
                    let Some(v) = n
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| vals.get(i).cloned().flatten())
                    else {
                        return Ev::opaque(text, "a `format` placeholder Portolan cannot fill");
                    };
                    out.push(Seg::Lit(std::mem::take(&mut lit)));
                    out.extend(v);
                }
                c => lit.push(c),
            }
        }
        out.push(Seg::Lit(lit));
        Ev::Str(merged(out))
    }

    /// `resourceId([sub], [rg], 'Ns/type[/child]', name[, childName])` as
    /// `/providers/Ns/type/name[/child/childName]` (enough for the last segment, the name).
    fn resource_id(&self, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let evs: Vec<Option<Vec<Seg>>> = args
            .iter()
            .map(|a| self.eval(a, depth + 1).segs())
            .collect();
        let is_type = |s: &Option<Vec<Seg>>| {
            s.as_ref().and_then(|s| literal_of(s)).is_some_and(|t| {
                t.split('/').next().is_some_and(|ns| ns.contains('.')) && t.contains('/')
            })
        };
        let Some(ti) = evs.iter().position(is_type) else {
            return Ev::opaque(text, "`resourceId` without a literal resource type");
        };
        let ty = evs
            .get(ti)
            .cloned()
            .flatten()
            .and_then(|s| literal_of(&s))
            .unwrap_or_default();
        let mut parts = ty.split('/');
        let ns = parts.next().unwrap_or("");
        let types: Vec<&str> = parts.collect();
        let names: Vec<Option<Vec<Seg>>> = evs.iter().skip(ti + 1).cloned().collect();
        if types.len() != names.len() || types.is_empty() {
            return Ev::opaque(
                text,
                "`resourceId` with a type and names that do not pair up",
            );
        }
        let mut out = vec![Seg::Lit(format!("/providers/{ns}"))];
        for (t, n) in types.iter().zip(names) {
            let Some(n) = n else {
                return Ev::opaque(text, "`resourceId` of a non-string name");
            };
            out.push(Seg::Lit(format!("/{t}/")));
            out.extend(n);
        }
        Ev::Str(merged(out))
    }
}

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
struct ArmCollect {
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
    fn finish(mut self) -> Vec<Nsg> {
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

fn read_template<'j, 'a>(
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
            ArmScope::of(inner, scope.steps)
        } else {
            scope
        };
        read_template(src, inner, s, &notes, depth + 1, out, issues);
    }
}

// ------------------------------------------------------------------------------------------------
// Lowering into the model
// ------------------------------------------------------------------------------------------------

/// Legacy spellings of service tags found in old templates.
fn canonical_tag(t: &str) -> &str {
    match t.to_ascii_uppercase().as_str() {
        "VIRTUAL_NETWORK" => "VirtualNetwork",
        "AZURE_LOADBALANCER" => "AzureLoadBalancer",
        "INTERNET" => "Internet",
        _ => t,
    }
}

fn looks_like_name(t: &str) -> bool {
    let mut cs = t.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

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
    issues: &'l mut Vec<ParseIssue>,
    unresolved: Vec<Unresolved>,
    exprs_seen: HashSet<String>,
    notes_seen: HashSet<(Span, String)>,
}

/// What one security rule lowers to.
struct LoweredRule {
    hooks: Vec<Hook>,
    priority: Option<i64>,
    priority_span: Span,
    name: String,
    rules: Vec<RuleId>,
}

/// Lower NSGs into rulesets (one per NSG), adding the problems found to `issues`. Names
/// (service tags, ASGs) resolve through `names`; each name left unresolved is reported once.
pub fn lower(
    nsgs: &[Nsg],
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let mut l = Lowerer {
        src,
        names,
        issues,
        unresolved: Vec::new(),
        exprs_seen: HashSet::new(),
        notes_seen: HashSet::new(),
    };
    let out = nsgs.iter().map(|n| l.nsg(n)).collect();
    l.finish();
    out
}

impl Lowerer<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(parse_error(span, message, label));
    }

    fn note(&mut self, span: Span, message: &str, label: &str, help: Option<&str>) {
        if self.notes_seen.insert((span, message.to_string())) {
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span,
                message: message.to_string(),
                label: label.to_string(),
                help: help.map(str::to_string),
            });
        }
    }

    fn unresolved_expr(&mut self, v: &Value, why: &str) {
        if self.exprs_seen.insert(v.text.trim().to_string()) {
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: v.span,
                message: why.to_string(),
                label: "not evaluated".into(),
                help: Some(
                    "audit the deployed NSG (`az network nsg show`) instead, or write the value out literally"
                        .into(),
                ),
            });
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
            label,
        }
    }

    fn finish(&mut self) {
        for u in std::mem::take(&mut self.unresolved) {
            let via = match &u.via_default {
                Some(rule) => {
                    format!(" (used by the default rule `{rule}`, which Azure adds to every NSG)")
                }
                None => String::new(),
            };
            let internet = if u.shown.eq_ignore_ascii_case("Internet") {
                " `Internet` is the public address space outside the virtual network, not every address."
            } else {
                ""
            };
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: u.span,
                message: format!(
                    "{} `{}` is not resolved{via}: rules using it are undecidable",
                    u.what, u.shown
                ),
                label: "not resolved".into(),
                help: Some(format!(
                    "give its addresses in the inventory's [addresses] or with --address {}=CIDR.{internet}",
                    u.shown
                )),
            });
        }
    }

    /// Record an unresolved name; return the rule's undecidable reason.
    fn unresolved_name(
        &mut self,
        what: &'static str,
        shown: &str,
        span: Span,
        via_default: Option<&str>,
    ) -> String {
        let key = format!("{what}\u{0}{}", shown.to_ascii_lowercase());
        match self.unresolved.iter_mut().find(|u| u.key == key) {
            Some(u) => {
                if u.via_default.is_some() && via_default.is_none() {
                    u.span = span;
                    u.via_default = None;
                }
            }
            None => self.unresolved.push(Unresolved {
                key,
                shown: shown.to_string(),
                what,
                span,
                via_default: via_default.map(str::to_string),
            }),
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

    fn protocol(
        &mut self,
        r: &SecurityRule,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<ProtoSet> {
        let unknown = Dim {
            known: ProtoSet::empty(),
            unknown: true,
        };
        let Some(v) = &r.protocol else {
            self.missing(ctx, "protocol", why);
            return unknown;
        };
        let Some(t) = self.literal(v, "protocol", "a string", why) else {
            return unknown;
        };
        let set = match t.to_ascii_lowercase().as_str() {
            "*" | "any" | "all" => ProtoSet::full(),
            "tcp" => ProtoSet::single(TCP),
            "udp" => ProtoSet::single(UDP),
            "icmp" => ProtoSet::from_ranges([(ICMP, ICMP), (ICMPV6, ICMPV6)]),
            "esp" => ProtoSet::single(50),
            "ah" => ProtoSet::single(51),
            _ => {
                self.error(
                    v.span,
                    format!("`{t}` is not an NSG protocol (Tcp, Udp, Icmp, Esp, Ah or *)"),
                    "unknown protocol",
                );
                why.push(format!("protocol `{t}` could not be read"));
                return unknown;
            }
        };
        Dim {
            known: set,
            unknown: false,
        }
    }

    fn ports(
        &mut self,
        values: &[Value],
        side: &str,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<PortSet> {
        let what = format!("{side} port");
        if values.is_empty() {
            self.missing(ctx, &format!("{side} port range"), why);
            return Dim {
                known: PortSet::empty(),
                unknown: true,
            };
        }
        let mut d = Dim {
            known: PortSet::empty(),
            unknown: false,
        };
        for v in values {
            let Some(t) = self.literal(v, &what, "a string or a number", why) else {
                d.unknown = true;
                continue;
            };
            if t == "*" || t.eq_ignore_ascii_case("any") {
                d.known = PortSet::full();
                continue;
            }
            match ports::parse_port_range(t, '-') {
                Ok(p) => d.known = d.known.union(&p),
                Err(_) => {
                    self.error(
                        v.span,
                        format!("`{t}` is not a port or port range (0-65535)"),
                        "bad port",
                    );
                    why.push(format!("{what} `{t}` could not be read"));
                    d.unknown = true;
                }
            }
        }
        d
    }

    fn addresses(
        &mut self,
        prefixes: &[Value],
        asgs: &[Value],
        side: &str,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<AddrSet> {
        let mut d = Dim {
            known: AddrSet::empty(),
            unknown: false,
        };
        if prefixes.is_empty() && asgs.is_empty() {
            self.missing(ctx, &format!("{side} address"), why);
            d.unknown = true;
            return d;
        }
        let what = format!("{side} address");
        for v in prefixes {
            let Some(t) = self.literal(v, &what, "a string", why) else {
                d.unknown = true;
                continue;
            };
            if t == "*" || t.eq_ignore_ascii_case("any") {
                d.known = AddrSet::any();
            } else if looks_like_name(t) {
                let tag = canonical_tag(t);
                match self.names.get(t).or_else(|| self.names.get(tag)) {
                    Some(set) => d.known = d.known.union(set),
                    None => {
                        // a default rule the export omits has no span: point at its NSG
                        let span = if ctx.synthesized {
                            ctx.nsg_span
                        } else {
                            v.span
                        };
                        let reason = self.unresolved_name(
                            "service tag",
                            tag,
                            span,
                            ctx.synthesized.then_some(ctx.rule_name.as_str()),
                        );
                        why.push(reason);
                        d.unknown = true;
                    }
                }
            } else {
                match AddrSet::parse(t) {
                    Ok(set) => d.known = d.known.union(&set),
                    Err(e) => {
                        self.error(
                            v.span,
                            format!("`{t}` is not an IP address, CIDR block or service tag ({e})"),
                            "bad address",
                        );
                        why.push(format!("{what} `{t}` could not be read"));
                        d.unknown = true;
                    }
                }
            }
        }
        for v in asgs {
            let Some(id) = self.literal(
                v,
                "application security group",
                "an object with an `id`",
                why,
            ) else {
                d.unknown = true;
                continue;
            };
            let name = id.rsplit('/').find(|s| !s.trim().is_empty()).unwrap_or(id);
            match self.names.get(name).or_else(|| self.names.get(id)) {
                Some(set) => d.known = d.known.union(set),
                None => {
                    let reason =
                        self.unresolved_name("application security group", name, v.span, None);
                    why.push(reason);
                    d.unknown = true;
                }
            }
        }
        d
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
            split.push((rest, why));
            split.push((pings, why_icmp));
        }
        let mut ids = Vec::new();
        for (b, why) in split {
            ids.push(rules.len());
            rules.push(Rule {
                matches: b,
                undecidable: dedup(why),
                action,
                prov: prov.clone(),
                comment: r.description.clone(),
            });
        }
        LoweredRule {
            hooks,
            priority,
            priority_span,
            name: r.name.clone(),
            rules: ids,
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
                action,
                prov: self.prov(d.span, format!("{} ({what})", n.name)),
                comment: None,
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
            ids.extend(mine.iter().flat_map(|l| l.rules.iter().copied()));
            chains.push(Chain {
                name: cname.to_string(),
                policy: Some(Verdict::Deny),
                decl: Provenance {
                    label: format!("{}/{cname}: no rule matched (deny)", n.name),
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
        Ruleset::of_policy(Some(n.name.clone()), policy, false)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json;
    use crate::model::ports::ConnState;
    use crate::model::{Decider, Outcome};

    const REST: &str = include_str!(
        "../../fixtures/azure/corpus/rest-api-NetworkSecurityGroupGet-response-body.json"
    );
    const ARM_CHILD: &str =
        include_str!("../../fixtures/azure/corpus/arm-template-nsg-child-securityRules.json");
    const ARM_APIM: &str =
        include_str!("../../fixtures/azure/corpus/arm-template-apim-nsg-service-tags.json");
    const DENY_FIRST: &str = include_str!("../../fixtures/azure/zca-nsg-deny-before-allow.json");
    const ARM_OK: &str = include_str!("../../fixtures/azure/zca-nsg-ok.arm.json");
    const LIST: &str = include_str!("../../fixtures/azure/nsg-list.json");
    const TRUNCATED: &str = include_str!("../../fixtures/azure/nsg-truncated.json");
    const BAD: &str = include_str!("../../fixtures/azure/nsg-bad-values.json");

    fn run(name: &str, text: &str, names: &Resolver) -> (SourceText, Parsed) {
        let src = SourceText::new(name, text);
        let json = json::parse(text).expect("the fixture is JSON");
        assert!(sniff(&json), "{name} must sniff as an NSG export");
        let p = parse(&src, &json, names);
        (src, p)
    }

    fn nsgs_of(text: &str) -> Vec<Nsg> {
        let src = SourceText::new("t.json", text);
        let json = json::parse(text).unwrap();
        read(&src, &json, &mut Vec::new())
    }

    fn sniffs(text: &str) -> bool {
        sniff(&json::parse(text).unwrap())
    }

    fn of_kind(p: &Parsed, kind: IssueKind) -> Vec<&ParseIssue> {
        p.issues.iter().filter(|i| i.kind == kind).collect()
    }

    fn at(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    /// Labels of the rules of one chain, in evaluation order, without repeats of split rules.
    fn chain_labels(rs: &Ruleset, hook: Hook) -> Vec<String> {
        let p = &rs.policies[0];
        let c = &p.chains[p.entry(hook).unwrap().chain];
        let mut out: Vec<String> = Vec::new();
        for &r in &c.rules {
            let l = p.rules[r].prov.label.clone();
            if out.last() != Some(&l) {
                out.push(l);
            }
        }
        out
    }

    fn rules_named<'r>(rs: &'r Ruleset, name: &str) -> Vec<&'r Rule> {
        let prefix = format!("{}/{name} (", rs.name.as_deref().unwrap_or(""));
        rs.policies[0]
            .rules
            .iter()
            .filter(|r| r.prov.label.starts_with(&prefix))
            .collect()
    }

    /// A NEW connection from `src` to `dst` on `proto`/`dport`, any source port.
    fn flow(src: &str, dst: &str, proto: u8, dport: u16) -> PacketBox {
        PacketBox {
            src: AddrSet::parse(src).unwrap(),
            dst: AddrSet::parse(dst).unwrap(),
            proto: ProtoSet::single(proto),
            sport: PortSet::full(),
            dport: PortSet::single(dport),
            state: ConnState::New.set(),
            iif: IntervalSet::full(),
            oif: IntervalSet::full(),
        }
    }

    fn evaluate(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Vec<Outcome> {
        rs.evaluate(rs.pipeline(hook).unwrap(), region)
    }

    fn deciding<'r>(rs: &'r Ruleset, o: &Outcome) -> Vec<&'r Rule> {
        o.deciders
            .iter()
            .filter_map(|a| match a.decider {
                Decider::Rule(r) => rs.policies[a.policy].rules.get(r),
                _ => None,
            })
            .collect()
    }

    /// 1-based line of the `{` opening the rule object whose name is `name` (no nested objects
    /// before `name` in these exports).
    fn object_line(text: &str, name: &str) -> u32 {
        let at = text.find(&format!("\"name\": \"{name}\"")).unwrap();
        let open = text[..at].rfind('{').unwrap();
        text[..open].matches('\n').count() as u32 + 1
    }

    fn resolver(pairs: &[(&str, &str)]) -> Resolver {
        let mut r = Resolver::default();
        for (n, cidr) in pairs {
            r.insert(n, AddrSet::parse(cidr).unwrap());
        }
        r
    }

    #[test]
    fn corpus_files_parse_without_errors() {
        // rules counted with `grep -c '"priority"'` over each file
        for (name, text, rules, nsgs) in [
            (
                "rest-api-NetworkSecurityGroupGet-response-body.json",
                REST,
                7,
                1,
            ),
            ("arm-template-nsg-child-securityRules.json", ARM_CHILD, 2, 1),
            ("arm-template-apim-nsg-service-tags.json", ARM_APIM, 18, 1),
        ] {
            let (_, p) = run(name, text, &Resolver::default());
            assert_eq!(p.rulesets.len(), nsgs, "{name}");
            assert!(
                of_kind(&p, IssueKind::ParseError).is_empty(),
                "{name}: {:#?}",
                p.issues
            );
            let read: usize = nsgs_of(text).iter().map(|n| n.rules.len()).sum();
            assert_eq!(read, rules, "{name}: rules read");
            // every exported rule is in the model, with its own span
            let mut exported: Vec<&str> = p.rulesets[0].policies[0]
                .rules
                .iter()
                .filter(|r| !r.prov.span.is_empty() && r.prov.label.contains("(priority "))
                .map(|r| r.prov.label.as_str())
                .collect();
            exported.dedup();
            assert_eq!(exported.len(), rules, "{name}: {exported:#?}");
        }
    }

    #[test]
    fn rest_body_and_wrapper_use_the_exported_defaults() {
        let (_, p) = run("rest.json", REST, &Resolver::default());
        let rs = &p.rulesets[0];
        assert_eq!(rs.name.as_deref(), Some("testnsg"));
        assert_eq!(rs.family, None);
        assert!(!rs.stateless);
        assert_eq!(rs.policies[0].semantics, Semantics::Priority);
        assert_eq!(
            chain_labels(rs, Hook::Input),
            [
                "testnsg/rule1 (priority 130)",
                "testnsg/AllowVnetInBound (priority 65000)",
                "testnsg/AllowAzureLoadBalancerInBound (priority 65001)",
                "testnsg/DenyAllInBound (priority 65500)",
            ]
        );
        assert_eq!(chain_labels(rs, Hook::Output).len(), 3);
        assert_eq!(rs.pipeline(Hook::Input).unwrap().name, "testnsg/Inbound");
        assert_eq!(rs.pipeline(Hook::Output).unwrap().name, "testnsg/Outbound");
        assert!(rs.pipeline(Hook::Forward).is_none());
        assert!(rs.policies[0]
            .chains
            .iter()
            .all(|c| c.policy == Some(Verdict::Deny)));
        // the REST example wrapper around the same body
        let wrapped = format!(
            "{{\"parameters\": {{\"api-version\": \"2023-09-01\"}}, \"responses\": {{\"200\": {{\"body\": {REST}}}}}}}"
        );
        let (_, p) = run("wrapped.json", &wrapped, &Resolver::default());
        assert_eq!(chain_labels(&p.rulesets[0], Hook::Input).len(), 4);
    }

    #[test]
    fn deny_before_allow_blocks_the_vra_ports_at_the_deny_rule() {
        let (src, p) = run("zca.json", DENY_FIRST, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        assert_eq!(p.rulesets.len(), 1);
        let rs = &p.rulesets[0];
        assert_eq!(
            chain_labels(rs, Hook::Input)[..4],
            [
                "nsg-zca/DenyAllInboundCustom (priority 100)",
                "nsg-zca/AllowZertoVra (priority 200)",
                "nsg-zca/AllowZertoAdmin (priority 300)",
                "nsg-zca/AllowVnetInBound (priority 65000)",
            ]
        );
        let deny_line = object_line(DENY_FIRST, "DenyAllInboundCustom");
        for port in [4005, 4007, 4009, 9669] {
            let out = evaluate(rs, Hook::Input, &flow("10.1.2.3", "*", TCP, port));
            assert!(!out.is_empty());
            for o in &out {
                assert_eq!(o.verdict, Verdict::Deny, "port {port}: {o:?}");
                let d = deciding(rs, o);
                assert_eq!(d.len(), 1);
                assert_eq!(
                    d[0].prov.label,
                    "nsg-zca/DenyAllInboundCustom (priority 100)"
                );
                assert_eq!(d[0].prov.line, deny_line);
                assert_eq!(src.line_col(d[0].prov.span.start).0, deny_line);
                assert!(at(DENY_FIRST, d[0].prov.span).starts_with('{'));
                assert!(at(DENY_FIRST, d[0].prov.span).contains("DenyAllInboundCustom"));
            }
        }
        // outbound 443 is allowed by the custom rule
        let out = evaluate(rs, Hook::Output, &flow("10.5.0.4", "203.0.113.9", TCP, 443));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");
        assert_eq!(
            deciding(rs, &out[0])[0].prov.label,
            "nsg-zca/AllowHttpsOutbound (priority 100)"
        );
    }

    #[test]
    fn without_the_deny_the_vra_ports_are_allowed_from_the_peer_range_only() {
        let text = DENY_FIRST.replace(
            "\"access\": \"Deny\",\n      \"description\": \"Lock down",
            "\"access\": \"Allow\",\n      \"description\": \"Lock down",
        );
        assert_ne!(text, DENY_FIRST);
        let text = text.replace(
            "\"priority\": 100,\n      \"protocol\": \"*\"",
            "\"priority\": 4000,\n      \"protocol\": \"Udp\"",
        );
        let (_, p) = run("zca.json", &text, &Resolver::default());
        let rs = &p.rulesets[0];
        let out = evaluate(rs, Hook::Input, &flow("10.1.2.3", "*", TCP, 4007));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");
        // from elsewhere: DenyAllInBound (exported default) after the unresolved VirtualNetwork
        // default rule: unknown where VirtualNetwork might match, never allowed
        let out = evaluate(rs, Hook::Input, &flow("172.16.0.1", "*", TCP, 4007));
        assert!(out.iter().all(|o| o.verdict != Verdict::Allow), "{out:?}");
        assert!(out.iter().any(|o| o.verdict == Verdict::Unknown));
    }

    #[test]
    fn defaults_are_appended_only_when_the_export_lacks_them() {
        let (_, p) = run("zca-nsg-ok.arm.json", ARM_OK, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let rs = &p.rulesets[0];
        assert_eq!(rs.name.as_deref(), Some("nsg-zca"));
        let synth: Vec<&Rule> = rs.policies[0]
            .rules
            .iter()
            .filter(|r| r.prov.label.contains("(default rule, not in the export)"))
            .collect();
        let mut names: Vec<&str> = synth.iter().map(|r| r.prov.label.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), 6, "{names:?}");
        assert!(synth
            .iter()
            .all(|r| r.prov.span == Span::default() && r.prov.line == 0));
        for hook in [Hook::Input, Hook::Output] {
            let labels = chain_labels(rs, hook);
            let defaults = labels
                .iter()
                .filter(|l| l.contains("(default rule, not in the export)"))
                .count();
            assert_eq!(defaults, 3, "{labels:?}");
            assert!(labels.last().unwrap().starts_with("nsg-zca/DenyAll"));
        }
        // the child resource joined its parent, after the inline rules by priority
        assert_eq!(
            chain_labels(rs, Hook::Input)[..2],
            [
                "nsg-zca/AllowZertoInbound (priority 100)",
                "nsg-zca/AllowZertoApiFromVnet (priority 120)",
            ]
        );
        // names used only by omitted default rules are reported at the NSG's name
        let internet = of_kind(&p, IssueKind::Undecidable)
            .into_iter()
            .find(|i| i.message.contains("`Internet`"))
            .unwrap();
        assert_eq!(at(ARM_OK, internet.span), "\"[parameters('nsgName')]\"");
        // a variable with a literal value is resolved
        let out = evaluate(rs, Hook::Output, &flow("10.5.0.4", "10.1.7.7", TCP, 9081));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");

        // `az network nsg show`: the exported defaults, once each, with their spans
        let (_, p) = run("zca.json", DENY_FIRST, &Resolver::default());
        let rs = &p.rulesets[0];
        let all: Vec<String> = [Hook::Input, Hook::Output]
            .iter()
            .flat_map(|&h| chain_labels(rs, h))
            .collect();
        for (d, ..) in DEFAULTS {
            let hits: Vec<&String> = all
                .iter()
                .filter(|l| l.contains(&format!("/{d} ")))
                .collect();
            assert_eq!(hits.len(), 1, "{d}: {all:?}");
            assert!(!hits[0].contains("not in the export"));
        }
        assert!(rs.policies[0].rules.iter().all(|r| !r.prov.span.is_empty()));
    }

    const TAGGED_RULES: &str = r#"[
  {
    "access": "Allow",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "9669",
    "direction": "Inbound",
    "name": "AllowApiFromVnet",
    "priority": 200,
    "protocol": "Tcp",
    "sourceAddressPrefix": "VirtualNetwork",
    "sourcePortRange": "*"
  },
  {
    "access": "Allow",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "9080",
    "direction": "Inbound",
    "name": "AllowCmdletsFromVnet",
    "priority": 210,
    "protocol": "Tcp",
    "sourceAddressPrefixes": ["192.168.50.0/24", "VirtualNetwork"],
    "sourcePortRange": "*"
  },
  {
    "access": "Allow",
    "destinationAddressPrefix": "Internet",
    "destinationPortRange": "443",
    "direction": "Outbound",
    "name": "AllowHttpsToInternet",
    "priority": 300,
    "protocol": "Tcp",
    "sourceAddressPrefix": "*",
    "sourcePortRange": "*"
  }
]"#;

    #[test]
    fn service_tags_resolve_through_the_resolver_or_make_the_rule_undecidable() {
        // unresolved: one issue per name, at its first use, however many rules use it
        let (_, p) = run("dir/nsg-rules.json", TAGGED_RULES, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let rs = &p.rulesets[0];
        assert_eq!(
            rs.name.as_deref(),
            Some("nsg-rules"),
            "named after the file"
        );
        let vnet: Vec<&ParseIssue> = of_kind(&p, IssueKind::Undecidable)
            .into_iter()
            .filter(|i| i.message.contains("`VirtualNetwork`"))
            .collect();
        assert_eq!(vnet.len(), 1, "{:#?}", p.issues);
        let first = TAGGED_RULES.find("\"VirtualNetwork\"").unwrap();
        assert_eq!(vnet[0].span.start, first);
        assert_eq!(at(TAGGED_RULES, vnet[0].span), "\"VirtualNetwork\"");
        let api = rules_named(rs, "AllowApiFromVnet");
        assert_eq!(api.len(), 1);
        assert_eq!(api[0].matches.src, AddrSet::any());
        assert_eq!(
            api[0].undecidable,
            ["service tag `VirtualNetwork` is not resolved: give its addresses in the inventory's [addresses] or with --address VirtualNetwork=CIDR"]
        );
        // the literal part of a mixed list stays decided
        let cmd = rules_named(rs, "AllowCmdletsFromVnet");
        assert_eq!(cmd.len(), 2);
        assert!(cmd[0].undecidable.is_empty());
        assert_eq!(
            cmd[0].matches.src,
            AddrSet::parse("192.168.50.0/24").unwrap()
        );
        assert_eq!(cmd[1].matches.src, AddrSet::any());
        assert!(!cmd[1].undecidable.is_empty());
        let out = evaluate(rs, Hook::Input, &flow("192.168.50.9", "*", TCP, 9080));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow));
        let out = evaluate(rs, Hook::Input, &flow("172.16.0.9", "*", TCP, 9669));
        assert!(out.iter().all(|o| o.verdict == Verdict::Unknown), "{out:?}");
        // `Internet` is not everything
        let web = rules_named(rs, "AllowHttpsToInternet");
        assert!(web[0].undecidable[0].contains("service tag `Internet` is not resolved"));
        assert!(of_kind(&p, IssueKind::Undecidable)
            .iter()
            .any(|i| i.message.contains("`Internet`") && !i.span.is_empty()));
        // AzureLoadBalancer is used only by a default rule the export omits
        let lb = of_kind(&p, IssueKind::Undecidable)
            .into_iter()
            .find(|i| i.message.contains("`AzureLoadBalancer`"))
            .unwrap();
        assert_eq!(lb.span, Span::new(0, TAGGED_RULES.len()), "the whole list");
        assert!(lb
            .message
            .contains("default rule `AllowAzureLoadBalancerInBound`"));

        // resolved
        let names = resolver(&[
            ("virtualnetwork", "10.5.0.0/16"),
            ("Internet", "203.0.113.0/24"),
            ("AzureLoadBalancer", "168.63.129.16/32"),
        ]);
        let (_, p) = run("nsg-rules.json", TAGGED_RULES, &names);
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = &p.rulesets[0];
        let api = rules_named(rs, "AllowApiFromVnet");
        assert_eq!(api.len(), 1);
        assert!(api[0].undecidable.is_empty());
        assert_eq!(api[0].matches.src, AddrSet::parse("10.5.0.0/16").unwrap());
        let cmd = rules_named(rs, "AllowCmdletsFromVnet");
        assert_eq!(
            cmd[0].matches.src,
            AddrSet::parse("192.168.50.0/24")
                .unwrap()
                .union(&AddrSet::parse("10.5.0.0/16").unwrap())
        );
        let out = evaluate(rs, Hook::Input, &flow("172.16.0.9", "*", TCP, 9669));
        assert!(out.iter().all(|o| o.verdict == Verdict::Deny), "{out:?}");
    }

    const ASG_NSG: &str = r#"{
  "name": "nsg-app",
  "type": "Microsoft.Network/networkSecurityGroups",
  "properties": {
    "securityRules": [
      {
        "name": "AllowZertoToZca",
        "properties": {
          "protocol": "Tcp",
          "sourcePortRange": "*",
          "destinationPortRanges": ["4005-4009", 9081, "9669"],
          "sourceAddressPrefix": "10.1.0.0/16",
          "destinationApplicationSecurityGroups": [
            { "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/asg-zca" }
          ],
          "access": "Allow",
          "priority": 100,
          "direction": "Inbound"
        }
      },
      {
        "name": "AllowAnyProtocol",
        "properties": {
          "protocol": "*",
          "sourcePortRange": "*",
          "destinationPortRange": "*",
          "sourceAddressPrefix": "10.9.0.0/16",
          "destinationAddressPrefix": "*",
          "access": "Allow",
          "priority": 110,
          "direction": "Inbound"
        }
      },
      {
        "name": "AllowPing",
        "properties": {
          "protocol": "Icmp",
          "sourcePortRange": "*",
          "destinationPortRange": "*",
          "sourceAddressPrefix": "*",
          "destinationAddressPrefix": "*",
          "access": "Allow",
          "priority": 120,
          "direction": "Inbound"
        }
      },
      {
        "name": "AllowIpsec",
        "properties": {
          "protocol": "Esp",
          "sourcePortRange": "*",
          "destinationPortRange": "*",
          "sourceAddressPrefix": "2001:db8::/32",
          "destinationAddressPrefix": "*",
          "access": "Deny",
          "priority": 130,
          "direction": "Outbound"
        }
      }
    ]
  }
}"#;

    /// Regression (oracle): an `Icmp` rule naming ports was decided for all of ICMP, though the
    /// module documents it undecidable; ports covering everything restrict nothing.
    #[test]
    fn ports_on_a_portless_protocol_leave_nothing_sure() {
        let rule = |name: &str, ports: &str, prio: u32| {
            format!(
                r#"{{"name": "{name}", "protocol": "Icmp", "sourcePortRange": "*",
                "destinationPortRange": "{ports}", "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*", "access": "Deny", "priority": {prio},
                "direction": "Inbound"}}"#
            )
        };
        let text = format!(
            r#"{{"name": "nsg", "securityRules": [{}, {}]}}"#,
            rule("PingPort", "80", 100),
            rule("PingAll", "0-65535", 110)
        );
        let (_, p) = run("icmp.json", &text, &Resolver::default());
        let some = rules_named(&p.rulesets[0], "PingPort");
        assert_eq!(some.len(), 1, "no sure part: {some:#?}");
        assert!(some[0].undecidable[0].contains("ports for a protocol without ports"));
        assert!(some[0].matches.dport.is_full());
        let all = rules_named(&p.rulesets[0], "PingAll");
        assert_eq!(all.len(), 1);
        assert!(all[0].undecidable.is_empty(), "{:?}", all[0].undecidable);
    }

    #[test]
    fn asgs_resolve_by_the_last_id_segment_or_the_whole_id() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/asg-zca";
        for names in [
            resolver(&[("asg-zca", "10.5.0.4/32")]),
            resolver(&[(id, "10.5.0.4/32")]),
        ] {
            let (_, p) = run("asg.json", ASG_NSG, &names);
            let r = rules_named(&p.rulesets[0], "AllowZertoToZca");
            assert_eq!(r.len(), 1);
            assert!(r[0].undecidable.is_empty());
            assert_eq!(r[0].matches.dst, AddrSet::parse("10.5.0.4").unwrap());
        }
        let (_, p) = run("asg.json", ASG_NSG, &Resolver::default());
        let r = rules_named(&p.rulesets[0], "AllowZertoToZca");
        assert_eq!(r.len(), 1, "no literal destination: one undecidable rule");
        assert!(
            r[0].undecidable[0].contains("application security group `asg-zca` is not resolved")
        );
        let issue = of_kind(&p, IssueKind::Undecidable)
            .into_iter()
            .find(|i| i.message.contains("`asg-zca`"))
            .unwrap();
        assert!(at(ASG_NSG, issue.span).ends_with("asg-zca\""));
    }

    #[test]
    fn ports_lists_and_protocols() {
        let (_, p) = run(
            "asg.json",
            ASG_NSG,
            &resolver(&[("asg-zca", "10.5.0.4/32")]),
        );
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let rs = &p.rulesets[0];
        let z = rules_named(rs, "AllowZertoToZca");
        assert_eq!(
            z[0].matches.dport,
            PortSet::from_ranges([(4005, 4009), (9081, 9081), (9669, 9669)])
        );
        assert_eq!(z[0].matches.sport, PortSet::full());
        assert_eq!(z[0].matches.proto, ProtoSet::single(TCP));
        assert_eq!(z[0].matches.state, all_states(), "stateful: every state");
        assert_eq!(
            rules_named(rs, "AllowAnyProtocol")[0].matches.proto,
            ProtoSet::full()
        );
        let tcp443 = r#"[{"name": "AnyTo443", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "*",
  "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "443"}]"#;
        let (_, p443) = run("any.json", tcp443, &Resolver::default());
        let any443 = rules_named(&p443.rulesets[0], "AnyTo443");
        assert_eq!(any443.len(), 2, "ICMP split off");
        assert!(any443[0].undecidable.is_empty());
        assert_eq!(any443[0].matches.dport, PortSet::single(443));
        assert!(any443[0].matches.proto.contains(TCP) && !any443[0].matches.proto.contains(ICMP));
        assert_eq!(
            any443[1].matches.proto,
            ProtoSet::from_ranges([(ICMP, ICMP), (ICMPV6, ICMPV6)])
        );
        assert!(any443[1].undecidable[0].contains("restrict ICMP"));
        let ping = rules_named(rs, "AllowPing")[0];
        assert_eq!(
            ping.matches.proto,
            ProtoSet::from_ranges([(ICMP, ICMP), (ICMPV6, ICMPV6)])
        );
        assert_eq!(ping.matches.src, AddrSet::any(), "both families");
        assert_eq!(ping.matches.dport, PortSet::full());
        let esp = rules_named(rs, "AllowIpsec")[0];
        assert_eq!(esp.matches.proto, ProtoSet::single(50));
        assert_eq!(esp.action, Action::Drop);
        assert!(esp.matches.src.is_subset(&AddrSet::any_v6()), "one family");
        // ICMP over IPv6 from anywhere is allowed inbound
        let mut v6ping = flow("2001:db8::1", "2001:db8::2", ICMPV6, 128 << 8);
        v6ping.dport = PortSet::range(128 << 8, (128 << 8) | 0xff);
        let out = evaluate(rs, Hook::Input, &v6ping);
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");
    }

    #[test]
    fn equal_priorities_are_a_parse_error_and_keep_file_order() {
        let text = r#"{"name": "nsg-tie", "securityRules": [
  {"name": "First", "priority": 200, "direction": "Inbound", "access": "Deny", "protocol": "Tcp",
   "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "9669"},
  {"name": "Second", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
   "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "9669"},
  {"name": "OtherWay", "priority": 200, "direction": "Outbound", "access": "Allow", "protocol": "Tcp",
   "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "443"}
]}"#;
        let (_, p) = run("tie.json", text, &Resolver::default());
        let errs = of_kind(&p, IssueKind::ParseError);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(at(text, errs[0].span), "200");
        assert_eq!(
            errs[0].span.start,
            text.find("\"Second\", \"priority\": ").unwrap() + 22
        );
        assert!(errs[0].message.contains("`First` and `Second`"));
        let labels = chain_labels(&p.rulesets[0], Hook::Input);
        assert_eq!(
            labels[..2],
            [
                "nsg-tie/First (priority 200)",
                "nsg-tie/Second (priority 200)"
            ]
        );
    }

    #[test]
    fn bad_values_are_parse_errors_at_the_value_and_the_rules_stay_undecidable() {
        let (_, p) = run("nsg-bad-values.json", BAD, &Resolver::default());
        let errs = of_kind(&p, IssueKind::ParseError);
        let texts: Vec<&str> = errs.iter().map(|e| at(BAD, e.span)).collect();
        assert_eq!(
            texts,
            ["true", "\"99999\"", "\"10.0.0.300/24\"", "\"Block\""],
            "{errs:#?}"
        );
        assert!(errs[0].message.contains("must be a number, not a boolean"));
        let rs = &p.rulesets[0];
        for (name, needle) in [
            ("AllowZertoVra", "priority `true`"),
            ("AllowZertoAdmin", "`99999`"),
            ("AllowFromBadRange", "`10.0.0.300/24`"),
            ("BlockSsh", "access `Block`"),
        ] {
            let rules = rules_named(rs, name);
            assert!(!rules.is_empty(), "{name} is kept");
            let undecidable: Vec<&String> =
                rules.iter().flat_map(|r| r.undecidable.iter()).collect();
            assert!(
                undecidable.iter().any(|w| w.contains(needle)),
                "{name}: {undecidable:?}"
            );
        }
        // a rule of unknown priority may come first: it is evaluated first, undecidably
        assert_eq!(
            chain_labels(rs, Hook::Input)[0],
            "nsg-zca-bad/AllowZertoVra (priority unknown)"
        );
        assert_eq!(rules_named(rs, "BlockSsh")[0].action, Action::Opaque);
        // 4007 from the peer range: the unknown-priority allow before the DenyAllInBound default
        let out = evaluate(rs, Hook::Input, &flow("10.1.2.3", "*", TCP, 4007));
        assert!(out.iter().any(|o| o.verdict == Verdict::Unknown), "{out:?}");
        assert!(out.iter().all(|o| o.verdict != Verdict::Allow), "{out:?}");
    }

    #[test]
    fn unknown_direction_goes_into_both_chains_undecidably() {
        let text = r#"{"name": "n", "securityRules": [
  {"name": "Sideways", "priority": 100, "direction": "Both", "access": "Deny", "protocol": "Tcp",
   "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": "443"}]}"#;
        let (_, p) = run("dir.json", text, &Resolver::default());
        let errs = of_kind(&p, IssueKind::ParseError);
        assert_eq!(errs.len(), 1);
        assert_eq!(at(text, errs[0].span), "\"Both\"");
        assert!(errs[0]
            .message
            .contains("possibly inbound and possibly outbound"));
        for hook in [Hook::Input, Hook::Output] {
            assert_eq!(
                chain_labels(&p.rulesets[0], hook)[0],
                "n/Sideways (priority 100)"
            );
        }
    }

    #[test]
    fn sniff_accepts_the_shapes_and_nothing_else() {
        // AWS (same top-level keys as the corpus files), Terraform plans, anything else
        for text in [
            r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [], "IpPermissionsEgress": []}]}"#,
            r#"{"SecurityGroupRules": [{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": false, "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv4": "0.0.0.0/0"}]}"#,
            r#"{"NetworkAcls": [{"Entries": [{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": false, "CidrBlock": "0.0.0.0/0"}], "NetworkAclId": "acl-1"}]}"#,
            r#"{"format_version":"1.2","planned_values":{}}"#,
            r#"{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"type":"azurerm_network_security_group","values":{"security_rule":[]}}]}}}"#,
            r#"{"a": 1}"#,
            "[]",
            "[1, 2]",
            r#"[{"name": "x"}]"#,
            r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Network/virtualNetworks", "name": "v"}]}"#,
            r#"{"data": [{"type": "microsoft.compute/virtualmachines", "properties": {}}]}"#,
        ] {
            assert!(!sniffs(text), "{text}");
        }
        for text in [
            REST,
            ARM_CHILD,
            ARM_APIM,
            DENY_FIRST,
            ARM_OK,
            LIST,
            BAD,
            TAGGED_RULES,
            ASG_NSG,
            // az network nsg rule show
            r#"{"access": "Allow", "direction": "Inbound", "name": "r", "priority": 100, "protocol": "Tcp", "type": "Microsoft.Network/networkSecurityGroups/securityRules"}"#,
            // Resource Graph
            r#"{"count": 1, "data": [{"id": "/x/nsg1", "name": "nsg1", "type": "microsoft.network/networksecuritygroups", "properties": {"securityRules": []}}], "skip_token": null, "total_records": 1}"#,
            // REST list
            r#"{"value": [{"name": "nsg1", "properties": {"securityRules": [], "defaultSecurityRules": []}}]}"#,
            // Az PowerShell
            r#"{"Name": "nsg1", "SecurityRules": [{"Name": "r", "Priority": 100, "Direction": "Inbound", "Access": "Allow"}]}"#,
        ] {
            assert!(sniffs(text), "{}", &text[..text.len().min(80)]);
        }
    }

    #[test]
    fn nsg_list_resource_graph_and_powershell_shapes() {
        let (_, p) = run("nsg-list.json", LIST, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let names: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(names, ["nsg-snet-zerto", "nsg-zca-nic"]);
        let nic = &p.rulesets[1];
        let out = evaluate(nic, Hook::Input, &flow("10.1.2.3", "*", TCP, 9081));
        assert!(out.iter().all(|o| o.verdict == Verdict::Deny), "{out:?}");
        let subnet = &p.rulesets[0];
        let out = evaluate(subnet, Hook::Input, &flow("10.1.2.3", "*", TCP, 9081));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");

        let graph = REST.replace(
            "\"type\": \"Microsoft.Network/networkSecurityGroups\"",
            "\"type\": \"microsoft.network/networksecuritygroups\"",
        );
        let graph = format!("{{\"count\": 1, \"data\": [{graph}], \"skip_token\": null}}");
        let (_, p) = run("graph.json", &graph, &Resolver::default());
        assert_eq!(p.rulesets.len(), 1);
        assert_eq!(chain_labels(&p.rulesets[0], Hook::Input).len(), 4);

        let ps = r#"{"Name": "nsg-ps", "Id": "/x/nsg-ps", "SecurityRules": [{"Name": "AllowZerto",
  "Protocol": "Tcp", "SourcePortRange": ["*"], "DestinationPortRange": ["4005-4009", "9081"],
  "SourceAddressPrefix": ["10.1.0.0/16"], "DestinationAddressPrefix": ["*"],
  "SourceApplicationSecurityGroups": [], "DestinationApplicationSecurityGroups": [],
  "Access": "Allow", "Priority": 100, "Direction": "Inbound"}], "DefaultSecurityRules": []}"#;
        let (_, p) = run("ps.json", ps, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let r = rules_named(&p.rulesets[0], "AllowZerto");
        assert_eq!(
            r[0].matches.dport,
            PortSet::from_ranges([(4005, 4009), (9081, 9081)])
        );
        assert_eq!(r[0].matches.src, AddrSet::parse("10.1.0.0/16").unwrap());
    }

    #[test]
    fn arm_child_rule_with_condition_and_unresolved_parameter() {
        let (_, p) = run("child.json", ARM_CHILD, &Resolver::default());
        assert_eq!(p.rulesets.len(), 1, "the child joins its parent");
        let rs = &p.rulesets[0];
        assert_eq!(rs.name.as_deref(), Some("[parameters('webServerNsgName')]"));
        let labels = chain_labels(rs, Hook::Input);
        assert!(
            labels[0].ends_with("/allowAllFromAll (priority 100)"),
            "{labels:?}"
        );
        assert!(
            labels[1].ends_with("/DefaultDeny (priority 4096)"),
            "{labels:?}"
        );
        let child = rules_named(rs, "allowAllFromAll");
        assert_eq!(child.len(), 1);
        let why = child[0].undecidable.join(" | ");
        assert!(
            why.contains("deployed only when the ARM condition"),
            "{why}"
        );
        assert!(why.contains("webServerSubnetAddressPrefix"), "{why}");
        assert_eq!(
            child[0].matches.proto,
            ProtoSet::single(TCP),
            "lower-case `tcp`"
        );
        let und = of_kind(&p, IssueKind::Undecidable);
        let cond = und
            .iter()
            .find(|i| i.message.contains("condition"))
            .unwrap();
        assert!(at(ARM_CHILD, cond.span).starts_with("\"[greater("));
        let expr = und
            .iter()
            .find(|i| i.message.contains("webServerSubnetAddressPrefix"))
            .unwrap();
        assert_eq!(
            at(ARM_CHILD, expr.span),
            "\"[parameters('webServerSubnetAddressPrefix')]\""
        );
        // the source is the parameter's literal default `*`: no issue for it
        assert!(!und
            .iter()
            .any(|i| i.message.contains("testRunnerIpRange')]`")));
        // the DefaultDeny rule still decides what the conditional rule does not match
        let out = evaluate(rs, Hook::Input, &flow("10.0.0.1", "*", UDP, 53));
        assert!(out.iter().all(|o| o.verdict == Verdict::Deny), "{out:?}");
        let out = evaluate(rs, Hook::Input, &flow("10.0.0.1", "*", TCP, 22));
        assert!(out.iter().all(|o| o.verdict != Verdict::Allow), "{out:?}");
        assert!(out.iter().any(|o| o.verdict == Verdict::Unknown), "{out:?}");
    }

    #[test]
    fn arm_service_tag_corpus_names_from_variables() {
        let (_, p) = run("apim.json", ARM_APIM, &Resolver::default());
        let rs = &p.rulesets[0];
        assert_eq!(
            rs.name.as_deref(),
            Some("apimnsg[uniqueString(resourceGroup().id)]")
        );
        assert_eq!(chain_labels(rs, Hook::Input).len(), 6 + 3);
        assert_eq!(chain_labels(rs, Hook::Output).len(), 12 + 3);
        let monitor = rules_named(rs, "Publish_DiagnosticLogs_And_Metrics");
        assert_eq!(
            monitor[0].matches.dport,
            PortSet::from_ranges([(443, 443), (1886, 1886), (12000, 12000)])
        );
        // one issue per tag
        let und = of_kind(&p, IssueKind::Undecidable);
        let vnet = und
            .iter()
            .filter(|i| i.message.contains("`VirtualNetwork`"))
            .count();
        assert_eq!(vnet, 1, "{und:#?}");
        for tag in [
            "Internet",
            "ApiManagement",
            "Sql",
            "EventHub",
            "Storage",
            "AzureMonitor",
            "AzureKeyVault",
            "AzureCloud",
            "AzureActiveDirectory",
            "AzureLoadBalancer",
        ] {
            assert_eq!(
                und.iter()
                    .filter(|i| i.message.contains(&format!("`{tag}`")))
                    .count(),
                1,
                "{tag}"
            );
        }
    }

    #[test]
    fn arm_expressions_conditions_and_orphans() {
        let text = r#"{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "deploy": { "type": "bool" },
    "adminRange": { "type": "string" },
    "ports": { "type": "array", "defaultValue": ["9669", "9080"] }
  },
  "variables": {
    "name": "nsg-a",
    "suffix": "[uniqueString(resourceGroup().id)]",
    "loop1": "[variables('loop2')]",
    "loop2": "[variables('loop1')]"
  },
  "resources": [
    {
      "type": "Microsoft.Network/networkSecurityGroups",
      "name": "[variables('name')]",
      "condition": "[parameters('deploy')]",
      "properties": { "securityRules": [
        { "name": "AllowAdmin", "properties": { "protocol": "Tcp", "sourcePortRange": "*",
          "destinationPortRanges": "[parameters('ports')]", "sourceAddressPrefix": "[parameters('adminRange')]",
          "destinationAddressPrefix": "[variables('suffix')]", "access": "Allow", "priority": 100, "direction": "Inbound" } },
        { "name": "Looping", "properties": { "protocol": "Tcp", "sourcePortRange": "*",
          "destinationPortRange": "22", "sourceAddressPrefix": "[variables('loop1')]",
          "destinationAddressPrefix": "*", "access": "Deny", "priority": "[add(100, 10)]", "direction": "Inbound" } }
      ] }
    },
    {
      "type": "Microsoft.Network/networkSecurityGroups/securityRules",
      "name": "nsg-a/AllowVra",
      "properties": { "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "4007",
        "sourceAddressPrefix": "10.1.0.0/16", "destinationAddressPrefix": "*",
        "access": "Allow", "priority": 200, "direction": "Inbound" }
    },
    {
      "type": "Microsoft.Network/networkSecurityGroups/securityRules",
      "name": "[concat('nsg-elsewhere', '/', 'AllowSsh')]",
      "properties": { "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "access": "Allow", "priority": 100, "direction": "Inbound" }
    },
    {
      "type": "Microsoft.Network/networkSecurityGroups/securityRules",
      "name": "nsg-a/NeverDeployed",
      "condition": false,
      "properties": { "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
        "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "access": "Deny", "priority": 150, "direction": "Inbound" }
    }
  ]
}"#;
        let (_, p) = run("t.json", text, &Resolver::default());
        assert!(
            of_kind(&p, IssueKind::ParseError).is_empty(),
            "{:#?}",
            p.issues
        );
        let names: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(names, ["nsg-a", "nsg-elsewhere"]);
        let a = &p.rulesets[0];
        let labels = chain_labels(a, Hook::Input);
        assert_eq!(labels[0], "nsg-a (may not be deployed)");
        assert_eq!(labels[1], "nsg-a/Looping (priority unknown)");
        assert_eq!(labels[2], "nsg-a/AllowAdmin (priority 100)");
        assert_eq!(labels[3], "nsg-a/AllowVra (priority 200)");
        assert!(!labels.iter().any(|l| l.contains("NeverDeployed")));
        let admin = rules_named(a, "AllowAdmin");
        assert_eq!(admin.len(), 1);
        assert_eq!(
            admin[0].matches.dport,
            PortSet::from_ranges([(9080, 9080), (9669, 9669)])
        );
        let why = admin[0].undecidable.join(" | ");
        assert!(
            why.contains("parameter `adminRange` has no default value"),
            "{why}"
        );
        assert!(why.contains("uniqueString"), "{why}");
        let und = of_kind(&p, IssueKind::Undecidable);
        assert!(und
            .iter()
            .any(|i| at(text, i.span) == "\"[variables('suffix')]\""));
        assert!(und
            .iter()
            .any(|i| at(text, i.span) == "\"[parameters('deploy')]\""));
        // the NSG may be absent (then everything passes): the VRA port is allowed either way,
        // SSH is allowed if absent and denied if present: unknown
        let out = evaluate(a, Hook::Input, &flow("10.1.2.3", "*", TCP, 4007));
        assert!(out.iter().all(|o| o.verdict == Verdict::Allow), "{out:?}");
        let out = evaluate(a, Hook::Input, &flow("10.1.2.3", "*", TCP, 22));
        assert!(out.iter().all(|o| o.verdict == Verdict::Unknown), "{out:?}");
        // an NSG only referenced by a child rule: its other rules are unknown
        let e = &p.rulesets[1];
        let out = evaluate(e, Hook::Input, &flow("10.1.2.3", "*", TCP, 22));
        assert!(out.iter().all(|o| o.verdict == Verdict::Unknown), "{out:?}");
        assert!(und
            .iter()
            .any(|i| i.message.contains("`nsg-elsewhere` is not defined")));
    }

    #[test]
    fn truncated_export_is_not_json() {
        let e = json::parse(TRUNCATED).unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
    }

    #[test]
    fn hostile_shapes_do_not_panic() {
        let deep = format!("[{}'x'{}]", "concat(".repeat(200), ")".repeat(200));
        let docs = [
            r#"{"securityRules": [1, "x", null, {"priority": {}, "direction": [], "access": 5, "sourceAddressPrefixes": [[]], "destinationPortRanges": [true, {}], "sourceApplicationSecurityGroups": [{}, 3]}]}"#.to_string(),
            r#"{"type": "Microsoft.Network/networkSecurityGroups", "securityRules": "nope", "defaultSecurityRules": {}}"#.to_string(),
            r#"[{"access": "Allow", "direction": "Inbound", "priority": 1e3}, {"name": 5, "priority": -1, "protocol": "tcp"}]"#.to_string(),
            format!(
                r#"{{"$schema": "deploymentTemplate", "resources": [{{"type": "Microsoft.Network/networkSecurityGroups", "name": "{deep}", "properties": {{"securityRules": "[parameters('p')[", "copy": [{{"name": "securityRules"}}]}}, "resources": [{{"type": "securityRules", "name": "[concat(']", "properties": {{"priority": "[format('{{0}}{{', 1)]"}}}}]}}, {{"type": "Microsoft.Resources/deployments", "properties": {{"template": {{"resources": [{{"type": "Microsoft.Network/networkSecurityGroups/securityRules", "name": "[resourceId('a', 'b')]"}}]}}}}}}]}}"#
            ),
        ];
        // variables doubling at each level: bounded work
        let mut vars = String::from("\"v0\": \"x\"");
        for i in 1..40 {
            vars.push_str(&format!(
                ", \"v{i}\": \"[concat(variables('v{j}'), variables('v{j}'))]\"",
                j = i - 1
            ));
        }
        let blowup = format!(
            r#"{{"contentVersion": "1.0.0.0", "variables": {{{vars}}}, "resources": [{{"type": "Microsoft.Network/networkSecurityGroups", "name": "[variables('v39')]", "properties": {{"securityRules": []}}}}]}}"#
        );
        let mut docs = docs.to_vec();
        docs.push(blowup);
        for d in &docs {
            let src = SourceText::new("h.json", d.as_str());
            let json = json::parse(d).unwrap();
            assert!(sniff(&json), "{d}");
            let p = parse(&src, &json, &Resolver::default());
            assert!(!p.issues.is_empty(), "{d}");
            for i in &p.issues {
                assert!(d.get(i.span.start..i.span.end).is_some());
            }
        }
    }
}
