//! Issue 18: the MSP table as the seed writes it, audited per site.
//!
//! What the verdicts rest on (the seed's MSP table, `../shared/seeds/zerto-ports-current.txt`):
//! - 9082 and up: two ports per VRA at the Zerto Cloud Connector, counted from 9082, per
//!   direction: the VRAs of one side need two ports per VRA of the side they reach. With the
//!   cloud at 4 VRAs, customer A at 3 and B at 2: the cloud's VRAs need 9082-9087 (A's 3) and
//!   9082-9085 (B's 2), so 9082-9087 from the cloud's VRAs; A's and B's VRAs need 9082-9089 (the
//!   cloud's 4);
//! - 22 between the ZVM of the cloud site (not a customer's) and the ZCC; 9081 between a
//!   customer's ZVM and the ZCC;
//! - 9080 is for DRaaS customers only, not ICDR; 9081 must not be changed for DRaaS;
//! - 8100 to SCVMM at a customer site running Hyper-V; the ESXi, vCenter and vCloud Director
//!   rows are vSphere's.

use super::{audit_json, findings, portolan};
use serde_json::Value;

fn inventory(path: &str) -> (Value, i32) {
    audit_json(&["--inventory", path])
}

/// The standard error of an audit of an inventory refused as bad usage (exit 2).
fn refused(path: &str) -> String {
    let out = portolan()
        .args(["audit", "--inventory", path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{path}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (requirement, direction, site, ports, status) of every flow.
fn rows(v: &Value) -> Vec<(String, String, String, String, String)> {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (
                s("requirement"),
                s("direction"),
                s("site"),
                s("ports"),
                s("status"),
            )
        })
        .collect()
}

fn range_flows(v: &Value) -> Vec<(String, String, String)> {
    rows(v)
        .into_iter()
        .filter(|r| r.0 == "msp.vra-zcc-9082")
        .map(|r| (r.2, r.3, r.4))
        .collect()
}

fn owned(x: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    x.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn the_seeds_worked_example_passes_with_exactly_its_ports() {
    let (v, code) = inventory("fixtures/msp/seed-example.toml");
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert_eq!(
        range_flows(&v),
        owned(&[
            ("cloud", "9082-9087", "allowed"),
            ("customer-a -> cloud", "9082-9089", "allowed"),
            ("customer-b -> cloud", "9082-9089", "allowed"),
        ])
    );
}

#[test]
fn a_zcc_missing_9088_9089_from_customer_a_fails_naming_them() {
    for inv in [
        "fixtures/msp/seed-example-missing.toml",
        // the same, the VRAs given as subnets and the counts as `vra_count`
        "fixtures/msp/seed-example-counts.toml",
    ] {
        let (v, code) = inventory(inv);
        assert_eq!(code, 1, "{inv}");
        assert_eq!(
            range_flows(&v),
            owned(&[
                ("cloud", "9082-9087", "allowed"),
                ("customer-a -> cloud", "9082-9089", "partial"),
                ("customer-b -> cloud", "9082-9089", "allowed"),
            ]),
            "{inv}"
        );
        let z102 = findings(&v, "Z102");
        assert_eq!(z102.len(), 1, "{inv}");
        assert!(
            z102[0]["message"]
                .as_str()
                .unwrap()
                .ends_with("is allowed only on some ports: tcp/9088-9089 denied (to every peer)"),
            "{}",
            z102[0]["message"]
        );
    }
}

#[test]
fn site_kinds_decide_22_and_9081_at_the_zcc() {
    let (v, _) = inventory("fixtures/msp/seed-example.toml");
    let sites = |req: &str| {
        let mut s: Vec<String> = rows(&v)
            .into_iter()
            .filter(|r| r.0 == req && r.1 == "inbound")
            .map(|r| r.2)
            .collect();
        s.sort();
        s
    };
    // 22: the cloud ZVM only; 9081: the customers' ZVMs only
    assert_eq!(sites("msp.zvm-zcc-22"), ["cloud"]);
    assert_eq!(
        sites("msp.zvm-zcc-9081"),
        ["customer-a -> cloud", "customer-b -> cloud"]
    );
}

#[test]
fn quick_mode_without_counts_requires_one_vras_ports_and_names_the_fact() {
    let (v, _) = audit_json(&[
        "--env",
        "msp",
        "--role",
        "zcc",
        "fixtures/msp/zcc-seed-ports.rules",
    ]);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "msp.vra-zcc-9082")
        .unwrap();
    assert_eq!(f["ports"], "9082-9083");
    assert!(f["assumes"][0]
        .as_str()
        .unwrap()
        .contains("set `local_vras` or `remote_vras`"));
    // a ZCC dropping all of 9082+ is an error, not a warning
    let (v, code) = audit_json(&[
        "--env",
        "msp",
        "--role",
        "zcc",
        "fixtures/msp/zvm-9080-open.rules",
    ]);
    assert_eq!(code, 1);
    assert!(findings(&v, "Z101")
        .iter()
        .any(|f| f["requirement"] == "msp.vra-zcc-9082"));
    // with the counts: the larger side decides at the ZCC
    let (v, _) = audit_json(&[
        "--env",
        "msp",
        "--role",
        "zcc",
        "--set",
        "local_vras=4",
        "--set",
        "remote_vras=3",
        "fixtures/msp/zcc-seed-ports.rules",
    ]);
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "msp.vra-zcc-9082")
        .unwrap();
    assert_eq!(f["ports"], "9082-9089");
    assert!(f.get("assumes").is_none());
}

#[test]
fn icdr_mode_with_9080_open_to_anyone_is_a_finding_draas_is_not() {
    let z203 = |mode: &str| {
        let (v, _) = audit_json(&[
            "--env",
            "msp",
            "--role",
            "zvm",
            "--set",
            &format!("mode={mode}"),
            "fixtures/msp/zvm-9080-open.rules",
        ]);
        findings(&v, "Z203")
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let icdr = z203("icdr");
    assert_eq!(icdr.len(), 1, "{icdr:?}");
    assert!(icdr[0].starts_with("tcp/9080 is not needed by Zerto when mode == 'icdr' but is open"));
    assert!(z203("draas").is_empty());
}

#[test]
fn moving_9081_when_providing_draas_is_an_inventory_error() {
    let err = refused("fixtures/msp/draas-9081-moved.toml");
    assert!(
        err.contains("[ports] zvm_pairing moves 9081, which must stay 9081 when the service provider offers DRaaS"),
        "{err}"
    );
}

#[test]
fn a_hyperv_customer_site_needs_scvmm_not_the_vsphere_rows() {
    let (v, _) = inventory("fixtures/msp/hyperv-customer.toml");
    let reqs = |site: &str| {
        let mut r: Vec<String> = rows(&v)
            .into_iter()
            .filter(|r| r.2 == site && r.1 == "outbound")
            .map(|r| r.0)
            .collect();
        r.dedup();
        r
    };
    let hyperv = reqs("customer-h");
    let cloud = reqs("cloud");
    for vsphere_only in [
        "msp.zvm-esxi-22-install",
        "msp.zvm-esxi-443-install",
        "msp.zvm-vcenter-443",
        "msp.zvm-vcd-443",
        "msp.zvm-vcd-5672",
    ] {
        assert!(!hyperv.iter().any(|r| r == vsphere_only), "{vsphere_only}");
        assert!(cloud.iter().any(|r| r == vsphere_only), "{vsphere_only}");
    }
    assert!(hyperv.iter().any(|r| r == "msp.zvm-scvmm-8100"));
    assert!(!cloud.iter().any(|r| r == "msp.zvm-scvmm-8100"));
    // 22 to the ZCC from the cloud's ZVM, 9081 from the customer's
    assert!(cloud.iter().any(|r| r == "msp.zvm-zcc-22"));
    assert!(!hyperv.iter().any(|r| r == "msp.zvm-zcc-22"));
    assert!(hyperv.iter().any(|r| r == "msp.zvm-zcc-9081"));
    assert!(!cloud.iter().any(|r| r == "msp.zvm-zcc-9081"));
}

/// Issue 18, item 4's last clause: a default that decides a requirement is said where the
/// requirement is shown. Hyper-V 9081 is needed unless one SCVMM manages both sites
/// (`not single_scvmm`), and `single_scvmm` is false by default: the flow says so; stating the
/// fact removes the note (and `true` removes the flow).
#[test]
fn a_default_that_decides_a_requirement_is_said_on_its_flow() {
    let run = |extra: &[&str]| {
        let mut args = vec!["--env", "hyperv", "--role", "zvm"];
        args.extend_from_slice(extra);
        args.push("fixtures/msp/zvm-9080-open.rules");
        audit_json(&args).0
    };
    let assumes = |v: &Value| -> Vec<String> {
        v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["requirement"] == "hyperv.zvm-zvm-9081")
            .flat_map(|f| f["assumes"].as_array().cloned().unwrap_or_default())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let v = run(&[]);
    let a = assumes(&v);
    assert_eq!(a.len(), 2, "inbound and outbound: {a:?}");
    assert!(a[0].starts_with("needed because `single_scvmm` is false by default"));
    let v = run(&["--set", "single_scvmm=true"]);
    assert!(!v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["requirement"] == "hyperv.zvm-zvm-9081"));
}

/// `[site.facts]` are typed like `[facts]`: each bad value is an error at its place, exit 2.
#[test]
fn site_facts_are_checked_like_facts() {
    let err = refused("fixtures/msp/bad-site-facts.toml");
    assert!(
        err.contains("fact `hypervisor` takes one of vsphere, hyperv, not `hyper-v` (did you mean `hyperv`?)"),
        "{err}"
    );
    assert!(
        err.contains("fact `vcd` takes true or false (or yes/no), not `1`"),
        "{err}"
    );
}

/// The boundary between customer A and the cloud (its edge's FORWARD chain): 9081 between
/// the customer's ZVM and the ZCC crosses it, 22 (the cloud's own ZVM to the ZCC) does not;
/// A's VRAs reach the ZCC on 9082-9089 (the cloud's 4 VRAs).
#[test]
fn a_customer_cloud_boundary_carries_9081_not_22() {
    let (v, _) = inventory("fixtures/msp/boundary-customer-a.toml");
    let r = rows(&v);
    assert!(!r.iter().any(|x| x.0 == "msp.zvm-zcc-22"), "{r:#?}");
    let z9081: Vec<_> = r
        .iter()
        .filter(|x| x.0 == "msp.zvm-zcc-9081")
        .map(|x| (x.2.as_str(), x.4.as_str()))
        .collect();
    // the customer's ZVM opens it (allowed); the ZCC may open it too ("between"), which the
    // edge drops
    assert_eq!(
        z9081,
        [
            ("customer-a -> cloud", "allowed"),
            ("cloud -> customer-a", "blocked")
        ]
    );
    assert_eq!(
        range_flows(&v),
        owned(&[("customer-a -> cloud", "9082-9089", "allowed")])
    );
}
