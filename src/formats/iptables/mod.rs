//! `iptables-save` / `ip6tables-save` dumps and hand-written `iptables-restore` input.
//!
//! Two stages, as everywhere in `formats`: [`parse`] turns the text into the small AST below (no
//! interpretation of addresses or ports, only structure, with a span on every token), then
//! `lower` (in this module) turns the AST into [`crate::model`] policies.
//! The grammar is written down in `grammars/iptables-save.ebnf`.
//!
//! ## How the parser is built
//! Lines are split with `str::find('\n')` (memchr underneath) and classified by their first byte;
//! rule lines are cut into words by a hand-written byte scanner that borrows every word from the
//! input (a word is copied only when it held a `\` escape or glued a quoted part to an unquoted
//! one). `nom` parses the small fixed pieces: `[pkts:bytes]` counters, numbers, the `# Generated
//! by` header. Blocks of lines are parsed on every core (see [`parse_parallel`]), each with one
//! reusable word buffer; a kept rule costs one `Vec` for its options (values are inline), a rule of
//! a table that is only checked costs no allocation.
//!
//! ## What it accepts, and what it reports
//! Everything `iptables-restore` accepts, plus a few hand-edited forms it rejects but which are
//! still worth auditing (a rule whose chain was never declared is kept, with an issue). Any
//! other bad line becomes one [`ParseIssue`] (Z001) with a span on the offending word, and the
//! line is skipped; the rest of the file is still read.
//!
//! Long options are looked up as getopt does (`getopt.rs`): exactly or as an unambiguous prefix
//! among iptables' own options and those of the matches and target loaded so far, then of the
//! implicit match of `-p PROTO`; when a loaded module's table is not known, only exact names.
//! `-D`, `-R`, `-F`, `-X` and `-Z` lines are kept in the AST ([`RuleOp`]) and applied in file
//! order by `lower` (`lower/edits.rs`).
//!
//! Arity of an option: a table (`known_option`) lists the options whose number of values is
//! known (0 for flags such as `--syn` or `--rsource`, 2 for `--tcp-flags`, `--match-set`,
//! `--add-set`, ...). An option that is not in the table takes exactly one value when the next
//! word is a value — it does not start with `-` (a quoted word always counts as a value) and is
//! not `!` — and none otherwise; `--opt ! value` is read as legacy negation of that one value.
//!
//! ## Where things are
//! - `ast.rs`: the AST ([`Dump`], [`Table`], [`ChainDecl`], [`RuleLine`], [`Arg`], [`Target`], ...);
//! - `lexer.rs`: cutting lines into words, and the small `nom` parsers;
//! - `options.rs`: tables of names (built-in chains and options, implicit protocol modules,
//!   option arities);
//! - `getopt.rs`: the long options of each match and target, and how getopt reads an
//!   abbreviation of one (`--dport` after `-m multiport` is `--dports`);
//! - `parser.rs`: the rule parser (one tokenised rule line into a [`RuleLine`]);
//! - `reader.rs`: [`parse`] and [`parse_parallel`], the parallel pass over blocks of lines and
//!   the sequential pass that tracks tables, chains and `COMMIT`;
//! - [`lower`]: the AST into [`crate::model`] policies.

mod ast;
mod getopt;
mod lexer;
pub use lexer::is_counter;
pub mod lower;
mod options;
mod parser;
mod reader;

pub use ast::{Arg, ChainDecl, Dump, Family, RuleLine, RuleOp, Table, Target, Token, Values};
pub use reader::{parse, parse_in_blocks_of, parse_parallel};

use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

// ------------------------------------------------------------------------------------------
// Issues

fn issue(
    kind: IssueKind,
    span: Span,
    message: impl Into<String>,
    label: impl Into<String>,
    help: Option<String>,
) -> ParseIssue {
    ParseIssue {
        kind,
        span,
        message: message.into(),
        label: label.into(),
        help,
    }
}

fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> ParseIssue {
    issue(IssueKind::ParseError, span, message, label, None)
}

fn error_help(
    span: Span,
    message: impl Into<String>,
    label: impl Into<String>,
    help: impl Into<String>,
) -> ParseIssue {
    issue(
        IssueKind::ParseError,
        span,
        message,
        label,
        Some(help.into()),
    )
}

#[cfg(test)]
mod tests;
