//! `portolan merge REPORT.json...`: the jobs of `audit --shard K/N` put back together
//! ([`crate::engine::shard`]), written in any format with the whole run's exit code.

use std::path::PathBuf;

use clap::Args;

use super::audit::{exit_code, write_reports, FailOn};
use crate::report::OutputFormat;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports of every job of the matrix (`audit --shard K/N --format json`), in any
    /// order.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Output format, as for `audit`; repeat with `--output` to write several reports.
    #[arg(long, value_parser = super::audit::format_parser())]
    pub format: Vec<OutputFormat>,
    /// Write the report to this file (atomically) instead of standard output; the n-th
    /// `--output` takes the n-th `--format`.
    #[arg(long, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Exit 1 when a finding of at least this severity is reported.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Human output: only the findings and the summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Human output: every finding in full, and the skipped files.
    #[arg(long, short)]
    pub verbose: bool,
    /// Exit 0 even when no job audited a firewall.
    #[arg(long)]
    pub allow_empty: bool,
}

pub fn run(a: MergeArgs) -> u8 {
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
    // never write over a job's report (checked before anything is read)
    let reports: Vec<PathBuf> = a
        .reports
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    if let Some(out) = a
        .output
        .iter()
        .find(|o| std::fs::canonicalize(o).is_ok_and(|o| reports.contains(&o)))
    {
        eprintln!(
            "portolan: --output {} is one of the reports to merge; refusing to overwrite it",
            out.display()
        );
        return super::EXIT_USAGE;
    }
    let mut jobs = Vec::with_capacity(a.reports.len());
    for p in &a.reports {
        match crate::engine::shard::read(p) {
            Ok(d) => jobs.push((p.display().to_string(), d)),
            Err(e) => {
                eprintln!("portolan: {e}");
                return super::EXIT_USAGE;
            }
        }
    }
    let merged = match crate::engine::shard::merge(jobs) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("portolan: {e}");
            return super::EXIT_USAGE;
        }
    };
    for p in &merged.unread {
        eprintln!("portolan: cannot read {p} again: its findings are shown without its text (run merge where the jobs' inputs are)");
    }
    let report = merged.report;
    if let Err(code) = write_reports(&report, &formats, &a.output, a.quiet, a.verbose) {
        return code;
    }
    let mut code = exit_code(&crate::report::tally::Tally::of(&report), a.fail_on);
    if !a.allow_empty && !report.files.iter().any(|f| !f.rulesets.is_empty()) {
        eprintln!(
            "portolan: no job audited a firewall ({} file(s) read, {} skipped as no firewall export); check the paths, or pass --allow-empty",
            report.files.len(),
            report.skipped.len()
        );
        code = super::EXIT_USAGE;
    }
    code
}
