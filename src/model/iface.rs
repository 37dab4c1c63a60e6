//! Network interfaces as a dimension of packet space.
//!
//! A policy names a few interfaces (`-i lo`, `-i eth0`, `-o ppp+`). Interface names are split into
//! equivalence classes under every pattern the policy uses, so that each pattern is an exact set of
//! class ids: `lo`, each literal name, for each wildcard prefix `P+` "the other names starting with
//! P", and "every other interface". Class 0 is always `lo`, class 1 always "any other interface".

use super::interval::IntervalSet;

pub type IfaceSet = IntervalSet<u16>;

pub const LOOPBACK: u16 = 0;
pub const OTHER: u16 = 1;
/// No interface at all: a packet the host sends itself (the `OUTPUT` hook) has no input
/// interface, and one for the host itself (`INPUT`) no output interface. The kernel compares a
/// rule's name with an empty one: `-i eth0` (nftables `iifname "eth0"`) never matches it, `! -i
/// eth0` and `-i +` do; nftables' `iif`/`oif` (an interface index) match it in no way (the
/// expression breaks the rule). Not a member of [`Interfaces::all`]: the last id, whatever the
/// classes.
pub const NONE: u16 = u16::MAX;

/// The set holding only [`NONE`].
pub fn none() -> IfaceSet {
    IfaceSet::single(NONE)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    Loopback,
    Other,
    Name(String),
    /// Names starting with this prefix that no more specific class holds.
    Prefix(String),
}

/// The interface classes of one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interfaces {
    classes: Vec<Class>,
}

impl Default for Interfaces {
    fn default() -> Self {
        Interfaces {
            classes: vec![Class::Loopback, Class::Other],
        }
    }
}

fn split(pattern: &str) -> (&str, bool) {
    match pattern.strip_suffix('+') {
        Some(p) => (p, true),
        None => (pattern, false),
    }
}

impl Interfaces {
    /// Build the classes for every pattern (`eth0`, `ppp+`, `+`) a policy uses.
    pub fn build<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        for p in patterns {
            let (stem, wild) = split(p);
            if wild {
                if !stem.is_empty() && !prefixes.iter().any(|x| x == stem) {
                    prefixes.push(stem.to_string());
                }
            } else if stem != "lo" && !names.iter().any(|x| x == stem) {
                names.push(stem.to_string());
            }
        }
        names.sort();
        prefixes.sort();
        let mut classes = vec![Class::Loopback, Class::Other];
        classes.extend(names.into_iter().map(Class::Name));
        classes.extend(prefixes.into_iter().map(Class::Prefix));
        Interfaces { classes }
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every interface.
    pub fn all(&self) -> IfaceSet {
        IfaceSet::range(0, (self.classes.len() - 1) as u16)
    }

    /// Every interface but loopback: where a remote peer's packets come in or go out.
    pub fn non_loopback(&self) -> IfaceSet {
        self.all().difference(&IfaceSet::single(LOOPBACK))
    }

    /// The classes a pattern matches. A pattern not given to [`Interfaces::build`] is matched
    /// conservatively by name only (it cannot hold "other" names exactly), so always build first.
    pub fn matching(&self, pattern: &str) -> IfaceSet {
        let (stem, wild) = split(pattern);
        let mut ids = Vec::new();
        for (i, c) in self.classes.iter().enumerate() {
            let hit = match c {
                Class::Loopback => {
                    if wild {
                        "lo".starts_with(stem)
                    } else {
                        stem == "lo"
                    }
                }
                Class::Other => wild && stem.is_empty(),
                Class::Name(n) => {
                    if wild {
                        n.starts_with(stem)
                    } else {
                        n == stem
                    }
                }
                // the rest-of-prefix class Q: all its names start with Q; P+ covers them when P is
                // a prefix of Q. (When Q is a prefix of P, names under P are in P's own class.)
                Class::Prefix(q) => wild && q.starts_with(stem),
            };
            if hit {
                ids.push((i as u16, i as u16));
            }
        }
        // `+` compares no character: it matches the empty name of no interface too
        if wild && stem.is_empty() {
            ids.push((NONE, NONE));
        }
        IfaceSet::from_ranges(ids)
    }

    /// The classes of every interface a pattern names, given or not to [`Interfaces::build`]:
    /// where the peers of `--interface X` (or an inventory's `interfaces`) arrive. A name no rule
    /// uses falls in its class ("any other interface" or a wildcard's rest), which the rules
    /// treat alike; a wildcard holds every class one of its names can fall in.
    pub fn arriving_on(&self, pattern: &str) -> IfaceSet {
        let (stem, wild) = split(pattern);
        if !wild {
            return IfaceSet::single(self.class_of(stem));
        }
        // names starting with `stem` that no class names fall in the longest prefix class
        // `stem` starts with, or else in "any other interface"
        let mut set = self.matching(pattern);
        let mut rest = OTHER;
        let mut best = 0;
        for (i, c) in self.classes.iter().enumerate() {
            if let Class::Prefix(q) = c {
                if stem.starts_with(q.as_str()) && q.len() >= best {
                    best = q.len();
                    rest = i as u16;
                }
            }
        }
        set = set.union(&IfaceSet::single(rest));
        set
    }

    /// A readable name for a class id.
    pub fn class_name(&self, id: u16) -> String {
        match self.classes.get(id as usize) {
            Some(Class::Loopback) => "lo".into(),
            Some(Class::Other) => "any other interface".into(),
            Some(Class::Name(n)) => n.clone(),
            Some(Class::Prefix(p)) => format!("{p}+"),
            None if id == NONE => "no interface".into(),
            None => format!("#{id}"),
        }
    }

    /// The class a concrete interface name falls in.
    pub fn class_of(&self, name: &str) -> u16 {
        if name == "lo" {
            return LOOPBACK;
        }
        let mut best: Option<(usize, u16)> = None;
        for (i, c) in self.classes.iter().enumerate() {
            match c {
                Class::Name(n) if n == name => return i as u16,
                Class::Prefix(p)
                    if name.starts_with(p.as_str()) && best.is_none_or(|(l, _)| p.len() > l) =>
                {
                    best = Some((p.len(), i as u16));
                }
                _ => {}
            }
        }
        best.map(|b| b.1).unwrap_or(OTHER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_exact_over_classes() {
        let ifs = Interfaces::build(["eth0", "ppp+", "ppp0", "gre-davo-+", "gre-+", "lo"]);
        // a concrete name matches a pattern iff its class is in the pattern's set
        let names = [
            "lo",
            "eth0",
            "eth1",
            "ppp0",
            "ppp7",
            "gre-davo-3",
            "gre-x",
            "wlan0",
        ];
        let pats = [
            "eth0",
            "ppp+",
            "ppp0",
            "gre-davo-+",
            "gre-+",
            "lo",
            "+",
            "e+",
            "l+",
        ];
        for p in pats {
            let set = ifs.matching(p);
            for n in names {
                let (stem, wild) = split(p);
                let truth = if wild { n.starts_with(stem) } else { n == stem };
                // patterns not given to build ("e+", "l+") are not exact for unnamed interfaces
                if p == "e+" && n == "eth1" || p == "l+" {
                    continue;
                }
                assert_eq!(set.contains(ifs.class_of(n)), truth, "pattern {p} name {n}");
            }
        }
        assert!(!ifs.non_loopback().contains(LOOPBACK));
        // names no rule uses arrive in their class: a literal in its own, a wildcard in every
        // class one of its names can fall in
        for (p, n) in [
            ("wlan0", "wlan0"),
            ("ppp9", "ppp9"),
            ("eth0", "eth0"),
            ("lo", "lo"),
        ] {
            assert_eq!(ifs.arriving_on(p), IfaceSet::single(ifs.class_of(n)), "{p}");
        }
        let e = ifs.arriving_on("e+");
        assert!(e.contains(ifs.class_of("eth0")) && e.contains(ifs.class_of("eth1")));
        assert!(!e.contains(LOOPBACK) && !e.contains(ifs.class_of("ppp7")));
        let g = ifs.arriving_on("gre-davo-9+");
        assert_eq!(g, IfaceSet::single(ifs.class_of("gre-davo-9x")));
        // `+` matches every interface and no interface; a name or prefix never matches none,
        // its negation always does
        assert_eq!(ifs.matching("+"), ifs.all().union(&none()));
        assert!(!ifs.matching("eth0").contains(NONE) && !ifs.matching("ppp+").contains(NONE));
        assert!(ifs.matching("eth0").complement().contains(NONE));
        assert!(!ifs.all().contains(NONE) && !ifs.arriving_on("e+").contains(NONE));
        assert_eq!(ifs.class_name(NONE), "no interface");
    }
}
