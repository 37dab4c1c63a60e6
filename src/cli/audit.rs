//! `portolan audit`: read firewall files, evaluate every required Zerto flow, report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::catalog::{Catalog, Environment};
use crate::engine::{self as engine, Severity};
use crate::report::tally::Tally;
use crate::report::{human, OutputFormat};

/// `--format NAME`: the report's formats, listed with their help in `--help`.
pub(crate) fn format_parser() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        OutputFormat::ALL
            .iter()
            .map(|(_, name, help)| PossibleValue::new(*name).help(*help)),
    )
    .map(|name| OutputFormat::from_name(&name).unwrap_or(OutputFormat::Human))
}

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
    /// The guarded host's own address(es), where the inventory names none (default: any
    /// unicast address that is not loopback, multicast, broadcast, link-local or unspecified);
    /// repeat or separate with commas.
    #[arg(long = "host-address", value_name = "CIDR,...")]
    pub host_addresses: Vec<String>,
    /// Where the peers are, without an inventory (quick mode): each flow is evaluated for these
    /// addresses only, and is allowed only if every one of them gets through (partial if some
    /// do); fixes name them instead of PEERS. Repeat or separate with commas. Same as
    /// `--set peers=CIDR,...`.
    #[arg(long = "peers", value_name = "CIDR,...")]
    pub peers: Vec<String>,
    /// Quick mode: audit only these rulesets of each file (security group ids, NSG names,
    /// profiles: the names the report shows), together as one firewall — an instance's security
    /// groups, all attached to one interface. The same as `--set policy=NAME,...`.
    #[arg(long = "policy", value_name = "NAME,...")]
    pub policy: Vec<String>,
    /// An ARM deployment's parameters file (`main.parameters.prod.json`), whose values win over
    /// the templates' `defaultValue`s; without it `<template>.parameters.json` beside a template
    /// is read. The same as `--set arm_parameters=FILE`.
    #[arg(long = "arm-parameters", value_name = "FILE")]
    pub arm_parameters: Option<PathBuf>,
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
    /// Read and check the options (see [`crate::run::Config::new`]); on a problem, say so on
    /// standard error and return the exit code.
    pub(crate) fn setup(&self) -> Result<Setup, u8> {
        let mut facts = self.facts.clone();
        if !self.peers.is_empty() {
            facts.push(format!(
                "{}={}",
                crate::engine::reach::PEERS_FACT,
                self.peers.join(",")
            ));
        }
        if let Some(p) = &self.arm_parameters {
            if !p.is_file() {
                eprintln!("portolan: --arm-parameters {}: no such file", p.display());
                return Err(super::EXIT_USAGE);
            }
            facts.push(format!(
                "{}={}",
                crate::formats::azure::PARAMETERS_FACT,
                p.display()
            ));
        }
        if !self.policy.is_empty() {
            facts.push(format!(
                "{}={}",
                crate::engine::targets::POLICY_FACT,
                self.policy.join(",")
            ));
        }
        let setup = crate::run::Config::new(&crate::run::ConfigInput {
            inventory: self.inventory.as_deref(),
            env: self.env,
            role: self.role.as_deref(),
            facts: &facts,
            addresses: &self.addresses,
            interfaces: &self.interfaces,
            profiles: &self.profiles,
            host_addresses: &self.host_addresses,
            extra_catalog: self.extra_catalog.as_deref(),
            max_input_size: self.max_input_size,
            no_config: self.config.no_config,
            include: &self.config.include,
            exclude: &self.config.exclude,
        })
        .map_err(config_error)?;
        if let Some(p) = &setup.discovered {
            let shown = if p.parent().is_some_and(|d| d.as_os_str().is_empty()) {
                Path::new(".").join(p)
            } else {
                p.clone()
            };
            eprintln!("portolan: using inventory {}", shown.display());
        }
        Ok(setup)
    }

    /// The run record of a run that started at `started` (seconds since 1970), audited for
    /// `environment` and read the files at `inputs`; a file's hash in `read` (read while the
    /// audit ran) is not read again.
    pub(crate) fn run_record(
        &self,
        setup: &Setup,
        environment: Option<Environment>,
        inputs: &[String],
        read: &[crate::provenance::Hashed],
        started: i64,
    ) -> crate::provenance::RunRecord {
        use crate::provenance as p;
        let read: std::collections::HashMap<&str, &p::Hashed> =
            read.iter().map(|h| (h.path.as_str(), h)).collect();
        let mut facts = self.facts.clone();
        for (key, values) in [
            ("peers", &self.peers),
            ("policy", &self.policy),
            ("host-address", &self.host_addresses),
            ("address", &self.addresses),
            ("profile", &self.profiles),
            ("interface", &self.interfaces),
        ] {
            facts.extend(values.iter().map(|v| format!("--{key} {v}")));
        }
        let inventory = self
            .inventory
            .clone()
            .or_else(|| setup.discovered.clone())
            .map(|i| p::hashed(&i.to_string_lossy()));
        p::RunRecord {
            started: p::rfc3339(started),
            ended: p::rfc3339(p::now_epoch()),
            tool: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            catalog: p::catalog_record(&setup.catalog.version, self.extra_catalog.as_deref()),
            environment: environment.map(|e| e.as_str().to_string()),
            role: self.role.clone(),
            facts,
            inventory,
            // a file refused for its size is not read for its hash either; the files are read
            // and hashed on every core (10,000 small files take 0.2 s on one)
            inputs: inputs
                .par_iter()
                .map(|f| {
                    if let Some(&h) = read.get(f.as_str()) {
                        return h.clone();
                    }
                    match std::fs::metadata(f) {
                        Ok(m) if m.len() > self.max_input_size => p::Hashed {
                            path: f.clone(),
                            sha256: None,
                        },
                        _ => p::hashed(f),
                    }
                })
                .collect(),
            vcs: std::env::current_dir().ok().and_then(|d| p::vcs(&d)),
        }
    }
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Firewall files or directories (scanned recursively); `-` is standard input. With an
    /// inventory and no paths, the inventory's firewalls are audited.
    pub paths: Vec<PathBuf>,
    /// The name standard input (`-`) goes by: its extension and name guide format detection
    /// as a file's would, and reports show it (default `-`).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    #[command(flatten)]
    pub opts: AuditOptionArgs,
    /// Output format; repeat with `--output` to write several reports from one run
    /// (`--format sarif --output a.sarif --format junit --output a.xml`).
    #[arg(long, value_parser = format_parser())]
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
    /// Human output: every finding in full (by default a finding whose code and help an
    /// earlier one of the same file showed is counted, not repeated), and the files a
    /// directory scan skipped as no firewall export.
    #[arg(long, short)]
    pub verbose: bool,
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
    /// Audit one job's share of the inputs, for a CI matrix of N jobs: `--shard 2/4`. The share
    /// is whole files, balanced by size and the same in every job; write each job's report with
    /// `--format json` and put them together with `portolan merge`. Not with an inventory or
    /// `--policy`, whose flows cross files.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::load::shard::Shard>,
    /// Report only findings whose code starts with one of these (ruff-style: `Z1` every flow
    /// finding, `Z301` one code, `ALL`); repeat or separate with commas. The longest matching
    /// prefix of `--select` and `--ignore` decides; on a tie `--ignore` wins.
    #[arg(long, value_name = "CODE,...", value_delimiter = ',')]
    pub select: Vec<String>,
    /// Leave out findings whose code starts with one of these (`Z3`, `Z203`).
    #[arg(long, value_name = "CODE,...", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Exit 0 even when no firewall was audited (by default a run that audits nothing — no
    /// export recognised, a mistyped path — is bad usage, exit 2).
    #[arg(long)]
    pub allow_empty: bool,
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
pub use crate::run::CONFIG_NAME;

/// What an audit runs with (the library's [`crate::run::Config`]).
pub(crate) type Setup = crate::run::Config;

/// Print a configuration error the way the command line shows it (a miette report where the
/// error has a source span) and give the exit code for it.
pub(crate) fn config_error(e: crate::run::ConfigError) -> u8 {
    use crate::run::ConfigError;
    match e {
        ConfigError::Inventory(e) => eprintln!("{:?}", miette::Report::new(*e)),
        ConfigError::Catalog { path, text, error } => {
            let name = path.display().to_string();
            let report = miette::Report::msg(error.to_string());
            let report = match error.span() {
                Some(s) => report
                    .with_source_code(miette::NamedSource::new(name, text))
                    .wrap_err(format!("in --catalog file (bytes {}..{})", s.start, s.end)),
                None => report.wrap_err(format!("in --catalog file {name}")),
            };
            eprintln!("{report:?}");
        }
        other => eprintln!("portolan: {other}"),
    }
    super::EXIT_USAGE
}

pub(crate) fn load_catalog(extra: Option<&Path>) -> Result<Catalog, u8> {
    crate::run::load_catalog(extra).map_err(config_error)
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

pub fn run(a: AuditArgs) -> u8 {
    let started = crate::provenance::now_epoch();
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
    let selection = match Selection::new(&a.select, &a.ignore) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("portolan: {e}");
            return super::EXIT_USAGE;
        }
    };
    let setup = match a.opts.setup() {
        // a report that shows no fix is audited without making them
        Ok(s) if !formats.iter().any(OutputFormat::shows_fixes) => s.without_fixes(),
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
    let stdin = if paths.iter().any(|p| p.as_os_str() == "-") {
        match super::stdin::Stdin::capture(a.stdin_filename.as_deref()) {
            Ok(s) => {
                for p in paths.iter_mut().filter(|p| p.as_os_str() == "-") {
                    *p = s.path.clone();
                }
                Some(s)
            }
            Err(e) => {
                eprintln!("portolan: cannot read standard input: {e}");
                return super::EXIT_USAGE;
            }
        }
    } else {
        None
    };
    let baseline = match a.baseline.as_deref().map(read_baseline).transpose() {
        Ok(b) => b,
        Err(code) => return code,
    };
    if let Some(code) = super::stream::run(
        &a,
        &setup,
        &paths,
        &formats,
        &selection,
        baseline.as_ref(),
        stdin.as_ref(),
        started,
    ) {
        return code;
    }
    let prehashed = crate::provenance::Prehashed::start(&paths, a.opts.max_input_size);
    let mut report = match a.shard {
        Some(job) => match setup.audit_shard(&paths, job) {
            Ok(r) => r,
            Err(why) => {
                eprintln!("portolan: --shard {job}: {why}");
                return super::EXIT_USAGE;
            }
        },
        None => setup.audit_report(&paths, setup.inventory.as_ref()),
    };
    // the record hashes the files where they were read, before standard input's is renamed
    let inputs: Vec<String> = report.files.iter().map(|f| f.path.clone()).collect();
    report.run = Some(a.opts.run_record(
        &setup,
        report.environment,
        &inputs,
        &prehashed.finish(),
        started,
    ));
    settle(
        &mut report,
        &a,
        stdin.as_ref(),
        &selection,
        baseline.as_ref(),
    );
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

    if let Err(code) = write_reports(&report, &formats, &a.output, a.quiet, a.verbose) {
        return code;
    }
    let code = finish(&a, &Tally::of(&report));
    // the process ends right after this: freeing every file's text, model and flow one by one
    // took a tenth of a 10,000-file run (README, Performance), and the OS takes it back at once
    std::mem::forget(report);
    code
}

/// What the command line does to an audited report (the whole run's, or a batch's written as
/// it goes) before it is written: standard input called by its name, `--fix-suggestions`,
/// `--select`/`--ignore`, then `--baseline`.
pub(crate) fn settle(
    report: &mut engine::Report,
    a: &AuditArgs,
    stdin: Option<&super::stdin::Stdin>,
    selection: &Selection,
    baseline: Option<&serde_json::Value>,
) {
    if let Some(s) = stdin {
        s.rename(report);
    }
    report.show_fixes = a.fix_suggestions;
    report.findings.retain(|f| selection.selects(f.code));
    if let Some(b) = baseline {
        report.baselined = engine::waiver::apply_baseline(report, b);
    }
}

/// Read a `--baseline` file (written by `--write-baseline`); on a problem, say so and return
/// the exit code.
fn read_baseline(p: &Path) -> Result<serde_json::Value, u8> {
    let parsed = std::fs::read_to_string(p)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()));
    match parsed {
        Ok(b) if b["schema"] == "portolan-baseline/1" => Ok(b),
        Ok(_) => {
            eprintln!(
                "portolan: {} is not a Portolan baseline (portolan-baseline/1)",
                p.display()
            );
            Err(super::EXIT_USAGE)
        }
        Err(e) => {
            eprintln!("portolan: cannot read the baseline {}: {e}", p.display());
            Err(super::EXIT_USAGE)
        }
    }
}

/// The end of an audit run once its reports are written: `--statistics`, the check that some
/// firewall was audited, and the exit code.
pub(crate) fn finish(a: &AuditArgs, t: &Tally) -> u8 {
    if a.statistics {
        for ((code, name), n) in &t.counts {
            eprintln!("{n:>6}  {code} {name}");
        }
        if t.waived > 0 {
            eprintln!("{:>6}  waived", t.waived);
        }
        if t.baselined > 0 {
            eprintln!("{:>6}  in the baseline (not shown)", t.baselined);
        }
    }
    let mut code = exit_code(t, a.fail_on);
    // a job of a matrix may get no firewall: whether the run audited any, `merge` says
    if !a.allow_empty && a.shard.is_none() && !t.audited {
        let n = t.skipped.len();
        eprintln!(
            "portolan: no firewall was audited ({} file(s) read{}); check the paths, or pass --allow-empty",
            t.files,
            if n > 0 {
                format!(
                    ", {n} skipped as no firewall export{}",
                    if a.verbose { "" } else { ": --verbose lists them" }
                )
            } else {
                String::new()
            }
        );
        code = super::EXIT_USAGE;
    }
    code
}

/// `--select` / `--ignore`: which finding codes are reported, by prefix as ruff does.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    select: Vec<String>,
    ignore: Vec<String>,
}

impl Selection {
    /// Check every prefix names at least one code (`ALL` names them all).
    pub(crate) fn new(select: &[String], ignore: &[String]) -> Result<Selection, String> {
        let tidy = |flag: &str, v: &[String]| -> Result<Vec<String>, String> {
            let mut out = Vec::new();
            for p in v.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
                let p = p.to_ascii_uppercase();
                if p != "ALL" && !crate::checks::ALL.iter().any(|c| c.code.starts_with(&p)) {
                    return Err(format!(
                        "{flag} {p}: no finding code starts with it (`portolan explain` lists them)"
                    ));
                }
                out.push(if p == "ALL" { String::new() } else { p });
            }
            Ok(out)
        };
        Ok(Selection {
            select: tidy("--select", select)?,
            ignore: tidy("--ignore", ignore)?,
        })
    }

    /// Whether findings of `code` are reported: the longest matching prefix decides, `--ignore`
    /// winning a tie; with no `--select`, every code is selected.
    pub(crate) fn selects(&self, code: &str) -> bool {
        let longest = |v: &[String]| {
            v.iter()
                .filter(|p| code.starts_with(p.as_str()))
                .map(String::len)
                .max()
        };
        let sel = if self.select.is_empty() {
            Some(0)
        } else {
            longest(&self.select)
        };
        match (sel, longest(&self.ignore)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(s), Some(i)) => s > i,
        }
    }
}

/// Render the report in each format: to standard output (one format, no `--output`), or the
/// n-th format to the n-th `--output`, each written atomically.
pub(crate) fn write_reports(
    report: &engine::Report,
    formats: &[OutputFormat],
    outputs: &[PathBuf],
    quiet: bool,
    verbose: bool,
) -> Result<(), u8> {
    let render = |format: OutputFormat, out: &mut dyn std::io::Write, terminal: bool| {
        let mut style = human::Style::detect(terminal);
        style.quiet = quiet;
        style.verbose = verbose;
        crate::report::render(format, report, out, style)
    };
    if outputs.is_empty() {
        return super::write_stdout(|w| render(formats[0], w, std::io::stdout().is_terminal()));
    }
    for (format, path) in formats.iter().zip(outputs) {
        write_file(path, |w| render(*format, w, false))?;
    }
    Ok(())
}

/// The exit code of a run's findings: 2 if an input could not be read, 1 if a finding not waived
/// reaches `--fail-on`, else 0.
pub(crate) fn exit_code(t: &Tally, fail_on: FailOn) -> u8 {
    if t.input_failed {
        return super::EXIT_USAGE;
    }
    match fail_on.threshold() {
        Some(th) if t.worst().is_some_and(|w| w >= th) => super::EXIT_FINDINGS,
        _ => super::EXIT_CLEAN,
    }
}

/// Write a report atomically: a temporary file next to the target, then a rename.
///
/// Only a regular file (or a new path) is replaced so: `-` is standard output; a symbolic link
/// keeps its link and the file it points to is replaced; a device or FIFO (`/dev/stdout`, a
/// named pipe) is written through, never renamed over (issue 20, item 4).
pub(crate) fn write_file(
    path: &Path,
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), u8> {
    if path.as_os_str() == "-" {
        return super::write_stdout(f);
    }
    let fail = |e: std::io::Error| {
        eprintln!("portolan: cannot write {}: {e}", path.display());
        super::EXIT_USAGE
    };
    // a link: write where it points (a dangling link: its target, created)
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::read_link(path).map_err(fail)?;
            resolved = match path.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            };
            resolved.as_path()
        }
        _ => path,
    };
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() && !m.is_dir() {
            // a device or a FIFO: write through
            let res = (|| {
                let mut out =
                    std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(path)?);
                f(&mut out)?;
                std::io::Write::flush(&mut out)
            })();
            return res.map_err(fail);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Selection;

    fn sel(select: &[&str], ignore: &[&str]) -> Selection {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Selection::new(&v(select), &v(ignore)).unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_ignore_wins_a_tie() {
        let s = sel(&["Z1", "Z301"], &[]);
        assert!(s.selects("Z101") && s.selects("Z103") && s.selects("Z301"));
        assert!(!s.selects("Z302") && !s.selects("Z201"));
        let s = sel(&[], &["Z3"]);
        assert!(s.selects("Z101") && !s.selects("Z301"));
        let s = sel(&["Z301"], &["Z3"]);
        assert!(s.selects("Z301") && !s.selects("Z302"));
        let s = sel(&["Z3"], &["Z3"]);
        assert!(!s.selects("Z301"));
        let s = sel(&["ALL"], &["Z2"]);
        assert!(s.selects("Z001") && !s.selects("Z202"));
    }

    #[test]
    fn an_unknown_prefix_is_refused() {
        assert!(Selection::new(&["Z9".into()], &[]).is_err());
        assert!(Selection::new(&[], &["X1".into()]).is_err());
        assert!(Selection::new(&["z1".into()], &[]).is_ok());
    }
}
