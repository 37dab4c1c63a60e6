//! Issue 17, Azure part: every file of `fixtures/real2/azure/` (real exports, copied byte for
//! byte from the shared corpus) and hand-made fixtures in `fixtures/real2/azure/hand/` shaped as
//! `az network nsg show` and the portal's ARM export print them.
//!
//! How the expected verdicts were worked out by hand, from Azure's documentation of NSGs:
//! - rules are processed by priority, lowest number first, per direction; the first rule that
//!   matches ends processing;
//! - every NSG ends with the defaults AllowVnetInBound (65000: VirtualNetwork → VirtualNetwork),
//!   AllowAzureLoadBalancerInBound (65001: AzureLoadBalancer → any), DenyAllInBound (65500), and
//!   outbound AllowVnetOutBound (65000), AllowInternetOutBound (65001: any → Internet),
//!   DenyAllOutBound (65500);
//! - "Azure load balancer health probes originate from 168.63.129.16": that is what the
//!   AzureLoadBalancer tag stands for, and no Zerto peer has that address;
//! - VirtualNetwork, Internet and tags such as CorpNetPublic depend on the deployment: unknown
//!   unless `--address` (or the inventory) gives them;
//! - a child `Microsoft.Network/networkSecurityGroups/securityRules` resource with the name of an
//!   inline rule is that same rule (Azure refuses two rules of one name in one NSG);
//! - a deployment's parameters file (`"parameters": {"x": {"value": ...}}`) wins over the
//!   template's `defaultValue`.
//!
//! Quick mode (`--env azure --role zca`): peers are any address, a flow is allowed when some
//! peer gets through, and the ZCA plays the ZVM and the VRA.

use super::{audit_json, findings, flow, portolan};

const AZ104: &str = "fixtures/real2/azure/az104-portal-export-template-duplicated-rules.json";
const GROUPER: &str = "fixtures/real2/azure/grouper-az-network-nsg-list-corpnet-tags.json";
const CLOSED: &str = "fixtures/real2/azure/hand/nsg-show-closed.json";
const STAR_PAIR: &str = "fixtures/real2/azure/hand/nsg-show-star-pair.json";
const ARM_DEFAULTS: &str = "fixtures/real2/azure/hand/arm-defaults.json";
const ARM_WITH_PARAMS: &str = "fixtures/real2/azure/hand/arm-params/azuredeploy.json";
const PARAMS_ALONE: &str = "fixtures/real2/azure/hand/arm-params/azuredeploy.parameters.json";

fn quick(extra: &[&str], file: &str) -> (serde_json::Value, i32) {
    let mut args = vec!["--env", "azure", "--role", "zca"];
    args.extend_from_slice(extra);
    args.push(file);
    audit_json(&args)
}

fn rules_of(f: &serde_json::Value) -> Vec<String> {
    f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

fn messages(v: &serde_json::Value, code: &str) -> Vec<String> {
    findings(v, code)
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_real2_azure_file_is_an_nsg_export_with_no_z001() {
    let mut seen = 0;
    for e in std::fs::read_dir("fixtures/real2/azure").unwrap() {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue;
        }
        seen += 1;
        let (v, _) = quick(&[], p.to_str().unwrap());
        assert_eq!(v["files"][0]["format"], "azure-nsg", "{}", p.display());
        assert!(findings(&v, "Z001").is_empty(), "{}: {v:#}", p.display());
        assert!(findings(&v, "Z003").is_empty(), "{}", p.display());
    }
    assert_eq!(seen, 2);
}

// ---- class 9: the portal export's duplicated rules are one rule each --------------------------

#[test]
fn portal_export_inline_and_child_copies_are_one_rule() {
    let (v, _) = quick(&[], AZ104);
    // one NSG (its name from the parameter's default), no rule judged against its own copy
    assert_eq!(
        v["files"][0]["policies"],
        serde_json::json!(["lx-u1-nsg/Inbound", "lx-u1-nsg/Outbound"])
    );
    assert!(
        findings(&v, "Z301").is_empty(),
        "{:?}",
        messages(&v, "Z301")
    );
    assert!(
        findings(&v, "Z302").is_empty(),
        "{:?}",
        messages(&v, "Z302")
    );
    // SSH (300, tcp/22) and HTTP (320, tcp/80) do not match 9080: the defaults decide, and
    // AllowVnetInBound depends on the VirtualNetwork tag
    let f = flow(&v, "azure.admin-client-zvm-9080", "inbound");
    assert_eq!(f["status"], "unknown");
    // class 6 on a real file: the only parameter names the NSG, which decides no verdict
    for fl in v["flows"].as_array().unwrap() {
        assert!(!rules_of(fl).iter().any(|r| r.contains("assumes parameter")));
    }
    // class 7: with the VNet given, the health-probe address 168.63.129.16 (allowed by
    // AllowAzureLoadBalancerInBound on every port) is not taken for a peer
    let (v, code) = quick(
        &[
            "--address",
            "VirtualNetwork=10.1.0.0/16",
            "--address",
            "Internet=8.0.0.0/8",
        ],
        AZ104,
    );
    let f = flow(&v, "azure.admin-client-zvm-9080", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.1.0.0/16"]));
    assert_eq!(
        rules_of(f)[0],
        "lx-u1-nsg/AllowVnetInBound (priority 65000) (default rule, not in the export)"
    );
    // 7073 is open to the VNet by AllowVnetInBound (true in Azure), but not "from 168.63.129.16"
    let z202 = messages(&v, "Z202");
    assert_eq!(z202.len(), 1, "{z202:?}");
    assert!(z202[0].ends_with("reachable from 10.1.0.0/16"), "{z202:?}");
    assert_eq!(code, 1);
}

// ---- class 9: a 151 KB `az network nsg list` -------------------------------------------------

#[test]
fn nsg_list_flows_name_their_nsg_and_the_human_report_is_grouped() {
    let (v, _) = quick(&[], GROUPER);
    assert_eq!(
        v["files"][0]["policies"].as_array().unwrap().len(),
        26,
        "13 NSGs"
    );
    assert_eq!(v["flows"].as_array().unwrap().len(), 13 * 30);
    // ssr-arcus-nsg: HTTPs (1020, Tcp any → any 443) admits 443 from any address
    let ssr: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["policy"] == "ssr-arcus-nsg/Inbound")
        .collect();
    let rest = ssr
        .iter()
        .find(|f| f["requirement"] == "azure.zvm-azure-rest-443-install")
        .unwrap();
    assert_eq!(rest["status"], "allowed");
    assert_eq!(rules_of(rest)[0], "ssr-arcus-nsg/HTTPs (priority 1020)");
    // no Z202 from the health-probe address on any of the 13 NSGs
    assert!(
        findings(&v, "Z202").is_empty(),
        "{:?}",
        messages(&v, "Z202")
    );

    let out = portolan()
        .args(["audit", "--env", "azure", "--role", "zca", GROUPER])
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    let lines = human.lines().count();
    assert!(lines < 2500, "{lines} lines");
    // one line per NSG with its counts, each NSG once
    for nsg in [
        "dev-vnet-AGSubnet-nsg-eastus",
        "ssr-arcus-nsg",
        "win10-vs-nsg",
    ] {
        let header = format!("  {nsg}: 30 flows:");
        assert_eq!(
            human.lines().filter(|l| l.starts_with(&header)).count(),
            1,
            "{nsg}"
        );
    }
}

// ---- class 7: service tags, a deny before the defaults, a closed NSG -------------------------

#[test]
fn corpnet_tags_stay_unknown_on_a_real_list() {
    let (v, _) = quick(&[], GROUPER);
    // dev-vnet-default-nsg-eastus: AllowCorpnet (2700, CorpNetPublic, all ports) comes first for
    // 9669: whether the admin client is in CorpNetPublic is not in the export
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["policy"] == "dev-vnet-default-nsg-eastus/Inbound"
                && f["requirement"] == "azure.admin-client-zvm-9669"
        })
        .unwrap();
    assert_eq!(f["status"], "unknown");
    assert_eq!(
        rules_of(f)[0],
        "dev-vnet-default-nsg-eastus/AllowCorpnet (priority 2700)"
    );
    let reasons = f["unknown_reasons"].to_string();
    assert!(reasons.contains("CorpNetPublic"), "{reasons}");
    assert!(!reasons.contains("AzureLoadBalancer"), "{reasons}");
}

#[test]
fn a_closed_nsg_is_blocked_and_the_unknown_tag_after_the_deny_changes_nothing() {
    // inbound: DenyAllInboundCustom (100, any) before AllowCorpNet (2700, CorpNetPublic) and the
    // defaults; outbound: DenyAllOutboundCustom (4096) before the defaults
    let (v, code) = quick(&[], CLOSED);
    assert_eq!(v["summary"]["flows"]["blocked"], 30);
    assert_eq!(v["summary"]["flows"]["unknown"], 0);
    let f = flow(&v, "azure.zvm-zvm-9081", "inbound");
    assert_eq!(
        rules_of(f),
        ["zca-nsg-closed/DenyAllInboundCustom (priority 100)"]
    );
    let f = flow(&v, "azure.zvm-zvm-9081", "outbound");
    assert_eq!(
        rules_of(f),
        ["zca-nsg-closed/DenyAllOutboundCustom (priority 4096)"]
    );
    assert_eq!(code, 1, "blocked flows are errors");
    let z301 = messages(&v, "Z301");
    assert!(
        z301.iter()
            .any(|m| m.starts_with("zca-nsg-closed/AllowCorpNet (priority 2700) can never match")),
        "{z301:?}"
    );
}

#[test]
fn azure_load_balancer_is_the_probe_address_unless_given() {
    // AllowLbProbe (400) denies AzureLoadBalancer: decided (168.63.129.16), no Z002 for it
    let (v, _) = quick(&[], STAR_PAIR);
    assert!(!messages(&v, "Z002")
        .iter()
        .any(|m| m.contains("AzureLoadBalancer")));
    // given otherwise, the given address counts
    let (v, _) = quick(&["--address", "AzureLoadBalancer=10.99.0.0/16"], STAR_PAIR);
    assert!(!messages(&v, "Z002")
        .iter()
        .any(|m| m.contains("AzureLoadBalancer")));
}

// ---- class 8: protocol "*" rules are judged like Tcp ones -----------------------------------

#[test]
fn any_protocol_rule_covered_by_an_earlier_one_is_shadowed_like_its_tcp_twin() {
    // AllowZertoStar (200, *, 10.10.0.0/16, 4005-4009) covers AllowZertoStarAgain (210, *,
    // 10.10.1.0/24, 4007) whatever Azure does with ports on ICMP; AllowZertoTcp (300) and
    // AllowZertoTcpAgain (310) are the same pair with Tcp
    let (v, _) = quick(&[], STAR_PAIR);
    let z301 = messages(&v, "Z301");
    assert!(
        z301.iter().any(|m| m.starts_with(
            "zca-nsg-star-pair/AllowZertoStarAgain (priority 210) can never match: everything it matches is taken by zca-nsg-star-pair/AllowZertoStar (priority 200)"
        )),
        "{z301:?}"
    );
    assert!(
        z301.iter()
            .any(|m| m.starts_with("zca-nsg-star-pair/AllowZertoTcpAgain (priority 310)")),
        "{z301:?}"
    );
    // the first of each pair is not shadowed
    assert!(!z301
        .iter()
        .any(|m| m.starts_with("zca-nsg-star-pair/AllowZertoStar (")));
}

#[test]
fn real_list_any_protocol_rules_are_judged() {
    // devvnet259-default-nsg-eastus2: AllowAnyCustom5005Inbound (1001) takes the 5005 rules
    // after it; win10-vs-nsg: Port_8080 (310) takes SQL (320)
    let (v, _) = quick(&[], GROUPER);
    let z301 = messages(&v, "Z301");
    for shadowed in [
        "devvnet259-default-nsg-eastus2/AllowMyIpAddressCustom5005Inbound (priority 2781)",
        "devvnet259-default-nsg-eastus2/Allow5005 (priority 2802)",
        "win10-vs-nsg/SQL (priority 320)",
    ] {
        assert!(
            z301.iter().any(|m| m.starts_with(shadowed)),
            "{shadowed}: {z301:?}"
        );
    }
}

// ---- class 6: ARM parameters ------------------------------------------------------------------

#[test]
fn a_verdict_from_a_parameter_default_says_so_on_every_flow_it_decides() {
    let (v, _) = quick(&[], ARM_DEFAULTS);
    // AllowZertoFromPeers (200) admits 4005-4009 from zertoPeers' default 10.20.0.0/16
    for req in ["azure.zvm-vra-4005", "azure.zvm-vra-4009"] {
        let f = flow(&v, req, "inbound");
        assert_eq!(f["status"], "allowed", "{req}");
        assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.0.0/16"]));
        assert!(
            rules_of(f)[0].contains("[assumes parameter default `zertoPeers` = `10.20.0.0/16`"),
            "{:?}",
            rules_of(f)
        );
    }
    // DenyZvmPairingFromAnywhere (100) denies blockedPort's default 9081
    let f = flow(&v, "azure.zvm-zvm-9081", "inbound");
    assert_eq!(f["status"], "blocked");
    assert!(rules_of(f)[0].contains("`blockedPort` = `9081`"));
    let z101 = messages(&v, "Z101");
    assert!(z101.iter().any(|m| m.contains("`blockedPort` = `9081`")));
    let z002 = messages(&v, "Z002");
    assert!(z002
        .iter()
        .any(|m| m.contains("uses the defaultValue of ARM parameter `zertoPeers`")));
}

#[test]
fn the_parameters_file_beside_the_template_wins_over_the_defaults() {
    // the same template with azuredeploy.parameters.json beside it: zertoPeers 192.168.40.0/24,
    // vraPorts 4005-4008, blockedPort 9999
    let (v, _) = quick(&[], ARM_WITH_PARAMS);
    let f = flow(&v, "azure.zvm-vra-4005", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(f["allowed_sources"], serde_json::json!(["192.168.40.0/24"]));
    assert_eq!(rules_of(f)[0], "zca-nsg/AllowZertoFromPeers (priority 200)");
    // 4009 is no longer in the rule: the defaults decide (VirtualNetwork unknown)
    assert_eq!(
        flow(&v, "azure.zvm-vra-4009", "inbound")["status"],
        "unknown"
    );
    // 9081 is no longer denied at 100: AllowZvmPairingFromPeers (300) admits it
    let f = flow(&v, "azure.zvm-zvm-9081", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(
        rules_of(f)[0],
        "zca-nsg/AllowZvmPairingFromPeers (priority 300)"
    );
    assert!(!v.to_string().contains("assumes parameter"));
}

/// Class 6, "a parameters file when one is given": `--arm-parameters FILE` names the
/// deployment's parameters file wherever it is and whatever its name (the same template as
/// above, without a file beside it): its values win, as with the file beside the template. A
/// missing file is bad usage (exit 2); as a fact, a Z001 on the template, the defaults assumed.
#[test]
fn a_parameters_file_given_on_the_command_line_wins_over_the_defaults() {
    let (v, _) = quick(&["--arm-parameters", PARAMS_ALONE], ARM_DEFAULTS);
    let f = flow(&v, "azure.zvm-vra-4005", "inbound");
    assert_eq!(f["allowed_sources"], serde_json::json!(["192.168.40.0/24"]));
    let f = flow(&v, "azure.zvm-zvm-9081", "inbound");
    assert_eq!(f["status"], "allowed");
    assert_eq!(
        rules_of(f)[0],
        "zca-nsg/AllowZvmPairingFromPeers (priority 300)"
    );
    assert!(!v.to_string().contains("assumes parameter"));
    // named on the command line with it, the parameters file is no input of its own
    let (v, _) = quick(&["--arm-parameters", PARAMS_ALONE], PARAMS_ALONE);
    assert!(findings(&v, "Z002").is_empty(), "{v:#}");

    let out = super::portolan()
        .args(["audit", "--env", "azure", "--role", "zca"])
        .args([
            "--arm-parameters",
            "no/such/prod.parameters.json",
            ARM_DEFAULTS,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--arm-parameters no/such/prod.parameters.json: no such file"));
    // the same as a fact, which an inventory may hold: a Z001 on the template, defaults assumed
    let (v, _) = quick(
        &["--set", "arm_parameters=no/such/prod.parameters.json"],
        ARM_DEFAULTS,
    );
    let z001 = messages(&v, "Z001");
    assert!(
        z001.iter()
            .any(|m| m.starts_with("cannot read the parameters file no/such/prod.parameters.json")),
        "{z001:?}"
    );
    assert!(
        rules_of(flow(&v, "azure.zvm-zvm-9081", "inbound"))[0].contains("`blockedPort` = `9081`")
    );
}

#[test]
fn a_parameters_file_alone_is_not_audited_as_a_template() {
    let (v, _) = quick(&[], PARAMS_ALONE);
    assert!(v["flows"].as_array().unwrap().is_empty());
    assert!(v["files"][0]["policies"].as_array().unwrap().is_empty());
    assert!(findings(&v, "Z001").is_empty() && findings(&v, "Z003").is_empty());
    // with its template beside it, nothing more is said about it
    assert!(findings(&v, "Z002").is_empty(), "{v:#}");
}

// ---- class 9: help text ------------------------------------------------------------------------

#[test]
fn nsg_help_never_gives_iptables_advice() {
    let (v, _) = quick(&["--address", "VirtualNetwork=10.1.0.0/16"], AZ104);
    for f in v["findings"].as_array().unwrap() {
        let help = f["help"].as_str().unwrap_or("");
        assert!(!help.contains("-i lo"), "{help}");
    }
    let z202 = findings(&v, "Z202");
    assert!(z202[0]["help"]
        .as_str()
        .unwrap()
        .contains("lower priority number"));
}
