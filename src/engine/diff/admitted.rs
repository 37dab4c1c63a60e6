//! What a flow admits, compared as address sets: the sources a required flow lets through on
//! each side (`allowed_sources`, merged CIDRs or ranges) parsed into [`AddrSet`]s, and the
//! difference both ways — added = new − old, removed = old − new — so `10.0.0.0/8` against
//! `10.0.0.0/9, 10.128.0.0/9` is no change, and a rule that loses its `-s` shows as the flow
//! now admitted from any address.

use std::collections::BTreeSet;

use crate::engine::findings::display_list;
use crate::model::addr::{AddrSet, Family};

/// Which way a flow's admitted sources moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Sources added, none removed.
    Widened,
    /// Sources added and others removed.
    Both,
    /// Sources removed, none added.
    Narrowed,
}

impl Direction {
    /// The JSON name of the change (`widened`).
    pub fn name(self) -> &'static str {
        match self {
            Direction::Widened => "widened",
            Direction::Both => "widened-and-narrowed",
            Direction::Narrowed => "narrowed",
        }
    }
    /// The human heading.
    pub fn title(self) -> &'static str {
        match self {
            Direction::Widened => "admitted from more sources",
            Direction::Both => "admitted from other sources",
            Direction::Narrowed => "admitted from fewer sources",
        }
    }
}

/// How a flow's admitted sources differ between the two sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub direction: Direction,
    /// `allowed_sources` of each side, as the audit wrote them.
    pub old_sources: Vec<String>,
    pub new_sources: Vec<String>,
    /// Admitted now and not before (new − old), as the fewest CIDRs.
    pub added: Vec<String>,
    /// Admitted before and not now (old − new).
    pub removed: Vec<String>,
    /// Each side admits every address of its family (or families), loopback aside.
    pub old_any: bool,
    pub new_any: bool,
    /// The difference in words: `tcp/9669 now admitted from any address, was 10.0.0.0/8`.
    pub message: String,
}

/// The union of a list of CIDRs or ranges; `None` if one does not parse.
fn parse(list: &[String]) -> Option<AddrSet> {
    list.iter().try_fold(AddrSet::empty(), |acc, s| {
        AddrSet::parse(s).ok().map(|a| acc.union(&a))
    })
}

/// The set holds every address of each family it has any of, loopback aside (the sources a
/// quick-mode flow admits when a rule has no `-s`).
pub fn is_any(set: &AddrSet) -> bool {
    let with_loopback = set.union(&AddrSet::loopback());
    let mut present = false;
    for family in [Family::V4, Family::V6] {
        if set.family_part(family).is_empty() {
            continue;
        }
        present = true;
        if !AddrSet::any_of(family).is_subset(&with_loopback) {
            return false;
        }
    }
    present
}

/// A set in words: `any address`, `any IPv4 address, 2001:db8::/32`, or its CIDRs (the first
/// six, then how many more).
fn describe(set: &AddrSet) -> String {
    if is_any(set) {
        return "any address".into();
    }
    let with_loopback = set.union(&AddrSet::loopback());
    let mut parts = Vec::new();
    for (family, all) in [
        (Family::V4, "any IPv4 address"),
        (Family::V6, "any IPv6 address"),
    ] {
        let part = set.family_part(family);
        if part.is_empty() {
            continue;
        }
        if AddrSet::any_of(family).is_subset(&with_loopback) {
            parts.push(all.to_string());
        } else {
            parts.extend(part.to_cidrs());
        }
    }
    display_list(&parts)
}

/// A list that did not parse, in words.
fn describe_raw(list: &[String]) -> String {
    display_list(list)
}

impl Admitted {
    /// Compare the sources a flow admits on each side; `None` when they are the same set.
    /// `what` names the flow's traffic (`tcp/9669`).
    pub fn compare(what: &str, old: &[String], new: &[String]) -> Option<Admitted> {
        let (added, removed, old_any, new_any, words) = match (parse(old), parse(new)) {
            (Some(o), Some(n)) => {
                if o == n {
                    return None;
                }
                let (a, r) = (n.difference(&o), o.difference(&n));
                let words = [describe(&o), describe(&n), describe(&a), describe(&r)];
                (a.to_cidrs(), r.to_cidrs(), is_any(&o), is_any(&n), words)
            }
            // not CIDRs or ranges (never from an audit today): compare the strings
            _ => {
                let (o, n): (BTreeSet<&String>, BTreeSet<&String>) =
                    (old.iter().collect(), new.iter().collect());
                let a: Vec<String> = n.difference(&o).map(|s| s.to_string()).collect();
                let r: Vec<String> = o.difference(&n).map(|s| s.to_string()).collect();
                if a.is_empty() && r.is_empty() {
                    return None;
                }
                let words = [
                    describe_raw(old),
                    describe_raw(new),
                    describe_raw(&a),
                    describe_raw(&r),
                ];
                (a, r, false, false, words)
            }
        };
        let [was, now, plus, minus] = words;
        let direction = match (added.is_empty(), removed.is_empty()) {
            (false, true) => Direction::Widened,
            (true, false) => Direction::Narrowed,
            _ => Direction::Both,
        };
        let message = match direction {
            Direction::Widened if old.is_empty() => format!("{what} now admitted from {now}"),
            Direction::Widened if new_any => {
                format!("{what} now admitted from any address, was {was}")
            }
            Direction::Widened => format!("{what} now also admitted from {plus}, was {was}"),
            Direction::Narrowed if new.is_empty() => {
                format!("{what} no longer admitted from {was}")
            }
            Direction::Narrowed if old_any => {
                format!("{what} no longer admitted from any address, now only from {now}")
            }
            Direction::Narrowed => {
                format!("{what} no longer admitted from {minus}, now only from {now}")
            }
            Direction::Both => format!(
                "{what} now also admitted from {plus} and no longer from {minus} (was {was}, now {now})"
            ),
        };
        Some(Admitted {
            direction,
            old_sources: old.to_vec(),
            new_sources: new.to_vec(),
            added,
            removed,
            old_any,
            new_any,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// Quick mode's "from anywhere": IPv4 minus 127.0.0.0/8, as the audit writes it.
    fn anywhere_v4() -> Vec<String> {
        AddrSet::any_v4()
            .difference(&AddrSet::loopback())
            .to_cidrs()
    }

    #[test]
    fn the_same_set_written_differently_is_no_change() {
        let a = v(&["10.0.0.0/8"]);
        let b = v(&["10.0.0.0/9", "10.128.0.0/9"]);
        assert_eq!(Admitted::compare("tcp/9669", &a, &b), None);
        assert_eq!(Admitted::compare("tcp/9669", &a, &a), None);
    }

    #[test]
    fn losing_a_source_match_widens_to_any_address() {
        let w = Admitted::compare("tcp/9669", &v(&["10.0.0.0/8"]), &anywhere_v4()).unwrap();
        assert_eq!(w.direction, Direction::Widened);
        assert!(w.new_any && !w.old_any);
        assert_eq!(
            w.message,
            "tcp/9669 now admitted from any address, was 10.0.0.0/8"
        );
        assert!(w.removed.is_empty());
        assert!(w.added.contains(&"11.0.0.0/8".to_string()));
        assert!(!w
            .added
            .iter()
            .any(|c| c.starts_with("10.") || c.starts_with("127.")));
        let n = Admitted::compare("tcp/9669", &anywhere_v4(), &v(&["10.0.0.0/8"])).unwrap();
        assert_eq!(n.direction, Direction::Narrowed);
        assert_eq!(
            n.message,
            "tcp/9669 no longer admitted from any address, now only from 10.0.0.0/8"
        );
        assert_eq!(n.removed, w.added);
    }

    #[test]
    fn partial_changes_name_the_difference() {
        let old = v(&["10.0.0.0/8"]);
        let more = v(&["10.0.0.0/8", "192.168.0.0/16"]);
        let w = Admitted::compare("udp/4007", &old, &more).unwrap();
        assert_eq!(
            w.message,
            "udp/4007 now also admitted from 192.168.0.0/16, was 10.0.0.0/8"
        );
        let n = Admitted::compare("udp/4007", &more, &v(&["10.0.0.0/9"])).unwrap();
        assert_eq!(n.direction, Direction::Narrowed);
        assert_eq!(n.removed, v(&["10.128.0.0/9", "192.168.0.0/16"]));
        let b = Admitted::compare("tcp/22", &v(&["10.0.0.0/8"]), &v(&["172.16.0.0/12"])).unwrap();
        assert_eq!(b.direction, Direction::Both);
        assert_eq!(b.added, v(&["172.16.0.0/12"]));
        assert_eq!(b.removed, v(&["10.0.0.0/8"]));
        let gone = Admitted::compare("tcp/22", &old, &[]).unwrap();
        assert_eq!(gone.message, "tcp/22 no longer admitted from 10.0.0.0/8");
    }

    #[test]
    fn any_address_is_per_family() {
        assert!(is_any(&AddrSet::any_v4()));
        assert!(is_any(&AddrSet::any().difference(&AddrSet::loopback())));
        let v6_part = AddrSet::parse("2001:db8::/32").unwrap();
        let mixed = AddrSet::any_v4().union(&v6_part);
        assert!(!is_any(&mixed));
        assert_eq!(describe(&mixed), "any IPv4 address, 2001:db8::/32");
        assert!(!is_any(&AddrSet::empty()));
        assert!(!is_any(&AddrSet::loopback()));
    }
}
