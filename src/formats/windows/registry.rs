//! Registry firewall-rule strings (`v2.30|Action=Allow|Active=TRUE|Dir=In|...|`, grammar in
//! `grammars/wfw-rule-string.ebnf`), wherever they are found:
//! - `reg export` / regedit files (`Windows Registry Editor Version 5.00`, UTF-16LE):
//!   `"RuleId"="v2.30|...|"` with `\"` and `\\` escaped, under a `[...\FirewallRules]` key, and
//!   the profile keys `[...\DomainProfile]`, `StandardProfile` (= Private), `PublicProfile`
//!   (GPO: `PrivateProfile`) with `"EnableFirewall"=dword:...`, `DefaultInboundAction`,
//!   `DefaultOutboundAction`;
//! - raw lines: a bare `v2.30|...|` per line, or `"RuleId"=v2.30|...|` (unquoted data, as in
//!   dumps of `.wfw` files and in our own rendering of hives);
//! - `.wfw` files (`netsh advfirewall export`), binary registry hives read with our own
//!   reader ([`super::regf`]) and rendered to the raw-line text by [`render_hive`].
//!
//! `Action=ByPass` is an authenticated bypass and `Security=`, `Security2_9=`, `Security2=` the
//! rule's IPsec requirement ([MS-GPFAS] 2.2.2.6, 2.2.2.19).
//!
//! Fields may repeat (each repetition adds to a list) and an absent field means any. Unknown
//! fields are kept as notes and reported (undecidable: they may restrict the rule); connection
//! security rules (`ConSecRules`) and other keys are skipped.

use std::collections::BTreeSet;

use super::regf::{Hive, ValueData};
use super::{
    parse_addr, parse_icmp, parse_port, parse_protocol, parse_security, Direction, Item,
    ProfileSettings, Profiles, Security, WinAction, WinRule,
};
use crate::formats::source::BinaryValue;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::{Span, Verdict};

/// Does the text start like a regedit / `reg export` file?
pub fn sniff_reg(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    (first == "Windows Registry Editor Version 5.00" || first == "REGEDIT4")
        && (text.contains("|Action=")
            || text.contains("FirewallPolicy")
            || text.contains("WindowsFirewall"))
}

/// Is the first meaningful line (skipping blanks, `;`/`#` comments and `[key]` lines) a rule
/// string, bare or as `"RuleId"=...`?
pub fn sniff_lines(text: &str) -> bool {
    for l in text.lines().take(50) {
        let l = l.trim();
        if l.is_empty() || l.starts_with(';') || l.starts_with('#') || l.starts_with('[') {
            continue;
        }
        let data = if l.starts_with('"') {
            match split_value_line(l) {
                Some((_, v)) => v.trim_start_matches('"'),
                None => return false,
            }
        } else {
            l
        };
        return is_rule_string(data);
    }
    false
}

/// `v` DIGITS `.` DIGITS `|`
fn is_rule_string(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('v') else {
        return false;
    };
    let Some((ver, _)) = rest.split_once('|') else {
        return false;
    };
    version_ok(ver)
}

fn version_ok(ver: &str) -> bool {
    match ver.split_once('.') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// `"name"=rest`: the quoted name (escapes kept) and the rest after `=`.
fn split_value_line(l: &str) -> Option<(&str, &str)> {
    let b = l.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b.get(i) {
            Some(b'\\') => i += 2,
            Some(b'"') => {
                let name = l.get(1..i)?;
                let rest = l.get(i + 1..)?.strip_prefix('=')?;
                return Some((name, rest));
            }
            _ => i += 1,
        }
    }
    None
}

/// Undo `.reg` string escapes (`\\`, `\"`), with the offset in the original of each output byte
/// (and one past the end).
fn unescape(s: &str, base: usize) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let (at, ch) = if c == '\\' {
            match it.peek() {
                Some(&(j, n)) if n == '\\' || n == '"' => {
                    it.next();
                    (j, n)
                }
                _ => (i, c),
            }
        } else {
            (i, c)
        };
        for _ in 0..ch.len_utf8() {
            map.push(base + at);
        }
        out.push(ch);
    }
    map.push(base + s.len());
    (out, map)
}

struct Ctx {
    issues: Vec<ParseIssue>,
    unknown_reported: BTreeSet<String>,
}

impl Ctx {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.into(),
            help: None,
        });
    }
}

/// Maps offsets in the (unescaped) rule string to the decoded file text.
enum Map<'a> {
    Shift(usize),
    Table(&'a [usize]),
}

impl Map<'_> {
    fn at(&self, i: usize) -> usize {
        match self {
            Map::Shift(b) => b + i,
            Map::Table(t) => t.get(i).or_else(|| t.last()).copied().unwrap_or_default(),
        }
    }
    fn span(&self, a: usize, b: usize) -> Span {
        Span::new(self.at(a), self.at(b))
    }
}

/// Parse a registry text: a `.reg` export, raw rule-string lines, or a hive rendering.
pub fn parse_text(text: &str) -> (Vec<WinRule>, ProfileSettings, Vec<ParseIssue>) {
    let mut rules = Vec::new();
    let mut profiles = ProfileSettings::default();
    let mut cx = Ctx {
        issues: Vec::new(),
        unknown_reported: BTreeSet::new(),
    };
    let reg = sniff_reg(text);
    // None before the first key: raw lines, every rule string is taken
    let mut section: Option<String> = None;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start().len();
        let l = line.trim();
        let lstart = start + lead;
        let lspan = Span::new(lstart, lstart + l.len());
        if l.is_empty()
            || l.starts_with(';')
            || l.starts_with('#')
            || l == "Windows Registry Editor Version 5.00"
            || l == "REGEDIT4"
        {
            continue;
        }
        if l.starts_with('[') {
            let key = l.trim_start_matches('[').trim_end_matches(']');
            let last = key.rsplit('\\').next().unwrap_or(key);
            section = Some(last.to_string());
            continue;
        }
        let in_rules = section
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("FirewallRules"));
        let profile = section
            .as_deref()
            .and_then(|s| match s.to_ascii_lowercase().as_str() {
                "domainprofile" => Some(Profiles::DOMAIN),
                "standardprofile" | "privateprofile" => Some(Profiles::PRIVATE),
                "publicprofile" => Some(Profiles::PUBLIC),
                _ => None,
            });
        if is_rule_string(l) {
            if in_rules {
                rules.push(parse_rule_string(
                    l,
                    None,
                    &Map::Shift(lstart),
                    lspan,
                    &mut cx,
                ));
            }
            continue;
        }
        if l.starts_with('"') {
            let Some((name, rest)) = split_value_line(l) else {
                cx.error(
                    lspan,
                    "a registry value line with no closing quote or `=`".into(),
                    "not `\"name\"=value`",
                );
                continue;
            };
            let (name, _) = unescape(name, 0);
            let rest_start = lstart + l.len() - rest.len();
            if let Some(q) = rest.strip_prefix('"') {
                // a quoted REG_SZ: unescape with an offset map
                let body = q.strip_suffix('"').unwrap_or(q);
                let (data, map) = unescape(body, rest_start + 1);
                if in_rules && is_rule_string(&data) {
                    rules.push(parse_rule_string(
                        &data,
                        Some(name),
                        &Map::Table(&map),
                        lspan,
                        &mut cx,
                    ));
                }
            } else if is_rule_string(rest) {
                if in_rules {
                    rules.push(parse_rule_string(
                        rest,
                        Some(name),
                        &Map::Shift(rest_start),
                        lspan,
                        &mut cx,
                    ));
                }
            } else if let (Some(bit), Some(hex)) = (profile, rest.strip_prefix("dword:")) {
                let Ok(v) = u32::from_str_radix(hex.trim(), 16) else {
                    cx.error(lspan, format!("`{rest}` is not a dword value"), "bad dword");
                    continue;
                };
                let p = profiles.get_mut(bit);
                match name.to_ascii_lowercase().as_str() {
                    "enablefirewall" => {
                        p.enabled = Item::new(v != 0, lspan);
                        p.stated[0] = true;
                    }
                    "defaultinboundaction" => {
                        p.default_inbound = Item::new(
                            if v == 0 {
                                Verdict::Allow
                            } else {
                                Verdict::Deny
                            },
                            lspan,
                        );
                        p.stated[1] = true;
                    }
                    "defaultoutboundaction" => {
                        p.default_outbound = Item::new(
                            if v == 0 {
                                Verdict::Allow
                            } else {
                                Verdict::Deny
                            },
                            lspan,
                        );
                        p.stated[2] = true;
                    }
                    _ => {}
                }
            }
            continue;
        }
        if !reg && section.is_none() {
            cx.error(
                lspan,
                "not a registry firewall-rule string (`v2.xx|Field=value|...`)".into(),
                "not a rule string",
            );
        }
        // in a .reg file: continuation lines of hex values and the like
    }
    (rules, profiles, cx.issues)
}

/// Parse one rule string. `map` turns offsets in `s` into offsets in the file; `line` is the
/// span of the whole line (the rule's provenance).
fn parse_rule_string(
    s: &str,
    id: Option<String>,
    map: &Map<'_>,
    line: Span,
    cx: &mut Ctx,
) -> WinRule {
    let mut r = WinRule::new(String::new(), line);
    r.id = id;
    let mut profiles: Option<u8> = None;
    let mut pos = 0;
    for (n, field) in s.split('|').enumerate() {
        let fstart = pos;
        pos += field.len() + 1;
        if n == 0 {
            // the version; checked by is_rule_string
            continue;
        }
        if field.is_empty() {
            continue;
        }
        let fspan = map.span(fstart, fstart + field.len());
        let Some((key, value)) = field.split_once('=') else {
            cx.error(
                fspan,
                format!("field `{field}` has no `=`"),
                "not `Field=value`",
            );
            r.undecidable
                .push(format!("field `{field}` cannot be read"));
            continue;
        };
        let vstart = fstart + key.len() + 1;
        let vspan = map.span(vstart, vstart + value.len());
        let k = key.to_ascii_lowercase();
        let bad = |cx: &mut Ctx, r: &mut WinRule, what: &str| {
            cx.error(
                vspan,
                format!("`{value}` is not a valid {what} (`{key}=`)"),
                &format!("bad {what}"),
            );
            r.undecidable
                .push(format!("{key}=`{value}` cannot be read"));
        };
        match k.as_str() {
            "action" => match value.to_ascii_lowercase().as_str() {
                "allow" => r.action = WinAction::Allow,
                "block" => r.action = WinAction::Block,
                "bypass" => r.action = WinAction::Bypass,
                _ => {
                    // unknown action: kept as an undecidable block
                    r.action = WinAction::Block;
                    bad(cx, &mut r, "action");
                }
            },
            "active" => match value.to_ascii_uppercase().as_str() {
                "TRUE" => r.enabled = true,
                "FALSE" => r.enabled = false,
                _ => bad(cx, &mut r, "Active value (TRUE or FALSE)"),
            },
            "dir" => match value.to_ascii_lowercase().as_str() {
                "in" => r.direction = Direction::In,
                "out" => r.direction = Direction::Out,
                _ => bad(cx, &mut r, "direction"),
            },
            "protocol" => r.protocol = Item::new(parse_protocol(value), vspan),
            "profile" => {
                let bit = match value.to_ascii_lowercase().as_str() {
                    "domain" => Profiles::DOMAIN,
                    "private" => Profiles::PRIVATE,
                    "public" => Profiles::PUBLIC,
                    _ => {
                        bad(cx, &mut r, "profile");
                        Profiles::ALL.0
                    }
                };
                profiles = Some(profiles.unwrap_or(0) | bit);
            }
            "lport" | "lport2_10" | "lport2_20" | "lport2_24" | "lport2_29" => {
                r.local_ports.push(Item::new(parse_port(value), vspan))
            }
            "rport" | "rport2_10" | "rport2_20" | "rport2_24" => {
                r.remote_ports.push(Item::new(parse_port(value), vspan))
            }
            "icmp4" | "icmp6" => r.icmp.push(Item::new(parse_icmp(value), vspan)),
            "la4" | "la6" => r.local_addrs.push(Item::new(parse_addr(value), vspan)),
            "ra4" | "ra6" | "ra42" | "ra62" => {
                r.remote_addrs.push(Item::new(parse_addr(value), vspan))
            }
            "app" => r.program = Some(Item::new(value.to_string(), vspan)),
            "svc" => r.service = Some(Item::new(value.to_string(), vspan)),
            "apppkgid" => {
                if r.package.is_none() {
                    r.package = Some(Item::new(value.to_string(), vspan));
                }
            }
            "luown" => {
                if r.owner.is_none() {
                    r.owner = Some(Item::new(value.to_string(), vspan));
                }
            }
            "name" => r.name = value.to_string(),
            "embedctxt" => r.group = Some(value.to_string()),
            "desc" => {}
            "ttk" | "ttk2_22" | "ttk2_27" | "ttk2_28" => r.trust_tuple.push(value.to_string()),
            "security" | "security2" | "security2_9" => {
                let sec = parse_security(value);
                if let Security::Bad(_) = sec {
                    bad(cx, &mut r, "security requirement (Authenticate, AuthenticateEncrypt, An-NoEncap, AnE-Nego)");
                } else if !matches!(&r.security, Some(s) if s.value.requires_ipsec()) {
                    r.security = Some(Item::new(sec, vspan));
                }
            }
            "edge" | "defer" | "if" | "iftype" | "luauth" | "luauth2_24" | "ruauth" | "rmauth"
            | "platform" | "platform2" | "lsm" | "lom" | "skipver" | "pcross" | "authbypassout"
            | "nnm" | "securityrealmid" | "hash" => r.notes.push(format!("{key}={value}")),
            _ => {
                r.notes.push(format!("{key}={value}"));
                r.undecidable
                    .push(format!("unknown field `{key}` may restrict the rule"));
                if cx.unknown_reported.insert(k.clone()) {
                    cx.issues.push(ParseIssue {
                        kind: IssueKind::Undecidable,
                        span: fspan,
                        message: format!(
                            "unknown rule-string field `{key}`: rules using it are undecidable"
                        ),
                        label: "unknown field".into(),
                        help: Some(
                            "a newer Windows release may have added it; please report it".into(),
                        ),
                    });
                }
            }
        }
    }
    if let Some(p) = profiles {
        r.profiles = Profiles(p);
    }
    if r.name.is_empty() {
        r.name = r.id.clone().unwrap_or_else(|| "(unnamed rule)".into());
    }
    r
}

/// Render a `.wfw` hive as text: `[path]` lines for the keys `FirewallRules` and the profile
/// keys, `"<value name>"=<rule string>` per rule, `"<name>"=dword:XXXXXXXX` per profile DWORD.
pub fn render_hive(bytes: &[u8]) -> Result<String, String> {
    render_hive_mapped(bytes).map(|(text, _)| text)
}

/// [`render_hive`], with where each value line comes from in the file.
pub fn render_hive_mapped(bytes: &[u8]) -> Result<(String, Vec<BinaryValue>), String> {
    let hive = Hive::parse(bytes).map_err(|e| format!("not a readable registry hive: {e}"))?;
    let mut out = String::new();
    let mut map = Vec::new();
    let mut value_line = |out: &mut String, key: &str, v: &super::regf::Value<'_>, data: &str| {
        let line = out.len();
        out.push_str(&format!(
            "\"{}\"=",
            v.name().replace('\\', "\\\\").replace('"', "\\\"")
        ));
        map.push(BinaryValue {
            line,
            data: out.len(),
            key: key.to_string(),
            name: v.name().to_string(),
            file_offset: v.data_file_offset(),
        });
        out.push_str(data);
        out.push('\n');
    };
    let mut found = false;
    // a key node seen twice means a cycle in a damaged hive: walk each once
    let mut seen = BTreeSet::new();
    // the policy key is the root (a `.wfw`) or one or two levels below it
    let mut todo = vec![(hive.root(), String::new(), 0usize)];
    while let Some((key, path, depth)) = todo.pop() {
        if !seen.insert(key.offset()) {
            continue;
        }
        let name = key.name().to_string();
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}\\{name}")
        };
        let lname = name.to_ascii_lowercase();
        if lname == "firewallrules" {
            found = true;
            out.push_str(&format!("[{here}]\n"));
            for v in key.values().unwrap_or_default() {
                if let Ok(ValueData::String(data)) = v.data() {
                    value_line(&mut out, &name, &v, &data.replace(['\r', '\n'], " "));
                }
            }
        } else if matches!(
            lname.as_str(),
            "domainprofile" | "standardprofile" | "privateprofile" | "publicprofile"
        ) {
            // profile settings alone are a policy too (every flow decided by the defaults)
            found = true;
            out.push_str(&format!("[{here}]\n"));
            for v in key.values().unwrap_or_default() {
                if let Ok(ValueData::Dword(d)) = v.data() {
                    value_line(&mut out, &name, &v, &format!("dword:{d:08x}"));
                }
            }
        }
        if depth < 3 && lname != "firewallrules" {
            let mut kids = key.subkeys().unwrap_or_default();
            kids.reverse();
            for k in kids {
                todo.push((k, here.clone(), depth + 1));
            }
        }
    }
    if !found {
        return Err(
            "the hive holds no firewall policy: no FirewallRules key and no profile key".into(),
        );
    }
    Ok((out, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::windows::{AddrSpec, PortSpec, Protocol};

    #[test]
    fn sniffing() {
        assert!(sniff_lines("v2.26|Action=Allow|Dir=In|\n"));
        assert!(sniff_lines(
            "[x\\FirewallRules]\n\"id\"=v2.0|Action=Block|\n"
        ));
        assert!(!sniff_lines("Rule Name: x\n"));
        assert!(!sniff_lines("v2|Action=Allow|"));
        assert!(sniff_reg("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules]\r\n"));
        assert!(!sniff_reg(
            "Windows Registry Editor Version 5.00\r\n[HKEY_CURRENT_USER\\Software\\X]\r\n"
        ));
    }

    #[test]
    fn repeated_keys_are_lists_and_absent_is_any() {
        let t = "v2.26|Action=Allow|Active=FALSE|Dir=In|Protocol=17|LPort=7777|LPort=7778|LPort2_10=5000-5020|RA4=LocalSubnet|RA6=LocalSubnet|Profile=Domain|Profile=Public|Name=MCX|\n";
        let (rules, _, issues) = parse_text(t);
        assert!(issues.is_empty(), "{issues:?}");
        let r = &rules[0];
        assert!(!r.enabled);
        assert_eq!(r.protocol.value, Protocol::Number(17));
        assert_eq!(r.profiles, Profiles(Profiles::DOMAIN | Profiles::PUBLIC));
        let ports: Vec<_> = r.local_ports.iter().map(|p| p.value.clone()).collect();
        assert_eq!(
            ports,
            [
                PortSpec::Range(7777, 7777),
                PortSpec::Range(7778, 7778),
                PortSpec::Range(5000, 5020)
            ]
        );
        assert_eq!(r.remote_addrs.len(), 2);
        assert!(r.remote_ports.is_empty() && r.local_addrs.is_empty());
        // spans point at the values
        assert_eq!(
            &t[r.local_ports[1].span.start..r.local_ports[1].span.end],
            "7778"
        );
        assert_eq!(r.span, Span::new(0, t.len() - 1));
    }

    #[test]
    fn version_2_0_and_keywords() {
        let t = "\"CoreNet-DNS\"=v2.0|Action=Allow|Active=TRUE|Dir=Out|Protocol=17|RPort=53|RA42=IntErnet|Svc=dnscache|Name=Core Networking - DNS (UDP-Out)|\n";
        let (rules, _, issues) = parse_text(t);
        assert!(issues.is_empty());
        let r = &rules[0];
        assert_eq!(r.id.as_deref(), Some("CoreNet-DNS"));
        assert_eq!(r.direction, Direction::Out);
        assert_eq!(
            r.remote_addrs[0].value,
            AddrSpec::Keyword("Internet".into())
        );
        assert_eq!(
            r.service.as_ref().map(|s| s.value.as_str()),
            Some("dnscache")
        );
    }

    #[test]
    fn escaped_reg_values_and_profile_keys() {
        let t = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\DomainProfile]\r\n\"EnableFirewall\"=dword:00000001\r\n\"DefaultInboundAction\"=dword:00000000\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\FirewallRules]\r\n\"ZVM-In\"=\"v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=9669|App=C:\\\\Program Files\\\\Zerto\\\\zvm.exe|Name=Say \\\"hi\\\"|LPort=99999|\"\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SharedAccess\\Parameters\\FirewallPolicy\\ConSecRules]\r\n\"x\"=\"v2.30|Action=SecureServer|\"\r\n";
        let (rules, prof, issues) = parse_text(t);
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!(r.name, "Say \"hi\"");
        assert_eq!(
            r.program.as_ref().map(|p| p.value.as_str()),
            Some("C:\\Program Files\\Zerto\\zvm.exe")
        );
        // the bad port's span points at the original text, past the escapes
        let bad = &r.local_ports[1];
        assert!(matches!(bad.value, PortSpec::Bad(_)));
        assert_eq!(&t[bad.span.start..bad.span.end], "99999");
        // lowering reports it; parsing keeps it
        assert!(issues.is_empty());
        assert!(prof.domain.enabled.value && prof.domain.stated[0]);
        assert_eq!(prof.domain.default_inbound.value, Verdict::Allow);
        assert!(!prof.public.stated[0]);
    }

    #[test]
    fn bad_fields_are_reported_and_the_rule_kept() {
        let (rules, _, issues) = parse_text(
            "v2.30|Action=Maybe|Active=TRUE|Dir=Sideways|Frob=1|Frob=2|junk|\nnot a rule\n",
        );
        assert_eq!(rules.len(), 1);
        let kinds: Vec<_> = issues.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                IssueKind::ParseError,
                IssueKind::ParseError,
                IssueKind::Undecidable,
                IssueKind::ParseError,
                IssueKind::ParseError
            ]
        );
        assert!(rules[0].undecidable.len() >= 4);
    }

    #[test]
    fn corpus_hive() {
        let bytes = include_bytes!("../../../fixtures/windows/corpus/Win10Firewall.wfw");
        let text = render_hive(bytes).unwrap_or_default();
        let (rules, prof, issues) = parse_text(&text);
        assert_eq!(rules.len(), 409);
        assert_eq!(rules.iter().filter(|r| r.id.is_some()).count(), 409);
        let errors: Vec<_> = issues
            .iter()
            .filter(|i| i.kind == IssueKind::ParseError)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        for p in [&prof.domain, &prof.private, &prof.public] {
            assert!(p.stated[0] && !p.enabled.value);
        }
        // the dump made independently agrees on one rule
        let rdp = rules
            .iter()
            .find(|r| r.id.as_deref() == Some("RemoteDesktop-UserMode-In-TCP"));
        assert!(rdp.is_some_and(
            |r| r.local_ports.first().map(|p| &p.value) == Some(&PortSpec::Range(3389, 3389))
        ));
        let values = include_str!("../../../fixtures/windows/corpus/Win10Firewall.wfw.values.txt");
        let (dump_rules, _, _) = parse_text(values);
        assert_eq!(dump_rules.len(), 409);
        let norm = |v: &[WinRule]| {
            let mut v: Vec<WinRule> = v.iter().map(strip_spans).collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v
        };
        assert_eq!(norm(&rules), norm(&dump_rules));
    }

    fn strip_spans(r: &WinRule) -> WinRule {
        let z = Span::default();
        let mut r = r.clone();
        r.span = z;
        r.protocol.span = z;
        for l in [&mut r.local_ports, &mut r.remote_ports] {
            l.iter_mut().for_each(|i| i.span = z);
        }
        for l in [&mut r.local_addrs, &mut r.remote_addrs] {
            l.iter_mut().for_each(|i| i.span = z);
        }
        r.icmp.iter_mut().for_each(|i| i.span = z);
        for i in [&mut r.program, &mut r.service, &mut r.package, &mut r.owner]
            .into_iter()
            .flatten()
        {
            i.span = z;
        }
        r
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_text(&s);
            let _ = sniff_lines(&s);
            let _ = parse_text(&format!("v2.30|{s}"));
            let _ = parse_text(&format!("Windows Registry Editor Version 5.00\n[a\\FirewallRules]\n\"x\"=\"v2.1|{s}"));
        }
        #[test]
        fn hive_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut v = b"regf".to_vec();
            v.extend(b);
            let _ = render_hive(&v);
        }
    }
}
