//! Decoding an input file's bytes to text, whatever encoding the exporting tool chose.
//!
//! Windows tools write UTF-16LE with a BOM (PowerShell 5.1 `>` and `Out-File`, `reg export`,
//! GPMC reports), PowerShell 7 writes UTF-8 without one, `Set-Content` and cmd redirection write
//! a legacy code page. The rule: a BOM decides; without one, text in which most bytes at odd (or
//! even) offsets are zero is UTF-16LE (or BE); otherwise UTF-8, and when that is not valid,
//! Windows-1252. Every span produced by later stages refers to the decoded text.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// A file's text and how it was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The decoded text, without the BOM.
    pub text: String,
    /// `utf-8`, `utf-16le`, `utf-16be` or `windows-1252`.
    pub encoding: &'static str,
    /// Something could not be decoded and was replaced with U+FFFD (a truncated UTF-16 file, an
    /// unpaired surrogate). A clean Windows-1252 decode is not lossy: every byte has a meaning.
    pub lossy: bool,
    /// Read as Windows-1252 because the bytes are not UTF-8: the offset in `text` of the first
    /// byte that is not.
    pub not_utf8_at: Option<usize>,
}

/// How many leading bytes the BOM-less UTF-16 sniff looks at.
const SNIFF: usize = 4096;

/// Decode `bytes` (see the module documentation for the rules). Never fails.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8_or_1252(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return with(UTF_16LE, "utf-16le", rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return with(UTF_16BE, "utf-16be", rest);
    }
    match utf16_without_bom(bytes) {
        Some(true) => with(UTF_16LE, "utf-16le", bytes),
        Some(false) => with(UTF_16BE, "utf-16be", bytes),
        None => utf8_or_1252(bytes),
    }
}

/// [`decode`] taking the bytes: plain UTF-8 (the common case, and the large iptables dumps)
/// becomes the `String` without a copy.
pub fn decode_owned(bytes: Vec<u8>) -> Decoded {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF")
        || bytes.starts_with(b"\xFF\xFE")
        || bytes.starts_with(b"\xFE\xFF");
    if bom || utf16_without_bom(&bytes).is_some() {
        return decode(&bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Decoded {
            text,
            encoding: "utf-8",
            lossy: false,
            not_utf8_at: None,
        },
        Err(e) => decode(e.as_bytes()),
    }
}

fn with(enc: &'static Encoding, name: &'static str, bytes: &[u8]) -> Decoded {
    let (text, lossy) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: name,
        lossy,
        not_utf8_at: None,
    }
}

fn utf8_or_1252(bytes: &[u8]) -> Decoded {
    match std::str::from_utf8(bytes) {
        Ok(s) => Decoded {
            text: s.to_string(),
            encoding: "utf-8",
            lossy: false,
            not_utf8_at: None,
        },
        Err(e) => {
            let (text, lossy) = WINDOWS_1252.decode_without_bom_handling(bytes);
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let at = WINDOWS_1252.decode_without_bom_handling(valid).0.len();
            Decoded {
                text: text.into_owned(),
                encoding: "windows-1252",
                lossy,
                not_utf8_at: Some(at),
            }
        }
    }
}

/// BOM-less UTF-16: `Some(true)` for LE (most odd-offset bytes zero, few even-offset ones),
/// `Some(false)` for BE, `None` otherwise. Needs at least two code units.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let head = bytes.get(..bytes.len().min(SNIFF)).unwrap_or(bytes);
    if head.len() < 4 {
        return None;
    }
    let (mut even0, mut odd0) = (0usize, 0usize);
    for (i, b) in head.iter().enumerate() {
        if *b == 0 {
            if i % 2 == 0 {
                even0 += 1;
            } else {
                odd0 += 1;
            }
        }
    }
    let units = head.len() / 2;
    if odd0 * 2 > units && even0 * 4 < units {
        Some(true)
    } else if even0 * 2 > units && odd0 * 4 < units {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_owned_agrees_with_decode() {
        for bytes in [
            b"*filter\n:INPUT DROP [0:0]\n".to_vec(),
            b"\xEF\xBB\xBF*filter\n".to_vec(),
            b"caf\xe9\n".to_vec(),
            utf16le("Rule Name: x\r\n", true),
            utf16le("Rule Name: x\r\n", false),
        ] {
            let a = decode(&bytes);
            let b = decode_owned(bytes.clone());
            assert_eq!((a.text, a.encoding, a.lossy), (b.text, b.encoding, b.lossy));
        }
    }

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    fn utf16be(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        v
    }

    #[test]
    fn boms() {
        let d = decode(b"\xEF\xBB\xBFRule Name: x\r\n");
        assert_eq!(
            (d.text.as_str(), d.encoding, d.lossy),
            ("Rule Name: x\r\n", "utf-8", false)
        );
        let d = decode(&utf16le("Regel ä\r\nOk.", true));
        assert_eq!(
            (d.text.as_str(), d.encoding, d.lossy),
            ("Regel ä\r\nOk.", "utf-16le", false)
        );
        let d = decode(&utf16be("Ok. é", true));
        assert_eq!(
            (d.text.as_str(), d.encoding, d.lossy),
            ("Ok. é", "utf-16be", false)
        );
    }

    #[test]
    fn utf16_without_a_bom() {
        let d = decode(&utf16le("Windows Registry Editor Version 5.00\r\n", false));
        assert_eq!(d.encoding, "utf-16le");
        assert_eq!(d.text, "Windows Registry Editor Version 5.00\r\n");
        let d = decode(&utf16be("v2.30|Action=Allow|", false));
        assert_eq!(d.encoding, "utf-16be");
        assert_eq!(d.text, "v2.30|Action=Allow|");
        // plain ASCII is not mistaken for UTF-16
        assert_eq!(decode(b"abcdefgh").encoding, "utf-8");
        // a binary file with scattered zeros is not UTF-16 either
        assert_eq!(decode(b"a\0b\0\0\0\0\0cdefgh\0\0").encoding, "utf-8");
    }

    #[test]
    fn falls_back_to_windows_1252() {
        // "Règle" in Windows-1252: è = 0xE8, invalid as UTF-8
        let d = decode(b"R\xE8gle: x\r\n");
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(d.text, "Règle: x\r\n");
        assert!(!d.lossy);
        assert_eq!(d.not_utf8_at, Some(1));
        // the offset is in the decoded text: "é" (valid UTF-8, 2 bytes) reads as "Ã©" (4 bytes)
        let d = decode(b"\xC3\xA9\xFF");
        assert_eq!(d.not_utf8_at, Some(4));
        // valid UTF-8 stays UTF-8
        let d = decode("Règle".as_bytes());
        assert_eq!((d.encoding, d.text.as_str()), ("utf-8", "Règle"));
    }

    #[test]
    fn odd_length_utf16_is_lossy_but_decoded() {
        let mut b = utf16le("Ok.\r\n", true);
        b.push(b'x');
        let d = decode(&b);
        assert_eq!(d.encoding, "utf-16le");
        assert!(d.lossy);
        assert!(d.text.starts_with("Ok.\r\n"));
        // an unpaired surrogate is lossy too
        let d = decode(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0]);
        assert!(d.lossy);
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert_eq!(decode(b"").text, "");
        assert_eq!(decode(b"\xFF\xFE").text, "");
        assert_eq!(decode(b"\xFF").encoding, "windows-1252");
    }
}
