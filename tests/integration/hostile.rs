//! Hostile inputs: each one run together with a good fixture, asserting the diagnostic, the exit
//! code, and that the good file is still audited as usual. The big and odd inputs are made here,
//! in a temporary directory.

use std::path::{Path, PathBuf};

use super::{audit_json, findings, portolan};

/// A ZVM host firewall that drops TCP 9669 (line 12, `filter/INPUT #6`) and admits the rest.
const GOOD: &str = "fixtures/iptables/zvm-drops-9669.rules";

fn tempdir() -> PathBuf {
    super::cli::tempdir()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Quick-mode audit of a ZVM host firewall: the hostile file and the good fixture.
fn audit_with_good(hostile: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let mut args = vec!["--env", "vsphere", "--role", "zvm"];
    args.extend_from_slice(extra);
    args.extend([s(hostile), GOOD]);
    audit_json(&args)
}

/// The flow of a requirement (inbound) in one file.
fn flow_in<'a>(v: &'a serde_json::Value, file: &str, requirement: &str) -> &'a serde_json::Value {
    v["flows"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["firewall"] == file
                    && f["requirement"] == requirement
                    && f["direction"] == "inbound"
            })
        })
        .unwrap_or_else(|| panic!("no inbound flow of {requirement} in {file}: {v:#}"))
}

/// The good fixture was audited as it is on its own: 9669 blocked by line 12, the rest allowed.
fn good_file_still_audited(v: &serde_json::Value) {
    let f = flow_in(v, GOOD, "vsphere.admin-client-zvm-9669");
    assert_eq!(f["status"], "blocked", "{f:#}");
    assert_eq!(f["deciding"][0]["line"], 12);
    assert_eq!(f["deciding"][0]["rule"], "filter/INPUT #6");
    assert_eq!(
        flow_in(v, GOOD, "vsphere.zvm-vra-4005")["status"],
        "allowed"
    );
    assert!(findings(v, "Z101")
        .iter()
        .any(|f| f["file"] == GOOD && f["line"] == 12));
    assert!(v["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == GOOD && f["format"] == "iptables-save"));
}

/// The findings of one code about one file.
fn of<'a>(v: &'a serde_json::Value, code: &str, file: &Path) -> Vec<&'a serde_json::Value> {
    findings(v, code)
        .into_iter()
        .filter(|f| f["file"] == s(file))
        .collect()
}

fn message(f: &serde_json::Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

/// A fixed pseudo-random sequence (no randomness source in tests).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn hostile_iptables_without_commit_leaves_what_falls_off_a_chain_unknown() {
    let dir = tempdir();
    let p = dir.join("cut.rules");
    // cut short in the middle of a rule: the policy says ACCEPT, but the rules after the cut
    // (a DROP of everything else, say) are not in the file
    std::fs::write(
        &p,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 9669 -j ACCEPT\n-A INPUT -p tcp --dport 7073 -j DR",
    )
    .unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let z001 = of(&v, "Z001", &p);
    assert!(
        z001.iter()
            .any(|f| message(f) == "table `filter` has no `COMMIT`" && f["line"] == 1),
        "{z001:#?}"
    );
    // what a rule in the file accepts is decided (line 3) ... but the OUTPUT rules may be after
    // the cut too, and the connection's replies pass them: the connection is unknown
    let f = flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669");
    assert_eq!(f["status"], "unknown", "{f:#}");
    assert_eq!(f["deciding"][0]["line"], 3);
    assert!(
        f["return_path"]
            .as_str()
            .unwrap()
            .contains("perhaps not let back by filter/OUTPUT"),
        "{f:#}"
    );
    // ... what falls off the end is not the ACCEPT policy: it is unknown
    let f = flow_in(&v, s(&p), "vsphere.zvm-vra-4005");
    assert_eq!(f["status"], "unknown", "{f:#}");
    assert!(f["deciding"].as_array().unwrap().iter().any(|d| d["rule"]
        .as_str()
        .unwrap()
        .contains("the rules after the end of the file")));
    assert!(of(&v, "Z103", &p)
        .iter()
        .any(|f| f["requirement"] == "vsphere.zvm-vra-4005"));
    good_file_still_audited(&v);
}

#[test]
fn hostile_truncated_json_is_z001_at_the_end() {
    let dir = tempdir();
    let p = dir.join("cut.json");
    std::fs::write(
        &p,
        "{\"SecurityGroups\": [\n  {\"GroupName\": \"g\", \"IpPermissions\": [{\"FromPort\": 96",
    )
    .unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let z = of(&v, "Z001", &p);
    assert_eq!(z.len(), 1, "{z:#?}");
    assert!(
        message(z[0]).ends_with("is not valid JSON: the file ends inside this object (truncated?)"),
        "{}",
        z[0]
    );
    assert_eq!(
        (z[0]["line"].as_u64(), z[0]["column"].as_u64()),
        (Some(2), Some(40)),
        "the object left open: {}",
        z[0]
    );
    good_file_still_audited(&v);
}

#[test]
fn hostile_binary_garbage_is_z003_and_exit_2() {
    let dir = tempdir();
    let p = dir.join("garbage.rules");
    std::fs::write(&p, noise(64 * 1024)).unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 2, "a named file that is no export is an input error");
    let z = of(&v, "Z003", &p);
    assert_eq!(z.len(), 1, "{:#}", v["findings"]);
    assert!(message(z[0]).contains("is not a firewall export Portolan reads"));
    assert!(of(&v, "Z001", &p).is_empty());
    good_file_still_audited(&v);
}

#[test]
fn hostile_invalid_utf8_is_read_as_windows_1252_with_a_warning_at_the_byte() {
    let dir = tempdir();
    let p = dir.join("latin.rules");
    let mut bytes =
        b"*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 9669 -m comment --comment \"R"
            .to_vec();
    bytes.extend(b"\xE8gle \xFF\xFE\" -j ACCEPT\nCOMMIT\n");
    std::fs::write(&p, bytes).unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let z = of(&v, "Z001", &p);
    assert_eq!(z.len(), 1, "{z:#?}");
    assert_eq!(z[0]["severity"], "warning");
    assert!(message(z[0]).contains("not valid UTF-8") && message(z[0]).contains("Windows-1252"));
    // line 3, at the `è` after `--comment "R`
    assert_eq!(
        (z[0]["line"].as_u64(), z[0]["column"].as_u64()),
        (Some(3), Some(53))
    );
    // the rule is still read
    assert_eq!(
        flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669")["status"],
        "allowed"
    );
    good_file_still_audited(&v);
}

#[test]
fn hostile_utf16_with_an_odd_byte_count_says_it_was_cut_short() {
    let dir = tempdir();
    let p = dir.join("odd.rules");
    let text =
        "*filter\r\n:INPUT DROP [0:0]\r\n-A INPUT -p tcp --dport 9669 -j ACCEPT\r\nCOMMIT\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes.push(b'#'); // half a code unit
    assert_eq!(bytes.len() % 2, 1);
    std::fs::write(&p, bytes).unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let z = of(&v, "Z001", &p);
    let enc = z
        .iter()
        .find(|f| message(f).contains("not valid UTF-16LE"))
        .unwrap_or_else(|| panic!("{z:#?}"));
    assert_eq!(enc["severity"], "error");
    assert!(
        enc["help"].as_str().unwrap().contains("odd number"),
        "{enc}"
    );
    assert_eq!(enc["line"], 5, "the replacement character after COMMIT");
    // the complete part of the file is audited
    assert_eq!(
        flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669")["status"],
        "allowed"
    );
    good_file_still_audited(&v);
}

#[test]
fn hostile_ten_megabyte_line_is_read_and_a_ten_megabyte_word_is_no_format() {
    let dir = tempdir();
    let p = dir.join("long.rules");
    let comment = "x".repeat(10 << 20);
    std::fs::write(
        &p,
        format!("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 9669 -m comment --comment \"{comment}\" -j ACCEPT\n-A INPUT -p tcp --dport 4005 -j ACCEPT\nCOMMIT\n"),
    )
    .unwrap();
    let word = dir.join("word.txt");
    std::fs::write(&word, "a".repeat(10 << 20)).unwrap();
    let t = std::time::Instant::now();
    let (v, code) = audit_with_good(&p, &[s(&word)]);
    assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    assert_eq!(code, 2, "the word file is no export");
    assert!(of(&v, "Z001", &p).is_empty(), "{:#}", v["findings"]);
    assert_eq!(
        flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669")["status"],
        "allowed"
    );
    // the rule after the long line is on line 4
    let f = flow_in(&v, s(&p), "vsphere.zvm-vra-4005");
    assert_eq!(
        (f["status"].as_str(), f["deciding"][0]["line"].as_u64()),
        (Some("allowed"), Some(4))
    );
    assert_eq!(of(&v, "Z003", &word).len(), 1);
    good_file_still_audited(&v);
}

#[test]
fn hostile_json_nested_100k_deep_stops_at_256_without_overflowing_the_stack() {
    let dir = tempdir();
    let arrays = dir.join("arrays.json");
    std::fs::write(
        &arrays,
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let objects = dir.join("objects.json");
    std::fs::write(
        &objects,
        format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
    )
    .unwrap();
    let (v, code) = audit_with_good(&arrays, &[s(&objects)]);
    assert_eq!(code, 1);
    for (p, column) in [(&arrays, 258), (&objects, 1 + 257 * 5)] {
        let z = of(&v, "Z001", p);
        assert_eq!(z.len(), 1, "{z:#?}");
        assert!(
            message(z[0]).contains("nested more than 256 levels deep"),
            "{}",
            z[0]
        );
        assert_eq!(
            (z[0]["line"].as_u64(), z[0]["column"].as_u64()),
            (Some(1), Some(column))
        );
    }
    good_file_still_audited(&v);
}

#[test]
fn hostile_ten_thousand_chains_jumping_in_a_line_are_unknown_past_depth_1000() {
    let dir = tempdir();
    let p = dir.join("chains.rules");
    let n = 10_000;
    let mut t = String::from("*filter\n:INPUT DROP [0:0]\n");
    for i in 0..n {
        t.push_str(&format!(":C{i} - [0:0]\n"));
    }
    t.push_str("-A INPUT -j C0\n");
    for i in 0..n - 1 {
        t.push_str(&format!("-A C{i} -j C{}\n", i + 1));
    }
    t.push_str(&format!(
        "-A C{} -p tcp --dport 9669 -j ACCEPT\nCOMMIT\n",
        n - 1
    ));
    std::fs::write(&p, t).unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let f = flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669");
    assert_eq!(
        f["status"], "unknown",
        "never allowed: the ACCEPT is out of reach"
    );
    let z = of(&v, "Z103", &p);
    let z = z
        .iter()
        .find(|f| f["requirement"] == "vsphere.admin-client-zvm-9669")
        .unwrap();
    assert!(
        z["help"]
            .as_str()
            .unwrap()
            .contains("evaluation nests more than 1000 jumps"),
        "{z}"
    );
    assert!(of(&v, "Z001", &p).is_empty());
    good_file_still_audited(&v);
}

#[test]
fn hostile_jump_loop_is_z001_and_the_looping_traffic_unknown() {
    let dir = tempdir();
    let p = dir.join("loop.rules");
    std::fs::write(
        &p,
        "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -p tcp --dport 9669 -j B\n-A B -j A\n-A INPUT -p tcp --dport 9669 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 1);
    let z = of(&v, "Z001", &p);
    assert_eq!(z.len(), 1, "{z:#?}");
    assert_eq!(message(z[0]), "jump loop in table `filter`: A -> B -> A");
    assert_eq!(z[0]["line"], 7);
    assert_eq!(
        flow_in(&v, s(&p), "vsphere.admin-client-zvm-9669")["status"],
        "unknown"
    );
    // traffic that never enters the loop is decided
    assert_eq!(
        flow_in(&v, s(&p), "vsphere.zvm-vra-4005")["status"],
        "blocked"
    );
    good_file_still_audited(&v);
}

#[test]
fn hostile_duplicate_json_keys_are_z001_and_the_last_value_counts() {
    let dir = tempdir();
    let nsg = dir.join("nsg.json");
    // Deny then Allow: Azure's tools (and most JSON readers) keep the last one
    std::fs::write(
        &nsg,
        r#"{"name": "nsg-dup", "properties": {"securityRules": [
{"name": "DenyThenAllow", "properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "9669",
 "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "access": "Deny", "access": "Allow", "priority": 100, "direction": "Inbound"}}]}}
"#,
    )
    .unwrap();
    let sg = dir.join("sg.json");
    // a narrow range, then the whole Internet
    std::fs::write(
        &sg,
        r#"{"SecurityGroups": [{"GroupName": "g", "GroupId": "sg-1", "IpPermissionsEgress": [],
"IpPermissions": [{"FromPort": 9669, "ToPort": 9669, "IpProtocol": "tcp",
  "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
  "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]}
"#,
    )
    .unwrap();
    let (v, code) = audit_with_good(&nsg, &[s(&sg)]);
    assert_eq!(code, 1);
    for (p, key, line, column, first) in [
        (&nsg, "access", 3, 81, "(first at line 3, column 63)"),
        (&sg, "IpRanges", 4, 3, "(first at line 3, column 3)"),
    ] {
        let z = of(&v, "Z001", p);
        assert_eq!(z.len(), 1, "{z:#?}");
        assert!(
            message(z[0]).starts_with(&format!("key `{key}` appears twice in one object {first}")),
            "{}",
            z[0]
        );
        assert_eq!(
            (z[0]["line"].as_u64(), z[0]["column"].as_u64()),
            (Some(line), Some(column))
        );
        let f = flow_in(&v, s(p), "vsphere.admin-client-zvm-9669");
        assert_eq!(f["status"], "allowed", "{p:?}: the last value counts");
        assert!(
            of(&v, "Z201", p).len() == 1,
            "{p:?}: open to any address by the last value"
        );
    }
    good_file_still_audited(&v);
}

#[test]
fn hostile_numbers_out_of_range_are_z001_and_their_rules_undecidable() {
    let dir = tempdir();
    let ipt = dir.join("range.rules");
    std::fs::write(
        &ipt,
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\n-A INPUT -s 10.0.0.0/33 -p tcp --dport 9669 -j ACCEPT\n-A INPUT -p tcp --dport 4005:99999999999999999999 -j ACCEPT\n-I INPUT 99999999999999999999 -p tcp --dport 9081 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let nsg = dir.join("range-nsg.json");
    std::fs::write(
        &nsg,
        r#"{"name": "nsg-range", "properties": {"securityRules": [
{"name": "BigPort", "properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "70000", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"}},
{"name": "BigPrio", "properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "9669", "sourceAddressPrefix": "10.0.0.0/33", "destinationAddressPrefix": "*", "access": "Allow", "priority": 99999999999, "direction": "Inbound"}},
{"name": "HugeNum", "properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "4005", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "access": "Allow", "priority": 1e999, "direction": "Inbound"}}]}}
"#,
    )
    .unwrap();
    let sg = dir.join("range-sg.json");
    std::fs::write(
        &sg,
        r#"{"SecurityGroups": [{"GroupName": "g", "GroupId": "sg-1", "IpPermissionsEgress": [], "IpPermissions": [
{"FromPort": 70000, "ToPort": 70000, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
{"FromPort": 9669, "ToPort": 9669, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/33"}]},
{"FromPort": -99999999999999999999999, "ToPort": 99999999999, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}]}]}
"#,
    )
    .unwrap();
    let (v, code) = audit_with_good(&ipt, &[s(&nsg), s(&sg)]);
    assert_eq!(code, 1);
    let expect: [(&Path, &[(u64, &str)]); 3] = [
        (
            &ipt,
            &[
                (3, "`70000` is not a port number (0-65535)"),
                (4, "prefix length `33` is out of range"),
                (5, "`99999999999999999999` is not a port number"),
                (6, "the position after `-I CHAIN` must be a number from 1"),
            ],
        ),
        (
            &nsg,
            &[
                (2, "`70000` is not a port or port range (0-65535)"),
                (3, "priority 99999999999 is outside 100-4096"),
                (3, "`10.0.0.0/33` is not an IP address"),
                (4, "priority `1e999` is not a whole number"),
            ],
        ),
        (
            &sg,
            &[
                (2, "FromPort 70000 is not a port"),
                (2, "ToPort 70000 is not a port"),
                (3, "`10.0.0.0/33` is not an IPv4 CIDR block"),
                (4, "`FromPort` should be an integer"),
                (4, "ToPort 99999999999 is not a port"),
            ],
        ),
    ];
    for (p, want) in expect {
        let z = of(&v, "Z001", p);
        for (line, text) in want {
            assert!(
                z.iter()
                    .any(|f| f["line"] == *line && message(f).contains(text)),
                "{p:?}: no Z001 on line {line} saying {text:?}: {z:#?}"
            );
        }
        // a rule with a value that cannot be read is undecidable: never "allowed" by it
        let f = flow_in(&v, s(p), "vsphere.admin-client-zvm-9669");
        assert_eq!(f["status"], "unknown", "{p:?}: {f:#}");
    }
    good_file_still_audited(&v);
}

#[test]
fn hostile_unreadable_file_a_dangling_symlink_named_explicitly_is_z003_and_exit_2() {
    // tests run as root, where chmod 000 does not stop reading: a dangling symlink cannot be
    // opened by anyone
    let dir = tempdir();
    let p = dir.join("gone.rules");
    std::os::unix::fs::symlink(dir.join("nowhere.rules"), &p).unwrap();
    let (v, code) = audit_with_good(&p, &[]);
    assert_eq!(code, 2);
    let z = of(&v, "Z003", &p);
    assert_eq!(z.len(), 1, "{:#}", v["findings"]);
    assert!(message(z[0]).starts_with(&format!("cannot read {}: ", s(&p))));
    assert!(message(z[0]).contains("No such file or directory"));
    good_file_still_audited(&v);
}

#[test]
fn hostile_symlink_loops_in_a_scanned_directory_end_and_linked_files_are_read() {
    let dir = tempdir();
    let scan = dir.join("fw");
    std::fs::create_dir_all(scan.join("sub")).unwrap();
    std::fs::copy(GOOD, scan.join("zvm.rules")).unwrap();
    let unix = |target: &str, link: &str| std::os::unix::fs::symlink(target, scan.join(link));
    unix("..", "sub/parent").unwrap(); // a directory cycle
    unix(".", "sub/self").unwrap(); // another
    unix("loop-b", "loop-a").unwrap(); // a chain of links that never ends
    unix("loop-a", "loop-b").unwrap();
    unix("../zvm.rules", "sub/linked.rules").unwrap(); // a link to a file
    let t = std::time::Instant::now();
    let (v, code) = audit_json(&["--env", "vsphere", "--role", "zvm", s(&scan)]);
    assert!(t.elapsed().as_secs() < 60);
    assert_eq!(code, 2, "a link that leads nowhere is an unreadable input");
    let z3 = findings(&v, "Z003");
    for l in ["loop-a", "loop-b"] {
        let p = scan.join(l);
        assert!(
            z3.iter()
                .any(|f| f["file"] == s(&p)
                    && message(f).contains("Too many levels of symbolic links")),
            "{l}: {z3:#?}"
        );
    }
    assert_eq!(
        z3.len(),
        2,
        "the directory cycles are skipped quietly: {z3:#?}"
    );
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["format"] == "iptables-save")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let (zvm, linked) = (scan.join("zvm.rules"), scan.join("sub/linked.rules"));
    assert_eq!(files, [s(&linked), s(&zvm)], "each file once, the link too");
    for p in [&zvm, &linked] {
        let f = flow_in(&v, s(p), "vsphere.admin-client-zvm-9669");
        assert_eq!(
            (f["status"].as_str(), f["deciding"][0]["line"].as_u64()),
            (Some("blocked"), Some(12))
        );
    }
}

/// A sparse file of `len` bytes that starts with `head`: costs no disk and no time.
fn sparse(p: &Path, head: &[u8], len: u64) {
    let f = std::fs::File::create(p).unwrap();
    std::io::Write::write_all(&mut &f, head).unwrap();
    f.set_len(len).unwrap();
}

#[test]
fn hostile_two_gigabyte_file_is_refused_before_reading_and_the_rest_audited() {
    let dir = tempdir();
    let p = dir.join("huge.rules");
    sparse(&p, b"*filter\n:INPUT DROP [0:0]\n", 2 << 30);
    let t = std::time::Instant::now();
    let (v, code) = audit_with_good(&p, &[]);
    assert!(t.elapsed().as_secs() < 30, "not read: {:?}", t.elapsed());
    assert_eq!(code, 2, "a file that is not read is an input error");
    let z = of(&v, "Z003", &p);
    assert_eq!(z.len(), 1, "{:#}", v["findings"]);
    assert_eq!(
        message(z[0]),
        format!(
            "{} was not read: the limit for one input file is 1 GiB and it is 2 GiB (2147483648 bytes)",
            s(&p)
        )
    );
    assert!(z[0]["help"]
        .as_str()
        .unwrap()
        .contains("raise the limit with `--max-input-size 2G`"));
    good_file_still_audited(&v);
}

#[test]
fn hostile_max_input_size_sets_the_limit_and_scans_refuse_only_what_looks_like_an_export() {
    let dir = tempdir();
    let scan = dir.join("fw");
    std::fs::create_dir_all(&scan).unwrap();
    std::fs::copy(GOOD, scan.join("zvm.rules")).unwrap(); // 1.5 KiB
    sparse(
        &scan.join("dump.rules"),
        b"*filter\n:INPUT DROP [0:0]\n",
        3 << 20,
    );
    sparse(&scan.join("disk.img"), &[], 3 << 20); // no export: skipped, as small ones are
    let (v, code) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--max-input-size",
        "2M",
        s(&scan),
    ]);
    assert_eq!(code, 2);
    let z3 = findings(&v, "Z003");
    assert_eq!(z3.len(), 1, "{z3:#?}");
    assert_eq!(z3[0]["file"], s(&scan.join("dump.rules")));
    assert!(message(z3[0]).contains("the limit for one input file is 2 MiB and it is 3 MiB"));
    assert!(z3[0]["help"]
        .as_str()
        .unwrap()
        .contains("`--max-input-size 3M`"));
    let zvm = scan.join("zvm.rules");
    assert_eq!(
        flow_in(&v, s(&zvm), "vsphere.admin-client-zvm-9669")["status"],
        "blocked"
    );
    // a limit below a named file's size refuses it too
    let (v, code) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "--max-input-size",
        "1K",
        GOOD,
    ]);
    assert_eq!(code, 2);
    assert!(message(findings(&v, "Z003")[0]).contains("the limit for one input file is 1 KiB"));
    // and the run record does not read it for its hash either
    assert_eq!(v["run"]["inputs"][0]["path"], GOOD);
    assert!(v["run"]["inputs"][0]["sha256"].is_null());
    // a bad size is a usage error
    let out = portolan()
        .args([
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--max-input-size",
            "12X",
            GOOD,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`x` is not a size unit"));
}
