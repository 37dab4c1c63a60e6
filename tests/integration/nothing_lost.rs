//! Nothing lost, nothing touched: a run never changes its inputs, a killed run leaves the old
//! report or none (never half of one), and an output path that is an input is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::portolan;

#[path = "../../benches/gen/mod.rs"]
mod gen;

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// FNV-1a over the bytes: enough to tell a changed file from an unchanged one.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every entry under `dir` (hidden ones too): path → (hash of the bytes or the link target,
/// length, modification time).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let hash = if meta.is_dir() {
                todo.push(p.clone());
                0
            } else if meta.file_type().is_symlink() {
                fnv(std::fs::read_link(&p)
                    .unwrap()
                    .as_os_str()
                    .as_encoded_bytes())
            } else {
                fnv(&std::fs::read(&p).unwrap())
            };
            out.insert(p, (hash, meta.len(), meta.modified().ok()));
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn a_run_writing_every_report_format_changes_no_input_and_adds_no_file_among_them() {
    let dir = super::cli::tempdir();
    let inputs = dir.join("fw");
    for family in ["iptables", "azure", "aws", "windows", "terraform"] {
        copy_tree(&Path::new("fixtures").join(family), &inputs.join(family));
    }
    // a link and an unreadable entry among the inputs are left alone too
    std::os::unix::fs::symlink(
        "iptables/zvm-drops-9669.rules",
        inputs.join("current.rules"),
    )
    .unwrap();
    std::os::unix::fs::symlink("nowhere.rules", inputs.join("dangling.rules")).unwrap();
    let before = snapshot(&inputs);
    assert!(before.len() > 30, "{} inputs", before.len());

    let out = dir.join("reports");
    std::fs::create_dir_all(&out).unwrap();
    let formats = [
        ("human", "r.txt"),
        ("json", "r.json"),
        ("sarif", "r.sarif"),
        ("junit", "r.xml"),
        ("markdown", "r.md"),
        ("html", "r.html"),
        ("github", "r.github"),
        ("gitlab", "r.gitlab.json"),
        ("concise", "r.concise"),
    ];
    let mut cmd = portolan();
    cmd.args(["audit", "--env", "vsphere", "--role", "zvm", s(&inputs)]);
    for (format, file) in formats {
        cmd.args(["--format", format, "--output", s(&out.join(file))]);
    }
    cmd.args(["--write-baseline", s(&out.join("baseline.json"))]);
    let run = cmd.output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(2),
        "findings, and the dangling link is an unreadable input: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    assert_eq!(
        snapshot(&inputs),
        before,
        "the inputs are exactly as they were"
    );
    // the reports, complete, and nothing else (no temporary files left behind)
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = formats.iter().map(|(_, f)| f.to_string()).collect();
    want.push("baseline.json".into());
    want.sort();
    assert_eq!(written, want);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("r.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "portolan-audit/1");
    assert!(json["files"].as_array().unwrap().len() > 20);
    for f in ["r.sarif", "r.gitlab.json", "baseline.json"] {
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(out.join(f)).unwrap())
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

/// Is this a complete JSON report?
fn complete_report(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| v["schema"] == "portolan-audit/1" && v["summary"].is_object())
}

#[test]
fn a_killed_run_leaves_the_old_report_or_a_complete_new_one_never_half() {
    let dir = super::cli::tempdir();
    let inputs = dir.join("fw");
    std::fs::create_dir_all(&inputs).unwrap();
    // a generated dump (about 4.5 MB) and 300 host firewalls: a 5 MB report, whose rendering
    // (straight into the temporary file) is a good part of the run, so kills land mid-write
    std::fs::write(inputs.join("big.rules"), gen::iptables_dump(30_000, true)).unwrap();
    for i in 0..300 {
        std::fs::copy(
            "fixtures/iptables/zvm-drops-9669.rules",
            inputs.join(format!("zvm-{i}.rules")),
        )
        .unwrap();
    }
    let report = dir.join("report.json");
    let old = b"{\"old\": \"report\"}\n";
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_portolan"))
            .args(["audit", "--env", "vsphere", "--role", "zvm", s(&inputs)])
            .args(["--format", "json", "--output", s(&report)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let temporary =
        |name: &str| name.starts_with(".report.json.portolan-") && name.ends_with(".tmp");
    let leftovers = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| temporary(n))
            .count()
    };
    // how long a whole run takes here: kill at points spread over it
    std::fs::write(&report, old).unwrap();
    let t = std::time::Instant::now();
    let status = run().wait().unwrap();
    let whole = t.elapsed();
    assert_eq!(status.code(), Some(1));
    assert!(complete_report(&std::fs::read(&report).unwrap()));
    let (mut olds, mut news, mut mid_write) = (0, 0, 0);
    let points = [2, 5, 7, 8, 9, 10, 11, 13];
    for twelfth in points {
        std::fs::write(&report, old).unwrap();
        let before = leftovers();
        let mut child = run();
        std::thread::sleep(whole * twelfth / 12);
        let _ = child.kill(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        if leftovers() > before {
            mid_write += 1;
        }
        let now = std::fs::read(&report).unwrap_or_default();
        if now == old {
            olds += 1;
        } else {
            assert!(
                complete_report(&now),
                "killed at {twelfth}/12 of {whole:?}: the report is neither the old one nor complete ({} bytes)",
                now.len()
            );
            news += 1;
        }
    }
    eprintln!(
        "a whole run: {whole:?}; of {} killed runs {olds} left the old report ({mid_write} of them killed while writing), {news} a complete new one",
        points.len()
    );
    assert!(olds > 0, "some runs were killed before they finished");
    // a killed run may leave its temporary file next to the report, never anything else
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            ["fw", "report.json"].contains(&name.as_str()) || temporary(&name),
            "{name}"
        );
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_left_as_it_was() {
    let dir = super::cli::tempdir();
    let fw = dir.join("fw");
    std::fs::create_dir_all(&fw).unwrap();
    let input = fw.join("zvm.rules");
    std::fs::copy("fixtures/iptables/zvm-drops-9669.rules", &input).unwrap();
    let link = dir.join("link.rules");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let before = snapshot(&dir);
    for (named, flag, target) in [
        (&input, "--output", &input),
        (&fw, "--output", &input),   // found by a directory scan
        (&input, "--output", &link), // the same file under another name
        (&input, "--write-baseline", &input),
    ] {
        let mut cmd = portolan();
        cmd.args(["audit", "--env", "vsphere", "--role", "zvm", s(named)]);
        if flag == "--output" {
            cmd.args(["--format", "json"]);
        }
        let out = cmd.args([flag, s(target)]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {target:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{flag} {} is one of the inputs; refusing to overwrite it",
                s(target)
            )),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
        assert_eq!(snapshot(&dir), before, "{flag} {target:?}: nothing written");
    }
}

#[test]
fn fix_write_patched_never_writes_over_another_input_of_the_same_name() {
    let dir = super::cli::tempdir();
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // b/zvm.rules blocks 9669 and gets patched; its patched copy would be a/zvm.rules, an input
    std::fs::copy(
        "fixtures/iptables/zvm-allows-all.rules",
        a.join("zvm.rules"),
    )
    .unwrap();
    std::fs::copy(
        "fixtures/iptables/zvm-drops-9669.rules",
        b.join("zvm.rules"),
    )
    .unwrap();
    let before = snapshot(&dir);
    let out = portolan()
        .args(["fix", "--env", "vsphere", "--role", "zvm"])
        .args([s(&a.join("zvm.rules")), s(&b.join("zvm.rules"))])
        .args(["--write-patched", s(&a)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is an input; refusing to overwrite it"));
    assert_eq!(snapshot(&dir), before);
}
