//! `--format human`: miette diagnostics with source snippets, grouped per file, then a one-line
//! summary. Colour only on a terminal and without `NO_COLOR`.

use std::fmt;
use std::io::Write;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::engine::reach::Status;
use crate::engine::{Finding, Report, Severity};

/// A finding with its file's text, as a miette diagnostic.
struct Diag<'a> {
    f: &'a Finding,
    src: Option<NamedSource<String>>,
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
    /// Only findings and the summary line.
    pub quiet: bool,
}

impl Style {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    pub fn detect(is_terminal: bool) -> Style {
        Style {
            color: is_terminal && std::env::var_os("NO_COLOR").is_none(),
            width: 100,
            quiet: false,
        }
    }
}

pub fn render(r: &Report, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_context_lines(1);
    // findings about no file first
    let mut groups: Vec<(Option<usize>, Vec<&Finding>)> = Vec::new();
    for f in &r.findings {
        match groups.iter_mut().find(|(k, _)| *k == f.file) {
            Some((_, v)) => v.push(f),
            None => groups.push((f.file, vec![f])),
        }
    }
    for (fi, file) in r.files.iter().enumerate() {
        // a path record is shown with its hops after the files
        let flows: Vec<_> = r
            .flows
            .iter()
            .filter(|x| x.file == fi && x.path.is_empty())
            .collect();
        let count = |s: Status| flows.iter().filter(|x| x.status == s).count();
        let fmt = file.format.map(|f| f.name()).unwrap_or("unrecognised");
        if style.quiet {
            // nothing per file but its findings
        } else if flows.is_empty() {
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
        if !style.quiet {
            flow_lines(r, file, &flows, out)?;
        }
        let src = file
            .source
            .as_ref()
            .map(|s| NamedSource::new(s.name.clone(), s.text.to_string()));
        if let Some((_, fs)) = groups.iter().find(|(k, _)| *k == Some(fi)) {
            writeln!(out)?;
            // in a file of several firewalls (an `az network nsg list`), a finding whose code and
            // help an earlier one already showed in full (Z103 for every flow of every NSG) is
            // one line: its message
            let several = file.rulesets.len() > 1;
            let mut shown: Vec<(&str, Option<&str>)> = Vec::new();
            for f in fs {
                let key = (f.code, f.help.as_deref());
                if several && f.help.is_some() && f.waiver.is_none() && shown.contains(&key) {
                    writeln!(out, "  {} {}: {}", f.code, f.name, f.message)?;
                    continue;
                }
                shown.push(key);
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
                out.write_all(s.as_bytes())?;
            }
        }
        if !style.quiet {
            writeln!(out)?;
        }
    }
    if !style.quiet {
        paths(r, out)?;
    }
    if let Some((_, fs)) = groups.iter().find(|(k, _)| k.is_none()) {
        for f in fs {
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
    let mut extra = String::new();
    if r.waived() > 0 {
        extra.push_str(&format!(", {} waived", r.waived()));
    }
    if r.baselined > 0 {
        extra.push_str(&format!(", {} in the baseline", r.baselined));
    }
    writeln!(
        out,
        "{} file(s), {} flow(s): {} allowed, {} partial, {} blocked, {} unknown; findings: {} error(s), {} warning(s), {} info{extra}",
        r.files.len(),
        r.flows.len(),
        r.flow_count(Status::Allowed),
        r.flow_count(Status::Partial),
        r.flow_count(Status::Blocked),
        r.flow_count(Status::Unknown),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    )
}

/// The flow lines of a file: each flow not allowed on one line. A file of several firewalls (an
/// `az network nsg list`, a dump of security groups) gets a line per firewall with its counts,
/// and its flows under it, so a flow is never listed twice without saying where.
fn flow_lines(
    r: &Report,
    file: &crate::engine::InputFile,
    flows: &[&crate::engine::FlowRecord],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let line = |fl: &crate::engine::FlowRecord, out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(
            out,
            "  {:<8} {:<38} {:<8} {:<4}/{:<10} {} -> {}{}",
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
            }
        )?;
        if let (true, Some(fix)) = (r.show_fixes, &fl.fix) {
            for l in &fix.lines {
                writeln!(out, "           fix: {l}")?;
            }
        }
        Ok(())
    };
    // the ruleset whose entry a flow went through
    let of = |fl: &crate::engine::FlowRecord| {
        file.rulesets.iter().position(|rs| {
            rs.policies
                .iter()
                .any(|p| p.entries.iter().any(|e| e.name == fl.policy))
        })
    };
    let named: Vec<(usize, &str)> = file
        .rulesets
        .iter()
        .enumerate()
        .filter_map(|(i, rs)| rs.name.as_deref().map(|n| (i, n)))
        .collect();
    if named.len() < 2 {
        for fl in flows.iter().filter(|x| x.status != Status::Allowed) {
            line(fl, out)?;
        }
        return Ok(());
    }
    let mut groups: Vec<(Option<usize>, Vec<&crate::engine::FlowRecord>)> = Vec::new();
    for fl in flows {
        let k = of(fl);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(fl),
            None => groups.push((k, vec![fl])),
        }
    }
    for (k, fls) in groups {
        let name = k
            .and_then(|i| named.iter().find(|(j, _)| *j == i))
            .map(|(_, n)| *n)
            .unwrap_or("(other)");
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
        for fl in fls.iter().filter(|x| x.status != Status::Allowed) {
            line(fl, out)?;
        }
    }
    Ok(())
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
