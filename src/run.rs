//! The library's entry point: what an audit runs with ([`Config`], checked once from the
//! options a caller gives) and [`audit_paths`], which loads files or directories, audits them
//! and applies the inventory's waivers. The command line (`cli/`) only turns arguments into a
//! [`ConfigInput`], prints a [`ConfigError`] and picks the exit code.

use std::path::{Path, PathBuf};

use crate::catalog::condition::Context;
use crate::catalog::{Catalog, Environment};
use crate::engine::{self, AuditOptions};
use crate::inventory::{Inventory, InventoryError};

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

/// Why a configuration cannot be used. `Display` is one sentence for a terminal; the catalogue
/// and inventory errors also carry spans for a miette report.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the catalogue {path}: {error}")]
    CatalogUnreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A `--catalog` file that does not parse: its text and the error, with its span.
    #[error("in --catalog file {path}: {error}")]
    Catalog {
        path: PathBuf,
        text: String,
        error: Box<crate::catalog::CatalogError>,
    },
    #[error(transparent)]
    Inventory(Box<InventoryError>),
    #[error("say which Zerto environment to audit for: --env vsphere|hyperv|azure|aws|msp|hyperv-legacy, or an --inventory")]
    NoEnvironment,
    #[error(
        "say what the files guard: --role ROLE (quick mode, e.g. --role zvm) or an --inventory"
    )]
    NoRole,
    #[error("unknown role `{role}`; one of: {known}")]
    UnknownRole { role: String, known: String },
    #[error("`--set {0}`: write KEY=VALUE, e.g. `--set zvm_version=10.0`")]
    BadFact(String),
    /// `--set KEY=VALUE` with an unknown fact or a value of the wrong type.
    #[error("`--set {0}`: {1}")]
    Fact(String, crate::catalog::facts::FactError),
    /// The catalogue's conditions do not fit its facts.
    #[error("the catalogue's facts: {0}")]
    CatalogFacts(Box<crate::catalog::CatalogError>),
    #[error(
        "`--address {0}`: write NAME=CIDR[,CIDR...], e.g. `--address VirtualNetwork=10.50.0.0/16`"
    )]
    BadAddressSyntax(String),
    #[error("`--address {0}`: {1}")]
    BadAddress(String, String),
    #[error("{0}")]
    BadGlob(String),
    #[error("`--host-address {0}`: {1}")]
    BadHostAddress(String, String),
    #[error("{0}")]
    BadEphemeralPorts(String),
    #[error("{0}")]
    BadPeers(String),
}

/// The options an audit is configured with, as a caller (the command line) gives them.
#[derive(Debug, Clone, Default)]
pub struct ConfigInput<'a> {
    pub inventory: Option<&'a Path>,
    pub env: Option<Environment>,
    /// Quick mode: every file is the host firewall of a host of this role.
    pub role: Option<&'a str>,
    /// `KEY=VALUE` facts.
    pub facts: &'a [String],
    /// `NAME=CIDR,...` addresses of names rules use.
    pub addresses: &'a [String],
    pub interfaces: &'a [String],
    pub profiles: &'a [String],
    /// `CIDR[,CIDR...]` addresses of the guarded host (where the inventory names none).
    pub host_addresses: &'a [String],
    pub extra_catalog: Option<&'a Path>,
    pub max_input_size: u64,
    /// Do not look for `portolan.toml` in the current directory and its parents.
    pub no_config: bool,
    pub include: &'a [String],
    pub exclude: &'a [String],
}

/// The embedded catalogue, with `extra` merged into it; its conditions are held to its facts
/// ([`Catalog::check_facts`]).
pub fn load_catalog(extra: Option<&Path>) -> Result<Catalog, ConfigError> {
    let mut cat = Catalog::embedded().clone();
    if let Some(p) = extra {
        let text = std::fs::read_to_string(p).map_err(|error| ConfigError::CatalogUnreadable {
            path: p.to_path_buf(),
            error,
        })?;
        match Catalog::from_toml(&text) {
            Ok(x) => cat.merge(x),
            Err(error) => {
                return Err(ConfigError::Catalog {
                    path: p.to_path_buf(),
                    text,
                    error: Box::new(error),
                })
            }
        }
    }
    cat.check_facts()
        .map_err(|e| ConfigError::CatalogFacts(Box::new(e)))?;
    Ok(cat)
}

/// What an audit runs with: the catalogue, the inventory, the facts and the names rules use,
/// checked once; [`Config::audit`] then audits any set of paths with them.
pub struct Config {
    pub catalog: Catalog,
    pub inventory: Option<Inventory>,
    /// The inventory found by discovery (not named by the caller), to say which one is used.
    pub discovered: Option<PathBuf>,
    env: Option<Environment>,
    role: Option<String>,
    facts: Context,
    names: crate::formats::Resolver,
    interfaces: Vec<String>,
    profiles: Vec<String>,
    host_addresses: Option<crate::model::AddrSet>,
    filter: crate::load::ScanFilter,
    max_input_size: u64,
    /// Whether flows get their fixes ([`AuditOptions::fixes`]; [`Config::without_fixes`]).
    fixes: bool,
}

impl Config {
    /// Read and check the options.
    pub fn new(a: &ConfigInput<'_>) -> Result<Config, ConfigError> {
        let catalog = load_catalog(a.extra_catalog)?;
        let discovered = match (a.inventory, a.role, a.no_config) {
            (None, None, false) => std::env::current_dir().ok().and_then(|cwd| discover(&cwd)),
            _ => None,
        };
        let inventory = match a.inventory.or(discovered.as_deref()) {
            Some(p) => Some(Inventory::load(p).map_err(|e| ConfigError::Inventory(Box::new(e)))?),
            None => None,
        };
        let env = a.env.or(inventory.as_ref().map(|i| i.environment));
        if env.is_none() {
            return Err(ConfigError::NoEnvironment);
        }
        if a.role.is_none() && inventory.is_none() {
            return Err(ConfigError::NoRole);
        }
        if let Some(r) = a.role {
            if !crate::catalog::ROLES.iter().any(|(n, _)| *n == r) || r == "any" {
                let names: Vec<&str> = crate::catalog::ROLES
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| *n != "any")
                    .collect();
                return Err(ConfigError::UnknownRole {
                    role: r.to_string(),
                    known: names.join(", "),
                });
            }
        }
        let mut facts = Context::new();
        for (k, v) in catalog.default_facts() {
            facts.set_value(k, v);
        }
        if let Some(inv) = &inventory {
            inv.check_facts(&catalog)
                .map_err(|e| ConfigError::Inventory(Box::new(e)))?;
            for (k, v) in &inv.facts {
                // checked just above
                if let Ok(value) = catalog.validate_fact(k, v) {
                    facts.set_value(k, value);
                }
            }
        }
        for kv in a.facts {
            match kv.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    let value = catalog.validate_fact(k, v).map_err(|e| {
                        // `--peers` arrives as this fact: name the option the user wrote
                        if k.trim() == crate::engine::reach::PEERS_FACT {
                            ConfigError::BadPeers(format!("`--peers {}`: {e}", v.trim()))
                        } else {
                            ConfigError::Fact(kv.clone(), e)
                        }
                    })?;
                    facts.set_value(k, value);
                }
                _ => return Err(ConfigError::BadFact(kv.clone())),
            }
        }
        crate::engine::reach::client_ports(&facts).map_err(ConfigError::BadEphemeralPorts)?;
        crate::engine::reach::peers(&facts).map_err(ConfigError::BadPeers)?;
        let mut host_addresses: Option<crate::model::AddrSet> = None;
        for v in a.host_addresses {
            for part in v.split(',') {
                match crate::model::AddrSet::parse(part) {
                    Ok(set) if !set.is_empty() => {
                        host_addresses = Some(host_addresses.unwrap_or_default().union(&set))
                    }
                    Ok(_) => {
                        return Err(ConfigError::BadHostAddress(
                            v.clone(),
                            "names no address".into(),
                        ))
                    }
                    Err(e) => return Err(ConfigError::BadHostAddress(v.clone(), e.to_string())),
                }
            }
        }
        let mut names = inventory.as_ref().map(|i| i.resolver()).unwrap_or_default();
        // facts that decide what rules match (Windows `ipsec`), as their text
        for (k, v) in facts.iter() {
            let text = match v {
                crate::catalog::condition::Value::Str(s) => s.clone(),
                other => other.to_string(),
            };
            names.set_fact(k, &text);
        }
        for kv in a.addresses {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(ConfigError::BadAddressSyntax(kv.clone()));
            };
            for part in v.split(',') {
                match crate::model::AddrSet::parse(part) {
                    Ok(set) => names.insert(k.trim(), set),
                    Err(e) => return Err(ConfigError::BadAddress(kv.clone(), e.to_string())),
                }
            }
        }
        let (mut include, mut exclude) = inventory
            .as_ref()
            .map(|i| (i.include.clone(), i.exclude.clone()))
            .unwrap_or_default();
        include.extend(a.include.iter().cloned());
        exclude.extend(a.exclude.iter().cloned());
        let filter =
            crate::load::ScanFilter::new(&include, &exclude).map_err(ConfigError::BadGlob)?;
        Ok(Config {
            catalog,
            inventory,
            discovered,
            filter,
            max_input_size: a.max_input_size,
            env: a.env,
            role: a.role.map(str::to_string),
            facts,
            names,
            interfaces: a.interfaces.to_vec(),
            profiles: a.profiles.to_vec(),
            host_addresses,
            fixes: true,
        })
    }

    /// Audit without proposing fixes, for a report that shows none (`--format concise` or
    /// `gitlab`): the same flows, statuses and findings, without the fixes' text.
    pub fn without_fixes(mut self) -> Config {
        self.fixes = false;
        self
    }

    /// Load the paths and audit them (with this inventory, which may differ from the one read,
    /// e.g. with its firewall paths moved), then apply the inventory's waivers.
    pub fn audit(&self, paths: &[PathBuf], inventory: Option<&Inventory>) -> engine::Report {
        let (files, skipped) =
            crate::load::load_scan(paths, &self.names, &self.filter, self.max_input_size);
        self.audit_files(files, skipped, inventory)
    }

    /// [`Config::audit`] for a report: the same report, but the files keep only what the
    /// reports read (no models: `InputFile::slim`). A run whose flows do not cross files (no
    /// inventory, no `--policy`) is read and audited a batch of files at a time
    /// (`engine::batch`), so that its memory follows the largest batch and the report, not the
    /// number of files.
    pub fn audit_report(&self, paths: &[PathBuf], inventory: Option<&Inventory>) -> engine::Report {
        if inventory.is_some() || self.policy_named() {
            let mut report = self.audit(paths, inventory);
            report
                .files
                .iter_mut()
                .for_each(crate::load::InputFile::slim);
            return report;
        }
        let Scan { todo, errors } = self.scan(paths);
        self.audit_appended(&todo, errors).0
    }

    /// The files `paths` name, found (directories walked, the include and exclude globs
    /// applied) before any is read.
    pub fn scan(&self, paths: &[PathBuf]) -> Scan {
        let (todo, errors) = crate::load::expand(paths, &self.filter);
        Scan { todo, errors }
    }

    /// Whether a run of this configuration can be audited a batch of files at a time
    /// ([`Config::audit_each`]): its flows do not cross files (no inventory, no `--policy`).
    pub fn batched(&self) -> bool {
        self.inventory.is_none() && !self.policy_named()
    }

    /// The report of a [`Config::batched`] run a batch at a time: each batch's files read,
    /// audited on their own and handed to `each` (its files, flows and findings indexed from
    /// 0 and in their order), then dropped; the scan's errors come last as a batch of their
    /// own. The reports handed over, one after the other, are [`Config::audit_report`]'s
    /// report cut by file, its files whole (not slim). Stops at the first error `each` returns.
    pub fn audit_each<E>(
        &self,
        scan: Scan,
        each: impl FnMut(engine::Report) -> Result<(), E>,
    ) -> Result<(), E> {
        self.audit_batches(&scan.todo, scan.errors, each).map(drop)
    }

    /// Whether `--policy` picks rulesets by name across the run's files.
    fn policy_named(&self) -> bool {
        self.facts
            .get(crate::engine::targets::POLICY_FACT)
            .is_some()
    }

    /// Read and audit `todo` (then the scan's `errors`) a batch at a time, without an inventory,
    /// each batch's report (its `skipped` the files of the batch that are no firewall export)
    /// handed to `each`; for each file of `todo`, whether it is an input.
    fn audit_batches<E>(
        &self,
        todo: &[(PathBuf, bool)],
        errors: Vec<crate::load::InputFile>,
        mut each: impl FnMut(engine::Report) -> Result<(), E>,
    ) -> Result<Vec<bool>, E> {
        let opts = self.options(None);
        let bar = crate::load::progress(todo.len());
        let mut kept = Vec::with_capacity(todo.len());
        // a batch is read and audited (on a thread of its own, its flows on the pool) while
        // the one before it is handed over here, so that writing and freeing a batch's report
        // do not leave the pool idle
        let audit_batch = |batch: &[(PathBuf, bool)]| {
            let (files, skipped, k) =
                crate::load::read_with(batch, &self.names, self.max_input_size, bar.as_ref());
            let mut part = engine::audit(files, &opts);
            part.skipped = skipped;
            (part, k)
        };
        // a report written as it goes goes to a terminal above the bar, never through it
        let mut hand = |part: engine::Report| match &bar {
            Some(b) => b.suspend(|| each(part)),
            None => each(part),
        };
        let handed = std::thread::scope(|s| {
            let mut pending: Option<engine::Report> = None;
            for batch in batches(todo) {
                let next = std::thread::Builder::new()
                    .stack_size(crate::cli::STACK)
                    .spawn_scoped(s, || audit_batch(batch));
                let (part, k) = match next {
                    Ok(job) => {
                        let written = pending.take().map_or(Ok(()), &mut hand);
                        let done = job
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        written?;
                        done
                    }
                    // no thread to be had: one batch after the other
                    Err(_) => {
                        pending.take().map_or(Ok(()), &mut hand)?;
                        audit_batch(batch)
                    }
                };
                kept.extend(k);
                pending = Some(part);
            }
            pending.map_or(Ok(()), &mut hand)
        });
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        handed?;
        if !errors.is_empty() {
            each(engine::audit(errors, &opts))?;
        }
        Ok(kept)
    }

    /// [`Config::audit_batches`] into one report, each batch's appended to the run's
    /// (`engine::batch`), with whether each file of `todo` is an input.
    fn audit_appended(
        &self,
        todo: &[(PathBuf, bool)],
        errors: Vec<crate::load::InputFile>,
    ) -> (engine::Report, Vec<bool>) {
        let mut report = engine::audit(Vec::new(), &self.options(None));
        let Ok(kept) = self.audit_batches(todo, errors, |part| {
            engine::batch::append(&mut report, part);
            Ok::<(), std::convert::Infallible>(())
        });
        engine::batch::finish(&mut report);
        (report, kept)
    }

    /// One job of `--shard K/N`: its share of the paths' files, audited (a batch at a time, its
    /// files slim as in [`Config::audit_report`]); `Err` says why this run cannot be sharded
    /// (its flows would depend on files other jobs read).
    pub fn audit_shard(
        &self,
        paths: &[PathBuf],
        job: crate::load::shard::Shard,
    ) -> Result<engine::Report, &'static str> {
        if let Some(why) = engine::shard::refused(self.inventory.is_some(), self.policy_named()) {
            return Err(why);
        }
        let mut share = crate::load::shard::pick(paths, &self.filter, job);
        let errors = std::mem::take(&mut share.errors);
        let (mut report, kept) = self.audit_appended(&share.todo, errors);
        let origins = share.origins(&kept);
        report.shard = Some(engine::shard::ShardRun { job, origins });
        Ok(report)
    }

    fn options<'a>(&'a self, inventory: Option<&'a Inventory>) -> AuditOptions<'a> {
        AuditOptions {
            catalog: &self.catalog,
            env: self.env,
            role: self.role.clone(),
            inventory,
            facts: self.facts.clone(),
            interfaces: self.interfaces.clone(),
            profiles: self.profiles.clone(),
            host_addresses: self.host_addresses.clone(),
            fixes: self.fixes,
        }
    }

    fn audit_files(
        &self,
        files: Vec<crate::load::InputFile>,
        skipped: Vec<String>,
        inventory: Option<&Inventory>,
    ) -> engine::Report {
        let opts = self.options(inventory);
        let mut report = engine::audit(files, &opts);
        report.skipped = skipped;
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

/// The files of a run, found before any is read ([`Config::scan`]): the files to read (with
/// whether a path named each one itself) and the paths that could not be walked.
pub struct Scan {
    todo: Vec<(PathBuf, bool)>,
    errors: Vec<crate::load::InputFile>,
}

impl Scan {
    /// The files the run will read, in order.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.todo.iter().map(|(p, _)| p.as_path())
    }
}

/// How many files a batch of [`Config::audit_report`] reads at most, and how many bytes (by
/// their size on disk; a larger file is a batch of its own): enough for both cores to share a
/// batch's flows, few enough that a batch's models stay small. 64 rather than 256 (issue 19,
/// sixth round): the 10,000 small files took 5% less CPU (a batch's models stay in the caches)
/// and 40 MiB instead of 90 at the peak; 32 was slower again.
const BATCH_FILES: usize = 64;

const BATCH_BYTES: u64 = 16 << 20;

/// `todo` cut into consecutive batches of at most [`BATCH_FILES`] files and about
/// [`BATCH_BYTES`] bytes.
fn batches(todo: &[(PathBuf, bool)]) -> Vec<&[(PathBuf, bool)]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (p, _)) in todo.iter().enumerate() {
        let size = crate::load::shard::size_of(p);
        if i > start && (i - start == BATCH_FILES || bytes + size > BATCH_BYTES) {
            out.push(&todo[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < todo.len() {
        out.push(&todo[start..]);
    }
    out
}

/// Audit files and directories with a configuration and its inventory: the library's one call
/// for "what does this firewall repo let through".
pub fn audit_paths(paths: &[PathBuf], config: &Config) -> engine::Report {
    config.audit(paths, config.inventory.as_ref())
}
