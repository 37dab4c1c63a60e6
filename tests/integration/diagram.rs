//! The HTML report's diagrams (issue 20, item 7): each port says its own status, in colour and
//! with an icon; arrows carry a dash pattern per status (greyscale-safe); labels overlap neither
//! each other nor the role boxes; one diagram per firewall in quick mode, with a selector; and
//! the page prints to PDF in Chromium.

use super::portolan;

fn html(args: &[&str]) -> String {
    let out = portolan()
        .arg("audit")
        .args(args)
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const DROPS: &[&str] = &[
    "--env",
    "vsphere",
    "--role",
    "zvm",
    "fixtures/iptables/zvm-drops-9669.rules",
];

#[test]
fn each_port_on_an_arrow_has_its_own_status_colour_and_icon() {
    let page = html(DROPS);
    // the admin client reaches the ZVM on 9080 but not on 9669: one arrow, two statuses (the
    // arrow used to be red all over)
    let label = page
        .split("<text ")
        .find(|t| t.contains("tcp/9080") && t.contains("tcp/9669"))
        .unwrap_or_else(|| panic!("no label with both ports: {page}"));
    assert!(
        label.contains(r##"<tspan fill="#2e7d32" class="st-allowed">✓ tcp/9080</tspan>"##),
        "{label}"
    );
    assert!(
        label.contains(r##"<tspan fill="#c62828" class="st-blocked">  ✗ tcp/9669</tspan>"##),
        "{label}"
    );
    // greyscale: the arrow of a blocked flow is dotted, an allowed one solid, and the legend
    // shows each pattern with its icon
    let arrow = page
        .split("<g class=\"edge st-blocked\">")
        .nth(1)
        .expect("a blocked arrow");
    assert!(
        arrow.contains("stroke-dasharray=\"3 4\""),
        "{}",
        &arrow[..200]
    );
    assert!(page.contains("<g class=\"edge st-allowed\">"));
    for (dash, legend) in [
        ("none", "✓ allowed"),
        ("9 4", "◐ partial"),
        ("3 4", "✗ blocked"),
        ("12 4 2 4", "? unknown"),
    ] {
        assert!(
            page.contains(&format!("stroke-dasharray=\"{dash}\"/><text"))
                && page.contains(&format!("class=\"legend\">{legend}</text>")),
            "legend {legend}"
        );
    }
}

/// The rectangles of the role boxes and the port labels of one diagram, the labels measured as
/// the report lays them out (12 px monospace: 7.3 px a character, 15 px a line).
fn boxes_and_labels(svg: &str) -> (Vec<[f64; 4]>, Vec<[f64; 4]>) {
    let num = |s: &str, key: &str| -> f64 {
        let i = s.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        s[i..i + s[i..].find('"').unwrap()].parse().unwrap()
    };
    let boxes = svg
        .split("<g class=\"role\"><rect ")
        .skip(1)
        .map(|r| {
            let (x, y) = (num(r, "x"), num(r, "y"));
            [x, y, x + num(r, "width"), y + num(r, "height")]
        })
        .collect();
    let labels = svg
        .split("<text x=")
        .skip(1)
        .filter(|t| t.contains("class=\"port\""))
        .map(|t| {
            let t = format!("x={t}");
            let (x, y) = (num(&t, "x"), num(&t, "y"));
            let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
            // a new line starts with `<tspan x=… dy=…>`
            let parts: Vec<&str> = body.split("<tspan x=").collect();
            let lines = parts.len();
            // the longest line's characters: the text without its tags
            let widest = parts
                .iter()
                .enumerate()
                .map(|(i, part)| {
                    let mut n = 0;
                    let mut inside = i > 0;
                    for c in part.chars() {
                        match c {
                            '<' => inside = true,
                            '>' => inside = false,
                            _ if !inside => n += 1,
                            _ => {}
                        }
                    }
                    n
                })
                .max()
                .unwrap_or(0) as f64;
            let w = widest * 7.3;
            let top = y - 13.0;
            [x - w / 2.0, top, x + w / 2.0, top + lines as f64 * 15.0]
        })
        .collect();
    (boxes, labels)
}

#[test]
fn labels_overlap_neither_each_other_nor_the_boxes() {
    for args in [
        DROPS.to_vec(),
        vec!["--inventory", "fixtures/inventory/vsphere-two-sites.toml"],
    ] {
        let page = html(&args);
        for svg in page.split("<svg ").skip(1) {
            let (boxes, labels) = boxes_and_labels(svg);
            assert!(!boxes.is_empty() && !labels.is_empty());
            let hit = |a: &[f64; 4], b: &[f64; 4]| {
                a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
            };
            for (i, a) in labels.iter().enumerate() {
                for b in labels.iter().skip(i + 1) {
                    assert!(!hit(a, b), "{args:?}: labels {a:?} and {b:?} overlap");
                }
                for b in &boxes {
                    assert!(!hit(a, b), "{args:?}: label {a:?} covers box {b:?}");
                }
            }
        }
    }
}

#[test]
fn quick_mode_draws_one_diagram_per_firewall_with_a_selector() {
    let page = html(&[
        "--env",
        "vsphere",
        "--role",
        "zvm",
        "fixtures/iptables/zvm-drops-9669.rules",
        "fixtures/iptables/zvm-exposed.rules",
    ]);
    assert_eq!(page.matches("<svg ").count(), 2);
    assert!(page.contains("<select id=\"diagram-pick\">"));
    assert!(page
        .contains("<option value=\"d0\">Firewall fixtures/iptables/zvm-drops-9669.rules</option>"));
    assert!(
        page.contains("<option value=\"d1\">Firewall fixtures/iptables/zvm-exposed.rules</option>")
    );
    // print shows every diagram and keeps rows and diagrams whole
    assert!(page.contains(".diagram{display:block!important}"));
    assert!(page.contains("tr,.finding,svg{break-inside:avoid"));
    // one firewall: no selector
    assert!(!html(DROPS).contains("<select id=\"diagram-pick\">"));
}

/// Chromium prints the page to PDF (skips, saying why, without Chromium).
#[test]
fn the_report_prints_to_pdf_in_chromium() {
    let Some(chromium) = super::chromium() else {
        eprintln!("SKIPPED the_report_prints_to_pdf_in_chromium: no chromium on this machine");
        return;
    };
    let dir = super::cli::tempdir();
    let page = dir.join("r.html");
    std::fs::write(
        &page,
        html(&["--inventory", "fixtures/inventory/vsphere-two-sites.toml"]),
    )
    .unwrap();
    let pdf = dir.join("r.pdf");
    let status = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&page)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    // several pages (the diagrams and the table do not fit one)
    let pages = bytes.windows(10).filter(|w| w == b"/Type /Pag").count();
    assert!(pages >= 2, "{pages} page object(s)");
}
