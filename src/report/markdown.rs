//! `--format markdown`: for a pull-request comment or a change ticket: a summary line, a table of
//! required flows per site, the findings with file:line.

use std::io::Write;

use crate::engine::reach::Status;
use crate::engine::{Report, Severity};

/// Make text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn icon(s: Status) -> &'static str {
    match s {
        Status::Allowed => "✅ allowed",
        Status::Partial => "⚠️ partial",
        Status::Blocked => "❌ blocked",
        Status::Unknown => "❔ unknown",
    }
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "## Portolan audit{}",
        r.environment
            .map(|e| format!(" ({})", e.as_str()))
            .unwrap_or_default()
    )?;
    writeln!(out)?;
    let verdict = if r.count(Severity::Error) > 0 {
        "**FAIL**"
    } else {
        "**PASS**"
    };
    writeln!(
        out,
        "{verdict}: {} file(s), {} required flow(s): {} allowed, {} partial, {} blocked, {} unknown; {} error(s), {} warning(s), {} info.",
        r.files.len(),
        r.flows.len(),
        r.flow_count(Status::Allowed),
        r.flow_count(Status::Partial),
        r.flow_count(Status::Blocked),
        r.flow_count(Status::Unknown),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info)
    )?;
    let mut sites: Vec<Option<&str>> = Vec::new();
    for f in &r.flows {
        if !sites.contains(&f.site.as_deref()) {
            sites.push(f.site.as_deref());
        }
    }
    for site in sites {
        writeln!(out)?;
        writeln!(
            out,
            "### {}",
            site.map(|s| format!("Site {s}"))
                .unwrap_or_else(|| "Required flows".into())
        )?;
        writeln!(out)?;
        writeln!(out, "| status | requirement | firewall | policy | direction | ports | from → to | decided by |")?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        let mut flows: Vec<_> = r
            .flows
            .iter()
            .filter(|f| f.site.as_deref() == site)
            .collect();
        // problems first
        flows.sort_by_key(|f| match f.status {
            Status::Blocked => 0,
            Status::Partial => 1,
            Status::Unknown => 2,
            Status::Allowed => 3,
        });
        for f in flows {
            let decided: Vec<String> = f
                .deciding
                .iter()
                .map(|d| match d.line {
                    Some(l) => format!("`{}` ({}:{l})", d.rule, d.file),
                    None => format!("`{}`", d.rule),
                })
                .collect();
            // a path record: every hop in order with its status
            let firewall = if f.path.is_empty() {
                format!("`{}`", cell(&f.firewall))
            } else {
                f.path
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        format!(
                            "{}. `{}` {} ({}){}",
                            i + 1,
                            cell(&h.firewall),
                            h.status.name(),
                            h.hook,
                            if h.reached { "" } else { ", not reached" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" → ")
            };
            writeln!(
                out,
                "| {}{} | `{}` | {} | {} | {} | {}/{} | {} → {} | {} |",
                icon(f.status),
                if f.conditional { " (conditional)" } else { "" },
                f.requirement,
                firewall,
                cell(&f.policy),
                f.direction,
                f.protocol,
                f.ports,
                f.from_role,
                f.to_role,
                cell(&decided.join(", "))
            )?;
        }
    }
    if r.show_fixes {
        let mut lines: Vec<&String> = Vec::new();
        for f in &r.flows {
            for l in f.fix.iter().flat_map(|x| x.lines.iter()) {
                if !lines.contains(&l) {
                    lines.push(l);
                }
            }
        }
        if !lines.is_empty() {
            writeln!(out)?;
            writeln!(out, "### Suggested fixes")?;
            writeln!(out)?;
            writeln!(out, "```")?;
            for l in lines {
                writeln!(out, "{l}")?;
            }
            writeln!(out, "```")?;
        }
    }
    if !r.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Findings")?;
        writeln!(out)?;
        for f in &r.findings {
            let loc = match f.file.and_then(|i| r.files.get(i)) {
                Some(file) => format!(
                    " (`{}`)",
                    super::place::describe(&file.path, super::place::of(r, f).as_ref(), false)
                ),
                None => String::new(),
            };
            let mark = match f.severity {
                Severity::Error => "❌",
                Severity::Warning => "⚠️",
                Severity::Info => "ℹ️",
            };
            writeln!(
                out,
                "- {mark} **{}** `{}`: {}{loc}",
                f.code,
                f.name,
                cell(&f.message)
            )?;
            if let Some(h) = &f.help {
                writeln!(out, "  - fix: {}", cell(h))?;
            }
        }
    }
    Ok(())
}
