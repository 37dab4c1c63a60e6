//! Issue 17, iptables part: every file of `fixtures/real2/iptables/` (real dumps and restore
//! files, copied byte for byte from the shared corpus; sources in its SOURCES.md) and small
//! hand-made fixtures `fixtures/iptables/issue17-*.rules` shaped as iptables-save prints them.
//!
//! How the expected verdicts were worked out by hand, from iptables(8), iptables-extensions(8)
//! and iptables-restore(8):
//! - a packet to the host passes raw PREROUTING → mangle PREROUTING → nat PREROUTING → mangle
//!   INPUT → filter INPUT → security INPUT; one from the host raw OUTPUT → mangle OUTPUT → nat
//!   OUTPUT → filter OUTPUT → security OUTPUT → mangle POSTROUTING → nat POSTROUTING, whatever
//!   order the dump lists its tables in;
//! - in each chain the first rule that matches decides; ACCEPT ends that table's chain (the
//!   packet goes on to the next table), DROP and REJECT end everything; LOG, CHECKSUM and the like
//!   continue; `-j CHAIN` returns at the end of CHAIN or at RETURN, `-g CHAIN` returns to the
//!   caller of the chain that did the goto; a built-in chain's end is its policy, and a built-in
//!   chain the file does not list keeps the kernel's default, ACCEPT;
//! - a connection's replies are ESTABLISHED (conntrack), so `--state RELATED,ESTABLISHED -j
//!   ACCEPT` admits them; `-m limit` is undecidable (it depends on the packet rate);
//! - getopt reads a long option abbreviated to any prefix that names one option of iptables or
//!   of a match or target loaded so far: `-m multiport --dport 21,80,443` is `--dports`, and
//!   `--ctorig` (four `--ctorig*` options) is refused as ambiguous;
//! - `-A CHAIN 1 ...` is refused by iptables-restore ("Bad argument `1'"); `-j NAME` for a chain
//!   the table does not have is refused too ("Couldn't load target"); `-D`, `-R`, `-F`, `-X`,
//!   `-Z` change what the lines before them built, in file order;
//! - a dotted mask may be non-contiguous: `-s A/M` matches the sources S with S & M == A & M;
//! - an ip6tables dump may lack its header: `-p ipv6-icmp` and IPv6 addresses say it is IPv6.
//!
//! Quick mode (`--env vsphere --role zvm`): peers are any address, a flow is allowed when some
//! peer gets through.

use super::{audit_json, findings, flow};

const DIR: &str = "fixtures/real2/iptables";

fn quick(file: &str) -> serde_json::Value {
    audit_json(&["--env", "vsphere", "--role", "zvm", file]).0
}

fn real(name: &str) -> serde_json::Value {
    quick(&format!("{DIR}/{name}"))
}

/// A flow's status, the lines of its deciding rules and its allowed sources.
fn status(v: &serde_json::Value, req: &str, dir: &str) -> (String, Vec<u64>, Vec<String>) {
    let f = flow(v, req, dir);
    let lines = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["line"].as_u64())
        .collect();
    let sources = f["allowed_sources"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (f["status"].as_str().unwrap().to_string(), lines, sources)
}

fn rules(v: &serde_json::Value, req: &str, dir: &str) -> Vec<String> {
    flow(v, req, dir)["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

/// (line, column, message) of each finding of `code`.
fn at(v: &serde_json::Value, code: &str) -> Vec<(u64, u64, String)> {
    findings(v, code)
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn all_messages(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

const INBOUND_ZVM: [&str; 10] = [
    "vsphere.zvm-vra-4005",
    "vsphere.zvm-vra-4006",
    "vsphere.zvm-vba-4006",
    "vsphere.zvm-vra-4009",
    "vsphere.zvm-zvm-9071",
    "vsphere.admin-client-zvm-9080",
    "vsphere.zvm-zvm-9081",
    "vsphere.zvm-vba-9180",
    "vsphere.admin-client-zvm-9669",
    "vsphere.zcm-zvm-9669",
];

#[test]
fn every_real2_iptables_file_is_read_with_only_the_errors_iptables_restore_makes() {
    let mut seen = 0;
    for e in std::fs::read_dir(DIR).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        seen += 1;
        let v = real(&name);
        assert_eq!(v["files"][0]["format"], "iptables-save", "{name}");
        assert!(findings(&v, "Z003").is_empty(), "{name}");
        let z001: Vec<u64> = at(&v, "Z001").iter().map(|x| x.0).collect();
        let expected: &[u64] = match name.as_str() {
            // `-A INPUT 1 ...` and `-A FORWARD 1 ...`: "Bad argument `1'"
            "oci-k3s-append-with-index-rules.v4" => &[22, 23],
            // `-j ufw-logging-deny`, a chain the fragment never declares
            "ufw-conf-before.rules" => &[29, 57],
            _ => &[],
        };
        assert_eq!(z001, expected, "{name}: {:#?}", at(&v, "Z001"));
    }
    assert_eq!(seen, 8);
}

// ---- (a) abbreviated long options -------------------------------------------------------

#[test]
fn raspi_multiport_dport_is_dports_and_goto_chains_end_in_reject() {
    let v = real("samrocketman-raspi-goto-chains.rules");
    // OUTPUT -> OUTPUT_allow: line 111 `-m multiport --dport 21,80,443` (= --dports) admits
    // 443 to any destination but 212.7.208.65 (OUTPUT_deny, line 90)
    let (s, lines, _) = status(&v, "vsphere.zvm-vcenter-443", "outbound");
    assert_eq!(s, "allowed");
    assert!(lines.contains(&111), "{lines:?}");
    assert!(lines.contains(&90), "{lines:?}");
    // 4005 outbound only to the two internal networks (lines 95, 96), never by line 111
    let (s, lines, _) = status(&v, "vsphere.zvm-vra-4005", "outbound");
    assert_eq!(s, "allowed");
    assert!(lines.contains(&95) && !lines.contains(&111), "{lines:?}");
    // inbound: PUBLIC_deny, state, lo, INTERNAL (-g INTERNAL_allow: 22, 10000:11000, icmp and
    // traceroute only; the end of a goto chain returns to INPUT), PUBLIC_allow (22), LOGGING
    // (LOG continues), then line 26 REJECT: every Zerto port is blocked
    for req in INBOUND_ZVM {
        let (s, lines, _) = status(&v, req, "inbound");
        assert_eq!(s, "blocked", "{req}");
        assert!(lines.contains(&26), "{req}: {lines:?}");
    }
}

#[test]
fn abbreviated_options_fixture() {
    let v = quick("fixtures/iptables/issue17-abbreviations.rules");
    // line 8: `-m multiport --dport 9669,9081` is --dports: both ports from anywhere
    for req in ["vsphere.admin-client-zvm-9669", "vsphere.zvm-zvm-9081"] {
        let (s, lines, _) = status(&v, req, "inbound");
        assert_eq!((s.as_str(), lines), ("allowed", vec![8]), "{req}");
    }
    // line 9: `--sou 10.9.9.0/24 -p tcp --dpo 4005` is `-s 10.9.9.0/24 --dport 4005`
    let (s, lines, sources) = status(&v, "vsphere.zvm-vra-4005", "inbound");
    assert_eq!(s, "allowed");
    assert!(lines.contains(&9));
    assert_eq!(sources, ["10.9.9.0/24"]);
    // line 10: `--ctorig` fits four conntrack options: refused, the rest still read
    assert_eq!(
        at(&v, "Z001"),
        [(10, 30, "option `--ctorig` is ambiguous".to_string())]
    );
    let (s, _, _) = status(&v, "vsphere.admin-client-zvm-9080", "inbound");
    assert_eq!(s, "blocked");
}

// ---- (b) non-contiguous masks ----------------------------------------------------------

#[test]
fn non_contiguous_masks_are_exact_or_undecidable() {
    let v = quick("fixtures/iptables/issue17-masks.rules");
    assert!(findings(&v, "Z001").is_empty());
    // `-s 10.0.0.0/255.0.255.0`: 10.X.0.Y for every X and Y, i.e. 256 /24s
    let (s, _, sources) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "allowed");
    assert_eq!(sources.len(), 256);
    assert!(sources.contains(&"10.0.0.0/24".to_string()));
    assert!(sources.contains(&"10.255.0.0/24".to_string()));
    assert!(!sources.contains(&"10.0.1.0/24".to_string()));
    // `-s 10.0.0.1/255.0.0.255`: 65,536 ranges, more than the model enumerates: unknown, not
    // rounded to a CIDR
    let (s, _, _) = status(&v, "vsphere.admin-client-zvm-9080", "inbound");
    assert_eq!(s, "unknown");
    let z002 = at(&v, "Z002");
    assert_eq!(z002.len(), 1);
    assert_eq!(z002[0].0, 7);
    assert!(
        z002[0].2.contains("non-contiguous mask 255.0.0.255"),
        "{z002:?}"
    );
}

// ---- (c) -D, -R, -F, -X, -Z and -I --------------------------------------------------------

#[test]
fn restore_commands_are_applied_in_file_order() {
    let v = quick("fixtures/iptables/issue17-edits.rules");
    // INPUT after the -A lines: 9669, 9080, -j OLD, 9180. `-D INPUT -p tcp --dport 9669 -j
    // ACCEPT` deletes the first (its `-m tcp` is implicit); `-D INPUT 1` the 9080 accept; `-I
    // INPUT 1` puts 4006 first; `-R INPUT 3` turns the 9180 accept into 4009; `-D INPUT -j OLD`,
    // `-F OLD`, `-X OLD` remove OLD (and its 9081 accept); `-Z` changes nothing; the last `-D`
    // matches no rule: iptables-restore fails there (Z001), nothing changes. `-F` in raw flushed
    // its DROP.
    assert_eq!(at(&v, "Z001").iter().map(|x| x.0).collect::<Vec<_>>(), [26]);
    let (s, lines, _) = status(&v, "vsphere.zvm-vra-4006", "inbound");
    assert_eq!((s.as_str(), lines), ("allowed", vec![20]));
    assert_eq!(
        rules(&v, "vsphere.zvm-vra-4006", "inbound"),
        ["filter/INPUT #1"]
    );
    let (s, lines, _) = status(&v, "vsphere.zvm-vra-4009", "inbound");
    assert_eq!((s.as_str(), lines), ("allowed", vec![21]));
    assert_eq!(
        rules(&v, "vsphere.zvm-vra-4009", "inbound"),
        ["filter/INPUT #2"]
    );
    for req in [
        "vsphere.admin-client-zvm-9669",
        "vsphere.admin-client-zvm-9080",
        "vsphere.zvm-zvm-9081",
        "vsphere.zvm-vba-9180",
    ] {
        let (s, _, _) = status(&v, req, "inbound");
        assert_eq!(s, "blocked", "{req}");
        assert_eq!(rules(&v, req, "inbound"), ["filter/INPUT policy"], "{req}");
    }
}

// ---- (d) an ip6tables dump without its header ---------------------------------------------

#[test]
fn headerless_ip6tables_dump_is_ipv6() {
    let v = quick("fixtures/iptables/issue17-ipv6-no-header.rules");
    assert!(findings(&v, "Z001").is_empty());
    let (s, _, sources) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "allowed");
    assert!(!sources.is_empty());
    assert!(sources.iter().all(|s| s.contains(':')), "{sources:?}");
    let z201 = at(&v, "Z201");
    assert!(z201.iter().all(|z| z.2.contains("IPv6")), "{z201:?}");
}

// ---- (e) `-A CHAIN N` ----------------------------------------------------------------------

#[test]
fn oracle_cloud_append_with_index_is_refused_on_the_number() {
    let v = real("oci-k3s-append-with-index-rules.v4");
    let z001 = at(&v, "Z001");
    assert_eq!(
        z001,
        [
            (
                22,
                10,
                "bad argument `1`: `-A` takes no rule position".to_string()
            ),
            (
                23,
                12,
                "bad argument `1`: `-A` takes no rule position".to_string()
            ),
        ]
    );
    // the rest is audited: INPUT is state, icmp, lo, udp sport 123, tcp 6443, udp 8472, tcp
    // 8501, tcp 443, udp 53 (double spaces are only blanks), tcp 22, then line 26 REJECT
    for req in INBOUND_ZVM {
        let (s, lines, _) = status(&v, req, "inbound");
        assert_eq!((s.as_str(), lines), ("blocked", vec![26]), "{req}");
    }
    // OUTPUT policy ACCEPT (InstanceServices only for 169.254.0.0/16); replies ESTABLISHED
    let (s, _, _) = status(&v, "vsphere.zvm-vcenter-443", "outbound");
    assert_eq!(s, "allowed");
}

#[test]
fn append_with_index_fixture() {
    let v = quick("fixtures/iptables/issue17-append-index.rules");
    assert_eq!(
        at(&v, "Z001"),
        [(
            6,
            10,
            "bad argument `1`: `-A` takes no rule position".to_string()
        )]
    );
    let (s, _, _) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "blocked");
    let (s, lines, _) = status(&v, "vsphere.admin-client-zvm-9080", "inbound");
    assert_eq!((s.as_str(), lines), ("allowed", vec![7]));
}

// ---- class 9: the filter policy decides, not a later table that passes everything ----------

#[test]
fn libvirt_dump_names_filter_input_not_security_input() {
    let v = real("libvirt-almalinux-iptables-save.DERIVED.txt");
    // filter, security, raw, mangle, nat: every built-in chain ACCEPT with no rule; LIBVIRT_*
    // chains are declared but nothing jumps to them. Every flow passes, by filter/INPUT policy.
    for req in INBOUND_ZVM {
        let (s, lines, _) = status(&v, req, "inbound");
        assert_eq!((s.as_str(), lines), ("allowed", vec![3]), "{req}");
        assert_eq!(rules(&v, req, "inbound"), ["filter/INPUT policy"], "{req}");
    }
    let z201 = at(&v, "Z201");
    assert_eq!(z201.len(), 1);
    assert_eq!(z201[0].0, 3);
    assert!(
        z201[0].2.starts_with("filter/INPUT policy opens"),
        "{z201:?}"
    );
    assert!(all_messages(&v).iter().all(|m| !m.contains("security/")));
}

#[test]
fn security_table_after_filter_fixture() {
    let v = quick("fixtures/iptables/issue17-security-after-filter.rules");
    let (s, lines, _) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!((s.as_str(), lines), ("allowed", vec![6]));
    assert_eq!(
        rules(&v, "vsphere.admin-client-zvm-9669", "inbound"),
        ["filter/INPUT #1"]
    );
    let (s, _, _) = status(&v, "vsphere.zvm-vra-4005", "inbound");
    assert_eq!(s, "blocked");
    assert!(all_messages(&v)
        .iter()
        .all(|m| !m.contains("security/") && !m.contains("mangle/")));
}

#[test]
fn free5gc_tailscale_drops_cgnat_sources_not_on_tailscale0() {
    let v = real("free5gc-docker-tailscale-nft-save.txt");
    // INPUT -> ts-input: #2 RETURNs 100.115.92.0/23 not on tailscale0, #3 drops the rest of
    // 100.64.0.0/10 not on tailscale0, #4 accepts tailscale0; then INPUT policy ACCEPT
    let (s, lines, sources) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "allowed");
    assert!(lines.contains(&61) && lines.contains(&15), "{lines:?}");
    assert!(
        !sources.iter().any(|s| s.starts_with("100.64.")),
        "{sources:?}"
    );
    // outbound: filter OUTPUT ACCEPT, but replies from 100.64.0.0/10 (not on tailscale0) meet
    // ts-input #3: partial. mangle POSTROUTING only has a CHECKSUM (continues): the filter
    // OUTPUT policy is what admits the request
    let (s, _, _) = status(&v, "vsphere.zvm-vcenter-443", "outbound");
    assert_eq!(s, "partial");
    let r = rules(&v, "vsphere.zvm-vcenter-443", "outbound");
    assert!(r.contains(&"filter/OUTPUT policy".to_string()), "{r:?}");
    assert!(!r.iter().any(|r| r.starts_with("mangle/")), "{r:?}");
}

#[test]
fn larsks_bridge_rules_reject_every_zerto_port_inbound() {
    let v = real("larsks-bridged-containers-rules.v4");
    // no header, no counters: still iptables-save, IPv4. INPUT: state, icmp, lo, 22, REJECT
    // (line 9)
    for req in INBOUND_ZVM {
        let (s, lines, _) = status(&v, req, "inbound");
        assert_eq!((s.as_str(), lines), ("blocked", vec![9]), "{req}");
    }
    // OUTPUT ACCEPT and the replies are ESTABLISHED (INPUT #1)
    let (s, _, _) = status(&v, "vsphere.zvm-vcenter-443", "outbound");
    assert_eq!(s, "allowed");
}

#[test]
fn proxmox_input_accepts_everything() {
    let v = real("proxmox-docker-nft-dnat-rules.v4");
    // INPUT policy ACCEPT with a lone 443 accept: every Zerto port is open, by the policy
    let (s, lines, _) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "allowed");
    assert!(lines.contains(&3), "{lines:?}");
    assert!(at(&v, "Z201")[0].2.starts_with("filter/INPUT policy"));
}

#[test]
fn gfwlist_redirects_outbound_tcp_to_the_local_proxy() {
    let v = real("gfwlist-chnroute-nat-8k-save.v4");
    // nat OUTPUT -> SS_REDIR: RETURN for 8,450 China networks, then `-p tcp -j REDIRECT
    // --to-ports 1180`; filter is all ACCEPT
    let (s, _, _) = status(&v, "vsphere.admin-client-zvm-9669", "inbound");
    assert_eq!(s, "allowed");
    let z204 = at(&v, "Z204");
    assert!(
        z204.iter()
            .any(|z| z.2.contains("vsphere.zvm-vcenter-443") && z.2.contains("port 1180")),
        "{z204:?}"
    );
}

#[test]
fn ufw_fragment_jump_to_undeclared_chain_is_refused() {
    let v = real("ufw-conf-before.rules");
    let z001 = at(&v, "Z001");
    assert_eq!(z001.len(), 2);
    for (line, col, msg) in &z001 {
        assert!([29, 57].contains(line));
        assert!(*col > 40, "the span is the jump target, not the line");
        assert!(
            msg.contains("`-j ufw-logging-deny` names no chain"),
            "{msg}"
        );
    }
    // the fragment declares only ufw-before-* chains and puts no rule in INPUT or OUTPUT, which
    // keep the kernel's ACCEPT: every flow is allowed by policies the dump does not list (the
    // `-m addrtype` tests of ufw-not-local are never reached)
    for req in INBOUND_ZVM {
        let r = rules(&v, req, "inbound");
        assert_eq!(r.len(), 1, "{req}");
        assert!(
            r[0].starts_with("filter/INPUT policy (not in the dump"),
            "{r:?}"
        );
    }
}

#[test]
fn restore_commands_iptables_restore_refuses_change_nothing() {
    let v = quick("fixtures/iptables/issue17-edits-refused.rules");
    // line 9 `-X KEEP`: KEEP still has its rule ("Directory not empty"); line 10 `-F KEEP`
    // empties it; line 11 `-X KEEP`: INPUT still jumps to it ("Too many links"); line 12 `-D
    // INPUT 5` and line 13 `-R INPUT 2`: INPUT has one rule; line 14: INPUT is built in;
    // line 16 deletes GONE, so line 17 (a jump to it) and line 18 (a rule in it) are refused
    let z001 = at(&v, "Z001");
    assert_eq!(
        z001.iter().map(|z| z.0).collect::<Vec<_>>(),
        [9, 11, 12, 13, 14, 17, 18],
        "{z001:#?}"
    );
    assert!(z001[0].2.contains("still has rules"), "{z001:?}");
    assert!(z001[1].2.contains("a rule still jumps to it"), "{z001:?}");
    assert!(z001[2].2.contains("Index of deletion too big"), "{z001:?}");
    assert!(z001[5].2.contains("`GONE` was deleted"), "{z001:?}");
    assert_eq!(z001[5].1, 13, "the span is the jump target");
    // what stands: INPUT -j KEEP (empty) then the DROP policy
    for req in [
        "vsphere.admin-client-zvm-9669",
        "vsphere.admin-client-zvm-9080",
    ] {
        let (s, _, _) = status(&v, req, "inbound");
        assert_eq!(s, "blocked", "{req}");
        assert_eq!(rules(&v, req, "inbound"), ["filter/INPUT policy"], "{req}");
    }
}
