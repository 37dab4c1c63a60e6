//! Input formats. Each module parses one format into its own small AST (never panicking, collecting
//! [`ParseIssue`]s with spans) and lowers it into the common model.

pub mod detect;
pub mod iptables;
pub mod source;

use crate::model::Span;

/// What kind of problem a parser found. Maps onto finding codes Z001 / Z002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Z001: the line or value cannot be parsed; the line is skipped, the rest is still read.
    ParseError,
    /// Z002: parsed, but a match the engine cannot evaluate (unknown module, ipset, limit...).
    Undecidable,
}

/// A problem found while parsing or lowering one input file, with the span of the bad token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIssue {
    pub kind: IssueKind,
    /// Span of the offending token (the label goes here).
    pub span: Span,
    /// One sentence: what is wrong ("unknown option `--dprt`").
    pub message: String,
    /// Short text for the label under the token ("not an iptables option").
    pub label: String,
    /// What to do about it, if we can say.
    pub help: Option<String>,
}
