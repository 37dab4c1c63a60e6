//! A ruleset: every policy read from one input, and the pipelines a packet passes through them.
//!
//! On a Linux host an incoming packet passes `raw/PREROUTING`, `mangle/PREROUTING`,
//! `mangle/INPUT`, `filter/INPUT` and `security/INPUT` in turn, and it is delivered only when
//! every stage lets it through. An Azure NIC is guarded by its subnet's NSG, then its own. A
//! [`Pipeline`] is that sequence; [`Ruleset::evaluate`] composes the stages exactly.

use super::addr::Family;
use super::conntrack::Seen;
use super::iface::Interfaces;
use super::policy::{Decider, Hook, Policy, Verdict};
use super::rule::{ChainId, RuleId};
use super::space::PacketBox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub policy: usize,
    pub chain: ChainId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// The name reports use: `filter/INPUT`, `nsg-zvm (inbound)`.
    pub name: String,
    pub hook: Hook,
    pub stages: Vec<Stage>,
    /// For packets a translating stage of `stages` sends away from the host (a `DNAT` to another
    /// address before `INPUT`): the stages they pass instead, the same up to and including that
    /// stage, then the forwarding path. Empty when nothing diverts.
    pub diverted: Vec<Stage>,
}

/// Which platform a ruleset came from: what decides its semantics, its defaults, the syntax of
/// its fixes and the native references of its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Platform {
    /// iptables / ip6tables (`iptables-save`): tables, chains, first match.
    #[default]
    Iptables,
    /// An Azure network security group.
    AzureNsg,
    /// AWS security groups: allow rules only, unioned.
    AwsSecurityGroup,
    /// An AWS network ACL: numbered rules, first match, stateless.
    AwsNetworkAcl,
    /// Windows Defender Firewall.
    WindowsFirewall,
    /// nftables (`nft list ruleset`, `nft -j list ruleset`): base chains of all tables of the
    /// packet's family in priority order, an accept ending only its base chain.
    Nftables,
}

impl Platform {
    pub fn name(&self) -> &'static str {
        match self {
            Platform::Iptables => "iptables",
            Platform::AzureNsg => "azure-nsg",
            Platform::AwsSecurityGroup => "aws-security-group",
            Platform::AwsNetworkAcl => "aws-network-acl",
            Platform::WindowsFirewall => "windows-firewall",
            Platform::Nftables => "nftables",
        }
    }

    /// Addresses the platform keeps for itself, which no peer of a flow can have: on Azure the
    /// virtual public address 168.63.129.16 (DNS, DHCP, health probes of the load balancer).
    pub fn reserved_addresses(&self) -> super::addr::AddrSet {
        match self {
            Platform::AzureNsg => super::addr::AddrSet::parse("168.63.129.16/32")
                .unwrap_or_else(|_| super::addr::AddrSet::empty()),
            _ => super::addr::AddrSet::empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    pub platform: Platform,
    /// For a Windows Defender Firewall profile: `domain`, `private` or `public`.
    pub profile: Option<String>,
    /// The firewall's own name when a file holds several (an NSG, a security group); `None` for
    /// a whole iptables dump.
    pub name: Option<String>,
    /// Stateless filters (AWS network ACLs): replies are not admitted by connection tracking, so a
    /// flow also needs its return path (checked by the audit).
    pub stateless: bool,
    /// Shared (an `Arc` each): a remedy's trial copy changes one policy and shares the rest.
    pub policies: Vec<std::sync::Arc<Policy>>,
    pub pipelines: Vec<Pipeline>,
    /// The interface classes every policy of this ruleset uses.
    pub interfaces: Interfaces,
    /// The address family this ruleset filters, when it filters one only.
    pub family: Option<Family>,
}

/// A decider anywhere in a ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct At {
    pub policy: usize,
    pub decider: Decider,
}

/// The deciders of an outcome: almost always one (see [`super::policy::Deciders`]).
pub type AtList = smallvec::SmallVec<[At; 1]>;

/// One piece of a region evaluated through a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub space: PacketBox,
    pub verdict: Verdict,
    pub deciders: AtList,
    /// Jumps, gotos and returns taken, in order, per policy.
    pub via: Vec<(usize, RuleId)>,
    pub reasons: Vec<String>,
    /// The state the packets of `space` were last seen in (after a NOTRACK: `Untracked`), and
    /// what is known of their mark (after a MARK).
    pub seen: Seen,
    /// The destination later stages saw, when a NAT rule rewrote it (`model::nat`).
    pub nat: Option<super::nat::Translated>,
    /// A NAT rule sent the packets away from the host: they took `Pipeline::diverted`.
    pub diverted: bool,
}

impl Ruleset {
    /// What a report reads of an audited ruleset: its platform, names, pipelines and the names
    /// of its policies' entries, without the chains and rules (a directory of many files is
    /// audited a batch at a time and keeps only this of each batch's rulesets).
    pub fn skeleton(&self) -> Ruleset {
        let policies = self
            .policies
            .iter()
            .map(|p| {
                std::sync::Arc::new(Policy {
                    name: p.name.clone(),
                    family: p.family,
                    semantics: p.semantics,
                    chains: Vec::new(),
                    rules: Vec::new(),
                    entries: p.entries.clone(),
                    union_cache: Default::default(),
                })
            })
            .collect();
        Ruleset {
            platform: self.platform,
            profile: self.profile.clone(),
            name: self.name.clone(),
            stateless: self.stateless,
            policies,
            pipelines: self.pipelines.clone(),
            interfaces: self.interfaces.clone(),
            family: self.family,
        }
    }

    /// A ruleset of one policy (an NSG, a security group, a Windows profile): one pipeline per
    /// entry of the policy, named like the entry, with that one stage.
    pub fn of_policy(
        platform: Platform,
        name: Option<String>,
        policy: Policy,
        stateless: bool,
    ) -> Ruleset {
        let pipelines = policy
            .entries
            .iter()
            .map(|e| Pipeline {
                name: e.name.clone(),
                hook: e.hook,
                stages: vec![Stage {
                    policy: 0,
                    chain: e.chain,
                }],
                diverted: Vec::new(),
            })
            .collect();
        Ruleset {
            platform,
            profile: None,
            name,
            stateless,
            policies: vec![std::sync::Arc::new(policy)],
            pipelines,
            interfaces: Interfaces::default(),
            family: None,
        }
    }

    /// Several allow-only rulesets attached to one host (AWS security groups): a packet is allowed
    /// when any of them allows it. Chains of the same name are concatenated (their rules are all
    /// allows ending in the implicit deny), so first match over the result is the union.
    pub fn union_of(name: Option<String>, sets: &[Ruleset]) -> Ruleset {
        let mut policy = Policy {
            name: name.clone().unwrap_or_else(|| "union".into()),
            family: None,
            semantics: super::policy::Semantics::AllowUnion,
            chains: Vec::new(),
            rules: Vec::new(),
            entries: Vec::new(),
            union_cache: Default::default(),
        };
        for rs in sets {
            for p in &rs.policies {
                for c in &p.chains {
                    let ci = match policy.chain_by_name(&c.name) {
                        Some(i) => i,
                        None => {
                            policy.chains.push(super::policy::Chain {
                                name: c.name.clone(),
                                policy: c.policy,
                                decl: c.decl.clone(),
                                rules: Vec::new(),
                            });
                            policy.chains.len() - 1
                        }
                    };
                    for &r in &c.rules {
                        policy.chains[ci].rules.push(policy.rules.len());
                        policy.rules.push(p.rules[r].clone());
                    }
                }
                for e in &p.entries {
                    if policy.entry(e.hook).is_none() {
                        if let Some(ci) = p
                            .chains
                            .get(e.chain)
                            .and_then(|c| policy.chain_by_name(&c.name))
                        {
                            policy.entries.push(super::policy::Entry {
                                name: e.name.clone(),
                                hook: e.hook,
                                chain: ci,
                            });
                        }
                    }
                }
            }
        }
        if let Some(n) = &name {
            for e in &mut policy.entries {
                e.name = format!("{n}/{}", policy.chains[e.chain].name);
            }
        }
        Ruleset::of_policy(
            sets.first().map(|s| s.platform).unwrap_or_default(),
            name,
            policy,
            sets.iter().any(|s| s.stateless),
        )
    }

    /// Firewalls in series (an Azure subnet NSG, then the NIC's NSG): inbound traffic passes them
    /// in the given order, outbound in the reverse order, and must be allowed by each.
    pub fn in_series(name: Option<String>, sets: &[Ruleset]) -> Ruleset {
        let mut out = Ruleset {
            platform: sets.first().map(|s| s.platform).unwrap_or_default(),
            profile: None,
            name,
            stateless: sets.iter().any(|s| s.stateless),
            policies: Vec::new(),
            pipelines: Vec::new(),
            interfaces: Interfaces::default(),
            family: None,
        };
        let mut stages: Vec<(Hook, Vec<Stage>, Vec<String>)> = Vec::new();
        for rs in sets {
            let base = out.policies.len();
            out.policies.extend(rs.policies.iter().cloned());
            for p in &rs.pipelines {
                let shifted: Vec<Stage> = p
                    .stages
                    .iter()
                    .map(|s| Stage {
                        policy: s.policy + base,
                        chain: s.chain,
                    })
                    .collect();
                match stages.iter_mut().find(|(h, _, _)| *h == p.hook) {
                    Some((_, st, names)) => {
                        if p.hook == Hook::Output {
                            let mut v = shifted;
                            v.append(st);
                            *st = v;
                            names.insert(0, p.name.clone());
                        } else {
                            st.extend(shifted);
                            names.push(p.name.clone());
                        }
                    }
                    None => stages.push((p.hook, shifted, vec![p.name.clone()])),
                }
            }
        }
        out.pipelines = stages
            .into_iter()
            .map(|(hook, stages, names)| Pipeline {
                name: names.join(" + "),
                hook,
                stages,
                diverted: Vec::new(),
            })
            .collect();
        out
    }

    /// Do the replies of a connection this ruleset admits have to pass its rules too? On an
    /// iptables host they do: connection tracking only labels them ESTABLISHED, and the reverse
    /// hook's chains must accept that (a `:OUTPUT DROP` with no ESTABLISHED accept drops them).
    /// A stateless filter (an AWS network ACL) checks them like any packet. Azure NSGs, AWS
    /// security groups and Windows Defender Firewall are stateful: the replies of an allowed
    /// connection are let through whatever the rules say.
    pub fn replies_filtered(&self) -> bool {
        self.stateless || matches!(self.platform, Platform::Iptables | Platform::Nftables)
    }

    /// The rule a decider names (`None` for a chain policy).
    pub fn rule(&self, at: At) -> Option<&super::rule::Rule> {
        let p = self.policies.get(at.policy)?;
        match at.decider {
            Decider::Rule(r) | Decider::Loop(r) => p.rules.get(r),
            Decider::ChainPolicy(_) => None,
        }
    }

    /// Where a decider was written: the rule, or the chain's declaration for its policy.
    pub fn provenance(&self, at: At) -> Option<&super::rule::Provenance> {
        match at.decider {
            Decider::ChainPolicy(c) => self.policies.get(at.policy)?.chains.get(c).map(|c| &c.decl),
            _ => self.rule(at).map(|r| &r.prov),
        }
    }

    pub fn pipeline(&self, hook: Hook) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.hook == hook)
    }

    /// The whole address space this ruleset filters (one family, or both).
    pub fn address_space(&self) -> super::addr::AddrSet {
        match self.family {
            Some(f) => super::addr::AddrSet::any_of(f),
            None => super::addr::AddrSet::any(),
        }
    }

    /// Evaluate `region` through every stage of `pipeline`. A piece denied by a stage is denied;
    /// a piece allowed (or unknown) goes on to the next stage; the last stage's answer stands,
    /// except that unknown-then-allowed stays unknown. A rule that changes the state its packets
    /// are seen in (NOTRACK) changes it for the later stages too ([`Outcome::seen`]), and so does
    /// a NAT rule for their destination ([`Outcome::nat`]); each piece's `space` stays the packets
    /// as they arrived. A pipeline with no stages allows everything. The host's addresses are
    /// taken as unknown: a DNAT to any address but loopback leaves it ([`Ruleset::evaluate_with`]).
    pub fn evaluate(&self, pipeline: &Pipeline, region: &PacketBox) -> Vec<Outcome> {
        self.evaluate_with(pipeline, region, &super::addr::AddrSet::loopback())
    }

    /// [`Ruleset::evaluate`] on a host whose own addresses are `local`: a piece a NAT rule
    /// translates to another address goes on through `pipeline.diverted` (FORWARD).
    pub fn evaluate_with(
        &self,
        pipeline: &Pipeline,
        region: &PacketBox,
        local: &super::addr::AddrSet,
    ) -> Vec<Outcome> {
        self.evaluate_tracked(pipeline, region, local, None)
    }

    /// [`Ruleset::evaluate_with`] for later packets of a connection whose first packet a nat
    /// stage translated (`tracked`, the destination part): conntrack translates them the same at
    /// the first nat stage without consulting its rules (which see only a connection's first
    /// packet), and stages after it see the translated destination.
    pub fn evaluate_tracked(
        &self,
        pipeline: &Pipeline,
        region: &PacketBox,
        local: &super::addr::AddrSet,
        tracked: Option<super::nat::Translated>,
    ) -> Vec<Outcome> {
        self.run_stages(pipeline, region, local, tracked, false).1
    }

    /// The first stage of `pipeline` (an index in its `stages`) that denies part of `region`,
    /// with the pieces it denies: what evaluating the pipeline cut after each stage in turn
    /// finds (the first cut that denies), in one evaluation that stops there. The cut pipelines
    /// have no diverted path: `pipeline.diverted` is not taken.
    pub fn first_deny(
        &self,
        pipeline: &Pipeline,
        region: &PacketBox,
    ) -> Option<(usize, Vec<Outcome>)> {
        let (step, denied) = self.run_stages(
            pipeline,
            region,
            &super::addr::AddrSet::loopback(),
            None,
            true,
        );
        step.map(|k| (k, denied))
    }

    /// The stages of [`Ruleset::evaluate_tracked`]; with `stop_at_deny`, the first step whose
    /// pieces include a denied one returns that step and its denied pieces, and the diverted
    /// path is not taken ([`Ruleset::first_deny`]).
    fn run_stages(
        &self,
        pipeline: &Pipeline,
        region: &PacketBox,
        local: &super::addr::AddrSet,
        tracked: Option<super::nat::Translated>,
        stop_at_deny: bool,
    ) -> (Option<usize>, Vec<Outcome>) {
        let diverted: &[_] = if stop_at_deny {
            &[]
        } else {
            &pipeline.diverted
        };
        let first_nat = pipeline.stages.iter().position(|st| {
            self.policies
                .get(st.policy)
                .is_some_and(|p| p.semantics == super::policy::Semantics::Translate)
        });
        // what conntrack does to a piece that passes the first nat stage untouched
        let conntrack = |mut o: Outcome, step: usize| -> Outcome {
            let Some(t) = tracked.filter(|_| Some(step) == first_nat) else {
                return o;
            };
            // an untracked packet has no entry to be translated by
            if o.seen.state == super::conntrack::Tracking::As(super::ports::ConnState::Untracked) {
                return o;
            }
            o.nat = Some(match o.nat {
                Some(b) => b.then(t),
                None => t,
            });
            if !o.diverted && t.to.leaves(local) && !diverted.is_empty() {
                o.diverted = true;
                self.routed_on(&mut o.space);
            }
            o
        };
        let mut current = vec![Outcome {
            space: region.clone(),
            verdict: Verdict::Allow,
            deciders: Default::default(),
            via: Vec::new(),
            reasons: Vec::new(),
            seen: Seen::OWN,
            nat: None,
            diverted: false,
        }];
        let mut done = Vec::new();
        let steps = pipeline.stages.len().max(diverted.len());
        for step in 0..steps {
            let mut next = Vec::new();
            for before in current {
                if before.verdict == Verdict::Deny {
                    done.push(before);
                    continue;
                }
                let stages: &[_] = if before.diverted {
                    diverted
                } else {
                    &pipeline.stages
                };
                let Some(stage) = stages.get(step) else {
                    next.push(before);
                    continue;
                };
                let Some(policy) = self.policies.get(stage.policy) else {
                    next.push(before);
                    continue;
                };
                let translating = policy.semantics == super::policy::Semantics::Translate;
                // the nat table sees only the packet that opens a connection (state NEW, as
                // the stages before left it): every other packet passes it untouched
                let mut before = if translating {
                    match split_new(before) {
                        (Some(new), rest) => {
                            next.extend(rest.map(|r| conntrack(r, step)));
                            new
                        }
                        (None, rest) => {
                            next.extend(rest.map(|r| conntrack(r, step)));
                            continue;
                        }
                    }
                } else {
                    before
                };
                // a stage sees the packets in the state and with the destination the stages
                // before it left them
                // (without a translation, the pieces are this stage's own: `before.space` is
                // not read again, so it is handed over, not copied)
                let view = match &before.nat {
                    Some(t) => t.to.view(&before.space),
                    None => std::mem::take(&mut before.space),
                };
                let pieces = policy.evaluate_owned(stage.chain, view, before.seen);
                // a blocklist decides a flow in tens of thousands of pieces: grow once
                next.reserve(pieces.len());
                for piece in pieces {
                    let at = |d: &Decider| At {
                        policy: stage.policy,
                        decider: *d,
                    };
                    let translated = if translating {
                        super::nat::translation_of(policy, stage.policy, &piece.deciders)
                    } else {
                        Ok(None)
                    };
                    let mut o = Outcome {
                        space: match &before.nat {
                            Some(t) => t.to.restore(piece.space, &before.space),
                            None => piece.space,
                        },
                        verdict: piece.verdict,
                        // a nat stage never filters: what it lets through keeps the deciders
                        // of the stages before (Z204 names the NAT rule, `Outcome::nat`)
                        deciders: if translating && piece.verdict == Verdict::Allow {
                            before.deciders.clone()
                        } else {
                            piece.deciders.iter().map(at).collect()
                        },
                        // the path and reasons of the stages before, then this stage's: each
                        // made at its length (a copy then grown reallocates most of them)
                        via: joined(&before.via, piece.via.iter().map(|r| (stage.policy, *r))),
                        reasons: joined(&before.reasons, piece.reasons),
                        seen: piece.seen,
                        nat: before.nat,
                        diverted: before.diverted,
                    };
                    match translated {
                        Ok(Some(t)) if o.verdict != Verdict::Deny => {
                            let now = match before.nat {
                                Some(b) => b.then(t),
                                None => t,
                            };
                            let to = now.to;
                            o.nat = Some(now);
                            if !o.diverted && to.leaves(local) && !diverted.is_empty() {
                                o.diverted = true;
                                self.routed_on(&mut o.space);
                            }
                        }
                        // a doubt about the source only (SNAT, MASQUERADE) changes nothing a
                        // later stage of this host filters
                        Err(d) if o.verdict != Verdict::Deny && d.destination => {
                            let why = d.why;
                            // which destination later stages see is not known: none settles it
                            o.verdict = Verdict::Unknown;
                            o.seen.state = super::conntrack::Tracking::Undecided;
                            o.reasons.push(why);
                        }
                        _ => {}
                    }
                    if before.verdict == Verdict::Unknown {
                        // an earlier stage could not decide: only a later deny settles it, and
                        // not even that when the earlier stage left the state undecided
                        if o.verdict != Verdict::Deny || before.seen.is_undecided() {
                            o.verdict = Verdict::Unknown;
                            let mut d = before.deciders.clone();
                            d.extend(o.deciders);
                            o.deciders = d;
                        }
                    }
                    next.push(o);
                }
            }
            // every piece denied before this step went to `done` (and stopped the evaluation)
            if stop_at_deny && next.iter().any(|o| o.verdict == Verdict::Deny) {
                next.retain(|o| o.verdict == Verdict::Deny);
                return (Some(step), next);
            }
            current = next;
        }
        if stop_at_deny {
            return (None, Vec::new());
        }
        if done.is_empty() {
            return (None, current);
        }
        done.extend(current);
        (None, done)
    }
}

impl Ruleset {
    /// A piece a DNAT sends on to another address is routed: it leaves by an interface
    /// (`iface::NONE` was the output interface of a packet for the host).
    fn routed_on(&self, space: &mut PacketBox) {
        let none = super::iface::none();
        if space.oif.intersects(&none) {
            space.oif = space
                .oif
                .difference(&none)
                .union(&self.interfaces.non_loopback());
        }
    }
}

/// `o` split into the packets a nat stage sees (state NEW after the stages before: the packet
/// that opens a connection; `model::nat`) and the rest, which pass it untouched. A piece whose
/// state an undecidable rule left undecided goes through the nat stage (it stays unknown).
fn split_new(o: Outcome) -> (Option<Outcome>, Option<Outcome>) {
    use super::conntrack::Tracking;
    use super::ports::ConnState;
    match o.seen.state {
        Tracking::As(ConnState::New) | Tracking::Undecided => (Some(o), None),
        Tracking::As(_) => (None, Some(o)),
        Tracking::Own => {
            let new = ConnState::New.set();
            if o.space.state.difference(&new).is_empty() {
                return (Some(o), None);
            }
            if !o.space.state.intersects(&new) {
                return (None, Some(o));
            }
            let mut rest = o.clone();
            rest.space.state = o.space.state.difference(&new);
            let mut n = o;
            n.space.state = n.space.state.intersect(&new);
            (Some(n), Some(rest))
        }
    }
}

/// `first`, then `then`, in a list made at their joint length.
fn joined<T: Clone>(
    first: &[T],
    then: impl IntoIterator<Item = T, IntoIter: ExactSizeIterator>,
) -> Vec<T> {
    let then = then.into_iter();
    let mut v = Vec::with_capacity(first.len() + then.len());
    v.extend_from_slice(first);
    v.extend(then);
    v
}
