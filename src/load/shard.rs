//! `--shard K/N`: which of a run's inputs one CI job audits. The share is a function of the
//! inputs alone (their paths, in the order a whole run reads them, and their sizes), so the N
//! jobs of a matrix split the inputs between them without talking to each other, every input
//! goes to exactly one job, and `portolan merge` puts their reports back in the whole run's
//! order ([`crate::engine::shard`]).

use std::path::{Path, PathBuf};

use super::{expand, read, InputFile, ScanFilter};
use crate::formats::Resolver;

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

/// [`load_scan`] for one job of `--shard K/N`: the share of the inputs [`assign`] gives
/// it (a path that could not be scanned goes to the first job), and where its files stand in
/// the whole run's order.
pub fn load_shard(
    paths: &[PathBuf],
    names: &Resolver,
    filter: &ScanFilter,
    max_size: u64,
    job: Shard,
) -> (Vec<InputFile>, Vec<String>, Origins) {
    let (todo, mut errors) = expand(paths, filter);
    let sizes: Vec<u64> = todo.iter().map(|(p, _)| size_of(p)).collect();
    let jobs = assign(&sizes, job.count);
    let mine: Vec<usize> = (0..todo.len()).filter(|&i| jobs[i] == job.index).collect();
    let picked: Vec<(PathBuf, bool)> = mine.iter().map(|&i| todo[i].clone()).collect();
    let (mut files, skipped, kept) = read(&picked, names, max_size);
    let mut origins = Origins::default();
    for (k, &i) in mine.iter().enumerate() {
        if kept[k] {
            origins.files.push(i);
        } else {
            origins.skipped.push(i);
        }
    }
    if job.index == 0 {
        origins.files.extend(todo.len()..todo.len() + errors.len());
        files.append(&mut errors);
    }
    (files, skipped, origins)
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
