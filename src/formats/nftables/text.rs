//! The text reader: `nft list ruleset` output (with `-a` handles) and `nftables.conf`-style
//! scripts (`nft -f` input) into the AST. The grammar is `grammars/nftables.ebnf`.
//!
//! The text is cut into tokens (`lex.rs`), `define`s are substituted, then commands and blocks
//! are read in order and applied to the tables gathered so far (`add`, `insert`, `delete`,
//! `flush`), so the result is the ruleset the script leaves behind. Rules are read by
//! `stmt.rs`. Nothing here panics; what cannot be read is a [`ParseIssue`] with a label on the
//! bad token and reading goes on at the next line.

mod cursor;
mod expr;
mod lex;
mod objects;
mod stmt;
mod values;

use std::collections::HashMap;

use self::cursor::{error, Cur};
use self::lex::{Kind, Tok};
use super::ast::{BaseChain, Ruleset, Sp, Table, TableFamily};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Read `nft list ruleset` text or an `nft -f` script.
pub fn parse(text: &str) -> Ruleset {
    let mut issues = Vec::new();
    let toks = substitute(lex::lex(text), &mut issues);
    let mut p = Parser {
        toks: &toks,
        i: 0,
        out: Ruleset {
            tables: Vec::new(),
            issues,
            includes: Vec::new(),
        },
        dynamic_sets: Vec::new(),
        chain_at: Some(std::collections::HashMap::new()),
    };
    p.script();
    let dynamic = std::mem::take(&mut p.dynamic_sets);
    for t in &mut p.out.tables {
        for s in &mut t.sets {
            if dynamic.contains(&s.name.v) {
                s.dynamic = true;
            }
        }
    }
    p.out
}

/// The standard priority names of nft(8) for a family (bridge has its own table).
pub fn named_priority(family: TableFamily, name: &str) -> Option<i32> {
    Some(match (family, name) {
        (TableFamily::Bridge, "dstnat") => -300,
        (TableFamily::Bridge, "filter") => -200,
        (TableFamily::Bridge, "out") => 100,
        (TableFamily::Bridge, "srcnat") => 300,
        (TableFamily::Bridge, _) => return None,
        (_, "raw") => -300,
        (_, "mangle") => -150,
        (_, "dstnat") => -100,
        (_, "filter") => 0,
        (_, "security") => 50,
        (_, "srcnat") => 100,
        _ => return None,
    })
}

fn undecidable(span: Span, message: impl Into<String>, label: impl Into<String>) -> ParseIssue {
    ParseIssue {
        kind: IssueKind::Undecidable,
        span,
        message: message.into(),
        label: label.into(),
        help: None,
    }
}

fn stmt_start(prev: Option<&Tok>) -> bool {
    prev.is_none_or(|t| {
        matches!(t.kind, Kind::Newline | Kind::Handle)
            || t.punct(";")
            || t.punct("{")
            || t.punct("}")
    })
}

/// Replace every `$NAME` by the tokens of its `define` (defines read in order; a define may use
/// earlier ones). An unknown `$NAME` is left for the reader to report where it is used.
fn substitute(toks: Vec<Tok>, issues: &mut Vec<ParseIssue>) -> Vec<Tok> {
    let mut defs: HashMap<String, Vec<Tok>> = HashMap::new();
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let is_def = (t.word("define") || t.word("redefine")) && stmt_start(out.last());
        if is_def
            && toks.get(i + 1).is_some_and(|n| n.kind == Kind::Word)
            && toks.get(i + 2).is_some_and(|e| e.punct("="))
        {
            let name = toks[i + 1].text.clone();
            out.extend(toks[i..i + 3].iter().cloned());
            let mut j = i + 3;
            let mut depth = 0usize;
            let mut value = Vec::new();
            while let Some(v) = toks.get(j) {
                if depth == 0 && (v.kind == Kind::Newline || v.punct(";")) {
                    break;
                }
                if v.punct("{") {
                    depth += 1;
                } else if v.punct("}") {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                if v.kind == Kind::Var {
                    match defs.get(&v.text) {
                        Some(d) => value.extend(d.iter().cloned()),
                        None => value.push(v.clone()),
                    }
                } else if v.kind != Kind::Newline && v.kind != Kind::Handle {
                    value.push(v.clone());
                }
                out.push(v.clone());
                j += 1;
            }
            if value.is_empty() {
                issues.push(error(
                    toks[i + 1].span,
                    format!("`define {name}` has no value"),
                    "no value after `=`",
                ));
            }
            defs.insert(name, value);
            i = j;
            continue;
        }
        if t.word("undefine") && stmt_start(out.last()) {
            if let Some(n) = toks.get(i + 1) {
                defs.remove(&n.text);
            }
        }
        if t.kind == Kind::Var {
            if let Some(d) = defs.get(&t.text) {
                out.extend(d.iter().map(|x| Tok {
                    orig: t.span,
                    ..x.clone()
                }));
                i += 1;
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

struct Parser<'t> {
    toks: &'t [Tok],
    i: usize,
    out: Ruleset,
    dynamic_sets: Vec<String>,
    /// Where each chain is, by (table index, name), for every chain read so far: a ruleset of
    /// many chains is read in linear time. `None` after a table or chain is deleted (indexes
    /// move): rebuilt when next needed.
    chain_at: Option<std::collections::HashMap<(usize, String), usize>>,
}

/// What a command names: `[FAMILY] TABLE [CHAIN|SET]`.
struct Target {
    family: Sp<TableFamily>,
    table: Sp<String>,
    span: Span,
}

impl<'t> Parser<'t> {
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
    fn end_span(&self) -> Span {
        let s = self
            .toks
            .get(self.i.saturating_sub(1))
            .map_or(Span::default(), |t| t.span);
        Span::new(s.end, s.end)
    }
    fn here(&self) -> Span {
        self.peek().map_or(self.end_span(), |t| t.span)
    }
    fn at_end_of_stmt(&self) -> bool {
        self.peek()
            .is_none_or(|t| t.kind == Kind::Newline || t.punct(";") || t.punct("}"))
    }
    /// Skip to the end of the statement (line end or `;` outside braces); a `}` closing the
    /// enclosing block is left in place.
    fn skip_stmt(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            if depth == 0 && (t.kind == Kind::Newline || t.punct(";")) {
                return;
            }
            if t.punct("{") {
                depth += 1;
            } else if t.punct("}") {
                if depth == 0 {
                    return;
                }
                depth -= 1;
            }
            self.i += 1;
        }
    }
    fn err_skip(&mut self, e: ParseIssue) {
        self.out.issues.push(e);
        self.skip_stmt();
    }
    fn name(&mut self, what: &str) -> Result<Sp<String>, ParseIssue> {
        match self.peek() {
            Some(t) if matches!(t.kind, Kind::Word | Kind::Str) => {
                self.i += 1;
                Ok(Sp::new(t.text.clone(), t.span))
            }
            Some(t) if t.kind == Kind::Var => Err(error(
                t.span,
                format!("`${}` is not defined", t.text),
                "undefined variable",
            )),
            _ => Err(error(
                self.here(),
                format!("expected {what}"),
                format!("{what} missing"),
            )),
        }
    }

    fn script(&mut self) {
        while let Some(t) = self.peek() {
            if matches!(t.kind, Kind::Newline | Kind::Handle) || t.punct(";") {
                self.i += 1;
                continue;
            }
            if let Err(e) = self.command() {
                self.err_skip(e);
            }
            // A stray `}` at top level.
            if let Some(t) = self.peek() {
                if t.punct("}") {
                    self.out
                        .issues
                        .push(error(t.span, "unmatched `}`", "nothing to close"));
                    self.i += 1;
                }
            }
        }
    }

    fn command(&mut self) -> Result<(), ParseIssue> {
        let Some(t) = self.next() else { return Ok(()) };
        if t.kind != Kind::Word {
            return Err(error(
                t.span,
                format!("unexpected `{}`", t.text),
                "expected a command",
            ));
        }
        match t.text.as_str() {
            "table" => self.add_table(t.span),
            "add" | "create" | "insert" | "replace" => {
                let what = self.name("what to add")?;
                match what.v.as_str() {
                    "table" => self.add_table(t.span),
                    "chain" => self.add_chain(t.span),
                    "rule" => self.add_rule(t),
                    "set" | "map" => self.add_set(t.span),
                    "element" => self.add_element(),
                    _ if t.text == "insert" || t.text == "replace" => Err(error(
                        what.span,
                        format!("`{} {}` is not a command", t.text, what.v),
                        "expected `rule`",
                    )),
                    _ => {
                        // counters, quotas, flowtables, ct helpers, ...: stateful objects, not filtering.
                        self.skip_stmt();
                        Ok(())
                    }
                }
            }
            "chain" => self.add_chain(t.span),
            "rule" => self.add_rule(t),
            "set" | "map" => self.add_set(t.span),
            "element" => self.add_element(),
            "delete" | "destroy" | "flush" => self.delete(t),
            "include" => {
                let f = self.name("a file name")?;
                self.out.issues.push(ParseIssue {
                    help: Some(
                        "give the included file to portolan as well, or paste its content here"
                            .into(),
                    ),
                    ..undecidable(
                        join(t.span, f.span),
                        format!("`include \"{}\"` is not followed", f.v),
                        "not read",
                    )
                });
                self.out.includes.push(f);
                self.skip_stmt();
                Ok(())
            }
            "define" | "redefine" | "undefine" => {
                self.skip_stmt();
                Ok(())
            }
            _ => Err(error(
                t.span,
                format!("`{}` is not an nft command", t.text),
                "unknown command",
            )),
        }
    }

    /// `[FAMILY] NAME`; `ip` when no family is written.
    fn target(&mut self) -> Result<Target, ParseIssue> {
        let t = self
            .peek()
            .ok_or_else(|| error(self.end_span(), "expected a table name", "table missing"))?;
        let next_is_name = self
            .peek_at(1)
            .is_some_and(|n| matches!(n.kind, Kind::Word | Kind::Str));
        let (family, start) = match TableFamily::parse(&t.text) {
            Some(f) if t.kind == Kind::Word && next_is_name => {
                self.i += 1;
                (Sp::new(f, t.span), t.span)
            }
            _ => (
                Sp::new(TableFamily::Ip, Span::new(t.span.start, t.span.start)),
                t.span,
            ),
        };
        let table = self.name("a table name")?;
        Ok(Target {
            family,
            span: join(start, table.span),
            table,
        })
    }

    fn table_index(&mut self, tg: &Target, create: bool) -> Option<usize> {
        let found = self
            .out
            .tables
            .iter()
            .position(|t| t.family.v == tg.family.v && t.name.v == tg.table.v);
        if found.is_some() || !create {
            return found;
        }
        self.out.tables.push(Table {
            family: tg.family.clone(),
            name: tg.table.clone(),
            span: tg.span,
            chains: Vec::new(),
            sets: Vec::new(),
            handle: None,
        });
        Some(self.out.tables.len() - 1)
    }

    fn no_table(&self, tg: &Target) -> ParseIssue {
        error(
            tg.span,
            format!("no table {} {}", tg.family.v.name(), tg.table.v),
            "table not declared before",
        )
    }

    fn add_table(&mut self, start: Span) -> Result<(), ParseIssue> {
        let mut tg = self.target()?;
        tg.span = join(start, tg.span);
        let ti = self.table_index(&tg, true).unwrap_or(0);
        if self.peek().is_some_and(|t| t.punct("{")) {
            self.i += 1;
            self.table_body(ti);
        }
        Ok(())
    }

    /// The next item of a `{ ... }` body (its first token, not eaten), or `None` at the body's
    /// end: the `}` eaten, or the input ended (an issue says the `what`'s `{` is not closed).
    /// Separators are skipped; the `# handle N` right after the `{` goes into `handle`.
    fn body_item(
        &mut self,
        what: &str,
        first: &mut bool,
        handle: &mut Option<u64>,
    ) -> Option<&'t Tok> {
        loop {
            let Some(t) = self.peek() else {
                self.out.issues.push(error(
                    self.end_span(),
                    format!("the {what}'s `{{` is not closed"),
                    "expected `}`",
                ));
                return None;
            };
            self.i += 1;
            if t.kind == Kind::Handle {
                if *first {
                    *handle = t.text.parse().ok();
                }
                continue;
            }
            *first = false;
            if t.kind == Kind::Newline || t.punct(";") {
                continue;
            }
            if t.punct("}") {
                return None;
            }
            self.i -= 1;
            return Some(t);
        }
    }

    fn table_body(&mut self, ti: usize) {
        let (mut first, mut handle) = (true, None);
        while let Some(t) = self.body_item("table", &mut first, &mut handle) {
            self.i += 1;
            let r = match t.text.as_str() {
                "chain" if t.kind == Kind::Word => self
                    .name("a chain name")
                    .map(|n| self.chain_decl(ti, n, t.span)),
                "set" | "map" if t.kind == Kind::Word => self
                    .name("a set name")
                    .and_then(|n| self.set_decl(ti, n, t.span)),
                "include" if t.kind == Kind::Word => {
                    self.i -= 1;
                    self.command()
                }
                "define" | "redefine" | "undefine" | "flags" | "comment"
                    if t.kind == Kind::Word =>
                {
                    self.skip_stmt();
                    Ok(())
                }
                "flowtable" | "counter" | "quota" | "limit" | "ct" | "secmark" | "synproxy"
                | "tunnel"
                    if t.kind == Kind::Word =>
                {
                    self.skip_stmt();
                    Ok(())
                }
                _ => Err(error(
                    t.span,
                    format!("`{}` does not belong in a table", t.text),
                    "expected chain, set or map",
                )),
            };
            if let Err(e) = r {
                self.err_skip(e);
            }
        }
        if let (Some(h), Some(t)) = (handle, self.out.tables.get_mut(ti)) {
            t.handle = Some(h);
        }
    }

    fn chain_decl(&mut self, ti: usize, name: Sp<String>, start: Span) {
        let ci = self
            .chain_index(ti, &name, join(start, name.span), true)
            .unwrap_or(0);
        if self.peek().is_some_and(|t| t.punct("{")) {
            self.i += 1;
            self.chain_body(ti, ci);
        }
    }

    fn chain_body(&mut self, ti: usize, ci: usize) {
        let family = self.out.tables[ti].family.v;
        let (mut first, mut handle) = (true, None);
        let mut base_failed = false;
        while let Some(t) = self.body_item("chain", &mut first, &mut handle) {
            let r = if t.word("type") && self.peek_at(2).is_some_and(|h| h.word("hook")) {
                self.i += 1;
                let b = self.base_spec(family);
                base_failed = b.is_err();
                b.map(|b| self.out.tables[ti].chains[ci].base = Some(b))
            } else if t.word("policy") {
                self.i += 1;
                self.name("a policy")
                    .map(|p| match &mut self.out.tables[ti].chains[ci].base {
                        Some(b) => b.policy = Some(p),
                        // The type line was reported already.
                        None if base_failed => {}
                        None => self.out.issues.push(error(
                            p.span,
                            "`policy` in a chain with no hook",
                            "not a base chain",
                        )),
                    })
            } else if (t.word("comment")
                && self
                    .peek_at(2)
                    .is_none_or(|n| n.kind == Kind::Newline || n.punct(";") || n.punct("}")))
                || t.word("devices")
            {
                self.skip_stmt();
                Ok(())
            } else {
                self.rule_line(ti, ci, None)
            };
            if let Err(e) = r {
                self.err_skip(e);
            }
        }
        let chain = self
            .out
            .tables
            .get_mut(ti)
            .and_then(|t| t.chains.get_mut(ci));
        if let (Some(h), Some(c)) = (handle, chain) {
            c.handle = Some(h);
        }
    }

    /// `type KIND hook HOOK [device D] priority P` (the `;` and the policy are separate).
    fn base_spec(&mut self, family: TableFamily) -> Result<BaseChain, ParseIssue> {
        let kind = self.name("a chain type")?;
        self.i += 1; // `hook`
        let hook = self.name("a hook")?;
        let mut device = None;
        let mut priority = None;
        while !self.at_end_of_stmt() {
            let t = self
                .next()
                .ok_or_else(|| error(self.end_span(), "expected `priority`", "missing"))?;
            match t.text.as_str() {
                "device" => device = Some(self.name("a device")?),
                "devices" => {
                    self.skip_stmt();
                }
                "priority" => priority = Some(self.priority(family)?),
                _ => {
                    return Err(error(
                        t.span,
                        format!("unexpected `{}` in a base chain's type", t.text),
                        "expected `priority`",
                    ))
                }
            }
        }
        let priority = priority.ok_or_else(|| {
            error(
                join(kind.span, hook.span),
                "a base chain needs a `priority`",
                "no priority",
            )
        })?;
        Ok(BaseChain {
            kind,
            hook,
            priority,
            policy: None,
            device,
        })
    }

    fn priority(&mut self, family: TableFamily) -> Result<Sp<i32>, ParseIssue> {
        let t = self.name("a priority")?;
        let base = match t.v.parse::<i32>() {
            Ok(n) => n,
            Err(_) => named_priority(family, &t.v).ok_or_else(|| {
                error(
                    t.span,
                    format!(
                        "`{}` is not a priority of the {} family",
                        t.v,
                        family.name()
                    ),
                    "unknown priority",
                )
            })?,
        };
        let mut span = t.span;
        let mut value = base;
        if let Some(op) = self.peek().filter(|o| o.punct("+") || o.word("-")) {
            let n = self
                .peek_at(1)
                .filter(|n| n.kind == Kind::Word)
                .and_then(|n| n.text.parse::<i32>().ok().map(|v| (v, n.span)));
            if let Some((n, s)) = n {
                self.i += 2;
                value = if op.text == "+" {
                    base.saturating_add(n)
                } else {
                    base.saturating_sub(n)
                };
                span = join(span, s);
            }
        } else if let Some(n) = self
            .peek()
            .filter(|n| n.kind == Kind::Word && n.text.starts_with('-'))
            .and_then(|n| n.text.parse::<i32>().ok().map(|v| (v, n.span)))
        {
            // `filter -10`
            self.i += 1;
            value = base.saturating_add(n.0);
            span = join(span, n.1);
        }
        Ok(Sp::new(value, span))
    }

    /// One rule from here to the end of its line (braces may span lines); appended to the
    /// chain, or placed by `at`.
    fn rule_line(&mut self, ti: usize, ci: usize, at: Option<Place>) -> Result<(), ParseIssue> {
        let start = self.i;
        let mut depth = 0usize;
        let mut handle = None;
        let mut toks: Vec<Tok> = Vec::new();
        while let Some(t) = self.peek() {
            if depth == 0 && (t.kind == Kind::Newline || t.punct(";") || t.punct("}")) {
                break;
            }
            if t.punct("{") {
                depth += 1;
            } else if t.punct("}") {
                depth -= 1;
            }
            self.i += 1;
            if t.kind == Kind::Handle {
                if depth == 0 {
                    handle = t.text.parse().ok();
                }
                continue;
            }
            if t.kind != Kind::Newline {
                toks.push(t.clone());
            }
        }
        if toks.is_empty() {
            return Ok(());
        }
        let span = self.toks[start..self.i]
            .iter()
            .filter(|t| t.kind != Kind::Handle && t.kind != Kind::Newline)
            .map(|t| t.orig)
            .reduce(join)
            .unwrap_or_default();
        let mut cur = Cur {
            toks: &toks,
            i: 0,
            dynamic_sets: Vec::new(),
        };
        let rule = cur.rule(span, handle);
        self.dynamic_sets.append(&mut cur.dynamic_sets);
        let rule = rule?;
        let rules = &mut self.out.tables[ti].chains[ci].rules;
        match at {
            None => rules.push(rule),
            Some(Place::Front) => rules.insert(0, rule),
            Some(Place::Before(i)) => rules.insert(i.min(rules.len()), rule),
            Some(Place::After(i)) => rules.insert((i + 1).min(rules.len()), rule),
        }
        Ok(())
    }

    fn add_chain(&mut self, start: Span) -> Result<(), ParseIssue> {
        let tg = self.target()?;
        let name = self.name("a chain name")?;
        let ti = self.table_index(&tg, true).unwrap_or(0);
        self.chain_decl(ti, name, start);
        Ok(())
    }

    fn add_set(&mut self, start: Span) -> Result<(), ParseIssue> {
        let tg = self.target()?;
        let name = self.name("a set name")?;
        let ti = self.table_index(&tg, true).unwrap_or(0);
        self.set_decl(ti, name, start)
    }

    /// `add|insert rule [FAMILY] TABLE CHAIN [position N | handle N | index N] STATEMENTS`
    fn add_rule(&mut self, cmd: &Tok) -> Result<(), ParseIssue> {
        let tg = self.target()?;
        let chain = self.name("a chain name")?;
        let ti = self
            .table_index(&tg, false)
            .ok_or_else(|| self.no_table(&tg))?;
        let ci = self
            .chain_index(ti, &chain, chain.span, false)
            .ok_or_else(|| {
                error(
                    chain.span,
                    format!("no chain `{}` in table {}", chain.v, tg.table.v),
                    "chain not declared before",
                )
            })?;
        let insert = cmd.text == "insert";
        let mut at = insert.then_some(Place::Front);
        if let Some(k) = self.peek().filter(|k| {
            matches!(k.text.as_str(), "position" | "handle" | "index") && k.kind == Kind::Word
        }) {
            self.i += 1;
            let n = self.name("a number")?;
            let num: u64 = n.v.parse().map_err(|_| {
                error(
                    n.span,
                    format!("`{}` is not a number", n.v),
                    "expected a number",
                )
            })?;
            let rules = &self.out.tables[ti].chains[ci].rules;
            let idx = if k.text == "index" {
                usize::try_from(num).ok()
            } else {
                rules.iter().position(|r| r.handle == Some(num))
            };
            match idx {
                Some(i) if insert => at = Some(Place::Before(i)),
                Some(i) => at = Some(Place::After(i)),
                None => self.out.issues.push(undecidable(
                    n.span,
                    format!(
                        "no rule with {} {} in chain `{}`: the rule is placed at the {}",
                        k.text,
                        num,
                        chain.v,
                        if insert { "start" } else { "end" }
                    ),
                    "position not known",
                )),
            }
            if cmd.text == "replace" {
                if let Some(i) = idx.filter(|&i| i < self.out.tables[ti].chains[ci].rules.len()) {
                    self.out.tables[ti].chains[ci].rules.remove(i);
                    at = Some(Place::Before(i));
                }
            }
        }
        self.rule_line(ti, ci, at)
    }
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Front,
    Before(usize),
    After(usize),
}

fn join(a: Span, b: Span) -> Span {
    if b.end >= a.start {
        Span::new(a.start.min(b.start), b.end.max(a.end))
    } else {
        a
    }
}

#[cfg(test)]
mod tests;
