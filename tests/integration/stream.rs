//! `--format concise` alone is written a batch of files at a time (`src/cli/stream.rs`), each
//! batch's report dropped once written: it must write what the whole-report path writes (the
//! same format among several, `--output` pairs), with the same `--statistics` and exit code.

use std::path::{Path, PathBuf};

use super::portolan;

const QUICK: &[&str] = &["--env", "vsphere", "--role", "zvm"];

/// The shard tests' repository of every kind of export (a malformed iptables file, UTF-16
/// netsh, a `.wfw` hive, NSG and security-group lists, a truncated one, a file that is no
/// export), 30 copies in numbered directories: 330 files, more than one batch (64 files).
fn many(name: &str) -> PathBuf {
    let one = super::shard::repo(&format!("{name}-one"));
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    for i in 0..30 {
        copy_tree(&one, &d.join(format!("{i:02}")));
    }
    d
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// An empty directory for a test's reports.
fn fresh(name: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    out
}

/// `audit QUICK dir extra…`: exit code, standard output, standard error.
fn audit(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let o = portolan()
        .args(["audit"])
        .args(QUICK)
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn concise_written_as_it_goes_is_the_whole_reports() {
    let d = many("stream-concise");
    let out = fresh("stream-concise-out");
    let (whole_c, whole_json) = (out.join("whole.txt"), out.join("whole.json"));
    // two formats: the whole report is kept and each written from it
    let (code, _, _) = audit(
        &d,
        &[
            "--format",
            "concise",
            "--output",
            whole_c.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            whole_json.to_str().unwrap(),
        ],
    );
    let whole = std::fs::read_to_string(&whole_c).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&whole_json).unwrap()).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(whole.lines().count(), findings.len());
    assert!(findings.len() > 30 * 10, "{} findings", findings.len());
    // every file of the 30 copies has its findings, the last copies' too
    assert!(whole.contains("/29/linux/old/zvm-c.rules:"), "{whole}");
    assert!(whole.contains("/29/windows/policy.wfw"), "{whole}");
    // blocked flows and a malformed line (Z001, an error): exit 1, whichever path
    assert_eq!(code, 1);

    // alone, to standard output and to a file: written as it goes
    let (c1, streamed, _) = audit(&d, &["--format", "concise"]);
    assert_eq!((c1, streamed.as_str()), (code, whole.as_str()));
    let file = out.join("alone.txt");
    let (c2, stdout, _) = audit(
        &d,
        &["--format", "concise", "--output", file.to_str().unwrap()],
    );
    assert_eq!(c2, code);
    assert!(stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), whole);
}

#[test]
fn select_baseline_and_statistics_are_the_whole_reports_too() {
    let d = many("stream-baseline");
    let out = fresh("stream-baseline-out");
    // a baseline of the first copy only: its findings are left out, the others' shown
    let base = out.join("baseline.json");
    let (_, _, _) = audit(
        &d.join("00"),
        &[
            "--format",
            "json",
            "--write-baseline",
            base.to_str().unwrap(),
        ],
    );
    let opts = [
        "--select",
        "Z1,Z001,Z003",
        "--baseline",
        base.to_str().unwrap(),
        "--statistics",
        "--fail-on",
        "warning",
    ];
    let whole_c = out.join("whole.txt");
    let mut both = opts.to_vec();
    both.extend([
        "--format",
        "concise",
        "--output",
        whole_c.to_str().unwrap(),
        "--format",
        "sarif",
        "--output",
    ]);
    let sarif = out.join("whole.sarif");
    both.push(sarif.to_str().unwrap());
    let (code, _, whole_err) = audit(&d, &both);
    let whole = std::fs::read_to_string(&whole_c).unwrap();

    let mut alone = opts.to_vec();
    alone.extend(["--format", "concise"]);
    let (c, streamed, err) = audit(&d, &alone);
    assert_eq!(
        (c, streamed.as_str(), err.as_str()),
        (code, whole.as_str(), whole_err.as_str())
    );
    // what the options did: only the selected codes, none of the first copy's findings, and
    // the count of those left out
    assert!(!streamed.is_empty());
    for l in streamed.lines() {
        let code = l.split(": ").nth(1).unwrap_or("");
        assert!(
            code.starts_with("Z1") || code.starts_with("Z001") || code.starts_with("Z003"),
            "{l}"
        );
        assert!(!l.contains("stream-baseline/00/"), "{l}");
    }
    assert!(err.contains("in the baseline (not shown)"), "{err}");
    assert!(streamed.contains("stream-baseline/01/"), "{streamed}");
}

#[test]
fn an_output_among_the_scanned_inputs_is_still_refused() {
    let d = many("stream-refuse");
    let input = d.join("07/linux/zvm-a.rules");
    let before = std::fs::read(&input).unwrap();
    let (code, stdout, err) = audit(
        &d,
        &["--format", "concise", "--output", input.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(stdout.is_empty());
    assert!(
        err.contains("is one of the inputs; refusing to overwrite it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn the_human_report_written_as_it_goes_is_the_whole_reports() {
    let d = many("stream-human");
    let out = fresh("stream-human-out");
    for opts in [
        &[][..],
        &["--quiet"][..],
        &["--verbose", "--fix-suggestions", "--statistics"][..],
    ] {
        let (whole_h, junit) = (out.join("whole.txt"), out.join("whole.xml"));
        let mut both = opts.to_vec();
        both.extend([
            "--format",
            "human",
            "--output",
            whole_h.to_str().unwrap(),
            "--format",
            "junit",
            "--output",
            junit.to_str().unwrap(),
        ]);
        let (code, _, whole_err) = audit(&d, &both);
        let whole = std::fs::read_to_string(&whole_h).unwrap();
        let mut alone = opts.to_vec();
        alone.extend(["--format", "human"]);
        let (c, streamed, err) = audit(&d, &alone);
        assert_eq!(c, code, "{opts:?}");
        assert_eq!(err, whole_err, "{opts:?}");
        assert!(streamed == whole, "{opts:?}: the reports differ");
        // the summary line counts every batch: 270 files read (30 × 11, less each copy's
        // README and truncated security-group file, which a scan skips), each copy's 17
        // firewalls
        let last = streamed.lines().last().unwrap_or("");
        assert!(
            last.starts_with("270 file(s), 510 firewalls by their worst flow: ")
                && last.contains("60 files skipped (no firewall export)"),
            "{last}"
        );
        // the run record lists every input, the last batch's too
        if opts.contains(&"--verbose") {
            assert_eq!(
                streamed
                    .lines()
                    .filter(|l| l.starts_with("input: "))
                    .count(),
                270,
            );
            assert!(streamed.contains("stream-human/29/windows/policy.wfw (sha256 "));
        }
    }
}

#[test]
fn an_audit_without_fixes_differs_only_by_the_fixes() {
    use portolan::run::{Config, ConfigInput};
    let input = ConfigInput {
        env: Some(portolan::catalog::Environment::Vsphere),
        role: Some("zvm"),
        max_input_size: 1 << 30,
        no_config: true,
        ..Default::default()
    };
    let dir = super::shard::repo("stream-no-fixes");
    let with = Config::new(&input)
        .unwrap()
        .audit_report(std::slice::from_ref(&dir), None);
    let without = Config::new(&input)
        .unwrap()
        .without_fixes()
        .audit_report(&[dir], None);
    // the same flows with the same statuses, and the same findings where they are
    assert_eq!(with.flows.len(), without.flows.len());
    for (a, b) in with.flows.iter().zip(&without.flows) {
        assert_eq!(
            (&a.requirement, &a.firewall, a.status, &a.deciding),
            (&b.requirement, &b.firewall, b.status, &b.deciding)
        );
        assert!(b.fix.is_none());
    }
    let seen = |r: &portolan::engine::Report| -> Vec<(String, String, Option<usize>, Option<u32>)> {
        r.findings
            .iter()
            .map(|f| (f.code.to_string(), f.message.clone(), f.file, f.line()))
            .collect()
    };
    assert_eq!(seen(&with), seen(&without));
    // what differs: the fixes, and so the help of the blocked flows' findings
    assert!(with.flows.iter().filter(|f| f.fix.is_some()).count() > 5);
    // without a fix, a blocked flow's help says only what is needed
    let generic = "allow the flow for the peers that need it";
    let helps = |r: &portolan::engine::Report| -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| f.code == "Z101")
            .map(|f| f.help.clone().unwrap_or_default())
            .collect()
    };
    let (a, b) = (helps(&with), helps(&without));
    assert!(
        a.iter().filter(|h| h.as_str() != generic).count() > 5,
        "{a:?}"
    );
    assert!(b.iter().all(|h| h == generic || h.contains("NAT")), "{b:?}");
}

#[test]
fn gitlab_alone_made_without_fixes_is_gitlab_beside_a_format_that_shows_them() {
    let d = super::shard::repo("stream-gitlab");
    let out = fresh("stream-gitlab-out");
    let (beside, sarif) = (out.join("beside.json"), out.join("beside.sarif"));
    let (code, _, _) = audit(
        &d,
        &[
            "--format",
            "gitlab",
            "--output",
            beside.to_str().unwrap(),
            "--format",
            "sarif",
            "--output",
            sarif.to_str().unwrap(),
        ],
    );
    let (c, alone, _) = audit(&d, &["--format", "gitlab"]);
    assert_eq!(
        (c, alone.as_str()),
        (code, std::fs::read_to_string(&beside).unwrap().as_str())
    );
    // the SARIF beside it carries the fixes the GitLab report leaves out
    let sarif = std::fs::read_to_string(&sarif).unwrap();
    assert!(
        sarif.contains("fix: `az network nsg rule create"),
        "{sarif}"
    );
    assert!(!alone.contains("az network nsg rule create"));
    let issues: serde_json::Value = serde_json::from_str(&alone).unwrap();
    assert!(issues.as_array().is_some_and(|a| a.len() > 10));
}

#[test]
fn audit_each_hands_over_the_whole_report_a_batch_at_a_time() {
    use portolan::run::{Config, ConfigInput};
    let input = ConfigInput {
        env: Some(portolan::catalog::Environment::Vsphere),
        role: Some("zvm"),
        max_input_size: 1 << 30,
        no_config: true,
        ..Default::default()
    };
    let config = Config::new(&input).unwrap();
    let d = many("stream-audit-each");
    let whole = config.audit_report(std::slice::from_ref(&d), None);
    // what a report says, by file path rather than index
    type Said = Vec<(String, String, String, Option<u32>)>;
    let said = |r: &portolan::engine::Report, out: &mut Said| {
        for f in &r.findings {
            let path = f.file.map(|i| r.files[i].path.clone()).unwrap_or_default();
            out.push((path, f.code.to_string(), f.message.clone(), f.line()));
        }
    };
    let (mut parts, mut files, mut flows, mut each) = (0, Vec::new(), 0, Said::new());
    let Ok(()) = config.audit_each(config.scan(std::slice::from_ref(&d)), |part| {
        parts += 1;
        files.extend(part.files.iter().map(|f| f.path.clone()));
        flows += part.flows.len();
        said(&part, &mut each);
        Ok::<(), std::convert::Infallible>(())
    });
    // 330 files found (270 of them read): six batches of at most 64
    assert_eq!(parts, 6);
    let whole_files: Vec<String> = whole.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(files, whole_files);
    assert_eq!(flows, whole.flows.len());
    let mut in_whole = Said::new();
    said(&whole, &mut in_whole);
    assert!(in_whole.len() > 300);
    assert_eq!(each, in_whole);
}
