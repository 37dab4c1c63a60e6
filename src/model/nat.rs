//! Destination NAT as the model sees it: a rule of a translating policy (the iptables `nat` table)
//! that rewrites the destination address and port later stages see, like a NOTRACK rewrites the
//! state ([`super::conntrack`]). What is reported stays the packets as they arrived.
//!
//! ## The kernel's behaviour (iptables-extensions(8), `DNAT` and `REDIRECT`; netfilter hooks)
//! - `nat PREROUTING` runs at priority -100: after `raw` (-300), connection tracking (-200) and
//!   `mangle PREROUTING` (-150), before the routing decision and `filter` (0). The first packet of
//!   a connection (state NEW) passes it; a `DNAT` or `REDIRECT` there ends the nat chain and is
//!   applied to the connection, so everything after it sees the new destination.
//! - `DNAT --to-destination ADDR[:PORT]` rewrites the address (and the port, when one is given;
//!   `:PORT` alone keeps the address). Routing then decides where the packet goes: to the host
//!   itself (filter `INPUT`) when the new address is one of its own, else through `FORWARD`.
//! - `REDIRECT [--to-ports PORT]` rewrites the destination to the host itself (the primary
//!   address of the incoming interface) and the port: the packet stays local.
//! - `nat OUTPUT` does the same for packets the host sends (they leave through `OUTPUT` still).
//! - A translation to a range of addresses or ports picks one per connection: not modelled (the
//!   rule's packets are unknown, see the iptables lowering).

use super::addr::AddrSet;
use super::policy::{Decider, Policy};
use super::ports::PortSet;
use super::ruleset::At;
use super::space::PacketBox;
use std::net::IpAddr;

/// What a translating rule does to the destination of the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The new destination address (`None`: kept).
    pub addr: Option<IpAddr>,
    /// The new destination port (`None`: kept).
    pub port: Option<u16>,
    /// `REDIRECT`: the packets go to the host itself, whatever their address.
    pub local: bool,
}

impl Translation {
    /// The packets of `space` as the stages after the translation see them.
    pub fn view(&self, space: &PacketBox) -> PacketBox {
        let mut v = space.clone();
        if let Some(a) = self.addr {
            v.dst = AddrSet::single(a);
        }
        if let Some(p) = self.port {
            v.dport = PortSet::single(p);
        }
        v
    }

    /// A piece of a [`view`](Self::view) of `original` back in the packets as they arrived.
    /// Exact: a rewritten dimension is one value in the view, so a later stage cannot split it.
    pub fn restore(&self, mut piece: PacketBox, original: &PacketBox) -> PacketBox {
        if self.addr.is_some() {
            piece.dst = original.dst.clone();
        }
        if self.port.is_some() {
            piece.dport = original.dport.clone();
        }
        piece
    }

    /// Do the translated packets leave the host (routed through `FORWARD`)? Only a new address
    /// that is not one of `local` (the host's known addresses) takes them away.
    pub fn leaves(&self, local: &AddrSet) -> bool {
        !self.local && self.addr.is_some_and(|a| !local.contains(a))
    }

    /// `then` applied after `self`.
    pub fn then(self, then: Translation) -> Translation {
        Translation {
            addr: then.addr.or(self.addr),
            port: then.port.or(self.port),
            local: then.local || (self.local && then.addr.is_none()),
        }
    }

    /// `ADDR`, `:PORT`, `ADDR:PORT`, `[V6]:PORT`, as `DNAT --to-destination` takes them; `None`
    /// for a range (`a-b`) or anything else.
    pub fn parse_destination(text: &str) -> Option<Translation> {
        let (addr, port) = if let Some(rest) = text.strip_prefix('[') {
            let (a, p) = rest.split_once(']')?;
            (Some(a), p.strip_prefix(':'))
        } else if text.matches(':').count() > 1 {
            (Some(text), None) // a bare IPv6 address
        } else {
            match text.split_once(':') {
                Some((a, p)) => ((!a.is_empty()).then_some(a), Some(p)),
                None => (Some(text), None),
            }
        };
        let addr = match addr {
            Some(a) => Some(a.parse::<IpAddr>().ok()?),
            None => None,
        };
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok()?),
            None => None,
        };
        (addr.is_some() || port.is_some()).then_some(Translation {
            addr,
            port,
            local: false,
        })
    }
}

/// A piece's translation, with the rule that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translated {
    pub to: Translation,
    pub by: At,
}

/// What the deciders of a piece a translating policy let through did to it: `Ok(None)` nothing,
/// `Ok(Some)` one translation by one rule, `Err` when they disagree (an undecidable rule may or
/// may not have translated it).
pub fn translation_of(
    policy: &Policy,
    policy_index: usize,
    deciders: &[Decider],
) -> Result<Option<Translated>, String> {
    let mut found: Option<Translated> = None;
    let mut plain = false;
    for d in deciders {
        let t = match d {
            Decider::Rule(r) => match policy.rules.get(*r).map(|r| r.action) {
                Some(super::rule::Action::Translate(t)) => Some((*r, t)),
                _ => None,
            },
            _ => None,
        };
        match (t, found) {
            (None, _) => plain = true,
            (Some((r, t)), None) => {
                found = Some(Translated {
                    to: t,
                    by: At {
                        policy: policy_index,
                        decider: Decider::Rule(r),
                    },
                })
            }
            (Some((_, t)), Some(f)) if f.to == t => {}
            (Some(_), Some(_)) => return Err(disagree(policy, deciders)),
        }
    }
    match found {
        Some(_) if plain => Err(disagree(policy, deciders)),
        f => Ok(f),
    }
}

fn disagree(policy: &Policy, deciders: &[Decider]) -> String {
    let names: Vec<&str> = deciders
        .iter()
        .filter_map(|d| match d {
            Decider::Rule(r) => policy.rules.get(*r).map(|r| r.prov.label.as_str()),
            _ => None,
        })
        .collect();
    format!(
        "a NAT rule may or may not rewrite the destination ({}): what later stages see is unknown",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_like_dnat() {
        let t = Translation::parse_destination("172.17.0.2:8443").unwrap();
        assert_eq!(t.addr, Some("172.17.0.2".parse().unwrap()));
        assert_eq!(t.port, Some(8443));
        let t = Translation::parse_destination(":8443").unwrap();
        assert_eq!((t.addr, t.port), (None, Some(8443)));
        let t = Translation::parse_destination("10.0.0.1").unwrap();
        assert_eq!(t.port, None);
        let t = Translation::parse_destination("[fd00::1]:80").unwrap();
        assert_eq!(t.port, Some(80));
        assert!(Translation::parse_destination("10.0.0.1-10.0.0.9").is_none());
        assert!(Translation::parse_destination("10.0.0.1:80-90").is_none());
    }

    #[test]
    fn a_view_restores_exactly() {
        let t = Translation::parse_destination("172.17.0.2:8443").unwrap();
        let mut b = PacketBox::full();
        b.dport = PortSet::range(9000, 9100);
        let v = t.view(&b);
        assert_eq!(v.dport, PortSet::single(8443));
        assert!(t.leaves(&AddrSet::loopback()));
        assert_eq!(t.restore(v, &b), b);
    }
}
