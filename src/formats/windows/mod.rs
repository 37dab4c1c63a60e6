//! Windows Defender Firewall: every export admins hand over, parsed into one small rule AST
//! ([`WinRule`]) and lowered into the common model by [`lower`].
//!
//! Formats (FORMATS.md §2): `netsh advfirewall firewall show rule name=all [verbose]` text
//! ([`netsh`]), `Get-NetFirewallRule` joined with its filters as JSON or CSV ([`powershell`]), the
//! registry rule strings `v2.xx|Action=...|` in `reg export` files, as raw lines, and inside
//! `.wfw` registry hives ([`registry`]).
//!
//! Semantics, per profile (Domain, Private, Public), one [`Ruleset`] each:
//! - enabled block rules win over allow rules: the `Inbound` / `Outbound` chains hold every enabled
//!   block rule first, then every enabled allow (and bypass) rule, and end in the profile's default
//!   action (inbound block, outbound allow unless the export says otherwise);
//! - a profile whose firewall is off lets everything through (no rules, policy allow);
//! - disabled rules are kept in two chains no pipeline enters, `Inbound (disabled)` and
//!   `Outbound (disabled)`, so the audit can say which disabled rule would admit a blocked flow;
//! - keywords (`LocalSubnet`, `DNS`, `Intranet`, ...) resolve through the [`Resolver`]; unresolved
//!   ones, port keywords (`RPC`, `IPHTTPS`, ...) and program-, service- or package-scoped rules make
//!   the rule undecidable, with the reason.

pub mod netsh;
pub mod powershell;
pub mod regf;
pub mod registry;

use std::collections::BTreeSet;

use crate::formats::json_spans::Json;
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Parsed, Resolver};
use crate::model::ports::{self, all_states, PortSet, ProtoSet};
use crate::model::{
    Action, AddrSet, Chain, Entry, Hook, IntervalSet, PacketBox, Policy, Provenance, Rule, Ruleset,
    Semantics, Span, Verdict,
};
use crate::model::{NativeRef, Platform};

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

/// A value with the span it was read from (in the decoded text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Item<T> {
    pub fn new(value: T, span: Span) -> Self {
        Item { value, span }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn name(&self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinAction {
    Allow,
    Block,
    /// Allow even when IPsec would block (authenticated bypass): an allow for our purposes.
    Bypass,
}

impl WinAction {
    pub fn name(&self) -> &'static str {
        match self {
            WinAction::Allow => "allow",
            WinAction::Block => "block",
            WinAction::Bypass => "bypass",
        }
    }
}

/// A set of profiles (bits as in FW_PROFILE_TYPE and the PowerShell enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profiles(pub u8);

impl Profiles {
    pub const DOMAIN: u8 = 1;
    pub const PRIVATE: u8 = 2;
    pub const PUBLIC: u8 = 4;
    pub const ALL: Profiles = Profiles(7);
    pub fn contains(&self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// The three profiles, with the names rulesets use.
pub const PROFILES: [(u8, &str); 3] = [
    (Profiles::DOMAIN, "Domain"),
    (Profiles::PRIVATE, "Private"),
    (Profiles::PUBLIC, "Public"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    Any,
    Number(u8),
    /// Not a protocol name or number (reported when lowering).
    Bad(String),
}

/// One element of a port list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    Any,
    Range(u16, u16),
    /// `RPC`, `RPC-EPMap`, `IPHTTPS`, `Teredo`, `Ply2Disc`, `mDNS`, ...: decided at run time.
    Keyword(String),
    Bad(String),
}

/// One element of an address list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    Any,
    /// An address, a CIDR or dotted-mask subnet, a range.
    Literal(AddrSet),
    /// `LocalSubnet`, `DNS`, `DHCP`, `WINS`, `DefaultGateway`, `Intranet`, `Internet`, ... or any
    /// other name (the CSV corpus uses role labels such as `Client`); resolved by the [`Resolver`].
    Keyword(String),
    Bad(String),
}

/// One ICMP type:code element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcmpSpec {
    Any,
    /// A type and a code (`None` = any code).
    TypeCode(u8, Option<u8>),
    Bad(String),
}

/// One firewall rule as any Windows export states it. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinRule {
    /// The rule ID (registry value name, PowerShell `Name`), when the export shows it.
    pub id: Option<String>,
    /// The display name (may be an indirect string such as `@FirewallAPI.dll,-28778`).
    pub name: String,
    pub group: Option<String>,
    pub enabled: bool,
    pub direction: Direction,
    pub action: WinAction,
    pub profiles: Profiles,
    pub protocol: Item<Protocol>,
    pub local_ports: Vec<Item<PortSpec>>,
    pub remote_ports: Vec<Item<PortSpec>>,
    pub icmp: Vec<Item<IcmpSpec>>,
    pub local_addrs: Vec<Item<AddrSpec>>,
    pub remote_addrs: Vec<Item<AddrSpec>>,
    /// Program path; `None`, `Any` mean any program.
    pub program: Option<Item<String>>,
    /// Service short name; `None`, `Any` mean any.
    pub service: Option<Item<String>>,
    /// App-container package or owning user (`AppPkgId`, `LUOwn`, `PackageFamilyName`).
    pub package: Option<Item<String>>,
    /// Edge traversal, interface types, IPsec requirements and other fields noted only.
    pub notes: Vec<String>,
    /// Reasons this rule cannot be evaluated exactly, found while parsing (a bad `Enabled` value,
    /// an unknown field); each was reported as an issue by the parser.
    pub undecidable: Vec<String>,
    /// The whole rule: netsh block, registry line, JSON object, CSV row.
    pub span: Span,
}

impl WinRule {
    /// A rule with every field at its default (enabled inbound allow, all profiles, any).
    pub fn new(name: impl Into<String>, span: Span) -> Self {
        WinRule {
            id: None,
            name: name.into(),
            group: None,
            enabled: true,
            direction: Direction::In,
            action: WinAction::Allow,
            profiles: Profiles::ALL,
            protocol: Item::new(Protocol::Any, span),
            local_ports: Vec::new(),
            remote_ports: Vec::new(),
            icmp: Vec::new(),
            local_addrs: Vec::new(),
            remote_addrs: Vec::new(),
            program: None,
            service: None,
            package: None,
            notes: Vec::new(),
            undecidable: Vec::new(),
            span,
        }
    }

    /// The label reports use: `Zerto 9081 in (block)`. An indirect display name
    /// (`@FirewallAPI.dll,-28778`) is replaced by the rule ID when there is one.
    pub fn label(&self) -> String {
        let name = match &self.id {
            Some(id) if self.name.starts_with('@') || self.name.is_empty() => id.as_str(),
            _ => self.name.as_str(),
        };
        format!("{name} {} ({})", self.direction.name(), self.action.name())
    }
}

/// One profile's settings, each with the span of the setting when the export states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSetting {
    pub enabled: Item<bool>,
    pub default_inbound: Item<Verdict>,
    pub default_outbound: Item<Verdict>,
    /// Which of the three the export stated (the others are Windows defaults).
    pub stated: [bool; 3],
}

impl Default for ProfileSetting {
    fn default() -> Self {
        ProfileSetting {
            enabled: Item::new(true, Span::default()),
            default_inbound: Item::new(Verdict::Deny, Span::default()),
            default_outbound: Item::new(Verdict::Allow, Span::default()),
            stated: [false; 3],
        }
    }
}

/// The three profiles' settings; the Windows defaults (firewall on, inbound block, outbound
/// allow) unless the export says otherwise (only registry exports and hives do).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileSettings {
    pub domain: ProfileSetting,
    pub private: ProfileSetting,
    pub public: ProfileSetting,
}

impl ProfileSettings {
    pub fn get(&self, bit: u8) -> &ProfileSetting {
        match bit {
            Profiles::DOMAIN => &self.domain,
            Profiles::PRIVATE => &self.private,
            _ => &self.public,
        }
    }
    pub fn get_mut(&mut self, bit: u8) -> &mut ProfileSetting {
        match bit {
            Profiles::DOMAIN => &mut self.domain,
            Profiles::PRIVATE => &mut self.private,
            _ => &mut self.public,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Value syntaxes shared by every format

/// A protocol as netsh, PowerShell and the registry write it: `TCP`, `UDP`, `ICMPv4`, `ICMPv6`,
/// `Any`, a number (256 = any in the COM API).
pub fn parse_protocol(t: &str) -> Protocol {
    let t = t.trim();
    match t.to_ascii_lowercase().as_str() {
        "" | "any" | "*" | "256" => Protocol::Any,
        "tcp" => Protocol::Number(ports::TCP),
        "udp" => Protocol::Number(ports::UDP),
        "icmpv4" | "icmp" => Protocol::Number(ports::ICMP),
        "icmpv6" => Protocol::Number(ports::ICMPV6),
        "igmp" => Protocol::Number(2),
        "gre" => Protocol::Number(47),
        "ipv6" => Protocol::Number(41),
        "esp" => Protocol::Number(50),
        "ah" => Protocol::Number(51),
        l => match l.parse::<u8>() {
            Ok(n) => Protocol::Number(n),
            Err(_) => Protocol::Bad(t.to_string()),
        },
    }
}

const PORT_KEYWORDS: &[&str] = &[
    "RPC",
    "RPC-EPMap",
    "RPCEPMap",
    "IPHTTPS",
    "IPHTTPSIn",
    "IPHTTPSOut",
    "IPTLSIn",
    "IPTLSOut",
    "Teredo",
    "Ply2Disc",
    "PlayToDiscovery",
    "mDNS",
    "DHCP",
    "CortanaOut",
    "ProximalTcpCdp",
    "Edge",
];

/// One port element: `Any`, `80`, `4005-4009`, or a keyword.
pub fn parse_port(t: &str) -> PortSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return PortSpec::Any;
    }
    if let Some(k) = PORT_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(t)) {
        return PortSpec::Keyword((*k).to_string());
    }
    match ports::parse_port_range(t, '-') {
        Ok(set) => match (set.min(), set.ranges().last()) {
            (Some(lo), Some(&(_, hi))) => PortSpec::Range(lo, hi),
            _ => PortSpec::Bad(t.to_string()),
        },
        Err(_) => PortSpec::Bad(t.to_string()),
    }
}

const ADDR_KEYWORDS: &[&str] = &[
    "LocalSubnet",
    "DNS",
    "DHCP",
    "WINS",
    "DefaultGateway",
    "Intranet",
    "Internet",
    "IntranetRemoteAccess",
    "RmtIntranet",
    "Ply2Renders",
    "PlayToDevice",
    "CaptivePortal",
];

/// One address element: `Any`, `10.1.2.3`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `a-b`,
/// `fe80::/64`, or a keyword (known ones get their canonical spelling; `LocalSubnet4` keeps its
/// suffix). Anything else that looks like a name (letters first, no dots or colons) is a keyword
/// the resolver may know; the rest is bad.
pub fn parse_addr(t: &str) -> AddrSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return AddrSpec::Any;
    }
    if let Some(k) = ADDR_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(t)) {
        return AddrSpec::Keyword((*k).to_string());
    }
    if let Ok(set) = AddrSet::parse(t) {
        return AddrSpec::Literal(set);
    }
    let namelike = t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ')
        && !t.contains(':')
        && !t.contains('.');
    if namelike {
        AddrSpec::Keyword(t.to_string())
    } else {
        AddrSpec::Bad(t.to_string())
    }
}

/// One ICMP element: `Any`, `8`, `8:*`, `3:4`, `3:04`, `8:Any`.
pub fn parse_icmp(t: &str) -> IcmpSpec {
    let t = t.trim();
    if t.eq_ignore_ascii_case("any") || t == "*" {
        return IcmpSpec::Any;
    }
    let (ty, code) = match t.split_once(':') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (t, None),
    };
    let Ok(ty) = ty.parse::<u8>() else {
        return IcmpSpec::Bad(t.to_string());
    };
    match code {
        None => IcmpSpec::TypeCode(ty, None),
        Some(c) if c == "*" || c.eq_ignore_ascii_case("any") => IcmpSpec::TypeCode(ty, None),
        Some(c) => match c.parse::<u8>() {
            Ok(c) => IcmpSpec::TypeCode(ty, Some(c)),
            Err(_) => IcmpSpec::Bad(t.to_string()),
        },
    }
}

/// Split a comma-separated list, giving each element's span (`base` is the offset of `t`).
pub fn split_list(t: &str, base: usize) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in t.split(',') {
        let lead = part.len() - part.trim_start().len();
        let trimmed = part.trim();
        if !trimmed.is_empty() {
            let s = base + start + lead;
            out.push((trimmed, Span::new(s, s + trimmed.len())));
        }
        start += part.len() + 1;
    }
    out
}

/// Is this program value "any program" (absent, `Any`, `*`) or the kernel (`System`), which
/// owns the traffic of kernel-mode services such as SMB and HTTP.sys?
fn program_unscoped(p: &str) -> bool {
    let p = p.trim();
    p.is_empty() || p.eq_ignore_ascii_case("any") || p == "*" || p.eq_ignore_ascii_case("system")
}

fn service_unscoped(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s.eq_ignore_ascii_case("any")
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

/// The text rendering of a `.wfw` hive that [`parse_hive`]'s spans point into.
pub fn hive_source(bytes: &[u8], name: &str) -> Result<SourceText, String> {
    registry::render_hive(bytes).map(|text| SourceText::new(name, text))
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

// ---------------------------------------------------------------------------------------------
// Lowering

/// A rule lowered once (the box does not depend on the profile).
struct Lowered {
    matches: PacketBox,
    undecidable: Vec<String>,
    action: Action,
    prov: Provenance,
}

/// Tracks which keywords were already reported in this file.
struct Ctx<'a> {
    names: &'a Resolver,
    issues: &'a mut Vec<ParseIssue>,
    reported: BTreeSet<String>,
}

impl Ctx<'_> {
    fn bad(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }
    fn once(&mut self, key: String, span: Span, message: String, label: &str, help: &str) {
        if self.reported.insert(key) {
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span,
                message,
                label: label.to_string(),
                help: Some(help.to_string()),
            });
        }
    }
}

fn port_set(
    list: &[Item<PortSpec>],
    what: &str,
    label: &str,
    cx: &mut Ctx<'_>,
) -> (PortSet, Vec<String>) {
    if list.is_empty() {
        return (PortSet::full(), Vec::new());
    }
    let mut set = PortSet::empty();
    let mut why = Vec::new();
    for it in list {
        match &it.value {
            PortSpec::Any => return (PortSet::full(), Vec::new()),
            PortSpec::Range(a, b) => set = set.union(&PortSet::range(*a, *b)),
            PortSpec::Keyword(k) => {
                why.push(format!(
                    "{label}: {what} port keyword `{k}` stands for ports chosen at run time"
                ));
                cx.once(
                    format!("port:{}", k.to_ascii_lowercase()),
                    it.span,
                    format!(
                        "port keyword `{k}` is decided at run time; rules using it are undecidable"
                    ),
                    "port keyword",
                    "the audit cannot tell which ports this keyword opens",
                );
            }
            PortSpec::Bad(v) => {
                why.push(format!("{label}: {what} port `{v}` cannot be read"));
                cx.bad(
                    it.span,
                    format!("`{v}` is not a port, a range or a port keyword"),
                    "bad port",
                );
            }
        }
    }
    if why.is_empty() {
        (set, why)
    } else {
        (PortSet::full(), why)
    }
}

fn addr_set(
    list: &[Item<AddrSpec>],
    what: &str,
    label: &str,
    cx: &mut Ctx<'_>,
) -> (AddrSet, Vec<String>) {
    if list.is_empty() {
        return (AddrSet::any(), Vec::new());
    }
    let mut set = AddrSet::empty();
    let mut why = Vec::new();
    for it in list {
        match &it.value {
            AddrSpec::Any => return (AddrSet::any(), Vec::new()),
            AddrSpec::Literal(s) => set = set.union(s),
            AddrSpec::Keyword(k) => match resolve(cx.names, k) {
                Some(s) => set = set.union(&s),
                None => {
                    why.push(format!(
                        "{label}: {what} address `{k}` is not resolved (add it to the inventory's [addresses])"
                    ));
                    cx.once(
                        format!("addr:{}", k.to_ascii_lowercase()),
                        it.span,
                        format!("address keyword `{k}` is not resolved; rules using it are undecidable"),
                        "unresolved address keyword",
                        &format!("give `{k}` its addresses in the inventory's [addresses] or with --address {k}=CIDR,..."),
                    );
                }
            },
            AddrSpec::Bad(v) => {
                why.push(format!("{label}: {what} address `{v}` cannot be read"));
                cx.bad(
                    it.span,
                    format!("`{v}` is not an address, subnet, range or keyword"),
                    "bad address",
                );
            }
        }
    }
    if why.is_empty() {
        (set, why)
    } else {
        (AddrSet::any(), why)
    }
}

/// A keyword through the resolver: as written, then without a `4`/`6` family suffix (limited to
/// that family).
fn resolve(names: &Resolver, k: &str) -> Option<AddrSet> {
    if let Some(s) = names.get(k) {
        return Some(s.clone());
    }
    let (base, fam) = if let Some(b) = k.strip_suffix('4') {
        (b, AddrSet::any_v4())
    } else if let Some(b) = k.strip_suffix('6') {
        (b, AddrSet::any_v6())
    } else {
        return None;
    };
    names.get(base).map(|s| s.intersect(&fam))
}

fn lower_rule(r: &WinRule, src: &SourceText, cx: &mut Ctx<'_>) -> Lowered {
    let label = r.label();
    let mut why = r.undecidable.clone();
    let proto = match &r.protocol.value {
        Protocol::Any => ProtoSet::full(),
        Protocol::Number(n) => ProtoSet::single(*n),
        Protocol::Bad(v) => {
            why.push(format!("{label}: protocol `{v}` cannot be read"));
            cx.bad(
                r.protocol.span,
                format!("`{v}` is not a protocol name or number"),
                "bad protocol",
            );
            ProtoSet::full()
        }
    };
    let (lport, w) = port_set(&r.local_ports, "local", &label, cx);
    why.extend(w);
    let (rport, w) = port_set(&r.remote_ports, "remote", &label, cx);
    why.extend(w);
    let (laddr, w) = addr_set(&r.local_addrs, "local", &label, cx);
    why.extend(w);
    let (raddr, w) = addr_set(&r.remote_addrs, "remote", &label, cx);
    why.extend(w);
    let (sport, mut dport, src_a, dst_a) = match r.direction {
        Direction::In => (rport, lport, raddr, laddr),
        Direction::Out => (lport, rport, laddr, raddr),
    };
    let is_icmp = matches!(
        r.protocol.value,
        Protocol::Number(ports::ICMP | ports::ICMPV6)
    );
    if is_icmp && !r.icmp.is_empty() {
        let mut set = PortSet::empty();
        for it in &r.icmp {
            match &it.value {
                IcmpSpec::Any => {
                    set = PortSet::full();
                    break;
                }
                IcmpSpec::TypeCode(t, c) => {
                    let base = (*t as u16) << 8;
                    set = set.union(&match c {
                        Some(c) => PortSet::single(base | *c as u16),
                        None => PortSet::range(base, base | 0xff),
                    });
                }
                IcmpSpec::Bad(v) => {
                    why.push(format!("{label}: ICMP type `{v}` cannot be read"));
                    cx.bad(
                        it.span,
                        format!("`{v}` is not an ICMP type or type:code"),
                        "bad ICMP type",
                    );
                    set = PortSet::full();
                    break;
                }
            }
        }
        dport = set;
    }
    if let Some(p) = &r.program {
        if !program_unscoped(&p.value) {
            why.push(format!(
                "{label}: only traffic of program {} matches; which program serves the port is not known",
                p.value
            ));
        }
    }
    if let Some(s) = &r.service {
        if !service_unscoped(&s.value) {
            why.push(format!(
                "{label}: only traffic of service {} matches; which service serves the port is not known",
                s.value
            ));
        }
    }
    if let Some(p) = &r.package {
        why.push(format!(
            "{label}: only traffic of app package or user {} matches",
            p.value
        ));
    }
    let (line, column) = src.line_col(r.span.start);
    Lowered {
        matches: PacketBox {
            src: src_a,
            dst: dst_a,
            proto,
            sport,
            dport,
            state: all_states(),
            iif: IntervalSet::full(),
            oif: IntervalSet::full(),
        },
        undecidable: why,
        action: match r.action {
            WinAction::Block => Action::Drop,
            WinAction::Allow | WinAction::Bypass => Action::Accept,
        },
        prov: Provenance {
            span: r.span,
            line,
            column,
            label,
        },
    }
}

/// Lower the rules of one file into one [`Ruleset`] per profile (Domain, Private, Public), each
/// named `"<profile> profile"`, with one policy of [`Semantics::BlockWins`] whose chains
/// `Inbound` and `Outbound` hold the enabled rules of that profile, block rules first, and end in
/// the profile default; see the module documentation.
pub fn lower(
    rules: &[WinRule],
    profiles: &ProfileSettings,
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let mut cx = Ctx {
        names,
        issues,
        reported: BTreeSet::new(),
    };
    let lowered: Vec<Lowered> = rules.iter().map(|r| lower_rule(r, src, &mut cx)).collect();
    let mut out = Vec::new();
    for (bit, pname) in PROFILES {
        let setting = profiles.get(bit);
        let on = setting.enabled.value;
        let decl = |item_span: Span, stated: bool, what: &str, v: Verdict| -> Provenance {
            if stated {
                let (line, column) = src.line_col(item_span.start);
                Provenance {
                    span: item_span,
                    line,
                    column,
                    label: format!("{pname} profile {what} ({})", v.name()),
                }
            } else {
                Provenance {
                    label: format!(
                        "{pname} profile {what} (not in the export; the Windows default is {})",
                        v.name()
                    ),
                    ..Provenance::default()
                }
            }
        };
        let mut policy = Policy {
            name: format!("{pname} profile"),
            family: None,
            semantics: Semantics::BlockWins,
            chains: Vec::new(),
            rules: Vec::new(),
            entries: Vec::new(),
            union_cache: Default::default(),
        };
        if on {
            policy.chains.push(Chain {
                name: "Inbound".into(),
                policy: Some(setting.default_inbound.value),
                decl: decl(
                    setting.default_inbound.span,
                    setting.stated[1],
                    "default inbound action",
                    setting.default_inbound.value,
                ),
                rules: Vec::new(),
            });
            policy.chains.push(Chain {
                name: "Outbound".into(),
                policy: Some(setting.default_outbound.value),
                decl: decl(
                    setting.default_outbound.span,
                    setting.stated[2],
                    "default outbound action",
                    setting.default_outbound.value,
                ),
                rules: Vec::new(),
            });
        } else {
            policy.name = format!("{pname} profile (firewall off)");
            let d = decl(
                setting.enabled.span,
                setting.stated[0],
                "firewall off",
                Verdict::Allow,
            );
            for n in ["Inbound", "Outbound"] {
                policy.chains.push(Chain {
                    name: n.into(),
                    policy: Some(Verdict::Allow),
                    decl: d.clone(),
                    rules: Vec::new(),
                });
            }
            cx.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: setting.enabled.span,
                message: format!(
                    "the firewall is off in the {pname} profile: it lets everything through there"
                ),
                label: "EnableFirewall = 0".into(),
                help: Some(format!(
                    "if the host uses the {pname} profile, turn the firewall on (Set-NetFirewallProfile -Profile {pname} -Enabled True)"
                )),
            });
        }
        policy.chains.push(Chain {
            name: DISABLED_INBOUND.into(),
            policy: None,
            decl: Provenance {
                label: format!("{pname} profile disabled inbound rules"),
                ..Provenance::default()
            },
            rules: Vec::new(),
        });
        policy.chains.push(Chain {
            name: DISABLED_OUTBOUND.into(),
            policy: None,
            decl: Provenance {
                label: format!("{pname} profile disabled outbound rules"),
                ..Provenance::default()
            },
            rules: Vec::new(),
        });
        // blocks first, then allows, each in file order; disabled rules to their own chains
        for pass in [true, false] {
            for (r, l) in rules.iter().zip(&lowered) {
                if !r.profiles.contains(bit) || (r.action == WinAction::Block) != pass {
                    continue;
                }
                let chain = match (r.enabled, r.direction) {
                    (true, _) if !on => continue,
                    (true, Direction::In) => 0,
                    (true, Direction::Out) => 1,
                    (false, Direction::In) => 2,
                    (false, Direction::Out) => 3,
                };
                if let Some(c) = policy.chains.get_mut(chain) {
                    c.rules.push(policy.rules.len());
                }
                policy.rules.push(Rule {
                    matches: l.matches.clone(),
                    undecidable: l.undecidable.clone(),
                    action: l.action,
                    prov: l.prov.clone(),
                    comment: r.group.clone(),
                    native: NativeRef::Windows {
                        id: r.id.clone().unwrap_or_else(|| r.name.clone()),
                        enabled: r.enabled,
                        outbound: r.direction == Direction::Out,
                    },
                    builtin: false,
                });
            }
        }
        policy.entries = vec![
            Entry {
                name: format!("{pname} profile/Inbound"),
                hook: Hook::Input,
                chain: 0,
            },
            Entry {
                name: format!("{pname} profile/Outbound"),
                hook: Hook::Output,
                chain: 1,
            },
        ];
        let mut rs = Ruleset::of_policy(
            Platform::WindowsFirewall,
            Some(format!("{pname} profile")),
            policy,
            false,
        );
        rs.profile = Some(pname.to_string());
        out.push(rs);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ports::ConnState;
    use crate::model::Decider;
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
                    .filter_map(|d| rs.provenance(*d).map(|p| p.label.clone()))
                    .collect();
                (o.verdict, labels)
            })
            .collect()
    }

    fn rule(name: &str, dir: Direction, action: WinAction, port: u16) -> WinRule {
        let mut r = WinRule::new(name, Span::new(0, 1));
        r.direction = dir;
        r.action = action;
        r.protocol = Item::new(Protocol::Number(6), Span::default());
        r.local_ports = vec![Item::new(PortSpec::Range(port, port), Span::default())];
        r
    }

    #[test]
    fn value_syntaxes() {
        assert_eq!(parse_protocol("TCP"), Protocol::Number(6));
        assert_eq!(parse_protocol("ICMPv6"), Protocol::Number(58));
        assert_eq!(parse_protocol("Any"), Protocol::Any);
        assert!(matches!(parse_protocol("tcpx"), Protocol::Bad(_)));
        assert_eq!(parse_port("4005-4009"), PortSpec::Range(4005, 4009));
        assert_eq!(
            parse_port("rpc-epmap"),
            PortSpec::Keyword("RPC-EPMap".into())
        );
        assert!(matches!(parse_port("99999"), PortSpec::Bad(_)));
        assert!(matches!(parse_port("9-1"), PortSpec::Bad(_)));
        assert!(matches!(
            parse_addr("10.0.0.0/255.0.0.0"),
            AddrSpec::Literal(_)
        ));
        assert_eq!(
            parse_addr("localsubnet"),
            AddrSpec::Keyword("LocalSubnet".into())
        );
        assert_eq!(parse_addr("Client"), AddrSpec::Keyword("Client".into()));
        assert!(matches!(parse_addr("10.0.0.300"), AddrSpec::Bad(_)));
        assert_eq!(parse_icmp("8:*"), IcmpSpec::TypeCode(8, None));
        assert_eq!(parse_icmp("3:04"), IcmpSpec::TypeCode(3, Some(4)));
        assert!(matches!(parse_icmp("x:1"), IcmpSpec::Bad(_)));
        assert_eq!(
            split_list(" a, b ,,c", 10),
            vec![
                ("a", Span::new(11, 12)),
                ("b", Span::new(14, 15)),
                ("c", Span::new(18, 19))
            ]
        );
    }

    #[test]
    fn block_wins_over_an_earlier_allow_and_disabled_rules_are_ignored() {
        let src = SourceText::new("t", "x");
        let mut dis = rule("Disabled allow 9082", Direction::In, WinAction::Allow, 9082);
        dis.enabled = false;
        let rules = vec![
            rule("Allow 9081", Direction::In, WinAction::Allow, 9081),
            rule("Block 9081", Direction::In, WinAction::Block, 9081),
            dis,
        ];
        let mut issues = Vec::new();
        let rs = lower(
            &rules,
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(rs.len(), 3);
        assert!(issues.is_empty(), "{issues:?}");
        for r in &rs {
            let v = verdicts(r, Hook::Input, &inbound("10.1.2.3", 9081));
            assert_eq!(
                v,
                vec![(Verdict::Deny, vec!["Block 9081 in (block)".to_string()])]
            );
            let v = verdicts(r, Hook::Input, &inbound("10.1.2.3", 9082));
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].0, Verdict::Deny);
            assert!(v[0].1[0].contains("default inbound action"), "{v:?}");
            // the disabled rule is in its own chain, which no pipeline enters
            let p = &r.policies[0];
            let c = p.chain_by_name(DISABLED_INBOUND).unwrap_or(usize::MAX);
            let pieces = p.evaluate(c, &inbound("10.1.2.3", 9082));
            assert!(pieces
                .iter()
                .any(|pc| pc.verdict == Verdict::Allow && pc.deciders.contains(&Decider::Rule(2))));
        }
    }

    #[test]
    fn profiles_split_and_firewall_off() {
        let src = SourceText::new("t", "x");
        let mut r = rule("Domain only 9669", Direction::In, WinAction::Allow, 9669);
        r.profiles = Profiles(Profiles::DOMAIN);
        let mut settings = ProfileSettings::default();
        settings.public.enabled = Item::new(false, Span::default());
        settings.public.stated[0] = true;
        let mut issues = Vec::new();
        let rs = lower(&[r], &settings, &src, &Resolver::default(), &mut issues);
        let names: Vec<_> = rs
            .iter()
            .map(|r| r.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["Domain profile", "Private profile", "Public profile"]
        );
        let v = |i: usize| verdicts(&rs[i], Hook::Input, &inbound("10.1.2.3", 9669))[0].0;
        assert_eq!(
            (v(0), v(1), v(2)),
            (Verdict::Allow, Verdict::Deny, Verdict::Allow)
        );
        assert_eq!(rs[2].policies[0].name, "Public profile (firewall off)");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, IssueKind::Undecidable);
    }

    #[test]
    fn unresolved_keyword_is_undecidable_and_reported_once() {
        let src = SourceText::new("t", "x");
        let mut a = rule("From subnet 9081", Direction::In, WinAction::Allow, 9081);
        a.remote_addrs = vec![Item::new(
            AddrSpec::Keyword("LocalSubnet".into()),
            Span::new(0, 1),
        )];
        let mut b = rule("From subnet 9080", Direction::In, WinAction::Allow, 9080);
        b.remote_addrs = a.remote_addrs.clone();
        let mut issues = Vec::new();
        let rs = lower(
            &[a.clone(), b.clone()],
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        let v = verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081));
        assert!(v.iter().any(|(v, _)| *v == Verdict::Unknown), "{v:?}");
        // resolved, it is exact
        let mut names = Resolver::default();
        names.insert(
            "LocalSubnet",
            AddrSet::parse("10.1.2.0/24").unwrap_or_default(),
        );
        let mut issues = Vec::new();
        let rs = lower(
            &[a, b],
            &ProfileSettings::default(),
            &src,
            &names,
            &mut issues,
        );
        assert!(issues.is_empty());
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081))[0].0,
            Verdict::Allow
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.9.2.3", 9081))[0].0,
            Verdict::Deny
        );
    }

    #[test]
    fn program_scoped_rules_are_undecidable_but_system_is_not() {
        let src = SourceText::new("t", "x");
        let mut a = rule("App 9081", Direction::In, WinAction::Allow, 9081);
        a.program = Some(Item::new("C:\\zvm\\zvm.exe".into(), Span::default()));
        let mut b = rule("Kernel 445", Direction::In, WinAction::Allow, 445);
        b.program = Some(Item::new("System".into(), Span::default()));
        let mut issues = Vec::new();
        let rs = lower(
            &[a, b],
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081))[0].0,
            Verdict::Unknown
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 445))[0].0,
            Verdict::Allow
        );
    }

    #[test]
    fn netsh_json_and_reg_fixtures_agree() {
        use crate::formats::{encoding, json_spans};
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
