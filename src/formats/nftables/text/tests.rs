use super::parse;
use crate::formats::nftables::ast::*;
use crate::formats::IssueKind;
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let p = format!("{}/fixtures/nftables/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn errors(r: &Ruleset) -> Vec<&crate::formats::ParseIssue> {
    r.issues
        .iter()
        .filter(|i| i.kind == IssueKind::ParseError)
        .collect()
}

fn table<'a>(r: &'a Ruleset, fam: TableFamily, name: &str) -> &'a Table {
    r.tables
        .iter()
        .find(|t| t.family.v == fam && t.name.v == name)
        .unwrap_or_else(|| panic!("no table {} {name}", fam.name()))
}

fn chain<'a>(t: &'a Table, name: &str) -> &'a Chain {
    t.chains
        .iter()
        .find(|c| c.name.v == name)
        .unwrap_or_else(|| panic!("no chain {name}"))
}

fn val(e: &Expr) -> &str {
    match e {
        Expr::Value(v) => &v.v,
        other => panic!("not a value: {other:?}"),
    }
}

/// Every text file of the corpus reads with no parse error (the `include`s of the OpenWrt and
/// potato files are reported as undecidable, as they must be).
#[test]
fn corpus_text_files_read_without_errors() {
    let dir = format!("{}/fixtures/nftables", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !(name.ends_with(".nft") || name.ends_with(".conf")) {
            continue;
        }
        n += 1;
        let text = fixture(&name);
        let r = parse(&text);
        assert!(errors(&r).is_empty(), "{name}: {:?}", errors(&r));
        assert!(!r.tables.is_empty(), "{name}: no tables");
        for i in &r.issues {
            assert!(
                i.span.end <= text.len() && i.span.start <= i.span.end,
                "{name}: {i:?}"
            );
        }
        for t in &r.tables {
            for c in &t.chains {
                for rule in &c.rules {
                    assert!(
                        text.get(rule.span.start..rule.span.end).is_some(),
                        "{name}: {rule:?}"
                    );
                }
            }
        }
        let undecidable = r
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Undecidable)
            .count();
        let has_include = text.lines().any(|l| l.trim_start().starts_with("include "));
        assert_eq!(undecidable > 0, has_include, "{name}: {:?}", r.issues);
    }
    assert_eq!(n, 16);
}

#[test]
fn base_chain_priorities_resolved_per_family() {
    let text = fixture("nftests-chains-prio-base-chains.nft");
    let r = parse(&text);
    assert_eq!(r.tables.len(), 6);
    let total: usize = r.tables.iter().map(|t| t.chains.len()).sum();
    assert_eq!(total, 390);
    let prio = |fam, name| {
        let c = chain(table(&r, fam, "x"), name);
        let b = c.base.as_ref().unwrap();
        (
            b.hook.v.clone(),
            b.priority.v,
            b.policy.as_ref().map(|p| p.v.clone()),
        )
    };
    use TableFamily::*;
    assert_eq!(
        prio(Ip, "preroutingrawm11"),
        ("prerouting".into(), -311, Some("accept".into()))
    );
    assert_eq!(prio(Ip, "preroutingrawm10").1, -310);
    assert_eq!(prio(Ip, "preroutingraw").1, -300);
    assert_eq!(prio(Ip, "preroutingrawp10").1, -290);
    assert_eq!(prio(Ip, "preroutingmanglem10").1, -160);
    assert_eq!(prio(Inet, "preroutingrawp10").1, -290);
    // bridge: `filter` is -200
    assert_eq!(prio(Bridge, "preroutingfilterm11").1, -211);
    assert_eq!(prio(Bridge, "preroutingfilterm10").1, -210);
    assert_eq!(prio(Bridge, "preroutingfilterp10").1, -190);
    // netdev: hook ingress with a device
    let c = chain(table(&r, Netdev, "x"), "ingressfilterm10");
    let b = c.base.as_ref().unwrap();
    assert_eq!((b.hook.v.as_str(), b.priority.v), ("ingress", -10));
    assert_eq!(b.device.as_ref().unwrap().v, "lo");
    assert_eq!(
        &text[b.priority.span.start..b.priority.span.end],
        "filter - 10"
    );
    assert_eq!(b.kind.v, "filter");
}

#[test]
fn concatenated_set_and_vmap() {
    let r = parse(&fixture("nftests-sets-with-ifnames.nft"));
    let t = &r.tables[0];
    let s = t.sets.iter().find(|s| s.name.v == "concat_wild").unwrap();
    let kt: Vec<_> = s.key_type.iter().map(|k| k.v.as_str()).collect();
    assert_eq!(kt, ["ipv4_addr", "ifname"]);
    assert_eq!(s.flags[0].v, "interval");
    assert_eq!(s.elements.len(), 4);
    match &s.elements[2].key {
        Expr::Concat(v) => {
            assert!(
                matches!(&v[0], Expr::Prefix { addr, len } if addr.v == "1.1.2.0" && len.v == 24)
            );
            assert_eq!(val(&v[1]), "abcdef0");
        }
        e => panic!("{e:?}"),
    }
    let m = t.sets.iter().find(|s| s.name.v == "map_wild").unwrap();
    assert_eq!(m.data_type.as_ref().unwrap().v, "verdict");
    assert_eq!(val(m.elements[0].data.as_ref().unwrap()), "jump do_nothing");
    // `iifname vmap @map_wild`
    let vm = t
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.stmts)
        .find_map(|s| match s {
            Stmt::VerdictMap { key, map, .. } => Some((key, map)),
            _ => None,
        })
        .unwrap();
    assert!(matches!(vm.0, Expr::Meta { key, .. } if key == "iifname"));
    assert!(matches!(vm.1, Expr::SetRef(n) if n.v == "map_wild"));
}

#[test]
fn anonymous_vmap_and_defines() {
    let text = fixture("debian-router-martijnvds-nftables.conf");
    let r = parse(&text);
    let t = table(&r, TableFamily::Inet, "filter");
    // `ct state vmap { established : accept, related : accept, invalid : drop }`
    let g = chain(t, "global");
    match &g.rules[0].stmts[0] {
        Stmt::VerdictMap {
            key: Expr::Ct { key, .. },
            map: Expr::Set(els),
            ..
        } => {
            assert_eq!(key, "state");
            let pairs: Vec<_> = els
                .iter()
                .map(|e| (val(&e.key), val(e.data.as_ref().unwrap())))
                .collect();
            assert_eq!(
                pairs,
                [
                    ("established", "accept"),
                    ("related", "accept"),
                    ("invalid", "drop")
                ]
            );
        }
        s => panic!("{s:?}"),
    }
    // `define nic_trusted = "vlan_trusted"` ... `iifname { $nic_trusted } tcp dport { 22, 443 }`
    let m = chain(t, "management_in");
    match &m.rules[0].stmts[0] {
        Stmt::Match {
            left: Expr::Meta { key, .. },
            op: Op::Eq,
            right: Expr::Set(els),
            ..
        } => {
            assert_eq!(key, "iifname");
            assert_eq!(val(&els[0].key), "vlan_trusted");
            // the value's span is the define's text
            let sp = els[0].key.span();
            assert_eq!(&text[sp.start..sp.end], "\"vlan_trusted\"");
        }
        s => panic!("{s:?}"),
    }
    // The rule's span is where the rule is written, not where the define is.
    let sp = m.rules[0].span;
    assert!(text[sp.start..sp.end].starts_with("iifname { $nic_trusted }"));
    // `define server_dns = { 10.240.2.8/32 }` used as `ip daddr $server_dns`
    let d = chain(t, "allow_dns");
    assert!(matches!(&d.rules[0].stmts[0],
        Stmt::Match { right: Expr::Set(els), .. } if matches!(&els[0].key, Expr::Prefix { len, .. } if len.v == 32)));
    // `meta l4proto . th dport @dns_ok`
    assert!(matches!(&d.rules[0].stmts[1],
        Stmt::Match { left: Expr::Concat(v), right: Expr::SetRef(s), .. } if v.len() == 2 && s.v == "dns_ok"));
    // `table nat` has family ip; the dnat takes a map of address . port
    let nat = table(&r, TableFamily::Ip, "nat");
    let pre = chain(nat, "prerouting");
    assert_eq!(pre.base.as_ref().unwrap().priority.v, -100);
    assert!(pre.rules[0].stmts.iter().any(|s| matches!(
        s,
        Stmt::Nat {
            kind: NatKind::Dnat,
            addr: Some(Expr::Map { .. }),
            ..
        }
    )));
}

#[test]
fn include_reported_not_followed() {
    let text = fixture("openwrt-fw4-default-ruleset.DERIVED.nft");
    let r = parse(&text);
    let inc: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Undecidable)
        .collect();
    assert_eq!(inc.len(), 1);
    assert!(inc[0].message.contains("/etc/nftables.d/*.nft"));
    assert_eq!(
        &text[inc[0].span.start..inc[0].span.end],
        "include \"/etc/nftables.d/*.nft\""
    );
    let t = table(&r, TableFamily::Inet, "fw4");
    let input = chain(t, "input");
    assert_eq!(
        input.base.as_ref().unwrap().policy.as_ref().unwrap().v,
        "drop"
    );
    assert_eq!(
        input.rules[0].comment.as_deref(),
        Some("!fw4: Accept traffic from loopback")
    );
    assert!(matches!(&input.rules[0].stmts[1], Stmt::Verdict(v) if v.v == Verdict::Accept));
    // `limit rate 25/second burst 50 packets return`
    let syn = chain(t, "syn_flood");
    assert!(matches!(&syn.rules[0].stmts[0], Stmt::Undecidable { what } if what.v == "limit"));
    assert!(matches!(&syn.rules[0].stmts[1], Stmt::Verdict(v) if v.v == Verdict::Return));
}

#[test]
fn handles_and_list_output() {
    let text = fixture("libvirt-lxd-nft-a-list-ruleset-handles.DERIVED.nft");
    let r = parse(&text);
    assert!(r.tables.iter().all(|t| t.handle.is_some()));
    let rules: Vec<_> = r
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .collect();
    assert!(rules.iter().all(|r| r.handle.is_some()), "{rules:?}");
    // `... counter packets 0 bytes 0 # CHECKSUM fill # handle 4`
    assert!(rules
        .iter()
        .any(|r| r.handle == Some(4) && matches!(r.stmts.last(), Some(Stmt::Counter(_)))));
}

#[test]
fn script_commands_applied() {
    let text = r#"#!/usr/sbin/nft -f
flush ruleset
define ports = { 22, 9669 }
define admin = 10.0.0.0/8
add table inet f
add chain inet f input { type filter hook input priority filter + 5 ; policy drop ; }
add chain inet f other
add rule inet f input ct state established,related accept
add rule inet f input ip saddr $admin tcp dport $ports counter accept comment "admin"
insert rule inet f input iif lo accept
add rule inet f input \
    tcp dport 4005-4009 jump other
add rule inet f other ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.2 . 9081 } accept
add rule inet f other tcp dport 80 drop
flush chain inet f other
add table ip gone
delete table ip gone
add chain ip t c '{ type nat hook prerouting priority dstnat; }'
add rule ip t c tcp dport 80 dnat to 10.1.1.1:8080
add rule ip t c udp dport 53 redirect to :5353
"#;
    let r = parse(text);
    assert!(errors(&r).is_empty(), "{:?}", r.issues);
    assert_eq!(r.tables.len(), 2);
    let f = table(&r, TableFamily::Inet, "f");
    let input = chain(f, "input");
    let b = input.base.as_ref().unwrap();
    assert_eq!(
        (b.priority.v, b.policy.as_ref().unwrap().v.as_str()),
        (5, "drop")
    );
    assert_eq!(input.rules.len(), 4);
    assert!(
        matches!(&input.rules[0].stmts[0], Stmt::Match { left: Expr::Meta { key, .. }, right: Expr::Value(v), .. } if key == "iif" && v.v == "lo")
    );
    match &input.rules[1].stmts[0] {
        Stmt::Match {
            left: Expr::Ct { key, .. },
            right: Expr::Set(els),
            ..
        } => {
            assert_eq!(key, "state");
            assert_eq!(els.len(), 2);
        }
        s => panic!("{s:?}"),
    }
    let admin = &input.rules[2];
    assert_eq!(admin.comment.as_deref(), Some("admin"));
    assert!(
        matches!(&admin.stmts[0], Stmt::Match { right: Expr::Prefix { len, .. }, .. } if len.v == 8)
    );
    assert!(
        matches!(&admin.stmts[1], Stmt::Match { right: Expr::Set(els), .. } if els.len() == 2 && val(&els[1].key) == "9669")
    );
    assert!(matches!(admin.stmts[2], Stmt::Counter(_)));
    match &input.rules[3].stmts[..] {
        [Stmt::Match {
            right: Expr::Range(lo, hi),
            ..
        }, Stmt::Verdict(v)] => {
            assert_eq!((val(lo), val(hi)), ("4005", "4009"));
            assert!(matches!(&v.v, Verdict::Jump(n) if n.v == "other"));
        }
        s => panic!("{s:?}"),
    }
    assert!(chain(f, "other").rules.is_empty());
    let c = chain(table(&r, TableFamily::Ip, "t"), "c");
    assert_eq!(c.base.as_ref().unwrap().priority.v, -100);
    match &c.rules[0].stmts[1] {
        Stmt::Nat {
            kind: NatKind::Dnat,
            addr: Some(a),
            port: Some(p),
            ..
        } => {
            assert_eq!((val(a), val(p)), ("10.1.1.1", "8080"));
        }
        s => panic!("{s:?}"),
    }
    assert!(
        matches!(&c.rules[1].stmts[1], Stmt::Nat { kind: NatKind::Redirect, addr: None, port: Some(Expr::Value(p)), .. } if p.v == "5353")
    );
}

#[test]
fn concatenation_in_anonymous_set() {
    let r = parse("table ip t {\n chain c {\n  ip saddr . tcp dport { 10.0.0.1 . 22, 10.0.0.0/24 . 80-90 } accept\n }\n}\n");
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    match &r.tables[0].chains[0].rules[0].stmts[0] {
        Stmt::Match {
            left: Expr::Concat(l),
            right: Expr::Set(els),
            ..
        } => {
            assert!(
                matches!(&l[1], Expr::Payload { proto, field, .. } if proto == "tcp" && field == "dport")
            );
            match &els[1].key {
                Expr::Concat(v) => {
                    assert!(matches!(v[0], Expr::Prefix { .. }));
                    assert!(matches!(v[1], Expr::Range(..)));
                }
                e => panic!("{e:?}"),
            }
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn malformed_lines_are_reported_and_skipped() {
    let text = "table inet t {\n chain c {\n  type filter hook input priority bogus; policy drop;\n  tcp dport accept\n  ip saddr $nope accept\n  tcp dport 22 accept\n }\n}\nfrobnicate all\ntable ip u { chain d { udp dport 53 accept; } }\n";
    let r = parse(text);
    let errs = errors(&r);
    let labels: Vec<_> = errs
        .iter()
        .map(|e| &text[e.span.start..e.span.end])
        .collect();
    assert_eq!(
        labels,
        ["bogus", "accept", "$nope", "frobnicate"],
        "{errs:?}"
    );
    assert_eq!(r.tables.len(), 2);
    assert_eq!(r.tables[0].chains[0].rules.len(), 1);
    assert_eq!(r.tables[1].chains[0].rules.len(), 1);
}

#[test]
fn truncated_corpus_files_never_panic() {
    for name in [
        "nft-list-ruleset-sample.nft",
        "debian-router-martijnvds-nftables.conf",
        "openwrt-fw4-default-ruleset.DERIVED.nft",
    ] {
        let text = fixture(name);
        for cut in (0..text.len()).step_by(7) {
            if text.is_char_boundary(cut) {
                let _ = parse(&text[..cut]);
            }
        }
    }
}

proptest! {
    #[test]
    fn random_input_never_panics(s in "\\PC{0,300}") {
        let r = parse(&s);
        for i in &r.issues {
            prop_assert!(i.span.start <= i.span.end && i.span.end <= s.len());
        }
    }

    #[test]
    fn random_tokens_never_panic(toks in proptest::collection::vec(proptest::sample::select(vec![
        "table", "inet", "ip", "t", "chain", "c", "{", "}", ";", "\n", "type", "filter", "hook", "input",
        "priority", "-", "+", "10", "policy", "drop", "tcp", "dport", "22", "accept", "jump", "set", "map",
        "elements", "=", ":", ".", ",", "@s", "$v", "define", "v", "vmap", "add", "rule", "insert", "position",
        "delete", "flush", "dnat", "to", "10.0.0.1:80", "[::1]:80", "\"x\"", "comment", "ct", "state",
        "limit", "rate", "#", "handle", "\\", "fib", "daddr", "meta", "mark", "!=", "&", "(", ")", "include",
    ]), 0..60)) {
        let text = toks.join(" ");
        let _ = parse(&text);
    }
}
