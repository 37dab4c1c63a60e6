//! NAT on the path (issue 15, item 3): the iptables nat table rewrites what later stages see. A
//! DNAT to another address takes the connection through FORWARD; a REDIRECT changes the port
//! filter INPUT sees; a translated required flow gets Z204 naming the NAT rule.

use super::{audit_json, status_lines};
use serde_json::Value;

const DIR: &str = "fixtures/iptables/nat";

fn audit(name: &str) -> Value {
    let path = format!("{DIR}/{name}");
    audit_json(&["--env", "vsphere", "--role", "zvm", &path]).0
}

/// The inbound flow record of `req`: its status and the lines of its deciding rules.
fn flow(j: &Value, req: &str) -> (String, Vec<u64>) {
    status_lines(j, req, "inbound")
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

#[test]
fn a_flow_translated_elsewhere_gets_no_fix_that_cannot_work() {
    // an allow rule for 9669 in INPUT or FORWARD would not admit what the DNAT makes of it:
    // no fix is proposed, and the finding says why
    let j = audit("dnat_forward_drop.rules");
    let f = j["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == ADMIN && f["direction"] == "inbound")
        .unwrap();
    assert!(f.get("fix").is_none(), "{f}");
    assert!(f["no_fix"].as_str().unwrap().contains("NAT"), "{f}");
    let z101 = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "Z101" && x["requirement"] == ADMIN)
        .unwrap();
    assert!(z101["help"].as_str().unwrap().contains("Z204"), "{z101}");
}

/// The outbound record of `req`: its status and the lines of its deciding rules.
fn outbound(j: &Value, req: &str) -> (String, Vec<u64>) {
    status_lines(j, req, "outbound")
}

#[test]
fn masquerade_on_the_uplink_is_named_on_outbound_flows_and_decides_nothing() {
    // nat POSTROUTING runs after filter OUTPUT: the ZVM's connection to vCenter on 443 is let
    // out by filter/OUTPUT #3 (line 20), not by the MASQUERADE (line 7); its replies come back
    // ESTABLISHED (line 15). Inbound 9669 is accepted by filter/INPUT #3 (line 17); the nat
    // stages it passes translate nothing
    let quick = audit("masquerade_uplink.rules");
    let eth0 = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--interface",
        "eth0",
        &format!("{DIR}/masquerade_uplink.rules"),
    ])
    .0;
    for j in [&quick, &eth0] {
        assert_eq!(
            outbound(j, "vsphere.zvm-vcenter-443"),
            ("allowed".into(), vec![20])
        );
        assert_eq!(flow(j, ADMIN), ("allowed".into(), vec![17]));
        assert!(z204(j, ADMIN).is_empty());
    }
    // which interface the ZVM's traffic leaves by is not known in quick mode: the `-o eth0`
    // masquerade may or may not apply, and is not reported; with `--interface eth0` it applies
    // to every packet of the flow, and Z204 names it
    assert!(z204(&quick, "vsphere.zvm-vcenter-443").is_empty());
    assert_eq!(z204(&eth0, "vsphere.zvm-vcenter-443"), vec![vec![7]]);
    let msg = eth0["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "Z204" && f["requirement"] == "vsphere.zvm-vcenter-443")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("masquerades its source"), "{msg}");
}

/// `portolan query`'s trace of one connection to 9669: (event, line) of every step.
fn query_trace(file: &str, state: &str) -> (String, Vec<(String, Option<u64>)>) {
    let out = super::portolan()
        .args([
            "query",
            &format!("{DIR}/{file}"),
            "--from",
            "203.0.113.5",
            "--to",
            "192.0.2.10",
            "--port",
            "9669/tcp",
            "--state",
            state,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let piece = &v["results"][0]["pieces"][0];
    let steps = piece["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["event"].as_str().unwrap().to_string(), t["line"].as_u64()))
        .collect();
    (piece["verdict"].as_str().unwrap().to_string(), steps)
}

#[test]
fn query_follows_the_translation_and_skips_nat_for_established_packets() {
    // NEW: the DNAT (line 10) sends the packet through FORWARD, whose policy (line 16) drops it;
    // INPUT's accept of 9669 (line 20) is never on its way
    let (verdict, steps) = query_trace("dnat_forward_drop.rules", "new");
    assert_eq!(verdict, "deny");
    assert!(steps.contains(&("match".into(), Some(10))), "{steps:?}");
    assert_eq!(
        steps.last(),
        Some(&("policy".into(), Some(16))),
        "{steps:?}"
    );
    assert!(!steps.iter().any(|(_, l)| *l == Some(20)), "{steps:?}");
    // REDIRECT to 8443: filter INPUT sees 8443, accepted by line 20
    let (verdict, steps) = query_trace("redirect_input_8443.rules", "new");
    assert_eq!(verdict, "allow");
    assert!(steps.contains(&("match".into(), Some(20))), "{steps:?}");
    // an ESTABLISHED packet never meets the nat table: INPUT's first rule (line 18) takes it
    let (verdict, steps) = query_trace("dnat_forward_drop.rules", "established");
    assert_eq!(verdict, "allow");
    assert!(steps.iter().any(|(e, _)| e == "skipped"), "{steps:?}");
    assert!(!steps.iter().any(|(_, l)| *l == Some(10)), "{steps:?}");
    assert!(steps.contains(&("match".into(), Some(18))), "{steps:?}");
}
