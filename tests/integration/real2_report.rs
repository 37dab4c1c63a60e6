//! Issue 17, report part: classes 4 (who an "allowed" flow admits, `--peers`), 10 (directory
//! runs: a status line per firewall, skipped files counted) and 9's output (a many-NSG file is
//! summarised; `--verbose` gives the details).
//!
//! How the expected verdicts were worked out by hand:
//! - `fixtures/report/docker/docker-only.rules` has INPUT policy DROP, OUTPUT policy ACCEPT and
//!   one rule, `-A INPUT -s 172.17.0.0/16 -j ACCEPT`. An inbound flow's NEW packets pass from
//!   172.17.0.0/16 only; an outbound flow's request passes, but its ESTABLISHED replies come
//!   back through INPUT and pass from 172.17.0.0/16 only. Quick mode counts "some peer gets
//!   through" as allowed, so the report must say the peers are 172.17.0.0/16.
//! - With `--peers 10.1.0.0/16` no peer is in 172.17.0.0/16: every inbound request and every
//!   outbound reply is dropped by the INPUT policy, so all 22 vSphere ZVM flows are blocked;
//!   with `--peers 10.1.0.0/16,172.17.0.0/16` some peers pass and some do not: partial.
//! - `fixtures/report/dir/` holds host-a.rules (a copy of docker-only.rules), host-b.rules
//!   (every policy ACCEPT but FORWARD: all flows allowed from any address) and notes.txt,
//!   which is no firewall export.
//! - The grouper `az network nsg list` (fixtures/real2/azure, 13 NSGs) has flows decided by the
//!   service tags VirtualNetwork and Internet, which quick mode does not resolve: 389 of 390
//!   flows unknown, one Z103 each (counted in real2_azure.rs).

use super::{audit_json, flow, portolan};

const DOCKER: &str = "fixtures/report/docker/docker-only.rules";
const DIR: &str = "fixtures/report/dir";
const GROUPER: &str = "fixtures/real2/azure/grouper-az-network-nsg-list-corpnet-tags.json";
const SAMROCKETMAN: &str = "fixtures/report/real/samrocketman-raspi-goto-chains.rules";

fn human(args: &[&str]) -> (String, i32) {
    let out = portolan()
        .arg("audit")
        .args(["--no-config"])
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn line_of<'a>(out: &'a str, requirement: &str, direction: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(&format!("{requirement} ")) && l.contains(direction))
        .unwrap_or_else(|| panic!("no line for {requirement} {direction}:\n{out}"))
}

// ---- class 4: who is allowed ----

#[test]
fn docker_bridge_only_host_shows_its_admitted_sources() {
    let (out, _) = human(&["--env", "vsphere", "--role", "zvm", DOCKER]);
    let l = line_of(&out, "vsphere.zvm-vra-4005", "inbound");
    assert!(l.starts_with("  allowed"), "{l}");
    assert!(l.ends_with("from 172.17.0.0/16"), "{l}");
    // the outbound flow's replies come back from the bridge only
    let l = line_of(&out, "vsphere.zvm-vcenter-443", "outbound");
    assert!(
        l.starts_with("  partial") && l.ends_with("to 172.17.0.0/16"),
        "{l}"
    );
    // the JSON already said so
    let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", DOCKER]);
    assert_eq!(
        flow(&v, "vsphere.zvm-vra-4005", "inbound")["allowed_sources"],
        serde_json::json!(["172.17.0.0/16"])
    );
}

#[test]
fn peers_outside_the_admitted_sources_are_blocked() {
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--peers",
        "10.1.0.0/16",
        DOCKER,
    ]);
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 22);
    assert!(
        flows.iter().all(|f| f["status"] == "blocked"),
        "{:#?}",
        flows.iter().map(|f| &f["status"]).collect::<Vec<_>>()
    );
    // the fix names the declared peers, not the PEERS placeholder
    let fix = flow(&v, "vsphere.zvm-vra-4005", "inbound")["fix"].to_string();
    assert!(
        fix.contains("-s 10.1.0.0/16") && !fix.contains("PEERS"),
        "{fix}"
    );
}

#[test]
fn peers_partly_inside_are_partial_and_named() {
    let (out, _) = human(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--peers",
        "10.1.0.0/16,172.17.0.0/16",
        DOCKER,
    ]);
    let l = line_of(&out, "vsphere.zvm-vra-4005", "inbound");
    assert!(l.starts_with("  partial"), "{l}");
    assert!(l.ends_with("from 172.17.0.0/16"), "{l}");
    let (out, code) = human(&[
        "--env", "vsphere", "--role", "zvm", "--peers", "nonsense", DOCKER,
    ]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn real_file_admitted_destinations_are_readable() {
    // samrocketman's Raspberry Pi: OUTPUT policy DROP; OUTPUT_deny drops 212.7.208.65 first,
    // then OUTPUT_allow accepts the LAN (10.9.8.0/24, 192.168.10.0/24) and
    // `-m multiport --dport 21,80,443` (getopt reads `--dport` as multiport's `--dports`), so
    // the ZVM's outbound 443 reaches every address but the one dropped; 22 likewise (its own
    // `--dport 22` accept). Checked by reading the OUTPUT chain and its jumps by hand.
    let (out, _) = human(&["--env", "vsphere", "--role", "zvm", SAMROCKETMAN]);
    let l = line_of(&out, "vsphere.zvm-vcenter-443", "outbound");
    assert!(
        l.starts_with("  allowed") && l.ends_with("to any address except 212.7.208.65/32"),
        "{l}"
    );
    let l = line_of(&out, "vsphere.zvm-esxi-22-install", "outbound");
    assert!(l.ends_with("to any address except 212.7.208.65/32"), "{l}");
    // never a long list of ranges on a flow line
    assert!(out.lines().all(|l| l.matches('/').count() < 8), "{out}");
}

#[test]
fn real_file_with_peers_is_judged_for_those_peers() {
    // OUTPUT_allow accepts 10.9.8.0/24 and 192.168.10.0/24 (then LOGGING and REJECT): with the
    // VRAs declared in 10.9.8.0/24 the ZVM's 4005 to them is allowed for every one
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--peers",
        "10.9.8.0/24",
        SAMROCKETMAN,
    ]);
    assert_eq!(
        flow(&v, "vsphere.zvm-vra-4005", "outbound")["status"],
        "allowed"
    );
    // 22 goes out to any address (OUTPUT_allow `-p tcp ... --dport 22 -j ACCEPT`) but
    // 212.7.208.65, which OUTPUT_deny drops first: peers in 212.7.208.0/24 are partly
    // allowed, and the flow line says which, measured against the peers
    let (out, _) = human(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--peers",
        "212.7.208.0/24",
        SAMROCKETMAN,
    ]);
    let l = line_of(&out, "vsphere.zvm-esxi-22-install", "outbound");
    assert!(
        l.starts_with("  partial") && l.ends_with("to any peer except 212.7.208.65/32"),
        "{l}"
    );
}

// ---- class 10: directory runs ----

#[test]
fn directory_run_has_a_status_line_per_firewall_and_counts_skipped_files() {
    for quiet in [false, true] {
        let mut args = vec!["--env", "vsphere", "--role", "zvm", DIR];
        if quiet {
            args.push("-q");
        }
        let (out, _) = human(&args);
        let status: Vec<&str> = out.lines().filter(|l| l.contains(" flows: ")).collect();
        assert_eq!(status.len(), 2, "quiet={quiet}:\n{out}");
        assert!(status[0].contains("host-a.rules") && status[0].contains("12 partial"));
        assert!(status[1].contains("host-b.rules") && status[1].contains("22 allowed"));
        let summary = out.lines().last().unwrap();
        assert!(summary.contains("1 file skipped"), "{summary}");
        // flows of two hosts are not added into one total
        assert!(!summary.contains("44 flow"), "{summary}");
        assert!(
            summary.contains("2 firewalls by their worst flow: 1 all allowed, 1 partial"),
            "{summary}"
        );
        assert!(
            !out.contains("notes.txt"),
            "named only with --verbose:\n{out}"
        );
    }
    let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", DIR]);
    assert_eq!(
        v["skipped"],
        serde_json::json!(["fixtures/report/dir/notes.txt"])
    );
    let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", DOCKER]);
    assert!(
        v.get("skipped").is_none(),
        "no field when nothing was skipped"
    );
    let (out, _) = human(&["--env", "vsphere", "--role", "zvm", "--verbose", DIR]);
    assert!(
        out.contains("skipped (no firewall export): fixtures/report/dir/notes.txt"),
        "{out}"
    );
}

#[test]
fn directory_of_real_nsgs_has_a_line_per_nsg_when_quiet() {
    let (out, _) = human(&[
        "--env",
        "azure",
        "--role",
        "zca",
        "-q",
        "fixtures/real2/azure",
    ]);
    // 13 NSGs in the list, one network security group in the portal export
    let nsg_lines = out
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(": 30 flows:"))
        .count();
    assert_eq!(nsg_lines, 13, "{out}");
    assert!(
        !out.contains("  unknown  azure."),
        "no flow lines when quiet:\n{out}"
    );
}

// ---- class 9, output: details on demand ----

#[test]
fn nsg_list_report_is_short_and_verbose_has_the_details() {
    let (out, _) = human(&["--env", "azure", "--role", "zca", GROUPER]);
    let lines = out.lines().count();
    // 13 firewall lines, 390 flow lines, the findings one line per code
    assert!(lines < 450, "{lines} lines:\n{out}");
    assert!(
        out.contains("Z103 required-flow-unknown (389 warnings)"),
        "{out}"
    );
    assert!(!out.contains("╭─["), "no source snippets by default");
    let (verbose, _) = human(&["--env", "azure", "--role", "zca", "--verbose", GROUPER]);
    assert!(verbose.lines().count() > 10 * lines);
    assert!(verbose.contains("╭─[fixtures/real2/azure/grouper"));
    assert_eq!(verbose.matches("Z103 required-flow-unknown").count(), 389);
}

#[test]
fn small_file_with_many_findings_is_summarised_few_are_not() {
    // the Docker host: 15 findings, shown in full; the same with --verbose
    let (out, _) = human(&["--env", "vsphere", "--role", "zvm", DOCKER]);
    assert!(
        out.contains("╭─[fixtures/report/docker/docker-only.rules"),
        "{out}"
    );
    assert!(!out.contains("findings summarised"), "{out}");
}

#[test]
fn hand_made_file_of_many_findings_is_summarised_verbose_shows_each() {
    // limited.nft: the only accepts of input and output are `limit rate`, which depends on the
    // traffic (nft(8)), so all 22 vSphere ZVM flows of each family (ip, ip6) are unknown: 44
    // Z103, more than the 40 a file shows in full
    const LIMITED: &str = "fixtures/report/summary/limited.nft";
    let (out, _) = human(&["--env", "vsphere", "--role", "zvm", LIMITED]);
    assert!(
        out.contains("Z103 required-flow-unknown (44 warnings), e.g."),
        "{out}"
    );
    assert!(
        out.contains("help: undecided because: `limit` depends on the traffic"),
        "{out}"
    );
    assert!(!out.contains("╭─["), "{out}");
    assert!(out.lines().count() < 60, "{out}");
    let (verbose, _) = human(&["--env", "vsphere", "--role", "zvm", "--verbose", LIMITED]);
    assert_eq!(
        verbose
            .matches("╭─[fixtures/report/summary/limited.nft")
            .count(),
        45
    );
    // quiet: the status lines (one per family) and the summarised findings, no flow lines
    let (quiet, _) = human(&["--env", "vsphere", "--role", "zvm", "-q", LIMITED]);
    assert_eq!(
        quiet.lines().filter(|l| l.contains(" flows: ")).count(),
        3,
        "{quiet}"
    );
    assert!(!quiet.contains("  unknown  vsphere."), "{quiet}");
}
