//! Z204 `nat-on-required-flow`: A NAT rule rewrites the destination or source of a required flow.
//! The full text is in `z204_nat_on_required_flow.md`, next to this file.

use super::Check;
use super::Severity;
use crate::engine::findings::{label_at, FlowCtx};
use crate::engine::Finding;
use crate::model::At;

pub const CHECK: Check = Check {
    code: "Z204",
    name: "nat-on-required-flow",
    severity: Severity::Warning,
    summary: "A NAT rule rewrites the destination or source of a required flow.",
    doc: include_str!("z204_nat_on_required_flow.md"),
};

/// `ADDR:PORT`, with an IPv6 address in brackets.
fn at(a: std::net::IpAddr, p: u16) -> String {
    match a {
        std::net::IpAddr::V6(_) => format!("[{a}]:{p}"),
        std::net::IpAddr::V4(_) => format!("{a}:{p}"),
    }
}

/// Z204 for a flow some of whose packets a NAT rule translated on their way through the
/// pipeline (each evaluated piece says which rule rewrote what later stages saw, `Outcome::nat`):
/// one finding naming those rules, whatever the flow's status (a translation that blocks the
/// flow is the reason it is blocked). `None` when nothing translated it.
pub fn finding(cx: &FlowCtx<'_>) -> Option<Finding> {
    let mut by: Vec<(At, crate::model::nat::Translation)> = Vec::new();
    // a source NAT counts where it translates all the flow lets through: a `-s 172.17.0.0/16
    // -j MASQUERADE` matching some of the addresses quick mode gives the host says nothing about
    // the host's own Zerto traffic
    let mut allowed = cx
        .reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == crate::model::Verdict::Allow)
        .peekable();
    let all_source =
        allowed.peek().is_some() && allowed.all(|o| o.nat.is_some_and(|t| t.to.rewrites_source()));
    for o in &cx.reach.outcomes {
        let Some(t) = o.nat else {
            continue;
        };
        let parts = [
            t.dst_by.map(|at| (at, t.to.destination_part())),
            t.src_by
                .filter(|_| all_source)
                .map(|at| (at, t.to.source_part())),
        ];
        for (at, part) in parts.into_iter().flatten() {
            if !by.iter().any(|(a, _)| *a == at) {
                by.push((at, part));
            }
        }
    }
    if by.is_empty() {
        return None;
    }
    let describe = |t: &crate::model::nat::Translation| {
        let dst = match (t.addr, t.port, t.local) {
            (_, Some(p), true) => Some(format!("redirects it to port {p} of the host")),
            (_, None, true) => Some("redirects it to the host".to_string()),
            (Some(a), Some(p), _) => Some(format!("rewrites its destination to {}", at(a, p))),
            (Some(a), None, _) => Some(format!("rewrites its destination address to {a}")),
            (None, Some(p), _) => Some(format!("rewrites its destination port to {p}")),
            (None, None, _) => None,
        };
        let src = match (t.src, t.sport, t.masquerade) {
            (_, Some(p), true) => Some(format!(
                "masquerades its source as the outgoing interface's address, port {p}"
            )),
            (_, None, true) => {
                Some("masquerades its source as the outgoing interface's address".to_string())
            }
            (Some(a), Some(p), _) => Some(format!("rewrites its source to {}", at(a, p))),
            (Some(a), None, _) => Some(format!("rewrites its source address to {a}")),
            (None, Some(p), _) => Some(format!("rewrites its source port to {p}")),
            (None, None, _) => None,
        };
        match (dst, src) {
            (Some(d), Some(s)) => format!("{d} and {s}"),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => "translates it".to_string(),
        }
    };
    let names: Vec<String> = by
        .iter()
        .filter_map(|(at, t)| {
            cx.rs
                .provenance(*at)
                .map(|p| format!("{} {}", p.label, describe(t)))
        })
        .collect();
    let mut f = cx.finding(
        &CHECK,
        &format!("is translated by NAT: {}", names.join("; ")),
    );
    f.labels = by
        .iter()
        .filter_map(|(at, t)| label_at(cx.rs, *at, describe(t)))
        .collect();
    f.help = Some(
        "Zerto peers address each other directly: make sure both ends know the translated address and port (or exempt the flow from the NAT rule)"
            .into(),
    );
    Some(f)
}
