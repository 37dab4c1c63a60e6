//! Connection states exactly: `NOTRACK` and `CT --notrack` in raw make the packets they match
//! UNTRACKED for every later stage, so a `--ctstate NEW` accept no longer admits them and an
//! `UNTRACKED` accept (`-m conntrack` or `-m state`) does.

use super::{audit_json, flow, verdict};

const GUI: &str = "vsphere.admin-client-zvm-9669";
const PAIRING: &str = "vsphere.zvm-zvm-9081";

fn quick(file: &str) -> serde_json::Value {
    audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        &format!("fixtures/iptables/conntrack/{file}"),
    ])
    .0
}

fn decided(line: u64, rule: &str, action: &str) -> Vec<(u64, String, String)> {
    vec![(line, rule.to_string(), action.to_string())]
}

/// 9081 is accepted by its NEW rule (line 15) in every fixture: NOTRACK of 9669 leaves it alone.
fn pairing_unaffected(v: &serde_json::Value) {
    assert_eq!(
        verdict(v, PAIRING),
        ("allowed".into(), decided(15, "filter/INPUT #3", "accept"))
    );
}

#[test]
fn notrack_before_a_new_accept_blocks_the_flow_at_the_input_policy() {
    let v = quick("notrack-9669.rules");
    assert_eq!(
        verdict(&v, GUI),
        ("blocked".into(), decided(10, "filter/INPUT policy", "drop"))
    );
    assert_eq!(
        flow(&v, GUI, "inbound")["allowed_sources"],
        serde_json::json!([])
    );
    pairing_unaffected(&v);
}

#[test]
fn ct_notrack_before_a_new_accept_blocks_the_flow_at_the_input_policy() {
    let v = quick("ct-notrack-9669.rules");
    assert_eq!(
        verdict(&v, GUI),
        ("blocked".into(), decided(10, "filter/INPUT policy", "drop"))
    );
    pairing_unaffected(&v);
}

#[test]
fn an_untracked_accept_admits_the_notracked_flow() {
    let v = quick("notrack-9669-untracked-accepted.rules");
    assert_eq!(
        verdict(&v, GUI),
        ("allowed".into(), decided(17, "filter/INPUT #5", "accept"))
    );
    pairing_unaffected(&v);
}

#[test]
fn a_state_module_untracked_accept_admits_the_ct_notracked_flow() {
    let v = quick("ct-notrack-9669-state-untracked-accepted.rules");
    assert_eq!(
        verdict(&v, GUI),
        ("allowed".into(), decided(17, "filter/INPUT #5", "accept"))
    );
    pairing_unaffected(&v);
}

#[test]
fn notrack_of_udp_leaves_the_tcp_flow_new() {
    let v = quick("notrack-udp-9669.rules");
    assert_eq!(
        verdict(&v, GUI),
        ("allowed".into(), decided(16, "filter/INPUT #4", "accept"))
    );
    pairing_unaffected(&v);
}

/// A NOTRACKed request leaves no conntrack entry: its replies are NEW (later segments, picked up
/// mid-stream) or INVALID (the SYN-ACK), never ESTABLISHED, so an OUTPUT chain that only accepts
/// `RELATED,ESTABLISHED` drops them and the connection fails (`model::conntrack`).
#[test]
fn the_replies_of_a_notracked_request_are_not_established() {
    let v = quick("notrack-9669-output-established-only.rules");
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["requirement"] == "vsphere.admin-client-zvm-9669" && f["direction"] == "inbound"
        })
        .unwrap();
    assert_eq!(f["status"], "blocked", "{f:#}");
    let lines: Vec<u64> = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    // admitted UNTRACKED by INPUT (line 16), dropped coming back by OUTPUT's policy (line 12)
    assert_eq!(lines, vec![16, 12]);
    assert!(f["return_path"]
        .as_str()
        .unwrap()
        .contains("NEW or INVALID, the request being untracked"));
    pairing_unaffected(&v);
}

/// NOTRACK both ways (raw PREROUTING for the request, raw OUTPUT for the replies) and UNTRACKED
/// accepted both ways: the connection works.
#[test]
fn notrack_both_ways_with_untracked_accepts_is_allowed() {
    let v = quick("notrack-both-ways-untracked-accepted.rules");
    let (status, _) = verdict(&v, "vsphere.admin-client-zvm-9669");
    assert_eq!(status, "allowed");
}
