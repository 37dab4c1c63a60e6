//! Windows Defender Firewall: every export admins hand over, parsed into one small rule AST
//! ([`WinRule`]) and lowered into the common model by [`lower()`].
//!
//! Formats (README, "Inputs"): `netsh advfirewall firewall show rule name=all [verbose]` text
//! ([`netsh`]), `Get-NetFirewallRule` joined with its filters as JSON or CSV ([`powershell`]), the
//! registry rule strings `v2.xx|Action=...|` in `reg export` files, as raw lines, and inside
//! `.wfw` registry hives ([`registry`]).
//!
//! Semantics, per profile (Domain, Private, Public), one [`Ruleset`](crate::model::Ruleset) each:
//! - precedence as [MS-FASP] 2.2.34 (FW_RULE_ACTION) states it: authenticated bypass rules win
//!   over block rules, block rules over allow rules: the `Inbound` / `Outbound` chains hold every
//!   enabled bypass rule first, then every enabled block rule, then every enabled allow rule, and
//!   end in the profile's default action (inbound block, outbound allow unless the export says
//!   otherwise);
//! - bypass rules and allow rules that require IPsec (authentication, encryption) admit only
//!   IPsec-authenticated connections: the fact `ipsec` (via the [`Resolver`]) decides them —
//!   `true`: they match as written; `false`: they match nothing; not given: they are undecidable
//!   with the reason [`IPSEC_REASON`](lower::IPSEC_REASON);
//! - a profile whose firewall is off lets everything through (no rules, policy allow);
//! - disabled rules are kept in two chains no pipeline enters, `Inbound (disabled)` and
//!   `Outbound (disabled)`, so the audit can say which disabled rule would admit a blocked flow;
//! - keywords (`LocalSubnet`, `DNS`, `Intranet`, ...) resolve through the [`Resolver`]; unresolved
//!   ones and port keywords (`RPC`, `IPHTTPS`, ...) make the rule undecidable, with the reason;
//!   a port list of keywords only, and a trust-tuple keyword (`TTK=UPnP`), also scope the rule to
//!   that Windows feature's traffic (`AppScope::Feature`), which is never a Zerto component's;
//! - program-, service- and Store-app-scoped rules (`App=`, `Svc=`, `AppPkgId=`) are undecidable
//!   as lowered, and carry their scopes in `NativeRef::Windows`: the audit sets aside, per
//!   guarded role, those whose scope names another application than the role's Zerto component
//!   (`model::app`); `App=System` (the kernel's process, which owns http.sys listeners) stays
//!   undecidable unless the user states the component's program.
//!
//! Where things are: the rule AST in `ast.rs`, the value syntaxes every format shares in
//! `values.rs`, one reader per format ([`netsh`], [`powershell`], [`registry`], with the hive
//! reader [`regf`]), and the lowering in `lower.rs`; this file sniffs the format and dispatches.

pub mod netsh;
pub mod powershell;
pub mod regf;
pub mod registry;

mod ast;
mod lower;
mod values;

pub use ast::{
    AddrSpec, Direction, IcmpSpec, Item, PortSpec, ProfileSetting, ProfileSettings, Profiles,
    Protocol, Security, WinAction, WinRule, PROFILES,
};
pub use lower::{lower, IPSEC_FACT, IPSEC_REASON};
pub use values::{parse_addr, parse_icmp, parse_port, parse_protocol, parse_security, split_list};

use crate::formats::json::spans::Json;
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Parsed, Resolver};
use crate::model::Span;

/// Which Windows text format a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinFormat {
    /// `netsh advfirewall firewall show rule name=all [verbose]`.
    Netsh,
    /// A `reg export` / regedit file (`Windows Registry Editor Version 5.00`).
    RegExport,
    /// Registry rule strings one per line (`v2.30|...|` or `"RuleId"=v2.30|...|`).
    RuleStrings,
    /// `Get-NetFirewallRule ... | Export-Csv`.
    PowerShellCsv,
}

// ---------------------------------------------------------------------------------------------
// Sniffing and entry points

/// The Windows text format of `text`, if it is one (see each module for its markers).
pub fn sniff_text(text: &str) -> Option<WinFormat> {
    let t = text.trim_start_matches('\u{feff}');
    if registry::sniff_reg(t) {
        return Some(WinFormat::RegExport);
    }
    if registry::sniff_lines(t) {
        return Some(WinFormat::RuleStrings);
    }
    if netsh::sniff(t) {
        return Some(WinFormat::Netsh);
    }
    if powershell::sniff_csv(t) {
        return Some(WinFormat::PowerShellCsv);
    }
    None
}

/// Is this JSON a PowerShell firewall-rule export?
pub fn sniff_json(json: &Json<'_>) -> bool {
    powershell::sniff_json(json)
}

/// Is this a binary registry hive (`.wfw` from `netsh advfirewall export`)?
pub fn sniff_bytes(bytes: &[u8]) -> bool {
    bytes.starts_with(b"regf")
}

/// Parse and lower a Windows text export (any of [`WinFormat`]).
pub fn parse_text(src: &SourceText, names: &Resolver) -> Parsed {
    let Some(format) = sniff_text(&src.text) else {
        return Parsed {
            rulesets: Vec::new(),
            issues: vec![ParseIssue {
                kind: IssueKind::ParseError,
                span: Span::new(0, src.text.len().min(1)),
                message: "not a Windows firewall export Portolan reads".into(),
                label: "unrecognised".into(),
                help: None,
            }],
        };
    };
    let (rules, profiles, mut issues) = match format {
        WinFormat::Netsh => {
            let (rules, issues) = netsh::parse(&src.text);
            (rules, ProfileSettings::default(), issues)
        }
        WinFormat::RegExport | WinFormat::RuleStrings => registry::parse_text(&src.text),
        WinFormat::PowerShellCsv => {
            let (rules, issues) = powershell::parse_csv(&src.text);
            (rules, ProfileSettings::default(), issues)
        }
    };
    if format == WinFormat::Netsh && netsh::is_unsupported(&issues) {
        return Parsed {
            rulesets: Vec::new(),
            issues,
        };
    }
    let rulesets = lower(&rules, &profiles, src, names, &mut issues);
    Parsed { rulesets, issues }
}

/// Parse and lower a PowerShell JSON export.
pub fn parse_json(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    let (rules, mut issues) = powershell::parse_json(json);
    let rulesets = lower(&rules, &ProfileSettings::default(), src, names, &mut issues);
    Parsed { rulesets, issues }
}

/// Parse and lower a `.wfw` hive. A hive has no text, so spans point into a rendering of it that
/// this function builds — one line per value, `[FirewallRules]` / `[DomainProfile]` section lines,
/// rule values as `"<value name>"=<rule string>` and profile values as
/// `"EnableFirewall"=dword:00000001` — returned as the ruleset provenance's text through
/// [`hive_source`]; callers that show snippets should render that text, not the bytes.
pub fn parse_hive(bytes: &[u8], name: &str, names: &Resolver) -> Parsed {
    let src = hive_source(bytes, name);
    match src {
        Ok(src) => {
            let (rules, profiles, mut issues) = registry::parse_text(&src.text);
            let rulesets = lower(&rules, &profiles, &src, names, &mut issues);
            Parsed { rulesets, issues }
        }
        Err(message) => Parsed {
            rulesets: Vec::new(),
            issues: vec![ParseIssue {
                kind: IssueKind::ParseError,
                span: Span::default(),
                message,
                label: "not a readable registry hive".into(),
                help: Some(
                    "export the policy again with `netsh advfirewall export`, or send a `reg export` of the FirewallPolicy key"
                        .into(),
                ),
            }],
        },
    }
}

/// The text rendering of a `.wfw` hive that [`parse_hive`]'s spans point into, with where each
/// of its value lines is in the file ([`SourceText::binary`]).
pub fn hive_source(bytes: &[u8], name: &str) -> Result<SourceText, String> {
    registry::render_hive_mapped(bytes)
        .map(|(text, values)| SourceText::new(name, text).with_binary(values))
}

/// The disabled rules (in file order): the audit may report "enabling rule X would admit this".
/// The lowered forms are also in each ruleset, in the chains [`DISABLED_INBOUND`] and
/// [`DISABLED_OUTBOUND`], which no pipeline enters.
pub fn disabled_rules(rules: &[WinRule]) -> Vec<&WinRule> {
    rules.iter().filter(|r| !r.enabled).collect()
}

/// Chain of the disabled inbound rules (never entered by a pipeline).
pub const DISABLED_INBOUND: &str = "Inbound (disabled)";
/// Chain of the disabled outbound rules (never entered by a pipeline).
pub const DISABLED_OUTBOUND: &str = "Outbound (disabled)";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ports::{self, ConnState, PortSet, ProtoSet};
    use crate::model::{AddrSet, Hook, IntervalSet, PacketBox, Ruleset, Verdict};
    use std::net::IpAddr;

    /// The inbound region tcp/`port` from `from` to anywhere, state NEW.
    pub fn inbound(from: &str, port: u16) -> PacketBox {
        let ip: IpAddr = from.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        PacketBox {
            src: AddrSet::single(ip),
            dst: AddrSet::any(),
            proto: ProtoSet::single(ports::TCP),
            sport: PortSet::full(),
            dport: PortSet::single(port),
            state: ConnState::New.set(),
            iif: IntervalSet::full(),
            oif: IntervalSet::full(),
        }
    }

    /// (verdict, labels of deciders) of every piece.
    pub fn verdicts(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Vec<(Verdict, Vec<String>)> {
        let Some(p) = rs.pipeline(hook) else {
            return Vec::new();
        };
        rs.evaluate(p, region)
            .into_iter()
            .map(|o| {
                let labels = o
                    .deciders
                    .iter()
                    .filter_map(|d| rs.provenance(*d).map(|p| p.label.to_string()))
                    .collect();
                (o.verdict, labels)
            })
            .collect()
    }

    #[test]
    fn netsh_json_and_reg_fixtures_agree() {
        use crate::formats::encoding;
        use crate::formats::json::spans as json_spans;
        let load = |b: &[u8]| encoding::decode(b).text;
        let netsh = load(include_bytes!(
            "../../../fixtures/windows/zvm-netsh-block-9081.utf16le.txt"
        ));
        let json = load(include_bytes!(
            "../../../fixtures/windows/zvm-rules.ps.json"
        ));
        let reg = load(include_bytes!("../../../fixtures/windows/zvm-rules.reg"));
        assert_eq!(sniff_text(&reg), Some(WinFormat::RegExport));
        assert_eq!(sniff_text(&netsh), Some(WinFormat::Netsh));
        let names = Resolver::default();
        let a = parse_text(&SourceText::new("n", netsh), &names);
        let b = {
            let src = SourceText::new("j", json);
            let Ok(j) = json_spans::parse(&src.text) else {
                panic!("fixture is not JSON");
            };
            assert!(sniff_json(&j));
            parse_json(&src, &j, &names)
        };
        let c = parse_text(&SourceText::new("r", reg), &names);
        for p in [&a, &b, &c] {
            assert!(
                p.issues.iter().all(|i| i.kind != IssueKind::ParseError),
                "{:?}",
                p.issues
            );
            assert_eq!(p.rulesets.len(), 3);
        }
        let grid = |rs: &Ruleset| -> Vec<(Verdict, Verdict)> {
            let mut out = Vec::new();
            for from in ["10.1.2.3", "192.168.1.1"] {
                for port in [
                    53, 443, 3389, 4005, 4009, 5985, 9071, 9080, 9081, 9180, 9669, 9999,
                ] {
                    for proto in [ports::TCP, ports::UDP] {
                        let mut r = inbound(from, port);
                        r.proto = ProtoSet::single(proto);
                        let vin = verdicts(rs, Hook::Input, &r);
                        std::mem::swap(&mut r.src, &mut r.dst);
                        let vout = verdicts(rs, Hook::Output, &r);
                        let one = |v: &[(Verdict, Vec<String>)]| match v {
                            [(x, _)] => *x,
                            _ => Verdict::Unknown,
                        };
                        out.push((one(&vin), one(&vout)));
                    }
                }
            }
            out
        };
        for i in 0..3 {
            let ga = grid(&a.rulesets[i]);
            assert_eq!(ga, grid(&b.rulesets[i]), "netsh vs json, profile {i}");
            assert_eq!(ga, grid(&c.rulesets[i]), "netsh vs reg, profile {i}");
            assert!(ga.contains(&(Verdict::Deny, Verdict::Allow)));
            assert!(ga.contains(&(Verdict::Allow, Verdict::Allow)));
        }
        // WinRM is Domain and Private only
        let winrm = |rs: &Ruleset| verdicts(rs, Hook::Input, &inbound("10.1.2.3", 5985))[0].0;
        assert_eq!(winrm(&c.rulesets[0]), Verdict::Allow);
        assert_eq!(winrm(&c.rulesets[2]), Verdict::Deny);
    }

    #[test]
    fn corpus_hive_lowered() {
        let bytes = include_bytes!("../../../fixtures/windows/corpus/Win10Firewall.wfw");
        assert!(sniff_bytes(bytes));
        let parsed = parse_hive(bytes, "Win10Firewall.wfw", &Resolver::default());
        assert!(parsed
            .issues
            .iter()
            .all(|i| i.kind != IssueKind::ParseError));
        assert_eq!(parsed.rulesets.len(), 3);
        let Ok(src) = hive_source(bytes, "Win10Firewall.wfw") else {
            panic!("hive not rendered");
        };
        for rs in &parsed.rulesets {
            let p = &rs.policies[0];
            assert!(p.name.ends_with("(firewall off)"), "{}", p.name);
            // everything passes, decided by the EnableFirewall setting of the rendering
            let out = verdicts(rs, Hook::Input, &inbound("10.1.2.3", 9081));
            assert_eq!(out[0].0, Verdict::Allow);
            let decl = &p.chains[0].decl;
            assert_eq!(
                &src.text[decl.span.start..decl.span.end],
                "\"EnableFirewall\"=dword:00000000"
            );
            // disabled rules are kept apart
            let dis = p
                .chain_by_name(DISABLED_INBOUND)
                .map(|c| p.chains[c].rules.len());
            assert!(dis.is_some_and(|n| n > 0));
        }
        let off = parsed
            .issues
            .iter()
            .filter(|i| i.message.contains("firewall is off"))
            .count();
        assert_eq!(off, 3);
        assert!(
            parse_hive(b"regf-not-really", "x", &Resolver::default()).issues[0].kind
                == IssueKind::ParseError
        );
    }

    #[test]
    fn sniffs_bytes() {
        assert!(sniff_bytes(b"regf\x01\x00"));
        assert!(!sniff_bytes(b"Rule Name:"));
        // other formats are not taken for Windows ones
        assert_eq!(
            sniff_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"),
            None
        );
        assert_eq!(sniff_text("hello: world\nno dashes here\n"), None);
        assert_eq!(sniff_text("a,b,c\n1,2,3\n"), None);
    }
}
