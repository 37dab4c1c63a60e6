//! `--shard K/N`: which of a run's inputs one CI job audits. The share is a function of the
//! inputs alone (their paths, in the order a whole run reads them, and their sizes), so the N
//! jobs of a matrix split the inputs between them without talking to each other, every input
//! goes to exactly one job, and `portolan merge` puts their reports back in the whole run's
//! order ([`crate::engine::shard`]).

use std::path::{Path, PathBuf};

use super::{expand, InputFile, ScanFilter};

/// Job `index` (0-based) of `count`: written and read as `K/N`, K from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// The job each input goes to, for inputs of these sizes (in bytes, in the whole run's order):
/// the largest first, each to the job with the fewest bytes so far (the lowest-numbered job on
/// a tie; inputs of equal size in the run's order). Balanced by size, since the time a file
/// takes follows its size; deterministic, since it reads nothing but the sizes and the order.
pub fn assign(sizes: &[u64], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; count];
    let mut job = vec![0; sizes.len()];
    for i in order {
        let (j, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(j, l)| (**l, *j))
            .unwrap_or((0, &0));
        job[i] = j;
        load[j] += sizes[i].max(1);
    }
    job
}

/// Where a shard's files and skipped files stand in the whole run's order: for each, its
/// position among every input the whole run would read (`merge` sorts by it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    pub files: Vec<usize>,
    pub skipped: Vec<usize>,
}

/// The size of the file at `p` for balancing (0 when it cannot be read: the job that gets it
/// reports it unreadable, as a whole run would).
pub fn size_of(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// One job's share of a run's inputs (see [`pick`]).
pub struct Share {
    /// The files this job reads, in the whole run's order.
    pub todo: Vec<(PathBuf, bool)>,
    /// Where each of them stands among the whole run's.
    mine: Vec<usize>,
    /// How many files the whole run's scan found.
    total: usize,
    /// The paths that could not be scanned (the first job's).
    pub errors: Vec<InputFile>,
    /// How many of them there are.
    error_count: usize,
}

impl Share {
    /// Where the job's files stand in the whole run, given which of `todo` are inputs.
    pub fn origins(&self, kept: &[bool]) -> Origins {
        let mut origins = Origins::default();
        for (k, &i) in self.mine.iter().enumerate() {
            if kept.get(k).copied().unwrap_or(false) {
                origins.files.push(i);
            } else {
                origins.skipped.push(i);
            }
        }
        origins
            .files
            .extend(self.total..self.total + self.error_count);
        origins
    }
}

/// The share of the inputs [`assign`] gives one job of `--shard K/N` (a path that could not be
/// scanned goes to the first job), unread.
pub fn pick(paths: &[PathBuf], filter: &ScanFilter, job: Shard) -> Share {
    let (todo, errors) = expand(paths, filter);
    let sizes: Vec<u64> = todo.iter().map(|(p, _)| size_of(p)).collect();
    let jobs = assign(&sizes, job.count);
    let mine: Vec<usize> = (0..todo.len()).filter(|&i| jobs[i] == job.index).collect();
    let errors = if job.index == 0 { errors } else { Vec::new() };
    Share {
        todo: mine.iter().map(|&i| todo[i].clone()).collect(),
        mine,
        total: todo.len(),
        error_count: errors.len(),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(
            "1/1".parse::<Shard>().map(|s| s.to_string()),
            Ok("1/1".into())
        );
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_input_goes_to_one_job_balanced_by_size() {
        let sizes = [100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
        let jobs = assign(&sizes, 2);
        let bytes = |j| {
            (0..sizes.len())
                .filter(|&i| jobs[i] == j)
                .map(|i| sizes[i])
                .sum::<u64>()
        };
        assert_eq!(bytes(0), 100);
        assert_eq!(bytes(1), 100);
        assert_eq!(jobs[0], 0);
        // more jobs than inputs: the rest get nothing, and nothing is lost
        let jobs = assign(&[5, 5], 4);
        assert_eq!(jobs, vec![0, 1]);
        // the same inputs give the same share
        assert_eq!(assign(&sizes, 3), assign(&sizes, 3));
    }
}
