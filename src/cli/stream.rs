//! `portolan audit` written as it goes: a run whose output is each batch of files' output one
//! after the other — `--format concise` (a line per finding, ordered by file) and the human
//! format (each file with its flows and findings, then a summary line of counts) — is written
//! a batch at a time, each batch's report dropped once written, so that its memory follows the
//! largest batch, not the number of files (issue 19). What it writes, and the exit code, are
//! those of the whole-report path in `audit.rs`.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::audit::{finish, settle, write_file, AuditArgs, Selection, Setup};
use crate::report::human;
use crate::report::tally::Tally;
use crate::report::OutputFormat;

/// Audit and write `paths` a batch at a time, when the run allows it; `None` when it does not
/// (a format that orders or counts across files, several formats, an inventory or `--policy`
/// whose flows cross files, `--shard`, `--write-baseline`, or an `--output` the scan would
/// read), for the whole-report path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    a: &AuditArgs,
    setup: &Setup,
    paths: &[PathBuf],
    formats: &[OutputFormat],
    selection: &Selection,
    baseline: Option<&serde_json::Value>,
    stdin: Option<&super::stdin::Stdin>,
    started: i64,
) -> Option<u8> {
    let format = match formats {
        [f @ (OutputFormat::Concise | OutputFormat::Human)] => *f,
        _ => return None,
    };
    if a.shard.is_some() || a.write_baseline.is_some() || !setup.batched() {
        return None;
    }
    let scan = setup.scan(paths);
    // an output that is also an input is refused by the whole-report path, after reading
    if let Some(out) = a.output.first() {
        if let Ok(out) = std::fs::canonicalize(out) {
            if scan
                .files()
                .any(|f| std::fs::canonicalize(f).is_ok_and(|f| f == out))
            {
                return None;
            }
        }
    }
    let mut style = human::Style::detect(a.output.is_empty() && std::io::stdout().is_terminal());
    style.quiet = a.quiet;
    style.verbose = a.verbose;
    let mut tally = Tally::default();
    // the run record, shown only by the human format's `--verbose`, hashes every file again
    // where it was read (standard input's before it is renamed)
    let record = format == OutputFormat::Human && style.verbose;
    let mut read_at: Vec<String> = Vec::new();
    let write = |w: &mut dyn std::io::Write| {
        setup.audit_each(scan, |mut part| {
            if record {
                read_at.extend(part.files.iter().map(|f| f.path.clone()));
            }
            settle(&mut part, a, stdin, selection, baseline);
            tally.add(&part);
            match format {
                OutputFormat::Human => human::files(&part, w, style),
                _ => crate::report::concise::render(&part, w),
            }
            // the part's memory is given back here, not at the end of the run
        })?;
        if format == OutputFormat::Human {
            // the run record and the summary line; a batched run has no path records and no
            // finding about no file, so the report they end is only the record
            let mut end = crate::engine::Report {
                run: record.then(|| {
                    a.opts
                        .run_record(setup, tally.environment, &read_at, &[], started)
                }),
                ..Default::default()
            };
            if let Some(s) = stdin {
                s.rename(&mut end);
            }
            human::end(&end, &tally, w, style)?;
        }
        Ok(())
    };
    let written = match a.output.first() {
        Some(path) => write_file(path, write),
        None => super::write_stdout(write),
    };
    Some(match written {
        Ok(()) => finish(a, &tally),
        Err(code) => code,
    })
}
