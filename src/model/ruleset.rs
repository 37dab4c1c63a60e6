//! A ruleset: every policy read from one input, and the pipelines a packet passes through them.
//!
//! On a Linux host an incoming packet passes `raw/PREROUTING`, `mangle/PREROUTING`,
//! `mangle/INPUT`, `filter/INPUT` and `security/INPUT` in turn, and it is delivered only when
//! every stage lets it through. An Azure NIC is guarded by its subnet's NSG, then its own. A
//! [`Pipeline`] is that sequence; [`Ruleset::evaluate`] composes the stages exactly.

use super::addr::Family;
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    pub policies: Vec<Policy>,
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

/// One piece of a region evaluated through a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub space: PacketBox,
    pub verdict: Verdict,
    pub deciders: Vec<At>,
    /// Jumps, gotos and returns taken, in order, per policy.
    pub via: Vec<(usize, RuleId)>,
    pub reasons: Vec<String>,
}

impl Ruleset {
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
    /// except that unknown-then-allowed stays unknown. A pipeline with no stages allows everything.
    pub fn evaluate(&self, pipeline: &Pipeline, region: &PacketBox) -> Vec<Outcome> {
        let mut current = vec![Outcome {
            space: region.clone(),
            verdict: Verdict::Allow,
            deciders: Vec::new(),
            via: Vec::new(),
            reasons: Vec::new(),
        }];
        let mut done = Vec::new();
        for stage in &pipeline.stages {
            let Some(policy) = self.policies.get(stage.policy) else {
                continue;
            };
            let mut next = Vec::new();
            for before in current {
                if before.verdict == Verdict::Deny {
                    done.push(before);
                    continue;
                }
                for piece in policy.evaluate(stage.chain, &before.space) {
                    let at = |d: &Decider| At {
                        policy: stage.policy,
                        decider: *d,
                    };
                    let mut o = Outcome {
                        space: piece.space,
                        verdict: piece.verdict,
                        deciders: piece.deciders.iter().map(at).collect(),
                        via: before.via.clone(),
                        reasons: before.reasons.clone(),
                    };
                    o.via.extend(piece.via.iter().map(|r| (stage.policy, *r)));
                    o.reasons.extend(piece.reasons);
                    if before.verdict == Verdict::Unknown {
                        // an earlier stage could not decide: only a later deny settles it
                        if o.verdict != Verdict::Deny {
                            o.verdict = Verdict::Unknown;
                            let mut d = before.deciders.clone();
                            d.extend(o.deciders);
                            o.deciders = d;
                        }
                    }
                    next.push(o);
                }
            }
            current = next;
        }
        done.extend(current);
        done
    }
}
