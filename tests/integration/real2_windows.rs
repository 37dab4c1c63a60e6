//! The Windows files of `../shared/corpus/real2/windows/` (copied byte for byte into
//! `fixtures/real2/windows/`) and hand-made fixtures written the way Windows writes them
//! (`fixtures/windows/handmade/`), audited through the binary as a ZVM host (`--role zvm`).
//!
//! How the expected verdicts were worked out by hand, from Microsoft's documentation of Windows
//! Defender Firewall ([MS-FASP] 2.2.34 FW_RULE_ACTION and 2.2.37 FW_RULE; "Windows Firewall
//! rules" on learn.microsoft.com; `Set-NetFirewallProfile`):
//! - among the enabled rules of the active profile, a block rule wins over any allow rule; an
//!   allow rule admits what no block rule takes; what no rule matches gets the profile's default
//!   action (`DefaultInboundAction` 1 = block, `DefaultOutboundAction` 0 = allow; when the
//!   export does not say, the Windows defaults: inbound block, outbound allow);
//! - disabled rules (`Active=FALSE`, netsh `Enabled: No`) do nothing;
//! - a rule applies in the profiles it lists (`Profile=`, netsh `Profiles:`), all three when it
//!   lists none; Portolan reports each profile's flow, named `<Profile> profile/Inbound`;
//! - a rule with `App=`, `Svc=` or `AppPkgId=` matches only the traffic of that program,
//!   service or Store app package: a Zerto service's traffic is not Greenshot's, svchost's or a
//!   Store app's, so those rules do nothing to a Zerto flow; a rule for the ZVM's own program,
//!   or for `Svc=*`, may match it and leaves the flow unknown.

use super::{audit_json, findings, flow};

const REAL: &str = "fixtures/real2/windows";

fn zvm(path: &str, extra: &[&str]) -> (serde_json::Value, i32) {
    let mut args = vec!["--env", "vsphere", "--role", "zvm"];
    args.extend_from_slice(extra);
    args.push(path);
    audit_json(&args)
}

/// Every flow of a requirement and direction, one per profile: (policy, status).
fn per_profile(v: &serde_json::Value, req: &str, dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["requirement"] == req && f["direction"] == dir)
        .map(|f| {
            (
                f["policy"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The rules set aside for one flow (requirement, policy), as `label: why` lines.
fn set_aside_of<'v>(v: &'v serde_json::Value, req: &str, policy: &str) -> Vec<&'v str> {
    let f = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == req && f["policy"] == policy)
        .unwrap();
    f["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn statuses(v: &serde_json::Value, dir: &str) -> Vec<String> {
    let mut s: Vec<String> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["direction"] == dir)
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s.dedup();
    s
}

#[test]
fn every_real2_windows_file_is_read_without_parse_errors() {
    let mut n = 0;
    for e in std::fs::read_dir(REAL).unwrap() {
        let p = e.unwrap().path();
        let (v, _) = zvm(p.to_str().unwrap(), &[]);
        assert!(findings(&v, "Z001").is_empty(), "{}: {v}", p.display());
        assert!(findings(&v, "Z003").is_empty(), "{}", p.display());
        assert!(
            !v["flows"].as_array().unwrap().is_empty(),
            "{}",
            p.display()
        );
        n += 1;
    }
    assert_eq!(n, 3);
}

/// Class 3 on a real file: `netsh advfirewall export` of a Windows 10 VM (452 rule strings,
/// 84 Store-app rules with AppPkgId + LUOwn + Platform, program- and service-scoped rules). By
/// hand: no enabled inbound rule that could carry a Zerto service's traffic names a Zerto port
/// (the WinRM rules are 5985, the Puppet `winrm` rule too; every other TCP allow without a port
/// is scoped to a Store app, to another program (ruby.exe, svchost.exe, RdpSa.exe, WUDFHost.exe)
/// or to the System process), and no profile key is in the hive: the Windows default inbound
/// block decides the inbound Zerto flows, the default outbound allow the outbound ones.
///
/// The enabled inbound `App=System` allows are all tied to one Windows feature's traffic by a
/// keyword the firewall resolves at run time ([MS-FASP] 2.2.x port keywords, trust-tuple
/// keywords): `NETDIS-UPnPHost-In-TCP-Teredo` (`TTK2_27=UPnP`, no port), `CoreNet-IPHTTPS-In`
/// (`LPort2_10=IPTLSIn`, `IPHTTPSIn`: the IP-HTTPS listener's ports), the Wi-Fi Direct driver
/// rules (`TTK2_27=WFDKmDriver`). A Zerto port is the Zerto component's socket, not that
/// feature's, and its peers are Zerto hosts, not ones the feature discovered: those rules are set
/// aside like another program's, and the defaults decide. Stating the ZVM's program changes
/// nothing here.
#[test]
fn real_wfw_is_decided_and_says_which_rules_it_set_aside() {
    let file = format!("{REAL}/puppet-fwpolicy_full.wfw");
    let (default, _) = zvm(&file, &[]);
    let (v, _) = zvm(
        &file,
        &["--set", "windows_zvm_program=Zerto.Zvm.Service.exe"],
    );
    for v in [&default, &v] {
        assert_eq!(statuses(v, "inbound"), ["blocked"]);
        assert_eq!(statuses(v, "outbound"), ["allowed"]);
        assert!(findings(v, "Z103").is_empty());
    }
    let f = flow(&default, "vsphere.zvm-zvm-9081", "inbound");
    let aside: Vec<&str> = f["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in [
        "CoreNet-IPHTTPS-In in (allow): the local port keyword `IPTLSIn`, `IPHTTPSIn` ties it to that Windows feature's own traffic",
        "WiFiDirect-KM-Driver-In-TCP in (allow): the trust-tuple keyword `WFDKmDriver` ties it",
    ] {
        assert!(aside.iter().any(|s| s.starts_with(want)), "{want}: {aside:#?}");
    }
    assert_eq!(v["files"][0]["format"], "windows-wfw");
    let f = flow(&v, "vsphere.zvm-zvm-9081", "inbound");
    assert_eq!(f["deciding"].as_array().unwrap().len(), 1);
    assert!(f["deciding"][0]["rule"]
        .as_str()
        .unwrap()
        .contains("default inbound action"));
    // it says which rules it did not count, and why
    let aside: Vec<&str> = f["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(aside
        .iter()
        .any(|s| s.starts_with("Xbox in (allow): scoped to the Store app package S-1-15-2-")));
    // the Ruby interpreter's rule (a firewall prompt's answer) is a Public-profile rule
    let public = set_aside_of(&v, "vsphere.zvm-zvm-9081", "Public profile/Inbound");
    assert!(public
        .iter()
        .any(|s| s.contains(r"C:\tools\ruby24\bin\ruby.exe, not ")));
    // the UPnP host rule over Teredo: `App=System`, no port, and the `UPnP` trust tuple
    assert!(public.iter().any(|s| s.starts_with(
        "NETDIS-UPnPHost-In-TCP-Teredo in (allow): the trust-tuple keyword `UPnP` ties it"
    )));
    // named by the profile each
    assert_eq!(
        per_profile(&v, "vsphere.zvm-zvm-9081", "inbound")
            .into_iter()
            .map(|x| x.0)
            .collect::<Vec<_>>(),
        [
            "Domain profile/Inbound",
            "Private profile/Inbound",
            "Public profile/Inbound"
        ]
    );
}

/// Class 3 on a hand-made `reg export` (UTF-16LE + BOM), Domain profile inbound block:
/// - 9081: allowed only to the ZVM's own program (the catalogue's default identity): that rule
///   may match, so the flow is unknown; with `--set windows_zvm_program=...` naming another
///   program it is set aside and the default blocks it;
/// - 9080: allowed to Greenshot.exe only: set aside, blocked by the default;
/// - 4005: allowed to a Store app only: set aside, blocked;
/// - 4006: a Store app's block rule (set aside: it cannot take a Zerto service's packets) and
///   an unscoped allow: allowed — the block would have won were it for the Zerto program;
/// - 9180: svchost.exe's Dnscache service: set aside, blocked;
/// - 9071: four `Svc=*` allows (any service, perhaps the ZVM's): unknown, reported in one Z103
///   line per flow that counts them, not one Z002 per rule.
#[test]
fn handmade_reg_scoped_rules_against_the_zvm_identity() {
    let path = "fixtures/windows/handmade/zvm-scoped-rules.utf16.reg";
    let (v, _) = zvm(path, &[]);
    let dom = |req: &str| {
        per_profile(&v, req, "inbound")
            .into_iter()
            .find(|(p, _)| p.starts_with("Domain"))
            .unwrap()
            .1
    };
    assert_eq!(dom("vsphere.zvm-zvm-9081"), "unknown");
    assert_eq!(dom("vsphere.admin-client-zvm-9080"), "blocked");
    assert_eq!(dom("vsphere.zvm-vra-4005"), "blocked");
    assert_eq!(dom("vsphere.zvm-vra-4006"), "allowed");
    assert_eq!(dom("vsphere.zvm-vba-9180"), "blocked");
    assert_eq!(dom("vsphere.zvm-zvm-9071"), "unknown");
    let f = flow(&v, "vsphere.zvm-vra-4006", "inbound");
    assert_eq!(f["deciding"][0]["rule"], "Zerto VRA 4006 in (allow)");
    assert!(f["set_aside"][0]
        .as_str()
        .unwrap()
        .starts_with("Xbox in (block): scoped to the Store app package"));
    // one Z103 per flow summarising the four rules; no Z002 for each of them
    let z103: Vec<_> = findings(&v, "Z103")
        .into_iter()
        .filter(|f| f["requirement"] == "vsphere.zvm-zvm-9071")
        .collect();
    assert_eq!(z103.len(), 3, "one per profile");
    assert!(z103[0]["message"]
        .as_str()
        .unwrap()
        .contains("it depends on 4 undecidable rules (`Any service 9071 #0 in (allow)`"));
    assert!(z103[0]["labels"].as_array().unwrap().len() <= 3);
    assert!(!findings(&v, "Z002")
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("Any service 9071")));

    // the identity is a fact the user overrides: another program, and 9081's rule is set aside
    let (v, _) = zvm(
        path,
        &["--set", r"windows_zvm_program=D:\Zerto\bin\zvm-svc.exe"],
    );
    let f = per_profile(&v, "vsphere.zvm-zvm-9081", "inbound");
    assert!(f.iter().all(|(_, s)| s == "blocked"), "{f:?}");
    let f = flow(&v, "vsphere.zvm-zvm-9081", "inbound");
    assert!(f["set_aside"][0]
        .as_str()
        .unwrap()
        .contains(r"not D:\Zerto\bin\zvm-svc.exe"));
}

/// Class 5 on a real file: `reg export` with only the three profile keys (EnableFirewall=1,
/// DefaultInboundAction=1, DefaultOutboundAction=0) and no rules: by hand, every inbound flow is
/// blocked by its profile's stated default, every outbound one allowed.
#[test]
fn real_reg_with_profile_keys_only_is_decided_by_the_defaults() {
    let (v, code) = zvm(
        &format!("{REAL}/cyberpatriot-profiles-default-actions.utf16.reg"),
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(statuses(&v, "inbound"), ["blocked"]);
    assert_eq!(statuses(&v, "outbound"), ["allowed"]);
    for (profile, line) in [("Domain", 7), ("Private", 19), ("Public", 13)] {
        let f = v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["requirement"] == "vsphere.zvm-zvm-9081"
                    && f["policy"] == format!("{profile} profile/Inbound")
            })
            .unwrap();
        assert_eq!(
            f["deciding"][0]["rule"],
            format!("{profile} profile default inbound action (deny)")
        );
        // the DefaultInboundAction line of that profile's key in the decoded text
        assert_eq!(f["deciding"][0]["line"], line, "{profile}");
    }
}

/// Class 5 on a hand-made `.wfw` hive (regf, as `netsh advfirewall export` writes it when the
/// policy has no rules: the policy key with `PolicyVersion` and the three profile keys, no
/// `FirewallRules` key). Private (`StandardProfile`) has DefaultInboundAction=0 (allow), the
/// others 1 (block): inbound 9081 is allowed in Private only, outbound allowed everywhere.
#[test]
fn handmade_wfw_without_rules_is_read() {
    let (v, _) = zvm("fixtures/windows/handmade/handmade-profiles-only.wfw", &[]);
    assert!(findings(&v, "Z001").is_empty(), "{v}");
    assert_eq!(v["files"][0]["format"], "windows-wfw");
    assert_eq!(
        per_profile(&v, "vsphere.zvm-zvm-9081", "inbound"),
        [
            ("Domain profile/Inbound".to_string(), "blocked".to_string()),
            ("Private profile/Inbound".to_string(), "allowed".to_string()),
            ("Public profile/Inbound".to_string(), "blocked".to_string()),
        ]
    );
    assert_eq!(statuses(&v, "outbound"), ["allowed"]);
}

/// Class 9 on a real file: netsh `show rule name=all` of a Windows Server 2016 box (two
/// outbound allows UDP 53 and TCP 73,136, one inbound allow TCP 80,8080; no profile settings in
/// netsh output, so the Windows defaults). By hand: inbound Zerto flows blocked by the default,
/// outbound allowed by the default; each of the three flow records per requirement names its
/// profile.
#[test]
fn real_netsh_flows_name_their_profile() {
    let (v, _) = zvm(
        &format!("{REAL}/htb-ethereal-netsh-show-rule.DERIVED.txt"),
        &[],
    );
    assert_eq!(statuses(&v, "inbound"), ["blocked"]);
    assert_eq!(statuses(&v, "outbound"), ["allowed"]);
    let flows = per_profile(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(flows.len(), 3);
    for ((policy, _), name) in flows.iter().zip(["Domain", "Private", "Public"]) {
        assert_eq!(policy, &format!("{name} profile/Inbound"));
    }
    for z in findings(&v, "Z101") {
        let m = z["message"].as_str().unwrap();
        assert!(
            ["Domain profile", "Private profile", "Public profile"]
                .iter()
                .any(|p| m.contains(p)),
            "{m}"
        );
    }
}

/// Class 9 on hand-made files: Z201 names the profiles in which the port is open to the world,
/// once for the profiles where the same rule opens it: the unscoped `Zerto API 9669` allow is
/// in all three: one finding, not three.
#[test]
fn handmade_z201_names_the_profiles_once() {
    let (v, _) = zvm("fixtures/windows/handmade/zvm-scoped-rules.utf16.reg", &[]);
    let z201: Vec<&str> = findings(&v, "Z201")
        .into_iter()
        .map(|f| f["message"].as_str().unwrap())
        .filter(|m| m.contains("tcp/9669"))
        .collect();
    assert_eq!(z201.len(), 1, "{z201:#?}");
    assert!(
        z201[0].contains("of this zvm in the Domain, Private and Public profiles to every public"),
        "{}",
        z201[0]
    );
}

/// Class 3, keyword-scoped rules, on a hand-made `reg export` (UTF-16LE + BOM, CRLF) of rule
/// strings as Windows writes its built-in rules. Domain profile inbound block. By hand:
/// - `LPort=RPC` (the ports the RPC endpoint mapper hands out), the UPnP host rule (`App=System`,
///   `TTK2_27=UPnP`, Public only) and IP-HTTPS (`LPort2_10=IPTLSIn|IPHTTPSIn`, `App=System`)
///   admit only that Windows feature's traffic: a Zerto port is the ZVM's socket, so they are
///   set aside and the default inbound block decides every inbound flow of Domain and Public;
/// - `LPort=RPC|LPort=9081` (Private only) also admits 9081, anyone's: a number beside a keyword
///   keeps the keyword's run-time ports in the rule, so in Private every inbound flow stays
///   unknown, and the reason names that rule.
#[test]
fn handmade_keyword_scoped_rules_are_a_windows_features_traffic() {
    let (v, _) = zvm(
        "fixtures/windows/handmade/keyword-scoped-rules.utf16.reg",
        &[],
    );
    for (req, _) in [("vsphere.zvm-zvm-9081", ()), ("vsphere.zvm-vra-4005", ())] {
        let got = per_profile(&v, req, "inbound");
        assert_eq!(
            got,
            [
                ("Domain profile/Inbound".to_string(), "blocked".to_string()),
                ("Private profile/Inbound".into(), "unknown".into()),
                ("Public profile/Inbound".into(), "blocked".into()),
            ],
            "{req}"
        );
    }
    let aside = set_aside_of(&v, "vsphere.zvm-zvm-9081", "Public profile/Inbound");
    assert_eq!(aside.len(), 3, "{aside:#?}");
    assert!(aside.iter().any(|s| s
        .starts_with("Remote management (RPC) in (allow): the local port keyword `RPC` ties it")));
    assert!(!aside.iter().any(|s| s.contains("RPC and ZVM pairing")));
    let z103: Vec<_> = findings(&v, "Z103")
        .into_iter()
        .filter(|f| f["requirement"] == "vsphere.zvm-zvm-9081")
        .collect();
    assert_eq!(z103.len(), 1, "the Private profile's only");
    assert!(z103[0]["help"]
        .as_str()
        .unwrap()
        .contains("RPC and ZVM pairing in (allow): local port keyword `RPC`"));
}

/// Class 9 on the real `.wfw`: a hive has no lines, so every format points into the rule
/// string instead — the registry value (the rule id), the character of its string and the
/// file byte, checked here against the file itself: the bytes at `byte_offset` are the
/// labelled token in UTF-16LE, as the hive stores REG_SZ data.
#[test]
fn real_wfw_findings_point_into_the_rule_string() {
    let file = format!("{REAL}/puppet-fwpolicy_full.wfw");
    let bytes = std::fs::read(&file).unwrap();
    let utf16 = |at: u64, chars: usize| {
        let b = &bytes[at as usize..at as usize + 2 * chars];
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    };
    let (v, _) = zvm(&file, &[]);
    let z002 = findings(&v, "Z002");
    let iptls = z002
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("`IPTLSIn`"))
        .expect("the IP-HTTPS rule's port keyword");
    assert!(
        iptls["line"].is_null() && iptls["column"].is_null(),
        "{iptls}"
    );
    let at = &iptls["value"];
    assert_eq!(at["key"], "FirewallRules");
    assert_eq!(at["value"], "CoreNet-IPHTTPS-In");
    assert_eq!(utf16(at["byte_offset"].as_u64().unwrap(), 7), "IPTLSIn");
    // the character of the rule string: `v2.28|Action=Allow|...|LPort2_10=` before it
    let rule = utf16(
        at["byte_offset"].as_u64().unwrap() - 2 * (at["char"].as_u64().unwrap() - 1),
        6,
    );
    assert_eq!(rule, "v2.28|");
    assert!(iptls["labels"][0]["line"].is_null());
    assert_eq!(iptls["labels"][0]["value"], *at);
    // deciding rules and defaults have no line either
    for f in v["flows"].as_array().unwrap() {
        for d in f["deciding"].as_array().unwrap() {
            assert!(d["line"].is_null(), "{d}");
        }
    }

    // SARIF: a binary region (byteOffset/byteLength), no line
    let out = super::portolan()
        .args([
            "audit", "--env", "vsphere", "--role", "zvm", "--format", "sarif", &file,
        ])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"]["text"].as_str().unwrap().contains("`IPTLSIn`"))
        .unwrap();
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert!(region["startLine"].is_null(), "{region}");
    assert_eq!(region["byteOffset"], at["byte_offset"]);
    assert_eq!(region["byteLength"], 14);

    // concise and human: the value and the character, not a line of the rendering
    let out = super::portolan()
        .args([
            "audit", "--env", "vsphere", "--role", "zvm", "--format", "concise", &file,
        ])
        .output()
        .unwrap();
    let concise = String::from_utf8(out.stdout).unwrap();
    let want = format!(
        "{file}, value \"CoreNet-IPHTTPS-In\" of key FirewallRules, character {} (byte {:#x}): Z002",
        at["char"],
        at["byte_offset"].as_u64().unwrap()
    );
    assert!(concise.lines().any(|l| l.starts_with(&want)), "{concise}");
    let numbered = |text: &str| {
        text.split(".wfw:")
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    assert!(!numbered(&concise), "no line numbers: {concise}");
    let out = super::portolan()
        .args(["audit", "-v", "--env", "vsphere", "--role", "zvm", &file])
        .output()
        .unwrap();
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("  at value \"CoreNet-IPHTTPS-In\" of key FirewallRules, character"),
        "{human}"
    );
    assert!(
        !human.contains("puppet-fwpolicy_full.wfw:"),
        "no [file:line:col] headers"
    );
}
