//! `netsh advfirewall firewall show rule name=all [verbose]` text (grammar in
//! `grammars/netsh-show-rule.ebnf`).
//!
//! One block per rule: a `Rule Name:` line, a dashed line, then `Field:   value` lines
//! (`Enabled`, `Direction`, `Profiles`, `Grouping`, `LocalIP`, `RemoteIP`, `Protocol`, an indented
//! `Type Code` table for ICMP, `LocalPort`, `RemotePort`, `Edge traversal`, and with `verbose`
//! `Description`, `Program`, `Service`, `InterfaceTypes`, `Security`, `Rule source`), `Action`;
//! blocks separated by blank lines; the output ends with `Ok.`. CRLF or LF.
//!
//! English only: netsh translates labels and values into the OS language and there is no switch
//! for English. A dump whose blocks have the shape but not the English labels (`Regelname:`,
//! `Nom de la règle:`) is reported as unsupported (one issue with [`NON_ENGLISH_LABEL`]) and
//! nothing is parsed from it, rather than mis-parsed.

use std::collections::BTreeSet;

use nom::bytes::complete::{take_while1, take_while_m_n};
use nom::character::complete::{char as nom_char, space0};
use nom::combinator::{eof, rest};
use nom::{IResult, Parser};

use super::{
    parse_addr, parse_icmp, parse_port, parse_protocol, parse_security, split_list, Direction,
    Item, Profiles, Security, WinAction, WinRule,
};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// The label of the issue reported for a non-English dump (the caller maps it to Z003).
pub const NON_ENGLISH_LABEL: &str = "netsh output not in English";

/// First labels of a rule block in other languages, to name the language in the message.
const FOREIGN: &[(&str, &str)] = &[
    ("Regelname", "German"),
    ("Nom de la r", "French"),
    ("Nombre de regla", "Spanish"),
    ("Nome regola", "Italian"),
    ("Nome da regra", "Portuguese"),
    ("Regelnaam", "Dutch"),
    ("Nazwa regu", "Polish"),
    ("Имя правила", "Russian"),
    ("规则名称", "Chinese"),
    ("規則名稱", "Chinese"),
    ("規則名", "Japanese"),
    ("ルール名", "Japanese"),
    ("규칙 이름", "Korean"),
];

/// `-----...` (at least ten dashes) and nothing else.
fn dash_line(l: &str) -> IResult<&str, &str> {
    let (i, d) = take_while_m_n(10, usize::MAX, |c| c == '-').parse(l)?;
    let (i, _) = (space0, eof).parse(i)?;
    Ok((i, d))
}

/// `Label:   value` → (label, value). The label does not start with a blank and holds no `:`.
fn field_line(l: &str) -> IResult<&str, (&str, &str)> {
    let (i, (label, _, _, value)) = (
        take_while1(|c: char| c != ':' && c != '\t'),
        nom_char(':'),
        space0,
        rest,
    )
        .parse(l)?;
    if label.starts_with(' ') {
        return Err(nom::Err::Error(nom::error::Error::new(
            l,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((i, (label.trim_end(), value.trim_end())))
}

fn is_dash(l: &str) -> bool {
    dash_line(l.trim_end()).is_ok()
}

/// Does the text look like netsh `show rule` output (in any language)?
pub fn sniff(text: &str) -> bool {
    let mut prev_field = false;
    for l in text.lines().take(300) {
        let l = l.trim_end();
        if l.starts_with("Rule Name:") || l == "No rules match the specified criteria." {
            return true;
        }
        if prev_field && is_dash(l) {
            return true;
        }
        prev_field = field_line(l).is_ok();
    }
    false
}

/// Was the dump refused as non-English?
pub fn is_unsupported(issues: &[ParseIssue]) -> bool {
    issues.iter().any(|i| i.label == NON_ENGLISH_LABEL)
}

struct Line<'a> {
    text: &'a str,
    start: usize,
}

/// Parse the dump: the rules in order, and the problems found.
pub fn parse(text: &str) -> (Vec<WinRule>, Vec<ParseIssue>) {
    let mut lines = Vec::new();
    let mut off = 0;
    for raw in text.split_inclusive('\n') {
        lines.push(Line {
            text: raw.trim_end_matches(['\n', '\r']),
            start: off,
        });
        off += raw.len();
    }
    let mut issues = Vec::new();
    // a block header in another language: refuse the whole dump
    if !lines.iter().any(|l| l.text.starts_with("Rule Name:")) {
        for w in lines.windows(2) {
            if let ([a, b], Ok((_, (label, _)))) = (w, field_line(w[0].text)) {
                if is_dash(b.text) {
                    let lang = FOREIGN
                        .iter()
                        .find(|(p, _)| label.starts_with(p))
                        .map(|(_, l)| *l);
                    issues.push(ParseIssue {
                        kind: IssueKind::ParseError,
                        span: Span::new(a.start, a.start + label.len()),
                        message: format!(
                            "this netsh output is in {} (`{label}:`); only English netsh output is read",
                            lang.unwrap_or("a language other than English")
                        ),
                        label: NON_ENGLISH_LABEL.into(),
                        help: Some(
                            "netsh has no switch for English: export with `netsh advfirewall export x.wfw`, `reg export`, or PowerShell (Get-NetFirewallRule ... | ConvertTo-Json) instead"
                                .into(),
                        ),
                    });
                    return (Vec::new(), issues);
                }
            }
        }
    }
    let mut rules: Vec<WinRule> = Vec::new();
    let mut cur: Option<WinRule> = None;
    let mut last_field = String::new();
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for l in &lines {
        let t = l.text;
        let trimmed = t.trim();
        if trimmed.is_empty() || is_dash(t) {
            continue;
        }
        if trimmed == "Ok." || trimmed == "No rules match the specified criteria." {
            continue;
        }
        let lspan = Span::new(l.start, l.start + t.len());
        if t.starts_with(' ') || t.starts_with('\t') {
            // the ICMP `Type Code` table under Protocol
            if let Some(r) = cur.as_mut() {
                if last_field == "protocol" || last_field == "icmp" {
                    let cols: Vec<&str> = trimmed.split_whitespace().collect();
                    if cols.first().is_some_and(|c| c.eq_ignore_ascii_case("type")) {
                        continue;
                    }
                    if let [ty, code] = cols.as_slice() {
                        let lead = t.len() - t.trim_start().len();
                        let s = l.start + lead;
                        r.icmp.push(Item::new(
                            parse_icmp(&format!("{ty}:{code}")),
                            Span::new(s, s + trimmed.len()),
                        ));
                        r.span = r.span.join(lspan);
                        last_field = "icmp".into();
                        continue;
                    }
                }
            }
            issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: lspan,
                message: "an indented line that is not part of an ICMP type table".into(),
                label: "unexpected line".into(),
                help: None,
            });
            continue;
        }
        let Ok((_, (label, value))) = field_line(t) else {
            issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: lspan,
                message: "not a `Field: value` line of netsh output".into(),
                label: "unexpected line".into(),
                help: None,
            });
            continue;
        };
        // the value is a sub-slice of the line: its offset is the pointer difference
        let vstart = l.start + (value.as_ptr() as usize).saturating_sub(t.as_ptr() as usize);
        let vspan = Span::new(vstart, vstart + value.len());
        let key = label.to_ascii_lowercase();
        if key == "rule name" {
            if let Some(r) = cur.take() {
                rules.push(r);
            }
            cur = Some(WinRule::new(value.to_string(), lspan));
            last_field = key;
            continue;
        }
        let Some(r) = cur.as_mut() else {
            issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: lspan,
                message: format!("`{label}:` before the first `Rule Name:`"),
                label: "outside a rule".into(),
                help: None,
            });
            continue;
        };
        r.span = r.span.join(lspan);
        let mut bad = |r: &mut WinRule, what: &str| {
            issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: vspan,
                message: format!("`{value}` is not a valid {what}"),
                label: format!("bad {what}"),
                help: None,
            });
            r.undecidable
                .push(format!("{label} `{value}` cannot be read"));
        };
        match key.as_str() {
            "enabled" => match value.to_ascii_lowercase().as_str() {
                "yes" => r.enabled = true,
                "no" => r.enabled = false,
                _ => bad(r, "Enabled value (Yes or No)"),
            },
            "direction" => match value.to_ascii_lowercase().as_str() {
                "in" => r.direction = Direction::In,
                "out" => r.direction = Direction::Out,
                _ => bad(r, "direction (In or Out)"),
            },
            "profiles" => {
                let mut bits = 0;
                for (p, _) in split_list(value, vstart) {
                    match p.to_ascii_lowercase().as_str() {
                        "domain" => bits |= Profiles::DOMAIN,
                        "private" => bits |= Profiles::PRIVATE,
                        "public" => bits |= Profiles::PUBLIC,
                        "any" => bits |= Profiles::ALL.0,
                        _ => bad(r, "profile"),
                    }
                }
                r.profiles = if bits == 0 {
                    Profiles::ALL
                } else {
                    Profiles(bits)
                };
            }
            "grouping" => r.group = (!value.is_empty()).then(|| value.to_string()),
            "localip" | "remoteip" => {
                let list: Vec<_> = split_list(value, vstart)
                    .into_iter()
                    .map(|(v, s)| Item::new(parse_addr(v), s))
                    .collect();
                if key == "localip" {
                    r.local_addrs = list;
                } else {
                    r.remote_addrs = list;
                }
            }
            "protocol" => r.protocol = Item::new(parse_protocol(value), vspan),
            "localport" | "remoteport" => {
                let list: Vec<_> = split_list(value, vstart)
                    .into_iter()
                    .map(|(v, s)| Item::new(parse_port(v), s))
                    .collect();
                if key == "localport" {
                    r.local_ports = list;
                } else {
                    r.remote_ports = list;
                }
            }
            "program" => r.program = Some(Item::new(value.to_string(), vspan)),
            "service" => r.service = Some(Item::new(value.to_string(), vspan)),
            "action" => match value.to_ascii_lowercase().as_str() {
                "allow" => r.action = WinAction::Allow,
                "block" => r.action = WinAction::Block,
                "bypass" => r.action = WinAction::Bypass,
                _ => {
                    r.action = WinAction::Block;
                    bad(r, "action (Allow, Block or Bypass)");
                }
            },
            "description" => {}
            "security" => {
                let sec = parse_security(value);
                if let Security::Bad(_) = sec {
                    bad(r, "security requirement (NotRequired, Authenticate, AuthEnc, AuthDynEnc, AuthNoEncap)");
                } else {
                    r.security = Some(Item::new(sec, vspan));
                }
            }
            "edge traversal" | "interfacetypes" | "rule source" => {
                r.notes.push(format!("{label}: {value}"))
            }
            _ => {
                r.notes.push(format!("{label}: {value}"));
                r.undecidable.push(format!(
                    "unknown netsh field `{label}` may restrict the rule"
                ));
                if unknown.insert(key.clone()) {
                    issues.push(ParseIssue {
                        kind: IssueKind::Undecidable,
                        span: lspan,
                        message: format!(
                            "unknown netsh field `{label}`: rules showing it are undecidable"
                        ),
                        label: "unknown field".into(),
                        help: None,
                    });
                }
            }
        }
        last_field = key;
    }
    if let Some(r) = cur.take() {
        rules.push(r);
    }
    (rules, issues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::encoding;
    use crate::formats::source::SourceText;
    use crate::formats::windows::tests::{inbound, verdicts};
    use crate::formats::windows::{
        parse_text, sniff_text, AddrSpec, IcmpSpec, PortSpec, Protocol, WinFormat,
    };
    use crate::formats::Resolver;
    use crate::model::{Hook, Verdict};

    const ZVM: &[u8] = include_bytes!("../../../fixtures/windows/zvm-netsh-block-9081.utf16le.txt");
    const HYPERV: &str = include_str!("../../../fixtures/windows/hyperv-host-netsh.txt");

    #[test]
    fn zvm_fixture_block_wins_at_its_line() {
        let d = encoding::decode(ZVM);
        assert_eq!(d.encoding, "utf-16le");
        assert!(d.text.contains("\r\n"));
        assert_eq!(sniff_text(&d.text), Some(WinFormat::Netsh));
        // counted independently of the parser
        let expected = d
            .text
            .lines()
            .filter(|l| l.starts_with("Rule Name:"))
            .count();
        let (rules, issues) = parse(&d.text);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(rules.len(), expected);
        let block_line = d
            .text
            .lines()
            .position(|l| l.starts_with("Rule Name:") && l.contains("Block Zerto 9081"))
            .map(|i| i as u32 + 1);
        let src = SourceText::new("zvm", d.text.clone());
        let parsed = parse_text(&src, &Resolver::default());
        assert!(parsed
            .issues
            .iter()
            .all(|i| i.kind != IssueKind::ParseError));
        assert_eq!(parsed.rulesets.len(), 3);
        for rs in &parsed.rulesets {
            let p = rs
                .pipeline(Hook::Input)
                .map(|p| rs.evaluate(p, &inbound("10.1.2.3", 9081)));
            let pieces = p.unwrap_or_default();
            assert_eq!(pieces.len(), 1);
            assert_eq!(pieces[0].verdict, Verdict::Deny);
            let prov = rs.provenance(pieces[0].deciders[0]);
            assert_eq!(prov.map(|p| p.line), block_line);
            assert!(prov.is_some_and(|p| p.label.contains("(block)")));
            // the other Zerto ports are open from 10/8, not from elsewhere
            assert_eq!(
                verdicts(rs, Hook::Input, &inbound("10.1.2.3", 9669))[0].0,
                Verdict::Allow
            );
            assert_eq!(
                verdicts(rs, Hook::Input, &inbound("10.1.2.3", 4007))[0].0,
                Verdict::Allow
            );
            assert_eq!(
                verdicts(rs, Hook::Input, &inbound("192.168.1.1", 9669))[0].0,
                Verdict::Deny
            );
        }
    }

    #[test]
    fn fields_and_icmp_table() {
        let t = "\r\nRule Name:                            Core Networking - Echo (ICMPv4-In)\r\n----------------------------------------------------------------------\r\nEnabled:                              No\r\nDirection:                            In\r\nProfiles:                             Domain,Private\r\nGrouping:                             Core Networking\r\nLocalIP:                              Any\r\nRemoteIP:                             LocalSubnet,10.0.0.0/255.0.0.0,10.1.0.1-10.1.0.9\r\nProtocol:                             ICMPv4\r\n                                      Type    Code\r\n                                      8       Any\r\n                                      3       4\r\nEdge traversal:                       No\r\nAction:                               Allow\r\n\r\nRule Name:                            x\r\n----------------------------------------------------------------------\r\nEnabled:                              Maybe\r\nLocalPort:                            RPC,4005-4009\r\nProgram:                              C:\\a b\\c.exe\r\nAction:                               Block\r\n\r\nOk.\r\n";
        let (rules, issues) = parse(t);
        assert_eq!(rules.len(), 2);
        let r = &rules[0];
        assert!(!r.enabled);
        assert_eq!(r.profiles, Profiles(3));
        assert_eq!(r.protocol.value, Protocol::Number(1));
        assert_eq!(
            r.icmp.iter().map(|i| i.value.clone()).collect::<Vec<_>>(),
            [IcmpSpec::TypeCode(8, None), IcmpSpec::TypeCode(3, Some(4))]
        );
        assert_eq!(r.remote_addrs.len(), 3);
        assert_eq!(
            r.remote_addrs[0].value,
            AddrSpec::Keyword("LocalSubnet".into())
        );
        let s = r.remote_addrs[1].span;
        assert_eq!(&t[s.start..s.end], "10.0.0.0/255.0.0.0");
        let r = &rules[1];
        assert_eq!(r.local_ports[0].value, PortSpec::Keyword("RPC".into()));
        assert_eq!(
            r.program.as_ref().map(|p| p.value.as_str()),
            Some("C:\\a b\\c.exe")
        );
        assert_eq!(issues.len(), 1);
        assert_eq!(&t[issues[0].span.start..issues[0].span.end], "Maybe");
        assert!(!r.undecidable.is_empty());
    }

    #[test]
    fn hyperv_fixture() {
        assert!(HYPERV.contains("\r\n"));
        let expected = HYPERV
            .lines()
            .filter(|l| l.starts_with("Rule Name:"))
            .count();
        let (rules, issues) = parse(HYPERV);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(rules.len(), expected);
        assert!(rules.iter().any(|r| r.direction == Direction::Out
            && r.local_ports.iter().all(|p| p.value == PortSpec::Any)
            && r.remote_ports
                .iter()
                .any(|p| p.value == PortSpec::Range(9669, 9669))));
    }

    #[test]
    fn non_english_is_refused() {
        let de = "\r\nRegelname:                            Remotedesktop\r\n----------------------------------------------------------------------\r\nAktiviert:                            Ja\r\nRichtung:                             Eingehend\r\n\r\nOK.\r\n";
        assert_eq!(sniff_text(de), Some(WinFormat::Netsh));
        let src = SourceText::new("de", de);
        let parsed = parse_text(&src, &Resolver::default());
        assert!(parsed.rulesets.is_empty());
        assert_eq!(parsed.issues.len(), 1);
        assert!(is_unsupported(&parsed.issues));
        assert!(parsed.issues[0].message.contains("German"));
        // French in Windows-1252 (the OEM page would differ, but the shape is what counts)
        let fr = encoding::decode(b"Nom de la r\xe8gle:                      Bureau\r\n----------------------------------------------------------------------\r\nActiv\xe9e:          Oui\r\n");
        let (rules, issues) = parse(&fr.text);
        assert!(rules.is_empty());
        assert!(issues[0].message.contains("French"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
            let _ = sniff(&s);
            let _ = parse(&format!("Rule Name: x\n-------------------\n{s}"));
            let _ = parse(&format!("Rule Name: x\nProtocol: ICMPv4\n {s}"));
        }
    }
}
