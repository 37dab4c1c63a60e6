//! Evaluating one required flow through one ruleset: the region it covers, the exact outcome, and
//! the flow's status with the rules that decided it.

use serde::Serialize;

use crate::model::iface::IfaceSet;
use crate::model::ports::{ConnState, PortSet, ProtoSet};
use crate::model::{AddrSet, At, Outcome, PacketBox, Pipeline, Ruleset, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Allowed,
    Partial,
    Blocked,
    Unknown,
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Allowed => "allowed",
            Status::Partial => "partial",
            Status::Blocked => "blocked",
            Status::Unknown => "unknown",
        }
    }
}

/// The packets of one flow as seen by one firewall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub src: AddrSet,
    pub dst: AddrSet,
    pub proto: ProtoSet,
    pub dport: PortSet,
    /// Source ports: any for a new connection; the service's ports for its replies.
    pub sport: PortSet,
    pub iif: IfaceSet,
    pub oif: IfaceSet,
}

/// The ports clients pick for their side of a connection (what AWS documents for network ACLs).
pub const EPHEMERAL: (u16, u16) = (1024, 65535);

impl Region {
    /// New connections from any address but the host's own loopback, on any interface but
    /// loopback, to the host (what "open to the world" is checked on).
    pub fn from_anywhere(rs: &Ruleset, proto: ProtoSet, dport: PortSet) -> Region {
        let space = rs.address_space();
        Region {
            src: space.difference(&AddrSet::loopback()),
            dst: space,
            proto,
            dport,
            sport: PortSet::full(),
            iif: rs.interfaces.non_loopback(),
            oif: rs.interfaces.all(),
        }
    }

    /// The replies of this flow: addresses swapped, from the service's ports back to the
    /// client's ephemeral ports, through the other direction of the firewall.
    pub fn replies(&self) -> Region {
        Region {
            src: self.dst.clone(),
            dst: self.src.clone(),
            proto: self.proto.clone(),
            dport: PortSet::range(EPHEMERAL.0, EPHEMERAL.1),
            sport: self.dport.clone(),
            iif: self.oif.clone(),
            oif: self.iif.clone(),
        }
    }

    /// A NEW connection from any source port.
    pub fn to_box(&self) -> PacketBox {
        PacketBox {
            src: self.src.clone(),
            dst: self.dst.clone(),
            proto: self.proto.clone(),
            sport: self.sport.clone(),
            dport: self.dport.clone(),
            // replies are ESTABLISHED; a stateless filter ignores state anyway
            state: if self.sport.is_full() {
                ConnState::New.set()
            } else {
                ConnState::Established.set()
            },
            iif: self.iif.clone(),
            oif: self.oif.clone(),
        }
    }
}

/// The evaluated flow.
#[derive(Debug, Clone)]
pub struct Reach {
    pub outcomes: Vec<Outcome>,
}

impl Reach {
    pub fn evaluate(rs: &Ruleset, pipeline: &Pipeline, region: &Region) -> Reach {
        let b = region.to_box();
        let outcomes = if b.is_empty() {
            Vec::new()
        } else {
            rs.evaluate(pipeline, &b)
        };
        Reach { outcomes }
    }

    fn has(&self, v: Verdict) -> bool {
        self.outcomes.iter().any(|o| o.verdict == v)
    }

    /// With `exact_peers` (the inventory named the peers), every packet must get through for
    /// `allowed`; without, some peer getting through is `allowed` (quick mode).
    pub fn status(&self, exact_peers: bool) -> Status {
        let (a, d, u) = (
            self.has(Verdict::Allow),
            self.has(Verdict::Deny),
            self.has(Verdict::Unknown),
        );
        if exact_peers {
            match (a, d, u) {
                (true, true, _) => Status::Partial,
                (_, _, true) => Status::Unknown,
                (true, false, false) => Status::Allowed,
                (false, true, false) => Status::Blocked,
                (false, false, false) => Status::Unknown,
            }
        } else if a {
            Status::Allowed
        } else if u {
            Status::Unknown
        } else if d {
            Status::Blocked
        } else {
            Status::Unknown
        }
    }

    fn union(&self, v: Verdict, f: impl Fn(&PacketBox) -> &AddrSet) -> AddrSet {
        // all ranges sorted and merged at once: a fold of pairwise unions is quadratic in the
        // pieces (a union of thousands of security-group rules)
        AddrSet(crate::model::interval::IntervalSet::from_ranges(
            self.outcomes
                .iter()
                .filter(|o| o.verdict == v)
                .flat_map(|o| f(&o.space).0.ranges().iter().copied()),
        ))
    }

    pub fn allowed_sources(&self) -> AddrSet {
        self.union(Verdict::Allow, |b| &b.src)
    }
    pub fn denied_sources(&self) -> AddrSet {
        self.union(Verdict::Deny, |b| &b.src)
    }
    pub fn denied_destinations(&self) -> AddrSet {
        self.union(Verdict::Deny, |b| &b.dst)
    }
    pub fn allowed_destinations(&self) -> AddrSet {
        self.union(Verdict::Allow, |b| &b.dst)
    }

    /// Every decider of a piece with this verdict, in first-seen order.
    pub fn deciders(&self, v: Verdict) -> Vec<At> {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<At> = Vec::new();
        for o in self.outcomes.iter().filter(|o| o.verdict == v) {
            for d in &o.deciders {
                if seen.insert(*d) {
                    out.push(*d);
                }
            }
        }
        out
    }

    /// Every decider of every piece.
    pub fn all_deciders(&self) -> Vec<(At, Verdict)> {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<(At, Verdict)> = Vec::new();
        for o in &self.outcomes {
            for d in &o.deciders {
                if seen.insert((*d, o.verdict)) {
                    out.push((*d, o.verdict));
                }
            }
        }
        out
    }

    pub fn unknown_reasons(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for o in self
            .outcomes
            .iter()
            .filter(|o| o.verdict == Verdict::Unknown)
        {
            for r in &o.reasons {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
        out
    }
}
