//! A rule of the common model: a box of packet space it matches, what it does to them, the
//! conditions the engine cannot evaluate, and where it came from.

use super::ports::ConnState;
use super::space::PacketBox;
use super::span::Span;

pub type RuleId = usize;
pub type ChainId = usize;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Non-terminating, and from here on the packets it matches are seen in this connection state:
    /// by the rest of this evaluation and by the later stages of the pipeline (`-j NOTRACK`, `-j CT
    /// --notrack` in `raw`: `Untracked`; see `model::conntrack`). What is reported stays the
    /// packets as they arrived.
    SetState(ConnState),
    /// Non-terminating, and from here on the packets it matches carry a changed mark (`-j MARK`,
    /// `-j CONNMARK --restore-mark`; see `model::mark`): later `-m mark` tests on their path see
    /// it.
    SetMark(super::mark::MarkOp),
    /// Terminating in a translating policy (`-t nat`: `DNAT`, `REDIRECT`): the packets are let
    /// through it, and later stages see them with this destination (`model::nat`).
    Translate(super::nat::Translation),
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
            Action::SetState(_) => "set-state",
            Action::SetMark(_) => "set-mark",
            Action::Translate(_) => "translate",
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
    pub label: std::sync::Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matches: PacketBox,
    /// Conditions the engine cannot decide (`-m set --match-set x src` without the ipset, `-m
    /// limit`, ...). When non-empty, a packet inside `matches` may or may not match: evaluation
    /// follows both outcomes and only a piece on which they agree is decided.
    pub undecidable: Vec<String>,
    /// A test of the packet mark (`-m mark --mark`), decided where earlier rules on the path set
    /// the bits it tests (its reason is also in `undecidable`: see `model::mark`).
    pub mark: Option<super::mark::MarkMatch>,
    pub action: Action,
    pub prov: Provenance,
    /// The rule's own comment (`-m comment`, NSG description), if any.
    pub comment: Option<String>,
    /// The rule's identity on its platform (see [`NativeRef`]).
    pub native: NativeRef,
    /// The platform put the rule there and nobody can delete it (Azure's default rules, a network
    /// ACL's `*` rule): it is evaluated like any other, but never reported as shadowed or
    /// redundant, and a fix never edits it.
    pub builtin: bool,
}

/// What a rule is called on its own platform: what a fix, a waiver and a fingerprint refer to.
/// Labels (`filter/INPUT #7`) are for display and are never parsed back into these.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub enum NativeRef {
    /// A rule the lowering made up (a stand-in, a default with no source).
    #[default]
    None,
    /// iptables / ip6tables: the rule's chain in its policy (the table), its 1-based position in
    /// the chain as written, and a hash of its text (whitespace folded, counters left out), which
    /// stays the same when rules are inserted above it.
    Chain {
        chain: ChainId,
        index: u32,
        content: u64,
    },
    /// An nftables rule: its family, table and chain, its handle when `nft -a` printed one, its
    /// 1-based position in the chain, and a hash of its text (counters and handle left out).
    /// The names are shared by every rule of the chain.
    Nft {
        family: std::sync::Arc<str>,
        table: std::sync::Arc<str>,
        chain: std::sync::Arc<str>,
        handle: Option<u64>,
        index: u32,
        content: u64,
    },
    /// An Azure NSG rule: its name (unique in the NSG) and priority.
    Nsg { name: String, priority: u32 },
    /// An AWS security-group permission: the group's id, its direction, and a hash of what it
    /// admits (protocol, ports, peer).
    SecurityGroup {
        group_id: String,
        egress: bool,
        content: u64,
    },
    /// An AWS network-ACL entry: the ACL's id, its rule number and direction.
    NetworkAcl {
        acl_id: String,
        number: u32,
        egress: bool,
    },
    /// A Windows Defender Firewall rule: its id (the registry value name, `Name` in PowerShell,
    /// the rule name in netsh), whether it is enabled, and its direction.
    Windows {
        id: String,
        enabled: bool,
        outbound: bool,
        /// The program, service or Store app package the rule is scoped to (`App=`, `Svc=`,
        /// `AppPkgId=`): it matches only their traffic (`model::app`); empty = any.
        scopes: Vec<super::app::AppScope>,
    },
}

impl NativeRef {
    /// A stable text of the identity, for fingerprints and waivers, written at the end of `out`:
    /// no positions, only names and content (`Chain` keeps the chain name given by the caller).
    /// A finding's identity key is the policy's name and this, made for each label of every
    /// finding, so it is written in place rather than returned.
    pub fn write_stable_key(&self, chain_name: Option<&str>, out: &mut String) {
        use std::fmt::Write;
        let side = |egress: bool| if egress { "egress" } else { "ingress" };
        // writing into a String cannot fail
        let _ = match self {
            NativeRef::None => Ok(()),
            NativeRef::Chain { content, .. } => {
                write!(out, "chain {} {content:016x}", chain_name.unwrap_or(""))
            }
            NativeRef::Nft {
                family,
                table,
                chain,
                content,
                ..
            } => write!(out, "nft {family} {table} {chain} {content:016x}"),
            NativeRef::Nsg { name, .. } => write!(out, "nsg-rule {name}"),
            NativeRef::SecurityGroup {
                group_id,
                egress,
                content,
            } => write!(out, "sg {group_id} {} {content:016x}", side(*egress)),
            NativeRef::NetworkAcl {
                acl_id,
                number,
                egress,
            } => write!(out, "nacl {acl_id} {} {number}", side(*egress)),
            NativeRef::Windows { id, .. } => write!(out, "windows {id}"),
        };
    }
}

/// A stable 64-bit hash of a rule's words (the caller leaves out what changes between exports,
/// such as iptables counters). FNV-1a: the same on every run and platform, unlike std's hasher.
/// FNV-1a as a [`std::hash::Hasher`]: a hash of a value's [`Hash`](std::hash::Hash) that is the
/// same in every run (unlike `DefaultHasher`'s, which is not promised across releases), for
/// native identities computed from what a rule means.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub fn content_hash<'a>(words: impl IntoIterator<Item = &'a str>) -> u64 {
    content_hash_bytes(words.into_iter().map(str::as_bytes))
}

/// [`content_hash`] of words given as bytes (the same hash for the same words).
pub fn content_hash_bytes<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for &b in w {
            h = (h ^ b as u64).wrapping_mul(PRIME);
        }
        h = (h ^ b' ' as u64).wrapping_mul(PRIME);
    }
    h
}

/// The words of `text` as `str::split_whitespace` finds them, as bytes: an ASCII text is split
/// on its bytes (no character decoding), any other as `split_whitespace` does.
pub fn words_of(text: &str) -> Words<'_> {
    if text.is_ascii() {
        Words::Ascii(text.as_bytes())
    } else {
        Words::Other(text.split_whitespace())
    }
}

/// The words of a text ([`words_of`]).
pub enum Words<'a> {
    /// What is left of an ASCII text.
    Ascii(&'a [u8]),
    Other(std::str::SplitWhitespace<'a>),
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Words::Ascii(rest) => {
                // ASCII's Unicode white space: tab, line feed, vertical tab, form feed, return,
                // space
                let space = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
                let start = rest.iter().position(|b| !space(b))?;
                let word = &rest[start..];
                let end = word.iter().position(space).unwrap_or(word.len());
                *rest = &word[end..];
                Some(&word[..end])
            }
            Words::Other(words) => words.next().map(str::as_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte splitter finds `split_whitespace`'s words, so a rule's content hash is the
        /// same whichever way its line is split (ASCII control characters, the vertical tab
        /// and non-ASCII white space included).
        #[test]
        fn words_of_splits_as_split_whitespace(
            text in "[a-z0-9 \t\n\x0b\x0c\r\x1c\u{85}\u{a0}\u{3000}é\\[\\]:-]{0,40}"
        ) {
            let words: Vec<&[u8]> = words_of(&text).collect();
            let want: Vec<&[u8]> = text.split_whitespace().map(str::as_bytes).collect();
            prop_assert_eq!(&words, &want);
            prop_assert_eq!(
                content_hash_bytes(words),
                content_hash(text.split_whitespace())
            );
        }
    }

    #[test]
    fn words_of_an_ascii_line() {
        let line = "[3:180] -A INPUT\t-s 10.0.0.0/8\x0b-j ACCEPT ";
        let words: Vec<&[u8]> = words_of(line).collect();
        assert_eq!(
            words,
            [
                &b"[3:180]"[..],
                b"-A",
                b"INPUT",
                b"-s",
                b"10.0.0.0/8",
                b"-j",
                b"ACCEPT"
            ]
        );
    }
}
