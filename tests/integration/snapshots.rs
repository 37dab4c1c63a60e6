//! Snapshots of whole outputs (insta): human (no colour, fixed width) and JSON.

use super::portolan;

fn run(args: &[&str]) -> String {
    let out = portolan().args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn human_drop_before_accept() {
    insta::assert_snapshot!(run(&[
        "audit",
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-drops-9669.rules"
    ]));
}

#[test]
fn human_malformed() {
    insta::assert_snapshot!(run(&[
        "audit",
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-malformed.rules"
    ]));
}

#[test]
fn human_inventory_user_chain() {
    insta::assert_snapshot!(run(&[
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-two-sites.toml"
    ]));
}

#[test]
fn json_drop_before_accept() {
    let mut v: serde_json::Value = serde_json::from_str(&run(&[
        "audit",
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--format",
        "json",
        "fixtures/iptables/zvm-drops-9669.rules",
    ]))
    .unwrap();
    // the run record's commit and version move with every commit and release: redacted, so
    // the snapshot holds what the run record says, not which commit ran it
    assert_eq!(v["run"]["vcs"]["revision"].as_str().map(str::len), Some(40));
    v["run"]["vcs"] = serde_json::json!("[the git work tree's commit]");
    v["run"]["version"] = serde_json::json!("[CARGO_PKG_VERSION]");
    insta::assert_json_snapshot!(v);
}
