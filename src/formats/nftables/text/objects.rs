//! Commands and blocks on objects other than rules: `add element`, `delete`/`destroy`/`flush`,
//! and `set`/`map` declarations (see `grammars/nftables.ebnf`).

use super::cursor::{error, Cur};
use super::lex::{Kind, Tok};
use super::{join, undecidable, Parser};
use crate::formats::nftables::ast::{Chain, Element, Set, Sp};
use crate::formats::ParseIssue;
use crate::model::Span;

impl Parser<'_> {
    /// The index of chain `name` in table `ti` (created when `create`), through the
    /// `chain_at` map.
    pub(super) fn chain_index(
        &mut self,
        ti: usize,
        name: &Sp<String>,
        span: Span,
        create: bool,
    ) -> Option<usize> {
        let tables = &self.out.tables;
        let at = self.chain_at.get_or_insert_with(|| {
            tables
                .iter()
                .enumerate()
                .flat_map(|(t, x)| {
                    x.chains
                        .iter()
                        .enumerate()
                        .map(move |(c, ch)| ((t, ch.name.v.clone()), c))
                })
                .collect()
        });
        let key = (ti, name.v.clone());
        if let Some(&c) = at.get(&key) {
            return Some(c);
        }
        if !create {
            return None;
        }
        let chains = &mut self.out.tables[ti].chains;
        at.insert(key, chains.len());
        chains.push(Chain {
            name: name.clone(),
            span,
            base: None,
            rules: Vec::new(),
            handle: None,
        });
        Some(chains.len() - 1)
    }

    /// `add element [FAMILY] TABLE SET { ... }`
    pub(super) fn add_element(&mut self) -> Result<(), ParseIssue> {
        let tg = self.target()?;
        let set = self.name("a set name")?;
        let els = self.brace_elements()?;
        let ti = self
            .table_index(&tg, false)
            .ok_or_else(|| self.no_table(&tg))?;
        match self.out.tables[ti]
            .sets
            .iter_mut()
            .find(|s| s.name.v == set.v)
        {
            Some(s) => s.elements.extend(els),
            None => {
                return Err(error(
                    set.span,
                    format!("no set `{}` in table {}", set.v, tg.table.v),
                    "set not declared before",
                ))
            }
        }
        Ok(())
    }

    pub(super) fn brace_elements(&mut self) -> Result<Vec<Element>, ParseIssue> {
        let start = self.i;
        if !self.peek().is_some_and(|t| t.punct("{")) {
            return Err(error(
                self.here(),
                "expected `{`",
                "elements start with `{`",
            ));
        }
        // Through the matching `}` (line ends inside do not matter).
        let mut depth = 0usize;
        let mut end = self.toks.len();
        for (j, t) in self.toks.iter().enumerate().skip(start) {
            if t.punct("{") {
                depth += 1;
            } else if t.punct("}") {
                depth -= 1;
                if depth == 0 {
                    end = j + 1;
                    break;
                }
            }
        }
        let toks: Vec<Tok> = self.toks[start + 1..end]
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Newline | Kind::Handle))
            .cloned()
            .collect();
        self.i = end;
        let mut cur = Cur {
            toks: &toks,
            i: 0,
            dynamic_sets: Vec::new(),
        };
        cur.elements()
    }

    /// `delete|destroy|flush ruleset|table|chain|set|map|rule|element ...`
    pub(super) fn delete(&mut self, cmd: &Tok) -> Result<(), ParseIssue> {
        let what = self.name("what to delete")?;
        let flush = cmd.text == "flush";
        if what.v == "ruleset" {
            self.out.tables.clear();
            self.chain_at = None;
            self.skip_stmt();
            return Ok(());
        }
        let tg = self.target()?;
        let ti = self.table_index(&tg, false);
        let ti = match ti {
            Some(ti) => ti,
            None if cmd.text == "destroy" || flush => {
                self.skip_stmt();
                return Ok(());
            }
            None => return Err(self.no_table(&tg)),
        };
        let table = &mut self.out.tables[ti];
        match what.v.as_str() {
            "table" if flush => {
                for c in &mut table.chains {
                    c.rules.clear();
                }
                for s in &mut table.sets {
                    s.elements.clear();
                }
            }
            "table" => {
                self.out.tables.remove(ti);
                self.chain_at = None;
            }
            "chain" | "rule" => {
                let name = self.name("a chain name")?;
                let table = &mut self.out.tables[ti];
                let Some(ci) = table.chains.iter().position(|c| c.name.v == name.v) else {
                    if cmd.text == "destroy" {
                        self.skip_stmt();
                        return Ok(());
                    }
                    return Err(error(
                        name.span,
                        format!("no chain `{}`", name.v),
                        "chain not declared before",
                    ));
                };
                if what.v == "rule" {
                    self.i += 1; // `handle`
                    let n = self.name("a rule handle")?;
                    let h: Option<u64> = n.v.parse().ok();
                    let rules = &mut self.out.tables[ti].chains[ci].rules;
                    match rules
                        .iter()
                        .position(|r| r.handle.is_some() && r.handle == h)
                    {
                        Some(i) => {
                            rules.remove(i);
                        }
                        None => self.out.issues.push(undecidable(
                            n.span,
                            format!("no rule with handle {} to delete", n.v),
                            "rule not known",
                        )),
                    }
                } else if flush {
                    table.chains[ci].rules.clear();
                } else {
                    table.chains.remove(ci);
                    self.chain_at = None;
                }
            }
            "set" | "map" | "element" => {
                let name = self.name("a set name")?;
                let table = &mut self.out.tables[ti];
                if let Some(si) = table.sets.iter().position(|s| s.name.v == name.v) {
                    if flush {
                        table.sets[si].elements.clear();
                    } else if what.v == "element" {
                        self.out.issues.push(undecidable(
                            name.span,
                            format!("`delete element` on set `{}` is not applied", name.v),
                            "elements kept",
                        ));
                    } else {
                        table.sets.remove(si);
                    }
                }
            }
            _ => {}
        }
        self.skip_stmt();
        Ok(())
    }

    /// `set NAME { type ...; flags ...; elements = { ... } }` (or `map`).
    pub(super) fn set_decl(
        &mut self,
        ti: usize,
        name: Sp<String>,
        start: Span,
    ) -> Result<(), ParseIssue> {
        if !self.peek().is_some_and(|t| t.punct("{")) {
            return Err(error(
                self.here(),
                "expected `{` after the set's name",
                "set body missing",
            ));
        }
        self.i += 1;
        let mut set = Set {
            name,
            span: start,
            key_type: Vec::new(),
            data_type: None,
            flags: Vec::new(),
            elements: Vec::new(),
            dynamic: false,
        };
        loop {
            let Some(t) = self.next() else {
                self.out.issues.push(error(
                    self.end_span(),
                    "the set's `{` is not closed",
                    "expected `}`",
                ));
                break;
            };
            if matches!(t.kind, Kind::Newline | Kind::Handle) || t.punct(";") {
                continue;
            }
            if t.punct("}") {
                set.span = join(start, t.span);
                break;
            }
            let r: Result<(), ParseIssue> = match t.text.as_str() {
                "type" | "typeof" => {
                    self.set_type(&mut set);
                    Ok(())
                }
                "flags" => {
                    while let Some(f) = self.peek().filter(|f| f.kind == Kind::Word) {
                        self.i += 1;
                        if matches!(f.text.as_str(), "dynamic" | "timeout") {
                            set.dynamic = true;
                        }
                        set.flags.push(Sp::new(f.text.clone(), f.span));
                        if !self.peek().is_some_and(|c| c.punct(",")) {
                            break;
                        }
                        self.i += 1;
                    }
                    Ok(())
                }
                "timeout" => {
                    set.dynamic = true;
                    self.skip_stmt();
                    Ok(())
                }
                "elements" => {
                    if self.peek().is_some_and(|e| e.punct("=")) {
                        self.i += 1;
                    }
                    self.brace_elements().map(|els| set.elements.extend(els))
                }
                _ => {
                    // size, policy, counter, auto-merge, gc-interval, comment: no effect on matching.
                    self.skip_stmt();
                    Ok(())
                }
            };
            if let Err(e) = r {
                self.err_skip(e);
            }
        }
        let set_ti = &mut self.out.tables[ti].sets;
        match set_ti.iter_mut().find(|s| s.name.v == set.name.v) {
            Some(old) => {
                old.elements.append(&mut set.elements);
                old.dynamic |= set.dynamic;
            }
            None => set_ti.push(set),
        }
        Ok(())
    }

    /// `type A . B [: C . D]` / `typeof ip saddr . tcp dport [: verdict]`
    pub(super) fn set_type(&mut self, set: &mut Set) {
        let mut parts: Vec<Sp<String>> = Vec::new();
        let mut cur: Option<Sp<String>> = None;
        let mut data: Option<Sp<String>> = None;
        let mut in_data = false;
        while !self.at_end_of_stmt() {
            let Some(t) = self.next() else { break };
            if t.word(":") {
                if let Some(c) = cur.take() {
                    parts.push(c);
                }
                in_data = true;
                continue;
            }
            if in_data {
                data = Some(match data.take() {
                    Some(d) => Sp::new(format!("{} {}", d.v, t.text), join(d.span, t.span)),
                    None => Sp::new(t.text.clone(), t.span),
                });
                continue;
            }
            if t.word(".") {
                if let Some(c) = cur.take() {
                    parts.push(c);
                }
                continue;
            }
            cur = Some(match cur.take() {
                Some(c) => Sp::new(format!("{} {}", c.v, t.text), join(c.span, t.span)),
                None => Sp::new(t.text.clone(), t.span),
            });
        }
        if let Some(c) = cur {
            parts.push(c);
        }
        set.key_type = parts;
        set.data_type = data;
    }
}
