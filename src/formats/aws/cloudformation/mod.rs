//! AWS CloudFormation templates, JSON or YAML: `AWS::EC2::SecurityGroup` with inline
//! `SecurityGroupIngress` / `SecurityGroupEgress`, standalone `AWS::EC2::SecurityGroupIngress` /
//! `AWS::EC2::SecurityGroupEgress` resources attached to a group of the template (`GroupId: !Ref
//! X`, `{"Ref": "X"}`, `!GetAtt X.GroupId`), and `AWS::EC2::NetworkAcl` with its
//! `AWS::EC2::NetworkAclEntry` resources. Templates are read into the AST of [`crate::formats::aws`]
//! and lowered by its functions; a group or ACL is named by its logical id.
//!
//! YAML is read from `saphyr-parser` events into the same span-aware [`Json`] tree as a JSON
//! template: a short-form intrinsic becomes its long form (`!Ref X` → `{"Ref": "X"}`, `!GetAtt
//! A.B` → `{"Fn::GetAtt": "A.B"}`, `!Sub ...` → `{"Fn::Sub": ...}`), plain `true`, `false` and
//! `null` their JSON values, plain integers numbers, everything else a string (CloudFormation
//! reads `FromPort: "22"` as 22, and so do we). YAML aliases are refused (CloudFormation does not
//! support them), nesting is bounded, and the tree is built without recursion.
//!
//! Values: a literal is read; `!Ref` of a parameter is a [`Target::Param`] where an address is
//! expected (resolved by name like a group: `--address AdminCidr=...`), and unknown elsewhere;
//! `!Ref` / `!GetAtt ....GroupId` of a group of the template is that group; any other intrinsic
//! (`!Sub`, `!ImportValue`, `!If`, `!GetAtt` of another attribute, pseudo parameters) is unknown,
//! with an undecidable issue at its text. Omitting `SecurityGroupEgress` (or giving an empty

mod attach;
mod template;
mod values;

pub use template::read_template;

use crate::formats::aws;
use crate::formats::json::yaml::yaml_to_json;
use crate::formats::json::Json;
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Parsed, Resolver};

pub(super) const GROUP: &str = "AWS::EC2::SecurityGroup";
pub(super) const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
pub(super) const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";
pub(super) const ACL: &str = "AWS::EC2::NetworkAcl";
pub(super) const ACL_ENTRY: &str = "AWS::EC2::NetworkAclEntry";
const FIREWALL_TYPES: [&str; 5] = [GROUP, INGRESS, EGRESS, ACL, ACL_ENTRY];

// ---------------------------------------------------------------------------------------------
// Sniffing and entry points

/// Is this JSON document a CloudFormation template with security groups or network ACLs (a
/// `Resources` object with a resource of one of those types)?
pub fn sniff_json(json: &Json<'_>) -> bool {
    json.get("Resources")
        .and_then(|r| r.members())
        .is_some_and(|ms| {
            ms.iter().any(|m| {
                m.value
                    .get("Type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| FIREWALL_TYPES.contains(&t))
            })
        })
}

/// Is this text a YAML CloudFormation template with security groups or network ACLs? A
/// top-level `Resources:` line and a `Type:` of one of those resource types.
pub fn sniff_yaml(text: &str) -> bool {
    if crate::formats::json::looks_like_json(text) {
        return false;
    }
    let mut resources = false;
    let mut typed = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Resources:") {
            let rest = rest.trim();
            resources |= rest.is_empty() || rest.starts_with('#');
        }
        let l = line.trim_start().trim_start_matches("- ");
        if let Some(v) = l.strip_prefix("Type:") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
            typed |= FIREWALL_TYPES.contains(&v);
        }
        if resources && typed {
            return true;
        }
    }
    false
}

/// Parse and lower a JSON template that [`sniff_json`] accepted.
pub fn parse_json(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    parse_json_attached(src, json, names).0
}

/// [`parse_json`], with the groups the template attaches to one resource.
pub fn parse_json_attached(
    src: &SourceText,
    json: &Json<'_>,
    names: &Resolver,
) -> (Parsed, Vec<aws::Attachment>) {
    let mut issues = Vec::new();
    let doc = read_template(json, &mut issues);
    let mut rulesets = aws::lower_groups(&doc.groups, src, names, &mut issues);
    rulesets.extend(aws::lower_nacls(&doc.acls, src, &mut issues));
    (Parsed { rulesets, issues }, doc.attachments)
}

/// Parse and lower a YAML template that [`sniff_yaml`] accepted.
pub fn parse_yaml(src: &SourceText, names: &Resolver) -> Parsed {
    parse_yaml_attached(src, names).0
}

/// [`parse_yaml`], with the groups the template attaches to one resource.
pub fn parse_yaml_attached(src: &SourceText, names: &Resolver) -> (Parsed, Vec<aws::Attachment>) {
    match yaml_to_json(&src.text) {
        Ok(json) => parse_json_attached(src, &json, names),
        Err(e) => (Parsed {
            rulesets: Vec::new(),
            issues: vec![ParseIssue {
                kind: IssueKind::ParseError,
                span: e.span,
                message: e.message,
                label: e.label,
                help: Some(
                    "fix the YAML (`aws cloudformation validate-template` checks it); nothing of this file was audited"
                        .into(),
                ),
            }],
        }, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json;
    use crate::formats::json::Kind;
    use crate::model::ports::{ICMP, TCP};
    use crate::model::{AddrSet, Hook, PacketBox, Ruleset, Semantics, Verdict};

    // the AWS reader's test helpers: CloudFormation lowers through it
    use crate::formats::aws::tests::{chain_len, count, decider, flow, ruleset, verdict};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/");

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    fn yaml(name: &str, text: &str, names: &Resolver) -> (SourceText, Parsed) {
        assert!(
            sniff_yaml(text),
            "{name} should sniff as CloudFormation YAML"
        );
        let src = SourceText::new(name, text);
        let p = parse_yaml(&src, names);
        (src, p)
    }

    /// The label and line of the rule deciding a one-piece region.
    fn decided_by(rs: &Ruleset, hook: Hook, region: &PacketBox) -> (String, u32) {
        let prov = decider(rs, hook, region);
        (prov.label.to_string(), prov.line)
    }

    #[test]
    fn corpus_fargate_groups_with_standalone_ingress() {
        let (src, p) = yaml(
            "fargate.yaml",
            &read("corpus/cfn-fargate-public-vpc-sg-ingress.yaml"),
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
            ["FargateContainerSecurityGroup", "PublicLoadBalancerSG"]
        );
        let fargate = ruleset(&p, "FargateContainerSecurityGroup");
        assert_eq!(
            chain_len(fargate, "Ingress"),
            2,
            "two standalone ingress resources"
        );
        assert_eq!(chain_len(fargate, "Egress"), 1, "EC2's default egress");
        let alb = ruleset(&p, "PublicLoadBalancerSG");
        assert_eq!(
            (chain_len(alb, "Ingress"), chain_len(alb, "Egress")),
            (1, 1)
        );
        assert!(p
            .rulesets
            .iter()
            .all(|r| r.policies[0].semantics == Semantics::AllowUnion));
        // both group references are unresolved: one issue each
        assert_eq!(count(&p, IssueKind::Undecidable), 2, "{:#?}", p.issues);
        // the ALB admits anything from anywhere, by the inline rule on line 159
        let region = flow("1.2.3.4", TCP, 9669);
        assert_eq!(verdict(alb, Hook::Input, &region), Verdict::Allow);
        let (label, line) = decided_by(alb, Hook::Input, &region);
        assert_eq!(
            label,
            "PublicLoadBalancerSG/ingress #1 all traffic from 0.0.0.0/0"
        );
        assert_eq!(line, 159);
        // the containers: from the ALB group and from themselves, both unresolved
        assert_eq!(verdict(fargate, Hook::Input, &region), Verdict::Unknown);
        let labels: Vec<&str> = fargate.policies[0]
            .rules
            .iter()
            .map(|r| &*r.prov.label)
            .collect();
        assert_eq!(
            labels,
            [
                "FargateContainerSecurityGroup/ingress EcsSecurityGroupIngressFromPublicALB all traffic from PublicLoadBalancerSG",
                "FargateContainerSecurityGroup/ingress EcsSecurityGroupIngressFromSelf all traffic from FargateContainerSecurityGroup",
                "FargateContainerSecurityGroup/egress default all traffic to 0.0.0.0/0",
            ]
        );
        // the standalone rule points at its resource
        let self_rule = &fargate.policies[0].rules[1];
        assert_eq!(self_rule.prov.line, 135);
        assert!(src.text[self_rule.prov.span.start..self_rule.prov.span.end]
            .starts_with("Type: AWS::EC2::SecurityGroupIngress"));
        // resolved, the ALB's members get in
        let mut names = Resolver::default();
        names.insert(
            "PublicLoadBalancerSG",
            AddrSet::parse("10.0.0.0/24").unwrap(),
        );
        names.insert(
            "FargateContainerSecurityGroup",
            AddrSet::parse("10.0.1.0/24").unwrap(),
        );
        let (_, p) = yaml(
            "fargate.yaml",
            &read("corpus/cfn-fargate-public-vpc-sg-ingress.yaml"),
            &names,
        );
        assert_eq!(count(&p, IssueKind::Undecidable), 0);
        let fargate = ruleset(&p, "FargateContainerSecurityGroup");
        assert_eq!(
            verdict(fargate, Hook::Input, &flow("10.0.0.7", TCP, 8080)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(fargate, Hook::Input, &flow("10.0.2.7", TCP, 8080)),
            Verdict::Deny
        );
    }

    #[test]
    fn corpus_nacl_with_stringly_typed_entries() {
        let (_, p) = yaml(
            "nacl.yaml",
            &read("corpus/cfn-VPC_With_Managed_NAT_And_Private_Subnet-nacl.yaml"),
            &Resolver::default(),
        );
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        assert_eq!(p.rulesets.len(), 1);
        let acl = ruleset(&p, "PublicNetworkAcl");
        assert!(acl.stateless);
        assert_eq!(acl.policies[0].semantics, Semantics::FirstMatch);
        // `Egress: "false"` and `Egress: "true"`
        assert_eq!(
            (chain_len(acl, "Inbound"), chain_len(acl, "Outbound")),
            (1, 1)
        );
        let region = flow("1.2.3.4", TCP, 4008);
        assert_eq!(verdict(acl, Hook::Input, &region), Verdict::Allow);
        let (label, line) = decided_by(acl, Hook::Input, &region);
        assert_eq!(
            label,
            "PublicNetworkAcl/Inbound rule 100 allow all traffic from 0.0.0.0/0"
        );
        assert_eq!(line, 215);
        assert_eq!(
            verdict(acl, Hook::Input, &flow("2001:db8::1", TCP, 4008)),
            Verdict::Deny
        );
    }

    #[test]
    fn zca_template_parameters_refs_and_imports() {
        let text = read("cfn-zca-sg.yaml");
        let (src, p) = yaml("cfn-zca-sg.yaml", &text, &Resolver::default());
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(p.rulesets.len(), 1);
        let rs = ruleset(&p, "ZcaSecurityGroup");
        // 3 inline + 3 standalone ingress rules, one explicit egress (no default added)
        assert_eq!((chain_len(rs, "Ingress"), chain_len(rs, "Egress")), (6, 1));
        // the unresolved self-reference (all traffic from the group's members) leaves every
        // packet the other rules do not allow unknown
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.4.5", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.40.4.5", TCP, 4008)),
            Verdict::Unknown
        );
        // `CidrIp: !Ref AdminCidr`: unresolved, so 9669 is unknown from anywhere
        let out = rs.evaluate(
            rs.pipeline(Hook::Input).unwrap(),
            &flow("10.0.5.9", TCP, 9669),
        );
        assert!(
            out.iter().all(|o| o.verdict == Verdict::Unknown),
            "{out:#?}"
        );
        assert!(out[0]
            .reasons
            .iter()
            .any(|r| r.contains("AdminCidr") && r.contains("10.0.5.0/24")));
        let und: Vec<&ParseIssue> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Undecidable)
            .collect();
        let at: Vec<&str> = und
            .iter()
            .map(|i| &src.text[i.span.start..i.span.end])
            .collect();
        // the parameter, the group's self-reference and the imported group
        assert_eq!(
            at,
            [
                "!ImportValue shared-services-sg-id",
                "!Ref AdminCidr",
                "!Ref ZcaSecurityGroup"
            ],
            "{und:#?}"
        );
        let param = und
            .iter()
            .find(|i| i.message.contains("AdminCidr"))
            .unwrap();
        assert!(param
            .help
            .as_deref()
            .unwrap()
            .contains("--address AdminCidr="));
        // the 9669 rule points at its YAML mapping
        let rule = rs.policies[0]
            .rules
            .iter()
            .find(|r| r.prov.label.contains("9669"))
            .unwrap();
        assert_eq!(rule.prov.line, 35);
        assert_eq!(
            &*rule.prov.label,
            "ZcaSecurityGroup/ingress #3 tcp 9669 from AdminCidr"
        );
        assert!(
            src.text[rule.prov.span.start..rule.prov.span.end].starts_with("Description: Zerto UI")
        );
        assert!(src.text[rule.prov.span.start..rule.prov.span.end].ends_with("!Ref AdminCidr"));
        // given the parameter's value and the group's members, all is decided but 443 from
        // outside the VPC, which the imported group may admit
        let mut names = Resolver::default();
        names.insert("AdminCidr", AddrSet::parse("10.0.5.0/24").unwrap());
        names.insert("ZcaSecurityGroup", AddrSet::parse("10.20.9.0/24").unwrap());
        let (_, p) = yaml("cfn-zca-sg.yaml", &text, &names);
        let rs = ruleset(&p, "ZcaSecurityGroup");
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.0.5.9", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.0.6.9", TCP, 9669)),
            Verdict::Deny
        );
        // `FromPort: "4005"` as a string
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.4.5", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.40.4.5", TCP, 4008)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.9.7", 50, 0)),
            Verdict::Allow
        );
        // attached by !Ref, pointing at its resource
        let (label, line) = decided_by(rs, Hook::Input, &flow("10.30.4.5", TCP, 9081));
        assert_eq!(
            label,
            "ZcaSecurityGroup/ingress ZcaPairingFromRecoverySite tcp 9080-9081 from 10.30.0.0/16"
        );
        assert_eq!(line, 49);
        // the imported group makes 443 unknown outside the VPC, not inside it
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 443)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("192.0.2.1", TCP, 443)),
            Verdict::Unknown
        );
    }

    #[test]
    fn json_template_goes_through_aws_sg() {
        let text = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"SshFrom": {"Type": "String", "Default": "0.0.0.0/0"}},
  "Resources": {
    "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "x",
      "SecurityGroupIngress": [
        {"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": {"Ref": "SshFrom"}},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "CidrIp": "10.0.0.0/8"},
        {"IpProtocol": "tcp", "FromPort": {"Fn::If": ["Prod", 443, 8443]}, "ToPort": 443, "CidrIp": "10.0.0.0/8"}
      ]}},
    "Rule": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
      "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]}, "IpProtocol": 6, "FromPort": 9669, "ToPort": 9669,
      "SourceSecurityGroupId": {"Ref": "Sg"}}},
    "Acl": {"Type": "AWS::EC2::NetworkAcl", "Properties": {"VpcId": "vpc-1"}},
    "In": {"Type": "AWS::EC2::NetworkAclEntry", "Properties": {"NetworkAclId": {"Ref": "Acl"},
      "RuleNumber": 100, "Protocol": 6, "RuleAction": "allow", "CidrBlock": "10.0.0.0/8",
      "PortRange": {"From": 4005, "To": 4009}}}
  }
}"#;
        let src = SourceText::new("t.json", text);
        let json = json::parse(&src.text).unwrap();
        assert!(aws::sniff(&json));
        let mut names = Resolver::default();
        names.insert("Sg", AddrSet::parse("10.9.0.0/16").unwrap());
        let p = aws::parse(&src, &json, &names);
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        // the parameter (lowering) and the Fn::If (reader)
        assert_eq!(count(&p, IssueKind::Undecidable), 2, "{:#?}", p.issues);
        let sg = ruleset(&p, "Sg");
        assert_eq!((chain_len(sg, "Ingress"), chain_len(sg, "Egress")), (4, 1));
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.9.1.1", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.1.1.1", ICMP, 0x0800)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.1.1.1", ICMP, 0x0000)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.1.1.1", TCP, 443)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.1.1.1", TCP, 22)),
            Verdict::Unknown
        );
        let acl = ruleset(&p, "Acl");
        assert!(acl.stateless);
        assert_eq!(
            (chain_len(acl, "Inbound"), chain_len(acl, "Outbound")),
            (1, 0)
        );
        assert_eq!(
            verdict(acl, Hook::Input, &flow("10.1.1.1", TCP, 4007)),
            Verdict::Allow
        );
    }

    #[test]
    fn template_value_errors_and_odd_shapes() {
        let text = "\
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: x
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 9669
          ToPort: 70000
          CidrIp: 10.0.0.0/8
        - IpProtocol: tcp
          FromPort: 22
          ToPort: 22
        - just a string
        - !If [IsProd, {IpProtocol: tcp, FromPort: 1, ToPort: 1, CidrIp: 1.1.1.1/32}, !Ref AWS::NoValue]
      SecurityGroupEgress: !Ref AWS::NoValue
  Orphan:
    Type: AWS::EC2::SecurityGroupIngress
    Condition: IsProd
    Properties:
      GroupId: sg-0123456789abcdef0
      IpProtocol: tcp
      FromPort: 4008
      ToPort: 4008
      CidrIp: 10.30.0.0/16
";
        let (src, p) = yaml("odd.yaml", text, &Resolver::default());
        let mut errors: Vec<(usize, &str)> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::ParseError)
            .map(|i| (i.span.start, &src.text[i.span.start..i.span.end]))
            .collect();
        errors.sort();
        let errors: Vec<&str> = errors.into_iter().map(|e| e.1).collect();
        assert_eq!(errors.len(), 3, "{:#?}", p.issues);
        assert_eq!(errors[0], "70000");
        assert!(
            errors[1].starts_with("IpProtocol: tcp\n          FromPort: 22"),
            "{}",
            errors[1]
        );
        assert_eq!(errors[2], "just a string");
        let sg = ruleset(&p, "Sg");
        assert_eq!(chain_len(sg, "Ingress"), 4, "every rule kept");
        assert_eq!(
            chain_len(sg, "Egress"),
            1,
            "the !Ref AWS::NoValue egress is unknown"
        );
        assert!(sg.policies[0]
            .rules
            .iter()
            .all(|r| !r.undecidable.is_empty()));
        assert_eq!(
            verdict(sg, Hook::Input, &flow("10.0.0.1", TCP, 9669)),
            Verdict::Unknown
        );
        // a group of another stack, named by id; the resource is conditional
        let orphan = ruleset(&p, "sg-0123456789abcdef0");
        assert_eq!(
            verdict(orphan, Hook::Input, &flow("10.30.0.1", TCP, 4008)),
            Verdict::Unknown
        );
        assert!(orphan.policies[0]
            .rules
            .iter()
            .any(|r| r.undecidable.iter().any(|x| x.contains("IsProd"))));
        // the group's other rules are not in the template: what the rule does not cover is
        // unknown too, never denied
        assert_eq!(
            verdict(orphan, Hook::Input, &flow("10.30.0.1", TCP, 9669)),
            Verdict::Unknown
        );
    }

    #[test]
    fn attachments_are_the_group_lists_of_resources() {
        let text = "Parameters:
  Extra:
    Type: List<AWS::EC2::SecurityGroup::Id>
Resources:
  A:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: a
  B:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: b
  Web:
    Type: AWS::EC2::Instance
    Properties:
      SecurityGroupIds: [!Ref A, !GetAtt B.GroupId, !Select [0, !Ref Extra]]
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        NetworkInterfaces:
          - DeviceIndex: 0
            Groups: [!Ref B]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      VpcConfig:
        SecurityGroupIds: !Ref Extra
  Admins:
    Type: AWS::IAM::User
    Properties:
      Groups: [admins]
";
        assert!(sniff_yaml(text));
        let src = SourceText::new("attach.yaml", text);
        let (p, att) = parse_yaml_attached(&src, &Resolver::default());
        let got: Vec<(&str, Vec<&str>)> = att
            .iter()
            .map(|a| {
                (
                    a.resource.as_str(),
                    a.groups.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Web", vec!["A", "B", "!Select [0, !Ref Extra]"]),
                (
                    "Template.LaunchTemplateData.NetworkInterfaces[0]",
                    vec!["B"]
                ),
                ("Fn.VpcConfig", vec!["Extra"]),
            ]
        );
        // groups named but not defined have unknown rules, one note each; IAM groups are none
        let names: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(names, ["A", "B", "!Select [0, !Ref Extra]", "Extra"]);
        assert_eq!(count(&p, IssueKind::Undecidable), 2, "{:#?}", p.issues);
        let sel = ruleset(&p, "Extra");
        assert_eq!(
            verdict(sel, Hook::Input, &flow("10.0.0.1", TCP, 9669)),
            Verdict::Unknown
        );
    }

    #[test]
    fn broken_yaml_is_one_parse_error() {
        let text =
            "Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties: [unclosed\n";
        let (_, p) = yaml("broken.yaml", text, &Resolver::default());
        assert!(p.rulesets.is_empty());
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].kind, IssueKind::ParseError);
        assert!(p.issues[0].message.contains("YAML"), "{:?}", p.issues[0]);
        // aliases are refused, deep nesting is bounded, nothing panics
        let alias = "Resources:\n  A: &a {Type: AWS::EC2::SecurityGroup}\n  B: *a\n";
        assert!(yaml_to_json(alias).unwrap_err().message.contains("alias"));
        let deep = format!("Resources: {}", "[".repeat(5000));
        assert!(yaml_to_json(&deep).is_err());
        let deep_block: String = (0..400).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(yaml_to_json(&deep_block).is_err());
        for t in [
            "",
            "---\n",
            "- a\n- b\n",
            "a: b\n---\nc: d\n",
            "? [a]\n: b\n",
            "\t- x",
        ] {
            let src = SourceText::new("x.yaml", t);
            let _ = parse_yaml(&src, &Resolver::default());
        }
    }

    #[test]
    fn yaml_tree_spans_and_intrinsics() {
        let t = "A: !Ref X\nB:\n  - !GetAtt Y.Z\n  - !Sub\n    - '${a}'\n    - a: 1\nC: {d: \"é\", e: 22, f: true, g: ~}\n";
        let j = yaml_to_json(t).unwrap();
        let a = j.get("A").unwrap();
        assert_eq!(a.get("Ref").unwrap().as_str(), Some("X"));
        assert_eq!(&t[a.span.start..a.span.end], "!Ref X");
        let b = j.get("B").unwrap().as_array().unwrap();
        assert_eq!(b[0].get("Fn::GetAtt").unwrap().as_str(), Some("Y.Z"));
        let sub = b[1].get("Fn::Sub").unwrap().as_array().unwrap();
        assert_eq!(sub[0].as_str(), Some("${a}"));
        assert_eq!(
            &t[b[1].span.start..b[1].span.end],
            "!Sub\n    - '${a}'\n    - a: 1"
        );
        let c = j.get("C").unwrap();
        assert_eq!(
            &t[c.span.start..c.span.end],
            "{d: \"é\", e: 22, f: true, g: ~}"
        );
        assert_eq!(c.get("d").unwrap().as_str(), Some("é"));
        assert_eq!(
            &t[c.get("d").unwrap().span.start..c.get("d").unwrap().span.end],
            "\"é\""
        );
        assert_eq!(c.get("e").unwrap().kind, Kind::Number("22"));
        assert_eq!(c.get("f").unwrap().as_bool(), Some(true));
        assert!(c.get("g").unwrap().is_null());
        let ks = j.members().unwrap()[2].key_span;
        assert_eq!(&t[ks.start..ks.end], "C");
    }

    #[test]
    fn sniffing() {
        assert!(sniff_yaml(&read("cfn-zca-sg.yaml")));
        assert!(sniff_yaml(&read(
            "corpus/cfn-VPC_With_Managed_NAT_And_Private_Subnet-nacl.yaml"
        )));
        for no in [
            "# Generated by iptables-save v1.8.7\n*filter\n:INPUT DROP [0:0]\nCOMMIT\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n",
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n",
            "Type: AWS::EC2::SecurityGroup\n",
            "{\"Resources\": {\"Sg\": {\"Type\": \"AWS::EC2::SecurityGroup\"}}}",
        ] {
            assert!(!sniff_yaml(no), "{no}");
        }
        let j = json::parse(r#"{"Resources": {"R": {"Type": "AWS::IAM::Role"}}}"#).unwrap();
        assert!(!sniff_json(&j) && !aws::sniff(&j));
        let arm =
            json::parse(r#"{"resources": [{"type": "Microsoft.Network/networkSecurityGroups"}]}"#)
                .unwrap();
        assert!(!aws::sniff(&arm));
    }
}
