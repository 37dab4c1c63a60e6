//! `audit --shard K/N` and `portolan merge`: the jobs of a CI matrix, put back together, give
//! the single run's report in every format and its exit code (issue 20, item 8).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::portolan;

/// Every output format, with the file name it is written to.
const FORMATS: &[&str] = &[
    "human", "json", "sarif", "junit", "markdown", "html", "github", "gitlab", "concise",
];

const QUICK: &[&str] = &["--env", "vsphere", "--role", "zvm"];

/// A repository of firewall exports of every kind, in subdirectories: iptables (one with a
/// malformed line), nftables, Windows (netsh UTF-16, a .reg, the binary .wfw hive), Azure and
/// AWS (one truncated), and a file that is no export (skipped).
pub fn repo(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for (from, to) in [
        ("iptables/zvm-drops-9669.rules", "linux/zvm-a.rules"),
        ("iptables/zvm-exposed.rules", "linux/zvm-b.rules"),
        ("iptables/zvm-malformed.rules", "linux/old/zvm-c.rules"),
        ("nftables/archlinux-default-nftables.conf", "linux/nft.conf"),
        (
            "windows/zvm-netsh-block-9081.utf16le.txt",
            "windows/netsh.txt",
        ),
        ("windows/zvm-rules.reg", "windows/zvm.reg"),
        ("windows/corpus/Win10Firewall.wfw", "windows/policy.wfw"),
        ("azure/nsg-list.json", "cloud/nsg-list.json"),
        ("aws/zca-sg-9669-open.json", "cloud/sg.json"),
        ("aws/sg-truncated.json", "cloud/sg-truncated.json"),
        ("no-export/README.txt", "README.txt"),
    ] {
        let to = d.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(from), &to).unwrap();
    }
    d
}

/// Run `args` with one `--format`/`--output` pair per format into `out`; the exit code and
/// each format's text.
fn every_format(args: &[&str], out: &Path) -> (i32, BTreeMap<&'static str, String>) {
    std::fs::create_dir_all(out).unwrap();
    let mut c = portolan();
    c.args(args);
    for f in FORMATS {
        c.args(["--format", f, "--output"]).arg(out.join(f));
    }
    let o = c.output().unwrap();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{args:?}: exit {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let texts = FORMATS
        .iter()
        .map(|f| (*f, std::fs::read_to_string(out.join(f)).unwrap()))
        .collect();
    (code, texts)
}

fn shard_json(dir: &Path, k: usize, n: usize, out: &Path) -> serde_json::Value {
    let o = portolan()
        .arg("audit")
        .args(QUICK)
        .arg(dir)
        .args([
            "--shard",
            &format!("{k}/{n}"),
            "--format",
            "json",
            "--output",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "shard {k}/{n}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn merged_jobs_give_the_single_runs_report_in_every_format() {
    let dir = repo("shard-repo");
    let work = dir.with_file_name("shard-out");
    let _ = std::fs::remove_dir_all(&work);
    let d = dir.to_str().unwrap();
    let mut whole_args = vec!["audit"];
    whole_args.extend(QUICK);
    whole_args.push(d);
    let (whole_code, whole) = every_format(&whole_args, &work.join("whole"));
    assert_eq!(whole_code, 1, "the repository has error findings");
    let whole_json: serde_json::Value = serde_json::from_str(&whole["json"]).unwrap();
    let whole_files: Vec<&str> = whole_json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(whole_files.len() >= 9, "{whole_files:?}");
    assert!(
        whole_json.get("shard").is_none(),
        "a whole run has no shard member"
    );

    for n in 1..=4 {
        let mut reports = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut jobs_with_files = 0;
        // the jobs' reports, given to merge in reverse: the order of the arguments does not matter
        for k in (1..=n).rev() {
            let out = work.join(format!("job-{k}-of-{n}.json"));
            let v = shard_json(&dir, k, n, &out);
            assert_eq!(v["shard"]["index"], k);
            assert_eq!(v["shard"]["count"], n);
            let files = v["files"].as_array().unwrap();
            jobs_with_files += usize::from(!files.is_empty());
            seen.extend(
                files
                    .iter()
                    .map(|f| f["path"].as_str().unwrap().to_string()),
            );
            reports.push(out);
        }
        // every file to exactly one job, and the work spread over the jobs
        seen.sort();
        let mut expected: Vec<String> = whole_files.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(seen, expected, "{n} jobs");
        assert_eq!(jobs_with_files, n, "{n} jobs: each gets a share");

        let mut merge_args: Vec<&str> = vec!["merge"];
        merge_args.extend(reports.iter().map(|p| p.to_str().unwrap()));
        let (code, merged) = every_format(&merge_args, &work.join(format!("merged-{n}")));
        assert_eq!(code, whole_code, "{n} jobs: the exit code");
        for f in FORMATS {
            assert!(
                merged[f] == whole[f],
                "{n} jobs: the merged {f} report differs from the single run's:\n--- single\n{}\n--- merged\n{}",
                whole[f],
                merged[f]
            );
        }
    }
}

#[test]
fn merge_refuses_an_incomplete_or_mixed_matrix() {
    let dir = repo("shard-refusals");
    let work = dir.with_file_name("shard-refusals-out");
    std::fs::create_dir_all(&work).unwrap();
    let one = work.join("1.json");
    let two = work.join("2.json");
    let three = work.join("3.json");
    shard_json(&dir, 1, 3, &one);
    shard_json(&dir, 2, 3, &two);
    shard_json(&dir, 3, 3, &three);
    let merge = |reports: &[&Path]| {
        let o = portolan().arg("merge").args(reports).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, err) = merge(&[&one, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("job(s) 2 of 3 is missing"), "{err}");
    let (code, err) = merge(&[&one, &two, &two, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("job 2 of 3 is given twice"), "{err}");
    // a job of another matrix
    let other = work.join("other.json");
    shard_json(&dir, 2, 2, &other);
    let (code, err) = merge(&[&one, &other, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("different matrices"), "{err}");
    // a whole run's report is no job's
    let whole = work.join("whole.json");
    let o = portolan()
        .arg("audit")
        .args(QUICK)
        .arg(&dir)
        .args(["--format", "json", "--output"])
        .arg(&whole)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let (code, err) = merge(&[&whole]);
    assert_eq!(code, 2);
    assert!(err.contains("not of a job"), "{err}");
    // the library's merge holds reports it did not read itself to the same (no panic): a
    // whole run's report first, or among jobs
    let job = |p: &Path| -> portolan::engine::shard::JobReport {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    for reports in [
        vec![("whole.json", &whole), ("1.json", &one)],
        vec![("1.json", &one), ("whole.json", &whole), ("3.json", &three)],
    ] {
        let jobs = reports
            .iter()
            .map(|(n, p)| (n.to_string(), job(p)))
            .collect();
        match portolan::engine::shard::merge(jobs) {
            Err(portolan::engine::shard::MergeError::NotAShard { path }) => {
                assert_eq!(path, "whole.json")
            }
            other => panic!("{:?}", other.err()),
        }
    }
    // merge never writes over a job's report
    let o = portolan()
        .arg("merge")
        .args([&one, &two, &three])
        .args(["--format", "json", "--output"])
        .arg(&two)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(shard_report_intact(&two));
}

fn shard_report_intact(p: &Path) -> bool {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["shard"]["index"] == 2
}

#[test]
fn shard_values_and_runs_that_cannot_be_split_are_usage_errors() {
    for bad in ["0/2", "3/2", "2", "x/y"] {
        let o = portolan()
            .arg("audit")
            .args(QUICK)
            .args(["fixtures/iptables", "--shard", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--shard {bad}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("is not a shard"),
            "--shard {bad}"
        );
    }
    // an inventory's flows cross files: not split by file
    let o = portolan()
        .args(["audit", "--inventory", "fixtures/inventory/example.toml"])
        .args(["--shard", "1/2", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("one job per inventory"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = portolan()
        .arg("audit")
        .args(QUICK)
        .args(["fixtures/iptables", "--policy", "filter", "--shard", "1/2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--policy"));
}

#[test]
fn a_job_without_a_firewall_passes_and_merge_says_when_no_job_audited_one() {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shard-empty");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("notes.txt"), "nothing to audit here\n").unwrap();
    let out = d.with_file_name("shard-empty-1.json");
    let v = shard_json(&d, 1, 1, &out);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
    let o = portolan().arg("merge").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no job audited a firewall"));
    let o = portolan()
        .arg("merge")
        .arg(&out)
        .arg("--allow-empty")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}
