//! Statements of nftables JSON rules: matches, verdicts, maps, NAT, and the rest.

use super::super::ast::{Expr, NatKind, Op, Sp, Stmt, Verdict};
use super::{single, ExprResult, NoExpr, Reader};
use crate::formats::json::fields::{describe, member};
use crate::formats::json::Json;

impl Reader {
    /// One statement; a malformed one is reported and kept as [`Stmt::Other`].
    pub(super) fn stmt(&mut self, item: &Json<'_>, table: usize) -> Stmt {
        let span = item.span;
        let Some((key, body)) = single(item) else {
            self.error(
                span,
                format!(
                    "a statement should be an object with one key, not {}",
                    describe(item)
                ),
                "not a statement",
            );
            return Stmt::Other(Sp::new("unreadable statement".into(), span));
        };
        let other = |what: String| Stmt::Other(Sp::new(what, span));
        let unreadable = |key: &str| Stmt::Other(Sp::new(format!("unreadable `{key}`"), span));
        let lift = |r: ExprResult, key: &str| match r {
            Ok(e) => Ok(e),
            Err(NoExpr::Unmodelled(w)) => {
                Err(Box::new(Stmt::Other(Sp::new(format!("{key}: {w}"), span))))
            }
            Err(NoExpr::Malformed) => Err(Box::new(unreadable(key))),
        };
        let verdict = |v: Verdict| Stmt::Verdict(Sp::new(v, span));
        match key {
            "match" => {
                let (Some(l), Some(r)) = (member(body, "left"), member(body, "right")) else {
                    self.error(
                        span,
                        "a `match` needs `left` and `right`".into(),
                        "not a match",
                    );
                    return unreadable(key);
                };
                let op = match member(body, "op") {
                    None => Op::Eq,
                    Some(o) => match o.as_str().and_then(parse_op) {
                        Some(op) => op,
                        None => {
                            self.error(
                                o.span,
                                format!("unknown match operator {}", describe(o)),
                                "not an operator",
                            );
                            return unreadable(key);
                        }
                    },
                };
                // a bitwise operation before the comparison (`tcp flags & (fin | syn) == fin`):
                // unmodelled, named by its selector and operator as the text reader names it
                if let Some((bop @ ("&" | "|" | "^" | "<<" | ">>"), operands)) = single(l) {
                    let first = operands.as_array().and_then(|a| a.first());
                    let sel = match first.map(|f| self.expr(f)) {
                        Some(Ok(e)) => e,
                        _ => return unreadable(key),
                    };
                    return other(sel.bitwise_text(bop));
                }
                let left = match lift(self.expr(l), key) {
                    Ok(e) => e,
                    Err(s) => return *s,
                };
                let right = match lift(self.value_expr(r), key) {
                    Ok(e) => e,
                    Err(s) => return *s,
                };
                Stmt::Match {
                    left,
                    op,
                    right,
                    span,
                }
            }
            "accept" => verdict(Verdict::Accept),
            "drop" => verdict(Verdict::Drop),
            "reject" => verdict(Verdict::Reject),
            "queue" => verdict(Verdict::Queue),
            "continue" => verdict(Verdict::Continue),
            "return" => verdict(Verdict::Return),
            "jump" | "goto" => match member(body, "target") {
                Some(t) if t.as_str().is_some() => {
                    let target = Sp::new(t.as_str().unwrap_or_default().to_string(), t.span);
                    verdict(if key == "jump" {
                        Verdict::Jump(target)
                    } else {
                        Verdict::Goto(target)
                    })
                }
                _ => {
                    self.error(
                        body.span,
                        format!(
                            "`{key}` needs a chain name `target`, not {}",
                            describe(body)
                        ),
                        "no target",
                    );
                    unreadable(key)
                }
            },
            "vmap" => {
                let (Some(k), Some(d)) = (member(body, "key"), member(body, "data")) else {
                    self.error(span, "a `vmap` needs `key` and `data`".into(), "not a vmap");
                    return unreadable(key);
                };
                let k = match lift(self.expr(k), key) {
                    Ok(e) => e,
                    Err(s) => return *s,
                };
                let map = self.map_data(d);
                match lift(map, key) {
                    Ok(map) => Stmt::VerdictMap { key: k, map, span },
                    Err(s) => *s,
                }
            }
            "dnat" | "snat" | "masquerade" | "redirect" => {
                let kind = match key {
                    "dnat" => NatKind::Dnat,
                    "snat" => NatKind::Snat,
                    "masquerade" => NatKind::Masquerade,
                    _ => NatKind::Redirect,
                };
                let mut part = |k: &str| -> Result<Option<Expr>, Box<Stmt>> {
                    match member(body, k) {
                        Some(e) => lift(self.expr(e), key).map(Some),
                        None => Ok(None),
                    }
                };
                let addr = match part("addr") {
                    Ok(a) => a,
                    Err(s) => return *s,
                };
                let port = match part("port") {
                    Ok(p) => p,
                    Err(s) => return *s,
                };
                Stmt::Nat {
                    kind,
                    addr,
                    port,
                    span,
                }
            }
            "notrack" => Stmt::Notrack(span),
            "mangle" => {
                let (Some(k), Some(val)) = (member(body, "key"), member(body, "value")) else {
                    self.error(
                        span,
                        "a `mangle` needs `key` and `value`".into(),
                        "not a mangle",
                    );
                    return unreadable(key);
                };
                let k = match lift(self.expr(k), key) {
                    Ok(e) => e,
                    Err(s) => return *s,
                };
                match lift(self.expr(val), key) {
                    Ok(value) => Stmt::Set {
                        key: k,
                        value,
                        span,
                    },
                    Err(s) => *s,
                }
            }
            "counter" | "last" => Stmt::Counter(span),
            "log" => Stmt::Log(span),
            "set" | "map" | "meter" => {
                let name = member(body, if key == "meter" { "name" } else { "set" })
                    .and_then(|s| s.as_str())
                    .map(|s| s.trim_start_matches('@').to_string());
                if let Some(n) = name {
                    self.updated.push((table, n));
                }
                Stmt::Undecidable {
                    what: Sp::new(key.to_string(), span),
                }
            }
            "limit" | "quota" | "ct count" | "numgen" => Stmt::Undecidable {
                what: Sp::new(key.to_string(), span),
            },
            "xt" => other("xt: an iptables extension nft could not express".into()),
            _ => other(key.to_string()),
        }
    }
}

fn parse_op(s: &str) -> Option<Op> {
    Some(match s {
        "==" | "eq" | "in" => Op::Eq,
        "!=" | "ne" => Op::Ne,
        "<" | "lt" => Op::Lt,
        ">" | "gt" => Op::Gt,
        "<=" | "le" => Op::Le,
        ">=" | "ge" => Op::Ge,
        _ => return None,
    })
}
