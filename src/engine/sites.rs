//! What differs from site to site in inventory mode: the facts a flow's condition is judged
//! with (a site's `kind` and `[site.facts]` over the run's), and the MSP "9082 and up" range,
//! which depends on how many VRAs the *other* side runs (`catalog::msp`).
//!
//! A requirement's condition speaks of the site of its site-bound end: of the ZVM in
//! `msp.zvm-zcc-22` ("the ZVM in the cloud site") and in `msp.zcm-zvm-9080-draas` (a DRaaS
//! customer's ZVM), never of the ZCC, ZCM, ZSSP or admin clients, which serve every site
//! ([`is_site_bound`]). So a host at a site judges with its site's facts, and a host that
//! serves every site (a ZCC) has one flow per site of its peers where the sites differ.

use super::AuditOptions;
use crate::catalog::condition::Context;
use crate::catalog::msp;
use crate::inventory::Inventory;
use crate::model::ports::PortSet;

/// Roles that serve every site rather than belonging to one (their flows' peers may be at any
/// site: `jobs::Scope::Anywhere`).
pub(super) const SERVE_EVERY_SITE: &[&str] = &[
    "admin-client",
    "zcm",
    "zcc",
    "zssp",
    "azure-services",
    "aws-services",
];

/// Whether a role belongs to one site (a ZVM, a VRA, a vCenter) rather than serving every site.
pub(super) fn is_site_bound(role: &str) -> bool {
    !SERVE_EVERY_SITE.contains(&role)
}

impl AuditOptions<'_> {
    /// The facts a flow at `site` is judged with: the run's (catalogue defaults, `[facts]`,
    /// `--set`), then the site's own (`kind` as `site`, `[site.facts]`), which win for it.
    /// Borrowed when the site adds nothing (quick mode, a site without facts): a run of
    /// thousands of files asks once per file and requirement.
    pub(crate) fn facts_at(&self, site: Option<&str>) -> std::borrow::Cow<'_, Context> {
        use std::borrow::Cow;
        let Some(s) = site.and_then(|n| {
            self.inventory
                .and_then(|inv| inv.sites.iter().find(|s| s.name == n))
        }) else {
            return Cow::Borrowed(&self.facts);
        };
        if s.facts.is_empty() {
            return Cow::Borrowed(&self.facts);
        }
        let mut ctx = self.facts.clone();
        for (k, v) in &s.facts {
            // checked when the inventory was read
            if let Ok(value) = self.catalog.validate_fact(k, v) {
                ctx.set_value(k, value);
            }
        }
        Cow::Owned(ctx)
    }
}

/// The 9082+ ports the VRAs of site `from` use at the ZCC: two per VRA of the side they reach
/// (a customer reaches the cloud sites, a cloud site its customers; without kinds, every other
/// site with VRAs), the largest such side deciding. When a count is not known, the lowest range
/// (one VRA, 9082-9083) and the reason, naming what to set.
pub(super) fn msp_range_from(inv: &Inventory, from: &str) -> (PortSet, Option<String>) {
    let me = inv.sites.iter().find(|s| s.name == from);
    let kind = me.and_then(|s| s.kind.as_deref());
    let others: Vec<_> = inv
        .sites
        .iter()
        .filter(|s| s.name != from)
        .filter(|s| match (kind, s.kind.as_deref()) {
            (Some("customer"), k) => k == Some("cloud"),
            (Some("cloud"), k) => k == Some("customer"),
            _ => s.vras.is_some_and(|n| n > 0) || s.roles.contains_key("vra"),
        })
        .collect();
    let unknown: Vec<&str> = others
        .iter()
        .filter(|s| s.vras.is_none())
        .map(|s| s.name.as_str())
        .collect();
    let most = others.iter().filter_map(|s| s.vras).max();
    match (most.and_then(msp::vra_port_range), unknown.is_empty()) {
        (Some((a, b)), true) => (PortSet::range(a, b), None),
        (known, _) => {
            let why = if others.is_empty() {
                format!("the inventory names no site whose VRAs those of site `{from}` reach")
            } else {
                format!(
                    "how many VRAs site{} {} run{} is not known: give `vra_count` on the site, or its `vra` addresses one per VRA",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                    if unknown.len() == 1 { "s" } else { "" },
                )
            };
            let (a, b) = known
                .or_else(|| msp::vra_port_range(1))
                .unwrap_or((msp::FIRST_PORT, msp::FIRST_PORT + 1));
            (
                PortSet::range(a, b),
                Some(format!(
                    "{why}; the ports for the VRAs known ({a}-{b}) are required"
                )),
            )
        }
    }
}

/// The 9082+ ports in quick mode, from the facts: a VRA reaches the other side's VRAs
/// (`remote_vras`); a ZCC is reached by both sides, so the larger of `local_vras` and
/// `remote_vras` decides. Without them the lowest range, one VRA (9082-9083), and which fact
/// is missing.
pub(super) fn msp_range_quick(facts: &Context, at_zcc: bool) -> (PortSet, Option<String>) {
    let count = |k: &str| {
        facts
            .get(k)
            .map(|v| v.to_string())
            .and_then(|t| t.trim().parse::<u32>().ok())
    };
    let keys: &[&str] = if at_zcc {
        &["local_vras", "remote_vras"]
    } else {
        &["remote_vras"]
    };
    let counts: Vec<u32> = keys.iter().filter_map(|k| count(k)).collect();
    if let Some((a, b)) = counts.iter().max().and_then(|n| msp::vra_port_range(*n)) {
        return (PortSet::range(a, b), None);
    }
    let missing = keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    (
        PortSet::range(msp::FIRST_PORT, msp::FIRST_PORT + 1),
        Some(format!(
            "the 9082+ range depends on how many VRAs the side reached runs: set {missing} (e.g. `--set {}=4`); until then one VRA's ports (9082-9083) are required",
            keys[keys.len() - 1]
        )),
    )
}
