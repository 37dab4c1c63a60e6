//! Where a finding points, said the way its file can be opened: `path:line:col` in a text
//! export; in a binary one (a `.wfw` registry hive, which Portolan reads through a text
//! rendering whose lines are not in the file) the registry value, the character of its string
//! and the file byte.

use crate::engine::{Finding, Label, Report};
use crate::formats::source::BinaryPlace;

/// A label's place in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// 1-based line and column of a text file.
    Text { line: u32, column: u32 },
    /// A value of a binary file.
    Binary(BinaryPlace),
}

impl Place {
    pub fn line(&self) -> Option<u32> {
        match self {
            Place::Text { line, .. } => Some(*line),
            Place::Binary(_) => None,
        }
    }
    pub fn binary(&self) -> Option<&BinaryPlace> {
        match self {
            Place::Binary(b) => Some(b),
            Place::Text { .. } => None,
        }
    }
}

/// Where label `l` of finding `f` is; `None` for a finding about no file.
pub fn of_label(r: &Report, f: &Finding, l: &Label) -> Option<Place> {
    let file = r.files.get(f.file?)?;
    if let Some(b) = file
        .source
        .as_ref()
        .and_then(|s| s.binary_place(l.span.start))
    {
        return Some(Place::Binary(b));
    }
    Some(Place::Text {
        line: l.line,
        column: l.column,
    })
}

/// Where finding `f` points (its first label).
pub fn of(r: &Report, f: &Finding) -> Option<Place> {
    of_label(r, f, f.labels.first()?)
}

/// `path:line` (`path:line:col` with `column`), or `path, value "…" of key …, character N (byte
/// 0x…)` in a binary file; just the path when the place is unknown.
pub fn describe(path: &str, place: Option<&Place>, column: bool) -> String {
    match place {
        Some(Place::Text { line, column: c }) if *line > 0 => {
            if column {
                format!("{path}:{line}:{}", (*c).max(1))
            } else {
                format!("{path}:{line}")
            }
        }
        Some(Place::Binary(b)) => format!("{path}, {b}"),
        _ => path.to_string(),
    }
}

/// The line of `text` holding `offset`: in a binary file's rendering, one value.
pub(super) fn value_text(text: &str, offset: usize) -> &str {
    let b = text.as_bytes();
    let offset = offset.min(b.len());
    let start = b[..offset]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let end = b[offset..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |i| offset + i);
    text.get(start..end).unwrap_or("")
}
