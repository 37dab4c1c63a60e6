//! Cloud firewalls: Azure NSGs (and, below, AWS security groups) through the binary.

use super::{audit_json, findings, flow, portolan};

#[test]
fn nsg_deny_at_100_blocks_the_allow_at_200() {
    let (v, code) = audit_json(&[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/azure/zca-nsg-deny-before-allow.json",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "azure-nsg");
    for req in [
        "azure.zvm-vra-4005",
        "azure.zvm-vra-4006",
        "azure.vra-vra-4007",
        "azure.vra-vra-4008",
        "azure.zvm-vra-4009",
    ] {
        let f = flow(&v, req, "inbound");
        assert_eq!(f["status"], "blocked", "{req}");
        assert_eq!(f["policy"], "nsg-zca/Inbound");
        let d = &f["deciding"][0];
        assert_eq!(d["rule"], "nsg-zca/DenyAllInboundCustom (priority 100)");
        assert_eq!(
            d["line"], 209,
            "the line where the deny rule's object starts in the JSON file"
        );
        assert_eq!(d["action"], "drop");
    }
    // the human output underlines that rule
    let out = portolan()
        .args([
            "audit",
            "--env",
            "azure",
            "--role",
            "zca",
            "fixtures/azure/zca-nsg-deny-before-allow.json",
        ])
        .output()
        .unwrap();
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("fixtures/azure/zca-nsg-deny-before-allow.json:209"),
        "{human}"
    );
    assert!(human.contains("\"name\": \"DenyAllInboundCustom\""));
}

#[test]
fn nsgs_in_series_subnet_then_nic_and_the_finding_names_the_nic() {
    let (v, code) = audit_json(&["--inventory", "fixtures/inventory/azure-effective.toml"]);
    assert_eq!(code, 1);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "azure.zvm-zvm-9081" && f["direction"] == "inbound")
        .unwrap();
    assert_eq!(f["status"], "blocked");
    assert_eq!(f["policy"], "nsg-snet-zerto/Inbound + nsg-zca-nic/Inbound");
    assert!(
        f["deciding"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"].as_str().unwrap().starts_with("nsg-zca-nic/")),
        "{:#}",
        f["deciding"]
    );
    // the subnet NSG alone lets it in
    let other = flow(&v, "azure.vra-vra-4007", "inbound");
    assert_eq!(other["status"], "allowed");
    let z101: Vec<_> = findings(&v, "Z101")
        .into_iter()
        .filter(|x| x["requirement"] == "azure.zvm-zvm-9081")
        .collect();
    assert!(!z101.is_empty());
    let msg = z101[0]["message"].as_str().unwrap();
    assert!(msg.contains("is blocked by nsg-zca-nic/"), "{msg}");
}

#[test]
fn truncated_and_bad_json_give_z001_with_positions_and_other_files_still_count() {
    let (v, code) = audit_json(&[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/azure/nsg-truncated.json",
        "fixtures/azure/nsg-bad-values.json",
        "fixtures/azure/zca-nsg-ok.arm.json",
    ]);
    assert_eq!(code, 1);
    let z001 = findings(&v, "Z001");
    let truncated = z001
        .iter()
        .find(|f| f["file"] == "fixtures/azure/nsg-truncated.json")
        .expect("a Z001 for the truncated file");
    assert!(truncated["line"].as_u64().unwrap() > 1 && truncated["column"].as_u64().unwrap() >= 1);
    assert!(truncated["message"].as_str().unwrap().contains("truncated"));
    assert!(z001
        .iter()
        .any(|f| f["file"] == "fixtures/azure/nsg-bad-values.json"));
    assert!(
        v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["firewall"] == "fixtures/azure/zca-nsg-ok.arm.json"
                && f["status"] == "allowed")
    );
}

#[test]
fn every_azure_corpus_file_is_recognised_with_no_z001() {
    for e in std::fs::read_dir("fixtures/azure/corpus").unwrap() {
        let p = e.unwrap().path();
        let (v, code) = audit_json(&["--env", "azure", "--role", "zca", p.to_str().unwrap()]);
        assert_ne!(code, 2, "{}", p.display());
        assert_eq!(v["files"][0]["format"], "azure-nsg", "{}", p.display());
        assert!(
            findings(&v, "Z001").is_empty(),
            "{}: {:#}",
            p.display(),
            v["findings"]
        );
    }
}

#[test]
fn sg_opening_9669_to_the_world_is_z201_at_that_range() {
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zvm",
        "fixtures/aws/zca-sg-9669-open.json",
    ]);
    assert_eq!(code, 0, "Z201 is a warning");
    assert_eq!(v["files"][0]["format"], "aws-security-groups");
    let z201 = findings(&v, "Z201");
    assert_eq!(z201.len(), 1);
    assert!(z201[0]["message"].as_str().unwrap().contains("tcp/9669"));
    assert_eq!(z201[0]["line"], 81, "the IpRanges object with 0.0.0.0/0");
    // the fix hint speaks AWS, not iptables
    assert!(!z201[0]["help"].as_str().unwrap().contains("-j ACCEPT"));
}

#[test]
fn sg_missing_4008_blocks_the_vra_flow_of_a_zca() {
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/zca-sg-missing-4008.json",
    ]);
    assert_eq!(code, 1);
    let f = flow(&v, "aws.vra-vra-4008", "inbound");
    assert_eq!(f["status"], "blocked");
    assert!(
        f["deciding"][0]["rule"]
            .as_str()
            .unwrap()
            .contains("implicit deny"),
        "{:#}",
        f["deciding"]
    );
    let z101 = findings(&v, "Z101");
    assert_eq!(z101.len(), 1);
    assert!(
        z101[0]["help"]
            .as_str()
            .unwrap()
            .contains("aws ec2 authorize-security-group-ingress"),
        "{:#}",
        z101[0]
    );
    // 4007 is there
    assert_eq!(flow(&v, "aws.vra-vra-4007", "inbound")["status"], "allowed");
}

#[test]
fn a_referenced_group_resolves_through_the_inventory_names() {
    // unresolved: the rule allowing the other group is undecidable
    let (v, _) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/zca-sg-referencing.json",
    ]);
    assert!(!findings(&v, "Z002").is_empty());
    // resolved with --address: decided
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/aws/zca-sg-referencing.json").unwrap(),
    )
    .unwrap();
    let ids: Vec<String> = doc["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupId"].as_str().unwrap().to_string())
        .collect();
    let args: Vec<String> = ids.iter().map(|id| format!("{id}=10.20.0.0/16")).collect();
    let mut a = vec!["--env", "aws", "--role", "zca"];
    for x in &args {
        a.extend(["--address", x.as_str()]);
    }
    a.push("fixtures/aws/zca-sg-referencing.json");
    let (v, _) = audit_json(&a);
    assert!(findings(&v, "Z002").is_empty(), "{:#}", v["findings"]);
    assert!(v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] != "unknown"));
}

#[test]
fn nacl_without_a_return_path_is_reported_precisely() {
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/nacl-no-return-path.json",
    ]);
    assert_eq!(code, 1);
    let f = flow(&v, "aws.zvm-vra-4005", "inbound");
    assert_ne!(f["status"], "allowed");
    let rp = f["return_path"].as_str().expect("a return_path note");
    assert!(
        rp.contains("1024-65535") && rp.contains("/Outbound"),
        "{rp}"
    );
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["requirement"] == "aws.zvm-vra-4005")
        .unwrap();
    assert!(finding["message"].as_str().unwrap().contains("stateless"));
    assert!(finding["help"]
        .as_str()
        .unwrap()
        .contains("network ACL is stateless"));
}

#[test]
fn cloudformation_yaml_is_read_with_spans_and_unresolved_parameters() {
    let (v, _) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/cfn-zca-sg.yaml",
    ]);
    assert_eq!(v["files"][0]["format"], "aws-cloudformation");
    let z002 = findings(&v, "Z002");
    assert!(
        z002.iter()
            .any(|f| f["message"].as_str().unwrap().contains("AdminCidr")),
        "{z002:#?}"
    );
    assert!(z002.iter().all(|f| f["line"].as_u64().unwrap_or(0) > 1));
}

#[test]
fn truncated_sg_json_is_z001_and_the_rest_of_the_run_goes_on() {
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/sg-truncated.json",
        "fixtures/aws/sg-bad-values.json",
        "fixtures/aws/zca-sg-missing-4008.json",
    ]);
    assert_eq!(code, 1);
    let z001 = findings(&v, "Z001");
    let t = z001
        .iter()
        .find(|f| f["file"] == "fixtures/aws/sg-truncated.json")
        .unwrap();
    assert!(t["line"].as_u64().unwrap() > 1);
    let bad: Vec<_> = z001
        .iter()
        .filter(|f| f["file"] == "fixtures/aws/sg-bad-values.json")
        .collect();
    assert!(bad.len() >= 3, "{bad:#?}");
    assert!(bad.iter().all(|f| f["line"].as_u64().unwrap() > 1));
    assert_eq!(flow(&v, "aws.vra-vra-4007", "inbound")["status"], "allowed");
}

#[test]
fn every_aws_corpus_file_is_recognised_with_no_z001() {
    for e in std::fs::read_dir("fixtures/aws/corpus").unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().contains("terraform") {
            continue; // Terraform plans are their own format (tests in terraform)
        }
        let (v, code) = audit_json(&["--env", "aws", "--role", "zca", p.to_str().unwrap()]);
        assert_ne!(code, 2, "{}: {:#}", p.display(), v["findings"]);
        assert!(
            ["aws-security-groups", "aws-cloudformation"]
                .contains(&v["files"][0]["format"].as_str().unwrap()),
            "{}",
            p.display()
        );
        assert!(
            findings(&v, "Z001").is_empty(),
            "{}: {:#}",
            p.display(),
            v["findings"]
        );
    }
}

#[test]
fn terraform_plans_reach_cloud_rules_before_apply() {
    let (v, code) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/terraform/zca-aws-plan.json",
    ]);
    assert_eq!(
        code, 0,
        "only warnings: the plan lacks 9779, needed only with a ZSSP"
    );
    assert_eq!(v["files"][0]["format"], "terraform-plan");
    assert_eq!(
        flow(&v, "aws.zssp-zvm-9779", "inbound")["status"],
        "blocked"
    );
    let z201 = findings(&v, "Z201");
    assert_eq!(z201.len(), 1);
    assert!(z201[0]["message"].as_str().unwrap().contains("tcp/9669"));
    // 4008 comes from a separate aws_vpc_security_group_ingress_rule
    assert_eq!(flow(&v, "aws.vra-vra-4008", "inbound")["status"], "allowed");
    // the corpus plan: egress unknown at plan time is unknown, never "nothing"
    let (v, _) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/terraform/corpus/terraform-plan-aws_security_group-module-for_each.json",
    ]);
    assert!(findings(&v, "Z001").is_empty());
    let out443 = flow(&v, "aws.zvm-aws-services-443", "outbound");
    assert_eq!(out443["status"], "unknown");
    // Azure NSG in a plan: the deny at 100 decides 4007
    let (v, _) = audit_json(&[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/terraform/zca-azure-plan.json",
    ]);
    let f = flow(&v, "azure.vra-vra-4007", "inbound");
    assert_eq!(f["status"], "blocked");
    assert!(f["deciding"][0]["rule"]
        .as_str()
        .unwrap()
        .contains("(priority 100)"));
}

/// The same network ACL with the return entry AWS documents (egress, the peers' ephemeral ports
/// 1024-65535): the replies of the admitted peers get back and the inbound flow is allowed.
#[test]
fn nacl_with_a_return_path_for_the_admitted_peers_is_allowed() {
    let (v, _) = audit_json(&[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/nacl-with-return-path.json",
    ]);
    let f = flow(&v, "aws.zvm-vra-4005", "inbound");
    assert_eq!(f["status"], "allowed", "{f:#}");
    assert!(f["return_path"].is_null(), "{f:#}");
    assert!(!v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["requirement"] == "aws.zvm-vra-4005"
            && x["message"].as_str().unwrap().contains("inbound")));
}
