//! The fixes of one audited firewall, made one flow at a time in a fixed order ([`Batch`]): what
//! an earlier fix uses (an Azure priority and rule name, a network ACL rule number) is not
//! handed out again, and the numbered fixes are then verified together.

use std::collections::HashMap;

use super::{apply, compute, opens, still_denied, Add, Checked, Remedy};
use crate::engine::reach::{Reach, Region};
use crate::engine::FlowRecord;
use crate::model::{ChainId, NativeRef, PacketBox, Pipeline, Ruleset};

/// The numbers (Azure priorities, network ACL rule numbers, per policy and chain: per NSG or
/// ACL and direction) and the Azure rule names (per NSG) the firewall's earlier fixes use.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    numbers: HashMap<(usize, ChainId), Vec<u32>>,
    names: HashMap<usize, Vec<String>>,
}

impl Taken {
    /// The numbers earlier fixes put in this chain of this policy.
    pub(crate) fn numbers(&self, policy: usize, chain: ChainId) -> &[u32] {
        self.numbers
            .get(&(policy, chain))
            .map_or(&[], |v| v.as_slice())
    }

    /// An earlier fix names a rule of this policy so (Azure: case-insensitively).
    pub(crate) fn has_name(&self, policy: usize, name: &str) -> bool {
        self.names
            .get(&policy)
            .is_some_and(|v| v.iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Take what `adds` use; whether any of them is numbered.
    fn record(&mut self, adds: &[Add]) -> bool {
        let mut numbered = false;
        for a in adds {
            let n = match &a.rule.native {
                NativeRef::Nsg { name, priority } => {
                    self.names.entry(a.policy).or_default().push(name.clone());
                    *priority
                }
                NativeRef::NetworkAcl { number, .. } => *number,
                _ => continue,
            };
            self.numbers.entry((a.policy, a.chain)).or_default().push(n);
            numbered = true;
        }
        numbered
    }
}

/// The remedies of one firewall's flows, computed in order ([`Batch::compute`]) and then checked
/// together ([`Batch::finish`]).
pub struct Batch<'a> {
    rs: &'a Ruleset,
    taken: Taken,
    /// How many remedies were asked for.
    asked: usize,
    /// The numbered fixes: which remedy (by order asked) and what it was verified against.
    numbered: Vec<(usize, Checked)>,
}

impl<'a> Batch<'a> {
    pub fn new(rs: &'a Ruleset) -> Self {
        Batch {
            rs,
            taken: Taken::default(),
            asked: 0,
            numbered: Vec::new(),
        }
    }

    /// The remedy of the next flow (see [`compute`]): its numbers and names are not used by the
    /// earlier fixes of this batch.
    pub fn compute(
        &mut self,
        rec: &FlowRecord,
        region: &Region,
        reach: &Reach,
        pipeline: &Pipeline,
    ) -> Option<Remedy> {
        let at = self.asked;
        self.asked += 1;
        let (remedy, checked) = compute(rec, region, reach, self.rs, pipeline, &self.taken)?;
        if let Some(c) = checked {
            if self.taken.record(&c.adds) {
                self.numbered.push((at, c));
            }
        }
        Some(remedy)
    }

    /// Verify the numbered fixes together: all of them applied to one copy of the ruleset, each
    /// flow is allowed (its replies too on a stateless filter) and nothing outside their denied
    /// regions opens. `remedies` are what [`Batch::compute`] returned, in order. Should the whole
    /// set fail, the fixes are taken in order and one that does not hold with those kept before
    /// it becomes a [`Remedy::Cannot`]; the others' `verified` says they were checked together.
    pub fn finish(self, remedies: &mut [Option<Remedy>]) {
        if self.numbered.len() < 2 {
            return;
        }
        let all: Vec<&Checked> = self.numbered.iter().map(|(_, c)| c).collect();
        let kept: Vec<usize> = if together(self.rs, &all).is_ok() {
            (0..all.len()).collect()
        } else {
            let mut kept: Vec<usize> = Vec::new();
            for k in 0..all.len() {
                let trial: Vec<&Checked> = kept.iter().chain([&k]).map(|&i| all[i]).collect();
                match together(self.rs, &trial) {
                    Ok(()) => kept.push(k),
                    Err(why) => {
                        if let Some(r) = remedies.get_mut(self.numbered[k].0) {
                            *r = Some(Remedy::Cannot(format!(
                                "on its own the fix verifies, but together with the firewall's other fixes {why}"
                            )));
                        }
                    }
                }
            }
            kept
        };
        if kept.len() < 2 {
            return;
        }
        for &k in &kept {
            if let Some(Some(Remedy::Fix(f))) = remedies.get_mut(self.numbered[k].0) {
                f.verified.push_str(&format!(
                    "; applied together with the firewall's {} other numbered fix(es), every one of their flows is allowed and nothing else opens",
                    kept.len() - 1
                ));
            }
        }
    }
}

/// `checks` applied together to a copy of `rs`: every flow (and its replies) passes, and nothing
/// outside their denied regions opens; or why not.
fn together(rs: &Ruleset, checks: &[&Checked]) -> Result<(), String> {
    let adds: Vec<Add> = checks.iter().flat_map(|c| c.adds.iter().cloned()).collect();
    let after = apply(rs, &adds);
    for c in checks {
        let pl = after
            .pipeline(c.hook)
            .ok_or("the firewall has no pipeline for one of their directions")?;
        let now = still_denied(&after, pl, &c.region)
            .map_err(|l| format!("{l} still denies one of their flows"))?;
        if c.later {
            super::later::pass(&after, pl, &now)
                .map_err(|l| format!("{l} still drops the later packets of one of their flows"))?;
        }
        if let Some(r) = &c.replies {
            let bp = after
                .pipeline(c.hook.reverse())
                .ok_or("the firewall has no pipeline for the replies")?;
            still_denied(&after, bp, r)
                .map_err(|l| format!("{l} still drops the replies of one of their flows"))?;
        }
    }
    let targets: Vec<PacketBox> = checks.iter().flat_map(|c| c.targets.clone()).collect();
    opens(rs, &after, &adds, &targets)
}
