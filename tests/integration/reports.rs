//! Report formats: SARIF validates against the official 2.1.0 schema, JUnit parses back as XML,
//! Markdown carries the flows and findings.

use super::portolan;

fn run(args: &[&str]) -> (String, i32) {
    let out = portolan().args(args).output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

const DROPS: &[&str] = &[
    "audit",
    "--env",
    "vsphere",
    "--role",
    "zvm",
    "fixtures/iptables/zvm-drops-9669.rules",
];

#[test]
fn sarif_validates_against_the_schema_and_points_at_the_deciding_rule() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    for args in [
        DROPS.to_vec(),
        vec![
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "fixtures/iptables/zvm-malformed.rules",
        ],
        vec![
            "audit",
            "--inventory",
            "fixtures/inventory/vsphere-two-sites.toml",
        ],
    ] {
        let mut a = args.clone();
        a.extend(["--format", "sarif"]);
        let (out, _) = run(&a);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
    }
    let (out, code) = run(&[DROPS, &["--format", "sarif"]].concat());
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // the validator is not a rubber stamp
    let mut broken = v.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&broken));
    let run0 = &v["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["id"] == "Z101" && r["help"]["markdown"].as_str().unwrap().contains("## Fix")));
    let results = run0["results"].as_array().unwrap();
    let blocked = results
        .iter()
        .find(|r| r["ruleId"] == "Z101" && r["level"] == "error")
        .expect("a Z101 error");
    let region = &blocked["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 12, "the DROP line");
    assert_eq!(
        blocked["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/iptables/zvm-drops-9669.rules"
    );
    assert!(
        blocked["partialFingerprints"]["portolanFingerprint/v1"]
            .as_str()
            .unwrap()
            .len()
            == 16
    );
}

#[test]
fn sarif_fingerprints_survive_lines_moving() {
    let dir = super::cli::tempdir();
    let original = std::fs::read_to_string("fixtures/iptables/zvm-drops-9669.rules").unwrap();
    let moved = original.replacen(
        "*filter\n",
        "*filter\n# a comment added above everything\n\n",
        1,
    );
    let a = dir.join("a.rules");
    std::fs::write(&a, &original).unwrap();
    let fp = |text: &str| {
        std::fs::write(&a, text).unwrap();
        let (out, _) = run(&[
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "--format",
            "sarif",
            a.to_str().unwrap(),
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["partialFingerprints"]["portolanFingerprint/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = fp(&original);
    let after = fp(&moved);
    assert_eq!(before.len(), after.len());
    for ((f1, l1), (f2, l2)) in before.iter().zip(&after) {
        assert_eq!(f1, f2);
        assert_eq!(l1 + 2, *l2, "the line moved, the fingerprint did not");
    }
}

#[test]
fn junit_parses_back_with_one_testcase_per_required_flow() {
    let (out, code) = run(&[DROPS, &["--format", "junit"]].concat());
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    let (json_v, _) = super::audit_json(&DROPS[1..]);
    let flows = json_v["flows"].as_array().unwrap().len();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let flow_cases = cases
        .iter()
        .filter(|c| !c.attribute("classname").unwrap().ends_with(".findings"))
        .count();
    assert_eq!(flow_cases, flows);
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|x| x.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert!(
        failed
            .iter()
            .any(|n| n.starts_with("vsphere.admin-client-zvm-9669 inbound")),
        "{failed:?}"
    );
    let root = doc.root_element();
    assert_eq!(
        root.attribute("tests").unwrap().parse::<usize>().unwrap(),
        cases.len()
    );
    assert_eq!(
        root.attribute("failures").unwrap(),
        failed.len().to_string()
    );
    // markup in messages is escaped, not broken
    assert!(out.contains("-&gt;"));
}

#[test]
fn markdown_has_the_summary_table_and_findings() {
    let (out, _) = run(&[
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-two-sites.toml",
        "--format",
        "markdown",
    ]);
    assert!(out.starts_with("## Portolan audit (vsphere)"));
    assert!(out.contains("**FAIL**"));
    assert!(out.contains("### Site prod") && out.contains("### Site dr"));
    assert!(out.contains("| ⚠️ partial | `vsphere.admin-client-zvm-9669` |"));
    assert!(out.contains("**Z102** `required-flow-partial`"));
    assert!(out.contains("(`fixtures/iptables/zvm-user-chain-return.rules:3`)"));
}

#[test]
fn several_format_output_pairs_in_one_run() {
    let dir = super::cli::tempdir();
    let (s, j, m) = (dir.join("a.sarif"), dir.join("a.xml"), dir.join("a.md"));
    let (out, code) = run(&[
        DROPS,
        &[
            "--format",
            "sarif",
            "--output",
            s.to_str().unwrap(),
            "--format",
            "junit",
            "--output",
            j.to_str().unwrap(),
            "--format",
            "markdown",
            "--output",
            m.to_str().unwrap(),
        ],
    ]
    .concat());
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(&s).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(roxmltree::Document::parse(&std::fs::read_to_string(&j).unwrap()).is_ok());
    assert!(std::fs::read_to_string(&m).unwrap().contains("**FAIL**"));
    // counts must pair up
    let (_, code) = run(&[
        DROPS,
        &[
            "--format", "sarif", "--format", "junit", "--output", "x.sarif",
        ],
    ]
    .concat());
    assert_eq!(code, 2);
}

#[test]
fn output_refuses_to_overwrite_an_input() {
    let dir = super::cli::tempdir();
    let input = dir.join("zvm.rules");
    std::fs::copy("fixtures/iptables/zvm-drops-9669.rules", &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let (_, code) = run(&[
        "audit",
        "--env",
        "vsphere",
        "--role",
        "zvm",
        input.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn html_is_self_contained_with_one_svg_per_site() {
    let (out, _) = run(&[
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-two-sites.toml",
        "--format",
        "html",
    ]);
    assert!(out.starts_with("<!doctype html>"));
    assert_eq!(out.matches("<svg ").count(), 2, "sites prod and dr");
    assert!(out.contains("Site prod") && out.contains("Site dr"));
    // nothing is fetched: no external scripts, styles, images or links
    for bad in [
        "<script src",
        "<link",
        "<img",
        "href=\"http",
        "src=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!out.contains(bad), "found {bad}");
    }
    // blocked flows are drawn red, partial orange; findings carry their source line
    assert!(out.contains("stroke=\"#c62828\"") && out.contains("stroke=\"#ef6c00\""));
    assert!(out.contains("<span class=\"hl\">    3 │ :INPUT DROP [0:0]</span>"));
    // a quick-mode run has one diagram for its flows
    let (out, _) = run(&[DROPS, &["--format", "html"]].concat());
    assert_eq!(out.matches("<svg ").count(), 1);
}

/// Renders the page in headless Chromium and checks the screenshot is not blank (much larger
/// than a screenshot of an empty page). Skips, saying why, when Chromium is not installed.
#[test]
fn html_renders_in_headless_chromium() {
    let Some(chromium) = super::chromium() else {
        eprintln!("SKIPPED html_renders_in_headless_chromium: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = super::cli::tempdir();
    let page = dir.join("r.html");
    let blank = dir.join("blank.html");
    std::fs::write(&blank, "<!doctype html><html><body></body></html>").unwrap();
    let (_, _) = run(&[
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-two-sites.toml",
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    let shot = |html: &std::path::Path, png: &std::path::Path| {
        let status = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1280,1400",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::metadata(png).map(|m| m.len()).unwrap_or(0)
    };
    let report = shot(&page, &dir.join("r.png"));
    let empty = shot(&blank, &dir.join("blank.png"));
    assert!(
        empty > 0 && report > 5 * empty,
        "report screenshot {report} bytes vs blank {empty} bytes"
    );
}

fn run_on(today: &str, args: &[&str]) -> (String, String, i32) {
    let out = portolan()
        .env("PORTOLAN_TODAY", today)
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn live_waivers_pass_expired_ones_fail_and_both_say_why() {
    let args = [
        "audit",
        "--inventory",
        "fixtures/inventory/vsphere-waivers.toml",
        "--format",
        "json",
    ];
    // before the expiry date: every error is waived, the run passes
    let (out, _, code) = run_on("2026-06-01", &args);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["findings"]["error"], 0);
    assert_eq!(v["summary"]["findings"]["waived"], 5);
    let z102 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "Z102")
        .unwrap();
    assert_eq!(z102["waiver"]["ticket"], "CHG-4502");
    assert_eq!(z102["waiver"]["expired"], false);
    // the stale waiver is reported
    let z004: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "Z004")
        .collect();
    assert_eq!(z004.len(), 1);
    assert!(z004[0]["message"].as_str().unwrap().contains("CHG-3999"));
    // after it: the same findings count again, and say their waiver expired
    let (out, _, code) = run_on("2027-01-15", &args);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["findings"]["error"], 5);
    let z102 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "Z102")
        .unwrap();
    assert_eq!(z102["waiver"]["expired"], true);
    assert!(z102["help"]
        .as_str()
        .unwrap()
        .contains("expired on 2026-12-31"));
    // human output says it too
    let (out, _, _) = run_on("2027-01-15", &args[..3]);
    assert!(
        out.contains("waiver expired on 2026-12-31: guest Wi-Fi"),
        "{out}"
    );
    let (out, _, _) = run_on("2026-06-01", &args[..3]);
    assert!(out.contains("[waived]") && out.contains("waived until 2026-12-31"));
    // SARIF marks live waivers as suppressions; JUnit as skipped
    let (out, _, _) = run_on(
        "2026-06-01",
        &[&args[..3], &["--format", "sarif"][..]].concat(),
    );
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    let suppressed = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .count();
    assert_eq!(suppressed, 5);
    let (out, _, _) = run_on(
        "2026-06-01",
        &[&args[..3], &["--format", "junit"][..]].concat(),
    );
    assert!(out.contains("<skipped message=\"waived: DR VRAs move"));
}

#[test]
fn baseline_reports_only_new_findings() {
    let dir = super::cli::tempdir();
    let base = dir.join("baseline.json");
    let (_, _, code) = run_on(
        "2026-06-01",
        &[
            DROPS,
            &[
                "--write-baseline",
                base.to_str().unwrap(),
                "--format",
                "json",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 1);
    let (out, _, code) = run_on(
        "2026-06-01",
        &[
            DROPS,
            &["--baseline", base.to_str().unwrap(), "--format", "json"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["findings"]["baselined"], 2);
    // a new problem still shows: the exposed fixture against the same baseline
    let (_, _, code) = run_on(
        "2026-06-01",
        &[
            "audit",
            "--env",
            "vsphere",
            "--role",
            "zvm",
            "fixtures/iptables/zvm-exposed.rules",
            "--baseline",
            base.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
}

#[test]
fn quiet_and_statistics() {
    let (out, err, _) = run_on(
        "2026-06-01",
        &[DROPS, &["--quiet", "--statistics"]].concat(),
    );
    assert!(
        !out.contains("blocked  vsphere."),
        "no per-file flow list when quiet"
    );
    assert!(out.contains("Z101"));
    assert!(err.contains("2  Z101 required-flow-blocked"), "{err}");
}

#[test]
fn fix_suggestions_in_human_and_markdown() {
    let (out, _) = run(&[DROPS, &["--fix-suggestions"]].concat());
    assert!(
        out.contains("fix: -I INPUT 6 -s PEERS -p tcp -m tcp --dport 9669"),
        "{out}"
    );
    let (out, _) = run(&[DROPS, &["--fix-suggestions", "--format", "markdown"]].concat());
    assert!(out.contains("### Suggested fixes") && out.contains("-I INPUT 6 -s PEERS -p tcp"));
    let (out, _) = run(&[DROPS, &["--format", "markdown"]].concat());
    assert!(!out.contains("### Suggested fixes"));
}
