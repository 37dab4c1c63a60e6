//! Connection tracking as the model sees it: the state a rule's match tests, how a rule can change
//! it for what comes after (NOTRACK), and what a reply's state is.
//!
//! ## The kernel's behaviour (iptables-extensions(8), `NOTRACK` and `CT`; nf_conntrack-sysctl)
//! - The `raw` table runs before connection tracking (its hooks have priority -300, conntrack
//!   -200). `-j NOTRACK` and `-j CT --notrack` there attach the *untracked* template to the
//!   packets they match: conntrack then skips them, and every later match (`-m conntrack
//!   --ctstate`, `-m state --state`) sees the state `UNTRACKED` — in the rest of the raw chain and
//!   in mangle, filter and security. Both targets are non-terminating: the packet goes on with the
//!   next rule of the raw chain. They are only valid in `raw`.
//! - NOTRACK applies per packet, not per connection: a request that matched a NOTRACK rule made no
//!   conntrack entry, so its *replies* are untracked only if a raw rule (raw `OUTPUT` on the host
//!   that answers, raw `PREROUTING` on a router) NOTRACKs them too. Otherwise conntrack sees a reply
//!   with no entry to belong to: for UDP (and other protocols) it starts a new entry and the reply's
//!   state is `NEW`; for TCP the SYN-ACK cannot open an entry (the TCP tracker's table maps a SYN-ACK
//!   with no entry to invalid) and is `INVALID`, and later segments are picked up mid-stream as
//!   `NEW` when `nf_conntrack_tcp_loose` is 1 (the default; with 0 they are `INVALID` too). Never
//!   `ESTABLISHED`: an `--ctstate ESTABLISHED,RELATED -j ACCEPT` does not admit them.
//!
//! [`reply_states`] gives those states for the reply of a request; a raw rule that matches the
//! reply rewrites them like any other packet's.

use super::mark::Mark;
use super::policy::Verdict;
use super::ports::{ConnState, StateSet, TCP};
use super::space::{Packet, PacketBox};
use std::borrow::Cow;

/// The connection state later rules and stages see for a piece of a region, when a rule changed
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tracking {
    /// The packets' own state (the piece's `space.state`).
    #[default]
    Own,
    /// Every packet of the piece is seen in this state (after `NOTRACK`: `Untracked`).
    As(ConnState),
    /// An undecidable rule may or may not have changed it: the piece is unknown, and no later
    /// stage settles it (its verdict would depend on which).
    Undecided,
}

impl Tracking {
    /// Two worlds of an undecidable rule: the same, or undecided.
    pub fn merge(self, o: Tracking) -> Tracking {
        if self == o {
            self
        } else {
            Tracking::Undecided
        }
    }
}

/// What later rules and stages see of a piece beyond its packets as they arrived: the connection
/// state (after a NOTRACK) and what is known of the packet mark (after a MARK, `model::mark`).
/// The default is the packets' own state and a mark nobody set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seen {
    pub state: Tracking,
    pub mark: Mark,
}

impl Seen {
    /// The start of a path: the packets' own state, the mark unknown.
    pub const OWN: Seen = Seen {
        state: Tracking::Own,
        mark: Mark::UNKNOWN,
    };

    /// Seen in state `s`, the mark unchanged.
    pub fn with_state(self, s: ConnState) -> Seen {
        Seen {
            state: Tracking::As(s),
            ..self
        }
    }

    /// Whether an undecidable rule left the state undecided (no later stage settles the piece).
    pub fn is_undecided(self) -> bool {
        self.state == Tracking::Undecided
    }

    /// The box `m` as a rule's match meets the packets of a piece seen this way: with the state
    /// rewritten to one value for all of them, the state dimension matches all or none (`None`).
    pub fn rule_box(self, m: &PacketBox) -> Option<Cow<'_, PacketBox>> {
        match self.state {
            Tracking::As(s) => m.state.contains(s as u8).then(|| {
                let mut b = m.clone();
                b.state = super::ports::all_states();
                Cow::Owned(b)
            }),
            Tracking::Own | Tracking::Undecided => Some(Cow::Borrowed(m)),
        }
    }

    /// The state a single packet of state `own` is seen in.
    pub fn state_of(self, own: u8) -> u8 {
        match self.state {
            Tracking::As(s) => s as u8,
            Tracking::Own | Tracking::Undecided => own,
        }
    }

    /// Two worlds of an undecidable rule: the state the same or undecided, and the mark bits
    /// both worlds agree on.
    pub fn merge(self, o: Seen) -> Seen {
        Seen {
            state: self.state.merge(o.state),
            mark: self.mark.join(o.mark),
        }
    }
}

/// The states the replies of a request of protocol `proto` have at the answering host's first
/// (raw) stage, when the request was seen in `request` after its own raw stage (see the module
/// doc): `ESTABLISHED` for a tracked request; for an untracked (or invalid) one `NEW`, and for TCP also
/// `INVALID` (the SYN-ACK). Under `nf_conntrack_tcp_loose = 0`, TCP replies would all be `INVALID`;
/// the default (1) is modelled.
pub fn reply_states(request: ConnState, proto: u8) -> StateSet {
    match request {
        // no conntrack entry was made for the request
        ConnState::Untracked | ConnState::Invalid if proto == TCP => {
            ConnState::New.set().union(&ConnState::Invalid.set())
        }
        ConnState::Untracked | ConnState::Invalid => ConnState::New.set(),
        ConnState::New | ConnState::Established | ConnState::Related => {
            ConnState::Established.set()
        }
    }
}

impl super::ruleset::Ruleset {
    /// One packet through every stage of `pipeline`, by the plain definition: the reference for
    /// [`Ruleset::evaluate`](super::ruleset::Ruleset::evaluate), with the same composition (a
    /// deny ends it; unknown stays unknown unless a later stage denies a packet whose state is
    /// decided; a rewritten state carries on to the next stage).
    pub fn evaluate_packet(&self, pipeline: &super::ruleset::Pipeline, p: &Packet) -> Verdict {
        let (mut verdict, mut seen) = (Verdict::Allow, Seen::OWN);
        for stage in &pipeline.stages {
            let Some(policy) = self.policies.get(stage.policy) else {
                continue;
            };
            let (v, s) = policy.evaluate_packet_seen(stage.chain, p, seen);
            let settled = v == Verdict::Deny && !seen.is_undecided();
            if verdict != Verdict::Unknown || settled {
                verdict = v;
            }
            seen = s;
            if verdict == Verdict::Deny {
                break;
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ports::UDP;

    #[test]
    fn replies_of_an_untracked_request_are_never_established() {
        assert_eq!(
            reply_states(ConnState::New, TCP),
            ConnState::Established.set()
        );
        let tcp = reply_states(ConnState::Untracked, TCP);
        assert!(tcp.contains(ConnState::Invalid as u8) && tcp.contains(ConnState::New as u8));
        assert!(!tcp.contains(ConnState::Established as u8));
        assert_eq!(
            reply_states(ConnState::Untracked, UDP),
            ConnState::New.set()
        );
    }

    #[test]
    fn a_rewritten_state_matches_all_or_nothing() {
        let mut m = PacketBox::full();
        m.state = ConnState::New.set();
        let untracked = Seen::OWN.with_state(ConnState::Untracked);
        assert!(untracked.rule_box(&m).is_none());
        m.state = ConnState::Untracked.set();
        let b = untracked.rule_box(&m).unwrap();
        assert_eq!(b.state, super::super::ports::all_states());
        assert_eq!(Seen::OWN.rule_box(&m).unwrap().state, m.state);
    }
}
