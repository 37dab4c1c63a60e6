//! The AST of an nftables ruleset. Both readers build it: `text.rs` from `nft list ruleset`
//! (`-a` handles included) and `nftables.conf`-style scripts, `json.rs` from `nft -j list
//! ruleset` (libnftables-json(5)); `lower.rs` turns it into the model. It stays close to what nft
//! prints: expressions are kept as nft names them (`ip saddr`, `tcp dport`, `ct state`, `meta
//! l4proto`), values as written (symbolic constants like `established` or `local` unresolved),
//! so that both readers can produce the same tree and the lowering alone knows their meaning.
//!
//! Every node carries the span of its text in the input (for JSON: the span of the JSON value
//! it came from), so that diagnostics and findings point at it.

use crate::formats::ParseIssue;
use crate::model::Span;

/// A value with the span it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp<T> {
    pub v: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(v: T, span: Span) -> Self {
        Sp { v, span }
    }
}

/// A whole input: its tables in order, and what could not be read (each problem is a Z001, or a
/// Z002 for what is read but cannot be decided, such as an `include`).
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    pub tables: Vec<Table>,
    pub issues: Vec<ParseIssue>,
    /// The files `include` statements name (never followed): what they define is not known.
    pub includes: Vec<Sp<String>>,
}

/// `ip`, `ip6`, `inet` filter host traffic; `arp`, `bridge` and `netdev` are recognised and not
/// modelled (they do not filter the host's IP traffic at the hooks Zerto flows use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFamily {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl TableFamily {
    pub fn parse(t: &str) -> Option<TableFamily> {
        Some(match t {
            "ip" => TableFamily::Ip,
            "ip6" => TableFamily::Ip6,
            "inet" => TableFamily::Inet,
            "arp" => TableFamily::Arp,
            "bridge" => TableFamily::Bridge,
            "netdev" => TableFamily::Netdev,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            TableFamily::Ip => "ip",
            TableFamily::Ip6 => "ip6",
            TableFamily::Inet => "inet",
            TableFamily::Arp => "arp",
            TableFamily::Bridge => "bridge",
            TableFamily::Netdev => "netdev",
        }
    }
}

/// `table FAMILY NAME { ... }` (all the `add`/`insert` commands of a script naming the same table
/// are gathered into one; the order of chains and rules is the order they end up in).
#[derive(Debug, Clone)]
pub struct Table {
    pub family: Sp<TableFamily>,
    pub name: Sp<String>,
    /// The `table ... {` line (or the first command naming it).
    pub span: Span,
    pub chains: Vec<Chain>,
    /// Named sets and maps (`set NAME { ... }`, `map NAME { ... }`).
    pub sets: Vec<Set>,
    pub handle: Option<u64>,
}

/// A chain; a base chain has its `type ... hook ... priority ...; policy ...;` line.
#[derive(Debug, Clone)]
pub struct Chain {
    pub name: Sp<String>,
    pub span: Span,
    pub base: Option<BaseChain>,
    /// Rules in evaluation order (after `insert`/`add ... position` commands are applied).
    pub rules: Vec<Rule>,
    pub handle: Option<u64>,
}

/// `type filter hook input priority 0; policy drop;`
#[derive(Debug, Clone)]
pub struct BaseChain {
    /// `filter`, `nat`, `route`.
    pub kind: Sp<String>,
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, `ingress`, `egress`.
    pub hook: Sp<String>,
    /// The number: named priorities resolved per nft(8) for the table's family and hook
    /// (`raw` -300, `mangle` -150, `dstnat` -100, `filter` 0, `security` 50, `srcnat` 100;
    /// `filter + 10` is 10). Span: the priority as written.
    pub priority: Sp<i32>,
    /// `accept` (nft's default when no policy is written) or `drop`.
    pub policy: Option<Sp<String>>,
    /// `device NAME` (netdev ingress/egress).
    pub device: Option<Sp<String>>,
}

/// A named set or map.
#[derive(Debug, Clone)]
pub struct Set {
    pub name: Sp<String>,
    pub span: Span,
    /// `type ipv4_addr . inet_service` (or `typeof ip saddr . tcp dport`), one entry a
    /// concatenated component, as written.
    pub key_type: Vec<Sp<String>>,
    /// For a map: its data type (`verdict`, `ipv4_addr`, `ipv4_addr . inet_service`, ...).
    pub data_type: Option<Sp<String>>,
    /// `interval`, `constant`, `timeout`, `dynamic`, ...
    pub flags: Vec<Sp<String>>,
    pub elements: Vec<Element>,
    /// Elements can be added at run time (`dynamic`, `timeout`, a set some rule adds to or
    /// updates): its contents in the export are a snapshot, so matches on it are undecidable.
    pub dynamic: bool,
}

/// One element of a set or map: its key (concatenated components), and for a map its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub key: Expr,
    pub data: Option<Expr>,
    pub span: Span,
}

/// A rule: its statements in order, `comment "..."`, and the handle `nft -a` prints.
#[derive(Debug, Clone)]
pub struct Rule {
    pub stmts: Vec<Stmt>,
    pub span: Span,
    pub handle: Option<u64>,
    pub comment: Option<String>,
}

/// Comparison operators of a match (`==` when none is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A verdict statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    /// `reject [with ...]`: final like drop.
    Reject,
    Queue,
    Continue,
    Return,
    Jump(Sp<String>),
    Goto(Sp<String>),
}

/// NAT statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    Dnat,
    Snat,
    Redirect,
    Masquerade,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    /// `LEFT [OP] RIGHT`: `tcp dport 9669`, `ip saddr != 10.0.0.0/8`, `ct state { established,
    /// related }`, `iifname "eth0"`, `ip saddr . tcp dport @allowed`, `fib daddr type local`.
    Match {
        left: Expr,
        op: Op,
        right: Expr,
        span: Span,
    },
    Verdict(Sp<Verdict>),
    /// `KEY vmap { VALUE : VERDICT, ... }` or `KEY vmap @NAME`.
    VerdictMap {
        key: Expr,
        map: Expr,
        span: Span,
    },
    /// `dnat [ip|ip6] to ADDR[:PORT]`, `snat to ...`, `redirect [to :PORT]`, `masquerade [to
    /// :PORT]`; `to` may be a map lookup (`dnat to ip saddr map { ... }`), kept as an expression.
    Nat {
        kind: NatKind,
        addr: Option<Expr>,
        port: Option<Expr>,
        span: Span,
    },
    /// `notrack` (in a chain of priority raw or lower: the packet is UNTRACKED after it).
    Notrack(Span),
    /// `meta mark set VALUE`, `ct mark set ...`, `meta nftrace set 1`, ...: the key and the
    /// value as written.
    Set {
        key: Expr,
        value: Expr,
        span: Span,
    },
    /// `counter [packets N bytes M]`, `log [prefix ...]`: no effect on the verdict.
    Counter(Span),
    Log(Span),
    /// `limit rate ...`, `quota ...`, `meter ...`, `ct count ...`, `numgen`, `@set update/add`:
    /// whether a packet passes depends on the traffic, not on the export.
    Undecidable {
        what: Sp<String>,
    },
    /// Anything else read but not modelled (the lowering makes it undecidable, naming it).
    Other(Sp<String>),
}

/// An expression: a packet field, a value, or a composition of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A header field: `ip saddr`, `ip6 daddr`, `tcp dport`, `udp sport`, `th dport`, `icmp
    /// type`, `ip protocol`, `ip6 nexthdr`, ... (`proto` and `field` as nft names them).
    Payload {
        proto: String,
        field: String,
        span: Span,
    },
    /// `meta KEY` (or the short forms `iifname`, `oifname`, `iif`, `oif`, `mark`, `l4proto`,
    /// `nfproto`, `pkttype`: `key` is always the meta key name).
    Meta { key: String, span: Span },
    /// `ct state`, `ct status`, `ct mark`, `ct original saddr`, ...: `dir` for `original` /
    /// `reply`.
    Ct {
        key: String,
        dir: Option<String>,
        span: Span,
    },
    /// `fib saddr . iif oif`, `fib daddr type`: the flags and the result asked for.
    Fib {
        flags: Vec<String>,
        result: String,
        span: Span,
    },
    /// `a . b . c`
    Concat(Vec<Expr>),
    /// A literal as written: an address, a number, a port or service name (`ssh`), an interface
    /// name (quotes removed), a symbolic constant (`established`, `tcp`, `local`), a wildcard
    /// interface name (`"eth*"`).
    Value(Sp<String>),
    /// `ADDR/LEN`
    Prefix { addr: Sp<String>, len: Sp<u8> },
    /// `LOW-HIGH`
    Range(Box<Expr>, Box<Expr>),
    /// An anonymous set `{ a, b, c }` (elements may be ranges, prefixes, concatenations) or, in
    /// a `vmap`/`map`, anonymous map elements.
    Set(Vec<Element>),
    /// `@NAME`: a named set or map of the same table.
    SetRef(Sp<String>),
    /// `EXPR map { ... }` / `EXPR map @NAME` (in a NAT target or a `set` value).
    Map { key: Box<Expr>, map: Box<Expr> },
    /// `a | b` of flags (`ct state established | related` in some outputs): the alternatives.
    Or(Vec<Expr>),
}

impl Expr {
    /// A selector as nft names it (`tcp flags`, `meta mark`, `ct original saddr`, `a . b`), for
    /// messages both readers word the same way; a value as written.
    pub fn selector_text(&self) -> String {
        match self {
            Expr::Payload { proto, field, .. } => format!("{proto} {field}"),
            Expr::Meta { key, .. } => format!("meta {key}"),
            Expr::Ct { key, dir, .. } => match dir {
                Some(d) => format!("ct {d} {key}"),
                None => format!("ct {key}"),
            },
            Expr::Fib { flags, result, .. } => format!("fib {} {result}", flags.join(" . ")),
            Expr::Concat(v) => v
                .iter()
                .map(Expr::selector_text)
                .collect::<Vec<_>>()
                .join(" . "),
            Expr::Value(v) => v.v.clone(),
            _ => "an expression".into(),
        }
    }

    /// The description of an unmodelled bitwise match (`tcp flags & (fin | syn) == fin`): the
    /// selector and the operator (`and` and `&` alike), the same from text and from JSON.
    pub fn bitwise_text(&self, op: &str) -> String {
        let op = match op {
            "and" => "&",
            "or" => "|",
            "xor" => "^",
            "lshift" => "<<",
            "rshift" => ">>",
            o => o,
        };
        format!("{} {op} …", self.selector_text())
    }

    pub fn span(&self) -> Span {
        match self {
            Expr::Payload { span, .. }
            | Expr::Meta { span, .. }
            | Expr::Ct { span, .. }
            | Expr::Fib { span, .. } => *span,
            Expr::Value(v) => v.span,
            Expr::SetRef(v) => v.span,
            Expr::Prefix { addr, len } => {
                Span::new(addr.span.start, len.span.end.max(addr.span.end))
            }
            Expr::Range(a, b) => Span::new(a.span().start, b.span().end.max(a.span().end)),
            Expr::Concat(v) | Expr::Or(v) => match (v.first(), v.last()) {
                (Some(a), Some(b)) => Span::new(a.span().start, b.span().end.max(a.span().end)),
                _ => Span::default(),
            },
            Expr::Set(els) => match (els.first(), els.last()) {
                (Some(a), Some(b)) => Span::new(a.span.start, b.span.end.max(a.span.end)),
                _ => Span::default(),
            },
            Expr::Map { key, map } => {
                Span::new(key.span().start, map.span().end.max(key.span().end))
            }
        }
    }
}
