//! `portolan diff`: audit two versions of the firewalls with the same options and report what the
//! change does — required flows newly blocked or allowed, findings added or fixed, and the rules
//! added, removed or moved that caused it. The pull-request check.
//!
//! The two sides are two files, two directories (files matched by their path inside each), or
//! the working tree and a git revision (`--git REV`), whose files are copied out with the `git`
//! command into a temporary directory that is removed afterwards; the repository is only read.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::audit::{FailOn, Setup};
use crate::engine::finding::fingerprint;
use crate::engine::reach::Status;
use crate::engine::{Deciding, FlowRecord, Report, Severity};
use crate::inventory::Inventory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// OLD and NEW: two files or two directories (files are matched by their path inside each).
    /// With `--git`, the files or directories of the working tree to compare (default: the
    /// inventory's firewalls, or the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Compare the working tree with this git revision (`HEAD`, `main`, a commit).
    #[arg(long, value_name = "REV")]
    pub git: Option<String>,
    #[command(flatten)]
    pub opts: super::audit::AuditOptionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: DiffFormat,
    /// Exit 1 also when the change adds a finding of at least this severity (a required flow
    /// newly blocked or partly blocked always exits 1).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
}

/// How a flow's status changed, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Blocked,
    Partial,
    Unknown,
    Allowed,
    /// The flow is no longer audited (its file or policy is gone).
    Gone,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Blocked => "newly-blocked",
            Change::Partial => "newly-partial",
            Change::Unknown => "newly-unknown",
            Change::Allowed => "newly-allowed",
            Change::Gone => "no-longer-audited",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Change::Blocked => "newly blocked",
            Change::Partial => "newly partly blocked",
            Change::Unknown => "newly unknown",
            Change::Allowed => "newly allowed",
            Change::Gone => "no longer audited",
        }
    }
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Allowed => 0,
        Status::Unknown => 1,
        Status::Partial => 2,
        Status::Blocked => 3,
    }
}

/// One side of the diff after auditing: the report, and the name of each file relative to the
/// side's root (the same name on both sides for the same firewall).
struct Side {
    report: Report,
    /// Loaded path → relative name.
    names: HashMap<String, String>,
}

impl Side {
    fn name(&self, path: &str) -> String {
        self.names
            .get(path)
            .cloned()
            .unwrap_or_else(|| path.to_string())
    }
}

/// How to name a side's files: strip `strip`, or (two single files) one fixed name.
enum Naming {
    Under(PathBuf),
    Fixed(String),
}

impl Naming {
    fn name(&self, path: &str) -> String {
        match self {
            Naming::Fixed(n) => n.clone(),
            Naming::Under(root) => match Path::new(path).strip_prefix(root) {
                Ok(rest) if !rest.as_os_str().is_empty() => slash(rest),
                _ => path.to_string(),
            },
        }
    }
}

/// A path with `/` separators, for names that are the same on every platform.
fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A temporary directory under the system's, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = None;
        for i in 0..100u32 {
            let p = base.join(format!(
                "portolan-diff-{}-{nanos:08x}-{i}",
                std::process::id()
            ));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary directory name")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An inventory whose firewall paths at or under `from` are moved to the same place under `to`,
/// so that the entries written for one side also describe the other.
fn rebase(inv: &Inventory, moves: &[(PathBuf, PathBuf)]) -> Inventory {
    let mut out = inv.clone();
    for fw in &mut out.firewalls {
        let have = std::fs::canonicalize(&fw.path).unwrap_or_else(|_| fw.path.clone());
        for (from, to) in moves {
            let from = std::fs::canonicalize(from).unwrap_or_else(|_| from.clone());
            if let Ok(rest) = have.strip_prefix(&from) {
                fw.path = if rest.as_os_str().is_empty() {
                    to.clone()
                } else {
                    to.join(rest)
                };
                break;
            }
        }
    }
    out
}

pub fn run(a: DiffArgs) -> u8 {
    let setup = match a.opts.setup() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (old, new, old_title, new_title) = match &a.git {
        Some(rev) => match git_sides(rev, &a.paths, &setup) {
            Ok((o, n, temp)) => {
                // both sides are read and audited: the copies can go
                drop(temp);
                (o, n, format!("{rev} (git)"), "working tree".to_string())
            }
            Err(code) => return code,
        },
        None => match path_sides(&a.paths, &setup) {
            Ok((o, n)) => (
                o,
                n,
                a.paths[0].display().to_string(),
                a.paths[1].display().to_string(),
            ),
            Err(code) => return code,
        },
    };
    let failed = old.report.input_failed || new.report.input_failed;
    let diff = compare(&old, &new);
    let threshold = a.fail_on.threshold();
    let findings_fail = threshold.is_some_and(|t| {
        diff.findings_added
            .iter()
            .any(|f| f.severity >= t && !f.waived)
    });
    let value = to_json(&diff, &old_title, &new_title);
    let out = super::write_stdout(|w| match a.format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &value)?;
            w.write_all(b"\n")
        }
        DiffFormat::Human => render_human(&diff, &old_title, &new_title, w),
    });
    if let Err(code) = out {
        return code;
    }
    if failed {
        // the audits' own diagnostics are in the report; say why the exit code is 2
        eprintln!("portolan: some input could not be read or recognised (see findings)");
        super::EXIT_USAGE
    } else if diff.breaking() || findings_fail {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_CLEAN
    }
}

/// Two files or two directories.
fn path_sides(paths: &[PathBuf], setup: &Setup) -> Result<(Side, Side), u8> {
    let [old, new] = paths else {
        eprintln!(
            "portolan: give OLD and NEW (two files or two directories), or `--git REV [PATHS...]`"
        );
        return Err(super::EXIT_USAGE);
    };
    for p in [old, new] {
        if !p.exists() {
            eprintln!(
                "portolan: cannot read {}: no such file or directory",
                p.display()
            );
            return Err(super::EXIT_USAGE);
        }
    }
    let (od, nd) = (old.is_dir(), new.is_dir());
    if od != nd {
        eprintln!(
            "portolan: {} and {} must both be files or both directories",
            old.display(),
            new.display()
        );
        return Err(super::EXIT_USAGE);
    }
    let (old_naming, new_naming) = if od {
        (Naming::Under(old.clone()), Naming::Under(new.clone()))
    } else {
        let n = new.display().to_string();
        (Naming::Fixed(n.clone()), Naming::Fixed(n))
    };
    let old_inv = setup
        .inventory
        .as_ref()
        .map(|i| rebase(i, &[(new.clone(), old.clone())]));
    let new_inv = setup
        .inventory
        .as_ref()
        .map(|i| rebase(i, &[(old.clone(), new.clone())]));
    let o = audit_side(
        setup,
        std::slice::from_ref(old),
        old_inv.as_ref(),
        &old_naming,
    );
    let n = audit_side(
        setup,
        std::slice::from_ref(new),
        new_inv.as_ref(),
        &new_naming,
    );
    Ok((o, n))
}

fn audit_side(
    setup: &Setup,
    paths: &[PathBuf],
    inventory: Option<&Inventory>,
    naming: &Naming,
) -> Side {
    let mut report = setup.audit(paths, inventory);
    let mut names = HashMap::new();
    for f in &mut report.files {
        let rel = naming.name(&f.path);
        names.insert(f.path.clone(), rel.clone());
        // fingerprints include the path: make it the same on both sides
        f.path = rel;
    }
    Side { report, names }
}

/// Run git in `dir`; its standard output, or a message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `a/./b/../c` → `a/c`; `None` when it climbs out of where it starts.
fn lexical(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(x) => out.push(x),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The working tree (new) and a revision (old, copied into a temporary directory).
fn git_sides(rev: &str, paths: &[PathBuf], setup: &Setup) -> Result<(Side, Side, TempDir), u8> {
    let fail = |m: String| {
        eprintln!("portolan: {m}");
        super::EXIT_USAGE
    };
    if rev.starts_with('-') || rev.is_empty() {
        return Err(fail(format!("`--git {rev}`: not a revision")));
    }
    let cwd = std::env::current_dir().map_err(|e| fail(format!("no current directory: {e}")))?;
    let top = git(&cwd, &["rev-parse", "--show-toplevel"]).map_err(fail)?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches(['\n', '\r']));
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let cwd_c = std::fs::canonicalize(&cwd).unwrap_or(cwd.clone());
    let prefix = cwd_c
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .map_err(|_| {
            fail(format!(
                "the current directory is not inside the repository {}",
                top.display()
            ))
        })?;
    let wanted: Vec<PathBuf> = if !paths.is_empty() {
        paths.to_vec()
    } else {
        match &setup.inventory {
            Some(inv) if !inv.firewalls.is_empty() => {
                inv.firewalls.iter().map(|f| f.path.clone()).collect()
            }
            _ => vec![PathBuf::from(".")],
        }
    };
    // every path, relative to the top of the repository
    let mut rels = Vec::new();
    for p in &wanted {
        let rel = if p.is_absolute() {
            let c = std::fs::canonicalize(p).unwrap_or(p.clone());
            c.strip_prefix(&top).ok().map(Path::to_path_buf)
        } else {
            lexical(&prefix.join(p))
        };
        match rel {
            Some(r) => rels.push(r),
            None => {
                return Err(fail(format!(
                    "{} is outside the repository {}",
                    p.display(),
                    top.display()
                )))
            }
        }
    }
    let temp =
        TempDir::new().map_err(|e| fail(format!("cannot make a temporary directory: {e}")))?;
    let specs: Vec<String> = rels
        .iter()
        .map(|r| {
            if r.as_os_str().is_empty() {
                ".".to_string()
            } else {
                slash(r)
            }
        })
        .collect();
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", rev, "--"];
    args.extend(specs.iter().map(String::as_str));
    let listing = git(&top, &args).map_err(fail)?;
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        // `<mode> SP <type> SP <object> TAB <path>`
        let text = String::from_utf8_lossy(entry);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        if meta.split(' ').nth(1) != Some("blob") {
            continue; // submodules
        }
        let Some(rel) = lexical(Path::new(path)).filter(|r| !r.as_os_str().is_empty()) else {
            continue;
        };
        let bytes = git(&top, &["show", &format!("{rev}:{path}")]).map_err(fail)?;
        let dest = temp.0.join(&rel);
        let written = dest
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&dest, bytes));
        if let Err(e) = written {
            return Err(fail(format!("cannot write {}: {e}", dest.display())));
        }
    }
    let old_paths: Vec<PathBuf> = rels
        .iter()
        .map(|r| temp.0.join(r))
        .filter(|p| p.exists())
        .collect();
    let new_paths: Vec<PathBuf> = rels
        .iter()
        .map(|r| top.join(r))
        .filter(|p| p.exists())
        .collect();
    for (r, w) in rels.iter().zip(&wanted) {
        if !temp.0.join(r).exists() && !top.join(r).exists() {
            return Err(fail(format!(
                "{} is neither in the working tree nor in {rev}",
                w.display()
            )));
        }
    }
    let old_inv = setup
        .inventory
        .as_ref()
        .map(|i| rebase(i, &[(top.clone(), temp.0.clone())]));
    let o = audit_side(
        setup,
        &old_paths,
        old_inv.as_ref(),
        &Naming::Under(temp.0.clone()),
    );
    let n = audit_side(
        setup,
        &new_paths,
        setup.inventory.as_ref(),
        &Naming::Under(top.clone()),
    );
    Ok((o, n, temp))
}

// ---------------------------------------------------------------------------------------------
// comparing

struct FlowChange {
    change: Change,
    old: Option<Status>,
    new: Option<Status>,
    /// The record on the new side (or the old one, for a flow that is gone).
    rec: FlowRecord,
    deciding: Vec<Deciding>,
    caused_by: Vec<Cause>,
}

struct Cause {
    how: &'static str,
    rule: RuleEntry,
}

#[derive(Clone)]
struct FindingEntry {
    fingerprint: String,
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: String,
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    requirement: Option<String>,
    waived: bool,
    /// Matches the same finding on the other side when the fingerprints differ only by counters.
    soft: String,
}

#[derive(Clone)]
struct RuleEntry {
    firewall: String,
    ruleset: Option<String>,
    policy: String,
    chain: String,
    position: usize,
    label: String,
    line: Option<u32>,
    action: &'static str,
    text: String,
}

struct Moved {
    old: RuleEntry,
    new: RuleEntry,
}

struct Diff {
    flows: Vec<FlowChange>,
    findings_added: Vec<FindingEntry>,
    findings_fixed: Vec<FindingEntry>,
    rules_added: Vec<RuleEntry>,
    rules_removed: Vec<RuleEntry>,
    rules_moved: Vec<Moved>,
}

impl Diff {
    /// A required (unconditional) flow newly blocked or partly blocked.
    fn breaking(&self) -> bool {
        self.flows.iter().any(is_breaking)
    }
}

fn is_breaking(f: &FlowChange) -> bool {
    matches!(f.change, Change::Blocked | Change::Partial)
        && !f.rec.conditional
        && match (f.old, f.new) {
            (Some(o), Some(n)) => rank(n) > rank(o),
            (None, Some(_)) => true,
            _ => false,
        }
}

/// A rule's source text for comparing: whitespace folded, iptables `[packets:bytes]` counters
/// dropped.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .filter(|t| !is_counter(t))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_counter(t: &str) -> bool {
    t.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.split_once(':'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

fn flow_key(f: &FlowRecord, side: &Side) -> (String, String, String, String, Option<String>) {
    (
        side.name(&f.firewall),
        f.policy.clone(),
        f.requirement.clone(),
        f.direction.to_string(),
        f.site.clone(),
    )
}

type FlowKey = ((String, String, String, String, Option<String>), usize);

fn flows_by_key(side: &Side) -> BTreeMap<FlowKey, &FlowRecord> {
    let mut seen: HashMap<_, usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for f in &side.report.flows {
        let k = flow_key(f, side);
        let n = seen.entry(k.clone()).or_default();
        out.insert((k, *n), f);
        *n += 1;
    }
    out
}

fn rules_of(side: &Side) -> Vec<RuleEntry> {
    let mut out = Vec::new();
    for f in &side.report.files {
        let text = f.source.as_ref().map(|s| s.text.as_str()).unwrap_or("");
        for rs in &f.rulesets {
            for p in &rs.policies {
                for c in &p.chains {
                    for (pos, &ri) in c.rules.iter().enumerate() {
                        let Some(r) = p.rules.get(ri) else { continue };
                        let src = text.get(r.prov.span.start..r.prov.span.end).unwrap_or("");
                        let mut norm = normalise(src);
                        if norm.is_empty() {
                            // a default the export does not spell out
                            norm = format!("<{}>", r.prov.label);
                        }
                        out.push(RuleEntry {
                            firewall: f.path.clone(),
                            ruleset: rs.name.clone(),
                            policy: p.name.clone(),
                            chain: c.name.clone(),
                            position: pos + 1,
                            label: r.prov.label.clone(),
                            line: (r.prov.line > 0).then_some(r.prov.line),
                            action: r.action.name(),
                            text: norm,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Indices of a longest common subsequence of `a` and `b` (pairs), after trimming the common
/// prefix and suffix; a middle too large for the table matches nothing (its rules then pair up
/// as moved by text).
fn lcs(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let mut out: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (n, m) = (ma.len(), mb.len());
    if n > 0 && m > 0 && n.saturating_mul(m) <= 4_000_000 {
        // table[i][j] = LCS length of ma[i..] and mb[j..]
        let w = m + 1;
        let mut t = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * w + j] = if ma[i] == mb[j] {
                    t[(i + 1) * w + j + 1] + 1
                } else {
                    t[(i + 1) * w + j].max(t[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if ma[i] == mb[j] {
                out.push((pre + i, pre + j));
                i += 1;
                j += 1;
            } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    out.extend((0..suf).map(|k| (a.len() - suf + k, b.len() - suf + k)));
    out
}

type ChainKey = (String, Option<String>, String, String);

/// The rules added, removed and moved, and every rule of the new side present on both (with its
/// old position in its chain).
struct RuleChanges {
    added: Vec<RuleEntry>,
    removed: Vec<RuleEntry>,
    moved: Vec<Moved>,
    kept: Vec<(RuleEntry, usize)>,
}

fn compare_rules(old: &Side, new: &Side) -> RuleChanges {
    let group = |rules: Vec<RuleEntry>| {
        let mut m: BTreeMap<ChainKey, Vec<RuleEntry>> = BTreeMap::new();
        for r in rules {
            m.entry((
                r.firewall.clone(),
                r.ruleset.clone(),
                r.policy.clone(),
                r.chain.clone(),
            ))
            .or_default()
            .push(r);
        }
        m
    };
    let (mut og, mut ng) = (group(rules_of(old)), group(rules_of(new)));
    let keys: std::collections::BTreeSet<ChainKey> = og.keys().chain(ng.keys()).cloned().collect();
    let (mut added, mut removed, mut moved) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = Vec::new();
    for k in keys {
        let o = og.remove(&k).unwrap_or_default();
        let n = ng.remove(&k).unwrap_or_default();
        let ot: Vec<&str> = o.iter().map(|r| r.text.as_str()).collect();
        let nt: Vec<&str> = n.iter().map(|r| r.text.as_str()).collect();
        let common = lcs(&ot, &nt);
        let mut o_used = vec![false; o.len()];
        let mut n_used = vec![false; n.len()];
        for (i, j) in common {
            o_used[i] = true;
            n_used[j] = true;
            kept.push((n[j].clone(), o[i].position));
        }
        // the same text elsewhere in the chain: moved
        for j in 0..n.len() {
            if n_used[j] {
                continue;
            }
            if let Some(i) = (0..o.len()).find(|&i| !o_used[i] && o[i].text == n[j].text) {
                o_used[i] = true;
                n_used[j] = true;
                kept.push((n[j].clone(), o[i].position));
                moved.push(Moved {
                    old: o[i].clone(),
                    new: n[j].clone(),
                });
            }
        }
        added.extend(
            n.iter()
                .zip(&n_used)
                .filter(|(_, u)| !**u)
                .map(|(r, _)| r.clone()),
        );
        removed.extend(
            o.iter()
                .zip(&o_used)
                .filter(|(_, u)| !**u)
                .map(|(r, _)| r.clone()),
        );
    }
    RuleChanges {
        added,
        removed,
        moved,
        kept,
    }
}

/// What made a flow newly (partly) blocked: its deciding rules that were added or moved; moved
/// rules that crossed a deciding rule (its order with the decider in their chain changed); and,
/// when neither explains it, the rules removed from that firewall.
fn causes(
    deciding: &[Deciding],
    added: &[RuleEntry],
    removed: &[RuleEntry],
    moved: &[Moved],
    kept: &[(RuleEntry, usize)],
    firewall: &str,
) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::new();
    let push = |how, rule: &RuleEntry, out: &mut Vec<Cause>| {
        let dup = out
            .iter()
            .any(|c| c.rule.label == rule.label && c.rule.firewall == rule.firewall);
        if !dup {
            out.push(Cause {
                how,
                rule: rule.clone(),
            });
        }
    };
    for d in deciding {
        let same = |r: &RuleEntry| r.firewall == d.file && r.label == d.rule && r.line == d.line;
        if let Some(r) = added.iter().find(|r| same(r)) {
            push("added", r, &mut out);
        } else if let Some(m) = moved.iter().find(|m| same(&m.new)) {
            push("moved", &m.new, &mut out);
        } else if let Some((r, was)) = kept.iter().find(|(r, _)| same(r)) {
            for m in moved.iter().filter(|m| same_chain(&m.new, r)) {
                if (m.old.position < *was) != (m.new.position < r.position) {
                    push("moved", &m.new, &mut out);
                }
            }
        }
    }
    if out.is_empty() {
        for r in removed.iter().filter(|r| r.firewall == firewall) {
            push("removed", r, &mut out);
        }
    }
    out
}

fn same_chain(a: &RuleEntry, b: &RuleEntry) -> bool {
    a.firewall == b.firewall && a.ruleset == b.ruleset && a.policy == b.policy && a.chain == b.chain
}

fn findings_of(side: &Side) -> Vec<FindingEntry> {
    let r = &side.report;
    r.findings
        .iter()
        .map(|f| {
            let file = f.file.and_then(|i| r.files.get(i));
            let src = file
                .and_then(|x| x.source.as_ref())
                .zip(f.labels.first())
                .and_then(|(s, l)| s.text.get(l.span.start..l.span.end))
                .unwrap_or("");
            let soft = format!(
                "{}\u{1}{}\u{1}{}\u{1}{}",
                f.code,
                f.requirement.as_deref().unwrap_or(""),
                file.map(|x| x.path.as_str()).unwrap_or(""),
                if f.labels.is_empty() {
                    f.message.clone()
                } else {
                    normalise(src)
                }
            );
            FindingEntry {
                fingerprint: fingerprint(f, file),
                code: f.code,
                name: f.name,
                severity: f.severity,
                message: f.message.clone(),
                file: file.map(|x| x.path.clone()),
                line: f.line(),
                column: f.column(),
                requirement: f.requirement.clone(),
                waived: f.is_waived(),
                soft,
            }
        })
        .collect()
}

/// Findings of `a` with no counterpart in `b`: by fingerprint, then (for those left) by the
/// fingerprint's parts with counters ignored. Each finding of `b` answers one of `a`.
fn unmatched(a: Vec<FindingEntry>, b: &[FindingEntry]) -> Vec<FindingEntry> {
    let mut used = vec![false; b.len()];
    let mut left = Vec::new();
    for f in a {
        if let Some(i) = (0..b.len()).find(|&i| !used[i] && b[i].fingerprint == f.fingerprint) {
            used[i] = true;
        } else {
            left.push(f);
        }
    }
    let mut out = Vec::new();
    for f in left {
        if let Some(i) =
            (0..b.len()).find(|&i| !used[i] && b[i].soft == f.soft && !f.soft.ends_with('\u{1}'))
        {
            used[i] = true;
        } else {
            out.push(f);
        }
    }
    out
}

fn compare(old: &Side, new: &Side) -> Diff {
    let RuleChanges {
        added: rules_added,
        removed: rules_removed,
        moved: rules_moved,
        kept,
    } = compare_rules(old, new);
    let of = flows_by_key(old);
    let nf = flows_by_key(new);
    let rel_deciding = |d: &[Deciding], side: &Side| -> Vec<Deciding> {
        d.iter()
            .map(|x| Deciding {
                file: side.name(&x.file),
                ..x.clone()
            })
            .collect()
    };
    let mut flows = Vec::new();
    let keys: std::collections::BTreeSet<&FlowKey> = of.keys().chain(nf.keys()).collect();
    for k in keys {
        let (o, n) = (of.get(k), nf.get(k));
        let change = match (o, n) {
            (Some(o), Some(n)) if o.status == n.status => continue,
            (_, Some(n)) => match n.status {
                Status::Blocked => Change::Blocked,
                Status::Partial => Change::Partial,
                Status::Unknown => Change::Unknown,
                Status::Allowed => Change::Allowed,
            },
            (Some(_), None) => Change::Gone,
            (None, None) => continue,
        };
        let (rec, deciding) = match (n, o) {
            (Some(n), _) => ((*n).clone(), rel_deciding(&n.deciding, new)),
            (None, Some(o)) => ((*o).clone(), Vec::new()),
            (None, None) => continue,
        };
        let mut rec = rec;
        rec.firewall = k.0 .0.clone();
        let mut caused_by = Vec::new();
        if matches!(change, Change::Blocked | Change::Partial) {
            caused_by = causes(
                &deciding,
                &rules_added,
                &rules_removed,
                &rules_moved,
                &kept,
                &rec.firewall,
            );
        }
        flows.push(FlowChange {
            change,
            old: o.map(|x| x.status),
            new: n.map(|x| x.status),
            rec,
            deciding,
            caused_by,
        });
    }
    flows.sort_by(|a, b| {
        (
            a.change,
            !is_breaking(a),
            &a.rec.firewall,
            &a.rec.requirement,
        )
            .cmp(&(
                b.change,
                !is_breaking(b),
                &b.rec.firewall,
                &b.rec.requirement,
            ))
    });
    let (ofind, nfind) = (findings_of(old), findings_of(new));
    let mut findings_added = unmatched(nfind.clone(), &ofind);
    let mut findings_fixed = unmatched(ofind, &nfind);
    let worst_first = |a: &FindingEntry, b: &FindingEntry| {
        (std::cmp::Reverse(a.severity), &a.file, a.line, a.code).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.file,
            b.line,
            b.code,
        ))
    };
    findings_added.sort_by(worst_first);
    findings_fixed.sort_by(worst_first);
    Diff {
        flows,
        findings_added,
        findings_fixed,
        rules_added,
        rules_removed,
        rules_moved,
    }
}

// ---------------------------------------------------------------------------------------------
// output

fn rule_json(r: &RuleEntry) -> Value {
    json!({
        "firewall": r.firewall,
        "ruleset": r.ruleset,
        "policy": r.policy,
        "chain": r.chain,
        "position": r.position,
        "rule": r.label,
        "line": r.line,
        "action": r.action,
        "text": r.text,
    })
}

fn finding_json(f: &FindingEntry) -> Value {
    json!({
        "fingerprint": f.fingerprint,
        "code": f.code,
        "name": f.name,
        "severity": f.severity.name(),
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "requirement": f.requirement,
        "waived": f.waived,
    })
}

fn to_json(d: &Diff, old: &str, new: &str) -> Value {
    let flows: Vec<Value> = d
        .flows
        .iter()
        .map(|f| {
            json!({
                "change": f.change.name(),
                "breaking": is_breaking(f),
                "firewall": f.rec.firewall,
                "policy": f.rec.policy,
                "requirement": f.rec.requirement,
                "direction": f.rec.direction,
                "site": f.rec.site,
                "from_role": f.rec.from_role,
                "to_role": f.rec.to_role,
                "protocol": f.rec.protocol,
                "ports": f.rec.ports,
                "conditional": f.rec.conditional,
                "old_status": f.old.map(|s| s.name()),
                "new_status": f.new.map(|s| s.name()),
                "deciding": f.deciding,
                "caused_by": f.caused_by.iter().map(|c| {
                    let mut v = rule_json(&c.rule);
                    v["change"] = json!(c.how);
                    v
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let count = |c: Change| d.flows.iter().filter(|f| f.change == c).count();
    json!({
        "schema": "portolan-diff/1",
        "old": old,
        "new": new,
        "flows_changed": flows,
        "findings_added": d.findings_added.iter().map(finding_json).collect::<Vec<_>>(),
        "findings_fixed": d.findings_fixed.iter().map(finding_json).collect::<Vec<_>>(),
        "rules_added": d.rules_added.iter().map(rule_json).collect::<Vec<_>>(),
        "rules_removed": d.rules_removed.iter().map(rule_json).collect::<Vec<_>>(),
        "rules_moved": d.rules_moved.iter().map(|m| {
            let mut v = rule_json(&m.new);
            v["old_rule"] = json!(m.old.label);
            v["old_line"] = json!(m.old.line);
            v["old_position"] = json!(m.old.position);
            v
        }).collect::<Vec<_>>(),
        "summary": {
            "flows_changed": {
                "newly_blocked": count(Change::Blocked),
                "newly_partial": count(Change::Partial),
                "newly_unknown": count(Change::Unknown),
                "newly_allowed": count(Change::Allowed),
                "no_longer_audited": count(Change::Gone),
            },
            "findings_added": d.findings_added.len(),
            "findings_fixed": d.findings_fixed.len(),
            "rules_added": d.rules_added.len(),
            "rules_removed": d.rules_removed.len(),
            "rules_moved": d.rules_moved.len(),
            "breaking": d.breaking(),
        },
    })
}

fn at(file: &str, line: Option<u32>) -> String {
    match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    }
}

fn render_human(d: &Diff, old: &str, new: &str, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(w, "portolan diff: {old} -> {new}")?;
    let mut any = false;
    let mut last: Option<Change> = None;
    let flow_section = |w: &mut dyn std::io::Write,
                        f: &FlowChange,
                        last: &mut Option<Change>|
     -> std::io::Result<()> {
        if *last != Some(f.change) {
            let n = d.flows.iter().filter(|x| x.change == f.change).count();
            writeln!(w, "\n{} ({n}):", f.change.title())?;
            *last = Some(f.change);
        }
        let st = |s: Option<Status>| s.map(|s| s.name()).unwrap_or("-");
        writeln!(
            w,
            "  {} {} {}/{} {} -> {}  {} {}{}{}",
            f.rec.requirement,
            f.rec.direction,
            f.rec.ports,
            f.rec.protocol,
            st(f.old),
            st(f.new),
            f.rec.firewall,
            f.rec.policy,
            f.rec
                .site
                .as_ref()
                .map(|s| format!(" (site {s})"))
                .unwrap_or_default(),
            if f.rec.conditional {
                " [conditional]"
            } else {
                ""
            }
        )?;
        if matches!(
            f.change,
            Change::Blocked | Change::Partial | Change::Unknown
        ) {
            for x in &f.deciding {
                writeln!(
                    w,
                    "      decided by {} ({}) at {}",
                    x.rule,
                    x.action,
                    at(&x.file, x.line)
                )?;
            }
        }
        for c in &f.caused_by {
            writeln!(
                w,
                "      caused by the {} rule {} at {}: {}",
                c.how,
                c.rule.label,
                at(&c.rule.firewall, c.rule.line),
                c.rule.text
            )?;
        }
        Ok(())
    };
    for f in d
        .flows
        .iter()
        .filter(|f| f.change != Change::Allowed && f.change != Change::Gone)
    {
        any = true;
        flow_section(w, f, &mut last)?;
    }
    if !d.findings_added.is_empty() {
        any = true;
        writeln!(w, "\nfindings added ({}):", d.findings_added.len())?;
        for f in &d.findings_added {
            writeln!(
                w,
                "  {} {} [{}] {}: {}{}",
                f.code,
                f.name,
                f.severity.name(),
                at(f.file.as_deref().unwrap_or("-"), f.line),
                f.message,
                if f.waived { " (waived)" } else { "" }
            )?;
        }
    }
    let rule_line = |w: &mut dyn std::io::Write, r: &RuleEntry| {
        writeln!(
            w,
            "  {} at {}: {}",
            r.label,
            at(&r.firewall, r.line),
            r.text
        )
    };
    if !d.rules_added.is_empty() {
        any = true;
        writeln!(w, "\nrules added ({}):", d.rules_added.len())?;
        for r in &d.rules_added {
            rule_line(w, r)?;
        }
    }
    if !d.rules_removed.is_empty() {
        any = true;
        writeln!(w, "\nrules removed ({}):", d.rules_removed.len())?;
        for r in &d.rules_removed {
            rule_line(w, r)?;
        }
    }
    if !d.rules_moved.is_empty() {
        any = true;
        writeln!(w, "\nrules moved ({}):", d.rules_moved.len())?;
        for m in &d.rules_moved {
            writeln!(
                w,
                "  {} at {} (was {} at line {}): {}",
                m.new.label,
                at(&m.new.firewall, m.new.line),
                m.old.label,
                m.old.line.map(|l| l.to_string()).unwrap_or("-".into()),
                m.new.text
            )?;
        }
    }
    for f in d
        .flows
        .iter()
        .filter(|f| f.change == Change::Allowed || f.change == Change::Gone)
    {
        any = true;
        flow_section(w, f, &mut last)?;
    }
    if !d.findings_fixed.is_empty() {
        any = true;
        writeln!(w, "\nfindings fixed ({}):", d.findings_fixed.len())?;
        for f in &d.findings_fixed {
            writeln!(
                w,
                "  {} {} [{}] {}: {}",
                f.code,
                f.name,
                f.severity.name(),
                at(f.file.as_deref().unwrap_or("-"), f.line),
                f.message
            )?;
        }
    }
    if !any {
        writeln!(w, "\nno change to the audit")?;
    }
    let count = |c: Change| d.flows.iter().filter(|f| f.change == c).count();
    writeln!(
        w,
        "\n{} newly blocked, {} newly partial, {} newly unknown, {} newly allowed; {} findings added, {} fixed; {} rules added, {} removed, {} moved{}",
        count(Change::Blocked),
        count(Change::Partial),
        count(Change::Unknown),
        count(Change::Allowed),
        d.findings_added.len(),
        d.findings_fixed.len(),
        d.rules_added.len(),
        d.rules_removed.len(),
        d.rules_moved.len(),
        if d.breaking() {
            " — this change breaks a required flow"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_whitespace_are_ignored() {
        assert_eq!(
            normalise("[12:720]  -A INPUT   -p tcp -j ACCEPT"),
            normalise("-A INPUT -p tcp -j ACCEPT")
        );
        assert_eq!(normalise(":INPUT DROP [0:0]"), ":INPUT DROP");
        assert!(!is_counter("[a:1]"));
        assert!(!is_counter("[:]"));
    }

    #[test]
    fn lcs_keeps_the_longest_common_order() {
        let a = ["a", "b", "c", "d"];
        let b = ["a", "x", "b", "c", "d"];
        assert_eq!(lcs(&a, &b), vec![(0, 0), (1, 2), (2, 3), (3, 4)]);
        let b = ["b", "c", "a", "d"];
        let m = lcs(&a, &b);
        assert_eq!(m.len(), 3);
        assert!(lcs(&[], &["a"]).is_empty());
        assert!(lcs(&["a"], &[]).is_empty());
    }

    #[test]
    fn lexical_paths_stay_inside() {
        assert_eq!(lexical(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(lexical(Path::new("../x")), None);
        assert_eq!(lexical(Path::new(".")), Some(PathBuf::new()));
    }
}
