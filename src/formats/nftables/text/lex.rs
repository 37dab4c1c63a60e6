//! The tokens of nft's text syntax (see `grammars/nftables.ebnf`): words (names, numbers,
//! addresses, prefixes and ranges stay one word: `10.0.0.0/8`, `1024-65535`, `fe80::1`,
//! `[c0::1a]:4242`), quoted strings, `$var`, `@set`, punctuation, line ends (they end rules),
//! and `# handle N` comments. Other comments, `\` line continuations and shell quotes `'` are
//! dropped. Spans are byte offsets into the text; the lexer never fails.

use crate::model::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// A double-quoted string; `text` is its content without the quotes.
    Str,
    /// `$NAME` (`text` is NAME).
    Var,
    /// `@NAME` (`text` is NAME).
    At,
    /// `{ } ( ) , ; = | & ^ ! < > == != <= >= << >>` and a stray `[`/`]`.
    Punct,
    Newline,
    /// `# handle N` (`text` is N).
    Handle,
}

#[derive(Debug, Clone)]
pub struct Tok {
    pub kind: Kind,
    pub text: String,
    pub span: Span,
    /// Where the token stands in the text: its own span, or for a token a `$var` brought in,
    /// the span of that `$var`.
    pub orig: Span,
}

impl Tok {
    pub fn is(&self, kind: Kind, text: &str) -> bool {
        self.kind == kind && self.text == text
    }
    pub fn word(&self, text: &str) -> bool {
        self.is(Kind::Word, text)
    }
    pub fn punct(&self, text: &str) -> bool {
        self.is(Kind::Punct, text)
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'_' | b'.' | b':' | b'/' | b'-' | b'*' | b'%' | b'~')
        || b >= 0x80
}

pub fn lex(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let push = |out: &mut Vec<Tok>, kind: Kind, t: String, s: usize, e: usize| {
        let span = Span::new(s, e);
        out.push(Tok {
            kind,
            text: t,
            span,
            orig: span,
        });
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                push(&mut out, Kind::Newline, String::new(), i, i + 1);
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\'' | 0x0c | 0x0b => i += 1,
            b'\\' => {
                // A line continuation: `\` then the line end.
                let mut j = i + 1;
                while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\r') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'\n' {
                    i = j + 1;
                } else {
                    push(&mut out, Kind::Punct, "\\".into(), i, i + 1);
                    i += 1;
                }
            }
            b'#' => {
                let end = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |p| i + p);
                let body = &text[i..end];
                if let Some(p) = body.rfind("# handle ") {
                    let n = body[p + 9..].trim();
                    if !n.is_empty() && n.bytes().all(|d| d.is_ascii_digit()) {
                        let s = i + p;
                        push(&mut out, Kind::Handle, n.to_string(), s, end);
                    }
                }
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                    if b[j] == b'\\' && j + 1 < b.len() && b[j + 1] == b'"' {
                        j += 1;
                    }
                    j += 1;
                }
                let inner = text.get(i + 1..j).unwrap_or("").replace("\\\"", "\"");
                let end = if j < b.len() && b[j] == b'"' {
                    j + 1
                } else {
                    j
                };
                push(&mut out, Kind::Str, inner, i, end);
                i = end;
            }
            b'$' | b'@' => {
                let mut j = i + 1;
                while j < b.len()
                    && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'-' | b'.'))
                {
                    j += 1;
                }
                // A name does not end in `.` (`$x . $y` is written with blanks, `@s.` is not a name).
                while j > i + 1 && b[j - 1] == b'.' {
                    j -= 1;
                }
                let kind = if c == b'$' { Kind::Var } else { Kind::At };
                push(&mut out, kind, text[i + 1..j].to_string(), i, j);
                i = j;
            }
            b'[' => {
                // `[v6addr]` or `[v6addr]:port` is one word.
                let close = b[i..].iter().position(|&x| x == b']').map(|p| i + p);
                let inside_ok = close.is_some_and(|cl| {
                    cl > i + 1
                        && b[i + 1..cl]
                            .iter()
                            .all(|&x| x.is_ascii_hexdigit() || matches!(x, b':' | b'.'))
                });
                if let (true, Some(cl)) = (inside_ok, close) {
                    let mut j = cl + 1;
                    while j < b.len() && word_byte(b[j]) {
                        j += 1;
                    }
                    push(&mut out, Kind::Word, text[i..j].to_string(), i, j);
                    i = j;
                } else {
                    push(&mut out, Kind::Punct, "[".into(), i, i + 1);
                    i += 1;
                }
            }
            _ if word_byte(c) => {
                let mut j = i;
                while j < b.len() && word_byte(b[j]) {
                    j += 1;
                }
                // Keep UTF-8 boundaries (bytes >= 0x80 are word bytes, so a run ends on one).
                push(&mut out, Kind::Word, text[i..j].to_string(), i, j);
                i = j;
            }
            _ => {
                let two = b.get(i..i + 2).unwrap_or(&[]);
                let p: &'static str = match two {
                    b"==" => "==",
                    b"!=" => "!=",
                    b"<=" => "<=",
                    b">=" => ">=",
                    b"<<" => "<<",
                    b">>" => ">>",
                    _ => match c {
                        b'{' => "{",
                        b'}' => "}",
                        b'(' => "(",
                        b')' => ")",
                        b',' => ",",
                        b';' => ";",
                        b'=' => "=",
                        b'|' => "|",
                        b'&' => "&",
                        b'^' => "^",
                        b'!' => "!",
                        b'<' => "<",
                        b'>' => ">",
                        b']' => "]",
                        b'+' => "+",
                        _ => "?",
                    },
                };
                let len = if p == "?" { 1 } else { p.len() };
                push(&mut out, Kind::Punct, p.to_string(), i, i + len);
                i += len;
            }
        }
    }
    out
}
