//! The Zerto requirements catalogue.
//!
//! Which ports a Zerto deployment needs is data, kept in `zerto.toml` (embedded in the binary)
//! and loadable from extra files of the same shape (`--catalog extra.toml`). Each
//! [`Requirement`] is one flow between two roles, taken from one row of one table of the seed
//! documents (its [`SeedSource`]); a row that names several flows gives several requirements.
//! Requirements that only hold in some deployments carry a [`Condition`]
//! (see [`condition`] for the language and its variables). [`MustNotOpen`] lists what the
//! documents say should *not* be reachable: 7073 (internal to the ZVM) and UDP 444xx (DHCP).
//!
//! # File format
//!
//! ```toml
//! version = "2026.11-1"          # optional in extra files
//!
//! [[source]]
//! id = "current.vsphere"
//! document = "zerto-ports-current.txt"
//! table = "vSphere"
//!
//! [[requirement]]
//! id = "vsphere.zvm-vcenter-443"  # unique, [a-z0-9._-]
//! environments = ["vsphere"]      # vsphere hyperv azure aws msp hyperv-legacy
//! ports = "443"                   # "443", "4005-4009", "22,443", or "9082+" (MSP VRA range)
//! protocol = "tcp"                # tcp udp any
//! from_role = "zvm"               # kebab-case role names, see ROLES
//! to_role = "vcenter"
//! direction = "a-to-b"            # or "both"
//! condition = "vcd"               # optional, see the condition module
//! changeable_default = false      # optional: a starred port the installer lets users change
//! port_key = "zvm_api"            # optional: short name an inventory remaps the port by
//! install_only = false            # optional: only while a VRA is being installed
//! purpose = "One sentence."
//! source = "current.vsphere"      # a [[source]] id
//!
//! [[must_not_open]]
//! id = "vsphere.zvm-7073-internal"
//! environments = ["vsphere"]
//! ports = "7073"
//! protocol = "tcp"
//! role = "zvm"                    # "any": every Zerto host
//! kind = "internal-only"          # or "not-needed"
//! purpose = "One sentence."
//! source = "current.vsphere"
//!
//! [[windows_identity]]            # the Windows program / service of a Zerto component
//! role = "zvm"
//! program = 'C:\Program Files\Zerto\Zerto Virtual Replication\Zerto.Zvm.Service.exe'  # optional
//! service = "..."                 # optional: the service short name
//! note = "Where the names come from."
//!
//! [[fact]]                        # a fact a deployment may state (see the facts module)
//! name = "ltr"                    # `windows_<role>_program`: one fact per role
//! type = "enum"                   # bool version enum count cidrs ports text
//! values = ["smb", "nfs", "none"] # an enum's values
//! default = "none"                # optional: assumed when nothing sets the fact
//! why = "Why that default."       # optional
//! meaning = "One line."
//! ```
//!
//! Unknown keys are errors, so a misspelt key does not silently drop a fact.
//!
//! # Windows identities
//!
//! A Windows Defender Firewall rule can be scoped to one program, service or Store app package
//! (`model::app`). To tell whether such a rule can match a Zerto flow, the audit needs the
//! program and service of the Zerto component the guarded host runs: [`Catalog::windows_identity`]
//! gives them for a role, from the `[[windows_identity]]` rows, each overridden by the facts
//! `windows_<role>_program` and `windows_<role>_service` (inventory `[facts]` or `--set`; a
//! role's `-` becomes `_`). The seed documents name no program or service: the embedded rows
//! are defaults (their `note` says where each name comes from) that an installation whose names
//! differ overrides with those facts. A role without a row or fact has an unknown program and
//! service: program- and service-scoped rules stay undecidable for it. Every Zerto component is a
//! desktop program or service, never a Store app, so Store-app rules never match a Zerto flow.

pub mod condition;
pub mod facts;
pub mod msp;
mod raw;
pub mod render;
mod windows;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

pub use condition::{parse_condition, Condition, ConditionError, Context, Tri};

use crate::model::Span;

/// The roles flows run between, with what each stands for.
pub const ROLES: &[(&str, &str)] = &[
    ("zvm", "Zerto Virtual Manager"),
    ("vra", "Virtual Replication Appliance"),
    ("vba", "Virtual Backup Appliance"),
    ("zcm", "Zerto Cloud Manager"),
    ("zssp", "Zerto Self-Service Portal"),
    ("ltr", "Long Term Retention service"),
    ("esxi", "VMware ESXi host"),
    ("vcenter", "VMware vCenter Server"),
    ("scvmm", "System Center Virtual Machine Manager"),
    ("hyperv-host", "Microsoft Hyper-V host"),
    ("vcd", "VMware vCloud Director"),
    ("zcc", "Zerto Cloud Connector (MSP)"),
    (
        "zca",
        "Zerto Cloud Appliance (Azure, AWS): runs the ZVM and VRA functions",
    ),
    ("zasa", "ZASA appliance (AWS)"),
    ("azure-services", "Azure cloud services (REST, scale sets, queues)"),
    ("aws-services", "AWS cloud services"),
    ("smb-repo", "LTR repository on an SMB share"),
    ("nfs-repo", "LTR repository on an NFS export"),
    (
        "admin-client",
        "a person's or a script's machine: GUI, browser, REST client, PowerShell cmdlets, diagnostics tool",
    ),
    ("vss-agent", "Zerto VSS Agent"),
    ("any", "every Zerto host (used by must-not-open entries only)"),
];

/// True when a host of role `guarded` plays `role`: the same name; a ZCA (Azure, AWS) plays
/// both `zvm` and `vra`; and every host plays `any`.
pub fn role_includes(guarded: &str, role: &str) -> bool {
    guarded == role || role == "any" || (guarded == "zca" && matches!(role, "zvm" | "vra"))
}

/// Deployment kinds, each with its own table in the seed documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    Vsphere,
    Hyperv,
    Azure,
    Aws,
    Msp,
    /// The older Zerto Virtual Replication Hyper-V table.
    HypervLegacy,
}

impl Environment {
    pub const ALL: [Environment; 6] = [
        Environment::Vsphere,
        Environment::Hyperv,
        Environment::Azure,
        Environment::Aws,
        Environment::Msp,
        Environment::HypervLegacy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Vsphere => "vsphere",
            Environment::Hyperv => "hyperv",
            Environment::Azure => "azure",
            Environment::Aws => "aws",
            Environment::Msp => "msp",
            Environment::HypervLegacy => "hyperv-legacy",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Environment::from_str`]: the name given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown environment `{0}` (expected vsphere, hyperv, azure, aws, msp or hyperv-legacy)")]
pub struct UnknownEnvironment(pub String);

impl FromStr for Environment {
    type Err = UnknownEnvironment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Environment::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownEnvironment(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Any,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Any => "any",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who opens the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Direction {
    /// `from_role` connects to `to_role`.
    #[serde(rename = "a-to-b")]
    AToB,
    /// The documents only say "between"; either side may open it.
    #[serde(rename = "both")]
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::AToB => "a-to-b",
            Direction::Both => "both",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ports of a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortSpec {
    /// Inclusive ranges.
    List(Vec<(u16, u16)>),
    /// MSP "9082 and up": its extent depends on VRA counts, see [`msp`].
    MspVraRange,
}

impl PortSpec {
    /// `"9669"`, `"4005-4009"`, `"22,443"`, `"9082+"`.
    pub fn display(&self) -> String {
        match self {
            PortSpec::List(ranges) => format_ranges(ranges),
            PortSpec::MspVraRange => format!("{}+", msp::FIRST_PORT),
        }
    }

    /// The fixed ranges, `None` for the computed MSP range.
    pub fn ranges(&self) -> Option<&[(u16, u16)]> {
        match self {
            PortSpec::List(r) => Some(r),
            PortSpec::MspVraRange => None,
        }
    }

    /// Parse the catalogue notation (the inverse of [`display`](Self::display)).
    pub fn parse(text: &str) -> Result<PortSpec, String> {
        if text.trim() == format!("{}+", msp::FIRST_PORT) {
            return Ok(PortSpec::MspVraRange);
        }
        parse_ranges(text).map(PortSpec::List)
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

fn format_ranges(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_ranges(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let port = |s: &str| -> Result<u16, String> {
        match s.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("`{}` is not a port (1-65535)", s.trim())),
            Ok(p) => Ok(p),
        }
    };
    let mut out = Vec::new();
    for item in text.split(',') {
        let range = match item.split_once('-') {
            Some((lo, hi)) => (port(lo)?, port(hi)?),
            None => {
                let p = port(item)?;
                (p, p)
            }
        };
        if range.0 > range.1 {
            return Err(format!("range `{}` runs backwards", item.trim()));
        }
        out.push(range);
    }
    Ok(out)
}

/// One table of a seed document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSource {
    /// e.g. `current.vsphere`.
    pub id: String,
    /// File name of the seed document.
    pub document: String,
    /// The table's name in the document (`vSphere`, `MSP`, ...).
    pub table: String,
}

/// One required flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Stable id, e.g. `vsphere.zvm-vcenter-443`.
    pub id: String,
    pub environments: Vec<Environment>,
    pub ports: PortSpec,
    pub protocol: Protocol,
    pub from_role: String,
    pub to_role: String,
    pub direction: Direction,
    /// Parsed [`condition_text`](Self::condition_text); `None`: always required.
    pub condition: Option<Condition>,
    pub condition_text: Option<String>,
    /// A starred port: the installer lets users choose another one.
    pub changeable_default: bool,
    /// Short name an inventory remaps a changeable port by (`zvm_pairing`, `zvm_api`, ...).
    pub port_key: Option<String>,
    pub purpose: String,
    /// A [`SeedSource`] id.
    pub source: String,
    /// Only needed while a VRA is being installed (the condition says `phase == 'install'`).
    pub install_only: bool,
}

impl Requirement {
    /// Whether the requirement holds given the facts: `True` when it has no condition.
    pub fn applies(&self, ctx: &Context) -> Tri {
        self.condition.as_ref().map_or(Tri::True, |c| c.eval(ctx))
    }
}

/// Why a port must not be reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MustNotKind {
    /// Used inside one host only (7073 on the ZVM).
    InternalOnly,
    /// Not needed by Zerto at all (UDP 444xx, DHCP).
    NotNeeded,
}

impl MustNotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MustNotKind::InternalOnly => "internal-only",
            MustNotKind::NotNeeded => "not-needed",
        }
    }
}

impl fmt::Display for MustNotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port the documents say should not be reachable.
#[derive(Debug, Clone, PartialEq)]
pub struct MustNotOpen {
    pub id: String,
    pub ports: Vec<(u16, u16)>,
    pub protocol: Protocol,
    /// The host role it concerns; `any` for every Zerto host.
    pub role: String,
    pub kind: MustNotKind,
    pub purpose: String,
    pub source: String,
    pub environments: Vec<Environment>,
    /// When it applies (`mode == 'icdr'`: 9080 is for DRaaS customers only); `None`: always.
    pub condition: Option<Condition>,
}

impl MustNotOpen {
    /// Whether the entry holds given the facts; an undecided one is not checked.
    pub fn applies(&self, ctx: &Context) -> bool {
        self.condition
            .as_ref()
            .is_none_or(|c| c.eval(ctx) == Tri::True)
    }

    pub fn ports_display(&self) -> String {
        format_ranges(&self.ports)
    }
}

/// The whole catalogue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Catalog {
    /// e.g. `2026.11-1`; after [`merge`](Self::merge) with a versioned extra file,
    /// `2026.11-1+extra-version`.
    pub version: String,
    pub sources: Vec<SeedSource>,
    pub requirements: Vec<Requirement>,
    pub must_not_open: Vec<MustNotOpen>,
    /// The Windows program and service of each Zerto component that runs on Windows.
    pub windows: Vec<WindowsIdentity>,
    /// The facts a deployment may state, typed ([`facts`]).
    pub facts: Vec<facts::FactDef>,
}

/// The Windows program and service of a Zerto component (see the module doc, "Windows
/// identities").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsIdentity {
    pub role: String,
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// Where the names come from.
    pub note: String,
}

/// The text of the embedded catalogue.
pub const EMBEDDED_TOML: &str = include_str!("zerto.toml");

impl Catalog {
    /// The catalogue built into the binary, parsed on first use.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_toml(EMBEDDED_TOML)
                .expect("the embedded zerto.toml parses (checked by a unit test)")
        })
    }

    /// Read a catalogue (the embedded one, or an extra file given with `--catalog`).
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let raw: raw::RawCatalog = toml::from_str(text).map_err(|e| CatalogError::Syntax {
            message: e.message().to_string(),
            span: e.span().map(|r| (r.start, r.end)),
        })?;
        let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
        let mut check_id = |id: &Spanned<String>| -> Result<(), CatalogError> {
            let span = (id.span().start, id.span().end);
            let name = id.get_ref();
            let invalid = |message: String| CatalogError::Invalid {
                id: name.clone(),
                message,
                span: Some(span),
            };
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            {
                return Err(invalid(
                    "an id is lower-case letters, digits, `.`, `_` and `-`".into(),
                ));
            }
            if let Some(first) = seen.insert(name.clone(), span) {
                return Err(invalid(format!(
                    "duplicate id (first used at bytes {}..{})",
                    first.0, first.1
                )));
            }
            Ok(())
        };

        let mut requirements = Vec::with_capacity(raw.requirement.len());
        for r in raw.requirement {
            check_id(&r.id)?;
            requirements.push(r.into_requirement(text)?);
        }
        let mut must_not_open = Vec::with_capacity(raw.must_not_open.len());
        for m in raw.must_not_open {
            check_id(&m.id)?;
            must_not_open.push(m.into_must_not_open(text)?);
        }
        for (i, f) in raw.fact.iter().enumerate() {
            if raw.fact[..i].iter().any(|g| g.name == f.name) {
                return Err(CatalogError::Invalid {
                    id: f.name.clone(),
                    message: "a second [[fact]] of this name".into(),
                    span: None,
                });
            }
        }
        Ok(Catalog {
            version: raw.version,
            sources: raw.source,
            requirements,
            must_not_open,
            windows: raw.windows_identity,
            facts: raw.fact,
        })
    }

    /// Add an extra catalogue: an entry with an id already present replaces it in place (in
    /// `requirements`, `must_not_open` and `sources` separately); new ids are appended.
    pub fn merge(&mut self, extra: Catalog) {
        fn upsert<T>(list: &mut Vec<T>, items: Vec<T>, id: fn(&T) -> &str) {
            for item in items {
                match list.iter().position(|x| id(x) == id(&item)) {
                    Some(i) => list[i] = item,
                    None => list.push(item),
                }
            }
        }
        upsert(&mut self.sources, extra.sources, |s| &s.id);
        upsert(&mut self.requirements, extra.requirements, |r| &r.id);
        upsert(&mut self.must_not_open, extra.must_not_open, |m| &m.id);
        upsert(&mut self.windows, extra.windows, |w| &w.role);
        upsert(&mut self.facts, extra.facts, |f| &f.name);
        if !extra.version.is_empty() && extra.version != self.version {
            self.version = if self.version.is_empty() {
                extra.version
            } else {
                format!("{}+{}", self.version, extra.version)
            };
        }
    }

    /// The requirements of one environment, in catalogue order.
    pub fn for_env(&self, env: Environment) -> impl Iterator<Item = &Requirement> {
        self.requirements
            .iter()
            .filter(move |r| r.environments.contains(&env))
    }

    /// The must-not-open entries of one environment.
    pub fn must_not_open_for(&self, env: Environment) -> impl Iterator<Item = &MustNotOpen> {
        self.must_not_open
            .iter()
            .filter(move |m| m.environments.contains(&env))
    }

    /// A requirement by id.
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// A seed table by id.
    pub fn source(&self, id: &str) -> Option<&SeedSource> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// A catalogue file that cannot be used. Spans are byte ranges `(start, end)` into its text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not the catalogue's shape (missing or unknown key, wrong type).
    #[error("invalid catalogue: {message}")]
    Syntax {
        message: String,
        span: Option<(usize, usize)>,
    },
    /// A condition that does not parse.
    #[error("`{id}`: condition `{text}` does not parse: {error}")]
    Condition {
        id: String,
        text: String,
        /// Boxed to keep the error small; `offset` is into `text`.
        error: Box<ConditionError>,
        span: Option<(usize, usize)>,
    },
    /// Anything else wrong with one entry (duplicate id, bad ports, bad role name...).
    #[error("`{id}`: {message}")]
    Invalid {
        id: String,
        message: String,
        span: Option<(usize, usize)>,
    },
}

impl CatalogError {
    /// Where in the catalogue text the problem is, when known.
    pub fn span(&self) -> Option<Span> {
        let s = match self {
            CatalogError::Syntax { span, .. }
            | CatalogError::Condition { span, .. }
            | CatalogError::Invalid { span, .. } => *span,
        };
        s.map(|(a, b)| Span::new(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn cat() -> &'static Catalog {
        Catalog::embedded()
    }

    fn req(id: &str) -> &'static Requirement {
        match cat().requirement(id) {
            Some(r) => r,
            None => panic!("no requirement {id}"),
        }
    }

    #[test]
    fn embedded_catalogue_parses() {
        let parsed = Catalog::from_toml(EMBEDDED_TOML);
        assert!(parsed.is_ok(), "{parsed:?}");
        let c = cat();
        assert_eq!(c.version, "2026.11-1");
        assert!(c.requirements.len() > 100);
        assert_eq!(c.sources.len(), 6);
    }

    #[test]
    fn ids_are_unique_and_prefixed_by_their_environment() {
        let mut ids = BTreeSet::new();
        for id in cat()
            .requirements
            .iter()
            .map(|r| &r.id)
            .chain(cat().must_not_open.iter().map(|m| &m.id))
        {
            assert!(ids.insert(id), "duplicate id {id}");
        }
        for r in &cat().requirements {
            assert_eq!(r.environments.len(), 1, "{}", r.id);
            assert!(
                r.id.starts_with(&format!("{}.", r.environments[0])),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn roles_sources_and_variables_are_known() {
        let roles: Vec<&str> = ROLES.iter().map(|r| r.0).collect();
        let vars: Vec<&str> = cat()
            .facts
            .iter()
            .map(|f| f.name.as_str())
            .filter(|n| !n.contains(facts::ROLE_PLACEHOLDER))
            .collect();
        let mut used_vars = BTreeSet::new();
        for r in &cat().requirements {
            assert!(
                roles.contains(&r.from_role.as_str()),
                "{}: {}",
                r.id,
                r.from_role
            );
            assert!(
                roles.contains(&r.to_role.as_str()),
                "{}: {}",
                r.id,
                r.to_role
            );
            assert_ne!(r.from_role, "any", "{}", r.id);
            assert_ne!(r.to_role, "any", "{}", r.id);
            assert!(cat().source(&r.source).is_some(), "{}: {}", r.id, r.source);
            assert!(!r.purpose.is_empty(), "{}", r.id);
            if let Some(c) = &r.condition {
                // the text re-parses and is already written canonically
                let text = r.condition_text.as_deref().unwrap_or("");
                assert_eq!(parse_condition(text).as_ref(), Ok(c), "{}", r.id);
                assert_eq!(c.to_string(), text, "{}", r.id);
                for v in c.variables() {
                    assert!(vars.contains(&v), "{}: unknown variable {v}", r.id);
                    used_vars.insert(v);
                }
            }
        }
        // and every fact is used: by a condition, or read by the code
        let read_by_code = [
            "local_vras",
            "remote_vras",
            crate::formats::windows::IPSEC_FACT,
            crate::engine::reach::PEERS_FACT,
            crate::engine::reach::EPHEMERAL_FACT,
            crate::engine::targets::POLICY_FACT,
            crate::formats::azure::PARAMETERS_FACT,
        ];
        for v in vars {
            assert!(
                used_vars.contains(v) || read_by_code.contains(&v),
                "fact {v} is not used"
            );
        }
        cat().check_facts().expect("the conditions fit the facts");
        for m in &cat().must_not_open {
            assert!(roles.contains(&m.role.as_str()), "{}", m.id);
            assert!(cat().source(&m.source).is_some(), "{}", m.id);
        }
    }

    #[test]
    fn install_only_means_install_phase() {
        let mut install = Context::new();
        install.set("phase", "install");
        install.set("hypervisor", "vsphere");
        let mut operate = Context::new();
        operate.set("phase", "operate");
        operate.set("hypervisor", "vsphere");
        for r in &cat().requirements {
            let needs_phase = r
                .condition
                .as_ref()
                .is_some_and(|c| c.variables().contains(&"phase"));
            assert_eq!(r.install_only, needs_phase, "{}", r.id);
            if r.install_only {
                assert_eq!(r.applies(&install), Tri::True, "{}", r.id);
                assert_eq!(r.applies(&operate), Tri::False, "{}", r.id);
            }
        }
    }

    #[test]
    fn starred_ports_per_table() {
        let starred = |env: Environment| -> BTreeSet<u16> {
            cat()
                .for_env(env)
                .filter(|r| r.changeable_default)
                .flat_map(|r| r.ports.ranges().unwrap_or(&[]).iter().map(|p| p.0))
                .collect()
        };
        let current: BTreeSet<u16> = [9071, 9080, 9081, 9180, 9669].into();
        for env in [
            Environment::Vsphere,
            Environment::Hyperv,
            Environment::Azure,
            Environment::Aws,
        ] {
            assert_eq!(starred(env), current, "{env}");
        }
        assert_eq!(starred(Environment::Msp), [9071].into());
        assert_eq!(
            starred(Environment::HypervLegacy),
            [9080, 9081, 9180, 9669].into()
        );
        // every changeable port has a key, and each key names one port
        let mut keys: HashMap<&str, String> = HashMap::new();
        for r in cat().requirements.iter().filter(|r| r.changeable_default) {
            let key = r.port_key.as_deref().unwrap_or("");
            assert!(!key.is_empty(), "{}", r.id);
            let port = r.ports.display();
            assert_eq!(keys.entry(key).or_insert(port.clone()), &port, "{}", r.id);
        }
        assert_eq!(
            req("vsphere.zvm-zvm-9081").port_key.as_deref(),
            Some("zvm_pairing")
        );
        assert_eq!(
            req("vsphere.admin-client-zvm-9669").port_key.as_deref(),
            Some("zvm_api")
        );
    }

    fn ports_of(env: Environment) -> (BTreeSet<u16>, usize) {
        let mut set = BTreeSet::new();
        let mut computed = 0;
        for r in cat().for_env(env) {
            match &r.ports {
                PortSpec::List(ranges) => {
                    for &(lo, hi) in ranges {
                        set.extend(lo..=hi);
                    }
                }
                PortSpec::MspVraRange => computed += 1,
            }
        }
        (set, computed)
    }

    #[test]
    fn msp_table_is_complete() {
        let (ports, computed) = ports_of(Environment::Msp);
        let want: BTreeSet<u16> = [
            22, 443, 4005, 4006, 4007, 4008, 4009, 5672, 8100, 9071, 9080, 9081, 9669, 9180, 9779,
            9989,
        ]
        .into();
        assert_eq!(ports, want);
        assert_eq!(computed, 1);
        let range = req("msp.vra-zcc-9082");
        assert_eq!(range.ports, PortSpec::MspVraRange);
        assert_eq!(range.direction, Direction::AToB);
        // 9080 names three situations
        assert_eq!(
            cat()
                .for_env(Environment::Msp)
                .filter(|r| r.ports.display() == "9080")
                .count(),
            3
        );
    }

    #[test]
    fn other_tables_are_complete() {
        let set = |p: &[u16]| p.iter().copied().collect::<BTreeSet<u16>>();
        let vra = [4005, 4006, 4007, 4008, 4009];
        let zvm = [9071, 9080, 9081, 9180, 9669, 9989];
        let mut vsphere = set(&[22, 443, 445, 2049, 5672]);
        vsphere.extend(vra.iter().chain(&zvm));
        assert_eq!(ports_of(Environment::Vsphere), (vsphere, 0));
        let mut hyperv = set(&[445, 2049, 8100, 9779]);
        hyperv.extend(vra.iter().chain(&zvm));
        assert_eq!(ports_of(Environment::Hyperv), (hyperv, 0));
        let mut azure = set(&[443, 7072, 9779]);
        azure.extend(vra.iter().chain(&zvm));
        assert_eq!(ports_of(Environment::Azure), (azure, 0));
        let mut aws = set(&[443, 9779]);
        aws.extend(vra.iter().chain(&zvm));
        assert_eq!(ports_of(Environment::Aws), (aws, 0));
        let mut legacy = set(&[8100, 9779, 9080, 9081, 9180, 9669, 9989]);
        legacy.extend(vra);
        assert_eq!(ports_of(Environment::HypervLegacy), (legacy, 0));
        // rows that name several flows
        let count = |env: Environment, port: &str| {
            cat()
                .for_env(env)
                .filter(|r| r.ports.display() == port)
                .count()
        };
        assert_eq!(count(Environment::Azure, "443"), 3);
        assert_eq!(count(Environment::Aws, "443"), 2);
        assert_eq!(count(Environment::Hyperv, "9669"), 3);
        assert_eq!(count(Environment::HypervLegacy, "9080"), 2);
    }

    #[test]
    fn windows_identities_default_and_overridden_by_facts() {
        let mut facts = Context::new();
        let zvm = cat().windows_identity("zvm", &facts);
        assert!(zvm
            .program
            .as_deref()
            .is_some_and(|p| p.ends_with(r"\Zerto.Zvm.Service.exe")));
        assert_eq!(zvm.service, None);
        assert_eq!(zvm.packaged, Some(false));
        // a row without names, and a role with no row: unknown program and service
        assert_eq!(cat().windows_identity("vba", &facts).program, None);
        assert_eq!(cat().windows_identity("hyperv-host", &facts).program, None);
        facts.set("windows_zvm_program", r"D:\Zerto\zvm.exe");
        facts.set("windows_hyperv_host_service", "vmms");
        let zvm = cat().windows_identity("zvm", &facts);
        assert_eq!(zvm.program.as_deref(), Some(r"D:\Zerto\zvm.exe"));
        assert!(zvm.source.contains("windows_zvm_program"));
        let host = cat().windows_identity("hyperv-host", &facts);
        assert_eq!(host.service.as_deref(), Some("vmms"));
        for w in &cat().windows {
            assert!(ROLES.iter().any(|(r, _)| *r == w.role), "{}", w.role);
            assert!(!w.note.is_empty());
        }
    }

    #[test]
    fn key_facts() {
        assert_eq!(req("hyperv.zvm-scvmm-8100").to_role, "scvmm");
        let vcd = req("vsphere.zvm-vcd-5672");
        assert_eq!(vcd.condition_text.as_deref(), Some("vcd"));
        assert_eq!(vcd.condition, Some(Condition::Flag("vcd".into())));
        assert_eq!(req("azure.vra-zvm-7072").direction, Direction::AToB);
        assert_eq!(
            req("vsphere.ltr-smb-repo-445").condition_text.as_deref(),
            Some("ltr == 'smb'")
        );
        assert_eq!(
            req("hyperv.ltr-nfs-repo-2049").condition_text.as_deref(),
            Some("ltr == 'nfs'")
        );
        assert_eq!(
            req("hyperv.zvm-zvm-9081").condition_text.as_deref(),
            Some("not single_scvmm")
        );
        assert_eq!(
            req("hyperv-legacy.zvm-zvm-9081").condition_text.as_deref(),
            Some("not single_scvmm")
        );
        // the `**` note: one ZVM for both sites does not use 9081
        assert_eq!(
            req("vsphere.zvm-zvm-9081").condition_text.as_deref(),
            Some("not single_zvm")
        );
        assert!(!req("msp.zvm-zvm-9081").changeable_default);
        assert!(req("msp.zvm-zvm-9081").purpose.contains("DRaaS"));
        assert_eq!(req("vsphere.zvm-vcenter-443").direction, Direction::AToB);
    }

    #[test]
    fn version_gated_9071() {
        for env in [Environment::Vsphere, Environment::Msp, Environment::Azure] {
            let r = cat()
                .for_env(env)
                .find(|r| r.ports.display() == "9071")
                .cloned();
            let Some(r) = r else { panic!("{env}: no 9071") };
            let mut ctx = Context::new();
            assert_eq!(r.applies(&ctx), Tri::Unknown);
            ctx.set("zvm_version", "8.0");
            assert_eq!(r.applies(&ctx), Tri::Unknown);
            ctx.set("peer_zvm_version", "9.5");
            assert_eq!(r.applies(&ctx), Tri::True);
            ctx.set("peer_zvm_version", "7.5");
            assert_eq!(r.applies(&ctx), Tri::False);
            let mut only_old = Context::new();
            only_old.set("zvm_version", "7.5");
            assert_eq!(r.applies(&only_old), Tri::False);
        }
    }

    #[test]
    fn msp_zcm_ports_by_version() {
        let old = req("msp.zcm-zvm-9080-zvm50");
        let new = req("msp.zcm-zvm-9669");
        let mut ctx = Context::new();
        ctx.set("zcm", "true");
        ctx.set("zcm_version", "5.5");
        ctx.set("zvm_version", "5.0");
        assert_eq!(
            (old.applies(&ctx), new.applies(&ctx)),
            (Tri::True, Tri::False)
        );
        ctx.set("zvm_version", "9.7");
        assert_eq!(
            (old.applies(&ctx), new.applies(&ctx)),
            (Tri::False, Tri::True)
        );
        let mut icdr = Context::new();
        icdr.set("mode", "icdr");
        assert_eq!(req("msp.admin-client-zvm-9080").applies(&icdr), Tri::False);
    }

    #[test]
    fn must_not_open_entries() {
        let envs_7073: BTreeSet<Environment> = cat()
            .must_not_open
            .iter()
            .filter(|m| m.ports == [(7073, 7073)])
            .inspect(|m| {
                assert_eq!(m.kind, MustNotKind::InternalOnly);
                assert_eq!(m.role, "zvm");
                assert_eq!(m.protocol, Protocol::Tcp);
            })
            .flat_map(|m| m.environments.clone())
            .collect();
        assert_eq!(
            envs_7073,
            [
                Environment::Vsphere,
                Environment::Hyperv,
                Environment::Azure,
                Environment::Aws,
                Environment::Msp
            ]
            .into()
        );
        let dhcp: Vec<&MustNotOpen> = cat()
            .must_not_open
            .iter()
            .filter(|m| m.kind == MustNotKind::NotNeeded && m.condition.is_none())
            .collect();
        assert_eq!(dhcp.len(), 2);
        for m in dhcp {
            assert_eq!(m.ports, [(44400, 44499)]);
            assert_eq!(m.protocol, Protocol::Udp);
        }
        assert_eq!(
            cat().must_not_open_for(Environment::HypervLegacy).count(),
            0
        );
    }

    #[test]
    fn roles() {
        assert!(role_includes("zvm", "zvm"));
        assert!(role_includes("zca", "zvm"));
        assert!(role_includes("zca", "vra"));
        assert!(role_includes("zca", "zca"));
        assert!(!role_includes("zca", "vba"));
        assert!(!role_includes("zvm", "zca"));
        assert!(!role_includes("vra", "zvm"));
        assert!(role_includes("vra", "any"));
    }

    #[test]
    fn environments_round_trip() {
        for e in Environment::ALL {
            assert_eq!(e.to_string().parse::<Environment>(), Ok(e));
        }
        assert_eq!(
            "Hyperv-Legacy".parse::<Environment>(),
            Ok(Environment::HypervLegacy)
        );
        assert!("vmware".parse::<Environment>().is_err());
    }

    #[test]
    fn port_specs() {
        for text in ["9669", "4005-4009", "22,443", "9082+", "1,3-5,7"] {
            assert_eq!(
                PortSpec::parse(text).map(|p| p.display()),
                Ok(text.to_string())
            );
        }
        assert!(PortSpec::parse("0").is_err());
        assert!(PortSpec::parse("10-5").is_err());
        assert!(PortSpec::parse("65536").is_err());
        assert!(PortSpec::parse("").is_err());
        assert!(PortSpec::parse("22,").is_err());
        assert!(PortSpec::parse("9083+").is_err());
    }

    const EXTRA: &str = r#"
version = "site-1"

[[source]]
id = "site.local"
document = "runbook.md"
table = "Local flows"

[[requirement]]
id = "vsphere.zvm-vcenter-443"
environments = ["vsphere"]
ports = "8443"
protocol = "tcp"
from_role = "zvm"
to_role = "vcenter"
direction = "a-to-b"
purpose = "Our vCenter listens on 8443."
source = "site.local"

[[requirement]]
id = "site.zvm-syslog-514"
environments = ["vsphere", "hyperv"]
ports = "514"
protocol = "udp"
from_role = "zvm"
to_role = "syslog"
direction = "a-to-b"
condition = "zvm_version >= 9"
purpose = "Logs to the site syslog server."
source = "site.local"
"#;

    #[test]
    fn merge_replaces_by_id_and_adds_new_ids() {
        let mut c = cat().clone();
        let before = c.requirements.len();
        let position = c
            .requirements
            .iter()
            .position(|r| r.id == "vsphere.zvm-vcenter-443");
        let extra = Catalog::from_toml(EXTRA);
        let Ok(extra) = extra else {
            panic!("{extra:?}")
        };
        c.merge(extra);
        assert_eq!(c.requirements.len(), before + 1);
        assert_eq!(
            c.requirements
                .iter()
                .position(|r| r.id == "vsphere.zvm-vcenter-443"),
            position
        );
        let replaced = c
            .requirement("vsphere.zvm-vcenter-443")
            .map(|r| r.ports.display());
        assert_eq!(replaced.as_deref(), Some("8443"));
        let added = c.requirement("site.zvm-syslog-514");
        assert_eq!(added.map(|r| r.protocol), Some(Protocol::Udp));
        assert_eq!(
            c.for_env(Environment::Hyperv)
                .filter(|r| r.id.starts_with("site."))
                .count(),
            1
        );
        assert_eq!(c.version, "2026.11-1+site-1");
        assert!(c.source("site.local").is_some());
        assert_eq!(c.sources.len(), 7);
    }

    fn error_of(text: &str) -> CatalogError {
        match Catalog::from_toml(text) {
            Ok(_) => panic!("should not load:\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_condition_names_the_requirement_and_points_at_it() {
        let text = EXTRA.replace("zvm_version >= 9", "zvm_version >> 9");
        let e = error_of(&text);
        let CatalogError::Condition {
            id, error, span, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(id, "site.zvm-syslog-514");
        assert_eq!(error.offset, 12);
        assert!(e.to_string().contains("site.zvm-syslog-514"));
        let (start, _) = span.unwrap_or((0, 0));
        assert_eq!(text.get(start..start + 2), Some(">>"));
    }

    #[test]
    fn other_errors_carry_spans() {
        let e = error_of("version = 3");
        assert!(
            matches!(e, CatalogError::Syntax { span: Some(_), .. }),
            "{e:?}"
        );

        let text = EXTRA.replace("site.zvm-syslog-514", "vsphere.zvm-vcenter-443");
        let e = error_of(&text);
        assert!(e.to_string().contains("duplicate"), "{e}");
        let span = e.span().unwrap_or_default();
        assert!(text[span.start..span.end].contains("vsphere.zvm-vcenter-443"));

        let e = error_of(&EXTRA.replace("ports = \"514\"", "ports = \"514-1\""));
        assert!(e.to_string().contains("backwards"), "{e}");

        let e = error_of(&EXTRA.replace("purpose = \"Logs", "purpos = \"Logs"));
        assert!(matches!(e, CatalogError::Syntax { .. }), "{e:?}");

        let e = error_of(&EXTRA.replace("\"syslog\"", "\"Syslog Server\""));
        assert!(e.to_string().contains("kebab-case"), "{e}");

        let e = error_of(&EXTRA.replace("[\"vsphere\", \"hyperv\"]", "[\"vmware\"]"));
        assert!(
            matches!(e, CatalogError::Syntax { span: Some(_), .. }),
            "{e:?}"
        );
    }
}
