//! The command line: the must-shows, exit codes, usage errors.

use super::{audit_json, findings, flow, portolan};

const QUICK: &[&str] = &["--env", "vsphere", "--role", "zvm"];

fn quick(file: &str) -> (serde_json::Value, i32) {
    let mut args = QUICK.to_vec();
    args.push(file);
    audit_json(&args)
}

#[test]
fn drop_before_accept_blocks_9669_with_the_drop_line_deciding() {
    let (v, code) = quick("fixtures/iptables/zvm-drops-9669.rules");
    assert_eq!(code, 1);
    let f = flow(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(f["status"], "blocked");
    assert_eq!(f["policy"], "filter/INPUT");
    assert_eq!(f["allowed_sources"], serde_json::json!([]));
    let deciding = f["deciding"].as_array().unwrap();
    assert_eq!(deciding.len(), 1, "{deciding:?}");
    assert_eq!(deciding[0]["line"], 12);
    assert_eq!(deciding[0]["action"], "drop");
    assert_eq!(deciding[0]["rule"], "filter/INPUT #6");
    let z101 = findings(&v, "Z101");
    let errors: Vec<_> = z101.iter().filter(|f| f["severity"] == "error").collect();
    assert_eq!(
        errors.len(),
        1,
        "only the unconditional flow is an error: {z101:?}"
    );
    assert_eq!(errors[0]["line"], 12);
    assert_eq!(errors[0]["requirement"], "vsphere.admin-client-zvm-9669");
    // the ZCM flow applies only when a ZCM is deployed: a warning
    let zcm_finding = z101
        .iter()
        .find(|f| f["requirement"] == "vsphere.zcm-zvm-9669")
        .unwrap();
    assert_eq!(zcm_finding["severity"], "warning");
    // the conditional ZCM flow is blocked too, but only a warning
    let zcm = flow(&v, "vsphere.zcm-zvm-9669", "inbound");
    assert_eq!(zcm["status"], "blocked");
    assert_eq!(zcm["conditional"], true);
    // everything else still passes
    assert_eq!(
        flow(&v, "vsphere.admin-client-zvm-9080", "inbound")["status"],
        "allowed"
    );
}

#[test]
fn a_dump_that_allows_everything_exits_zero() {
    let (v, code) = quick("fixtures/iptables/zvm-allows-all.rules");
    assert_eq!(code, 0, "{:#}", v["findings"]);
    let flows = v["flows"].as_array().unwrap();
    assert!(!flows.is_empty());
    assert!(flows.iter().all(|f| f["status"] == "allowed"), "{flows:#?}");
    assert_eq!(v["summary"]["findings"]["error"], 0);
    assert_eq!(v["schema"], "portolan-audit/1");
    assert_eq!(v["files"][0]["format"], "iptables-save");
    // quick mode: allowed_sources says which peers get through
    let f = flow(&v, "vsphere.zvm-vra-4005", "inbound");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.10.0.0/16"]));
}

#[test]
fn exposure_of_9669_and_7073_to_the_world() {
    let (v, code) = quick("fixtures/iptables/zvm-exposed.rules");
    assert_eq!(code, 1);
    let z201 = findings(&v, "Z201");
    assert_eq!(z201.len(), 1, "{z201:#?}");
    assert_eq!(z201[0]["line"], 8);
    assert!(z201[0]["message"].as_str().unwrap().contains("tcp/9669"));
    let z202 = findings(&v, "Z202");
    assert_eq!(z202.len(), 1);
    assert_eq!(z202[0]["line"], 9);
    assert_eq!(z202[0]["severity"], "error");
    // the same file without the exposing rules has neither finding
    let (v, _) = quick("fixtures/iptables/zvm-allows-all.rules");
    assert!(findings(&v, "Z201").is_empty() && findings(&v, "Z202").is_empty());
}

/// Quick mode's inbound flows cover the exposure check's region, so the check reuses their
/// evaluation; with an inventory the flows see only the peers and the check evaluates the region
/// itself. Both ways give the same Z201 and Z202.
#[test]
fn exposure_is_the_same_whether_the_flows_region_is_reused_or_not() {
    let dir = tempdir();
    let fw = std::fs::canonicalize("fixtures/iptables/zvm-exposed.rules").unwrap();
    let inv = dir.join("portolan.toml");
    std::fs::write(
        &inv,
        format!(
            "environment = \"vsphere\"\n\n[[site]]\nname = \"prod\"\n[site.roles]\nzvm = [\"10.0.0.5\"]\nvra = [\"10.0.1.0/24\"]\n\n[[firewall]]\npath = {:?}\nsite = \"prod\"\nguards = \"host:zvm\"\n",
            fw.display().to_string()
        ),
    )
    .unwrap();
    let (quick_v, _) = quick("fixtures/iptables/zvm-exposed.rules");
    let (inv_v, _) = audit_json(&["--inventory", inv.to_str().unwrap()]);
    // the inventory narrowed the flows: 4005 from the VRAs is allowed for exactly them
    assert_eq!(
        flow(&inv_v, "vsphere.zvm-vra-4005", "inbound")["allowed_sources"],
        serde_json::json!(["10.0.1.0/24"])
    );
    for code in ["Z201", "Z202"] {
        let strip = |v: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
            findings(v, code)
                .iter()
                .map(|f| (f["line"].clone(), f["message"].clone()))
                .collect()
        };
        assert_eq!(
            strip(&quick_v).len(),
            1,
            "{code}: {:#?}",
            quick_v["findings"]
        );
        assert_eq!(strip(&quick_v), strip(&inv_v), "{code}");
    }
}

#[test]
fn malformed_lines_are_z001_and_the_rest_is_still_audited() {
    let (v, code) = quick("fixtures/iptables/zvm-malformed.rules");
    assert_eq!(code, 1);
    let z001 = findings(&v, "Z001");
    assert_eq!(z001.len(), 2, "{z001:#?}");
    // `--dport 99999` on line 10, the label on the bad token
    let bad = z001
        .iter()
        .find(|f| f["line"] == 10)
        .expect("a Z001 on line 10");
    assert_eq!(bad["column"], 46);
    assert_eq!(
        bad["labels"][0]["end"].as_u64().unwrap() - bad["labels"][0]["start"].as_u64().unwrap(),
        5
    );
    // `--dport` with no value on line 11
    assert!(z001.iter().any(|f| f["line"] == 11));
    // the unknown module is Z002, and the flows it guards are unknown, not allowed
    let z002 = findings(&v, "Z002");
    assert!(
        z002.iter()
            .any(|f| f["line"] == 12 && f["message"].as_str().unwrap().contains("geoip")),
        "{z002:#?}"
    );
    assert_eq!(
        flow(&v, "vsphere.zvm-zvm-9081", "inbound")["status"],
        "unknown"
    );
    assert!(!findings(&v, "Z103").is_empty());
    // later rules still count
    assert_eq!(
        flow(&v, "vsphere.admin-client-zvm-9669", "inbound")["status"],
        "allowed"
    );
    assert_eq!(
        flow(&v, "vsphere.zvm-vra-4005", "inbound")["status"],
        "allowed"
    );
}

#[test]
fn inventory_mode_finds_the_subnet_a_user_chain_returns_to_a_drop_policy() {
    let (v, code) = audit_json(&["--inventory", "fixtures/inventory/vsphere-two-sites.toml"]);
    assert_eq!(code, 1);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["requirement"] == "vsphere.admin-client-zvm-9669"
                && f["firewall"] == "fixtures/iptables/zvm-user-chain-return.rules"
        })
        .unwrap();
    assert_eq!(f["status"], "partial");
    assert_eq!(f["site"], "prod");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.0.0/16"]));
    let actions: Vec<&str> = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"accept") && actions.contains(&"drop"),
        "{actions:?}"
    );
    let z102: Vec<_> = findings(&v, "Z102")
        .into_iter()
        .filter(|x| x["requirement"] == "vsphere.admin-client-zvm-9669")
        .collect();
    assert_eq!(z102.len(), 1);
    let lines: Vec<u64> = z102[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 9, 12], "policy, jump, RETURN");
    // facts from the inventory decide conditions: vba = false drops the VBA flows
    assert!(!v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["requirement"] == "vsphere.zvm-vba-9180"));
}

#[test]
fn catalog_msp_json_lists_every_port_of_the_msp_table() {
    let out = portolan()
        .args(["catalog", "--env", "msp", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "portolan-catalog/1");
    let mut ports: Vec<String> = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ports"].as_str().unwrap().to_string())
        .collect();
    ports.sort();
    ports.dedup();
    let want = [
        "22", "443", "4005", "4006", "4007", "4008", "4009", "5672", "8100", "9071", "9080",
        "9081", "9082+", "9180", "9669", "9779", "9989",
    ];
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(ports, want);
    let nots: Vec<&str> = v["must_not_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ports"].as_str().unwrap())
        .collect();
    assert!(nots.contains(&"7073"));
}

#[test]
fn catalog_hyperv_has_8100_and_csv_and_table_render() {
    let out = portolan()
        .args(["catalog", "--env", "hyperv", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("hyperv.zvm-scvmm-8100,") && l.contains(",8100,")),
        "{csv}"
    );
    let out = portolan()
        .args(["catalog", "--env", "hyperv"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("8100") && table.contains("zvm-scvmm"));
}

#[test]
fn exit_codes_and_fail_on() {
    let f = "fixtures/iptables/zvm-drops-9669.rules";
    let code = |extra: &[&str]| {
        portolan()
            .arg("audit")
            .args(QUICK)
            .arg(f)
            .args(extra)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[]), Some(1));
    assert_eq!(code(&["--fail-on", "never"]), Some(0));
    // exposed file: only a warning (Z201) besides the Z202 error
    let exposed = portolan()
        .arg("audit")
        .args(QUICK)
        .args([
            "--fail-on",
            "warning",
            "fixtures/iptables/zvm-allows-all.rules",
        ])
        .output()
        .unwrap();
    assert_eq!(exposed.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    // no environment
    let out = portolan()
        .args([
            "audit",
            "--role",
            "zvm",
            "fixtures/iptables/zvm-allows-all.rules",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--env"));
    // unknown role
    let out = portolan()
        .args(["audit", "--env", "vsphere", "--role", "wizard", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // bad flag value
    let out = portolan()
        .args(["audit", "--env", "mars"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // a broken inventory: every problem at once
    let out = portolan()
        .args(["audit", "--inventory", "fixtures/inventory/broken.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["10.10.0.300", "wizard", "prd", "host:zvn"] {
        assert!(err.contains(needle), "missing {needle} in {err}");
    }
}

#[test]
fn unrecognised_named_file_is_z003_and_exit_2_but_directory_scans_skip_it() {
    let dir = tempdir();
    std::fs::write(dir.join("notes.txt"), "hello\n").unwrap();
    std::fs::copy(
        "fixtures/iptables/zvm-drops-9669.rules",
        dir.join("zvm.rules"),
    )
    .unwrap();
    let notes = dir.join("notes.txt");
    let (v, code) = quick(notes.to_str().unwrap());
    assert_eq!(code, 2);
    assert_eq!(findings(&v, "Z003").len(), 1);
    let (v, code) = quick(dir.to_str().unwrap());
    assert_eq!(code, 1, "the directory holds the 9669 drop");
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    assert!(findings(&v, "Z003").is_empty());
    // a file that does not exist
    let (v, code) = quick("fixtures/iptables/no-such-file.rules");
    assert_eq!(code, 2);
    assert_eq!(findings(&v, "Z003").len(), 1);
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let (v, code) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-malformed.rules",
        "fixtures/iptables/zvm-allows-all.rules",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    let good: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["firewall"] == "fixtures/iptables/zvm-allows-all.rules")
        .collect();
    assert!(!good.is_empty() && good.iter().all(|f| f["status"] == "allowed"));
}

#[test]
fn output_file_is_written_and_input_untouched() {
    let dir = tempdir();
    let out = dir.join("report.json");
    let input = "fixtures/iptables/zvm-drops-9669.rules";
    let before = std::fs::read(input).unwrap();
    let st = portolan()
        .arg("audit")
        .args(QUICK)
        .args([input, "--format", "json", "--output", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
    assert!(st.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["flows"]["blocked"], 2);
    assert_eq!(std::fs::read(input).unwrap(), before);
    // no temporary files left behind
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn facts_decide_conditional_requirements() {
    let base = [
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-allows-all.rules",
    ];
    let (v, _) = audit_json(&base);
    assert_eq!(
        flow(&v, "vsphere.zvm-zvm-9071", "inbound")["conditional"],
        true
    );
    let mut old = base.to_vec();
    old.extend(["--set", "zvm_version=7.5", "--set", "peer_zvm_version=9.0"]);
    let (v, _) = audit_json(&old);
    assert!(!v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["requirement"] == "vsphere.zvm-zvm-9071"));
    let mut new = base.to_vec();
    new.extend(["--set", "zvm_version=10.0", "--set", "peer_zvm_version=9.5"]);
    let (v, _) = audit_json(&new);
    assert_eq!(
        flow(&v, "vsphere.zvm-zvm-9071", "inbound")["conditional"],
        false
    );
}

/// A fresh directory under the target dir (no tempfile crate needed).
pub fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn boundary_firewall_is_audited_on_forward_in_both_directions() {
    let (v, code) = audit_json(&["--inventory", "fixtures/inventory/vsphere-boundary.toml"]);
    assert_eq!(code, 1);
    let flows = v["flows"].as_array().unwrap();
    let get = |req: &str, site: &str| {
        flows
            .iter()
            .find(|f| f["requirement"] == req && f["site"] == site)
            .unwrap_or_else(|| panic!("{req} {site}"))
    };
    assert!(flows
        .iter()
        .all(|f| f["direction"] == "forward" && f["policy"] == "filter/FORWARD"));
    assert_eq!(
        get("vsphere.vra-vra-4008", "prod -> dr")["status"],
        "allowed"
    );
    let back = get("vsphere.vra-vra-4008", "dr -> prod");
    assert_eq!(back["status"], "blocked");
    assert_eq!(
        back["deciding"][0]["line"], 16,
        "the DROP at the end of ZERTO-FWD"
    );
    assert_eq!(
        get("vsphere.zvm-zvm-9081", "dr -> prod")["status"],
        "allowed"
    );
    // local flows (ZVM to its own VRAs) do not cross a boundary
    assert!(!flows
        .iter()
        .any(|f| f["requirement"] == "vsphere.zvm-vra-4005"));
    let z101 = findings(&v, "Z101");
    assert_eq!(z101.len(), 1);
    // the fix names the real peers from the inventory
    assert!(
        z101[0]["help"].as_str().unwrap().contains("10.11.1.21/32"),
        "{:#}",
        z101[0]
    );
}

#[test]
fn query_shows_the_jump_the_return_and_the_policy_in_order() {
    let out = portolan()
        .args([
            "query",
            "fixtures/iptables/zvm-user-chain-return.rules",
            "--from",
            "10.30.1.1",
            "--port",
            "9669/tcp",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "portolan-query/1");
    let pieces = v["results"][0]["pieces"].as_array().unwrap();
    assert_eq!(pieces.len(), 1);
    assert_eq!(pieces[0]["verdict"], "deny");
    let events: Vec<(String, Option<u64>)> = pieces[0]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["event"] != "no match")
        .map(|t| {
            (
                format!(
                    "{} {}",
                    t["event"].as_str().unwrap(),
                    t["detail"].as_str().unwrap()
                ),
                t["line"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("match jump ZERTO-MGMT".to_string(), Some(9)),
            ("match return".to_string(), Some(12)),
            ("return back from ZERTO-MGMT".to_string(), None),
            ("policy deny".to_string(), Some(3)),
        ]
    );
    // the rules skipped on the way say why
    let first = &pieces[0]["trace"][0];
    assert_eq!(first["event"], "no match");
    assert_eq!(first["detail"], "input interface differs");
    // human output too
    let out = portolan()
        .args([
            "query",
            "fixtures/iptables/zvm-user-chain-return.rules",
            "--from",
            "10.0.0.0/8",
            "--port",
            "9669/tcp",
        ])
        .output()
        .unwrap();
    let h = String::from_utf8(out.stdout).unwrap();
    assert!(
        h.contains("DENY from 10.30.0.0/16") && h.contains("ALLOW from 10.0.0.0/12"),
        "{h}"
    );
}

#[test]
fn explain_prints_a_checks_doc_and_lists_codes() {
    let out = portolan().args(["explain", "Z101"]).output().unwrap();
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.starts_with("Z101 required-flow-blocked (error)"));
    for s in [
        "## What it finds",
        "## Why it matters",
        "## Example",
        "## Fix",
    ] {
        assert!(t.contains(s));
    }
    let out = portolan()
        .args(["explain", "internal-port-exposed"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("7073"));
    let out = portolan().args(["explain", "--list"]).output().unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    assert_eq!(list.lines().count(), portolan::checks::ALL.len());
    assert_eq!(
        portolan()
            .args(["explain", "Z999"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_very_deep_chain_of_jumps_is_unknown_not_a_crash() {
    // 25,000 user chains, each jumping to the next: deeper than evaluation may nest
    let n = 25_000;
    let mut text =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..n {
        text.push_str(&format!(":C{i} - [0:0]\n"));
    }
    text.push_str("-A INPUT -j C0\n");
    for i in 0..n - 1 {
        text.push_str(&format!("-A C{i} -j C{}\n", i + 1));
    }
    text.push_str(&format!(
        "-A C{} -p tcp --dport 9669 -j ACCEPT\nCOMMIT\n",
        n - 1
    ));
    let dir = tempdir();
    let p = dir.join("deep.rules");
    std::fs::write(&p, text).unwrap();
    let (v, code) = quick(p.to_str().unwrap());
    assert_eq!(code, 0, "unknown is a warning: {:#}", v["summary"]);
    let f = flow(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(f["status"], "unknown");
    assert!(
        f["unknown_reasons"][0]
            .as_str()
            .unwrap()
            .contains("nests more than"),
        "{f:#}"
    );
}

/// Issue 20, item 2: a run that audits no firewall (a directory with no export, a mistyped
/// path) is bad usage, exit 2, saying what was skipped; `--allow-empty` accepts it.
#[test]
fn a_run_that_audits_nothing_exits_2_unless_allowed() {
    let run = |extra: &[&str]| {
        let mut args = vec!["audit", "--env", "vsphere", "--role", "zvm"];
        args.extend_from_slice(extra);
        args.push("fixtures/no-export");
        super::portolan().args(&args).output().unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no firewall was audited (0 file(s) read, 1 skipped as no firewall export"),
        "{err}"
    );
    assert_eq!(run(&["--allow-empty"]).status.code(), Some(0));
}

/// Issue 20, item 4: `--output` replaces only a regular file. `-` is standard output; a
/// symbolic link keeps its link and the file it points to gets the report; a FIFO is written
/// through (it stays a FIFO).
#[cfg(unix)]
#[test]
fn output_writes_through_links_fifos_and_dash() {
    use std::os::unix::fs::FileTypeExt;
    let dir = std::env::temp_dir().join(format!("portolan-output-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let audit = |out: &str| {
        super::portolan()
            .args([
                "audit", "--env", "vsphere", "--role", "zvm", "--format", "json",
            ])
            .args(["--output", out, "fixtures/msp/zvm-9080-open.rules"])
            .current_dir(std::env::current_dir().unwrap())
            .output()
            .unwrap()
    };
    // `-`: standard output, no file named `-`
    let out = audit("-");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"schema\": \"portolan-audit/1\""));
    assert!(!std::path::Path::new("-").exists());
    // a link to a file in the directory: the link stays, the target has the report
    let target = dir.join("report.json");
    let link = dir.join("latest.json");
    std::os::unix::fs::symlink("report.json", &link).unwrap();
    assert_eq!(audit(link.to_str().unwrap()).status.code(), Some(0));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("portolan-audit/1"));
    // a FIFO: written through, still a FIFO
    let fifo = dir.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert_eq!(audit(fifo.to_str().unwrap()).status.code(), Some(0));
    assert!(reader.join().unwrap().contains("portolan-audit/1"));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let _ = std::fs::remove_dir_all(&dir);
}
