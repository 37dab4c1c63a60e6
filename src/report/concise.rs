//! `--format concise`: one line per finding, `path:line:col: Z101 [error] message`, for grep,
//! editors' quickfix lists and terminals. Waived findings are kept and marked `[error, waived]`.

use std::io::Write;

use crate::engine::{Finding, Report};

/// Finding `f`'s line, without its line break, written straight to `out` (no string per part).
fn write_line(r: &Report, f: &Finding, out: &mut dyn Write) -> std::io::Result<()> {
    if let Some(file) = f.file.and_then(|i| r.files.get(i)) {
        match super::place::of(r, f) {
            // a value of a binary file (`.wfw`) has no line: `path, value "…", character N: `
            Some(p @ super::place::Place::Binary(_)) => write!(
                out,
                "{}: ",
                super::place::describe(&file.path, Some(&p), true)
            )?,
            // a binary file has no line 1 either
            _ if file.source.as_ref().is_some_and(|s| s.binary.is_some()) => {
                write!(out, "{}: ", file.path)?
            }
            _ => write!(
                out,
                "{}:{}:{}: ",
                file.path,
                f.line().unwrap_or(1).max(1),
                f.column().unwrap_or(1).max(1)
            )?,
        }
    }
    let waived = if f.is_waived() { ", waived" } else { "" };
    // one line: fold any line break in the message
    write!(
        out,
        "{} [{}{waived}] {}",
        f.code,
        f.severity.name(),
        folded(&f.message)
    )?;
    if let Some(req) = f
        .requirement
        .as_ref()
        .filter(|r| !f.message.contains(r.as_str()))
    {
        write!(out, " [{req}]")?;
    }
    Ok(())
}

/// `m`'s words joined by one space (`split_whitespace`'s words), borrowed where `m` is that
/// already: an ASCII message without a tab, line break or doubled, leading or trailing space.
fn folded(m: &str) -> std::borrow::Cow<'_, str> {
    // ASCII's white space as `char::is_whitespace` has it (vertical tab included)
    let space = |b: u8| matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let b = m.as_bytes();
    let plain = m.is_ascii()
        && !b.iter().copied().any(space)
        && !b.windows(2).any(|w| w == b"  ")
        && b.first() != Some(&b' ')
        && b.last() != Some(&b' ');
    if plain {
        std::borrow::Cow::Borrowed(m)
    } else {
        std::borrow::Cow::Owned(m.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &r.findings {
        write_line(r, f, out)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The borrowed fast path says what `split_whitespace` and `join` say.
        #[test]
        fn folding_is_split_whitespace_joined(
            m in "[ a\t\n\r\x0B\x0C\u{a0}\u{2003}b:]{0,12}"
        ) {
            let want = m.split_whitespace().collect::<Vec<_>>().join(" ");
            let got = super::folded(&m);
            proptest::prop_assert_eq!(got.as_ref(), want.as_str());
        }
    }
}
