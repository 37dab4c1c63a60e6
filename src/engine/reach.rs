//! Evaluating one required flow through one ruleset: the region it covers, the exact outcome, and
//! the flow's status with the rules that decided it.

use serde::{Deserialize, Serialize};

use crate::model::iface::IfaceSet;
use crate::model::ports::{ConnState, PortSet, ProtoSet, StateSet};
use crate::model::{AddrSet, At, Family, Outcome, PacketBox, Pipeline, Ruleset, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Allowed,
    Partial,
    Blocked,
    Unknown,
}

impl Status {
    /// How bad it is: allowed, unknown, partial, blocked (a path worse than every hop alone, a
    /// change that makes a flow worse).
    pub fn rank(self) -> u8 {
        match self {
            Status::Allowed => 0,
            Status::Unknown => 1,
            Status::Partial => 2,
            Status::Blocked => 3,
        }
    }

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
    /// Source ports: the client's ephemeral ports for a new connection ([`Ends::client_ports`]);
    /// the service's ports for its replies.
    pub sport: PortSet,
    /// The connection state of these packets: NEW for the opening packet of a connection,
    /// ESTABLISHED for its replies ([`Region::replies`]).
    pub state: StateSet,
    pub iif: IfaceSet,
    pub oif: IfaceSet,
}

/// The ports clients pick for their side of a connection by default: 1024-65535 covers Linux's
/// default `ip_local_port_range` (32768-60999), Windows' dynamic range (49152-65535) and what
/// AWS documents for network ACLs. The fact `ephemeral_ports` narrows it ([`Ends::of`]).
pub const EPHEMERAL: (u16, u16) = (1024, 65535);

/// The fact that sets the client ports (`ephemeral_ports = "32768-60999"`).
pub const EPHEMERAL_FACT: &str = "ephemeral_ports";

/// The two ends of a flow that the options (not the inventory's roles) say: the guarded host's
/// own addresses (`--host-address`) and the ports clients open connections from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    /// `--host-address`: the addresses of the guarded host, where the inventory names none.
    pub host: Option<AddrSet>,
    /// The clients' ephemeral ports ([`EPHEMERAL`], or the fact `ephemeral_ports`).
    pub client_ports: PortSet,
    /// `--peers` (the fact [`PEERS_FACT`]): where the peers are, where the inventory names none;
    /// a flow's peer side is restricted to them and judged exactly (every peer must pass).
    pub peers: Option<AddrSet>,
}

impl Default for Ends {
    fn default() -> Self {
        Ends {
            host: None,
            client_ports: PortSet::range(EPHEMERAL.0, EPHEMERAL.1),
            peers: None,
        }
    }
}

impl Ends {
    /// The ends the audit options give (a malformed `ephemeral_ports` fact, which
    /// `run::Config` refuses, falls back to the default).
    pub fn of(opts: &super::AuditOptions<'_>) -> Ends {
        Ends {
            host: opts.host_addresses.clone(),
            client_ports: client_ports(&opts.facts)
                .unwrap_or_else(|_| Ends::default().client_ports),
            peers: peers(&opts.facts).ok().flatten(),
        }
    }

    /// The guarded host's own addresses in `rs`'s address space: `--host-address` where it
    /// names addresses of that family, else every unicast address that is not loopback,
    /// multicast, broadcast, link-local or unspecified ([`not_host_addresses`]).
    pub fn host_addresses(&self, rs: &Ruleset) -> AddrSet {
        let space = rs.address_space();
        let quick = space.difference(&not_host_addresses());
        let Some(pinned) = &self.host else {
            return quick;
        };
        [Family::V4, Family::V6]
            .into_iter()
            .fold(AddrSet::empty(), |acc, f| {
                let mine = pinned.intersect(&space).family_part(f);
                acc.union(&if mine.is_empty() {
                    quick.family_part(f)
                } else {
                    mine
                })
            })
    }
}

/// The fact that says where the peers are (`--peers 10.1.0.0/16,10.2.0.0/16`).
pub const PEERS_FACT: &str = "peers";

/// The peers the facts say (`peers = "CIDR[,CIDR...]"`), if any.
pub fn peers(facts: &crate::catalog::condition::Context) -> Result<Option<AddrSet>, String> {
    use crate::catalog::condition::Value;
    let text = match facts.get(PEERS_FACT) {
        None => return Ok(None),
        Some(Value::Str(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut set = AddrSet::empty();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let one = AddrSet::parse(part).map_err(|e| format!("`--peers {text}`: {e}"))?;
        set = set.union(&one);
    }
    if set.is_empty() {
        return Err(format!(
            "`--peers {text}`: name the peers' addresses, e.g. --peers 10.1.0.0/16,10.2.0.0/16"
        ));
    }
    Ok(Some(set))
}

/// The client ports the facts say: `ephemeral_ports = "LOW-HIGH"` (or one port), else
/// [`EPHEMERAL`].
pub fn client_ports(facts: &crate::catalog::condition::Context) -> Result<PortSet, String> {
    use crate::catalog::condition::Value;
    let text = match facts.get(EPHEMERAL_FACT) {
        None => return Ok(PortSet::range(EPHEMERAL.0, EPHEMERAL.1)),
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Version(v)) => v.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
    };
    let bad = || {
        format!(
            "`{EPHEMERAL_FACT} = {text}`: write the clients' port range as LOW-HIGH, e.g. 32768-60999"
        )
    };
    let set = crate::model::ports::parse_port_range(text.trim(), '-').map_err(|_| bad())?;
    if set.is_empty() || set.contains(0) {
        return Err(bad());
    }
    Ok(set)
}

/// What is never an address of the host a flow reaches or leaves: loopback (127.0.0.0/8,
/// `::1`), multicast (224.0.0.0/4, `ff00::/8`), the limited broadcast 255.255.255.255,
/// link-local (169.254.0.0/16, `fe80::/10`) and the unspecified addresses (0.0.0.0/8, "this
/// network", which RFC 1122 allows only as a source, and `::`).
pub fn not_host_addresses() -> AddrSet {
    // made once: every flow's region asks for it
    static SET: std::sync::OnceLock<AddrSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        [
            "127.0.0.0/8",
            "224.0.0.0/4",
            "255.255.255.255/32",
            "169.254.0.0/16",
            "0.0.0.0/8",
            "::1/128",
            "ff00::/8",
            "fe80::/10",
            "::/128",
        ]
        .iter()
        .fold(AddrSet::empty(), |a, c| {
            a.union(&AddrSet::parse(c).unwrap_or_else(|_| AddrSet::empty()))
        })
    })
    .clone()
}

/// The addresses a peer of the host may have: any of the ruleset's family but loopback and the
/// platform's own (Azure's 168.63.129.16, the health probes' source), which no client has.
pub fn remote_space(rs: &Ruleset) -> AddrSet {
    rs.address_space()
        .difference(&AddrSet::loopback())
        .difference(&rs.platform.reserved_addresses())
}

impl Region {
    /// New connections from any address but the host's own loopback, from the clients'
    /// ephemeral ports, on any interface but loopback, to the host's addresses (what "open to
    /// the world" is checked on).
    pub fn from_anywhere(rs: &Ruleset, ends: &Ends, proto: ProtoSet, dport: PortSet) -> Region {
        Region {
            src: remote_space(rs),
            dst: ends.host_addresses(rs),
            proto,
            dport,
            sport: ends.client_ports.clone(),
            state: ConnState::New.set(),
            iif: rs.interfaces.non_loopback(),
            // a packet for the host has no output interface
            oif: crate::model::iface::none(),
        }
    }

    /// Whether this is [`Region::from_anywhere`]'s region for its own protocols and ports,
    /// told from what a target's flows share (`remote`: [`remote_space`], `own`:
    /// [`Ends::host_addresses`]) without building that region again.
    pub fn is_from_anywhere(
        &self,
        rs: &Ruleset,
        ends: &Ends,
        remote: &AddrSet,
        own: &AddrSet,
    ) -> bool {
        self.src == *remote
            && self.dst == *own
            && self.sport == ends.client_ports
            && self.state == ConnState::New.set()
            && self.iif == rs.interfaces.non_loopback()
            && self.oif == crate::model::iface::none()
    }

    /// The replies of this flow: addresses and ports swapped (from the service's ports back to
    /// the client's ephemeral ports), ESTABLISHED, through the other direction of the firewall.
    pub fn replies(&self) -> Region {
        Region {
            src: self.dst.clone(),
            dst: self.src.clone(),
            proto: self.proto.clone(),
            // a region from any client port (what a fix is verified on) replies to the default
            // ephemeral ports
            dport: if self.sport.is_full() {
                PortSet::range(EPHEMERAL.0, EPHEMERAL.1)
            } else {
                self.sport.clone()
            },
            sport: self.dport.clone(),
            state: ConnState::Established.set(),
            iif: self.oif.clone(),
            oif: self.iif.clone(),
        }
    }

    /// The region as one box of packet space (a stateless filter ignores the state).
    pub fn to_box(&self) -> PacketBox {
        PacketBox {
            src: self.src.clone(),
            dst: self.dst.clone(),
            proto: self.proto.clone(),
            sport: self.sport.clone(),
            dport: self.dport.clone(),
            state: self.state.clone(),
            iif: self.iif.clone(),
            oif: self.oif.clone(),
        }
    }
}

/// The peers an allowed or partly allowed flow admits (`FlowRecord::admitted`), for the human
/// report to say readably ([`crate::report::sources::readable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The peers (sources of an inbound or forwarded flow, destinations of an outbound one)
    /// some of whose packets pass.
    pub peers: AddrSet,
    /// What "any address" is measured against: the flow's peers (in quick mode every address
    /// but loopback).
    pub whole: AddrSet,
    /// The peers were named (`--peers`, the inventory): "any peer" rather than "any address".
    pub named: bool,
    /// Every peer of the flow's region passes.
    pub every: bool,
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

    /// The destination ports of the denied pieces (for a flow some of whose ports are denied to
    /// every peer: the MSP 9082+ range cut short).
    pub fn denied_ports(&self) -> crate::model::ports::PortSet {
        crate::model::interval::IntervalSet::from_ranges(
            self.outcomes
                .iter()
                .filter(|o| o.verdict == Verdict::Deny)
                .flat_map(|o| o.space.dport.ranges().iter().copied()),
        )
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
        // a fast hash, as in `all_deciders` (the order is `out`'s, not the set's)
        let mut seen =
            std::collections::HashSet::with_hasher(foldhash::fast::RandomState::default());
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
        // a blocklist's flow has tens of thousands: a fast hash (no untrusted keys here)
        let mut seen =
            std::collections::HashSet::with_hasher(foldhash::fast::RandomState::default());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::iptables;
    use crate::formats::source::SourceText;

    /// `is_from_anywhere` says yes to `from_anywhere`'s region and no as soon as any of the
    /// dimensions it fixes differs.
    #[test]
    fn the_world_region_is_told_from_what_a_target_shares() {
        let text =
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -i eth0 -p tcp --dport 9669 -j ACCEPT\nCOMMIT\n";
        let src = SourceText::new("t.rules".to_string(), text.to_string());
        let dump = iptables::parse_parallel(&src.text, |_| true);
        let rs = iptables::lower::lower(&dump, &src, iptables::lower::family_of(&dump)).ruleset;
        let ends = Ends::default();
        let (remote, own) = (remote_space(&rs), ends.host_addresses(&rs));
        let world = Region::from_anywhere(&rs, &ends, ProtoSet::single(6), PortSet::single(9669));
        assert!(world.is_from_anywhere(&rs, &ends, &remote, &own));
        let changed: [fn(&mut Region); 6] = [
            |r| r.src = AddrSet::single("10.0.0.1".parse().unwrap()),
            |r| r.dst = AddrSet::any(),
            |r| r.sport = PortSet::full(),
            |r| r.state = ConnState::Established.set(),
            |r| r.iif = IfaceSet::full(),
            |r| r.oif = IfaceSet::full(),
        ];
        for (i, change) in changed.iter().enumerate() {
            let mut r = world.clone();
            change(&mut r);
            assert_ne!(r, world, "change {i} changes nothing");
            assert!(!r.is_from_anywhere(&rs, &ends, &remote, &own), "change {i}");
        }
    }
}
