//! `portolan diff`: two files, two directories, and the working tree against a git revision.

use std::path::Path;

use super::cli::tempdir;
use super::portolan;

const OLD: &str = "fixtures/iptables/diff/old.rules";
const NEW: &str = "fixtures/iptables/diff/new.rules";
const VRA: &[&str] = &["--env", "vsphere", "--role", "vra"];

/// Run `portolan diff ARGS --format json` in `dir` (the crate root when `None`).
fn diff_json(args: &[&str], dir: Option<&Path>) -> (serde_json::Value, i32) {
    let mut cmd = portolan();
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .arg("diff")
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

fn changed(v: &serde_json::Value) -> &Vec<serde_json::Value> {
    v["flows_changed"].as_array().expect("flows_changed")
}

#[test]
fn a_drop_inserted_before_the_4008_accept_newly_blocks_4008_and_names_the_rule() {
    let mut args = vec![OLD, NEW];
    args.extend(VRA);
    let (v, code) = diff_json(&args, None);
    assert_eq!(v["schema"], "portolan-diff/1");
    assert_eq!(code, 1, "{v:#}");
    let flows = changed(&v);
    assert!(!flows.is_empty());
    // exactly the 4008 flow(s), all newly blocked, nothing else changed
    assert!(
        flows
            .iter()
            .all(|f| f["requirement"] == "vsphere.vra-vra-4008"
                && f["change"] == "newly-blocked"
                && f["old_status"] == "allowed"
                && f["new_status"] == "blocked"),
        "{flows:#?}"
    );
    let f = flows
        .iter()
        .find(|f| f["direction"] == "inbound")
        .expect("the inbound 4008 flow");
    assert_eq!(f["policy"], "filter/INPUT");
    assert_eq!(f["breaking"], true);
    // what it admitted, compared as sets: all of it is gone
    assert_eq!(
        f["admitted"]["message"],
        "tcp/4008 no longer admitted from 10.0.0.0/8"
    );
    assert_eq!(
        f["admitted"]["removed_sources"],
        serde_json::json!(["10.0.0.0/8"])
    );
    assert_eq!(v["admitted_changed"], serde_json::json!([]));
    // the inserted DROP is line 13, the 8th rule of INPUT
    let cause = &f["caused_by"];
    assert_eq!(cause.as_array().map(Vec::len), Some(1), "{cause:#}");
    assert_eq!(cause[0]["change"], "added");
    assert_eq!(cause[0]["rule"], "filter/INPUT #8");
    assert_eq!(cause[0]["line"], 13);
    assert!(f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["rule"] == "filter/INPUT #8" && d["line"] == 13 && d["action"] == "drop"));
    let added = v["rules_added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0]["rule"], "filter/INPUT #8");
    assert_eq!(added[0]["line"], 13);
    assert_eq!(added[0]["chain"], "INPUT");
    assert_eq!(
        added[0]["text"],
        "-A INPUT -p tcp -m tcp --dport 4008 -j DROP"
    );
    // the rules after it moved down a line, but not within their chain's order
    assert_eq!(v["rules_removed"], serde_json::json!([]));
    assert_eq!(v["rules_moved"], serde_json::json!([]));
    assert_eq!(v["summary"]["flows_changed"]["newly_blocked"], flows.len());
    assert_eq!(v["summary"]["breaking"], true);
    // the Z101 the drop causes is a finding added; nothing is fixed
    let fa = v["findings_added"].as_array().unwrap();
    assert!(fa
        .iter()
        .any(|x| x["code"] == "Z101" && x["requirement"] == "vsphere.vra-vra-4008"));
    assert_eq!(v["findings_fixed"], serde_json::json!([]));
}

#[test]
fn the_reverse_diff_reports_4008_newly_allowed_and_exits_zero() {
    let mut args = vec![NEW, OLD];
    args.extend(VRA);
    let (v, code) = diff_json(&args, None);
    assert_eq!(code, 0, "{v:#}");
    let flows = changed(&v);
    assert!(!flows.is_empty());
    assert!(
        flows
            .iter()
            .all(|f| f["requirement"] == "vsphere.vra-vra-4008"
                && f["change"] == "newly-allowed"
                && f["old_status"] == "blocked"
                && f["new_status"] == "allowed"
                && f["breaking"] == false),
        "{flows:#?}"
    );
    let removed = v["rules_removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["line"], 13);
    assert_eq!(v["rules_added"], serde_json::json!([]));
    assert!(v["findings_fixed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "Z101"));
    assert_eq!(v["summary"]["breaking"], false);
}

#[test]
fn human_output_lists_the_newly_blocked_flow_first_with_its_cause() {
    let out = portolan()
        .args(["diff", OLD, NEW])
        .args(VRA)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text
        .lines()
        .find(|l| l.starts_with("  "))
        .expect("a listed change");
    assert!(first.contains("vsphere.vra-vra-4008"), "{text}");
    assert!(text.contains("newly blocked (1)"), "{text}");
    assert!(
        text.contains(
            "caused by the added rule filter/INPUT #8 at fixtures/iptables/diff/new.rules:13"
        ),
        "{text}"
    );
}

#[test]
fn a_rule_moved_in_its_chain_is_moved_and_named_as_the_cause() {
    let d = tempdir();
    let old = std::fs::read_to_string(OLD).unwrap();
    let accept4007 = old
        .lines()
        .find(|l| l.contains("--dport 4007"))
        .unwrap()
        .to_string();
    let drop4007 = "-A INPUT -p tcp -m tcp --dport 4007 -j DROP";
    // before: a harmless drop of 4007 after its ACCEPT; after: the ACCEPT moved behind the drop
    let before = old.replace(
        "-A INPUT -m limit",
        &format!("{drop4007}\n-A INPUT -m limit"),
    );
    let after = before
        .replace(&format!("{accept4007}\n"), "")
        .replace(drop4007, &format!("{drop4007}\n{accept4007}"));
    std::fs::write(d.join("a.rules"), &before).unwrap();
    std::fs::write(d.join("b.rules"), &after).unwrap();
    let (a, b) = (d.join("a.rules"), d.join("b.rules"));
    let mut args = vec![a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend(VRA);
    let (v, code) = diff_json(&args, None);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["rules_added"], serde_json::json!([]));
    assert_eq!(v["rules_removed"], serde_json::json!([]));
    let moved = v["rules_moved"].as_array().unwrap();
    assert_eq!(moved.len(), 1, "{moved:#?}");
    let flows = changed(&v);
    assert!(!flows.is_empty());
    assert!(
        flows
            .iter()
            .all(|f| f["requirement"] == "vsphere.vra-vra-4007" && f["change"] == "newly-blocked"),
        "{flows:#?}"
    );
    // whichever of the two the comparison calls moved, it is named as the cause
    let cause = &flows[0]["caused_by"];
    assert_eq!(cause.as_array().map(Vec::len), Some(1), "{cause:#}");
    assert_eq!(cause[0]["change"], "moved");
    assert_eq!(cause[0]["rule"], moved[0]["rule"]);
    assert_eq!(cause[0]["line"], moved[0]["line"]);
}

#[test]
fn directories_are_matched_by_relative_path_and_only_the_changed_file_changes() {
    let root = tempdir();
    let (a, b) = (root.join("before"), root.join("after"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d.join("hosts")).unwrap();
        std::fs::copy(OLD, d.join("hosts/vra1.rules")).unwrap();
    }
    std::fs::copy(OLD, a.join("vra2.rules")).unwrap();
    std::fs::copy(NEW, b.join("vra2.rules")).unwrap();
    let mut args = vec![a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend(VRA);
    let (v, code) = diff_json(&args, None);
    assert_eq!(code, 1, "{v:#}");
    let flows = changed(&v);
    assert!(!flows.is_empty());
    assert!(
        flows.iter().all(|f| f["firewall"] == "vra2.rules"
            && f["requirement"] == "vsphere.vra-vra-4008"
            && f["change"] == "newly-blocked"),
        "{flows:#?}"
    );
    let added = v["rules_added"].as_array().unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["firewall"], "vra2.rules");
    assert_eq!(flows[0]["caused_by"][0]["firewall"], "vra2.rules");
    // only the changed file's findings differ
    assert!(v["findings_added"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["file"] == "vra2.rules"));
    // identical directories: no change, exit 0
    let mut args = vec![a.to_str().unwrap(), a.to_str().unwrap()];
    args.extend(VRA);
    let (v, code) = diff_json(&args, None);
    assert_eq!(code, 0);
    assert_eq!(v["flows_changed"], serde_json::json!([]));
    assert_eq!(v["findings_added"], serde_json::json!([]));
}

const ZVM_FROM_10: &str = "fixtures/iptables/diff/zvm-9669-from-10.rules";
const ZVM_FROM_ANY: &str = "fixtures/iptables/diff/zvm-9669-from-any.rules";
const ZVM: &[&str] = &["--env", "vsphere", "--role", "zvm"];
const ACCEPT_9669_FROM_10: &str = "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 9669 -m comment --comment \"Zerto UI and REST API\" -j ACCEPT";
const ACCEPT_9669_FROM_ANY: &str =
    "-A INPUT -p tcp -m tcp --dport 9669 -m comment --comment \"Zerto UI and REST API\" -j ACCEPT";

/// `portolan diff OLD NEW --env vsphere --role zvm [EXTRA]`: standard output and exit code.
fn diff_zvm_human(old: &str, new: &str, extra: &[&str]) -> (String, i32) {
    let out = portolan()
        .args(["diff", old, new])
        .args(ZVM)
        .args(extra)
        .output()
        .expect("the binary runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The 9669 flows of a zvm's INPUT: admin clients, and the ZCM (conditional).
const INBOUND_9669: [&str; 2] = ["vsphere.admin-client-zvm-9669", "vsphere.zcm-zvm-9669"];

#[test]
fn a_9669_accept_that_loses_its_source_match_is_reported_widened_to_any_address_with_the_rule() {
    let mut args = vec![ZVM_FROM_10, ZVM_FROM_ANY];
    args.extend(ZVM);
    let (v, code) = diff_json(&args, None);
    // still allowed: no status changed, nothing breaks; Z201 is a warning, under the default
    // --fail-on error
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["flows_changed"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["summary"]["breaking"], false);
    let changed = v["admitted_changed"].as_array().expect("admitted_changed");
    let mut reqs: Vec<&str> = changed
        .iter()
        .map(|f| f["requirement"].as_str().unwrap())
        .collect();
    reqs.sort();
    assert_eq!(reqs, INBOUND_9669, "{changed:#?}");
    for f in changed {
        assert_eq!(f["change"], "admitted-widened");
        assert_eq!(f["breaking"], false);
        assert_eq!(f["direction"], "inbound");
        assert_eq!(f["policy"], "filter/INPUT");
        assert_eq!(f["protocol"], "tcp");
        assert_eq!(f["ports"], "9669");
        assert_eq!(f["firewall"], ZVM_FROM_ANY);
        assert_eq!(f["old_status"], "allowed");
        assert_eq!(f["new_status"], "allowed");
        let a = &f["admitted"];
        assert_eq!(a["change"], "widened");
        assert_eq!(
            a["message"],
            "tcp/9669 now admitted from any address, was 10.0.0.0/8"
        );
        assert_eq!(a["old_sources"], serde_json::json!(["10.0.0.0/8"]));
        assert_eq!(a["old_any_address"], false);
        assert_eq!(a["new_any_address"], true);
        assert_eq!(a["removed_sources"], serde_json::json!([]));
        // added = new - old: everything but 10/8 and loopback, as CIDRs
        let added: Vec<&str> = a["added_sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            added,
            [
                "0.0.0.0/5",
                "8.0.0.0/7",
                "11.0.0.0/8",
                "12.0.0.0/6",
                "16.0.0.0/4",
                "32.0.0.0/3",
                "64.0.0.0/3",
                "96.0.0.0/4",
                "112.0.0.0/5",
                "120.0.0.0/6",
                "124.0.0.0/7",
                "126.0.0.0/8",
                "128.0.0.0/1"
            ]
        );
        // the rule on the deciding path that changed, and what it was
        let cause = f["caused_by"].as_array().unwrap();
        assert_eq!(cause.len(), 1, "{cause:#?}");
        assert_eq!(cause[0]["change"], "changed");
        assert_eq!(cause[0]["rule"], "filter/INPUT #6");
        assert_eq!(cause[0]["line"], 11);
        assert_eq!(cause[0]["action"], "accept");
        assert_eq!(cause[0]["text"], ACCEPT_9669_FROM_ANY);
        assert_eq!(cause[0]["old_rule"], "filter/INPUT #6");
        assert_eq!(cause[0]["old_line"], 11);
        assert_eq!(cause[0]["old_text"], ACCEPT_9669_FROM_10);
        assert!(f["deciding"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "filter/INPUT #6" && d["action"] == "accept"));
    }
    assert_eq!(v["summary"]["admitted_changed"]["widened"], 2);
    assert_eq!(v["summary"]["admitted_changed"]["narrowed"], 0);
    // the exposure is a finding added, and it is what can fail the check
    let fa = v["findings_added"].as_array().unwrap();
    assert_eq!(fa.len(), 1, "{fa:#?}");
    assert_eq!(fa[0]["code"], "Z201");
    assert_eq!(fa[0]["line"], 11);
    assert_eq!(v["rules_added"][0]["text"], ACCEPT_9669_FROM_ANY);
    assert_eq!(v["rules_removed"][0]["text"], ACCEPT_9669_FROM_10);
    let mut args = vec![ZVM_FROM_10, ZVM_FROM_ANY, "--fail-on", "warning"];
    args.extend(ZVM);
    assert_eq!(diff_json(&args, None).1, 1);

    let (text, code) = diff_zvm_human(ZVM_FROM_10, ZVM_FROM_ANY, &[]);
    assert_eq!(code, 0, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let head = lines
        .iter()
        .position(|l| *l == "admitted from more sources (2):")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        lines[head + 1],
        format!(
            "  vsphere.admin-client-zvm-9669 inbound 9669/tcp allowed  {ZVM_FROM_ANY} filter/INPUT"
        )
    );
    assert_eq!(
        lines[head + 2],
        "      tcp/9669 now admitted from any address, was 10.0.0.0/8"
    );
    assert_eq!(
        lines[head + 3],
        format!(
            "      caused by the changed rule filter/INPUT #6 at {ZVM_FROM_ANY}:11: {ACCEPT_9669_FROM_ANY}"
        )
    );
    assert_eq!(
        lines[head + 4],
        format!("        was filter/INPUT #6 at line 11: {ACCEPT_9669_FROM_10}")
    );
    assert!(
        text.contains("2 flows admitted from more sources, 0 from fewer;"),
        "{text}"
    );
    assert!(!text.contains("breaks a required flow"), "{text}");
}

#[test]
fn restoring_the_source_match_on_9669_is_reported_narrowed_to_10_0_0_0_8_and_exits_zero() {
    let mut args = vec![ZVM_FROM_ANY, ZVM_FROM_10, "--fail-on", "warning"];
    args.extend(ZVM);
    let (v, code) = diff_json(&args, None);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["flows_changed"], serde_json::json!([]));
    let changed = v["admitted_changed"].as_array().expect("admitted_changed");
    let mut reqs: Vec<&str> = changed
        .iter()
        .map(|f| f["requirement"].as_str().unwrap())
        .collect();
    reqs.sort();
    assert_eq!(reqs, INBOUND_9669, "{changed:#?}");
    for f in changed {
        assert_eq!(f["change"], "admitted-narrowed");
        assert_eq!(f["old_status"], "allowed");
        assert_eq!(f["new_status"], "allowed");
        let a = &f["admitted"];
        assert_eq!(a["change"], "narrowed");
        assert_eq!(
            a["message"],
            "tcp/9669 no longer admitted from any address, now only from 10.0.0.0/8"
        );
        assert_eq!(a["new_sources"], serde_json::json!(["10.0.0.0/8"]));
        assert_eq!(a["old_any_address"], true);
        assert_eq!(a["new_any_address"], false);
        assert_eq!(a["added_sources"], serde_json::json!([]));
        let removed = a["removed_sources"].as_array().unwrap();
        assert!(removed.contains(&serde_json::json!("11.0.0.0/8")));
        assert!(removed.contains(&serde_json::json!("128.0.0.0/1")));
        assert!(!removed
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("10.")
                || c.as_str().unwrap().starts_with("127.")));
        let cause = &f["caused_by"];
        assert_eq!(cause.as_array().map(Vec::len), Some(1), "{cause:#}");
        assert_eq!(cause[0]["change"], "changed");
        assert_eq!(cause[0]["line"], 11);
        assert_eq!(cause[0]["text"], ACCEPT_9669_FROM_10);
        assert_eq!(cause[0]["old_text"], ACCEPT_9669_FROM_ANY);
    }
    assert_eq!(v["summary"]["admitted_changed"]["narrowed"], 2);
    assert!(v["findings_fixed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "Z201"));
    assert_eq!(v["findings_added"], serde_json::json!([]));

    let (text, code) = diff_zvm_human(ZVM_FROM_ANY, ZVM_FROM_10, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("\nadmitted from fewer sources (2):\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "      tcp/9669 no longer admitted from any address, now only from 10.0.0.0/8\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "      caused by the changed rule filter/INPUT #6 at {ZVM_FROM_10}:11: {ACCEPT_9669_FROM_10}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("0 flows admitted from more sources, 2 from fewer;"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_two() {
    let code = |args: &[&str]| {
        portolan()
            .arg("diff")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    // one path only
    let mut args = vec![OLD];
    args.extend(VRA);
    assert_eq!(code(&args), Some(2));
    // a file against a directory
    let mut args = vec![OLD, "fixtures/iptables/diff"];
    args.extend(VRA);
    assert_eq!(code(&args), Some(2));
    // a missing file
    let mut args = vec![OLD, "fixtures/iptables/diff/missing.rules"];
    args.extend(VRA);
    assert_eq!(code(&args), Some(2));
    // not a firewall export
    let mut args = vec![OLD, "Cargo.toml"];
    args.extend(VRA);
    assert_eq!(code(&args), Some(2));
    // no role or inventory
    assert_eq!(code(&[OLD, NEW, "--env", "vsphere"]), Some(2));
}

fn git_available() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every file under `dir` (the `.git` directory too) with its contents.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn git_mode_compares_the_working_tree_with_a_revision_and_leaves_the_repository_alone() {
    if !git_available() {
        eprintln!("skipped: `git` is not on PATH");
        return;
    }
    let repo = tempdir();
    let tmp = tempdir();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(&repo)
            .args([
                "-c",
                "user.name=Portolan Test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::create_dir_all(repo.join("fw")).unwrap();
    std::fs::copy(OLD, repo.join("fw/vra.rules")).unwrap();
    git(&["add", "fw/vra.rules"]);
    git(&["commit", "-q", "-m", "the VRA firewall"]);
    std::fs::copy(NEW, repo.join("fw/vra.rules")).unwrap();
    let before = snapshot(&repo);

    let mut cmd = portolan();
    let out = cmd
        .current_dir(&repo)
        .env("TMPDIR", &tmp)
        .args(["diff", "--git", "HEAD", "fw/vra.rules"])
        .args(VRA)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let flows = changed(&v);
    assert!(!flows.is_empty());
    assert!(flows
        .iter()
        .all(|f| f["requirement"] == "vsphere.vra-vra-4008"
            && f["change"] == "newly-blocked"
            && f["firewall"] == "fw/vra.rules"));
    assert_eq!(flows[0]["caused_by"][0]["line"], 13);
    assert_eq!(v["rules_added"].as_array().unwrap().len(), 1);

    // the whole work tree from a subdirectory, human output
    let out = portolan()
        .current_dir(repo.join("fw"))
        .env("TMPDIR", &tmp)
        .args(["diff", "--git", "HEAD"])
        .args(VRA)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fw/vra.rules:13"), "{text}");

    // the repository is as it was, and the copies of the old versions are gone
    assert_eq!(snapshot(&repo), before);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);

    // a revision that does not exist: exit 2
    let out = portolan()
        .current_dir(&repo)
        .env("TMPDIR", &tmp)
        .args(["diff", "--git", "no-such-rev"])
        .args(VRA)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

/// `portolan diff OLD NEW --format FORMAT` from the crate root: (stdout, exit code).
fn diff_as(format: &str) -> (String, i32) {
    let out = portolan()
        .args(["diff", OLD, NEW])
        .args(VRA)
        .args(["--format", format])
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn diff_as_markdown_names_the_newly_blocked_flow_and_its_cause() {
    let (md, code) = diff_as("markdown");
    assert_eq!(code, 1);
    assert!(md.starts_with("## Portolan diff: `fixtures/iptables/diff/old.rules` → `fixtures/iptables/diff/new.rules`"), "{md}");
    assert!(md.contains("**FAIL: "), "{md}");
    assert!(
        md.contains("| ❌ newly blocked | `vsphere.vra-vra-4008`"),
        "{md}"
    );
    assert!(md.len() < 65_536);
}

#[test]
fn diff_as_sarif_validates_and_points_at_the_new_rule() {
    let (out, code) = diff_as("sarif");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = v["runs"][0]["results"].as_array().unwrap();
    let z101: Vec<_> = results.iter().filter(|r| r["ruleId"] == "Z101").collect();
    assert!(!z101.is_empty(), "{results:#?}");
    for r in z101 {
        assert_eq!(r["level"], "error");
        assert!(r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("vsphere.vra-vra-4008"));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], NEW);
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(loc["region"]["startLine"].as_u64().unwrap() > 0);
    }
}

#[test]
fn diff_as_github_annotations_start_with_a_summary_then_errors() {
    let (out, code) = diff_as("github");
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("::notice title=Portolan diff::FAIL: "),
        "{out}"
    );
    assert!(
        lines[1].starts_with(&format!("::error file={NEW},line=")),
        "{out}"
    );
    assert!(out.contains("vsphere.vra-vra-4008"));
}
