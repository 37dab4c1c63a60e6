//! A rule's target (`-j` / `-g`) as an action: verdicts, jumps, NAT translations, the
//! conntrack and mark targets, and the targets that only log or count.

use super::{marks, natport, Ctx, Names};
use crate::formats::iptables::RuleLine;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::mark::MarkOp;
use crate::model::nat::Translation;
use crate::model::ports::ConnState;
use crate::model::Action;

/// Targets that do not end evaluation and change nothing later rules test (the mark targets are
/// lowered in `marks.rs`).
const CONTINUING: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
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
    "NETMAP_LOG",
];

/// Address-rewriting targets: in `nat` they end the nat chain (accept-like); they never filter.
const NAT_TARGETS: &[&str] = &["DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"];

pub(super) fn lower_target(
    line: &RuleLine<'_>,
    table: &str,
    chains: &Names<'_>,
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
        // the raw table runs before conntrack: these make the packets they match UNTRACKED for
        // the rest of raw and every later stage (iptables-extensions(8); `model::conntrack`)
        "NOTRACK" if table == "raw" => (Action::SetState(ConnState::Untracked), Vec::new()),
        "CT" if table == "raw" && t.args.iter().any(|a| a.name == "notrack") => {
            (Action::SetState(ConnState::Untracked), Vec::new())
        }
        // the packet mark later `-m mark` tests see (`marks.rs`, `model::mark`)
        "MARK" => marks::mark_target(t, ctx),
        "CONNMARK" => marks::connmark_target(t, ctx),
        "HMARK" => (Action::SetMark(MarkOp::overwrite()), Vec::new()),
        "SET" if t.args.iter().any(|a| a.name == "map-mark") => {
            (Action::SetMark(MarkOp::overwrite()), Vec::new())
        }
        n if CONTINUING.contains(&n) => (Action::Continue, Vec::new()),
        "DNAT" | "REDIRECT" | "SNAT" | "MASQUERADE" if table == "nat" => {
            natport::refused(line, t, name, ctx).unwrap_or_else(|| translation(t, name))
        }
        n if NAT_TARGETS.contains(&n) && table == "nat" => (Action::Accept, Vec::new()),
        n => {
            let known_upper = n
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            // An extension target is written in capitals; any other name is a chain, and
            // iptables-restore refuses a jump to a chain the table does not have ("Couldn't load
            // target"): a parse error. Either way the rule's packets are unknown (a fragment
            // loaded with `--noflush` may find the chain defined elsewhere).
            ctx.issues.push(ParseIssue {
                kind: if known_upper {
                    IssueKind::Undecidable
                } else {
                    IssueKind::ParseError
                },
                span: t.name.span,
                message: if known_upper {
                    format!("target `{n}` is not modelled; what it does to a packet is unknown")
                } else {
                    format!(
                        "`-j {n}` names no chain of table `{table}`: iptables-restore refuses it (\"Couldn't load target\")"
                    )
                },
                label: if known_upper { "unknown target" } else { "no such chain" }.into(),
                help: Some(
                    "matching packets are reported as unknown; if this is a user chain, declare it with `:NAME - [0:0]`"
                        .into(),
                ),
            });
            (Action::Opaque, vec![format!("-j {n}: target not modelled")])
        }
    }
}

/// `DNAT --to-destination ADDR[:PORT]` and `REDIRECT [--to-ports PORT]` (iptables-extensions(8)):
/// the destination later stages see; `SNAT --to-source ADDR[:PORT]` and `MASQUERADE [--to-ports
/// PORT]`: the source the next hop sees. A range (one address or port picked per connection) is
/// not modelled: the rule's packets are unknown.
fn translation(t: &crate::formats::iptables::Target<'_>, name: &str) -> (Action, Vec<String>) {
    let arg = |n: &str| {
        t.args
            .iter()
            .find(|a| a.name == n)
            .and_then(|a| a.values.first())
            .map(|v| v.text.as_ref())
    };
    // `--to-ports`: absent (`Some(None)`), one port, or unreadable (`None`)
    let to_ports = || match arg("to-ports") {
        None => Some(None),
        Some(p) => p.parse::<u16>().ok().map(Some),
    };
    let parsed = match name {
        "REDIRECT" => to_ports().map(|port| Translation {
            port,
            local: true,
            ..Translation::default()
        }),
        "MASQUERADE" => to_ports().map(|sport| Translation {
            sport,
            masquerade: true,
            ..Translation::default()
        }),
        "SNAT" => arg("to-source").and_then(Translation::parse_source),
        _ => arg("to-destination").and_then(Translation::parse_destination),
    };
    match parsed {
        Some(tr) => (Action::Translate(tr), Vec::new()),
        None => (
            Action::Opaque,
            vec![format!(
                "-j {name}: a translation to a range, or one Portolan cannot read, is not modelled"
            )],
        ),
    }
}
