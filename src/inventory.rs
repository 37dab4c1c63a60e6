//! `portolan.toml`: the environment, the facts that decide the catalogue's conditions, remapped
//! ports, the sites with the addresses of each role, and which firewall file guards what.
//!
//! ```toml
//! environment = "vsphere"
//!
//! [facts]                 # answers the catalogue's conditions
//! zvm_version = "10.0"
//! peer_zvm_version = "9.7"
//! ltr = "nfs"
//!
//! [ports]                 # installer-changed default ports, by short name or requirement id
//! zvm_api = 19669
//!
//! [[site]]
//! name = "prod"
//! [site.roles]
//! zvm = ["10.10.0.10"]
//! vra = ["10.10.0.21-10.10.0.24"]
//! admin-client = ["10.20.0.0/16"]
//!
//! [[firewall]]
//! path = "fw/prod-zvm.rules"   # relative to this file
//! site = "prod"
//! guards = "host:zvm"           # or "boundary"
//! interfaces = ["eth0"]         # optional: where the peers' traffic arrives
//! ```
//! Every problem in the file is reported at once, each with a label on the value.

pub mod schema;
mod sites;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

use crate::catalog::Environment;
use crate::model::AddrSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    environment: Spanned<String>,
    #[serde(default)]
    facts: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    ports: BTreeMap<String, Spanned<i64>>,
    #[serde(default)]
    site: Vec<RawSite>,
    /// Names rules use for address sets: Azure service tags and ASGs, AWS security groups and
    /// prefix lists, ipsets.
    #[serde(default)]
    addresses: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(default)]
    firewall: Vec<RawFirewall>,
    #[serde(default)]
    waiver: Vec<RawWaiver>,
    /// Globs (relative to the scanned directory) a directory scan keeps; empty keeps all.
    #[serde(default)]
    include: Vec<Spanned<String>>,
    /// Globs a directory scan skips.
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    code: Spanned<String>,
    requirement: Option<String>,
    rule: Option<String>,
    site: Option<String>,
    file: Option<String>,
    reason: Spanned<String>,
    ticket: Option<String>,
    expires: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Spanned<String>,
    #[serde(default)]
    roles: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// MSP: `cloud` (the service provider's) or `customer`; sets the fact `site` for the site.
    kind: Option<Spanned<String>>,
    /// How many VRAs the site runs, where its `vra` addresses do not say (one address each).
    vra_count: Option<Spanned<i64>>,
    /// Facts of this site only (`hypervisor = "hyperv"`, `mode = "icdr"`).
    #[serde(default)]
    facts: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFirewall {
    path: Spanned<String>,
    site: Option<Spanned<String>>,
    guards: Spanned<String>,
    #[serde(default)]
    between: Vec<Spanned<String>>,
    #[serde(default)]
    interfaces: Vec<Spanned<String>>,
    /// Which firewalls of the file (NSG or security group names/ids) this entry means; several
    /// are combined (security groups as a union, NSGs in series: subnet first, then NIC).
    #[serde(default)]
    policies: Vec<Spanned<String>>,
    /// A boundary's place on the path between its two sites, where several stand between them
    /// (1 first, from either site's side read in `between` order).
    order: Option<Spanned<i64>>,
}

/// `[[waiver]]`: accept a known finding for a reason, with a ticket, until a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// `Z201` (or the check's name).
    pub code: String,
    pub requirement: Option<String>,
    /// The rule, by what it is rather than where: an iptables rule's text (`-A INPUT -p tcp
    /// --dport 9669 -j ACCEPT`), an NSG rule's name (`nsg-zca/AllowAdmin`), a Windows rule id, a
    /// security group id, a network ACL entry (`acl-1/ingress 100`), a chain default's label
    /// (`filter/INPUT policy`).
    pub rule: Option<String>,
    pub site: Option<String>,
    /// The firewall file, as the inventory names it (relative to the inventory).
    pub file: Option<PathBuf>,
    pub reason: String,
    pub ticket: Option<String>,
    /// `YYYY-MM-DD`, inclusive: the waiver stops applying the day after.
    pub expires: Option<(i32, u32, u32)>,
    /// 1-based line of the `[[waiver]]` in the inventory, for reports.
    pub line: usize,
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(t: &str) -> Option<(i32, u32, u32)> {
    let mut it = t.trim().splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (1..=12).contains(&m).then_some(())?;
    (1..=days[m as usize - 1]).contains(&d).then_some((y, m, d))
}

/// Today's date (UTC), or `PORTOLAN_TODAY=YYYY-MM-DD` when set (for reproducible runs).
pub fn today() -> (i32, u32, u32) {
    if let Some(d) = std::env::var("PORTOLAN_TODAY")
        .ok()
        .and_then(|t| parse_date(&t))
    {
        return d;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_from_days((secs / 86_400) as i64)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// What a firewall file guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guards {
    /// The host firewall of a host of this role.
    Host(String),
    /// A firewall between sites (its FORWARD path).
    Boundary,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub roles: BTreeMap<String, AddrSet>,
    /// `kind = "cloud" | "customer"` (MSP).
    pub kind: Option<String>,
    /// How many VRAs the site runs: `vra_count`, else its `vra` entries when each is one
    /// address; `None` when neither says.
    pub vras: Option<u32>,
    /// `[site.facts]` as text, with `site = kind` added: what conditions see for its flows.
    pub facts: BTreeMap<String, String>,
    /// Where each of those facts' key and value are in the file.
    fact_spans: BTreeMap<String, (Option<SourceSpan>, Option<SourceSpan>)>,
}

#[derive(Debug, Clone)]
pub struct Firewall {
    /// Resolved against the inventory's folder.
    pub path: PathBuf,
    pub site: Option<String>,
    pub guards: Guards,
    pub between: Vec<String>,
    pub interfaces: Vec<String>,
    pub policies: Vec<String>,
    /// `order = N`: where several boundaries stand between the same two sites, their order on
    /// the path from `between[0]` to `between[1]` (the way back is the reverse); boundaries
    /// without one follow, in the order the inventory declares them.
    pub order: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub file: PathBuf,
    pub environment: Environment,
    /// `key -> value` as text, for the condition context (checked against the catalogue's
    /// facts by [`Inventory::check_facts`]).
    pub facts: BTreeMap<String, String>,
    /// Where each fact's key and value are in the file.
    fact_spans: BTreeMap<String, (Option<SourceSpan>, Option<SourceSpan>)>,
    /// The file's text, for errors found after parsing.
    text: String,
    pub ports: BTreeMap<String, u16>,
    pub sites: Vec<Site>,
    pub firewalls: Vec<Firewall>,
    /// `[addresses]`: names rules use, resolved.
    pub names: BTreeMap<String, AddrSet>,
    pub waivers: Vec<Waiver>,
    /// `include = [...]`: globs a directory scan keeps (all files when empty).
    pub include: Vec<String>,
    /// `exclude = [...]`: globs a directory scan skips.
    pub exclude: Vec<String>,
}

/// All the problems of one inventory file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: the inventory has {} problem(s)", problems.len())]
pub struct InventoryError {
    pub file: String,
    pub src: NamedSource<String>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub message: String,
    pub span: Option<SourceSpan>,
    pub label: String,
}

impl Diagnostic for InventoryError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("inventory"))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.problems.iter().filter_map(|p| {
            let text = if p.label.is_empty() {
                p.message.clone()
            } else {
                format!("{}: {}", p.message, p.label)
            };
            p.span.map(|s| LabeledSpan::new_with_span(Some(text), s))
        })))
    }
}

/// The roles a `[site.roles]` table may name.
pub const ROLES: &[&str] = &[
    "zvm",
    "vra",
    "vba",
    "zcm",
    "zssp",
    "ltr",
    "esxi",
    "vcenter",
    "scvmm",
    "hyperv-host",
    "vcd",
    "zcc",
    "zca",
    "zasa",
    "azure-services",
    "aws-services",
    "smb-repo",
    "nfs-repo",
    "admin-client",
    "vss-agent",
];

/// The union of a list of addresses; each bad one is a problem with its span.
fn addresses(list: &[Spanned<String>], problems: &mut Vec<Problem>) -> AddrSet {
    let mut set = AddrSet::empty();
    for a in list {
        match AddrSet::parse(a.get_ref()) {
            Ok(x) => set = set.union(&x),
            Err(e) => problems.push(Problem {
                message: e.to_string(),
                span: span(a.span()),
                label: "not an address, CIDR or range".into(),
            }),
        }
    }
    set
}

fn span(r: std::ops::Range<usize>) -> Option<SourceSpan> {
    Some((r.start, r.end.saturating_sub(r.start)).into())
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError {
            file: name.clone(),
            src: NamedSource::new(name.clone(), String::new()),
            problems: vec![Problem {
                message: format!("cannot read the inventory: {e}"),
                span: None,
                label: String::new(),
            }],
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Inventory, InventoryError> {
        let name = path.display().to_string();
        let fail = |problems| InventoryError {
            file: name.clone(),
            src: NamedSource::new(name.clone(), text.to_string()).with_language("toml"),
            problems,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            fail(vec![Problem {
                message: e.message().trim().to_string(),
                span: e.span().and_then(span),
                label: "here".into(),
            }])
        })?;
        let mut problems = Vec::new();
        let environment = match raw.environment.get_ref().parse::<Environment>() {
            Ok(e) => Some(e),
            Err(_) => {
                problems.push(Problem {
                    message: format!("unknown environment `{}`", raw.environment.get_ref()),
                    span: span(raw.environment.span()),
                    label: "one of vsphere, hyperv, azure, aws, msp, hyperv-legacy".into(),
                });
                None
            }
        };
        let facts = raw
            .facts
            .iter()
            .map(|(k, v)| {
                let t = match v.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.get_ref().clone(), t)
            })
            .collect();
        let fact_spans = raw
            .facts
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), (span(k.span()), span(v.span()))))
            .collect();
        let mut ports = BTreeMap::new();
        for (k, v) in &raw.ports {
            match u16::try_from(*v.get_ref()) {
                Ok(p) if p > 0 => {
                    ports.insert(k.clone(), p);
                }
                _ => problems.push(Problem {
                    message: format!("port `{}` for `{k}` is out of range", v.get_ref()),
                    span: span(v.span()),
                    label: "a port is 1-65535".into(),
                }),
            }
        }
        let mut sites = Vec::new();
        for s in &raw.site {
            let mut roles = BTreeMap::new();
            for (role, addrs) in &s.roles {
                if !ROLES.contains(&role.get_ref().as_str()) {
                    problems.push(Problem {
                        message: format!("unknown role `{}`", role.get_ref()),
                        span: span(role.span()),
                        label: "not a Zerto role".into(),
                    });
                    continue;
                }
                roles.insert(role.get_ref().clone(), addresses(addrs, &mut problems));
            }
            sites.push(sites::site(s, roles, &mut problems));
        }
        let mut names = BTreeMap::new();
        for (name, addrs) in &raw.addresses {
            names.insert(name.clone(), addresses(addrs, &mut problems));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut firewalls = Vec::new();
        for f in &raw.firewall {
            let guards = match f.guards.get_ref().as_str() {
                "boundary" => Some(Guards::Boundary),
                g => match g.strip_prefix("host:") {
                    Some(r) if ROLES.contains(&r) => Some(Guards::Host(r.to_string())),
                    _ => {
                        problems.push(Problem {
                            message: format!("`{g}` is not what a firewall can guard"),
                            span: span(f.guards.span()),
                            label: "write `host:ROLE` (e.g. `host:zvm`) or `boundary`".into(),
                        });
                        None
                    }
                },
            };
            for s in f.site.iter().chain(f.between.iter()) {
                if !sites.iter().any(|x: &Site| &x.name == s.get_ref()) {
                    problems.push(Problem {
                        message: format!("no site is named `{}`", s.get_ref()),
                        span: span(s.span()),
                        label: "not a [[site]] name".into(),
                    });
                }
            }
            if guards == Some(Guards::Boundary) && f.between.len() != 2 {
                problems.push(Problem {
                    message: "a boundary firewall needs `between = [\"site-a\", \"site-b\"]`"
                        .into(),
                    span: span(f.guards.span()),
                    label: "between which sites?".into(),
                });
            }
            let order = match &f.order {
                None => None,
                Some(o) => match u32::try_from(*o.get_ref()) {
                    Ok(n) if n > 0 && guards == Some(Guards::Boundary) => Some(n),
                    Ok(n) if n > 0 => {
                        problems.push(Problem {
                            message: "only a boundary firewall has an `order` on a path".into(),
                            span: span(o.span()),
                            label: "a host firewall is first or last on its paths".into(),
                        });
                        None
                    }
                    _ => {
                        problems.push(Problem {
                            message: format!("`order = {}` is not a position", o.get_ref()),
                            span: span(o.span()),
                            label: "1, 2, 3, ... from the first site of `between`".into(),
                        });
                        None
                    }
                },
            };
            if let Some(guards) = guards {
                firewalls.push(Firewall {
                    path: normalise(&base.join(f.path.get_ref())),
                    site: f.site.as_ref().map(|s| s.get_ref().clone()),
                    guards,
                    between: f.between.iter().map(|s| s.get_ref().clone()).collect(),
                    interfaces: f.interfaces.iter().map(|s| s.get_ref().clone()).collect(),
                    policies: f.policies.iter().map(|s| s.get_ref().clone()).collect(),
                    order,
                });
            }
        }
        let mut waivers = Vec::new();
        for w in &raw.waiver {
            if crate::checks::find(w.code.get_ref()).is_none() {
                problems.push(Problem {
                    message: format!("no check has the code `{}`", w.code.get_ref()),
                    span: span(w.code.span()),
                    label: "see `portolan explain --list`".into(),
                });
            }
            if w.reason.get_ref().trim().is_empty() {
                problems.push(Problem {
                    message: "a waiver needs a reason".into(),
                    span: span(w.reason.span()),
                    label: "say why this finding is accepted".into(),
                });
            }
            let expires = match &w.expires {
                Some(e) => match parse_date(e.get_ref()) {
                    Some(d) => Some(d),
                    None => {
                        problems.push(Problem {
                            message: format!("`{}` is not a date", e.get_ref()),
                            span: span(e.span()),
                            label: "write YYYY-MM-DD".into(),
                        });
                        None
                    }
                },
                None => None,
            };
            waivers.push(Waiver {
                code: crate::checks::find(w.code.get_ref())
                    .map(|c| c.code.to_string())
                    .unwrap_or_else(|| w.code.get_ref().clone()),
                requirement: w.requirement.clone(),
                rule: w.rule.clone(),
                site: w.site.clone(),
                file: w.file.as_ref().map(|f| normalise(&base.join(f))),
                reason: w.reason.get_ref().clone(),
                ticket: w.ticket.clone(),
                expires,
                line: text[..w.code.span().start.min(text.len())]
                    .lines()
                    .count()
                    .max(1),
            });
        }
        for g in raw.include.iter().chain(raw.exclude.iter()) {
            if let Err(e) = globset::Glob::new(g.get_ref()) {
                problems.push(Problem {
                    message: format!("`{}` is not a glob: {}", g.get_ref(), e.kind()),
                    span: span(g.span()),
                    label: "a glob such as `fw/**` or `**/old/**`".into(),
                });
            }
        }
        match (environment, problems.is_empty()) {
            (Some(environment), true) => Ok(Inventory {
                file: path.to_path_buf(),
                environment,
                facts,
                fact_spans,
                text: text.to_string(),
                ports,
                sites,
                firewalls,
                names,
                waivers,
                include: raw.include.iter().map(|g| g.get_ref().clone()).collect(),
                exclude: raw.exclude.iter().map(|g| g.get_ref().clone()).collect(),
            }),
            _ => Err(fail(problems)),
        }
    }

    /// Hold `[facts]` to the catalogue's registry: every unknown name or ill-typed value is a
    /// problem, labelled on the key or the value, all reported at once.
    pub fn check_facts(&self, catalog: &crate::catalog::Catalog) -> Result<(), InventoryError> {
        use crate::catalog::facts::FactError;
        let mut problems = Vec::new();
        let site_facts = self.sites.iter().flat_map(|s| {
            s.facts
                .iter()
                .map(move |(k, v)| (k, v, s.fact_spans.get(k).copied().unwrap_or_default()))
        });
        let all = self
            .facts
            .iter()
            .map(|(k, v)| (k, v, self.fact_spans.get(k).copied().unwrap_or_default()))
            .chain(site_facts);
        for (k, v, (key_span, value_span)) in all {
            if let Err(e) = catalog.validate_fact(k, v) {
                let span = match &e {
                    FactError::Unknown { .. } => key_span,
                    FactError::BadValue { .. } => value_span,
                };
                problems.push(Problem {
                    message: e.to_string(),
                    span,
                    label: String::new(),
                });
            }
        }
        problems.extend(self.draas_9081(catalog));
        if problems.is_empty() {
            return Ok(());
        }
        let name = self.file.display().to_string();
        Err(InventoryError {
            file: name.clone(),
            src: NamedSource::new(name, self.text.clone()).with_language("toml"),
            problems,
        })
    }

    /// The seed: 9081 "must not be changed when providing DRaaS". In an MSP inventory whose
    /// run or a site says `mode = "draas"`, a `[ports]` entry moving a 9081 requirement (by its
    /// short name `zvm_pairing` or an MSP 9081 requirement's id) is an error.
    fn draas_9081(&self, catalog: &crate::catalog::Catalog) -> Vec<Problem> {
        use crate::catalog::{Environment, PortSpec};
        let draas = |f: &BTreeMap<String, String>| {
            f.get("mode")
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("draas"))
        };
        if self.environment != Environment::Msp
            || !(draas(&self.facts) || self.sites.iter().any(|s| draas(&s.facts)))
        {
            return Vec::new();
        }
        let is_9081 = |r: &crate::catalog::Requirement| matches!(&r.ports, PortSpec::List(l) if l.as_slice() == [(9081, 9081)]);
        let moved: Vec<&String> = self
            .ports
            .keys()
            .filter(|k| {
                catalog.requirements.iter().any(|r| {
                    is_9081(r)
                        && (r.port_key.as_deref() == Some(k.as_str())
                            || (r.id == **k && r.environments.contains(&Environment::Msp)))
                })
            })
            .collect();
        moved
            .into_iter()
            .map(|k| Problem {
                message: format!(
                    "[ports] {k} moves 9081, which must stay 9081 when the service provider offers DRaaS (mode = \"draas\")"
                ),
                span: self.text.find(&format!("{k} =")).map(|at| (at, k.len()).into()),
                label: "9081 is fixed for DRaaS".into(),
            })
            .collect()
    }

    /// The names firewall rules may use, resolved: `[addresses]`, plus each firewall's
    /// `policies` names (a security group referenced by another) as the addresses of the role
    /// it guards at its site.
    pub fn resolver(&self) -> crate::formats::Resolver {
        let mut r = crate::formats::Resolver::default();
        for f in &self.firewalls {
            if let Guards::Host(role) = &f.guards {
                let set = self.addresses(role, f.site.as_deref());
                if !set.is_empty() {
                    for p in &f.policies {
                        r.insert(p, set.clone());
                    }
                }
            }
        }
        for (k, v) in &self.names {
            r.insert(k, v.clone());
        }
        r
    }

    /// The addresses of a role at one site, or at every site.
    pub fn addresses(&self, role: &str, site: Option<&str>) -> AddrSet {
        self.sites
            .iter()
            .filter(|s| site.is_none_or(|n| n == s.name))
            .filter_map(|s| s.roles.get(role))
            .fold(AddrSet::empty(), |a, b| a.union(b))
    }

    /// The addresses of every role that plays `role` at one site (a ZCA plays zvm and vra:
    /// [`crate::catalog::role_includes`]).
    pub fn addresses_playing(&self, role: &str, site: &str) -> AddrSet {
        ROLES
            .iter()
            .filter(|r| crate::catalog::role_includes(r, role))
            .fold(AddrSet::empty(), |a, r| {
                a.union(&self.addresses(r, Some(site)))
            })
    }

    /// The firewall entries for an input file, matched by canonical path (a file of several
    /// NSGs or groups may have one entry per firewall in it).
    pub fn firewalls_for(&self, file: &Path) -> Vec<&Firewall> {
        let want = std::fs::canonicalize(file).ok();
        self.firewalls
            .iter()
            .filter(|f| {
                let have = std::fs::canonicalize(&f.path).ok();
                (want.is_some() && want == have) || f.path == file
            })
            .collect()
    }
}

/// `a/b/../c` → `a/c`, lexically (no file system access), so reports show tidy paths.
fn normalise(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}
