//! `portolan diff`: audit two versions of the firewalls with the same options and report what the
//! change does — required flows newly blocked or allowed, findings added or fixed, and the rules
//! added, removed or moved that caused it. The pull-request check.
//!
//! The two sides are two files, two directories (files matched by their path inside each), or
//! the working tree and a git revision (`--git REV`), whose files are copied out with the `git`
//! command into a temporary directory that is removed afterwards; the repository is only read.
//! The comparison and its output are [`crate::engine::diff`]; this file audits the sides, prints,
//! and picks the exit code.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::audit::{FailOn, Setup};
use crate::engine::diff::{self, git, rebase, Naming, Side};
use crate::inventory::Inventory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
    /// A pull-request comment: the verdict, flows changed worst first, findings added and fixed.
    Markdown,
    /// SARIF 2.1.0: the findings the change adds and the flows it newly blocks, for code scanning.
    Sarif,
    /// GitHub workflow commands: a summary notice, then annotations, errors first.
    Github,
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

pub fn run(a: DiffArgs) -> u8 {
    let setup = match a.opts.setup() {
        Ok(s) => s,
        Err(code) => return code,
    };
    // where the new side's files are: its names are relative to this (SARIF and GitHub paths)
    let new_root: Option<PathBuf>;
    let (old, new, old_title, new_title) = match &a.git {
        Some(rev) => match git_sides(rev, &a.paths, &setup) {
            Ok((o, n, temp, top)) => {
                // both sides are read and audited: the copies can go
                drop(temp);
                new_root = Some(top);
                (o, n, format!("{rev} (git)"), "working tree".to_string())
            }
            Err(code) => return code,
        },
        None => match path_sides(&a.paths, &setup) {
            Ok((o, n)) => {
                new_root = a.paths.get(1).filter(|p| p.is_dir()).cloned();
                (
                    o,
                    n,
                    a.paths[0].display().to_string(),
                    a.paths[1].display().to_string(),
                )
            }
            Err(code) => return code,
        },
    };
    let failed = old.report.input_failed || new.report.input_failed;
    let diff = diff::compare(&old, &new);
    let findings_fail = a
        .fail_on
        .threshold()
        .is_some_and(|t| diff.adds_finding_at(t));
    let locate = |name: &str| match &new_root {
        Some(root) => root.join(name).to_string_lossy().into_owned(),
        None => name.to_string(),
    };
    let out = super::write_stdout(|w| match a.format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &diff::to_json(&diff, &old_title, &new_title))?;
            w.write_all(b"\n")
        }
        DiffFormat::Human => diff::render_human(&diff, &old_title, &new_title, w),
        DiffFormat::Markdown => diff::ci::render_markdown(&diff, &old_title, &new_title, w),
        DiffFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *w, &diff::ci::to_sarif(&diff, &locate))?;
            w.write_all(b"\n")
        }
        DiffFormat::Github => diff::ci::render_github(&diff, &locate, w),
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
    Side::new(setup.audit(paths, inventory), naming)
}

/// The working tree (new) and a revision (old, copied into a temporary directory).
fn git_sides(
    rev: &str,
    paths: &[PathBuf],
    setup: &Setup,
) -> Result<(Side, Side, git::TempDir, PathBuf), u8> {
    let fail = |m: String| {
        eprintln!("portolan: {m}");
        super::EXIT_USAGE
    };
    let cwd = std::env::current_dir().map_err(|e| fail(format!("no current directory: {e}")))?;
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
    let c = git::checkout(rev, &wanted, &cwd).map_err(|e| fail(e.to_string()))?;
    let old_inv = setup
        .inventory
        .as_ref()
        .map(|i| rebase(i, &[(c.top.clone(), c.temp.path().to_path_buf())]));
    let o = audit_side(
        setup,
        &c.old_paths,
        old_inv.as_ref(),
        &Naming::Under(c.temp.path().to_path_buf()),
    );
    let n = audit_side(
        setup,
        &c.new_paths,
        setup.inventory.as_ref(),
        &Naming::Under(c.top.clone()),
    );
    Ok((o, n, c.temp, c.top.clone()))
}
