//! Address sets said readably: the peers a flow admits, as "any address", "10.0.0.0/8",
//! "any address except 192.0.2.0/24" or "any public address", never a list of 142 IPv6 ranges.

use crate::model::{AddrSet, Family};

/// How many CIDRs are written out before "and N more".
pub const MAX_SHOWN: usize = 3;

/// `admitted` (a part of `whole`, the peers the flow's region covered) said readably, per address
/// family: the shorter of the set's CIDRs and "any address except" the rest of `whole`, at most
/// [`MAX_SHOWN`] CIDRs and "and N more". "any address" is every address of `whole`; "any public
/// address" is every public one ([`AddrSet::public`]).
pub fn readable(admitted: &AddrSet, whole: &AddrSet) -> String {
    let parts: Vec<(Family, Option<String>)> = [Family::V4, Family::V6]
        .into_iter()
        .filter(|f| !whole.family_part(*f).is_empty())
        .map(|f| {
            let w = whole.family_part(f);
            (f, family(&admitted.intersect(&w), &w, f))
        })
        .collect();
    let said: Vec<&(Family, Option<String>)> = parts.iter().filter(|(_, s)| s.is_some()).collect();
    match said.as_slice() {
        [] => "no address".into(),
        [(_, Some(s))] if parts.len() == 1 => s.clone(),
        [(f, Some(s))] if s.starts_with("any ") => format!("{} only", qualified(s, *f)),
        [(_, Some(s))] => s.clone(),
        [(_, Some(a)), (_, Some(b))] if a == b && !a.contains('/') => a.clone(),
        _ => said
            .iter()
            .filter_map(|(f, s)| s.as_ref().map(|s| qualified(s, *f)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// "any address" of one family named as such ("any IPv4 address", "any public IPv6 address"),
/// CIDRs as they are.
fn qualified(s: &str, f: Family) -> String {
    let name = match f {
        Family::V4 => "IPv4 address",
        Family::V6 => "IPv6 address",
    };
    if s.starts_with("any ") {
        s.replacen("address", name, 1)
    } else {
        s.to_string()
    }
}

/// One family's part: `None` when nothing of it is admitted.
fn family(a: &AddrSet, w: &AddrSet, f: Family) -> Option<String> {
    if a.is_empty() {
        return None;
    }
    if a == w {
        return Some("any address".into());
    }
    let public = w.intersect(&AddrSet::public(f));
    if !public.is_empty() && *a == public {
        return Some("any public address".into());
    }
    let direct = a.to_cidrs();
    let rest = w.difference(a).to_cidrs();
    Some(if rest.len() < direct.len() {
        format!("any address except {}", capped(&rest))
    } else {
        capped(&direct)
    })
}

/// At most [`MAX_SHOWN`] CIDRs, then "and N more".
fn capped(cidrs: &[String]) -> String {
    if cidrs.len() <= MAX_SHOWN + 1 {
        return cidrs.join(", ");
    }
    format!(
        "{} and {} more",
        cidrs[..MAX_SHOWN].join(", "),
        cidrs.len() - MAX_SHOWN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cidrs: &[&str]) -> AddrSet {
        cidrs.iter().fold(AddrSet::empty(), |a, c| {
            a.union(&AddrSet::parse(c).expect("a CIDR"))
        })
    }

    /// quick mode's peers: every address but loopback
    fn remote() -> AddrSet {
        AddrSet::any().difference(&AddrSet::loopback())
    }

    #[test]
    fn whole_set_is_any_address() {
        assert_eq!(readable(&remote(), &remote()), "any address");
    }

    #[test]
    fn one_cidr_of_one_family() {
        let s = readable(&set(&["172.17.0.0/16"]), &remote());
        assert_eq!(s, "172.17.0.0/16");
    }

    #[test]
    fn all_but_one_block_is_an_exception() {
        let whole = AddrSet::any_v4().difference(&AddrSet::loopback());
        let a = whole.difference(&set(&["192.0.2.0/24"]));
        assert_eq!(readable(&a, &whole), "any address except 192.0.2.0/24");
    }

    #[test]
    fn public_addresses() {
        let whole = AddrSet::any_v4().difference(&AddrSet::loopback());
        let a = whole.intersect(&AddrSet::public(Family::V4));
        assert_eq!(readable(&a, &whole), "any public address");
    }

    #[test]
    fn ipv4_only_of_both_families() {
        let a = AddrSet::any_v4().difference(&AddrSet::loopback());
        assert_eq!(readable(&a, &remote()), "any IPv4 address only");
    }

    #[test]
    fn never_a_long_list() {
        let a = set(&[
            "10.0.0.1/32",
            "10.0.0.3/32",
            "10.0.0.5/32",
            "10.0.0.7/32",
            "10.0.0.9/32",
            "10.0.0.11/32",
        ]);
        let s = readable(&a, &remote());
        assert_eq!(s, "10.0.0.1/32, 10.0.0.3/32, 10.0.0.5/32 and 3 more");
        assert_eq!(readable(&AddrSet::empty(), &remote()), "no address");
    }
}
