//! `-D`, `-R`, `-F`, `-X`, `-Z` lines: the chain and rule position they name (their rule-spec,
//! for `-D` and `-R`, is read like any rule's).

use std::borrow::Cow;

use super::super::ast::{RuleOp, Token};
use super::super::error;
use super::super::lexer::{parse_u32, Word};
use super::{describe, RuleParser};
use crate::formats::ParseIssue;
use crate::model::Span;

impl<'w, 'a> RuleParser<'w, 'a> {
    /// `-D CHAIN [N]`, `-R CHAIN N`, `-F [CHAIN]`, `-X [CHAIN]`, `-Z [CHAIN [N]]` (`c` is the
    /// command letter).
    pub(super) fn edit_command(
        &mut self,
        c: u8,
        w: &Word<'a>,
        bang: Option<Span>,
    ) -> Result<(), ParseIssue> {
        Self::no_bang(bang, w)?;
        self.no_second_command(w)?;
        let chain = match self.peek() {
            Some(v) if !v.looks_like_option() && !v.is_bang() => {
                self.i += 1;
                v.tok.clone()
            }
            _ if matches!(c, b'D' | b'R') => self.one(w, "a chain name")?,
            _ => Token {
                text: Cow::Borrowed(""),
                span: w.tok.span,
            },
        };
        let num = match self.peek() {
            Some(v) if !chain.text.is_empty() && !v.looks_like_option() && !v.is_bang() => {
                match parse_u32(v.text()) {
                    Some(n) if n >= 1 => {
                        self.i += 1;
                        Some(n)
                    }
                    _ => {
                        return Err(error(
                            v.tok.span,
                            format!(
                                "the position after {} CHAIN must be a number from 1, found {}",
                                describe(w),
                                describe(v)
                            ),
                            "not a rule position",
                        ))
                    }
                }
            }
            _ => None,
        };
        let op = match (c, num) {
            (b'D', None) => RuleOp::Delete,
            (b'D', Some(n)) => RuleOp::DeleteAt(n),
            (b'R', Some(n)) => RuleOp::Replace(n),
            (b'R', None) => {
                return Err(error(
                    w.tok.span,
                    format!("{} needs a chain and a rule position", describe(w)),
                    "position missing",
                ))
            }
            (b'F', None) => RuleOp::Flush,
            (b'X', None) => RuleOp::DeleteChain,
            (b'Z', _) => RuleOp::Zero,
            (_, Some(_)) => {
                return Err(error(
                    w.tok.span,
                    format!("{} takes no rule position", describe(w)),
                    "no position here",
                ))
            }
            _ => RuleOp::Zero,
        };
        self.op = Some((op, chain));
        Ok(())
    }
}
