//! The oracle: random firewalls of every semantics, lowered through each format's real lowering,
//! evaluated region by region, and checked packet by packet against a small reference evaluator
//! written here from the platform's documented semantics (not from the model):
//!
//! - iptables: `iptables-save` text (chains, jumps, gotos, RETURN, policies, negations, multiport,
//!   conntrack, interfaces, `-m limit`), parsed and lowered; the reference walks the rule specs
//!   like the kernel's `ipt_do_table` (a goto does not push a return address; a chain left with
//!   nothing to return to falls to the hook's policy).
//! - Azure NSG: rule structs (priorities, allow/deny, prefixes, service tags, port lists,
//!   protocols) lowered with the six default rules; the reference sorts by priority and takes the
//!   first match. One or two NSGs in series (subnet, then NIC).
//! - AWS security groups: one to three groups, unioned; the reference allows a packet any rule
//!   admits.
//! - Windows Defender Firewall: rules (allow/block/bypass, profiles, enabled/disabled, both
//!   directions, keywords, ICMP types), profile settings; the reference lets any enabled matching
//!   block win, then any allow, then the profile default.
//!
//! - iptables connections: host firewalls with `raw` (NOTRACK, `CT --notrack`), `nat` (DNAT,
//!   REDIRECT) and `filter` tables, audited through the library as the command line does; each
//!   inbound flow record (`allowed_sources`, status) is held to a reference that simulates one
//!   connection packet by packet (request, conntrack entry, NAT and routing, reply). See the
//!   section's own doc.
//!
//! Undecidable parts (unresolved names, `-m limit`, port keywords, program scopes, unknown
//! priorities) are followed as the engine promises: the reference computes the *set* of verdicts
//! the packet may get; one verdict is the answer, several are unknown.
//!
//! Each case evaluates random regions, then checks packets sampled in every returned piece and
//! corner packets (every rule's interval edges and their neighbours, ports 0 and 65535,
//! 0.0.0.0, 255.255.255.255, ::, ffff:...:ffff): each packet of the region lies in exactly one
//! piece, whose verdict is the reference's. A firewall without any doubt yields no unknown piece.
//!
//! The references also say what decided each packet (a generated rule, a default rule, a chain
//! policy, an implicit deny, a profile default), and the piece's `deciders` must agree: mapped
//! back to the generated firewall through the lowered rules' provenance, they must name what the
//! platform's semantics say decides, and nothing that cannot (first match: exactly the deciding
//! rule or policy; unions and block-wins: any of the rules that legitimately decide). Every
//! label, exposure finding, shadowing finding and fix position rests on them. See [`Answer`] and
//! each reference for what exactly is asserted.
//!
//! Cases per property: `PROPTEST_CASES` (a long run: `PROPTEST_CASES=100000 cargo test --release
//! --test integration oracle`); a few hundred each by default.

use std::net::Ipv6Addr;

use portolan::formats::aws::{self, Field, GroupRef, Peer, Permission, SecurityGroup, Target};
use portolan::formats::azure::{self, Nsg, NsgDoubt, NsgDoubtKind, SecurityRule, Value};
use portolan::formats::iptables::{self, lower as ipt_lower};
use portolan::formats::source::SourceText;
use portolan::formats::windows::{
    self, AddrSpec, Direction, IcmpSpec, Item, PortSpec, ProfileSettings, Profiles, Protocol,
    Security, WinAction, WinRule,
};
use portolan::formats::Resolver;
use portolan::model::policy::MAX_DECIDERS;
use portolan::model::{
    AddrSet, At, Decider, Hook, IntervalSet, Outcome, Packet, PacketBox, Ruleset, Span, Verdict,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ------------------------------------------------------------------------------------------------
// Shared pieces: addresses, verdict sets, sampling, the check itself
// ------------------------------------------------------------------------------------------------

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        max_shrink_iters: 4096,
        // a failure is minimised into a named regression test instead
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The model's encoding of IPv4 addresses (`::ffff:a.b.c.d`), written out here on purpose.
const V4_BASE: u128 = 0xffff_0000_0000;
const V4_LAST: u128 = V4_BASE + u32::MAX as u128;

fn is_v4(x: u128) -> bool {
    (V4_BASE..=V4_LAST).contains(&x)
}

/// A CIDR block of one family (the network address already masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pfx {
    V4(u32, u8),
    V6(u128, u8),
}

impl Pfx {
    fn v4(a: u32, len: u8) -> Pfx {
        let host = u32::MAX.checked_shr(len as u32).unwrap_or(0);
        Pfx::V4(a & !host, len)
    }
    fn v6(a: u128, len: u8) -> Pfx {
        let host = u128::MAX.checked_shr(len as u32).unwrap_or(0);
        Pfx::V6(a & !host, len)
    }
    fn text(&self) -> String {
        match *self {
            Pfx::V4(a, l) => format!("{}/{l}", std::net::Ipv4Addr::from(a)),
            Pfx::V6(a, l) => format!("{}/{l}", Ipv6Addr::from(a)),
        }
    }
    /// Written without a prefix length when it is one address (`10.0.0.1`, `2001:db8::1`).
    fn text_bare(&self) -> String {
        match *self {
            Pfx::V4(a, 32) => std::net::Ipv4Addr::from(a).to_string(),
            Pfx::V6(a, 128) => Ipv6Addr::from(a).to_string(),
            _ => self.text(),
        }
    }
    /// Does this block hold the packet address `x`? An IPv6 block holds IPv6 packets only.
    fn contains(&self, x: u128) -> bool {
        match *self {
            Pfx::V4(a, l) => {
                is_v4(x) && {
                    let v = (x - V4_BASE) as u32;
                    l == 0 || (v >> (32 - l)) == (a >> (32 - l))
                }
            }
            Pfx::V6(a, l) => !is_v4(x) && (l == 0 || (x >> (128 - l)) == (a >> (128 - l))),
        }
    }
    /// First and last address in the model's encoding (for regions and corners).
    fn bounds(&self) -> (u128, u128) {
        match *self {
            Pfx::V4(a, l) => {
                let host = u32::MAX.checked_shr(l as u32).unwrap_or(0);
                (V4_BASE + a as u128, V4_BASE + (a | host) as u128)
            }
            Pfx::V6(a, l) => (a, a | u128::MAX.checked_shr(l as u32).unwrap_or(0)),
        }
    }
    fn is_v6(&self) -> bool {
        matches!(self, Pfx::V6(..))
    }
}

fn v4_pfx() -> impl Strategy<Value = Pfx> {
    let base = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0x0a00_0000),
        Just(0x0a00_0100),
        Just(0x0a01_0000),
        Just(0xc0a8_0100),
        Just(0xc0a8_0101),
        any::<u32>(),
    ];
    let len = prop_oneof![
        Just(0u8),
        Just(8),
        Just(16),
        Just(24),
        Just(31),
        Just(32),
        0u8..=32
    ];
    (base, len).prop_map(|(a, l)| Pfx::v4(a, l))
}

fn v6_pfx() -> impl Strategy<Value = Pfx> {
    let base = prop_oneof![
        Just(0u128),
        Just(u128::MAX),
        Just(0x2001_0db8u128 << 96),
        Just((0x2001_0db8u128 << 96) | (1 << 64)),
        Just(0xfe80u128 << 112),
        Just(1u128),
        // random, kept out of the IPv4-mapped block (a literal there reads as IPv4)
        any::<u128>().prop_map(|x| x | (1 << 127)),
    ];
    let len = prop_oneof![
        Just(0u8),
        Just(32),
        Just(64),
        Just(127),
        Just(128),
        0u8..=128
    ];
    (base, len).prop_map(|(a, l)| Pfx::v6(a, l))
}

fn pfx() -> impl Strategy<Value = Pfx> {
    prop_oneof![3 => v4_pfx(), 2 => v6_pfx()]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0u16),
        Just(1),
        Just(22),
        Just(80),
        Just(81),
        Just(443),
        Just(1024),
        Just(65534),
        Just(65535),
        any::<u16>()
    ]
}

fn port_range() -> impl Strategy<Value = (u16, u16)> {
    prop_oneof![
        1 => Just((0u16, 65535u16)),
        1 => Just((0, 0)),
        1 => Just((65535, 65535)),
        3 => port().prop_map(|p| (p, p)),
        4 => (port(), port()).prop_map(|(a, b)| (a.min(b), a.max(b))),
    ]
}

/// A set of possible verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VSet(u8);

impl VSet {
    const ALLOW: VSet = VSet(1);
    const DENY: VSet = VSet(2);
    const UNKNOWN: VSet = VSet(4);
    fn or(self, o: VSet) -> VSet {
        VSet(self.0 | o.0)
    }
    /// One possible verdict is the answer; several (or none) are unknown.
    fn verdict(self) -> Verdict {
        match self.0 {
            1 => Verdict::Allow,
            2 => Verdict::Deny,
            _ => Verdict::Unknown,
        }
    }
}

/// Whether a rule (or one dimension of it) matches a packet for sure, and whether it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct M {
    sure: bool,
    may: bool,
}

impl M {
    const YES: M = M {
        sure: true,
        may: true,
    };
    const NO: M = M {
        sure: false,
        may: false,
    };
    const MAYBE: M = M {
        sure: false,
        may: true,
    };
    fn exact(b: bool) -> M {
        if b {
            M::YES
        } else {
            M::NO
        }
    }
    fn and(self, o: M) -> M {
        M {
            sure: self.sure && o.sure,
            may: self.may && o.may,
        }
    }
    fn or(self, o: M) -> M {
        M {
            sure: self.sure || o.sure,
            may: self.may || o.may,
        }
    }
    fn doubt(self) -> M {
        M {
            sure: false,
            may: self.may,
        }
    }
}

/// xorshift64*: the packet sampler of one case (seeded by proptest).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn u128(&mut self) -> u128 {
        ((self.next() as u128) << 64) | self.next() as u128
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// A point of an interval set: an edge of one of its ranges, or a random point inside.
fn point<T>(rng: &mut Rng, ranges: &[(T, T)]) -> T
where
    T: Copy + Into<u128> + TryFrom<u128>,
{
    let (lo, hi) = rng.pick(ranges);
    let (lo, hi): (u128, u128) = (lo.into(), hi.into());
    let x = match rng.below(4) {
        0 => lo,
        1 => hi,
        _ => {
            let span = hi - lo;
            if span == u128::MAX {
                rng.u128()
            } else {
                lo + rng.u128() % (span + 1)
            }
        }
    };
    T::try_from(x).unwrap_or_else(|_| unreachable!())
}

fn sample(rng: &mut Rng, b: &PacketBox) -> Packet {
    Packet {
        src: point(rng, b.src.0.ranges()),
        dst: point(rng, b.dst.0.ranges()),
        proto: point(rng, b.proto.ranges()),
        sport: point(rng, b.sport.ranges()),
        dport: point(rng, b.dport.ranges()),
        state: point(rng, b.state.ranges()),
        iif: point(rng, b.iif.ranges()),
        oif: point(rng, b.oif.ranges()),
    }
}

/// Corner values per dimension: edges of every interval a rule uses and their neighbours.
#[derive(Default)]
struct Corners {
    addr: Vec<u128>,
    port: Vec<u16>,
    proto: Vec<u8>,
}

impl Corners {
    fn new() -> Corners {
        let mut c = Corners::default();
        c.addr.extend([
            0,
            1,
            u128::MAX,
            V4_BASE - 1,
            V4_BASE,
            V4_BASE + 1,
            V4_LAST - 1,
            V4_LAST,
            V4_LAST + 1,
            V4_BASE + 0x0a00_0000,
            V4_BASE + 0x7f00_0001,
        ]);
        c.port.extend([0, 1, 65534, 65535]);
        c.proto.extend([0, 1, 6, 17, 47, 50, 51, 58, 255]);
        c
    }
    fn add_pfx(&mut self, p: &Pfx) {
        let (lo, hi) = p.bounds();
        self.addr.extend([lo, hi]);
        self.addr.extend(lo.checked_sub(1));
        self.addr.extend(hi.checked_add(1));
    }
    fn add_ports(&mut self, (lo, hi): (u16, u16)) {
        self.port.extend([lo, hi]);
        self.port.extend(lo.checked_sub(1));
        self.port.extend(hi.checked_add(1));
    }
    /// A packet of `region` with some dimensions moved to corner values (kept only when it is
    /// still in the region).
    fn packet(&self, rng: &mut Rng, region: &PacketBox) -> Option<Packet> {
        let mut p = sample(rng, region);
        if rng.below(2) == 0 {
            p.src = rng.pick(&self.addr);
        }
        if rng.below(2) == 0 {
            p.dst = rng.pick(&self.addr);
        }
        if rng.below(3) == 0 {
            p.proto = rng.pick(&self.proto);
        }
        if rng.below(2) == 0 {
            p.dport = rng.pick(&self.port);
        }
        if rng.below(3) == 0 {
            p.sport = rng.pick(&self.port);
        }
        region.contains(&p).then_some(p)
    }
}

/// A region to evaluate: every packet, or a random box.
#[derive(Debug, Clone)]
struct RegionSpec {
    src: Option<Pfx>,
    dst: Option<Pfx>,
    proto: Option<u8>,
    sport: Option<(u16, u16)>,
    dport: Option<(u16, u16)>,
    state: Option<u8>,
}

fn region_spec() -> impl Strategy<Value = RegionSpec> {
    let opt = |w: u32| prop::bool::weighted(w as f64 / 10.0);
    prop_oneof![
        1 => Just(RegionSpec { src: None, dst: None, proto: None, sport: None, dport: None, state: None }),
        2 => (
            (opt(4), pfx()),
            (opt(3), pfx()),
            (opt(4), prop::sample::select(vec![1u8, 6, 17, 47, 58])),
            (opt(2), port_range()),
            (opt(4), port_range()),
            (opt(2), 0u8..5),
        )
            .prop_map(|(s, d, p, sp, dp, st)| RegionSpec {
                src: s.0.then_some(s.1),
                dst: d.0.then_some(d.1),
                proto: p.0.then_some(p.1),
                sport: sp.0.then_some(sp.1),
                dport: dp.0.then_some(dp.1),
                state: st.0.then_some(st.1),
            }),
    ]
}

impl RegionSpec {
    fn to_box(&self, space: &AddrSet) -> PacketBox {
        let mut b = PacketBox::full();
        let addr = |p: &Option<Pfx>| {
            let set = match p {
                Some(p) => {
                    let (lo, hi) = p.bounds();
                    AddrSet(IntervalSet::range(lo, hi))
                }
                None => AddrSet::any(),
            };
            set.intersect(space)
        };
        b.src = addr(&self.src);
        b.dst = addr(&self.dst);
        if let Some(p) = self.proto {
            b.proto = IntervalSet::single(p);
        }
        if let Some((a, z)) = self.sport {
            b.sport = IntervalSet::range(a, z);
        }
        if let Some((a, z)) = self.dport {
            b.dport = IntervalSet::range(a, z);
        }
        if let Some(s) = self.state {
            b.state = IntervalSet::single(s);
        }
        b
    }
    fn corners(&self, c: &mut Corners) {
        for p in [&self.src, &self.dst].into_iter().flatten() {
            c.add_pfx(p);
        }
        for r in [self.sport, self.dport].into_iter().flatten() {
            c.add_ports(r);
        }
    }
}

/// What decided a packet, named in the generated firewall's own terms (never the model's ids): the
/// references say which of these decide, and each piece's `deciders` are mapped back to them
/// through the lowered rules' provenance (see each platform's `ident`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dec {
    /// iptables: the generated rule of this index (its `-A` line: the provenance's line).
    Ipt(usize),
    /// NSG `n`'s generated rule `r{k}` (the provenance's label, `nsg{n}/r{k} (priority ...)`).
    Nsg(usize, usize),
    /// NSG `n`'s default rule of this name, which Azure adds to every NSG (a real rule of the
    /// model: `nsg{n}/DenyAllInBound (priority 65500) (default rule, ...)`).
    NsgDefault(usize, &'static str),
    /// NSG `n`'s doubt: it may not be deployed, or some of its rules are not in the file.
    NsgDoubt(usize),
    /// AWS: (group, egress, permission, peer), from the provenance's span, which the case gives
    /// every peer (a permission lowers to one rule per peer).
    Sg(usize, bool, usize, usize),
    /// Windows: the generated rule `rule{k}` (the provenance's label, `rule{k} in (allow)`).
    Win(usize),
    /// The platform's default: the iptables INPUT policy, the AWS implicit deny, the Windows
    /// profile's default action (or its firewall being off).
    Default,
}

/// One way a packet may go through a first-match firewall: the verdict at its end and what gave
/// it. A packet goes one way unless an undecidable rule is on it; then both of that rule's
/// outcomes are followed.
type Way = (VSet, Dec);

/// The verdict of a set of ways.
fn verdict_of(ways: &[Way]) -> Verdict {
    ways.iter()
        .fold(VSet::default(), |a, w| a.or(w.0))
        .verdict()
}

/// The reference's answer for one packet: its verdict and what must (and may) be named as
/// deciding it. Each platform fills it from its own documented semantics (see the references).
#[derive(Debug)]
struct Answer {
    verdict: Verdict,
    /// Each of these must be named (first match: the decider of every way the packet may go).
    /// Not checked on a piece whose deciders reached `MAX_DECIDERS` (the evaluator stops adding
    /// there).
    all: Vec<Dec>,
    /// When not empty, at least one of these must be named (allow unions and block-wins, where
    /// any of several rules legitimately decides).
    one: Vec<Dec>,
    /// When given, every named decider must be one of these.
    only: Option<Vec<Dec>>,
    /// Another answer a sound model may give instead (a reading less exact than this one: a
    /// doubt of the platform kept apart per rule rather than one for all rules).
    or: Option<Box<Answer>>,
}

impl Answer {
    /// Exactly one decider: `d`.
    fn exact(verdict: Verdict, d: Dec) -> Answer {
        Answer {
            verdict,
            all: vec![d],
            one: Vec::new(),
            only: Some(vec![d]),
            or: None,
        }
    }
    /// No judgement of the deciders (beyond their naming rules of the firewall).
    fn verdict_only(verdict: Verdict) -> Answer {
        Answer {
            verdict,
            all: Vec::new(),
            one: Vec::new(),
            only: None,
            or: None,
        }
    }
}

/// Check a piece's deciders against the reference's answer for one of its packets. Every piece
/// names at least one decider, and each names a rule or default of the generated firewall.
fn judge(want: &Answer, o: &Outcome, ident: &dyn Fn(At) -> Option<Dec>) -> Result<(), String> {
    let mut named = Vec::new();
    for &at in &o.deciders {
        match ident(at) {
            Some(d) => named.push(d),
            None => {
                return Err(format!(
                    "decider {at:?} is no rule or default of the generated firewall"
                ))
            }
        }
    }
    if named.is_empty() {
        return Err("the piece names no decider".into());
    }
    if o.deciders.len() < MAX_DECIDERS {
        if let Some(d) = want.all.iter().find(|d| !named.contains(d)) {
            return Err(format!(
                "{d:?} decides the packet but is not named (named {named:?}, want all of {:?})",
                want.all
            ));
        }
    }
    if !want.one.is_empty() && !named.iter().any(|d| want.one.contains(d)) {
        return Err(format!(
            "none of {:?} (each decides the packet) is named (named {named:?})",
            want.one
        ));
    }
    if let Some(only) = &want.only {
        if let Some(d) = named.iter().find(|d| !only.contains(d)) {
            return Err(format!(
                "{d:?} is named but does not decide the packet (named {named:?}, only {only:?} may be)"
            ));
        }
    }
    Ok(())
}

/// Evaluate `region` through the `hook` pipeline of `rs`, then check sampled and corner packets
/// against `reference`: the piece holding each has the reference's verdict, and its deciders
/// (mapped to the generated firewall by `ident`) are what the reference says decides it.
/// Returns how many packets were checked.
#[allow(clippy::too_many_arguments)]
fn check(
    rs: &Ruleset,
    hook: Hook,
    region: &PacketBox,
    corners: &Corners,
    rng: &mut Rng,
    doubtless: bool,
    reference: &dyn Fn(&Packet) -> Answer,
    ident: &dyn Fn(At) -> Option<Dec>,
) -> Result<usize, TestCaseError> {
    if region.is_empty() {
        return Ok(0);
    }
    let Some(pipeline) = rs.pipeline(hook) else {
        return Err(TestCaseError::fail(format!("no {hook:?} pipeline")));
    };
    let outs = rs.evaluate(pipeline, region);
    let mut packets = Vec::new();
    for o in &outs {
        prop_assert!(o.space.is_subset(region), "a piece leaves the region");
        if doubtless {
            prop_assert!(
                o.verdict != Verdict::Unknown,
                "an unknown piece without any undecidable rule: {:?} {:?}",
                o.space,
                o.reasons
            );
        }
    }
    // a couple of packets in every piece (the first 64 pieces), then corner packets
    for o in outs.iter().take(64) {
        for _ in 0..2 {
            packets.push(sample(rng, &o.space));
        }
    }
    for _ in 0..48 {
        packets.extend(corners.packet(rng, region));
    }
    for p in &packets {
        let holding: Vec<_> = outs.iter().filter(|o| o.space.contains(p)).collect();
        prop_assert_eq!(
            holding.len(),
            1,
            "the pieces must partition the region; packet {:?}",
            p
        );
        let want = reference(p);
        let attempt = |w: &Answer| -> Result<(), String> {
            if holding[0].verdict != w.verdict {
                return Err(format!(
                    "verdict {:?}, want {:?}",
                    holding[0].verdict, w.verdict
                ));
            }
            judge(w, holding[0], ident)
        };
        // the exact reading, or (where one is given) another reading a sound model may give
        if let Err(e) = attempt(&want) {
            if want.or.as_deref().is_some_and(|alt| attempt(alt).is_ok()) {
                continue;
            }
            return Err(TestCaseError::fail(format!(
                "{hook:?}: packet {p:?} in piece {:?} ({:?}, deciders {:?}, reasons {:?}): {e}",
                holding[0].space, holding[0].verdict, holding[0].deciders, holding[0].reasons
            )));
        }
    }
    Ok(packets.len())
}

// ------------------------------------------------------------------------------------------------
// Azure NSG
// ------------------------------------------------------------------------------------------------

const TAGS: [&str; 4] = ["VirtualNetwork", "Internet", "AzureLoadBalancer", "Storage"];
const NSG_PROTOS: [&str; 7] = ["*", "Tcp", "Udp", "Icmp", "Esp", "Ah", "tcp"];

#[derive(Debug, Clone)]
enum NAddr {
    Star,
    Pfx(Pfx),
    Tag(usize),
}

#[derive(Debug, Clone)]
enum NPort {
    Star,
    Range(u16, u16),
}

#[derive(Debug, Clone)]
struct NRule {
    priority: Option<i64>,
    inbound: bool,
    allow: bool,
    proto: usize,
    src: Vec<NAddr>,
    dst: Vec<NAddr>,
    sports: Vec<NPort>,
    dports: Vec<NPort>,
}

#[derive(Debug, Clone)]
struct NsgSpec {
    rules: Vec<NRule>,
    /// Some(true): the NSG may be absent; Some(false): some of its rules are not in the file.
    doubt: Option<bool>,
}

#[derive(Debug, Clone)]
struct AzureCase {
    nsgs: Vec<NsgSpec>,
    /// Each service tag's addresses, or unresolved.
    tags: Vec<Option<Vec<Pfx>>>,
    regions: Vec<RegionSpec>,
    seed: u64,
}

fn n_addr() -> impl Strategy<Value = NAddr> {
    prop_oneof![
        2 => Just(NAddr::Star),
        1 => Just(NAddr::Pfx(Pfx::v4(0, 0))),
        1 => Just(NAddr::Pfx(Pfx::v6(0, 0))),
        6 => pfx().prop_map(NAddr::Pfx),
        2 => (0..TAGS.len()).prop_map(NAddr::Tag),
    ]
}

fn n_port() -> impl Strategy<Value = NPort> {
    prop_oneof![
        3 => Just(NPort::Star),
        4 => port_range().prop_map(|(a, b)| NPort::Range(a, b)),
    ]
}

fn n_rule() -> impl Strategy<Value = NRule> {
    (
        prop_oneof![
            12 => (100i64..=4096).prop_map(Some),
            2 => prop::sample::select(vec![100i64, 101, 4096]).prop_map(Some),
            1 => prop::sample::select(vec![1i64, 65000, 65001, 65499, 65500, 65535]).prop_map(Some),
            1 => Just(None),
        ],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(0usize), 3 => Just(1), 2 => Just(2), 1 => 3usize..7],
        prop::collection::vec(n_addr(), 1..3),
        prop::collection::vec(n_addr(), 1..3),
        prop_oneof![3 => Just(vec![NPort::Star]), 1 => prop::collection::vec(n_port(), 1..3)],
        prop::collection::vec(n_port(), 1..4),
    )
        .prop_map(
            |(priority, inbound, allow, proto, src, dst, sports, dports)| NRule {
                priority,
                inbound,
                allow,
                proto,
                src,
                dst,
                sports,
                dports,
            },
        )
}

fn azure_case() -> impl Strategy<Value = AzureCase> {
    (
        prop::collection::vec(
            (
                prop::collection::vec(n_rule(), 0..10),
                prop_oneof![20 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))],
            )
                .prop_map(|(rules, doubt)| NsgSpec { rules, doubt }),
            1..3,
        ),
        prop::collection::vec(
            prop_oneof![1 => Just(None), 3 => prop::collection::vec(pfx(), 1..3).prop_map(Some)],
            TAGS.len(),
        ),
        prop::collection::vec(region_spec(), 1..4),
        any::<u64>(),
    )
        .prop_map(|(nsgs, tags, regions, seed)| AzureCase {
            nsgs,
            tags,
            regions,
            seed,
        })
}

fn n_port_text(p: &NPort) -> String {
    match p {
        NPort::Star => "*".into(),
        NPort::Range(a, b) if a == b => a.to_string(),
        NPort::Range(a, b) => format!("{a}-{b}"),
    }
}

fn n_addr_text(a: &NAddr) -> String {
    match a {
        NAddr::Star => "*".into(),
        NAddr::Pfx(p) => p.text_bare(),
        NAddr::Tag(t) => TAGS[*t].into(),
    }
}

fn nsg_of(i: usize, spec: &NsgSpec) -> Nsg {
    let v = |t: String| Value::literal(t, Span::default());
    let mut nsg = Nsg::new(format!("nsg{i}"), Span::default(), Span::default());
    for (k, r) in spec.rules.iter().enumerate() {
        let mut s = SecurityRule::new(format!("r{k}"), Span::default(), Span::default());
        s.priority = r.priority.map(|p| v(p.to_string()));
        s.direction = Some(v(if r.inbound { "Inbound" } else { "Outbound" }.into()));
        s.access = Some(v(if r.allow { "Allow" } else { "Deny" }.into()));
        s.protocol = Some(v(NSG_PROTOS[r.proto].into()));
        s.source_prefixes = r.src.iter().map(|a| v(n_addr_text(a))).collect();
        s.destination_prefixes = r.dst.iter().map(|a| v(n_addr_text(a))).collect();
        s.source_ports = r.sports.iter().map(|p| v(n_port_text(p))).collect();
        s.destination_ports = r.dports.iter().map(|p| v(n_port_text(p))).collect();
        nsg.rules.push(s);
    }
    if let Some(absent) = spec.doubt {
        nsg.doubts.push(NsgDoubt {
            kind: if absent {
                NsgDoubtKind::MayBeAbsent
            } else {
                NsgDoubtKind::RulesUnknown
            },
            span: Span::default(),
            reason: "doubt".into(),
        });
    }
    nsg
}

/// The six default rules, as Azure documents them, with their names.
fn nsg_defaults(inbound: bool) -> Vec<(&'static str, NRule)> {
    let r = |priority: i64, src: NAddr, dst: NAddr, allow: bool| NRule {
        priority: Some(priority),
        inbound,
        allow,
        proto: 0,
        src: vec![src],
        dst: vec![dst],
        sports: vec![NPort::Star],
        dports: vec![NPort::Star],
    };
    if inbound {
        vec![
            (
                "AllowVnetInBound",
                r(65000, NAddr::Tag(0), NAddr::Tag(0), true),
            ),
            (
                "AllowAzureLoadBalancerInBound",
                r(65001, NAddr::Tag(2), NAddr::Star, true),
            ),
            ("DenyAllInBound", r(65500, NAddr::Star, NAddr::Star, false)),
        ]
    } else {
        vec![
            (
                "AllowVnetOutBound",
                r(65000, NAddr::Tag(0), NAddr::Tag(0), true),
            ),
            (
                "AllowInternetOutBound",
                r(65001, NAddr::Star, NAddr::Tag(1), true),
            ),
            ("DenyAllOutBound", r(65500, NAddr::Star, NAddr::Star, false)),
        ]
    }
}

fn n_addr_match(list: &[NAddr], x: u128, tags: &[Option<Vec<Pfx>>]) -> M {
    let mut m = M::NO;
    for a in list {
        m = m.or(match a {
            NAddr::Star => M::YES,
            NAddr::Pfx(p) => M::exact(p.contains(x)),
            NAddr::Tag(t) => match &tags[*t] {
                Some(ps) => M::exact(ps.iter().any(|p| p.contains(x))),
                // Azure documents AzureLoadBalancer as the health probes' source, 168.63.129.16
                None if TAGS[*t] == "AzureLoadBalancer" => {
                    M::exact(Pfx::v4(0xA83F_8110, 32).contains(x))
                }
                None => M::MAYBE,
            },
        });
    }
    m
}

fn n_ports_match(list: &[NPort], x: u16) -> bool {
    list.iter().any(|p| match p {
        NPort::Star => true,
        NPort::Range(a, b) => (*a..=*b).contains(&x),
    })
}

/// Does a port list cover every port?
fn n_ports_full(list: &[NPort]) -> bool {
    let mut rs: Vec<(u32, u32)> = list
        .iter()
        .map(|p| match p {
            NPort::Star => (0, 65535),
            NPort::Range(a, b) => (*a as u32, *b as u32),
        })
        .collect();
    rs.sort();
    let mut next = 0u32;
    for (a, b) in rs {
        if a > next {
            return false;
        }
        next = next.max(b + 1);
    }
    next > 65535
}

/// How the ports of a `*` rule apply to an ICMP packet, in one port dimension: one reading of
/// what Azure leaves unsaid.
///
/// Microsoft's documentation of NSG security rules (learn.microsoft.com, "Network security
/// groups" overview, *Security rules*: "Protocol: TCP, UDP, ICMP, ESP, AH, or Any", "Port
/// ranges: You can specify an individual or range of ports"; the REST `SecurityRule`'s
/// `sourcePortRange`/`destinationPortRange`: "Integer or range between 0 and 65535. Asterisk '*'
/// can also be used to match all ports") does not say what port ranges do to a packet without
/// ports. Asked, Microsoft answered only "ICMP is a layer 3 protocol and it doesn't have a port
/// ... use any/any in the ports field" (MicrosoftDocs/azure-docs#37413), and a user who tried it
/// reports that the ports of an ICMP rule are compared with the ICMP type
/// (MicrosoftDocs/azure-docs#51522, not taken into the docs). So the ports of a `*` rule may be
/// ignored for ICMP, may keep every ICMP packet out, or may be compared with some value the
/// packet carries (its type, its type and code, ...), which the packet model does not hold.
/// Whichever it is, it is one behaviour of the platform for every rule and a given packet: the
/// exact reference takes each reading in turn, and a verdict all readings agree on is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IcmpPorts {
    /// The ports do not restrict ICMP.
    Ignored,
    /// A port list short of every port keeps ICMP out.
    Never,
    /// The ports are compared with this value of the packet.
    Value(u16),
}

impl IcmpPorts {
    fn matches(self, list: &[NPort]) -> bool {
        match self {
            IcmpPorts::Ignored => true,
            IcmpPorts::Never => n_ports_full(list),
            IcmpPorts::Value(v) => n_ports_match(list, v),
        }
    }
}

/// Every reading of the ICMP ports of `*` rules among `rules` that can tell them apart, as (source
/// ports, destination ports): per dimension, ignored, never, and one value in each stretch of
/// ports the rules' range edges cut 0..=65535 into. One reading (ignored) when no `*` rule with
/// port ranges could match the packet.
fn icmp_readings(rules: &[(Dec, NRule)], p: &Packet) -> Vec<(IcmpPorts, IcmpPorts)> {
    let doubtful: Vec<&NRule> = rules
        .iter()
        .map(|(_, r)| r)
        .filter(|r| icmp_port_doubt(r, p))
        .collect();
    let dim = |lists: Vec<&[NPort]>| -> Vec<IcmpPorts> {
        let mut edges = vec![0u16];
        for list in lists.iter().filter(|l| !n_ports_full(l)) {
            for port in list.iter() {
                if let NPort::Range(a, b) = *port {
                    edges.push(a);
                    edges.extend(b.checked_add(1));
                }
            }
        }
        if edges.len() == 1 {
            // every list is full: all readings agree in this dimension
            return vec![IcmpPorts::Ignored];
        }
        edges.sort_unstable();
        edges.dedup();
        let mut out = vec![IcmpPorts::Ignored, IcmpPorts::Never];
        out.extend(edges.into_iter().map(IcmpPorts::Value));
        out
    };
    let sports = dim(doubtful.iter().map(|r| r.sports.as_slice()).collect());
    let dports = dim(doubtful.iter().map(|r| r.dports.as_slice()).collect());
    sports
        .iter()
        .flat_map(|&s| dports.iter().map(move |&d| (s, d)))
        .collect()
}

/// Does rule `r` match `p`? `icmp`: how the ports of a `*` rule apply to an ICMP packet (one
/// reading, [`IcmpPorts`]); without one, each such rule may or may not match on its own.
fn n_rule_match(
    r: &NRule,
    p: &Packet,
    tags: &[Option<Vec<Pfx>>],
    icmp: Option<(IcmpPorts, IcmpPorts)>,
) -> M {
    let protos: &[u8] = match NSG_PROTOS[r.proto].to_ascii_lowercase().as_str() {
        "tcp" => &[6],
        "udp" => &[17],
        "icmp" => &[1, 58],
        "esp" => &[50],
        "ah" => &[51],
        _ => &[],
    };
    let any_proto = protos.is_empty();
    if !any_proto && !protos.contains(&p.proto) {
        return M::NO;
    }
    let addrs = n_addr_match(&r.src, p.src, tags).and(n_addr_match(&r.dst, p.dst, tags));
    let ports_given = !(n_ports_full(&r.sports) && n_ports_full(&r.dports));
    let exact_ports =
        M::exact(n_ports_match(&r.sports, p.sport) && n_ports_match(&r.dports, p.dport));
    let ports = if any_proto {
        // a `*` rule with port ranges: whether the ports restrict ICMP is not documented
        if matches!(p.proto, 1 | 58) && ports_given {
            match icmp {
                Some((s, d)) => M::exact(s.matches(&r.sports) && d.matches(&r.dports)),
                None => M::MAYBE,
            }
        } else {
            exact_ports
        }
    } else if matches!(p.proto, 6 | 17) {
        exact_ports
    } else {
        // Icmp, Esp, Ah have no ports: a rule that still names some (short of all of them) is
        // undecidable
        if ports_given {
            M::MAYBE
        } else {
            M::YES
        }
    };
    let m = addrs.and(ports);
    if r.priority.is_none() {
        m.doubt()
    } else {
        m
    }
}

/// NSG `n`'s rules of one direction, each with its name: the generated rules, then the defaults.
fn nsg_rules(spec: &NsgSpec, n: usize, inbound: bool) -> Vec<(Dec, NRule)> {
    let mut rules: Vec<(Dec, NRule)> = spec
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.inbound == inbound)
        .map(|(k, r)| (Dec::Nsg(n, k), r.clone()))
        .collect();
    rules.extend(
        nsg_defaults(inbound)
            .into_iter()
            .map(|(name, r)| (Dec::NsgDefault(n, name), r)),
    );
    rules
}

/// First match by ascending priority (ties in file order, custom rules before the defaults):
/// every way the packet may go through NSG `n`, and whether an undecidable rule (or a doubt about
/// the NSG) made it more than one. The decider of a way is the rule that matched it: the six
/// default rules are rules like any other (DenyAllInBound/OutBound at 65500 matches every packet,
/// so nothing falls off the end).
///
/// `correlated`: the ICMP ports of `*` rules are read one way for all rules (each reading of
/// [`icmp_readings`] in turn, the ways of all of them); otherwise each such rule may or may not
/// match on its own (sound, less exact).
fn nsg_reference(
    spec: &NsgSpec,
    n: usize,
    inbound: bool,
    p: &Packet,
    tags: &[Option<Vec<Pfx>>],
    correlated: bool,
) -> (Vec<Way>, bool) {
    let mut ways: Vec<Way> = Vec::new();
    let mut forked = false;
    match spec.doubt {
        // if it is not deployed, it lets everything through
        Some(true) => ways.push((VSet::ALLOW, Dec::NsgDoubt(n))),
        // the rules not in the file may decide anything
        Some(false) => ways.push((VSet::UNKNOWN, Dec::NsgDoubt(n))),
        None => {}
    }
    forked |= spec.doubt.is_some();
    let mut rules = nsg_rules(spec, n, inbound);
    // an unknown priority may put the rule anywhere: it is looked at first, undecidably
    rules.sort_by_key(|(_, r)| r.priority.unwrap_or(i64::MIN));
    let readings: Vec<Option<(IcmpPorts, IcmpPorts)>> = if correlated {
        icmp_readings(&rules, p).into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    let mut seen: Option<Vec<Way>> = None;
    for icmp in readings {
        let mut mine = Vec::new();
        let mut decided = false;
        for (d, r) in &rules {
            let m = n_rule_match(r, p, tags, icmp);
            let v = if r.allow { VSet::ALLOW } else { VSet::DENY };
            if m.may {
                mine.push((v, *d));
            }
            if m.sure {
                decided = true;
                break;
            }
            forked |= m.may;
        }
        assert!(decided, "the default DenyAll rule matches every packet");
        // readings that take the packet different ways fork it
        forked |= seen.as_ref().is_some_and(|s| *s != mine);
        for w in &mine {
            if !ways.contains(w) {
                ways.push(*w);
            }
        }
        seen = Some(mine);
    }
    (ways, forked)
}

/// A `*` rule with port ranges and an ICMP packet: whether (and how) the ports restrict ICMP is
/// not documented ([`IcmpPorts`]: the one doubt of [`n_rule_match`] that is the same for every
/// rule).
fn icmp_port_doubt(r: &NRule, p: &Packet) -> bool {
    NSG_PROTOS[r.proto] == "*"
        && matches!(p.proto, 1 | 58)
        && !(n_ports_full(&r.sports) && n_ports_full(&r.dports))
}

/// The rules (and doubt) of NSG `n` in one direction whose action gives `v`.
fn nsg_giving(spec: &NsgSpec, n: usize, inbound: bool, v: Verdict) -> Vec<Dec> {
    let mut out: Vec<Dec> = nsg_rules(spec, n, inbound)
        .into_iter()
        .filter(|(_, r)| {
            (if r.allow {
                Verdict::Allow
            } else {
                Verdict::Deny
            }) == v
        })
        .map(|(d, _)| d)
        .collect();
    if spec.doubt == Some(true) && v == Verdict::Allow {
        out.push(Dec::NsgDoubt(n));
    }
    out
}

/// NSGs in series (Azure: inbound traffic passes the subnet's NSG, then the NIC's; outbound the
/// other way round; a packet either denies is dropped). `order` is the packet's way through them.
///
/// - Denied: the first NSG on the way that denies it decides (later ones never see the packet),
///   by first match: each of its ways' rules must be named, and nothing else when there is one
///   way; with an undecidable rule on the way, a named decider must at least deny.
/// - Allowed: every NSG allowed it, and Azure's docs name no one of them; the evaluator keeps the
///   last stage's answer (`Ruleset::evaluate`), so the last NSG on the way decides, as above.
/// - Unknown: from the first NSG that cannot decide on, each NSG's ways must be named (what made
///   it unknown and what the later ones did with it).
///
/// Read exactly (the ICMP ports of `*` rules read one way for all rules: every reading of
/// [`IcmpPorts`] in turn), or, where that differs, as the model may soundly answer instead: it
/// keeps that doubt apart per rule, leaving out only the `*` rules' ICMP pieces that earlier
/// rules take whole under every reading (`formats/azure/lower/icmp.rs`), so its answer lies
/// between the exact reading and the per-rule one. Then the verdict may be the per-rule
/// reading's, what both readings say decides must be named, and nothing the per-rule reading
/// rules out may be named. (Not every decider of the exact reading: in series the two readings
/// may lay a deny on different NSGs, the first that denies for sure in each.)
fn nsg_series_answer(c: &AzureCase, order: &[usize], inbound: bool, p: &Packet) -> Answer {
    let exact = nsg_series_answer_as(c, order, inbound, p, true);
    let apart = nsg_series_answer_as(c, order, inbound, p, false);
    let differ = apart.verdict != exact.verdict || apart.all != exact.all;
    let between = Answer {
        verdict: apart.verdict,
        all: exact
            .all
            .iter()
            .filter(|d| apart.all.contains(d))
            .copied()
            .collect(),
        one: Vec::new(),
        only: apart.only,
        or: None,
    };
    Answer {
        or: differ.then(|| Box::new(between)),
        ..exact
    }
}

fn nsg_series_answer_as(
    c: &AzureCase,
    order: &[usize],
    inbound: bool,
    p: &Packet,
    correlated: bool,
) -> Answer {
    let stages: Vec<(usize, Vec<Way>, bool)> = order
        .iter()
        .map(|&n| {
            let (ways, forked) = nsg_reference(&c.nsgs[n], n, inbound, p, &c.tags, correlated);
            (n, ways, forked)
        })
        .collect();
    let decs = |ways: &[Way]| -> Vec<Dec> { ways.iter().map(|w| w.1).collect() };
    let decided = |(n, ways, forked): &(usize, Vec<Way>, bool), v: Verdict| Answer {
        verdict: v,
        all: decs(ways),
        one: Vec::new(),
        only: Some(if *forked {
            nsg_giving(&c.nsgs[*n], *n, inbound, v)
        } else {
            decs(ways)
        }),
        or: None,
    };
    if let Some(s) = stages.iter().find(|s| verdict_of(&s.1) == Verdict::Deny) {
        return decided(s, Verdict::Deny);
    }
    match stages
        .iter()
        .position(|s| verdict_of(&s.1) == Verdict::Unknown)
    {
        None => decided(stages.last().unwrap(), Verdict::Allow),
        Some(f) => Answer {
            verdict: Verdict::Unknown,
            all: stages[f..].iter().flat_map(|s| decs(&s.1)).collect(),
            one: Vec::new(),
            only: None,
            or: None,
        },
    }
}

/// A decider of the NSGs in series, by its policy (one per NSG, in order) and its rule's label.
fn nsg_ident(rs: &Ruleset, at: At) -> Option<Dec> {
    let n = at.policy;
    let name = format!("nsg{n}");
    if rs.policies.get(n)?.name != name {
        return None;
    }
    // the chain's own deny is never reached (DenyAll matches everything)
    let Decider::Rule(_) = at.decider else {
        return None;
    };
    let rest = rs.provenance(at)?.label.strip_prefix(&name)?;
    if rest == " (may not be deployed)" || rest == " (rules not in the file)" {
        return Some(Dec::NsgDoubt(n));
    }
    let rule = rest.strip_prefix('/')?.split(" (").next()?;
    if let Some(k) = rule.strip_prefix('r').and_then(|k| k.parse().ok()) {
        return Some(Dec::Nsg(n, k));
    }
    [true, false]
        .into_iter()
        .flat_map(nsg_defaults)
        .find(|(d, _)| *d == rule)
        .map(|(d, _)| Dec::NsgDefault(n, d))
}

fn azure_doubtless(c: &AzureCase) -> bool {
    let unresolved = |a: &NAddr| matches!(a, NAddr::Tag(t) if c.tags[*t].is_none() && TAGS[*t] != "AzureLoadBalancer");
    // the default rules use VirtualNetwork, AzureLoadBalancer (168.63.129.16 unless given) and
    // Internet
    c.tags[0].is_some()
        && c.tags[1].is_some()
        && c.nsgs.iter().all(|n| {
            n.doubt.is_none()
                && n.rules.iter().all(|r| {
                    r.priority.is_some()
                        && !r.src.iter().chain(&r.dst).any(unresolved)
                        // `*` with ports (ICMP undecided) and ports on portless protocols
                        && (n_ports_full(&r.sports) && n_ports_full(&r.dports)
                            || matches!(r.proto, 1 | 2 | 6))
                })
        })
}

fn run_azure(c: &AzureCase) -> Result<(), TestCaseError> {
    let src = SourceText::new("oracle.json", "");
    let mut names = Resolver::default();
    for (t, ps) in c.tags.iter().enumerate() {
        if let Some(ps) = ps {
            for p in ps {
                let (lo, hi) = p.bounds();
                let set = match p {
                    Pfx::V4(..) => AddrSet(IntervalSet::range(lo, hi)),
                    Pfx::V6(..) => {
                        AddrSet(IntervalSet::range(lo, hi)).difference(&AddrSet::any_v4())
                    }
                };
                names.insert(TAGS[t], set);
            }
        }
    }
    let nsgs: Vec<Nsg> = c
        .nsgs
        .iter()
        .enumerate()
        .map(|(i, n)| nsg_of(i, n))
        .collect();
    let mut issues = Vec::new();
    let sets = azure::lower(&nsgs, &src, &names, &mut issues);
    let rs = Ruleset::in_series(None, &sets);
    let mut corners = Corners::new();
    for n in &c.nsgs {
        for r in &n.rules {
            for a in r.src.iter().chain(&r.dst) {
                if let NAddr::Pfx(p) = a {
                    corners.add_pfx(p);
                }
            }
            for pr in r.sports.iter().chain(&r.dports) {
                if let NPort::Range(a, b) = pr {
                    corners.add_ports((*a, *b));
                }
            }
        }
    }
    for p in c.tags.iter().flatten().flatten() {
        corners.add_pfx(p);
    }
    for r in &c.regions {
        r.corners(&mut corners);
    }
    let doubtless = azure_doubtless(c);
    let mut rng = Rng::new(c.seed);
    for region in &c.regions {
        let b = region.to_box(&AddrSet::any());
        for (hook, inbound) in [(Hook::Input, true), (Hook::Output, false)] {
            // in series: any deny denies; else any doubt is unknown
            let mut order: Vec<usize> = (0..c.nsgs.len()).collect();
            if !inbound {
                order.reverse();
            }
            check(
                &rs,
                hook,
                &b,
                &corners,
                &mut rng,
                doubtless,
                &|p| nsg_series_answer(c, &order, inbound, p),
                &|at| nsg_ident(&rs, at),
            )?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(500))]
    #[test]
    fn oracle_azure_nsg(c in azure_case()) {
        run_azure(&c)?;
    }
}

// ------------------------------------------------------------------------------------------------
// AWS security groups
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum APeer {
    Cidr(Pfx),
    /// A referenced group (index into the case's group names): resolved or not.
    Group(usize),
    PrefixList(usize),
}

#[derive(Debug, Clone)]
struct APerm {
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1`, `6`, `17`, `47`
    proto: &'static str,
    from: Option<i64>,
    to: Option<i64>,
    peers: Vec<APeer>,
}

#[derive(Debug, Clone)]
struct AGroup {
    ingress: Vec<APerm>,
    egress: Vec<APerm>,
}

#[derive(Debug, Clone)]
struct AwsCase {
    groups: Vec<AGroup>,
    /// Names (`sg-ref0`, `pl-ref1`, ...) and their addresses, or unresolved.
    refs: Vec<Option<Vec<Pfx>>>,
    regions: Vec<RegionSpec>,
    seed: u64,
}

fn a_perm() -> impl Strategy<Value = APerm> {
    let proto = prop::sample::select(vec![
        "tcp", "tcp", "udp", "icmp", "icmpv6", "-1", "6", "17", "47",
    ]);
    let ports = prop_oneof![
        1 => Just((None, None)),
        1 => Just((Some(-1), Some(-1))),
        4 => port_range().prop_map(|(a, b)| (Some(a as i64), Some(b as i64))),
    ];
    let icmp = prop_oneof![
        1 => Just((Some(-1i64), Some(-1i64))),
        1 => (0i64..256).prop_map(|t| (Some(t), Some(-1))),
        1 => (0i64..256, 0i64..256).prop_map(|(t, c)| (Some(t), Some(c))),
        1 => prop::sample::select(vec![(Some(8), Some(0)), (Some(3), Some(4)), (Some(0), Some(0)), (Some(255), Some(255))]),
    ];
    let peer = prop_oneof![
        6 => pfx().prop_map(APeer::Cidr),
        1 => Just(APeer::Cidr(Pfx::v4(0, 0))),
        1 => Just(APeer::Cidr(Pfx::v6(0, 0))),
        1 => (0usize..3).prop_map(APeer::Group),
        1 => (0usize..3).prop_map(APeer::PrefixList),
    ];
    (proto, ports, icmp, prop::collection::vec(peer, 0..4)).prop_map(
        |(proto, ports, icmp, peers)| {
            let (from, to) = if proto.starts_with("icmp") {
                icmp
            } else {
                ports
            };
            APerm {
                proto,
                from,
                to,
                peers,
            }
        },
    )
}

fn aws_case() -> impl Strategy<Value = AwsCase> {
    (
        prop::collection::vec(
            (
                prop::collection::vec(a_perm(), 0..6),
                prop::collection::vec(a_perm(), 0..4),
            )
                .prop_map(|(ingress, egress)| AGroup { ingress, egress }),
            1..4,
        ),
        prop::collection::vec(
            prop_oneof![1 => Just(None), 2 => prop::collection::vec(pfx(), 1..3).prop_map(Some)],
            3,
        ),
        prop::collection::vec(region_spec(), 1..4),
        any::<u64>(),
    )
        .prop_map(|(groups, refs, regions, seed)| AwsCase {
            groups,
            refs,
            regions,
            seed,
        })
}

fn ref_set(ps: &[Pfx]) -> AddrSet {
    let mut s = AddrSet::empty();
    for p in ps {
        let (lo, hi) = p.bounds();
        let one = AddrSet(IntervalSet::range(lo, hi));
        s = s.union(&if p.is_v6() {
            one.difference(&AddrSet::any_v4())
        } else {
            one
        });
    }
    s
}

/// The span the case gives peer `k` of permission `j` of group `g` (ingress or egress): the
/// lowered rule's provenance carries it, and [`sg_ident`] reads it back.
fn sg_peer_span(g: usize, egress: bool, j: usize, k: usize) -> Span {
    let id = 1 + (((g * 2 + egress as usize) * 16 + j) * 16 + k);
    Span::new(id, id + 1)
}

/// A decider of the union of groups: one of the generated peers (by its span), or the implicit
/// deny (the chain's policy).
fn sg_ident(rs: &Ruleset, at: At) -> Option<Dec> {
    match at.decider {
        Decider::ChainPolicy(_) => Some(Dec::Default),
        Decider::Rule(_) => {
            let x = rs.provenance(at)?.span.start.checked_sub(1)?;
            Some(Dec::Sg(x / 512, (x / 256) % 2 == 1, (x / 16) % 16, x % 16))
        }
        Decider::Loop(_) => None,
    }
}

fn sg_of(i: usize, g: &AGroup) -> SecurityGroup {
    let perm = |egress: bool, j: usize, p: &APerm| Permission {
        id: None,
        protocol: Field::known(p.proto.to_string(), Span::default()),
        from_port: p.from.map(|v| Field::known(v, Span::default())),
        to_port: p.to.map(|v| Field::known(v, Span::default())),
        peers: p
            .peers
            .iter()
            .enumerate()
            .map(|(k, peer)| Peer {
                target: match peer {
                    APeer::Cidr(x @ Pfx::V4(..)) => Target::Cidr4(x.text()),
                    APeer::Cidr(x) => Target::Cidr6(x.text()),
                    APeer::Group(k) => Target::Group(GroupRef {
                        id: Some(format!("sg-ref{k}")),
                        ..GroupRef::default()
                    }),
                    APeer::PrefixList(k) => Target::PrefixList(format!("pl-ref{k}")),
                },
                description: None,
                span: sg_peer_span(i, egress, j, k),
                value_span: Span::default(),
            })
            .collect(),
        description: None,
        span: Span::default(),
        unknown: Vec::new(),
    };
    let perms = |egress: bool, list: &[APerm]| -> Vec<Permission> {
        list.iter()
            .enumerate()
            .map(|(j, p)| perm(egress, j, p))
            .collect()
    };
    SecurityGroup {
        id: Some(format!("sg-{i}")),
        name: None,
        description: None,
        vpc_id: None,
        owner_id: None,
        ingress: perms(false, &g.ingress),
        egress: perms(true, &g.egress),
        span: Span::default(),
    }
}

/// Does the permission's protocol and port (or ICMP type and code) part take the packet?
fn a_service_match(perm: &APerm, p: &Packet) -> bool {
    let proto: Option<u8> = match perm.proto {
        "-1" => None,
        "tcp" | "6" => Some(6),
        "udp" | "17" => Some(17),
        "icmp" => Some(1),
        "icmpv6" => Some(58),
        n => Some(n.parse().unwrap()),
    };
    match proto {
        None => true,
        Some(n) if n != p.proto => false,
        Some(6 | 17) => match (perm.from, perm.to) {
            (None | Some(-1), None | Some(-1)) => true,
            (Some(a), Some(b)) => (a..=b).contains(&(p.dport as i64)),
            _ => unreachable!(),
        },
        Some(1 | 58) => {
            let (ty, code) = ((p.dport >> 8) as i64, (p.dport & 0xff) as i64);
            match (perm.from, perm.to) {
                (Some(-1) | None, _) => true,
                (Some(t), Some(-1) | None) => t == ty,
                (Some(t), Some(c)) => t == ty && c == code,
            }
        }
        Some(_) => true,
    }
}

/// Does one peer of the permission take the packet (whose peer address is `peer_addr`)?
fn a_peer_match(
    perm: &APerm,
    peer: &APeer,
    p: &Packet,
    peer_addr: u128,
    refs: &[Option<Vec<Pfx>>],
) -> M {
    if !a_service_match(perm, p) {
        return M::NO;
    }
    match peer {
        APeer::Cidr(x) => M::exact(x.contains(peer_addr)),
        APeer::Group(k) | APeer::PrefixList(k) => match &refs[*k] {
            Some(ps) => M::exact(ps.iter().any(|x| x.contains(peer_addr))),
            None => M::MAYBE,
        },
    }
}

/// Any rule of any group that admits the packet allows it (AWS: security groups are allow-only;
/// the rules of all groups attached together are aggregated, and a packet any of them permits is
/// allowed; everything else is denied).
///
/// Deciders: for an allowed packet every rule (peer) that admits it is a legitimate decider, so
/// at least one must be named and each named one must admit the packet — except where the
/// evaluator splits a region once for a group of at least 16 rules that differ only in their
/// sources (`merged`): a piece then names each of the group's rules that meets it, and a named one
/// need only be an allow rule of this direction. A packet that only an unresolvable rule may admit
/// is unknown, and named by such rules only. A denied packet is the implicit deny's, alone.
fn aws_reference(c: &AwsCase, ingress: bool, merged: bool, p: &Packet) -> Answer {
    let mut sure = Vec::new();
    let mut maybe = Vec::new();
    let mut every = Vec::new();
    for (g, grp) in c.groups.iter().enumerate() {
        let perms = if ingress { &grp.ingress } else { &grp.egress };
        for (j, perm) in perms.iter().enumerate() {
            for (k, peer) in perm.peers.iter().enumerate() {
                let m = a_peer_match(perm, peer, p, if ingress { p.src } else { p.dst }, &c.refs);
                let d = Dec::Sg(g, !ingress, j, k);
                every.push(d);
                if m.sure {
                    sure.push(d);
                } else if m.may {
                    maybe.push(d);
                }
            }
        }
    }
    if !sure.is_empty() {
        Answer {
            verdict: Verdict::Allow,
            all: Vec::new(),
            only: Some(if merged { every } else { sure.clone() }),
            one: sure,
            or: None,
        }
    } else if !maybe.is_empty() {
        Answer {
            verdict: Verdict::Unknown,
            all: Vec::new(),
            one: maybe.clone(),
            only: Some(maybe),
            or: None,
        }
    } else {
        Answer::exact(Verdict::Deny, Dec::Default)
    }
}

/// Does the union's `hook` chain hold a group of at least 16 (the evaluator's `GROUP_AT`) decided
/// allow rules that match the same packets but for their sources (split as one box)?
fn union_merges(rs: &Ruleset, hook: Hook) -> bool {
    let Some(stage) = rs.pipeline(hook).and_then(|p| p.stages.first()) else {
        return false;
    };
    let policy = &rs.policies[stage.policy];
    let mut count: Vec<(PacketBox, usize)> = Vec::new();
    for &r in &policy.chains[stage.chain].rules {
        let rule = &policy.rules[r];
        if !rule.undecidable.is_empty() {
            continue;
        }
        let mut key = rule.matches.clone();
        key.src = AddrSet::default();
        match count.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => count.push((key, 1)),
        }
    }
    count.iter().any(|(_, n)| *n >= 16)
}

fn run_aws(c: &AwsCase) -> Result<(), TestCaseError> {
    let src = SourceText::new("oracle.json", "");
    let mut names = Resolver::default();
    for (k, ps) in c.refs.iter().enumerate() {
        if let Some(ps) = ps {
            names.insert(&format!("sg-ref{k}"), ref_set(ps));
            names.insert(&format!("pl-ref{k}"), ref_set(ps));
        }
    }
    let groups: Vec<SecurityGroup> = c
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| sg_of(i, g))
        .collect();
    let mut issues = Vec::new();
    let sets = aws::lower_groups(&groups, &src, &names, &mut issues);
    let rs = Ruleset::union_of(Some("host".into()), &sets);
    let mut corners = Corners::new();
    for g in &c.groups {
        for perm in g.ingress.iter().chain(&g.egress) {
            for peer in &perm.peers {
                if let APeer::Cidr(x) = peer {
                    corners.add_pfx(x);
                }
            }
            if let (Some(a), Some(b)) = (perm.from, perm.to) {
                if perm.proto.starts_with("icmp") {
                    if a >= 0 {
                        let t = (a as u16) << 8;
                        corners.add_ports((t, t | 0xff));
                        if b >= 0 {
                            corners.port.push(t | b as u16);
                        }
                    }
                } else if a >= 0 && b >= 0 {
                    corners.add_ports((a as u16, b as u16));
                }
            }
        }
    }
    for p in c.refs.iter().flatten().flatten() {
        corners.add_pfx(p);
    }
    for r in &c.regions {
        r.corners(&mut corners);
    }
    let doubtless = c.groups.iter().all(|g| {
        g.ingress.iter().chain(&g.egress).all(|perm| {
            perm.peers.iter().all(|peer| match peer {
                APeer::Cidr(_) => true,
                APeer::Group(k) | APeer::PrefixList(k) => c.refs[*k].is_some(),
            })
        })
    });
    let mut rng = Rng::new(c.seed);
    for region in &c.regions {
        let b = region.to_box(&AddrSet::any());
        for (hook, ingress) in [(Hook::Input, true), (Hook::Output, false)] {
            if rs.pipeline(hook).is_none() {
                continue;
            }
            let merged = union_merges(&rs, hook);
            check(
                &rs,
                hook,
                &b,
                &corners,
                &mut rng,
                doubtless,
                &|p| aws_reference(c, ingress, merged, p),
                &|at| sg_ident(&rs, at),
            )?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(500))]
    #[test]
    fn oracle_aws_security_groups(c in aws_case()) {
        run_aws(&c)?;
    }
}

// ------------------------------------------------------------------------------------------------
// Windows Defender Firewall
// ------------------------------------------------------------------------------------------------

const WIN_KEYWORDS: [&str; 3] = ["LocalSubnet", "DNS", "Internet"];

#[derive(Debug, Clone)]
enum WAddr {
    Any,
    Pfx(Pfx),
    /// An IPv4 range `a-b`.
    Range(u32, u32),
    Keyword(usize),
}

#[derive(Debug, Clone)]
enum WPort {
    Any,
    Range(u16, u16),
    /// `RPC`: ports chosen at run time.
    Keyword,
}

#[derive(Debug, Clone)]
struct WRule {
    enabled: bool,
    inbound: bool,
    /// 0 allow, 1 block, 2 bypass
    action: u8,
    profiles: u8,
    /// 0 any, 6, 17, 1, 58, 47
    proto: u8,
    local_ports: Vec<WPort>,
    remote_ports: Vec<WPort>,
    icmp: Vec<(u8, Option<u8>)>,
    local_addrs: Vec<WAddr>,
    remote_addrs: Vec<WAddr>,
    /// Some(true): a program scope (undecidable); Some(false): `System` (any program).
    program: Option<bool>,
    /// An allow that requires IPsec (`Security=Authenticate`); bypass rules always do.
    secure: bool,
}

#[derive(Debug, Clone)]
struct WinCase {
    rules: Vec<WRule>,
    /// (firewall on, default inbound allow, default outbound allow) per profile.
    settings: [(bool, bool, bool); 3],
    keywords: Vec<Option<Vec<Pfx>>>,
    regions: Vec<RegionSpec>,
    /// The fact `ipsec`: whether the peers' connections are IPsec-authenticated (fixed, so that
    /// bypass rules and secure allows are decided).
    ipsec: bool,
    seed: u64,
}

fn w_addr() -> impl Strategy<Value = WAddr> {
    prop_oneof![
        1 => Just(WAddr::Any),
        6 => pfx().prop_map(WAddr::Pfx),
        2 => (any::<u32>(), any::<u32>(), prop::bool::ANY).prop_map(|(a, b, near)| {
            let b = if near { a.saturating_add(b % 300) } else { b };
            WAddr::Range(a.min(b), a.max(b))
        }),
        2 => (0..WIN_KEYWORDS.len()).prop_map(WAddr::Keyword),
    ]
}

fn w_port() -> impl Strategy<Value = WPort> {
    prop_oneof![
        1 => Just(WPort::Any),
        6 => port_range().prop_map(|(a, b)| WPort::Range(a, b)),
        1 => Just(WPort::Keyword),
    ]
}

fn w_rule() -> impl Strategy<Value = WRule> {
    (
        prop::bool::weighted(0.8),
        any::<bool>(),
        prop_oneof![4 => Just(0u8), 3 => Just(1), 1 => Just(2)],
        prop_oneof![3 => Just(7u8), 2 => 1u8..8],
        prop::sample::select(vec![0u8, 0, 6, 6, 17, 1, 58, 47]),
        prop::collection::vec(w_port(), 0..3),
        prop::collection::vec(w_port(), 0..2),
        prop::collection::vec((any::<u8>(), prop::option::of(any::<u8>())), 0..3),
        prop::collection::vec(w_addr(), 0..3),
        prop::collection::vec(w_addr(), 0..3),
        prop_oneof![6 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))],
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(enabled, inbound, action, profiles, proto, lp, rp, icmp, la, ra, program, secure)| {
                let ported = matches!(proto, 6 | 17);
                WRule {
                    enabled,
                    inbound,
                    action,
                    profiles,
                    proto,
                    local_ports: if ported { lp } else { Vec::new() },
                    remote_ports: if ported { rp } else { Vec::new() },
                    icmp: if matches!(proto, 1 | 58) {
                        icmp
                    } else {
                        Vec::new()
                    },
                    local_addrs: la,
                    remote_addrs: ra,
                    program,
                    secure,
                }
            },
        )
}

fn win_case() -> impl Strategy<Value = WinCase> {
    let setting = prop_oneof![
        6 => (Just(true), prop::bool::weighted(0.2), prop::bool::weighted(0.8)),
        1 => (Just(false), any::<bool>(), any::<bool>()),
    ];
    (
        prop::collection::vec(w_rule(), 0..12),
        [setting.clone(), setting.clone(), setting],
        prop::collection::vec(
            prop_oneof![1 => Just(None), 2 => prop::collection::vec(pfx(), 1..3).prop_map(Some)],
            WIN_KEYWORDS.len(),
        ),
        prop::collection::vec(region_spec(), 1..3),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(rules, settings, keywords, regions, ipsec, seed)| WinCase {
                rules,
                settings,
                keywords,
                regions,
                ipsec,
                seed,
            },
        )
}

fn win_rule_of(k: usize, r: &WRule) -> WinRule {
    let sp = Span::default();
    let mut w = WinRule::new(format!("rule{k}"), sp);
    w.enabled = r.enabled;
    w.direction = if r.inbound {
        Direction::In
    } else {
        Direction::Out
    };
    w.action = match r.action {
        0 => WinAction::Allow,
        1 => WinAction::Block,
        _ => WinAction::Bypass,
    };
    w.profiles = Profiles(r.profiles);
    w.protocol = Item::new(
        match r.proto {
            0 => Protocol::Any,
            n => Protocol::Number(n),
        },
        sp,
    );
    let port = |p: &WPort| {
        Item::new(
            match p {
                WPort::Any => PortSpec::Any,
                WPort::Range(a, b) => PortSpec::Range(*a, *b),
                WPort::Keyword => PortSpec::Keyword("RPC".into()),
            },
            sp,
        )
    };
    // addresses go through the Windows parser, as every export's text does
    let addr = |a: &WAddr| {
        Item::new(
            match a {
                WAddr::Any => windows::parse_addr("Any"),
                WAddr::Pfx(p) => windows::parse_addr(&p.text_bare()),
                WAddr::Range(x, y) => windows::parse_addr(&format!(
                    "{}-{}",
                    std::net::Ipv4Addr::from(*x),
                    std::net::Ipv4Addr::from(*y)
                )),
                WAddr::Keyword(k) => AddrSpec::Keyword(WIN_KEYWORDS[*k].into()),
            },
            sp,
        )
    };
    w.local_ports = r.local_ports.iter().map(port).collect();
    w.remote_ports = r.remote_ports.iter().map(port).collect();
    w.icmp = r
        .icmp
        .iter()
        .map(|&(t, c)| Item::new(IcmpSpec::TypeCode(t, c), sp))
        .collect();
    w.local_addrs = r.local_addrs.iter().map(addr).collect();
    w.remote_addrs = r.remote_addrs.iter().map(addr).collect();
    w.program = r.program.map(|scoped| {
        Item::new(
            if scoped {
                "C:\\Program Files\\Zerto\\zvm.exe".to_string()
            } else {
                "System".to_string()
            },
            sp,
        )
    });
    if r.secure {
        w.security = Some(Item::new(Security::Required("Authenticate".into()), sp));
    }
    w
}

/// An empty list is any; a keyword not resolved (or a port keyword) makes the whole rule
/// undecidable, as the lowering documents.
fn w_addrs_match(list: &[WAddr], x: u128, kws: &[Option<Vec<Pfx>>]) -> M {
    if list.is_empty() || list.iter().any(|a| matches!(a, WAddr::Any)) {
        return M::YES;
    }
    let mut hit = false;
    let mut doubt = false;
    for a in list {
        match a {
            WAddr::Any => unreachable!(),
            WAddr::Pfx(p) => hit |= p.contains(x),
            WAddr::Range(lo, hi) => {
                hit |= is_v4(x) && (*lo..=*hi).contains(&((x - V4_BASE) as u32))
            }
            WAddr::Keyword(k) => match &kws[*k] {
                Some(ps) => hit |= ps.iter().any(|p| p.contains(x)),
                None => doubt = true,
            },
        }
    }
    if doubt {
        M::MAYBE
    } else {
        M::exact(hit)
    }
}

fn w_ports_match(list: &[WPort], x: u16) -> M {
    if list.is_empty() || list.iter().any(|p| matches!(p, WPort::Any)) {
        return M::YES;
    }
    if list.iter().any(|p| matches!(p, WPort::Keyword)) {
        return M::MAYBE;
    }
    M::exact(
        list.iter()
            .any(|p| matches!(p, WPort::Range(a, b) if (*a..=*b).contains(&x))),
    )
}

fn w_addrs_doubtful(l: &[WAddr], kws: &[Option<Vec<Pfx>>]) -> bool {
    !l.iter().any(|a| matches!(a, WAddr::Any))
        && l.iter()
            .any(|a| matches!(a, WAddr::Keyword(k) if kws[*k].is_none()))
}

fn w_ports_doubtful(l: &[WPort]) -> bool {
    !l.iter().any(|a| matches!(a, WPort::Any)) && l.iter().any(|a| matches!(a, WPort::Keyword))
}

fn w_rule_match(r: &WRule, p: &Packet, kws: &[Option<Vec<Pfx>>]) -> M {
    if r.proto != 0 && r.proto != p.proto {
        return M::NO;
    }
    let (local, remote, lport, rport) = if r.inbound {
        (p.dst, p.src, p.dport, p.sport)
    } else {
        (p.src, p.dst, p.sport, p.dport)
    };
    let mut m =
        w_addrs_match(&r.local_addrs, local, kws).and(w_addrs_match(&r.remote_addrs, remote, kws));
    if matches!(r.proto, 1 | 58) && !r.icmp.is_empty() {
        // the type and code travel in the destination port dimension
        let (ty, code) = ((p.dport >> 8) as u8, (p.dport & 0xff) as u8);
        m = m.and(M::exact(
            r.icmp
                .iter()
                .any(|&(t, c)| t == ty && c.is_none_or(|c| c == code)),
        ));
    } else {
        m = m
            .and(w_ports_match(&r.local_ports, lport))
            .and(w_ports_match(&r.remote_ports, rport));
    }
    // a rule with any doubt is undecidable as a whole (a list holding `Any` has none)
    let doubtful = r.program == Some(true)
        || [&r.local_addrs, &r.remote_addrs]
            .iter()
            .any(|l| w_addrs_doubtful(l, kws))
        || [&r.local_ports, &r.remote_ports]
            .iter()
            .any(|l| w_ports_doubtful(l));
    if doubtful {
        // the lowering widens a doubtful list to any address or port
        let wide = |l: &[WAddr], x| {
            if w_addrs_doubtful(l, kws) {
                M::YES
            } else {
                w_addrs_match(l, x, kws)
            }
        };
        let wide_p = |l: &[WPort], x| {
            if w_ports_doubtful(l) {
                M::YES
            } else {
                w_ports_match(l, x)
            }
        };
        let mut w = wide(&r.local_addrs, local).and(wide(&r.remote_addrs, remote));
        if !matches!(r.proto, 1 | 58) || r.icmp.is_empty() {
            w = w
                .and(wide_p(&r.local_ports, lport))
                .and(wide_p(&r.remote_ports, rport));
        } else {
            w = w.and(m);
        }
        return w.doubt();
    }
    m
}

/// Authenticated bypass, then block, then allow ([MS-FASP] 2.2.34 FW_RULE_ACTION: "Allow-bypass
/// rules take precedence over block rules, and block rules take precedence over allow rules"):
/// any enabled matching bypass rule allows; else any matching block rule denies; else any allow
/// rule allows; else the profile's default. Bypass rules and allows that require IPsec admit only
/// IPsec-authenticated connections: with the fact `ipsec` (fixed per case) false they match
/// nothing, true they match as written. A profile whose firewall is off allows everything.
/// (Before issue 15 this reference treated bypass as a plain allow, after the block rules.)
///
/// Deciders (the profile's default action applies only when no rule matches): a packet is
/// decided by a matching rule of the first class that surely matches — any of them, the docs
/// rank none above another within a class — so at least one of that class's rules that surely
/// match must be named, and each named decider must be a rule that may match, of a class reached
/// before (or at) that one, whose class gives the verdict; the default may be named only when no
/// rule surely matches and the default gives the verdict. With undecidable rules on the packet,
/// each named decider must be a rule that may match or that default. A profile with its firewall
/// off: the setting alone.
fn win_reference(c: &WinCase, profile: usize, inbound: bool, p: &Packet) -> Answer {
    let (on, din, dout) = c.settings[profile];
    if !on {
        return Answer::exact(Verdict::Allow, Dec::Default);
    }
    let bit = 1u8 << profile;
    // per class (bypass, block, allow): whether it matches, and its (sure, may) rules
    let mut classes: [(M, Vec<Dec>, Vec<Dec>, VSet); 3] = [
        (M::NO, Vec::new(), Vec::new(), VSet::ALLOW),
        (M::NO, Vec::new(), Vec::new(), VSet::DENY),
        (M::NO, Vec::new(), Vec::new(), VSet::ALLOW),
    ];
    for (k, r) in c.rules.iter().enumerate() {
        if !(r.enabled && r.inbound == inbound && r.profiles & bit != 0) {
            continue;
        }
        let ipsec_only = r.action == 2 || (r.action == 0 && r.secure);
        if ipsec_only && !c.ipsec {
            continue;
        }
        let m = w_rule_match(r, p, &c.keywords);
        let class = &mut classes[match r.action {
            2 => 0,
            1 => 1,
            _ => 2,
        }];
        class.0 = class.0.or(m);
        if m.sure {
            class.1.push(Dec::Win(k));
        }
        if m.may {
            class.2.push(Dec::Win(k));
        }
    }
    let default_allows = (inbound && din) || (!inbound && dout);
    let default = if default_allows {
        VSet::ALLOW
    } else {
        VSet::DENY
    };
    let mut acc = VSet::default();
    let mut reached = 0;
    let mut first_sure = None;
    for (i, (m, _, _, v)) in classes.iter().enumerate() {
        reached = i;
        if m.may {
            acc = acc.or(*v);
        }
        if m.sure {
            first_sure = Some(i);
            break;
        }
    }
    let default_reached = first_sure.is_none();
    if default_reached {
        acc = acc.or(default);
    }
    let verdict = acc.verdict();
    let gives = |v: VSet| match verdict {
        Verdict::Allow => v.0 == VSet::ALLOW.0,
        Verdict::Deny => v.0 == VSet::DENY.0,
        Verdict::Unknown => true,
    };
    let mut only: Vec<Dec> = classes[..=reached]
        .iter()
        .filter(|c| gives(c.3))
        .flat_map(|c| c.2.iter().copied())
        .collect();
    if default_reached && gives(default) {
        only.push(Dec::Default);
    }
    let one = match first_sure {
        Some(i) if verdict != Verdict::Unknown && gives(classes[i].3) => classes[i].1.clone(),
        _ => Vec::new(),
    };
    Answer {
        verdict,
        all: Vec::new(),
        one,
        only: Some(only),
        or: None,
    }
}

/// A decider of one profile: a generated rule (by its label, `rule{k} in (allow)`) or the
/// profile's default (the chain's policy).
fn win_ident(rs: &Ruleset, at: At) -> Option<Dec> {
    match at.decider {
        Decider::ChainPolicy(_) => Some(Dec::Default),
        Decider::Rule(_) => {
            let label = &rs.provenance(at)?.label;
            let k = label
                .split(' ')
                .next()?
                .strip_prefix("rule")?
                .parse()
                .ok()?;
            Some(Dec::Win(k))
        }
        Decider::Loop(_) => None,
    }
}

fn run_windows(c: &WinCase) -> Result<(), TestCaseError> {
    let src = SourceText::new("oracle.txt", "");
    let mut names = Resolver::default();
    names.set_fact(windows::IPSEC_FACT, if c.ipsec { "true" } else { "false" });
    for (k, ps) in c.keywords.iter().enumerate() {
        if let Some(ps) = ps {
            names.insert(WIN_KEYWORDS[k], ref_set(ps));
        }
    }
    let rules: Vec<WinRule> = c
        .rules
        .iter()
        .enumerate()
        .map(|(k, r)| win_rule_of(k, r))
        .collect();
    let mut settings = ProfileSettings::default();
    for (i, &(on, din, dout)) in c.settings.iter().enumerate() {
        let s = settings.get_mut(1 << i);
        s.enabled.value = on;
        s.default_inbound.value = if din { Verdict::Allow } else { Verdict::Deny };
        s.default_outbound.value = if dout { Verdict::Allow } else { Verdict::Deny };
        s.stated = [true; 3];
    }
    let mut issues = Vec::new();
    let sets = windows::lower(&rules, &settings, &src, &names, &mut issues);
    prop_assert_eq!(sets.len(), 3);
    let mut corners = Corners::new();
    for r in &c.rules {
        for a in r.local_addrs.iter().chain(&r.remote_addrs) {
            match a {
                WAddr::Pfx(p) => corners.add_pfx(p),
                WAddr::Range(x, y) => {
                    corners.add_pfx(&Pfx::v4(*x, 32));
                    corners.add_pfx(&Pfx::v4(*y, 32));
                }
                _ => {}
            }
        }
        for pr in r.local_ports.iter().chain(&r.remote_ports) {
            if let WPort::Range(a, b) = pr {
                corners.add_ports((*a, *b));
            }
        }
        for &(t, code) in &r.icmp {
            let base = (t as u16) << 8;
            match code {
                Some(x) => corners.add_ports((base | x as u16, base | x as u16)),
                None => corners.add_ports((base, base | 0xff)),
            }
        }
    }
    for p in c.keywords.iter().flatten().flatten() {
        corners.add_pfx(p);
    }
    for r in &c.regions {
        r.corners(&mut corners);
    }
    let doubtless = c.rules.iter().all(|r| {
        !r.enabled
            || (r.program != Some(true)
                && !w_addrs_doubtful(&r.local_addrs, &c.keywords)
                && !w_addrs_doubtful(&r.remote_addrs, &c.keywords)
                && !w_ports_doubtful(&r.local_ports)
                && !w_ports_doubtful(&r.remote_ports))
    });
    let mut rng = Rng::new(c.seed);
    for region in &c.regions {
        let b = region.to_box(&AddrSet::any());
        for (profile, rs) in sets.iter().enumerate() {
            for (hook, inbound) in [(Hook::Input, true), (Hook::Output, false)] {
                check(
                    rs,
                    hook,
                    &b,
                    &corners,
                    &mut rng,
                    doubtless,
                    &|p| win_reference(c, profile, inbound, p),
                    &|at| win_ident(rs, at),
                )?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(400))]
    #[test]
    fn oracle_windows_firewall(c in win_case()) {
        run_windows(&c)?;
    }
}

// ------------------------------------------------------------------------------------------------
// iptables
// ------------------------------------------------------------------------------------------------

const IFACES: [&str; 4] = ["lo", "eth0", "eth+", "wlan0"];
/// Interface names packets come in on (every class the patterns above make).
const IF_NAMES: [&str; 6] = ["lo", "eth0", "eth1", "eth7", "wlan0", "ppp0"];
const STATES: [&str; 5] = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"];

#[derive(Debug, Clone, Copy)]
enum ITarget {
    Accept,
    Drop,
    Reject,
    Return,
    Log,
    /// No target: a counting rule.
    Nothing,
    Queue,
    /// Jump or goto to user chain `n` (1-based); only to later chains, so there are no loops.
    Jump(usize),
    Goto(usize),
}

/// (0 dports, 1 sports, 2 ports; the list; negated)
type Multiport = (u8, Vec<(u16, u16)>, bool);

#[derive(Debug, Clone)]
struct IRule {
    chain: usize,
    src: Option<(Pfx, bool)>,
    dst: Option<(Pfx, bool)>,
    /// (index into tcp, udp, icmp, gre; negated)
    proto: Option<(usize, bool)>,
    sport: Option<((u16, u16), bool)>,
    dport: Option<((u16, u16), bool)>,
    /// (0 dports, 1 sports, 2 ports; list; negated)
    multiport: Option<Multiport>,
    state: Option<(u8, bool)>,
    iif: Option<(usize, bool)>,
    limit: bool,
    target: ITarget,
}

#[derive(Debug, Clone)]
struct IptCase {
    v6: bool,
    chains: usize,
    input_drop: bool,
    rules: Vec<IRule>,
    regions: Vec<RegionSpec>,
    seed: u64,
}

fn i_rule(chains: usize, v6: bool) -> impl Strategy<Value = IRule> {
    let addr = move || {
        let p = if v6 {
            v6_pfx().boxed()
        } else {
            v4_pfx().boxed()
        };
        prop::option::weighted(0.35, (p, prop::bool::weighted(0.2)))
    };
    let target = prop_oneof![
        3 => Just(ITarget::Accept),
        3 => Just(ITarget::Drop),
        1 => Just(ITarget::Reject),
        2 => Just(ITarget::Return),
        1 => Just(ITarget::Log),
        1 => Just(ITarget::Nothing),
        1 => Just(ITarget::Queue),
        3 => (0usize..chains).prop_map(ITarget::Jump),
        2 => (0usize..chains).prop_map(ITarget::Goto),
    ];
    let ports = || prop::option::weighted(0.4, (port_range(), prop::bool::weighted(0.2)));
    (
        0usize..chains,
        addr(),
        addr(),
        prop::option::weighted(0.6, (0usize..4, prop::bool::weighted(0.15))),
        ports(),
        ports(),
        prop::option::weighted(
            0.2,
            (
                0u8..3,
                prop::collection::vec(port_range(), 1..4),
                prop::bool::weighted(0.2),
            ),
        ),
        prop::option::weighted(0.3, (1u8..32, prop::bool::weighted(0.2))),
        prop::option::weighted(0.2, (0usize..IFACES.len(), prop::bool::weighted(0.3))),
        prop::bool::weighted(0.15),
        target,
    )
        .prop_map(
            move |(chain, src, dst, proto, sport, dport, multiport, state, iif, limit, target)| {
                // ports only with `-p tcp` or `-p udp`; jumps only forward (no loops)
                let ported = matches!(proto, Some((0 | 1, false)));
                let target = match target {
                    ITarget::Jump(t) | ITarget::Goto(t) if t <= chain => ITarget::Accept,
                    t => t,
                };
                IRule {
                    chain,
                    src,
                    dst,
                    proto,
                    sport: sport.filter(|_| ported),
                    dport: dport.filter(|_| ported),
                    multiport: multiport.filter(|_| ported),
                    state,
                    iif,
                    limit,
                    target,
                }
            },
        )
}

fn ipt_case() -> impl Strategy<Value = IptCase> {
    (1usize..5, prop::bool::weighted(0.3)).prop_flat_map(|(chains, v6)| {
        (
            Just(chains),
            Just(v6),
            any::<bool>(),
            prop::collection::vec(i_rule(chains, v6), 0..16),
            prop::collection::vec(region_spec(), 1..4),
            any::<u64>(),
        )
            .prop_map(|(chains, v6, input_drop, rules, regions, seed)| IptCase {
                v6,
                chains,
                input_drop,
                rules,
                regions,
                seed,
            })
    })
}

fn chain_name(c: usize) -> String {
    if c == 0 {
        "INPUT".into()
    } else {
        format!("C{c}")
    }
}

fn i_proto_name(i: usize, v6: bool) -> &'static str {
    match (i, v6) {
        (0, _) => "tcp",
        (1, _) => "udp",
        (2, false) => "icmp",
        (2, true) => "ipv6-icmp",
        _ => "gre",
    }
}

fn i_proto_num(i: usize, v6: bool) -> u8 {
    match (i, v6) {
        (0, _) => 6,
        (1, _) => 17,
        (2, false) => 1,
        (2, true) => 58,
        _ => 47,
    }
}

fn i_ports(r: (u16, u16)) -> String {
    if r.0 == r.1 {
        r.0.to_string()
    } else {
        format!("{}:{}", r.0, r.1)
    }
}

fn ipt_text(c: &IptCase) -> String {
    let mut t = String::new();
    t.push_str(if c.v6 {
        "# Generated by ip6tables-save v1.8.9 on Mon Nov 23 10:00:00 2026\n"
    } else {
        "# Generated by iptables-save v1.8.9 on Mon Nov 23 10:00:00 2026\n"
    });
    t.push_str("*filter\n");
    t.push_str(&format!(
        ":INPUT {} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        if c.input_drop { "DROP" } else { "ACCEPT" }
    ));
    for k in 1..c.chains {
        t.push_str(&format!(":C{k} - [0:0]\n"));
    }
    let neg = |n: bool| if n { "! " } else { "" };
    for r in &c.rules {
        let mut l = format!("-A {}", chain_name(r.chain));
        if let Some((p, n)) = &r.src {
            l += &format!(" {}-s {}", neg(*n), p.text());
        }
        if let Some((p, n)) = &r.dst {
            l += &format!(" {}-d {}", neg(*n), p.text());
        }
        if let Some((i, n)) = r.iif {
            l += &format!(" {}-i {}", neg(n), IFACES[i]);
        }
        if let Some((p, n)) = r.proto {
            l += &format!(" {}-p {}", neg(n), i_proto_name(p, c.v6));
        }
        if r.sport.is_some() || r.dport.is_some() {
            let m = i_proto_name(r.proto.map(|p| p.0).unwrap_or(0), c.v6);
            l += &format!(" -m {m}");
            if let Some((p, n)) = r.sport {
                l += &format!(" {}--sport {}", neg(n), i_ports(p));
            }
            if let Some((p, n)) = r.dport {
                l += &format!(" {}--dport {}", neg(n), i_ports(p));
            }
        }
        if let Some((kind, list, n)) = &r.multiport {
            let opt = ["dports", "sports", "ports"][*kind as usize];
            let v: Vec<String> = list.iter().map(|&p| i_ports(p)).collect();
            l += &format!(" -m multiport {}--{opt} {}", neg(*n), v.join(","));
        }
        if let Some((mask, n)) = r.state {
            let v: Vec<&str> = (0..5)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| STATES[b])
                .collect();
            l += &format!(" -m conntrack {}--ctstate {}", neg(n), v.join(","));
        }
        if r.limit {
            l += " -m limit --limit 3/min --limit-burst 5";
        }
        match r.target {
            ITarget::Accept => l += " -j ACCEPT",
            ITarget::Drop => l += " -j DROP",
            ITarget::Reject => l += " -j REJECT --reject-with icmp-port-unreachable",
            ITarget::Return => l += " -j RETURN",
            ITarget::Log => l += " -j LOG --log-prefix \"fw: \"",
            ITarget::Nothing => {}
            ITarget::Queue => l += " -j NFQUEUE --queue-num 1",
            ITarget::Jump(k) => l += &format!(" -j C{k}"),
            ITarget::Goto(k) => l += &format!(" -g C{k}"),
        }
        t.push_str(&l);
        t.push('\n');
    }
    t.push_str("COMMIT\n");
    t
}

fn i_rule_match(r: &IRule, p: &Packet, iif: &str, v6: bool) -> M {
    let addr = |a: &Option<(Pfx, bool)>, x: u128| match a {
        Some((pf, n)) => pf.contains(x) != *n,
        None => true,
    };
    let in_range = |(a, b): (u16, u16), x: u16| (a..=b).contains(&x);
    let mut ok = addr(&r.src, p.src) && addr(&r.dst, p.dst);
    if let Some((i, n)) = r.proto {
        ok &= (p.proto == i_proto_num(i, v6)) != n;
    }
    if let Some((rg, n)) = r.sport {
        ok &= in_range(rg, p.sport) != n;
    }
    if let Some((rg, n)) = r.dport {
        ok &= in_range(rg, p.dport) != n;
    }
    if let Some((kind, list, n)) = &r.multiport {
        let has = |x: u16| list.iter().any(|&rg| in_range(rg, x));
        let hit = match kind {
            0 => has(p.dport),
            1 => has(p.sport),
            _ => has(p.dport) || has(p.sport),
        };
        ok &= hit != *n;
    }
    if let Some((mask, n)) = r.state {
        ok &= (mask & (1 << p.state) != 0) != n;
    }
    if let Some((i, n)) = r.iif {
        let pat = IFACES[i];
        let hit = match pat.strip_suffix('+') {
            Some(stem) => iif.starts_with(stem),
            None => iif == pat,
        };
        ok &= hit != n;
    }
    let m = M::exact(ok);
    if r.limit {
        m.doubt()
    } else {
        m
    }
}

/// The kernel's walk (`ipt_do_table`): a jump pushes a return address, a goto does not; RETURN or
/// the end of a user chain pops one, and with none left the hook's policy decides. Returns every
/// way the packet may go, each with its decider: the rule whose verdict ends the walk (ACCEPT,
/// DROP, REJECT, or NFQUEUE, whose verdict a userspace program gives), or INPUT's policy for what
/// falls off its end, RETURNs from it, or leaves a chain gone to from it. LOG and counting rules
/// do not end the walk (the decider is a later rule), nor do jumps, gotos and RETURNs (the rule or
/// policy where the walk ends decides). `forked` is set when an undecidable rule (`-m limit`) that
/// would end or redirect the walk is met: both its outcomes are followed.
fn ipt_walk(
    c: &IptCase,
    stack: &mut Vec<(usize, usize)>,
    p: &Packet,
    iif: &str,
    forked: &mut bool,
) -> Vec<Way> {
    let policy = (
        if c.input_drop {
            VSet::DENY
        } else {
            VSet::ALLOW
        },
        Dec::Default,
    );
    let Some(&(chain, start)) = stack.last() else {
        return vec![policy];
    };
    let rules: Vec<(usize, &IRule)> = c
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.chain == chain)
        .collect();
    let leave = |stack: &mut Vec<(usize, usize)>, forked: &mut bool| -> Vec<Way> {
        stack.pop();
        if chain == 0 || stack.is_empty() {
            vec![policy]
        } else {
            ipt_walk(c, stack, p, iif, forked)
        }
    };
    for (idx, &(k, r)) in rules.iter().enumerate().skip(start) {
        let m = i_rule_match(r, p, iif, c.v6);
        if !m.may {
            continue;
        }
        let mut after = stack.clone();
        after.last_mut().unwrap().1 = idx + 1;
        let taken = match r.target {
            ITarget::Accept => vec![(VSet::ALLOW, Dec::Ipt(k))],
            ITarget::Drop | ITarget::Reject => vec![(VSet::DENY, Dec::Ipt(k))],
            ITarget::Queue => vec![(VSet::UNKNOWN, Dec::Ipt(k))],
            ITarget::Log | ITarget::Nothing => continue,
            ITarget::Return => leave(&mut stack.clone(), forked),
            ITarget::Jump(t) => {
                let mut s = after.clone();
                s.push((t, 0));
                ipt_walk(c, &mut s, p, iif, forked)
            }
            ITarget::Goto(t) => {
                let mut s = stack.clone();
                s.pop();
                s.push((t, 0));
                ipt_walk(c, &mut s, p, iif, forked)
            }
        };
        if m.sure {
            return taken;
        }
        *forked = true;
        let mut ways = taken;
        ways.extend(ipt_walk(c, &mut after, p, iif, forked));
        return ways;
    }
    leave(stack, forked)
}

/// iptables is first match: one way, one decider. Each way's decider must be named; on a decided
/// piece with one way nothing else may be. With an undecidable rule on the way, a decided piece
/// may also name the deciders of other packets of that rule's match (the evaluator merges them),
/// but each must give the piece's verdict: an ACCEPT rule or an accepting INPUT policy for an
/// allowed packet, a DROP or REJECT rule or a dropping policy for a denied one.
///
/// NOT ASSERTED: what else an unknown piece names. The kernel ends the walk at NFQUEUE (the
/// program's verdict is final for the table), so its rule alone decides a queued packet; but the
/// lowering gives NFQUEUE its reason as an undecidable *match*, so the evaluator also follows the
/// packet past it and names the later rule or policy too (`-A INPUT -j NFQUEUE` under
/// `:INPUT ACCEPT` names the rule and the policy). The verdict is unknown either way; the queue
/// rule must still be named.
fn ipt_answer(c: &IptCase, ways: &[Way], forked: bool) -> Answer {
    let verdict = verdict_of(ways);
    let all: Vec<Dec> = ways.iter().map(|w| w.1).collect();
    let only = if verdict == Verdict::Unknown {
        None
    } else if !forked {
        Some(all.clone())
    } else {
        let mut giving: Vec<Dec> = c
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| match r.target {
                ITarget::Accept => verdict == Verdict::Allow,
                ITarget::Drop | ITarget::Reject => verdict == Verdict::Deny,
                _ => false,
            })
            .map(|(k, _)| Dec::Ipt(k))
            .collect();
        if c.input_drop == (verdict == Verdict::Deny) {
            giving.push(Dec::Default);
        }
        Some(giving)
    };
    Answer {
        verdict,
        all,
        one: Vec::new(),
        only,
        or: None,
    }
}

fn run_iptables(c: &IptCase) -> Result<(), TestCaseError> {
    let text = ipt_text(c);
    let src = SourceText::new("oracle.rules", text.as_str());
    let dump = iptables::parse(&src.text);
    prop_assert!(dump.issues.is_empty(), "{:?}\n{}", dump.issues, text);
    let fam = ipt_lower::family_of(&dump);
    let lowered = ipt_lower::lower(&dump, &src, fam);
    let parse_errors: Vec<_> = lowered
        .issues
        .iter()
        .filter(|i| i.kind == portolan::formats::IssueKind::ParseError)
        .collect();
    prop_assert!(parse_errors.is_empty(), "{:?}\n{}", parse_errors, text);
    let rs = &lowered.ruleset;
    let mut corners = Corners::new();
    for r in &c.rules {
        for (p, _) in [&r.src, &r.dst].into_iter().flatten() {
            corners.add_pfx(p);
        }
        for (rg, _) in [r.sport, r.dport].into_iter().flatten() {
            corners.add_ports(rg);
        }
        if let Some((_, list, _)) = &r.multiport {
            for &rg in list {
                corners.add_ports(rg);
            }
        }
    }
    for r in &c.regions {
        r.corners(&mut corners);
    }
    let doubtless = c
        .rules
        .iter()
        .all(|r| !r.limit && !matches!(r.target, ITarget::Queue | ITarget::Goto(_)));
    // the packet's interface name for each class the policy's patterns make
    let class_names: Vec<(u16, &str)> = IF_NAMES
        .iter()
        .map(|n| (rs.interfaces.class_of(n), *n))
        .collect();
    // a decider is the generated rule on its line (the `-A` lines are the rules, in order), or
    // INPUT's policy
    let rule_lines: Vec<u32> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("-A "))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    let ident = |at: At| -> Option<Dec> {
        match at.decider {
            Decider::ChainPolicy(ch) => (rs.policies.get(at.policy)?.chains.get(ch)?.name
                == "INPUT")
                .then_some(Dec::Default),
            Decider::Rule(_) => {
                let line = rs.provenance(at)?.line;
                rule_lines.iter().position(|&l| l == line).map(Dec::Ipt)
            }
            Decider::Loop(_) => None,
        }
    };
    let space = rs.address_space();
    let mut rng = Rng::new(c.seed);
    for region in &c.regions {
        let mut b = region.to_box(&space);
        b.iif = rs.interfaces.all();
        b.oif = rs.interfaces.all();
        check(
            rs,
            Hook::Input,
            &b,
            &corners,
            &mut rng,
            doubtless,
            &|p| {
                let Some(&(_, name)) = class_names.iter().find(|(k, _)| *k == p.iif) else {
                    // no name of ours falls in this class
                    return Answer::verdict_only(Verdict::Unknown);
                };
                let mut forked = false;
                let ways = ipt_walk(c, &mut vec![(0, 0)], p, name, &mut forked);
                ipt_answer(c, &ways, forked)
            },
            &ident,
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(600))]
    #[test]
    fn oracle_iptables(c in ipt_case()) {
        run_iptables(&c)?;
    }
}

// ------------------------------------------------------------------------------------------------
// iptables connections: raw (NOTRACK), nat (DNAT, REDIRECT) and filter, request and reply
// ------------------------------------------------------------------------------------------------
//
// Random `iptables-save` host firewalls with `*raw`, `*nat` and `*filter` tables are audited like
// the command line does (`--env vsphere --role zvm --host-address 192.168.1.1`), and each inbound
// flow record is held against a reference that simulates one connection packet by packet, as the
// kernel handles it (iptables(8), iptables-extensions(8) `NOTRACK`, `CT`, `DNAT`, `REDIRECT`,
// `conntrack`, `state`; the raw table's help text: NOTRACKed packets lose "all the NAT
// functionalities"; Documentation/networking/nf_conntrack-sysctl.rst `nf_conntrack_tcp_loose`):
//
// - the request (client address and port → the host's address and the flow's port, state NEW)
//   passes raw PREROUTING, which runs before connection tracking: a state match there sees no
//   conntrack entry yet (INVALID) unless a NOTRACK already marked the packet (UNTRACKED);
//   `NOTRACK` / `CT --notrack` mark it and the chain goes on;
// - connection tracking: a marked packet is UNTRACKED for every later table and gets no entry;
//   any other opens an entry and is NEW;
// - nat PREROUTING sees only the first packet of a tracked connection (an untracked one skips NAT
//   altogether): `DNAT` rewrites the destination (address and/or port), `REDIRECT` sends it to the
//   host's own address (the one address the host has here) and port; both end the nat chain;
// - routing: a destination that is the host's own address goes to filter INPUT, any other to
//   filter FORWARD (the host forwards it to the server behind it);
// - the reply comes from the server as the request reached it (the translated address and port;
//   NAT is undone only after the filter, in POSTROUTING / INPUT of the reply) to the client's
//   address and port: from a local server it leaves through raw OUTPUT then filter OUTPUT, from a
//   forwarded one it arrives through raw PREROUTING then filter FORWARD. Its state: a raw NOTRACK
//   makes it UNTRACKED; else ESTABLISHED when the request opened an entry; else (an untracked
//   request: no entry to belong to) conntrack meets it as the first packet of a connection of its
//   own: for UDP that is NEW; for TCP the SYN-ACK opens nothing (INVALID) and the server's later
//   segments are picked up mid-stream as NEW (`nf_conntrack_tcp_loose = 1`, the default): both
//   must pass for the connection to work.
//
// - the client's later packets (its ACK and data) have the request's tuple: raw PREROUTING and a
//   NOTRACK treat them as the request; conntrack translates them as it did the request without
//   the nat table; after the server's answer they are ESTABLISHED (an untracked request's stay
//   UNTRACKED; where a raw rule NOTRACKed the reply, the entry never saw an answer and a TCP
//   ACK to an entry still in SYN_SENT is INVALID, nf_conntrack_proto_tcp.c) and pass filter
//   INPUT (or FORWARD) in that state;
// - a reply a raw rule NOTRACKs loses the NAT (the raw table's help text, above): where a DNAT or
//   REDIRECT changed the request's address or port, it leaves from the translated ones, which
//   the client's socket does not take.
//
// The connection works when the request, the reply and the client's later packets pass. What is asserted is what a quick-mode
// flow record promises (engine/reach.rs, engine/flow.rs): see [`check_flow`].

const HOST: u32 = 0xc0a8_0101; // 192.168.1.1, the host's one address (`--host-address`)
const ELSEWHERE: u32 = 0xac11_0002; // 172.17.0.2, a server behind the host
/// The inbound ports of `--role zvm --env vsphere` (all TCP) and a port they are redirected to.
const ZPORTS: [u16; 9] = [4005, 4006, 4009, 9071, 9080, 9081, 9180, 9669, 8443];
const CLIENT_PORTS: (u16, u16) = (1024, 65535);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tbl {
    Raw,
    Nat,
    Filter,
}

/// The chains of each table; filter's user chains follow its built-in ones.
const RAW_CHAINS: [&str; 2] = ["PREROUTING", "OUTPUT"];
const FILTER_CHAINS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CTarget {
    Accept,
    Drop,
    Reject,
    Return,
    /// LOG: goes on with the next rule.
    Log,
    Notrack,
    CtNotrack,
    /// DNAT --to-destination [ADDR][:PORT]
    Dnat(Option<u32>, Option<u16>),
    /// REDIRECT [--to-ports PORT]
    Redirect(Option<u16>),
    /// Jump to filter chain n (a user chain, only forward: no loops).
    Jump(usize),
}

#[derive(Debug, Clone)]
struct CRule {
    table: Tbl,
    chain: usize,
    src: Option<(Pfx, bool)>,
    dst: Option<(Pfx, bool)>,
    /// Some(negated): `-p tcp`
    tcp: Option<bool>,
    sport: Option<((u16, u16), bool)>,
    dport: Option<((u16, u16), bool)>,
    /// (mask over STATES, negated, `-m state` rather than `-m conntrack`)
    state: Option<(u8, bool, bool)>,
    target: CTarget,
}

#[derive(Debug, Clone)]
struct ConnCase {
    mix: Mix,
    /// filter user chains (C1..)
    users: usize,
    /// policies of filter INPUT, FORWARD, OUTPUT: DROP?
    drop: [bool; 3],
    rules: Vec<CRule>,
    seed: u64,
}

fn c_pfx() -> impl Strategy<Value = Pfx> {
    prop_oneof![
        4 => v4_pfx(),
        1 => Just(Pfx::v4(HOST, 32)),
        1 => (16u8..=32).prop_map(|l| Pfx::v4(HOST, l)),
        1 => Just(Pfx::v4(ELSEWHERE, 32)),
        1 => Just(Pfx::v4(ELSEWHERE, 16)),
    ]
}

fn c_ports() -> impl Strategy<Value = (u16, u16)> {
    prop_oneof![
        3 => port_range(),
        3 => prop::sample::select(ZPORTS.to_vec()).prop_map(|p| (p, p)),
        1 => Just((4005u16, 4009u16)),
        1 => Just(CLIENT_PORTS),
        1 => Just((1024u16, 32767u16)),
        1 => Just((32768u16, 65535u16)),
        1 => (1024u16..=65535).prop_map(|p| (p, p)),
    ]
}

/// What the generator puts in: nat PREROUTING rules; NOTRACK / CT --notrack in raw.
#[derive(Debug, Clone, Copy)]
struct Mix {
    nat: bool,
    notrack: bool,
    /// Check the flow's status (request and replies), not only its `allowed_sources` (requests).
    replies: bool,
}

fn c_rule(users: usize, mix: Mix) -> impl Strategy<Value = CRule> {
    let addr = || prop::option::weighted(0.35, (c_pfx(), prop::bool::weighted(0.2)));
    let ports = || prop::option::weighted(0.45, (c_ports(), prop::bool::weighted(0.15)));
    let nat_to = prop_oneof![
        3 => (
            prop::option::weighted(0.8, prop_oneof![Just(HOST), Just(ELSEWHERE)]),
            prop::option::weighted(0.6, prop::sample::select(ZPORTS.to_vec())),
        )
            .prop_map(|(a, p)| match (a, p) {
                (None, None) => CTarget::Dnat(Some(ELSEWHERE), None),
                (a, p) => CTarget::Dnat(a, p),
            }),
        1 => prop::option::weighted(0.7, prop::sample::select(ZPORTS.to_vec()))
            .prop_map(CTarget::Redirect),
        1 => Just(CTarget::Accept),
        1 => Just(CTarget::Return),
        1 => Just(CTarget::Log),
    ];
    let nt = if mix.notrack { 1 } else { 0 };
    let raw_to = prop_oneof![
        3 * nt => Just(CTarget::Notrack),
        2 * nt => Just(CTarget::CtNotrack),
        1 => Just(CTarget::Accept),
        1 => Just(CTarget::Drop),
        1 => Just(CTarget::Log),
    ];
    let filter_to = prop_oneof![
        4 => Just(CTarget::Accept),
        3 => Just(CTarget::Drop),
        1 => Just(CTarget::Reject),
        2 => Just(CTarget::Return),
        1 => Just(CTarget::Log),
        3 => (3usize..3 + users.max(1)).prop_map(CTarget::Jump),
    ];
    let table = prop_oneof![
        2 => Just(Tbl::Raw),
        2 * mix.nat as u32 => Just(Tbl::Nat),
        5 => Just(Tbl::Filter),
    ];
    (
        table,
        0usize..3 + users,
        addr(),
        addr(),
        prop::option::weighted(0.8, prop::bool::weighted(0.1)),
        ports(),
        ports(),
        prop::option::weighted(0.45, (1u8..32, prop::bool::weighted(0.2), any::<bool>())),
        (raw_to, nat_to, filter_to),
    )
        .prop_map(
            move |(
                table,
                chain,
                src,
                dst,
                tcp,
                sport,
                dport,
                state,
                (raw_to, nat_to, filter_to),
            )| {
                // a NAT target with a port needs `-p tcp`: iptables-restore refuses the file
                // otherwise (issue 21's kernel oracle; a Z001 in Portolan)
                let tcp = match nat_to {
                    CTarget::Dnat(_, Some(_)) | CTarget::Redirect(Some(_)) if table == Tbl::Nat => {
                        Some(false)
                    }
                    _ => tcp,
                };
                let ported = tcp == Some(false);
                let (chain, target, state) = match table {
                    // raw: PREROUTING or OUTPUT; a state match there sees INVALID, or
                    // UNTRACKED after a NOTRACK (see the doc: before conntrack)
                    Tbl::Raw => (chain % 2, raw_to, state),
                    Tbl::Nat => (0, nat_to, None),
                    Tbl::Filter => {
                        let target = match filter_to {
                            CTarget::Jump(t) if users == 0 || t <= chain => CTarget::Accept,
                            t => t,
                        };
                        (chain.min(2 + users), target, state)
                    }
                };
                CRule {
                    table,
                    chain,
                    src,
                    dst,
                    tcp,
                    sport: sport.filter(|_| ported),
                    dport: dport.filter(|_| ported),
                    state,
                    target,
                }
            },
        )
}

fn conn_case(mix: Mix) -> impl Strategy<Value = ConnCase> {
    (0usize..3).prop_flat_map(move |users| {
        (
            Just(users),
            [
                prop::bool::weighted(0.6),
                prop::bool::weighted(0.5),
                prop::bool::weighted(0.4),
            ],
            prop::collection::vec(c_rule(users, mix), 0..18),
            any::<u64>(),
        )
            .prop_map(move |(users, drop, rules, seed)| ConnCase {
                mix,
                users,
                drop,
                rules,
                seed,
            })
    })
}

fn c_chain_name(t: Tbl, chain: usize) -> String {
    match t {
        Tbl::Raw => RAW_CHAINS[chain].into(),
        Tbl::Nat => "PREROUTING".into(),
        Tbl::Filter if chain < 3 => FILTER_CHAINS[chain].into(),
        Tbl::Filter => format!("C{}", chain - 2),
    }
}

fn conn_text(c: &ConnCase) -> String {
    let neg = |n: bool| if n { "! " } else { "" };
    let v4 = |a: u32| std::net::Ipv4Addr::from(a).to_string();
    let rule_line = |r: &CRule| -> String {
        let mut l = format!("-A {}", c_chain_name(r.table, r.chain));
        if let Some((p, n)) = &r.src {
            l += &format!(" {}-s {}", neg(*n), p.text());
        }
        if let Some((p, n)) = &r.dst {
            l += &format!(" {}-d {}", neg(*n), p.text());
        }
        if let Some(n) = r.tcp {
            l += &format!(" {}-p tcp", neg(n));
        }
        if r.sport.is_some() || r.dport.is_some() {
            l += " -m tcp";
            if let Some((p, n)) = r.sport {
                l += &format!(" {}--sport {}", neg(n), i_ports(p));
            }
            if let Some((p, n)) = r.dport {
                l += &format!(" {}--dport {}", neg(n), i_ports(p));
            }
        }
        if let Some((mask, n, plain)) = r.state {
            let v: Vec<&str> = (0..5)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| STATES[b])
                .collect();
            l += &if plain {
                format!(" -m state {}--state {}", neg(n), v.join(","))
            } else {
                format!(" -m conntrack {}--ctstate {}", neg(n), v.join(","))
            };
        }
        l += &match r.target {
            CTarget::Accept => " -j ACCEPT".to_string(),
            CTarget::Drop => " -j DROP".into(),
            CTarget::Reject => " -j REJECT --reject-with icmp-port-unreachable".into(),
            CTarget::Return => " -j RETURN".into(),
            CTarget::Log => " -j LOG --log-prefix \"fw: \"".into(),
            CTarget::Notrack => " -j NOTRACK".into(),
            CTarget::CtNotrack => " -j CT --notrack".into(),
            CTarget::Dnat(a, p) => format!(
                " -j DNAT --to-destination {}{}",
                a.map(v4).unwrap_or_default(),
                p.map(|p| format!(":{p}")).unwrap_or_default()
            ),
            CTarget::Redirect(None) => " -j REDIRECT".into(),
            CTarget::Redirect(Some(p)) => format!(" -j REDIRECT --to-ports {p}"),
            CTarget::Jump(k) => format!(" -j C{}", k - 2),
        };
        l
    };
    let mut t = String::from("# Generated by iptables-save v1.8.9 on Mon Nov 23 10:00:00 2026\n");
    t += "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    for r in c.rules.iter().filter(|r| r.table == Tbl::Raw) {
        t += &rule_line(r);
        t.push('\n');
    }
    t += "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
    for r in c.rules.iter().filter(|r| r.table == Tbl::Nat) {
        t += &rule_line(r);
        t.push('\n');
    }
    t += "COMMIT\n*filter\n";
    for (k, name) in FILTER_CHAINS.iter().enumerate() {
        let p = if c.drop[k] { "DROP" } else { "ACCEPT" };
        t += &format!(":{name} {p} [0:0]\n");
    }
    for k in 1..=c.users {
        t += &format!(":C{k} - [0:0]\n");
    }
    for r in c.rules.iter().filter(|r| r.table == Tbl::Filter) {
        t += &rule_line(r);
        t.push('\n');
    }
    t += "COMMIT\n";
    t
}

/// One packet of the simulation (TCP, IPv4).
#[derive(Debug, Clone, Copy)]
struct Pkt {
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
}

/// The connection states, as bits of a `--ctstate` mask (the order of [`STATES`]).
const NEW: u8 = 0;
const ESTABLISHED: u8 = 1;
const INVALID: u8 = 3;
const UNTRACKED: u8 = 4;

/// How a walk through one table's chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Accept,
    Drop,
    Nat(CTarget),
}

fn c_rule_match(r: &CRule, p: &Pkt, state: u8) -> bool {
    let addr = |a: &Option<(Pfx, bool)>, x: u32| match a {
        Some((pf, n)) => pf.contains(V4_BASE + x as u128) != *n,
        None => true,
    };
    let ports = |a: Option<((u16, u16), bool)>, x: u16| match a {
        Some(((lo, hi), n)) => (lo..=hi).contains(&x) != n,
        None => true,
    };
    // every packet here is TCP: `-p tcp` matches, `! -p tcp` does not
    r.tcp != Some(true)
        && addr(&r.src, p.src)
        && addr(&r.dst, p.dst)
        && ports(r.sport, p.sport)
        && ports(r.dport, p.dport)
        && r.state
            .is_none_or(|(mask, n, _)| (mask & (1 << state) != 0) != n)
}

/// One packet through one built-in chain of a table and the chains it jumps to (first match; a
/// jump pushes a return address, RETURN or a user chain's end pops one, a built-in chain's end or
/// RETURN falls to its policy). `state` is what a state match sees; a NOTRACK in raw sets it to
/// UNTRACKED for the rest of the walk (and the caller's later tables).
fn c_walk(c: &ConnCase, table: Tbl, chain: usize, p: &Pkt, state: &mut u8) -> Fate {
    let policy = match table {
        Tbl::Filter if c.drop[chain] => Fate::Drop,
        _ => Fate::Accept,
    };
    // (chain, index into `c.rules` to go on from)
    let mut stack: Vec<(usize, usize)> = vec![(chain, 0)];
    'walk: while let Some((ch, start)) = stack.pop() {
        for (i, r) in c.rules.iter().enumerate().skip(start) {
            if r.table != table || r.chain != ch || !c_rule_match(r, p, *state) {
                continue;
            }
            match r.target {
                CTarget::Accept => return Fate::Accept,
                CTarget::Drop | CTarget::Reject => return Fate::Drop,
                CTarget::Log => {}
                CTarget::Notrack | CTarget::CtNotrack => *state = UNTRACKED,
                CTarget::Dnat(..) | CTarget::Redirect(_) => return Fate::Nat(r.target),
                CTarget::Return => continue 'walk,
                CTarget::Jump(t) => {
                    stack.push((ch, i + 1));
                    stack.push((t, 0));
                    continue 'walk;
                }
            }
        }
    }
    policy
}

/// What the reference says of one connection.
#[derive(Debug, Clone, Copy, Default)]
struct Conn {
    /// The request gets in (through INPUT, or FORWARD after a DNAT elsewhere).
    admitted: bool,
    /// The request opened a conntrack entry (no NOTRACK matched it).
    tracked: bool,
    /// The request gets in, every packet of the reply gets out and the client's later packets
    /// get in: the connection works.
    works: bool,
}

/// The reference: one connection from `client:cport` to the host's `port`.
fn connection(c: &ConnCase, client: u32, cport: u16, port: u16) -> Conn {
    let req = Pkt {
        src: client,
        dst: HOST,
        sport: cport,
        dport: port,
    };
    // raw PREROUTING runs before conntrack: no entry yet (a state match would see INVALID)
    let mut state = INVALID;
    if c_walk(c, Tbl::Raw, 0, &req, &mut state) == Fate::Drop {
        return Conn::default();
    }
    let tracked = state != UNTRACKED;
    let req_state = if tracked { NEW } else { UNTRACKED };
    // nat PREROUTING: the first packet of a tracked connection only
    let mut to = req;
    if tracked {
        let mut s = NEW;
        match c_walk(c, Tbl::Nat, 0, &req, &mut s) {
            Fate::Nat(CTarget::Dnat(a, p)) => {
                to.dst = a.unwrap_or(to.dst);
                to.dport = p.unwrap_or(to.dport);
            }
            Fate::Nat(CTarget::Redirect(p)) => {
                to.dst = HOST;
                to.dport = p.unwrap_or(to.dport);
            }
            _ => {}
        }
    }
    let local = to.dst == HOST;
    let mut s = req_state;
    if c_walk(c, Tbl::Filter, if local { 0 } else { 1 }, &to, &mut s) == Fate::Drop {
        return Conn {
            tracked,
            ..Conn::default()
        };
    }
    // the reply, from the server as the request reached it, NAT not yet undone
    let passes = reply_passes(c, (to.dst, to.dport), (client, cport), local, tracked);
    // the client's later packets (its ACK, its data): the request's tuple, which conntrack
    // translates as it did the request (nat PREROUTING sees a connection's first packet only);
    // raw PREROUTING treats them as it did the request (a state match there sees no entry yet),
    // and once the server has answered they are ESTABLISHED; an untracked request's are
    // UNTRACKED like it, and passed where it did
    // (a reply a raw rule NOTRACKed left the entry unanswered: a TCP ACK then is INVALID)
    let later = !tracked || {
        let mut s = if reply_untracked(c, (to.dst, to.dport), (client, cport), local) {
            INVALID
        } else {
            ESTABLISHED
        };
        c_walk(c, Tbl::Filter, if local { 0 } else { 1 }, &to, &mut s) != Fate::Drop
    };
    // a reply a raw rule NOTRACKs loses the NAT: after a DNAT or REDIRECT that changed the
    // address or port, it leaves from the translated ones and the client does not take it
    let translated = to.dst != req.dst || to.dport != req.dport;
    let lost =
        tracked && translated && reply_untracked(c, (to.dst, to.dport), (client, cport), local);
    Conn {
        admitted: true,
        tracked,
        works: later && !lost && passes.iter().all(|&p| p),
    }
}

/// Whether a raw rule NOTRACKs the reply from `server` to `client` (raw OUTPUT from a local
/// server, raw PREROUTING from a forwarded one): the connection's entry then never sees it.
fn reply_untracked(
    c: &ConnCase,
    (saddr, sport): (u32, u16),
    (caddr, cport): (u32, u16),
    local: bool,
) -> bool {
    let reply = Pkt {
        src: saddr,
        dst: caddr,
        sport,
        dport: cport,
    };
    let mut seen = INVALID;
    c_walk(c, Tbl::Raw, if local { 1 } else { 0 }, &reply, &mut seen) != Fate::Drop
        && seen == UNTRACKED
}

/// The reply of a connection from `server` back to `client`, sent by the host itself (`local`:
/// raw OUTPUT, filter OUTPUT) or forwarded from a server behind it (raw PREROUTING, filter
/// FORWARD): for each packet kind the reply has, whether it passes. Its state: UNTRACKED when a
/// raw rule NOTRACKs it; else ESTABLISHED when the request opened an entry; else it has none to
/// belong to and conntrack meets it as a connection of its own: the SYN-ACK opens nothing
/// (INVALID) and the later segments are picked up mid-stream (NEW, `nf_conntrack_tcp_loose = 1`).
fn reply_passes(
    c: &ConnCase,
    (saddr, sport): (u32, u16),
    (caddr, cport): (u32, u16),
    local: bool,
    tracked: bool,
) -> Vec<bool> {
    let reply = Pkt {
        src: saddr,
        dst: caddr,
        sport,
        dport: cport,
    };
    let (raw_chain, filter_chain) = if local { (1, 2) } else { (0, 1) };
    let mut seen = INVALID;
    if c_walk(c, Tbl::Raw, raw_chain, &reply, &mut seen) == Fate::Drop {
        return vec![false];
    }
    let states: &[u8] = if seen == UNTRACKED {
        &[UNTRACKED]
    } else if tracked {
        &[ESTABLISHED]
    } else {
        &[INVALID, NEW]
    };
    states
        .iter()
        .map(|&st| {
            let mut s = st;
            c_walk(c, Tbl::Filter, filter_chain, &reply, &mut s) != Fate::Drop
        })
        .collect()
}

/// The audit as the command line runs it: `--env vsphere --role zvm --host-address 192.168.1.1`.
fn conn_audit(text: &str) -> portolan::engine::Report {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "portolan-oracle-{}-{}.rules",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).unwrap();
    let hosts = [format!("{}/32", std::net::Ipv4Addr::from(HOST))];
    let config = portolan::Config::new(&portolan::ConfigInput {
        env: Some(portolan::catalog::Environment::Vsphere),
        role: Some("zvm"),
        host_addresses: &hosts,
        max_input_size: 1 << 24,
        no_config: true,
        ..Default::default()
    })
    .unwrap();
    let report = portolan::audit_paths(std::slice::from_ref(&path), &config);
    let _ = std::fs::remove_file(&path);
    report
}

/// Client addresses to try: every edge of every prefix the rules use and its neighbours (so every
/// class of addresses the rules tell apart has one), a few fixed ones and random ones; never
/// loopback (127/8 is no peer in quick mode).
fn conn_sources(c: &ConnCase, rng: &mut Rng) -> Vec<u32> {
    let mut v = vec![
        0,
        1,
        HOST - 1,
        HOST,
        HOST + 1,
        ELSEWHERE,
        0x0a00_0001,
        0x7eff_ffff,
    ];
    v.extend([0x8000_0000, 0xffff_fffe, u32::MAX]);
    for r in &c.rules {
        for (p, _) in [&r.src, &r.dst].into_iter().flatten() {
            let (lo, hi) = p.bounds();
            let (lo, hi) = ((lo - V4_BASE) as u32, (hi - V4_BASE) as u32);
            v.extend([lo, hi]);
            v.extend(lo.checked_sub(1));
            v.extend(hi.checked_add(1));
        }
    }
    for _ in 0..6 {
        v.push(rng.next() as u32);
    }
    v.retain(|a| a >> 24 != 127);
    v.sort_unstable();
    v.dedup();
    v
}

/// Client ports to try: every edge of every port range the rules use and its neighbours within
/// 1024-65535 (so every class of client ports the rules tell apart has one), the range's ends and
/// random ones.
fn conn_client_ports(c: &ConnCase, rng: &mut Rng) -> Vec<u16> {
    let (lo, hi) = CLIENT_PORTS;
    let mut v = vec![lo, lo + 1, hi - 1, hi];
    for r in &c.rules {
        for ((a, b), _) in [r.sport, r.dport].into_iter().flatten() {
            v.extend([a, b]);
            v.extend(a.checked_sub(1));
            v.extend(b.checked_add(1));
        }
    }
    v.push(lo + (rng.next() % (hi - lo) as u64) as u16);
    v.retain(|p| (lo..=hi).contains(p));
    v.sort_unstable();
    v.dedup();
    v
}

/// Check one inbound flow record (quick mode: the peers are every address) against the
/// reference, for the flow to `port`, over the sampled clients and every class of client ports.
///
/// What the record promises (engine/flow.rs `run_job`, engine/reach.rs `Reach::status`):
/// - `allowed_sources` are exactly the clients whose request gets in from some client port (the
///   request's allowed pieces; the replies do not narrow it);
/// - the status is the connection's, exactly (quick mode: the peers are every address):
///   `blocked` when no connection works (no request gets in, or no admitted one gets its
///   replies back), `allowed` when some works and every one whose request gets in works, else
///   `partial`; never `unknown` (nothing undecidable is generated). The replies are those the
///   kernel sends: from the server the request reached (after a DNAT or REDIRECT, the translated
///   address and port; through FORWARD for a DNAT elsewhere) to exactly the admitted client
///   ports, in the states conntrack gives them (for an untracked TCP request both the SYN-ACK,
///   INVALID, and the later segments, NEW, must pass).
fn check_flow(
    c: &ConnCase,
    rec: &portolan::engine::FlowRecord,
    port: u16,
    sources: &[u32],
    cports: &[u16],
) -> Result<(), String> {
    use portolan::engine::reach::Status;
    let allowed = rec
        .allowed_sources
        .iter()
        .try_fold(AddrSet::empty(), |a, s| {
            AddrSet::parse(s)
                .map(|x| a.union(&x))
                .map_err(|e| format!("{s}: {e}"))
        })?;
    let (mut any_works, mut any_admitted, mut broken) = (false, false, None);
    for &s in sources {
        let mut admitted = false;
        for &cp in cports {
            let k = connection(c, s, cp, port);
            admitted |= k.admitted;
            any_works |= k.works;
            if k.admitted && !k.works && broken.is_none() {
                // (client, client port, whether its request was tracked)
                broken = Some((std::net::Ipv4Addr::from(s), cp, k.tracked));
            }
        }
        any_admitted |= admitted;
        let ip = std::net::IpAddr::V4(s.into());
        if allowed.contains(ip) != admitted {
            return Err(format!(
                "{ip}: in allowed_sources {:?} is {}, but its request {} (client ports {cports:?})",
                rec.allowed_sources,
                allowed.contains(ip),
                if admitted {
                    "gets in from some client port"
                } else {
                    "gets in from no client port"
                }
            ));
        }
    }
    // quick mode: allowed when some connection works and every one whose request gets in does
    let want = match (any_works, broken) {
        (false, _) => Status::Blocked,
        (true, None) => Status::Allowed,
        (true, Some(_)) => Status::Partial,
    };
    let why = format!(
        "status {:?} (return path {:?}); reference: some request gets in {any_admitted}, some \
         connection works {any_works}, a connection whose request gets in fails {broken:?}",
        rec.status, rec.return_path
    );
    let sound = rec.status != Status::Unknown;
    if c.mix.replies && (rec.status != want || !sound) {
        return Err(why);
    }
    Ok(())
}

fn run_connections(c: &ConnCase) -> Result<(), TestCaseError> {
    let text = conn_text(c);
    let report = conn_audit(&text);
    let parse: Vec<_> = report
        .findings
        .iter()
        .filter(|f| ["Z001", "Z002", "Z003"].contains(&f.code))
        .map(|f| (f.code, f.message.clone()))
        .collect();
    prop_assert!(parse.is_empty(), "{:?}\n{}", parse, text);
    let mut rng = Rng::new(c.seed);
    let sources = conn_sources(c, &mut rng);
    let cports = conn_client_ports(c, &mut rng);
    let mut seen = Vec::new();
    let mut checked = 0;
    for rec in report.flows.iter().filter(|f| f.direction == "inbound") {
        prop_assert_eq!(&rec.protocol, "tcp");
        let port: u16 = rec
            .ports
            .parse()
            .map_err(|_| TestCaseError::fail(format!("ports {}", rec.ports)))?;
        if seen.contains(&port) {
            continue;
        }
        seen.push(port);
        checked += 1;
        if let Err(e) = check_flow(c, rec, port, &sources, &cports) {
            return Err(TestCaseError::fail(format!(
                "{} (port {port}): {e}\n{text}",
                rec.requirement
            )));
        }
    }
    prop_assert!(checked >= 8, "{checked} inbound flows checked\n{text}");
    Ok(())
}

proptest! {
    // each case audits a whole firewall (every flow of the role) and simulates thousands of
    // connections: about 20 ms a case in a debug build
    #![proptest_config(config(64))]
    #[test]
    fn oracle_iptables_connections(c in conn_case(Mix { nat: false, notrack: true, replies: true })) {
        run_connections(&c)?;
    }

    /// With nat PREROUTING rules too: a translated connection's replies come back from the
    /// server it reached (through FORWARD after a DNAT elsewhere); an untracked request is never
    /// translated.
    #[test]
    fn oracle_iptables_connections_nat(c in conn_case(Mix { nat: true, notrack: true, replies: true })) {
        run_connections(&c)?;
    }

    /// The same without NOTRACK (NAT of tracked connections only).
    #[test]
    fn oracle_iptables_connections_nat_tracked(c in conn_case(Mix { nat: true, notrack: false, replies: true })) {
        run_connections(&c)?;
    }

    /// DNAT and REDIRECT of tracked requests, the requests only: `allowed_sources` is exactly
    /// the clients whose request gets in, through INPUT or (a DNAT elsewhere) FORWARD.
    #[test]
    fn oracle_iptables_connections_nat_requests(
        c in conn_case(Mix { nat: true, notrack: false, replies: false })
    ) {
        run_connections(&c)?;
    }
}

// ------------------------------------------------------------------------------------------------
// Regressions the oracle found (minimised)
// ------------------------------------------------------------------------------------------------

fn lower_ipt(text: &str) -> ipt_lower::Lowered {
    let src = SourceText::new("r.rules", text);
    let dump = iptables::parse(&src.text);
    assert!(dump.issues.is_empty(), "{:?}", dump.issues);
    let fam = ipt_lower::family_of(&dump);
    ipt_lower::lower(&dump, &src, fam)
}

fn tcp_from(v4: u32) -> Packet {
    Packet {
        src: V4_BASE + v4 as u128,
        dst: V4_BASE + 1,
        proto: 6,
        sport: 40000,
        dport: 22,
        state: 0,
        iif: 1,
        oif: 1,
    }
}

/// `-g` from INPUT: when the user chain ends or RETURNs there is no caller to go back to, and the
/// kernel applies INPUT's policy. The engine called it unknown ("no policy and no caller").
#[test]
fn regression_goto_from_the_entry_chain_falls_to_its_policy() {
    let l = lower_ipt(
        "*filter\n:INPUT DROP [0:0]\n:C1 - [0:0]\n-A INPUT -p tcp -g C1\n-A INPUT -j ACCEPT\n\
         -A C1 -s 10.1.0.0/16 -j RETURN\n-A C1 -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n",
    );
    let rs = &l.ruleset;
    let mut region = PacketBox::full();
    region.src = AddrSet::parse("10.0.0.0/8")
        .unwrap()
        .union(&AddrSet::parse("192.168.0.0/16").unwrap());
    region.proto = IntervalSet::single(6);
    let outs = rs.evaluate(rs.pipeline(Hook::Input).unwrap(), &region);
    let policy = &rs.policies[0];
    let input = policy.chain_by_name("INPUT").unwrap();
    for (addr, want) in [
        (0x0a02_0304u32, Verdict::Allow), // 10.2.3.4: accepted in C1
        (0x0a01_0304, Verdict::Deny),     // 10.1.3.4: RETURN with no caller: INPUT's policy
        (0xc0a8_0101, Verdict::Deny),     // 192.168.1.1: off the end of C1: INPUT's policy
    ] {
        let p = tcp_from(addr);
        let holding: Vec<_> = outs.iter().filter(|o| o.space.contains(&p)).collect();
        assert_eq!(holding.len(), 1);
        assert_eq!(holding[0].verdict, want, "{:?}", holding[0]);
        assert_eq!(policy.evaluate_packet(input, &p), want);
        let steps = policy.trace_packet(input, &p);
        let last = &steps.last().unwrap().event;
        match want {
            Verdict::Deny => assert!(
                matches!(last, portolan::model::trace::Event::Policy(c, Verdict::Deny) if *c == input),
                "{steps:?}"
            ),
            _ => assert!(
                matches!(last, portolan::model::trace::Event::Matched(_)),
                "{steps:?}"
            ),
        }
    }
    // a goto further down still returns to the caller of the chain it leaves
    let l = lower_ipt(
        "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A INPUT -j ACCEPT\n\
         -A A -g B\n-A A -j DROP\nCOMMIT\n",
    );
    let rs = &l.ruleset;
    let region = PacketBox {
        src: rs.address_space(),
        dst: rs.address_space(),
        ..PacketBox::full()
    };
    let outs = rs.evaluate(rs.pipeline(Hook::Input).unwrap(), &region);
    assert!(outs.iter().all(|o| o.verdict == Verdict::Allow), "{outs:?}");
}

/// `::/0` is every IPv6 address and no IPv4 one: `ip6tables -s ::/0` was refused as an address of
/// the other family, and an NSG rule from `::/0` matched IPv4 packets.
#[test]
fn regression_ipv6_any_holds_no_ipv4() {
    let l = lower_ipt("# Generated by ip6tables-save v1.8.9\n*filter\n:INPUT DROP [0:0]\n-A INPUT -s ::/0 -j ACCEPT\nCOMMIT\n");
    assert!(l.issues.is_empty(), "{:?}", l.issues);
    let rs = &l.ruleset;
    let outs = rs.evaluate(
        rs.pipeline(Hook::Input).unwrap(),
        &PacketBox {
            src: rs.address_space(),
            dst: rs.address_space(),
            ..PacketBox::full()
        },
    );
    assert!(outs.iter().all(|o| o.verdict == Verdict::Allow), "{outs:?}");

    let mut names = Resolver::default();
    names.insert("Internet", AddrSet::any());
    let spec = NsgSpec {
        rules: vec![NRule {
            priority: Some(100),
            inbound: false,
            allow: false,
            proto: 0,
            src: vec![NAddr::Pfx(Pfx::v6(0, 0))],
            dst: vec![NAddr::Star],
            sports: vec![NPort::Star],
            dports: vec![NPort::Star],
        }],
        doubt: None,
    };
    let sets = azure::lower(
        &[nsg_of(0, &spec)],
        &SourceText::new("n.json", ""),
        &names,
        &mut Vec::new(),
    );
    let rs = &sets[0];
    let outs = rs.evaluate(rs.pipeline(Hook::Output).unwrap(), &PacketBox::full());
    let verdict_of = |x: u128| {
        let p = Packet {
            src: x,
            ..tcp_from(0)
        };
        outs.iter().find(|o| o.space.contains(&p)).unwrap().verdict
    };
    assert_eq!(verdict_of(V4_BASE + 0x0a00_0001), Verdict::Allow); // AllowInternetOutBound
    assert_eq!(verdict_of(0x2001_0db8 << 96), Verdict::Deny);
}

/// Three `*` rules at priority 100 with destination ports, inbound: deny port 0 from anywhere,
/// deny port 0 from `0.0.0.0/0` or anywhere, allow port 65535. An ICMP packet from
/// 255.255.255.255 to an IPv6 address (outside VirtualNetwork, not the load balancer).
///
/// Azure does not say how the ports of a `*` rule apply to ICMP ([`IcmpPorts`]). If they are
/// ignored, the first rule denies; if they keep ICMP out, DenyAllInBound denies; but if they are
/// compared with a value the ICMP packet carries (one report says the ICMP type), a packet
/// whose value is 65535 is allowed by the third rule. So the answer is unknown, decided by the
/// first rule, the third or DenyAllInBound, never by the second (the first takes everything it
/// could match under any reading). The reference read the doubt as "ports ignored, or ports
/// never match" and said Deny (`PROPTEST_CASES=20000`, `oracle_azure_nsg`).
#[test]
fn regression_icmp_ports_of_any_rules_may_be_compared_with_a_value() {
    let any_rule = |allow: bool, src: Vec<NAddr>, port: u16| NRule {
        priority: Some(100),
        inbound: true,
        allow,
        proto: 0,
        src,
        dst: vec![NAddr::Star],
        sports: vec![NPort::Star],
        dports: vec![NPort::Range(port, port)],
    };
    let c = AzureCase {
        nsgs: vec![NsgSpec {
            rules: vec![
                any_rule(false, vec![NAddr::Star], 0),
                any_rule(false, vec![NAddr::Pfx(Pfx::v4(0, 0)), NAddr::Star], 0),
                any_rule(true, vec![NAddr::Star], 65535),
            ],
            doubt: None,
        }],
        tags: vec![Some(vec![Pfx::v4(0, 0)]), None, None, None],
        regions: vec![RegionSpec {
            src: None,
            dst: None,
            proto: None,
            sport: None,
            dport: None,
            state: None,
        }],
        seed: 0,
    };
    let p = Packet {
        src: V4_LAST,
        dst: 0x2001_0db8 << 96,
        proto: 1,
        sport: 0,
        dport: 0,
        state: 4,
        iif: 1,
        oif: 1,
    };
    let want = nsg_series_answer(&c, &[0], true, &p);
    assert_eq!(want.verdict, Verdict::Unknown, "{want:?}");
    for d in [
        Dec::Nsg(0, 0),
        Dec::Nsg(0, 2),
        Dec::NsgDefault(0, "DenyAllInBound"),
    ] {
        assert!(want.all.contains(&d), "{d:?} decides: {want:?}");
    }
    assert!(!want.all.contains(&Dec::Nsg(0, 1)), "{want:?}");
    run_azure(&c).unwrap();
}

/// Two NSGs in series, inbound. The subnet's: deny `*` from `::/0` to ports 0-80, allow `*` to
/// port 0; the NIC's: no rules. An ICMP packet from an IPv6 address. Under every reading of the
/// ICMP ports ([`IcmpPorts`]) the first NSG denies it (by its first rule or DenyAllInBound: a
/// value that is 0 is in 0-80 too). The model keeps each `*` rule's doubt apart, so the packet
/// may pass the first NSG by the allow, and then the second NSG's DenyAllInBound denies it: the
/// right verdict, named by the other NSG. Both answers are sound; the oracle accepted neither
/// while it required every decider of the exact reading of the in-between answer.
#[test]
fn regression_icmp_ports_of_any_rules_deny_in_another_nsg() {
    let any_rule = |allow: bool, src: NAddr, ports: (u16, u16)| NRule {
        priority: Some(100),
        inbound: true,
        allow,
        proto: 0,
        src: vec![src],
        dst: vec![NAddr::Star],
        sports: vec![NPort::Star],
        dports: vec![NPort::Range(ports.0, ports.1)],
    };
    let c = AzureCase {
        nsgs: vec![
            NsgSpec {
                rules: vec![
                    any_rule(false, NAddr::Pfx(Pfx::v6(0, 0)), (0, 80)),
                    any_rule(true, NAddr::Star, (0, 0)),
                ],
                doubt: None,
            },
            NsgSpec {
                rules: Vec::new(),
                doubt: None,
            },
        ],
        tags: vec![Some(vec![Pfx::v4(0, 0)]), None, None, None],
        regions: vec![RegionSpec {
            src: None,
            dst: None,
            proto: None,
            sport: None,
            dport: None,
            state: None,
        }],
        seed: 0,
    };
    let p = Packet {
        src: 1 << 112,
        dst: 0x2001_0db8 << 96,
        proto: 1,
        sport: 51327,
        dport: 65535,
        state: 2,
        iif: 1,
        oif: 1,
    };
    let want = nsg_series_answer(&c, &[0, 1], true, &p);
    assert_eq!(want.verdict, Verdict::Deny, "{want:?}");
    assert_eq!(
        want.all,
        vec![Dec::Nsg(0, 0), Dec::NsgDefault(0, "DenyAllInBound")]
    );
    run_azure(&c).unwrap();
}

/// The status and `allowed_sources` of one flow record of a connection-oracle audit.
fn conn_flow(text: &str, requirement: &str, direction: &str) -> (String, Vec<String>) {
    let report = conn_audit(text);
    let f = report
        .flows
        .iter()
        .find(|f| f.requirement == requirement && f.direction == direction)
        .unwrap_or_else(|| panic!("no {direction} flow {requirement}"));
    (f.status.name().to_string(), f.allowed_sources.to_vec())
}

const NAT_HEAD: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";

/// A NOTRACKed packet skips NAT: connection tracking never sees it, and NAT works on conntrack
/// entries (the raw table's help: "all the NAT functionalities are also lost"; iptables-extensions
/// NOTRACK / CT --notrack). So the DNAT below never applies, the request stays on INPUT, and
/// INPUT's DROP policy blocks it. The engine translates the untracked request anyway, sends it
/// through FORWARD (ACCEPT) and calls the flow allowed.
#[test]
fn regression_a_notracked_request_is_not_translated() {
    let text = format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j NOTRACK\nCOMMIT\n\
         {NAT_HEAD}-A PREROUTING -j DNAT --to-destination 172.17.0.2\nCOMMIT\n\
         *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    );
    assert_eq!(
        conn_flow(&text, "vsphere.zvm-vra-4005", "inbound"),
        ("blocked".to_string(), vec![])
    );
}

/// After a DNAT to a server behind the host, the server's replies come back through the host's
/// FORWARD chain, from the server's address (NAT is undone in POSTROUTING, after the filter), not
/// through OUTPUT: an OUTPUT DROP policy does not touch them, a FORWARD rule dropping the
/// server's address does. The engine checks the replies in OUTPUT from the host's address.
#[test]
fn regression_replies_of_a_dnat_elsewhere_come_back_through_forward() {
    let filter = |forward: &str, output: &str| {
        format!(
            "{NAT_HEAD}-A PREROUTING -j DNAT --to-destination 172.17.0.2\nCOMMIT\n\
             *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT {output} [0:0]\n{forward}COMMIT\n"
        )
    };
    let req = "vsphere.zvm-vra-4005";
    // the engine: blocked (its replies dropped by OUTPUT's policy)
    assert_eq!(conn_flow(&filter("", "DROP"), req, "inbound").0, "allowed");
    // the engine: allowed (OUTPUT accepts)
    assert_eq!(
        conn_flow(
            &filter("-A FORWARD -s 172.17.0.2/32 -j DROP\n", "ACCEPT"),
            req,
            "inbound"
        )
        .0,
        "blocked"
    );
}

/// After a REDIRECT (or a DNAT to the host's own address with a port), the local server answers
/// from the port it listens on; filter OUTPUT sees that port (the reply's source is rewritten
/// back only in POSTROUTING). An OUTPUT that accepts `--sport 8443` lets the replies of a
/// 9669 connection redirected to 8443 out. The engine checks them from port 9669.
#[test]
fn regression_replies_of_a_redirect_leave_from_the_port_served() {
    let text = format!(
        "{NAT_HEAD}-A PREROUTING -p tcp -m tcp --dport 9669 -j REDIRECT --to-ports 8443\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n\
         -A OUTPUT -p tcp -m tcp --sport 8443 -j ACCEPT\nCOMMIT\n"
    );
    assert_eq!(
        conn_flow(&text, "vsphere.admin-client-zvm-9669", "inbound").0,
        "allowed"
    );
}

/// The nat table sees only the first packet of a connection (iptables(8): "nat: this table is
/// consulted when a packet that creates a new connection is encountered"): the ESTABLISHED
/// replies of an outbound connection never meet a DNAT in nat PREROUTING and go to INPUT. The
/// engine translates them and sends them through FORWARD (DROP).
#[test]
fn regression_replies_never_meet_the_nat_table() {
    let text = format!(
        "{NAT_HEAD}-A PREROUTING -p tcp -m tcp --sport 443 -j DNAT --to-destination 172.17.0.2\nCOMMIT\n\
         *filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    );
    assert_eq!(
        conn_flow(&text, "vsphere.zvm-vcenter-443", "outbound").0,
        "allowed"
    );
}

/// An untracked TCP request's reply has no conntrack entry: its SYN-ACK opens none (INVALID)
/// and its later segments are picked up mid-stream (NEW, `nf_conntrack_tcp_loose = 1`). Every
/// connection has both, so an OUTPUT that accepts NEW but not INVALID lets no connection work:
/// the flow is blocked. The engine evaluates the two states as one region of replies and says
/// partial.
#[test]
fn regression_untracked_tcp_reply_needs_its_syn_ack_and_its_later_segments() {
    let text = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j NOTRACK\nCOMMIT\n\
                *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n\
                -A OUTPUT -m conntrack --ctstate NEW,ESTABLISHED,RELATED,UNTRACKED -j ACCEPT\nCOMMIT\n";
    assert_eq!(
        conn_flow(text, "vsphere.zvm-vra-4005", "inbound").0,
        "blocked"
    );
}

/// A request admitted only from client port 4005 (`--sport 4005`) whose replies to client ports
/// 1024-32767 are dropped: no connection works (the only one let in has its replies dropped).
/// The engine checks the replies to every client port 1024-65535, finds some that pass and says
/// partial.
#[test]
fn regression_replies_to_the_admitted_client_ports_decide() {
    let text = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A OUTPUT -p tcp -m tcp --dport 1024:32767 -j DROP\nCOMMIT\n\
                *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -p tcp -m tcp --sport 4005 -j ACCEPT\nCOMMIT\n";
    assert_eq!(
        conn_flow(text, "vsphere.zvm-vra-4005", "inbound").0,
        "blocked"
    );
}

/// The raw table runs before connection tracking: a state match there sees a packet with no
/// conntrack entry (the kernel's state match calls that INVALID), or UNTRACKED once a NOTRACK
/// marked it. So `--ctstate NEW -j NOTRACK` in raw never matches: the request is tracked, NEW,
/// and INPUT's NEW accept admits it. The engine matched the raw rule against the packet's own
/// state (NEW), NOTRACKed the request and blocked the flow. Fixed in the iptables lowering
/// (`matches::raw_state_view`). (INPUT accepts ESTABLISHED too: the client's ACK and data after
/// its SYN are ESTABLISHED, and a chain accepting only NEW would break every connection.)
#[test]
fn regression_a_state_match_in_raw_sees_no_connection_yet() {
    let flow = |raw: &str| {
        let text = format!(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}COMMIT\n\
             *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n\
             -A INPUT -m conntrack --ctstate NEW -j ACCEPT\n\
             -A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT\n\
             -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
             -A OUTPUT -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n"
        );
        conn_flow(&text, "vsphere.zvm-vra-4005", "inbound").0
    };
    // NEW is never seen in raw: nothing is NOTRACKed, the connection is tracked and works
    assert_eq!(
        flow("-A PREROUTING -m conntrack --ctstate NEW -j NOTRACK\n"),
        "allowed"
    );
    // ESTABLISHED neither: the replies are not NOTRACKed and OUTPUT's ESTABLISHED accept sees them
    assert_eq!(
        flow("-A OUTPUT -m state --state ESTABLISHED -j NOTRACK\n"),
        "allowed"
    );
    // INVALID is what raw sees: the request is NOTRACKed, its replies are NEW or INVALID and
    // OUTPUT (ESTABLISHED only) drops them
    assert_eq!(
        flow("-A PREROUTING -m conntrack --ctstate INVALID -j NOTRACK\n"),
        "blocked"
    );
    // and `! --ctstate INVALID` nothing
    assert_eq!(
        flow("-A PREROUTING -m conntrack ! --ctstate INVALID -j NOTRACK\n"),
        "allowed"
    );
    // after a NOTRACK, UNTRACKED: the second rule drops the request
    assert_eq!(
        flow("-A PREROUTING -j NOTRACK\n-A PREROUTING -m state --state UNTRACKED -j DROP\n"),
        "blocked"
    );
}
