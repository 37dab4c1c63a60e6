//! AWS security groups and network ACLs as the AWS CLI prints them: `aws ec2
//! describe-security-groups`, `aws ec2 describe-security-group-rules` and `aws ec2
//! describe-network-acls` (also the bare arrays a `--query` leaves, a single group or ACL
//! object, and `aws ec2 create-network-acl`'s `{"NetworkAcl": {...}}`).
//!
//! The document is read into a small vendor AST ([`SecurityGroup`] with [`Permission`]s,
//! [`NetworkAcl`] with [`NaclEntry`]s), then lowered into the model:
//! - a security group is one [`Ruleset`] holding one allow-union policy: chains `Ingress` and
//!   `Egress`, one `Accept` rule per permission and source, the implicit deny as the chain policy.
//!   Groups are stateful, so a matching rule admits every connection state.
//! - a network ACL is one stateless [`Ruleset`]: chains `Inbound` and `Outbound`, the entries in
//!   ascending rule number, first match, the implicit deny as the chain policy. The return path
//!   of a flow is the audit's business.
//!
//! Values the input does not give are [`Val::Unknown`] with a reason, and a rule using one is
//! undecidable. Whoever creates an unknown value reports it (the reader a parse error for a value
//! it cannot read; a template reader an undecidable issue for a parameter); the lowering reports
//! what it finds itself (ports out of range, a bad CIDR, an unresolved group or prefix list).
//! A rule with a bad value is kept, undecidable: dropping it could turn a deny into an answer.

mod ast;
pub mod cloudformation;
mod describe;
mod lower;

pub use ast::{
    Attachment, Document, Field, GroupRef, NaclEntry, NetworkAcl, Peer, Permission, SecurityGroup,
    Target, Val,
};
pub use describe::read_document;
pub use lower::{lower_groups, lower_nacls};

use crate::formats::json::{Json, Kind};
use crate::formats::source::SourceText;
use crate::formats::{Parsed, Resolver};

// ---------------------------------------------------------------------------------------------
// Sniffing

const LIST_KEYS: [&str; 3] = ["SecurityGroups", "SecurityGroupRules", "NetworkAcls"];

fn is_group(v: &Json<'_>) -> bool {
    v.get("GroupId").is_some_and(|g| g.as_str().is_some())
        && (v.get("IpPermissions").is_some() || v.get("IpPermissionsEgress").is_some())
}

fn is_group_rule(v: &Json<'_>) -> bool {
    v.get("SecurityGroupRuleId").is_some() && v.get("GroupId").is_some()
}

fn is_acl(v: &Json<'_>) -> bool {
    v.get("NetworkAclId").is_some() && v.get("Entries").is_some()
}

/// `aws ec2 create-network-acl` prints the new ACL under a singular `NetworkAcl` key.
const SINGLE_ACL_KEY: &str = "NetworkAcl";

fn is_created_acl(v: &Json<'_>) -> bool {
    v.get(SINGLE_ACL_KEY).is_some_and(is_acl)
}

/// Is this JSON document AWS security groups or network ACLs? An object with a
/// `SecurityGroups`, `SecurityGroupRules` or `NetworkAcls` array (the CLI's output), a bare
/// array of such objects (`--query`), one group, rule or ACL object, or a CloudFormation template
/// with such resources ([`cloudformation::sniff_json`]).
pub fn sniff(json: &Json<'_>) -> bool {
    match &json.kind {
        Kind::Object(_) => {
            LIST_KEYS
                .iter()
                .any(|k| json.get(k).is_some_and(|v| v.as_array().is_some()))
                || is_group(json)
                || is_acl(json)
                || is_created_acl(json)
                || is_group_rule(json)
                || cloudformation::sniff_json(json)
        }
        Kind::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| is_group(i) || is_group_rule(i) || is_acl(i))
        }
        _ => false,
    }
}

/// Parse and lower a document that [`sniff`] accepted (a CloudFormation template goes to
/// [`cloudformation::parse_json`]).
pub fn parse(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    parse_attached(src, json, names).0
}

/// [`parse`], with the groups the document attaches together (a CLI dump says none: each of
/// its groups is a firewall of its own).
pub fn parse_attached(
    src: &SourceText,
    json: &Json<'_>,
    names: &Resolver,
) -> (Parsed, Vec<Attachment>) {
    if cloudformation::sniff_json(json) {
        return cloudformation::parse_json_attached(src, json, names);
    }
    let mut issues = Vec::new();
    let doc = read_document(json, &mut issues);
    let mut rulesets = lower_groups(&doc.groups, src, names, &mut issues);
    rulesets.extend(lower_nacls(&doc.acls, src, &mut issues));
    (Parsed { rulesets, issues }, doc.attachments)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::formats::json;
    use crate::formats::{IssueKind, ParseIssue};
    use crate::model::ports::ConnState;
    use crate::model::ports::{PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
    use crate::model::{AddrSet, Hook, PacketBox, Provenance, Ruleset, Semantics, Verdict};
    use crate::model::{Decider, Outcome};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/");

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    /// Sniff and parse a document's text.
    fn parse_str(name: &str, text: &str, names: &Resolver) -> (SourceText, Parsed) {
        let src = SourceText::new(name, text);
        let json = json::parse(&src.text).unwrap();
        assert!(sniff(&json), "{name} should sniff as AWS");
        let parsed = parse(&src, &json, names);
        (src, parsed)
    }

    fn load(name: &str, names: &Resolver) -> (SourceText, Parsed) {
        parse_str(name, &read(name), names)
    }

    pub(crate) fn count(p: &Parsed, kind: IssueKind) -> usize {
        p.issues.iter().filter(|i| i.kind == kind).count()
    }

    pub(crate) fn ruleset<'p>(p: &'p Parsed, name: &str) -> &'p Ruleset {
        p.rulesets
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no ruleset {name}"))
    }

    pub(crate) fn chain_len(rs: &Ruleset, chain: &str) -> usize {
        let pol = &rs.policies[0];
        pol.chains[pol.chain_by_name(chain).unwrap()].rules.len()
    }

    /// A NEW connection of `proto` to `dport` from `src` (anything else any).
    pub(crate) fn flow(src: &str, proto: u8, dport: u16) -> PacketBox {
        let mut b = PacketBox::full();
        b.src = AddrSet::parse(src).unwrap();
        b.proto = ProtoSet::single(proto);
        b.dport = PortSet::single(dport);
        b.state = ConnState::New.set();
        b
    }

    fn eval(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Vec<Outcome> {
        rs.evaluate(rs.pipeline(hook).unwrap(), region)
    }

    /// The one verdict of a region (fails if the region is split).
    pub(crate) fn verdict(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Verdict {
        let out = eval(rs, hook, region);
        let mut v: Vec<Verdict> = out.iter().map(|o| o.verdict).collect();
        v.dedup();
        assert_eq!(v.len(), 1, "{out:#?}");
        v[0]
    }

    /// The provenance of what decided a single-outcome region.
    pub(crate) fn decider<'r>(rs: &'r Ruleset, hook: Hook, region: &PacketBox) -> &'r Provenance {
        let out = eval(rs, hook, region);
        assert_eq!(out.len(), 1, "{out:#?}");
        let pol = &rs.policies[0];
        match out[0].deciders[0].decider {
            Decider::Rule(r) => &pol.rules[r].prov,
            Decider::ChainPolicy(c) => &pol.chains[c].decl,
            Decider::Loop(_) => panic!("loop"),
        }
    }

    #[test]
    fn corpus_describe_security_groups() {
        let (_, p) = load(
            "corpus/cloudmapper-demo-ec2-describe-security-groups.json",
            &Resolver::default(),
        );
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(
            ids,
            [
                "sg-00000008",
                "sg-00000007",
                "sg-00000006",
                "sg-00000005",
                "sg-00000004",
                "sg-00000003",
                "sg-00000002",
                "sg-00000001"
            ]
        );
        // one rule per permission and source
        let ingress: Vec<usize> = p.rulesets.iter().map(|r| chain_len(r, "Ingress")).collect();
        assert_eq!(ingress, [2, 1, 1, 1, 2, 1, 2, 1]);
        assert!(p.rulesets.iter().all(|r| chain_len(r, "Egress") == 1));
        for rs in &p.rulesets {
            assert!(!rs.stateless);
            assert_eq!(rs.family, None);
            let pol = &rs.policies[0];
            assert_eq!(pol.semantics, Semantics::AllowUnion);
            assert!(pol.chains.iter().all(|c| c.policy == Some(Verdict::Deny)));
            let key = rs.name.clone().unwrap();
            assert_eq!(&*pol.chains[0].decl.label, format!("{key} implicit deny"));
            assert_eq!(
                rs.pipeline(Hook::Input).unwrap().name,
                format!("{key}/Ingress")
            );
            assert_eq!(
                rs.pipeline(Hook::Output).unwrap().name,
                format!("{key}/Egress")
            );
        }
        // sg-00000002, -4, -3 and -1 are referenced and unresolved: one issue each
        assert_eq!(count(&p, IssueKind::Undecidable), 4, "{:#?}", p.issues);
        // the bastion: SSH from two office ranges only
        let bastion = ruleset(&p, "sg-00000002");
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("2.2.2.1", TCP, 22)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("2.2.2.17", TCP, 22)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("1.1.1.1", TCP, 23)),
            Verdict::Deny
        );
        // egress -1 to 0.0.0.0/0: anything IPv4, nothing IPv6
        let mut out = PacketBox::full();
        out.dst = AddrSet::parse("8.8.8.8").unwrap();
        out.proto = ProtoSet::single(UDP);
        assert_eq!(verdict(bastion, Hook::Output, &out), Verdict::Allow);
        out.dst = AddrSet::parse("2001:db8::1").unwrap();
        assert_eq!(verdict(bastion, Hook::Output, &out), Verdict::Deny);
    }

    #[test]
    fn corpus_describe_security_group_rules_grouped_by_group_id() {
        let (_, p) = load(
            "corpus/awscli-example-describe-security-group-rules.json",
            &Resolver::default(),
        );
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(p.rulesets.len(), 1);
        let rs = ruleset(&p, "sg-1234567890abcdef0");
        assert_eq!(chain_len(rs, "Ingress"), 1);
        assert_eq!(chain_len(rs, "Egress"), 2);
        let labels: Vec<&str> = rs.policies[0]
            .rules
            .iter()
            .map(|r| &*r.prov.label)
            .collect();
        assert_eq!(
            labels,
            [
                "sg-1234567890abcdef0/ingress sgr-abcdef01234567890 all traffic from sg-1234567890abcdef0",
                "sg-1234567890abcdef0/egress sgr-bcdef01234567890a all traffic to ::/0",
                "sg-1234567890abcdef0/egress sgr-cdef01234567890ab all traffic to 0.0.0.0/0",
            ]
        );
        // the self-reference is unresolved: one issue
        assert_eq!(count(&p, IssueKind::Undecidable), 1);
        // FromPort/ToPort -1 with protocol -1: every port of every protocol, both families out
        let mut out = PacketBox::full();
        out.dst = AddrSet::parse("2001:db8::1").unwrap();
        assert_eq!(verdict(rs, Hook::Output, &out), Verdict::Allow);
        // resolved, the self-reference admits its members only
        let mut names = Resolver::default();
        names.insert(
            "sg-1234567890abcdef0",
            AddrSet::parse("172.31.8.0/24").unwrap(),
        );
        let (_, p) = load(
            "corpus/awscli-example-describe-security-group-rules.json",
            &names,
        );
        assert_eq!(count(&p, IssueKind::Undecidable), 0);
        let rs = &p.rulesets[0];
        assert_eq!(
            verdict(rs, Hook::Input, &flow("172.31.8.9", 50, 0)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("172.31.9.9", TCP, 22)),
            Verdict::Deny
        );
    }

    #[test]
    fn group_rules_of_several_groups_and_unknown_direction() {
        let text = r#"{"SecurityGroupRules": [
            {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-a", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 4005, "ToPort": 4009, "CidrIpv4": "10.1.0.0/16"},
            {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-b", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 9669, "ToPort": 9669, "PrefixListId": "pl-1"},
            {"SecurityGroupRuleId": "sgr-3", "GroupId": "sg-a", "IsEgress": false, "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIpv6": "2001:db8::/32"},
            {"SecurityGroupRuleId": "sgr-4", "GroupId": "sg-b", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.9.0.0/16"}
        ]}"#;
        let mut names = Resolver::default();
        names.insert("pl-1", AddrSet::parse("192.0.2.0/24").unwrap());
        let (_, p) = parse_str("rules.json", text, &names);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(ids, ["sg-a", "sg-b"]);
        let a = ruleset(&p, "sg-a");
        assert_eq!((chain_len(a, "Ingress"), chain_len(a, "Egress")), (2, 0));
        assert_eq!(
            verdict(a, Hook::Input, &flow("10.1.2.3", TCP, 4008)),
            Verdict::Allow
        );
        let mut dns = flow("2001:db8::5", UDP, 53);
        assert_eq!(verdict(a, Hook::Input, &dns), Verdict::Allow);
        dns.src = AddrSet::parse("2001:db9::5").unwrap();
        assert_eq!(verdict(a, Hook::Input, &dns), Verdict::Deny);
        // sgr-4 has no IsEgress: a parse error, and undecidable in both directions
        let b = ruleset(&p, "sg-b");
        assert_eq!((chain_len(b, "Ingress"), chain_len(b, "Egress")), (2, 1));
        assert_eq!(count(&p, IssueKind::ParseError), 1, "{:#?}", p.issues);
        assert_eq!(
            verdict(b, Hook::Input, &flow("10.9.0.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(b, Hook::Input, &flow("192.0.2.7", TCP, 9669)),
            Verdict::Allow
        );
    }

    #[test]
    fn world_open_9669_is_allowed_by_that_range_and_the_rest_denied() {
        let (src, p) = load("zca-sg-9669-open.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "sg-0a1b2c3d4e5f60718");
        assert_eq!(chain_len(rs, "Ingress"), 7);
        let region = flow("1.2.3.4", TCP, 9669);
        assert_eq!(verdict(rs, Hook::Input, &region), Verdict::Allow);
        let prov = decider(rs, Hook::Input, &region);
        assert_eq!(prov.line, 81, "the line of the 0.0.0.0/0 range object");
        let text = &src.text[prov.span.start..prov.span.end];
        assert!(
            text.starts_with('{') && text.contains("\"0.0.0.0/0\""),
            "{text}"
        );
        assert_eq!(
            &*prov.label,
            "sg-0a1b2c3d4e5f60718/ingress #6 tcp 9669 from 0.0.0.0/0"
        );
        assert_eq!(
            rs.policies[0]
                .rules
                .iter()
                .find(|r| r.prov.line == 81)
                .unwrap()
                .comment
                .as_deref(),
            Some("Zerto UI - TEMP open for vendor support")
        );
        // the VRA ports are admitted from the VPC only
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.2.3.4", TCP, 4008)),
            Verdict::Deny
        );
        // a range: 9080-9081
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 9081)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 9082)),
            Verdict::Deny
        );
        // stateful: a matching rule admits every state
        let mut est = region.clone();
        est.state = crate::model::ports::all_states();
        assert_eq!(verdict(rs, Hook::Input, &est), Verdict::Allow);
    }

    #[test]
    fn missing_4008_is_denied_by_the_implicit_deny() {
        let (src, p) = load("zca-sg-missing-4008.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "sg-07e3f19a2b4c5d6e8");
        for port in [
            443, 4005, 4006, 4007, 4009, 9071, 9080, 9081, 9180, 9669, 9779,
        ] {
            assert_eq!(
                verdict(rs, Hook::Input, &flow("10.30.1.2", TCP, port)),
                Verdict::Allow,
                "port {port}"
            );
        }
        let region = flow("10.30.1.2", TCP, 4008);
        assert_eq!(verdict(rs, Hook::Input, &region), Verdict::Deny);
        let out = eval(rs, Hook::Input, &region);
        assert_eq!(
            out[0].deciders[0].decider,
            Decider::ChainPolicy(rs.policies[0].chain_by_name("Ingress").unwrap())
        );
        let prov = decider(rs, Hook::Input, &region);
        assert_eq!(&*prov.label, "sg-07e3f19a2b4c5d6e8 implicit deny");
        assert_eq!(prov.line, 3, "the group object");
        assert!(src.text[prov.span.start..prov.span.end]
            .contains("\"GroupId\": \"sg-07e3f19a2b4c5d6e8\""));
    }

    /// Groups are lowered a chunk at a time on every core: an unresolved name is still
    /// reported once per file, at its first use, and the other problems keep the groups' order.
    #[test]
    fn an_unresolved_name_is_reported_once_across_many_groups() {
        let group = |i: usize| {
            format!(
                r#"{{"GroupId": "sg-{i:017x}", "GroupName": "g{i}", "OwnerId": "418295730641",
  "IpPermissions": [{{"IpProtocol": "tcp", "FromPort": 4005, "ToPort": 4009,
    "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
    "UserIdGroupPairs": [{{"GroupId": "sg-0b2c4d6e8f0a1c3e5"}}, {{"GroupId": "sg-1{i:016x}"}}]}}],
  "IpPermissionsEgress": []}}"#
            )
        };
        let groups: Vec<String> = (1..=150).map(group).collect();
        let text = format!("{{\"SecurityGroups\": [\n{}\n]}}\n", groups.join(",\n"));
        let (src, p) = parse_str("many.json", &text, &Resolver::default());
        assert_eq!(p.rulesets.len(), 150);
        let und: Vec<&ParseIssue> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Undecidable)
            .collect();
        // the shared group once, and each group's own reference
        assert_eq!(und.len(), 151, "{:#?}", &und[..und.len().min(3)]);
        let shared: Vec<&&ParseIssue> = und
            .iter()
            .filter(|i| i.message.contains("sg-0b2c4d6e8f0a1c3e5"))
            .collect();
        assert_eq!(shared.len(), 1);
        // at its first use: the first group's pairs (line 5; the second group's are on 10)
        assert_eq!(src.line_col(shared[0].span.start).0, 5);
        // the others in the order of their groups
        let own: Vec<usize> = und
            .iter()
            .filter_map(|i| {
                let at = i.message.find("sg-1")?;
                usize::from_str_radix(&i.message[at + 4..at + 20], 16).ok()
            })
            .collect();
        assert_eq!(own, (1..=150).collect::<Vec<_>>());
    }

    #[test]
    fn group_references_resolved_and_unresolved() {
        let a = "sg-0f1e2d3c4b5a69788";
        let b = "sg-0b2c4d6e8f0a1c3e5";
        // unresolved: the rule is undecidable, with a reason that says how to resolve it
        let (src, p) = load("zca-sg-referencing.json", &Resolver::default());
        assert_eq!(count(&p, IssueKind::ParseError), 0);
        let und: Vec<&ParseIssue> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Undecidable)
            .collect();
        assert_eq!(und.len(), 2, "one per referenced group: {und:#?}");
        assert!(und[0].message.contains(b));
        assert_eq!(
            &src.text[und[0].span.start..und[0].span.end],
            format!("\"{b}\"")
        );
        assert!(und[0]
            .help
            .as_deref()
            .unwrap()
            .contains(&format!("--address {b}=")));
        let rs_a = ruleset(&p, a);
        let out = eval(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007));
        assert!(
            out.iter().all(|o| o.verdict == Verdict::Unknown),
            "{out:#?}"
        );
        assert!(out[0]
            .reasons
            .iter()
            .any(|r| r.contains(b) && r.contains("[addresses]")));
        // the other ports are not touched by the doubt
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 22)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.0.5.20", TCP, 9669)),
            Verdict::Allow
        );

        // resolved through the inventory's names
        let mut names = Resolver::default();
        names.insert(b, AddrSet::parse("10.30.1.0/24").unwrap());
        let (_, p) = load("zca-sg-referencing.json", &names);
        assert_eq!(count(&p, IssueKind::Undecidable), 1, "only {a} is left");
        let rs_a = ruleset(&p, a);
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.2.2", TCP, 4007)),
            Verdict::Deny
        );
        assert_eq!(
            &*decider(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007)).label,
            &*format!("{a}/ingress #1 tcp 4005-4009 from {b}")
        );
        // a group is found by its name too
        let mut names = Resolver::default();
        names.insert("zerto-zca-site-a", AddrSet::parse("10.0.0.0/8").unwrap());
        let text = read("zca-sg-referencing.json").replace(
            &format!("\"GroupId\": \"{a}\",\n                            \"UserId\""),
            "\"GroupName\": \"zerto-zca-site-a\",\n                            \"UserId\"",
        );
        assert!(text.contains("\"GroupName\": \"zerto-zca-site-a\",\n"));
        let (_, p) = parse_str("by-name.json", &text, &names);
        let rs_b = ruleset(&p, b);
        assert_eq!(
            verdict(rs_b, Hook::Input, &flow("10.30.1.2", TCP, 4005)),
            Verdict::Allow
        );
    }

    #[test]
    fn all_protocols_icmp_ipv6_and_prefix_lists() {
        let gid = "sg-0c9d8e7f6a5b4c3d2";
        let mut names = Resolver::default();
        names.insert(gid, AddrSet::parse("10.20.7.0/24").unwrap());
        let (_, p) = load("sg-ipv6-prefix-icmp.json", &names);
        // the prefix list is not resolved: one issue, its rule undecidable
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(count(&p, IssueKind::Undecidable), 1);
        assert!(p.issues[0].message.contains("pl-0a1b2c3d4e5f6a7b8"));
        let rs = ruleset(&p, gid);
        let labels: Vec<&str> = rs.policies[0]
            .rules
            .iter()
            .map(|r| &*r.prov.label)
            .collect();
        assert_eq!(
            labels,
            [
                "sg-0c9d8e7f6a5b4c3d2/ingress #1 all traffic from sg-0c9d8e7f6a5b4c3d2",
                "sg-0c9d8e7f6a5b4c3d2/ingress #2 tcp 9669 from 2001:db8:1200::/40",
                "sg-0c9d8e7f6a5b4c3d2/ingress #3 tcp 443 from pl-0a1b2c3d4e5f6a7b8",
                "sg-0c9d8e7f6a5b4c3d2/ingress #4 icmp all from 10.20.0.0/16",
                "sg-0c9d8e7f6a5b4c3d2/ingress #5 icmp 3/4 from 0.0.0.0/0",
                "sg-0c9d8e7f6a5b4c3d2/ingress #6 icmpv6 all from ::/0",
                "sg-0c9d8e7f6a5b4c3d2/egress #1 all traffic to 0.0.0.0/0",
                "sg-0c9d8e7f6a5b4c3d2/egress #1 all traffic to ::/0",
            ]
        );
        // IpProtocol -1 without ports: any protocol, any port, from the members
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.7.9", 47, 0)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.7.9", TCP, 65535)),
            Verdict::Allow
        );
        // IPv6 range
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8:12ab::1", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8:1300::1", TCP, 9669)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.8.1", TCP, 9669)),
            Verdict::Deny
        );
        // ICMP -1: every type and code; 3/4 only that one from elsewhere
        let echo = 8u16 << 8; // type 8 code 0
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.99.1", ICMP, echo)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, echo)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, 0x0304)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, 0x0303)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8::9", ICMPV6, 128 << 8)),
            Verdict::Allow
        );
        // the prefix list: unknown for 443, whoever asks
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.100.1", TCP, 443)),
            Verdict::Unknown
        );
        let mut names2 = names.clone();
        names2.insert(
            "pl-0a1b2c3d4e5f6a7b8",
            AddrSet::parse("198.51.100.0/24").unwrap(),
        );
        let (_, p) = load("sg-ipv6-prefix-icmp.json", &names2);
        assert!(p.issues.is_empty());
        let rs = ruleset(&p, gid);
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.100.1", TCP, 443)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.101.1", TCP, 443)),
            Verdict::Deny
        );
    }

    #[test]
    fn bad_values_are_parse_errors_at_the_value_and_rules_stay_undecidable() {
        let (src, p) = load("sg-bad-values.json", &Resolver::default());
        let errs: Vec<(&str, &str)> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::ParseError)
            .map(|i| (&src.text[i.span.start..i.span.end], i.message.as_str()))
            .collect();
        let at: Vec<&str> = errs.iter().map(|e| e.0).collect();
        assert_eq!(
            at,
            [
                "\"abc\"",
                "true",
                "70000",
                "9081,\n                    \"IpProtocol\": \"tcp\",\n                    \"IpRanges\": [\n                        {\n                            \"CidrIp\": \"10.20.0.0/16\"\n                        }\n                    ],\n                    \"Ipv6Ranges\": [],\n                    \"PrefixListIds\": [],\n                    \"ToPort\": 9080",
                "\"10.20.0.0/33\"",
                "\"gre\"",
            ],
            "{errs:#?}"
        );
        assert_eq!(count(&p, IssueKind::Undecidable), 0);
        let rs = &p.rulesets[0];
        // every permission is kept: 7 rules
        let rules = &rs.policies[0].rules;
        assert_eq!(chain_len(rs, "Ingress"), 7);
        let undecidable: Vec<bool> = rules
            .iter()
            .take(7)
            .map(|r| !r.undecidable.is_empty())
            .collect();
        assert_eq!(undecidable, [true, true, true, false, true, true, true]);
        assert!(rules[0].undecidable[0].contains("FromPort \"abc\""));
        assert!(rules[1].undecidable[0].contains("ToPort 70000"));
        assert!(rules[2].undecidable[0].contains("IpProtocol true"));
        assert!(rules[5].undecidable[0].contains("10.20.0.0/33"));
        // `"IpProtocol": 6` is fine
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 4006)),
            Verdict::Allow
        );
        // what the bad rules touch is unknown, not allowed and not denied
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 9669)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", UDP, 9)),
            Verdict::Unknown
        );
    }

    #[test]
    fn truncated_export_is_not_json() {
        let text = read("sg-truncated.json");
        let e = json::parse(&text).unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
    }

    #[test]
    fn wrong_types_keep_an_undecidable_rule() {
        let text = r#"{"SecurityGroups": [{"GroupId": "sg-x", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": "10.0.0.0/8"},
            {"FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"Description": "no cidr"}], "UserIdGroupPairs": [{"UserId": "1"}]},
            "tcp/8443"
        ], "IpPermissionsEgress": {}}, 5]}"#;
        let (src, p) = parse_str("types.json", text, &Resolver::default());
        let at: Vec<&str> = p
            .issues
            .iter()
            .map(|i| {
                assert_eq!(i.kind, IssueKind::ParseError);
                &src.text[i.span.start..i.span.end]
            })
            .collect();
        assert_eq!(at.len(), 7, "{:#?}", p.issues);
        assert_eq!(at[0], "\"10.0.0.0/8\"");
        assert!(
            at[1].starts_with("{\"FromPort\": 80"),
            "missing IpProtocol: {}",
            at[1]
        );
        assert_eq!(at[6], "5");
        let rs = &p.rulesets[0];
        assert_eq!(chain_len(rs, "Ingress"), 5);
        assert_eq!(chain_len(rs, "Egress"), 1);
        assert!(rs.policies[0]
            .rules
            .iter()
            .all(|r| !r.undecidable.is_empty()));
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.1.1.1", TCP, 22)),
            Verdict::Unknown
        );
    }

    #[test]
    fn corpus_describe_network_acls() {
        let (_, p) = load(
            "corpus/awscli-example-describe-network-acls.json",
            &Resolver::default(),
        );
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(ids, ["acl-0ea1f54ca7EXAMPLE", "acl-0e2a78e4e2EXAMPLE"]);
        let first = &p.rulesets[0];
        assert_eq!(
            (chain_len(first, "Inbound"), chain_len(first, "Outbound")),
            (2, 2)
        );
        let second = &p.rulesets[1];
        assert_eq!(
            (chain_len(second, "Inbound"), chain_len(second, "Outbound")),
            (4, 4)
        );
        for rs in &p.rulesets {
            assert!(rs.stateless);
            assert_eq!(rs.policies[0].semantics, Semantics::FirstMatch);
            let key = rs.name.clone().unwrap();
            assert_eq!(
                rs.pipeline(Hook::Input).unwrap().name,
                format!("{key}/Inbound")
            );
            assert_eq!(
                rs.pipeline(Hook::Output).unwrap().name,
                format!("{key}/Outbound")
            );
        }
        let pol = &second.policies[0];
        let inbound = &pol.chains[pol.chain_by_name("Inbound").unwrap()];
        let labels: Vec<&str> = inbound
            .rules
            .iter()
            .map(|&r| &*pol.rules[r].prov.label)
            .collect();
        assert_eq!(
            labels,
            [
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 100 allow all traffic from 0.0.0.0/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 101 allow all traffic from ::/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 32767 deny all traffic from 0.0.0.0/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 32768 deny all traffic from ::/0",
            ]
        );
        assert_eq!(
            verdict(second, Hook::Input, &flow("2001:db8::1", TCP, 4008)),
            Verdict::Allow
        );
        // the first ACL has no IPv6 entries: IPv6 falls through to the implicit deny
        assert_eq!(
            verdict(first, Hook::Input, &flow("2001:db8::1", TCP, 4008)),
            Verdict::Deny
        );
        assert_eq!(
            &*decider(first, Hook::Input, &flow("2001:db8::1", TCP, 4008)).label,
            "acl-0ea1f54ca7EXAMPLE implicit deny"
        );
    }

    #[test]
    fn nacl_first_match_by_rule_number_and_no_return_path() {
        let (_, p) = load("nacl-no-return-path.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "acl-0d4c2b6a8e1f3a5c7");
        assert!(rs.stateless);
        // 90 deny before 100 allow
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.99.5", TCP, 4008)),
            Verdict::Deny
        );
        assert_eq!(
            &*decider(rs, Hook::Input, &flow("10.30.99.5", TCP, 4008)).label,
            "acl-0d4c2b6a8e1f3a5c7/Inbound rule 90 deny tcp 4005-4009 from 10.30.99.0/24"
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.1.5", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.1.5", ICMP, 0x0800)),
            Verdict::Allow
        );
        // the replies to the peer's ephemeral ports are not allowed out
        let mut reply = PacketBox::full();
        reply.dst = AddrSet::parse("10.30.1.5").unwrap();
        reply.proto = ProtoSet::single(TCP);
        reply.dport = PortSet::range(1024, 65535);
        reply.state = ConnState::Established.set();
        let out = eval(rs, Hook::Output, &reply);
        assert!(out.iter().any(|o| o.verdict == Verdict::Deny));
        reply.dport = PortSet::range(32768, 60999);
        assert_eq!(verdict(rs, Hook::Output, &reply), Verdict::Deny);
    }

    #[test]
    fn nacl_order_is_rule_number_not_file_order() {
        let text = r#"{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "PortRange": {"From": 0, "To": 65535}, "Protocol": "6", "RuleAction": "allow", "RuleNumber": 200},
            {"CidrBlock": "10.0.0.0/8", "Egress": false, "PortRange": {"From": 9669, "To": 9669}, "Protocol": "6", "RuleAction": "deny", "RuleNumber": 100},
            {"CidrBlock": "10.1.0.0/16", "Egress": false, "PortRange": {"From": 9669, "To": 9669}, "Protocol": "6", "RuleAction": "allow", "RuleNumber": 50},
            {"CidrBlock": "10.0.0.0/8", "Egress": false, "IcmpTypeCode": {"Code": -1, "Type": 8}, "Protocol": "1", "RuleAction": "deny", "RuleNumber": 10}
        ]}]}"#;
        let (_, p) = parse_str("order.json", text, &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = &p.rulesets[0];
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.1.2.3", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", TCP, 9669)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", ICMP, 0x0800)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", ICMP, 0x0000)),
            Verdict::Deny
        );
        let pol = &rs.policies[0];
        let numbers: Vec<&str> = pol.chains[0]
            .rules
            .iter()
            .map(|&r| pol.rules[r].prov.label.split(' ').nth(2).unwrap())
            .collect();
        assert_eq!(numbers, ["10", "50", "100", "200"]);
        assert_eq!(chain_len(rs, "Outbound"), 0);
    }

    #[test]
    fn nacl_bad_entries() {
        let text = r#"{"NetworkAcls": [{"NetworkAclId": "acl-2", "Entries": [
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 22, "To": 22}, "RuleAction": "permit", "RuleNumber": 100},
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 80, "To": 80}, "RuleAction": "allow", "RuleNumber": 100},
            {"CidrBlock": "0.0.0.0/0", "Egress": "sideways", "Protocol": "6", "PortRange": {"From": 443, "To": 443}, "RuleAction": "allow", "RuleNumber": 120},
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 9669, "To": 9669}, "RuleAction": "allow"}
        ]}]}"#;
        let (src, p) = parse_str("bad-acl.json", text, &Resolver::default());
        let at: Vec<&str> = p
            .issues
            .iter()
            .map(|i| {
                assert_eq!(i.kind, IssueKind::ParseError);
                &src.text[i.span.start..i.span.end]
            })
            .collect();
        assert_eq!(at.len(), 4, "{:#?}", p.issues);
        assert_eq!(at[0], "\"sideways\"");
        assert!(at[1].contains("9669"), "missing RuleNumber: {}", at[1]);
        assert!(at.contains(&"\"permit\""));
        assert!(at.contains(&"100"), "duplicate rule number");
        let rs = &p.rulesets[0];
        // the unknown direction goes to both chains
        assert_eq!(
            (chain_len(rs, "Inbound"), chain_len(rs, "Outbound")),
            (4, 1)
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 443)),
            Verdict::Unknown
        );
        // the entry without a number may come before anything: 9669 is unknown
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 9669)),
            Verdict::Unknown
        );
    }

    #[test]
    fn bare_arrays_and_single_objects() {
        let groups = r#"[{"GroupId": "sg-1", "GroupName": "a", "IpPermissions": [], "IpPermissionsEgress": []}]"#;
        let (_, p) = parse_str("q.json", groups, &Resolver::default());
        assert_eq!(p.rulesets.len(), 1);
        let one = r#"{"GroupId": "sg-1", "GroupName": "a", "IpPermissions": []}"#;
        let (_, p) = parse_str("one.json", one, &Resolver::default());
        assert_eq!(p.rulesets[0].name.as_deref(), Some("sg-1"));
        let acls = r#"[{"NetworkAclId": "acl-9", "Entries": []}]"#;
        let (_, p) = parse_str("acls.json", acls, &Resolver::default());
        assert!(p.rulesets[0].stateless);
        let rules = r#"[{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": true, "IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"}]"#;
        let (_, p) = parse_str("r.json", rules, &Resolver::default());
        assert_eq!(chain_len(&p.rulesets[0], "Egress"), 1);
        assert!(p.issues.is_empty());
    }

    #[test]
    fn sniff_refuses_other_json() {
        let no = [
            r#"{"format_version": "1.2", "planned_values": {}}"#,
            r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "nsg", "properties": {"securityRules": []}}]}"#,
            r#"{"name": "testnsg", "type": "Microsoft.Network/networkSecurityGroups", "properties": {"securityRules": [], "defaultSecurityRules": []}}"#,
            r#"[{"name": "nsg-zvm", "securityRules": [{"name": "r", "priority": 100}]}]"#,
            r#"{"value": [{"name": "nsg", "properties": {"securityRules": []}}]}"#,
            r#"{"GroupId": "sg-1"}"#,
            r#"[]"#,
            r#"[1, 2]"#,
            r#""SecurityGroups""#,
        ];
        for t in no {
            assert!(!sniff(&json::parse(t).unwrap()), "{t}");
        }
        let plan = read("corpus/terraform-plan-aws_security_group-module-for_each.json");
        assert!(!sniff(&json::parse(&plan).unwrap()));
        // the Azure corpus, where the shared folder is beside the repository
        let azure = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/azure");
        if let Ok(dir) = std::fs::read_dir(azure) {
            for f in dir.flatten() {
                let text = std::fs::read_to_string(f.path()).unwrap();
                let json = json::parse(&text).unwrap();
                assert!(!sniff(&json), "{}", f.path().display());
            }
        }
    }

    #[test]
    fn sniff_accepts_the_aws_shapes() {
        for t in [
            r#"{"SecurityGroups": []}"#,
            r#"{"SecurityGroupRules": [], "NextToken": "x"}"#,
            r#"{"NetworkAcls": []}"#,
        ] {
            assert!(sniff(&json::parse(t).unwrap()), "{t}");
        }
    }
}
