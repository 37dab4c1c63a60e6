//! Reading `nft -j list ruleset` (libnftables-json(5)) into the nftables AST, so that a ruleset
//! and its JSON form lower to the same model.
//!
//! The document is `{"nftables": [OBJECT, ...]}`: `metainfo` (ignored), `table`, `chain`, `set`,
//! `map`, `element` and `rule` objects, and in `nft -j -f` input also the commands `add`,
//! `create` and `insert` around them (other commands are named as undecidable). Rules name their
//! table and chain; they are gathered into [`Table`]s and [`Chain`]s in array order. Every node
//! carries the span of the JSON value it came from.
//!
//! How JSON maps onto the tree (the text reader builds the same shapes):
//! - numbers are [`Expr::Value`] as written (`22`), strings without their quotes; `"@name"` is a
//!   [`Expr::SetRef`]; `true`/`false` (`exthdr ... exists`) are `exists`/`missing`;
//! - an array in expression position (`ct state in ["established", "related"]`) and `{"set":
//!   [...]}` are [`Expr::Set`]; `{"|": [a, b]}` is [`Expr::Or`]; `op: "in"` is [`Op::Eq`];
//! - a verdict inside a map's data (`{"jump": {"target": "x"}}`) is [`Expr::Value`] of the words
//!   nft prints (`jump x`, `accept`);
//! - `{"ct": {"family": "ip", "key": "saddr", "dir": "original"}}` is `ct original ip saddr`:
//!   key `ip saddr`;
//! - handle 0 (the test suite's normalised dumps; the kernel never gives 0) is no handle.
//!
//! What is valid nftables but has no place in the tree (raw payloads, binary operations such as
//! `tcp flags & (syn | ack)`, `numgen`, hashes, `xt` compat expressions, `tproxy`, ...) makes its
//! statement [`Stmt::Other`], which the lowering treats as undecidable. A malformed object is a
//! Z001 at the offending value and the rest is read; a malformed statement also stays in its rule
//! as [`Stmt::Other`], so the rule is undecidable rather than credited with less than it says.

use super::ast::{
    BaseChain, Chain, Element, Expr, NatKind, Op, Rule, Ruleset, Set, Sp, Stmt, Table, TableFamily,
    Verdict,
};
use crate::formats::json::fields::{describe, member, parse_error};
use crate::formats::json::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Is this document nftables JSON (an object with an `nftables` array)?
pub fn is_nftables_json(json: &Json<'_>) -> bool {
    json.get("nftables").is_some_and(|v| v.as_array().is_some())
}

/// Read a `nft -j list ruleset` document. Never panics; what cannot be read is in `issues`.
pub fn parse(json: &Json<'_>) -> Ruleset {
    let mut r = Reader::default();
    match json.get("nftables") {
        Some(v) => match v.as_array() {
            Some(items) => {
                for item in items {
                    r.object(item, Command::Add);
                }
            }
            None => r.error(
                v.span,
                format!("`nftables` should be an array, not {}", v.type_name()),
                "not an array",
            ),
        },
        None => r.error(
            json.span,
            "not nftables JSON: the document has no `nftables` array".into(),
            "no `nftables` key",
        ),
    }
    r.mark_dynamic_sets();
    Ruleset {
        tables: r.tables,
        issues: r.issues,
    }
}

/// Why an expression did not become an [`Expr`].
enum NoExpr {
    /// Valid nftables with no place in the AST: what it is, for the [`Stmt::Other`].
    Unmodelled(String),
    /// Malformed: the Z001 is already reported.
    Malformed,
}

type ExprResult = Result<Expr, NoExpr>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Add,
    Insert,
}

#[derive(Default)]
struct Reader {
    tables: Vec<Table>,
    issues: Vec<ParseIssue>,
    /// Sets a rule adds to or updates: (table index, set name).
    updated: Vec<(usize, String)>,
}

/// The one key of an object such as `{"accept": null}` or `{"payload": {...}}`.
fn single<'j, 'a>(v: &'j Json<'a>) -> Option<(&'j str, &'j Json<'a>)> {
    match v.members()? {
        [m] => Some((m.key.as_ref(), &m.value)),
        _ => None,
    }
}

fn num_or_str(v: &Json<'_>) -> Option<String> {
    match &v.kind {
        Kind::String(s) => Some(s.to_string()),
        Kind::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Reader {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(parse_error(span, message, label));
    }

    /// A required string member, or a Z001 (at the value, or at the object when it is missing).
    fn req_str<'j>(&mut self, obj: &'j Json<'_>, key: &str, what: &str) -> Option<Sp<String>> {
        match member(obj, key) {
            Some(v) => match v.as_str() {
                Some(s) => Some(Sp::new(s.to_string(), v.span)),
                None => {
                    self.error(
                        v.span,
                        format!(
                            "`{key}` of a {what} should be a string, not {}",
                            describe(v)
                        ),
                        "not a string",
                    );
                    None
                }
            },
            None => {
                self.error(
                    obj.span,
                    format!("a {what} without `{key}`"),
                    &format!("`{key}` missing"),
                );
                None
            }
        }
    }

    fn handle(&mut self, obj: &Json<'_>) -> Option<u64> {
        let v = member(obj, "handle")?;
        match v.as_i64() {
            Some(h) if h > 0 => Some(h as u64),
            Some(_) => None,
            None => {
                self.error(
                    v.span,
                    format!("`handle` should be a number, not {}", describe(v)),
                    "not a handle",
                );
                None
            }
        }
    }

    /// The table named by `family` and `table` (`name` for a table object), created when absent.
    fn table_of(&mut self, obj: &Json<'_>, name_key: &str, what: &str) -> Option<usize> {
        let fam = self.req_str(obj, "family", what)?;
        let Some(family) = TableFamily::parse(&fam.v) else {
            self.error(
                fam.span,
                format!("unknown table family \"{}\"", fam.v),
                "not ip, ip6, inet, arp, bridge or netdev",
            );
            return None;
        };
        let name = self.req_str(obj, name_key, what)?;
        if let Some(i) = self
            .tables
            .iter()
            .position(|t| t.family.v == family && t.name.v == name.v)
        {
            return Some(i);
        }
        self.tables.push(Table {
            family: Sp::new(family, fam.span),
            name,
            span: obj.span,
            chains: Vec::new(),
            sets: Vec::new(),
            handle: None,
        });
        Some(self.tables.len() - 1)
    }

    fn object(&mut self, item: &Json<'_>, cmd: Command) {
        let Some((key, v)) = single(item) else {
            self.error(
                item.span,
                format!(
                    "an entry of `nftables` should be an object with one key, not {}",
                    describe(item)
                ),
                "not one nftables object",
            );
            return;
        };
        let needs_object = !matches!(key, "metainfo");
        if needs_object && v.members().is_none() && !matches!(key, "flush" | "delete" | "reset") {
            self.error(
                v.span,
                format!("`{key}` should be an object, not {}", describe(v)),
                "not an object",
            );
            return;
        }
        match key {
            "metainfo" => {}
            "table" => {
                if let Some(t) = self.table_of(v, "name", "table") {
                    let h = self.handle(v);
                    let table = &mut self.tables[t];
                    table.span = v.span;
                    table.handle = table.handle.or(h);
                }
            }
            "chain" => self.chain(v),
            "set" | "map" => self.set(v, key),
            "element" => self.element(v),
            "rule" => self.rule(v, cmd),
            "add" | "create" => self.object(v, Command::Add),
            "insert" => self.object(v, Command::Insert),
            "flowtable" | "counter" | "quota" | "limit" | "ct helper" | "ct timeout"
            | "ct expectation" | "secmark" | "synproxy" | "tunnel" => {}
            "flush" | "delete" | "replace" | "reset" | "rename" | "destroy" | "list" => {
                self.issues.push(ParseIssue {
                    kind: IssueKind::Undecidable,
                    span: item.span,
                    message: format!("the `{key}` command is not applied"),
                    label: "not applied".into(),
                    help: Some(
                        "audit the ruleset as `nft -j list ruleset` prints it after loading".into(),
                    ),
                });
            }
            _ => self.error(
                item.span,
                format!("unknown nftables object `{key}`"),
                "not a libnftables-json object",
            ),
        }
    }

    fn chain(&mut self, v: &Json<'_>) {
        let Some(t) = self.table_of(v, "table", "chain") else {
            return;
        };
        let Some(name) = self.req_str(v, "name", "chain") else {
            return;
        };
        let handle = self.handle(v);
        let family = self.tables[t].family.v;
        let base = member(v, "hook").and_then(|h| self.base_chain(v, h, family));
        let chains = &mut self.tables[t].chains;
        match chains.iter_mut().find(|c| c.name.v == name.v) {
            Some(c) => {
                if base.is_some() {
                    c.base = base;
                }
                c.handle = c.handle.or(handle);
            }
            None => chains.push(Chain {
                name,
                span: v.span,
                base,
                rules: Vec::new(),
                handle,
            }),
        }
    }

    fn base_chain(&mut self, v: &Json<'_>, hook: &Json<'_>, fam: TableFamily) -> Option<BaseChain> {
        let Some(h) = hook.as_str() else {
            self.error(
                hook.span,
                format!("`hook` should be a string, not {}", describe(hook)),
                "not a hook",
            );
            return None;
        };
        let hook = Sp::new(h.to_string(), hook.span);
        let kind = match member(v, "type") {
            Some(t) => match t.as_str() {
                Some(s) => Sp::new(s.to_string(), t.span),
                None => {
                    self.error(
                        t.span,
                        format!("`type` should be a string, not {}", describe(t)),
                        "not a chain type",
                    );
                    return None;
                }
            },
            None => {
                self.error(
                    v.span,
                    "a base chain without `type`".into(),
                    "`type` missing",
                );
                return None;
            }
        };
        let priority = match member(v, "prio") {
            Some(p) => match p.as_i64().and_then(|n| i32::try_from(n).ok()) {
                Some(n) => Sp::new(n, p.span),
                None => match p.as_str().and_then(|s| named_priority(s, fam, &hook.v)) {
                    Some(n) => Sp::new(n, p.span),
                    None => {
                        self.error(
                            p.span,
                            format!("`prio` should be a priority number, not {}", describe(p)),
                            "not a priority",
                        );
                        return None;
                    }
                },
            },
            None => {
                self.error(
                    v.span,
                    "a base chain without `prio`".into(),
                    "`prio` missing",
                );
                return None;
            }
        };
        let policy = member(v, "policy").and_then(|p| match p.as_str() {
            Some(s) => Some(Sp::new(s.to_string(), p.span)),
            None => {
                self.error(
                    p.span,
                    format!("`policy` should be a string, not {}", describe(p)),
                    "not a policy",
                );
                None
            }
        });
        let device = member(v, "dev")
            .or_else(|| member(v, "device"))
            .and_then(|d| {
                d.strings()
                    .first()
                    .map(|(s, sp)| Sp::new(s.to_string(), *sp))
            });
        Some(BaseChain {
            kind,
            hook,
            priority,
            policy,
            device,
        })
    }

    fn set(&mut self, v: &Json<'_>, key: &str) {
        let Some(t) = self.table_of(v, "table", key) else {
            return;
        };
        let Some(name) = self.req_str(v, "name", key) else {
            return;
        };
        let key_type = match member(v, "type") {
            Some(ty) => self.type_names(ty),
            None => {
                self.error(v.span, format!("a {key} without `type`"), "`type` missing");
                Vec::new()
            }
        };
        let data_type = match member(v, "map") {
            Some(m) => {
                let parts = self.type_names(m);
                let joined: Vec<&str> = parts.iter().map(|p| p.v.as_str()).collect();
                Some(Sp::new(joined.join(" . "), m.span))
            }
            None if key == "map" => {
                self.error(
                    v.span,
                    "a map without `map` (its data type)".into(),
                    "`map` missing",
                );
                None
            }
            None => None,
        };
        let flags: Vec<Sp<String>> = member(v, "flags")
            .map(|f| {
                f.strings()
                    .into_iter()
                    .map(|(s, sp)| Sp::new(s.to_string(), sp))
                    .collect()
            })
            .unwrap_or_default();
        let dynamic = flags.iter().any(|f| f.v == "dynamic" || f.v == "timeout")
            || member(v, "timeout").is_some();
        let is_map = data_type.is_some();
        let elements = member(v, "elem")
            .map(|e| self.elements(e, is_map))
            .unwrap_or_default();
        let table = &mut self.tables[t];
        if let Some(s) = table.sets.iter_mut().find(|s| s.name.v == name.v) {
            s.elements.extend(elements);
            return;
        }
        table.sets.push(Set {
            name,
            span: v.span,
            key_type,
            data_type,
            flags,
            elements,
            dynamic,
        });
    }

    /// `{"element": {"family", "table", "name", "elem": [...]}}`: elements added to a set.
    fn element(&mut self, v: &Json<'_>) {
        let Some(t) = self.table_of(v, "table", "element") else {
            return;
        };
        let Some(name) = self.req_str(v, "name", "element") else {
            return;
        };
        let Some(si) = self.tables[t].sets.iter().position(|s| s.name.v == name.v) else {
            self.error(
                name.span,
                format!("elements for set `{}`, which is not declared", name.v),
                "no such set",
            );
            return;
        };
        let is_map = self.tables[t].sets[si].data_type.is_some();
        let els = member(v, "elem")
            .map(|e| self.elements(e, is_map))
            .unwrap_or_default();
        self.tables[t].sets[si].elements.extend(els);
    }

    /// A set's `type` or a map's `map`: a name, an array of names (concatenation), or
    /// `{"typeof": EXPR}`.
    fn type_names(&mut self, ty: &Json<'_>) -> Vec<Sp<String>> {
        match &ty.kind {
            Kind::String(s) => vec![Sp::new(s.to_string(), ty.span)],
            Kind::Array(items) => items.iter().flat_map(|i| self.type_names(i)).collect(),
            Kind::Object(_) => match member(ty, "typeof") {
                Some(e) => {
                    let comps: Vec<&Json<'_>> = match single(e) {
                        Some((
                            "concat",
                            Json {
                                kind: Kind::Array(a),
                                ..
                            },
                        )) => a.iter().collect(),
                        _ => vec![e],
                    };
                    comps
                        .into_iter()
                        .map(|c| Sp::new(typeof_name(c), c.span))
                        .collect()
                }
                None => {
                    self.error(
                        ty.span,
                        format!(
                            "a set type should be a name or `typeof`, not {}",
                            describe(ty)
                        ),
                        "not a set type",
                    );
                    Vec::new()
                }
            },
            _ => {
                self.error(
                    ty.span,
                    format!("a set type should be a name, not {}", describe(ty)),
                    "not a set type",
                );
                Vec::new()
            }
        }
    }

    /// The `elem` of a set or map, or of an anonymous set: one value or an array of them; a map's
    /// elements are `[key, data]` pairs.
    fn elements(&mut self, v: &Json<'_>, is_map: bool) -> Vec<Element> {
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

    fn element_of(&mut self, item: &Json<'_>, is_map: bool) -> Option<Element> {
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
    fn expect_value(&mut self, e: ExprResult, span: Span) -> Option<Expr> {
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
    fn data_expr(&mut self, v: &Json<'_>) -> ExprResult {
        if let Some(words) = verdict_words(v) {
            return Ok(Expr::Value(Sp::new(words, v.span)));
        }
        self.value_expr(v)
    }

    /// A set element or the right side of a match (`{"elem": {"val": ...}}` unwrapped).
    fn value_expr(&mut self, v: &Json<'_>) -> ExprResult {
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

    fn expr(&mut self, v: &Json<'_>) -> ExprResult {
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

    fn object_expr(&mut self, v: &Json<'_>) -> ExprResult {
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
            "accept" | "drop" | "continue" | "return" | "jump" | "goto" => match verdict_words(v) {
                Some(w) => Ok(Expr::Value(Sp::new(w, span))),
                None => self.malformed(body, "a verdict's `target` should be a chain name"),
            },
            other => Err(NoExpr::Unmodelled(other.to_string())),
        }
    }

    /// The map of a `map`/`vmap`: `"@name"` or an anonymous `{"set": [[k, d], ...]}`.
    fn map_data(&mut self, d: &Json<'_>) -> ExprResult {
        match single(d) {
            Some(("set", body)) => Ok(Expr::Set(self.elements(body, true))),
            _ => self.expr(d),
        }
    }

    fn malformed(&mut self, v: &Json<'_>, msg: &str) -> ExprResult {
        self.error(v.span, format!("{msg}, not {}", describe(v)), "not read");
        Err(NoExpr::Malformed)
    }

    fn rule(&mut self, v: &Json<'_>, cmd: Command) {
        let Some(t) = self.table_of(v, "table", "rule") else {
            return;
        };
        let Some(chain) = self.req_str(v, "chain", "rule") else {
            return;
        };
        let handle = self.handle(v);
        let comment = member(v, "comment")
            .and_then(|c| c.as_str())
            .map(String::from);
        let mut stmts = Vec::new();
        match member(v, "expr") {
            Some(e) => match e.as_array() {
                Some(items) => {
                    for item in items {
                        stmts.push(self.stmt(item, t));
                    }
                }
                None => {
                    self.error(
                        e.span,
                        format!(
                            "`expr` should be an array of statements, not {}",
                            describe(e)
                        ),
                        "not an array",
                    );
                    stmts.push(Stmt::Other(Sp::new("unreadable statements".into(), e.span)));
                }
            },
            None => {}
        }
        let rule = Rule {
            stmts,
            span: v.span,
            handle,
            comment,
        };
        let chains = &mut self.tables[t].chains;
        let ci = match chains.iter().position(|c| c.name.v == chain.v) {
            Some(i) => i,
            None => {
                self.issues.push(parse_error(
                    chain.span,
                    format!("a rule for chain `{}`, which is not declared", chain.v),
                    "no such chain",
                ));
                chains.push(Chain {
                    name: chain.clone(),
                    span: chain.span,
                    base: None,
                    rules: Vec::new(),
                    handle: None,
                });
                chains.len() - 1
            }
        };
        let rules = &mut chains[ci].rules;
        match cmd {
            Command::Add => rules.push(rule),
            Command::Insert => rules.insert(0, rule),
        }
    }

    /// One statement; a malformed one is reported and kept as [`Stmt::Other`].
    fn stmt(&mut self, item: &Json<'_>, table: usize) -> Stmt {
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
            Err(NoExpr::Unmodelled(w)) => Err(Stmt::Other(Sp::new(format!("{key}: {w}"), span))),
            Err(NoExpr::Malformed) => Err(unreadable(key)),
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
                let left = match lift(self.expr(l), key) {
                    Ok(e) => e,
                    Err(s) => return s,
                };
                let right = match lift(self.value_expr(r), key) {
                    Ok(e) => e,
                    Err(s) => return s,
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
                    Err(s) => return s,
                };
                let map = self.map_data(d);
                match lift(map, key) {
                    Ok(map) => Stmt::VerdictMap { key: k, map, span },
                    Err(s) => s,
                }
            }
            "dnat" | "snat" | "masquerade" | "redirect" => {
                let kind = match key {
                    "dnat" => NatKind::Dnat,
                    "snat" => NatKind::Snat,
                    "masquerade" => NatKind::Masquerade,
                    _ => NatKind::Redirect,
                };
                let mut part = |k: &str| -> Result<Option<Expr>, Stmt> {
                    match member(body, k) {
                        Some(e) => lift(self.expr(e), key).map(Some),
                        None => Ok(None),
                    }
                };
                let addr = match part("addr") {
                    Ok(a) => a,
                    Err(s) => return s,
                };
                let port = match part("port") {
                    Ok(p) => p,
                    Err(s) => return s,
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
                    Err(s) => return s,
                };
                match lift(self.expr(val), key) {
                    Ok(value) => Stmt::Set {
                        key: k,
                        value,
                        span,
                    },
                    Err(s) => s,
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

    /// A set that some rule adds to or updates holds a snapshot: mark it dynamic.
    fn mark_dynamic_sets(&mut self) {
        for (t, name) in std::mem::take(&mut self.updated) {
            if let Some(s) = self.tables[t].sets.iter_mut().find(|s| s.name.v == name) {
                s.dynamic = true;
            }
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

/// A `typeof` component as nft writes it: `ip saddr`, `meta iifname`, `ct state`, ...
fn typeof_name(e: &Json<'_>) -> String {
    let Some((key, body)) = single(e) else {
        return describe(e);
    };
    let get = |k: &str| member(body, k).and_then(num_or_str).unwrap_or_default();
    match key {
        "payload" => format!("{} {}", get("protocol"), get("field")),
        "meta" => format!("meta {}", get("key")),
        "ct" => format!("ct {}", get("key")),
        "numgen" => format!("numgen {} mod {}", get("mode"), get("mod")),
        other => other.to_string(),
    }
}

/// A named priority (`filter`, `raw`, ...) per nft(8), for input that writes one; listings
/// always give the number.
fn named_priority(name: &str, fam: TableFamily, hook: &str) -> Option<i32> {
    if fam == TableFamily::Bridge {
        return Some(match name {
            "dstnat" => -300,
            "filter" => -200,
            "out" => 100,
            "srcnat" => 300,
            _ => return None,
        });
    }
    let _ = hook;
    Some(match name {
        "raw" => -300,
        "mangle" => -150,
        "dstnat" => -100,
        "filter" => 0,
        "security" => 50,
        "srcnat" => 100,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
