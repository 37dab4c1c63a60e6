//! A `[[site]]`'s own description: what kind of MSP site it is (`kind`), how many VRAs it runs
//! (`vra_count`, or its `vra` addresses one per VRA), and the facts its flows' conditions see
//! (`[site.facts]`).

use std::collections::BTreeMap;

use toml::Spanned;

use super::{span, Problem, RawSite, Site};
use crate::model::AddrSet;

/// The site of `raw` with its resolved `roles`; problems found are added to `problems`.
pub(super) fn site(
    raw: &RawSite,
    roles: BTreeMap<String, AddrSet>,
    problems: &mut Vec<Problem>,
) -> Site {
    let mut facts = BTreeMap::new();
    let mut fact_spans = BTreeMap::new();
    for (k, v) in &raw.facts {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        facts.insert(k.get_ref().clone(), text);
        fact_spans.insert(k.get_ref().clone(), (span(k.span()), span(v.span())));
    }
    let kind = raw.kind.as_ref().and_then(|k| {
        let name = k.get_ref().trim().to_ascii_lowercase();
        if name == "cloud" || name == "customer" {
            Some(name)
        } else {
            problems.push(Problem {
                message: format!(
                    "site `{}`: kind `{}` is neither `cloud` nor `customer`",
                    raw.name.get_ref(),
                    k.get_ref()
                ),
                span: span(k.span()),
                label: "`cloud` (the service provider's) or `customer`".into(),
            });
            None
        }
    });
    if let Some(k) = &kind {
        if let Some(given) = facts.get("site").filter(|g| !g.eq_ignore_ascii_case(k)) {
            problems.push(Problem {
                message: format!(
                    "site `{}`: kind `{k}` and the fact site = `{given}` disagree",
                    raw.name.get_ref()
                ),
                span: fact_spans.get("site").and_then(|s: &(_, _)| s.1),
                label: "say it once, as `kind`".into(),
            });
        }
        facts.insert("site".into(), k.clone());
    }
    let counted = raw
        .roles
        .iter()
        .find(|(r, _)| r.get_ref() == "vra")
        .and_then(|(_, addrs)| one_address_each(addrs));
    let vras = match &raw.vra_count {
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(Problem {
                    message: format!("vra_count `{}` is not a count", n.get_ref()),
                    span: span(n.span()),
                    label: "0 or more".into(),
                });
                None
            }
        },
        None => counted,
    };
    Site {
        name: raw.name.get_ref().clone(),
        roles,
        kind,
        vras,
        facts,
        fact_spans,
    }
}

/// How many addresses `addrs` lists when every entry is one address (no CIDR wider than a
/// host, no range): a site's VRAs, one address each. `None` when an entry covers more.
fn one_address_each(addrs: &[Spanned<String>]) -> Option<u32> {
    let single = |a: &str| {
        let a = a.trim();
        match a.split_once('/') {
            Some((ip, len)) => {
                let v6 = ip.contains(':');
                len.trim() == if v6 { "128" } else { "32" }
            }
            None => !a.contains('-') && a.parse::<std::net::IpAddr>().is_ok(),
        }
    };
    addrs
        .iter()
        .all(|a| single(a.get_ref()))
        .then_some(addrs.len() as u32)
}
