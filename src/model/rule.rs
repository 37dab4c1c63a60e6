//! A rule of the common model: a box of packet space it matches, what it does to them, the
//! conditions the engine cannot evaluate, and where it came from.

use super::space::PacketBox;
use super::span::Span;

pub type RuleId = usize;
pub type ChainId = usize;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Drop,
    Reject,
    /// Back to the calling chain (or the chain policy in a built-in chain).
    Return,
    /// Call a user chain; packets that fall off its end or RETURN come back.
    Jump(ChainId),
    /// Go to a user chain; packets that come back from it return to *our* caller.
    Goto(ChainId),
    /// Non-terminating (LOG, NFLOG, MARK, counting rules): evaluation goes on with the next rule.
    Continue,
    /// Terminating, but the verdict is not in the export (`QUEUE`: a userspace program decides; an
    /// unknown target): matching packets are unknown.
    Opaque,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::Jump(_) => "jump",
            Action::Goto(_) => "goto",
            Action::Continue => "continue",
            Action::Opaque => "opaque",
        }
    }
}

/// Where a rule (or a chain policy, or a default) was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// Byte span of the rule in the decoded file text.
    pub span: Span,
    /// 1-based line of the span's start.
    pub line: u32,
    /// 1-based column of the span's start.
    pub column: u32,
    /// Human label: `filter/INPUT #7`, `nsg-zvm/AllowZerto (priority 200)`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matches: PacketBox,
    /// Conditions the engine cannot decide (`-m set --match-set x src` without the ipset, `-m
    /// limit`, ...). When non-empty, a packet inside `matches` may or may not match: evaluation
    /// follows both outcomes and only a piece on which they agree is decided.
    pub undecidable: Vec<String>,
    pub action: Action,
    pub prov: Provenance,
    /// The rule's own comment (`-m comment`, NSG description), if any.
    pub comment: Option<String>,
}
