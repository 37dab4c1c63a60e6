//! Required flows of both sides matched by key (firewall named as on both sides, policy,
//! requirement, direction, site, and the n-th such record), and the flows whose status changed,
//! with the rule changes that caused a new block; and the flows whose status is the same but
//! whose admitted sources widened or narrowed, with the rule changes on their deciding path.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::admitted::{Admitted, Direction};
use super::rules::{same_chain, Moved, RuleChanges, RuleEntry};
use super::Side;
use crate::engine::reach::Status;
use crate::engine::{Deciding, FlowRecord};

/// How a flow's status changed, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Blocked,
    Partial,
    Unknown,
    Allowed,
    /// The flow is no longer audited (its file or policy is gone).
    Gone,
}

impl Change {
    /// The JSON name (`newly-blocked`).
    pub fn name(self) -> &'static str {
        match self {
            Change::Blocked => "newly-blocked",
            Change::Partial => "newly-partial",
            Change::Unknown => "newly-unknown",
            Change::Allowed => "newly-allowed",
            Change::Gone => "no-longer-audited",
        }
    }
    /// The human heading (`newly blocked`).
    pub fn title(self) -> &'static str {
        match self {
            Change::Blocked => "newly blocked",
            Change::Partial => "newly partly blocked",
            Change::Unknown => "newly unknown",
            Change::Allowed => "newly allowed",
            Change::Gone => "no longer audited",
        }
    }
}

/// A required flow whose status changed.
#[derive(Debug, Clone)]
pub struct FlowChange {
    pub change: Change,
    pub old: Option<Status>,
    pub new: Option<Status>,
    /// The record on the new side (or the old one, for a flow that is gone), its firewall named
    /// as on both sides.
    pub rec: FlowRecord,
    /// The new side's deciding rules and defaults, files named as on both sides.
    pub deciding: Vec<Deciding>,
    pub caused_by: Vec<Cause>,
    /// How the sources it admits changed, when it is audited on both sides and they did.
    pub admitted: Option<Admitted>,
}

impl FlowChange {
    /// A required (unconditional) flow newly blocked or partly blocked.
    pub fn is_breaking(&self) -> bool {
        matches!(self.change, Change::Blocked | Change::Partial)
            && !self.rec.conditional
            && match (self.old, self.new) {
                (Some(o), Some(n)) => n.rank() > o.rank(),
                (None, Some(_)) => true,
                _ => false,
            }
    }
}

/// A rule change named as the cause of a flow's change: `how` is `added`, `removed`, `moved`
/// or (for admitted sources) `changed`: a rule added where one was removed, in the same chain at
/// the same position, which is then `was`.
#[derive(Debug, Clone)]
pub struct Cause {
    pub how: &'static str,
    pub rule: RuleEntry,
    pub was: Option<RuleEntry>,
}

/// A required flow whose status is the same on both sides but whose admitted sources differ.
#[derive(Debug, Clone)]
pub struct AdmittedChange {
    /// The record on the new side, its firewall named as on both sides.
    pub rec: FlowRecord,
    /// The new side's deciding rules and defaults, files named as on both sides.
    pub deciding: Vec<Deciding>,
    /// The rules added, changed, moved or removed on the deciding path of either side.
    pub caused_by: Vec<Cause>,
    pub admitted: Admitted,
}

impl AdmittedChange {
    pub fn direction(&self) -> Direction {
        self.admitted.direction
    }
}

/// `tcp/9669`: a flow's traffic, for messages.
fn traffic(f: &FlowRecord) -> String {
    format!("{}/{}", f.protocol, f.ports)
}

type FlowKey = ((String, String, String, String, Option<String>), usize);

fn flow_key(f: &FlowRecord, side: &Side) -> (String, String, String, String, Option<String>) {
    if !f.path.is_empty() {
        // a path is the same path whichever hop drops it: its hops and its two ends
        let hops: Vec<String> = f.path.iter().map(|h| side.name(&h.firewall)).collect();
        return (
            hops.join(" -> "),
            format!("{} -> {}", f.from_role, f.to_role),
            f.requirement.clone(),
            f.direction.to_string(),
            f.site.clone(),
        );
    }
    (
        side.name(&f.firewall),
        f.policy.clone(),
        f.requirement.clone(),
        f.direction.to_string(),
        f.site.clone(),
    )
}

fn flows_by_key(side: &Side) -> BTreeMap<FlowKey, &FlowRecord> {
    let mut seen: HashMap<_, usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for f in &side.report.flows {
        let k = flow_key(f, side);
        let n = seen.entry(k.clone()).or_default();
        out.insert((k, *n), f);
        *n += 1;
    }
    out
}

/// `deciding` with each file named as on both sides.
fn rel_deciding(d: &[Deciding], side: &Side) -> Vec<Deciding> {
    d.iter()
        .map(|x| Deciding {
            file: side.name(&x.file).into(),
            ..x.clone()
        })
        .collect()
}

/// The flows whose status changed, worst first (breaking before not, then by firewall and
/// requirement); and the flows whose status did not change but whose admitted sources did,
/// widened first.
pub(super) fn compare_flows(
    old: &Side,
    new: &Side,
    rules: &RuleChanges,
) -> (Vec<FlowChange>, Vec<AdmittedChange>) {
    let of = flows_by_key(old);
    let nf = flows_by_key(new);
    let mut flows = Vec::new();
    let mut widened = Vec::new();
    let keys: BTreeSet<&FlowKey> = of.keys().chain(nf.keys()).collect();
    for k in keys {
        let (o, n) = (of.get(k), nf.get(k));
        let admitted = match (o, n) {
            (Some(o), Some(n)) => {
                Admitted::compare(&traffic(n), &o.allowed_sources, &n.allowed_sources)
            }
            _ => None,
        };
        let change = match (o, n) {
            (Some(o), Some(n)) if o.status == n.status => {
                if let Some(admitted) = admitted {
                    let mut rec = (*n).clone();
                    rec.firewall = k.0 .0.clone();
                    let deciding = rel_deciding(&n.deciding, new);
                    let was = rel_deciding(&o.deciding, old);
                    let caused_by = admitted_causes(&was, &deciding, rules, &rec.firewall);
                    widened.push(AdmittedChange {
                        rec,
                        deciding,
                        caused_by,
                        admitted,
                    });
                }
                continue;
            }
            (_, Some(n)) => match n.status {
                Status::Blocked => Change::Blocked,
                Status::Partial => Change::Partial,
                Status::Unknown => Change::Unknown,
                Status::Allowed => Change::Allowed,
            },
            (Some(_), None) => Change::Gone,
            (None, None) => continue,
        };
        let (rec, deciding) = match (n, o) {
            (Some(n), _) => ((*n).clone(), rel_deciding(&n.deciding, new)),
            (None, Some(o)) => ((*o).clone(), Vec::new()),
            (None, None) => continue,
        };
        let mut rec = rec;
        rec.firewall = k.0 .0.clone();
        let mut caused_by = Vec::new();
        if matches!(change, Change::Blocked | Change::Partial) {
            caused_by = causes(
                &deciding,
                &rules.added,
                &rules.removed,
                &rules.moved,
                &rules.kept,
                &rec.firewall,
            );
        }
        flows.push(FlowChange {
            change,
            old: o.map(|x| x.status),
            new: n.map(|x| x.status),
            rec,
            deciding,
            caused_by,
            admitted,
        });
    }
    widened.sort_by(|a, b| {
        (a.direction(), &a.rec.firewall, &a.rec.requirement).cmp(&(
            b.direction(),
            &b.rec.firewall,
            &b.rec.requirement,
        ))
    });
    flows.sort_by(|a, b| {
        (
            a.change,
            !a.is_breaking(),
            &a.rec.firewall,
            &a.rec.requirement,
        )
            .cmp(&(
                b.change,
                !b.is_breaking(),
                &b.rec.firewall,
                &b.rec.requirement,
            ))
    });
    (flows, widened)
}

/// What made a flow newly (partly) blocked: its deciding rules that were added or moved; moved
/// rules that crossed a deciding rule (its order with the decider in their chain changed); and,
/// when neither explains it, the rules removed from that firewall.
fn causes(
    deciding: &[Deciding],
    added: &[RuleEntry],
    removed: &[RuleEntry],
    moved: &[Moved],
    kept: &[(RuleEntry, usize)],
    firewall: &str,
) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::new();
    let push = |how, rule: &RuleEntry, out: &mut Vec<Cause>| {
        let dup = out
            .iter()
            .any(|c| c.rule.label == rule.label && c.rule.firewall == rule.firewall);
        if !dup {
            out.push(Cause {
                how,
                rule: rule.clone(),
                was: None,
            });
        }
    };
    for d in deciding {
        let same =
            |r: &RuleEntry| *r.firewall == *d.file && *r.label == *d.rule && r.line == d.line;
        if let Some(r) = added.iter().find(|r| same(r)) {
            push("added", r, &mut out);
        } else if let Some(m) = moved.iter().find(|m| same(&m.new)) {
            push("moved", &m.new, &mut out);
        } else if let Some((r, was)) = kept.iter().find(|(r, _)| same(r)) {
            for m in moved.iter().filter(|m| same_chain(&m.new, r)) {
                if (m.old.position < *was) != (m.new.position < r.position) {
                    push("moved", &m.new, &mut out);
                }
            }
        }
    }
    if out.is_empty() {
        for r in removed.iter().filter(|r| r.firewall == firewall) {
            push("removed", r, &mut out);
        }
    }
    out
}

/// What made a flow admit other sources: on the new side's deciding path, the rules added
/// (`changed` when one was removed from the same place of the same chain) or moved, and moved
/// rules that crossed a kept deciding rule; on the old side's, the rules removed. When none of
/// these explains it, every rule added to or removed from that firewall.
fn admitted_causes(
    old_deciding: &[Deciding],
    new_deciding: &[Deciding],
    rules: &RuleChanges,
    firewall: &str,
) -> Vec<Cause> {
    let mut out = causes(
        new_deciding,
        &rules.added,
        &[],
        &rules.moved,
        &rules.kept,
        firewall,
    );
    for c in out.iter_mut().filter(|c| c.how == "added") {
        let here = |r: &&RuleEntry| same_chain(r, &c.rule) && r.position == c.rule.position;
        if let Some(r) = rules.removed.iter().find(here) {
            c.how = "changed";
            c.was = Some(r.clone());
        }
    }
    for d in old_deciding {
        let same =
            |r: &&RuleEntry| *r.firewall == *d.file && *r.label == *d.rule && r.line == d.line;
        let Some(r) = rules.removed.iter().find(same) else {
            continue;
        };
        let known = out.iter().any(|c| {
            c.was
                .as_ref()
                .is_some_and(|w| same_chain(w, r) && w.position == r.position)
                || (c.how == "removed" && same_chain(&c.rule, r) && c.rule.position == r.position)
        });
        if !known {
            out.push(Cause {
                how: "removed",
                rule: r.clone(),
                was: None,
            });
        }
    }
    if out.is_empty() {
        let on = |r: &&RuleEntry| r.firewall == firewall;
        for r in rules.added.iter().filter(on) {
            out.push(Cause {
                how: "added",
                rule: r.clone(),
                was: None,
            });
        }
        for r in rules.removed.iter().filter(on) {
            out.push(Cause {
                how: "removed",
                rule: r.clone(),
                was: None,
            });
        }
    }
    out
}
