//! nftables with its own semantics, audited end to end (`nft list ruleset` text): base chains
//! of all tables in priority order (an accept ends only its own base chain), families (an `inet`
//! table filters IPv4 and IPv6, an `ip` table IPv4 only), and a firewalld-style ruleset.
//!
//! Each file lowers into two rulesets, IPv4 and IPv6, so each requirement has one flow record
//! per family; their `policy` (the pipeline) starts with `ipv4:` or `ipv6:`.

use super::audit_json;

const GUI: &str = "vsphere.admin-client-zvm-9669";
const PAIRING: &str = "vsphere.zvm-zvm-9081";

fn quick(file: &str) -> serde_json::Value {
    audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        &format!("fixtures/nftables/lowering/{file}"),
    ])
    .0
}

/// The inbound flow of `req` for family `fam` (`ipv4`/`ipv6`): status, deciding entries as
/// (line, rule, action), and the allowed sources.
fn inbound(
    v: &serde_json::Value,
    req: &str,
    fam: &str,
) -> (String, Vec<(u64, String, String)>, serde_json::Value) {
    let flows: Vec<&serde_json::Value> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["requirement"] == req
                && f["direction"] == "inbound"
                && f["policy"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&format!("{fam}:")))
        })
        .collect();
    assert_eq!(flows.len(), 1, "one {fam} flow for {req}");
    let f = flows[0];
    let deciding = f["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["rule"].as_str().unwrap().to_string(),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (
        f["status"].as_str().unwrap().to_string(),
        deciding,
        f["allowed_sources"].clone(),
    )
}

fn d(line: u64, rule: &str, action: &str) -> (u64, String, String) {
    (line, rule.to_string(), action.to_string())
}

fn no_parse_problems(v: &serde_json::Value) {
    let bad: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["code"].as_str(), Some("Z001" | "Z002" | "Z003")))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

/// `inet early input` (priority -10) accepts tcp/9669, `inet late input` (priority 0) drops it.
/// The accept ends only the early chain; the late one still runs and drops: blocked, by line 10.
/// Whichever table comes first in the file, priorities decide the order, and the drop wins both
/// ways (accept then drop, or drop first).
#[test]
fn an_accept_in_one_base_chain_does_not_save_a_packet_a_later_base_chain_drops() {
    for file in ["two-input-chains.nft", "two-input-chains-swapped.nft"] {
        let v = quick(file);
        no_parse_problems(&v);
        for fam in ["ipv4", "ipv6"] {
            assert_eq!(
                inbound(&v, GUI, fam),
                (
                    "blocked".into(),
                    vec![d(10, "inet late input #1", "drop")],
                    serde_json::json!([])
                ),
                "{file} {fam}"
            );
            // 9081: neither rule matches; both policies accept, the last chain's decides
            let (status, deciding, _) = inbound(&v, PAIRING, fam);
            assert_eq!(status, "allowed", "{file} {fam}");
            assert_eq!(deciding.len(), 1);
            assert!(deciding[0].1.ends_with("input policy"), "{deciding:?}");
        }
    }
    // the pipeline names both base chains in the order they run
    for (file, want) in [
        (
            "two-input-chains.nft",
            "ipv4: inet early input + inet late input",
        ),
        (
            "two-input-chains-swapped.nft",
            "ipv4: inet late input + inet early input",
        ),
    ] {
        let v = quick(file);
        let names: Vec<&str> = v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["direction"] == "inbound")
            .filter_map(|f| f["policy"].as_str())
            .collect();
        assert!(names.contains(&want), "{file}: {names:?}");
    }
}

/// One chain with `tcp dport 9669 accept` and `policy drop`: 9669 allowed by line 5, 9081
/// dropped by the policy on line 3, in both families (an inet table).
#[test]
fn a_single_accepting_chain_allows() {
    let v = quick("single-chain-accept.nft");
    no_parse_problems(&v);
    for fam in ["ipv4", "ipv6"] {
        let (status, deciding, _) = inbound(&v, GUI, fam);
        assert_eq!(
            (status.as_str(), deciding),
            ("allowed", vec![d(5, "inet filter input #2", "accept")]),
            "{fam}"
        );
        assert_eq!(
            inbound(&v, PAIRING, fam).0.as_str(),
            "blocked",
            "{fam}: the policy drops 9081"
        );
        assert_eq!(
            inbound(&v, PAIRING, fam).1,
            vec![d(3, "inet filter input policy", "drop")]
        );
    }
}

/// A `table ip` filters IPv4 only: 9081 accepted (line 5) and 9669 dropped by the policy
/// (line 3) for IPv4; IPv6 has no base chain at all, so both are allowed with nothing deciding.
#[test]
fn an_ip_table_filters_ipv4_only() {
    let v = quick("ip-table-only.nft");
    no_parse_problems(&v);
    assert_eq!(
        inbound(&v, PAIRING, "ipv4").1,
        vec![d(5, "ip filter input #2", "accept")]
    );
    assert_eq!(
        inbound(&v, GUI, "ipv4"),
        (
            "blocked".into(),
            vec![d(3, "ip filter input policy", "drop")],
            serde_json::json!([])
        )
    );
    for req in [GUI, PAIRING] {
        let (status, deciding, _) = inbound(&v, req, "ipv6");
        assert_eq!((status.as_str(), deciding.len()), ("allowed", 0), "{req}");
    }
}

/// firewalld-style (`firewalld-zones.nft`), checked by hand:
/// - `filter_INPUT` (priority filter + 10 = 10, policy accept): line 10 `ct state vmap` accepts
///   established/related and drops invalid (a NEW request goes on); line 11 accepts `lo`;
///   line 12 jumps to `filter_INPUT_ZONES`, which `goto`s `filter_IN_public` for every
///   interface; that jumps to `filter_IN_public_allow`:
///   - line 36 accepts tcp/22, line 37 tcp dports in `@zerto_ports` = {4005-4007, 9081},
///   - line 38 accepts 9669 only from 10.1.0.0/16 (and only IPv4: `ip saddr`).
/// - whatever comes back from the zones is rejected on line 13 (`filter_INPUT #4`).
///
/// So: 9081, 4005, 4006 allowed by line 37 in both families; 4009 rejected by line 13; 9669
/// allowed for IPv4 from 10.1.0.0/16 only (the rest rejected on line 13), and rejected for IPv6.
#[test]
fn a_firewalld_style_ruleset() {
    let v = quick("firewalld-zones.nft");
    no_parse_problems(&v);
    let allow_37 = vec![d(37, "inet firewalld filter_IN_public_allow #2", "accept")];
    let reject_13 = vec![d(13, "inet firewalld filter_INPUT #4", "reject")];
    for fam in ["ipv4", "ipv6"] {
        for req in [PAIRING, "vsphere.zvm-vra-4005", "vsphere.zvm-vra-4006"] {
            let (status, deciding, _) = inbound(&v, req, fam);
            assert_eq!(
                (status.as_str(), &deciding),
                ("allowed", &allow_37),
                "{req} {fam}"
            );
        }
        let (status, deciding, _) = inbound(&v, "vsphere.zvm-vra-4009", fam);
        assert_eq!(
            (status.as_str(), &deciding),
            ("blocked", &reject_13),
            "{fam}"
        );
    }
    let (status, deciding, sources) = inbound(&v, GUI, "ipv4");
    assert_eq!(status, "allowed");
    assert_eq!(
        deciding,
        vec![
            d(38, "inet firewalld filter_IN_public_allow #3", "accept"),
            d(13, "inet firewalld filter_INPUT #4", "reject")
        ]
    );
    assert_eq!(sources, serde_json::json!(["10.1.0.0/16"]));
    assert_eq!(
        inbound(&v, GUI, "ipv6"),
        ("blocked".into(), reject_13.clone(), serde_json::json!([]))
    );
}

/// (requirement, direction, pipeline, status, allowed sources) of every flow of an audit.
fn flows_of(file: &str) -> Vec<String> {
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        &format!("fixtures/nftables/{file}"),
    ]);
    let mut out: Vec<String> = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["requirement"], f["direction"], f["policy"], f["status"], f["allowed_sources"]
            )
        })
        .collect();
    out.sort();
    out
}

/// Every finding of an audit, without where it is in its file (the two forms of a ruleset put
/// a rule on different lines): code, severity, requirement, message, help, and the labels' texts.
fn findings_of(file: &str) -> Vec<String> {
    let (v, _) = audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        &format!("fixtures/nftables/{file}"),
    ]);
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let labels: Vec<&serde_json::Value> = f["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| &l["text"])
                .collect();
            format!(
                "{} {} {} {} {} {labels:?}",
                f["code"], f["severity"], f["requirement"], f["message"], f["help"]
            )
        })
        .collect();
    out.sort();
    out
}

/// The pairs of the corpus: nftables' own test dumps in both forms, and nftables-rs's script
/// with what `nft -j list ruleset` printed after loading it. Flows and findings are the same for
/// both forms (the findings' wording comes from the tree both readers build: an unmodelled
/// `tcp flags & ...` is named by its selector and operator, `numgen` alike).
#[test]
fn the_same_ruleset_as_text_and_as_json_gives_the_same_flows() {
    for (text, json) in [
        (
            "nftests-chains-prio-base-chains.nft",
            "nftests-chains-prio-base-chains.json-nft",
        ),
        (
            "nftests-maps-nat-addr-port.nft",
            "nftests-maps-nat-addr-port.json-nft",
        ),
        (
            "nftests-portknock-input.nft",
            "nftests-portknock-input.json-nft",
        ),
        (
            "nftests-sets-with-ifnames.nft",
            "nftests-sets-with-ifnames.json-nft",
        ),
        (
            "nftables-rs-handwritten-nftables-init.nft",
            "nftables-rs-nftables-init-list-ruleset.json",
        ),
    ] {
        let (a, b) = (flows_of(text), flows_of(json));
        assert!(!a.is_empty(), "{text}");
        assert_eq!(a, b, "{text} against {json}");
        let (a, b) = (findings_of(text), findings_of(json));
        assert!(!a.is_empty(), "{text}");
        assert_eq!(a, b, "{text} against {json}");
    }
}

#[test]
fn every_corpus_file_is_recognised_and_reads_without_z001() {
    let dir = std::path::Path::new("fixtures/nftables");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !p.is_file() || name.ends_with(".md") {
            continue;
        }
        n += 1;
        let (v, _) = audit_json(&["--env", "vsphere", "--role", "zvm", p.to_str().unwrap()]);
        let codes: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["code"].as_str())
            .filter(|c| ["Z001", "Z003"].contains(c))
            .collect();
        assert!(
            !v["flows"].as_array().unwrap().is_empty(),
            "{name}: not audited"
        );
        assert_eq!(codes, Vec::<&str>::new(), "{name}");
        // potato's `@china` set is defined in the file its `include` names, which is never
        // followed: the rule naming it is undecidable (Z002), which is not invalid syntax
        if name == "potato-routing-nftables.conf" {
            let z002: Vec<&str> = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == "Z002")
                .filter_map(|f| f["message"].as_str())
                .collect();
            assert!(
                z002.iter().any(|m| m.starts_with("`@china` names no set")
                    && m.contains("include \"/var/lib/potato/nft-set-*.conf\"")),
                "{z002:?}"
            );
        }
    }
    assert_eq!(n, 23, "the corpus's 23 files");
}

/// Without an `include`, a set the file names and never defines is invalid input: `nft -f`
/// refuses it ("Error: No such file or directory; did you mean set ...?"), so it is a Z001 on the
/// name; the rest of the file is still audited.
#[test]
fn an_undefined_set_without_an_include_is_invalid() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nft-undefined-set");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("undefined-set.nft");
    std::fs::write(
        &file,
        "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tip saddr @admins tcp dport 9669 accept\n\t\ttcp dport 9081 accept\n\t}\n}\n",
    )
    .unwrap();
    let (v, code) = audit_json(&["--env", "vsphere", "--role", "zvm", file.to_str().unwrap()]);
    let z001: Vec<(&str, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z001")
        .map(|f| (f["message"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        z001,
        vec![("`@admins` names no set of table `inet filter`", 4)]
    );
    assert_eq!(code, 1, "a Z001 is an error finding: exit 1");
    assert_eq!(inbound(&v, PAIRING, "ipv4").0, "allowed");
}

/// nft before 1.1.0 loads `tcp sport != A tcp dport != B` as one 4-byte comparison of both ports
/// (`[ payload load 4b @ transport header + 0 ] [ cmp neq ]`: the rule matches unless both
/// ports are equal), nftables 1.1.0 (commit f35a0d78) as two (both must differ), and
/// `nft list ruleset` prints both the same. Found by the kernel oracle (nft-805767: nft 1.0.6
/// accepted port 4005 under `tcp sport != 9081 tcp dport != 4005 accept`). Before 1.0.9 a
/// `counter` between them does not keep them apart either (commit 99ab1b8f). The packets on
/// which the two readings differ are unknown; where both readings agree the verdict stands.
#[test]
fn two_negated_port_matches_are_read_as_either_nft_loads_them() {
    let v = quick("merged-negated-ports.nft");
    // to port 4005 from an ephemeral port: matches only if merged (one port differs)
    let (status, _, sources) = inbound(&v, "vsphere.zvm-vra-4005", "ipv4");
    assert_eq!(status, "unknown");
    assert_eq!(sources, serde_json::json!([]));
    // to port 4006: both ports differ for every client port but 9081, accepted either way
    let (status, _, sources) = inbound(&v, "vsphere.zvm-vra-4006", "ipv4");
    assert_eq!(status, "allowed");
    assert_eq!(
        sources,
        serde_json::json!(["10.20.0.0/16", "156.32.142.64/28"])
    );
    // two `!=` on one port and one on the other: merged in an order nft does not fix, so the
    // rule decides nothing for the packets its address selects (none of them is admitted)
    let (status, _, sources) = inbound(&v, "vsphere.zvm-zvm-9081", "ipv4");
    assert_eq!(status, "allowed");
    assert!(!sources.to_string().contains("10.30."), "{sources}");
    // one diagnostic per rule, on the pair (the counter between does not change that)
    let z002: Vec<u64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z002" && f["message"].as_str().unwrap().contains("1.1.0"))
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(z002, vec![4, 5, 6]);
    // a rule lowered into several boxes is labelled once where it admits 7073
    let z202 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "Z202")
        .expect("7073 reachable");
    let lines: Vec<u64> = z202["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 5], "{z202}");
}

/// A packet the host sends has no input interface, and nft's `iif` reads it as index 0, which
/// no device has (net/netfilter/nft_meta.c stores `dev ? dev->ifindex : 0`; checked on Linux
/// 6.18: `iif != "lo" counter` in an output chain counts every locally sent packet, `iif "lo"`
/// none). So in an output chain `iif "eth0" ... accept` never accepts, and `iif != "eth1" ...
/// accept` always does.
#[test]
fn a_locally_sent_packet_has_interface_index_zero() {
    let v = quick("output-iif.nft");
    let status = |req: &str| -> Vec<String> {
        v["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["requirement"] == req && f["direction"] == "outbound")
            .map(|f| f["status"].as_str().unwrap().to_string())
            .collect()
    };
    // `iif "eth0" tcp dport 4005 accept`: never the host's own SYN
    assert_eq!(status("vsphere.zvm-vra-4005"), ["blocked", "blocked"]);
    // `iif != "eth1" tcp dport 443 accept`: every one of them, IPv4 and IPv6
    assert_eq!(status("vsphere.zvm-vcenter-443"), ["allowed", "allowed"]);
    no_parse_problems(&v);
}

/// `Ruleset::first_deny` (one evaluation that stops at the first stage denying part of the
/// region, used by the nftables fix walk) finds what evaluating the pipeline cut after each
/// stage in turn finds: the first cut that denies, and its denied pieces. On every nftables
/// fixture, every family and hook, NEW and ESTABLISHED packets.
#[test]
fn first_deny_is_the_first_cut_that_denies() {
    use portolan::model::ports::ConnState;
    use portolan::model::{PacketBox, Pipeline, Verdict};
    let mut checked = 0;
    for e in walkdir::WalkDir::new("fixtures/nftables")
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "nft"))
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let f = portolan::load::parse_text(
            e.path().display().to_string(),
            text,
            portolan::formats::detect::Format::NftablesText,
            false,
        );
        for rs in &f.rulesets {
            for pl in &rs.pipelines {
                for state in [ConnState::New, ConnState::Established] {
                    let mut b = PacketBox::full();
                    b.state = state.set();
                    let by_cuts = (0..pl.stages.len()).find_map(|k| {
                        let cut = Pipeline {
                            name: pl.name.clone(),
                            hook: pl.hook,
                            stages: pl.stages[..=k].to_vec(),
                            diverted: Vec::new(),
                        };
                        let denied: Vec<_> = rs
                            .evaluate(&cut, &b)
                            .into_iter()
                            .filter(|o| o.verdict == Verdict::Deny)
                            .collect();
                        (!denied.is_empty()).then_some((k, denied))
                    });
                    assert_eq!(
                        rs.first_deny(pl, &b),
                        by_cuts,
                        "{} {}",
                        e.path().display(),
                        pl.name
                    );
                    checked += usize::from(by_cuts.is_some());
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} pipelines deny anything");
}
