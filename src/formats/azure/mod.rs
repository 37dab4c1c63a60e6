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
//! - `AzureLoadBalancer` is 168.63.129.16 unless the [`Resolver`] says otherwise (Azure documents
//!   it as the source of the load balancer's health probes).
//! - Service tags and application security groups resolve through the [`Resolver`]; an unknown
//!   name makes the rule undecidable on that side (the part of the rule that only uses literal
//!   addresses stays decided). `Internet` is *not* "everything": it too must be resolved.
//! - A value that cannot be read (`"priority": true`, port `99999`) is a Z001 and makes the rule
//!   undecidable; the rule is kept. A rule whose priority is unknown (missing, unreadable, an ARM
//!   expression) may sit anywhere in its chain, so it is evaluated *first*, undecidable: where it
//!   matches, both "it decides" and "the later rules decide" are followed. A rule whose direction
//!   is unknown is likewise placed, undecidable, in both chains.
//! - ARM expressions are evaluated only as far as the template settles them: `parameters('x')`
//!   from the deployment's parameters file when there is one ([`parse_with`]), else its
//!   `defaultValue` (recorded on the rule: its label and a Z002 say the verdicts assume it),
//!   `variables('x')`, `concat`, `format`, `resourceId`. Anything
//!   else leaves the value unresolved, which is a Z002, never a guess. A resource `condition` makes
//!   the rule undecidable (it may not be deployed); on the NSG itself it adds an undecidable
//!   "allow everything" rule in front (without the NSG nothing is filtered).
//! - `Icmp` is ICMP and ICMPv6; ports do not apply to `Icmp`, `Esp` and `Ah` (a rule that still
//!   names some is undecidable). For a `*` rule with port ranges, whether the ports restrict ICMP
//!   is not documented: its ICMP part is undecidable, the rest is decided.
//! - Rules the file cannot show (an NSG only referenced by child rules, a `copy` loop of rules)
//!   put an undecidable rule of unknown verdict in front: every answer through that NSG is unknown.

mod arm;
mod ast;
mod lower;
mod read;

pub use ast::{default_rules, Note, Nsg, NsgDoubt, NsgDoubtKind, SecurityRule, Value, ValueState};
pub use lower::lower;
pub use read::read;

use crate::formats::json::Json;
use crate::formats::source::SourceText;
use crate::formats::{Parsed, Resolver};
use crate::model::Span;
use read::{classify, Found};

/// Is this JSON document this format? True for an NSG object (flattened CLI or nested
/// `properties`), an array of NSGs or of security rules, a single rule, an ARM template holding
/// an NSG or a `securityRules` resource, a REST example wrapper, a REST `{value: [...]}` list or
/// Resource Graph rows of NSGs.
pub fn sniff(json: &Json<'_>) -> bool {
    let mut found = Found::default();
    classify(json, 0, &mut found);
    found.any()
}

/// The fact `--arm-parameters FILE` sets: the deployment's parameters file, used for every ARM
/// template instead of `<template>.parameters.json` beside it.
pub const PARAMETERS_FACT: &str = "arm_parameters";

/// Parse and lower a document that [`sniff`] accepted.
pub fn parse(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    parse_with(src, json, names, None)
}

/// Is this JSON document an ARM deployment parameters file (`$schema` ending in
/// `deploymentParameters.json#`, or `contentVersion` with `parameters` of `{"value": ...}` and no
/// `resources`)? It holds no rules: it is read with its template, never audited alone.
pub fn is_parameters_file(json: &Json<'_>) -> bool {
    let schema = json
        .get("$schema")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.to_ascii_lowercase().contains("deploymentparameters"));
    let shaped = json.get("resources").is_none()
        && json.get("contentVersion").is_some()
        && json
            .get("parameters")
            .and_then(|p| p.members())
            .is_some_and(|m| {
                !m.is_empty()
                    && m.iter().all(|x| {
                        x.value.get("value").is_some() || x.value.get("reference").is_some()
                    })
            });
    schema || shaped
}

/// The parameters file of an ARM template: `azuredeploy.json` → `azuredeploy.parameters.json`.
pub fn parameters_file_of(template: &std::path::Path) -> Option<std::path::PathBuf> {
    let stem = template.file_stem()?.to_str()?;
    if stem.to_ascii_lowercase().ends_with(".parameters") {
        return None;
    }
    let ext = template.extension()?.to_str()?;
    Some(template.with_file_name(format!("{stem}.parameters.{ext}")))
}

/// [`parse`] with the text of the template's parameters file (`(name, text)`), whose values win
/// over the template's `defaultValue`s. A parameters file that cannot be read is a Z001 and the
/// defaults are used (and said to be assumed).
pub fn parse_with(
    src: &SourceText,
    json: &Json<'_>,
    names: &Resolver,
    params: Option<(&str, &str)>,
) -> Parsed {
    let mut issues = Vec::new();
    let parsed = params.map(|(name, text)| (name, crate::formats::json::parse(text)));
    let given = match &parsed {
        Some((_, Ok(p))) if is_parameters_file(p) => p.get("parameters"),
        Some((name, Ok(_))) => {
            issues.push(crate::formats::json::fields::parse_error(
                Span::new(0, 0),
                format!(
                    "{name} is not an ARM parameters file; the template's default values are used"
                ),
                "parameters file",
            ));
            None
        }
        Some((name, Err(e))) => {
            issues.push(crate::formats::json::fields::parse_error(
                Span::new(0, 0),
                format!(
                    "{name} is not valid JSON ({}); the template's default values are used",
                    e.message
                ),
                "parameters file",
            ));
            None
        }
        None => None,
    };
    let nsgs = read::read_with(src, json, given, &mut issues);
    let rulesets = lower(&nsgs, src, names, &mut issues);
    Parsed { rulesets, issues }
}

#[cfg(test)]
mod tests {
    use super::ast::DEFAULTS;
    use super::*;
    use crate::formats::json;
    use crate::formats::{IssueKind, ParseIssue};
    use crate::model::ports::ConnState;
    use crate::model::ports::{all_states, PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
    use crate::model::{
        Action, AddrSet, Hook, IntervalSet, PacketBox, Rule, Ruleset, Semantics, Span, Verdict,
    };
    use crate::model::{Decider, Outcome};

    const REST: &str = include_str!(
        "../../../fixtures/azure/corpus/rest-api-NetworkSecurityGroupGet-response-body.json"
    );
    const ARM_CHILD: &str =
        include_str!("../../../fixtures/azure/corpus/arm-template-nsg-child-securityRules.json");
    const ARM_APIM: &str =
        include_str!("../../../fixtures/azure/corpus/arm-template-apim-nsg-service-tags.json");
    const DENY_FIRST: &str = include_str!("../../../fixtures/azure/zca-nsg-deny-before-allow.json");
    const ARM_OK: &str = include_str!("../../../fixtures/azure/zca-nsg-ok.arm.json");
    const LIST: &str = include_str!("../../../fixtures/azure/nsg-list.json");
    const TRUNCATED: &str = include_str!("../../../fixtures/azure/nsg-truncated.json");
    const BAD: &str = include_str!("../../../fixtures/azure/nsg-bad-values.json");

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
            let l = p.rules[r].prov.label.to_string();
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
                .map(|r| &*r.prov.label)
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
                    &*d[0].prov.label,
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
            &*deciding(rs, &out[0])[0].prov.label,
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
        let mut names: Vec<&str> = synth.iter().map(|r| &*r.prov.label).collect();
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

    /// NSGs are lowered a chunk at a time on every core: an unresolved tag is still reported
    /// once per file, where a rule of the export first uses it, even when the defaults Azure
    /// adds to every NSG (which the export omits) used it in earlier NSGs.
    #[test]
    fn an_unresolved_tag_is_reported_once_across_many_nsgs() {
        let rule = |i: usize, prefix: &str| {
            format!(
                r#"{{"name": "r{i}", "access": "Allow", "direction": "Inbound", "priority": 100,
      "protocol": "Tcp", "sourceAddressPrefix": "{prefix}", "sourcePortRange": "*",
      "destinationAddressPrefix": "*", "destinationPortRange": "9669"}}"#
            )
        };
        // the 70th NSG (in a later chunk) is the first whose own rule names VirtualNetwork
        let nsg = |i: usize| {
            let prefix = if i >= 70 {
                "VirtualNetwork"
            } else {
                "10.1.0.0/16"
            };
            format!(
                "{{\"name\": \"nsg-{i}\", \"securityRules\": [{}]}}",
                rule(i, prefix)
            )
        };
        let text = format!(
            "[\n{}\n]\n",
            (1..=100).map(nsg).collect::<Vec<_>>().join(",\n")
        );
        let (_, p) = run("list.json", &text, &Resolver::default());
        assert_eq!(p.rulesets.len(), 100);
        let vnet: Vec<&ParseIssue> = of_kind(&p, IssueKind::Undecidable)
            .into_iter()
            .filter(|i| i.message.contains("`VirtualNetwork`"))
            .collect();
        assert_eq!(vnet.len(), 1, "{vnet:#?}");
        let first = text.find("\"VirtualNetwork\"").unwrap();
        assert_eq!(vnet[0].span.start, first);
        assert!(
            !vnet[0].message.contains("default rule"),
            "{}",
            vnet[0].message
        );
        // the unresolved names come after every other problem, as before
        assert!(p
            .issues
            .iter()
            .skip_while(|i| !i.message.contains("is not resolved"))
            .all(|i| i.message.contains("is not resolved")));
    }

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
        // AzureLoadBalancer (used only by a default rule the export omits) is the documented
        // health-probe source 168.63.129.16: not unresolved
        assert!(!of_kind(&p, IssueKind::Undecidable)
            .iter()
            .any(|i| i.message.contains("`AzureLoadBalancer`")));
        let lb = rules_named(rs, "AllowAzureLoadBalancerInBound");
        assert!(lb[0].undecidable.is_empty());
        assert_eq!(lb[0].matches.src, AddrSet::parse("168.63.129.16").unwrap());

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
        // its source comes from `testRunnerIpRange`'s defaultValue: the label says so
        assert!(
            labels[0].ends_with(
                "/allowAllFromAll (priority 100) [assumes parameter default `testRunnerIpRange` = `*`]"
            ),
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
        ] {
            assert_eq!(
                und.iter()
                    .filter(|i| i.message.contains(&format!("`{tag}`")))
                    .count(),
                1,
                "{tag}"
            );
        }
        // the one tag with a documented address (168.63.129.16) is not reported
        assert!(!und
            .iter()
            .any(|i| i.message.contains("`AzureLoadBalancer`")));
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
        // its ports come from the `ports` parameter's defaultValue: the label says so
        assert_eq!(
            labels[2],
            "nsg-a/AllowAdmin (priority 100) [assumes parameter default `ports` = `[\"9669\",\"9080\"]`]"
        );
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
