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

use super::ast::{BaseChain, Chain, Expr, Rule, Ruleset, Set, Sp, Stmt, Table, TableFamily};
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
                    r.object(item, Command::Listed);
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
        includes: Vec::new(),
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
    /// An object of the listing: a rule's `handle` is its own.
    Listed,
    /// `add`/`create`: a rule goes at the end, or after the rule of its `handle` (`position`) or
    /// `index`.
    Add,
    /// `insert`: a rule goes first, or before the rule of its `handle` or `index`.
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
    fn req_str(&mut self, obj: &Json<'_>, key: &str, what: &str) -> Option<Sp<String>> {
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
    fn rule(&mut self, v: &Json<'_>, cmd: Command) {
        let Some(t) = self.table_of(v, "table", "rule") else {
            return;
        };
        let Some(chain) = self.req_str(v, "chain", "rule") else {
            return;
        };
        let handle = self.handle(v);
        let index = member(v, "index").map(|i| (i.as_i64(), i.span));
        let comment = member(v, "comment")
            .and_then(|c| c.as_str())
            .map(String::from);
        let mut stmts = Vec::new();
        if let Some(e) = member(v, "expr") {
            match e.as_array() {
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
            }
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
        if cmd == Command::Listed {
            rules.push(rule);
            return;
        }
        let after = usize::from(cmd == Command::Add);
        let (at, span) = match (index, handle) {
            (Some((i, span)), _) => (
                i.and_then(|i| usize::try_from(i).ok())
                    .filter(|&i| i < rules.len())
                    .map(|i| i + after),
                span,
            ),
            (None, Some(h)) => (
                rules
                    .iter()
                    .position(|r| r.handle == Some(h))
                    .map(|i| i + after),
                member(v, "handle").map_or(v.span, |h| h.span),
            ),
            (None, None) if cmd == Command::Add => (Some(rules.len()), v.span),
            (None, None) => (Some(0), v.span),
        };
        let mut rule = rule;
        // the handle of an `add`/`insert` command names a position, not the new rule
        if index.is_some() || handle.is_some() {
            rule.handle = None;
        }
        match at {
            Some(at) => rules.insert(at, rule),
            None => {
                self.issues.push(parse_error(
                    span,
                    "the position of this rule names no rule of its chain".into(),
                    "no such rule",
                ));
                rules.push(rule);
            }
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

mod expr;
mod stmt;

#[cfg(test)]
mod tests;
