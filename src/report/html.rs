//! `--format html`: one self-contained page for change boards: the verdict and counts, a diagram
//! per site (SVG drawn here: roles as boxes, required flows as arrows coloured by what the
//! firewalls actually let through, ports on the arrows), a sortable table of flows, and the
//! findings with their source lines. No scripts or styles are fetched from anywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use crate::engine::reach::Status;
use crate::engine::{FlowRecord, Report, Severity};

/// Escape text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Allowed => "#2e7d32",
        Status::Partial => "#ef6c00",
        Status::Blocked => "#c62828",
        Status::Unknown => "#6d6d6d",
    }
}

/// Worse statuses win when several flows share an arrow.
fn rank(s: Status) -> u8 {
    match s {
        Status::Blocked => 3,
        Status::Partial => 2,
        Status::Unknown => 1,
        Status::Allowed => 0,
    }
}

const W: f64 = 900.0;
const H: f64 = 560.0;
const BOX_W: f64 = 132.0;
const BOX_H: f64 = 38.0;

/// One arrow: the worst status, the ports on it, a tooltip line per flow.
type Edge = (Status, Vec<String>, Vec<String>);

/// A path record's hops, in order, each with its status.
fn hops_text(f: &FlowRecord) -> String {
    f.path
        .iter()
        .enumerate()
        .map(|(i, h)| {
            format!(
                "{}. {} {} ({}){}",
                i + 1,
                h.firewall,
                h.status.name(),
                h.hook,
                if h.reached { "" } else { ", not reached" }
            )
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The catalogue role of a record's role (`zca (vra)` is a ZCA in its VRA part).
fn catalogue_role(r: &str) -> &str {
    r.split_once(" (")
        .and_then(|(_, c)| c.strip_suffix(')'))
        .unwrap_or(r)
}

/// The end-to-end status of the paths a firewall's own flow record is a hop of (the worst, where
/// several), if any: the opener's host on paths from its site, the server's host on paths to
/// its site, a boundary on the paths between its sites.
fn end_to_end(f: &FlowRecord, paths: &[&FlowRecord]) -> Option<Status> {
    let site = f.site.as_deref()?;
    paths
        .iter()
        .filter(|p| p.requirement == f.requirement)
        .filter(|p| {
            let ps = p.site.as_deref().unwrap_or("");
            match f.direction {
                "outbound" => {
                    ps.starts_with(&format!("{site} -> "))
                        && p.from_role == catalogue_role(&f.from_role)
                }
                "inbound" => {
                    ps.ends_with(&format!(" -> {site}")) && p.to_role == catalogue_role(&f.to_role)
                }
                _ => ps == site && p.from_role == f.from_role,
            }
        })
        .map(|p| p.status)
        .max_by_key(|s| rank(*s))
}

/// One site's diagram; an arrow a path record covers takes the path's end-to-end status.
fn diagram(title: &str, flows: &[&FlowRecord], paths: &[&FlowRecord]) -> String {
    let mut roles: Vec<&str> = Vec::new();
    for f in flows {
        for r in [f.from_role.as_str(), f.to_role.as_str()] {
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
    }
    roles.sort();
    let n = roles.len().max(1) as f64;
    let (cx, cy) = (W / 2.0, H / 2.0 + 10.0);
    let (rx, ry) = (W / 2.0 - BOX_W, H / 2.0 - 70.0);
    let pos: BTreeMap<&str, (f64, f64)> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n;
            (*r, (cx + rx * a.cos(), cy + ry * a.sin()))
        })
        .collect();
    // one arrow per (from, to): the ports on it and the worst status
    let mut edges: BTreeMap<(&str, &str), Edge> = BTreeMap::new();
    for f in flows {
        let e = edges
            .entry((f.from_role.as_str(), f.to_role.as_str()))
            .or_insert((Status::Allowed, Vec::new(), Vec::new()));
        let through = end_to_end(f, paths);
        let status = through.unwrap_or(f.status);
        if rank(status) > rank(e.0) {
            e.0 = status;
        }
        let p = format!("{}/{}", f.protocol, f.ports);
        if !e.1.contains(&p) {
            e.1.push(p);
        }
        e.2.push(match through {
            Some(t) => format!(
                "{} {} ({}), {} end to end",
                f.requirement,
                f.status.name(),
                f.direction,
                t.name()
            ),
            None => format!("{} {} ({})", f.requirement, f.status.name(), f.direction),
        });
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"##,
        esc(title)
    );
    svg.push_str("<defs>");
    for s in [
        Status::Allowed,
        Status::Partial,
        Status::Blocked,
        Status::Unknown,
    ] {
        let _ = write!(
            svg,
            r##"<marker id="arrow-{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"##,
            s.name(),
            colour(s)
        );
    }
    svg.push_str("</defs>");
    let _ = write!(
        svg,
        r##"<text x="16" y="26" class="dtitle">{}</text>"##,
        esc(title)
    );
    for ((from, to), (status, ports, what)) in &edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(from), pos.get(to)) else {
            continue;
        };
        let c = colour(*status);
        let label = esc(&ports.join(" "));
        let tip = esc(&what.join("\n"));
        if from == to {
            // a loop above the box: peers of the same role on other sites
            let (lx, ly) = (x1, y1 - BOX_H / 2.0);
            let _ = write!(
                svg,
                r##"<g class="edge"><title>{tip}</title><path d="M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="none" stroke="{c}" stroke-width="2.5" marker-end="url(#arrow-{})"/><text x="{:.1}" y="{:.1}" fill="{c}" class="port" text-anchor="middle">{label}</text></g>"##,
                lx - 22.0,
                ly,
                lx - 50.0,
                ly - 70.0,
                lx + 50.0,
                ly - 70.0,
                lx + 22.0,
                ly,
                status.name(),
                lx,
                ly - 58.0
            );
            continue;
        }
        // trim the line to the box edges, and bend it so that a->b and b->a do not overlap
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let trim = |bx: f64, by: f64, sx: f64, sy: f64| {
            let tx = if sx.abs() > 1e-9 {
                (BOX_W / 2.0 + 6.0) / sx.abs()
            } else {
                f64::MAX
            };
            let ty = if sy.abs() > 1e-9 {
                (BOX_H / 2.0 + 6.0) / sy.abs()
            } else {
                f64::MAX
            };
            let t = tx.min(ty);
            (bx + sx * t, by + sy * t)
        };
        let (sx, sy) = trim(x1, y1, ux, uy);
        let (ex, ey) = trim(x2, y2, -ux, -uy);
        let (nx, ny) = (-uy * 26.0, ux * 26.0);
        let (mx, my) = ((sx + ex) / 2.0 + nx, (sy + ey) / 2.0 + ny);
        let _ = write!(
            svg,
            r##"<g class="edge"><title>{tip}</title><path d="M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} {ex:.1},{ey:.1}" fill="none" stroke="{c}" stroke-width="2.5" marker-end="url(#arrow-{})"/><text x="{:.1}" y="{:.1}" fill="{c}" class="port" text-anchor="middle">{label}</text></g>"##,
            status.name(),
            (sx + ex) / 4.0 + mx / 2.0,
            (sy + ey) / 4.0 + my / 2.0 - 4.0
        );
    }
    for (r, (x, y)) in &pos {
        let _ = write!(
            svg,
            r##"<g class="role"><rect x="{:.1}" y="{:.1}" width="{BOX_W}" height="{BOX_H}" rx="6"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
            x - BOX_W / 2.0,
            y - BOX_H / 2.0,
            y + 5.0,
            esc(r)
        );
    }
    // legend
    for (i, s) in [
        Status::Allowed,
        Status::Partial,
        Status::Blocked,
        Status::Unknown,
    ]
    .iter()
    .enumerate()
    {
        let x = 16.0 + i as f64 * 110.0;
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="{0}" x2="{1}" y2="{0}" stroke="{2}" stroke-width="3"/><text x="{3}" y="{4}" class="legend">{5}</text>"##,
            H - 18.0,
            x + 26.0,
            colour(*s),
            x + 32.0,
            H - 14.0,
            s.name()
        );
    }
    svg.push_str("</svg>");
    svg
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d1d1d;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px}
.verdict{display:inline-block;padding:3px 10px;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#2e7d32}.fail{background:#c62828}
.counts span{margin-right:14px}
svg{background:#fff;border:1px solid #ddd;border-radius:6px;max-width:100%;height:auto}
svg .role rect{fill:#e8eef7;stroke:#34598f;stroke-width:1.5} svg .role text{font:600 14px system-ui,sans-serif;fill:#1b3558}
svg .port{font:12px ui-monospace,monospace} svg .legend{font:12px system-ui,sans-serif;fill:#333} svg .dtitle{font:600 15px system-ui,sans-serif}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px} th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer;user-select:none} th:after{content:" \2195";color:#999}
.st-allowed{color:#2e7d32;font-weight:600}.st-partial{color:#ef6c00;font-weight:600}.st-blocked{color:#c62828;font-weight:600}.st-unknown{color:#6d6d6d;font-weight:600}
.finding{background:#fff;border:1px solid #ddd;border-left:5px solid #999;border-radius:4px;padding:8px 12px;margin:10px 0}
.sev-error{border-left-color:#c62828}.sev-warning{border-left-color:#ef6c00}.sev-info{border-left-color:#1565c0}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12.5px;margin:6px 0 0} pre .hl{background:#fff3b0;display:block}
code{font-family:ui-monospace,monospace}
.waived{color:#5d4037;font-weight:600} .finding.waived-f{border-left-style:dashed;opacity:.85}
.run{font-size:12.5px;background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px 10px;margin:8px 0;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
.run dt{font-weight:600} .run dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
@media print{body{margin:0;background:#fff} th:after{content:none} tr,.finding,svg{break-inside:avoid;page-break-inside:avoid} thead{display:table-header-group} table{font-size:10px} pre{white-space:pre-wrap}}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0], rows=Array.prototype.slice.call(body.rows);
      var asc=th.dataset.asc!=='1'; th.dataset.asc=asc?'1':'0';
      rows.sort(function(a,b){var x=a.cells[i].dataset.key||a.cells[i].textContent,y=b.cells[i].dataset.key||b.cells[i].textContent;return asc?x.localeCompare(y,undefined,{numeric:true}):y.localeCompare(x,undefined,{numeric:true});});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"#;

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut h = String::new();
    let env = r.environment.map(|e| e.as_str()).unwrap_or("");
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Portolan audit {}</title><style>{STYLE}</style></head><body>",
        esc(env)
    );
    let fail = r.count(Severity::Error) > 0;
    let _ = write!(
        h,
        "<h1>Portolan audit{}</h1><p><span class=\"verdict {}\">{}</span></p><p class=\"counts\"><span>{} file(s)</span><span>{} required flow(s)</span><span class=\"st-allowed\">{} allowed</span><span class=\"st-partial\">{} partial</span><span class=\"st-blocked\">{} blocked</span><span class=\"st-unknown\">{} unknown</span><span>{} error(s), {} warning(s), {} info</span></p>",
        if env.is_empty() { String::new() } else { format!(" — {}", esc(env)) },
        if fail { "fail" } else { "pass" },
        // a pass that waivers make: said on the badge, not only below it
        match (fail, r.waived()) {
            (true, _) => "FAIL".to_string(),
            (false, 0) => "PASS".to_string(),
            (false, n) => format!("PASS ({n} waived)"),
        },
        r.files.len(),
        r.flows.len(),
        r.flow_count(Status::Allowed),
        r.flow_count(Status::Partial),
        r.flow_count(Status::Blocked),
        r.flow_count(Status::Unknown),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    let rec = super::record::lines(r);
    if !rec.is_empty() {
        h.push_str("<dl class=\"run\" id=\"run-record\">");
        for (k, v) in &rec {
            let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        h.push_str("</dl>");
    }
    if r.waived() > 0 {
        let _ = write!(
            h,
            "<p class=\"waived\">{} finding(s) waived: they do not fail the run, and each says why below.</p>",
            r.waived()
        );
    }
    // one diagram per site (flows with no site form one group)
    // path records colour the arrows of the firewalls on their path
    let paths: Vec<&FlowRecord> = r.flows.iter().filter(|f| !f.path.is_empty()).collect();
    let mut sites: Vec<Option<&str>> = Vec::new();
    for f in r.flows.iter().filter(|f| f.path.is_empty()) {
        if !sites.contains(&f.site.as_deref()) {
            sites.push(f.site.as_deref());
        }
    }
    for site in &sites {
        let flows: Vec<&FlowRecord> = r
            .flows
            .iter()
            .filter(|f| f.site.as_deref() == *site && f.path.is_empty())
            .collect();
        let title = match site {
            Some(s) => format!("Site {s}"),
            None => "Required flows".to_string(),
        };
        let _ = write!(h, "<h2>{}</h2>", esc(&title));
        h.push_str(&diagram(&title, &flows, &paths));
    }
    h.push_str("<h2>Flows</h2><table class=\"sortable\"><thead><tr><th>status</th><th>requirement</th><th>site</th><th>firewall</th><th>policy</th><th>direction</th><th>ports</th><th>from</th><th>to</th><th>allowed sources</th><th>decided by</th></tr></thead><tbody>");
    for f in &r.flows {
        let decided: Vec<String> = f
            .deciding
            .iter()
            .map(|d| match d.line {
                Some(l) => format!("{} ({}:{l}, {})", d.rule, d.file, d.action),
                None => format!("{} ({})", d.rule, d.action),
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td class=\"st-{0}\" data-key=\"{1}\">{0}{2}{14}</td><td><code>{3}</code></td><td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td><td>{8}/{9}</td><td>{10}</td><td>{11}</td><td>{12}</td><td>{13}</td></tr>",
            f.status.name(),
            3 - rank(f.status),
            if f.conditional { " (conditional)" } else { "" },
            esc(&f.requirement),
            esc(f.site.as_deref().unwrap_or("")),
            esc(&if f.path.is_empty() {
                f.firewall.clone()
            } else {
                hops_text(f)
            }),
            esc(&f.policy),
            f.direction,
            esc(&f.protocol),
            esc(&f.ports),
            esc(&f.from_role),
            esc(&f.to_role),
            esc(&f.allowed_sources.join(", ")),
            esc(&decided.join("; ")),
            super::record::flow_waiver(r, f)
                .map(|w| format!(
                    "<br><span class=\"waived\">{}</span>",
                    esc(&super::record::waiver(w))
                ))
                .unwrap_or_default()
        );
    }
    h.push_str("</tbody></table>");
    if !r.findings.is_empty() {
        h.push_str("<h2>Findings</h2>");
    }
    for f in &r.findings {
        let file = f.file.and_then(|i| r.files.get(i));
        let loc = file
            .map(|x| super::place::describe(&x.path, super::place::of(r, f).as_ref(), false))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<div class=\"finding sev-{}{}\"><b>{}</b> <code>{}</code> <i>{}</i> — {}<br><small>{}</small>",
            f.severity.name(),
            if f.is_waived() { " waived-f" } else { "" },
            f.code,
            f.name,
            f.severity.name(),
            esc(&f.message),
            esc(&loc)
        );
        if let Some(src) = file
            .and_then(|x| x.source.as_ref())
            .filter(|s| s.binary.is_some())
        {
            // a binary file's values have no lines: each labelled value's string, as read
            h.push_str("<pre>");
            for l in &f.labels {
                let text = super::place::value_text(&src.text, l.span.start);
                let _ = writeln!(h, "<span class=\"hl\">{}</span>", esc(text));
            }
            h.push_str("</pre>");
        } else if let Some(src) = file.and_then(|x| x.source.as_ref()) {
            let lines: Vec<&str> = src.text.lines().collect();
            let mut shown = std::collections::BTreeSet::new();
            for l in &f.labels {
                let n = l.line as usize;
                for k in n.saturating_sub(1).max(1)..=(n + 1).min(lines.len()) {
                    shown.insert(k);
                }
            }
            if !shown.is_empty() {
                h.push_str("<pre>");
                let marked: Vec<usize> = f.labels.iter().map(|l| l.line as usize).collect();
                for k in shown {
                    let text = lines.get(k - 1).copied().unwrap_or("");
                    if marked.contains(&k) {
                        let _ = write!(h, "<span class=\"hl\">{k:>5} │ {}</span>", esc(text));
                    } else {
                        let _ = writeln!(h, "{k:>5} │ {}", esc(text));
                    }
                }
                h.push_str("</pre>");
            }
        }
        if let Some(w) = &f.waiver {
            let _ = write!(
                h,
                "<p class=\"waived\">{}</p>",
                esc(&super::record::waiver(w))
            );
        }
        if let Some(help) = &f.help {
            let _ = write!(h, "<p><b>Fix:</b> {}</p>", esc(help));
        }
        h.push_str("</div>");
    }
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    out.write_all(h.as_bytes())
}
