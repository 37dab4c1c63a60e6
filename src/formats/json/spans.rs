//! JSON with byte spans on every value and key, so a finding about a rule can underline that
//! rule's object in the file and report its line.
//!
//! A small recursive-descent parser written here rather than a crate: it borrows strings from the
//! input (an owned copy only when a string has escapes), keeps duplicate keys in order (the
//! lowering decides what a duplicate means and can point at both), limits nesting depth instead of
//! overflowing the stack, and reports the exact byte where the text stops being JSON. serde_json
//! keeps no positions, and the syntax-tree crates we looked at either allocate per token or add a
//! comments/trailing-comma dialect we do not want to accept silently.

use std::borrow::Cow;

use crate::model::Span;

/// Nesting deeper than this is refused (hostile input must not overflow the stack).
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    /// The number as written (`22`, `-1`, `1.5e3`).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in file order; duplicates kept.
    Object(Vec<Member<'a>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Json<'a> {
    pub kind: Kind<'a>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    pub key_span: Span,
    pub value: Json<'a>,
}

/// Where and why the text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    pub span: Span,
    pub message: String,
    pub label: String,
}

impl<'a> Json<'a> {
    /// The member with this key (exact case); of duplicates, the last, as JavaScript, Python,
    /// Go, .NET and the clouds' own tools read them ([`duplicate_keys`] reports them).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.members()?
            .iter()
            .rfind(|m| m.key == key)
            .map(|m| &m.value)
    }
    /// The member whose key matches ignoring ASCII case (CLI output vs ARM spellings); of
    /// duplicates, the last.
    pub fn get_ci(&self, key: &str) -> Option<&Json<'a>> {
        self.members()?
            .iter()
            .rfind(|m| m.key.eq_ignore_ascii_case(key))
            .map(|m| &m.value)
    }
    /// Follow a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Json<'a>> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }
    pub fn members(&self) -> Option<&[Member<'a>]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match &self.kind {
            Kind::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            Kind::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Kind::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
    /// An integer written as a number or as a string of digits (`22` or `"22"`: exports do both).
    pub fn as_i64(&self) -> Option<i64> {
        match &self.kind {
            Kind::Number(n) => n.parse().ok(),
            Kind::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
    /// A string, or each string of an array of strings (`"x"` and `["x", "y"]` both give a list).
    pub fn strings(&self) -> Vec<(&str, Span)> {
        match &self.kind {
            Kind::String(s) => vec![(s.as_ref(), self.span)],
            Kind::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(|s| (s, v.span)))
                .collect(),
            _ => Vec::new(),
        }
    }
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

/// Parse a whole document (a UTF-8 BOM must already be stripped). Whitespace around the value is
/// allowed; anything else after it is an error.
pub fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err(p.i, p.i + 1, "unexpected text after the JSON value", "here"));
    }
    Ok(v)
}

/// Every key that appears again in the same object: (key, span of its first appearance, span
/// of the repeat), in file order. RFC 8259 leaves the meaning of a repeated name open; most
/// readers keep the last value, and so does [`Json::get`].
pub fn duplicate_keys<'j>(v: &'j Json<'_>) -> Vec<(&'j str, Span, Span)> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    while let Some(v) = stack.pop() {
        match &v.kind {
            Kind::Array(items) => stack.extend(items.iter().rev()),
            Kind::Object(members) if members.len() <= 16 => {
                for (i, m) in members.iter().enumerate() {
                    if let Some(first) = members[..i].iter().find(|f| f.key == m.key) {
                        out.push((m.key.as_ref(), first.key_span, m.key_span));
                    }
                }
                stack.extend(members.iter().rev().map(|m| &m.value));
            }
            Kind::Object(members) => {
                seen.clear();
                for m in members {
                    match seen.entry(m.key.as_ref()) {
                        std::collections::hash_map::Entry::Occupied(first) => {
                            out.push((m.key.as_ref(), *first.get(), m.key_span))
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(m.key_span);
                        }
                    }
                }
                stack.extend(members.iter().rev().map(|m| &m.value));
            }
            _ => {}
        }
    }
    out.sort_by_key(|(_, _, dup)| dup.start);
    out
}

/// Does the text look like JSON at all (first non-blank byte `{` or `[`)?
pub fn looks_like_json(text: &str) -> bool {
    let t = text.trim_start();
    match t.as_bytes().first() {
        Some(b'{') => true,
        // `[` starts an array, but also an INI/registry section (`[HKEY_LOCAL_MACHINE\...]`)
        Some(b'[') => {
            let rest = t[1..].trim_start();
            // `[{` opens an array of objects only if a key or `}` follows (not `[{75FC...}]`)
            let object_next = rest.strip_prefix('{').is_some_and(|r| {
                matches!(r.trim_start().as_bytes().first(), Some(b'"' | b'}') | None)
            });
            object_next
                || matches!(
                    rest.as_bytes().first(),
                    Some(b'[' | b'"' | b'-' | b']' | b'0'..=b'9') | None
                )
                || ["true", "false", "null"].iter().any(|w| {
                    rest.strip_prefix(w).is_some_and(|r| {
                        matches!(r.trim_start().as_bytes().first(), Some(b',' | b']') | None)
                    })
                })
        }
        _ => false,
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, start: usize, end: usize, msg: &str, label: &str) -> JsonError {
        let end = end.min(self.b.len()).max(start);
        // keep spans on char boundaries
        let mut e = end;
        while e < self.b.len() && !self.s.is_char_boundary(e) {
            e += 1;
        }
        JsonError {
            span: Span::new(start, e),
            message: msg.to_string(),
            label: label.to_string(),
        }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(
                self.i,
                self.i + 1,
                &format!("JSON nested more than {MAX_DEPTH} levels deep (Portolan's limit)"),
                "too deep",
            ));
        }
        let start = self.i;
        let Some(&c) = self.b.get(self.i) else {
            return Err(self.err(
                start,
                start,
                "the file ends where a JSON value should be (truncated?)",
                "value expected",
            ));
        };
        let kind = match c {
            b'{' => return self.object(depth),
            b'[' => return self.array(depth),
            b'"' => Kind::String(self.string()?),
            b't' => self.word("true", Kind::Bool(true))?,
            b'f' => self.word("false", Kind::Bool(false))?,
            b'n' => self.word("null", Kind::Null)?,
            b'-' | b'0'..=b'9' => Kind::Number(self.number()?),
            _ => return Err(self.err(start, start + 1, "expected a JSON value", "not a value")),
        };
        Ok(Json {
            kind,
            span: Span::new(start, self.i),
        })
    }

    fn word(&mut self, w: &str, k: Kind<'a>) -> Result<Kind<'a>, JsonError> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(k)
        } else {
            let mut end = self.i + 1;
            while end < self.b.len() && self.b[end].is_ascii_alphanumeric() {
                end += 1;
            }
            Err(self.err(self.i, end, &format!("expected `{w}`"), "not a JSON value"))
        }
    }

    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > s
        };
        if !digits(self) {
            return Err(self.err(start, self.i + 1, "a number needs digits", "bad number"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err(
                    start,
                    self.i,
                    "a number needs digits after `.`",
                    "bad number",
                ));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err(
                    start,
                    self.i,
                    "a number needs digits in its exponent",
                    "bad number",
                ));
            }
        }
        Ok(&self.s[start..self.i])
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.i;
        self.i += 1; // opening quote
        let content = self.i;
        // fast path: no escapes
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    let s = &self.s[content..self.i];
                    self.i += 1;
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => break,
                0..=0x1f => {
                    return Err(self.err(
                        self.i,
                        self.i + 1,
                        "a control character inside a string",
                        "escape it",
                    ))
                }
                _ => self.i += 1,
            }
        }
        if self.i >= self.b.len() {
            return Err(self.err(
                start,
                start + 1,
                "unterminated string (truncated file?)",
                "this string never ends",
            ));
        }
        let mut out = String::from(&self.s[content..self.i]);
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err(
                    start,
                    start + 1,
                    "unterminated string (truncated file?)",
                    "this string never ends",
                ));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    let esc = self.i;
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        continue;
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(esc)?;
                            let ch = if (0xD800..0xDC00).contains(&hi) {
                                // a surrogate pair
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4(esc)?;
                                    char::from_u32(
                                        0x10000
                                            + ((hi - 0xD800) << 10)
                                            + (lo.wrapping_sub(0xDC00) & 0x3ff),
                                    )
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(ch.unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            return Err(self.err(
                                esc,
                                self.i,
                                "unknown escape in a string",
                                "bad escape",
                            ))
                        }
                    }
                }
                0..=0x1f => {
                    return Err(self.err(
                        self.i,
                        self.i + 1,
                        "a control character inside a string",
                        "escape it",
                    ))
                }
                _ => {
                    // copy one UTF-8 character
                    let rest = &self.s[self.i..];
                    let ch = rest.chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.i += ch.len_utf8().max(1);
                }
            }
        }
    }

    fn hex4(&mut self, esc: usize) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match h {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => Err(self.err(
                esc,
                (self.i + 4).min(self.b.len()),
                "`\\u` needs four hex digits",
                "bad escape",
            )),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        let start = self.i;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json {
                kind: Kind::Array(items),
                span: Span::new(start, self.i),
            });
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        return Err(self.err(
                            self.i - 1,
                            self.i,
                            "a trailing comma is not JSON",
                            "remove this comma",
                        ));
                    }
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json {
                        kind: Kind::Array(items),
                        span: Span::new(start, self.i),
                    });
                }
                Some(_) => {
                    return Err(self.err(
                        self.i,
                        self.i + 1,
                        "expected `,` or `]` in this array",
                        "expected `,` or `]`",
                    ))
                }
                None => {
                    return Err(self.err(
                        start,
                        start + 1,
                        "the file ends inside this array (truncated?)",
                        "this array is never closed",
                    ))
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'a>, JsonError> {
        let start = self.i;
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json {
                kind: Kind::Object(members),
                span: Span::new(start, self.i),
            });
        }
        loop {
            self.ws();
            let ks = self.i;
            match self.b.get(self.i) {
                Some(b'"') => {}
                Some(_) => {
                    return Err(self.err(ks, ks + 1, "expected a quoted key", "key expected"))
                }
                None => {
                    return Err(self.err(
                        start,
                        start + 1,
                        "the file ends inside this object (truncated?)",
                        "this object is never closed",
                    ))
                }
            }
            let key = self.string()?;
            let key_span = Span::new(ks, self.i);
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err(
                    self.i,
                    self.i + 1,
                    "expected `:` after the key",
                    "`:` expected",
                ));
            }
            self.i += 1;
            self.ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        return Err(self.err(
                            self.i - 1,
                            self.i,
                            "a trailing comma is not JSON",
                            "remove this comma",
                        ));
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json {
                        kind: Kind::Object(members),
                        span: Span::new(start, self.i),
                    });
                }
                Some(_) => {
                    return Err(self.err(
                        self.i,
                        self.i + 1,
                        "expected `,` or `}` in this object",
                        "expected `,` or `}`",
                    ))
                }
                None => {
                    return Err(self.err(
                        start,
                        start + 1,
                        "the file ends inside this object (truncated?)",
                        "this object is never closed",
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_spans() {
        let t = r#"{"a": [1, -2.5e3, "x\"y"], "b": {"c": null, "d": true}, "a": "dup"}"#;
        let v = parse(t).unwrap();
        // of a duplicate key, `get` reads the last
        assert_eq!(v.get("a").and_then(|x| x.as_str()), Some("dup"));
        let a = &v.members().unwrap()[0].value;
        assert_eq!(&t[a.span.start..a.span.end], r#"[1, -2.5e3, "x\"y"]"#);
        let items = a.as_array().unwrap();
        assert_eq!(items[1].kind, Kind::Number("-2.5e3"));
        assert_eq!(items[2].as_str(), Some("x\"y"));
        assert!(matches!(items[2].kind, Kind::String(Cow::Owned(_))));
        assert_eq!(v.path(&["b", "d"]).and_then(|x| x.as_bool()), Some(true));
        assert!(v.path(&["b", "c"]).unwrap().is_null());
        assert_eq!(v.members().unwrap().len(), 3, "duplicates are kept");
        assert_eq!(v.get_ci("B").unwrap().span, v.get("b").unwrap().span);
        let k = &v.members().unwrap()[1];
        assert_eq!(&t[k.key_span.start..k.key_span.end], "\"b\"");
    }

    #[test]
    fn numbers_as_strings_and_unicode() {
        let v = parse(r#"{"p": "22", "q": 443, "r": "caf\u00e9 \ud83d\ude00", "s": "é"}"#).unwrap();
        assert_eq!(v.get("p").unwrap().as_i64(), Some(22));
        assert_eq!(v.get("q").unwrap().as_i64(), Some(443));
        assert_eq!(v.get("r").unwrap().as_str(), Some("café 😀"));
        assert_eq!(v.get("s").unwrap().as_str(), Some("é"));
    }

    #[test]
    fn duplicate_keys_are_found_and_the_last_one_is_read() {
        let v = parse(r#"{"a": 1, "b": {"x": 1, "x": 2}, "a": 3}"#).unwrap();
        let d = duplicate_keys(&v);
        assert_eq!(
            d.iter().map(|(k, _, _)| *k).collect::<Vec<_>>(),
            ["x", "a"],
            "in file order"
        );
        assert_eq!(v.get("a").and_then(|a| a.as_i64()), Some(3));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\": {i}", i % 30)).collect();
        let text = format!("{{{}}}", many.join(", "));
        assert_eq!(duplicate_keys(&parse(&text).unwrap()).len(), 10);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("{\"a\": [1, 2").unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
        assert_eq!(e.span.start, 6, "the unclosed array");
        let e = parse("{\"a\": 1,}").unwrap_err();
        assert_eq!(e.span, Span::new(7, 8));
        let e = parse("{\"a\" 1}").unwrap_err();
        assert_eq!(e.span.start, 5);
        let e = parse("[tru]").unwrap_err();
        assert_eq!(e.span, Span::new(1, 4));
        let e = parse("{\"a\": \"abc").unwrap_err();
        assert_eq!(e.span.start, 6);
        assert!(parse("{} x").is_err());
        assert!(parse("").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep)
            .unwrap_err()
            .message
            .contains("more than 256 levels deep"));
    }

    #[test]
    fn sniffing_tells_arrays_from_ini_sections() {
        assert!(looks_like_json("  {\"a\": 1}"));
        assert!(looks_like_json("[\n  {\"a\": 1}]"));
        assert!(looks_like_json("[1, 2]") && looks_like_json("[]") && looks_like_json("[true]"));
        assert!(!looks_like_json(
            "[HKEY_LOCAL_MACHINE\\SYSTEM]\n\"a\"=dword:1"
        ));
        assert!(!looks_like_json("[trusted]\nx=1"));
        assert!(!looks_like_json(
            "[{75FC3BF7-162F-49C3-BCE0-13755109D65D}]\n\"a\"=dword:1"
        ));
        assert!(!looks_like_json("*filter"));
    }

    #[test]
    fn trailing_spaces_python2_style_are_fine() {
        let v = parse("{\"a\": 1, \n \"b\": [1, 2] }\n").unwrap();
        assert_eq!(v.get("b").unwrap().as_array().unwrap().len(), 2);
    }
}
