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
    assert!(z101[0]["message"].as_str().unwrap().contains("nsg-zca-nic"));
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
