//! Typed, validated facts (issue 18, item 4): an unknown fact or a value of the wrong type is bad
//! usage (exit 2) naming the fact and what it takes, in `--set` and in the inventory's
//! `[facts]` alike; `portolan catalog --facts` lists every fact.

use super::{audit_json, cli::tempdir, flow, portolan};

const RULES: &str = "fixtures/iptables/zvm-allows-all.rules";

/// The four slips of the issue, each with what the message must say.
const SLIPS: &[(&str, &str, &[&str])] = &[
    ("vcd", "1", &["fact `vcd`", "true or false", "`1`"]),
    (
        "ltr",
        "maybe",
        &["fact `ltr`", "one of smb, nfs, none", "`maybe`"],
    ),
    (
        "zvm_verison",
        "10.0",
        &[
            "unknown fact `zvm_verison`",
            "did you mean `zvm_version`?",
            "catalog --facts",
        ],
    ),
    (
        "phase",
        "instal",
        &[
            "fact `phase`",
            "one of install, operate",
            "did you mean `install`?",
        ],
    ),
];

fn quick(extra: &[&str]) -> (Option<i32>, String) {
    let out = portolan()
        .args(["audit", "--env", "vsphere", "--role", "zvm", "-q", RULES])
        .args(extra)
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_wrong_set_is_bad_usage_naming_the_fact_and_what_it_takes() {
    for (key, value, needles) in SLIPS {
        let kv = format!("{key}={value}");
        let (code, err) = quick(&["--set", &kv]);
        assert_eq!(code, Some(2), "--set {kv}: {err}");
        assert!(err.contains(&format!("`--set {kv}`")), "{err}");
        for n in *needles {
            assert!(err.contains(n), "--set {kv}: missing {n:?} in {err}");
        }
    }
    // a version that is no version, a count that is no number, a family member of no role
    for (kv, needle) in [
        ("zvm_version=latest", "a version such as 10.0"),
        ("local_vras=many", "a whole number"),
        (
            "windows_zmv_program=x.exe",
            "did you mean `windows_zvm_program`?",
        ),
        ("peers=10.0.0.0/33", "fact `peers`"),
    ] {
        let (code, err) = quick(&["--set", kv]);
        assert_eq!(code, Some(2), "--set {kv}: {err}");
        assert!(
            err.contains(needle),
            "--set {kv}: missing {needle:?} in {err}"
        );
    }
    // `--peers` is the fact `peers`: its message names the option given
    let (code, err) = quick(&["--peers", "10.0.0.0/33"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`--peers 10.0.0.0/33`: fact `peers` takes addresses"),
        "{err}"
    );
}

#[test]
fn the_same_slips_in_the_inventory_are_all_reported_at_once() {
    let d = tempdir();
    let mut facts = String::new();
    for (key, value, _) in SLIPS {
        // TOML types as a person would write them: a number, a word, a float, a word
        let v = match *key {
            "vcd" => value.to_string(),
            "zvm_verison" => value.to_string(),
            _ => format!("\"{value}\""),
        };
        facts.push_str(&format!("{key} = {v}\n"));
    }
    let inv = d.join("portolan.toml");
    std::fs::write(
        &inv,
        format!(
            "environment = \"vsphere\"\n\n[facts]\n{facts}\n[[site]]\nname = \"prod\"\n[site.roles]\nzvm = [\"10.10.0.10\"]\n"
        ),
    )
    .unwrap();
    let out = portolan()
        .args(["audit", "--inventory"])
        .arg(&inv)
        .arg(RULES)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("problem(s)"), "{err}");
    for (_, _, needles) in SLIPS {
        for n in *needles {
            assert!(err.contains(n), "missing {n:?} in {err}");
        }
    }
}

#[test]
fn valid_facts_still_decide_in_every_spelling() {
    // booleans in any case or as yes/no, versions with or without a minor, enums in any case
    let (v, code) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--set",
        "vcd=Yes",
        "--set",
        "ltr=NFS",
        "--set",
        "zvm_version=10",
        "--set",
        "peer_zvm_version=9.5",
        "--set",
        "phase=operate",
        RULES,
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        flow(&v, "vsphere.zvm-vcd-5672", "outbound")["conditional"],
        false
    );
    assert_eq!(
        flow(&v, "vsphere.zvm-zvm-9071", "inbound")["conditional"],
        false
    );
    let reqs: Vec<&str> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["requirement"].as_str())
        .collect();
    assert!(!reqs.contains(&"vsphere.zvm-esxi-22-install"));
    // an inventory whose facts are TOML booleans and strings is read as before
    let (v, _) = audit_json(&["--inventory", "fixtures/inventory/vsphere-two-sites.toml"]);
    assert!(v["flows"].as_array().is_some_and(|f| !f.is_empty()));
}

#[test]
fn catalog_facts_lists_every_fact_with_its_type_default_values_and_requirements() {
    let out = portolan().args(["catalog", "--facts"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "zvm_version  [version]",
        "ltr  [enum]",
        "takes:    one of smb, nfs, none",
        "phase  [enum]",
        "vcd  [bool]",
        "single_scvmm  [bool]",
        "default:  false (protected and recovery sites",
        "hyperv.zvm-zvm-9081",
        "local_vras  [count]",
        "ipsec  [bool]",
        "peers  [cidrs]",
        "ephemeral_ports  [ports]",
        "default:  1024-65535",
        "windows_<role>_program  [text]",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }

    let out = portolan()
        .args(["catalog", "--facts", "--format", "json", "--env", "hyperv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "portolan-facts/1");
    let facts = v["facts"].as_array().unwrap();
    let get = |name: &str| {
        facts
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no fact {name}"))
    };
    let scvmm = get("single_scvmm");
    assert_eq!(scvmm["type"], "bool");
    assert_eq!(scvmm["default"], "false");
    assert_eq!(scvmm["decides"], serde_json::json!(["hyperv.zvm-zvm-9081"]));
    let ltr = get("ltr");
    assert_eq!(ltr["values"], serde_json::json!(["smb", "nfs", "none"]));
    assert_eq!(ltr["default"], serde_json::Value::Null);
    // the requirements of another environment are left out
    assert!(get("zvm_version")["decides"]
        .as_array()
        .unwrap()
        .iter()
        .all(|id| id.as_str().is_some_and(|s| s.starts_with("hyperv."))));

    // where the requirement is shown, the default that decides it is said
    let out = portolan()
        .args(["catalog", "--env", "hyperv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not single_scvmm (by default single_scvmm=false)"),
        "{text}"
    );
}

#[test]
fn an_extra_catalogue_whose_condition_names_no_fact_is_refused() {
    let d = tempdir();
    let extra = d.join("extra.toml");
    std::fs::write(
        &extra,
        r#"
[[requirement]]
id = "vsphere.site-extra-1234"
environments = ["vsphere"]
ports = "1234"
protocol = "tcp"
from_role = "zvm"
to_role = "vcenter"
direction = "a-to-b"
condition = "zvm_verison >= 10.0"
purpose = "A site-specific flow."
source = "current.vsphere"
"#,
    )
    .unwrap();
    let out = portolan()
        .args(["catalog", "--catalog"])
        .arg(&extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("vsphere.site-extra-1234"), "{err}");
    assert!(err.contains("did you mean `zvm_version`?"), "{err}");

    // a [[fact]] row in the extra file makes it known
    std::fs::write(
        &extra,
        std::fs::read_to_string(&extra)
            .unwrap()
            .replace("zvm_verison", "site_tier")
            + "\n[[fact]]\nname = \"site_tier\"\ntype = \"version\"\nmeaning = \"Our own.\"\n",
    )
    .unwrap();
    let out = portolan()
        .args([
            "audit", "--env", "vsphere", "--role", "zvm", "--format", "json",
        ])
        .args(["--set", "site_tier=11", "--catalog"])
        .arg(&extra)
        .arg(RULES)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(
        flow(&v, "vsphere.site-extra-1234", "outbound")["conditional"],
        false,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
