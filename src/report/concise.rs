//! `--format concise`: one line per finding, `path:line:col: Z101 [error] message`, for grep,
//! editors' quickfix lists and terminals. Waived findings are kept and marked `[error, waived]`.

use std::io::Write;

use crate::engine::{Finding, Report};

pub fn line(r: &Report, f: &Finding) -> String {
    let at = match f.file.and_then(|i| r.files.get(i)) {
        // a value of a binary file (`.wfw`) has no line: `path, value "…", character N: `
        Some(file) => match super::place::of(r, f) {
            Some(p @ super::place::Place::Binary(_)) => {
                format!("{}: ", super::place::describe(&file.path, Some(&p), true))
            }
            // a binary file has no line 1 either
            _ if file.source.as_ref().is_some_and(|s| s.binary.is_some()) => {
                format!("{}: ", file.path)
            }
            _ => format!(
                "{}:{}:{}: ",
                file.path,
                f.line().unwrap_or(1).max(1),
                f.column().unwrap_or(1).max(1)
            ),
        },
        None => String::new(),
    };
    let waived = if f.is_waived() { ", waived" } else { "" };
    let req = f
        .requirement
        .as_ref()
        .filter(|r| !f.message.contains(r.as_str()))
        .map(|r| format!(" [{r}]"))
        .unwrap_or_default();
    // one line: fold any line break in the message
    let message = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{at}{} [{}{waived}] {message}{req}",
        f.code,
        f.severity.name()
    )
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &r.findings {
        writeln!(out, "{}", line(r, f))?;
    }
    Ok(())
}
