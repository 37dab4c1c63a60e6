//! The findings of an evaluated flow (Z101, Z102, Z103, Z002) and the labels they carry.

use super::reach::{Reach, Status};
use super::{Deciding, Finding, FlowRecord, InputFile, Label, Severity};
use crate::checks::{
    self as checks, z002_undecidable_match, z101_required_flow_blocked, z102_required_flow_partial,
    z103_required_flow_unknown,
};
use crate::model::{At, Decider, Ruleset, Verdict};

/// The JSON `deciding` entry of a decider.
pub(super) fn deciding(file: &InputFile, rs: &Ruleset, at: At) -> Option<Deciding> {
    let p = rs.policies.get(at.policy)?;
    let (prov, action) = match at.decider {
        Decider::Rule(r) | Decider::Loop(r) => {
            let rule = p.rules.get(r)?;
            (&rule.prov, rule.action.name().to_string())
        }
        Decider::ChainPolicy(c) => {
            let ch = p.chains.get(c)?;
            let a = match ch.policy {
                Some(Verdict::Allow) => "accept",
                Some(Verdict::Deny) => "drop",
                _ => "unknown",
            };
            (&ch.decl, a.to_string())
        }
    };
    Some(Deciding {
        file: file.path.clone(),
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
    Some(Label {
        span: prov.span,
        line: prov.line,
        column: prov.column,
        text,
        rule: Some(prov.label.clone()),
        identity: rs.policies.get(at.policy).and_then(|p| match at.decider {
            Decider::Rule(r) | Decider::Loop(r) => {
                p.rules.get(r).and_then(|r| super::finding::identity(p, r))
            }
            Decider::ChainPolicy(c) => super::finding::chain_identity(p, c),
        }),
    })
}

pub(super) fn flow_message(rec: &FlowRecord, what: &str) -> String {
    let cond = match &rec.condition {
        Some(c) => format!(" (needed only if {c})"),
        None => String::new(),
    };
    format!(
        "{} {}/{} {} -> {} ({}, {}) {what}{cond}",
        rec.requirement,
        rec.protocol,
        rec.ports,
        rec.from_role,
        rec.to_role,
        rec.direction,
        rec.policy
    )
}

pub(super) fn flow_findings(
    rec: &FlowRecord,
    reach: &Reach,
    rs: &Ruleset,
    remedy: Option<&crate::remedy::Remedy>,
) -> Vec<Finding> {
    // the help of Z101/Z102: the remedy's fix, or why no single change fixes it
    let fix_help = || {
        remedy
            .map(|r| r.help())
            .unwrap_or_else(|| "allow the flow for the peers that need it".into())
    };
    let mut out = Vec::new();
    let conditional = rec.conditional;
    let base = |check: &checks::Check, what: &str| {
        let mut f = Finding::new(check, flow_message(rec, what));
        f.file = Some(rec.file);
        f.requirement = Some(rec.requirement.clone());
        f.site = rec.site.clone();
        if conditional && f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        f
    };
    let deny_labels = |verb: &str| -> Vec<Label> {
        let mut labels: Vec<Label> = reach
            .deciders(Verdict::Deny)
            .into_iter()
            .filter_map(|at| label_at(rs, at, format!("{verb} {}/{}", rec.protocol, rec.ports)))
            .collect();
        // the jumps and returns that led there
        for o in reach.outcomes.iter().filter(|o| o.verdict == Verdict::Deny) {
            for &(pi, r) in &o.via {
                let Some(rule) = rs.policies.get(pi).and_then(|p| p.rules.get(r)) else {
                    continue;
                };
                let text = match rule.action {
                    crate::model::Action::Jump(c) | crate::model::Action::Goto(c) => format!(
                        "jumps to {}",
                        rs.policies[pi]
                            .chains
                            .get(c)
                            .map(|c| c.name.as_str())
                            .unwrap_or("?")
                    ),
                    crate::model::Action::Return => "returns to the calling chain".to_string(),
                    _ => continue,
                };
                let at = At {
                    policy: pi,
                    decider: Decider::Rule(r),
                };
                if let Some(l) = label_at(rs, at, text) {
                    if !labels.iter().any(|x| x.span == l.span) {
                        labels.push(l);
                    }
                }
            }
        }
        labels
    };
    match rec.status {
        Status::Allowed => {}
        Status::Blocked => {
            // name what denies it (with NSGs in series: which NSG)
            let by: Vec<String> = reach
                .deciders(Verdict::Deny)
                .into_iter()
                .filter_map(|at| rs.provenance(at).map(|p| p.label.clone()))
                .collect();
            let what = match by.as_slice() {
                [one] => format!("is blocked by {one}"),
                _ => "is blocked".to_string(),
            };
            let mut f = base(&z101_required_flow_blocked::CHECK, &what);
            f.labels = deny_labels("drops");
            let mut help = fix_help();
            if let Some(hint) = disabled_rule_hint(reach, rs, rec.direction == "outbound") {
                help = format!("{hint}; or {help}");
            }
            f.help = Some(help);
            out.push(f);
        }
        Status::Partial => {
            let mut f = base(
                &z102_required_flow_partial::CHECK,
                &format!(
                    "is allowed only from {}",
                    display_list(&rec.allowed_sources)
                ),
            );
            f.labels = deny_labels("drops the rest of");
            let (what, denied) = if rec.direction == "outbound" {
                ("destinations", reach.denied_destinations())
            } else {
                ("sources", reach.denied_sources())
            };
            f.help = Some(format!(
                "denied {what}: {}; {}",
                display_list(&denied.to_cidrs()),
                fix_help()
            ));
            out.push(f);
        }
        Status::Unknown => {
            let mut f = base(&z103_required_flow_unknown::CHECK, "cannot be decided");
            let und: Vec<At> = reach.deciders(Verdict::Unknown);
            f.labels = und
                .iter()
                .filter(|at| is_undecidable(rs, **at))
                .filter_map(|at| label_at(rs, *at, "cannot be evaluated".into()))
                .collect();
            f.help = Some(format!(
                "undecided because: {}",
                rec.unknown_reasons.join("; ")
            ));
            out.push(f);
            // Z002 once per undecidable rule that touched a required flow
            for at in und.into_iter().filter(|at| is_undecidable(rs, *at)) {
                let Some(p) = rs.policies.get(at.policy) else {
                    continue;
                };
                let (Decider::Rule(r) | Decider::Loop(r)) = at.decider else {
                    continue;
                };
                let Some(rule) = p.rules.get(r) else { continue };
                let why = if rule.undecidable.is_empty() {
                    "its verdict is not in the export".to_string()
                } else {
                    rule.undecidable.join("; ")
                };
                let mut f = Finding::new(
                    &z002_undecidable_match::CHECK,
                    format!("{}: {why}", rule.prov.label),
                );
                f.file = Some(rec.file);
                f.labels = label_at(rs, at, "undecidable".into()).into_iter().collect();
                f.help = Some(
                    "flows through this rule are reported as unknown; see `portolan explain Z002`"
                        .into(),
                );
                out.push(f);
            }
        }
    }
    out
}

fn is_undecidable(rs: &Ruleset, at: At) -> bool {
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
