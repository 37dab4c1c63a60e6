//! `portolan fix`: applying the generated iptables fixes makes the audit pass, and admits nothing
//! else.

use super::{audit_json, portolan};

type Key = (String, String, String, String);

fn flows(v: &serde_json::Value) -> Vec<(Key, String, bool)> {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let k = (
                f["requirement"].as_str().unwrap().to_string(),
                f["direction"].as_str().unwrap().to_string(),
                f["policy"].as_str().unwrap().to_string(),
                f["site"].as_str().unwrap_or("").to_string(),
            );
            (
                k,
                f["status"].as_str().unwrap().to_string(),
                f["conditional"] == true,
            )
        })
        .collect()
}

/// Audit `args` (naming the original files), fix into a temp dir, re-audit with `patched_args`
/// (produced from the temp dir), and compare.
fn check(args: &[&str], patched_args: impl Fn(&std::path::Path) -> Vec<String>) {
    let dir = super::cli::tempdir();
    let out = portolan()
        .arg("fix")
        .args(args)
        .args(["--write-patched", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (before, _) = audit_json(args);
    let pa = patched_args(&dir);
    let pa: Vec<&str> = pa.iter().map(|s| s.as_str()).collect();
    let (after, code) = audit_json(&pa);
    let b = flows(&before);
    let a = flows(&after);
    assert_eq!(b.len(), a.len(), "{args:?}: the same flows are audited");
    let mut fixed = 0;
    for ((kb, sb, cond), (ka, sa, _)) in b.iter().zip(&a) {
        assert_eq!(kb, ka);
        if (sb == "blocked" || sb == "partial") && !cond {
            assert_eq!(sa, "allowed", "{kb:?} was {sb} and should be fixed");
            fixed += 1;
        } else if sb == "allowed" || sb == "unknown" {
            assert_eq!(sa, sb, "{kb:?} changed although it needed no fix");
        }
    }
    assert!(fixed > 0, "{args:?}: the fixture has something to fix");
    assert_eq!(
        after["summary"]["findings"]["error"], 0,
        "{:#}",
        after["findings"]
    );
    assert_eq!(code, 0);
    // nothing that must stay closed was opened
    for code in ["Z202", "Z203"] {
        let n = |v: &serde_json::Value| {
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == code)
                .count()
        };
        assert_eq!(n(&before), n(&after), "{code}");
    }
}

#[test]
fn quick_mode_fixes_apply_and_pass() {
    check(
        &[
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "fixtures/iptables/zvm-drops-9669.rules",
        ],
        |d| {
            vec!["--env", "vsphere", "--role", "zvm"]
                .into_iter()
                .map(String::from)
                .chain([d.join("zvm-drops-9669.rules").display().to_string()])
                .collect()
        },
    );
    check(
        &[
            "--env",
            "vsphere",
            "--role",
            "vra",
            "fixtures/iptables/diff/new.rules",
        ],
        |d| {
            vec!["--env", "vsphere", "--role", "vra"]
                .into_iter()
                .map(String::from)
                .chain([d.join("new.rules").display().to_string()])
                .collect()
        },
    );
}

/// The inventory, rewritten to point at the patched copies.
fn moved_inventory(src: &str, dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(src)
        .unwrap()
        .replace("../iptables/", "");
    let p = dir.join("portolan.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn inventory_fixes_name_the_peers_and_pass() {
    for inv in [
        "fixtures/inventory/vsphere-two-sites.toml",
        "fixtures/inventory/vsphere-boundary.toml",
    ] {
        check(&["--inventory", inv], |d| {
            vec!["--inventory".to_string(), moved_inventory(inv, d)]
        });
    }
    let out = portolan()
        .args([
            "fix",
            "--inventory",
            "fixtures/inventory/vsphere-boundary.toml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = v["files"][0]["fixes"][0]["fix"]["lines"][0]
        .as_str()
        .unwrap();
    assert!(
        line.starts_with("-I FORWARD 3 -s 10.11.1.21/32 -d 10.10.1.21/32,10.10.1.22/32 -p tcp"),
        "{line}"
    );
}

#[test]
fn fixes_for_other_platforms_speak_their_language() {
    let out = portolan()
        .args([
            "fix",
            "--env",
            "azure",
            "--role",
            "zca",
            "--format",
            "json",
            "fixtures/terraform/zca-azure-plan.json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fix = &v["files"][0]["fixes"][0]["fix"];
    assert_eq!(fix["platform"], "azure");
    assert!(fix["lines"][0]
        .as_str()
        .unwrap()
        .starts_with("az network nsg rule create"));
    let out = portolan()
        .args([
            "fix",
            "--env",
            "aws",
            "--role",
            "zca",
            "fixtures/aws/zca-sg-missing-4008.json",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("aws ec2 authorize-security-group-ingress --group-id sg-07e3f19a2b4c5d6e8"));
}
