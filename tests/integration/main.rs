//! Integration tests through the `portolan` binary and the library, one crate split into modules.

mod cli;
mod cloud;
mod connection;
mod conntrack;
mod diagram;
mod diff;
mod exposure;
mod facts;
mod fix;
mod formats;
mod hostile;
mod identity;
mod integrations;
mod ipsec;
mod mark;
mod msp;
mod nat;
mod nftables;
mod nftables_fix;
mod nothing_lost;
mod oracle;
mod path;
mod reachability;
mod real2_azure;
mod real2_cloud;
mod real2_iptables;
mod real2_report;
mod real2_windows;
mod regression;
mod replies;
mod reports;
mod run_record;
mod shard;
mod snapshots;
mod stream;
mod windows;

use assert_cmd::Command;

/// The Chromium on this machine, if any (the browser tests skip, saying why, without one).
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

pub fn portolan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_portolan"));
    // reports carry when they were made: a fixed instant keeps outputs and snapshots stable
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env("SOURCE_DATE_EPOCH", "1796498400")
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("CI_PROJECT_DIR");
    c
}

/// Run an audit and parse its JSON output; returns (json, exit code).
pub fn audit_json(args: &[&str]) -> (serde_json::Value, i32) {
    let out = portolan()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("the binary runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

/// The flow record of a requirement in one direction.
pub fn flow<'a>(
    v: &'a serde_json::Value,
    requirement: &str,
    direction: &str,
) -> &'a serde_json::Value {
    v["flows"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|f| f["requirement"] == requirement && f["direction"] == direction)
        })
        .unwrap_or_else(|| panic!("no {direction} flow for {requirement}"))
}

/// The inbound flow's status and its deciding entries as (line, rule, action).
pub fn verdict(v: &serde_json::Value, req: &str) -> (String, Vec<(u64, String, String)>) {
    let f = flow(v, req, "inbound");
    let deciding = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["rule"].as_str().unwrap().to_string(),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (f["status"].as_str().unwrap().to_string(), deciding)
}

/// A flow's status and the lines of its deciding rules.
pub fn status_lines(v: &serde_json::Value, req: &str, direction: &str) -> (String, Vec<u64>) {
    let f = flow(v, req, direction);
    let lines = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    (f["status"].as_str().unwrap().to_string(), lines)
}

pub fn findings<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["code"] == code).collect())
        .unwrap_or_default()
}
