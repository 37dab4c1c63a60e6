use super::lexer::tokenize;
use super::reader::parse_in_blocks;
use super::*;

const DS82: &str = include_str!("../../../fixtures/iptables/corpus/ds82-handedited-save-rules.v4");
const F27_V6: &str = include_str!("../../../fixtures/iptables/corpus/fedora27-ip6tables-save.txt");
const F27_C: &str = include_str!("../../../fixtures/iptables/corpus/fedora27-iptables-save-c.txt");
const Y2003: &str = include_str!("../../../fixtures/iptables/corpus/ipt-save-filter-2003.txt");
const NFT_PAIR: &str =
    include_str!("../../../fixtures/iptables/corpus/iptables-nft-save-translation-pair.txt");
const V6_TESTBED: &str =
    include_str!("../../../fixtures/iptables/corpus/ipv6-testbed-handwritten-rules.v6");
const LONGOPTS: &str =
    include_str!("../../../fixtures/iptables/corpus/longopts-handwritten-rules.v4");
const NEXUS: &str = include_str!("../../../fixtures/iptables/corpus/nexus-rules.v6");
const WIRELESS: &str =
    include_str!("../../../fixtures/iptables/corpus/wireless-router-iptables-save.txt");

/// Compact rendering of a rule for assertions:
/// `A INPUT | s=10.0.0.0/8 m=tcp tcp:dport=22 | j ACCEPT(reject-with=x)`; `!` marks a
/// negation, `!!` a legacy one.
pub(super) fn render(r: &RuleLine<'_>) -> String {
    fn arg(a: &Arg<'_>) -> String {
        let neg = match (a.negated, a.legacy_negation) {
            (true, true) => "!!",
            (true, false) => "!",
            _ => "",
        };
        let module = a
            .module
            .as_ref()
            .map_or(String::new(), |m| format!("{}:", m.text));
        let vals: Vec<&str> = a.values.iter().map(|v| v.text.as_ref()).collect();
        if vals.is_empty() {
            format!("{neg}{module}{}", a.name)
        } else {
            format!("{neg}{module}{}={}", a.name, vals.join(","))
        }
    }
    let op = match r.op {
        RuleOp::Append => "A".to_string(),
        RuleOp::Insert(n) => format!("I{n}"),
        other => format!("{other:?}"),
    };
    let args: Vec<String> = r.args.iter().map(arg).collect();
    let target = r.target.as_ref().map_or(String::new(), |t| {
        let targs: Vec<String> = t.args.iter().map(arg).collect();
        format!(
            " | {} {}({})",
            if t.goto { "g" } else { "j" },
            t.name.text,
            targs.join(" ")
        )
    });
    format!("{op} {} | {}{target}", r.chain.text, args.join(" "))
}

pub(super) fn all_rules<'d>(d: &'d Dump<'_>) -> Vec<&'d RuleLine<'d>> {
    d.tables.iter().flat_map(|t| t.rules.iter()).collect()
}

pub(super) fn rendered(d: &Dump<'_>) -> Vec<String> {
    all_rules(d).into_iter().map(render).collect()
}

fn errors<'d>(d: &'d Dump<'_>) -> Vec<&'d ParseIssue> {
    d.issues
        .iter()
        .filter(|i| i.kind == IssueKind::ParseError)
        .collect()
}

/// A filter table around `body` (which ends with a newline).
pub(super) fn filter(body: &str) -> String {
    format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{body}COMMIT\n"
    )
}

/// The text under a span.
pub(super) fn at(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// Exactly one issue, a parse error, and the text it points at.
pub(super) fn one_error<'t>(text: &'t str, d: &Dump<'_>) -> (&'t str, String) {
    assert_eq!(d.issues.len(), 1, "{:#?}", d.issues);
    let i = &d.issues[0];
    assert_eq!(i.kind, IssueKind::ParseError);
    (at(text, i.span), i.message.clone())
}

/// name, text, tables, chains, rules, family hint
type CorpusCase = (
    &'static str,
    &'static str,
    usize,
    usize,
    usize,
    Option<Family>,
);
/// name, policy, counters
type ChainRow = (String, Option<String>, Option<(u64, u64)>);

// ---- the corpus ---------------------------------------------------------------------

/// Counts taken from the files with grep (`^\*`, `^:`, `^(\[p:b\] )?(-A|--append) `), not
/// from the parser.
#[test]
fn corpus_files_parse_without_errors_and_with_the_right_counts() {
    let cases: [CorpusCase; 9] = [
        ("ds82", DS82, 3, 14, 42, Some(Family::V4)),
        ("fedora27 ip6", F27_V6, 3, 50, 63, Some(Family::V6)),
        ("fedora27 -c", F27_C, 3, 50, 73, Some(Family::V4)),
        ("2003", Y2003, 1, 10, 55, Some(Family::V4)),
        ("nft pair", NFT_PAIR, 1, 3, 21, None),
        ("ipv6 testbed", V6_TESTBED, 1, 4, 46, None),
        ("longopts", LONGOPTS, 1, 3, 6, None),
        ("nexus", NEXUS, 1, 5, 61, None),
        ("wireless", WIRELESS, 2, 15, 58, Some(Family::V4)),
    ];
    for (name, text, tables, chains, rules, family) in cases {
        let d = parse(text);
        assert!(d.issues.is_empty(), "{name}: {:#?}", d.issues);
        assert_eq!(d.tables.len(), tables, "{name}: tables");
        let c: usize = d.tables.iter().map(|t| t.chains.len()).sum();
        assert_eq!(c, chains, "{name}: chains");
        assert_eq!(all_rules(&d).len(), rules, "{name}: rules");
        assert!(d.tables.iter().all(|t| t.committed), "{name}: committed");
        assert_eq!(d.family_hint, family, "{name}: family");
    }
}

#[test]
fn corpus_table_names_and_a_few_rules() {
    let d = parse(DS82);
    let names: Vec<&str> = d.tables.iter().map(|t| t.name.text.as_ref()).collect();
    assert_eq!(names, ["nat", "mangle", "filter"]);
    let r = rendered(&d);
    assert_eq!(
            r[0],
            "A PREROUTING | d=144.76.28.6 p=tcp m=tcp tcp:dport=80 | j DNAT(DNAT:to-destination=10.0.0.12:80)"
        );
    // The commented-out rules are comments, not rules.
    assert!(!r.iter().any(|x| x.contains("LOG")));
    let user: Vec<_> = d.tables[2]
        .chains
        .iter()
        .filter(|c| c.policy.is_none())
        .collect();
    assert_eq!(user.len(), 2);
    assert_eq!(
        d.tables[2].chains[0]
            .policy
            .as_ref()
            .map(|p| p.text.as_ref()),
        Some("DROP")
    );

    let d = parse(NEXUS);
    let r = rendered(&d);
    assert!(r.contains(&"A ICMPFLOOD | m=recent recent:set recent:name=ICMP recent:mask=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff recent:rsource".to_string()));
    assert!(r.contains(&"A INPUT | p=udp udp:dport=5353 d=ff02::fb | j ACCEPT()".to_string()));

    let d = parse(Y2003);
    let r = rendered(&d);
    assert!(r.contains(&"A accept_log | i=ppp0 !p=tcp m=limit limit:limit=1/sec | j LOG(LOG:log-prefix=Accepted Datagram on ppp0:)".to_string()));

    let d = parse(NFT_PAIR);
    let r = rendered(&d);
    assert_eq!(r[3], "A INPUT | p=tcp m=tcp tcp:dport=443 !tcp:tcp-flags=SYN,NONE m=comment comment:comment=checks if SYN bit is set");
    assert!(all_rules(&d)[3].target.is_none());

    let d = parse(WIRELESS);
    let r = rendered(&d);
    assert!(r.contains(&"A INPUT | i=gre-davo-+ | j L_ACCEPT()".to_string()));
    assert!(r.contains(&"A L_DROP |  | j LOG(LOG:log-prefix=L_DROP: )".to_string()));
}

#[test]
fn long_options_map_to_canonical_names() {
    let d = parse(LONGOPTS);
    let r = rendered(&d);
    assert_eq!(
        r[0],
        "A INPUT | i=lo m=comment comment:comment=Allow loopback | j ACCEPT()"
    );
    assert_eq!(
            r[2],
            "A INPUT | m=conntrack conntrack:ctstate=NEW p=tcp !tcp:syn m=comment comment:comment=Reject new non-syn TCP | j REJECT(REJECT:reject-with=tcp-reset)"
        );
    assert_eq!(
            r[3],
            "A INPUT | m=conntrack conntrack:ctstate=NEW,ESTABLISHED p=tcp m=tcp tcp:dport=22 s=192.168.0.0/24 m=comment comment:comment=Allow local SSH on default port | j ACCEPT()"
        );
    assert_eq!(
            r[4],
            "A INPUT | p=icmp icmp:icmp-type=echo-request m=limit limit:limit=2/second limit:limit-burst=5 m=comment comment:comment=Allow only ping and within limits | j ACCEPT()"
        );
    // The option as written is kept for labels.
    let rule = all_rules(&d)[3];
    let dport = rule.args.iter().find(|a| a.name == "dport").unwrap();
    assert_eq!(dport.option.text, "--destination-port");
    assert_eq!(at(LONGOPTS, dport.span), "--destination-port 22");
    // `:INPUT      DROP      [0:0]`
    let input = &d.tables[0].chains[0];
    assert_eq!(input.name.text, "INPUT");
    assert_eq!(input.policy.as_ref().unwrap().text, "DROP");
    assert_eq!(input.counters, Some((0, 0)));
    assert_eq!(at(LONGOPTS, input.span), ":INPUT      DROP      [0:0]");
}

// ---- lines --------------------------------------------------------------------------

#[test]
fn rule_and_chain_counters() {
    let d = parse(F27_C);
    let rules = all_rules(&d);
    assert_eq!(rules[0].counters, Some((1, 2)));
    assert_eq!(rules[1].counters, Some((3, 4)));
    assert_eq!(
        at(F27_C, rules[0].span),
        "[1:2] -A PREROUTING -j PREROUTING_direct"
    );
    let filter_table = &d.tables[2];
    assert_eq!(filter_table.rules[1].counters, Some((0, 123456789)));
    let raw = &d.tables[1];
    assert_eq!(raw.chains[0].counters, Some((1681, 2620433)));
    assert_eq!(raw.chains[2].counters, Some((0, 0)));

    let text = filter("[12:3456] -A INPUT -s 10.0.0.1 -j ACCEPT\n-A INPUT -c 5 6 -j DROP\n");
    let d = parse(&text);
    assert!(d.issues.is_empty(), "{:#?}", d.issues);
    let rules = all_rules(&d);
    assert_eq!(rules[0].counters, Some((12, 3456)));
    assert_eq!(render(rules[0]), "A INPUT | s=10.0.0.1 | j ACCEPT()");
    assert_eq!(rules[1].counters, Some((5, 6)));
    assert_eq!(render(rules[1]), "A INPUT |  | j DROP()");
}

#[test]
fn malformed_counters_are_reported() {
    let text = filter("[12:x] -A INPUT -j ACCEPT\n-A INPUT -c 5 -j DROP\n");
    let d = parse(&text);
    assert_eq!(all_rules(&d).len(), 0);
    assert_eq!(d.issues.len(), 2);
    assert_eq!(at(&text, d.issues[0].span), "[12:x]");
    assert_eq!(at(&text, d.issues[1].span), "-c");
    assert_eq!(d.issues[1].message, "`-c` needs 2 values, found `-j`");
    let text = "*filter\n:INPUT ACCEPT [1:two]\n-A INPUT -j ACCEPT\nCOMMIT\n";
    let d = parse(text);
    let (bad, msg) = one_error(text, &d);
    assert_eq!(bad, "[1:two]");
    assert_eq!(msg, "malformed counters `[1:two]`");
    assert_eq!(d.tables[0].chains.len(), 1, "the chain is kept");
    assert_eq!(d.tables[0].chains[0].counters, None);
}

#[test]
fn crlf_line_endings() {
    let text = "# Generated by iptables-save v1.8.7\r\n*filter\r\n:INPUT DROP [0:0]\r\n-A INPUT -p tcp --dport 22 -j ACCEPT\r\n\r\nCOMMIT\r\n";
    let d = parse(text);
    assert!(d.issues.is_empty(), "{:#?}", d.issues);
    assert!(d.tables[0].committed);
    let c = &d.tables[0].chains[0];
    assert_eq!(c.policy.as_ref().unwrap().text, "DROP");
    assert_eq!(at(text, c.span), ":INPUT DROP [0:0]");
    let r = all_rules(&d)[0];
    assert_eq!(r.line, 4);
    assert_eq!(at(text, r.span), "-A INPUT -p tcp --dport 22 -j ACCEPT");
    assert_eq!(r.target.as_ref().unwrap().name.text, "ACCEPT");
    assert_eq!(d.family_hint, Some(Family::V4));
}

#[test]
fn byte_order_mark() {
    let text = "\u{feff}*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n";
    let d = parse(text);
    assert!(d.issues.is_empty(), "{:#?}", d.issues);
    assert_eq!(d.tables[0].name.text, "filter");
    assert_eq!(d.tables[0].name.span, Span::new(4, 10));
    assert_eq!(at(text, d.tables[0].span), "*filter");
    assert_eq!(all_rules(&d)[0].line, 3);
}

#[test]
fn comments_and_blank_lines_anywhere() {
    let text = "   \n# head\n*filter\n  # indented comment\n:INPUT DROP\n\n#-A INPUT -j DROP\n\t-A INPUT -j ACCEPT  \nCOMMIT\n# Completed\n";
    let d = parse(text);
    assert!(d.issues.is_empty(), "{:#?}", d.issues);
    assert_eq!(rendered(&d), ["A INPUT |  | j ACCEPT()"]);
    assert_eq!(at(text, all_rules(&d)[0].span), "-A INPUT -j ACCEPT");
    assert_eq!(d.tables[0].chains[0].counters, None);
}

#[test]
fn family_hint_from_headers() {
    let v6 =
        parse("# Generated by ip6tables-nft-save v1.8.9 (nf_tables) on Tue\n*filter\nCOMMIT\n");
    assert_eq!(v6.family_hint, Some(Family::V6));
    let v4 = parse("# Generated by iptables-legacy-save v1.8.7 on x\n*filter\nCOMMIT\n");
    assert_eq!(v4.family_hint, Some(Family::V4));
    let none = parse("# Generated by xtables-foo\n*filter\nCOMMIT\n");
    assert_eq!(none.family_hint, None);
    let text = "# Generated by iptables-save v1\n*filter\nCOMMIT\n# Generated by ip6tables-save v1\n*filter\nCOMMIT\n";
    let mixed = parse(text);
    assert_eq!(mixed.family_hint, Some(Family::V4));
    let (bad, _) = one_error(text, &mixed);
    assert_eq!(bad, "ip6tables-save");
}

#[test]
fn legacy_tables_warning_is_undecidable() {
    let text = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n*filter\nCOMMIT\n";
    let d = parse(text);
    assert_eq!(d.issues.len(), 1);
    assert_eq!(d.issues[0].kind, IssueKind::Undecidable);
    assert!(d.issues[0].message.contains("incomplete"));
    assert!(at(text, d.issues[0].span).starts_with("# Warning: iptables-legacy"));
}

// ---- tables and chains --------------------------------------------------------------

#[test]
fn table_without_commit() {
    let text = "*filter\n-A INPUT -j ACCEPT\n*nat\n-A PREROUTING -j ACCEPT\nCOMMIT\n*raw\n-A OUTPUT -j ACCEPT\n";
    let d = parse(text);
    assert_eq!(d.tables.len(), 3);
    assert!(!d.tables[0].committed);
    assert!(d.tables[1].committed);
    assert!(!d.tables[2].committed);
    assert_eq!(all_rules(&d).len(), 3);
    let e = errors(&d);
    assert_eq!(e.len(), 2);
    assert_eq!(at(text, e[0].span), "*filter");
    assert_eq!(e[0].message, "table `filter` has no `COMMIT`");
    assert_eq!(at(text, e[1].span), "*raw");
}

#[test]
fn lines_outside_any_table_are_skipped_with_one_issue() {
    let text = "-P INPUT DROP\n-A INPUT -j ACCEPT\n:X - [0:0]\n*filter\n-A INPUT -j DROP\nCOMMIT\n-A INPUT -j ACCEPT\nCOMMIT\n";
    let d = parse(text);
    assert_eq!(rendered(&d), ["A INPUT |  | j DROP()"]);
    let e = errors(&d);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(
        e[0].message,
        "3 lines outside any table are skipped (lines 1 to 3)"
    );
    assert_eq!(at(text, e[0].span), "-P");
    assert_eq!(e[1].message, "line outside any table is skipped");
    assert_eq!(e[1].span.start, text.rfind("-A INPUT -j ACCEPT").unwrap());
    assert_eq!(e[2].message, "`COMMIT` outside a table");
}

#[test]
fn unknown_table_is_read_anyway() {
    let text = "*bogus\n:FOO ACCEPT [0:0]\n-A FOO -j ACCEPT\n-A BAR -j DROP\nCOMMIT\n";
    let d = parse(text);
    let (bad, msg) = one_error(text, &d);
    assert_eq!(bad, "bogus");
    assert_eq!(msg, "unknown table `bogus`");
    assert_eq!(d.tables[0].rules.len(), 2);
    assert!(d.tables[0].committed);
}

#[test]
fn iptables_dash_s_style_chain_lines() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-P INPUT DROP\n-P FORWARD DROP -c 1 2\n-N LOGDROP\n--new-chain other\n-A LOGDROP -j DROP\n-A other -j RETURN\nCOMMIT\n";
    let d = parse(text);
    assert!(d.issues.is_empty(), "{:#?}", d.issues);
    let chains: Vec<ChainRow> = d.tables[0]
        .chains
        .iter()
        .map(|c| {
            (
                c.name.text.to_string(),
                c.policy.as_ref().map(|p| p.text.to_string()),
                c.counters,
            )
        })
        .collect();
    assert_eq!(
        chains,
        [
            ("INPUT".to_string(), Some("DROP".to_string()), Some((0, 0))),
            (
                "FORWARD".to_string(),
                Some("DROP".to_string()),
                Some((1, 2))
            ),
            ("LOGDROP".to_string(), None, None),
            ("other".to_string(), None, None),
        ]
    );
    assert_eq!(
        at(text, d.tables[0].chains[0].policy.as_ref().unwrap().span),
        "DROP"
    );
    assert_eq!(d.tables[0].rules.len(), 2);
}

#[test]
fn bad_chain_lines() {
    let cases: [(&str, &str, &str); 7] = [
        (":INPUT\n", "INPUT", "chain `INPUT` has no policy"),
        (
            ":INPUT MAYBE [0:0]\n",
            "MAYBE",
            "unknown policy `MAYBE` for chain `INPUT`",
        ),
        (":\n", ":", "missing chain name after `:`"),
        (
            ":INPUT ACCEPT\n:INPUT DROP\n",
            "INPUT",
            "chain `INPUT` is declared twice in table `filter`",
        ),
        (
            "-N INPUT\n",
            "INPUT",
            "`INPUT` is a built-in chain of table `filter`; `-N` cannot create it",
        ),
        (
            "-P X ACCEPT\n",
            "X",
            "`X` is not a built-in chain of table `filter`, so it cannot have a policy",
        ),
        (
            "-P INPUT RETURN\n",
            "RETURN",
            "unknown policy `RETURN`: expected ACCEPT or DROP",
        ),
    ];
    for (body, bad_text, message) in cases {
        let text = format!("*filter\n{body}COMMIT\n");
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!((bad, msg.as_str()), (bad_text, message), "{body:?}");
    }
    // A rejected declaration still counts as declared (no second issue per rule).
    let text = "*filter\n:MINE BAD\n-A MINE -j ACCEPT\nCOMMIT\n";
    let d = parse(text);
    assert_eq!(d.issues.len(), 1);
    assert_eq!(d.tables[0].rules.len(), 1);
    assert!(d.tables[0].chains.is_empty());
}

#[test]
fn undeclared_chain_is_reported_once_and_rules_are_kept() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j MINE\n-A MINE -j ACCEPT\n-A MINE -j DROP\n-A OUTPUT -j ACCEPT\nCOMMIT\n";
    let d = parse(text);
    let (bad, msg) = one_error(text, &d);
    assert_eq!(bad, "MINE");
    assert_eq!(d.issues[0].span.start, text.find("-A MINE").unwrap() + 3);
    assert_eq!(msg, "chain `MINE` is not declared in table `filter`");
    assert!(d.issues[0].help.as_deref().unwrap().contains("keeps it"));
    // OUTPUT is built in: no declaration needed.
    assert_eq!(d.tables[0].rules.len(), 4);
}

/// Throughput sanity check, not a timed test: prints how long tokenising and parsing take.
/// `PORTOLAN_IPT_FILE=/tmp/ipt100k.txt cargo test --release --lib throughput -- --ignored --nocapture`
/// (make the file with `python3 ../shared/tools/gen_iptables.py --rules 100000 -o /tmp/ipt100k.txt`).
#[test]
#[ignore]
fn throughput() {
    let Ok(path) = std::env::var("PORTOLAN_IPT_FILE") else {
        eprintln!("set PORTOLAN_IPT_FILE to a big iptables-save dump");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mb = text.len() as f64 / 1e6;
    eprintln!(
        "sizes: RuleLine {} Arg {} Token {} Target {} ChainDecl {}",
        std::mem::size_of::<RuleLine<'_>>(),
        std::mem::size_of::<Arg<'_>>(),
        std::mem::size_of::<Token<'_>>(),
        std::mem::size_of::<Target<'_>>(),
        std::mem::size_of::<ChainDecl<'_>>()
    );
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mut words = Vec::new();
        let mut count = 0usize;
        for line in text.split('\n') {
            words.clear();
            if tokenize(line, 0, &mut words).is_ok() {
                count += words.len();
            }
        }
        let tok = t.elapsed();
        let t = std::time::Instant::now();
        let d = parse(&text);
        let full = t.elapsed();
        assert!(d.issues.is_empty());
        let rules: usize = d.tables.iter().map(|t| t.rules.len()).sum();
        eprintln!(
                "{mb:.1} MB: tokenise {count} words in {tok:?} ({:.0} MB/s); parse {rules} rules in {full:?} ({:.0} MB/s)",
                mb / tok.as_secs_f64(),
                mb / full.as_secs_f64()
            );
    }
}

// ---- robustness ---------------------------------------------------------------------

/// Every span in the dump.
fn spans(d: &Dump<'_>) -> Vec<Span> {
    fn tok(out: &mut Vec<Span>, t: &Token<'_>) {
        out.push(t.span);
    }
    fn arg(out: &mut Vec<Span>, a: &Arg<'_>) {
        out.push(a.span);
        tok(out, &a.option);
        if let Some(m) = &a.module {
            tok(out, m);
        }
        for v in &a.values {
            tok(out, v);
        }
    }
    let mut out = Vec::new();
    for i in &d.issues {
        out.push(i.span);
    }
    for t in &d.tables {
        out.push(t.span);
        tok(&mut out, &t.name);
        for c in &t.chains {
            out.push(c.span);
            tok(&mut out, &c.name);
            if let Some(p) = &c.policy {
                tok(&mut out, p);
            }
        }
        for r in &t.rules {
            out.push(r.span);
            tok(&mut out, &r.chain);
            for a in &r.args {
                arg(&mut out, a);
            }
            if let Some(tg) = &r.target {
                out.push(tg.span);
                tok(&mut out, &tg.name);
                for a in &tg.args {
                    arg(&mut out, a);
                }
            }
        }
    }
    out
}

fn check_invariants(text: &str) {
    let d = parse(text);
    for s in spans(&d) {
        assert!(
            s.start <= s.end && s.end <= text.len(),
            "{s:?} out of {}",
            text.len()
        );
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "{s:?}"
        );
    }
    for r in d.tables.iter().flat_map(|t| &t.rules) {
        assert!(r.line >= 1);
        let raw = &text[r.span.start..r.span.end];
        for a in &r.args {
            if !raw.contains('"') {
                assert_eq!(a.option.text, &text[a.option.span.start..a.option.span.end]);
            }
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "-A",
    "-I",
    "-N",
    "-P",
    "-D",
    "INPUT",
    "FORWARD",
    "MINE",
    "!",
    "\"",
    "\\",
    "'",
    "-m",
    "tcp",
    "--dport",
    "22",
    "-p",
    "udp",
    "-s",
    "10.0.0.0/8",
    "-j",
    "ACCEPT",
    "-g",
    "--log-prefix",
    "--tcp-flags",
    "SYN,ACK",
    "--match-set",
    "-c",
    "1",
    "[1:2]",
    "[",
    "]",
    ":",
    "*filter",
    "*nat",
    ":INPUT",
    "DROP",
    "-",
    "COMMIT",
    "#",
    "\u{feff}",
    "é",
    "∀",
    " ",
    " ",
    "\t",
    "\n",
    "\n",
    "\r\n",
    "\r",
    "--",
    "--x",
    "=",
    "--dport=",
    "--source=1",
    "\"a=b\"",
];

proptest::proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in proptest::prelude::any::<String>()) {
        check_invariants(&text);
    }

    #[test]
    fn never_panics_on_iptables_like_fragments(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..60)
    ) {
        let text: String = parts.join(" ").replace(" \n ", "\n");
        check_invariants(&text);
        check_invariants(&parts.concat());
    }

    #[test]
    fn never_panics_on_mutated_corpus(
        file in 0usize..9,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 0u8..3, proptest::sample::select(FRAGMENTS)),
            1..12,
        )
    ) {
        let corpus = [DS82, F27_V6, F27_C, Y2003, NFT_PAIR, V6_TESTBED, LONGOPTS, NEXUS, WIRELESS];
        let mut text = corpus[file].to_string();
        for (at, op, frag) in edits {
            let mut pos = at.index(text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            match op {
                0 => text.insert_str(pos, frag),
                1 => {
                    let mut end = (pos + 1 + at.index(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(pos..end, "");
                }
                _ => {
                    let mut end = (pos + frag.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(pos..end, frag);
                }
            }
        }
        check_invariants(&text);
    }
}

/// Cutting the text into blocks changes nothing: every corpus file and a few edge cases give
/// the same dump whether read in one block or in blocks of a few bytes (a block boundary
/// inside a table, a run of `nat` rules, lines after `COMMIT`, a BOM, a missing newline).
#[test]
fn blocks_give_the_same_dump_as_one_pass() {
    let edge = [
            "\u{feff}*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
            "-A INPUT -j ACCEPT\n-A INPUT -j DROP\n\n-A FORWARD -j DROP\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n-A INPUT -j DROP\n-A INPUT -j DROP\n",
            "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE\n-A PREROUTING -j KUBE\n-A KUBE -j RETURN\n-A PREROUTING --bogus\n-N KUBE\n-A KUBE -j RETURN\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOPE\n-P INPUT DROP\n  *mangle\n-A PREROUTING -j ACCEPT",
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"a \\\"b\\\" *c\" -j ACCEPT\n# Generated by ip6tables-save v1.8\n-A INPUT -p tcp --tcp-flags SYN,ACK SYN -j DROP\nCOMMIT",
        ];
    let corpus = [
        DS82, F27_V6, F27_C, Y2003, NFT_PAIR, V6_TESTBED, LONGOPTS, NEXUS, WIRELESS,
    ];
    for text in edge.iter().chain(corpus.iter()) {
        for keep in [(|_: &str| true) as fn(&str) -> bool, |t: &str| t != "nat"] {
            let whole = format!("{:?}", parse_in_blocks(text, keep, usize::MAX));
            for block in [1, 7, 64, 300] {
                let cut = format!("{:?}", parse_in_blocks(text, keep, block));
                assert_eq!(
                    whole,
                    cut,
                    "block size {block} on {:?}",
                    &text[..text.len().min(60)]
                );
            }
        }
    }
}

#[test]
fn a_dump_without_header_is_ipv6_by_what_only_ip6tables_accepts() {
    use super::lower::family_of;
    use crate::model::Family as F;
    for (body, family) in [
        ("-A INPUT -p ipv6-icmp -j ACCEPT\n", F::V6),
        ("-A INPUT -p icmpv6 --icmpv6-type 128 -j ACCEPT\n", F::V6),
        ("-A INPUT -p 58 -j ACCEPT\n", F::V6),
        ("-A INPUT -m hl --hl-eq 255 -j ACCEPT\n", F::V6),
        ("-A INPUT -d fe80::/10 -j ACCEPT\n", F::V6),
        (
            "-A INPUT -p tcp -j REJECT --reject-with icmp6-adm-prohibited\n",
            F::V6,
        ),
        ("-A INPUT -p icmp -j ACCEPT\n", F::V4),
        ("-A INPUT -p tcp --dport 22 -j ACCEPT\n", F::V4),
    ] {
        let text = filter(body);
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{body}: {:#?}", d.issues);
        assert_eq!(family_of(&d), family, "{body}");
    }
}
