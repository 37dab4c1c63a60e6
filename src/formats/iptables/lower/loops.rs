//! Jump loops: a chain that reaches itself is refused by `iptables-restore`.

use super::Ctx;
use crate::formats::{IssueKind, ParseIssue};
use crate::model::{Action, Chain, Rule};

/// A chain that can reach itself through jumps and gotos is refused by `iptables-restore`; report
/// each such cycle once, at the jump that closes it. (Evaluation stays safe regardless: a jump
/// into a chain already being evaluated is unknown.)
pub(super) fn report_jump_loops(table: &str, chains: &[Chain], rules: &[Rule], ctx: &mut Ctx<'_>) {
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
