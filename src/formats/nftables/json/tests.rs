use super::*;
use crate::formats::json;
use crate::formats::nftables::ast::{NatKind, Op, Verdict};
use crate::formats::IssueKind;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/nftables/");

fn read(text: &str) -> Ruleset {
    let doc = json::parse(text).expect("valid JSON");
    parse(&doc)
}

fn fixture(name: &str) -> (String, Ruleset) {
    let text = std::fs::read_to_string(format!("{DIR}{name}")).expect("fixture");
    let rs = read(&text);
    (text, rs)
}

fn errors(rs: &Ruleset) -> Vec<&ParseIssue> {
    rs.issues
        .iter()
        .filter(|i| i.kind == IssueKind::ParseError)
        .collect()
}

fn table<'r>(rs: &'r Ruleset, fam: TableFamily, name: &str) -> &'r Table {
    rs.tables
        .iter()
        .find(|t| t.family.v == fam && t.name.v == name)
        .unwrap_or_else(|| panic!("table {} {name}", fam.name()))
}

fn chain<'t>(t: &'t Table, name: &str) -> &'t Chain {
    t.chains
        .iter()
        .find(|c| c.name.v == name)
        .unwrap_or_else(|| panic!("chain {name}"))
}

fn set<'t>(t: &'t Table, name: &str) -> &'t Set {
    t.sets
        .iter()
        .find(|s| s.name.v == name)
        .unwrap_or_else(|| panic!("set {name}"))
}

fn val(e: &Expr) -> &str {
    match e {
        Expr::Value(v) => &v.v,
        other => panic!("not a value: {other:?}"),
    }
}

fn payload(e: &Expr) -> (&str, &str) {
    match e {
        Expr::Payload { proto, field, .. } => (proto, field),
        other => panic!("not a payload: {other:?}"),
    }
}

/// Every JSON file of the corpus reads with no parse error.
#[test]
fn every_fixture_reads_without_errors() {
    let mut n = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".json") || name.ends_with(".json-nft")) {
            continue;
        }
        n += 1;
        let (_, rs) = fixture(&name);
        assert!(errors(&rs).is_empty(), "{name}: {:?}", errors(&rs));
        assert!(!rs.tables.is_empty(), "{name}: no tables");
    }
    assert_eq!(n, 7);
}

#[test]
fn base_chains_and_priorities() {
    let (text, rs) = fixture("nftests-chains-prio-base-chains.json-nft");
    let chains: usize = rs.tables.iter().map(|t| t.chains.len()).sum();
    assert_eq!(chains, 390);
    assert!(rs
        .tables
        .iter()
        .all(|t| t.chains.iter().all(|c| c.base.is_some())));
    let prio = |fam, name: &str| {
        let c = chain(table(&rs, fam, "x"), name);
        let b = c.base.as_ref().unwrap();
        (b.kind.v.clone(), b.hook.v.clone(), b.priority.v)
    };
    let f = |h: &str, p| ("filter".to_string(), h.to_string(), p);
    assert_eq!(
        prio(TableFamily::Ip, "preroutingrawm11"),
        f("prerouting", -311)
    );
    assert_eq!(
        prio(TableFamily::Ip, "preroutingrawp11"),
        f("prerouting", -289)
    );
    assert_eq!(prio(TableFamily::Ip6, "inputfilter"), f("input", 0));
    assert_eq!(
        prio(TableFamily::Inet, "forwardfilterm11"),
        f("forward", -11)
    );
    assert_eq!(prio(TableFamily::Bridge, "inputfilter"), f("input", -200));
    assert_eq!(
        prio(TableFamily::Bridge, "forwardfilterm11"),
        f("forward", -211)
    );
    let ip = table(&rs, TableFamily::Ip, "x");
    let srcnat = chain(ip, "postroutingsrcnatp10").base.as_ref().unwrap();
    assert_eq!(srcnat.priority.v, 110);
    assert_eq!(
        &text[srcnat.priority.span.start..srcnat.priority.span.end],
        "110"
    );
    assert_eq!(srcnat.policy.as_ref().unwrap().v, "accept");
    // array order kept
    assert_eq!(ip.chains[0].name.v, "preroutingrawm11");
    assert_eq!(ip.chains[1].name.v, "preroutingrawm10");
    // netdev chains carry their device
    let nd = chain(table(&rs, TableFamily::Netdev, "x"), "ingressfilter");
    let b = nd.base.as_ref().unwrap();
    assert_eq!(b.hook.v, "ingress");
    assert_eq!(b.device.as_ref().unwrap().v, "lo");
    // normalised handles (0) are no handles
    assert_eq!(ip.handle, None);
    assert_eq!(ip.chains[0].handle, None);
    // spans: the chain object, the name value
    let c = &ip.chains[0];
    assert!(text[c.span.start..c.span.end].starts_with('{'));
    assert_eq!(
        &text[c.name.span.start..c.name.span.end],
        "\"preroutingrawm11\""
    );
}

#[test]
fn nat_address_port_map() {
    let (_, rs) = fixture("nftests-maps-nat-addr-port.json-nft");
    let t = table(&rs, TableFamily::Ip, "ipfoo");
    let z = set(t, "z");
    let kt: Vec<&str> = z.key_type.iter().map(|k| k.v.as_str()).collect();
    assert_eq!(kt, ["ipv4_addr", "inet_service"]);
    assert_eq!(z.data_type.as_ref().unwrap().v, "ipv4_addr . inet_service");
    assert_eq!(z.elements.len(), 1);
    let e = &z.elements[0];
    let Expr::Concat(k) = &e.key else {
        panic!("{:?}", e.key)
    };
    assert_eq!((val(&k[0]), val(&k[1])), ("192.168.7.2", "42"));
    let Some(Expr::Concat(d)) = &e.data else {
        panic!("{:?}", e.data)
    };
    assert_eq!((val(&d[0]), val(&d[1])), ("10.1.1.1", "4242"));
    // typeof maps
    let t1 = set(t, "t1");
    assert_eq!(t1.key_type[0].v, "numgen inc mod 2");
    assert_eq!(t1.data_type.as_ref().unwrap().v, "ipv4_addr");

    let c = chain(t, "c");
    let base = c.base.as_ref().unwrap();
    assert_eq!(
        (base.kind.v.as_str(), base.hook.v.as_str()),
        ("nat", "prerouting")
    );
    assert_eq!(base.priority.v, -100);
    // `dnat ip to ip saddr . tcp dport map @z`
    let nat = c
        .rules
        .iter()
        .flat_map(|r| &r.stmts)
        .find_map(|s| match s {
            Stmt::Nat {
                kind: NatKind::Dnat,
                addr: Some(Expr::Map { key, map }),
                port: None,
                ..
            } if matches!(**key, Expr::Concat(_)) => Some((key, map)),
            _ => None,
        })
        .expect("dnat to a concatenated map");
    let Expr::Concat(parts) = &**nat.0 else {
        unreachable!()
    };
    assert_eq!(payload(&parts[0]), ("ip", "saddr"));
    assert_eq!(payload(&parts[1]), ("tcp", "dport"));
    assert!(matches!(&**nat.1, Expr::SetRef(n) if n.v == "z"));
    // `tcp dport 42 dnat to 10.2.3.4:4242`
    let r = &c.rules[3];
    assert!(
        matches!(&r.stmts[1], Stmt::Match { left, op: Op::Eq, right, .. }
        if payload(left) == ("tcp", "dport") && val(right) == "42")
    );
    let Stmt::Nat {
        kind: NatKind::Dnat,
        addr: Some(a),
        port: Some(p),
        ..
    } = &r.stmts[2]
    else {
        panic!("{:?}", r.stmts[2])
    };
    assert_eq!((val(a), val(p)), ("10.2.3.4", "4242"));
    // `iifname != "foobar" accept`
    assert!(
        matches!(&c.rules[0].stmts[..], [Stmt::Match { left: Expr::Meta { key, .. }, op: Op::Ne, right, .. },
        Stmt::Verdict(v)] if key == "iifname" && val(right) == "foobar" && v.v == Verdict::Accept)
    );
    // numgen maps are read as the text reader reads them (the lowering decides the translation
    // undecidable): the key is the value `numgen inc mod 2`, the map `@t1`
    assert!(c.rules.iter().any(|r| matches!(&r.stmts[..],
        [Stmt::Nat { addr: Some(Expr::Map { key, map }), .. }]
        if matches!(&**key, Expr::Value(v) if v.v == "numgen inc mod 2")
            && matches!(&**map, Expr::SetRef(m) if m.v == "t1"))));
}

#[test]
fn sets_with_interface_names() {
    let (_, rs) = fixture("nftests-sets-with-ifnames.json-nft");
    let t = table(&rs, TableFamily::Inet, "testifsets");
    let names: Vec<&str> = t.sets.iter().map(|s| s.name.v.as_str()).collect();
    assert_eq!(
        names,
        ["simple", "simple_wild", "concat", "concat_wild", "map_wild"]
    );
    let simple = set(t, "simple");
    let els: Vec<&str> = simple.elements.iter().map(|e| val(&e.key)).collect();
    assert_eq!(els, ["abcdef0", "abcdef1", "othername"]);
    assert!(simple.flags.is_empty() && !simple.dynamic && simple.data_type.is_none());
    let wild = set(t, "simple_wild");
    assert_eq!(wild.flags[0].v, "interval");
    assert_eq!(val(&wild.elements[0].key), "abcdef*");
    let cw = set(t, "concat_wild");
    assert_eq!(cw.key_type.len(), 2);
    let Expr::Concat(k) = &cw.elements[2].key else {
        panic!()
    };
    assert!(matches!(&k[0], Expr::Prefix { addr, len } if addr.v == "1.1.2.0" && len.v == 24));
    assert_eq!(val(&k[1]), "abcdef0");
    let m = set(t, "map_wild");
    assert_eq!(m.data_type.as_ref().unwrap().v, "verdict");
    assert_eq!(val(m.elements[0].data.as_ref().unwrap()), "jump do_nothing");
    // `iifname vmap @map_wild`
    let v4 = chain(t, "v4icmp");
    assert_eq!(v4.rules.len(), 5);
    assert!(v4.base.is_none());
    assert!(
        matches!(&v4.rules[4].stmts[..], [Stmt::VerdictMap { key: Expr::Meta { key, .. },
        map: Expr::SetRef(n), .. }] if key == "iifname" && n.v == "map_wild")
    );
    // `iifname { "abcdef0", "eth0" }`
    assert!(
        matches!(&v4.rules[2].stmts[0], Stmt::Match { right: Expr::Set(els), .. }
        if els.len() == 2 && val(&els[1].key) == "eth0")
    );
    // the input chain dispatches with jump and goto; the empty chain exists
    let input = chain(t, "input");
    assert_eq!(input.base.as_ref().unwrap().hook.v, "input");
    assert!(
        matches!(&input.rules[0].stmts[1], Stmt::Verdict(v) if matches!(&v.v, Verdict::Jump(t) if t.v == "v4icmp"))
    );
    assert!(
        matches!(&input.rules[1].stmts[1], Stmt::Verdict(v) if matches!(&v.v, Verdict::Goto(t) if t.v == "v4icmpc"))
    );
    assert!(chain(t, "do_nothing").rules.is_empty());
}

#[test]
fn dynamic_sets_and_undecidable_statements() {
    let (_, rs) = fixture("nftests-portknock-input.json-nft");
    let t = &rs.tables[0];
    assert!(t.sets.iter().all(|s| s.dynamic), "{:?}", t.sets);
    let stmts: Vec<&Stmt> = t
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.stmts)
        .collect();
    assert!(stmts
        .iter()
        .any(|s| matches!(s, Stmt::Undecidable { what } if what.v == "set")));
    assert!(stmts.iter().any(|s| matches!(s, Stmt::Log(_))));
    assert!(stmts
        .iter()
        .any(|s| matches!(s, Stmt::Verdict(v) if v.v == Verdict::Reject)));
    // `ct state established,related` is a set of flags
    assert!(stmts.iter().any(|s| matches!(s, Stmt::Match { left: Expr::Ct { key, .. }, op: Op::Eq, right: Expr::Set(els), .. }
        if key == "state" && els.len() == 2)));
}

#[test]
fn docker_xt_rules_are_kept_as_other() {
    let (_, rs) = fixture("docker-iptables-nft-ruleset.json");
    let others = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.stmts)
        .filter(|s| matches!(s, Stmt::Other(o) if o.v.starts_with("xt")))
        .count();
    assert_eq!(others, 6);
}

#[test]
fn shapes_of_the_man_page() {
    let rs = read(
        r#"{"nftables": [
        {"table": {"family": "inet", "name": "f", "handle": 3}},
        {"chain": {"family": "inet", "table": "f", "name": "in", "handle": 1,
                   "type": "filter", "hook": "input", "prio": "filter", "policy": "drop"}},
        {"rule": {"family": "inet", "table": "f", "chain": "in", "handle": 7, "comment": "ssh",
          "expr": [
            {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
            {"match": {"op": ">=", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": {"range": [4005, 4009]}}},
            {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
            {"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 96, "len": 32}}, "right": 1}},
            {"match": {"op": "==", "left": {"ct": {"key": "saddr", "family": "ip", "dir": "original"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
            {"match": {"left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, {"|": ["fin", "syn"]}]}, "op": "==", "right": {"|": ["fin", "syn"]}}},
            {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}},
            {"vmap": {"key": {"ct": {"key": "state"}}, "data": {"set": [["established", {"accept": null}], ["invalid", {"drop": null}]]}}},
            {"limit": {"rate": 10, "per": "second"}},
            {"notrack": null},
            {"masquerade": null},
            {"redirect": {"port": 8080}},
            {"snat": {"addr": "1.2.3.4"}},
            {"counter": null},
            {"accept": null}
          ]}},
        {"add": {"rule": {"family": "inet", "table": "f", "chain": "in", "expr": [{"drop": null}]}}},
        {"insert": {"rule": {"family": "inet", "table": "f", "chain": "in", "expr": [{"return": null}]}}}
    ]}"#,
    );
    assert!(rs.issues.is_empty(), "{:?}", rs.issues);
    let t = &rs.tables[0];
    assert_eq!(t.handle, Some(3));
    let c = &t.chains[0];
    let b = c.base.as_ref().unwrap();
    assert_eq!(
        (b.priority.v, b.policy.as_ref().unwrap().v.as_str()),
        (0, "drop")
    );
    assert_eq!(c.rules.len(), 3);
    assert!(matches!(&c.rules[0].stmts[..], [Stmt::Verdict(v)] if v.v == Verdict::Return));
    assert!(matches!(&c.rules[2].stmts[..], [Stmt::Verdict(v)] if v.v == Verdict::Drop));
    let r = &c.rules[1];
    assert_eq!((r.handle, r.comment.as_deref()), (Some(7), Some("ssh")));
    let s = &r.stmts;
    assert_eq!(s.len(), 15);
    assert!(matches!(&s[0], Stmt::Match { op: Op::Eq, right: Expr::Set(e), .. } if e.len() == 2));
    assert!(
        matches!(&s[1], Stmt::Match { op: Op::Ge, right: Expr::Range(a, b), .. }
        if val(a) == "4005" && val(b) == "4009")
    );
    assert!(
        matches!(&s[2], Stmt::Match { left: Expr::Fib { flags, result, .. }, .. }
        if flags == &["daddr"] && result == "type")
    );
    assert!(matches!(&s[3], Stmt::Other(o) if o.v.contains("raw payload @nh,96,32")));
    assert!(
        matches!(&s[4], Stmt::Match { left: Expr::Ct { key, dir: Some(d), .. }, right: Expr::Prefix { .. }, .. }
        if key == "ip saddr" && d == "original")
    );
    assert!(matches!(&s[5], Stmt::Other(o) if o.v.contains('&')));
    assert!(
        matches!(&s[6], Stmt::Set { key: Expr::Meta { key, .. }, value, .. } if key == "mark" && val(value) == "1")
    );
    let Stmt::VerdictMap {
        map: Expr::Set(els),
        ..
    } = &s[7]
    else {
        panic!("{:?}", s[7])
    };
    assert_eq!(val(els[0].data.as_ref().unwrap()), "accept");
    assert!(matches!(&s[8], Stmt::Undecidable { what } if what.v == "limit"));
    assert!(matches!(&s[9], Stmt::Notrack(_)));
    assert!(matches!(
        &s[10],
        Stmt::Nat {
            kind: NatKind::Masquerade,
            addr: None,
            port: None,
            ..
        }
    ));
    assert!(
        matches!(&s[11], Stmt::Nat { kind: NatKind::Redirect, addr: None, port: Some(p), .. } if val(p) == "8080")
    );
    assert!(
        matches!(&s[12], Stmt::Nat { kind: NatKind::Snat, addr: Some(a), .. } if val(a) == "1.2.3.4")
    );
    assert!(matches!(&s[13], Stmt::Counter(_)));
    assert!(matches!(&s[14], Stmt::Verdict(v) if v.v == Verdict::Accept));
}

#[test]
fn malformed_objects_are_z001_and_the_rest_is_read() {
    let text = r#"{"nftables": [
        {"table": {"family": "ipx", "name": "bad"}},
        {"table": {"family": "ip", "name": "t"}},
        {"chain": {"family": "ip", "table": "t", "name": "c", "hook": "input", "prio": "soon", "type": "filter"}},
        {"chain": {"family": "ip", "table": "t", "name": "d"}},
        {"rule": {"family": "ip", "table": "t", "chain": "d", "expr": [
            {"match": {"op": "~", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": null}]}},
        {"rule": {"family": "ip", "table": "t", "chain": "d", "expr": [{"jump": {"target": 5}}]}},
        {"rule": {"family": "ip", "table": "t", "chain": "nochain", "expr": []}},
        17,
        {"rule": {"family": "ip", "table": "t", "chain": "d", "expr": [{"drop": null}]}}
    ]}"#;
    let rs = read(text);
    let errs = errors(&rs);
    let at = |i: &ParseIssue| &text[i.span.start..i.span.end];
    let labelled: Vec<&str> = errs.iter().map(|i| at(i)).collect();
    assert_eq!(
        labelled,
        [
            "\"ipx\"",
            "\"soon\"",
            "\"~\"",
            "{\"target\": 5}",
            "\"nochain\"",
            "17"
        ]
    );
    let t = table(&rs, TableFamily::Ip, "t");
    // a chain whose priority cannot be read is kept as a regular chain
    assert!(chain(t, "c").base.is_none());
    let d = chain(t, "d");
    assert_eq!(d.rules.len(), 3);
    // the unreadable match stays, as Other, so the rule is not credited with a plain accept
    assert!(matches!(
        &d.rules[0].stmts[..],
        [Stmt::Other(_), Stmt::Verdict(_)]
    ));
    assert!(matches!(&d.rules[1].stmts[..], [Stmt::Other(_)]));
    assert!(matches!(&d.rules[2].stmts[..], [Stmt::Verdict(v)] if v.v == Verdict::Drop));
    assert!(rs.tables.iter().all(|t| t.name.v != "bad"));
}

#[test]
fn not_nftables_json() {
    let doc = json::parse(r#"{"SecurityGroups": []}"#).unwrap();
    assert!(!is_nftables_json(&doc));
    let rs = parse(&doc);
    assert_eq!(errors(&rs).len(), 1);
    assert!(rs.tables.is_empty());
    assert!(is_nftables_json(
        &json::parse(r#"{"nftables": []}"#).unwrap()
    ));
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "nftables", "table", "chain", "rule", "set", "map", "element", "family", "name", "table",
        "chain", "expr", "match", "op", "left", "right", "payload", "protocol", "field", "meta",
        "key", "ct", "fib", "concat", "range", "prefix", "addr", "len", "elem", "val", "data",
        "vmap", "dnat", "snat", "jump", "goto", "target", "accept", "type", "hook", "prio",
        "policy", "flags", "handle", "|", "&", "insert", "add", "mangle", "value", "port",
    ];

    fn any_json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            (-70000i64..70000).prop_map(|n| n.to_string()),
            Just("1e999".to_string()),
            prop::sample::select(vec![
                "\"ip\"", "\"inet\"", "\"@s\"", "\"==\"", "\"in\"", "\"\"", "\"x\""
            ])
            .prop_map(String::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|m| {
                    let m: Vec<String> =
                        m.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Random values at every place of a document never panic.
        #[test]
        fn random_values_never_panic(a in any_json(), b in any_json(), c in any_json(), d in any_json()) {
            let text = format!(
                r#"{{"nftables": [{{"table": {{"family": "inet", "name": "t"}}}}, {a},
                {{"chain": {{"family": "inet", "table": "t", "name": "c", "hook": {b}, "type": "filter", "prio": {c}}}}},
                {{"set": {{"family": "inet", "table": "t", "name": "s", "type": {b}, "map": {c}, "elem": {d}}}}},
                {{"rule": {{"family": "inet", "table": "t", "chain": "c", "expr": [{a}, {{"match": {{"left": {b}, "op": "==", "right": {c}}}}}, {{"vmap": {{"key": {d}, "data": {a}}}}}, {{"dnat": {{"addr": {c}, "port": {d}}}}}]}}}}]}}"#
            );
            if let Ok(doc) = json::parse(&text) {
                let _ = parse(&doc);
            }
        }

        /// Cutting and splicing a real dump never panics.
        #[test]
        fn mutated_fixture_never_panics(start in 0usize..11000, len in 0usize..64, with in "[\\[\\]{}\",:0-9a-z@ ]{0,8}") {
            let text = std::fs::read_to_string(format!("{DIR}nftests-sets-with-ifnames.json-nft")).unwrap();
            let start = start.min(text.len());
            let end = (start + len).min(text.len());
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                let mutated = format!("{}{}{}", &text[..start], with, &text[end..]);
                if let Ok(doc) = json::parse(&mutated) {
                    let _ = parse(&doc);
                }
            }
        }
    }
}

/// Every `*.json-nft` dump under `NFT_JSON_DIR` (e.g. nftables' `tests/shell/testcases`) reads
/// with no parse error: `NFT_JSON_DIR=... cargo nextest run --run-ignored only json_dumps`.
#[test]
#[ignore]
fn json_dumps_of_a_directory() {
    let Ok(dir) = std::env::var("NFT_JSON_DIR") else {
        return;
    };
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let mut bad = Vec::new();
    let mut n = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.to_string_lossy().ends_with(".json-nft") {
            let text = std::fs::read_to_string(&p).unwrap();
            let Ok(doc) = json::parse(&text) else {
                continue;
            };
            n += 1;
            for i in errors(&parse(&doc)) {
                bad.push(format!(
                    "{}: {} [{}]",
                    p.display(),
                    i.message,
                    &text[i.span.start..i.span.end.min(i.span.start + 120)]
                ));
            }
        }
    }
    assert!(n > 0 && bad.is_empty(), "{n} files; {}", bad.join("\n"));
}

/// `add`/`insert` commands with a position (`handle` or `index`) place the rule as nft does.
#[test]
fn add_and_insert_positions() {
    let rs = read(
        r#"{"nftables": [
        {"add": {"table": {"family": "ip", "name": "t"}}},
        {"add": {"chain": {"family": "ip", "table": "t", "name": "c"}}},
        {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 4, "expr": [{"accept": null}]}},
        {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 5, "expr": [{"drop": null}]}},
        {"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 4, "expr": [{"return": null}]}}},
        {"insert": {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 5, "expr": [{"continue": null}]}}},
        {"insert": {"rule": {"family": "ip", "table": "t", "chain": "c", "index": 0, "expr": [{"queue": null}]}}},
        {"add": {"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 99, "expr": [{"reject": null}]}}}
    ]}"#,
    );
    let c = &rs.tables[0].chains[0];
    let order: Vec<&Verdict> = c
        .rules
        .iter()
        .map(|r| match &r.stmts[..] {
            [Stmt::Verdict(v)] => &v.v,
            other => panic!("{other:?}"),
        })
        .collect();
    use Verdict::*;
    assert_eq!(order, [&Queue, &Accept, &Return, &Continue, &Drop, &Reject]);
    // the unknown position is a Z001 and the rule is kept at the end
    assert_eq!(errors(&rs).len(), 1);
    assert_eq!(c.rules[1].handle, Some(4));
    assert_eq!(c.rules[2].handle, None);
}
