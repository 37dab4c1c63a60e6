//! `--format human`: miette diagnostics with source snippets, grouped per file, then a one-line
//! summary. Colour only on a terminal and without `NO_COLOR`.

use std::fmt;
use std::io::Write;

use rayon::prelude::*;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use super::tally::Tally;
use crate::engine::reach::Status;
use crate::engine::{Finding, Report, Severity};

/// A finding with its file's text, as a miette diagnostic.
struct Diag<'a> {
    f: &'a Finding,
    src: Option<NamedSource<std::sync::Arc<String>>>,
    /// The file's text, to keep labels on long spans short.
    text: Option<&'a str>,
}

/// Spans longer than this many lines (a whole security group object) are shown by their first
/// line only.
const MAX_LABEL_LINES: usize = 24;

impl fmt::Debug for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}

impl fmt::Display for Diag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.f.message)
    }
}

impl std::error::Error for Diag<'_> {}

impl Diagnostic for Diag<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!("{} {}", self.f.code, self.f.name)))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.f
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.src.as_ref()?;
        Some(Box::new(self.f.labels.iter().enumerate().map(|(i, l)| {
            let mut sp = l.span;
            if let Some(t) = self.text.and_then(|t| t.get(sp.start..sp.end)) {
                if t.lines().count() > MAX_LABEL_LINES {
                    sp.end = sp.start + t.find('\n').unwrap_or(t.len());
                }
            }
            let span = miette::SourceSpan::from(sp);
            if i == 0 {
                LabeledSpan::new_primary_with_span(Some(l.text.clone()), span)
            } else {
                LabeledSpan::new_with_span(Some(l.text.clone()), span)
            }
        })))
    }
}

/// Options for the terminal output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
    /// Only the status lines, findings and the summary line.
    pub quiet: bool,
    /// Every finding in full, and the files a directory scan skipped.
    pub verbose: bool,
}

impl Style {
    /// The miette handler that draws a finding in this style.
    fn handler(&self) -> GraphicalReportHandler {
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        GraphicalReportHandler::new_themed(theme)
            .with_width(self.width)
            .with_context_lines(1)
    }

    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    pub fn detect(is_terminal: bool) -> Style {
        Style {
            color: is_terminal && std::env::var_os("NO_COLOR").is_none(),
            width: 100,
            quiet: false,
            verbose: false,
        }
    }
}

pub fn render(r: &Report, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    files(r, out, style)?;
    end(r, &Tally::of(r), out, style)
}

/// The files of a report, each with its flows and findings: the whole of a batch of files
/// written as it goes (`cli/stream.rs`); [`end`] follows the last.
pub fn files(r: &Report, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let handler = style.handler();
    // each file's findings and flows, in their order, found in one pass (a search per file
    // was quadratic in the number of files); a path record is shown with its hops after the
    // files, a finding about no file after them too
    let mut by_file: Vec<Vec<&Finding>> = vec![Vec::new(); r.files.len()];
    for f in &r.findings {
        if let Some(v) = f.file.and_then(|i| by_file.get_mut(i)) {
            v.push(f);
        }
    }
    let mut flows_of: Vec<Vec<&crate::engine::FlowRecord>> = vec![Vec::new(); r.files.len()];
    for fl in r.flows.iter().filter(|x| x.path.is_empty()) {
        if let Some(v) = flows_of.get_mut(fl.file) {
            v.push(fl);
        }
    }
    // the files are rendered on every core, a chunk at a time (so that a whole report's text is
    // never held at once), and written in their order
    let indices: Vec<usize> = (0..r.files.len()).collect();
    for chunk in indices.chunks(RENDER_CHUNK) {
        let texts: Vec<std::io::Result<Vec<u8>>> = chunk
            .par_iter()
            .map(|&fi| {
                let mut text = Vec::new();
                file(
                    r,
                    fi,
                    &flows_of[fi],
                    &by_file[fi],
                    &handler,
                    &mut text,
                    style,
                )?;
                Ok(text)
            })
            .collect();
        for t in texts {
            out.write_all(&t?)?;
        }
    }
    Ok(())
}

/// How many files [`files`] renders at once.
const RENDER_CHUNK: usize = 64;

/// One file of the report: its line, its flows and its findings.
fn file(
    r: &Report,
    fi: usize,
    flows: &[&crate::engine::FlowRecord],
    fs: &[&Finding],
    handler: &GraphicalReportHandler,
    out: &mut dyn Write,
    style: Style,
) -> std::io::Result<()> {
    let file = &r.files[fi];
    let count = |s: Status| flows.iter().filter(|x| x.status == s).count();
    let fmt = file.format.map(|f| f.name()).unwrap_or("unrecognised");
    if flows.is_empty() {
        writeln!(out, "{} ({fmt})", file.path)?;
    } else {
        writeln!(
            out,
            "{} ({fmt}): {} flows: {} allowed, {} partial, {} blocked, {} unknown",
            file.path,
            flows.len(),
            count(Status::Allowed),
            count(Status::Partial),
            count(Status::Blocked),
            count(Status::Unknown)
        )?;
    }
    flow_lines(r, file, flows, out, style.quiet)?;
    if !style.quiet {
        set_aside_lines(flows, out, style.verbose)?;
    }
    // a binary file's rendering is not shown as a file of lines: each label says its value
    let binary = file.source.as_ref().filter(|s| s.binary.is_some());
    let src = file
        .source
        .as_ref()
        .filter(|s| s.binary.is_none())
        .map(|s| NamedSource::new(s.name.clone(), s.text.clone()));
    if !fs.is_empty() {
        writeln!(out)?;
        // a file of many findings (an `az network nsg list`: a Z103 for every flow of every
        // NSG): one line per finding code, the details on demand (`--verbose`)
        if !style.verbose && fs.len() > SUMMARISE_OVER {
            summarise(fs, out)?;
            if !style.quiet {
                writeln!(out)?;
            }
            return Ok(());
        }
        for f in fs {
            let f = with_waiver(f);
            let d = Diag {
                f: &f,
                src: src.clone(),
                text: file.source.as_ref().map(|s| s.text.as_str()),
            };
            let mut s = String::new();
            if handler.render_report(&mut s, &d).is_err() {
                s = format!("{}: {} {}\n", f.code, f.name, f.message);
            }
            if let Some(b) = binary {
                s.push_str(&binary_labels(&f, b));
            }
            out.write_all(s.as_bytes())?;
        }
    }
    if !style.quiet {
        writeln!(out)?;
    }
    Ok(())
}

/// What follows the files of `r`: its end-to-end paths and its findings about no file (both
/// only in a run with an inventory or `--policy`, never written as it goes), its run record
/// with `--verbose`, and the summary line of the run's `tally`.
pub fn end(r: &Report, tally: &Tally, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let handler = style.handler();
    if !style.quiet {
        paths(r, out)?;
    }
    let unfiled: Vec<&Finding> = r.findings.iter().filter(|f| f.file.is_none()).collect();
    if !unfiled.is_empty() {
        for f in unfiled {
            let f = with_waiver(f);
            let d = Diag {
                f: &f,
                src: None,
                text: None,
            };
            let mut s = String::new();
            let _ = handler.render_report(&mut s, &d);
            out.write_all(s.as_bytes())?;
        }
    }
    if style.verbose {
        // the run record, above the summary line
        for (k, v) in super::record::lines(r) {
            writeln!(out, "{k}: {v}")?;
        }
    }
    let mut extra = String::new();
    if tally.waived > 0 {
        extra.push_str(&format!(", {} waived", tally.waived));
    }
    if tally.baselined > 0 {
        extra.push_str(&format!(", {} in the baseline", tally.baselined));
    }
    if !tally.skipped.is_empty() {
        let n = tally.skipped.len();
        extra.push_str(&format!(
            "; {n} file{} skipped (no firewall export){}",
            if n == 1 { "" } else { "s" },
            if style.verbose {
                ""
            } else {
                ", --verbose lists them"
            }
        ));
        if style.verbose {
            for p in &tally.skipped {
                writeln!(out, "skipped (no firewall export): {p}")?;
            }
        }
    }
    writeln!(
        out,
        "{} file(s), {}; findings: {} error(s), {} warning(s), {} info{extra}",
        tally.files,
        totals(tally),
        tally.count(Severity::Error),
        tally.count(Severity::Warning),
        tally.count(Severity::Info),
    )
}

/// A file with more findings than this has them summarised per code without `--verbose`.
pub const SUMMARISE_OVER: usize = 40;

/// The findings of a file, one line per code: how many of each severity (waived ones apart),
/// the first one's message and the first line of its help.
fn summarise(fs: &[&Finding], out: &mut dyn Write) -> std::io::Result<()> {
    let mut codes: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in fs {
        match codes.iter_mut().find(|(c, _)| *c == f.code) {
            Some((_, v)) => v.push(f),
            None => codes.push((f.code, vec![f])),
        }
    }
    for (code, v) in codes {
        let mut counts = Vec::new();
        for (sev, name) in [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Info, "info"),
        ] {
            let n = v
                .iter()
                .filter(|f| f.severity == sev && !f.is_waived())
                .count();
            if n > 0 {
                counts.push(format!(
                    "{n} {name}{}",
                    if n > 1 && name != "info" { "s" } else { "" }
                ));
            }
        }
        let waived = v.iter().filter(|f| f.is_waived()).count();
        if waived > 0 {
            counts.push(format!("{waived} waived"));
        }
        let first = v[0];
        writeln!(
            out,
            "  {code} {} ({}){} {}",
            first.name,
            counts.join(", "),
            if v.len() > 1 { ", e.g." } else { ":" },
            first.message
        )?;
        if let Some(h) = first.help.as_deref().and_then(|h| h.lines().next()) {
            writeln!(out, "      help: {h}")?;
        }
    }
    writeln!(
        out,
        "  (findings summarised per code; --verbose shows each with its source lines)"
    )
}

/// The summary's totals: the flows of one firewall counted by status; with several firewalls,
/// whose flows do not add up into one meaningful total, the firewalls by their worst flow
/// (blocked, then partial, then unknown), and the end-to-end path records by status.
fn totals(t: &Tally) -> String {
    let counts = |paths: bool| {
        format!(
            "{} allowed, {} partial, {} blocked, {} unknown",
            t.flows(Status::Allowed, paths),
            t.flows(Status::Partial, paths),
            t.flows(Status::Blocked, paths),
            t.flows(Status::Unknown, paths)
        )
    };
    if t.firewalls.len() < 2 {
        return format!(
            "{} flow(s): {}",
            t.flows.iter().sum::<usize>(),
            counts(false)
        );
    }
    let n = |s: Status| t.firewalls.iter().filter(|w| **w == s).count();
    let mut text = format!(
        "{} firewalls by their worst flow: {} all allowed, {} partial, {} blocked, {} unknown",
        t.firewalls.len(),
        n(Status::Allowed),
        n(Status::Partial),
        n(Status::Blocked),
        n(Status::Unknown)
    );
    let paths: usize = t.paths.iter().sum();
    if paths > 0 {
        text.push_str(&format!("; {paths} path flow(s): {}", counts(true)));
    }
    text
}

/// The flow lines of a file: each flow not allowed on one line. A file of several firewalls (an
/// `az network nsg list`, a dump of security groups) gets a line per firewall with its counts,
/// and its flows under it, so a flow is never listed twice without saying where.
fn flow_lines(
    r: &Report,
    file: &crate::engine::InputFile,
    flows: &[&crate::engine::FlowRecord],
    out: &mut dyn Write,
    quiet: bool,
) -> std::io::Result<()> {
    let line = |fl: &crate::engine::FlowRecord, out: &mut dyn Write| -> std::io::Result<()> {
        if quiet {
            return Ok(());
        }
        writeln!(
            out,
            "  {:<8} {:<38} {:<8} {:<4}/{:<10} {} -> {}{}{}",
            fl.status.name(),
            fl.requirement,
            fl.direction,
            fl.protocol,
            fl.ports,
            fl.from_role,
            fl.to_role,
            if fl.conditional {
                "  (conditional)"
            } else {
                ""
            },
            admitted(fl)
        )?;
        for a in &fl.assumes {
            writeln!(out, "           assumes: {a}")?;
        }
        if let (true, Some(fix)) = (r.show_fixes, &fl.fix) {
            for l in &fix.lines {
                writeln!(out, "           fix: {l}")?;
            }
        }
        Ok(())
    };
    // the ruleset whose entry a flow went through
    // (a flow's `policy` is the name of the pipeline it went through: an nftables family's
    // pipelines are named after no policy entry)
    let of = |fl: &crate::engine::FlowRecord| {
        file.rulesets
            .iter()
            .position(|rs| rs.pipelines.iter().any(|p| p.name == fl.policy))
            .or_else(|| {
                file.rulesets.iter().position(|rs| {
                    rs.policies
                        .iter()
                        .any(|p| p.entries.iter().any(|e| e.name == fl.policy))
                })
            })
    };
    let named: Vec<(usize, &str)> = file
        .rulesets
        .iter()
        .enumerate()
        .filter_map(|(i, rs)| rs.name.as_deref().map(|n| (i, n)))
        .collect();
    // one group per audited firewall of the file (a ruleset, or groups audited together)
    let mut groups: Vec<(usize, Vec<&crate::engine::FlowRecord>)> = Vec::new();
    for fl in flows {
        match groups.iter_mut().find(|(g, _)| *g == fl.target) {
            Some((_, v)) => v.push(fl),
            None => groups.push((fl.target, vec![fl])),
        }
    }
    if groups.len() < 2 {
        for fl in flows.iter().filter(|x| listed(x)) {
            line(fl, out)?;
        }
        return Ok(());
    }
    for (_, fls) in groups {
        // the ruleset's name, else the firewall part of the policy (`sg-1 + sg-2/Ingress`)
        let name = of(fls[0])
            .and_then(|i| named.iter().find(|(j, _)| *j == i))
            .map(|(_, n)| *n)
            .unwrap_or_else(|| {
                fls[0]
                    .policy
                    .rsplit_once('/')
                    .map_or(fls[0].policy.as_str(), |x| x.0)
            });
        let count = |s: Status| fls.iter().filter(|x| x.status == s).count();
        writeln!(
            out,
            "  {name}: {} flows: {} allowed, {} partial, {} blocked, {} unknown",
            fls.len(),
            count(Status::Allowed),
            count(Status::Partial),
            count(Status::Blocked),
            count(Status::Unknown)
        )?;
        for fl in fls.iter().filter(|x| listed(x)) {
            line(fl, out)?;
        }
    }
    Ok(())
}

/// The labels of a finding in a binary file (`.wfw`): where each is (the value, the character of
/// its string, the file byte), the string around it and a caret line under the labelled part.
fn binary_labels(f: &Finding, src: &crate::formats::source::SourceText) -> String {
    const BEFORE: usize = 40;
    const WIDTH: usize = 96;
    let mut out = String::new();
    for l in &f.labels {
        let Some(place) = src.binary_place(l.span.start) else {
            continue;
        };
        out.push_str(&format!("  at {place}: {}\n", l.text));
        // the value's string, from its data start, cut to a window around the label
        let line = super::place::value_text(&src.text, l.span.start);
        let skip = src.binary_value(l.span.start).map_or(0, |v| {
            let before = src.text.get(v.line..v.data).unwrap_or("");
            before.chars().count()
        });
        let chars: Vec<char> = line.chars().skip(skip).collect();
        let at = (place.char as usize).saturating_sub(1).min(chars.len());
        let len = src
            .text
            .get(l.span.start..l.span.end)
            .map_or(1, |t| t.lines().next().unwrap_or("").chars().count().max(1));
        let from = at.saturating_sub(BEFORE);
        let to = (from + WIDTH).min(chars.len());
        let mut shown: String = chars[from..to].iter().collect();
        let mut pad = at - from;
        if from > 0 {
            shown.insert(0, '…');
            pad += 1;
        }
        if to < chars.len() {
            shown.push('…');
        }
        out.push_str(&format!("    {shown}\n"));
        out.push_str(&format!(
            "    {}{}\n",
            " ".repeat(pad),
            "^".repeat(len.min(to.saturating_sub(at)).max(1))
        ));
    }
    out
}

/// The rules a host firewall's flows did not count because their scope (another program,
/// service, Store app or Windows feature) cannot be the Zerto component's traffic: one line
/// saying how many, each with why under `--verbose`.
fn set_aside_lines(
    flows: &[&crate::engine::FlowRecord],
    out: &mut dyn Write,
    verbose: bool,
) -> std::io::Result<()> {
    let mut aside: Vec<&str> = flows
        .iter()
        .flat_map(|f| f.set_aside.iter().map(String::as_str))
        .collect();
    aside.sort_unstable();
    aside.dedup();
    if aside.is_empty() {
        return Ok(());
    }
    let n = aside.len();
    writeln!(
        out,
        "  {n} rule{} set aside: scoped to another program, service, Store app or Windows feature, so {} cannot match the Zerto component's traffic{}",
        if n == 1 { "" } else { "s" },
        if n == 1 { "it" } else { "they" },
        if verbose { "" } else { " (--verbose lists them)" }
    )?;
    if verbose {
        for a in aside {
            writeln!(out, "    set aside: {a}")?;
        }
    }
    Ok(())
}

/// Whether a flow gets its own line: every flow not allowed, and an allowed one that only some
/// of its peers pass (quick mode's "allowed" is "some peer gets through").
fn listed(fl: &crate::engine::FlowRecord) -> bool {
    fl.status != Status::Allowed || fl.admitted.as_ref().is_some_and(|a| !a.every)
}

/// `  from 172.17.0.0/16` (`to` for an outbound flow): the peers an allowed or partial flow
/// admits, said readably; nothing for a flow every peer passes.
fn admitted(fl: &crate::engine::FlowRecord) -> String {
    match &fl.admitted {
        Some(a) if !a.every || fl.status == Status::Partial => format!(
            "  {} {}",
            if fl.direction == "outbound" {
                "to"
            } else {
                "from"
            },
            if a.named {
                // measured against the named peers: "any peer except 10.1.2.0/24"
                super::sources::readable(&a.peers, &a.whole).replace("address", "peer")
            } else {
                super::sources::readable(&a.peers, &a.whole)
            }
        ),
        _ => String::new(),
    }
}

fn waiver_note(w: &crate::engine::finding::Waived) -> String {
    let ticket = w
        .ticket
        .as_ref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    match (&w.expires, w.expired) {
        (Some(d), true) => format!("waiver expired on {d}: {}{ticket}", w.reason),
        (Some(d), false) => format!("waived until {d}: {}{ticket}", w.reason),
        (None, _) => format!("waived: {}{ticket}", w.reason),
    }
}

/// The finding as shown: a waiver's reason, ticket and date added to its help.
fn with_waiver(f: &Finding) -> std::borrow::Cow<'_, Finding> {
    let Some(w) = &f.waiver else {
        return std::borrow::Cow::Borrowed(f);
    };
    let mut c = f.clone();
    let note = waiver_note(w);
    c.help = Some(match c.help.take() {
        Some(h) => format!("{h}\n{note}"),
        None => note,
    });
    if c.is_waived() {
        c.message = format!("[waived] {}", c.message);
    }
    std::borrow::Cow::Owned(c)
}

/// The flows across every firewall on their path: a count, then each one not allowed with its
/// hops, one line each with the hop's status and, where it loses packets, what drops them.
fn paths(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let paths: Vec<_> = r.flows.iter().filter(|x| !x.path.is_empty()).collect();
    if paths.is_empty() {
        return Ok(());
    }
    let count = |s: Status| paths.iter().filter(|x| x.status == s).count();
    writeln!(
        out,
        "paths: {} flows: {} allowed, {} partial, {} blocked, {} unknown",
        paths.len(),
        count(Status::Allowed),
        count(Status::Partial),
        count(Status::Blocked),
        count(Status::Unknown)
    )?;
    for fl in paths.iter().filter(|x| x.status != Status::Allowed) {
        writeln!(
            out,
            "  {:<8} {} path {}  {}/{}  {} -> {}{}",
            fl.status.name(),
            fl.requirement,
            fl.site.as_deref().unwrap_or(""),
            fl.protocol,
            fl.ports,
            fl.from_role,
            fl.to_role,
            if fl.conditional {
                "  (conditional)"
            } else {
                ""
            }
        )?;
        for (i, h) in fl.path.iter().enumerate() {
            let drops: Vec<String> = if h.status == Status::Allowed {
                Vec::new()
            } else {
                h.deciding
                    .iter()
                    .filter(|d| d.action != "accept")
                    .take(3)
                    .map(|d| match d.line {
                        Some(l) => format!("{} (line {l}) {}", d.rule, d.action),
                        None => format!("{} {}", d.rule, d.action),
                    })
                    .collect()
            };
            writeln!(
                out,
                "           {}. {:<8} {} ({}, {}){}{}",
                i + 1,
                h.status.name(),
                h.firewall,
                h.policy,
                h.hook,
                if drops.is_empty() {
                    String::new()
                } else {
                    format!(": {}", drops.join(", "))
                },
                if h.reached { "" } else { ", not reached" }
            )?;
        }
    }
    writeln!(out)
}
