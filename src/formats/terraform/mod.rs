//! Terraform plans and state as `terraform show -json` prints them: security groups and their
//! rules (`aws_security_group`, `aws_security_group_rule`, `aws_vpc_security_group_ingress_rule`,
//! `aws_vpc_security_group_egress_rule`) and Azure NSGs (`azurerm_network_security_group`,
//! `azurerm_network_security_rule`). Resources of other types are skipped.
//!
//! The resources are read from `planned_values.root_module` (a plan) or `values.root_module`
//! (state) and every nested `child_modules[]`, into the ASTs of [`crate::formats::aws`] and
//! [`crate::formats::azure`], and lowered by their functions, so a group or an NSG means the same here
//! as in a CLI export. Each firewall is named by its Terraform address
//! (`module.sg["bad_example"].aws_security_group.bad`): that is the one name a plan knows for
//! sure (ids are assigned at apply), so the inventory's `policies` name it, and a group that
//! another rule references resolves by it. A rule's span is its block (or resource) object in
//! the planned values.
//!
//! Values known only after apply are missing from the planned values and marked `true` in the
//! resource change's `after_unknown` at the same path. Such a value is *unknown*, never empty:
//! a CIDR makes its rule undecidable, a whole `egress: true` makes the group's egress one
//! undecidable permission (and an unknown `security_rule` list an NSG whose rules are unknown).
//! Unlike CloudFormation, Terraform removes EC2's default allow-all egress: an empty `egress`
//! list means no egress at all.
//!
//! Standalone rules attach to the group (or NSG) they name: by the group's `id` (state) or
//! `name` (Azure), else, when the id is known only after apply, by the resource the rule's
//! `configuration` expression references in the same module instance. A rule whose group cannot
//! be found gets a group of its own, named by the value or the rule's address, whose other rules
//! are unknown (an undecidable note says so).

mod aws;
mod aws_attach;
mod azure;

use std::collections::{BTreeSet, HashMap};

use crate::formats::json::fields::parse_error;
use crate::formats::json::{Json, Kind};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Parsed, Resolver};
use crate::model::Span;
use aws::Aws;
use azure::Az;

const SG: &str = "aws_security_group";
const SG_RULE: &str = "aws_security_group_rule";
const VPC_INGRESS: &str = "aws_vpc_security_group_ingress_rule";
const VPC_EGRESS: &str = "aws_vpc_security_group_egress_rule";
const NSG: &str = "azurerm_network_security_group";
const NSG_RULE: &str = "azurerm_network_security_rule";

/// Module nesting deeper than this is not followed (the JSON depth bounds it anyway).
const MAX_MODULES: usize = 64;

// ---------------------------------------------------------------------------------------------
// Sniffing and entry point

/// Is this JSON document `terraform show -json` output? A plan: `format_version` with
/// `planned_values` or `resource_changes`; state: `format_version` with `values.root_module`.
pub fn sniff(json: &Json<'_>) -> bool {
    let versioned = json
        .get("format_version")
        .is_some_and(|v| v.as_str().is_some());
    let plan = json
        .get("planned_values")
        .is_some_and(|p| p.members().is_some())
        || json
            .get("resource_changes")
            .is_some_and(|r| r.as_array().is_some());
    let state = json
        .path(&["values", "root_module"])
        .is_some_and(|r| r.members().is_some());
    versioned && (plan || state)
}

/// Parse and lower a plan or state document that [`sniff`] accepted.
pub fn parse(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    parse_attached(src, json, names).0
}

/// [`parse`], with the AWS security groups the plan attaches to one resource.
pub fn parse_attached(
    src: &SourceText,
    json: &Json<'_>,
    names: &Resolver,
) -> (Parsed, Vec<super::aws::Attachment>) {
    let mut tf = Tf::new(json);
    let root = json
        .path(&["planned_values", "root_module"])
        .or_else(|| json.path(&["values", "root_module"]));
    let mut resources = Vec::new();
    match root {
        Some(root) => tf.walk(root, "", 0, &mut resources),
        None => tf.issues.push(nothing_evaluated(json)),
    }
    let mut aws = Aws::default();
    let mut az = Az::default();
    // groups first, so that standalone rules find them
    for r in &resources {
        match r.rtype {
            SG => {
                let g = tf.aws_group(r);
                aws.add(r, g);
            }
            NSG => {
                let n = tf.azure_nsg(r);
                az.add(r, n);
            }
            _ => {}
        }
    }
    for r in &resources {
        match r.rtype {
            SG_RULE | VPC_INGRESS | VPC_EGRESS => tf.aws_rule(r, &mut aws),
            NSG_RULE => tf.azure_rule(r, &mut az),
            _ => {}
        }
    }
    let attachments = match root {
        Some(root) => tf.aws_attachments(root, &mut aws),
        None => Vec::new(),
    };
    aws.link_references();
    let mut issues = tf.issues;
    let mut rulesets = super::aws::lower_groups(&aws.groups, src, names, &mut issues);
    rulesets.extend(super::azure::lower(&az.nsgs, src, names, &mut issues));
    (Parsed { rulesets, issues }, attachments)
}

/// A plan without `planned_values` (and no state `values`): its resources are not read (the
/// planned values are what the reader trusts), so nothing of it is evaluated. Said, never a
/// silent pass.
fn nothing_evaluated(json: &Json<'_>) -> ParseIssue {
    let span = json
        .get("format_version")
        .map(|v| v.span)
        .unwrap_or(json.span);
    ParseIssue {
        kind: IssueKind::Undecidable,
        span,
        message: "this plan has no `planned_values` (nor state `values`): none of its resources was read, so nothing in it was evaluated".into(),
        label: "no planned values".into(),
        help: Some(
            "print the plan with `terraform show -json PLANFILE` (Terraform 0.12 or later writes `planned_values`), or audit the state with `terraform show -json`".into(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Resources and their unknowns

/// One managed resource of a supported type.
struct Res<'j, 'a> {
    address: String,
    /// The module instance it is in (`module.sg["a"]`), empty for the root module.
    module: String,
    rtype: &'j str,
    /// Its name in the configuration (`bad` of `aws_security_group.bad`).
    name: &'j str,
    /// The resource object (its span is the rule's span for standalone rules).
    obj: &'j Json<'a>,
    values: Option<&'j Json<'a>>,
    /// `change.after_unknown` of its resource change, if any.
    unknown: Option<&'j Json<'a>>,
}

/// A value as the plan gives it.
enum Got<'j, 'a> {
    /// Absent or `null`, and not marked unknown.
    Missing,
    /// Marked `true` in `after_unknown`: the span of the mark.
    Unknown(Span),
    Value(&'j Json<'a>),
}

/// The `after_unknown` mark under a key.
fn unk_key<'j, 'a>(unk: Option<&'j Json<'a>>, key: &str) -> Option<&'j Json<'a>> {
    unk.and_then(|u| u.get(key))
}

/// The `after_unknown` mark at a list index.
fn unk_at<'j, 'a>(unk: Option<&'j Json<'a>>, i: usize) -> Option<&'j Json<'a>> {
    unk.and_then(|u| u.as_array()).and_then(|a| a.get(i))
}

/// Marks of unknown list elements at index `from` and beyond (elements the values lack).
fn marks_beyond(list_unk: Option<&Json<'_>>, from: usize) -> Vec<(usize, Span)> {
    list_unk
        .and_then(|u| u.as_array())
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .skip(from)
        .filter_map(|(i, m)| is_unknown(Some(m)).map(|s| (i, s)))
        .collect()
}

/// The span of the mark when it says "unknown".
fn is_unknown(mark: Option<&Json<'_>>) -> Option<Span> {
    mark.filter(|m| matches!(m.kind, Kind::Bool(true)))
        .map(|m| m.span)
}

fn got<'j, 'a>(obj: Option<&'j Json<'a>>, unk: Option<&'j Json<'a>>, key: &str) -> Got<'j, 'a> {
    if let Some(span) = is_unknown(unk_key(unk, key)) {
        return Got::Unknown(span);
    }
    match obj.and_then(|o| o.get(key)) {
        Some(v) if !v.is_null() => Got::Value(v),
        _ => Got::Missing,
    }
}

/// The module names of a module instance address: `module.a["x"].module.b[0]` → `[a, b]`.
fn module_names(prefix: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = prefix;
    while !rest.is_empty() {
        rest = rest.strip_prefix("module.")?;
        let (name, after) = split_name(rest);
        if name.is_empty() {
            return None;
        }
        out.push(name.to_string());
        let (_, after) = split_index(after)?;
        rest = match after.strip_prefix('.') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return None,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    Some(out)
}

/// A name up to the next `.` or `[`.
fn split_name(s: &str) -> (&str, &str) {
    let end = s.find(['.', '[']).unwrap_or(s.len());
    (s.get(..end).unwrap_or(""), s.get(end..).unwrap_or(""))
}

/// An optional `[...]` index (quoted keys may hold `]` and escapes): the index with its brackets,
/// and the rest. `None` when a bracket never closes.
fn split_index(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with('[') {
        return Some(("", s));
    }
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else if c == ']' {
            return Some((s.get(..=i)?, s.get(i + 1..)?));
        }
    }
    None
}

/// A reference `TYPE.NAME[idx].attr` to a resource of type `rtype`: its name and index.
fn reference_to(r: &str, rtype: &str) -> Option<(String, String)> {
    let rest = r.strip_prefix(rtype)?.strip_prefix('.')?;
    let (name, after) = split_name(rest);
    if name.is_empty() {
        return None;
    }
    let (idx, _) = split_index(after)?;
    Some((name.to_string(), idx.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The reader

struct Tf<'j, 'a> {
    /// `change.after_unknown` by resource address.
    unknown: HashMap<&'j str, &'j Json<'a>>,
    /// `configuration.root_module`.
    config: Option<&'j Json<'a>>,
    issues: Vec<ParseIssue>,
}

impl<'j, 'a> Tf<'j, 'a> {
    fn new(json: &'j Json<'a>) -> Self {
        let mut unknown = HashMap::new();
        for rc in json
            .get("resource_changes")
            .and_then(|r| r.as_array())
            .unwrap_or(&[])
        {
            let addr = rc.get("address").and_then(|a| a.as_str());
            let au = rc.path(&["change", "after_unknown"]);
            if let (Some(addr), Some(au)) = (addr, au) {
                unknown.insert(addr, au);
            }
        }
        Tf {
            unknown,
            config: json.path(&["configuration", "root_module"]),
            issues: Vec::new(),
        }
    }

    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(parse_error(span, message, label));
    }

    /// A value known only after apply: one undecidable note at its mark; the reason.
    fn after_apply(&mut self, span: Span, what: String) -> String {
        let reason = format!("{what} is known only after apply");
        self.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span,
            message: format!("{reason}: the rules that use it are undecidable"),
            label: "known after apply".into(),
            help: Some(
                "audit the state once applied (`terraform show -json`), or give the value in the configuration"
                    .into(),
            ),
        });
        reason
    }

    /// Collect the supported resources of a module and its child modules.
    fn walk(
        &mut self,
        module: &'j Json<'a>,
        prefix: &str,
        depth: usize,
        out: &mut Vec<Res<'j, 'a>>,
    ) {
        if depth > MAX_MODULES {
            self.error(
                module.span,
                "modules nested too deeply: the rest is not read".into(),
                "too deep",
            );
            return;
        }
        for r in module
            .get("resources")
            .and_then(|r| r.as_array())
            .unwrap_or(&[])
        {
            let Some(rtype) = r.get("type").and_then(|t| t.as_str()) else {
                continue;
            };
            if ![SG, SG_RULE, VPC_INGRESS, VPC_EGRESS, NSG, NSG_RULE].contains(&rtype)
                || r.get("mode")
                    .and_then(|m| m.as_str())
                    .is_some_and(|m| m != "managed")
            {
                continue;
            }
            let name = r.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let address = match r.get("address").and_then(|a| a.as_str()) {
                Some(a) => a.to_string(),
                None if prefix.is_empty() => format!("{rtype}.{name}"),
                None => format!("{prefix}.{rtype}.{name}"),
            };
            let values = match r.get("values") {
                Some(v) if v.members().is_some() => Some(v),
                Some(v) => {
                    self.error(
                        v.span,
                        format!(
                            "the values of {address} should be an object, not {}",
                            v.type_name()
                        ),
                        "not an object",
                    );
                    None
                }
                None => {
                    self.error(
                        r.span,
                        format!("{address} has no `values`"),
                        "`values` missing",
                    );
                    None
                }
            };
            let unknown = self.unknown.get(address.as_str()).copied();
            out.push(Res {
                address,
                module: prefix.to_string(),
                rtype,
                name,
                obj: r,
                values,
                unknown,
            });
        }
        for c in module
            .get("child_modules")
            .and_then(|c| c.as_array())
            .unwrap_or(&[])
        {
            let Some(addr) = c.get("address").and_then(|a| a.as_str()) else {
                self.error(
                    c.span,
                    "a child module without an `address`: its resources are not read".into(),
                    "`address` missing",
                );
                continue;
            };
            self.walk(c, addr, depth + 1, out);
        }
    }

    /// The configuration's expression of an attribute of a resource (`expressions.X`).
    fn expression(&self, r: &Res<'_, '_>, attr: &str) -> Option<&'j Json<'a>> {
        let mut m = self.config?;
        for name in &module_names(&r.module)? {
            m = m
                .get("module_calls")
                .and_then(|c| c.get(name))
                .and_then(|c| c.get("module"))?;
        }
        let local = format!("{}.{}", r.rtype, r.name);
        m.get("resources")
            .and_then(|rs| rs.as_array())
            .and_then(|rs| {
                rs.iter()
                    .find(|c| c.get("address").and_then(|a| a.as_str()) == Some(local.as_str()))
            })
            .and_then(|c| c.path(&["expressions", attr]))
    }

    /// The configuration's references of an attribute of a resource (`expressions.X.references`).
    fn references(&self, r: &Res<'_, '_>, attr: &str) -> Vec<&'j str> {
        let Some(mut m) = self.config else {
            return Vec::new();
        };
        let Some(path) = module_names(&r.module) else {
            return Vec::new();
        };
        for name in &path {
            match m
                .get("module_calls")
                .and_then(|c| c.get(name))
                .and_then(|c| c.get("module"))
            {
                Some(next) => m = next,
                None => return Vec::new(),
            }
        }
        let local = format!("{}.{}", r.rtype, r.name);
        m.get("resources")
            .and_then(|rs| rs.as_array())
            .and_then(|rs| {
                rs.iter()
                    .find(|c| c.get("address").and_then(|a| a.as_str()) == Some(local.as_str()))
            })
            .and_then(|c| c.path(&["expressions", attr, "references"]))
            .map(|refs| refs.strings().into_iter().map(|(s, _)| s).collect())
            .unwrap_or_default()
    }

    /// The address of the one resource of type `rtype` in the rule's module instance that the
    /// attribute's expression references, when that is unambiguous.
    fn referenced_address(&self, r: &Res<'_, '_>, attr: &str, rtype: &str) -> Option<String> {
        let mut names = BTreeSet::new();
        let mut indexed = BTreeSet::new();
        for s in self.references(r, attr) {
            if let Some((name, idx)) = reference_to(s, rtype) {
                if !idx.is_empty() {
                    indexed.insert(idx);
                }
                names.insert(name);
            }
        }
        if names.len() != 1 || indexed.len() > 1 {
            return None;
        }
        let name = names.into_iter().next()?;
        let idx = indexed.into_iter().next().unwrap_or_default();
        Some(if r.module.is_empty() {
            format!("{rtype}.{name}{idx}")
        } else {
            format!("{}.{rtype}.{name}{idx}", r.module)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json;
    use crate::model::ports::{ConnState, PortSet, ProtoSet, TCP};
    use crate::model::{AddrSet, Decider, Hook, PacketBox, Ruleset, Verdict};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/terraform/");
    const CORPUS: &str = "corpus/terraform-plan-aws_security_group-module-for_each.json";

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    fn run(name: &str, text: &str) -> (SourceText, Parsed) {
        run_with(name, text, &Resolver::default())
    }

    fn run_with(name: &str, text: &str, names: &Resolver) -> (SourceText, Parsed) {
        let src = SourceText::new(name, text);
        let json = json::parse(&src.text).unwrap();
        assert!(sniff(&json), "{name} should sniff as a Terraform plan");
        let p = parse(&src, &json, names);
        (src, p)
    }

    /// The service tags of Azure's default rules.
    fn azure_tags() -> Resolver {
        let mut r = Resolver::default();
        r.insert("VirtualNetwork", AddrSet::parse("10.0.0.0/8").unwrap());
        r.insert(
            "AzureLoadBalancer",
            AddrSet::parse("168.63.129.16/32").unwrap(),
        );
        r.insert("Internet", AddrSet::parse("0.0.0.0/1").unwrap());
        r
    }

    fn count(p: &Parsed, kind: IssueKind) -> usize {
        p.issues.iter().filter(|i| i.kind == kind).count()
    }

    fn ruleset<'p>(p: &'p Parsed, name: &str) -> &'p Ruleset {
        p.rulesets
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no ruleset {name}: {:?}", names(p)))
    }

    fn names(p: &Parsed) -> Vec<&str> {
        p.rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect()
    }

    fn flow(src: &str, dst: &str, dport: u16) -> PacketBox {
        let mut b = PacketBox::full();
        b.src = AddrSet::parse(src).unwrap();
        b.dst = AddrSet::parse(dst).unwrap();
        b.proto = ProtoSet::single(TCP);
        b.dport = PortSet::single(dport);
        b.state = ConnState::New.set();
        b
    }

    fn inbound(src: &str, dport: u16) -> PacketBox {
        flow(src, "10.20.5.10", dport)
    }

    fn verdict(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Verdict {
        let out = rs.evaluate(rs.pipeline(hook).unwrap(), region);
        let mut v: Vec<Verdict> = out.iter().map(|o| o.verdict).collect();
        v.sort_by_key(|v| v.name());
        v.dedup();
        assert_eq!(v.len(), 1, "{out:#?}");
        v[0]
    }

    /// The labels and lines of the rules deciding a region.
    fn deciders(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Vec<(String, u32)> {
        let out = rs.evaluate(rs.pipeline(hook).unwrap(), region);
        let pol = &rs.policies[0];
        out.iter()
            .flat_map(|o| o.deciders.iter())
            .map(|d| {
                let prov = match d.decider {
                    Decider::Rule(r) => &pol.rules[r].prov,
                    Decider::ChainPolicy(c) => &pol.chains[c].decl,
                    Decider::Loop(_) => panic!("loop"),
                };
                (prov.label.to_string(), prov.line)
            })
            .collect()
    }

    /// The 1-based line of the last `{` before the first occurrence of `needle` at or after
    /// `from`.
    fn object_line(src: &SourceText, from: &str, needle: &str) -> u32 {
        let base = src.text.find(from).unwrap();
        let at = base + src.text[base..].find(needle).unwrap();
        let open = src.text[..at].rfind('{').unwrap();
        src.line_col(open).0
    }

    #[test]
    fn sniffs_plans_and_state_but_not_other_json() {
        for text in [
            read(CORPUS),
            read("zca-aws-plan.json"),
            read("zca-azure-plan.json"),
            r#"{"format_version": "1.0", "values": {"root_module": {"resources": []}}}"#.into(),
            r#"{"format_version": "1.2", "resource_changes": []}"#.into(),
        ] {
            let json = json::parse(&text).unwrap();
            assert!(sniff(&json), "{text:.80}");
            assert_eq!(
                crate::formats::detect::Format::of_json(&json),
                Some(crate::formats::detect::Format::Terraform)
            );
        }
        for text in [
            r#"{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": []}]}"#,
            r#"{"name": "nsg", "properties": {"securityRules": []}}"#,
            r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": []}"#,
            r#"{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}"#,
            r#"{"planned_values": {"root_module": {}}}"#,
            r#"{"format_version": "1.2", "planned_values": []}"#,
            r#"{"version": 4, "resources": []}"#,
            r#"[]"#,
        ] {
            let json = json::parse(text).unwrap();
            assert!(!sniff(&json), "{text}");
        }
    }

    #[test]
    fn corpus_for_each_module_groups_with_unknown_egress() {
        let (src, p) = run("corpus.json", &read(CORPUS));
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(
            names(&p),
            [
                r#"module.sg["awful_example"].aws_security_group.bad"#,
                r#"module.sg["bad_example"].aws_security_group.bad"#,
                r#"module.sg["terrible_example"].aws_security_group.bad"#,
            ]
        );
        // one note per group: its egress is known only after apply
        assert_eq!(count(&p, IssueKind::Undecidable), 3, "{:#?}", p.issues);
        for rs in &p.rulesets {
            let name = rs.name.as_deref().unwrap();
            let out = flow("10.213.220.5", "93.184.216.34", 443);
            assert_eq!(verdict(rs, Hook::Output, &out), Verdict::Unknown, "{name}");
            let d = deciders(rs, Hook::Output, &out);
            assert!(d[0].0.starts_with(&format!("{name}/egress #1")), "{d:?}");
            // the egress doubt points at `"egress": true` of the resource's after_unknown
            let marker = object_line(
                &src,
                &format!("\"address\": \"{}\"", name.replace('"', "\\\"")),
                "\"egress\": true",
            );
            assert!(d[0].1 > marker, "{d:?}");
            // ingress from anywhere, all protocols, as the plan says
            for port in [22, 9669, 4008] {
                assert_eq!(
                    verdict(rs, Hook::Input, &inbound("198.51.100.7", port)),
                    Verdict::Allow,
                    "{name} {port}"
                );
            }
            let d = deciders(rs, Hook::Input, &inbound("198.51.100.7", 22));
            assert!(
                d[0].0
                    .starts_with(&format!("{name}/ingress #1 all traffic from 0.0.0.0/0")),
                "{d:?}"
            );
        }
    }

    #[test]
    fn egress_empty_list_is_no_egress_and_missing_is_unknown() {
        let plan = |egress: &str| {
            format!(
                r#"{{"format_version": "1.2", "planned_values": {{"root_module": {{"resources": [
                {{"address": "aws_security_group.a", "mode": "managed", "type": "aws_security_group", "name": "a",
                  "values": {{"name": "a", "ingress": [] {egress} }} }}]}}}}}}"#
            )
        };
        let (_, p) = run("empty.json", &plan(r#", "egress": []"#));
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "aws_security_group.a");
        let out = flow("10.0.0.1", "8.8.8.8", 443);
        assert_eq!(verdict(rs, Hook::Output, &out), Verdict::Deny);
        let (_, p) = run("missing.json", &plan(""));
        assert_eq!(count(&p, IssueKind::ParseError), 1, "{:#?}", p.issues);
        let rs = ruleset(&p, "aws_security_group.a");
        assert_eq!(verdict(rs, Hook::Output, &out), Verdict::Unknown);
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.0.0.1", 22)),
            Verdict::Deny
        );
    }

    #[test]
    fn zca_aws_plan() {
        let (src, p) = run("zca-aws-plan.json", &read("zca-aws-plan.json"));
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        // the only doubt: the DR site's address, known after apply
        assert_eq!(count(&p, IssueKind::Undecidable), 1, "{:#?}", p.issues);
        assert_eq!(names(&p), ["module.zca.aws_security_group.zca"]);
        let rs = ruleset(&p, "module.zca.aws_security_group.zca");

        // 9669 from anywhere: decided by the 9669 ingress block of the planned values
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("1.2.3.4", 9669)),
            Verdict::Allow
        );
        let d = deciders(rs, Hook::Input, &inbound("1.2.3.4", 9669));
        assert_eq!(d.len(), 1, "{d:?}");
        let line = object_line(&src, "\"planned_values\"", "\"from_port\": 9669");
        assert_eq!(d[0].1, line, "{d:?}");
        assert!(
            d[0].0.starts_with(
                "module.zca.aws_security_group.zca/ingress #7 tcp 9669 from 0.0.0.0/0"
            ),
            "{d:?}"
        );

        // 443: the VPC is decided, elsewhere the unknown CIDR makes it undecidable
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.20.1.1", 443)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("198.51.100.7", 443)),
            Verdict::Unknown
        );
        let d = deciders(rs, Hook::Input, &inbound("198.51.100.7", 443));
        let line = object_line(&src, "\"planned_values\"", "\"from_port\": 443");
        assert!(
            d.iter()
                .any(|(l, n)| *n == line && l.contains("ingress #1")),
            "{d:?}"
        );
        // and the note points at the mark in after_unknown
        let note = p
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::Undecidable)
            .unwrap();
        assert_eq!(&src.text[note.span.start..note.span.end], "true");
        assert!(
            note.message.contains("ingress[0].cidr_blocks[1]"),
            "{note:?}"
        );
        // no other port from outside the VPC
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("198.51.100.7", 9071)),
            Verdict::Deny
        );

        // 4008 only through the separate rule, attached through the configuration's reference
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.20.1.1", 4008)),
            Verdict::Allow
        );
        let d = deciders(rs, Hook::Input, &inbound("10.20.1.1", 4008));
        assert!(
            d[0].0
                .contains("module.zca.aws_vpc_security_group_ingress_rule.vra_4008"),
            "{d:?}"
        );
        let line = object_line(
            &src,
            "\"planned_values\"",
            "\"address\": \"module.zca.aws_vpc_security_group_ingress_rule.vra_4008\"",
        );
        assert_eq!(d[0].1, line);
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.99.0.1", 4008)),
            Verdict::Deny
        );
        // the explicit egress is all traffic
        assert_eq!(
            verdict(rs, Hook::Output, &flow("10.20.5.10", "8.8.8.8", 443)),
            Verdict::Allow
        );
    }

    #[test]
    fn standalone_rules_without_a_findable_group() {
        let text = r#"{"format_version": "1.2",
          "planned_values": {"root_module": {"resources": [
            {"address": "aws_security_group_rule.r", "mode": "managed", "type": "aws_security_group_rule", "name": "r",
             "values": {"type": "ingress", "protocol": "tcp", "from_port": 4008, "to_port": 4008,
                        "cidr_blocks": ["10.0.0.0/8"], "self": false}},
            {"address": "aws_security_group_rule.s", "mode": "managed", "type": "aws_security_group_rule", "name": "s",
             "values": {"type": "egress", "protocol": "tcp", "from_port": 443, "to_port": 443,
                        "security_group_id": "sg-0123", "cidr_blocks": ["0.0.0.0/0"]}},
            {"address": "aws_security_group_rule.t", "mode": "managed", "type": "aws_security_group_rule", "name": "t",
             "values": {"type": "sideways", "protocol": "tcp", "from_port": "x", "to_port": 22,
                        "security_group_id": "sg-0123", "cidr_blocks": "10.0.0.0/8"}}]}},
          "resource_changes": [{"address": "aws_security_group_rule.r",
             "change": {"after_unknown": {"security_group_id": true}}}]}"#;
        let (_, p) = run("rules.json", text);
        assert_eq!(names(&p), ["aws_security_group_rule.r", "sg-0123"]);
        // `type` and `from_port` of rule t
        assert_eq!(count(&p, IssueKind::ParseError), 2, "{:#?}", p.issues);
        let r = ruleset(&p, "aws_security_group_rule.r");
        // the rule is there, the group's other rules are not known
        assert_eq!(
            verdict(r, Hook::Input, &inbound("10.1.1.1", 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(r, Hook::Input, &inbound("10.1.1.1", 22)),
            Verdict::Unknown
        );
        let s = ruleset(&p, "sg-0123");
        assert_eq!(
            verdict(s, Hook::Input, &inbound("10.1.1.1", 22)),
            Verdict::Unknown
        );
    }

    #[test]
    fn zca_azure_plan() {
        let (src, p) = run_with(
            "zca-azure-plan.json",
            &read("zca-azure-plan.json"),
            &azure_tags(),
        );
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        assert_eq!(names(&p), ["azurerm_network_security_group.zca"]);
        let rs = ruleset(&p, "azurerm_network_security_group.zca");
        // 4007 is denied by the priority-100 rule, before the allow at 200
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.20.1.1", 4007)),
            Verdict::Deny
        );
        let d = deciders(rs, Hook::Input, &inbound("10.20.1.1", 4007));
        assert_eq!(
            d[0].0,
            "azurerm_network_security_group.zca/DenyVra4007FromAnywhere (priority 100)"
        );
        let line = object_line(
            &src,
            "\"planned_values\"",
            "\"name\": \"DenyVra4007FromAnywhere\"",
        );
        assert_eq!(d[0].1, line);
        for port in [4005, 4006, 4008, 4009] {
            let d = deciders(rs, Hook::Input, &inbound("10.20.1.1", port));
            assert_eq!(
                d[0].0, "azurerm_network_security_group.zca/AllowZertoVra (priority 200)",
                "{port}"
            );
        }
        // port lists
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.20.1.1", 9081)),
            Verdict::Allow
        );
        // the standalone rule, attached by the NSG's name
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("10.40.0.9", 9779)),
            Verdict::Allow
        );
        let d = deciders(rs, Hook::Input, &inbound("10.40.0.9", 9779));
        assert_eq!(
            d[0].0,
            "azurerm_network_security_group.zca/AllowZssp9779 (azurerm_network_security_rule.zssp) (priority 310)"
        );
        let line = object_line(
            &src,
            "\"planned_values\"",
            "\"address\": \"azurerm_network_security_rule.zssp\"",
        );
        assert_eq!(d[0].1, line);
        // the default DenyAllInBound is there
        assert_eq!(
            verdict(rs, Hook::Input, &inbound("198.51.100.7", 9779)),
            Verdict::Deny
        );
    }

    #[test]
    fn azure_unknowns_and_bad_values() {
        let text = r#"{"format_version": "1.2",
          "planned_values": {"root_module": {"resources": [
            {"address": "azurerm_network_security_group.a", "mode": "managed", "type": "azurerm_network_security_group", "name": "a",
             "values": {"name": "nsg-a", "security_rule": [
               {"name": "AllowAdmin", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "source_port_range": "*", "destination_port_range": "9669", "source_address_prefix": null,
                "source_address_prefixes": [], "destination_address_prefix": "*"},
               {"name": "Broken", "priority": true, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "source_port_range": "*", "destination_port_range": "4005", "source_address_prefix": "10.0.0.0/8",
                "destination_address_prefix": "*"}]}},
            {"address": "azurerm_network_security_group.b", "mode": "managed", "type": "azurerm_network_security_group", "name": "b",
             "values": {"name": "nsg-b"}},
            {"address": "azurerm_network_security_rule.x", "mode": "managed", "type": "azurerm_network_security_rule", "name": "x",
             "values": {"name": "Elsewhere", "network_security_group_name": "nsg-other", "priority": 100,
                        "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "source_port_range": "*",
                        "destination_port_range": "22", "source_address_prefix": "*", "destination_address_prefix": "*"}}]}},
          "resource_changes": [
            {"address": "azurerm_network_security_group.a", "change": {"after_unknown": {"security_rule": [
               {"source_address_prefixes": [true]}, {}]}}},
            {"address": "azurerm_network_security_group.b", "change": {"after_unknown": {"security_rule": true}}}]}"#;
        let (_, p) = run_with("azure.json", text, &azure_tags());
        assert_eq!(
            names(&p),
            [
                "azurerm_network_security_group.a",
                "azurerm_network_security_group.b",
                "nsg-other"
            ]
        );
        // the priority `true`
        assert_eq!(count(&p, IssueKind::ParseError), 1, "{:#?}", p.issues);
        let a = ruleset(&p, "azurerm_network_security_group.a");
        // the admin source is known after apply: 9669 is unknown, never open or closed
        assert_eq!(
            verdict(a, Hook::Input, &inbound("198.51.100.7", 9669)),
            Verdict::Unknown
        );
        let b = ruleset(&p, "azurerm_network_security_group.b");
        assert_eq!(
            verdict(b, Hook::Input, &inbound("198.51.100.7", 22)),
            Verdict::Unknown
        );
        // an NSG not in the plan: its rule is there, the rest unknown
        let o = ruleset(&p, "nsg-other");
        assert_eq!(
            verdict(o, Hook::Input, &inbound("198.51.100.7", 22)),
            Verdict::Unknown
        );
    }

    #[test]
    fn addresses_and_references() {
        assert_eq!(
            module_names(r#"module.a["x.y]"].module.b[0]"#),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(module_names(""), Some(vec![]));
        assert_eq!(module_names("module.a[\"x"), None);
        assert_eq!(module_names("resource.x"), None);
        assert_eq!(
            reference_to("aws_security_group.zca[0].id", "aws_security_group"),
            Some(("zca".into(), "[0]".into()))
        );
        assert_eq!(
            reference_to("aws_security_group_rule.x", "aws_security_group"),
            None
        );
        assert_eq!(reference_to("var.sg", "aws_security_group"), None);
    }
}
