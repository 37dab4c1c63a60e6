//! The lowering on hand-built ASTs (what both readers produce), evaluated through the model.

use super::*;
use crate::formats::nftables::ast::{
    BaseChain, Element, Expr, NatKind, Op, Rule as AstRule, Set, Sp, Stmt, Table, Verdict as V,
};
use crate::model::ports::ConnState;
use crate::model::{AddrSet, Outcome, PacketBox};

fn sp<T>(v: T) -> Sp<T> {
    Sp::new(v, Span::default())
}
fn val(s: &str) -> Expr {
    Expr::Value(sp(s.to_string()))
}
fn pay(p: &str, f: &str) -> Expr {
    Expr::Payload {
        proto: p.into(),
        field: f.into(),
        span: Span::default(),
    }
}
fn meta(k: &str) -> Expr {
    Expr::Meta {
        key: k.into(),
        span: Span::default(),
    }
}
fn ct_state() -> Expr {
    Expr::Ct {
        key: "state".into(),
        dir: None,
        span: Span::default(),
    }
}
fn el(key: Expr) -> Element {
    Element {
        key,
        data: None,
        span: Span::default(),
    }
}
fn set(keys: Vec<Expr>) -> Expr {
    Expr::Set(keys.into_iter().map(el).collect())
}
fn vmap(pairs: Vec<(Expr, &str)>) -> Expr {
    Expr::Set(
        pairs
            .into_iter()
            .map(|(k, d)| Element {
                key: k,
                data: Some(val(d)),
                span: Span::default(),
            })
            .collect(),
    )
}
fn m(left: Expr, right: Expr) -> Stmt {
    Stmt::Match {
        left,
        op: Op::Eq,
        right,
        span: Span::default(),
    }
}
fn ne(left: Expr, right: Expr) -> Stmt {
    Stmt::Match {
        left,
        op: Op::Ne,
        right,
        span: Span::default(),
    }
}
fn verdict(v: V) -> Stmt {
    Stmt::Verdict(sp(v))
}
fn rule(stmts: Vec<Stmt>) -> AstRule {
    AstRule {
        stmts,
        span: Span::default(),
        handle: None,
        comment: None,
    }
}
fn base(
    name: &str,
    kind: &str,
    hook: &str,
    prio: i32,
    policy: &str,
    rules: Vec<AstRule>,
) -> ast::Chain {
    ast::Chain {
        name: sp(name.into()),
        span: Span::default(),
        base: Some(BaseChain {
            kind: sp(kind.into()),
            hook: sp(hook.into()),
            priority: sp(prio),
            policy: Some(sp(policy.into())),
            device: None,
        }),
        rules,
        handle: None,
    }
}
fn regular(name: &str, rules: Vec<AstRule>) -> ast::Chain {
    ast::Chain {
        name: sp(name.into()),
        span: Span::default(),
        base: None,
        rules,
        handle: None,
    }
}
fn table(fam: TableFamily, name: &str, chains: Vec<ast::Chain>, sets: Vec<Set>) -> Table {
    Table {
        family: sp(fam),
        name: sp(name.into()),
        span: Span::default(),
        chains,
        sets,
        handle: None,
    }
}
fn lowered(tables: Vec<Table>) -> Parsed {
    let rs = ast::Ruleset {
        tables,
        ..Default::default()
    };
    lower(&rs, &SourceText::new("t.nft".to_string(), String::new()))
}
fn tcp_dport(p: &str) -> Stmt {
    m(pay("tcp", "dport"), val(p))
}

/// A new TCP connection from 10.1.1.1 (or 2001:db8::1) to the host on `port`.
fn request(family: Family, port: u16) -> PacketBox {
    let mut b = PacketBox::full();
    let (s, d) = match family {
        Family::V4 => ("10.1.1.1", "10.0.0.5"),
        Family::V6 => ("2001:db8::1", "2001:db8::5"),
    };
    b.src = AddrSet::parse(s).unwrap();
    b.dst = AddrSet::parse(d).unwrap();
    b.proto = crate::model::ports::ProtoSet::single(6);
    b.dport = crate::model::ports::PortSet::single(port);
    b.state = ConnState::New.set();
    b
}

fn outcomes(rs: &Ruleset, hook: Hook, b: &PacketBox) -> Vec<Outcome> {
    rs.evaluate(rs.pipeline(hook).unwrap(), b)
}

/// The one verdict of the whole region and the labels that decided it.
fn decide(rs: &Ruleset, hook: Hook, b: &PacketBox) -> (Verdict, Vec<String>) {
    let out = outcomes(rs, hook, b);
    assert!(!out.is_empty());
    let v = out[0].verdict;
    assert!(out.iter().all(|o| o.verdict == v), "{out:?}");
    let labels = out[0]
        .deciders
        .iter()
        .filter_map(|a| rs.provenance(*a).map(|p| p.label.to_string()))
        .collect();
    (v, labels)
}

/// The verdicts of an inbound tcp/9669 request in the IPv4 and in the IPv6 ruleset.
fn both(p: &Parsed) -> (Verdict, Verdict) {
    (
        decide(v4(p), Hook::Input, &request(Family::V4, 9669)).0,
        decide(v6(p), Hook::Input, &request(Family::V6, 9669)).0,
    )
}

fn v4(p: &Parsed) -> &Ruleset {
    &p.rulesets[0]
}
fn v6(p: &Parsed) -> &Ruleset {
    &p.rulesets[1]
}

fn two_chains(first: i32, second: i32) -> Parsed {
    lowered(vec![table(
        TableFamily::Inet,
        "filter",
        vec![
            base(
                "a",
                "filter",
                "input",
                first,
                "accept",
                vec![rule(vec![tcp_dport("9669"), verdict(V::Accept)])],
            ),
            base(
                "b",
                "filter",
                "input",
                second,
                "accept",
                vec![rule(vec![tcp_dport("9669"), verdict(V::Drop)])],
            ),
        ],
        Vec::new(),
    )])
}

#[test]
fn an_accept_ends_only_its_base_chain_and_a_later_drop_blocks() {
    for (a, b) in [(-10, 0), (0, -10)] {
        let p = two_chains(a, b);
        assert_eq!(p.rulesets.len(), 2);
        for (rs, fam) in [(v4(&p), Family::V4), (v6(&p), Family::V6)] {
            assert_eq!(rs.platform, Platform::Nftables);
            assert_eq!(rs.family, Some(fam));
            let (v, by) = decide(rs, Hook::Input, &request(fam, 9669));
            assert_eq!(v, Verdict::Deny, "priorities {a}, {b}");
            // whichever chain runs first, the drop decides
            assert_eq!(by, vec!["inet filter b #1".to_string()]);
            // another port: both chains' policies accept
            let (v, _) = decide(rs, Hook::Input, &request(fam, 9081));
            assert_eq!(v, Verdict::Allow);
        }
    }
}

#[test]
fn one_chain_that_accepts_allows_and_its_policy_drops_the_rest() {
    let p = lowered(vec![table(
        TableFamily::Inet,
        "filter",
        vec![base(
            "input",
            "filter",
            "input",
            0,
            "drop",
            vec![rule(vec![tcp_dport("9669"), verdict(V::Accept)])],
        )],
        Vec::new(),
    )]);
    assert_eq!(
        decide(v4(&p), Hook::Input, &request(Family::V4, 9669)),
        (Verdict::Allow, vec!["inet filter input #1".to_string()])
    );
    assert_eq!(
        decide(v4(&p), Hook::Input, &request(Family::V4, 9081)),
        (Verdict::Deny, vec!["inet filter input policy".to_string()])
    );
}

#[test]
fn an_ip_table_filters_ipv4_only_and_an_ip6_table_ipv6_only() {
    let drop_all = |fam, name: &str| {
        table(
            fam,
            name,
            vec![base("input", "filter", "input", 0, "drop", Vec::new())],
            Vec::new(),
        )
    };
    let p = lowered(vec![drop_all(TableFamily::Ip, "four")]);
    assert_eq!(both(&p), (Verdict::Deny, Verdict::Allow));
    let p = lowered(vec![drop_all(TableFamily::Ip6, "six")]);
    assert_eq!(both(&p), (Verdict::Allow, Verdict::Deny));
    // an `ip saddr` match in an inet table never matches IPv6 packets
    let p = lowered(vec![table(
        TableFamily::Inet,
        "f",
        vec![base(
            "input",
            "filter",
            "input",
            0,
            "accept",
            vec![rule(vec![
                m(
                    pay("ip", "saddr"),
                    Expr::Prefix {
                        addr: sp("10.0.0.0".into()),
                        len: sp(8),
                    },
                ),
                verdict(V::Drop),
            ])],
        )],
        Vec::new(),
    )]);
    assert_eq!(both(&p), (Verdict::Deny, Verdict::Allow));
    // arp/bridge/netdev: recognised, a Z002, no ruleset of their own
    let p = lowered(vec![table(
        TableFamily::Bridge,
        "br",
        Vec::new(),
        Vec::new(),
    )]);
    assert!(p.rulesets.is_empty());
    assert_eq!(p.issues.len(), 1);
    assert_eq!(p.issues[0].kind, IssueKind::Undecidable);
}

/// firewalld-like: `ct state vmap`, an interface vmap jumping to a zone chain, a named set of
/// ports and a concatenation.
#[test]
fn vmaps_sets_concatenations_and_jumps() {
    let ports = Set {
        name: sp("zerto".into()),
        span: Span::default(),
        key_type: vec![sp("inet_service".into())],
        data_type: None,
        flags: vec![sp("interval".into())],
        elements: vec![
            el(val("9081")),
            el(Expr::Range(Box::new(val("4005")), Box::new(val("4007")))),
        ],
        dynamic: false,
    };
    let p = lowered(vec![table(
        TableFamily::Inet,
        "firewalld",
        vec![
            base(
                "filter_INPUT",
                "filter",
                "input",
                10,
                "accept",
                vec![
                    rule(vec![Stmt::VerdictMap {
                        key: ct_state(),
                        map: vmap(vec![
                            (val("established"), "accept"),
                            (val("related"), "accept"),
                            (val("invalid"), "drop"),
                        ]),
                        span: Span::default(),
                    }]),
                    rule(vec![Stmt::VerdictMap {
                        key: meta("iifname"),
                        map: vmap(vec![(val("eth*"), "jump zone_public")]),
                        span: Span::default(),
                    }]),
                    rule(vec![verdict(V::Reject)]),
                ],
            ),
            regular(
                "zone_public",
                vec![
                    rule(vec![
                        m(pay("tcp", "dport"), Expr::SetRef(sp("zerto".into()))),
                        verdict(V::Accept),
                    ]),
                    rule(vec![
                        m(
                            Expr::Concat(vec![pay("ip", "saddr"), pay("tcp", "dport")]),
                            set(vec![Expr::Concat(vec![val("10.1.1.1"), val("9669")])]),
                        ),
                        verdict(V::Accept),
                    ]),
                    rule(vec![
                        ne(pay("tcp", "dport"), set(vec![val("4008"), val("4009")])),
                        verdict(V::Drop),
                    ]),
                ],
            ),
        ],
        Vec::new(),
    )
    .with_sets(vec![ports])]);
    let rs = v4(&p);
    let on_eth = |port| {
        let mut b = request(Family::V4, port);
        b.iif = rs.interfaces.matching("eth+");
        b
    };
    let acc = |n: u32| {
        (
            Verdict::Allow,
            vec![format!("inet firewalld zone_public #{n}")],
        )
    };
    assert_eq!(decide(rs, Hook::Input, &on_eth(9081)).0, acc(1).0);
    assert!(decide(rs, Hook::Input, &on_eth(9081))
        .1
        .contains(&acc(1).1[0]));
    assert_eq!(decide(rs, Hook::Input, &on_eth(4006)).0, Verdict::Allow);
    assert_eq!(decide(rs, Hook::Input, &on_eth(9669)).0, Verdict::Allow);
    // 9669 from elsewhere: dropped by the `!=` rule
    let mut other = on_eth(9669);
    other.src = AddrSet::parse("10.9.9.9").unwrap();
    assert_eq!(decide(rs, Hook::Input, &other).0, Verdict::Deny);
    // 4008 is not dropped by `!= { 4008, 4009 }`: back in the base chain, rejected
    let (v, by) = decide(rs, Hook::Input, &on_eth(4008));
    assert_eq!(v, Verdict::Deny);
    assert!(
        by.contains(&"inet firewalld filter_INPUT #3".to_string()),
        "{by:?}"
    );
    // not on eth*: rejected
    let mut lo = request(Family::V4, 9081);
    lo.iif = rs.interfaces.matching("lo");
    assert_eq!(decide(rs, Hook::Input, &lo).0, Verdict::Deny);
    // an established reply is accepted by the ct state vmap
    let mut est = request(Family::V4, 9669);
    est.state = ConnState::Established.set();
    assert_eq!(decide(rs, Hook::Input, &est).0, Verdict::Allow);
}

trait WithSets {
    fn with_sets(self, s: Vec<Set>) -> Self;
}
impl WithSets for Table {
    fn with_sets(mut self, s: Vec<Set>) -> Self {
        self.sets = s;
        self
    }
}

#[test]
fn notrack_before_conntrack_makes_the_packet_untracked() {
    let p = lowered(vec![table(
        TableFamily::Inet,
        "t",
        vec![
            base(
                "raw",
                "filter",
                "prerouting",
                -300,
                "accept",
                vec![rule(vec![
                    tcp_dport("9669"),
                    Stmt::Notrack(Span::default()),
                ])],
            ),
            base(
                "input",
                "filter",
                "input",
                0,
                "drop",
                vec![rule(vec![m(ct_state(), val("new")), verdict(V::Accept)])],
            ),
        ],
        Vec::new(),
    )]);
    let rs = v4(&p);
    assert_eq!(
        decide(rs, Hook::Input, &request(Family::V4, 9669)),
        (Verdict::Deny, vec!["inet t input policy".to_string()])
    );
    assert_eq!(
        decide(rs, Hook::Input, &request(Family::V4, 9081)).0,
        Verdict::Allow
    );
    // `ct state invalid` before conntrack sees every packet (no entry yet)
    let p = lowered(vec![table(
        TableFamily::Ip,
        "t",
        vec![base(
            "early",
            "filter",
            "prerouting",
            -250,
            "accept",
            vec![rule(vec![m(ct_state(), val("invalid")), verdict(V::Drop)])],
        )],
        Vec::new(),
    )]);
    assert_eq!(
        decide(v4(&p), Hook::Input, &request(Family::V4, 9081)).0,
        Verdict::Deny
    );
}

#[test]
fn limits_and_dynamic_sets_are_unknown_counters_change_nothing() {
    let dynamic = Set {
        name: sp("seen".into()),
        span: Span::default(),
        key_type: vec![sp("ipv4_addr".into())],
        data_type: None,
        flags: vec![sp("dynamic".into())],
        elements: Vec::new(),
        dynamic: true,
    };
    let p = lowered(vec![table(
        TableFamily::Ip,
        "t",
        vec![base(
            "input",
            "filter",
            "input",
            0,
            "drop",
            vec![
                rule(vec![
                    tcp_dport("9669"),
                    Stmt::Counter(Span::default()),
                    Stmt::Undecidable {
                        what: sp("limit rate 10/second".into()),
                    },
                    verdict(V::Accept),
                ]),
                rule(vec![
                    m(pay("ip", "saddr"), Expr::SetRef(sp("seen".into()))),
                    verdict(V::Accept),
                ]),
                rule(vec![
                    tcp_dport("9081"),
                    Stmt::Counter(Span::default()),
                    verdict(V::Accept),
                ]),
            ],
        )],
        vec![dynamic],
    )]);
    let rs = v4(&p);
    let out = outcomes(rs, Hook::Input, &request(Family::V4, 9669));
    assert!(out.iter().all(|o| o.verdict == Verdict::Unknown), "{out:?}");
    assert!(
        out[0].reasons.iter().any(|r| r.contains("limit rate")),
        "{:?}",
        out[0].reasons
    );
    assert_eq!(
        decide(rs, Hook::Input, &request(Family::V4, 9081)).0,
        Verdict::Allow
    );
}

#[test]
fn dnat_in_a_nat_chain_translates_and_a_map_is_unknown() {
    let p = lowered(vec![
        table(
            TableFamily::Ip,
            "nat",
            vec![base(
                "pre",
                "nat",
                "prerouting",
                -100,
                "accept",
                vec![
                    rule(vec![
                        tcp_dport("8443"),
                        Stmt::Nat {
                            kind: NatKind::Redirect,
                            addr: None,
                            port: Some(val("9669")),
                            span: Span::default(),
                        },
                    ]),
                    rule(vec![
                        tcp_dport("1"),
                        Stmt::Nat {
                            kind: NatKind::Dnat,
                            addr: Some(Expr::Map {
                                key: Box::new(pay("ip", "saddr")),
                                map: Box::new(set(Vec::new())),
                            }),
                            port: None,
                            span: Span::default(),
                        },
                    ]),
                ],
            )],
            Vec::new(),
        ),
        table(
            TableFamily::Ip,
            "filter",
            vec![base(
                "input",
                "filter",
                "input",
                0,
                "drop",
                vec![rule(vec![tcp_dport("9669"), verdict(V::Accept)])],
            )],
            Vec::new(),
        ),
    ]);
    let rs = v4(&p);
    assert_eq!(rs.policies[0].semantics, Semantics::Translate);
    // 8443 redirected to 9669: the filter chain sees 9669 and accepts
    assert_eq!(
        decide(rs, Hook::Input, &request(Family::V4, 8443)).0,
        Verdict::Allow
    );
    assert_eq!(
        decide(rs, Hook::Input, &request(Family::V4, 9081)).0,
        Verdict::Deny
    );
    // a map-based dnat: the rule is opaque, with the reason
    let r = &rs.policies[0].rules[1];
    assert_eq!(r.action, crate::model::Action::Opaque);
    assert!(r.undecidable[0].contains("map"), "{:?}", r.undecidable);
}

#[test]
fn fib_daddr_type_local_is_decided_on_input() {
    let fib = Expr::Fib {
        flags: vec!["daddr".into()],
        result: "type".into(),
        span: Span::default(),
    };
    let p = lowered(vec![table(
        TableFamily::Ip,
        "t",
        vec![base(
            "input",
            "filter",
            "input",
            0,
            "drop",
            vec![rule(vec![
                m(fib, val("local")),
                tcp_dport("9669"),
                verdict(V::Accept),
            ])],
        )],
        Vec::new(),
    )]);
    assert_eq!(
        decide(v4(&p), Hook::Input, &request(Family::V4, 9669)).0,
        Verdict::Allow
    );
}

#[test]
fn a_jump_to_a_missing_chain_is_a_parse_error_and_unknown() {
    let p = lowered(vec![table(
        TableFamily::Ip,
        "t",
        vec![base(
            "input",
            "filter",
            "input",
            0,
            "drop",
            vec![rule(vec![verdict(V::Jump(sp("nowhere".into())))])],
        )],
        Vec::new(),
    )]);
    assert!(p
        .issues
        .iter()
        .any(|i| i.kind == IssueKind::ParseError && i.message.contains("nowhere")));
    let out = outcomes(v4(&p), Hook::Input, &request(Family::V4, 9669));
    assert!(out.iter().all(|o| o.verdict == Verdict::Unknown));
}
