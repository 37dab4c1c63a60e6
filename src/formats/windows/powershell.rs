//! PowerShell exports of `Get-NetFirewallRule` joined with its filters, as JSON or CSV
//! (README, "Inputs"). The export users run (Windows PowerShell 5.1 or PowerShell 7):
//!
//! ```powershell
//! Get-NetFirewallRule | ForEach-Object {
//!   $p = $_ | Get-NetFirewallPortFilter; $a = $_ | Get-NetFirewallAddressFilter
//!   $app = $_ | Get-NetFirewallApplicationFilter; $svc = $_ | Get-NetFirewallServiceFilter
//!   $sec = $_ | Get-NetFirewallSecurityFilter
//!   [pscustomobject]@{ Name=$_.Name; DisplayName=$_.DisplayName; DisplayGroup=$_.DisplayGroup
//!     Enabled=$_.Enabled; Direction=$_.Direction; Action=$_.Action; Profile=$_.Profile
//!     Protocol=$p.Protocol; LocalPort=$p.LocalPort; RemotePort=$p.RemotePort; IcmpType=$p.IcmpType
//!     LocalAddress=$a.LocalAddress; RemoteAddress=$a.RemoteAddress
//!     Program=$app.Program; Package=$app.Package; Service=$svc.Service
//!     EdgeTraversalPolicy=$_.EdgeTraversalPolicy; Authentication=$sec.Authentication
//!     Encryption=$sec.Encryption; OverrideBlockRules=$sec.OverrideBlockRules } } |
//!   ConvertTo-Json -Depth 4 | Out-File -Encoding utf8 firewall-rules.json
//! ```
//! (For CSV, end with `Select-Object Name,DisplayName,...,@{n='LocalPort';e={$_.LocalPort -join ','}},...
//! | Export-Csv firewall-rules.csv -NoTypeInformation`: list properties must be joined.)
//!
//! Accepted: enums as names (`Inbound`, `Allow`, `True`, `Domain, Private`) or as the numbers
//! ConvertTo-Json writes (Direction 1 Inbound / 2 Outbound; Action 2 Allow / 4 Block; Enabled 1
//! True / 2 False; Profile flags Domain 1, Private 2, Public 4, and 0 or 2147483647 = Any;
//! Authentication 0 NotRequired / 1 Required / 2 NoEncap; Encryption 0 NotRequired / 1 Required /
//! 2 Dynamic; `OverrideBlockRules` True makes an allow an authenticated bypass); a
//! single object or an array; scalars or arrays for list properties; filter properties at the top
//! or in nested filter objects. Missing properties take the `New-NetFirewallRule` defaults
//! (enabled, inbound, allow, any profile) — the curated corpus CSV has no Direction or Action
//! column. Names that are not addresses (`Client`, role labels) are keywords for the resolver.

use super::{
    parse_addr, parse_icmp, parse_port, parse_protocol, parse_security, Direction, Item, Profiles,
    Security, WinAction, WinRule,
};
use crate::formats::json::spans::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// What ConvertTo-Json writes for objects deeper than `-Depth`, and Export-Csv for arrays.
const TRUNCATED: &[&str] = &[
    "MSFT_NetFirewall",
    "System.Collections",
    "System.Object[]",
    "System.String[]",
    "Microsoft.Management.Infrastructure.CimInstance",
];

fn truncated(s: &str) -> bool {
    TRUNCATED.iter().any(|t| s.starts_with(t))
}

// ---------------------------------------------------------------------------------------------
// JSON

/// A PowerShell rule export: an object, or an array whose first object, has `DisplayName` (or
/// `Name` with `Protocol`/`LocalPort`) and `Direction`, `Action` or `Enabled` — in PowerShell's
/// PascalCase (Azure CLI output spells `direction` in lower case and has no `Action`).
pub fn sniff_json(json: &Json<'_>) -> bool {
    let obj = match &json.kind {
        Kind::Array(a) => a.first(),
        Kind::Object(_) => Some(json),
        _ => None,
    };
    let Some(o) = obj else {
        return false;
    };
    let has = |k: &str| o.get(k).is_some();
    (has("DisplayName") || has("Name") && (has("Protocol") || has("LocalPort")))
        && (has("Direction") || has("Action") || has("Enabled"))
}

/// A property at the top of the object or in a nested filter object.
fn prop<'j, 'a>(o: &'j Json<'a>, key: &str) -> Option<&'j Json<'a>> {
    o.get_ci(key).or_else(|| {
        o.members()?
            .iter()
            .filter_map(|m| m.value.get_ci(key))
            .next()
    })
}

/// Scalar text of a value (strings as is, numbers as written, booleans as True/False).
fn text_of<'j>(v: &'j Json<'_>) -> Option<std::borrow::Cow<'j, str>> {
    match &v.kind {
        Kind::String(s) => Some(std::borrow::Cow::Borrowed(s.as_ref())),
        Kind::Number(n) => Some(std::borrow::Cow::Borrowed(n)),
        Kind::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "True"
        } else {
            "False"
        })),
        _ => None,
    }
}

/// Every element of a scalar-or-array value, with spans.
fn list_of<'j>(v: &'j Json<'_>) -> Vec<(std::borrow::Cow<'j, str>, Span)> {
    match &v.kind {
        Kind::Array(a) => a
            .iter()
            .filter_map(|x| text_of(x).map(|t| (t, x.span)))
            .collect(),
        Kind::Null => Vec::new(),
        _ => text_of(v).map(|t| vec![(t, v.span)]).unwrap_or_default(),
    }
}

/// The values (with spans) of one property; `None` when absent.
type Getter<'t> = Box<dyn Fn(&str) -> Option<Vec<(String, Span)>> + 't>;

/// The fields of one rule, however they were written.
struct Fields<'t> {
    get: Getter<'t>,
}

fn rule_from(f: &Fields<'_>, span: Span, issues: &mut Vec<ParseIssue>) -> WinRule {
    let one = |k: &str| -> Option<(String, Span)> { (f.get)(k).and_then(|v| v.into_iter().next()) };
    let display = one("DisplayName").or_else(|| one("Name"));
    let mut r = WinRule::new(
        display.as_ref().map(|d| d.0.clone()).unwrap_or_default(),
        span,
    );
    if one("DisplayName").is_some() {
        r.id = one("Name").map(|n| n.0);
    }
    r.group = one("DisplayGroup")
        .or_else(|| one("Group"))
        .map(|g| g.0)
        .filter(|g| !g.is_empty());
    // any truncated value spoils the rule
    for key in [
        "LocalPort",
        "RemotePort",
        "LocalAddress",
        "RemoteAddress",
        "Protocol",
        "Program",
        "Service",
        "IcmpType",
    ] {
        for (v, s) in (f.get)(key).unwrap_or_default() {
            if truncated(&v) {
                issues.push(ParseIssue {
                    kind: IssueKind::ParseError,
                    span: s,
                    message: format!("`{key}` holds the type name `{v}` instead of its values"),
                    label: "lost in the export".into(),
                    help: Some(
                        "re-export with ConvertTo-Json -Depth 4, or join lists (-join ',') before Export-Csv"
                            .into(),
                    ),
                });
                r.undecidable
                    .push(format!("{key} was lost in the export (`{v}`)"));
            }
        }
    }
    let mut bad = |r: &mut WinRule, v: &str, s: Span, what: &str| {
        issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span: s,
            message: format!("`{v}` is not a valid {what}"),
            label: format!("bad {what}"),
            help: None,
        });
        r.undecidable.push(format!("{what} `{v}` cannot be read"));
    };
    if let Some((v, s)) = one("Enabled") {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => r.enabled = true,
            "2" | "false" | "no" | "0" => r.enabled = false,
            _ => bad(&mut r, &v, s, "Enabled value"),
        }
    }
    if let Some((v, s)) = one("Direction") {
        match v.to_ascii_lowercase().as_str() {
            "1" | "inbound" | "in" => r.direction = Direction::In,
            "2" | "outbound" | "out" => r.direction = Direction::Out,
            _ => bad(&mut r, &v, s, "direction"),
        }
    }
    if let Some((v, s)) = one("Action") {
        match v.to_ascii_lowercase().as_str() {
            "2" | "allow" => r.action = WinAction::Allow,
            "4" | "block" => r.action = WinAction::Block,
            "bypass" => r.action = WinAction::Bypass,
            _ => {
                r.action = WinAction::Block;
                bad(&mut r, &v, s, "action");
            }
        }
    }
    // the security filter (Get-NetFirewallSecurityFilter): Authentication 0 NotRequired,
    // 1 Required, 2 NoEncap; Encryption 0 NotRequired, 1 Required, 2 Dynamic; OverrideBlockRules
    // makes an allow an authenticated bypass
    for (key, names) in [
        ("Authentication", ["required", "noencap"]),
        ("Encryption", ["required", "dynamic"]),
    ] {
        if let Some((v, s)) = one(key) {
            let l = v.to_ascii_lowercase();
            if l == "0" || l == "notrequired" || l.is_empty() {
                if r.security.is_none() {
                    r.security = Some(Item::new(Security::NotRequired, s));
                }
            } else if l == "1" || l == "2" || names.contains(&l.as_str()) {
                r.security = Some(Item::new(Security::Required(format!("{key} {v}")), s));
            } else {
                bad(&mut r, &v, s, &format!("{key} value"));
            }
        }
    }
    if let Some((v, s)) = one("Security") {
        match parse_security(&v) {
            Security::Bad(_) => bad(&mut r, &v, s, "security requirement"),
            sec => {
                if !matches!(&r.security, Some(x) if x.value.requires_ipsec()) {
                    r.security = Some(Item::new(sec, s));
                }
            }
        }
    }
    if let Some((v, s)) = one("OverrideBlockRules") {
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" => {
                if r.action == WinAction::Allow {
                    r.action = WinAction::Bypass;
                }
            }
            "false" | "0" | "" => {}
            _ => bad(&mut r, &v, s, "OverrideBlockRules value"),
        }
    }
    if let Some(list) = (f.get)("Profile") {
        let mut bits = 0u8;
        for (v, s) in list {
            for p in v.split([',', ' ']).filter(|p| !p.is_empty()) {
                match p.to_ascii_lowercase().as_str() {
                    "any" | "0" | "2147483647" | "65535" | "all" => bits |= Profiles::ALL.0,
                    "domain" => bits |= Profiles::DOMAIN,
                    "private" => bits |= Profiles::PRIVATE,
                    "public" => bits |= Profiles::PUBLIC,
                    n => match n.parse::<u8>() {
                        Ok(n) if n <= 7 => bits |= n,
                        _ => bad(&mut r, p, s, "profile"),
                    },
                }
            }
        }
        if bits != 0 {
            r.profiles = Profiles(bits);
        }
    }
    if let Some((v, s)) = one("Protocol") {
        r.protocol = Item::new(parse_protocol(&v), s);
    }
    let items = |key: &str| (f.get)(key).unwrap_or_default();
    let port_key = if one("LocalPort").is_some() {
        "LocalPort"
    } else {
        "Port"
    };
    r.local_ports = items(port_key)
        .iter()
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(parse_port(v), *s))
        .collect();
    r.remote_ports = items("RemotePort")
        .iter()
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(parse_port(v), *s))
        .collect();
    r.icmp = items("IcmpType")
        .iter()
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(parse_icmp(v), *s))
        .collect();
    r.local_addrs = items("LocalAddress")
        .iter()
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(parse_addr(v), *s))
        .collect();
    r.remote_addrs = items("RemoteAddress")
        .iter()
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(parse_addr(v), *s))
        .collect();
    r.program = one("Program")
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(v, s));
    r.service = one("Service")
        .filter(|(v, _)| !truncated(v))
        .map(|(v, s)| Item::new(v, s));
    r.package = one("Package")
        .or_else(|| one("PackageFamilyName"))
        .filter(|(v, _)| {
            !v.is_empty() && !v.eq_ignore_ascii_case("any") && !v.eq_ignore_ascii_case("*")
        })
        .map(|(v, s)| Item::new(v, s));
    if let Some((v, _)) = one("EdgeTraversalPolicy") {
        r.notes.push(format!("EdgeTraversalPolicy: {v}"));
    }
    if r.name.is_empty() {
        r.name = "(unnamed rule)".into();
    }
    r
}

/// Parse a JSON export (see [`sniff_json`]).
pub fn parse_json(json: &Json<'_>) -> (Vec<WinRule>, Vec<ParseIssue>) {
    let objs: Vec<&Json<'_>> = match &json.kind {
        Kind::Array(a) => a.iter().collect(),
        Kind::Object(_) => vec![json],
        _ => Vec::new(),
    };
    let mut rules = Vec::new();
    let mut issues = Vec::new();
    for o in objs {
        if o.members().is_none() {
            issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: o.span,
                message: format!("a rule must be an object, not {}", o.type_name()),
                label: "not a rule object".into(),
                help: None,
            });
            continue;
        }
        let f = Fields {
            get: Box::new(move |k: &str| {
                prop(o, k).map(|v| {
                    list_of(v)
                        .into_iter()
                        .map(|(t, s)| (t.into_owned(), s))
                        .collect()
                })
            }),
        };
        rules.push(rule_from(&f, o.span, &mut issues));
    }
    (rules, issues)
}

// ---------------------------------------------------------------------------------------------
// CSV

const CSV_COLUMNS: &[&str] = &[
    "direction",
    "action",
    "enabled",
    "protocol",
    "localport",
    "port",
    "remoteport",
    "remoteaddress",
    "localaddress",
    "profile",
    "program",
    "service",
];

/// The header line (after an optional `#TYPE` line) and its offset.
fn header(text: &str) -> Option<(&str, usize)> {
    let mut off = 0;
    for l in text.split_inclusive('\n') {
        let t = l.trim_end_matches(['\r', '\n']);
        if t.trim().is_empty() || t.starts_with("#TYPE") {
            off += l.len();
            continue;
        }
        return Some((t, off));
    }
    None
}

fn delimiter(h: &str) -> u8 {
    if h.matches(';').count() > h.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn columns(h: &str) -> Vec<String> {
    h.split(delimiter(h) as char)
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect()
}

/// An `Export-Csv` of firewall rules: a header with `Name` or `DisplayName` and at least two rule
/// columns (Direction, Action, Protocol, LocalPort/Port, RemoteAddress, ...).
pub fn sniff_csv(text: &str) -> bool {
    let Some((h, _)) = header(text) else {
        return false;
    };
    let cols = columns(h);
    let named = cols.iter().any(|c| c == "name" || c == "displayname");
    let n = cols
        .iter()
        .filter(|c| CSV_COLUMNS.contains(&c.as_str()))
        .count();
    named && n >= 2
}

/// Parse a CSV export (see [`sniff_csv`]).
pub fn parse_csv(text: &str) -> (Vec<WinRule>, Vec<ParseIssue>) {
    let mut rules = Vec::new();
    let mut issues = Vec::new();
    let Some((h, base)) = header(text) else {
        return (rules, issues);
    };
    let body = text.get(base..).unwrap_or("");
    let cols = columns(h);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter(h))
        .flexible(true)
        .has_headers(true)
        .from_reader(body.as_bytes());
    let mut rows: Vec<(usize, csv::StringRecord)> = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let at = r.position().map(|p| p.byte() as usize).unwrap_or(0);
                rows.push((at, r));
            }
            Err(e) => {
                let at = e.position().map(|p| p.byte() as usize).unwrap_or(0);
                issues.push(ParseIssue {
                    kind: IssueKind::ParseError,
                    span: Span::new(base + at, (base + at + 1).min(text.len())),
                    message: format!("this CSV row cannot be read: {e}"),
                    label: "bad CSV row".into(),
                    help: None,
                });
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
    }
    for (i, (at, rec)) in rows.iter().enumerate() {
        let end = rows.get(i + 1).map(|(n, _)| *n).unwrap_or(body.len());
        let row = body
            .get(*at..end)
            .unwrap_or("")
            .trim_end_matches(['\r', '\n']);
        let span = Span::new(base + at, base + at + row.len());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field_span = |v: &str| -> Span {
            match row.find(v).filter(|_| !v.is_empty()) {
                Some(p) => Span::new(span.start + p, span.start + p + v.len()),
                None => span,
            }
        };
        let get = |k: &str| -> Option<Vec<(String, Span)>> {
            let idx = cols.iter().position(|c| c.eq_ignore_ascii_case(k))?;
            let v = rec.get(idx)?.trim();
            if v.is_empty() {
                return None;
            }
            let whole = matches!(
                k.to_ascii_lowercase().as_str(),
                "name"
                    | "displayname"
                    | "displaygroup"
                    | "group"
                    | "program"
                    | "service"
                    | "description"
                    | "package"
            );
            if whole || k.eq_ignore_ascii_case("profile") {
                return Some(vec![(v.to_string(), field_span(v))]);
            }
            Some(
                v.split([',', ';', ' '])
                    .filter(|p| !p.is_empty())
                    .map(|p| (p.to_string(), field_span(p)))
                    .collect(),
            )
        };
        let f = Fields { get: Box::new(get) };
        rules.push(rule_from(&f, span, &mut issues));
    }
    (rules, issues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::encoding;
    use crate::formats::json::spans as json_spans;
    use crate::formats::source::SourceText;
    use crate::formats::windows::tests::inbound;
    use crate::formats::windows::{self, AddrSpec, IcmpSpec, PortSpec, Protocol};
    use crate::formats::Resolver;
    use crate::model::{Hook, Verdict};

    const ZVM_JSON: &[u8] = include_bytes!("../../../fixtures/windows/zvm-rules.ps.json");
    const CSV: &str =
        include_str!("../../../fixtures/windows/corpus/ad-firewall-inbound-builtin-rules.csv");

    #[test]
    fn json_with_numbers() {
        let d = encoding::decode(ZVM_JSON);
        let json = json_spans::parse(&d.text);
        let Ok(json) = json else {
            panic!("fixture is not JSON");
        };
        assert!(sniff_json(&json));
        let (rules, issues) = parse_json(&json);
        assert!(issues.is_empty(), "{issues:?}");
        let expected = d.text.matches("\"DisplayName\"").count();
        assert_eq!(rules.len(), expected);
        let dns = rules
            .iter()
            .find(|r| r.id.as_deref() == Some("CoreNet-DNS-Out-UDP"));
        assert!(dns.is_some_and(
            |r| r.direction == Direction::Out && r.protocol.value == Protocol::Number(17)
        ));
        let ping = rules
            .iter()
            .find(|r| r.id.as_deref() == Some("FPS-ICMP4-ERQ-In"));
        assert!(ping.is_some_and(|r| !r.enabled && r.icmp[0].value == IcmpSpec::TypeCode(8, None)));
        let winrm = rules
            .iter()
            .find(|r| r.id.as_deref() == Some("WINRM-HTTP-In-TCP"));
        assert!(winrm.is_some_and(|r| r.profiles == Profiles(3)));
        let z = rules
            .iter()
            .find(|r| r.name == "Zerto Virtual Manager (TCP-In)");
        assert!(z
            .is_some_and(|r| r.local_ports.len() == 5
                && r.local_ports[0].value == PortSpec::Range(4005, 4009)));
        // lowered: the block on 9081 wins, with the block rule's object as provenance
        let src = SourceText::new("zvm.json", d.text.clone());
        let parsed = windows::parse_json(&src, &json, &Resolver::default());
        let rs = &parsed.rulesets[0];
        let Some(p) = rs.pipeline(Hook::Input) else {
            panic!("no inbound pipeline");
        };
        let out = rs.evaluate(p, &inbound("10.1.2.3", 9081));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].verdict, Verdict::Deny);
        let prov = rs.provenance(out[0].deciders[0]);
        assert!(prov.is_some_and(|p| d.text[p.span.start..p.span.end].contains("Block Zerto 9081")));
    }

    #[test]
    fn json_with_names_and_a_single_object() {
        let t = r#"{"Name":"{X}","DisplayName":"Zerto","Enabled":"True","Direction":"Outbound","Action":"Block","Profile":"Domain, Public","Protocol":"6","LocalPort":"Any","RemotePort":["9669","4005-4009"],"RemoteAddress":["LocalSubnet","10.0.0.0/255.0.0.0"],"Program":"Any","Service":"Any","Package":""}"#;
        let Ok(json) = json_spans::parse(t) else {
            panic!("not JSON");
        };
        assert!(sniff_json(&json));
        let (rules, issues) = parse_json(&json);
        assert!(issues.is_empty());
        let r = &rules[0];
        assert_eq!(
            (r.direction, r.action, r.enabled),
            (Direction::Out, WinAction::Block, true)
        );
        assert_eq!(r.profiles, Profiles(5));
        assert_eq!(r.remote_ports[1].value, PortSpec::Range(4005, 4009));
        assert_eq!(
            &t[r.remote_ports[1].span.start..r.remote_ports[1].span.end],
            "\"4005-4009\""
        );
        assert_eq!(
            r.remote_addrs[0].value,
            AddrSpec::Keyword("LocalSubnet".into())
        );
        assert!(r.package.is_none());
        // Azure CLI rule objects are not taken for PowerShell ones
        let az = r#"[{"name":"r","direction":"Inbound","access":"Allow","protocol":"Tcp","destinationPortRange":"22"}]"#;
        assert!(json_spans::parse(az).is_ok_and(|j| !sniff_json(&j)));
        // a depth-truncated export is an error at the value
        let tr = r#"[{"DisplayName":"x","Direction":1,"Action":2,"Enabled":1,"LocalPort":"MSFT_NetFirewallPortFilter (InstanceID = \"x\")"}]"#;
        let Ok(json) = json_spans::parse(tr) else {
            panic!("not JSON");
        };
        let (rules, issues) = parse_json(&json);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, IssueKind::ParseError);
        assert!(!rules[0].undecidable.is_empty());
        // bad enum numbers
        let b = r#"{"DisplayName":"x","Direction":3,"Action":2,"Enabled":7}"#;
        let Ok(json) = json_spans::parse(b) else {
            panic!("not JSON");
        };
        assert_eq!(parse_json(&json).1.len(), 2);
    }

    #[test]
    fn corpus_csv() {
        assert!(sniff_csv(CSV));
        assert_eq!(
            windows::sniff_text(CSV),
            Some(windows::WinFormat::PowerShellCsv)
        );
        let (rules, issues) = parse_csv(CSV);
        assert!(issues.is_empty(), "{issues:?}");
        // one rule per data line (no field in this file spans lines)
        let expected = CSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        assert_eq!(rules.len(), expected);
        let r = &rules[0];
        assert_eq!(r.protocol.value, Protocol::Number(17));
        assert_eq!(r.local_ports[0].value, PortSpec::Range(123, 123));
        assert_eq!(r.remote_addrs[0].value, AddrSpec::Keyword("Client".into()));
        assert_eq!(
            &CSV[r.span.start..r.span.end],
            CSV.lines().nth(1).unwrap_or("")
        );
        let frag = rules
            .iter()
            .find(|r| r.name.contains("Fragmentation Needed"));
        assert!(frag.is_some_and(|r| r.icmp[0].value == IcmpSpec::TypeCode(3, Some(4))));
        // lowered: role labels are unresolved keywords, one issue each, no parse error
        let src = SourceText::new("ad.csv", CSV);
        let parsed = windows::parse_text(&src, &Resolver::default());
        assert!(parsed
            .issues
            .iter()
            .all(|i| i.kind == IssueKind::Undecidable));
        let addr_issues = parsed
            .issues
            .iter()
            .filter(|i| i.message.contains("address keyword"))
            .count();
        assert_eq!(addr_issues, 3); // Client, Management, DC
    }

    #[test]
    fn csv_semicolons_type_line_and_lost_arrays() {
        let t = "#TYPE System.Management.Automation.PSCustomObject\r\n\"DisplayName\";\"Direction\";\"Action\";\"LocalPort\"\r\n\"Zerto\";\"Inbound\";\"Allow\";\"9669\"\r\n\"Many\";\"Inbound\";\"Allow\";\"System.Object[]\"\r\n";
        assert!(sniff_csv(t));
        let (rules, issues) = parse_csv(t);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].local_ports[0].value, PortSpec::Range(9669, 9669));
        assert_eq!(issues.len(), 1);
        assert_eq!(
            &t[issues[0].span.start..issues[0].span.end],
            "System.Object[]"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_csv(&format!("Name,Direction,Action,LocalPort\n{s}"));
            let _ = sniff_csv(&s);
            if let Ok(j) = json_spans::parse(&s) {
                let _ = parse_json(&j);
            }
            let j = format!("{{\"DisplayName\":\"x\",\"Direction\":1,\"LocalPort\":{s}}}");
            if let Ok(j) = json_spans::parse(&j) {
                let _ = parse_json(&j);
            }
        }
    }
}
