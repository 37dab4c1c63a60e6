//! NAT statements (`dnat`, `snat`, `masquerade`, `redirect`) and how a word reads as a value
//! (prefix, range, address and port).

use super::cursor::{error, join, Cur};
use super::expr::is_selector;
use super::lex::Kind;
use crate::formats::nftables::ast::{Element, Expr, NatKind, Sp, Stmt};
use crate::formats::ParseIssue;
use crate::model::Span;

impl Cur<'_> {
    /// The elements of `{ ... }` after its `{`, through the `}`: `key [: data]`, separated by
    /// commas (a trailing comma is allowed); element options (`timeout`, `expires`, `comment`,
    /// `counter ...`) are skipped.
    pub(crate) fn elements(&mut self) -> Result<Vec<Element>, ParseIssue> {
        let mut els = Vec::new();
        loop {
            while self.peek_punct(",") || self.peek().is_some_and(|t| t.kind == Kind::Newline) {
                self.i += 1;
            }
            match self.peek() {
                None => return Err(error(self.end_span(), "`{` is not closed", "expected `}`")),
                Some(t) if t.punct("}") => {
                    self.i += 1;
                    return Ok(els);
                }
                _ => {}
            }
            let key = self.value_concat()?;
            let mut span = key.span();
            self.element_options();
            let mut data = None;
            if self.eat_word(":") {
                let d = self.data()?;
                span = join(span, d.span());
                data = Some(d);
                self.element_options();
            }
            if !(self.peek_punct(",") || self.peek_punct("}")) {
                let s = self.peek().map_or(self.end_span(), |t| t.span);
                return Err(error(
                    s,
                    "expected `,` or `}` after a set element",
                    "unexpected here",
                ));
            }
            els.push(Element { key, data, span });
        }
    }

    fn element_options(&mut self) {
        while let Some(t) = self.peek() {
            match t.text.as_str() {
                "timeout" | "expires" | "comment" if t.kind == Kind::Word => self.i += 2,
                "counter" if t.kind == Kind::Word => {
                    self.i += 1;
                    while self.peek_word("packets") || self.peek_word("bytes") {
                        self.i += 2;
                    }
                }
                _ => break,
            }
        }
    }

    /// A map element's data: a verdict (`accept`, `jump NAME`: one `Expr::Value` as nft
    /// prints it) or a value.
    fn data(&mut self) -> Result<Expr, ParseIssue> {
        let t = self
            .peek()
            .ok_or_else(|| error(self.end_span(), "expected a map value", "value missing"))?;
        if t.kind == Kind::Word && (t.text == "jump" || t.text == "goto") {
            self.i += 1;
            let n = self.name("a chain name")?;
            return Ok(Expr::Value(Sp::new(
                format!("{} {}", t.text, n.v),
                join(t.span, n.span),
            )));
        }
        self.value_concat()
    }

    pub(super) fn nat(&mut self) -> Result<Stmt, ParseIssue> {
        let start = self.next().map_or(Span::default(), |t| t.span);
        let kind = match self.toks[self.i - 1].text.as_str() {
            "dnat" => NatKind::Dnat,
            "snat" => NatKind::Snat,
            "masquerade" => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        // `dnat ip to ...`, `dnat ip addr . port to ...`
        if matches!(kind, NatKind::Dnat | NatKind::Snat)
            && self.peek().is_some_and(|t| {
                matches!(t.text.as_str(), "ip" | "ip6" | "inet") && t.kind == Kind::Word
            })
            && self
                .peek_at(1)
                .is_some_and(|t| t.word("to") || t.word("addr") || t.word("prefix"))
        {
            self.i += 1;
        }
        let mut keyed = false;
        if self.peek_word("addr") || self.peek_word("prefix") {
            keyed = true;
            while self.peek().is_some_and(|t| !t.word("to")) {
                self.i += 1;
            }
        }
        let (mut addr, mut port) = (None, None);
        let has_to = self.eat_word("to");
        let must = matches!(kind, NatKind::Dnat | NatKind::Snat);
        if has_to
            || (must
                && self.peek().is_some_and(|t| {
                    t.kind == Kind::Word
                        && !t.word("random")
                        && !t.word("persistent")
                        && !t.word("fully-random")
                }))
        {
            let t = self
                .peek()
                .ok_or_else(|| error(self.end_span(), "expected a NAT target", "target missing"))?;
            if t.kind == Kind::Var {
                return Err(Self::undefined_var(t));
            }
            if t.kind == Kind::Word && t.text.starts_with(':') {
                self.i += 1;
                port = Some(word_value(
                    &t.text[1..],
                    Span::new(t.span.start + 1, t.span.end),
                ));
            } else if matches!(kind, NatKind::Redirect | NatKind::Masquerade)
                && t.kind == Kind::Word
                && !is_selector(t)
            {
                self.i += 1;
                port = Some(word_value(&t.text, t.span));
            } else if t.kind == Kind::Word
                && !is_selector(t)
                && !keyed
                && !self
                    .peek_at(1)
                    .is_some_and(|n| n.word("map") || n.word("."))
            {
                self.i += 1;
                let (a, p) = split_addr_port(&t.text, t.span);
                addr = Some(a);
                port = p;
            } else {
                addr = Some(self.set_value()?);
            }
        }
        while let Some(t) = self.peek() {
            if matches!(
                t.text.as_str(),
                "random" | "persistent" | "fully-random" | ","
            ) {
                self.i += 1;
            } else {
                break;
            }
        }
        let span = join(start, self.last_span());
        Ok(Stmt::Nat {
            kind,
            addr,
            port,
            span,
        })
    }
}

fn numlike(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    if let Some(h) = s.strip_prefix("0x") {
        return !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if s.contains(':') {
        return s
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A word as a value: `ADDR/LEN` is a prefix, `LOW-HIGH` (numbers or addresses) a range.
pub(super) fn word_value(w: &str, span: Span) -> Expr {
    if let Some(p) = w.rfind('/') {
        let (a, l) = (&w[..p], &w[p + 1..]);
        if let (true, Ok(len)) = (numlike(a), l.parse::<u8>()) {
            let s = span.start;
            return Expr::Prefix {
                addr: Sp::new(a.to_string(), Span::new(s, s + p)),
                len: Sp::new(len, Span::new(s + p + 1, span.end)),
            };
        }
    }
    for (p, _) in w.match_indices('-') {
        let (a, b) = (&w[..p], &w[p + 1..]);
        if numlike(a) && numlike(b) {
            let s = span.start;
            return Expr::Range(
                Box::new(Expr::Value(Sp::new(a.to_string(), Span::new(s, s + p)))),
                Box::new(Expr::Value(Sp::new(
                    b.to_string(),
                    Span::new(s + p + 1, span.end),
                ))),
            );
        }
    }
    Expr::Value(Sp::new(w.to_string(), span))
}

/// `10.0.0.1:80`, `[fe80::1]:80`, `fe80::1`, `10.0.0.1` (and ranges of either part).
fn split_addr_port(w: &str, span: Span) -> (Expr, Option<Expr>) {
    let s = span.start;
    if let Some(rest) = w.strip_prefix('[') {
        if let Some(cl) = rest.find(']') {
            let addr = word_value(&rest[..cl], Span::new(s + 1, s + 1 + cl));
            let after = &rest[cl + 1..];
            let port = after
                .strip_prefix(':')
                .filter(|p| !p.is_empty())
                .map(|p| word_value(p, Span::new(s + 2 + cl + 1, span.end)));
            return (addr, port);
        }
    }
    if w.matches(':').count() == 1 {
        if let Some(p) = w.find(':') {
            let addr = word_value(&w[..p], Span::new(s, s + p));
            let port =
                (p + 1 < w.len()).then(|| word_value(&w[p + 1..], Span::new(s + p + 1, span.end)));
            return (addr, port);
        }
    }
    (word_value(w, span), None)
}
