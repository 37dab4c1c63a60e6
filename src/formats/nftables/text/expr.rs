//! Expressions (nft(8) "EXPRESSIONS"): selectors (payload, `meta`, `ct`, `fib`), their
//! concatenations, and the values, sets and ranges they are matched against.

use super::cursor::{error, join, Cur};
use super::lex::{Kind, Tok};
use super::stmt::{STMT_WORDS, VERDICTS};
use super::values::word_value;
use crate::formats::nftables::ast::{Element, Expr, Sp};
use crate::formats::ParseIssue;
use crate::model::Span;

/// Header protocols whose fields are payload expressions (`ip saddr`, `tcp dport`, ...).
const PAYLOAD: &[&str] = &[
    "ip", "ip6", "tcp", "udp", "udplite", "sctp", "dccp", "th", "icmp", "icmpv6", "igmp", "ah",
    "esp", "comp", "ether", "vlan", "arp", "hbh", "rt0", "rt2", "srh", "frag", "dst", "mh", "gre",
    "geneve", "vxlan", "gretap", "ipip", "cgroupv2", "dhcp", "rt", "tunnel",
];
/// `meta` keys that may be written without `meta`.
const META_SHORT: &[&str] = &[
    "iifname",
    "oifname",
    "iif",
    "oif",
    "mark",
    "l4proto",
    "nfproto",
    "pkttype",
    "iiftype",
    "oiftype",
    "skuid",
    "skgid",
    "iifgroup",
    "oifgroup",
    "cgroup",
    "cpu",
    "rtclassid",
    "ibrname",
    "obrname",
    "ibriport",
    "obriport",
    "ibrpvid",
    "ibrvproto",
    "iifkind",
    "oifkind",
];
const FIB_FLAGS: &[&str] = &["saddr", "daddr", "mark", "iif", "oif"];

impl<'t> Cur<'t> {
    /// A selector, or selectors joined by ` . `; `None` when the next word is no selector.
    pub(super) fn selector_concat(&mut self) -> Result<Option<Expr>, ParseIssue> {
        let Some(first) = self.selector()? else {
            return Ok(None);
        };
        let mut parts = vec![first];
        while self.peek_word(".") && self.peek_at(1).is_some_and(is_selector) {
            self.i += 1;
            match self.selector()? {
                Some(e) => parts.push(e),
                None => break,
            }
        }
        Ok(Some(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::Concat(Vec::new()))
        } else {
            Expr::Concat(parts)
        }))
    }

    pub(super) fn selector(&mut self) -> Result<Option<Expr>, ParseIssue> {
        let Some(t) = self.peek() else {
            return Ok(None);
        };
        if t.kind != Kind::Word {
            return Ok(None);
        }
        let w = t.text.as_str();
        let start = t.span;
        let next_word = self.peek_at(1).filter(|n| n.kind == Kind::Word);
        if w == "meta" {
            self.i += 1;
            let k = self.name("a meta key")?;
            return Ok(Some(Expr::Meta {
                key: k.v,
                span: join(start, k.span),
            }));
        }
        if META_SHORT.contains(&w) {
            self.i += 1;
            return Ok(Some(Expr::Meta {
                key: w.to_string(),
                span: start,
            }));
        }
        if w == "ct" {
            self.i += 1;
            let mut dir = None;
            if self.peek_word("original") || self.peek_word("reply") {
                dir = self.next().map(|t| t.text.clone());
            }
            let mut key = self.name("a ct key")?.v;
            if matches!(key.as_str(), "ip" | "ip6") {
                key = format!("{key} {}", self.name("a ct key")?.v);
            }
            return Ok(Some(Expr::Ct {
                key,
                dir,
                span: join(start, self.last_span()),
            }));
        }
        if w == "fib" {
            self.i += 1;
            let mut flags = vec![self.name("a fib flag")?.v];
            while self.peek_word(".")
                && self
                    .peek_at(1)
                    .is_some_and(|t| FIB_FLAGS.contains(&t.text.as_str()))
            {
                self.i += 1;
                flags.push(self.name("a fib flag")?.v);
            }
            let result = self.name("a fib result")?.v;
            return Ok(Some(Expr::Fib {
                flags,
                result,
                span: join(start, self.last_span()),
            }));
        }
        if w == "numgen" {
            // `numgen inc|random mod N [offset N]`: kept as written.
            self.i += 1;
            let mut words = vec!["numgen".to_string()];
            while let Some(t) = self.peek() {
                if t.kind == Kind::Word
                    && (matches!(t.text.as_str(), "inc" | "random" | "mod" | "offset")
                        || t.text.starts_with(|c: char| c.is_ascii_digit()))
                {
                    words.push(t.text.clone());
                    self.i += 1;
                } else {
                    break;
                }
            }
            return Ok(Some(Expr::Value(Sp::new(
                words.join(" "),
                join(start, self.last_span()),
            ))));
        }
        if PAYLOAD.contains(&w) {
            let Some(f) = next_word else { return Ok(None) };
            if f.text == "." || f.text == "-" {
                return Ok(None);
            }
            self.i += 2;
            let mut proto = w.to_string();
            let mut field = f.text.clone();
            if field == "option" && w == "tcp" {
                // `tcp option maxseg size`
                proto = "tcp option".into();
                field = self.name("a tcp option")?.v;
                if let Some(t) = self.peek() {
                    if t.kind == Kind::Word
                        && matches!(
                            t.text.as_str(),
                            "size"
                                | "kind"
                                | "length"
                                | "count"
                                | "left"
                                | "right"
                                | "tsval"
                                | "tsecr"
                        )
                    {
                        field = format!("{field} {}", t.text);
                        self.i += 1;
                    }
                }
            }
            return Ok(Some(Expr::Payload {
                proto,
                field,
                span: join(start, self.last_span()),
            }));
        }
        Ok(None)
    }

    /// The right side of a match: a value (or values joined by ` . `), a list `a,b`, flags
    /// `a | b`, an anonymous set or `@set`.
    pub(super) fn match_value(&mut self, left: &Expr) -> Result<Expr, ParseIssue> {
        let first = match self.peek() {
            // `ct status dnat` compares with a word that elsewhere starts a statement.
            Some(t)
                if t.kind == Kind::Word
                    && !matches!(left, Expr::Ct { .. })
                    && (VERDICTS.contains(&t.text.as_str())
                        || STMT_WORDS.contains(&t.text.as_str())) =>
            {
                None
            }
            Some(t)
                if t.kind == Kind::Word
                    || t.kind == Kind::Str
                    || t.kind == Kind::At
                    || t.punct("{")
                    || t.kind == Kind::Var =>
            {
                Some(t)
            }
            _ => None,
        };
        if first.is_none() {
            let s = self.peek().map_or(self.end_span(), |t| t.span);
            return Err(error(
                s,
                "expected a value to compare with",
                format!("no value for `{}`", text_span_desc(left)),
            ));
        }
        let v = self.value_concat()?;
        if self.peek_punct(",") {
            let mut els = vec![element(v)];
            while self.peek_punct(",") {
                self.i += 1;
                els.push(element(self.value_concat()?));
            }
            return Ok(Expr::Set(els));
        }
        if self.peek_punct("|") {
            let mut alts = vec![v];
            while self.peek_punct("|") {
                self.i += 1;
                alts.push(self.value_concat()?);
            }
            return Ok(Expr::Or(alts));
        }
        Ok(v)
    }

    pub(super) fn value_or_set(&mut self) -> Result<Expr, ParseIssue> {
        self.value()
    }

    /// The value of a `set` statement or a NAT target: a selector (possibly `... map X`) or a value.
    pub(super) fn set_value(&mut self) -> Result<Expr, ParseIssue> {
        let e = match self.selector_concat()? {
            Some(e) => e,
            None => self.value_concat()?,
        };
        if self.eat_word("map") {
            let m = self.value()?;
            return Ok(Expr::Map {
                key: Box::new(e),
                map: Box::new(m),
            });
        }
        Ok(e)
    }

    pub(super) fn value_concat(&mut self) -> Result<Expr, ParseIssue> {
        let v = self.value()?;
        if !self.peek_word(".") {
            return Ok(v);
        }
        let mut parts = vec![v];
        while self.eat_word(".") {
            parts.push(self.value()?);
        }
        Ok(Expr::Concat(parts))
    }

    /// One value: a word (prefix, range), a string, `@set`, `{ ... }`.
    pub fn value(&mut self) -> Result<Expr, ParseIssue> {
        let t = self
            .peek()
            .ok_or_else(|| error(self.end_span(), "expected a value", "value missing"))?;
        match t.kind {
            Kind::Var => Err(Self::undefined_var(t)),
            Kind::At => {
                self.i += 1;
                Ok(Expr::SetRef(Sp::new(t.text.clone(), t.span)))
            }
            Kind::Str => {
                self.i += 1;
                Ok(Expr::Value(Sp::new(t.text.clone(), t.span)))
            }
            Kind::Punct if t.text == "{" => {
                self.i += 1;
                let els = self.elements()?;
                Ok(Expr::Set(els))
            }
            Kind::Word if t.text != "." && t.text != ":" => {
                self.i += 1;
                let v = word_value(&t.text, t.span);
                // `a - b` written with blanks.
                if self.peek_word("-") && self.peek_at(1).is_some_and(|n| n.kind == Kind::Word) {
                    self.i += 1;
                    let hi = self.next().map_or(Span::default(), |n| n.span);
                    let hi_t = &self.toks[self.i - 1].text;
                    return Ok(Expr::Range(
                        Box::new(v),
                        Box::new(Expr::Value(Sp::new(hi_t.clone(), hi))),
                    ));
                }
                Ok(v)
            }
            _ => Err(error(
                t.span,
                format!("expected a value, found `{}`", t.text),
                "not a value",
            )),
        }
    }
}

fn element(key: Expr) -> Element {
    let span = key.span();
    Element {
        key,
        data: None,
        span,
    }
}

fn text_span_desc(e: &Expr) -> String {
    match e {
        Expr::Payload { proto, field, .. } => format!("{proto} {field}"),
        Expr::Meta { key, .. } => format!("meta {key}"),
        Expr::Ct { key, .. } => format!("ct {key}"),
        Expr::Fib { result, .. } => format!("fib {result}"),
        _ => "the expression".into(),
    }
}

pub(super) fn is_selector(t: &Tok) -> bool {
    t.kind == Kind::Word
        && (PAYLOAD.contains(&t.text.as_str())
            || META_SHORT.contains(&t.text.as_str())
            || matches!(t.text.as_str(), "meta" | "ct" | "fib" | "numgen"))
}
