//! Reachability across chains (Z301): a rule no packet reaches because of what happens before
//! the jump or goto that leads to its chain.

use super::audit_json;

fn z301(path: &str) -> Vec<serde_json::Value> {
    let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", path]);
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z301")
        .cloned()
        .collect()
}

#[test]
fn a_user_chain_rule_behind_a_reject_before_the_goto_is_shadowed_naming_the_reject() {
    let f = z301("fixtures/iptables/reach/reject-before-goto.rules");
    let gui = f
        .iter()
        .find(|f| f["line"] == 11)
        .unwrap_or_else(|| panic!("ZERTO #1 (line 11) not reported: {f:#?}"));
    let m = gui["message"].as_str().unwrap();
    assert!(
        m.contains("filter/ZERTO #1") && m.contains("filter/INPUT #3"),
        "{m}"
    );
    // the REJECT on line 9 is labelled as what takes the packets
    let labels = gui["labels"].as_array().unwrap();
    assert!(
        labels
            .iter()
            .any(|l| l["line"] == 9 && l["text"].as_str().unwrap().contains("takes its packets")),
        "{labels:#?}"
    );
    // the goto sends only 10.0.0.0/8: a rule for 192.168.10.0/24 in ZERTO is never reached,
    // and the goto is named as the only way in
    let other = f
        .iter()
        .find(|f| f["line"] == 13)
        .expect("ZERTO #3 reported");
    assert!(other["message"]
        .as_str()
        .unwrap()
        .contains("filter/INPUT #4"));
    // the rule that is reached is not reported
    assert!(!f.iter().any(|f| f["line"] == 12), "{f:#?}");
    assert_eq!(f.len(), 2, "{f:#?}");
}

#[test]
fn a_chain_that_only_an_unreachable_jump_leads_to_is_reported_once_at_the_jump() {
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/reach/dead-jump.rules",
    ]);
    let lines: Vec<i64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z301")
        .map(|f| f["line"].as_i64().unwrap())
        .collect();
    // the jump on line 9 follows a rule dropping all TCP; the rules of its chain are not
    // reported one by one
    assert_eq!(lines, vec![9]);
}
