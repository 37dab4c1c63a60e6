//! A [`Diff`] as text (for people) and as `portolan-diff/1` JSON (for CI scripts: the contract
//! only ever gains fields).

use std::io::Write;

use serde::Serialize;

use super::{
    Admitted, AdmittedChange, Cause, Change, Diff, Direction, FindingEntry, FlowChange, Moved,
    RuleEntry,
};
use crate::engine::reach::Status;
use crate::engine::Deciding;

/// The JSON document's schema name.
pub const SCHEMA: &str = "portolan-diff/1";

/// The `portolan-diff/1` document.
#[derive(Debug, Serialize)]
pub struct DiffJson<'a> {
    pub schema: &'static str,
    pub old: &'a str,
    pub new: &'a str,
    pub flows_changed: Vec<FlowJson<'a>>,
    /// Flows whose status is the same but whose admitted sources differ (added in 0.1: the
    /// entries have the fields of `flows_changed`, `change` being `admitted-widened`,
    /// `admitted-narrowed` or `admitted-widened-and-narrowed`).
    pub admitted_changed: Vec<FlowJson<'a>>,
    pub findings_added: Vec<FindingJson<'a>>,
    pub findings_fixed: Vec<FindingJson<'a>>,
    pub rules_added: Vec<RuleJson<'a>>,
    pub rules_removed: Vec<RuleJson<'a>>,
    pub rules_moved: Vec<MovedJson<'a>>,
    pub summary: SummaryJson,
}

/// A rule added, removed, moved or named as a cause.
#[derive(Debug, Serialize)]
pub struct RuleJson<'a> {
    pub firewall: &'a str,
    pub ruleset: Option<&'a str>,
    pub policy: &'a str,
    pub chain: &'a str,
    pub position: usize,
    pub rule: &'a str,
    pub line: Option<u32>,
    pub action: &'a str,
    pub text: &'a str,
}

impl<'a> From<&'a RuleEntry> for RuleJson<'a> {
    fn from(r: &'a RuleEntry) -> Self {
        RuleJson {
            firewall: &r.firewall,
            ruleset: r.ruleset.as_deref(),
            policy: &r.policy,
            chain: &r.chain,
            position: r.position,
            rule: &r.label,
            line: r.line,
            action: r.action,
            text: &r.text,
        }
    }
}

/// A rule whose order in its chain changed: where it is now, and where it was.
#[derive(Debug, Serialize)]
pub struct MovedJson<'a> {
    #[serde(flatten)]
    pub rule: RuleJson<'a>,
    pub old_rule: &'a str,
    pub old_line: Option<u32>,
    pub old_position: usize,
}

/// A rule named as the cause of a flow's change; `change` is `added`, `removed`, `moved` or
/// `changed` (then `old_rule`, `old_line` and `old_text` say what the rule was).
#[derive(Debug, Serialize)]
pub struct CauseJson<'a> {
    #[serde(flatten)]
    pub rule: RuleJson<'a>,
    pub change: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_text: Option<&'a str>,
}

impl<'a> From<&'a Cause> for CauseJson<'a> {
    fn from(c: &'a Cause) -> Self {
        CauseJson {
            rule: (&c.rule).into(),
            change: c.how,
            old_rule: c.was.as_ref().map(|w| w.label.as_str()),
            old_line: c.was.as_ref().and_then(|w| w.line),
            old_text: c.was.as_ref().map(|w| w.text.as_str()),
        }
    }
}

/// How the sources a flow admits differ: `change` is `widened`, `narrowed` or
/// `widened-and-narrowed`; `added_sources` = new − old, `removed_sources` = old − new (fewest
/// CIDRs); `*_any_address`: that side admits every address of its family, loopback aside.
#[derive(Debug, Serialize)]
pub struct AdmittedJson<'a> {
    pub change: &'a str,
    pub old_sources: &'a [String],
    pub new_sources: &'a [String],
    pub added_sources: &'a [String],
    pub removed_sources: &'a [String],
    pub old_any_address: bool,
    pub new_any_address: bool,
    pub message: &'a str,
}

impl<'a> From<&'a Admitted> for AdmittedJson<'a> {
    fn from(a: &'a Admitted) -> Self {
        AdmittedJson {
            change: a.direction.name(),
            old_sources: &a.old_sources,
            new_sources: &a.new_sources,
            added_sources: &a.added,
            removed_sources: &a.removed,
            old_any_address: a.old_any,
            new_any_address: a.new_any,
            message: &a.message,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    pub fingerprint: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub severity: &'a str,
    pub message: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub requirement: Option<&'a str>,
    pub waived: bool,
}

impl<'a> From<&'a FindingEntry> for FindingJson<'a> {
    fn from(f: &'a FindingEntry) -> Self {
        FindingJson {
            fingerprint: &f.fingerprint,
            code: f.code,
            name: f.name,
            severity: f.severity.name(),
            message: &f.message,
            file: f.file.as_deref(),
            line: f.line,
            column: f.column,
            requirement: f.requirement.as_deref(),
            waived: f.waived,
        }
    }
}

/// A required flow whose status changed.
#[derive(Debug, Serialize)]
pub struct FlowJson<'a> {
    pub change: &'a str,
    pub breaking: bool,
    pub firewall: &'a str,
    pub policy: &'a str,
    pub requirement: &'a str,
    pub direction: &'a str,
    pub site: Option<&'a str>,
    pub from_role: &'a str,
    pub to_role: &'a str,
    pub protocol: &'a str,
    pub ports: &'a str,
    pub conditional: bool,
    pub old_status: Option<&'a str>,
    pub new_status: Option<&'a str>,
    pub deciding: &'a [Deciding],
    pub caused_by: Vec<CauseJson<'a>>,
    /// How the admitted sources changed (`null` when they did not, or one side has no record).
    pub admitted: Option<AdmittedJson<'a>>,
}

impl<'a> From<&'a FlowChange> for FlowJson<'a> {
    fn from(f: &'a FlowChange) -> Self {
        FlowJson {
            change: f.change.name(),
            breaking: f.is_breaking(),
            firewall: &f.rec.firewall,
            policy: &f.rec.policy,
            requirement: &f.rec.requirement,
            direction: f.rec.direction,
            site: f.rec.site.as_deref(),
            from_role: &f.rec.from_role,
            to_role: &f.rec.to_role,
            protocol: &f.rec.protocol,
            ports: &f.rec.ports,
            conditional: f.rec.conditional,
            old_status: f.old.map(|s| s.name()),
            new_status: f.new.map(|s| s.name()),
            deciding: &f.deciding,
            caused_by: f.caused_by.iter().map(Into::into).collect(),
            admitted: f.admitted.as_ref().map(Into::into),
        }
    }
}

impl<'a> From<&'a AdmittedChange> for FlowJson<'a> {
    fn from(f: &'a AdmittedChange) -> Self {
        let status = Some(f.rec.status.name());
        FlowJson {
            change: match f.direction() {
                Direction::Widened => "admitted-widened",
                Direction::Narrowed => "admitted-narrowed",
                Direction::Both => "admitted-widened-and-narrowed",
            },
            breaking: false,
            firewall: &f.rec.firewall,
            policy: &f.rec.policy,
            requirement: &f.rec.requirement,
            direction: f.rec.direction,
            site: f.rec.site.as_deref(),
            from_role: &f.rec.from_role,
            to_role: &f.rec.to_role,
            protocol: &f.rec.protocol,
            ports: &f.rec.ports,
            conditional: f.rec.conditional,
            old_status: status,
            new_status: status,
            deciding: &f.deciding,
            caused_by: f.caused_by.iter().map(Into::into).collect(),
            admitted: Some((&f.admitted).into()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SummaryJson {
    pub flows_changed: FlowCountsJson,
    pub admitted_changed: AdmittedCountsJson,
    pub findings_added: usize,
    pub findings_fixed: usize,
    pub rules_added: usize,
    pub rules_removed: usize,
    pub rules_moved: usize,
    pub breaking: bool,
}

#[derive(Debug, Serialize)]
pub struct FlowCountsJson {
    pub newly_blocked: usize,
    pub newly_partial: usize,
    pub newly_unknown: usize,
    pub newly_allowed: usize,
    pub no_longer_audited: usize,
}

/// Flows of the same status whose admitted sources changed, by direction.
#[derive(Debug, Serialize)]
pub struct AdmittedCountsJson {
    pub widened: usize,
    pub narrowed: usize,
    pub widened_and_narrowed: usize,
}

/// The `portolan-diff/1` document of `d`; `old` and `new` say what was compared.
pub fn to_json<'a>(d: &'a Diff, old: &'a str, new: &'a str) -> DiffJson<'a> {
    let moved = |m: &'a Moved| MovedJson {
        rule: (&m.new).into(),
        old_rule: &m.old.label,
        old_line: m.old.line,
        old_position: m.old.position,
    };
    DiffJson {
        schema: SCHEMA,
        old,
        new,
        flows_changed: d.flows.iter().map(Into::into).collect(),
        admitted_changed: d.admitted.iter().map(Into::into).collect(),
        findings_added: d.findings_added.iter().map(Into::into).collect(),
        findings_fixed: d.findings_fixed.iter().map(Into::into).collect(),
        rules_added: d.rules_added.iter().map(Into::into).collect(),
        rules_removed: d.rules_removed.iter().map(Into::into).collect(),
        rules_moved: d.rules_moved.iter().map(moved).collect(),
        summary: SummaryJson {
            flows_changed: FlowCountsJson {
                newly_blocked: d.count(Change::Blocked),
                newly_partial: d.count(Change::Partial),
                newly_unknown: d.count(Change::Unknown),
                newly_allowed: d.count(Change::Allowed),
                no_longer_audited: d.count(Change::Gone),
            },
            admitted_changed: AdmittedCountsJson {
                widened: d.count_admitted(Direction::Widened),
                narrowed: d.count_admitted(Direction::Narrowed),
                widened_and_narrowed: d.count_admitted(Direction::Both),
            },
            findings_added: d.findings_added.len(),
            findings_fixed: d.findings_fixed.len(),
            rules_added: d.rules_added.len(),
            rules_removed: d.rules_removed.len(),
            rules_moved: d.rules_moved.len(),
            breaking: d.breaking(),
        },
    }
}

fn at(file: &str, line: Option<u32>) -> String {
    match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    }
}

fn cause_lines(w: &mut dyn Write, c: &Cause) -> std::io::Result<()> {
    writeln!(
        w,
        "      caused by the {} rule {} at {}: {}",
        c.how,
        c.rule.label,
        at(&c.rule.firewall, c.rule.line),
        c.rule.text
    )?;
    if let Some(was) = &c.was {
        writeln!(
            w,
            "        was {} at line {}: {}",
            was.label,
            was.line.map(|l| l.to_string()).unwrap_or("-".into()),
            was.text
        )?;
    }
    Ok(())
}

/// ` (site X) [conditional]` after a flow.
fn flow_tail(f: &crate::engine::FlowRecord) -> String {
    format!(
        "{}{}",
        f.site
            .as_ref()
            .map(|s| format!(" (site {s})"))
            .unwrap_or_default(),
        if f.conditional { " [conditional]" } else { "" }
    )
}

/// The flows of the same status whose admitted sources changed, one section per direction.
fn admitted_sections(w: &mut dyn Write, d: &Diff) -> std::io::Result<()> {
    let mut last = None;
    for f in &d.admitted {
        if last != Some(f.direction()) {
            let n = d.count_admitted(f.direction());
            writeln!(w, "\n{} ({n}):", f.direction().title())?;
            last = Some(f.direction());
        }
        writeln!(
            w,
            "  {} {} {}/{} {}  {} {}{}",
            f.rec.requirement,
            f.rec.direction,
            f.rec.ports,
            f.rec.protocol,
            f.rec.status.name(),
            f.rec.firewall,
            f.rec.policy,
            flow_tail(&f.rec)
        )?;
        writeln!(w, "      {}", f.admitted.message)?;
        for c in &f.caused_by {
            cause_lines(w, c)?;
        }
    }
    Ok(())
}

/// `d` as text: worst first, then what was fixed; `old` and `new` say what was compared.
pub fn render_human(d: &Diff, old: &str, new: &str, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "portolan diff: {old} -> {new}")?;
    let mut any = false;
    let mut last: Option<Change> = None;
    let flow_section =
        |w: &mut dyn Write, f: &FlowChange, last: &mut Option<Change>| -> std::io::Result<()> {
            if *last != Some(f.change) {
                let n = d.flows.iter().filter(|x| x.change == f.change).count();
                writeln!(w, "\n{} ({n}):", f.change.title())?;
                *last = Some(f.change);
            }
            let st = |s: Option<Status>| s.map(|s| s.name()).unwrap_or("-");
            writeln!(
                w,
                "  {} {} {}/{} {} -> {}  {} {}{}",
                f.rec.requirement,
                f.rec.direction,
                f.rec.ports,
                f.rec.protocol,
                st(f.old),
                st(f.new),
                f.rec.firewall,
                f.rec.policy,
                flow_tail(&f.rec)
            )?;
            if let Some(a) = &f.admitted {
                writeln!(w, "      {}", a.message)?;
            }
            if matches!(
                f.change,
                Change::Blocked | Change::Partial | Change::Unknown
            ) {
                for x in &f.deciding {
                    writeln!(
                        w,
                        "      decided by {} ({}) at {}",
                        x.rule,
                        x.action,
                        at(&x.file, x.line)
                    )?;
                }
            }
            for c in &f.caused_by {
                cause_lines(w, c)?;
            }
            Ok(())
        };
    for f in d
        .flows
        .iter()
        .filter(|f| f.change != Change::Allowed && f.change != Change::Gone)
    {
        any = true;
        flow_section(w, f, &mut last)?;
    }
    if !d.admitted.is_empty() {
        any = true;
        admitted_sections(w, d)?;
    }
    if !d.findings_added.is_empty() {
        any = true;
        writeln!(w, "\nfindings added ({}):", d.findings_added.len())?;
        for f in &d.findings_added {
            writeln!(
                w,
                "  {} {} [{}] {}: {}{}",
                f.code,
                f.name,
                f.severity.name(),
                at(f.file.as_deref().unwrap_or("-"), f.line),
                f.message,
                if f.waived { " (waived)" } else { "" }
            )?;
        }
    }
    let rule_line = |w: &mut dyn Write, r: &RuleEntry| {
        writeln!(
            w,
            "  {} at {}: {}",
            r.label,
            at(&r.firewall, r.line),
            r.text
        )
    };
    if !d.rules_added.is_empty() {
        any = true;
        writeln!(w, "\nrules added ({}):", d.rules_added.len())?;
        for r in &d.rules_added {
            rule_line(w, r)?;
        }
    }
    if !d.rules_removed.is_empty() {
        any = true;
        writeln!(w, "\nrules removed ({}):", d.rules_removed.len())?;
        for r in &d.rules_removed {
            rule_line(w, r)?;
        }
    }
    if !d.rules_moved.is_empty() {
        any = true;
        writeln!(w, "\nrules moved ({}):", d.rules_moved.len())?;
        for m in &d.rules_moved {
            writeln!(
                w,
                "  {} at {} (was {} at line {}): {}",
                m.new.label,
                at(&m.new.firewall, m.new.line),
                m.old.label,
                m.old.line.map(|l| l.to_string()).unwrap_or("-".into()),
                m.new.text
            )?;
        }
    }
    for f in d
        .flows
        .iter()
        .filter(|f| f.change == Change::Allowed || f.change == Change::Gone)
    {
        any = true;
        flow_section(w, f, &mut last)?;
    }
    if !d.findings_fixed.is_empty() {
        any = true;
        writeln!(w, "\nfindings fixed ({}):", d.findings_fixed.len())?;
        for f in &d.findings_fixed {
            writeln!(
                w,
                "  {} {} [{}] {}: {}",
                f.code,
                f.name,
                f.severity.name(),
                at(f.file.as_deref().unwrap_or("-"), f.line),
                f.message
            )?;
        }
    }
    if !any {
        writeln!(w, "\nno change to the audit")?;
    }
    let count = |c: Change| d.count(c);
    let admitted = if d.admitted.is_empty() {
        String::new()
    } else {
        let both = d.count_admitted(Direction::Both);
        format!(
            "; {} flows admitted from more sources, {} from fewer{}",
            d.count_admitted(Direction::Widened),
            d.count_admitted(Direction::Narrowed),
            if both > 0 {
                format!(", {both} from other sources")
            } else {
                String::new()
            }
        )
    };
    writeln!(
        w,
        "\n{} newly blocked, {} newly partial, {} newly unknown, {} newly allowed{admitted}; {} findings added, {} fixed; {} rules added, {} removed, {} moved{}",
        count(Change::Blocked),
        count(Change::Partial),
        count(Change::Unknown),
        count(Change::Allowed),
        d.findings_added.len(),
        d.findings_fixed.len(),
        d.rules_added.len(),
        d.rules_removed.len(),
        d.rules_moved.len(),
        if d.breaking() {
            " — this change breaks a required flow"
        } else {
            ""
        }
    )
}
