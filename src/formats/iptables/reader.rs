//! The reader: cuts the text into blocks of lines parsed on every core ([`pre_read`]), then
//! replays them in file order through one [`Reader`], which tracks tables, chain declarations,
//! `COMMIT` and lines outside any table.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Chain names are hashed a million times in a big dump: a fast hasher, not SipHash (the names
/// come from the file, but a slow map is the worst an adversarial file can cause here).
type FastHash = foldhash::fast::RandomState;

use super::ast::{ChainDecl, Dump, Family, Table, Token};
use super::lexer::{
    generated_by, is_blank, parse_counters, plain_words, sub, tokenize, Word, GENERATED_BY,
};
use super::options::builtin_chains;
use super::parser::{ArgScratch, LineKind, RuleParser};
use super::{error, error_help, issue};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Parse the text of an iptables-save / iptables-restore file. Never panics; a bad line becomes a
/// [`ParseIssue`] (Z001) with a span on the bad token and parsing continues with the next line.
pub fn parse(text: &str) -> Dump<'_> {
    parse_parallel(text, |_| true)
}

/// Parse a dump, keeping in the AST only the rules of the tables `keep` accepts (the others are
/// still checked, and their problems reported). Spans and line numbers are the same as
/// [`parse`]'s.
///
/// Large inputs are read on every core: the text is cut into blocks of whole lines, each block's
/// lines are tokenised and parsed on their own (a rule line needs nothing from the lines before
/// it but the table it is in, found by a quick scan for `*table` lines first), and then one
/// sequential pass over the parsed lines does what needs order: tables, chain declarations,
/// `COMMIT`, lines outside any table. Rules of a table that is not kept cost no allocation: their
/// options are checked and dropped, and a run of them in one chain is handed on as one item.
pub fn parse_parallel(text: &str, keep: fn(&str) -> bool) -> Dump<'_> {
    parse_in_blocks(text, keep, BLOCK)
}

/// [`parse_parallel`] with blocks of about `block` bytes instead of the default size: the result
/// must not depend on it (a unit test and the `iptables` fuzz target check that).
#[doc(hidden)]
pub fn parse_in_blocks_of(text: &str, keep: fn(&str) -> bool, block: usize) -> Dump<'_> {
    parse_in_blocks(text, keep, block)
}

pub(super) fn parse_in_blocks(text: &str, keep: fn(&str) -> bool, block: usize) -> Dump<'_> {
    use rayon::prelude::*;
    let blocks = blocks(text, block.max(1));
    // the table in effect where each block starts: the last `*table` line before it
    let last_tables: Vec<Option<&str>> = blocks
        .par_iter()
        .map(|&(s, e)| last_table_line(text, s, e))
        .collect();
    let mut keep_at_start = Vec::with_capacity(blocks.len());
    let mut current: Option<&str> = None;
    for last in &last_tables {
        // before any table every line is outside one: nothing to keep
        keep_at_start.push(current.is_some_and(keep));
        if last.is_some() {
            current = *last;
        }
    }
    let mut reader = Reader::new(text, keep);
    let mut base: u32 = 0;
    // a few blocks per core at a time: what the parallel pass leaves is replayed and freed
    // before the next wave, so memory does not grow with the file
    let wave = rayon::current_num_threads().max(1) * 4;
    for (blocks, keeps) in blocks.chunks(wave).zip(keep_at_start.chunks(wave)) {
        let pre: Vec<PreBlock<'_>> = blocks
            .par_iter()
            .zip(keeps.par_iter())
            .map(|(&(s, e), &k)| pre_read(text, s, e, k, keep))
            .collect();
        for block in pre {
            for item in block.items {
                reader.replay(item, base);
            }
            base = base.saturating_add(block.lines);
        }
    }
    reader.finish()
}

/// Bytes per block of lines read on one core.
const BLOCK: usize = 512 * 1024;

/// Cut `text` into blocks of about `size` bytes that end after a newline (the last one at the end).
fn blocks(text: &str, size: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / size + 1);
    let mut start = 0;
    while start < b.len() {
        let target = start.saturating_add(size).min(b.len());
        let end = match memchr::memchr(b'\n', &b[target..]) {
            Some(k) if target < b.len() => target + k + 1,
            _ => b.len(),
        };
        out.push((start, end));
        start = end;
    }
    if out.is_empty() {
        out.push((0, 0));
    }
    out
}

/// The name of the last `*table` line in `text[start..end]` (a block of whole lines), if any.
fn last_table_line(text: &str, start: usize, end: usize) -> Option<&str> {
    let b = text.as_bytes();
    let mut found = None;
    for k in memchr::memchr_iter(b'*', &b[start..end]) {
        let at = start + k;
        // only blanks (or the byte order mark) between the line start and the `*`
        let line_start = b[..at]
            .iter()
            .rposition(|&c| !is_blank(c))
            .map_or(0, |p| p + 1);
        let at_line_start = line_start == 0
            || b[line_start - 1] == b'\n'
            || (line_start == 3 && text.starts_with('\u{feff}'));
        if at_line_start {
            let line_end = memchr::memchr(b'\n', &b[at..end]).map_or(end, |n| at + n);
            let name = plain_words(sub(text, at + 1, line_end), at + 1)
                .next()
                .map_or("", |t| match t.text {
                    Cow::Borrowed(s) => s,
                    Cow::Owned(_) => "",
                });
            found = Some(name);
        }
    }
    found
}

/// One line, or a run of lines, as the parallel pass leaves it for the sequential one. Line
/// numbers are relative to the block.
enum Pre<'a> {
    /// A comment, `*table`, `:chain` or `COMMIT` line, read in the sequential pass.
    Line { start: usize, end: usize, no: u32 },
    /// A rule line (or `-N` / `-P` line), parsed.
    Parsed {
        content: &'a str,
        cstart: usize,
        span: Span,
        no: u32,
        parsed: Result<LineKind<'a>, ParseIssue>,
    },
    /// Consecutive rule lines of one chain of a table that is not kept, all well formed.
    Run {
        content: &'a str,
        cstart: usize,
        chain: Token<'a>,
        first: u32,
        last: u32,
        count: u32,
    },
}

struct PreBlock<'a> {
    items: Vec<Pre<'a>>,
    /// Lines in the block.
    lines: u32,
}

/// A line's content without surrounding blanks, with its start and span.
fn content_of(text: &str, start: usize, end: usize) -> (&str, usize, Span) {
    let raw = sub(text, start, end);
    let right = raw.trim_end_matches([' ', '\t', '\r']);
    let content = right.trim_start_matches([' ', '\t', '\r']);
    let cstart = start + (right.len() - content.len());
    (content, cstart, Span::new(cstart, cstart + content.len()))
}

/// Whether a line's content is `COMMIT` (possibly followed by more words).
fn is_commit(content: &str, cstart: usize) -> bool {
    content.starts_with("COMMIT")
        && plain_words(content, cstart)
            .next()
            .is_some_and(|w| w.text == "COMMIT")
}

/// The parallel pass over one block of lines.
fn pre_read<'a>(
    text: &'a str,
    start: usize,
    end: usize,
    mut keeping: bool,
    keep: fn(&str) -> bool,
) -> PreBlock<'a> {
    let mut items: Vec<Pre<'a>> = Vec::new();
    let mut words: Vec<Word<'a>> = Vec::with_capacity(64);
    let mut scratch = ArgScratch::default();
    let block = sub(text, 0, end);
    let mut pos = if start == 0 && block.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        start
    };
    let mut no: u32 = 0;
    while pos < end {
        let (line_end, next) = match memchr::memchr(b'\n', &block.as_bytes()[pos..]) {
            Some(k) => (pos + k, pos + k + 1),
            None => (end, end),
        };
        no = no.saturating_add(1);
        let (content, cstart, span) = content_of(text, pos, line_end);
        let first = content.as_bytes().first().copied();
        if first == Some(b'*') {
            let name = plain_words(sub(content, 1, content.len()), cstart + 1)
                .next()
                .map(|t| t.text);
            keeping = keep(name.as_deref().unwrap_or(""));
        }
        match first {
            None => {}
            // comment, table, chain and COMMIT lines: read in the ordered pass
            Some(b'#' | b':' | b'*') => items.push(Pre::Line {
                start: pos,
                end: line_end,
                no,
            }),
            Some(b'C') if is_commit(content, cstart) => items.push(Pre::Line {
                start: pos,
                end: line_end,
                no,
            }),
            Some(_) => {
                words.clear();
                let parsed = match tokenize(content, cstart, &mut words) {
                    Ok(()) => RuleParser::new(&words, &mut scratch, span, no, keeping).parse(),
                    Err(e) => Err(e),
                };
                match parsed {
                    Ok(LineKind::Rule(rule)) if !keeping => match items.last_mut() {
                        Some(Pre::Run {
                            chain, last, count, ..
                        }) if chain.text == rule.chain.text => {
                            *last = no;
                            *count += 1;
                        }
                        _ => items.push(Pre::Run {
                            content,
                            cstart,
                            chain: rule.chain,
                            first: no,
                            last: no,
                            count: 1,
                        }),
                    },
                    parsed => items.push(Pre::Parsed {
                        content,
                        cstart,
                        span,
                        no,
                        parsed,
                    }),
                }
            }
        }
        pos = next;
        if next == line_end {
            break;
        }
    }
    PreBlock { items, lines: no }
}

// ------------------------------------------------------------------------------------------
// The line reader

struct OpenTable<'a> {
    table: Table<'a>,
    /// Built-in chains of a known table; `None` for an unknown table (no declaration checks).
    builtins: Option<&'static [&'static str]>,
    /// Declared chains → index in `table.chains` (`None`: declared by a line that was rejected,
    /// remembered so that its rules do not each report "not declared").
    declared: HashMap<Cow<'a, str>, Option<usize>, FastHash>,
    /// The chain of the previous rule, already checked (rules come grouped by chain).
    last_checked: Option<Cow<'a, str>>,
    /// Undeclared chains already reported (one issue per chain, on its first rule).
    undeclared: HashSet<Cow<'a, str>, FastHash>,
    /// Whether the table's rules and chains are kept in the AST.
    keep: bool,
}

impl<'a> OpenTable<'a> {
    fn is_builtin(&self, chain: &str) -> bool {
        self.builtins.is_some_and(|b| b.contains(&chain))
    }
}

/// A run of lines outside any table, reported once.
struct OrphanRun {
    issue: usize,
    first_line: u32,
    last_line: u32,
    count: u32,
}

/// The sequential pass: takes the lines of [`pre_read`] in file order.
struct Reader<'a> {
    text: &'a str,
    /// Tables whose rules are kept in the AST; the others are parsed (so their problems are
    /// still reported) but their rules are dropped at once.
    keep: fn(&str) -> bool,
    dump: Dump<'a>,
    open: Option<OpenTable<'a>>,
    orphans: Option<OrphanRun>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, keep: fn(&str) -> bool) -> Self {
        Reader {
            text,
            keep,
            dump: Dump {
                tables: Vec::with_capacity(4),
                family_hint: None,
                issues: Vec::new(),
            },
            open: None,
            orphans: None,
        }
    }

    /// Take one item of the parallel pass; `base` is the line number before its block.
    fn replay(&mut self, item: Pre<'a>, base: u32) {
        match item {
            Pre::Line { start, end, no } => self.line(start, end, base.saturating_add(no)),
            Pre::Parsed {
                content,
                cstart,
                span,
                no,
                mut parsed,
            } => {
                let no = base.saturating_add(no);
                if self.open.is_none() {
                    self.orphan(content, cstart, no);
                    return;
                }
                if let Ok(LineKind::Rule(r)) = &mut parsed {
                    r.line = no;
                }
                self.apply(parsed, span);
            }
            Pre::Run {
                content,
                cstart,
                chain,
                first,
                last,
                count,
            } => {
                if self.open.is_none() {
                    self.orphan(content, cstart, base.saturating_add(first));
                    if let Some(run) = self.orphans.as_mut() {
                        run.count += count - 1;
                        run.last_line = base.saturating_add(last);
                    }
                    return;
                }
                self.check_declared(&chain);
            }
        }
    }

    fn finish(mut self) -> Dump<'a> {
        self.end_orphans();
        if let Some(t) = self.open.take() {
            self.close_table(t, false);
        }
        self.dump
    }

    /// A comment, table, chain or `COMMIT` line (rule lines come parsed, through [`Pre`]).
    fn line(&mut self, start: usize, end: usize, no: u32) {
        let (content, cstart, span) = content_of(self.text, start, end);
        match content.as_bytes().first() {
            None => {}
            Some(b'#') => self.comment(content, cstart),
            Some(b'*') => self.table_line(content, cstart, span),
            Some(b':') => self.chain_line(content, cstart, span, no),
            Some(b'C') if is_commit(content, cstart) => {
                self.commit(Span::new(cstart, cstart + "COMMIT".len()));
            }
            Some(_) => {
                if self.open.is_none() {
                    self.orphan(content, cstart, no);
                    return;
                }
                let mut words = Vec::new();
                let mut scratch = ArgScratch::default();
                let parsed = match tokenize(content, cstart, &mut words) {
                    Ok(()) => RuleParser::new(&words, &mut scratch, span, no, true).parse(),
                    Err(e) => Err(e),
                };
                self.apply(parsed, span);
            }
        }
    }

    fn comment(&mut self, content: &'a str, cstart: usize) {
        if let Ok((_, tool)) = generated_by(content) {
            let family = match tool {
                "iptables-save" | "iptables-nft-save" | "iptables-legacy-save" => Some(Family::V4),
                "ip6tables-save" | "ip6tables-nft-save" | "ip6tables-legacy-save" => {
                    Some(Family::V6)
                }
                _ => None,
            };
            if let Some(f) = family {
                match self.dump.family_hint {
                    None => self.dump.family_hint = Some(f),
                    Some(prev) if prev != f => {
                        let at = cstart + GENERATED_BY.len();
                        self.dump.issues.push(error_help(
                            Span::new(at, at + tool.len()),
                            "this file mixes iptables-save and ip6tables-save output",
                            "the other family starts here",
                            "audit the IPv4 and the IPv6 dump as two files",
                        ));
                    }
                    Some(_) => {}
                }
            }
        } else if content.starts_with("# Warning: iptables-legacy tables present") {
            self.dump.issues.push(issue(
                IssueKind::Undecidable,
                Span::new(cstart, cstart + content.len()),
                "the dump is incomplete: iptables-legacy tables are present and were not saved",
                "legacy tables are missing from this dump",
                Some(
                    "run `iptables-legacy-save` (and `ip6tables-legacy-save`) on the host and audit that output too"
                        .into(),
                ),
            ));
        } else if content.starts_with("# Table `") && content.contains("is incompatible") {
            self.dump.issues.push(issue(
                IssueKind::Undecidable,
                Span::new(cstart, cstart + content.len()),
                "the dump is incomplete: iptables-nft-save could not print a table",
                "rules of this table are missing",
                Some("list this table with `nft list ruleset` and audit that output".into()),
            ));
        }
    }

    fn table_line(&mut self, content: &'a str, cstart: usize, span: Span) {
        self.end_orphans();
        if let Some(prev) = self.open.take() {
            self.close_table(prev, false);
        }
        let name = plain_words(sub(content, 1, content.len()), cstart + 1)
            .next()
            .unwrap_or(Token {
                text: Cow::Borrowed(""),
                span: Span::new(cstart + 1, cstart + 1),
            });
        let builtins = builtin_chains(&name.text);
        if name.text.is_empty() {
            self.dump.issues.push(error_help(
                Span::new(cstart, cstart + 1),
                "missing table name after `*`",
                "table name missing",
                "write `*filter`, `*nat`, `*mangle`, `*raw` or `*security`",
            ));
        } else if builtins.is_none() {
            self.dump.issues.push(error_help(
                name.span,
                format!("unknown table `{}`", name.text),
                "not an iptables table",
                "iptables tables are filter, nat, mangle, raw and security; the block is read anyway",
            ));
        }
        let keep = (self.keep)(&name.text);
        self.open = Some(OpenTable {
            table: Table {
                name,
                span,
                chains: Vec::new(),
                rules: Vec::new(),
                committed: false,
            },
            builtins,
            declared: HashMap::default(),
            last_checked: None,
            undeclared: HashSet::default(),
            keep,
        });
    }

    fn close_table(&mut self, t: OpenTable<'a>, committed: bool) {
        let mut table = t.table;
        table.committed = committed;
        table.rules.shrink_to_fit();
        table.chains.shrink_to_fit();
        if !committed {
            self.dump.issues.push(error_help(
                table.span,
                format!("table `{}` has no `COMMIT`", table.name.text),
                "this table is never committed",
                "iptables-restore applies a table only at its `COMMIT` line; add `COMMIT` at the end of the block",
            ));
        }
        self.dump.tables.push(table);
    }

    fn commit(&mut self, span: Span) {
        match self.open.take() {
            Some(t) => self.close_table(t, true),
            None => self.dump.issues.push(error_help(
                span,
                "`COMMIT` outside a table",
                "no `*table` line before this",
                "a table block starts with `*filter` (or nat, mangle, raw, security) and ends with `COMMIT`",
            )),
        }
    }

    /// A chain or rule line outside any table.
    fn orphan(&mut self, content: &'a str, cstart: usize, no: u32) {
        if let Some(run) = self.orphans.as_mut() {
            run.count += 1;
            run.last_line = no;
            return;
        }
        let at = plain_words(content, cstart)
            .next()
            .map_or(Span::new(cstart, cstart), |w| w.span);
        self.orphans = Some(OrphanRun {
            issue: self.dump.issues.len(),
            first_line: no,
            last_line: no,
            count: 1,
        });
        self.dump.issues.push(error_help(
            at,
            "line outside any table is skipped",
            "no `*table` line before this",
            "put `*filter` (or the table these lines belong to) before them and `COMMIT` after them",
        ));
    }

    fn end_orphans(&mut self) {
        if let Some(run) = self.orphans.take() {
            if run.count > 1 {
                if let Some(i) = self.dump.issues.get_mut(run.issue) {
                    i.message = format!(
                        "{} lines outside any table are skipped (lines {} to {})",
                        run.count, run.first_line, run.last_line
                    );
                }
            }
        }
    }

    fn chain_line(&mut self, content: &'a str, cstart: usize, span: Span, no: u32) {
        let Some(open) = self.open.as_mut() else {
            self.orphan(content, cstart, no);
            return;
        };
        let issues = &mut self.dump.issues;
        let mut words = plain_words(sub(content, 1, content.len()), cstart + 1);
        let Some(name) = words.next() else {
            issues.push(error_help(
                Span::new(cstart, cstart + 1),
                "missing chain name after `:`",
                "chain name missing",
                "a chain line reads `:NAME POLICY [packets:bytes]`, e.g. `:INPUT DROP [0:0]`",
            ));
            return;
        };
        let Some(policy) = words.next() else {
            issues.push(error_help(
                name.span,
                format!("chain `{}` has no policy", name.text),
                "policy missing",
                "write `ACCEPT` or `DROP` for a built-in chain, `-` for a user chain",
            ));
            open.declared.entry(name.text).or_insert(None);
            return;
        };
        if !matches!(policy.text.as_ref(), "ACCEPT" | "DROP" | "-") {
            issues.push(error_help(
                policy.span,
                format!("unknown policy `{}` for chain `{}`", policy.text, name.text),
                "not a chain policy",
                "a policy is `ACCEPT` or `DROP` for a built-in chain, `-` for a user chain",
            ));
            open.declared.entry(name.text).or_insert(None);
            return;
        }
        let counters = match words.next() {
            None => None,
            Some(c) => {
                let parsed = parse_counters(&c.text);
                if parsed.is_none() {
                    issues.push(error_help(
                        c.span,
                        format!("malformed counters `{}`", c.text),
                        "expected `[packets:bytes]`",
                        "chain counters are written `[0:0]` (packets, bytes); the chain is kept without them",
                    ));
                }
                parsed
            }
        };
        let mut policy = Some(policy).filter(|p| p.text != "-");
        if let Some(p) = &policy {
            if open.builtins.is_some() && !open.is_builtin(&name.text) {
                issues.push(error_help(
                    p.span,
                    format!(
                        "`{}` is not a built-in chain of table `{}`, so it cannot have a policy",
                        name.text, open.table.name.text
                    ),
                    "only built-in chains have a policy",
                    "write `-` as the policy of a user chain; it is read as a user chain",
                ));
                policy = None;
            }
        }
        declare(
            open,
            ChainDecl {
                name,
                policy,
                span,
                counters,
            },
            issues,
        );
    }

    /// A rule's chain must be declared (built-in chains always are); reported once per chain.
    fn check_declared(&mut self, chain_tok: &Token<'a>) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let chain = &chain_tok.text;
        if chain.is_empty() {
            // `-F`, `-X`, `-Z` on every chain
            return;
        }
        let checked = open.last_checked.as_ref().is_some_and(|c| c == chain);
        if !checked && open.builtins.is_some() {
            if open.declared.contains_key(chain.as_ref()) || open.is_builtin(chain) {
                open.last_checked = Some(chain.clone());
            } else if open.undeclared.insert(chain.clone()) {
                self.dump.issues.push(error_help(
                    chain_tok.span,
                    format!(
                        "chain `{}` is not declared in table `{}`",
                        chain, open.table.name.text
                    ),
                    "not declared",
                    format!(
                        "iptables-restore would refuse this rule; Portolan keeps it so the rest of the \
                         chain can be audited. Declare the chain with `:{chain} - [0:0]` before its rules"
                    ),
                ));
            }
        }
    }

    /// A parsed rule, `-N` or `-P` line inside a table.
    fn apply(&mut self, parsed: Result<LineKind<'a>, ParseIssue>, span: Span) {
        if let Ok(LineKind::Rule(rule)) = &parsed {
            self.check_declared(&rule.chain);
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let issues = &mut self.dump.issues;
        match parsed {
            Err(e) => issues.push(e),
            Ok(LineKind::Rule(rule)) => {
                if (self.keep)(&open.table.name.text) {
                    open.table.rules.push(rule);
                }
            }
            Ok(LineKind::NewChain(name)) => {
                if open.is_builtin(&name.text) {
                    issues.push(error(
                        name.span,
                        format!(
                            "`{}` is a built-in chain of table `{}`; `-N` cannot create it",
                            name.text, open.table.name.text
                        ),
                        "built-in chain",
                    ));
                    return;
                }
                declare(
                    open,
                    ChainDecl {
                        name,
                        policy: None,
                        span,
                        counters: None,
                    },
                    issues,
                );
            }
            Ok(LineKind::Policy {
                chain,
                policy,
                counters,
            }) => {
                if open.builtins.is_some() && !open.is_builtin(&chain.text) {
                    issues.push(error_help(
                        chain.span,
                        format!(
                            "`{}` is not a built-in chain of table `{}`, so it cannot have a policy",
                            chain.text, open.table.name.text
                        ),
                        "only built-in chains have a policy",
                        "only the built-in chains of a table take `-P`",
                    ));
                    return;
                }
                match open.declared.get(chain.text.as_ref()).copied() {
                    Some(Some(idx)) => {
                        if let Some(d) = open.table.chains.get_mut(idx) {
                            d.policy = Some(policy);
                            if counters.is_some() {
                                d.counters = counters;
                            }
                        }
                    }
                    Some(None) => {}
                    None => declare(
                        open,
                        ChainDecl {
                            name: chain,
                            policy: Some(policy),
                            span,
                            counters,
                        },
                        issues,
                    ),
                }
            }
        }
    }
}

fn declare<'a>(open: &mut OpenTable<'a>, decl: ChainDecl<'a>, issues: &mut Vec<ParseIssue>) {
    let idx = open.table.chains.len();
    let std::collections::hash_map::Entry::Vacant(slot) =
        open.declared.entry(decl.name.text.clone())
    else {
        issues.push(error_help(
            decl.name.span,
            format!(
                "chain `{}` is declared twice in table `{}`",
                decl.name.text, open.table.name.text
            ),
            "declared again here",
            "iptables-restore rejects a second declaration; the first one is kept",
        ));
        return;
    };
    if open.keep {
        slot.insert(Some(idx));
        open.table.chains.push(decl);
    } else {
        // a table that is only checked: the name is enough
        slot.insert(None);
    }
}
