//! Every format carries the run record (when, by what, with which catalogue, for which
//! environment and facts, from which inventory and inputs with their sha256, from which
//! commit); waived findings are said as waived; paths are repository-relative (issue 20,
//! items 3 and 6).

use super::cli::tempdir;
use super::portolan;

/// `SOURCE_DATE_EPOCH` as the tests' `portolan()` sets it.
const MADE: &str = "2026-12-05T19:20:00Z";
const FIXTURE: &str = "fixtures/iptables/zvm-drops-9669.rules";

fn sha256_of(path: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(std::fs::read(path).unwrap());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn audit(format: &str, extra: &[&str]) -> String {
    let out = portolan()
        .args([
            "audit", "--env", "vsphere", "--role", "zvm", "--set", "ltr=nfs",
        ])
        .args(["--format", format])
        .args(extra)
        .arg(FIXTURE)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_carries_the_run_record() {
    let v: serde_json::Value = serde_json::from_str(&audit("json", &[])).unwrap();
    let run = &v["run"];
    assert_eq!(run["started"], MADE);
    assert_eq!(run["ended"], MADE);
    assert_eq!(run["version"], env!("CARGO_PKG_VERSION"));
    assert!(run["catalog"]["version"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert_eq!(run["catalog"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(run["environment"], "vsphere");
    assert_eq!(run["role"], "zvm");
    assert_eq!(run["facts"], serde_json::json!(["ltr=nfs"]));
    assert_eq!(run["inputs"][0]["path"], FIXTURE);
    assert_eq!(run["inputs"][0]["sha256"], sha256_of(FIXTURE).as_str());
    // the tests run in the project's git work tree
    assert_eq!(run["vcs"]["revision"].as_str().unwrap().len(), 40);
}

#[test]
fn sarif_carries_invocations_artifacts_and_provenance() {
    let v: serde_json::Value = serde_json::from_str(&audit("sarif", &[])).unwrap();
    let run = &v["runs"][0];
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert_eq!(inv["startTimeUtc"], MADE);
    assert_eq!(inv["endTimeUtc"], MADE);
    assert_eq!(inv["properties"]["environment"], "vsphere");
    assert_eq!(inv["properties"]["facts"][0], "ltr=nfs");
    let art = &run["artifacts"][0];
    assert_eq!(art["location"]["uri"], FIXTURE);
    assert_eq!(art["location"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(art["hashes"]["sha-256"], sha256_of(FIXTURE).as_str());
    let vcp = &run["versionControlProvenance"][0];
    assert_eq!(vcp["revisionId"].as_str().unwrap().len(), 40);
    assert_eq!(vcp["mappedTo"]["uriBaseId"], "%SRCROOT%");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .ends_with('/'));
}

#[test]
fn junit_carries_the_run_record_as_properties() {
    let xml = audit("junit", &[]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let props: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("property"))
        .map(|n| {
            (
                n.attribute("name").unwrap().to_string(),
                n.attribute("value").unwrap().to_string(),
            )
        })
        .collect();
    let get = |k: &str| {
        props
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k} in {props:?}"))
    };
    assert_eq!(get("portolan.made"), MADE);
    assert!(get("portolan.tool").starts_with("portolan "));
    assert!(get("portolan.catalogue").contains("sha256"));
    assert!(get("portolan.input").contains(&sha256_of(FIXTURE)));
    assert!(get("portolan.environment").starts_with("vsphere"));
}

#[test]
fn markdown_carries_the_run_record() {
    let md = audit("markdown", &[]);
    assert!(
        md.contains(&format!("Run record: {MADE}, portolan ")),
        "{md}"
    );
    assert!(md.contains(&format!(
        "| input | {FIXTURE} (sha256 {})",
        sha256_of(FIXTURE)
    )));
    assert!(md.contains("| facts | ltr=nfs |"));
    assert!(md.contains("| commit | "));
}

#[test]
fn html_carries_the_run_record() {
    let html = audit("html", &[]);
    assert!(html.contains("<dl class=\"run\" id=\"run-record\">"));
    assert!(html.contains(&format!("<dt>made</dt><dd>{MADE}</dd>")));
    assert!(html.contains(&sha256_of(FIXTURE)));
}

#[test]
fn github_starts_with_a_summary_notice_then_errors_first() {
    let out = audit("github", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("::notice title=Portolan audit::FAIL: 1 file(s)"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(&format!("made: {MADE}")));
    let rank = |l: &str| match l.split(' ').next().unwrap() {
        "::error" => 0,
        "::warning" => 1,
        _ => 2,
    };
    let ranks: Vec<u8> = lines[1..].iter().map(|l| rank(l)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert_eq!(ranks[0], 0);
}

#[test]
fn gitlab_has_no_room_for_a_record_but_repository_paths() {
    // Code Quality is a bare array of issues: the record cannot go in; paths and fingerprints do
    let v: serde_json::Value = serde_json::from_str(&audit("gitlab", &[])).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["location"]["path"] == FIXTURE));
}

#[test]
fn source_date_epoch_makes_two_runs_byte_identical() {
    for format in ["json", "sarif", "markdown", "html", "junit", "github"] {
        assert_eq!(audit(format, &[]), audit(format, &[]), "{format}");
    }
}

#[test]
fn waived_findings_say_so_with_reason_ticket_and_expiry() {
    let args = [
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-waivers.toml",
    ];
    for format in ["markdown", "html"] {
        let out = portolan()
            .env("PORTOLAN_TODAY", "2026-06-01")
            .args(args)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("waived: "), "{format}");
        assert!(
            text.contains("(ticket CHG-4502), until "),
            "{format}: {text}"
        );
        assert!(
            text.contains("5 waived") || text.contains("5 finding(s) waived"),
            "{format}"
        );
        // the verdict itself says the pass rests on waivers, not a bare PASS
        assert!(text.contains("PASS (5 waived)"), "{format}: {text}");
    }
}

/// A git work tree in a temporary directory, with a remote holding a token that must never
/// reach a report.
fn git_repo() -> std::path::PathBuf {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join(".git/refs/heads")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(
        dir.join(".git/refs/heads/main"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".git/config"),
        "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://ci:s3cret-token@git.example.com/net/firewalls.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("sites/lon/fw")).unwrap();
    std::fs::copy(FIXTURE, dir.join("sites/lon/fw/zvm.rules")).unwrap();
    dir
}

#[test]
fn sarif_uris_are_repository_relative_from_a_subdirectory() {
    let repo = git_repo();
    let out = portolan()
        .current_dir(repo.join("sites/lon"))
        .args([
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--format",
            "sarif",
            "fw/zvm.rules",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("s3cret"), "a credential reached the report");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let run = &v["runs"][0];
    for r in run["results"].as_array().unwrap() {
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uri"], "sites/lon/fw/zvm.rules");
        assert_eq!(loc["uriBaseId"], "%SRCROOT%");
    }
    let root = std::fs::canonicalize(&repo).unwrap();
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        format!("file://{}/", root.display())
    );
    let vcp = &run["versionControlProvenance"][0];
    assert_eq!(
        vcp["repositoryUri"],
        "https://git.example.com/net/firewalls.git"
    );
    assert_eq!(
        vcp["revisionId"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(vcp["branch"], "main");
    // GitHub and GitLab paths too; and CI_PROJECT_DIR wins where it is set
    let out = portolan()
        .current_dir(repo.join("sites/lon"))
        .args([
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--format",
            "github",
            "fw/zvm.rules",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("file=sites/lon/fw/zvm.rules,"), "{text}");
    let out = portolan()
        .current_dir(repo.join("sites/lon"))
        .env("CI_PROJECT_DIR", repo.join("sites"))
        .args([
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--format",
            "gitlab",
            "fw/zvm.rules",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["location"]["path"], "lon/fw/zvm.rules");
}

#[test]
fn outside_a_git_repository_there_is_no_provenance() {
    let dir = std::env::temp_dir().join(format!("portolan-norepo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if super::cli::tempdir()
        .ancestors()
        .all(|d| !d.join(".git").exists())
        || dir.ancestors().any(|d| d.join(".git").exists())
    {
        return; // the system temp dir is inside a repository here: nothing to show
    }
    std::fs::copy(FIXTURE, dir.join("zvm.rules")).unwrap();
    let out = portolan()
        .current_dir(&dir)
        .args([
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--format",
            "sarif",
            "zvm.rules",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &v["runs"][0];
    assert!(run.get("versionControlProvenance").is_none());
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "zvm.rules"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The HTML report as Chromium renders it (`--dump-dom`, after its script ran): the run record
/// and the waivers are in the page a change board sees. Skips, saying why, without Chromium.
#[test]
fn html_run_record_and_waivers_render_in_chromium() {
    let Some(chromium) = super::chromium() else {
        eprintln!(
            "SKIPPED html_run_record_and_waivers_render_in_chromium: no chromium on this machine"
        );
        return;
    };
    let dir = tempdir();
    let page = dir.join("r.html");
    let out = portolan()
        .env("PORTOLAN_TODAY", "2026-06-01")
        .args([
            "audit",
            "--inventory",
            "fixtures/inventory/vsphere-waivers.toml",
            "--format",
            "html",
            "--output",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dom = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert!(
        dom.contains("id=\"run-record\""),
        "no run record in the rendered page"
    );
    assert!(dom.contains(&format!("<dt>made</dt><dd>{MADE}</dd>")));
    assert!(dom.contains("<dt>inventory</dt><dd>fixtures/inventory/vsphere-waivers.toml (sha256 "));
    assert!(dom.contains("(ticket CHG-4502), until "));
    assert!(dom.contains("5 finding(s) waived"));
}

#[test]
fn select_and_ignore_finding_codes_by_prefix() {
    let codes = |extra: &[&str]| -> (Vec<String>, i32) {
        let out = portolan()
            .args([
                "audit", "--env", "vsphere", "--role", "zvm", "--format", "json",
            ])
            .args(extra)
            .arg("fixtures/iptables/issue17-security-after-filter.rules")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut c: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        c.dedup();
        (c, out.status.code().unwrap())
    };
    let (all, code) = codes(&[]);
    assert_eq!(code, 1);
    assert!(all.iter().any(|c| c.starts_with("Z1")), "{all:?}");
    assert!(all.iter().any(|c| !c.starts_with("Z1")), "{all:?}");
    let (z1, _) = codes(&["--select", "Z1"]);
    assert!(!z1.is_empty() && z1.iter().all(|c| c.starts_with("Z1")));
    // ignoring every error code: nothing fails the run
    let (rest, code) = codes(&["--ignore", "Z1,Z202"]);
    assert!(!rest.is_empty() && rest.iter().all(|c| !c.starts_with("Z1")));
    assert_eq!(code, 0);
    // the longer prefix wins: Z1 ignored but Z102 selected
    let (only, _) = codes(&["--select", "Z1", "--ignore", "Z1", "--select", "Z102"]);
    assert!(
        !only.is_empty() && only.iter().all(|c| c == "Z102"),
        "{only:?}"
    );
    let out = portolan()
        .args([
            "audit", "--env", "vsphere", "--role", "zvm", "--select", "Z9",
        ])
        .arg("fixtures/iptables/issue17-security-after-filter.rules")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--select Z9"));
}

#[test]
fn markdown_of_a_thousand_flows_stays_under_githubs_comment_limit() {
    let per_file = {
        let out = portolan()
            .args([
                "audit", "--env", "vsphere", "--role", "zvm", "--format", "json", FIXTURE,
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["flows"].as_array().unwrap().len()
    };
    let dir = tempdir();
    let copies = 1000usize.div_ceil(per_file);
    for i in 0..copies {
        std::fs::copy(FIXTURE, dir.join(format!("zvm-{i:03}.rules"))).unwrap();
    }
    let run = |format: &str| {
        let out = portolan()
            .args([
                "audit", "--env", "vsphere", "--role", "zvm", "--format", format,
            ])
            .arg(&dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let flows = v["flows"].as_array().unwrap().len();
    assert!(flows >= 1000, "{flows} flows");
    let md = run("markdown");
    assert!(
        md.chars().count() < 65_536,
        "{} characters",
        md.chars().count()
    );
    // the verdict and the worst flows are there; what did not fit is counted
    assert!(md.contains("**FAIL**"));
    assert!(md.contains("❌ blocked"));
    assert!(md.contains("left out to keep this under GitHub's 65,536-character limit"));
    // a small report is whole
    let small = audit("markdown", &[]);
    assert!(!small.contains("left out"));
    assert!(small.contains("<details><summary>"));
}

#[test]
fn standard_input_is_audited_under_its_stdin_filename() {
    let text = std::fs::read(FIXTURE).unwrap();
    let run = |extra: &[&str], format: &str| -> (String, i32) {
        let out = portolan()
            .args([
                "audit", "--env", "vsphere", "--role", "zvm", "--format", format,
            ])
            .args(extra)
            .arg("-")
            .write_stdin(text.clone())
            .output()
            .unwrap();
        (
            String::from_utf8(out.stdout).unwrap(),
            out.status.code().unwrap(),
        )
    };
    let (json, code) = run(&["--stdin-filename", "fw/zvm.rules"], "json");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["files"][0]["path"], "fw/zvm.rules");
    assert_eq!(v["files"][0]["format"], "iptables-save");
    assert_eq!(v["run"]["inputs"][0]["path"], "fw/zvm.rules");
    assert_eq!(v["run"]["inputs"][0]["sha256"], sha256_of(FIXTURE).as_str());
    assert!(v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["firewall"] == "fw/zvm.rules"));
    let (sarif, _) = run(&["--stdin-filename", "fw/zvm.rules"], "sarif");
    assert!(
        !sarif.contains("portolan-stdin"),
        "the temporary name leaked"
    );
    assert!(sarif.contains("\"uri\": \"fw/zvm.rules\""));
    // the human report's snippets are headed with the name too
    let (human, _) = run(&["--stdin-filename", "fw/zvm.rules"], "human");
    assert!(!human.contains("portolan-stdin"), "{human}");
    assert!(human.contains("[fw/zvm.rules:12:1]"), "{human}");
    // the same findings as the file on disk, with the same fingerprints as a file at that path
    let (plain, _) = run(&[], "json");
    let v: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(v["files"][0]["path"], "-");
}
