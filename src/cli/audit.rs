//! `portolan audit`: read firewall files, evaluate every required Zerto flow, report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::catalog::condition::Context;
use crate::catalog::{Catalog, Environment};
use crate::engine::{self as engine, AuditOptions, Severity};
use crate::inventory::Inventory;
use crate::report::{
    concise, github, gitlab, html, human, json, junit, markdown, sarif, OutputFormat,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// The least severity that fails the run, if any does.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// The options that say what to audit against, shared by `audit`, `diff` and `fix`.
#[derive(Debug, Args)]
pub struct AuditOptionArgs {
    /// The inventory (`portolan.toml`): environment, facts, sites, role addresses, firewalls.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// The Zerto environment (overrides the inventory's).
    #[arg(long)]
    pub env: Option<Environment>,
    /// Quick mode: audit every file as the host firewall of a host of this role (zvm, vra, zca, ...).
    #[arg(long)]
    pub role: Option<String>,
    /// A fact that decides catalogue conditions, e.g. `--set zvm_version=10.0 --set ltr=nfs`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub facts: Vec<String>,
    /// Addresses for a name rules use (Azure service tag or ASG, AWS security group or prefix
    /// list, ipset), e.g. `--address VirtualNetwork=10.50.0.0/16`; repeat or separate with commas.
    #[arg(long = "address", value_name = "NAME=CIDR,...")]
    pub addresses: Vec<String>,
    /// Windows Firewall: the active profile(s), domain, private or public (default: all three,
    /// and a flow must pass in each).
    #[arg(long = "profile", value_name = "PROFILE", value_parser = ["domain", "private", "public"])]
    pub profiles: Vec<String>,
    /// The interface(s) the peers' traffic uses (default: any interface but loopback).
    #[arg(long = "interface", value_name = "NAME")]
    pub interfaces: Vec<String>,
    /// Add or override requirements from a TOML file in the catalogue's format.
    #[arg(long = "catalog", value_name = "FILE")]
    pub extra_catalog: Option<PathBuf>,
    /// Refuse input files larger than this (e.g. `512M`, `2G`; K, M, G, T are powers of 1024),
    /// checked before reading. A file is read whole, because every finding points into its text,
    /// and auditing takes about three times its size in memory; a refused file is a Z003 and
    /// the rest of the run is audited.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_input_size: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// A size with an optional binary unit: `1048576`, `512K`, `512M`, `2G`, `1GiB`, `1T`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num.parse().map_err(|_| {
        format!("`{s}` is not a size: write a whole number with an optional unit, e.g. 512M or 2G")
    })?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        u => {
            return Err(format!(
                "`{u}` is not a size unit: use K, M, G or T (powers of 1024)"
            ))
        }
    };
    if n == 0 {
        return Err("the limit must be more than 0".into());
    }
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl AuditOptionArgs {
    /// Read and check the options (see [`Setup::new`]).
    pub(crate) fn setup(&self) -> Result<Setup, u8> {
        Setup::new(&SetupArgs {
            inventory: self.inventory.as_deref(),
            env: self.env,
            role: self.role.as_deref(),
            facts: &self.facts,
            addresses: &self.addresses,
            interfaces: &self.interfaces,
            profiles: &self.profiles,
            extra_catalog: self.extra_catalog.as_deref(),
            max_input_size: self.max_input_size,
            config: &self.config,
        })
    }
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Firewall files or directories (scanned recursively). With an inventory and no paths, the
    /// inventory's firewalls are audited.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: AuditOptionArgs,
    /// Output format; repeat with `--output` to write several reports from one run
    /// (`--format sarif --output a.sarif --format junit --output a.xml`).
    #[arg(long, value_enum)]
    pub format: Vec<OutputFormat>,
    /// Write the report to this file (atomically) instead of standard output; the n-th
    /// `--output` takes the n-th `--format`.
    #[arg(long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Report only findings that are not in this baseline (written by `--write-baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record today's findings by fingerprint, for `--baseline` in later runs.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Human output: only the findings and the summary line, no per-file flow lists.
    #[arg(long, short)]
    pub quiet: bool,
    /// Show the native fix of each blocked or partial flow in the human and Markdown reports
    /// (JSON always carries it as `fix`).
    #[arg(long)]
    pub fix_suggestions: bool,
    /// Print how many findings of each code there are (after the report, on standard error).
    #[arg(long)]
    pub statistics: bool,
    /// Exit 1 when a finding of at least this severity is reported.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
}

/// Inventory discovery and the globs of directory scans, shared by `audit`, `diff` and `fix`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Do not look for a `portolan.toml` in the current directory and its parents.
    #[arg(long)]
    pub no_config: bool,
    /// Directory scans read only files matching this glob (relative to the scanned directory,
    /// e.g. `fw/**`); repeatable. Files named explicitly are always read.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Directory scans skip files matching this glob (e.g. `**/old/**`); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// The name of the inventory file that discovery looks for.
pub const CONFIG_NAME: &str = "portolan.toml";

/// Look for `portolan.toml` in `start` and its parents, stopping after a directory that holds
/// `.git` (the repository root). Returns the path relative to `start` (`portolan.toml`,
/// `../portolan.toml`, ...), so reports show short paths.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = start.to_path_buf();
    let mut up = PathBuf::new();
    loop {
        if dir.join(CONFIG_NAME).is_file() {
            return Some(up.join(CONFIG_NAME));
        }
        if dir.join(".git").exists() {
            return None;
        }
        if !dir.pop() {
            return None;
        }
        up.push("..");
    }
}

pub(crate) fn load_catalog(extra: Option<&Path>) -> Result<Catalog, u8> {
    let mut cat = Catalog::embedded().clone();
    if let Some(p) = extra {
        let text = std::fs::read_to_string(p).map_err(|e| {
            eprintln!("portolan: cannot read the catalogue {}: {e}", p.display());
            super::EXIT_USAGE
        })?;
        match Catalog::from_toml(&text) {
            Ok(x) => cat.merge(x),
            Err(e) => {
                let name = p.display().to_string();
                let report = miette::Report::msg(e.to_string());
                let report = match e.span() {
                    Some(s) => report
                        .with_source_code(miette::NamedSource::new(name, text))
                        .wrap_err(format!("in --catalog file (bytes {}..{})", s.start, s.end)),
                    None => report.wrap_err(format!("in --catalog file {name}")),
                };
                eprintln!("{report:?}");
                return Err(super::EXIT_USAGE);
            }
        }
    }
    Ok(cat)
}

/// A whole catalogue file (an older `zerto.toml`), for `portolan catalog --diff`.
pub(crate) fn load_old_catalog(p: &Path) -> Result<Catalog, u8> {
    let text = std::fs::read_to_string(p).map_err(|e| {
        eprintln!("portolan: cannot read the catalogue {}: {e}", p.display());
        super::EXIT_USAGE
    })?;
    Catalog::from_toml(&text).map_err(|e| {
        eprintln!("portolan: {}: {e}", p.display());
        super::EXIT_USAGE
    })
}

/// The audit options `audit` and `diff` share, as given on the command line.
pub(crate) struct SetupArgs<'a> {
    pub inventory: Option<&'a Path>,
    pub env: Option<Environment>,
    pub role: Option<&'a str>,
    pub facts: &'a [String],
    pub addresses: &'a [String],
    pub interfaces: &'a [String],
    pub profiles: &'a [String],
    pub extra_catalog: Option<&'a Path>,
    pub max_input_size: u64,
    pub config: &'a ConfigArgs,
}

/// What an audit runs with: the catalogue, the inventory, the facts and the names rules use,
/// checked once; [`Setup::audit`] then audits any set of paths with them.
pub(crate) struct Setup {
    pub catalog: Catalog,
    pub inventory: Option<Inventory>,
    env: Option<Environment>,
    role: Option<String>,
    facts: Context,
    names: crate::formats::Resolver,
    interfaces: Vec<String>,
    profiles: Vec<String>,
    filter: crate::load::ScanFilter,
    max_input_size: u64,
}

impl Setup {
    /// Read and check the options; on a problem, say so on standard error and return the exit code.
    pub fn new(a: &SetupArgs<'_>) -> Result<Setup, u8> {
        let catalog = load_catalog(a.extra_catalog)?;
        let discovered = match (a.inventory, a.role, a.config.no_config) {
            (None, None, false) => std::env::current_dir().ok().and_then(|cwd| discover(&cwd)),
            _ => None,
        };
        if let Some(p) = &discovered {
            let shown = if p.parent().is_some_and(|d| d.as_os_str().is_empty()) {
                Path::new(".").join(p)
            } else {
                p.clone()
            };
            eprintln!("portolan: using inventory {}", shown.display());
        }
        let inventory = match a.inventory.or(discovered.as_deref()) {
            Some(p) => match Inventory::load(p) {
                Ok(i) => Some(i),
                Err(e) => {
                    eprintln!("{:?}", miette::Report::new(e));
                    return Err(super::EXIT_USAGE);
                }
            },
            None => None,
        };
        let env = a.env.or(inventory.as_ref().map(|i| i.environment));
        if env.is_none() {
            eprintln!("portolan: say which Zerto environment to audit for: --env vsphere|hyperv|azure|aws|msp|hyperv-legacy, or an --inventory");
            return Err(super::EXIT_USAGE);
        }
        if a.role.is_none() && inventory.is_none() {
            eprintln!("portolan: say what the files guard: --role ROLE (quick mode, e.g. --role zvm) or an --inventory");
            return Err(super::EXIT_USAGE);
        }
        if let Some(r) = a.role {
            if !crate::catalog::ROLES.iter().any(|(n, _)| *n == r) || r == "any" {
                let names: Vec<&str> = crate::catalog::ROLES
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| *n != "any")
                    .collect();
                eprintln!("portolan: unknown role `{r}`; one of: {}", names.join(", "));
                return Err(super::EXIT_USAGE);
            }
        }
        let mut facts = Context::new();
        for (k, v, _) in crate::catalog::condition::DEFAULT_FACTS {
            facts.set(k, v);
        }
        if let Some(inv) = &inventory {
            for (k, v) in &inv.facts {
                facts.set(k, v);
            }
        }
        for kv in a.facts {
            match kv.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => facts.set(k.trim(), v.trim()),
                _ => {
                    eprintln!(
                        "portolan: `--set {kv}`: write KEY=VALUE, e.g. `--set zvm_version=10.0`"
                    );
                    return Err(super::EXIT_USAGE);
                }
            }
        }
        let mut names = inventory.as_ref().map(|i| i.resolver()).unwrap_or_default();
        for kv in a.addresses {
            let Some((k, v)) = kv.split_once('=') else {
                eprintln!("portolan: `--address {kv}`: write NAME=CIDR[,CIDR...], e.g. `--address VirtualNetwork=10.50.0.0/16`");
                return Err(super::EXIT_USAGE);
            };
            for part in v.split(',') {
                match crate::model::AddrSet::parse(part) {
                    Ok(set) => names.insert(k.trim(), set),
                    Err(e) => {
                        eprintln!("portolan: `--address {kv}`: {e}");
                        return Err(super::EXIT_USAGE);
                    }
                }
            }
        }
        let (mut include, mut exclude) = inventory
            .as_ref()
            .map(|i| (i.include.clone(), i.exclude.clone()))
            .unwrap_or_default();
        include.extend(a.config.include.iter().cloned());
        exclude.extend(a.config.exclude.iter().cloned());
        let filter = match crate::load::ScanFilter::new(&include, &exclude) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("portolan: {e}");
                return Err(super::EXIT_USAGE);
            }
        };
        Ok(Setup {
            catalog,
            inventory,
            filter,
            max_input_size: a.max_input_size,
            env: a.env,
            role: a.role.map(str::to_string),
            facts,
            names,
            interfaces: a.interfaces.to_vec(),
            profiles: a.profiles.to_vec(),
        })
    }

    /// Load the paths and audit them (with this inventory, which may differ from the one read,
    /// e.g. with its firewall paths moved), then apply the inventory's waivers.
    pub fn audit(&self, paths: &[PathBuf], inventory: Option<&Inventory>) -> engine::Report {
        let files =
            crate::load::load_filtered(paths, &self.names, &self.filter, self.max_input_size);
        let opts = AuditOptions {
            catalog: &self.catalog,
            env: self.env,
            role: self.role.clone(),
            inventory,
            facts: self.facts.clone(),
            interfaces: self.interfaces.clone(),
            profiles: self.profiles.clone(),
        };
        let mut report = engine::audit(files, &opts);
        if let Some(inv) = inventory {
            engine::waiver::apply(
                &mut report,
                &inv.waivers,
                &inv.file,
                crate::inventory::today(),
            );
        }
        report
    }
}

pub fn run(a: AuditArgs) -> u8 {
    let formats = if a.format.is_empty() {
        vec![OutputFormat::Human]
    } else {
        a.format.clone()
    };
    if !(a.output.is_empty() && formats.len() == 1) && a.output.len() != formats.len() {
        eprintln!(
            "portolan: {} --format and {} --output: give one --output per --format (or one --format and no --output for standard output)",
            formats.len(),
            a.output.len()
        );
        return super::EXIT_USAGE;
    }
    let setup = match a.opts.setup() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut paths = a.paths.clone();
    if paths.is_empty() {
        match &setup.inventory {
            Some(inv) if !inv.firewalls.is_empty() => {
                paths = inv.firewalls.iter().map(|f| f.path.clone()).collect();
            }
            _ => {
                eprintln!("portolan: name the firewall files or directories to audit");
                return super::EXIT_USAGE;
            }
        }
    }
    let mut report = setup.audit(&paths, setup.inventory.as_ref());
    report.show_fixes = a.fix_suggestions;
    if let Some(p) = &a.baseline {
        let parsed = std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()));
        match parsed {
            Ok(b) if b["schema"] == "portolan-baseline/1" => {
                report.baselined = engine::waiver::apply_baseline(&mut report, &b);
            }
            Ok(_) => {
                eprintln!(
                    "portolan: {} is not a Portolan baseline (portolan-baseline/1)",
                    p.display()
                );
                return super::EXIT_USAGE;
            }
            Err(e) => {
                eprintln!("portolan: cannot read the baseline {}: {e}", p.display());
                return super::EXIT_USAGE;
            }
        }
    }
    // never overwrite an input (checked before anything is written)
    let inputs: Vec<PathBuf> = report
        .files
        .iter()
        .filter_map(|f| std::fs::canonicalize(&f.path).ok())
        .collect();
    let outputs = a.output.iter().map(|p| ("--output", p));
    for (flag, out) in outputs.chain(a.write_baseline.iter().map(|p| ("--write-baseline", p))) {
        if std::fs::canonicalize(out).is_ok_and(|o| inputs.contains(&o)) {
            eprintln!(
                "portolan: {flag} {} is one of the inputs; refusing to overwrite it",
                out.display()
            );
            return super::EXIT_USAGE;
        }
    }
    if let Some(p) = &a.write_baseline {
        let v = engine::waiver::baseline_json(&report);
        if let Err(code) = write_file(p, |w| {
            serde_json::to_writer_pretty(&mut *w, &v)?;
            w.write_all(b"\n")
        }) {
            return code;
        }
    }

    let render = |format: OutputFormat, out: &mut dyn std::io::Write, terminal: bool| match format {
        OutputFormat::Human => {
            let mut style = human::Style::detect(terminal);
            style.quiet = a.quiet;
            human::render(&report, out, style)
        }
        OutputFormat::Json => json::render(&report, out),
        OutputFormat::Sarif => sarif::render(&report, out),
        OutputFormat::Junit => junit::render(&report, out),
        OutputFormat::Markdown => markdown::render(&report, out),
        OutputFormat::Html => html::render(&report, out),
        OutputFormat::Github => github::render(&report, out),
        OutputFormat::Gitlab => gitlab::render(&report, out),
        OutputFormat::Concise => concise::render(&report, out),
    };
    if a.output.is_empty() {
        if let Err(code) =
            super::write_stdout(|w| render(formats[0], w, std::io::stdout().is_terminal()))
        {
            return code;
        }
    } else {
        for (format, path) in formats.iter().zip(&a.output) {
            if let Err(code) = write_file(path, |w| render(*format, w, false)) {
                return code;
            }
        }
    }
    if a.statistics {
        let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        for f in report.findings.iter().filter(|f| !f.is_waived()) {
            *counts.entry((f.code, f.name)).or_default() += 1;
        }
        for ((code, name), n) in counts {
            eprintln!("{n:>6}  {code} {name}");
        }
        if report.waived() > 0 {
            eprintln!("{:>6}  waived", report.waived());
        }
        if report.baselined > 0 {
            eprintln!("{:>6}  in the baseline (not shown)", report.baselined);
        }
    }
    let code = exit_code(&report, a.fail_on);
    // the process ends right after this: freeing every file's text, model and flow one by one
    // took a tenth of a 10,000-file run (README, Performance), and the OS takes it back at once
    std::mem::forget(report);
    code
}

fn exit_code(report: &engine::Report, fail_on: FailOn) -> u8 {
    if report.input_failed {
        return super::EXIT_USAGE;
    }
    match fail_on.threshold() {
        Some(t)
            if report
                .findings
                .iter()
                .any(|f| f.severity >= t && !f.is_waived()) =>
        {
            super::EXIT_FINDINGS
        }
        _ => super::EXIT_CLEAN,
    }
}

/// Write a report atomically: a temporary file next to the target, then a rename.
fn write_file(
    path: &Path,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), u8> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.portolan-{}.tmp", std::process::id()));
    let res = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f(&mut file)?;
        std::io::Write::flush(&mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("portolan: cannot write {}: {e}", path.display());
        super::EXIT_USAGE
    })
}
