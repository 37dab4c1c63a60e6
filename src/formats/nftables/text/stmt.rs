//! The statements of one rule and the expressions in them (nft(8) "STATEMENTS", "EXPRESSIONS"),
//! read from the rule's tokens (line ends inside braces removed, `$var`s already substituted).

use super::lex::{Kind, Tok};
use crate::formats::nftables::ast::{Element, Expr, NatKind, Op, Rule, Sp, Stmt, Verdict};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

pub(super) fn error(
    span: Span,
    message: impl Into<String>,
    label: impl Into<String>,
) -> ParseIssue {
    ParseIssue {
        kind: IssueKind::ParseError,
        span,
        message: message.into(),
        label: label.into(),
        help: None,
    }
}

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
const VERDICTS: &[&str] = &[
    "accept", "drop", "reject", "queue", "continue", "return", "jump", "goto",
];
const STMT_WORDS: &[&str] = &[
    "counter",
    "log",
    "comment",
    "limit",
    "quota",
    "meter",
    "notrack",
    "dnat",
    "snat",
    "masquerade",
    "redirect",
];
const FIB_FLAGS: &[&str] = &["saddr", "daddr", "mark", "iif", "oif"];

pub(super) struct Cur<'t> {
    pub toks: &'t [Tok],
    pub i: usize,
    /// Named sets a rule adds elements to or updates (`add @s { ... }`): their contents are dynamic.
    pub dynamic_sets: Vec<String>,
}

fn join(a: Span, b: Span) -> Span {
    if b.end >= a.start {
        Span::new(a.start, b.end.max(a.end))
    } else {
        a
    }
}

impl<'t> Cur<'t> {
    fn peek(&self) -> Option<&'t Tok> {
        self.toks.get(self.i)
    }
    fn peek_at(&self, n: usize) -> Option<&'t Tok> {
        self.toks.get(self.i + n)
    }
    fn next(&mut self) -> Option<&'t Tok> {
        let t = self.toks.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }
    fn peek_word(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.word(w))
    }
    fn peek_punct(&self, p: &str) -> bool {
        self.peek().is_some_and(|t| t.punct(p))
    }
    fn eat_word(&mut self, w: &str) -> bool {
        let y = self.peek_word(w);
        if y {
            self.i += 1;
        }
        y
    }
    fn last_span(&self) -> Span {
        self.toks
            .get(self.i.saturating_sub(1))
            .or(self.toks.last())
            .map_or(Span::default(), |t| t.span)
    }
    fn end_span(&self) -> Span {
        let s = self.last_span();
        Span::new(s.end, s.end)
    }
    /// Skip a balanced `{ ... }` or `( ... )` group if one starts here; its last token's span.
    fn skip_group(&mut self) -> Option<Span> {
        let open = self.peek()?;
        let close = match open.text.as_str() {
            "{" if open.kind == Kind::Punct => "}",
            "(" if open.kind == Kind::Punct => ")",
            _ => return None,
        };
        let o = open.text.clone();
        let mut depth = 0usize;
        while let Some(t) = self.next() {
            if t.kind == Kind::Punct && t.text == o {
                depth += 1;
            } else if t.kind == Kind::Punct && t.text == close {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(t.span);
                }
            }
        }
        Some(self.last_span())
    }
    /// The next token must be a word or a string: its text and span.
    fn name(&mut self, what: &str) -> Result<Sp<String>, ParseIssue> {
        match self.peek() {
            Some(t) if matches!(t.kind, Kind::Word | Kind::Str) => {
                self.i += 1;
                Ok(Sp::new(t.text.clone(), t.span))
            }
            Some(t) => Err(error(
                t.span,
                format!("expected {what}, found `{}`", t.text),
                format!("not {what}"),
            )),
            None => Err(error(
                self.end_span(),
                format!("expected {what}"),
                format!("{what} missing"),
            )),
        }
    }
    fn undefined_var(t: &Tok) -> ParseIssue {
        ParseIssue {
            help: Some(format!(
                "declare it with `define {} = ...` before this line",
                t.text
            )),
            ..error(
                t.span,
                format!("`${}` is not defined", t.text),
                "undefined variable",
            )
        }
    }

    /// The whole rule: statements until the end; `comment "..."` goes to the rule.
    pub fn rule(&mut self, span: Span, handle: Option<u64>) -> Result<Rule, ParseIssue> {
        let mut rule = Rule {
            stmts: Vec::new(),
            span,
            handle,
            comment: None,
        };
        while let Some(t) = self.peek() {
            if t.punct(";") {
                self.i += 1;
                continue;
            }
            if t.word("comment") {
                self.i += 1;
                rule.comment = Some(self.name("a comment string")?.v);
                continue;
            }
            let s = self.stmt()?;
            rule.stmts.push(s);
        }
        Ok(rule)
    }

    fn stmt(&mut self) -> Result<Stmt, ParseIssue> {
        let t = self
            .peek()
            .ok_or_else(|| error(self.end_span(), "expected a statement", "here"))?;
        if t.kind == Kind::Var {
            return Err(Self::undefined_var(t));
        }
        if t.kind != Kind::Word {
            if t.kind == Kind::At {
                // `@set` alone is not a statement.
                return Err(error(
                    t.span,
                    format!("unexpected `@{}`", t.text),
                    "expected a statement",
                ));
            }
            return Err(error(
                t.span,
                format!("unexpected `{}`", t.text),
                "expected a statement",
            ));
        }
        let start = t.span;
        let w = t.text.as_str();
        match w {
            "accept" | "drop" | "continue" | "return" => {
                self.i += 1;
                let v = match w {
                    "accept" => Verdict::Accept,
                    "drop" => Verdict::Drop,
                    "continue" => Verdict::Continue,
                    _ => Verdict::Return,
                };
                Ok(Stmt::Verdict(Sp::new(v, start)))
            }
            "queue" => {
                self.i += 1;
                while let Some(t) = self.peek() {
                    match t.text.as_str() {
                        "num" | "to" | "flags" => {
                            self.i += 2;
                            while self.peek_punct(",") || self.peek_punct("-") {
                                self.i += 2;
                            }
                        }
                        "bypass" | "fanout" => self.i += 1,
                        _ => break,
                    }
                }
                Ok(Stmt::Verdict(Sp::new(
                    Verdict::Queue,
                    join(start, self.last_span()),
                )))
            }
            "reject" => {
                self.i += 1;
                if self.eat_word("with") {
                    self.name("a reject type")?;
                    if self.eat_word("type") || self.eat_word("code") {
                        self.name("a reject code")?;
                    } else {
                        self.eat_word("reset");
                    }
                }
                Ok(Stmt::Verdict(Sp::new(
                    Verdict::Reject,
                    join(start, self.last_span()),
                )))
            }
            "jump" | "goto" => {
                self.i += 1;
                if self.peek_punct("{") {
                    let end = self.skip_group().unwrap_or(start);
                    let sp = join(start, end);
                    return Ok(Stmt::Other(Sp::new(
                        format!("{w} {{ anonymous chain }}"),
                        sp,
                    )));
                }
                let name = self.name("a chain name")?;
                let v = if w == "jump" {
                    Verdict::Jump(name)
                } else {
                    Verdict::Goto(name)
                };
                Ok(Stmt::Verdict(Sp::new(v, join(start, self.last_span()))))
            }
            "counter" => {
                self.i += 1;
                if self.eat_word("name") {
                    self.name("a counter name")?;
                }
                while self.peek_word("packets") || self.peek_word("bytes") {
                    self.i += 2;
                }
                Ok(Stmt::Counter(join(start, self.last_span())))
            }
            "log" => {
                self.i += 1;
                while let Some(t) = self.peek() {
                    match t.text.as_str() {
                        "prefix" | "level" | "group" | "snaplen" | "queue-threshold"
                            if t.kind == Kind::Word =>
                        {
                            self.i += 1;
                            self.name("a log option value")?;
                        }
                        "flags" if t.kind == Kind::Word => {
                            // `flags ip options`, `flags tcp sequence,options`, `flags all`
                            self.i += 1;
                            while self.peek().is_some_and(|f| {
                                f.punct(",")
                                    || f.kind == Kind::Word
                                        && matches!(
                                            f.text.as_str(),
                                            "ip" | "tcp"
                                                | "options"
                                                | "sequence"
                                                | "ether"
                                                | "skuid"
                                                | "all"
                                        )
                            }) {
                                self.i += 1;
                            }
                        }
                        _ => break,
                    }
                }
                Ok(Stmt::Log(join(start, self.last_span())))
            }
            "limit" | "quota" => {
                self.i += 1;
                while let Some(t) = self.peek() {
                    let ok = match t.kind {
                        Kind::Word => {
                            t.text.starts_with(|c: char| c.is_ascii_digit())
                                || matches!(
                                    t.text.as_str(),
                                    "rate"
                                        | "over"
                                        | "until"
                                        | "burst"
                                        | "packets"
                                        | "bytes"
                                        | "kbytes"
                                        | "mbytes"
                                        | "gbytes"
                                        | "used"
                                        | "name"
                                        | "inv"
                                )
                                || t.text.starts_with('/')
                                || t.text.contains('/')
                        }
                        Kind::Str => self
                            .toks
                            .get(self.i.wrapping_sub(1))
                            .is_some_and(|p| p.word("name")),
                        _ => false,
                    };
                    if !ok {
                        break;
                    }
                    self.i += 1;
                }
                let sp = join(start, self.last_span());
                Ok(Stmt::Undecidable {
                    what: Sp::new(w.to_string(), sp),
                })
            }
            "meter" => {
                self.i += 1;
                self.name("a meter name")?;
                if self.eat_word("size") {
                    self.i += 1;
                }
                self.skip_group();
                let sp = join(start, self.last_span());
                Ok(Stmt::Undecidable {
                    what: Sp::new("meter".into(), sp),
                })
            }
            "add" | "update" | "delete" if self.peek_at(1).is_some_and(|t| t.kind == Kind::At) => {
                self.i += 1;
                let set = self.next().map(|t| t.text.clone()).unwrap_or_default();
                self.skip_group();
                self.dynamic_sets.push(set.clone());
                let sp = join(start, self.last_span());
                Ok(Stmt::Undecidable {
                    what: Sp::new(format!("{w} @{set}"), sp),
                })
            }
            "ct" if self.peek_at(1).is_some_and(|t| t.word("count")) => {
                self.i += 2;
                self.eat_word("over");
                if self.peek().is_some_and(|t| t.kind == Kind::Word) {
                    self.i += 1;
                }
                let sp = join(start, self.last_span());
                Ok(Stmt::Undecidable {
                    what: Sp::new("ct count".into(), sp),
                })
            }
            "notrack" => {
                self.i += 1;
                Ok(Stmt::Notrack(start))
            }
            "dnat" | "snat" | "masquerade" | "redirect" => self.nat(),
            "xt" | "flow" | "dup" | "fwd" | "tproxy" | "synproxy" | "osf" | "socket" | "ipsec"
            | "exthdr" | "jhash" | "symhash" | "numgen" | "secmark" | "set" | "map" => self.other(),
            _ => self.expr_stmt(),
        }
    }

    /// A statement not modelled: it runs to the next verdict, counter, log or comment.
    fn other(&mut self) -> Result<Stmt, ParseIssue> {
        let start = self.peek().map_or(self.end_span(), |t| t.span);
        let mut words = Vec::new();
        let first = self.i;
        while let Some(t) = self.peek() {
            if self.i > first
                && t.kind == Kind::Word
                && (VERDICTS.contains(&t.text.as_str()) || STMT_WORDS.contains(&t.text.as_str()))
            {
                break;
            }
            if t.punct("{") || t.punct("(") {
                self.skip_group();
                words.push("{...}".to_string());
                continue;
            }
            words.push(match t.kind {
                Kind::Str => format!("\"{}\"", t.text),
                Kind::At => format!("@{}", t.text),
                _ => t.text.clone(),
            });
            self.i += 1;
        }
        Ok(Stmt::Other(Sp::new(
            words.join(" "),
            join(start, self.last_span()),
        )))
    }

    fn nat(&mut self) -> Result<Stmt, ParseIssue> {
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

    fn expr_stmt(&mut self) -> Result<Stmt, ParseIssue> {
        let start_i = self.i;
        let Some(left) = self.selector_concat()? else {
            return self.other();
        };
        let t = self.peek();
        let op = match t {
            Some(t) if t.word("vmap") => {
                self.i += 1;
                let map = self.value_or_set()?;
                let span = join(left.span(), map.span().join(self.last_span()));
                return Ok(Stmt::VerdictMap {
                    key: left,
                    map,
                    span,
                });
            }
            Some(t) if t.word("set") => {
                self.i += 1;
                let value = self.set_value()?;
                let span = join(left.span(), self.last_span());
                return Ok(Stmt::Set {
                    key: left,
                    value,
                    span,
                });
            }
            Some(t)
                if matches!(t.text.as_str(), "&" | "|" | "^" | "<<" | ">>")
                    && t.kind == Kind::Punct
                    || t.kind == Kind::Word
                        && matches!(
                            t.text.as_str(),
                            "and" | "or" | "xor" | "lshift" | "rshift"
                        ) =>
            {
                // A bitwise expression (`tcp flags & (syn | ack) == syn`): kept whole, unmodelled.
                self.i = start_i;
                let mut words = Vec::new();
                while let Some(t) = self.peek() {
                    if self.i > start_i
                        && t.kind == Kind::Word
                        && (VERDICTS.contains(&t.text.as_str())
                            || STMT_WORDS.contains(&t.text.as_str()))
                    {
                        break;
                    }
                    words.push(t.text.clone());
                    self.i += 1;
                }
                let sp = join(left.span(), self.last_span());
                return Ok(Stmt::Other(Sp::new(words.join(" "), sp)));
            }
            Some(t) => match (t.kind.clone(), t.text.as_str()) {
                (Kind::Punct, "==") | (Kind::Word, "eq") => Some(Op::Eq),
                (Kind::Punct, "!=") | (Kind::Word, "ne") => Some(Op::Ne),
                (Kind::Punct, "<") | (Kind::Word, "lt") => Some(Op::Lt),
                (Kind::Punct, ">") | (Kind::Word, "gt") => Some(Op::Gt),
                (Kind::Punct, "<=") | (Kind::Word, "le") => Some(Op::Le),
                (Kind::Punct, ">=") | (Kind::Word, "ge") => Some(Op::Ge),
                _ => None,
            },
            None => None,
        };
        if op.is_some() {
            self.i += 1;
        }
        let right = self.match_value(&left)?;
        // `tcp flags syn / fin,syn,rst,ack`: a masked comparison, unmodelled.
        if self.peek().is_some_and(|t| t.word("/")) {
            self.i += 1;
            self.match_value(&left)?;
            let span = join(left.span(), self.last_span());
            return Ok(Stmt::Other(Sp::new(
                text_of(&self.toks[start_i..self.i]),
                span,
            )));
        }
        let span = join(left.span(), self.last_span());
        Ok(Stmt::Match {
            left,
            op: op.unwrap_or(Op::Eq),
            right,
            span,
        })
    }

    /// A selector, or selectors joined by ` . `; `None` when the next word is no selector.
    fn selector_concat(&mut self) -> Result<Option<Expr>, ParseIssue> {
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

    fn selector(&mut self) -> Result<Option<Expr>, ParseIssue> {
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
    fn match_value(&mut self, left: &Expr) -> Result<Expr, ParseIssue> {
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

    fn value_or_set(&mut self) -> Result<Expr, ParseIssue> {
        self.value()
    }

    /// The value of a `set` statement or a NAT target: a selector (possibly `... map X`) or a value.
    fn set_value(&mut self) -> Result<Expr, ParseIssue> {
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

    fn value_concat(&mut self) -> Result<Expr, ParseIssue> {
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

    /// The elements of `{ ... }` after its `{`, through the `}`: `key [: data]`, separated by
    /// commas (a trailing comma is allowed); element options (`timeout`, `expires`, `comment`,
    /// `counter ...`) are skipped.
    pub fn elements(&mut self) -> Result<Vec<Element>, ParseIssue> {
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
}

fn element(key: Expr) -> Element {
    let span = key.span();
    Element {
        key,
        data: None,
        span,
    }
}

fn text_of(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
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
