//! The statements of one nftables rule into model rules: each statement with an effect (a
//! verdict, a verdict map element, `notrack`, `meta mark set`, a NAT statement) emits a model rule
//! over the boxes the matches before it left (`exprs.rs`).

use super::exprs::{
    add_why, base_of, key_boxes, keys, lefts, lower_match, mark_value, narrow, port, text, Alt,
    Ctx, Emit, Left,
};

use crate::formats::nftables::ast::{Element, Expr, NatKind, Op, Rule, Stmt, Verdict};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::mark::MarkOp;
use crate::model::nat::Translation;
use crate::model::ports::ConnState;
use crate::model::{Action, AddrSet, Family, PacketBox, Span};

/// A verdict as a map's data holds it (`accept`, `jump NAME`, ...).
fn verdict_of_data(e: &Expr) -> Option<Verdict> {
    let words: Vec<String> = match e {
        Expr::Value(v) => v.v.split_whitespace().map(str::to_string).collect(),
        Expr::Concat(v) => v.iter().filter_map(text).collect(),
        _ => return None,
    };
    let sp = e.span();
    let name = |i: usize| {
        words
            .get(i)
            .map(|n| crate::formats::nftables::ast::Sp::new(n.clone(), sp))
    };
    Some(match words.first()?.as_str() {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "reject" => Verdict::Reject,
        "queue" => Verdict::Queue,
        "continue" => Verdict::Continue,
        "return" => Verdict::Return,
        "jump" => Verdict::Jump(name(1)?),
        "goto" => Verdict::Goto(name(1)?),
        _ => return None,
    })
}

fn action_of(v: &Verdict, span: Span, ctx: &mut Ctx<'_>) -> (Action, Option<String>) {
    match v {
        Verdict::Accept => (Action::Accept, None),
        Verdict::Drop => (Action::Drop, None),
        Verdict::Reject => (Action::Reject, None),
        Verdict::Return => (Action::Return, None),
        Verdict::Continue => (Action::Continue, None),
        Verdict::Queue => (
            Action::Opaque,
            Some("queue: a userspace program decides the verdict".into()),
        ),
        Verdict::Jump(n) | Verdict::Goto(n) => match ctx.chains.get(&n.v) {
            Some(&c) => (
                if matches!(v, Verdict::Jump(_)) {
                    Action::Jump(c)
                } else {
                    Action::Goto(c)
                },
                None,
            ),
            None => {
                ctx.error(
                    if n.span == Span::default() {
                        span
                    } else {
                        n.span
                    },
                    format!(
                        "`{}` names no chain of table `{} {}`",
                        n.v,
                        ctx.table.family.v.name(),
                        ctx.table.name.v
                    ),
                    "no such chain",
                );
                (
                    Action::Opaque,
                    Some(format!("a jump to the undeclared chain `{}`", n.v)),
                )
            }
        },
    }
}

/// `dnat to ADDR[:PORT]`, `redirect to :PORT`, `snat to ...`, `masquerade [to :PORT]` (nft(8)
/// "NAT statements") into a [`Translation`]; `None` (with the reason) for a map, a range or a
/// prefix (one address or port picked per connection).
fn translation(
    kind: NatKind,
    addr: Option<&Expr>,
    to_port: Option<&Expr>,
    family: Family,
) -> Result<Option<Translation>, String> {
    let what = match kind {
        NatKind::Dnat => "dnat",
        NatKind::Snat => "snat",
        NatKind::Redirect => "redirect",
        NatKind::Masquerade => "masquerade",
    };
    let opaque = || format!("{what}: a translation to a map, range or prefix is not modelled");
    let a = match addr {
        None => None,
        Some(e) => {
            let t = match e {
                Expr::Value(v) => v.v.clone(),
                _ => return Err(opaque()),
            };
            let ip: std::net::IpAddr = t.parse().map_err(|_| opaque())?;
            if ip.is_ipv4() != (family == Family::V4) {
                // `dnat ip to ...` in an inet table: only for packets of that family
                return Ok(None);
            }
            Some(ip)
        }
    };
    let p = match to_port {
        None => None,
        Some(Expr::Value(v)) => Some(port(&v.v).map_err(|_| opaque())?),
        Some(_) => return Err(opaque()),
    };
    Ok(Some(match kind {
        NatKind::Dnat => Translation {
            addr: a,
            port: p,
            ..Translation::default()
        },
        NatKind::Redirect => Translation {
            port: p,
            local: true,
            ..Translation::default()
        },
        NatKind::Snat => Translation {
            src: a,
            sport: p,
            ..Translation::default()
        },
        NatKind::Masquerade => Translation {
            sport: p,
            masquerade: true,
            ..Translation::default()
        },
    }))
}

/// The model rules of one nftables rule, in order.
pub(super) fn lower_rule(rule: &Rule, ctx: &mut Ctx<'_>) -> Vec<Emit> {
    let fam = AddrSet::any_of(ctx.family);
    let mut start = PacketBox::full();
    start.src = fam.clone();
    start.dst = fam;
    let mut alts = vec![Alt {
        b: start,
        why: Vec::new(),
        mark: None,
    }];
    let mut out: Vec<Emit> = Vec::new();
    let emit = |alts: &[Alt], action: Action, why: Option<&str>, out: &mut Vec<Emit>| {
        for a in alts {
            let mut a = a.clone();
            if let Some(w) = why {
                a.why.push(w.to_string());
            }
            out.push(Emit { alt: a, action });
        }
    };
    let merged = merged_ports(&rule.stmts);
    // more than two (`unread`): every packet the rule's other matches select is unknown
    let (pair, unread) = match &merged {
        Ok(pair) => (*pair, Vec::new()),
        Err(all) => (None, all.clone()),
    };
    if merged != Ok(None) {
        let at = |i: usize| match &rule.stmts[i] {
            Stmt::Match { span, .. } => Some(*span),
            _ => None,
        };
        let span = match pair.and_then(|(a, b)| Some((at(a)?, at(b)?))) {
            Some((x, y)) => Span::new(x.start, y.end.max(x.end)),
            None => rule.span,
        };
        ctx.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span,
            message: "nft before 1.1.0 loads two `!=` port matches of one rule as one \
                      comparison of both ports (it matches unless both are equal); from 1.1.0 \
                      both must differ"
                .into(),
            label: "the nft that loaded it decides".into(),
            help: Some(
                "Portolan reports the packets on which the two readings differ as unknown; \
                 nft 1.1.0 or later loads the rule as written (both must differ), and with an \
                 older nft one `!=` port match per rule means what it says"
                    .into(),
            ),
        });
        if pair.is_none() {
            add_why(&mut alts, MERGED);
        }
    }
    for (i, st) in rule.stmts.iter().enumerate() {
        match st {
            // the first of a merged pair is applied with the second
            Stmt::Match { .. } if pair.is_some_and(|(a, _)| a == i) => {}
            Stmt::Match { .. } if unread.contains(&i) => {}
            Stmt::Match {
                left, op, right, ..
            } => match pair.filter(|&(_, b)| b == i).map(|(a, _)| &rule.stmts[a]) {
                // `merged_ports` pairs two matches
                Some(Stmt::Match {
                    left: l0,
                    right: r0,
                    ..
                }) => alts = merged_pair(alts, (l0, r0), (left, right), ctx),
                _ => alts = lower_match(alts, left, *op, right, ctx),
            },
            Stmt::Counter(_) | Stmt::Log(_) => {}
            Stmt::Verdict(v) => {
                let (action, why) = action_of(&v.v, v.span, ctx);
                emit(&alts, action, why.as_deref(), &mut out);
                return out;
            }
            Stmt::VerdictMap { key, map, span } => {
                let ls = match lefts(key, ctx) {
                    Ok(l) if l.iter().all(|l| matches!(l, Left::Dim(..))) => l,
                    Ok(_) => {
                        emit(
                            &alts,
                            Action::Opaque,
                            Some("a vmap on the mark or a fib lookup is not modelled"),
                            &mut out,
                        );
                        return out;
                    }
                    Err(why) => {
                        emit(
                            &alts,
                            Action::Opaque,
                            Some(&format!("vmap: {why}")),
                            &mut out,
                        );
                        return out;
                    }
                };
                let base = base_of(&ls);
                let els: Vec<Element> = {
                    let table = ctx.table;
                    let mut tmp = Ctx {
                        family: ctx.family,
                        table,
                        chains: ctx.chains,
                        nat: ctx.nat,
                        raw: ctx.raw,
                        on_input: ctx.on_input,
                        ifs: ctx.ifs,
                        issues: &mut *ctx.issues,
                    };
                    match keys(map, &mut tmp) {
                        Ok(k) => k.into_iter().cloned().collect(),
                        Err(why) => {
                            let w = if why.is_empty() {
                                "a vmap that is not a map".to_string()
                            } else {
                                why
                            };
                            emit(&alts, Action::Opaque, Some(&w), &mut out);
                            return out;
                        }
                    }
                };
                for el in &els {
                    let Some(v) = el.data.as_ref().and_then(verdict_of_data) else {
                        ctx.error(
                            el.span,
                            "a verdict map element without a verdict".into(),
                            "not a verdict",
                        );
                        continue;
                    };
                    let (action, why) = action_of(&v, *span, ctx);
                    match key_boxes(&ls, &el.key, ctx) {
                        Ok(boxes) => {
                            let hit = narrow(alts.clone(), &base, &boxes, false);
                            emit(&hit, action, why.as_deref(), &mut out);
                        }
                        Err(w) => {
                            let hit = narrow(alts.clone(), &base, &[PacketBox::full()], false);
                            emit(&hit, action, Some(&w), &mut out);
                        }
                    }
                }
                return out;
            }
            Stmt::Nat {
                kind, addr, port, ..
            } => {
                if !ctx.nat {
                    emit(
                        &alts,
                        Action::Opaque,
                        Some("a NAT statement outside a `type nat` chain"),
                        &mut out,
                    );
                    return out;
                }
                match translation(*kind, addr.as_ref(), port.as_ref(), ctx.family) {
                    Ok(Some(t)) => emit(&alts, Action::Translate(t), None, &mut out),
                    Ok(None) => {}
                    Err(why) => emit(&alts, Action::Opaque, Some(&why), &mut out),
                }
                return out;
            }
            Stmt::Notrack(_) => match ctx.raw {
                // before conntrack: the packet is UNTRACKED for every later chain
                Some(true) => emit(
                    &alts,
                    Action::SetState(ConnState::Untracked),
                    None,
                    &mut out,
                ),
                // after it the packet already has its conntrack entry: no effect
                Some(false) => {}
                None => add_why(
                    &mut alts,
                    "`notrack` in a chain reached both before and after connection tracking",
                ),
            },
            Stmt::Set { key, value, .. } => {
                if matches!(key, Expr::Meta { key, .. } if key == "mark") {
                    let op = match mark_value(value) {
                        Some(v) => MarkOp::set_mark(v, u32::MAX),
                        None => MarkOp::overwrite(),
                    };
                    emit(&alts, Action::SetMark(op), None, &mut out);
                }
                // other `set` statements (ct mark, priority, nftrace, ...) change nothing a
                // later match of ours tests
            }
            Stmt::Undecidable { what } => add_why(
                &mut alts,
                &format!("`{}` depends on the traffic at run time", what.v),
            ),
            Stmt::Other(what) => {
                let why = format!("`{}` is not modelled", what.v);
                ctx.issues.push(ParseIssue {
                    kind: IssueKind::Undecidable,
                    span: what.span,
                    message: format!(
                        "statement `{}` is not modelled; packets it could match are unknown",
                        what.v
                    ),
                    label: "not modelled".into(),
                    help: Some(
                        "Portolan reports what this rule decides as unknown rather than guessing"
                            .into(),
                    ),
                });
                add_why(&mut alts, &why);
            }
        }
        if alts.is_empty() {
            return out;
        }
    }
    // no verdict: evaluation goes on with the next rule
    if out.is_empty() {
        emit(&alts, Action::Continue, None, &mut out);
    }
    out
}

/// The `!=` matches of `stmts` that nft before 1.1.0 may merge into one comparison: `!=` on a
/// transport header's source port and on its destination port, each a single value. Its
/// `payload_try_merge` (later `stmt_reduce`) joins adjacent header fields compared by the same
/// operator, `!=` included until nftables commit f35a0d78 (v1.1.0); whether a `counter` or other
/// statement between them keeps them apart changed in v1.0.9 (commit 99ab1b8f), so any two in
/// one rule are taken as merged by some nft. `Err`: more than one of either port, merged in an
/// order nft does not fix; all of them.
fn merged_ports(stmts: &[Stmt]) -> Result<Option<(usize, usize)>, Vec<usize>> {
    let port_ne = |st: &Stmt| -> Option<bool> {
        let Stmt::Match {
            left: Expr::Payload { proto, field, .. },
            op: Op::Ne,
            right: Expr::Value(v),
            ..
        } = st
        else {
            return None;
        };
        let transport = matches!(
            proto.as_str(),
            "tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th"
        );
        let port_field = field == "sport" || field == "dport";
        (transport && port_field && port(&v.v).is_ok()).then_some(field == "sport")
    };
    let found: Vec<(usize, bool)> = stmts
        .iter()
        .enumerate()
        .filter_map(|(i, st)| Some((i, port_ne(st)?)))
        .collect();
    let s: Vec<usize> = found.iter().filter(|r| r.1).map(|r| r.0).collect();
    let d: Vec<usize> = found.iter().filter(|r| !r.1).map(|r| r.0).collect();
    match (s.as_slice(), d.as_slice()) {
        ([], _) | (_, []) => Ok(None),
        ([s], [d]) => Ok(Some((*s.min(d), *s.max(d)))),
        _ => Err(found.iter().map(|r| r.0).collect()),
    }
}

const MERGED: &str = "nft before 1.1.0 loads two `!=` port matches as one comparison of both \
                      ports: whether this rule matches when one port is equal depends on the nft \
                      that loaded it";

/// A merged pair `F1 != a` and `F2 != b`: both readings match where both differ; where one is
/// equal and the other differs, only one reading does, so those packets are undecidable.
fn merged_pair(
    alts: Vec<Alt>,
    (l0, r0): (&Expr, &Expr),
    (l1, r1): (&Expr, &Expr),
    ctx: &mut Ctx<'_>,
) -> Vec<Alt> {
    let both = |alts: Vec<Alt>, op0: Op, op1: Op, ctx: &mut Ctx<'_>| {
        let a = lower_match(alts, l0, op0, r0, ctx);
        lower_match(a, l1, op1, r1, ctx)
    };
    let mut out = both(alts.clone(), Op::Ne, Op::Ne, ctx);
    let mut either = both(alts.clone(), Op::Eq, Op::Ne, ctx);
    either.extend(both(alts, Op::Ne, Op::Eq, ctx));
    add_why(&mut either, MERGED);
    out.extend(either);
    out
}
