//! What a run's closing lines read of its report — the human summary line, `--statistics`, the
//! check that some firewall was audited, the exit code — as counts: taken from one report, or
//! added up a batch of files at a time when the report is written as it goes (`cli/stream.rs`).

use std::collections::BTreeMap;

use crate::engine::reach::Status;
use crate::engine::{Report, Severity};

#[derive(Debug, Default)]
pub struct Tally {
    pub environment: Option<crate::catalog::Environment>,
    /// How many files were read.
    pub files: usize,
    /// The files a directory scan found that are no firewall export.
    pub skipped: Vec<String>,
    /// Some file held a firewall.
    pub audited: bool,
    pub input_failed: bool,
    /// The findings not waived, per code and name.
    pub counts: BTreeMap<(&'static str, &'static str), usize>,
    /// The findings not waived, per severity (info, warning, error).
    by_severity: [usize; 3],
    pub waived: usize,
    pub baselined: usize,
    /// Each audited firewall's worst flow of its own (a flow of no path), in no order.
    pub firewalls: Vec<Status>,
    /// Every flow, per status (allowed, partial, blocked, unknown).
    pub flows: [usize; 4],
    /// The end-to-end path records, per status.
    pub paths: [usize; 4],
}

fn slot(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

fn status_slot(s: Status) -> usize {
    match s {
        Status::Allowed => 0,
        Status::Partial => 1,
        Status::Blocked => 2,
        Status::Unknown => 3,
    }
}

impl Tally {
    pub fn of(r: &Report) -> Tally {
        let mut t = Tally::default();
        t.add(r);
        t
    }

    /// Count another report in: the next batch of files of the same run (a firewall's flows
    /// are all in one batch).
    pub fn add(&mut self, r: &Report) {
        self.environment = self.environment.or(r.environment);
        self.files += r.files.len();
        self.skipped.extend(r.skipped.iter().cloned());
        self.audited |= r.files.iter().any(|f| !f.rulesets.is_empty());
        self.input_failed |= r.input_failed;
        self.baselined += r.baselined;
        for f in &r.findings {
            if f.is_waived() {
                self.waived += 1;
            } else {
                *self.counts.entry((f.code, f.name)).or_default() += 1;
                self.by_severity[slot(f.severity)] += 1;
            }
        }
        // by firewall (a search of a list per flow was quadratic in the number of firewalls)
        let mut worst: std::collections::HashMap<(usize, usize), Status> = Default::default();
        for fl in &r.flows {
            self.flows[status_slot(fl.status)] += 1;
            if !fl.path.is_empty() {
                self.paths[status_slot(fl.status)] += 1;
                continue;
            }
            let w = worst.entry((fl.file, fl.target)).or_insert(fl.status);
            if fl.status.rank() > w.rank() {
                *w = fl.status;
            }
        }
        self.firewalls.extend(worst.into_values());
    }

    /// The findings of this severity that count (not waived).
    pub fn count(&self, s: Severity) -> usize {
        self.by_severity[slot(s)]
    }

    /// The highest severity of a finding not waived.
    pub fn worst(&self) -> Option<Severity> {
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|s| self.count(*s) > 0)
    }

    /// How many flows have this status, of all flows (`paths == false`) or of the path records.
    pub fn flows(&self, s: Status, paths: bool) -> usize {
        if paths {
            self.paths[status_slot(s)]
        } else {
            self.flows[status_slot(s)]
        }
    }
}
