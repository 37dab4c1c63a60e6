//! A run audited a batch of files at a time: each batch's report appended to the run's, its
//! files kept only as the reports read them (`InputFile::slim`), so that memory follows the
//! largest batch and the report rather than the number of files. Only for runs whose flows do
//! not cross files (no inventory, no `--policy`): there each file's flows, findings and their
//! order are its own, and a batch's report is the whole run's for its files.

use super::Report;

/// Append the report of the next files of a run (audited on their own) to the run's: its
/// files, flows and findings, their file and firewall indices moved past the run's. The models
/// the batch read are dropped.
pub fn append(run: &mut Report, mut part: Report) {
    let (files, targets) = (run.files.len(), run.targets);
    for f in &mut part.files {
        f.slim();
    }
    // the report stays for the whole run: its lists hold no spare room
    for fl in &mut part.flows {
        fl.file += files;
        fl.target += targets;
        // read by the exposure checks only, which the batch has run
        fl.world_open = None;
        fl.deciding.shrink_to_fit();
        fl.unknown_reasons.shrink_to_fit();
        fl.assumes.shrink_to_fit();
        fl.set_aside.shrink_to_fit();
    }
    for f in &mut part.findings {
        if let Some(i) = &mut f.file {
            *i += files;
        }
        f.labels.shrink_to_fit();
    }
    run.files.append(&mut part.files);
    run.flows.append(&mut part.flows);
    run.findings.append(&mut part.findings);
    run.targets += part.targets;
    run.input_failed |= part.input_failed;
    run.skipped.append(&mut part.skipped);
}

/// The run's findings in the order one audit of every file gives them (each batch's are in
/// that order, and a finding's file decides first).
pub fn finish(run: &mut Report) {
    super::sort_findings(&mut run.findings);
}
