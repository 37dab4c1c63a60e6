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
    fill_placeholders(&dir);
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
    // nothing that must stay closed was opened, and no exposure appeared
    for code in ["Z201", "Z202", "Z203"] {
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
    // the plan's NSG denies 4007 at priority 100, the lowest Azure allows: no allow rule can be
    // evaluated before it (the old fix proposed priority 100 itself)
    let v = fix_json(&[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/terraform/zca-azure-plan.json",
    ]);
    let why = v["unfixable"][0]["why"].as_str().unwrap();
    assert!(
        why.contains("DenyVra4007FromAnywhere") && why.contains("priority 100"),
        "{why}"
    );
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
        .contains("aws ec2 authorize-security-group-ingress --group-id sg-07e3f19a2b4c5d6e8 --ip-permissions 'IpProtocol=tcp,FromPort=4008,ToPort=4008,IpRanges=[{CidrIp=PEERS/32}]'"));
}

/// In quick mode the fixes name `PEERS`: a user fills in the peers' addresses. The tests put a
/// network the fixtures' peers are in.
fn fill_placeholders(dir: &std::path::Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rules") {
            let t = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, t.replace("-s PEERS ", "-s 10.0.0.0/8 ")).unwrap();
        }
    }
}

fn fix_json(args: &[&str]) -> serde_json::Value {
    let out = portolan()
        .arg("fix")
        .args(args)
        .args(["--include-conditional", "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The fixtures with a blocked or partly blocked flow, per platform.
const FIXTURES: &[&[&str]] = &[
    &[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-drops-9669.rules",
    ],
    &["--inventory", "fixtures/inventory/vsphere-two-sites.toml"],
    &["--inventory", "fixtures/inventory/vsphere-boundary.toml"],
    &[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/azure/zca-nsg-deny-before-allow.json",
    ],
    &[
        "--env",
        "azure",
        "--role",
        "zca",
        "fixtures/azure/fix/nsg-deny-at-150.json",
    ],
    &[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/zca-sg-missing-4008.json",
    ],
    &[
        "--env",
        "aws",
        "--role",
        "zca",
        "fixtures/aws/nacl-no-return-path.json",
    ],
    &[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/windows/zvm-netsh-block-9081.utf16le.txt",
    ],
    &[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/windows/fix/zvm-default-blocks-9669.ps.json",
    ],
];

/// For every blocked or partial flow of every fixture: the flow has a fix or says why not, the
/// Z101/Z102 help shows exactly that, and `portolan fix` prints the same lines (or the same why).
#[test]
fn fix_and_help_agree_for_every_blocked_flow() {
    for args in FIXTURES {
        let (audit, _) = audit_json(args);
        let fixes = fix_json(args);
        let printed: Vec<Vec<String>> = fixes["files"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["fixes"].as_array().unwrap().iter())
            .map(|x| serde_json::from_value(x["fix"]["lines"].clone()).unwrap())
            .collect();
        let why: Vec<&str> = fixes["unfixable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["why"].as_str().unwrap())
            .collect();
        let mut seen = 0;
        for flow in audit["flows"].as_array().unwrap() {
            if flow["status"] != "blocked" && flow["status"] != "partial" {
                assert!(flow.get("fix").is_none() && flow.get("no_fix").is_none());
                continue;
            }
            seen += 1;
            let req = flow["requirement"].as_str().unwrap();
            let helps: Vec<&str> = audit["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| (f["code"] == "Z101" || f["code"] == "Z102") && f["requirement"] == req)
                .filter_map(|f| f["help"].as_str())
                .collect();
            match (flow.get("fix"), flow.get("no_fix")) {
                (Some(fix), None) => {
                    let lines: Vec<String> = serde_json::from_value(fix["lines"].clone()).unwrap();
                    assert!(!lines.is_empty());
                    assert!(
                        printed.contains(&lines),
                        "{args:?} {req}: `portolan fix` prints {lines:?}"
                    );
                    assert!(
                        helps
                            .iter()
                            .any(|h| h.contains("fix: ")
                                && lines.iter().all(|l| h.contains(l.as_str()))),
                        "{args:?} {req}: the help shows the fix {lines:?}: {helps:?}"
                    );
                    assert!(fix["verified"]
                        .as_str()
                        .unwrap()
                        .contains("nothing else opens"));
                }
                (None, Some(no)) => {
                    let no = no.as_str().unwrap();
                    assert!(
                        why.contains(&no),
                        "{args:?} {req}: `portolan fix` says {no}"
                    );
                    assert!(
                        helps
                            .iter()
                            .any(|h| h.contains(&format!("no single change can fix it: {no}"))),
                        "{args:?} {req}: {helps:?}"
                    );
                }
                other => panic!("{args:?} {req}: {other:?}"),
            }
        }
        assert!(seen > 0, "{args:?} has a blocked or partial flow");
    }
}

/// Without an inventory the peers are unknown: every fix names a placeholder for them, never
/// every address, and says whose addresses go there.
#[test]
fn quick_mode_fixes_name_the_peers_they_need() {
    for args in FIXTURES.iter().filter(|a| a[0] == "--env") {
        let v = fix_json(args);
        for f in v["files"].as_array().unwrap() {
            for x in f["fixes"].as_array().unwrap() {
                let fix = &x["fix"];
                let note = fix["note"].as_str().unwrap();
                assert!(
                    note.contains("placeholder") && note.contains("hosts there"),
                    "{note}"
                );
                for l in fix["lines"].as_array().unwrap() {
                    let l = l.as_str().unwrap();
                    assert!(l.contains("PEERS"), "{l}");
                    assert!(!l.contains("0.0.0.0/0") && !l.contains("::/0"), "{l}");
                    assert!(!l.contains("--source-address-prefixes '*'"), "{l}");
                }
            }
        }
    }
    // the placeholder does not parse as an address: a patched file left unfilled admits nobody
    let dir = super::cli::tempdir();
    let args = [
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-drops-9669.rules",
    ];
    portolan()
        .arg("fix")
        .args(args)
        .args(["--write-patched", dir.to_str().unwrap()])
        .assert()
        .success();
    let patched = dir.join("zvm-drops-9669.rules");
    let text = std::fs::read_to_string(&patched).unwrap();
    assert!(
        text.contains("-I INPUT 6 -s PEERS -p tcp -m tcp --dport 9669 -m conntrack --ctstate NEW")
    );
    let (after, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        patched.to_str().unwrap(),
    ]);
    let f = after["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "vsphere.admin-client-zvm-9669")
        .unwrap();
    assert_ne!(f["status"], "allowed", "{f:#}");
}

/// The user chain RETURNs the guest network to INPUT, whose policy drops it: the fix goes into
/// INPUT before the jump (the chain the peers' packets are in), for exactly the denied peers and
/// the ZVM's address, and the re-audit admits exactly them.
#[test]
fn inventory_fix_admits_exactly_the_denied_peers() {
    let inv = "fixtures/inventory/vsphere-two-sites.toml";
    let v = fix_json(&["--inventory", inv]);
    let lines: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["fixes"].as_array().unwrap().iter())
        .map(|x| x["fix"]["lines"][0].as_str().unwrap())
        .collect();
    assert!(lines.contains(&"-I INPUT 3 -s 10.30.5.0/24 -d 10.10.0.10/32 -p tcp -m tcp --dport 9669 -m conntrack --ctstate NEW -m comment --comment \"portolan: vsphere.admin-client-zvm-9669\" -j ACCEPT"), "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains("ZERTO-MGMT")));
    let dir = super::cli::tempdir();
    portolan()
        .args([
            "fix",
            "--inventory",
            inv,
            "--write-patched",
            dir.to_str().unwrap(),
        ])
        .assert()
        .success();
    let (after, _) = audit_json(&["--inventory", &moved_inventory(inv, &dir)]);
    for f in after["flows"].as_array().unwrap() {
        if f["requirement"] == "vsphere.admin-client-zvm-9669"
            && f["firewall"]
                .as_str()
                .unwrap()
                .ends_with("zvm-user-chain-return.rules")
        {
            assert_eq!(f["status"], "allowed");
            assert_eq!(
                f["allowed_sources"],
                serde_json::json!(["10.20.0.0/16", "10.30.5.0/24"])
            );
        }
    }
}

/// An Azure rule from `az network nsg rule create`, as the NSG export would show it.
fn nsg_rule(line: &str, priority: u32, peers: &str) -> serde_json::Value {
    let arg = |k: &str| {
        let w: Vec<&str> = line.split_whitespace().collect();
        let i = w.iter().position(|x| *x == k).unwrap();
        w[i + 1].trim_matches('\'').to_string()
    };
    serde_json::json!({
        "name": arg("--name"), "priority": priority, "direction": arg("--direction"),
        "access": "Allow", "protocol": arg("--protocol"),
        "sourceAddressPrefix": arg("--source-address-prefixes").replace("PEERS", peers),
        "sourcePortRange": "*",
        "destinationAddressPrefix": arg("--destination-address-prefixes"),
        "destinationPortRange": arg("--destination-port-ranges"),
    })
}

/// The value after `flag` in a printed command line.
fn arg_of(line: &str, flag: &str) -> Option<String> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let i = w.iter().position(|x| *x == flag)?;
    w.get(i + 1).map(|x| x.trim_matches('\'').to_string())
}

/// Every fix line: those `portolan fix` prints, and those of each flow's JSON `fix` (which the
/// Z101/Z102 help shows: `fix_and_help_agree_for_every_blocked_flow`).
fn fix_lines(fixes: &serde_json::Value, audit: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let lines = |fix: &serde_json::Value| -> Vec<String> {
        serde_json::from_value(fix["lines"].clone()).unwrap()
    };
    let printed = fixes["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["fixes"].as_array().unwrap().iter())
        .flat_map(|x| lines(&x["fix"]))
        .collect();
    let per_flow = audit["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("fix").is_some())
        .flat_map(|f| lines(&f["fix"]))
        .collect();
    (printed, per_flow)
}

/// No two `lines` put the same number (Azure priority, network ACL rule number) in one NSG or
/// ACL and direction, nor (Azure) the same rule name in one NSG; returns the numbers per
/// NSG/ACL and direction.
fn assert_numbers_distinct(
    lines: &[String],
) -> std::collections::BTreeMap<(String, String), Vec<u32>> {
    let mut numbers: std::collections::BTreeMap<(String, String), Vec<u32>> = Default::default();
    let mut names: Vec<(String, String)> = Vec::new();
    for l in lines {
        let (key, n) = if let Some(nsg) = arg_of(l, "--nsg-name") {
            let name = (nsg.clone(), arg_of(l, "--name").unwrap().to_lowercase());
            assert!(!names.contains(&name), "rule name used twice: {l}");
            names.push(name);
            (
                (nsg, arg_of(l, "--direction").unwrap()),
                arg_of(l, "--priority").unwrap(),
            )
        } else if let Some(acl) = arg_of(l, "--network-acl-id") {
            let dir = if l.contains(" --egress ") {
                "egress"
            } else {
                "ingress"
            };
            ((acl, dir.to_string()), arg_of(l, "--rule-number").unwrap())
        } else {
            panic!("not an Azure or network ACL fix: {l}")
        };
        let n: u32 = n.parse().unwrap();
        let taken = numbers.entry(key.clone()).or_default();
        assert!(!taken.contains(&n), "{key:?} gets number {n} twice: {l}");
        taken.push(n);
    }
    numbers
}

/// Every flow blocked or partly blocked `before` is allowed `after`; the others did not change.
fn assert_all_fixed(before: &serde_json::Value, after: &serde_json::Value) {
    let b = flows(before);
    let a = flows(after);
    assert_eq!(b.len(), a.len());
    let mut fixed = 0;
    for ((k, sb, _), (ka, sa, _)) in b.iter().zip(&a) {
        assert_eq!(k, ka);
        if sb == "blocked" || sb == "partial" {
            assert_eq!(sa, "allowed", "{k:?} was {sb}");
            fixed += 1;
        } else {
            assert_eq!(sa, sb, "{k:?}");
        }
    }
    assert!(fixed >= 5, "{fixed} flows fixed");
}

/// Azure: the fixes go at free priorities before the deny (149, 148, ... before 150), a
/// different one per fix (Azure refuses two rules of one priority in one direction); ALL of
/// them applied together to the NSG, every blocked flow is allowed, and nothing else changes.
#[test]
fn azure_fix_applies_and_passes() {
    let src = "fixtures/azure/fix/nsg-deny-at-150.json";
    let args = ["--env", "azure", "--role", "zca"];
    let v = fix_json(&[args.as_slice(), &[src]].concat());
    let (before, _) = audit_json(&[args.as_slice(), &[src]].concat());
    let (printed, per_flow) = fix_lines(&v, &before);
    assert!(printed.len() >= 5);
    assert_eq!(printed.len(), per_flow.len(), "one rule per blocked flow");
    for lines in [&printed, &per_flow] {
        let numbers = assert_numbers_distinct(lines);
        let inbound = &numbers[&("nsg-zca".to_string(), "Inbound".to_string())];
        assert_eq!(inbound.len(), lines.len());
        // the highest free priorities before the deny, in flow order
        let expected: Vec<u32> = (0..inbound.len() as u32).map(|i| 149 - i).collect();
        assert_eq!(inbound, &expected);
    }
    let mut nsg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    for line in &printed {
        let priority = arg_of(line, "--priority").unwrap().parse().unwrap();
        nsg["securityRules"]
            .as_array_mut()
            .unwrap()
            .push(nsg_rule(line, priority, "10.1.0.0/16"));
    }
    let dir = super::cli::tempdir();
    let patched = dir.join("nsg.json");
    std::fs::write(&patched, serde_json::to_string_pretty(&nsg).unwrap()).unwrap();
    let (after, _) = audit_json(&[args.as_slice(), &[patched.to_str().unwrap()]].concat());
    // the patched export is one Azure would accept: no duplicate priority reported
    assert!(
        after["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["message"]
                .as_str()
                .unwrap()
                .contains("refuses equal priorities")),
        "{:#}",
        after["findings"]
    );
    assert_all_fixed(&before, &after);
    // verified together, too
    for x in v["files"][0]["fixes"].as_array().unwrap() {
        assert!(
            x["fix"]["verified"]
                .as_str()
                .unwrap()
                .contains("applied together with the firewall's"),
            "{x:#}"
        );
    }
    // the same numbers whatever the threads do
    for threads in ["1", "3"] {
        let out = portolan()
            .env("RAYON_NUM_THREADS", threads)
            .args(["fix", "--include-conditional", "--format", "json"])
            .args(args)
            .arg(src)
            .output()
            .unwrap();
        let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(again, v, "RAYON_NUM_THREADS={threads}");
    }
    // the NSG that denies at 100 cannot be fixed by one rule: it says so, and prints none
    let v = fix_json(
        &[
            &args[..],
            &["fixtures/azure/zca-nsg-deny-before-allow.json"],
        ]
        .concat(),
    );
    assert!(v["files"].as_array().unwrap().is_empty());
    for u in v["unfixable"].as_array().unwrap() {
        assert!(u["why"]
            .as_str()
            .unwrap()
            .contains("`DenyAllInboundCustom` in NSG `nsg-zca` denies it at priority 100"));
    }
}

/// AWS security group: the permission goes to the real group id; added to the export, the
/// flow passes.
#[test]
fn aws_sg_fix_applies_and_passes() {
    let src = "fixtures/aws/zca-sg-missing-4008.json";
    let args = ["--env", "aws", "--role", "zca"];
    let v = fix_json(&[&args[..], &[src]].concat());
    let fix = &v["files"][0]["fixes"][0]["fix"];
    assert_eq!(fix["firewall"], "aws-security-group");
    let mut sg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    sg["SecurityGroups"][0]["IpPermissions"].as_array_mut().unwrap().push(serde_json::json!({
        "IpProtocol": "tcp", "FromPort": 4008, "ToPort": 4008,
        "IpRanges": [{"CidrIp": "10.30.0.0/16"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []
    }));
    let dir = super::cli::tempdir();
    let patched = dir.join("sg.json");
    std::fs::write(&patched, serde_json::to_string(&sg).unwrap()).unwrap();
    let (after, _) = audit_json(&[&args[..], &[patched.to_str().unwrap()]].concat());
    assert!(after["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] != "blocked"));
}

/// AWS network ACL (stateless): an entry pair, numbered before the deny, with the return entry
/// for the replies; where only the replies are dropped, only the return entry. Applied to the
/// export (this fix on its own), the flow passes, replies included.
#[test]
fn aws_nacl_fix_is_a_verified_entry_pair() {
    let src = "fixtures/aws/nacl-no-return-path.json";
    let args = ["--env", "aws", "--role", "zca"];
    let v = fix_json(&[&args[..], &[src]].concat());
    let fixes = v["files"][0]["fixes"].as_array().unwrap();
    let find = |flow: &str| {
        fixes
            .iter()
            .find(|x| x["flow"].as_str().unwrap().starts_with(flow))
            .map(|x| x["fix"].clone())
            .unwrap()
    };
    let zasa = find("aws.zvm-zasa-443 inbound");
    assert_eq!(zasa["firewall"], "aws-network-acl");
    let l: Vec<&str> = zasa["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(l.len(), 2, "{l:?}");
    assert!(l[0].contains("--network-acl-id acl-0d4c2b6a8e1f3a5c7 --ingress --rule-number 32766 --protocol tcp --port-range From=443,To=443 --cidr-block PEERS/32"));
    assert!(l[1].contains("--egress --rule-number 32766 --protocol tcp --port-range From=1024,To=65535 --cidr-block PEERS/32"));
    assert!(!l.iter().any(|x| x.contains("conntrack")));
    // only the replies are dropped: one egress entry
    let vra = find("aws.zvm-vra-4005 inbound");
    assert_eq!(vra["lines"].as_array().unwrap().len(), 1);
    assert!(vra["lines"][0].as_str().unwrap().contains("--egress"));
    // applied to the export, with the peers filled in
    let mut acl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    for (egress, from, to) in [(false, 443, 443), (true, 1024, 65535)] {
        acl["NetworkAcls"][0]["Entries"].as_array_mut().unwrap().push(serde_json::json!({
            "CidrBlock": "10.30.0.0/16", "Egress": egress, "PortRange": {"From": from, "To": to},
            "Protocol": "6", "RuleAction": "allow", "RuleNumber": 32766
        }));
    }
    let dir = super::cli::tempdir();
    let patched = dir.join("acl.json");
    std::fs::write(&patched, serde_json::to_string(&acl).unwrap()).unwrap();
    let (after, _) = audit_json(&[&args[..], &[patched.to_str().unwrap()]].concat());
    let f = after["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["requirement"] == "aws.zvm-zasa-443" && f["direction"] == "inbound")
        .unwrap();
    assert_eq!(f["status"], "allowed", "{f:#}");
}

/// A network ACL entry from `aws ec2 create-network-acl-entry`, as `describe-network-acls`
/// shows it.
fn nacl_entry(line: &str, peers: &str) -> serde_json::Value {
    let ports = arg_of(line, "--port-range").unwrap();
    let (from, to) = ports
        .strip_prefix("From=")
        .and_then(|p| p.split_once(",To="))
        .unwrap();
    serde_json::json!({
        "CidrBlock": arg_of(line, "--cidr-block").unwrap().replace("PEERS/32", peers),
        "Egress": line.contains(" --egress "),
        "PortRange": {"From": from.parse::<u32>().unwrap(), "To": to.parse::<u32>().unwrap()},
        "Protocol": if arg_of(line, "--protocol").unwrap() == "udp" { "17" } else { "6" },
        "RuleAction": "allow",
        "RuleNumber": arg_of(line, "--rule-number").unwrap().parse::<u32>().unwrap(),
    })
}

/// AWS network ACL: the fixes of one ACL get distinct rule numbers per direction (request
/// entries from 32766 down before the `*` entry, return entries from 89 down before the deny at
/// 90); ALL of them added to the export together, every blocked or partial flow is allowed.
#[test]
fn aws_nacl_fixes_get_distinct_numbers_and_apply_together() {
    let src = "fixtures/aws/nacl-no-return-path.json";
    let args = ["--env", "aws", "--role", "zca"];
    let v = fix_json(&[&args[..], &[src]].concat());
    let (before, _) = audit_json(&[&args[..], &[src]].concat());
    let (printed, per_flow) = fix_lines(&v, &before);
    assert_eq!(printed, per_flow, "one fix per flow, none shared");
    let numbers = assert_numbers_distinct(&printed);
    let acl = "acl-0d4c2b6a8e1f3a5c7".to_string();
    let ingress = &numbers[&(acl.clone(), "ingress".to_string())];
    let egress = &numbers[&(acl, "egress".to_string())];
    assert!(ingress.len() >= 5 && egress.len() >= 5, "{numbers:?}");
    // none is the number of an entry the ACL has
    for (mine, has) in [
        (ingress, [90, 100, 110, 120, 32767]),
        (egress, [100, 110, 120, 32767, 32767]),
    ] {
        assert!(mine.iter().all(|n| !has.contains(n)), "{mine:?}");
    }
    assert!(ingress.contains(&89) && ingress.contains(&88) && ingress.contains(&32766));
    assert!(egress.contains(&32766) && egress.contains(&32765));
    // all of them together, the peers filled in (quick mode: any peer stands in)
    let mut acl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    for line in &printed {
        acl["NetworkAcls"][0]["Entries"]
            .as_array_mut()
            .unwrap()
            .push(nacl_entry(line, "0.0.0.0/0"));
    }
    let dir = super::cli::tempdir();
    let patched = dir.join("acl.json");
    std::fs::write(&patched, serde_json::to_string_pretty(&acl).unwrap()).unwrap();
    let (after, _) = audit_json(&[&args[..], &[patched.to_str().unwrap()]].concat());
    assert!(
        after["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "Z001"),
        "{:#}",
        after["findings"]
    );
    assert_all_fixed(&before, &after);
}

/// Windows: a block rule decides, and block wins over allow: no allow rule is offered; the
/// remedy names the block rule to narrow.
#[test]
fn windows_block_rule_is_named_not_outvoted() {
    let v = fix_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/windows/zvm-netsh-block-9081.utf16le.txt",
    ]);
    assert!(v["files"].as_array().unwrap().is_empty(), "{v:#}");
    let u = v["unfixable"].as_array().unwrap();
    assert!(!u.is_empty());
    for x in u {
        let why = x["why"].as_str().unwrap();
        assert!(
            why.contains("narrow the block rule `Block Zerto 9081 (TCP-In)`"),
            "{why}"
        );
        assert!(!why.contains("New-NetFirewallRule"));
    }
}

/// Windows: the profile's default blocks 9669 (no block rule decides), so the fix is one
/// `New-NetFirewallRule` per profile, each with its own name. Added to the PowerShell export as
/// `Get-NetFirewallRule` would list them (enums as numbers: Direction 1 = In, Action 2 = Allow,
/// Profile 1/2/4 = Domain/Private/Public), the flow passes in every profile and nothing else
/// opens to the world.
#[test]
fn windows_default_block_fix_applies_and_passes() {
    let src = "fixtures/windows/fix/zvm-default-blocks-9669.ps.json";
    let args = ["--env", "vsphere", "--role", "zvm"];
    let status = |v: &serde_json::Value| -> Vec<String> {
        v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["requirement"] == "vsphere.admin-client-zvm-9669")
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    let z201 = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "Z201" || f["code"] == "Z202")
            .count()
    };
    let (before, _) = audit_json(&[&args[..], &[src]].concat());
    assert_eq!(status(&before), vec!["blocked"; 3]);
    let v = fix_json(&[&args[..], &[src]].concat());
    // (the fix output also holds the conditional ZCM flow to 9669)
    let fixes: Vec<&serde_json::Value> = v["files"][0]["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["flow"]
                .as_str()
                .unwrap()
                .starts_with("vsphere.admin-client-zvm-9669 ")
        })
        .map(|f| &f["fix"])
        .collect();
    assert_eq!(fixes.len(), 3, "{v:#}");
    let text = std::fs::read(src).unwrap();
    let text = String::from_utf8(text[3..].to_vec()).unwrap(); // after the BOM
    let mut rules: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut names = Vec::new();
    for fix in fixes {
        assert_eq!(fix["platform"], "windows");
        let line = fix["lines"][0].as_str().unwrap();
        let arg = |flag: &str| -> String {
            let rest = &line[line.find(&format!("-{flag} ")).unwrap() + flag.len() + 2..];
            rest.split(' ')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_string()
        };
        assert_eq!(arg("Direction"), "Inbound");
        assert_eq!(arg("Action"), "Allow");
        assert_eq!(arg("LocalPort"), "9669");
        assert_eq!(
            arg("RemoteAddress"),
            "PEERS",
            "quick mode names the peers it needs"
        );
        names.push(arg("Name"));
        let profile = match arg("Profile").as_str() {
            "Domain" => 1,
            "Private" => 2,
            "Public" => 4,
            p => panic!("profile {p}"),
        };
        rules.as_array_mut().unwrap().push(serde_json::json!({
            "Name": arg("Name"), "DisplayName": "Zerto GUI", "DisplayGroup": null,
            "Enabled": 1, "Direction": 1, "Action": 2, "Profile": profile,
            "Protocol": arg("Protocol"), "LocalPort": arg("LocalPort"), "RemotePort": "Any",
            "IcmpType": "Any", "LocalAddress": "Any", "RemoteAddress": "10.30.5.0/24",
            "Program": "Any", "Service": "Any", "EdgeTraversalPolicy": 0
        }));
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "one rule name per profile: {names:?}");
    let dir = super::cli::tempdir();
    let patched = dir.join("zvm-fixed.ps.json");
    std::fs::write(&patched, serde_json::to_string_pretty(&rules).unwrap()).unwrap();
    let (after, _) = audit_json(&[&args[..], &[patched.to_str().unwrap()]].concat());
    assert_eq!(status(&after), vec!["allowed"; 3]);
    let allowed: Vec<&serde_json::Value> = after["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["requirement"] == "vsphere.admin-client-zvm-9669")
        .map(|f| &f["allowed_sources"])
        .collect();
    for a in allowed {
        assert_eq!(a, &serde_json::json!(["10.30.5.0/24"]));
    }
    assert!(z201(&after) <= z201(&before));
}
