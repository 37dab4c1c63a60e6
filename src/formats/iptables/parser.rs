//! The rule parser: one tokenised rule line (or `-N` / `-P` line) into a [`RuleLine`], with the
//! arity rules of the module documentation.

use std::borrow::Cow;

use super::ast::{Arg, RuleLine, RuleOp, Target, Token, Values};
use super::getopt::Table;
use super::lexer::{parse_counters, parse_u32, parse_u64, slice, sub, Word};
use super::options::{
    builtin_long, builtin_short, implicit_module, is_proto_module, Arity, Builtin, Classified,
    OptWord,
};
use super::{error, error_help};
use crate::formats::ParseIssue;
use crate::model::Span;

// ------------------------------------------------------------------------------------------
// Rule lines

mod commands;
mod extension;

/// What a line inside a table turned out to be.
pub(super) enum LineKind<'a> {
    Rule(RuleLine<'a>),
    NewChain(Token<'a>),
    Policy {
        chain: Token<'a>,
        policy: Token<'a>,
        counters: Option<(u64, u64)>,
    },
}

/// Where the options being read go.
#[derive(Clone)]
pub(super) enum Ctx<'a> {
    None,
    Module(Token<'a>),
    Target,
}

pub(super) struct RuleParser<'w, 'a> {
    words: &'w [Word<'a>],
    i: usize,
    line_span: Span,
    line: u32,
    op: Option<(RuleOp, Token<'a>)>,
    counters: Option<(u64, u64)>,
    /// Rule options and target options, collected in buffers reused across lines and moved
    /// into exactly sized vectors at the end (a rule's `Vec`s carry no spare capacity).
    args: &'w mut Vec<Arg<'a>>,
    target_args: &'w mut Vec<Arg<'a>>,
    /// The matches and the target loaded so far, in order: whose long options getopt knows.
    loaded: &'w mut Vec<Ctx<'a>>,
    /// Their option tables, rebuilt for each option that needs them.
    tables: &'w mut Vec<Table>,
    target: Option<Target<'a>>,
    /// The module or target the next `--option` belongs to; closed by a base option.
    ctx: Ctx<'a>,
    /// The last module or target opened (a fallback once `ctx` is closed).
    last: Ctx<'a>,
    /// The implicit module of `-p PROTO`.
    proto_module: Option<Token<'a>>,
    /// The last `-m` of a per-protocol module (`-m tcp`, `-m icmp`, ...).
    explicit_proto_module: Option<Token<'a>>,
    base_seen: u8,
    /// The value of `--name=value`, taken before the next word.
    inline: Option<Token<'a>>,
    /// False for a table whose rules are only checked: the rule comes back without its options.
    keep: bool,
}

/// Buffers for the options of one rule, reused from line to line.
#[derive(Default)]
pub(super) struct ArgScratch<'a> {
    args: Vec<Arg<'a>>,
    target_args: Vec<Arg<'a>>,
    loaded: Vec<Ctx<'a>>,
    tables: Vec<Table>,
}

/// Move the contents of a scratch buffer into a vector of exactly that size.
fn exact<T>(scratch: &mut Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(scratch.len());
    out.append(scratch);
    out
}

fn describe(w: &Word<'_>) -> String {
    format!("`{}`", w.text())
}

impl<'w, 'a> RuleParser<'w, 'a> {
    pub(super) fn new(
        words: &'w [Word<'a>],
        scratch: &'w mut ArgScratch<'a>,
        line_span: Span,
        line: u32,
        keep: bool,
    ) -> Self {
        scratch.args.clear();
        scratch.target_args.clear();
        scratch.loaded.clear();
        RuleParser {
            words,
            i: 0,
            line_span,
            line,
            op: None,
            counters: None,
            args: &mut scratch.args,
            target_args: &mut scratch.target_args,
            loaded: &mut scratch.loaded,
            tables: &mut scratch.tables,
            target: None,
            ctx: Ctx::None,
            last: Ctx::None,
            proto_module: None,
            explicit_proto_module: None,
            base_seen: 0,
            inline: None,
            keep,
        }
    }

    fn peek(&self) -> Option<&'w Word<'a>> {
        self.words.get(self.i)
    }

    pub(super) fn parse(mut self) -> Result<LineKind<'a>, ParseIssue> {
        let first = match self.peek() {
            Some(w) => w,
            None => return Err(error(self.line_span, "empty rule line", "nothing here")),
        };
        if first.text().starts_with('[') {
            self.counters = Some(parse_counters(first.text()).ok_or_else(|| {
                error_help(
                    first.tok.span,
                    format!("malformed counters {}", describe(first)),
                    "expected `[packets:bytes]`",
                    "rule counters are written `[12:3456]` (packets, bytes) before `-A`",
                )
            })?);
            self.i += 1;
            if self.peek().is_none() {
                return Err(error(
                    first.tok.span,
                    "counters with no rule after them",
                    "expected `-A CHAIN ...` after this",
                ));
            }
        }
        if let Some(w) = self.peek() {
            if let Some(Classified {
                kind: OptWord::Builtin(b @ (Builtin::NewChain | Builtin::Policy)),
                eq,
            }) = Self::option_word(w)
            {
                self.set_inline_value(w, eq);
                return self.chain_command(b, w);
            }
        }
        // Every call consumes at least one word or fails.
        while self.peek().is_some() {
            self.option()?;
        }
        let Some((op, chain)) = self.op else {
            let at = self.words.first().map_or(self.line_span, |w| w.tok.span);
            return Err(error_help(
                at,
                "this line has no `-A CHAIN` or `-I CHAIN`",
                "no command on this line",
                "rule lines in a save/restore file look like `-A INPUT -p tcp --dport 22 -j ACCEPT`",
            ));
        };
        let spec = !self.args.is_empty() || self.target.is_some() || self.base_seen != 0;
        let wants_spec = matches!(
            op,
            RuleOp::Append | RuleOp::Insert(_) | RuleOp::Delete | RuleOp::Replace(_)
        );
        if spec && !wants_spec {
            let at = self
                .words
                .iter()
                .find(|w| {
                    w.looks_like_option()
                        && !matches!(
                            Self::option_word(w),
                            Some(Classified {
                                kind: OptWord::Builtin(Builtin::Edit(_) | Builtin::Counters),
                                ..
                            })
                        )
                })
                .map_or(self.line_span, |w| w.tok.span);
            return Err(error(
                at,
                "`-D CHAIN N`, `-F`, `-X` and `-Z` take no rule options",
                "unexpected here",
            ));
        }
        if !self.keep {
            // checked only: nothing of the rule but its chain is needed
            return Ok(LineKind::Rule(RuleLine {
                span: self.line_span,
                line: self.line,
                op,
                chain,
                counters: None,
                args: Vec::new(),
                target: None,
            }));
        }
        let mut target = self.target;
        if let Some(t) = target.as_mut() {
            t.args = exact(self.target_args);
        }
        Ok(LineKind::Rule(RuleLine {
            span: self.line_span,
            line: self.line,
            op,
            chain,
            counters: self.counters,
            args: exact(self.args),
            target,
        }))
    }

    /// Classify a word that should be an option.
    /// `--name=value` (getopt's other spelling) is split at the first `=`.
    fn option_word(w: &'w Word<'a>) -> Option<Classified<'w>> {
        let t = w.text();
        if let Some(long) = t.strip_prefix("--") {
            let (name, eq) = match long.find('=') {
                Some(k) => (sub(long, 0, k), Some(k + 2)),
                None => (long, None),
            };
            if name.is_empty() {
                return None;
            }
            let kind = match builtin_long(name) {
                Some(b) => OptWord::Builtin(b),
                None => OptWord::Long(name),
            };
            return Some(Classified { kind, eq });
        }
        let b = t.as_bytes();
        match (b.first(), b.get(1), b.len()) {
            (Some(b'-'), Some(&c), 2) => builtin_short(c).map(|b| Classified {
                kind: OptWord::Builtin(b),
                eq: None,
            }),
            _ => None,
        }
    }

    /// Set the value written after `=` in `--name=value` as the next value to take.
    fn set_inline_value(&mut self, w: &Word<'a>, eq: Option<usize>) {
        self.inline = eq.map(|k| {
            let text = slice(&w.tok.text, k + 1, w.tok.text.len());
            // In an unquoted word the text is the source; otherwise point at the whole word.
            let span = if w.quoted {
                w.tok.span
            } else {
                Span::new(
                    (w.tok.span.start + k + 1).min(w.tok.span.end),
                    w.tok.span.end,
                )
            };
            Token { text, span }
        });
    }

    fn bad_option(w: &Word<'_>) -> ParseIssue {
        let t = w.text();
        if t.starts_with('-') && t.len() > 1 {
            error(
                w.tok.span,
                format!("unknown option {}", describe(w)),
                "not an iptables option",
            )
        } else {
            let mut e = error(
                w.tok.span,
                format!("expected an option, found {}", describe(w)),
                "expected an option here",
            );
            if t.contains('\'') {
                e.help = Some(
                    "iptables-restore only understands double quotes: a value with spaces is written \"like this\""
                        .into(),
                );
            } else if t.starts_with('#') {
                e.help = Some(
                    "`#` starts a comment only at the beginning of a line; iptables-restore rejects a comment after a rule"
                        .into(),
                );
            } else {
                e.help = Some(
                    "a stray word: check the value count of the option before it, or quote a value that contains spaces"
                        .into(),
                );
            }
            e
        }
    }

    /// Read one option (with a leading `!`, its values and any legacy `!`).
    fn option(&mut self) -> Result<(), ParseIssue> {
        let Some(mut w) = self.peek() else {
            return Ok(());
        };
        let mut bang: Option<Span> = None;
        if w.is_bang() {
            bang = Some(w.tok.span);
            self.i += 1;
            w = match self.peek() {
                Some(n) if n.is_bang() => {
                    return Err(error(
                        n.tok.span,
                        "expected an option after `!`, found another `!`",
                        "second `!`",
                    ))
                }
                Some(n) => n,
                None => {
                    return Err(error_help(
                        w.tok.span,
                        "`!` with nothing after it",
                        "negates nothing",
                        "put `!` right before the option it negates, e.g. `! -s 10.0.0.0/8`",
                    ))
                }
            };
        }
        let Some(Classified { kind, eq }) = Self::option_word(w) else {
            return Err(Self::bad_option(w));
        };
        self.i += 1;
        self.set_inline_value(w, eq);
        match kind {
            OptWord::Builtin(b) => self.builtin(b, w, bang)?,
            OptWord::Long(name) => self.extension_option(name, w, bang)?,
        }
        if self.inline.take().is_some() {
            let name = w.text().split('=').next().unwrap_or_default();
            return Err(error(
                w.tok.span,
                format!("`{name}` takes no value"),
                "no `=value` here",
            ));
        }
        Ok(())
    }

    fn no_bang(bang: Option<Span>, w: &Word<'_>) -> Result<(), ParseIssue> {
        match bang {
            Some(s) => Err(error(
                s,
                format!("`!` cannot be used before {}", describe(w)),
                "this `!` negates nothing",
            )),
            None => Ok(()),
        }
    }

    /// Take `n` values after option `w` (no legacy `!`).
    fn values(&mut self, w: &Word<'a>, n: u8) -> Result<Values<'a>, ParseIssue> {
        let mut out = Values::default();
        for _ in 0..n.min(Values::MAX as u8) {
            // the words are only for the error: no allocation per option
            let v = if n == 1 {
                self.one(w, "a value")
            } else {
                self.one(w, &format!("{n} values"))
            };
            out.push(v?);
        }
        Ok(out)
    }

    /// The next word as the value of `w`; `what` names it in the error ("a chain name").
    fn one(&mut self, w: &Word<'a>, what: &str) -> Result<Token<'a>, ParseIssue> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        match self.peek() {
            Some(v) if !v.looks_like_option() && !v.is_bang() => {
                self.i += 1;
                Ok(v.tok.clone())
            }
            found => {
                let message = match found {
                    Some(f) => format!("{} needs {what}, found {}", describe(w), describe(f)),
                    None => format!("{} needs {what}", describe(w)),
                };
                Err(error(w.tok.span, message, format!("{what} is missing")))
            }
        }
    }

    /// Values of an option that may carry a legacy `!` before its first value.
    fn values_with_legacy(
        &mut self,
        w: &Word<'a>,
        arity: Arity,
        bang: Option<Span>,
    ) -> Result<(bool, Values<'a>), ParseIssue> {
        if self.inline.is_some() {
            // `--name=value`: no legacy `!`; the inline value is the first value.
            return match arity {
                Arity::Fixed(0) => Ok((false, Values::default())),
                Arity::Fixed(n) => Ok((false, self.values(w, n)?)),
                Arity::Guess => Ok((
                    false,
                    self.inline.take().map(Values::one).unwrap_or_default(),
                )),
            };
        }
        match arity {
            Arity::Fixed(0) => Ok((false, Values::default())),
            Arity::Fixed(n) => {
                let mut legacy = false;
                if let Some(b) = self.peek().filter(|v| v.is_bang()) {
                    if bang.is_some() {
                        return Err(error(
                            b.tok.span,
                            format!("{} is negated twice", describe(w)),
                            "second `!`",
                        ));
                    }
                    legacy = true;
                    self.i += 1;
                }
                Ok((legacy, self.values(w, n)?))
            }
            Arity::Guess => {
                let next = self.peek();
                if let Some(b) = next.filter(|v| v.is_bang()) {
                    match self.words.get(self.i + 1) {
                        Some(v) if v.is_plain_value() => {
                            if bang.is_some() {
                                return Err(error(
                                    b.tok.span,
                                    format!("{} is negated twice", describe(w)),
                                    "second `!`",
                                ));
                            }
                            self.i += 2;
                            Ok((true, Values::one(v.tok.clone())))
                        }
                        _ => Ok((false, Values::default())),
                    }
                } else if let Some(v) = next.filter(|v| v.is_plain_value()) {
                    self.i += 1;
                    Ok((false, Values::one(v.tok.clone())))
                } else {
                    Ok((false, Values::default()))
                }
            }
        }
    }

    fn make_arg(
        w: &Word<'a>,
        name: Cow<'a, str>,
        module: Option<Token<'a>>,
        bang: Option<Span>,
        legacy: bool,
        values: Values<'a>,
    ) -> Arg<'a> {
        let start = bang.unwrap_or(w.tok.span);
        let end = values.last().map_or(w.tok.span, |v| v.span);
        Arg {
            negated: bang.is_some() || legacy,
            legacy_negation: legacy,
            module,
            name,
            option: w.tok.clone(),
            values,
            span: start.join(end),
        }
    }

    fn builtin(&mut self, b: Builtin, w: &Word<'a>, bang: Option<Span>) -> Result<(), ParseIssue> {
        match b {
            Builtin::Base(name, n, bit) => {
                if self.base_seen & bit != 0 {
                    return Err(error(
                        w.tok.span,
                        format!("multiple `-{name}` options are not allowed"),
                        "second one",
                    ));
                }
                self.base_seen |= bit;
                if name == "4" || name == "6" {
                    Self::no_bang(bang, w)?;
                }
                let (legacy, values) = self.values_with_legacy(w, Arity::Fixed(n), bang)?;
                if name == "p" {
                    self.proto_module = values.first().and_then(|v| {
                        implicit_module(&v.text).map(|m| Token {
                            text: Cow::Borrowed(m),
                            span: v.span,
                        })
                    });
                }
                if self.keep {
                    self.args.push(Self::make_arg(
                        w,
                        Cow::Borrowed(name),
                        None,
                        bang,
                        legacy,
                        values,
                    ));
                }
                self.ctx = Ctx::None;
            }
            Builtin::Match => {
                Self::no_bang(bang, w)?;
                let module = self.one(w, "a module name")?;
                if self.keep {
                    self.args.push(Self::make_arg(
                        w,
                        Cow::Borrowed("m"),
                        None,
                        None,
                        false,
                        Values::one(module.clone()),
                    ));
                }
                if is_proto_module(&module.text) {
                    self.explicit_proto_module = Some(module.clone());
                }
                self.loaded.push(Ctx::Module(module.clone()));
                self.ctx = Ctx::Module(module.clone());
                self.last = Ctx::Module(module);
            }
            Builtin::Jump | Builtin::Goto => {
                Self::no_bang(bang, w)?;
                if self.target.is_some() {
                    return Err(error(
                        w.tok.span,
                        "a rule can have only one `-j` or `-g`",
                        "second target",
                    ));
                }
                let goto = b == Builtin::Goto;
                let name = self.one(w, if goto { "a chain name" } else { "a target" })?;
                self.target = Some(Target {
                    goto,
                    span: w.tok.span.join(name.span),
                    name,
                    args: Vec::new(),
                });
                self.loaded.push(Ctx::Target);
                self.ctx = Ctx::Target;
                self.last = Ctx::Target;
            }
            Builtin::Counters => {
                Self::no_bang(bang, w)?;
                let v = self.values(w, 2)?;
                let mut nums = [0u64; 2];
                for (slot, t) in nums.iter_mut().zip(v.iter()) {
                    *slot = parse_u64(&t.text).ok_or_else(|| {
                        error(
                            t.span,
                            format!(
                                "{} needs two numbers (packets and bytes), found `{}`",
                                describe(w),
                                t.text
                            ),
                            "not a number",
                        )
                    })?;
                }
                self.counters = Some((nums[0], nums[1]));
            }
            Builtin::Table => {
                return Err(error_help(
                    w.tok.span,
                    format!("{} cannot be used in a save/restore file", describe(w)),
                    "not allowed here",
                    "the table comes from the `*table` line above the rules",
                ));
            }
            Builtin::Append | Builtin::Insert => {
                Self::no_bang(bang, w)?;
                self.no_second_command(w)?;
                let chain = self.one(w, "a chain name")?;
                let mut op = RuleOp::Append;
                if b == Builtin::Append {
                    // iptables-restore: "Bad argument `1'" (a position is for `-I` only)
                    if let Some(v) = self.peek().filter(|v| parse_u32(v.text()).is_some()) {
                        return Err(error_help(
                            v.tok.span,
                            format!("bad argument {}: `-A` takes no rule position", describe(v)),
                            "iptables-restore rejects this line",
                            format!(
                                "`-A {}` appends at the end of the chain; to put the rule at \
                                 position {}, write `-I {} {}`",
                                chain.text,
                                v.text(),
                                chain.text,
                                v.text()
                            ),
                        ));
                    }
                }
                if b == Builtin::Insert {
                    op = RuleOp::Insert(1);
                    if let Some(v) = self.peek() {
                        if v.quoted || !(v.text().starts_with('-') || v.is_bang()) {
                            match parse_u32(v.text()) {
                                Some(n) if n >= 1 => op = RuleOp::Insert(n),
                                _ => {
                                    return Err(error(
                                        v.tok.span,
                                        format!(
                                            "the position after `-I CHAIN` must be a number from 1, found {}",
                                            describe(v)
                                        ),
                                        "not a rule position",
                                    ))
                                }
                            }
                            self.i += 1;
                        }
                    }
                }
                self.op = Some((op, chain));
            }
            Builtin::Edit(c) => self.edit_command(c, w, bang)?,
            Builtin::NewChain | Builtin::Policy => {
                return Err(error(
                    w.tok.span,
                    format!("{} must stand alone on its line", describe(w)),
                    "cannot be combined with rule options",
                ));
            }
            Builtin::Unsupported(c, what) => {
                return Err(error_help(
                    w.tok.span,
                    format!("`-{c}` ({what}) is not supported in a save/restore file"),
                    "not supported here",
                    "Portolan applies the commands iptables-restore reads (`-A`, `-I`, `-D`, `-R`, \
                     `-F`, `-X`, `-Z`, `-N`, `-P`); export the rules with iptables-save instead",
                ));
            }
        }
        Ok(())
    }

    fn no_second_command(&self, w: &Word<'_>) -> Result<(), ParseIssue> {
        if self.op.is_some() {
            return Err(error_help(
                w.tok.span,
                format!(
                    "a line holds one command; found {} after another",
                    describe(w)
                ),
                "second command",
                "put each `-A` or `-I` on its own line",
            ));
        }
        Ok(())
    }

    /// `-N CHAIN` or `-P CHAIN POLICY [-c pkts bytes]` (iptables -S style).
    fn chain_command(mut self, b: Builtin, w: &'w Word<'a>) -> Result<LineKind<'a>, ParseIssue> {
        self.i += 1;
        let chain = self.one(w, "a chain name")?;
        let kind = if b == Builtin::NewChain {
            if let (Some(_), Some(first)) = (self.counters, self.words.first()) {
                return Err(error(
                    first.tok.span,
                    "counters cannot be given to `-N`",
                    "not allowed with `-N`",
                ));
            }
            LineKind::NewChain(chain)
        } else {
            let policy = match self.peek() {
                Some(p) if !p.looks_like_option() && !p.is_bang() => p,
                found => {
                    return Err(error(
                        w.tok.span,
                        match found {
                            Some(f) => {
                                format!("`-P {}` needs a policy, found {}", chain.text, describe(f))
                            }
                            None => format!("`-P {}` needs a policy (ACCEPT or DROP)", chain.text),
                        },
                        "policy missing",
                    ))
                }
            };
            self.i += 1;
            if policy.text() != "ACCEPT" && policy.text() != "DROP" {
                return Err(error(
                    policy.tok.span,
                    format!(
                        "unknown policy {}: expected ACCEPT or DROP",
                        describe(policy)
                    ),
                    "not a chain policy",
                ));
            }
            while let Some(c) = self.peek() {
                match Self::option_word(c) {
                    Some(Classified {
                        kind: OptWord::Builtin(Builtin::Counters),
                        ..
                    }) => self.option()?,
                    _ => break,
                }
            }
            LineKind::Policy {
                chain,
                policy: policy.tok.clone(),
                counters: self.counters,
            }
        };
        if let Some(extra) = self.peek() {
            return Err(error(
                extra.tok.span,
                format!("unexpected {} after {} {}", describe(extra), describe(w), {
                    match &kind {
                        LineKind::NewChain(c) | LineKind::Policy { chain: c, .. } => {
                            c.text.to_string()
                        }
                        LineKind::Rule(_) => String::new(),
                    }
                }),
                "unexpected",
            ));
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all_rules, at, filter, one_error, render, rendered};
    use super::*;
    use crate::formats::iptables::parse;
    use crate::formats::IssueKind;

    // ---- rule options -------------------------------------------------------------------

    #[test]
    fn legacy_negation() {
        let text =
            filter("-A INPUT -s ! 10.0.0.0/8 -p tcp --dport ! 22 -m foo --bar ! baz -j DROP\n");
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        let r = all_rules(&d)[0];
        assert_eq!(
            render(r),
            "A INPUT | !!s=10.0.0.0/8 p=tcp !!tcp:dport=22 m=foo !!foo:bar=baz | j DROP()"
        );
        assert_eq!(at(&text, r.args[0].span), "-s ! 10.0.0.0/8");
        assert_eq!(at(&text, r.args[2].span), "--dport ! 22");
        // Modern form
        let text = filter("-A INPUT ! -s 10.0.0.0/8 -m set ! --match-set bad src,dst -m conntrack ! --ctstate NEW -j DROP\n");
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        let r = all_rules(&d)[0];
        assert_eq!(render(r), "A INPUT | !s=10.0.0.0/8 m=set !set:match-set=bad,src,dst m=conntrack !conntrack:ctstate=NEW | j DROP()");
        assert_eq!(at(&text, r.args[0].span), "! -s 10.0.0.0/8");
        assert_eq!(at(&text, r.args[2].span), "! --match-set bad src,dst");
    }

    #[test]
    fn negation_errors() {
        let cases: [(&str, &str, &str); 5] = [
            ("-A INPUT -j ACCEPT !\n", "!", "`!` with nothing after it"),
            (
                "-A INPUT ! ! -s 1.2.3.4\n",
                "!",
                "expected an option after `!`, found another `!`",
            ),
            ("-A INPUT ! -m tcp\n", "!", "`!` cannot be used before `-m`"),
            ("-A INPUT ! -s ! 1.2.3.4\n", "!", "`-s` is negated twice"),
            (
                "-A INPUT ! -j DROP\n",
                "!",
                "`!` cannot be used before `-j`",
            ),
        ];
        for (body, bad_text, message) in cases {
            let text = filter(body);
            let d = parse(&text);
            let (bad, msg) = one_error(&text, &d);
            assert_eq!((bad, msg.as_str()), (bad_text, message), "{body:?}");
            assert!(d.tables[0].rules.is_empty());
        }
        // The span of `! ! -s` points at the second `!`.
        let text = filter("-A INPUT ! ! -s 1.2.3.4\n");
        let d = parse(&text);
        assert_eq!(d.issues[0].span.start, text.find("! ! -s").unwrap() + 2);
    }

    #[test]
    fn quoted_values() {
        let text = filter(concat!(
            r#"-A INPUT -m comment --comment "say \"hi\" \\ ok" -j ACCEPT"#,
            "\n",
            r#"-A INPUT -m comment --comment "plain text" -j LOG --log-prefix "fw: ""#,
            "\n",
        ));
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        let rules = all_rules(&d);
        let c = &rules[0].args[1];
        assert_eq!(c.name, "comment");
        assert_eq!(c.values[0].text, r#"say "hi" \ ok"#);
        assert!(matches!(c.values[0].text, Cow::Owned(_)));
        assert_eq!(at(&text, c.values[0].span), r#""say \"hi\" \\ ok""#);
        let c = &rules[1].args[1];
        assert_eq!(c.values[0].text, "plain text");
        assert!(matches!(c.values[0].text, Cow::Borrowed(_)));
        let t = rules[1].target.as_ref().unwrap();
        assert_eq!(t.args[0].values[0].text, "fw: ");
        assert_eq!(at(&text, t.span), r#"-j LOG --log-prefix "fw: ""#);
    }

    #[test]
    fn single_quotes_are_not_quotes() {
        let text = filter("-A INPUT -m comment --comment 'two words' -j ACCEPT\n");
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "words'");
        assert_eq!(msg, "expected an option, found `words'`");
        assert!(d.issues[0]
            .help
            .as_deref()
            .unwrap()
            .contains("double quotes"));
    }

    #[test]
    fn unterminated_quote() {
        let text = filter(
        "-A INPUT -j ACCEPT\n-A INPUT -m comment --comment \"oops -j DROP\n-A INPUT -j REJECT\n",
    );
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "\"");
        assert_eq!(d.issues[0].span.start, text.find("\"oops").unwrap());
        assert!(msg.starts_with("unterminated quote"), "{msg}");
        assert_eq!(
            rendered(&d),
            ["A INPUT |  | j ACCEPT()", "A INPUT |  | j REJECT()"]
        );
    }

    #[test]
    fn insert_with_and_without_position() {
        let text = filter(
            "-I INPUT 3 -s 10.0.0.1 -j ACCEPT\n-I INPUT -j DROP\n--insert FORWARD 12 -j ACCEPT\n",
        );
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        let ops: Vec<RuleOp> = all_rules(&d).iter().map(|r| r.op).collect();
        assert_eq!(
            ops,
            [RuleOp::Insert(3), RuleOp::Insert(1), RuleOp::Insert(12)]
        );
        assert_eq!(
            render(all_rules(&d)[0]),
            "I3 INPUT | s=10.0.0.1 | j ACCEPT()"
        );
        for (body, bad_text) in [("-I INPUT 0 -j DROP\n", "0"), ("-I INPUT x -j DROP\n", "x")] {
            let text = filter(body);
            let d = parse(&text);
            let (bad, msg) = one_error(&text, &d);
            assert_eq!(bad, bad_text);
            assert!(msg.contains("must be a number from 1"), "{msg}");
        }
    }

    #[test]
    fn implicit_protocol_modules() {
        let text = filter(concat!(
            "-A INPUT -p tcp --dport 22 -j ACCEPT\n",
            "-A INPUT -p TCP --sport 1024:65535 --syn -j ACCEPT\n",
            "-A INPUT -p ipv6-icmp --icmpv6-type 1 -j ACCEPT\n",
            "-A INPUT -p 17 --dport 53 -m conntrack --ctstate NEW --sport 53 -j ACCEPT\n",
            "-A INPUT -p udp -m multiport --dports 1,2 --dport 3 -j ACCEPT\n",
            "-A INPUT -m tcp --dport 1 -m comment --comment x --sport 2 -j ACCEPT\n",
        ));
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        assert_eq!(
            rendered(&d),
            [
                "A INPUT | p=tcp tcp:dport=22 | j ACCEPT()",
                "A INPUT | p=TCP tcp:sport=1024:65535 tcp:syn | j ACCEPT()",
                "A INPUT | p=ipv6-icmp icmp6:icmpv6-type=1 | j ACCEPT()",
                "A INPUT | p=17 udp:dport=53 m=conntrack conntrack:ctstate=NEW udp:sport=53 | j ACCEPT()",
                // getopt: with multiport loaded and udp not, `--dport` abbreviates `--dports`
                "A INPUT | p=udp m=multiport multiport:dports=1,2 multiport:dports=3 | j ACCEPT()",
                "A INPUT | m=tcp tcp:dport=1 m=comment comment:comment=x tcp:sport=2 | j ACCEPT()",
            ]
        );
        // The implicit module points at the protocol value.
        let r = all_rules(&d)[0];
        assert_eq!(at(&text, r.args[1].module.as_ref().unwrap().span), "tcp");
        // Without a protocol there is no module to give `--dport` to.
        let text = filter("-A INPUT --dport 22 -j ACCEPT\n");
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "--dport");
        assert_eq!(msg, "`--dport` needs a protocol: no `-p` or `-m` before it");
    }

    #[test]
    fn tcp_flags_and_other_arities() {
        let text = filter(concat!(
            "-A INPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN -m recent --set --name x --rsource -j ACCEPT\n",
            "-A INPUT -m socket -j ACCEPT\n",
            "-A INPUT -m foo --flag --opt v --last -j ACCEPT\n",
            "-A INPUT -m set --match-set a dst --return-nomatch ! --update-counters -j SET --add-set b src --exist\n",
        ));
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        assert_eq!(
            rendered(&d),
            [
                "A INPUT | p=tcp m=tcp tcp:tcp-flags=SYN,ACK,SYN m=recent recent:set recent:name=x recent:rsource | j ACCEPT()",
                "A INPUT | m=socket | j ACCEPT()",
                "A INPUT | m=foo foo:flag foo:opt=v foo:last | j ACCEPT()",
                "A INPUT | m=set set:match-set=a,dst set:return-nomatch !set:update-counters | j SET(SET:add-set=b,src SET:exist)",
            ]
        );
        let flags = &all_rules(&d)[0].args[2];
        assert_eq!(flags.values.len(), 2);
        assert_eq!(at(&text, flags.span), "--tcp-flags SYN,ACK SYN");
        let text = filter("-A INPUT -p tcp --tcp-flags SYN\n");
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "--tcp-flags");
        assert_eq!(msg, "`--tcp-flags` needs 2 values");
    }

    #[test]
    fn target_options() {
        let text = filter(concat!(
            "-A INPUT -j LOG -m limit --limit 1/s --log-prefix x\n",
            "-A INPUT -j LOG --log-level 4 -s 10.0.0.1 --log-tcp-sequence\n",
            "-g MINE\n",
        ));
        let text = text.replace("-g MINE\n", "-A INPUT -g OUTPUT\n");
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        assert_eq!(
            rendered(&d),
            [
                "A INPUT | m=limit limit:limit=1/s | j LOG(LOG:log-prefix=x)",
                "A INPUT | s=10.0.0.1 | j LOG(LOG:log-level=4 LOG:log-tcp-sequence)",
                "A INPUT |  | g OUTPUT()",
            ]
        );
    }

    #[test]
    fn malformed_line_between_good_lines() {
        let text = filter("-A INPUT -s 10.0.0.1 -j ACCEPT\n-A INPUT -p tcp bogus --dport 22 -j ACCEPT\n-A INPUT -j DROP\n");
        let d = parse(&text);
        assert_eq!(d.issues.len(), 1);
        let i = &d.issues[0];
        assert_eq!(i.kind, IssueKind::ParseError);
        let start = text.find("bogus").unwrap();
        assert_eq!(i.span, Span::new(start, start + 5));
        assert_eq!(i.message, "expected an option, found `bogus`");
        let rules = all_rules(&d);
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].line, rules[1].line), (5, 7));
        assert_eq!(render(rules[1]), "A INPUT |  | j DROP()");
    }

    #[test]
    fn bad_rule_lines() {
        let cases: [(&str, &str, &str); 13] = [
            ("-A\n", "-A", "`-A` needs a chain name"),
            (
                "-A -j ACCEPT\n",
                "-A",
                "`-A` needs a chain name, found `-j`",
            ),
            ("-A INPUT -s\n", "-s", "`-s` needs a value"),
            (
                "-A INPUT -s -j ACCEPT\n",
                "-s",
                "`-s` needs a value, found `-j`",
            ),
            ("-A INPUT -x\n", "-x", "unknown option `-x`"),
            (
                "-A INPUT -s 1.2.3.4 -s 5.6.7.8\n",
                "-s",
                "multiple `-s` options are not allowed",
            ),
            (
                "-A INPUT -j ACCEPT -j DROP\n",
                "-j",
                "a rule can have only one `-j` or `-g`",
            ),
            (
                "-A INPUT -t nat\n",
                "-t",
                "`-t` cannot be used in a save/restore file",
            ),
            (
                "-E INPUT OTHER\n",
                "-E",
                "`-E` (rename chain) is not supported in a save/restore file",
            ),
            (
                "-F INPUT -j ACCEPT\n",
                "-j",
                "`-D CHAIN N`, `-F`, `-X` and `-Z` take no rule options",
            ),
            (
                "-s 1.2.3.4 -j ACCEPT\n",
                "-s",
                "this line has no `-A CHAIN` or `-I CHAIN`",
            ),
            (
                "-A INPUT -I INPUT\n",
                "-I",
                "a line holds one command; found `-I` after another",
            ),
            (
                "-A INPUT --foo bar\n",
                "--foo",
                "option `--foo` does not belong to any match or target",
            ),
        ];
        for (body, bad_text, message) in cases {
            let text = filter(body);
            let d = parse(&text);
            let (bad, msg) = one_error(&text, &d);
            assert_eq!((bad, msg.as_str()), (bad_text, message), "{body:?}");
            assert!(d.tables[0].rules.is_empty(), "{body:?}");
        }
        // The bad `-s` span is the second one.
        let text = filter("-A INPUT -s 1.2.3.4 -s 5.6.7.8\n");
        let d = parse(&text);
        assert_eq!(d.issues[0].span.start, text.rfind("-s").unwrap());
        // A trailing comment is not a comment for iptables-restore.
        let text = filter("-A INPUT -j ACCEPT # allow\n");
        let d = parse(&text);
        let (bad, _) = one_error(&text, &d);
        assert_eq!(bad, "#");
    }

    #[test]
    fn getopt_equals_form() {
        let text = filter(concat!(
            "--append=INPUT --source=10.0.0.1 -p tcp --dport=22 --match=comment --comment=\"a b\" --jump=LOG --log-prefix=fw: --foo=bar\n",
            "-A INPUT -p tcp --syn=1 -j ACCEPT\n",
        ));
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "--syn=1");
        assert_eq!(msg, "`--syn` takes no value");
        let r = all_rules(&d)[0];
        assert_eq!(
            render(r),
            "A INPUT | s=10.0.0.1 p=tcp tcp:dport=22 m=comment comment:comment=a b | j LOG(LOG:log-prefix=fw: LOG:foo=bar)"
        );
        assert_eq!(at(&text, r.args[0].values[0].span), "10.0.0.1");
        assert_eq!(at(&text, r.args[0].span), "--source=10.0.0.1");
        assert_eq!(at(&text, r.chain.span), "INPUT");
        assert_eq!(at(&text, r.args[4].values[0].span), "--comment=\"a b\"");
    }

    #[test]
    fn commands_may_come_after_options() {
        let text = filter("-s 10.0.0.1 -A INPUT -j ACCEPT\n");
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        assert_eq!(rendered(&d), ["A INPUT | s=10.0.0.1 | j ACCEPT()"]);
    }

    #[test]
    fn long_options_abbreviated_as_getopt_reads_them() {
        let text = filter(concat!(
            "-A INPUT -p tcp -m multiport --dport 21,80,443 -j ACCEPT\n",
            "-A INPUT -p tcp -m multiport --sport 1:2 -m state --sta NEW -j ACCEPT\n",
            "-A INPUT --sou 10.0.0.0/8 --proto tcp --dpo 22 --jum REJECT --reject tcp-reset\n",
            "-A INPUT -p tcp -m tcp --dport 1 -m multiport --sport 2 -j ACCEPT\n",
            "-A INPUT -p tcp -m foo --dpo 1 -j ACCEPT\n",
        ));
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        assert_eq!(
            rendered(&d),
            [
                "A INPUT | p=tcp m=multiport multiport:dports=21,80,443 | j ACCEPT()",
                "A INPUT | p=tcp m=multiport multiport:sports=1:2 m=state state:state=NEW | j ACCEPT()",
                "A INPUT | s=10.0.0.0/8 p=tcp tcp:dport=22 | j REJECT(REJECT:reject-with=tcp-reset)",
                // `-m tcp` loaded first: `--sport` is its own option, exactly
                "A INPUT | p=tcp m=tcp tcp:dport=1 m=multiport tcp:sport=2 | j ACCEPT()",
                // an unknown module may own `--dpo`: taken as written
                "A INPUT | p=tcp m=foo foo:dpo=1 | j ACCEPT()",
            ]
        );
        for (body, bad_text, message) in [
            (
                "-A INPUT -m conntrack --ctorig 10.0.0.1 -j ACCEPT\n",
                "--ctorig",
                "option `--ctorig` is ambiguous",
            ),
            (
                "-A INPUT -m conntrack --ctstat NEW -j ACCEPT\n",
                "--ctstat",
                "option `--ctstat` is ambiguous",
            ),
            (
                "-A INPUT --verb -j ACCEPT\n",
                "--verb",
                "`--verb` (`--verbose`) cannot be used in a save/restore file",
            ),
        ] {
            let text = filter(body);
            let d = parse(&text);
            let (bad, msg) = one_error(&text, &d);
            assert_eq!((bad, msg.as_str()), (bad_text, message), "{body:?}");
        }
    }

    #[test]
    fn append_with_a_position_is_refused_on_the_number() {
        let text = filter("-A INPUT 1 -i cni0 -j ACCEPT\n-A INPUT -j DROP\n");
        let d = parse(&text);
        let (bad, msg) = one_error(&text, &d);
        assert_eq!(bad, "1");
        assert_eq!(msg, "bad argument `1`: `-A` takes no rule position");
        assert_eq!(rendered(&d), ["A INPUT |  | j DROP()"]);
    }

    #[test]
    fn edit_commands_are_read() {
        let text = filter(concat!(
            "-D INPUT -p tcp --dport 22 -j ACCEPT\n",
            "-D INPUT 2\n",
            "-R INPUT 1 -j DROP\n",
            "-F INPUT\n",
            "-F\n",
            "-X\n",
            "--delete-chain FORWARD\n",
            "-Z INPUT 3\n",
        ));
        let d = parse(&text);
        assert!(d.issues.is_empty(), "{:#?}", d.issues);
        let ops: Vec<(RuleOp, String)> = all_rules(&d)
            .iter()
            .map(|r| (r.op, r.chain.text.to_string()))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            ops,
            [
                (RuleOp::Delete, s("INPUT")),
                (RuleOp::DeleteAt(2), s("INPUT")),
                (RuleOp::Replace(1), s("INPUT")),
                (RuleOp::Flush, s("INPUT")),
                (RuleOp::Flush, s("")),
                (RuleOp::DeleteChain, s("")),
                (RuleOp::DeleteChain, s("FORWARD")),
                (RuleOp::Zero, s("INPUT")),
            ]
        );
    }
}
