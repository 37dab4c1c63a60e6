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
//! - `SNAT --to-source ADDR[:PORT]` and `MASQUERADE [--to-ports PORT]` in `nat POSTROUTING`
//!   (priority 100, after `filter` and `mangle POSTROUTING`) and `nat INPUT` rewrite the
//!   *source*: no filtering stage of this host sees it, the next firewall on the path does
//!   (`MASQUERADE` takes the address of the interface the packet leaves by, which the export does
//!   not say).
//! - The nat chains see only the packet that opens a connection (conntrack state NEW): the
//!   translation found for it is applied by conntrack to every later packet of the connection,
//!   and the replies are translated back (iptables(8), "nat": "consulted when a packet that
//!   creates a new connection is encountered"). Packets in any other state — replies, an
//!   UNTRACKED packet (NAT needs a conntrack entry) — pass the nat stages untouched.
//! - A translation to a range of addresses or ports picks one per connection: not modelled (the
//!   rule's packets are unknown, see the iptables lowering).

use super::addr::AddrSet;
use super::policy::{Decider, Policy};
use super::ports::PortSet;
use super::ruleset::At;
use super::space::PacketBox;
use std::net::IpAddr;

/// What a translating rule does to the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Translation {
    /// The new destination address (`None`: kept).
    pub addr: Option<IpAddr>,
    /// The new destination port (`None`: kept).
    pub port: Option<u16>,
    /// `REDIRECT`: the packets go to the host itself, whatever their address.
    pub local: bool,
    /// Source NAT (`SNAT`, `MASQUERADE`): the new source address (`None`: kept, or for
    /// `MASQUERADE` the outgoing interface's, see `masquerade`).
    pub src: Option<IpAddr>,
    /// Source NAT: the new source port (`None`: kept).
    pub sport: Option<u16>,
    /// `MASQUERADE`: the source becomes the address of the interface the packet leaves by.
    pub masquerade: bool,
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
        if let Some(a) = self.src {
            v.src = AddrSet::single(a);
        }
        if let Some(p) = self.sport {
            v.sport = PortSet::single(p);
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
        if self.src.is_some() {
            piece.src = original.src.clone();
        }
        if self.sport.is_some() {
            piece.sport = original.sport.clone();
        }
        piece
    }

    /// What it does to the destination only.
    pub fn destination_part(&self) -> Translation {
        Translation {
            addr: self.addr,
            port: self.port,
            local: self.local,
            ..Translation::default()
        }
    }

    /// What it does to the source only.
    pub fn source_part(&self) -> Translation {
        Translation {
            src: self.src,
            sport: self.sport,
            masquerade: self.masquerade,
            ..Translation::default()
        }
    }

    /// Does it rewrite the source (`SNAT`, `MASQUERADE`)?
    pub fn rewrites_source(&self) -> bool {
        self.src.is_some() || self.sport.is_some() || self.masquerade
    }

    /// Does it rewrite the destination (`DNAT`, `REDIRECT`)?
    pub fn rewrites_destination(&self) -> bool {
        self.addr.is_some() || self.port.is_some() || self.local
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
            src: if then.masquerade {
                None
            } else {
                then.src.or(self.src)
            },
            sport: then.sport.or(self.sport),
            masquerade: then.masquerade || (self.masquerade && then.src.is_none()),
        }
    }

    /// `SNAT --to-source ADDR[:PORT]` (the same forms as [`parse_destination`](Self::parse_destination)).
    pub fn parse_source(text: &str) -> Option<Translation> {
        let d = Translation::parse_destination(text)?;
        Some(Translation {
            src: d.addr,
            sport: d.port,
            ..Translation::default()
        })
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
            ..Translation::default()
        })
    }
}

/// A piece's translation, with the rules that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translated {
    /// Everything done to the piece so far (a DNAT, then a SNAT).
    pub to: Translation,
    /// The rule that rewrote the destination, if one did.
    pub dst_by: Option<At>,
    /// The rule that rewrote the source, if one did.
    pub src_by: Option<At>,
}

impl Translated {
    /// One rule's translation.
    pub fn by(to: Translation, at: At) -> Translated {
        Translated {
            to,
            dst_by: to.rewrites_destination().then_some(at),
            src_by: to.rewrites_source().then_some(at),
        }
    }

    /// `then` applied after `self`.
    pub fn then(self, then: Translated) -> Translated {
        Translated {
            to: self.to.then(then.to),
            dst_by: then.dst_by.or(self.dst_by),
            src_by: then.src_by.or(self.src_by),
        }
    }
}

/// Why a piece's translation is not known: an undecidable rule may or may not have translated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagree {
    pub why: String,
    /// Some candidate rewrites the destination (which later stages of this host see); a
    /// source-only doubt (`SNAT`, `MASQUERADE`: the last stages of their hooks) changes nothing
    /// this host filters.
    pub destination: bool,
}

/// What the deciders of a piece a translating policy let through did to it: `Ok(None)` nothing,
/// `Ok(Some)` one translation by one rule, `Err` when they disagree (an undecidable rule may or
/// may not have translated it).
pub fn translation_of(
    policy: &Policy,
    policy_index: usize,
    deciders: &[Decider],
) -> Result<Option<Translated>, Disagree> {
    let mut found: Option<Translated> = None;
    let mut plain = false;
    let mut disagrees = false;
    let mut destination = false;
    for d in deciders {
        let t = match d {
            Decider::Rule(r) => match policy.rules.get(*r).map(|r| r.action) {
                Some(super::rule::Action::Translate(t)) => Some((*r, t)),
                _ => None,
            },
            _ => None,
        };
        if let Some((_, t)) = t {
            destination |= t.rewrites_destination();
        }
        match (t, found) {
            (None, _) => plain = true,
            (Some((r, t)), None) => {
                found = Some(Translated::by(
                    t,
                    At {
                        policy: policy_index,
                        decider: Decider::Rule(r),
                    },
                ))
            }
            (Some((_, t)), Some(f)) if f.to == t => {}
            (Some(_), Some(_)) => disagrees = true,
        }
    }
    if disagrees || (found.is_some() && plain) {
        return Err(Disagree {
            why: disagree(policy, deciders),
            destination,
        });
    }
    Ok(found)
}

fn disagree(policy: &Policy, deciders: &[Decider]) -> String {
    let names: Vec<&str> = deciders
        .iter()
        .filter_map(|d| match d {
            Decider::Rule(r) => policy.rules.get(*r).map(|r| &*r.prov.label),
            _ => None,
        })
        .collect();
    format!(
        "a NAT rule may or may not rewrite the packets ({}): what later stages see is unknown",
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
        let s = Translation::parse_source("192.0.2.7").unwrap();
        assert_eq!(s.src, Some("192.0.2.7".parse().unwrap()));
        assert!(s.rewrites_source() && !s.rewrites_destination());
    }

    #[test]
    fn source_and_destination_nat_compose() {
        let d = Translation::parse_destination("10.0.0.5:8443").unwrap();
        let s = Translation::parse_source("192.0.2.7:40000").unwrap();
        let both = d.then(s);
        assert_eq!((both.addr, both.port), (d.addr, d.port));
        assert_eq!((both.src, both.sport), (s.src, s.sport));
        let mut b = PacketBox::full();
        b.src = AddrSet::parse("10.9.0.0/16").unwrap();
        let v = both.view(&b);
        assert_eq!(v.src, AddrSet::single("192.0.2.7".parse().unwrap()));
        assert_eq!(both.restore(v, &b), b);
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
