//! The cursor over one rule's tokens and its primitives: peeking, eating words, names, skipping
//! a braced group, and the parse error every reader part reports.

use super::lex::{Kind, Tok};
use crate::formats::nftables::ast::Sp;
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

pub(super) struct Cur<'t> {
    pub toks: &'t [Tok],
    pub i: usize,
    /// Named sets a rule adds elements to or updates (`add @s { ... }`): their contents are dynamic.
    pub dynamic_sets: Vec<String>,
}

pub(super) fn join(a: Span, b: Span) -> Span {
    if b.end >= a.start {
        Span::new(a.start, b.end.max(a.end))
    } else {
        a
    }
}

impl<'t> Cur<'t> {
    pub(super) fn peek(&self) -> Option<&'t Tok> {
        self.toks.get(self.i)
    }
    pub(super) fn peek_at(&self, n: usize) -> Option<&'t Tok> {
        self.toks.get(self.i + n)
    }
    pub(super) fn next(&mut self) -> Option<&'t Tok> {
        let t = self.toks.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }
    pub(super) fn peek_word(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.word(w))
    }
    pub(super) fn peek_punct(&self, p: &str) -> bool {
        self.peek().is_some_and(|t| t.punct(p))
    }
    pub(super) fn eat_word(&mut self, w: &str) -> bool {
        let y = self.peek_word(w);
        if y {
            self.i += 1;
        }
        y
    }
    pub(super) fn last_span(&self) -> Span {
        self.toks
            .get(self.i.saturating_sub(1))
            .or(self.toks.last())
            .map_or(Span::default(), |t| t.span)
    }
    pub(super) fn end_span(&self) -> Span {
        let s = self.last_span();
        Span::new(s.end, s.end)
    }
    /// Skip a balanced `{ ... }` or `( ... )` group if one starts here; its last token's span.
    pub(super) fn skip_group(&mut self) -> Option<Span> {
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
    pub(super) fn name(&mut self, what: &str) -> Result<Sp<String>, ParseIssue> {
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
    pub(super) fn undefined_var(t: &Tok) -> ParseIssue {
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
}
