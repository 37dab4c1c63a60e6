//! The firewalls to audit: each ruleset of a file (or several combined) with what it guards.

use super::{AuditOptions, InputFile};
use crate::inventory::Guards;
use crate::model::Ruleset;

/// What a file guards, resolved from `--role` or the inventory.
#[derive(Debug, Clone)]
pub(super) struct Guard {
    pub(super) guards: Guards,
    pub(super) site: Option<String>,
    pub(super) between: Vec<String>,
    pub(super) interfaces: Vec<String>,
    /// A boundary's place on the path between its sites (`order = N`).
    pub(super) order: Option<u32>,
}

/// One firewall to audit: a ruleset of a file (or several combined) and what it guards.
pub(super) struct Target<'a> {
    pub(super) file: usize,
    pub(super) ruleset: std::borrow::Cow<'a, Ruleset>,
    pub(super) guard: Guard,
    /// The ruleset before [`for_application`](Ruleset::for_application) set aside the rules
    /// scoped to other applications than the guarded role's (`model::app`): what Z301/Z302
    /// judge, as those rules are still rules of the firewall.
    pub(super) unscoped: Option<std::borrow::Cow<'a, Ruleset>>,
    /// The rules set aside so, and why.
    pub(super) set_aside: Vec<crate::model::app::SetAside>,
}

impl<'a> Target<'a> {
    /// A target before its rules are scoped to the guarded role's application.
    pub(super) fn new(file: usize, ruleset: std::borrow::Cow<'a, Ruleset>, guard: Guard) -> Self {
        Target {
            file,
            ruleset,
            guard,
            unscoped: None,
            set_aside: Vec::new(),
        }
    }

    /// The ruleset as written (see [`Target::unscoped`]).
    pub(super) fn as_written(&self) -> &Ruleset {
        self.unscoped.as_deref().unwrap_or(&self.ruleset)
    }
}

/// A host firewall's rules as its role's traffic sees them: rules scoped to another program,
/// service or Store app package than the role's Windows identity (the catalogue's, overridden by
/// facts) match none of its packets (`model::app`).
fn scope_to_role(t: &mut Target<'_>, opts: &AuditOptions<'_>) {
    let Guards::Host(role) = &t.guard.guards else {
        return;
    };
    if t.ruleset.platform != crate::model::Platform::WindowsFirewall {
        return;
    }
    let id = opts.catalog.windows_identity(role, &opts.facts);
    if let Some((rs, aside)) = t.ruleset.for_application(&id) {
        t.set_aside = aside;
        t.unscoped = Some(std::mem::replace(
            &mut t.ruleset,
            std::borrow::Cow::Owned(rs),
        ));
    }
}

fn allow_union(rs: &Ruleset) -> bool {
    rs.policies
        .iter()
        .all(|p| p.semantics == crate::model::Semantics::AllowUnion)
}

/// The firewalls of a file on its own: every ruleset, except that allow-only groups (AWS
/// security groups) the file attaches to one resource (`InputFile::attachments`) are one
/// firewall, their union; a group no attachment names is a firewall of its own. Nothing else
/// says groups share an interface (an account-wide `describe-security-groups` dump does not).
fn firewalls(f: &InputFile) -> Vec<std::borrow::Cow<'_, Ruleset>> {
    use std::borrow::Cow;
    let mut covered = vec![false; f.rulesets.len()];
    let mut sets: Vec<(String, Vec<usize>)> = Vec::new();
    for a in &f.attachments {
        let mut idx: Vec<usize> = a
            .groups
            .iter()
            .filter_map(|g| {
                f.rulesets
                    .iter()
                    .position(|r| allow_union(r) && r.name.as_deref() == Some(g.as_str()))
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        if idx.is_empty() || sets.iter().any(|(_, s)| *s == idx) {
            continue;
        }
        for &i in &idx {
            covered[i] = true;
        }
        sets.push((a.resource.clone(), idx));
    }
    let mut out = Vec::new();
    for (i, rs) in f.rulesets.iter().enumerate() {
        if !covered[i] {
            out.push(Cow::Borrowed(rs));
        }
    }
    for (resource, idx) in sets {
        let picked: Vec<Ruleset> = idx.iter().map(|&i| f.rulesets[i].clone()).collect();
        if let [one] = picked.as_slice() {
            if !out.iter().any(|r| r.name == one.name) {
                out.push(Cow::Owned(one.clone()));
            }
            continue;
        }
        let names: Vec<&str> = picked.iter().filter_map(|r| r.name.as_deref()).collect();
        let name = format!("{resource} ({})", names.join(" + "));
        out.push(Cow::Owned(Ruleset::union_of(Some(name), &picked)));
    }
    out
}

/// The fact `--policy NAME,...` sets: in quick mode, audit only these rulesets of each file
/// (security groups, NSGs, profiles, ...), together as one firewall (see [`picked`]).
pub const POLICY_FACT: &str = "policy";

/// The names `--policy` gives, if any.
pub(super) fn policy_selection(opts: &AuditOptions<'_>) -> Option<Vec<String>> {
    let text = match opts.facts.get(POLICY_FACT)? {
        crate::catalog::condition::Value::Str(s) => s.clone(),
        other => other.to_string(),
    };
    let names: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The names of `--policy` that no ruleset of any file has.
pub(super) fn unmatched_policies(files: &[InputFile], opts: &AuditOptions<'_>) -> Vec<String> {
    let Some(names) = policy_selection(opts) else {
        return Vec::new();
    };
    names
        .into_iter()
        .filter(|n| {
            !files
                .iter()
                .flat_map(|f| &f.rulesets)
                .any(|r| r.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
        })
        .collect()
}

/// The rulesets of `f` named by `names` (case-insensitively), as one firewall: the union of
/// allow-only groups (attached together: an AWS instance's security groups), else in series;
/// `None` when the file has none of them.
fn picked<'a>(f: &InputFile, names: &[String]) -> Option<std::borrow::Cow<'a, Ruleset>> {
    use std::borrow::Cow;
    let picked: Vec<Ruleset> = names
        .iter()
        .filter_map(|n| {
            f.rulesets
                .iter()
                .find(|r| r.name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(n)))
                .cloned()
        })
        .collect();
    let found: Vec<&str> = picked.iter().filter_map(|r| r.name.as_deref()).collect();
    let name = Some(found.join(" + "));
    if picked.len() == 1 {
        picked.into_iter().next().map(Cow::Owned)
    } else if picked.is_empty() {
        None
    } else if picked.iter().all(allow_union) {
        Some(Cow::Owned(Ruleset::union_of(name, &picked)))
    } else {
        Some(Cow::Owned(Ruleset::in_series(name, &picked)))
    }
}

/// The firewalls to audit. With an inventory entry for a file, its `policies` pick rulesets by
/// name (combined as a union for allow-only groups, in series otherwise); without, the file's
/// [`firewalls`]: each ruleset on its own, except AWS security groups the file attaches to one
/// resource, which are audited together (their union).
pub(super) fn targets<'a>(files: &'a [InputFile], opts: &AuditOptions<'_>) -> Vec<Target<'a>> {
    use std::borrow::Cow;
    let mut out = Vec::new();
    // Windows exports hold one ruleset per profile: keep the active ones
    // (their names are `Domain profile`, `Private profile (firewall off)`, ...)
    let active = |rs: &Ruleset| match &rs.profile {
        Some(p) if !opts.profiles.is_empty() => {
            opts.profiles.iter().any(|x| x.eq_ignore_ascii_case(p))
        }
        _ => true,
    };
    for (fi, f) in files.iter().enumerate() {
        if f.rulesets.is_empty() {
            continue;
        }
        let entries: Vec<&crate::inventory::Firewall> = opts
            .inventory
            .map(|inv| inv.firewalls_for(std::path::Path::new(&f.path)))
            .unwrap_or_default();
        let quick = opts.role.as_ref().map(|r| Guard {
            guards: Guards::Host(r.clone()),
            site: None,
            between: Vec::new(),
            interfaces: opts.interfaces.clone(),
            order: None,
        });
        let add_all = |guard: Guard, out: &mut Vec<Target<'a>>| {
            for ruleset in firewalls(f) {
                if let Cow::Borrowed(rs) = &ruleset {
                    if !active(rs) {
                        continue;
                    }
                }
                out.push(Target::new(fi, ruleset, guard.clone()));
            }
        };
        if entries.is_empty() {
            match (quick, policy_selection(opts)) {
                // `--policy`: only the named rulesets, together
                (Some(guard), Some(names)) => {
                    if let Some(ruleset) = picked(f, &names) {
                        out.push(Target::new(fi, ruleset, guard));
                    }
                }
                (Some(g), None) => add_all(g, &mut out),
                (None, _) => {}
            }
            continue;
        }
        for fw in entries {
            let guard = Guard {
                guards: fw.guards.clone(),
                site: fw.site.clone(),
                between: fw.between.clone(),
                order: fw.order,
                interfaces: if opts.interfaces.is_empty() {
                    fw.interfaces.clone()
                } else {
                    opts.interfaces.clone()
                },
            };
            if fw.policies.is_empty() {
                add_all(guard, &mut out);
                continue;
            }
            if let Some(ruleset) = picked(f, &fw.policies) {
                out.push(Target::new(fi, ruleset, guard));
            }
        }
    }
    for t in &mut out {
        scope_to_role(t, opts);
    }
    out
}
