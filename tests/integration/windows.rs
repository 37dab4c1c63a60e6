//! Windows Defender Firewall exports through the binary.

use super::{audit_json, findings, portolan};

fn statuses(v: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["requirement"].as_str().unwrap().to_string(),
                f["direction"].as_str().unwrap().to_string(),
                f["policy"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn utf16_netsh_block_rule_on_9081_wins_over_the_allow() {
    let (v, code) = audit_json(&[
        "--env",
        "hyperv",
        "--role",
        "zvm",
        "fixtures/windows/zvm-netsh-block-9081.utf16le.txt",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["files"][0]["format"], "windows-netsh");
    let inbound: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["requirement"] == "hyperv.zvm-zvm-9081" && f["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 3, "one per profile");
    for f in inbound {
        assert_eq!(f["status"], "blocked");
        assert_eq!(
            f["deciding"][0]["line"], 141,
            "the block rule's block in the decoded text"
        );
        assert_eq!(f["deciding"][0]["action"], "drop");
    }
    // the error is the 9081 one; its help speaks Windows
    let z101: Vec<_> = findings(&v, "Z101")
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(!z101.is_empty());
    assert!(z101
        .iter()
        .all(|f| f["requirement"] == "hyperv.zvm-zvm-9081"));
    assert!(z101[0]["help"]
        .as_str()
        .unwrap()
        .contains("block rules win"));
    // other Zerto ports stay allowed
    let ok = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "hyperv.admin-client-zvm-9669")
        .unwrap();
    assert_eq!(ok["status"], "allowed");
}

#[test]
fn netsh_powershell_json_and_registry_exports_agree() {
    let run = |f: &str| audit_json(&["--env", "hyperv", "--role", "zvm", f]).0;
    let netsh = run("fixtures/windows/zvm-netsh-block-9081.utf16le.txt");
    let ps = run("fixtures/windows/zvm-rules.ps.json");
    let reg = run("fixtures/windows/zvm-rules.reg");
    assert_eq!(ps["files"][0]["format"], "windows-powershell");
    assert_eq!(reg["files"][0]["format"], "windows-registry");
    let n = statuses(&netsh);
    assert!(n.len() > 30);
    assert_eq!(n, statuses(&ps));
    assert_eq!(n, statuses(&reg));
}

#[test]
fn profile_flag_picks_the_active_profile() {
    let (v, _) = audit_json(&[
        "--env",
        "hyperv",
        "--role",
        "zvm",
        "--profile",
        "domain",
        "fixtures/windows/zvm-rules.reg",
    ]);
    let policies: std::collections::BTreeSet<&str> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        policies.into_iter().collect::<Vec<_>>(),
        vec!["Domain profile/Inbound", "Domain profile/Outbound"]
    );
}

#[test]
fn a_disabled_allow_rule_is_named_as_the_fix() {
    let dir = super::cli::tempdir();
    let p = dir.join("rules.txt");
    std::fs::write(
        &p,
        "v2.30|Action=Allow|Active=FALSE|Dir=In|Protocol=6|LPort=9669|RA4=10.0.0.0/255.0.0.0|Name=Zerto GUI (TCP-In)|\r\n\
         v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=4005|LPort=4006|LPort=4009|Name=Zerto VRA (TCP-In)|\r\n",
    )
    .unwrap();
    let (v, code) = audit_json(&[
        "--env",
        "hyperv",
        "--role",
        "zvm",
        "--profile",
        "domain",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let z101 = findings(&v, "Z101")
        .into_iter()
        .find(|f| f["requirement"] == "hyperv.admin-client-zvm-9669")
        .expect("9669 is blocked: its rule is disabled");
    let help = z101["help"].as_str().unwrap();
    assert!(
        help.contains("enabling the disabled rule `Zerto GUI (TCP-In)"),
        "{help}"
    );
}

#[test]
fn hyperv_host_reaches_the_zvm_on_9669() {
    let (v, code) = audit_json(&[
        "--env",
        "hyperv",
        "--role",
        "hyperv-host",
        "fixtures/windows/hyperv-host-netsh.txt",
    ]);
    assert_ne!(code, 2);
    let f: Vec<_> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["requirement"] == "hyperv.hyperv-host-zvm-9669")
        .collect();
    assert_eq!(f.len(), 3);
    assert!(f
        .iter()
        .all(|f| f["direction"] == "outbound" && f["status"] == "allowed"));
}

#[test]
fn windows_corpus_reads_with_no_z001_and_non_english_netsh_is_z003() {
    for name in ["Win10Firewall.wfw", "ad-firewall-inbound-builtin-rules.csv"] {
        let p = format!("fixtures/windows/corpus/{name}");
        let (v, code) = audit_json(&["--env", "hyperv", "--role", "zvm", &p]);
        assert_ne!(code, 2, "{p}");
        assert!(findings(&v, "Z001").is_empty(), "{p}: {:#}", v["findings"]);
    }
    // the hive says the firewall is off in every profile: every port is reachable
    let (v, _) = audit_json(&[
        "--env",
        "hyperv",
        "--role",
        "zvm",
        "fixtures/windows/corpus/Win10Firewall.wfw",
    ]);
    assert_eq!(v["files"][0]["format"], "windows-wfw");
    assert!(!findings(&v, "Z202").is_empty());
    // a German netsh export is refused, not mis-read
    let dir = super::cli::tempdir();
    let de = dir.join("regeln.txt");
    std::fs::write(
        &de,
        "\r\nRegelname:                            Zerto\r\n----------------------------------------------------------------------\r\nAktiviert:                            Ja\r\nRichtung:                             Eingehend\r\nProfile:                              Domäne,Privat,Öffentlich\r\nLokaler Port:                         9669\r\nAktion:                               Zulassen\r\nOK.\r\n",
    )
    .unwrap();
    let out = portolan()
        .args([
            "audit",
            "--env",
            "hyperv",
            "--role",
            "zvm",
            "--format",
            "json",
            de.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let z003 = findings(&v, "Z003");
    assert_eq!(z003.len(), 1);
    assert!(
        z003[0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("german"),
        "{:#}",
        z003[0]
    );
}
