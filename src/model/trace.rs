//! The trace of one packet through a policy: every rule visited in order, whether it matched and,
//! when it did not, which dimension ruled it out. `portolan query` traces one packet of each piece
//! of a region: all packets of a piece take the same path, because evaluation splits a region at
//! every rule it meets.

use super::conntrack::Seen;
use super::policy::{Policy, Verdict};
use super::rule::{Action, ChainId, RuleId};
use super::space::{Packet, PacketBox};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The rule did not match; the dimension that ruled it out.
    NoMatch(&'static str),
    /// The rule matched and did this.
    Matched(Action),
    /// The packet is inside the rule's box but the rule has conditions the engine cannot decide;
    /// the trace goes on as if it did not match (the verdict accounts for both outcomes).
    Undecidable(String),
    /// A user chain ended (or RETURNed) and evaluation went back to the caller.
    Returned(ChainId),
    /// A built-in chain's policy decided.
    Policy(ChainId, Verdict),
    /// A jump into a chain already being evaluated.
    Loop(ChainId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub chain: ChainId,
    pub rule: Option<RuleId>,
    pub event: Event,
}

/// The first dimension of `b` that does not hold `p`.
pub fn mismatch(b: &PacketBox, p: &Packet) -> Option<&'static str> {
    if !b.proto.contains(p.proto) {
        return Some("protocol");
    }
    if !b.src.0.contains(p.src) {
        return Some("source address");
    }
    if !b.dst.0.contains(p.dst) {
        return Some("destination address");
    }
    if !b.dport.contains(p.dport) {
        return Some("destination port");
    }
    if !b.sport.contains(p.sport) {
        return Some("source port");
    }
    if !b.state.contains(p.state) {
        return Some("connection state");
    }
    if !b.iif.contains(p.iif) {
        return Some("input interface");
    }
    if !b.oif.contains(p.oif) {
        return Some("output interface");
    }
    None
}

/// A call stack of (chain, index of the next rule to look at).
type Stack = Vec<(ChainId, usize)>;

impl Policy {
    /// The verdict for one packet, by the plain definition (rule by rule). Independent of
    /// [`Policy::evaluate`], which the tests check against it.
    pub fn evaluate_packet(&self, entry: ChainId, p: &Packet) -> Verdict {
        self.pkt(vec![(entry, 0)], p, Seen::OWN).0
    }

    /// The verdict for one packet an earlier stage made be `seen` in another state, and the state
    /// the next stage sees it in (the reference for [`Policy::evaluate_seen`]).
    pub fn evaluate_packet_seen(&self, entry: ChainId, p: &Packet, seen: Seen) -> (Verdict, Seen) {
        self.pkt(vec![(entry, 0)], p, seen)
    }

    fn pkt(&self, mut stack: Stack, p: &Packet, seen: Seen) -> (Verdict, Seen) {
        let Some(&(chain, start)) = stack.last() else {
            return (Verdict::Unknown, seen);
        };
        let Some(c) = self.chains.get(chain) else {
            return (Verdict::Unknown, seen);
        };
        // what the rules test: the packet in the state it is seen in
        let q = Packet {
            state: seen.state_of(p.state),
            ..*p
        };
        for (idx, &rid) in c.rules.iter().enumerate().skip(start) {
            let rule = &self.rules[rid];
            if !rule.matches.contains(&q) {
                continue;
            }
            // a mark test on bits an earlier rule set is decided; on others it is undecidable
            let Some(undecidable) = rule.reasons_under(seen.mark) else {
                continue;
            };
            let mut after = stack.clone();
            if let Some(top) = after.last_mut() {
                top.1 = idx + 1;
            }
            let taken = match rule.action {
                Action::Accept | Action::Translate(_) => (Verdict::Allow, seen),
                Action::Drop | Action::Reject => (Verdict::Deny, seen),
                Action::Opaque => (Verdict::Unknown, seen),
                Action::Continue => continue,
                Action::SetState(s) => self.pkt(after.clone(), p, seen.with_state(s)),
                Action::SetMark(op) => {
                    let marked = Seen {
                        mark: seen.mark.apply(op),
                        ..seen
                    };
                    self.pkt(after.clone(), p, marked)
                }
                Action::Return => {
                    let mut s = stack.clone();
                    self.pkt_leave(&mut s, p, seen)
                }
                Action::Jump(t) | Action::Goto(t) => {
                    if stack.iter().any(|&(c, _)| c == t) || t >= self.chains.len() {
                        (Verdict::Unknown, seen)
                    } else {
                        let mut s = after.clone();
                        if matches!(rule.action, Action::Goto(_)) {
                            if s.len() > 1 {
                                s.pop();
                            } else if let Some(top) = s.last_mut() {
                                top.1 = usize::MAX; // back from a goto: leave the entry chain
                            }
                        }
                        s.push((t, 0));
                        self.pkt(s, p, seen)
                    }
                }
            };
            if undecidable.is_empty() {
                return taken;
            }
            let not_taken = self.pkt(after, p, seen);
            let both = taken.1.merge(not_taken.1);
            let v = taken.0;
            return if v == not_taken.0
                && v != Verdict::Unknown
                && (v == Verdict::Deny || !both.is_undecided())
            {
                (v, both)
            } else {
                (Verdict::Unknown, both)
            };
        }
        self.pkt_leave(&mut stack, p, seen)
    }

    fn pkt_leave(&self, stack: &mut Stack, p: &Packet, seen: Seen) -> (Verdict, Seen) {
        let Some((chain, _)) = stack.pop() else {
            return (Verdict::Unknown, seen);
        };
        match (self.chains[chain].policy, stack.is_empty()) {
            (Some(v), _) => (v, seen),
            (None, false) => self.pkt(stack.clone(), p, seen),
            (None, true) => (Verdict::Unknown, seen),
        }
    }
}

impl Policy {
    /// Walk one packet from `entry`, recording every rule visited.
    pub fn trace_packet(&self, entry: ChainId, p: &Packet) -> Vec<Step> {
        self.trace_packet_seen(entry, p, &mut Seen::default())
    }

    /// [`Policy::trace_packet`] for a packet earlier stages left `seen` (a NOTRACK's state, a
    /// MARK's mark); `seen` becomes what the next stage sees.
    pub fn trace_packet_seen(&self, entry: ChainId, p: &Packet, seen: &mut Seen) -> Vec<Step> {
        let mut p = Packet {
            state: seen.state_of(p.state),
            ..*p
        };
        let p = &mut p;
        let mut steps = Vec::new();
        let mut stack: Vec<(ChainId, usize)> = vec![(entry, 0)];
        // bounded: every step advances a rule index or pops the stack; loops are cut below
        let mut budget = self.rules.len() * 4 + 64;
        'outer: while let Some(&(chain, start)) = stack.last() {
            let Some(c) = self.chains.get(chain) else {
                break;
            };
            for (idx, &rid) in c.rules.iter().enumerate().skip(start) {
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    break 'outer;
                }
                let Some(rule) = self.rules.get(rid) else {
                    continue;
                };
                if let Some(dim) = mismatch(&rule.matches, p) {
                    steps.push(Step {
                        chain,
                        rule: Some(rid),
                        event: Event::NoMatch(dim),
                    });
                    continue;
                }
                let Some(undecidable) = rule.reasons_under(seen.mark) else {
                    steps.push(Step {
                        chain,
                        rule: Some(rid),
                        event: Event::NoMatch("packet mark"),
                    });
                    continue;
                };
                if !undecidable.is_empty() {
                    steps.push(Step {
                        chain,
                        rule: Some(rid),
                        event: Event::Undecidable(undecidable.join("; ")),
                    });
                    continue;
                }
                steps.push(Step {
                    chain,
                    rule: Some(rid),
                    event: Event::Matched(rule.action),
                });
                match rule.action {
                    Action::Continue => continue,
                    Action::SetState(s) => {
                        p.state = s as u8; // later rules see the new state
                        *seen = seen.with_state(s);
                        continue;
                    }
                    Action::SetMark(op) => {
                        seen.mark = seen.mark.apply(op); // and later mark tests the new mark
                        continue;
                    }
                    Action::Accept
                    | Action::Translate(_)
                    | Action::Drop
                    | Action::Reject
                    | Action::Opaque => break 'outer,
                    Action::Return => {
                        if !self.leave(&mut stack, &mut steps) {
                            break 'outer;
                        }
                        continue 'outer;
                    }
                    Action::Jump(t) | Action::Goto(t) => {
                        if stack.iter().any(|&(x, _)| x == t) {
                            steps.push(Step {
                                chain,
                                rule: Some(rid),
                                event: Event::Loop(t),
                            });
                            break 'outer;
                        }
                        if let Some(top) = stack.last_mut() {
                            top.1 = idx + 1;
                        }
                        if matches!(rule.action, Action::Goto(_)) {
                            if stack.len() > 1 {
                                stack.pop();
                            } else if let Some(top) = stack.last_mut() {
                                top.1 = usize::MAX; // back from a goto: leave the entry chain
                            }
                        }
                        stack.push((t, 0));
                        continue 'outer;
                    }
                }
            }
            // fell off the end
            if !self.leave(&mut stack, &mut steps) {
                break;
            }
        }
        steps
    }

    /// Leave the chain on top; false when evaluation is over (a policy decided).
    fn leave(&self, stack: &mut Vec<(ChainId, usize)>, steps: &mut Vec<Step>) -> bool {
        let Some((chain, _)) = stack.pop() else {
            return false;
        };
        match self.chains.get(chain).and_then(|c| c.policy) {
            Some(v) => {
                steps.push(Step {
                    chain,
                    rule: None,
                    event: Event::Policy(chain, v),
                });
                false
            }
            None if !stack.is_empty() => {
                steps.push(Step {
                    chain,
                    rule: None,
                    event: Event::Returned(chain),
                });
                true
            }
            None => false,
        }
    }
}

impl PacketBox {
    /// One packet of the box: the lowest value of every dimension.
    pub fn sample(&self) -> Option<Packet> {
        Some(Packet {
            src: self.src.0.min()?,
            dst: self.dst.0.min()?,
            proto: self.proto.min()?,
            sport: self.sport.min()?,
            dport: self.dport.min()?,
            state: self.state.min()?,
            iif: self.iif.min()?,
            oif: self.oif.min()?,
        })
    }
}
