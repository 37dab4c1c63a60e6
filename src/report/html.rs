//! `--format html`: one self-contained page for change boards: the verdict and counts, a diagram
//! per site (SVG drawn here: roles as boxes, required flows as arrows coloured by what the
//! firewalls actually let through, ports on the arrows), a sortable table of flows, and the
//! findings with their source lines. No scripts or styles are fetched from anywhere.

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

pub(super) fn colour(s: Status) -> &'static str {
    match s {
        Status::Allowed => "#2e7d32",
        Status::Partial => "#ef6c00",
        Status::Blocked => "#c62828",
        Status::Unknown => "#6d6d6d",
    }
}

/// Worse statuses win when several flows share an arrow.
pub(super) fn rank(s: Status) -> u8 {
    match s {
        Status::Blocked => 3,
        Status::Partial => 2,
        Status::Unknown => 1,
        Status::Allowed => 0,
    }
}

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
.pick select{font:inherit} svg .port{paint-order:stroke;stroke:#fff;stroke-width:3px}
@media print{body{margin:0;background:#fff} .pick{display:none} .diagram{display:block!important} th:after{content:none} tr,.finding,svg{break-inside:avoid;page-break-inside:avoid} thead{display:table-header-group} table{font-size:10px} pre{white-space:pre-wrap}}
"#;

const SCRIPT: &str = r#"
var pick=document.getElementById('diagram-pick');
if(pick){pick.addEventListener('change',function(){
  document.querySelectorAll('section.diagram').forEach(function(d){
    d.style.display=(!pick.value||d.id===pick.value)?'':'none';
  });
});}
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
    // one diagram per site; in quick mode (no sites), one per firewall. Several get a selector
    // that shows one at a time (all of them print, and without scripts all are shown)
    let key = |f: &FlowRecord| match &f.site {
        Some(s) => format!("Site {s}"),
        None => format!("Firewall {}", f.firewall),
    };
    let mut groups: Vec<(String, Vec<&FlowRecord>)> = Vec::new();
    for f in r.flows.iter().filter(|f| f.path.is_empty()) {
        let k = key(f);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(f),
            None => groups.push((k, vec![f])),
        }
    }
    if groups.len() == 1 && r.flows.iter().all(|f| f.site.is_none()) {
        groups[0].0 = "Required flows".to_string();
    }
    if groups.len() > 1 {
        h.push_str("<p class=\"pick\"><label>Diagram: <select id=\"diagram-pick\"><option value=\"\">all</option>");
        for (i, (title, _)) in groups.iter().enumerate() {
            let _ = write!(h, "<option value=\"d{i}\">{}</option>", esc(title));
        }
        h.push_str("</select></label></p>");
    }
    for (i, (title, flows)) in groups.iter().enumerate() {
        let _ = write!(
            h,
            "<section class=\"diagram\" id=\"d{i}\"><h2>{}</h2>",
            esc(title)
        );
        h.push_str(&super::diagram::diagram(title, flows, &paths));
        h.push_str("</section>");
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
