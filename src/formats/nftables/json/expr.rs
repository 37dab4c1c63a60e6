//! Expressions of nftables JSON: values, sets and their elements, packet fields, maps.

use super::super::ast::{Element, Expr, Sp};
use super::{num_or_str, single, ExprResult, NoExpr, Reader};
use crate::formats::json::fields::{describe, member};
use crate::formats::json::{Json, Kind};
use crate::model::Span;

impl Reader {
    pub(super) fn elements(&mut self, v: &Json<'_>, is_map: bool) -> Vec<Element> {
        let items: Vec<&Json<'_>> = match &v.kind {
            Kind::Array(a) => a.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(e) = self.element_of(item, is_map) {
                out.push(e);
            }
        }
        out
    }

    pub(super) fn element_of(&mut self, item: &Json<'_>, is_map: bool) -> Option<Element> {
        let pair = match &item.kind {
            Kind::Array(p) if p.len() == 2 => Some((&p[0], &p[1])),
            _ => None,
        };
        let (key, data) = match pair {
            Some((k, d)) => (self.value_expr(k), Some(self.data_expr(d))),
            None if is_map => {
                self.error(
                    item.span,
                    format!(
                        "a map element should be [key, data], not {}",
                        describe(item)
                    ),
                    "not a map element",
                );
                return None;
            }
            None => (self.value_expr(item), None),
        };
        let key = self.expect_value(key, item.span)?;
        let data = match data {
            Some(d) => Some(self.expect_value(d, item.span)?),
            None => None,
        };
        Some(Element {
            key,
            data,
            span: item.span,
        })
    }

    /// A set element must be a value the tree can hold: an unmodelled one is a Z001 here (set
    /// contents are constants; nft only prints the kinds the tree has).
    pub(super) fn expect_value(&mut self, e: ExprResult, span: Span) -> Option<Expr> {
        match e {
            Ok(e) => Some(e),
            Err(NoExpr::Unmodelled(what)) => {
                self.error(
                    span,
                    format!("a set element of an unexpected kind ({what})"),
                    "not read",
                );
                None
            }
            Err(NoExpr::Malformed) => None,
        }
    }

    /// Map data: a value, or a verdict (`accept`, `jump x`) kept as the words nft prints.
    pub(super) fn data_expr(&mut self, v: &Json<'_>) -> ExprResult {
        if let Some(words) = verdict_words(v) {
            return Ok(Expr::Value(Sp::new(words, v.span)));
        }
        self.value_expr(v)
    }

    /// A set element or the right side of a match (`{"elem": {"val": ...}}` unwrapped).
    pub(super) fn value_expr(&mut self, v: &Json<'_>) -> ExprResult {
        if let Some(("elem", inner)) = single(v) {
            return match member(inner, "val") {
                Some(val) => self.value_expr(val),
                None => {
                    self.error(
                        inner.span,
                        "an `elem` without `val`".into(),
                        "`val` missing",
                    );
                    Err(NoExpr::Malformed)
                }
            };
        }
        self.expr(v)
    }

    pub(super) fn expr(&mut self, v: &Json<'_>) -> ExprResult {
        match &v.kind {
            Kind::String(s) => Ok(match s.strip_prefix('@') {
                Some(name) => Expr::SetRef(Sp::new(name.to_string(), v.span)),
                None => Expr::Value(Sp::new(s.to_string(), v.span)),
            }),
            Kind::Number(n) => Ok(Expr::Value(Sp::new(n.to_string(), v.span))),
            Kind::Bool(b) => Ok(Expr::Value(Sp::new(
                if *b { "exists" } else { "missing" }.to_string(),
                v.span,
            ))),
            Kind::Array(_) => Ok(Expr::Set(self.elements(v, false))),
            Kind::Null => {
                self.error(v.span, "an expression should not be null".into(), "null");
                Err(NoExpr::Malformed)
            }
            Kind::Object(_) => self.object_expr(v),
        }
    }

    pub(super) fn object_expr(&mut self, v: &Json<'_>) -> ExprResult {
        let Some((key, body)) = single(v) else {
            self.error(
                v.span,
                "an expression object should have exactly one key".into(),
                "not an expression",
            );
            return Err(NoExpr::Malformed);
        };
        let span = v.span;
        match key {
            "payload" => {
                if member(body, "base").is_some() {
                    let part = |k| member(body, k).and_then(num_or_str).unwrap_or_default();
                    return Err(NoExpr::Unmodelled(format!(
                        "raw payload @{},{},{}",
                        part("base"),
                        part("offset"),
                        part("len")
                    )));
                }
                let proto = self.req_str(body, "protocol", "payload expression");
                let field = self.req_str(body, "field", "payload expression");
                match (proto, field) {
                    (Some(p), Some(f)) => Ok(Expr::Payload {
                        proto: p.v,
                        field: f.v,
                        span,
                    }),
                    _ => Err(NoExpr::Malformed),
                }
            }
            "meta" => match self.req_str(body, "key", "meta expression") {
                Some(k) => Ok(Expr::Meta { key: k.v, span }),
                None => Err(NoExpr::Malformed),
            },
            "ct" => {
                let Some(k) = self.req_str(body, "key", "ct expression") else {
                    return Err(NoExpr::Malformed);
                };
                let key = match member(body, "family").and_then(|f| f.as_str()) {
                    Some(f) => format!("{f} {}", k.v),
                    None => k.v,
                };
                let dir = member(body, "dir")
                    .and_then(|d| d.as_str())
                    .map(String::from);
                Ok(Expr::Ct { key, dir, span })
            }
            "fib" => {
                let Some(result) = self.req_str(body, "result", "fib expression") else {
                    return Err(NoExpr::Malformed);
                };
                let flags = member(body, "flags")
                    .map(|f| {
                        f.strings()
                            .into_iter()
                            .map(|(s, _)| s.to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Expr::Fib {
                    flags,
                    result: result.v,
                    span,
                })
            }
            "concat" => {
                let Some(items) = body.as_array() else {
                    return self.malformed(body, "`concat` should be an array");
                };
                let mut parts = Vec::new();
                for i in items {
                    parts.push(self.value_expr(i)?);
                }
                Ok(Expr::Concat(parts))
            }
            "set" => Ok(Expr::Set(self.elements(body, false))),
            "range" => match body.as_array() {
                Some([a, b]) => {
                    let a = self.expr(a)?;
                    let b = self.expr(b)?;
                    Ok(Expr::Range(Box::new(a), Box::new(b)))
                }
                _ => self.malformed(body, "`range` should be an array of two values"),
            },
            "prefix" => {
                let addr = member(body, "addr").and_then(|a| num_or_str(a).map(|s| (s, a.span)));
                let len = member(body, "len").and_then(|l| {
                    l.as_i64()
                        .and_then(|n| u8::try_from(n).ok())
                        .map(|n| (n, l.span))
                });
                match (addr, len) {
                    (Some((a, asp)), Some((l, lsp))) => Ok(Expr::Prefix {
                        addr: Sp::new(a, asp),
                        len: Sp::new(l, lsp),
                    }),
                    _ => self.malformed(
                        body,
                        "`prefix` should have an address `addr` and a length `len`",
                    ),
                }
            }
            "map" => {
                let (Some(k), Some(d)) = (member(body, "key"), member(body, "data")) else {
                    return self.malformed(body, "`map` should have `key` and `data`");
                };
                let key = self.expr(k)?;
                let map = self.map_data(d)?;
                Ok(Expr::Map {
                    key: Box::new(key),
                    map: Box::new(map),
                })
            }
            "elem" => self.value_expr(v),
            "|" => {
                let Some(items) = body.as_array() else {
                    return self.malformed(body, "`|` should be an array");
                };
                let mut alts = Vec::new();
                for i in items {
                    match self.expr(i)? {
                        Expr::Or(inner) => alts.extend(inner),
                        e => alts.push(e),
                    }
                }
                Ok(Expr::Or(alts))
            }
            // `numgen inc mod 2 [offset N]`, kept as the text reader keeps it (the lowering
            // cannot know which value a connection gets)
            "numgen" => {
                let part = |k| member(body, k).and_then(num_or_str).unwrap_or_default();
                let mut w = format!("numgen {} mod {}", part("mode"), part("mod"));
                let offset = part("offset");
                if !offset.is_empty() && offset != "0" {
                    w.push_str(&format!(" offset {offset}"));
                }
                Ok(Expr::Value(Sp::new(w, span)))
            }
            "accept" | "drop" | "continue" | "return" | "jump" | "goto" => match verdict_words(v) {
                Some(w) => Ok(Expr::Value(Sp::new(w, span))),
                None => self.malformed(body, "a verdict's `target` should be a chain name"),
            },
            other => Err(NoExpr::Unmodelled(other.to_string())),
        }
    }

    /// The map of a `map`/`vmap`: `"@name"` or an anonymous `{"set": [[k, d], ...]}`.
    pub(super) fn map_data(&mut self, d: &Json<'_>) -> ExprResult {
        match single(d) {
            Some(("set", body)) => Ok(Expr::Set(self.elements(body, true))),
            _ => self.expr(d),
        }
    }

    pub(super) fn malformed(&mut self, v: &Json<'_>, msg: &str) -> ExprResult {
        self.error(v.span, format!("{msg}, not {}", describe(v)), "not read");
        Err(NoExpr::Malformed)
    }
}

/// A verdict object as nft prints it in map data: `accept`, `jump NAME`, ...
fn verdict_words(v: &Json<'_>) -> Option<String> {
    let (key, body) = single(v)?;
    match key {
        "accept" | "drop" | "continue" | "return" | "reject" | "queue" => Some(key.to_string()),
        "jump" | "goto" => {
            let t = member(body, "target")?.as_str()?;
            Some(format!("{key} {t}"))
        }
        _ => None,
    }
}
