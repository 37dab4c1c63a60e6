//! NAT on the path (issue 15, item 3): the iptables nat table rewrites what later stages see. A
//! DNAT to another address takes the connection through FORWARD; a REDIRECT changes the port
//! filter INPUT sees; a translated required flow gets Z204 naming the NAT rule.

use super::audit_json;
use serde_json::Value;

const DIR: &str = "fixtures/iptables/nat";

fn audit(name: &str) -> Value {
    let path = format!("{DIR}/{name}");
    audit_json(&["--env", "vsphere", "--role", "zvm", &path]).0
}

/// The inbound flow record of `req`: its status and the lines of its deciding rules.
fn flow(j: &Value, req: &str) -> (String, Vec<u64>) {
    let f = j["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == req && f["direction"] == "inbound")
        .unwrap_or_else(|| panic!("no inbound flow {req}"));
    let lines = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    (f["status"].as_str().unwrap().to_string(), lines)
}

/// The lines Z204 labels for `req`.
fn z204(j: &Value, req: &str) -> Vec<Vec<u64>> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z204" && f["requirement"] == req)
        .map(|f| {
            f["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["line"].as_u64().unwrap())
                .collect()
        })
        .collect()
}

const ADMIN: &str = "vsphere.admin-client-zvm-9669";

#[test]
fn dnat_to_a_container_is_decided_by_forward_not_input() {
    // INPUT accepts 9669 (line 20), but the DNAT (line 10) sends the connection to
    // 172.17.0.2:8443 through FORWARD, whose policy (line 16) drops it
    let j = audit("dnat_forward_drop.rules");
    assert_eq!(flow(&j, ADMIN), ("blocked".into(), vec![16]));
    assert_eq!(z204(&j, ADMIN), vec![vec![10]]);
    let msg = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "Z204" && f["requirement"] == ADMIN)
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("172.17.0.2:8443"), "{msg}");
}

#[test]
fn dnat_admitted_by_forward_for_the_rewritten_destination_is_allowed() {
    // FORWARD accepts `-d 172.17.0.2 --dport 8443` (line 23)
    let j = audit("dnat_forward_accept.rules");
    assert_eq!(flow(&j, ADMIN), ("allowed".into(), vec![23]));
    assert_eq!(z204(&j, ADMIN), vec![vec![10]]);
}

#[test]
fn redirect_changes_the_port_input_sees() {
    // REDIRECT 9669 -> 8443 (line 10): an INPUT accept of 9669 (line 20) no longer matches
    let j = audit("redirect_input_9669.rules");
    assert_eq!(flow(&j, ADMIN), ("blocked".into(), vec![15]));
    assert_eq!(z204(&j, ADMIN), vec![vec![10]]);
    // one of 8443 (line 20) does
    let j = audit("redirect_input_8443.rules");
    assert_eq!(flow(&j, ADMIN), ("allowed".into(), vec![20]));
    assert_eq!(z204(&j, ADMIN), vec![vec![10]]);
}

#[test]
fn flows_the_nat_rules_do_not_touch_keep_their_verdicts() {
    for name in [
        "dnat_forward_drop.rules",
        "dnat_forward_accept.rules",
        "redirect_input_9669.rules",
        "redirect_input_8443.rules",
    ] {
        let j = audit(name);
        // 9081 is accepted by filter/INPUT #4 (line 21), untranslated, with no Z204
        assert_eq!(
            flow(&j, "vsphere.zvm-zvm-9081"),
            ("allowed".into(), vec![21]),
            "{name}"
        );
        assert!(z204(&j, "vsphere.zvm-zvm-9081").is_empty(), "{name}");
    }
}

#[test]
fn dnat_to_an_address_of_the_host_stays_on_input() {
    // with `--host-address 172.17.0.2` the DNAT keeps the packets local: INPUT decides, and it
    // does not accept 8443 (its policy, line 15)
    let (j, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--host-address",
        "172.17.0.2/32",
        "fixtures/iptables/nat/dnat_forward_accept.rules",
    ]);
    assert_eq!(flow(&j, ADMIN), ("blocked".into(), vec![15]));
    assert_eq!(z204(&j, ADMIN), vec![vec![10]]);
}
