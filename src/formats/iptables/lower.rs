//! Lowering of the iptables AST into the common model: one [`Policy`] per table, and the
//! pipelines a packet to, from or through the host passes.
//!
//! Modelling choices, all exact within what the dump says:
//! - A required flow is a NEW connection and its opening packet is a SYN: `--syn` and
//!   `--tcp-flags` are decided for state NEW; for other states they are undecidable.
//! - Packets are evaluated unfragmented: `-f` (non-first fragments) never matches them.
//! - Matches the dump cannot answer (`-m set` without the ipset, `-m limit`, `-m recent`, marks,
//!   owners, hostnames...) make the rule undecidable: evaluation follows both outcomes.
//! - A value that cannot be read (`--dport 99999`) is a Z001 and makes the rule undecidable; the
//!   rule is kept, since dropping it could turn a DROP into an answer of "allowed".

use std::collections::HashMap;

use super::{Arg, Dump, RuleLine, RuleOp, Table};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::iface::Interfaces;
use crate::model::ports::{self, ConnState, StateSet};
use crate::model::rule::content_hash;
use crate::model::{
    Action, AddrSet, Chain, ChainId, Entry, Family, Hook, IntervalSet, PacketBox, Pipeline, Policy,
    Provenance, Rule, Ruleset, Semantics, Span, Stage, Verdict,
};
use crate::model::{NativeRef, Platform};

/// The lowered ruleset and the problems found while lowering.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub ruleset: Ruleset,
    pub issues: Vec<ParseIssue>,
}

const BUILTIN: &[(&str, &[&str])] = &[
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
    (
        "mangle",
        &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    ),
    ("raw", &["PREROUTING", "OUTPUT"]),
    ("security", &["INPUT", "FORWARD", "OUTPUT"]),
];

/// The stages each hook passes, in kernel order. `nat` only rewrites addresses and never filters,
/// so it is not a stage.
const PIPELINES: &[(Hook, &[(&str, &str)])] = &[
    (
        Hook::Input,
        &[
            ("raw", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("mangle", "INPUT"),
            ("filter", "INPUT"),
            ("security", "INPUT"),
        ],
    ),
    (
        Hook::Output,
        &[
            ("raw", "OUTPUT"),
            ("mangle", "OUTPUT"),
            ("filter", "OUTPUT"),
            ("security", "OUTPUT"),
            ("mangle", "POSTROUTING"),
        ],
    ),
    (
        Hook::Forward,
        &[
            ("raw", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("mangle", "FORWARD"),
            ("filter", "FORWARD"),
            ("security", "FORWARD"),
            ("mangle", "POSTROUTING"),
        ],
    ),
];

/// Targets that do not end evaluation.
const CONTINUING: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CT",
    "NOTRACK",
    "TCPMSS",
    "CHECKSUM",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "CLASSIFY",
    "SET",
    "AUDIT",
    "TRACE",
    "SECMARK",
    "CONNSECMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "TEE",
    "ECN",
    "TCPOPTSTRIP",
    "HMARK",
    "NETMAP_LOG",
];

/// Address-rewriting targets: in `nat` they end the nat chain (accept-like); they never filter.
const NAT_TARGETS: &[&str] = &["DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"];

/// Matches evaluated exactly.
const MODELLED: &[&str] = &[
    "tcp",
    "udp",
    "sctp",
    "dccp",
    "udplite",
    "multiport",
    "icmp",
    "icmp6",
    "conntrack",
    "state",
    "comment",
    "iprange",
];

/// Matches we know but cannot evaluate from the dump alone, with the reason we give.
fn opaque_module(m: &str) -> Option<&'static str> {
    Some(match m {
        "limit" | "hashlimit" => "rate limits are not modelled",
        "recent" => "`-m recent` depends on addresses seen earlier at run time",
        "set" => "ipset contents are not in an iptables-save dump",
        "mac" => "MAC addresses of peers are not known",
        "mark" | "connmark" => "packet and connection marks are set at run time",
        "owner" => "the owning process is not known",
        "addrtype" => "address types depend on the host's addresses",
        "physdev" => "bridge ports are not modelled",
        "pkttype" => "link-layer packet types are not modelled",
        "ttl" | "hl" => "TTL / hop limits are not modelled",
        "length" => "packet lengths are not modelled",
        "string" | "bpf" | "u32" => "payload matches are not modelled",
        "statistic" => "random or nth sampling cannot be decided",
        "policy" => "IPsec policy matching is not modelled",
        "socket" => "socket lookups happen at run time",
        "connlimit" | "connbytes" | "quota" | "nfacct" | "rateest" => {
            "counters and connection limits depend on run time"
        }
        "time" => "time-of-day matches depend on when the packet arrives",
        "helper" => "conntrack helpers are not modelled",
        "dscp" | "tos" | "ecn" => "header marks are not modelled",
        "rt" | "frag" | "ipv6header" | "hbh" | "dst" | "mh" | "eui64" => {
            "IPv6 extension headers are not modelled"
        }
        "cgroup" | "devgroup" | "realm" | "cpu" | "rpfilter" | "cluster" | "ipvs" | "comment2" => {
            "host run-time state is not in the dump"
        }
        _ => return None,
    })
}

/// One alternative of a rule line: a box and the reasons it is undecidable.
#[derive(Clone)]
struct Alt {
    b: PacketBox,
    why: Vec<String>,
}

struct Ctx<'s> {
    family: Family,
    ifs: &'s Interfaces,
    issues: &'s mut Vec<ParseIssue>,
}

impl Ctx<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }
}

/// Lower a parsed dump. `family` is the family the dump filters (from its header or contents).
pub fn lower(dump: &Dump<'_>, src: &SourceText, family: Family) -> Lowered {
    let mut issues = Vec::new();
    let ifs = Interfaces::build(dump.tables.iter().flat_map(|t| {
        t.rules
            .iter()
            .flat_map(|r| r.args.iter())
            .filter(|a| a.module.is_none() && (a.name == "i" || a.name == "o"))
            .filter_map(|a| a.values.first().map(|v| v.text.as_ref()))
    }));
    // iptables-restore replaces a table each time it meets it: the last block wins
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, t) in dump.tables.iter().enumerate() {
        last.insert(t.name.text.as_ref(), i);
    }
    let mut policies = Vec::new();
    for (i, t) in dump.tables.iter().enumerate() {
        // `nat` only rewrites addresses and is no stage of any pipeline: not lowered
        if last.get(t.name.text.as_ref()) != Some(&i) || t.name.text == "nat" {
            continue;
        }
        let mut ctx = Ctx {
            family,
            ifs: &ifs,
            issues: &mut issues,
        };
        policies.push(lower_table(t, src, &mut ctx));
    }
    let mut pipelines = Vec::new();
    for (hook, stages) in PIPELINES {
        let mut st = Vec::new();
        let mut name = None;
        for (table, chain) in stages.iter() {
            if let Some(pi) = policies.iter().position(|p: &Policy| p.name == *table) {
                if let Some(ci) = policies[pi].chain_by_name(chain) {
                    st.push(Stage {
                        policy: pi,
                        chain: ci,
                    });
                    if *table == "filter" || name.is_none() {
                        name = Some(format!("{table}/{chain}"));
                    }
                }
            }
        }
        let default_chain = match hook {
            Hook::Input => "INPUT",
            Hook::Output => "OUTPUT",
            Hook::Forward => "FORWARD",
        };
        pipelines.push(Pipeline {
            name: name.unwrap_or_else(|| format!("filter/{default_chain}")),
            hook: *hook,
            stages: st,
        });
    }
    Lowered {
        ruleset: Ruleset {
            platform: Platform::Iptables,
            profile: None,
            name: None,
            stateless: false,
            policies,
            pipelines,
            interfaces: ifs,
            family: Some(family),
        },
        issues,
    }
}

fn verdict_of(policy: &str) -> Option<Verdict> {
    match policy {
        "ACCEPT" => Some(Verdict::Allow),
        "DROP" => Some(Verdict::Deny),
        _ => None,
    }
}

fn lower_table(t: &Table<'_>, src: &SourceText, ctx: &mut Ctx<'_>) -> Policy {
    let tname = t.name.text.as_ref();
    let builtins: &[&str] = BUILTIN
        .iter()
        .find(|(n, _)| *n == tname)
        .map(|(_, c)| *c)
        .unwrap_or(&[]);
    let mut chains: Vec<Chain> = Vec::new();
    let mut index: HashMap<&str, ChainId> = HashMap::new();
    let prov = |span: Span, label: String| {
        let (line, column) = src.line_col(span.start);
        Provenance {
            span,
            line,
            column,
            label,
        }
    };
    for d in &t.chains {
        let name = d.name.text.as_ref();
        let builtin = builtins.contains(&name);
        let policy = match &d.policy {
            Some(p) => match verdict_of(p.text.as_ref()) {
                Some(v) => Some(v),
                None => {
                    ctx.error(
                        p.span,
                        format!("`{}` is not a chain policy (ACCEPT or DROP)", p.text),
                        "not ACCEPT or DROP",
                    );
                    builtin.then_some(Verdict::Allow)
                }
            },
            None if builtin => Some(Verdict::Allow),
            None => None,
        };
        let decl = prov(d.span, format!("{tname}/{name} policy"));
        if let Some(&i) = index.get(name) {
            // `-P` after `:` (iptables -S style) sets the policy
            if d.policy.is_some() {
                chains[i].policy = policy;
                chains[i].decl = decl;
            }
            continue;
        }
        index.insert(name, chains.len());
        chains.push(Chain {
            name: name.to_string(),
            policy,
            decl,
            rules: Vec::new(),
        });
    }
    for b in builtins {
        if !index.contains_key(b) {
            index.insert(b, chains.len());
            chains.push(Chain {
                name: b.to_string(),
                policy: Some(Verdict::Allow),
                decl: Provenance {
                    label: format!(
                        "{tname}/{b} policy (not in the dump; the kernel default is ACCEPT)"
                    ),
                    ..Provenance::default()
                },
                rules: Vec::new(),
            });
        }
    }
    // rules may name chains that were never declared
    for r in &t.rules {
        let n = r.chain.text.as_ref();
        if !index.contains_key(n) {
            index.insert(n, chains.len());
            chains.push(Chain {
                name: n.to_string(),
                policy: None,
                decl: prov(r.chain.span, format!("{tname}/{n}")),
                rules: Vec::new(),
            });
        }
    }
    let by_name = index;

    let mut rules: Vec<Rule> = Vec::new();
    // each line may lower to several disjoint model rules; keep them together per chain position
    let mut order: Vec<Vec<Vec<usize>>> = vec![Vec::new(); chains.len()];
    for line in &t.rules {
        let Some(&ci) = by_name.get(line.chain.text.as_ref()) else {
            continue;
        };
        let (action, mut target_why) = lower_target(line, tname, &by_name, ctx);
        let alts = lower_matches(line, ctx);
        let comment = line
            .args
            .iter()
            .find(|a| a.name == "comment")
            .and_then(|a| a.values.first())
            .map(|v| v.text.to_string());
        // what the rule is, whatever its position: its text, counters aside
        let content = content_hash(
            src.text
                .get(line.span.start..line.span.end)
                .unwrap_or("")
                .split_whitespace(),
        );
        let mut ids = Vec::with_capacity(alts.len());
        for mut alt in alts {
            alt.why.append(&mut target_why.clone());
            ids.push(rules.len());
            rules.push(Rule {
                matches: alt.b,
                undecidable: alt.why,
                action,
                prov: prov(line.span, String::new()),
                comment: comment.clone(),
                native: NativeRef::Chain {
                    chain: ci,
                    index: 0,
                    content,
                },
                builtin: false,
            });
        }
        target_why.clear();
        let slot = &mut order[ci];
        match line.op {
            RuleOp::Append => slot.push(ids),
            RuleOp::Insert(n) => {
                let at = (n.max(1) as usize - 1).min(slot.len());
                slot.insert(at, ids);
            }
        }
    }
    for (ci, slots) in order.into_iter().enumerate() {
        let cname = chains[ci].name.clone();
        for (pos, ids) in slots.into_iter().enumerate() {
            for id in ids {
                rules[id].prov.label = format!("{tname}/{cname} #{}", pos + 1);
                if let NativeRef::Chain { index, .. } = &mut rules[id].native {
                    *index = (pos + 1) as u32;
                }
                chains[ci].rules.push(id);
            }
        }
    }
    if !t.committed {
        // no `COMMIT` (a Z001 says so): the file may be cut short and the rules after its end
        // are not in it, so what falls off the end of a chain is unknown, not its policy
        let end = src.text.len();
        let (line, column) = src.line_col(end);
        for chain in chains.iter_mut() {
            chain.rules.push(rules.len());
            rules.push(Rule {
                matches: PacketBox::full(),
                undecidable: Vec::new(),
                action: Action::Opaque,
                prov: Provenance {
                    span: Span::new(end, end),
                    line,
                    column,
                    label: format!(
                        "{tname}/{}: the rules after the end of the file (the table has no `COMMIT`)",
                        chain.name
                    ),
                },
                comment: None,
                native: NativeRef::None,
                builtin: false,
            });
        }
    }
    report_jump_loops(tname, &chains, &rules, ctx);
    let entries = [
        ("INPUT", Hook::Input),
        ("OUTPUT", Hook::Output),
        ("FORWARD", Hook::Forward),
    ]
    .iter()
    .filter_map(|(n, h)| {
        by_name.get(*n).map(|&c| Entry {
            name: format!("{tname}/{n}"),
            hook: *h,
            chain: c,
        })
    })
    .collect();
    Policy {
        name: tname.to_string(),
        family: Some(ctx.family),
        semantics: Semantics::FirstMatch,
        chains,
        rules,
        entries,
        union_cache: Default::default(),
    }
}

fn lower_target(
    line: &RuleLine<'_>,
    table: &str,
    chains: &HashMap<&str, ChainId>,
    ctx: &mut Ctx<'_>,
) -> (Action, Vec<String>) {
    let Some(t) = &line.target else {
        return (Action::Continue, Vec::new());
    };
    let name = t.name.text.as_ref();
    if let Some(&c) = chains.get(name) {
        return (
            if t.goto {
                Action::Goto(c)
            } else {
                Action::Jump(c)
            },
            Vec::new(),
        );
    }
    if t.goto {
        ctx.error(
            t.name.span,
            format!("`-g {name}` goes to a chain that is not declared in table `{table}`"),
            "no such chain",
        );
        return (
            Action::Opaque,
            vec![format!("goto to the undeclared chain `{name}`")],
        );
    }
    match name {
        "ACCEPT" => (Action::Accept, Vec::new()),
        "DROP" => (Action::Drop, Vec::new()),
        "REJECT" => (Action::Reject, Vec::new()),
        "RETURN" => (Action::Return, Vec::new()),
        "QUEUE" | "NFQUEUE" => (
            Action::Opaque,
            vec![format!(
                "-j {name}: a userspace program decides the verdict"
            )],
        ),
        n if CONTINUING.contains(&n) => (Action::Continue, Vec::new()),
        n if NAT_TARGETS.contains(&n) && table == "nat" => (Action::Accept, Vec::new()),
        n => {
            let known_upper = n
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            ctx.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: t.name.span,
                message: if known_upper {
                    format!("target `{n}` is not modelled; what it does to a packet is unknown")
                } else {
                    format!("`-j {n}` names no chain of table `{table}` and no target Portolan knows")
                },
                label: "unknown target".into(),
                help: Some(
                    "matching packets are reported as unknown; if this is a user chain, declare it with `:NAME - [0:0]`"
                        .into(),
                ),
            });
            (Action::Opaque, vec![format!("-j {n}: target not modelled")])
        }
    }
}

fn parse_addr_list(arg: &Arg<'_>, ctx: &mut Ctx<'_>, why: &mut Vec<String>) -> Option<AddrSet> {
    let v = arg.values.first()?;
    let mut set = AddrSet::empty();
    for part in v.text.split(',') {
        match AddrSet::parse_in(part, ctx.family) {
            Ok(s) => set = set.union(&s),
            Err(e) => {
                let looks_like_host = part.chars().any(|c| c.is_ascii_alphabetic())
                    && !part.contains(':')
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-_/".contains(c));
                if looks_like_host {
                    why.push(format!(
                        "`{part}` is a host name, resolved only when the rules are loaded"
                    ));
                } else {
                    ctx.error(v.span, e.to_string(), "not an address of this family");
                    why.push(format!("`{}` could not be read", v.text));
                }
                return None;
            }
        }
    }
    Some(set)
}

fn lower_matches(line: &RuleLine<'_>, ctx: &mut Ctx<'_>) -> Vec<Alt> {
    let fam = AddrSet::any_of(ctx.family);
    let mut base = PacketBox::full();
    base.src = fam.clone();
    base.dst = fam;
    let mut alts = vec![Alt {
        b: base,
        why: Vec::new(),
    }];
    let v6 = ctx.family == Family::V6;
    for arg in &line.args {
        let module = arg.module.as_ref().map(|m| m.text.as_ref());
        let name = arg.name.as_ref();
        let neg = arg.negated;
        let value = arg.values.first();
        let mut why = Vec::new();
        // one refinement of every alternative
        let refine = |alts: &mut Vec<Alt>, f: &dyn Fn(&mut PacketBox)| {
            for a in alts.iter_mut() {
                f(&mut a.b);
            }
        };
        macro_rules! bad {
            ($e:expr, $label:expr) => {{
                let sp = value.map(|v| v.span).unwrap_or(arg.span);
                ctx.error(sp, $e, $label);
                why.push(format!(
                    "`{}` could not be read",
                    value.map(|v| v.text.as_ref()).unwrap_or("")
                ));
            }};
        }
        match (module, name) {
            (_, "comment") => {}
            (None, "s") | (None, "d") => {
                if let Some(set) = parse_addr_list(arg, ctx, &mut why) {
                    let set = if neg {
                        set.complement_in(ctx.family)
                    } else {
                        set
                    };
                    let is_src = name == "s";
                    refine(&mut alts, &|b| {
                        if is_src {
                            b.src = b.src.intersect(&set)
                        } else {
                            b.dst = b.dst.intersect(&set)
                        }
                    });
                }
            }
            (None, "i") | (None, "o") => {
                if let Some(v) = value {
                    let m = ctx.ifs.matching(&v.text);
                    let set = if neg { m.complement() } else { m };
                    let is_in = name == "i";
                    refine(&mut alts, &|b| {
                        if is_in {
                            b.iif = b.iif.intersect(&set)
                        } else {
                            b.oif = b.oif.intersect(&set)
                        }
                    });
                }
            }
            (None, "p") => {
                if let Some(v) = value {
                    match ports::parse_protocol(&v.text) {
                        Ok(p) => {
                            let p = if neg { p.complement() } else { p };
                            refine(&mut alts, &|b| b.proto = b.proto.intersect(&p));
                        }
                        Err(e) => bad!(e.to_string(), "unknown protocol"),
                    }
                }
            }
            (None, "f") => {
                // evaluated packets are unfragmented: `-f` never matches, `! -f` always does
                if !neg {
                    refine(&mut alts, &|b| b.proto = IntervalSet::empty());
                }
            }
            (None, "4") if v6 => refine(&mut alts, &|b| b.proto = IntervalSet::empty()),
            (None, "6") if !v6 => refine(&mut alts, &|b| b.proto = IntervalSet::empty()),
            (None, "4") | (None, "6") => {}
            (Some("tcp" | "udp" | "sctp" | "dccp" | "udplite"), "dport" | "sport") => {
                if let Some(v) = value {
                    match ports::parse_port_range(&v.text, ':') {
                        Ok(p) => {
                            let p = if neg { p.complement() } else { p };
                            let d = name == "dport";
                            refine(&mut alts, &|b| {
                                if d {
                                    b.dport = b.dport.intersect(&p)
                                } else {
                                    b.sport = b.sport.intersect(&p)
                                }
                            });
                        }
                        Err(e) => bad!(e.to_string(), "not a port or port range"),
                    }
                }
            }
            (Some("tcp"), "syn" | "tcp-flags") => {
                let syn_matches = if name == "syn" {
                    Some(true)
                } else {
                    match (arg.values.first(), arg.values.get(1)) {
                        (Some(m), Some(c)) => match (tcp_flags(&m.text), tcp_flags(&c.text)) {
                            (Some(mask), Some(comp)) => Some(SYN & mask == comp),
                            _ => None,
                        },
                        _ => None,
                    }
                };
                match syn_matches {
                    Some(hit) => {
                        let hit = hit != neg;
                        let later = ports::all_states().difference(&ConnState::New.set());
                        // the opening SYN (state NEW) is decided; later packets are not
                        let mut out = Vec::new();
                        for a in &alts {
                            if hit {
                                let mut n = a.clone();
                                n.b.state = n.b.state.intersect(&ConnState::New.set());
                                out.push(n);
                            }
                            let mut l = a.clone();
                            l.b.state = l.b.state.intersect(&later);
                            l.why
                                .push("TCP flags of packets after the opening SYN".into());
                            out.push(l);
                        }
                        alts = out;
                    }
                    None => bad!(
                        format!("cannot read the TCP flags of `{}`", arg.option.text),
                        "bad TCP flags"
                    ),
                }
            }
            (Some("tcp"), _) | (Some("udp"), _) => {
                why.push(format!("`--{name}` is not modelled"));
            }
            (Some("multiport"), "dports" | "sports" | "ports") => {
                if let Some(v) = value {
                    match ports::parse_port_list(&v.text, ':') {
                        Ok(p) => match (name, neg) {
                            ("dports", _) | ("sports", _) => {
                                let p = if neg { p.complement() } else { p };
                                let d = name == "dports";
                                refine(&mut alts, &|b| {
                                    if d {
                                        b.dport = b.dport.intersect(&p)
                                    } else {
                                        b.sport = b.sport.intersect(&p)
                                    }
                                });
                            }
                            (_, true) => {
                                let c = p.complement();
                                refine(&mut alts, &|b| {
                                    b.dport = b.dport.intersect(&c);
                                    b.sport = b.sport.intersect(&c);
                                });
                            }
                            (_, false) => {
                                // either port in the list: dport in P, or sport in P and dport not
                                let mut out = Vec::new();
                                for a in &alts {
                                    let mut x = a.clone();
                                    x.b.dport = x.b.dport.intersect(&p);
                                    out.push(x);
                                    let mut y = a.clone();
                                    y.b.sport = y.b.sport.intersect(&p);
                                    y.b.dport = y.b.dport.difference(&p);
                                    out.push(y);
                                }
                                alts = out;
                            }
                        },
                        Err(e) => bad!(e.to_string(), "not a port list"),
                    }
                }
            }
            (Some("icmp"), "icmp-type") | (Some("icmp6"), "icmpv6-type") => {
                if let Some(v) = value {
                    match ports::icmp_types(&v.text, name == "icmpv6-type") {
                        Ok(t) => {
                            let t = if neg { t.complement() } else { t };
                            refine(&mut alts, &|b| b.dport = b.dport.intersect(&t));
                        }
                        Err(e) => bad!(e.to_string(), "unknown ICMP type"),
                    }
                }
            }
            (Some("conntrack"), "ctstate") | (Some("state"), "state") => {
                if let Some(v) = value {
                    let mut set = StateSet::empty();
                    let mut nat_state = false;
                    let mut bad_state = None;
                    for s in v.text.split(',') {
                        match ConnState::parse(s) {
                            Some(c) => set = set.union(&c.set()),
                            None if s.eq_ignore_ascii_case("SNAT")
                                || s.eq_ignore_ascii_case("DNAT") =>
                            {
                                nat_state = true
                            }
                            None => bad_state = Some(s.to_string()),
                        }
                    }
                    if let Some(s) = bad_state {
                        bad!(format!("`{s}` is not a connection state"), "unknown state");
                    } else if nat_state {
                        why.push("conntrack SNAT/DNAT states depend on NAT at run time".into());
                    } else {
                        let set = if neg {
                            ports::all_states().difference(&set)
                        } else {
                            set
                        };
                        refine(&mut alts, &|b| b.state = b.state.intersect(&set));
                    }
                }
            }
            (Some("conntrack"), _) => {
                why.push(format!("`--{name}` of `-m conntrack` is not modelled"))
            }
            (Some("iprange"), "src-range" | "dst-range") => {
                if let Some(v) = value {
                    match AddrSet::parse_in(&v.text, ctx.family) {
                        Ok(set) => {
                            let set = if neg {
                                set.complement_in(ctx.family)
                            } else {
                                set
                            };
                            let s = name == "src-range";
                            refine(&mut alts, &|b| {
                                if s {
                                    b.src = b.src.intersect(&set)
                                } else {
                                    b.dst = b.dst.intersect(&set)
                                }
                            });
                        }
                        Err(e) => bad!(e.to_string(), "not an address range"),
                    }
                }
            }
            (None, "m") => {
                if let Some(m) = value {
                    let m = m.text.as_ref();
                    if !MODELLED.contains(&m) {
                        match opaque_module(m) {
                            Some(reason) => why.push(format!("-m {m}: {reason}")),
                            None => {
                                why.push(format!("-m {m}: this match is not modelled"));
                                ctx.issues.push(ParseIssue {
                                    kind: IssueKind::Undecidable,
                                    span: value.map(|v| v.span).unwrap_or(arg.span),
                                    message: format!(
                                        "match `-m {m}` is not modelled; packets it could match are unknown"
                                    ),
                                    label: "unknown match".into(),
                                    help: Some(
                                        "Portolan reports what this rule decides as unknown rather than guessing"
                                            .into(),
                                    ),
                                });
                            }
                        }
                    }
                }
            }
            // options of a module that is not modelled were accounted for at its `-m`
            (Some(m), _) if !MODELLED.contains(&m) => {}
            (Some(m), _) => why.push(format!("`--{name}` of `-m {m}` is not modelled")),
            (None, other) => why.push(format!("option `{other}` is not modelled")),
        }
        if !why.is_empty() {
            for a in alts.iter_mut() {
                for w in &why {
                    if !a.why.contains(w) {
                        a.why.push(w.clone());
                    }
                }
            }
        }
    }
    alts.retain(|a| !a.b.is_empty());
    alts
}

const SYN: u8 = 0x02;

fn tcp_flags(t: &str) -> Option<u8> {
    let mut v = 0u8;
    for f in t.split(',') {
        v |= match f.trim().to_ascii_uppercase().as_str() {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ECE" => 0x40,
            "CWR" => 0x80,
            "ALL" => 0xff,
            "NONE" => 0,
            _ => return None,
        };
    }
    Some(v)
}

/// The family a dump filters: its header says, else any IPv6 literal in `-s`/`-d` says IPv6.
pub fn family_of(dump: &Dump<'_>) -> Family {
    if let Some(f) = dump.family_hint {
        return match f {
            super::Family::V4 => Family::V4,
            super::Family::V6 => Family::V6,
        };
    }
    let v6 = dump.tables.iter().flat_map(|t| &t.rules).any(|r| {
        r.args.iter().any(|a| {
            a.module.is_none()
                && (a.name == "s" || a.name == "d")
                && a.values.first().is_some_and(|v| v.text.contains(':'))
        }) || r.args.iter().any(|a| a.name == "icmpv6-type")
    });
    if v6 {
        Family::V6
    } else {
        Family::V4
    }
}

/// A chain that can reach itself through jumps and gotos is refused by `iptables-restore`; report
/// each such cycle once, at the jump that closes it. (Evaluation stays safe regardless: a jump
/// into a chain already being evaluated is unknown.)
fn report_jump_loops(table: &str, chains: &[Chain], rules: &[Rule], ctx: &mut Ctx<'_>) {
    // iterative DFS with colours: 0 new, 1 on the stack, 2 done
    let mut colour = vec![0u8; chains.len()];
    let mut reported: Vec<usize> = Vec::new();
    for start in 0..chains.len() {
        if colour[start] != 0 {
            continue;
        }
        // stack of (chain, next rule index in that chain)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = 1;
        while let Some(&mut (c, ref mut i)) = stack.last_mut() {
            let Some(&rid) = chains[c].rules.get(*i) else {
                colour[c] = 2;
                stack.pop();
                continue;
            };
            *i += 1;
            let (Action::Jump(t) | Action::Goto(t)) = rules[rid].action else {
                continue;
            };
            match colour.get(t) {
                Some(0) => {
                    colour[t] = 1;
                    stack.push((t, 0));
                }
                Some(1) if !reported.contains(&rid) => {
                    reported.push(rid);
                    let path: Vec<&str> = stack
                        .iter()
                        .skip_while(|(x, _)| *x != t)
                        .map(|(x, _)| chains[*x].name.as_str())
                        .chain(std::iter::once(chains[t].name.as_str()))
                        .collect();
                    ctx.issues.push(ParseIssue {
                        kind: IssueKind::ParseError,
                        span: rules[rid].prov.span,
                        message: format!("jump loop in table `{table}`: {}", path.join(" -> ")),
                        label: "closes the loop".into(),
                        help: Some(
                            "iptables-restore refuses a ruleset with a loop; packets that reach it are reported as unknown"
                                .into(),
                        ),
                    });
                }
                _ => {}
            }
        }
    }
}
