//! Windows IPsec rules (issue 15, item 6): an allow that requires IPsec authentication admits
//! only IPsec-authenticated peers, and an authenticated bypass beats block rules ([MS-FASP]
//! 2.2.34 FW_RULE_ACTION). The fact `ipsec` decides both; without it they are unknown.

use super::audit_json;

const SECURE: &str = "fixtures/windows/ipsec/zvm-secure-9669.reg";
const BYPASS: &str = "fixtures/windows/ipsec/zvm-bypass-9081.ps.json";

/// (policy, status, deciding lines, unknown reasons) of one requirement's inbound flows.
fn flows(
    file: &str,
    requirement: &str,
    set: Option<&str>,
) -> Vec<(String, String, Vec<u64>, Vec<String>)> {
    let mut args = vec!["--env", "vsphere", "--role", "zvm"];
    if let Some(s) = set {
        args.extend(["--set", s]);
    }
    args.push(file);
    let (v, _) = audit_json(&args);
    let mut out: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["requirement"] == requirement && f["direction"] == "inbound")
        .map(|f| {
            (
                f["policy"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["deciding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["line"].as_u64().unwrap())
                    .collect(),
                f["unknown_reasons"]
                    .as_array()
                    .map(|a| a.iter().map(|r| r.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The line of each profile's `DefaultInboundAction` in the reg export.
const DEFAULTS: [(&str, u64); 3] = [
    ("Domain profile/Inbound", 5),
    ("Private profile/Inbound", 15),
    ("Public profile/Inbound", 10),
];
/// The `Security=Authenticate` allow of tcp/9669.
const SECURE_ALLOW_LINE: u64 = 20;

#[test]
fn a_secure_only_allow_is_unknown_until_the_fact_says_whether_peers_use_ipsec() {
    let got = flows(SECURE, "vsphere.admin-client-zvm-9669", None);
    assert_eq!(got.len(), 3, "one per profile: {got:?}");
    for ((policy, status, lines, reasons), (p, default)) in got.iter().zip(DEFAULTS) {
        assert_eq!(policy, p);
        assert_eq!(status, "unknown");
        assert_eq!(lines, &[SECURE_ALLOW_LINE, default]);
        assert_eq!(
            reasons,
            &["Zerto ZVM 9669 (IPsec only) in (allow): the rule admits only IPsec-authenticated connections; say whether the peers use IPsec with --set ipsec=true|false".to_string()]
        );
    }
}

#[test]
fn with_ipsec_true_the_secure_allow_admits_the_flow() {
    let got = flows(SECURE, "vsphere.admin-client-zvm-9669", Some("ipsec=true"));
    assert_eq!(got.len(), 3);
    for ((policy, status, lines, reasons), (p, _)) in got.iter().zip(DEFAULTS) {
        assert_eq!(policy, p);
        assert_eq!(status, "allowed");
        assert_eq!(lines, &[SECURE_ALLOW_LINE]);
        assert!(reasons.is_empty());
    }
}

#[test]
fn with_ipsec_false_the_secure_allow_matches_nothing_and_the_default_blocks() {
    let got = flows(SECURE, "vsphere.admin-client-zvm-9669", Some("ipsec=false"));
    assert_eq!(got.len(), 3);
    for ((policy, status, lines, _), (p, default)) in got.iter().zip(DEFAULTS) {
        assert_eq!(policy, p);
        assert_eq!(status, "blocked");
        assert_eq!(lines, &[default], "the profile default decides");
    }
}

/// The PowerShell export: the block rule's object starts on line 2, the bypass rule's
/// (`Action` 2 with `OverrideBlockRules` true and `Authentication` 1) on line 24.
const BLOCK_LINE: u64 = 2;
const BYPASS_LINE: u64 = 24;

#[test]
fn with_ipsec_true_the_authenticated_bypass_beats_the_block_rule() {
    let got = flows(BYPASS, "vsphere.zvm-zvm-9081", Some("ipsec=true"));
    assert_eq!(got.len(), 3, "one per profile: {got:?}");
    for (_, status, lines, _) in &got {
        assert_eq!(status, "allowed");
        assert_eq!(lines, &[BYPASS_LINE]);
    }
}

#[test]
fn with_ipsec_false_the_block_rule_decides() {
    let got = flows(BYPASS, "vsphere.zvm-zvm-9081", Some("ipsec=false"));
    assert_eq!(got.len(), 3);
    for (_, status, lines, _) in &got {
        assert_eq!(status, "blocked");
        assert_eq!(lines, &[BLOCK_LINE]);
    }
}

#[test]
fn without_the_fact_the_bypass_makes_the_flow_unknown() {
    let got = flows(BYPASS, "vsphere.zvm-zvm-9081", None);
    assert_eq!(got.len(), 3);
    for (_, status, lines, reasons) in &got {
        assert_eq!(status, "unknown");
        assert_eq!(lines, &[BYPASS_LINE, BLOCK_LINE]);
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].ends_with(portolan::formats::windows::IPSEC_REASON));
    }
}

#[test]
fn the_fact_may_be_spelled_yes_or_no() {
    let got = flows(BYPASS, "vsphere.zvm-zvm-9081", Some("ipsec=yes"));
    assert!(got.iter().all(|(_, s, _, _)| s == "allowed"), "{got:?}");
}
