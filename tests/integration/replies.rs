//! A flow is a connection: on an iptables host the replies are ESTABLISHED and must pass the
//! reverse hook's chains (issue 15, item 1, for iptables). `:OUTPUT DROP` with no ESTABLISHED
//! accept lets the request in and drops every reply: the kernel's connection tracking only
//! labels packets, the filter table still decides them.

use super::{audit_json, portolan};

const NO_EST: &str = "fixtures/iptables/replies/output-drop-no-established.rules";
const WITH_EST: &str = "fixtures/iptables/replies/output-drop-with-established.rules";

fn flow<'a>(v: &'a serde_json::Value, req: &str, dir: &str) -> &'a serde_json::Value {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == req && f["direction"] == dir)
        .unwrap_or_else(|| panic!("no {req} {dir}"))
}

#[test]
fn output_drop_without_established_blocks_inbound_flows_at_their_replies() {
    let (v, code) = audit_json(&["--env", "vsphere", "--role", "zvm", NO_EST]);
    assert_eq!(code, 1);
    let f = flow(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(f["status"], "blocked", "{f:#}");
    // the request is accepted by INPUT #3 (line 8); the replies die at OUTPUT's policy (line 5)
    let lines: Vec<i64> = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_i64().unwrap())
        .collect();
    assert!(lines.contains(&8) && lines.contains(&5), "{lines:?}");
    assert!(f["return_path"]
        .as_str()
        .unwrap()
        .contains("dropped by filter/OUTPUT policy"));
    let z101 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "Z101" && x["requirement"] == "vsphere.admin-client-zvm-9669")
        .expect("a Z101 for 9669");
    assert_eq!(z101["line"], 5, "labelled at `:OUTPUT DROP`: {z101:#}");
    assert!(z101["message"]
        .as_str()
        .unwrap()
        .contains("is let in, but its replies"));
    // flows the host opens: OUTPUT accepts their SYN (NEW) and INPUT their replies
    // (ESTABLISHED), but the host's own ACK and data after the SYN are ESTABLISHED too, and
    // OUTPUT's policy drops them: no connection works (conntrack(8); found by the kernel oracle,
    // issue 21)
    let out = flow(&v, "vsphere.zvm-vra-4005", "outbound");
    assert_eq!(out["status"], "blocked", "{out:#}");
    assert!(
        out["return_path"]
            .as_str()
            .unwrap()
            .contains("the client's later packets (tcp to port 4005: its ACK and data, ESTABLISHED once the server has answered) are dropped by filter/OUTPUT policy"),
        "{out:#}"
    );
    // the fix accepts exactly those, ESTABLISHED only
    assert_eq!(
        out["fix"]["lines"][0],
        "-A OUTPUT -d PEERS -p tcp -m tcp --dport 4005 -m conntrack --ctstate ESTABLISHED -m comment --comment \"portolan: vsphere.zvm-vra-4005 later packets\" -j ACCEPT"
    );
}

#[test]
fn an_established_accept_in_output_lets_the_replies_back() {
    let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", WITH_EST]);
    let f = flow(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(f["status"], "allowed", "{f:#}");
    assert!(f["return_path"].is_null());
}

#[test]
fn the_fix_accepts_exactly_the_replies_and_the_patched_file_passes() {
    let dir = super::cli::tempdir();
    let out = portolan()
        .args([
            "fix",
            "--include-conditional",
            "--env",
            "vsphere",
            "--role",
            "zvm",
        ])
        .args(["--format", "json"])
        .arg(NO_EST)
        .arg("--write-patched")
        .arg(&dir)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fix = v["files"][0]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["flow"]
                .as_str()
                .unwrap()
                .starts_with("vsphere.admin-client-zvm-9669 inbound")
        })
        .map(|f| &f["fix"])
        .expect("a fix for 9669");
    let line = fix["lines"][0].as_str().unwrap();
    assert!(
        line.starts_with("-A OUTPUT -d PEERS -p tcp -m tcp --sport 9669 --dport 1024:65535 -m conntrack --ctstate ESTABLISHED"),
        "{line}"
    );
    assert!(fix["note"]
        .as_str()
        .unwrap()
        .starts_with("`-d PEERS` is a placeholder"));
    // fill the placeholder with the peers the request admits and audit the patched copy: the
    // inbound flows' (their requests and later packets in INPUT, their replies in OUTPUT) come
    // from 10.0.0.0/8, the outbound ones' go anywhere
    let patched = dir.join("output-drop-no-established.rules");
    let text = std::fs::read_to_string(&patched).unwrap();
    let filled: String = text
        .lines()
        .map(|l| {
            let inbound = l.contains(" INPUT ") != l.contains(" replies\"");
            let peers = if inbound { "10.0.0.0/8" } else { "0.0.0.0/0" };
            format!("{}\n", l.replace("PEERS", peers))
        })
        .collect();
    std::fs::write(&patched, filled).unwrap();
    let (after, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        patched.to_str().unwrap(),
    ]);
    let (before, _) = audit_json(&["--env", "vsphere", "--role", "zvm", NO_EST]);
    for f in before["flows"].as_array().unwrap() {
        let (req, dir) = (
            f["requirement"].as_str().unwrap(),
            f["direction"].as_str().unwrap(),
        );
        let now = flow(&after, req, dir);
        // every blocked flow has a fix (its replies, or its request with PEERS filled in)
        if f["status"] == "blocked" {
            assert_eq!(now["status"], "allowed", "{req} {dir}: {now:#}");
        } else {
            assert_eq!(now["status"], f["status"], "{req} {dir} changed");
        }
    }
    let exposed = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "Z201" || f["code"] == "Z202")
            .count()
    };
    assert_eq!(exposed(&after), exposed(&before));
}

/// A quick-mode audit of `text` as a ZVM host at 192.168.1.1: the inbound flow of `req`.
fn inbound_of(text: &str, req: &str) -> serde_json::Value {
    let dir = super::cli::tempdir();
    let p = dir.join("host.rules");
    std::fs::write(&p, text).unwrap();
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--host-address",
        "192.168.1.1",
        p.to_str().unwrap(),
    ]);
    flow(&v, req, "inbound").clone()
}

/// The client's later packets (its ACK and data) are the request's packets as conntrack
/// translates them: after `REDIRECT --to-ports 9669` of port 4005, filter INPUT sees them on
/// 9669, ESTABLISHED (the nat table sees only a connection's first packet; conntrack(8),
/// iptables-extensions(8) `REDIRECT`). An ESTABLISHED accept for 9669 lets them in, one for
/// 4005 does not.
#[test]
fn later_packets_of_a_redirected_connection_are_seen_translated() {
    let text = |established_port: u16| {
        format!(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
             -A PREROUTING -p tcp -m tcp --dport 4005 -j REDIRECT --to-ports 9669\nCOMMIT\n\
             *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m tcp --dport 9669 -m conntrack --ctstate NEW -j ACCEPT\n\
             -A INPUT -p tcp -m tcp --dport {established_port} -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n"
        )
    };
    let f = inbound_of(&text(9669), "vsphere.zvm-vra-4005");
    assert_eq!(f["status"], "allowed", "{f:#}");
    let f = inbound_of(&text(4005), "vsphere.zvm-vra-4005");
    assert_eq!(f["status"], "blocked", "{f:#}");
    assert!(
        f["return_path"]
            .as_str()
            .unwrap()
            .contains("the client's later packets"),
        "{f:#}"
    );
}

/// A raw rule that NOTRACKs the server's replies (and not the requests) leaves the connection's
/// entry unanswered: the client's ACK meets an entry still in SYN_SENT, which conntrack calls
/// INVALID (nf_conntrack_proto_tcp.c's state table), so INPUT must accept INVALID for the
/// connection to work.
#[test]
fn a_notracked_reply_leaves_the_clients_ack_invalid() {
    let text = |states: &str| {
        format!(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A OUTPUT -p tcp -m tcp --sport 9669 -j NOTRACK\nCOMMIT\n\
             *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m tcp --dport 9669 -m conntrack --ctstate {states} -j ACCEPT\nCOMMIT\n"
        )
    };
    let f = inbound_of(&text("NEW,ESTABLISHED"), "vsphere.admin-client-zvm-9669");
    assert_eq!(f["status"], "blocked", "{f:#}");
    let f = inbound_of(&text("NEW,INVALID"), "vsphere.admin-client-zvm-9669");
    assert_eq!(f["status"], "allowed", "{f:#}");
}

/// A reply NOTRACKed in raw loses the NAT (iptables-extensions(8): untracked packets lose "all
/// the NAT functionalities"): after a DNAT of 4005 to the host's port 9669 it leaves from 9669,
/// which the client's socket does not take, and the connection fails (the kernel oracle's
/// ipt-600025). Ports not translated still work: their replies need no translation.
#[test]
fn a_notracked_reply_of_a_translated_connection_breaks_it() {
    let text = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j CT --notrack\nCOMMIT\n\
                *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                -A PREROUTING -p tcp -m tcp --dport 4005 -j DNAT --to-destination 192.168.1.1:9669\nCOMMIT\n\
                *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let f = inbound_of(text, "vsphere.zvm-vra-4005");
    assert_eq!(f["status"], "blocked", "{f:#}");
    let f = inbound_of(text, "vsphere.admin-client-zvm-9669");
    assert_eq!(f["status"], "allowed", "{f:#}");
}
