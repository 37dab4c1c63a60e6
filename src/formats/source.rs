//! One input file's decoded text, with a line index for 1-based line/column positions.
//!
//! A binary input (a `.wfw` registry hive) has no text of its own: its text is a rendering, one
//! line per registry value, and [`SourceText::binary`] says where each line's value is in the
//! file, so reports point into the value (its name, the character of its string and the file
//! byte) instead of at a line that exists only in the rendering.

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
    /// For a rendering of a binary file: the values its lines come from, in rendering order.
    pub binary: Option<Arc<Vec<BinaryValue>>>,
}

/// One line of a binary input's rendering: a registry value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryValue {
    /// The byte offset in the rendering where the line starts.
    pub line: usize,
    /// The byte offset in the rendering where the value's data (its string) starts.
    pub data: usize,
    /// The key the value is in (`FirewallRules`, `DomainProfile`).
    pub key: String,
    /// The value's name (for a rule, its rule id).
    pub name: String,
    /// The file offset of the data's first byte, for a string stored in one cell (UTF-16LE: the
    /// k-th UTF-16 unit is at `+ 2k`).
    pub file_offset: Option<u64>,
}

/// Where an offset of a binary input's rendering is in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BinaryPlace {
    pub key: String,
    pub value: String,
    /// 1-based character of the value's string (1 for a place before the data).
    pub char: u32,
    /// The file byte of that character, when known.
    #[serde(rename = "byte_offset")]
    pub byte: Option<u64>,
}

impl std::fmt::Display for BinaryPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "value \"{}\" of key {}, character {}",
            self.value, self.key, self.char
        )?;
        if let Some(b) = self.byte {
            write!(f, " (byte {b:#x})")?;
        }
        Ok(())
    }
}

impl SourceText {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceText {
            name: name.into(),
            text: Arc::new(text.into()),
            line_starts: OnceLock::new(),
            binary: None,
        }
    }

    /// This text as the rendering of a binary file whose values are `values`.
    pub fn with_binary(mut self, values: Vec<BinaryValue>) -> Self {
        self.binary = Some(Arc::new(values));
        self
    }

    /// The value whose rendered line holds `offset` (a binary input only).
    pub fn binary_value(&self, offset: usize) -> Option<&BinaryValue> {
        let values = self.binary.as_ref()?;
        let i = values
            .partition_point(|v| v.line <= offset)
            .checked_sub(1)?;
        values.get(i)
    }

    /// Where `offset` of a binary input's rendering is in the file; `None` for a text input.
    pub fn binary_place(&self, offset: usize) -> Option<BinaryPlace> {
        let v = self.binary_value(offset)?;
        let before = self.text.get(v.data..offset.max(v.data)).unwrap_or("");
        let units: usize = before.chars().map(char::len_utf16).sum();
        Some(BinaryPlace {
            key: v.key.clone(),
            value: v.name.clone(),
            char: before.chars().count() as u32 + 1,
            byte: v.file_offset.map(|b| b + 2 * units as u64),
        })
    }

    /// 1-based (line, column) of a byte offset; the column counts characters. `(0, 0)` in the
    /// rendering of a binary file, whose lines do not exist in the file (see
    /// [`binary_place`](Self::binary_place)).
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        if self.binary.is_some() {
            return (0, 0);
        }
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

    #[test]
    fn a_binary_rendering_points_into_its_values() {
        let text = "[FirewallRules]\n\"R1\"=v2.30|Näme=x|\n\"R2\"=v2.30|\n";
        let r1 = text.find("\"R1").unwrap();
        let r2 = text.find("\"R2").unwrap();
        let value = |line: usize, name: &str, file_offset| BinaryValue {
            line,
            data: line + name.len() + 3,
            key: "FirewallRules".into(),
            name: name.into(),
            file_offset,
        };
        let s = SourceText::new("x.wfw", text)
            .with_binary(vec![value(r1, "R1", Some(0x1000)), value(r2, "R2", None)]);
        assert_eq!(s.binary_place(0), None, "the section line is no value");
        let at = text.find("=x").unwrap();
        let p = s.binary_place(at).unwrap();
        // `v2.30|Näme` is 10 characters (ä is 2 bytes in UTF-8, one UTF-16 unit)
        assert_eq!(
            (p.value.as_str(), p.char, p.byte),
            ("R1", 11, Some(0x1000 + 20))
        );
        assert_eq!(
            p.to_string(),
            "value \"R1\" of key FirewallRules, character 11 (byte 0x1014)"
        );
        let p = s.binary_place(r2).unwrap();
        assert_eq!((p.value.as_str(), p.char, p.byte), ("R2", 1, None));
        assert_eq!(SourceText::new("t", "a").binary_place(0), None);
    }
}
