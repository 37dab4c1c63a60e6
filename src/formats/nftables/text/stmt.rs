//! The statements of one rule and the expressions in them (nft(8) "STATEMENTS", "EXPRESSIONS"),
//! read from the rule's tokens (line ends inside braces removed, `$var`s already substituted).

use super::cursor::{error, join, Cur};
use super::lex::{Kind, Tok};
use crate::formats::nftables::ast::{Op, Rule, Sp, Stmt, Verdict};
use crate::formats::ParseIssue;
use crate::model::Span;

pub(super) const VERDICTS: &[&str] = &[
    "accept", "drop", "reject", "queue", "continue", "return", "jump", "goto",
];
pub(super) const STMT_WORDS: &[&str] = &[
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

impl<'t> Cur<'t> {
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
                // A bitwise expression (`tcp flags & (syn | ack) == syn`): skipped whole,
                // unmodelled, named by its selector and operator (as the JSON reader does).
                let what = left.bitwise_text(&t.text);
                self.i = start_i;
                while let Some(t) = self.peek() {
                    if self.i > start_i
                        && t.kind == Kind::Word
                        && (VERDICTS.contains(&t.text.as_str())
                            || STMT_WORDS.contains(&t.text.as_str()))
                    {
                        break;
                    }
                    self.i += 1;
                }
                let sp = join(left.span(), self.last_span());
                return Ok(Stmt::Other(Sp::new(what, sp)));
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
}

fn text_of(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
