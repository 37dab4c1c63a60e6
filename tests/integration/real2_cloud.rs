//! Issue 17, AWS / CloudFormation / Terraform: every file of `fixtures/real2/{aws,cfn,terraform}`
//! (copies of `../shared/corpus/real2/`) audited in quick mode, with verdicts checked by hand
//! against the AWS documentation, and small fixtures of our own for each class.
//!
//! What the verdicts rest on (AWS documentation, "Security group rules" and "Network ACLs"):
//! - security groups are allow-only and stateful: a connection is admitted when any rule of any
//!   group on the network interface admits it; the groups of one interface are evaluated as the
//!   union of their rules, groups of different resources never together;
//! - a new VPC group has an allow-all egress rule; CloudFormation removes it only when the
//!   group's own `SecurityGroupEgress` property lists rules (a standalone
//!   `AWS::EC2::SecurityGroupEgress` resource adds a rule and leaves it); Terraform removes it;
//! - a custom network ACL denies everything until entries are added (`create-network-acl`
//!   returns only the catch-all deny entries 32767, and 32768 for IPv6);
//! - EC2 masks a CIDR with host bits set (`1.2.3.5/16` is stored as `1.2.0.0/16`) and refuses a
//!   rule whose FromPort is greater than its ToPort.
//!
//! Flows in quick mode: `--env aws --role zca` audits every firewall of the file as the ZCA's
//! (the ZVM and VRA roles); a flow's `policy` names the firewall that decided it.

use super::{audit_json, findings, flow, portolan};
use serde_json::Value;

fn audit(path: &str) -> Value {
    audit_json(&["--env", "aws", "--role", "zca", path]).0
}

fn flows(v: &Value) -> &Vec<Value> {
    v["flows"].as_array().expect("flows")
}

/// The firewall a policy name belongs to (`sg-1/Ingress` → `sg-1`).
fn firewall_of(policy: &str) -> &str {
    policy.rsplit_once('/').map_or(policy, |(f, _)| f)
}

/// The flows of one firewall in one direction, by requirement: status.
fn statuses<'v>(v: &'v Value, firewall: &str, direction: &str) -> Vec<(&'v str, &'v str)> {
    flows(v)
        .iter()
        .filter(|f| {
            firewall_of(f["policy"].as_str().unwrap()) == firewall && f["direction"] == direction
        })
        .map(|f| {
            (
                f["requirement"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
            )
        })
        .collect()
}

fn firewalls(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = flows(v)
        .iter()
        .map(|f| firewall_of(f["policy"].as_str().unwrap()).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every rule that decided a flow belongs to a group of the flow's own firewall: the group (for
/// a union, one of the groups named in its name).
fn deciders_belong_to_their_firewall(v: &Value) {
    for f in flows(v) {
        let fw = firewall_of(f["policy"].as_str().unwrap());
        for d in f["deciding"].as_array().unwrap() {
            let rule = d["rule"].as_str().unwrap();
            let group = rule
                .split_once('/')
                .map_or_else(|| rule.trim_end_matches(" implicit deny"), |(g, _)| g);
            assert!(
                fw == group
                    || fw.contains(&format!("({group} "))
                    || fw.contains(&format!(" {group})"))
                    || fw.contains(&format!(" {group} ")),
                "{} in {fw} decided by {rule}",
                f["requirement"]
            );
        }
    }
}

fn codes(v: &Value, code: &str) -> usize {
    findings(v, code).len()
}

// ---------------------------------------------------------------------------------------------
// Class 1: a security group is its own firewall unless something attaches groups together

/// `armageddon-lab-describe-security-groups.json`: an account dump of two groups, a web
/// instance's (tcp 80 from anywhere) and an RDS instance's (3306 from the web group). Nothing
/// says they share an interface, so each is its own firewall. No Zerto port is 80 or 3306: every
/// inbound ZCA flow is blocked by the group's implicit deny; both groups keep the allow-all
/// egress the dump lists, so every outbound flow is allowed.
#[test]
fn real_account_dump_each_group_its_own_firewall() {
    let v = audit("fixtures/real2/aws/armageddon-lab-describe-security-groups.json");
    assert_eq!(
        firewalls(&v),
        ["sg-04b5ded2e787fd2cf", "sg-0f17d1eded3a2a9ab"]
    );
    for sg in ["sg-04b5ded2e787fd2cf", "sg-0f17d1eded3a2a9ab"] {
        let inbound = statuses(&v, sg, "inbound");
        assert_eq!(inbound.len(), 14, "{sg}");
        assert!(inbound.iter().all(|(_, s)| *s == "blocked"), "{inbound:?}");
        let outbound = statuses(&v, sg, "outbound");
        assert_eq!(outbound.len(), 13, "{sg}");
        assert!(
            outbound.iter().all(|(_, s)| *s == "allowed"),
            "{outbound:?}"
        );
    }
    let f = flows(&v)
        .iter()
        .find(|f| f["policy"] == "sg-0f17d1eded3a2a9ab/Ingress")
        .unwrap();
    assert_eq!(
        f["deciding"][0]["rule"],
        "sg-0f17d1eded3a2a9ab implicit deny"
    );
    deciders_belong_to_their_firewall(&v);
    // the two allow-all egress rules are on different resources: neither is redundant
    assert_eq!(codes(&v, "Z302"), 0);
    assert_eq!(codes(&v, "Z001"), 0);
}

/// Our own account dump: a ZCA group (4005-4009 from 10.20.0.0/16), a web group (443 and 9669
/// from anywhere) and an RDS group (5432 from the web group), each with the allow-all egress.
/// In the old union the web group's 9669 "allowed" the ZCA's management port and Z302 called
/// two egress rules redundant; on AWS each group guards its own resource.
#[test]
fn own_account_dump_no_verdict_from_another_resource() {
    let v = audit("fixtures/aws/issue17-account-dump.json");
    assert_eq!(
        firewalls(&v),
        [
            "sg-0a1b2c3d4e5f60001",
            "sg-0a1b2c3d4e5f60002",
            "sg-0a1b2c3d4e5f60003"
        ]
    );
    let zca = statuses(&v, "sg-0a1b2c3d4e5f60001", "inbound");
    for (req, status) in &zca {
        let want = if req.contains("-400") {
            "allowed"
        } else {
            "blocked"
        };
        assert_eq!(*status, want, "{req} on the ZCA group");
    }
    // 9669 is open on the web group only: its own flow says so, the ZCA's is blocked
    let web = statuses(&v, "sg-0a1b2c3d4e5f60002", "inbound");
    assert!(web.contains(&("aws.admin-client-zvm-9669", "allowed")));
    assert!(zca.contains(&("aws.admin-client-zvm-9669", "blocked")));
    let f = flows(&v)
        .iter()
        .find(|f| f["requirement"] == "aws.zvm-vra-4005" && f["direction"] == "inbound")
        .unwrap();
    assert_eq!(f["policy"], "sg-0a1b2c3d4e5f60001/Ingress");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.0.0/16"]));
    deciders_belong_to_their_firewall(&v);
    // three groups with the same egress rule, on three resources: no Z302 names two groups
    assert_eq!(codes(&v, "Z302"), 0, "{:#}", v["findings"]);
}

/// `cloudfront-alb-standalone-ingress-egress.yaml`: `EC2Instance` lists `SecurityGroupIds:
/// [EC2InstanceSG, ALBExternalAccessSG]` and the load balancer `SecurityGroups:
/// [ALBExternalAccessSG]`. So the instance is one firewall, the union of both groups, and the
/// ALB another, its group alone; `EC2InstanceSG` is on no other resource. `HTTPSTcpIn` (line
/// 603) admits 443 from 0.0.0.0/0 into the ALB group, hence into both firewalls; the only
/// other ingress is 8080/80 (no Zerto port). No group lists `SecurityGroupEgress`, so both keep
/// the default allow-all egress (the standalone `AWS::EC2::SecurityGroupEgress` to the instance
/// group on 8080 does not remove it): every outbound flow is allowed.
#[test]
fn real_template_attaches_two_groups_to_the_instance() {
    let v = audit("fixtures/real2/cfn/cloudfront-alb-standalone-ingress-egress.yaml");
    let union = "EC2Instance (EC2InstanceSG + ALBExternalAccessSG)";
    assert_eq!(firewalls(&v), ["ALBExternalAccessSG", union]);
    for fw in [union, "ALBExternalAccessSG"] {
        for (req, status) in statuses(&v, fw, "inbound") {
            let want = if req == "aws.zvm-zasa-443" {
                "allowed"
            } else {
                "blocked"
            };
            assert_eq!(status, want, "{req} on {fw}");
        }
        let out = statuses(&v, fw, "outbound");
        assert_eq!(out.len(), 13);
        assert!(out.iter().all(|(_, s)| *s == "allowed"), "{fw}: {out:?}");
    }
    let f = flows(&v)
        .iter()
        .find(|f| {
            f["requirement"] == "aws.zvm-zasa-443" && f["policy"] == format!("{union}/Ingress")
        })
        .unwrap();
    assert_eq!(
        f["deciding"][0]["rule"],
        "ALBExternalAccessSG/ingress HTTPSTcpIn tcp 443 from 0.0.0.0/0"
    );
    assert_eq!(f["deciding"][0]["line"], 603);
    deciders_belong_to_their_firewall(&v);
    // the two default egress rules share the instance's interface, but the ALB group's is also
    // all the ALB has: removing it would cut the ALB's egress, so it is not redundant
    assert_eq!(codes(&v, "Z302"), 0, "{:#}", v["findings"]);
    assert_eq!(codes(&v, "Z001"), 0);
}

/// Our own template: `ZcaInstance` has `[!Ref ZcaSG, !GetAtt MgmtSG.GroupId]`, the database
/// `VPCSecurityGroups: [DbSG]`. The instance admits 4005-4009 (ZcaSG) and 9669 (MgmtSG); the
/// database group admits only 5432 and its inline egress (127.0.0.1/32 only) replaces the
/// default, so its outbound flows are blocked. ZcaSG's standalone egress leaves its default
/// allow-all egress, which makes that rule, and MgmtSG's 443 egress on the same interface,
/// redundant: Z302 across groups known to share an interface.
#[test]
fn own_template_attached_groups_are_one_firewall() {
    let v = audit("fixtures/aws/issue17-cfn-attached.yaml");
    let union = "ZcaInstance (ZcaSG + MgmtSG)";
    assert_eq!(
        firewalls(&v),
        ["!ImportValue network-SharedZertoSG", "DbSG", union]
    );
    for (req, status) in statuses(&v, union, "inbound") {
        let want = if req.contains("-400") || req.ends_with("-9669") {
            "allowed"
        } else {
            "blocked"
        };
        assert_eq!(status, want, "{req}");
    }
    assert!(statuses(&v, union, "outbound")
        .iter()
        .all(|(_, s)| *s == "allowed"));
    assert!(statuses(&v, "DbSG", "inbound")
        .iter()
        .all(|(_, s)| *s == "blocked"));
    assert!(statuses(&v, "DbSG", "outbound")
        .iter()
        .all(|(_, s)| *s == "blocked"));
    deciders_belong_to_their_firewall(&v);
    let z302: Vec<&str> = findings(&v, "Z302")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(z302.len(), 2, "{z302:#?}");
    assert!(
        z302[0].starts_with("ZcaSG/egress ZcaEgressToBackup tcp 443"),
        "{z302:#?}"
    );
    assert!(z302[1].starts_with("MgmtSG/egress #1 tcp 443"), "{z302:#?}");
    // neither names DbSG, which is on another resource
    assert!(z302.iter().all(|m| !m.contains("DbSG")));
}

/// Terraform (state): `aws_instance.zca` lists three group ids, two of the state's and one it
/// does not hold. The instance is one firewall: 4005-4009 (vra) and 9669 (mgmt) admitted, the
/// rest unknown (the third group's rules are not in the file); `aws_security_group.web` is on
/// no resource here and is its own firewall (9080 from anywhere; Terraform's empty `egress`
/// list means no egress: outbound blocked).
#[test]
fn own_terraform_state_attached_groups() {
    let v = audit("fixtures/terraform/issue17-state-attached.json");
    let union =
        "aws_instance.zca (aws_security_group.vra + aws_security_group.mgmt + sg-0fff00000000000f)";
    assert_eq!(firewalls(&v), [union, "aws_security_group.web"]);
    for (req, status) in statuses(&v, union, "inbound") {
        let want = if req.contains("-400") || req.ends_with("-9669") {
            "allowed"
        } else {
            "unknown"
        };
        assert_eq!(status, want, "{req}");
    }
    // vra's allow-all egress admits every outbound flow whatever the third group has
    assert!(statuses(&v, union, "outbound")
        .iter()
        .all(|(_, s)| *s == "allowed"));
    let web = statuses(&v, "aws_security_group.web", "inbound");
    assert!(web.contains(&("aws.admin-client-zvm-9080", "allowed")));
    assert!(web.contains(&("aws.zvm-vra-4005", "blocked")));
    assert!(statuses(&v, "aws_security_group.web", "outbound")
        .iter()
        .all(|(_, s)| *s == "blocked"));
    assert!(findings(&v, "Z002").iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .contains("`sg-0fff00000000000f`")));
}

/// `checkov-tf012-plan-aws-sg-and-rules.json`: `aws_security_group.web-node` (ingress 22 and 80
/// from anywhere, egress all) is attached alone to two instances and the ELB, and
/// `aws_security_group.default` alone to the RDS instance: two firewalls, never one. web-node:
/// inbound blocked (no Zerto port is 22 or 80), outbound allowed. default: its inline ingress
/// and egress are known only after apply (`after_unknown`), plus standalone rules (ingress 3306
/// from 172.16.0.0/16, egress all to 0.0.0.0/0): inbound unknown, outbound allowed.
#[test]
fn real_terraform_plan_groups_of_different_resources() {
    let v = audit("fixtures/real2/terraform/checkov-tf012-plan-aws-sg-and-rules.json");
    assert_eq!(
        firewalls(&v),
        ["aws_security_group.default", "aws_security_group.web-node"]
    );
    let check = |fw: &str, dir: &str, want: &str| {
        let s = statuses(&v, fw, dir);
        assert!(!s.is_empty());
        assert!(s.iter().all(|(_, x)| *x == want), "{fw} {dir}: {s:?}");
    };
    check("aws_security_group.web-node", "inbound", "blocked");
    check("aws_security_group.web-node", "outbound", "allowed");
    check("aws_security_group.default", "inbound", "unknown");
    check("aws_security_group.default", "outbound", "allowed");
    deciders_belong_to_their_firewall(&v);
    assert_eq!(codes(&v, "Z302"), 0);
    assert_eq!(codes(&v, "Z001"), 0);
}

// ---------------------------------------------------------------------------------------------
// Class 2: rules on a group the template does not define leave the rest of it unknown

/// `cfnnag-dangling-ingress-hostbits-cidr.json`: a standalone ingress on the literal group
/// `sg-09fb296e`, which the template does not define. Its other rules (ingress and egress) are
/// unknown, so no ZCA flow is blocked: every one is unknown. The CIDR `1.2.3.5/16` has host bits
/// set, which EC2 accepts and masks to 1.2.0.0/16: no Z001, and 1.2.200.1 is admitted to port 45
/// while 1.3.0.1 stays unknown.
#[test]
fn real_dangling_ingress_on_a_group_not_in_the_template() {
    let path = "fixtures/real2/cfn/cfnnag-dangling-ingress-hostbits-cidr.json";
    let v = audit(path);
    assert_eq!(firewalls(&v), ["sg-09fb296e"]);
    assert!(flows(&v).iter().all(|f| f["status"] == "unknown"));
    assert_eq!(codes(&v, "Z001"), 0, "host bits are masked, not refused");
    assert!(findings(&v, "Z002").iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .starts_with("security group `sg-09fb296e` is not defined in this template")));
    let query = |from: &str| {
        let out = portolan()
            .args([
                "query", path, "--from", from, "--to", "10.0.0.1", "--port", "45/tcp",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(query("1.2.200.1").contains("ALLOW from 1.2.200.1/32"));
    assert!(query("1.3.0.1").contains("UNKNOWN from 1.3.0.1/32"));
}

/// Our own template's `SharedIngress` adds 9081 from 10.30.0.0/16 to `!ImportValue
/// network-SharedZertoSG`, a group of another stack: 9081 is allowed from those peers, every
/// other flow of that group (both directions) unknown, never blocked.
#[test]
fn own_imported_group_is_unknown_beyond_its_rule() {
    let v = audit("fixtures/aws/issue17-cfn-attached.yaml");
    let fw = "!ImportValue network-SharedZertoSG";
    for (req, status) in statuses(&v, fw, "inbound") {
        let want = if req == "aws.zvm-zvm-9081" {
            "allowed"
        } else {
            "unknown"
        };
        assert_eq!(status, want, "{req}");
    }
    assert!(statuses(&v, fw, "outbound")
        .iter()
        .all(|(_, s)| *s == "unknown"));
    let f = flows(&v)
        .iter()
        .find(|f| f["requirement"] == "aws.zvm-zvm-9081" && f["policy"] == format!("{fw}/Ingress"))
        .unwrap();
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.30.0.0/16"]));
}

/// `checkov-tf14-plan-sg-rules-only.json`: two `aws_security_group_rule`s on groups the plan
/// does not hold (5432-5433 and 8888/udp from another group): no Zerto port is among them, so
/// every flow of both groups is unknown (their other rules are not in the plan), none blocked.
#[test]
fn real_terraform_rules_only_plan_is_unknown() {
    let v = audit("fixtures/real2/terraform/checkov-tf14-plan-sg-rules-only.json");
    assert_eq!(
        firewalls(&v),
        ["sg-547cc4cd5f94bb695", "sg-547cc4cd5f94bb696"]
    );
    assert!(flows(&v).iter().all(|f| f["status"] == "unknown"));
    assert_eq!(codes(&v, "Z001"), 0);
}

// ---------------------------------------------------------------------------------------------
// Class 5: input the platform accepts

/// `awscli-create-network-acl-output.DERIVED.json`: `create-network-acl` prints the new ACL
/// under `NetworkAcl`, with only the catch-all deny entries 32767 (ingress and egress). A new
/// custom ACL denies everything: every flow blocked, by rule 32767 (IPv4; this VPC has no IPv6
/// entries, so IPv6 meets the implicit end of the list).
#[test]
fn real_create_network_acl_output_is_a_network_acl() {
    let v = audit("fixtures/real2/aws/awscli-create-network-acl-output.DERIVED.json");
    assert_eq!(codes(&v, "Z003"), 0);
    assert_eq!(firewalls(&v), ["acl-5fb85d36"]);
    assert_eq!(flows(&v).len(), 27);
    assert!(flows(&v).iter().all(|f| f["status"] == "blocked"));
    let f = flow(&v, "aws.zvm-vra-4005", "inbound");
    assert_eq!(f["policy"], "acl-5fb85d36/Inbound");
    assert_eq!(
        f["deciding"][0]["rule"],
        "acl-5fb85d36/Inbound rule 32767 deny all traffic from 0.0.0.0/0"
    );
    assert_eq!(f["deciding"][0]["line"], 15);
}

/// Our own `create-network-acl` output in a dual-stack VPC (32767 and 32768): blocked, IPv6 by
/// rule 32768.
#[test]
fn own_create_network_acl_dual_stack() {
    let v = audit("fixtures/aws/issue17-create-network-acl-dualstack.json");
    assert!(flows(&v).iter().all(|f| f["status"] == "blocked"));
    let f = flow(&v, "aws.zvm-zvm-9081", "inbound");
    let rules: Vec<&str> = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "acl-0a1b2c3d4e5f60001/Inbound rule 32767 deny all traffic from 0.0.0.0/0",
            "acl-0a1b2c3d4e5f60001/Inbound rule 32768 deny all traffic from ::/0"
        ]
    );
}

/// `checkov-sg-inverted-port-range.yaml`: FromPort '23' > ToPort '21', which EC2 refuses: a Z001
/// at the FromPort token (line 10), and the rule (tcp from anywhere) is kept undecidable, so the
/// inbound tcp flows are unknown, never allowed. No `SecurityGroupEgress`: the default egress
/// admits every outbound flow.
#[test]
fn real_inverted_port_range_is_a_z001_at_the_token() {
    let v = audit("fixtures/real2/cfn/checkov-sg-inverted-port-range.yaml");
    let z001 = findings(&v, "Z001");
    assert_eq!(z001.len(), 1, "{z001:#?}");
    assert_eq!(z001[0]["line"], 10);
    assert!(z001[0]["message"]
        .as_str()
        .unwrap()
        .contains("FromPort 23 is greater than ToPort 21"));
    assert!(statuses(&v, "DemoSecurityGroup", "inbound")
        .iter()
        .all(|(_, s)| *s == "unknown"));
    assert!(statuses(&v, "DemoSecurityGroup", "outbound")
        .iter()
        .all(|(_, s)| *s == "allowed"));
}

/// Our own: 4005-4009 from `10.20.7.9/16` (host bits: masked to 10.20.0.0/16, admitted, no
/// Z001) and 9669-9080 backwards (a Z001 at FromPort; the rule undecidable: the other flows are
/// unknown, the 400x flows still allowed from 10.20.0.0/16).
#[test]
fn own_host_bits_and_backwards_range() {
    let v = audit("fixtures/aws/issue17-cfn-ports.json");
    let z001 = findings(&v, "Z001");
    assert_eq!(z001.len(), 1, "{z001:#?}");
    assert_eq!(z001[0]["line"], 17);
    let f = flow(&v, "aws.zvm-vra-4005", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.0.0/16"]));
    assert_eq!(flow(&v, "aws.zvm-zvm-9081", "inbound")["status"], "unknown");
}

/// A plan without `planned_values` is not read: a Z002 says nothing was evaluated (not a
/// silent pass with no flows).
#[test]
fn own_plan_without_planned_values_says_nothing_was_evaluated() {
    let v = audit("fixtures/terraform/issue17-plan-no-planned-values.json");
    assert_eq!(v["files"][0]["format"], "terraform-plan");
    assert!(flows(&v).is_empty());
    let z002 = findings(&v, "Z002");
    assert_eq!(z002.len(), 1);
    assert!(z002[0]["message"]
        .as_str()
        .unwrap()
        .contains("nothing in it was evaluated"));
}

/// Every file of the three real2 folders is recognised (no Z003) and covered above.
#[test]
fn every_real2_cloud_file_is_recognised() {
    let mut n = 0;
    for dir in ["aws", "cfn", "terraform"] {
        for e in std::fs::read_dir(format!(
            "{}/fixtures/real2/{dir}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        {
            let p = e.unwrap().path();
            let v = audit(&p.display().to_string());
            assert_eq!(codes(&v, "Z003"), 0, "{}", p.display());
            assert!(!flows(&v).is_empty(), "{}", p.display());
            n += 1;
        }
    }
    assert_eq!(n, 7);
}

/// Class 1, `--policy`: the user says which groups share the ZCA's interface. The ZCA group
/// (4005-4009 from 10.20.0.0/16) and the web group (443 and 9669 from anywhere) attached
/// together are one firewall, the union of both groups' rules (AWS: the rules of all groups of
/// an interface are aggregated); the RDS group is not audited. By hand: 4005-4009 allowed from
/// 10.20.0.0/16 only, 9669 allowed from any IPv4 address, 9081 and the other ports blocked. A name no
/// file holds is exit 2, naming what the files hold.
#[test]
fn policy_selection_audits_the_named_groups_together() {
    let file = "fixtures/aws/issue17-account-dump.json";
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "--policy",
        "sg-0a1b2c3d4e5f60001,SG-0a1b2c3d4e5f60002",
        file,
    ]);
    assert_eq!(code, 1, "blocked flows");
    assert_eq!(
        firewalls(&v),
        ["sg-0a1b2c3d4e5f60001 + sg-0a1b2c3d4e5f60002"]
    );
    let f = flow(&v, "aws.zvm-vra-4005", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.0.0/16"]));
    let f = flow(&v, "aws.admin-client-zvm-9669", "inbound");
    assert_eq!(f["status"], "allowed");
    // every IPv4 address but the loopback the host's own stack keeps (quick mode's peers are
    // any address not the host's); the rule names no IPv6 range
    let sources = f["allowed_sources"].as_array().unwrap();
    assert_eq!(sources.len(), 8, "{sources:?}");
    assert_eq!(sources[0], "0.0.0.0/2");
    assert_eq!(sources[7], "128.0.0.0/1");
    assert_eq!(flow(&v, "aws.zvm-zvm-9081", "inbound")["status"], "blocked");

    let out = portolan()
        .args([
            "audit", "--env", "aws", "--role", "zca", "--policy", "sg-nope", file,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--policy sg-nope: no audited file holds a ruleset of that name"),
        "{text}"
    );
    assert!(text.contains(
        "the files hold sg-0a1b2c3d4e5f60001, sg-0a1b2c3d4e5f60002, sg-0a1b2c3d4e5f60003"
    ));
}
