//! The rule AST every Windows format is read into: [`WinRule`] and its values, each with the span
//! it was read from, and the per-profile settings ([`ProfileSettings`]).

use crate::model::{AddrSet, Span, Verdict};

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
    /// Authenticated bypass (`Action=ByPass`, netsh `Bypass`, PowerShell `OverrideBlockRules`):
    /// an allow that takes precedence over block rules, for IPsec-authenticated connections only
    /// ([MS-FASP] 2.2.34 FW_RULE_ACTION).
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
    /// other name (the CSV corpus uses role labels such as `Client`); resolved by the
    /// [`Resolver`](crate::formats::Resolver).
    Keyword(String),
    Bad(String),
}

/// The IPsec requirement of an allow rule (registry `Security=`/`Security2_9=`/`Security2=`,
/// netsh `Security:`, PowerShell `Authentication`/`Encryption` of `Get-NetFirewallSecurityFilter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// No IPsec requirement (`NotRequired`).
    NotRequired,
    /// The connection must be IPsec-authenticated; the name says how (`Authenticate`,
    /// `AuthenticateEncrypt`, `An-NoEncap`, `AnE-Nego`, `AuthDynEnc`, `Required`, ...).
    Required(String),
    /// Not a security requirement (reported when parsing).
    Bad(String),
}

impl Security {
    /// Does the rule admit only IPsec-authenticated connections?
    pub fn requires_ipsec(&self) -> bool {
        matches!(self, Security::Required(_))
    }
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
    /// App-container (Store app) package (`AppPkgId`, PowerShell `Package`).
    pub package: Option<Item<String>>,
    /// The user that owns the rule (`LUOwn`), when the export says.
    pub owner: Option<Item<String>>,
    /// The IPsec requirement, when the export states one.
    pub security: Option<Item<Security>>,
    /// Trust-tuple keywords (`TTK=UPnP`): the rule admits only peers that Windows feature put in
    /// its trust tuple at run time.
    pub trust_tuple: Vec<String>,
    /// Edge traversal, interface types and other fields noted only.
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
            owner: None,
            security: None,
            trust_tuple: Vec::new(),
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
