//! Fitting into other tools: CI output formats, config discovery, `init`, `schema`, completions,
//! the man page, and the commands the docs show.

use std::path::{Path, PathBuf};

use super::portolan;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/repo")
}

/// Run `portolan ARGS` in `dir`, the checkout, as a CI runner does (`GITHUB_WORKSPACE`: report
/// paths are relative to it); (stdout, stderr, exit code).
fn run_in(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = portolan()
        .current_dir(dir)
        .env("GITHUB_WORKSPACE", dir)
        .args(args)
        .output()
        .expect("the binary runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn audit_with_no_arguments_finds_the_inventory_and_audits_every_firewall() {
    let (out, err, code) = run_in(&repo(), &["audit", "--format", "json"]);
    assert!(
        err.contains("portolan: using inventory ./portolan.toml"),
        "{err}"
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["fw/prod-zvm.rules", "fw/dr-zvm.rules"]);
}

#[test]
fn github_format_prints_one_error_command_per_error_at_its_file_and_line() {
    let (out, _, code) = run_in(&repo(), &["audit", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut want: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f.get("waiver").is_none())
        .map(|f| format!("file={},line={},", f["file"].as_str().unwrap(), f["line"]))
        .collect();
    assert!(!want.is_empty());
    let (gh, err, gh_code) = run_in(&repo(), &["audit", "--format", "github"]);
    assert_eq!(gh_code, 1, "{err}");
    let mut have: Vec<String> = gh
        .lines()
        .filter(|l| l.starts_with("::error "))
        .map(|l| {
            let props = &l["::error ".len()..l[2..].find("::").unwrap() + 2];
            let mut it = props.split(',');
            format!("{},{},", it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    want.sort();
    have.sort();
    assert_eq!(have, want, "{gh}");
    assert!(gh.contains("title=Z101 required-flow-blocked::"), "{gh}");
    // every line is one workflow command: no raw line breaks inside a message
    assert!(gh.lines().all(|l| l.starts_with("::")), "{gh}");
}

#[test]
fn concise_and_gitlab_formats_carry_the_same_findings() {
    let (out, _, _) = run_in(&repo(), &["audit", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n = v["findings"].as_array().unwrap().len();
    let (concise, _, code) = run_in(&repo(), &["audit", "--format", "concise"]);
    assert_eq!(code, 1);
    assert_eq!(concise.lines().count(), n, "{concise}");
    assert!(
        concise
            .lines()
            .any(|l| l.starts_with("fw/prod-zvm.rules:12:1: Z101 [error] ")),
        "{concise}"
    );
    let (gl, _, _) = run_in(&repo(), &["audit", "--format", "gitlab"]);
    let issues: serde_json::Value = serde_json::from_str(&gl).unwrap();
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), n);
    let mut fps: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), n, "fingerprints are unique");
    for i in issues {
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&i["severity"].as_str().unwrap()));
        assert!(i["location"]["path"].as_str().unwrap().starts_with("fw/"));
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(i["check_name"].as_str().unwrap().starts_with('Z'));
        assert!(!i["description"].as_str().unwrap().is_empty());
    }
}

#[test]
fn discovery_walks_up_from_a_subdirectory_and_no_config_turns_it_off() {
    let (out, err, code) = run_in(&repo().join("fw"), &["audit", "--format", "json"]);
    assert!(err.contains("using inventory ../portolan.toml"), "{err}");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"][0]["path"], "../fw/prod-zvm.rules");
    let (_, err, code) = run_in(&repo(), &["audit", "--no-config"]);
    assert_eq!(code, 2);
    assert!(!err.contains("using inventory"), "{err}");
}

#[test]
fn excluded_globs_are_skipped_in_directory_scans_but_named_files_are_read() {
    // the inventory excludes **/old/**
    let (out, _, _) = run_in(&repo(), &["audit", "fw", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!files.iter().any(|f| f.contains("old")), "{files:?}");
    assert_eq!(files.len(), 2, "{files:?}");
    // --include on the command line narrows further
    let (out, _, _) = run_in(
        &repo(),
        &["audit", "fw", "--include", "prod-*", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["files"][0]["path"], "fw/prod-zvm.rules");
    // a file named explicitly is read even when a glob excludes it
    let (out, _, _) = run_in(
        &repo(),
        &["audit", "fw/old/zvm-2019.rules", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"][0]["path"], "fw/old/zvm-2019.rules");
    // a bad glob is a usage error
    let (_, err, code) = run_in(&repo(), &["audit", "fw", "--exclude", "a[b"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a glob"), "{err}");
}

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bash_completions_parse_with_bash_n() {
    let out = portolan().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("portolan"));
    if !have("bash") {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let dir = tempdir("completions");
    let script = dir.join("portolan.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn every_shell_gets_a_completion_script() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = portolan().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("audit") && text.contains("inventory"),
            "{shell}"
        );
    }
    let out = portolan().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_renders_with_man() {
    let out = portolan().arg("man").output().unwrap();
    assert!(out.status.success());
    let roff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(roff.contains(".TH portolan"), "{roff}");
    let sub = portolan().args(["man", "audit"]).output().unwrap();
    assert!(String::from_utf8_lossy(&sub.stdout).contains("portolan\\-audit"));
    assert_eq!(
        portolan()
            .args(["man", "nope"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    if !have("man") {
        eprintln!("skipped: man is not installed");
        return;
    }
    let dir = tempdir("man");
    let page = dir.join("portolan.1");
    std::fs::write(&page, &roff).unwrap();
    let shown = std::process::Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(
        text.contains("Audit firewall exports against the Zerto port requirements"),
        "{text}"
    );
}

#[test]
fn version_names_the_catalogue_and_its_seed_tables() {
    let out = portolan().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let cat = portolan::catalog::Catalog::embedded();
    assert!(
        text.starts_with(&format!("portolan {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("catalogue {}", cat.version)),
        "{text}"
    );
    for s in &cat.sources {
        assert!(
            text.contains(&s.document) && text.contains(&s.table),
            "{text}"
        );
    }
}

/// A fresh directory under the target's temporary directory.
fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("integrations-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn schema_prints_a_json_schema_of_the_inventory() {
    let out = portolan().arg("schema").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "portolan.toml");
    assert_eq!(v["required"], serde_json::json!(["environment"]));
    for key in [
        "environment",
        "facts",
        "site",
        "firewall",
        "waiver",
        "include",
    ] {
        assert!(v["properties"].get(key).is_some(), "{key}");
    }
}

/// Copy fixture files (relative to the crate) into `dir`, keeping only their file names.
fn copy_into(dir: &Path, files: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in files {
        let from = root.join(f);
        let to = dir.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn init_writes_a_skeleton_that_audit_then_accepts() {
    let dir = tempdir("init-mixed");
    std::fs::create_dir_all(dir.join("fw/azure")).unwrap();
    copy_into(
        &dir.join("fw"),
        &[
            "fixtures/iptables/corpus/fedora27-iptables-save-c.txt",
            "fixtures/iptables/corpus/ds82-handedited-save-rules.v4",
            "fixtures/iptables/zvm-drops-9669.rules",
            "fixtures/aws/zca-sg-missing-4008.json",
            "fixtures/aws/cfn-zca-sg.yaml",
            "fixtures/windows/zvm-rules.reg",
            "fixtures/terraform/zca-azure-plan.json",
        ],
    );
    copy_into(
        &dir.join("fw/azure"),
        &[
            "fixtures/azure/nsg-list.json",
            "fixtures/azure/corpus/arm-template-nsg-child-securityRules.json",
        ],
    );
    // not a firewall: skipped
    std::fs::write(dir.join("README.txt"), "notes\n").unwrap();

    let (out, err, code) = run_in(&dir, &["init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("portolan.toml"), "{out}");
    let text = std::fs::read_to_string(dir.join("portolan.toml")).unwrap();
    assert_eq!(text.matches("[[firewall]]").count(), 9, "{text}");
    assert!(text.contains("path = \"fw/azure/nsg-list.json\""), "{text}");
    assert!(
        text.contains("# TODO: which role does this firewall guard?"),
        "{text}"
    );
    assert!(
        text.contains("policies = [\"nsg-snet-zerto\", \"nsg-zca-nic\"]"),
        "{text}"
    );
    // iptables files are the most common: vsphere, with the others named
    assert!(text.contains("environment = \"vsphere\""), "{text}");
    assert!(text.contains("# Also found: "), "{text}");
    assert!(!text.contains("README"), "{text}");

    // the skeleton audits: findings or not, never a usage error or a crash
    let (json, err, code) = run_in(&dir, &["audit", "--format", "json"]);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 9);
    // the TODO addresses are "any address", and the audit says so
    assert!(
        json.contains("any address assumed"),
        "{}",
        &json[..json.len().min(2000)]
    );

    // never overwrites
    let before = std::fs::read_to_string(dir.join("portolan.toml")).unwrap();
    let (_, err, code) = run_in(&dir, &["init"]);
    assert_eq!(code, 2);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("portolan.toml")).unwrap(),
        before
    );
}

#[test]
fn init_in_a_directory_without_firewalls_writes_nothing() {
    let dir = tempdir("init-empty");
    std::fs::write(dir.join("notes.txt"), "nothing here\n").unwrap();
    let (_, err, code) = run_in(&dir, &["init", "."]);
    assert_eq!(code, 2);
    assert!(err.contains("no firewall export"), "{err}");
    assert!(!dir.join("portolan.toml").exists());
}

/// Copy a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The `portolan …` commands of a document's code blocks: `run: portolan …` (GitHub),
/// `- portolan …` (GitLab), `entry: portolan …` (pre-commit). Commands using CI variables are
/// left out (they need the hosted service), except a matrix job's `audit --shard`, which
/// [`run_documented`] runs for each job before the `merge` that needs their reports.
fn documented_commands(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("run: ")
                .or_else(|| l.strip_prefix("- "))
                .or_else(|| l.strip_prefix("entry: "))
                .unwrap_or(l);
            let cmd = l
                .strip_prefix("portolan ")?
                .replace("${{ matrix.shard }}", "$MATRIX_SHARD");
            (!cmd.contains('$') || cmd.contains("--shard"))
                .then(|| cmd.split_whitespace().map(str::to_string).collect())
        })
        .collect()
}

/// A matrix job's command for job `k` of `n`: the CI variables filled in as the hosted
/// service would (`${{ matrix.shard }}` on GitHub, `$CI_NODE_INDEX`/`$CI_NODE_TOTAL` on GitLab).
fn matrix_job(args: &[String], k: usize, n: usize) -> Vec<String> {
    args.iter()
        .map(|a| {
            a.replace("$MATRIX_SHARD", &k.to_string())
                .replace("$CI_NODE_INDEX", &k.to_string())
                .replace("$CI_NODE_TOTAL", &n.to_string())
                .replace('"', "")
        })
        .collect()
}

/// A shell glob of one `*` in the last part of `arg`, expanded in `dir` (sorted), as the shell
/// of the CI job would; any other argument as it is.
fn expand_glob(dir: &Path, arg: &str) -> Vec<String> {
    let (parent, name) = arg.rsplit_once('/').unwrap_or(("", arg));
    let Some((head, tail)) = name.split_once('*') else {
        return vec![arg.to_string()];
    };
    let mut out: Vec<String> = std::fs::read_dir(dir.join(parent))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(head) && n.ends_with(tail))
                .map(|n| {
                    if parent.is_empty() {
                        n
                    } else {
                        format!("{parent}/{n}")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Run each documented command in a fresh copy of the fixture repository and check it does
/// what the document says: exit 0 with `--fail-on never`, otherwise 1 (the fixture has errors),
/// and every `--output` written and well-formed. A `merge` runs after the document's matrix
/// jobs (four of them) have written their reports where it looks for them.
fn run_documented(doc: &str, expect_at_least: usize) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let commands = documented_commands(&text);
    assert!(
        commands.len() >= expect_at_least,
        "{doc}: only {commands:?}"
    );
    let matrix: Option<&Vec<String>> = commands.iter().find(|c| c.iter().any(|a| a == "--shard"));
    for (i, args) in commands.iter().enumerate() {
        if args.iter().any(|a| a == "--shard") {
            continue;
        }
        let dir = tempdir(&format!("doc-{}-{i}", doc.replace(['/', '.'], "-")));
        copy_tree(&repo(), &dir);
        let mut args = args.clone();
        if args[0] == "merge" {
            let jobs = matrix.unwrap_or_else(|| panic!("{doc}: a merge without the matrix's jobs"));
            for k in 1..=4 {
                let job = matrix_job(jobs, k, 4);
                let argv: Vec<&str> = job.iter().map(String::as_str).collect();
                let (_, err, code) = run_in(&dir, &argv);
                assert_eq!(code, 0, "{doc}: job {k}: portolan {argv:?}\n{err}");
            }
            args = args.iter().flat_map(|a| expand_glob(&dir, a)).collect();
            assert_eq!(
                args.iter()
                    .filter(|a| a.ends_with(".json") && !a.starts_with("gl-"))
                    .count(),
                4,
                "{doc}: {args:?}"
            );
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, err, code) = run_in(&dir, &argv);
        assert!(!err.contains("panicked"), "{doc}: portolan {argv:?}: {err}");
        let want = if args.iter().any(|a| a == "never") {
            0
        } else {
            1
        };
        assert_eq!(code, want, "{doc}: portolan {argv:?}\n{out}\n{err}");
        // `--output -` is standard output
        for w in args
            .windows(2)
            .filter(|w| w[0] == "--output" && w[1] != "-")
        {
            let path = dir.join(&w[1]);
            let written = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{doc}: {} not written: {e}", w[1]));
            if w[1].ends_with(".json") || w[1].ends_with(".sarif") {
                let v: serde_json::Value = serde_json::from_str(&written)
                    .unwrap_or_else(|e| panic!("{doc}: {} is not JSON: {e}", w[1]));
                assert!(v.is_array() || v.is_object());
            } else if w[1].ends_with(".xml") {
                roxmltree::Document::parse(&written)
                    .unwrap_or_else(|e| panic!("{doc}: {} is not XML: {e}", w[1]));
            } else {
                assert!(!written.is_empty());
            }
        }
        // the annotations go to standard output: with no `--output`, or with `--output -`
        let github_out = args.iter().position(|a| a == "github").map(|p| {
            args.get(p + 1).map(String::as_str) != Some("--output")
                || args.get(p + 2).map(String::as_str) == Some("-")
        });
        if github_out == Some(true) {
            assert!(
                out.lines().any(|l| l.starts_with("::error file=fw/")),
                "{doc}: portolan {argv:?}: {out}"
            );
        }
    }
}

#[test]
fn the_github_actions_workflow_commands_run_against_the_fixture_repo() {
    run_documented("docs/github-actions.md", 2);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/github-actions.md"),
    )
    .unwrap();
    assert!(text.contains("github/codeql-action/upload-sarif"));
    assert!(text.contains("sarif_file: portolan.sarif"));
}

#[test]
fn the_gitlab_ci_job_commands_run_against_the_fixture_repo() {
    run_documented("docs/gitlab-ci.md", 1);
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gitlab-ci.md"))
            .unwrap();
    // the artifacts are the files the command writes
    for report in [
        "codequality: gl-code-quality-report.json",
        "junit: portolan-junit.xml",
    ] {
        assert!(text.contains(report), "{report}");
    }
}

#[test]
fn the_pre_commit_hook_runs_against_the_fixture_repo() {
    run_documented(".pre-commit-hooks.yaml", 1);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    for line in [
        "- id: portolan",
        "language: rust",
        "pass_filenames: false",
        "entry: portolan audit",
    ] {
        assert!(text.contains(line), "{line}");
    }
}

#[test]
fn the_changelog_names_this_version_and_the_catalogue() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CHANGELOG.md"))
        .unwrap();
    assert!(text.contains(&format!("## [{}]", env!("CARGO_PKG_VERSION"))));
    let cat = portolan::catalog::Catalog::embedded();
    assert!(
        text.contains(&format!("`{}`", cat.version)),
        "catalogue version"
    );
    for s in &cat.sources {
        assert!(
            text.contains(&s.document) && text.contains(&s.table),
            "{}",
            s.id
        );
    }
}

#[test]
fn catalog_diff_lists_requirements_added_removed_and_changed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let current = std::fs::read_to_string(root.join("src/catalog/zerto.toml")).unwrap();
    let old = current
        .replacen(
            "id = \"vsphere.admin-client-zvm-9669\"",
            "id = \"vsphere.retired-9669\"",
            1,
        )
        .replacen("ports = \"9080\"", "ports = \"9079\"", 1);
    assert_ne!(old, current);
    let dir = tempdir("catalog-diff");
    std::fs::write(dir.join("old.toml"), old).unwrap();
    let (out, err, code) = run_in(&dir, &["catalog", "--diff", "old.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("catalogue "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("added    vsphere.admin-client-zvm-9669")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("removed  vsphere.retired-9669")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("changed  ") && l.ends_with("ports: 9079 -> 9080")),
        "{out}"
    );
    let (_, _, code) = run_in(&dir, &["catalog", "--diff", "missing.toml"]);
    assert_eq!(code, 2);
}
