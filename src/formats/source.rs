//! One input file's decoded text, with a line index for 1-based line/column positions.

use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone)]
pub struct SourceText {
    /// The path as the user named it (or as found in a directory scan).
    pub name: String,
    /// Shared, never copied: an `Arc<String>` takes a `String` without copying it (an
    /// `Arc<str>` would copy a 150 MB dump once more).
    pub text: Arc<String>,
    /// Where each line starts; built on first use (a run that reports nothing never needs it).
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceText {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceText {
            name: name.into(),
            text: Arc::new(text.into()),
            line_starts: OnceLock::new(),
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let starts = self.line_starts.get_or_init(|| {
            let b = self.text.as_bytes();
            let mut v = Vec::with_capacity(b.len() / 64 + 1);
            v.push(0);
            v.extend(memchr::memchr_iter(b'\n', b).map(|i| i + 1));
            v
        });
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line as u32, col as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let s = SourceText::new("x", "ab\ncdé f\n\nz");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(1), (1, 2));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(8), (2, 5)); // after 'é' (2 bytes) and ' '
        assert_eq!(s.line_col(10), (3, 1));
        assert_eq!(s.line_col(11), (4, 1));
        assert_eq!(s.line_col(999), (4, 2));
    }
}
