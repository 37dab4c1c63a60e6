//! `--format markdown`: for a pull-request comment or a change ticket: the verdict and counts,
//! the run record, per site the flows that are not allowed (worst first) with the allowed ones
//! folded in `<details>`, then the findings (errors first), waived ones said as waived with
//! reason, ticket and expiry.
//!
//! GitHub refuses a comment over 65,536 characters: the document is kept under [`LIMIT`] by
//! leaving out what matters least first (allowed flows, then infos, ...), each table saying how
//! many rows it left out.

use std::io::Write;

use crate::engine::reach::Status;
use crate::engine::{FlowRecord, Report, Severity};

/// The most characters (bytes, to be safe) the document may have: GitHub's comment limit, less
/// room for a note a CI step may wrap it in.
pub const LIMIT: usize = 64_000;

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

fn rank(s: Status) -> u8 {
    match s {
        Status::Blocked => 0,
        Status::Partial => 1,
        Status::Unknown => 2,
        Status::Allowed => 3,
    }
}

/// A piece of the document: kept in order, dropped by priority (higher drops first).
struct Piece {
    priority: u8,
    text: String,
    /// The table the piece is a row of: its head goes before its first kept row, its tail
    /// (and a count of dropped rows) after the last.
    table: Option<usize>,
}

struct Table {
    head: String,
    tail: String,
}

#[derive(Default)]
struct Doc {
    pieces: Vec<Piece>,
    tables: Vec<Table>,
}

impl Doc {
    fn text(&mut self, priority: u8, text: String) {
        self.pieces.push(Piece {
            priority,
            text,
            table: None,
        });
    }
    fn table(&mut self, head: String, tail: String) -> usize {
        self.tables.push(Table { head, tail });
        self.tables.len() - 1
    }
    fn row(&mut self, table: usize, priority: u8, text: String) {
        self.pieces.push(Piece {
            priority,
            text,
            table: Some(table),
        });
    }

    /// The document within `limit` bytes: pieces kept by priority, then in order.
    fn finish(self, limit: usize) -> String {
        let mut order: Vec<usize> = (0..self.pieces.len()).collect();
        order.sort_by_key(|&i| (self.pieces[i].priority, i));
        let mut keep = vec![false; self.pieces.len()];
        let mut opened = vec![false; self.tables.len()];
        // room for the notes of dropped rows and the tails
        let mut used = 600;
        for i in order {
            let p = &self.pieces[i];
            let mut cost = p.text.len();
            if let Some(t) = p.table.filter(|&t| !opened[t]) {
                cost += self.tables[t].head.len() + self.tables[t].tail.len() + 80;
            }
            if used + cost > limit {
                continue;
            }
            used += cost;
            keep[i] = true;
            if let Some(t) = p.table {
                opened[t] = true;
            }
        }
        let mut out = String::new();
        let mut dropped = vec![0usize; self.tables.len()];
        let mut dropped_text = 0usize;
        let mut current: Option<usize> = None;
        let close = |out: &mut String, t: usize, dropped: &[usize], tables: &[Table]| {
            if dropped[t] > 0 {
                out.push_str(&format!(
                    "\n_{} more row(s) left out to keep this under GitHub's 65,536-character limit: the JSON or HTML report has them all._\n",
                    dropped[t]
                ));
            }
            out.push_str(&tables[t].tail);
        };
        for (i, p) in self.pieces.iter().enumerate() {
            if current.is_some() && current != p.table {
                if let Some(t) = current.take() {
                    if opened[t] {
                        close(&mut out, t, &dropped, &self.tables);
                    }
                }
            }
            if let Some(t) = p.table {
                if current != Some(t) {
                    current = Some(t);
                    if opened[t] {
                        out.push_str(&self.tables[t].head);
                    }
                }
                if keep[i] {
                    out.push_str(&p.text);
                } else {
                    dropped[t] += 1;
                }
            } else if keep[i] {
                out.push_str(&p.text);
            } else {
                dropped_text += 1;
            }
        }
        if let Some(t) = current {
            if opened[t] {
                close(&mut out, t, &dropped, &self.tables);
            }
        }
        let lost: usize = dropped
            .iter()
            .enumerate()
            .filter(|(t, _)| !opened[*t])
            .map(|(_, n)| n)
            .sum::<usize>()
            + dropped_text;
        if lost > 0 {
            out.push_str(&format!(
                "\n_{lost} more item(s) left out to keep this under GitHub's 65,536-character limit: the JSON or HTML report has them all._\n"
            ));
        }
        out
    }
}

const FLOW_HEAD: &str = "| status | requirement | firewall | policy | direction | ports | from → to | decided by |\n|---|---|---|---|---|---|---|---|\n";

fn flow_row(r: &Report, f: &FlowRecord) -> String {
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
    let status = match super::record::flow_waiver(r, f) {
        Some(w) => format!(
            "☑️ {} — {}",
            f.status.name(),
            cell(&super::record::waiver(w))
        ),
        None => icon(f.status).to_string(),
    };
    format!(
        "| {}{} | `{}` | {} | {} | {} | {}/{} | {} → {} | {} |\n",
        status,
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
    )
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(document(r, LIMIT).as_bytes())
}

/// The document within `limit` bytes.
pub fn document(r: &Report, limit: usize) -> String {
    let mut d = Doc::default();
    let mut head = format!(
        "## Portolan audit{}\n\n",
        r.environment
            .map(|e| format!(" ({})", e.as_str()))
            .unwrap_or_default()
    );
    let verdict = match (r.count(Severity::Error) > 0, r.waived()) {
        (true, _) => "**FAIL**".to_string(),
        (false, 0) => "**PASS**".to_string(),
        // a pass that waivers make says so in the verdict itself
        (false, n) => format!("**PASS ({n} waived)**"),
    };
    head.push_str(&format!(
        "{verdict}: {} file(s), {} required flow(s): {} allowed, {} partial, {} blocked, {} unknown; {} error(s), {} warning(s), {} info",
        r.files.len(),
        r.flows.len(),
        r.flow_count(Status::Allowed),
        r.flow_count(Status::Partial),
        r.flow_count(Status::Blocked),
        r.flow_count(Status::Unknown),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info)
    ));
    if r.waived() > 0 {
        head.push_str(&format!("; {} waived", r.waived()));
    }
    if r.baselined > 0 {
        head.push_str(&format!("; {} in the baseline", r.baselined));
    }
    head.push_str(".\n");
    let rec = super::record::lines(r);
    if !rec.is_empty() {
        let made = rec
            .iter()
            .find(|(k, _)| *k == "made")
            .map(|(_, v)| v.as_str());
        let tool = rec
            .iter()
            .find(|(k, _)| *k == "tool")
            .map(|(_, v)| v.as_str());
        head.push_str(&format!(
            "\n<details><summary>Run record: {}, {}</summary>\n\n| | |\n|---|---|\n",
            made.unwrap_or(""),
            tool.unwrap_or("")
        ));
        for (k, v) in &rec {
            head.push_str(&format!("| {k} | {} |\n", cell(v)));
        }
        head.push_str("\n</details>\n");
    }
    d.text(0, head);

    let mut sites: Vec<Option<&str>> = Vec::new();
    for f in &r.flows {
        if !sites.contains(&f.site.as_deref()) {
            sites.push(f.site.as_deref());
        }
    }
    for site in sites {
        d.text(
            1,
            format!(
                "\n### {}\n\n",
                site.map(|s| format!("Site {s}"))
                    .unwrap_or_else(|| "Required flows".into())
            ),
        );
        let mut flows: Vec<&FlowRecord> = r
            .flows
            .iter()
            .filter(|f| f.site.as_deref() == site)
            .collect();
        flows.sort_by_key(|f| rank(f.status));
        let problems = flows.iter().filter(|f| f.status != Status::Allowed).count();
        if problems > 0 {
            let t = d.table(FLOW_HEAD.into(), String::new());
            for f in &flows[..problems] {
                // waived problems after live ones
                let p = if super::record::flow_waiver(r, f).is_some() {
                    4
                } else {
                    2
                };
                d.row(t, p + rank(f.status).min(2) / 2, flow_row(r, f));
            }
        }
        let allowed = flows.len() - problems;
        if allowed > 0 {
            let t = d.table(
                format!("\n<details><summary>{allowed} allowed flow(s)</summary>\n\n{FLOW_HEAD}"),
                "\n</details>\n".into(),
            );
            for f in &flows[problems..] {
                d.row(t, 9, flow_row(r, f));
            }
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
            let t = d.table("\n### Suggested fixes\n\n```\n".into(), "```\n".into());
            for l in lines {
                d.row(t, 6, format!("{l}\n"));
            }
        }
    }
    if !r.findings.is_empty() {
        let t = d.table("\n### Findings\n\n".into(), String::new());
        let mut findings: Vec<_> = r.findings.iter().collect();
        // errors first; waived ones after those that count
        findings.sort_by_key(|f| (f.is_waived(), std::cmp::Reverse(f.severity)));
        for f in findings {
            let loc = match f.file.and_then(|i| r.files.get(i)) {
                Some(file) => format!(
                    " (`{}`)",
                    super::place::describe(&file.path, super::place::of(r, f).as_ref(), false)
                ),
                None => String::new(),
            };
            let mark = match f.severity {
                _ if f.is_waived() => "☑️",
                Severity::Error => "❌",
                Severity::Warning => "⚠️",
                Severity::Info => "ℹ️",
            };
            let mut s = format!(
                "- {mark} **{}** `{}`: {}{loc}\n",
                f.code,
                f.name,
                cell(&f.message)
            );
            if let Some(w) = &f.waiver {
                s.push_str(&format!("  - **{}**\n", cell(&super::record::waiver(w))));
            }
            if let Some(h) = &f.help {
                s.push_str(&format!("  - fix: {}\n", cell(h)));
            }
            let p = match f.severity {
                _ if f.is_waived() => 7,
                Severity::Error => 3,
                Severity::Warning => 5,
                Severity::Info => 8,
            };
            d.row(t, p, s);
        }
    }
    d.finish(limit)
}
