//! The findings of an evaluated flow (Z101, Z102, Z103, Z002) and the labels they carry.

use super::reach::{Reach, Status};
use super::{Deciding, Finding, FlowRecord, Label, Severity};
use crate::checks::{
    self as checks, z002_undecidable_match, z101_required_flow_blocked, z102_required_flow_partial,
    z103_required_flow_unknown,
};
use crate::model::{At, Decider, Ruleset, Verdict};

/// The JSON `deciding` entry of a decider in the file at `path` (one shared path for every
/// entry of the file).
pub(super) fn deciding(path: &std::sync::Arc<str>, rs: &Ruleset, at: At) -> Option<Deciding> {
    let p = rs.policies.get(at.policy)?;
    let (prov, action) = match at.decider {
        Decider::Rule(r) | Decider::Loop(r) => {
            let rule = p.rules.get(r)?;
            (&rule.prov, rule.action.name())
        }
        Decider::ChainPolicy(c) => {
            let ch = p.chains.get(c)?;
            let a = match ch.policy {
                Some(Verdict::Allow) => "accept",
                Some(Verdict::Deny) => "drop",
                _ => "unknown",
            };
            (&ch.decl, a)
        }
    };
    Some(Deciding {
        file: path.clone(),
        line: (!prov.span.is_empty() || prov.line > 0)
            .then_some(prov.line)
            .filter(|l| *l > 0),
        rule: prov.label.clone(),
        action,
    })
}

/// A label on a decider's source, if it has one in the file.
pub fn label_at(rs: &Ruleset, at: At, text: String) -> Option<Label> {
    let prov = rs.provenance(at)?;
    if prov.span.is_empty() {
        return None;
    }
    Some(label_on(rs, at, prov, text))
}

/// [`label_at`] with the decider's provenance already looked up (and its span not empty).
fn label_on(rs: &Ruleset, at: At, prov: &crate::model::Provenance, text: String) -> Label {
    Label {
        span: prov.span,
        line: prov.line,
        column: prov.column,
        text,
        rule: Some(prov.label.to_string()),
        identity: rs.policies.get(at.policy).and_then(|p| match at.decider {
            Decider::Rule(r) | Decider::Loop(r) => {
                p.rules.get(r).and_then(|r| super::finding::identity(p, r))
            }
            Decider::ChainPolicy(c) => super::finding::chain_identity(p, c),
        }),
    }
}

pub(super) fn flow_message(rec: &FlowRecord, what: &str) -> String {
    let (open, cond, close) = match &rec.condition {
        Some(c) => (" (needed only if ", c.as_str(), ")"),
        None => ("", "", ""),
    };
    // made at its length by `concat` (`format!` starts from nothing when the text opens with a
    // value, and grows a message of a few hundred bytes three or four times)
    [
        rec.requirement.as_str(),
        " ",
        &rec.protocol,
        "/",
        &rec.ports,
        " ",
        &rec.from_role,
        " -> ",
        &rec.to_role,
        " (",
        rec.direction,
        ", ",
        &rec.policy,
        ") ",
        what,
        open,
        cond,
        close,
    ]
    .concat()
}

/// What the checks of an evaluated flow (Z101, Z102, Z103, Z002) read: the flow record, its
/// evaluation, the ruleset and the remedy; and the pieces of a finding they share.
pub struct FlowCtx<'a> {
    pub rec: &'a FlowRecord,
    pub reach: &'a Reach,
    pub rs: &'a Ruleset,
    pub remedy: Option<&'a crate::remedy::Remedy>,
}

impl FlowCtx<'_> {
    /// A finding about this flow: the flow's message with `what`, its file, requirement and
    /// site; an error becomes a warning when the flow is needed only under a condition.
    pub fn finding(&self, check: &checks::Check, what: &str) -> Finding {
        let mut f = Finding::new(check, flow_message(self.rec, what));
        f.file = Some(self.rec.file);
        f.requirement = Some(self.rec.requirement.clone());
        f.site = self.rec.site.clone();
        if self.rec.conditional && f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        f
    }

    /// The help of Z101/Z102: the remedy's fix, or why no single change fixes it.
    pub fn fix_help(&self) -> String {
        self.remedy
            .map(|r| r.help())
            .or_else(|| self.rec.no_fix.clone())
            .unwrap_or_else(|| "allow the flow for the peers that need it".into())
    }

    /// Labels on what denies the flow, and on the jumps and returns that led there.
    pub fn deny_labels(&self, verb: &str) -> Vec<Label> {
        let (rec, reach, rs) = (self.rec, self.reach, self.rs);
        let denies = format!("{verb} {}/{}", rec.protocol, rec.ports);
        let mut labels: Vec<Label> = reach
            .deciders(Verdict::Deny)
            .into_iter()
            .filter_map(|at| label_at(rs, at, denies.clone()))
            .collect();
        for o in reach.outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
            for &(pi, r) in &o.via {
                let Some(rule) = rs.policies.get(pi).and_then(|p| p.rules.get(r)) else {
                    continue;
                };
                // where a jump or goto leads (`None`: a return)
                let leads_to = match rule.action {
                    crate::model::Action::Jump(c) | crate::model::Action::Goto(c) => Some(c),
                    crate::model::Action::Return => None,
                    _ => continue,
                };
                let at = At {
                    policy: pi,
                    decider: Decider::Rule(r),
                };
                // a line already labelled (the same jump on the way of many pieces) is not
                // labelled again: known before its label is written
                let Some(prov) = rs
                    .provenance(at)
                    .filter(|p| !p.span.is_empty() && !labels.iter().any(|x| x.span == p.span))
                else {
                    continue;
                };
                let text = match leads_to {
                    Some(c) => format!(
                        "jumps to {}",
                        rs.policies[pi]
                            .chains
                            .get(c)
                            .map(|c| c.name.as_str())
                            .unwrap_or("?")
                    ),
                    None => "returns to the calling chain".to_string(),
                };
                labels.push(label_on(rs, at, prov, text));
            }
        }
        labels
    }

    /// Windows keeps disabled rules: the one whose enabling would admit what is denied, if any.
    pub fn disabled_rule_hint(&self) -> Option<String> {
        disabled_rule_hint(self.reach, self.rs, self.rec.direction == "outbound")
    }
}

/// The findings of one evaluated flow, by its status: each check's logic is in its own file.
pub(super) fn flow_findings(
    rec: &FlowRecord,
    reach: &Reach,
    rs: &Ruleset,
    remedy: Option<&crate::remedy::Remedy>,
) -> Vec<Finding> {
    let cx = FlowCtx {
        rec,
        reach,
        rs,
        remedy,
    };
    match rec.status {
        Status::Allowed => Vec::new(),
        Status::Blocked => vec![z101_required_flow_blocked::finding(&cx)],
        Status::Partial => vec![z102_required_flow_partial::finding(&cx)],
        Status::Unknown => {
            let mut out = vec![z103_required_flow_unknown::finding(&cx)];
            // a Z002 per undecidable rule only where few decide the flow: beyond, the Z103
            // summarises them (count and first names), one line per flow
            let z002 = z002_undecidable_match::from_flow(&cx);
            if z002.len() <= z103_required_flow_unknown::NAMED {
                out.extend(z002);
            }
            out
        }
    }
}

/// A decider the engine could not decide: an undecidable rule, an opaque verdict, a jump loop.
pub fn is_undecidable(rs: &Ruleset, at: At) -> bool {
    match at.decider {
        Decider::Loop(_) => true,
        _ => rs
            .rule(at)
            .is_some_and(|r| !r.undecidable.is_empty() || r.action == crate::model::Action::Opaque),
    }
}

pub fn display_list(v: &[String]) -> String {
    const MAX: usize = 6;
    if v.is_empty() {
        return "nowhere".into();
    }
    if v.len() <= MAX {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..MAX].join(", "), v.len() - MAX)
    }
}

/// Windows keeps disabled rules (they are in the export, in chains nothing enters): if one of
/// them would admit what the profile's default denies, say so ("enabling rule X would admit
/// it"). Only where the default decides: a block rule wins over any allow, enabled or not.
fn disabled_rule_hint(reach: &Reach, rs: &Ruleset, outbound: bool) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for o in reach.outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
        if !o
            .deciders
            .iter()
            .all(|d| matches!(d.decider, Decider::ChainPolicy(_)))
        {
            continue;
        }
        for at in &o.deciders {
            let Some(p) = rs.policies.get(at.policy) else {
                continue;
            };
            for rule in &p.rules {
                let crate::model::NativeRef::Windows {
                    enabled: false,
                    outbound: out,
                    ..
                } = rule.native
                else {
                    continue;
                };
                if out != outbound
                    || rule.action != crate::model::Action::Accept
                    || !rule.undecidable.is_empty()
                    || rule.matches.intersect(&o.space).is_none()
                {
                    continue;
                }
                let n = if rule.prov.line > 0 {
                    format!("`{}` (line {})", rule.prov.label, rule.prov.line)
                } else {
                    format!("`{}`", rule.prov.label)
                };
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    (!names.is_empty()).then(|| {
        format!(
            "enabling the disabled rule {} would admit it",
            names.join(", ")
        )
    })
}

/// The `quoted` names in a message.
pub(super) fn backticked(m: &str) -> Vec<&str> {
    m.split('`').skip(1).step_by(2).collect()
}
