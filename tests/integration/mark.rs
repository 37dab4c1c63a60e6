//! The packet mark (iptables-extensions(8) `mark`, `MARK`, `CONNMARK`): a `-m mark` test is
//! decided where an earlier rule on the same packet path set the bits it tests, and stays unknown
//! (with its reason) where nothing did or a `CONNMARK --restore-mark` brought in the connection's
//! mark.

use super::{audit_json, findings, portolan, verdict};
use portolan::formats::iptables::{self, lower as ipt_lower};
use portolan::formats::source::SourceText;
use portolan::model::{AddrSet, Family, Hook, IntervalSet, PacketBox, Verdict};

const GUI: &str = "vsphere.admin-client-zvm-9669";
const PAIRING: &str = "vsphere.zvm-zvm-9081";

fn quick(file: &str) -> serde_json::Value {
    audit_json(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        &format!("fixtures/iptables/mark/{file}"),
    ])
    .0
}

fn decided(entries: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    entries
        .iter()
        .map(|(l, r, a)| (*l, r.to_string(), a.to_string()))
        .collect()
}

/// The Z103 of a requirement.
fn z103<'a>(v: &'a serde_json::Value, req: &str) -> Vec<&'a serde_json::Value> {
    findings(v, "Z103")
        .into_iter()
        .filter(|f| f["requirement"] == req)
        .collect()
}

#[test]
fn a_mark_set_in_mangle_decides_the_filter_test() {
    let v = quick("mark-9669-accepted.rules");
    assert_eq!(
        verdict(&v, GUI),
        (
            "allowed".into(),
            decided(&[(18, "filter/INPUT #3", "accept")])
        )
    );
    assert!(z103(&v, GUI).is_empty());
    // 9081's mark was set by nothing on its path: still unknown, with the reason
    assert_eq!(
        verdict(&v, PAIRING),
        (
            "unknown".into(),
            decided(&[
                (18, "filter/INPUT #3", "accept"),
                (13, "filter/INPUT policy", "drop")
            ])
        )
    );
    assert_eq!(z103(&v, PAIRING).len(), 1);
    let z002: Vec<_> = findings(&v, "Z002");
    assert_eq!(z002.len(), 1);
    assert_eq!(z002[0]["line"], 18);
    let msg = z002[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("-m mark --mark 0x1") && msg.contains("no earlier rule"),
        "{msg}"
    );
}

#[test]
fn a_mark_set_only_for_another_port_leaves_the_flow_to_the_policy() {
    let v = quick("mark-other-port.rules");
    for req in [GUI, PAIRING] {
        assert_eq!(
            verdict(&v, req),
            (
                "blocked".into(),
                decided(&[(14, "filter/INPUT policy", "drop")])
            ),
            "{req}"
        );
    }
    assert!(findings(&v, "Z002").is_empty());
    assert!(findings(&v, "Z103").is_empty());
}

#[test]
fn a_masked_test_is_decided_on_the_bits_it_tests() {
    // 9669 marked 0x3: `--mark 0x1/0x1` matches; 9081 marked 0x2: it does not
    let v = quick("mark-masked.rules");
    assert_eq!(
        verdict(&v, GUI),
        (
            "allowed".into(),
            decided(&[(19, "filter/INPUT #3", "accept")])
        )
    );
    assert_eq!(
        verdict(&v, PAIRING),
        (
            "blocked".into(),
            decided(&[(14, "filter/INPUT policy", "drop")])
        )
    );
}

#[test]
fn a_restored_connection_mark_is_unknown() {
    let v = quick("mark-restored.rules");
    assert_eq!(
        verdict(&v, GUI),
        (
            "unknown".into(),
            decided(&[
                (19, "filter/INPUT #3", "accept"),
                (14, "filter/INPUT policy", "drop")
            ])
        )
    );
    let z = z103(&v, GUI);
    assert_eq!(z.len(), 1);
    assert_eq!(z[0]["line"], 19);
}

#[test]
fn an_unreadable_mark_value_is_a_parse_error_on_its_token() {
    let v = quick("mark-bad-value.rules");
    let z001 = findings(&v, "Z001");
    assert_eq!(z001.len(), 1, "{z001:?}");
    assert_eq!(
        (z001[0]["line"].as_u64(), z001[0]["column"].as_u64()),
        (Some(18), Some(25))
    );
    assert!(z001[0]["message"].as_str().unwrap().contains("`0xzz`"));
    // the rule stays, undecidable; the decided `! --mark 0x1 ... -j DROP` (line 19) does not
    // match 9669's mark 0x1, and the plain accept on line 20 settles it
    assert_eq!(
        verdict(&v, GUI),
        (
            "allowed".into(),
            decided(&[
                (18, "filter/INPUT #3", "accept"),
                (20, "filter/INPUT #5", "accept")
            ])
        )
    );
}

#[test]
fn query_traces_the_mark_from_mangle_to_filter() {
    let run = |file: &str| {
        let out = portolan()
            .args([
                "query",
                &format!("fixtures/iptables/mark/{file}"),
                "--from",
                "10.0.0.5",
                "--port",
                "9669/tcp",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let piece = v["results"][0]["pieces"][0].clone();
        let events: Vec<(String, Option<u64>)> = piece["trace"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["event"] != "no match" && t["event"] != "policy")
            .map(|t| {
                (
                    format!(
                        "{} {}",
                        t["event"].as_str().unwrap(),
                        t["detail"].as_str().unwrap()
                    ),
                    t["line"].as_u64(),
                )
            })
            .collect();
        (piece["verdict"].as_str().unwrap().to_string(), events)
    };
    let (v, events) = run("mark-masked.rules");
    assert_eq!(v, "allow");
    assert_eq!(
        events,
        vec![
            ("match set-mark".to_string(), Some(8)),
            ("match accept".to_string(), Some(19)),
        ]
    );
    let (v, events) = run("mark-restored.rules");
    assert_eq!(v, "unknown");
    assert_eq!(events[0], ("match set-mark".to_string(), Some(8)));
    assert_eq!(events[1], ("match set-mark".to_string(), Some(9)));
    assert_eq!(events[2].1, Some(19));
    assert!(
        events[2].0.starts_with("undecidable -m mark --mark 0x1"),
        "{events:?}"
    );
}

/// A host with `table` rules (mangle, raw, ...) before a filter INPUT with policy DROP and one
/// `-m mark` accept; the verdict of every NEW tcp/9669 packet, which must be one.
fn verdict_of(before: &str, test: &str) -> Verdict {
    let text = format!(
        "{before}*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT {test} -j ACCEPT\nCOMMIT\n"
    );
    let src = SourceText::new("m.rules", &text);
    let dump = iptables::parse(&src.text);
    assert!(dump.issues.is_empty(), "{:?}", dump.issues);
    let l = ipt_lower::lower(&dump, &src, ipt_lower::family_of(&dump));
    assert!(l.issues.is_empty(), "{before}{test}: {:?}", l.issues);
    let rs = &l.ruleset;
    let pl = rs.pipeline(Hook::Input).unwrap();
    let mut region = PacketBox::full();
    region.src = AddrSet::any_of(Family::V4);
    region.dst = AddrSet::any_of(Family::V4);
    region.proto = IntervalSet::single(6);
    region.dport = IntervalSet::single(9669);
    region.state = IntervalSet::single(0);
    let outs = rs.evaluate(pl, &region);
    let vs: std::collections::BTreeSet<Verdict> = outs.iter().map(|o| o.verdict).collect();
    assert_eq!(vs.len(), 1, "{before}{test}: {outs:?}");
    let v = outs[0].verdict;
    // the single-packet reference agrees
    let p = outs[0].space.sample().unwrap();
    assert_eq!(rs.evaluate_packet(pl, &p), v, "{before}{test}");
    v
}

fn mangle(rules: &[&str]) -> String {
    let mut s = String::from(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
         :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:MARKS - [0:0]\n",
    );
    for r in rules {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str("COMMIT\n");
    s
}

#[test]
fn every_form_of_mark_and_connmark_against_the_kernels_arithmetic() {
    use Verdict::{Allow, Deny, Unknown};
    let set = |v: &str| format!("-A PREROUTING -j MARK --set-xmark {v}");
    let cases: Vec<(Vec<String>, &str, Verdict)> = vec![
        // nothing set the mark: unknown
        (vec![], "-m mark --mark 0x1", Unknown),
        (vec![set("0x1/0xffffffff")], "-m mark --mark 0x1", Allow),
        (vec![set("0x1/0xffffffff")], "-m mark ! --mark 0x1", Deny),
        (vec![set("0x2/0xffffffff")], "-m mark --mark 0x1", Deny),
        // --set-mark ORs into the zeroed bits: 0x3 matches 0x1/0x1
        (
            vec!["-A PREROUTING -j MARK --set-mark 0x3".into()],
            "-m mark --mark 0x1/0x1",
            Allow,
        ),
        // --set-mark 0x4/0x4 sets bit 2 only: a test of the whole mark is undecided
        (
            vec!["-A PREROUTING -j MARK --set-mark 0x4/0x4".into()],
            "-m mark --mark 0x4/0x4",
            Allow,
        ),
        (
            vec!["-A PREROUTING -j MARK --set-mark 0x4/0x4".into()],
            "-m mark --mark 0x4",
            Unknown,
        ),
        // a known bit that contradicts the test decides it, whatever the others
        (
            vec!["-A PREROUTING -j MARK --set-mark 0x4/0x4".into()],
            "-m mark --mark 0x0/0x6",
            Deny,
        ),
        (
            vec![
                set("0x0/0xffffffff"),
                "-A PREROUTING -j MARK --or-mark 0x10".into(),
            ],
            "-m mark --mark 0x10",
            Allow,
        ),
        (
            vec![
                set("0xff/0xffffffff"),
                "-A PREROUTING -j MARK --and-mark 0xf".into(),
            ],
            "-m mark --mark 0xf",
            Allow,
        ),
        // --and-mark alone zeroes every other bit
        (
            vec!["-A PREROUTING -j MARK --and-mark 0xf".into()],
            "-m mark --mark 0x0/0xf0",
            Allow,
        ),
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j MARK --xor-mark 0x3".into(),
            ],
            "-m mark --mark 0x2",
            Allow,
        ),
        (
            vec!["-A PREROUTING -j MARK --xor-mark 0x1".into()],
            "-m mark --mark 0x1",
            Unknown,
        ),
        // octal and decimal as iptables-restore reads them
        (
            vec!["-A PREROUTING -j MARK --set-mark 010".into()],
            "-m mark --mark 8",
            Allow,
        ),
        // a value outside its mask never matches
        (vec![], "-m mark --mark 0x2/0x1", Deny),
        // only the MARK rules that match the packet count
        (
            vec!["-A PREROUTING -p udp -j MARK --set-mark 0x1".into()],
            "-m mark --mark 0x1",
            Unknown,
        ),
        (
            vec![
                set("0x0/0xffffffff"),
                "-A PREROUTING -p tcp --dport 9669 -j MARK --set-mark 0x1".into(),
            ],
            "-m mark --mark 0x1",
            Allow,
        ),
        // CONNMARK: --restore-mark brings in the connection mark's bits (of --ctmask) and zeroes
        // the rest of --nfmask; the other forms change the connection mark only
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"
                    .into(),
            ],
            "-m mark --mark 0x1",
            Unknown,
        ),
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffff00"
                    .into(),
            ],
            "-m mark --mark 0x0/0xff",
            Allow,
        ),
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j CONNMARK --restore-mark --mask 0xf0".into(),
            ],
            "-m mark --mark 0x1/0xf",
            Allow,
        ),
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j CONNMARK --set-xmark 0x2/0xffffffff".into(),
            ],
            "-m mark --mark 0x1",
            Allow,
        ),
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff"
                    .into(),
            ],
            "-m mark --mark 0x1",
            Allow,
        ),
        (
            vec![set("0x1/0xffffffff")],
            "-m connmark --mark 0x1",
            Unknown,
        ),
        // HMARK writes a hash: unknown again
        (
            vec![
                set("0x1/0xffffffff"),
                "-A PREROUTING -j HMARK --hmark-tuple src --hmark-mod 4".into(),
            ],
            "-m mark --mark 0x1",
            Unknown,
        ),
        // an undecidable MARK: the bits both worlds agree on stay known
        (
            vec![
                set("0x0/0xffffffff"),
                "-A PREROUTING -m limit --limit 1/sec -j MARK --set-xmark 0x1/0xffffffff".into(),
            ],
            "-m mark --mark 0x1",
            Unknown,
        ),
        (
            vec![
                set("0x0/0xffffffff"),
                "-A PREROUTING -m limit --limit 1/sec -j MARK --set-xmark 0x1/0xffffffff".into(),
            ],
            "-m mark --mark 0x0/0xfffffffe",
            Allow,
        ),
        // set in a user chain, kept on the way back; set in mangle INPUT; set on OUTPUT only
        (
            vec![
                "-A PREROUTING -j MARKS".into(),
                "-A MARKS -j MARK --set-xmark 0x7/0xffffffff".into(),
                "-A MARKS -j RETURN".into(),
            ],
            "-m mark --mark 0x7",
            Allow,
        ),
        (
            vec!["-A INPUT -j MARK --set-xmark 0x7/0xffffffff".into()],
            "-m mark --mark 0x7",
            Allow,
        ),
        (
            vec!["-A OUTPUT -j MARK --set-xmark 0x7/0xffffffff".into()],
            "-m mark --mark 0x7",
            Unknown,
        ),
    ];
    for (rules, test, want) in cases {
        let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
        let before = mangle(&rules);
        assert_eq!(verdict_of(&before, test), want, "{before}{test}");
    }
    // the raw table runs first: a mark set there is seen by mangle and filter
    let raw = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
               -A PREROUTING -j MARK --set-xmark 0x9/0xffffffff\nCOMMIT\n";
    assert_eq!(verdict_of(raw, "-m mark --mark 0x9"), Allow);
}

/// An unreadable `-j MARK` or `CONNMARK` value is a Z001 labelled on its token; the rule still
/// changes the mark, to something unknown, so a later test is not decided by it.
#[test]
fn an_unreadable_mark_target_value_is_a_parse_error_and_leaves_the_mark_unknown() {
    for (target, token) in [
        ("MARK --set-xmark 0x1/zz", "0x1/zz"),
        ("MARK --or-mark 0x100000000", "0x100000000"),
        (
            "CONNMARK --restore-mark --nfmask 0xffffffff --ctmask nope",
            "nope",
        ),
    ] {
        let text = format!(
            "{}*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -m mark --mark 0x1 -j ACCEPT\nCOMMIT\n",
            mangle(&[
                "-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff",
                &format!("-A PREROUTING -j {target}"),
            ])
        );
        let src = SourceText::new("m.rules", &text);
        let dump = iptables::parse(&src.text);
        assert!(dump.issues.is_empty(), "{:?}", dump.issues);
        let l = ipt_lower::lower(&dump, &src, ipt_lower::family_of(&dump));
        assert_eq!(l.issues.len(), 1, "{target}: {:?}", l.issues);
        let i = &l.issues[0];
        assert_eq!(i.kind, portolan::formats::IssueKind::ParseError);
        assert_eq!(&text[i.span.start..i.span.end], token);
        assert_eq!(i.label, "not a mark value");
        let rs = &l.ruleset;
        let mut region = PacketBox::full();
        region.src = AddrSet::any_of(Family::V4);
        region.dst = AddrSet::any_of(Family::V4);
        region.proto = IntervalSet::single(6);
        region.state = IntervalSet::single(0);
        let outs = rs.evaluate(rs.pipeline(Hook::Input).unwrap(), &region);
        assert!(
            outs.iter().all(|o| o.verdict == Verdict::Unknown),
            "{target}: {outs:?}"
        );
    }
}
