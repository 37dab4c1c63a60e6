//! `portolan fix`: for each blocked or partly blocked required flow, the smallest native change
//! that admits exactly its denied part, verified on the model (see `crate::remedy`), grouped per
//! firewall, and the flows no single change fixes, with why; with
//! `--write-patched DIR`, patched copies of iptables files (the lines inserted before their
//! table's `COMMIT`, where `iptables-restore` reads them in place) — never over an input.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::remedy::Fix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Firewall files or directories (or the inventory's firewalls).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub opts: super::audit::AuditOptionArgs,
    /// Also fix flows that are needed only under a condition the facts do not decide.
    #[arg(long)]
    pub include_conditional: bool,
    /// Write patched copies of the iptables files into this directory.
    #[arg(long, value_name = "DIR")]
    pub write_patched: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: FixFormat,
}

/// Insert `lines` before the `COMMIT` of `*table` in an iptables-save text.
pub fn patch_iptables(text: &str, table: &str, lines: &[String]) -> Option<String> {
    let mut out = String::with_capacity(text.len() + lines.len() * 120);
    let mut in_table = false;
    let mut done = false;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    for l in text.split_inclusive('\n') {
        let t = l.trim();
        if let Some(name) = t.strip_prefix('*') {
            in_table = name.trim() == table;
        }
        if in_table && !done && t == "COMMIT" {
            for x in lines {
                out.push_str(x);
                out.push_str(nl);
            }
            done = true;
            in_table = false;
        }
        out.push_str(l);
    }
    done.then_some(out)
}

pub fn run(a: FixArgs) -> u8 {
    let setup = match a.opts.setup() {
        Ok(s) => s,
        Err(code) => return code,
    };
    let paths = if a.paths.is_empty() {
        match &setup.inventory {
            Some(inv) if !inv.firewalls.is_empty() => {
                inv.firewalls.iter().map(|f| f.path.clone()).collect()
            }
            _ => {
                eprintln!("portolan: name the firewall files or directories to fix");
                return super::EXIT_USAGE;
            }
        }
    } else {
        a.paths.clone()
    };
    let report = setup.audit(&paths, setup.inventory.as_ref());
    // per file: the fixes in flow order, each line once; then the flows no single change fixes
    let mut per_file: Vec<(usize, Vec<(String, Fix)>)> = Vec::new();
    let mut cannot: Vec<(usize, String, String)> = Vec::new();
    for f in &report.flows {
        if f.conditional && !a.include_conditional {
            continue;
        }
        let what = format!("{} {} ({})", f.requirement, f.direction, f.policy);
        if let Some(why) = &f.no_fix {
            cannot.push((f.file, what.clone(), why.clone()));
        }
        let Some(fix) = &f.fix else { continue };
        let entry = match per_file.iter_mut().find(|(i, _)| *i == f.file) {
            Some(e) => e,
            None => {
                per_file.push((f.file, Vec::new()));
                let last = per_file.len() - 1;
                &mut per_file[last]
            }
        };
        if !entry.1.iter().any(|(_, x)| x.lines == fix.lines) {
            entry.1.push((what, (**fix).clone()));
        }
    }
    if let Some(dir) = &a.write_patched {
        if let Err(code) = write_patched(dir, &report, &per_file) {
            return code;
        }
    }
    let res = super::write_stdout(|out| match a.format {
        FixFormat::Json => {
            let files: Vec<_> = per_file
                .iter()
                .map(|(fi, fixes)| {
                    json!({
                        "file": report.files.get(*fi).map(|f| f.path.clone()),
                        "fixes": fixes.iter().map(|(what, fix)| json!({ "flow": what, "fix": fix })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let unfixable: Vec<_> = cannot
                .iter()
                .map(|(fi, what, why)| {
                    json!({
                        "file": report.files.get(*fi).map(|f| f.path.clone()),
                        "flow": what,
                        "why": why,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(
                &mut *out,
                &json!({ "schema": "portolan-fix/1", "files": files, "unfixable": unfixable }),
            )?;
            writeln!(out)
        }
        FixFormat::Human => {
            if per_file.is_empty() && cannot.is_empty() {
                writeln!(
                    out,
                    "nothing to fix: no required flow is blocked or partly blocked"
                )?;
            }
            for (fi, fixes) in &per_file {
                writeln!(
                    out,
                    "{}",
                    report.files.get(*fi).map(|f| f.path.as_str()).unwrap_or("")
                )?;
                for (what, fix) in fixes {
                    writeln!(out, "  # {what}")?;
                    for l in &fix.lines {
                        writeln!(out, "  {l}")?;
                    }
                    if let Some(n) = &fix.note {
                        writeln!(out, "  # note: {n}")?;
                    }
                }
            }
            if !cannot.is_empty() {
                writeln!(out, "no single change fixes:")?;
            }
            for (fi, what, why) in &cannot {
                writeln!(
                    out,
                    "  {} {what}: {why}",
                    report.files.get(*fi).map(|f| f.path.as_str()).unwrap_or("")
                )?;
            }
            Ok(())
        }
    });
    match res {
        Ok(()) if report.input_failed => super::EXIT_USAGE,
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}

fn write_patched(
    dir: &Path,
    report: &crate::engine::Report,
    per_file: &[(usize, Vec<(String, Fix)>)],
) -> Result<(), u8> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("portolan: cannot create {}: {e}", dir.display());
        return Err(super::EXIT_USAGE);
    }
    for (fi, fixes) in per_file {
        let Some(file) = report.files.get(*fi) else {
            continue;
        };
        let Some(src) = &file.source else { continue };
        let mut text = src.text.to_string();
        let mut any = false;
        for (_, fix) in fixes {
            if let (Some(table), "iptables") = (&fix.table, fix.platform) {
                if let Some(t) = patch_iptables(&text, table, &fix.lines) {
                    text = t;
                    any = true;
                }
            }
        }
        if !any {
            continue;
        }
        let name = Path::new(&file.path)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| "patched.rules".into());
        let target = dir.join(name);
        // never over any input, not only the file being patched (two inputs may share a name)
        let same = std::fs::canonicalize(&target).is_ok_and(|t| {
            report
                .files
                .iter()
                .any(|f| std::fs::canonicalize(&f.path).is_ok_and(|i| i == t))
        });
        if same {
            eprintln!(
                "portolan: {} is an input; refusing to overwrite it",
                target.display()
            );
            return Err(super::EXIT_USAGE);
        }
        if let Err(e) = std::fs::write(&target, text) {
            eprintln!("portolan: cannot write {}: {e}", target.display());
            return Err(super::EXIT_USAGE);
        }
    }
    Ok(())
}
