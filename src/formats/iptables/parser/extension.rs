//! Options of matches and targets (`--name`): who owns each, read as getopt reads them
//! (`getopt.rs`), with the older guesses for modules whose options Portolan does not list.

use std::borrow::Cow;

use super::super::ast::Token;
use super::super::getopt::{match_options, resolve, target_options, Found, Holder};
use super::super::lexer::{slice, Word};
use super::super::options::{
    builtin_short, canonical_match_option, is_proto_module, is_proto_option, known_option, Arity,
    Builtin,
};
use super::super::{error, error_help};
use super::{describe, Ctx, RuleParser};
use crate::formats::ParseIssue;
use crate::model::Span;

/// Which module or target owns an option.
pub(super) enum Owner<'a> {
    Module(Token<'a>),
    Target,
}

/// What getopt made of a long option.
enum Getopt<'a> {
    /// One of iptables' own options, abbreviated (`--sou` is `-s`).
    Builtin(Builtin),
    /// An option of this match or target, by its canonical name.
    Option(Owner<'a>, &'static str),
}

impl<'w, 'a> RuleParser<'w, 'a> {
    /// The option tables of what is loaded, or `None` when one of them is not known (then
    /// nothing may be read as an abbreviation).
    fn loaded_tables(&mut self) -> bool {
        self.tables.clear();
        let target = self.target.as_ref().map(|t| t.name.text.as_ref());
        for l in self.loaded.iter() {
            let t = match l {
                Ctx::Module(m) => match_options(&m.text),
                Ctx::Target => target.and_then(target_options),
                Ctx::None => None,
            };
            match t {
                Some(t) => self.tables.push(t),
                None => return false,
            }
        }
        true
    }

    /// Read `--raw_name` as getopt does (`getopt.rs`): exactly or as an unambiguous prefix of an
    /// option of iptables or of a match or target loaded so far, else of the implicit match of
    /// `-p PROTO` (which iptables loads then). `Ok(None)`: no table says; the caller guesses.
    fn getopt(&mut self, raw_name: &str, w: &Word<'a>) -> Result<Option<Getopt<'a>>, ParseIssue> {
        let all_known = self.loaded_tables();
        let mut found = resolve(raw_name, &self.tables[..]);
        if let Found::One(_, full, _) = found {
            if !all_known && full != raw_name {
                // an unknown module loaded may have an option of that name: take it as written
                found = Found::None;
            }
        }
        let mut proto = false;
        if found == Found::None && all_known {
            if let Some(p) = self.proto_module.clone() {
                let loaded = self
                    .loaded
                    .iter()
                    .any(|l| matches!(l, Ctx::Module(m) if m.text == p.text));
                if let (false, Some(t)) = (loaded, match_options(&p.text)) {
                    let start = self.tables.len();
                    self.tables.push(t);
                    found = match resolve(raw_name, &self.tables[start..]) {
                        Found::One(Holder::Scope(_), full, canon) => {
                            proto = true;
                            Found::One(Holder::Scope(start), full, canon)
                        }
                        Found::Ambiguous(v) => Found::Ambiguous(v),
                        _ => Found::None,
                    };
                }
            }
        }
        match found {
            Found::None => Ok(None),
            Found::Ambiguous(names) => Err(error_help(
                w.tok.span,
                format!("option {} is ambiguous", describe(w)),
                "an abbreviation of several options",
                format!(
                    "iptables refuses an abbreviation that fits several options: {}",
                    names
                        .iter()
                        .map(|n| format!("`--{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Found::One(Holder::Builtin, full, canon) => {
                match canon.as_bytes().first().copied().and_then(builtin_short) {
                    Some(b) => Ok(Some(Getopt::Builtin(b))),
                    None => Err(error(
                        w.tok.span,
                        format!(
                            "{} (`--{full}`) cannot be used in a save/restore file",
                            describe(w)
                        ),
                        "not a rule option",
                    )),
                }
            }
            Found::One(Holder::Scope(i), _, canon) => {
                let owner = if proto {
                    let p = self.proto_module.clone();
                    if let Some(p) = &p {
                        self.loaded.push(Ctx::Module(p.clone()));
                    }
                    p.map(Owner::Module)
                } else {
                    // the i-th table is the i-th thing loaded
                    match self.loaded.get(i) {
                        Some(Ctx::Module(m)) => Some(Owner::Module(m.clone())),
                        Some(Ctx::Target) => Some(Owner::Target),
                        _ => None,
                    }
                };
                Ok(owner.map(|o| Getopt::Option(o, canon)))
            }
        }
    }

    /// `--name` of a match or a target.
    pub(super) fn extension_option(
        &mut self,
        raw_name: &str,
        w: &Word<'a>,
        bang: Option<Span>,
    ) -> Result<(), ParseIssue> {
        match self.getopt(raw_name, w)? {
            Some(Getopt::Builtin(b)) => return self.builtin(b, w, bang),
            Some(Getopt::Option(owner, canon)) => {
                let arity = known_option(canon).map_or(Arity::Guess, |(a, _)| a);
                return self.take_option(w, bang, owner, Cow::Borrowed(canon), arity);
            }
            None => {}
        }
        let canon_static = canonical_match_option(raw_name);
        let canon: &str = canon_static.unwrap_or(raw_name);
        let known = known_option(raw_name);
        let is_target_opt = known.is_some_and(|(_, t)| t);

        // Which module or target owns it.
        let from_ctx = |c: &Ctx<'a>| match c {
            Ctx::Module(m) => Some(Owner::Module(m.clone())),
            Ctx::Target => Some(Owner::Target),
            Ctx::None => None,
        };
        let mut owner: Option<Owner<'a>> = None;
        if is_proto_option(canon) {
            owner = match &self.ctx {
                Ctx::Module(m) if is_proto_module(&m.text) => Some(Owner::Module(m.clone())),
                _ => self
                    .explicit_proto_module
                    .clone()
                    .or_else(|| self.proto_module.clone())
                    .map(Owner::Module),
            };
        }
        if owner.is_none()
            && is_target_opt
            && self.target.is_some()
            && matches!(self.ctx, Ctx::Module(_))
        {
            owner = Some(Owner::Target);
        }
        let owner = owner
            .or_else(|| from_ctx(&self.ctx))
            .or_else(|| from_ctx(&self.last))
            .or_else(|| self.proto_module.clone().map(Owner::Module));
        let Some(owner) = owner else {
            return Err(if is_proto_option(canon) {
                error_help(
                    w.tok.span,
                    format!(
                        "{} needs a protocol: no `-p` or `-m` before it",
                        describe(w)
                    ),
                    "no protocol for this option",
                    "write `-p tcp` (or udp, icmp, ...) before it, or `-m tcp`",
                )
            } else {
                error_help(
                    w.tok.span,
                    format!(
                        "option {} does not belong to any match or target",
                        describe(w)
                    ),
                    "no `-m` or `-j` before it",
                    "match options follow `-m MODULE`, target options follow `-j TARGET`",
                )
            });
        };

        let arity = known.map_or(Arity::Guess, |(a, _)| a);
        let name = match canon_static {
            Some(s) => Cow::Borrowed(s),
            None => slice(&w.tok.text, 2, 2 + raw_name.len()),
        };
        self.take_option(w, bang, owner, name, arity)
    }

    /// Read the values of option `w` and give it to `owner`.
    fn take_option(
        &mut self,
        w: &Word<'a>,
        bang: Option<Span>,
        owner: Owner<'a>,
        name: Cow<'a, str>,
        arity: Arity,
    ) -> Result<(), ParseIssue> {
        let (legacy, values) = self.values_with_legacy(w, arity, bang)?;
        match owner {
            // a table that is only checked: the option was read, nothing is kept
            _ if !self.keep => {}
            Owner::Module(m) => {
                let arg = Self::make_arg(w, name, Some(m), bang, legacy, values);
                self.args.push(arg);
            }
            Owner::Target => {
                if let Some(t) = self.target.as_mut() {
                    let arg = Self::make_arg(w, name, Some(t.name.clone()), bang, legacy, values);
                    t.span = t.span.join(arg.span);
                    self.target_args.push(arg);
                }
            }
        }
        Ok(())
    }
}
