//! A flow is a connection's opening packet: NEW, from the clients' ephemeral ports, to the host's
//! own addresses (issue 15, items 1 and 4). Quick mode, iptables fixtures under
//! `fixtures/iptables/connection/`.

use super::{audit_json, findings, flow};

const GUI: &str = "vsphere.admin-client-zvm-9669";

/// The 9669 flow's status and its deciding (line, rule, action), audited with `extra` options.
fn gui(fixture: &str, extra: &[&str]) -> (String, Vec<(u64, String, String)>, serde_json::Value) {
    let path = format!("fixtures/iptables/connection/{fixture}");
    let mut args = vec!["--env", "vsphere", "--role", "zvm"];
    args.extend_from_slice(extra);
    args.push(&path);
    let (v, _) = audit_json(&args);
    let f = flow(&v, GUI, "inbound");
    let deciding = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["rule"].as_str().unwrap().to_string(),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (f["status"].as_str().unwrap().to_string(), deciding, v)
}

fn policy_drop() -> Vec<(u64, String, String)> {
    vec![(3, "filter/INPUT policy".into(), "drop".into())]
}

fn accept_line_7() -> Vec<(u64, String, String)> {
    vec![(7, "filter/INPUT #2".into(), "accept".into())]
}

#[test]
fn an_accept_to_loopback_does_not_admit_peers() {
    let (status, deciding, v) = gui("loopback-accept.rules", &[]);
    assert_eq!(status, "blocked");
    assert_eq!(deciding, policy_drop());
    assert!(
        findings(&v, "Z201").is_empty(),
        "{:#?}",
        findings(&v, "Z201")
    );
}

#[test]
fn an_accept_to_multicast_does_not_admit_peers() {
    let (status, deciding, v) = gui("multicast-accept.rules", &[]);
    assert_eq!(status, "blocked");
    assert_eq!(deciding, policy_drop());
    assert!(
        findings(&v, "Z201").is_empty(),
        "{:#?}",
        findings(&v, "Z201")
    );
}

#[test]
fn an_accept_from_source_port_80_does_not_admit_a_new_connection() {
    let (status, deciding, _) = gui("sport-80.rules", &[]);
    assert_eq!(status, "blocked");
    assert_eq!(deciding, policy_drop());
}

#[test]
fn an_accept_from_the_ephemeral_ports_admits_it() {
    let (status, deciding, _) = gui("sport-ephemeral.rules", &[]);
    assert_eq!(status, "allowed");
    assert_eq!(deciding, accept_line_7());
}

#[test]
fn the_ephemeral_ports_fact_narrows_the_client_ports() {
    // 1024-30000 holds some of the default 1024-65535: allowed (quick mode: some packet passes)
    let (status, deciding, _) = gui("sport-1024-30000.rules", &[]);
    assert_eq!(status, "allowed");
    assert_eq!(
        deciding,
        [accept_line_7(), policy_drop()].concat(),
        "the accept and, for 30001-65535, the policy"
    );
    // Linux's default range lies wholly above 30000
    let (status, deciding, _) = gui(
        "sport-1024-30000.rules",
        &["--set", "ephemeral_ports=32768-60999"],
    );
    assert_eq!(status, "blocked");
    assert_eq!(deciding, policy_drop());
}

#[test]
fn a_malformed_ephemeral_ports_fact_is_bad_usage() {
    let out = super::portolan()
        .args(["audit", "--env", "vsphere", "--role", "zvm"])
        .args(["--set", "ephemeral_ports=many"])
        .arg("fixtures/iptables/connection/sport-80.rules")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ephemeral_ports"));
}

#[test]
fn host_address_pins_the_destination() {
    let pin = ["--host-address", "10.10.0.10"];
    let (status, deciding, _) = gui("host-address-other.rules", &pin);
    assert_eq!(status, "blocked");
    assert_eq!(deciding, policy_drop());
    let (status, deciding, _) = gui("host-address-own.rules", &pin);
    assert_eq!(status, "allowed");
    assert_eq!(deciding, accept_line_7());
    // without it, 10.10.0.11 may be the host's address (quick mode)
    let (status, _, _) = gui("host-address-other.rules", &[]);
    assert_eq!(status, "allowed");
}

#[test]
fn a_bad_host_address_is_bad_usage() {
    let out = super::portolan()
        .args(["audit", "--env", "vsphere", "--role", "zvm"])
        .args(["--host-address", "10.0.0.300"])
        .arg("fixtures/iptables/connection/sport-80.rules")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--host-address"));
}

#[test]
fn addrtype_dst_local_on_input_is_decided() {
    let (status, deciding, v) = gui("addrtype-local.rules", &[]);
    assert_eq!(status, "allowed");
    assert_eq!(deciding, accept_line_7());
    assert!(flow(&v, GUI, "inbound").get("unknown_reasons").is_none());
    assert!(
        findings(&v, "Z002").is_empty(),
        "{:#?}",
        findings(&v, "Z002")
    );
}

#[test]
fn addrtype_dst_local_in_a_user_chain_stays_undecidable() {
    // a user chain may be jumped to from any hook: LOCAL is not decided there
    let (status, _, v) = gui("addrtype-user-chain.rules", &[]);
    assert_eq!(status, "unknown");
    let reasons = flow(&v, GUI, "inbound")["unknown_reasons"].to_string();
    assert!(reasons.contains("addrtype"), "{reasons}");
}
