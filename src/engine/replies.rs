//! The rest of a connection once its first packet is let in: the server's replies, back through
//! the reverse hook, and the client's later packets (its ACK and data after the SYN), through the
//! request's own hook in state ESTABLISHED. A connection works only where all of them pass.

use super::reach::{self, Reach, Status};
use crate::model::conntrack::{reply_states, Tracking};
use crate::model::nat::{Translated, Translation};
use crate::model::ports::{ConnState, StateSet};
use crate::model::{AddrSet, Hook, PacketBox, Ruleset, Verdict};

/// The admitted pieces of a request, grouped by all but the peers (exact: a union of boxes that
/// differ in one dimension only is a box). Made once per request ([`admitted_groups`]) for both
/// its replies and its later packets.
pub(crate) struct Group {
    /// The state a rule rewrote the request's to (NOTRACK), if one did.
    seen: Option<ConnState>,
    /// What a nat stage did to the request's destination.
    nat: Option<Translation>,
    diverted: bool,
    /// The request's packets, peers included.
    request: PacketBox,
}

/// Is `space` the group box `rest` (whose peer side is empty) but for its peers?
fn same_but_peers(rest: &PacketBox, space: &PacketBox, peers_are_sources: bool) -> bool {
    (if peers_are_sources {
        rest.dst == space.dst
    } else {
        rest.src == space.src
    }) && rest.proto == space.proto
        && rest.sport == space.sport
        && rest.dport == space.dport
        && rest.state == space.state
        && rest.iif == space.iif
        && rest.oif == space.oif
}

/// The pieces of `reach` (a request evaluated through `hook`) that were let in, in groups.
pub(crate) fn admitted_groups(hook: Hook, reach: &Reach) -> Vec<Group> {
    struct Building {
        seen: Option<ConnState>,
        nat: Option<Translation>,
        diverted: bool,
        rest: PacketBox,
        /// the peers' ranges, united once at the end (a union per piece is quadratic in the
        /// pieces: a blocklist admits thousands)
        peers: Vec<(u128, u128)>,
    }
    let peers_are_sources = hook != Hook::Output;
    let mut groups: Vec<Building> = Vec::new();
    for o in reach
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Allow)
    {
        let seen = match o.seen.state {
            Tracking::As(s) => Some(s),
            _ => None,
        };
        let nat = o
            .nat
            .map(|t| t.to.destination_part())
            .filter(|t| t.rewrites_destination());
        let peers = if peers_are_sources {
            &o.space.src
        } else {
            &o.space.dst
        };
        // the piece's box is copied only for a new group (a blocklist admits its pieces into
        // one or two)
        match groups.iter_mut().find(|g| {
            g.seen == seen
                && g.nat == nat
                && g.diverted == o.diverted
                && same_but_peers(&g.rest, &o.space, peers_are_sources)
        }) {
            Some(g) => g.peers.extend_from_slice(peers.0.ranges()),
            None => {
                let mut rest = o.space.clone();
                *(if peers_are_sources {
                    &mut rest.src
                } else {
                    &mut rest.dst
                }) = AddrSet::empty();
                groups.push(Building {
                    seen,
                    nat,
                    diverted: o.diverted,
                    rest,
                    peers: peers.0.ranges().to_vec(),
                })
            }
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let mut request = g.rest;
            let peers = AddrSet(crate::model::IntervalSet::from_ranges(g.peers));
            if peers_are_sources {
                request.src = peers;
            } else {
                request.dst = peers;
            }
            Group {
                seen: g.seen,
                nat: g.nat,
                diverted: g.diverted,
                request,
            }
        })
        .collect()
}

/// The replies of the pieces of a request that were let in (`groups`, [`admitted_groups`]),
/// through `back` (the reverse hook's pipeline), exactly as the kernel sends them back (DESIGN:
/// the model):
/// - from the server the request reached — after a DNAT or REDIRECT (`Outcome::nat`) the
///   translated address and port, which is what the reverse hook's filter sees (the translation
///   is undone only in nat POSTROUTING / INPUT, after it) — to exactly the peers and client ports
///   the request was admitted from;
/// - through FORWARD when a DNAT sent the request to another address (`Outcome::diverted`);
/// - in the state conntrack gives them: ESTABLISHED for a tracked request; for a NOTRACKed one
///   (`model::conntrack`) NEW for UDP, and for TCP *both* the SYN-ACK (INVALID) and the later
///   segments (NEW): every connection has both, so a peer's replies pass only where both do.
///
/// Also whether any piece was let in at all.
pub(super) fn replies(
    rs: &Ruleset,
    back: &crate::model::Pipeline,
    groups: &[Group],
) -> (Reach, bool) {
    let mut reply = Reach {
        outcomes: Vec::new(),
    };
    let admitted = !groups.is_empty();
    for g in groups {
        let request = &g.request;
        // the server as the request reached it
        let served = match g.nat {
            Some(t) => t.view(request),
            None => request.clone(),
        };
        // a translation that leaves the address and port as they were (a REDIRECT of a packet
        // already for the host's port) changes nothing the client would see
        let rewritten =
            g.nat.is_some() && (served.dst != request.dst || served.dport != request.dport);
        let r = PacketBox {
            src: served.dst,
            dst: request.src.clone(),
            proto: request.proto.clone(),
            sport: served.dport,
            // a request from any client port (what a fix is verified on) is answered on the
            // default ephemeral ports
            dport: if request.sport.is_full() {
                crate::model::ports::PortSet::range(reach::EPHEMERAL.0, reach::EPHEMERAL.1)
            } else {
                request.sport.clone()
            },
            state: ConnState::Established.set(),
            // a packet the host sends has no input interface, one for it no output interface
            // (`iface::NONE`): the request's, swapped
            iif: request.oif.clone(),
            oif: request.iif.clone(),
        };
        let pipeline = if g.diverted {
            rs.pipeline(Hook::Forward).unwrap_or(back)
        } else {
            back
        };
        match g.seen.filter(|_| !rs.stateless) {
            None => {
                let mut outs = rs.evaluate(pipeline, &r);
                if rewritten {
                    untranslated(&mut outs);
                }
                reply.outcomes.extend(outs)
            }
            Some(s) => {
                // per protocol: the states its replies arrive in, each of which must pass
                for (a, b) in r.proto.ranges().to_vec() {
                    for p in a..=b {
                        let mut piece = r.clone();
                        piece.proto = crate::model::ports::ProtoSet::single(p);
                        let states = reply_states(s, p);
                        let needed: Vec<StateSet> =
                            if s == ConnState::Untracked || s == ConnState::Invalid {
                                states
                                    .ranges()
                                    .iter()
                                    .flat_map(|&(x, y)| x..=y)
                                    .map(StateSet::single)
                                    .collect()
                            } else {
                                vec![states]
                            };
                        reply
                            .outcomes
                            .extend(every_state(rs, pipeline, piece, &needed));
                    }
                }
            }
        }
    }
    (reply, admitted)
}

/// The replies of a connection a DNAT or REDIRECT translated that a raw rule NOTRACKs: an
/// untracked packet loses the NAT (iptables-extensions(8) `NOTRACK`/`CT --notrack`; the raw
/// table's help: untracked packets lose "all the NAT functionalities"), so they leave from the
/// translated address and port, which the client's socket does not know: the connection fails
/// (found by the kernel oracle). Such a reply is dropped, by the reply path as a whole.
fn untranslated(outs: &mut [crate::model::Outcome]) {
    for o in outs {
        if o.verdict != Verdict::Deny && o.seen.state == Tracking::As(ConnState::Untracked) {
            o.verdict = Verdict::Deny;
            o.deciders.clear();
            o.reasons.push(
                "a raw rule NOTRACKs the replies of a translated connection: they leave untranslated and the client does not take them".into(),
            );
        }
    }
}

/// The client's later packets of each connection let in through `pipeline` (the request's own
/// hook; `groups`: its admitted pieces, [`admitted_groups`]): its ACK and data after a TCP SYN,
/// a UDP client's datagrams after the first reply. They are the request's packets, but
/// conntrack has seen the connection both ways:
/// ESTABLISHED (conntrack(8), iptables-extensions(8) `conntrack`), so a firewall that accepts
/// only NEW lets the SYN in and drops the rest: no connection works (found by the kernel oracle,
/// issue 21). The nat table sees only a connection's first packet; conntrack translates the
/// later ones as it did the first ([`Ruleset::evaluate_tracked`]). A request a NOTRACK rule
/// untracked has later packets the same rules untrack: they are seen as the request was, so
/// there is nothing more to evaluate. `local`: the host's addresses, as for the request.
///
/// `replies` (what [`replies`] made of the same request), where a raw rule NOTRACKed a reply:
/// the connection's entry never saw an answer, so the later packets of those peers and client
/// ports are not ESTABLISHED: a TCP ACK to an entry still in SYN_SENT is INVALID, a UDP
/// datagram of an unanswered entry NEW (nf_conntrack_proto_tcp.c's state table; found by the
/// kernel oracle).
pub(crate) fn later_packets(
    rs: &Ruleset,
    pipeline: &crate::model::Pipeline,
    hook: Hook,
    groups: &[Group],
    local: &AddrSet,
    replies: Option<&Reach>,
) -> Reach {
    // (peer, client port) of each reply a raw rule untracked
    let unanswered: Vec<(AddrSet, crate::model::ports::PortSet)> = replies
        .map(|r| {
            r.outcomes
                .iter()
                .filter(|o| o.seen.state == Tracking::As(ConnState::Untracked))
                .map(|o| {
                    let peer = if hook == Hook::Output {
                        &o.space.src
                    } else {
                        &o.space.dst
                    };
                    (peer.clone(), o.space.dport.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut later = Reach {
        outcomes: Vec::new(),
    };
    if rs.stateless {
        return later;
    }
    for g in groups {
        if g.seen.is_some_and(|s| s != ConnState::New) {
            // its later packets are seen as it was, and pass where it did
            later.outcomes.push(crate::model::Outcome {
                space: g.request.clone(),
                verdict: Verdict::Allow,
                deciders: Default::default(),
                via: Vec::new(),
                reasons: Vec::new(),
                seen: crate::model::conntrack::Seen::OWN,
                nat: None,
                diverted: g.diverted,
            });
            continue;
        }
        let mut b = g.request.clone();
        b.state = ConnState::Established.set();
        let tracked = g.nat.map(|to| Translated {
            to,
            dst_by: None,
            src_by: None,
        });
        for b in unanswered_split(b, &unanswered, hook) {
            later
                .outcomes
                .extend(rs.evaluate_tracked(pipeline, &b, local, tracked));
        }
    }
    later
}

/// `b` (later packets, ESTABLISHED) split where their peer and client port had a reply
/// untracked (`unanswered`): there TCP's are INVALID and the others NEW.
fn unanswered_split(
    b: PacketBox,
    unanswered: &[(AddrSet, crate::model::ports::PortSet)],
    hook: Hook,
) -> Vec<PacketBox> {
    let peers_are_sources = hook != Hook::Output;
    let mut answered = vec![b];
    let mut not = Vec::new();
    for (peer, cport) in unanswered {
        let mut rest = Vec::new();
        for x in answered {
            let p = if peers_are_sources { &x.src } else { &x.dst };
            let (pin, pout) = (p.intersect(peer), p.difference(peer));
            let (cin, cout) = (x.sport.intersect(cport), x.sport.difference(cport));
            if pin.is_empty() || cin.is_empty() {
                rest.push(x);
                continue;
            }
            let with = |p: AddrSet, c: crate::model::ports::PortSet| {
                let mut y = x.clone();
                if peers_are_sources {
                    y.src = p;
                } else {
                    y.dst = p;
                }
                y.sport = c;
                y
            };
            if !pout.is_empty() {
                rest.push(with(pout, x.sport.clone()));
            }
            if !cout.is_empty() {
                rest.push(with(pin.clone(), cout));
            }
            not.push(with(pin, cin));
        }
        answered = rest;
    }
    for x in not {
        let tcp = x.proto.intersect(&crate::model::ports::ProtoSet::single(
            crate::model::ports::TCP,
        ));
        let other = x.proto.difference(&tcp);
        for (proto, state) in [(tcp, ConnState::Invalid), (other, ConnState::New)] {
            if !proto.is_empty() {
                let mut y = x.clone();
                y.proto = proto;
                y.state = state.set();
                answered.push(y);
            }
        }
    }
    answered
}

/// Whether some connection works where its replies (`reply`, [`replies`]) and its client's later
/// packets (`later`, [`later_packets`]) each get through in part: some peer and client port
/// whose replies and later packets both pass (`Allowed`), or may (`Unknown`), or none
/// (`Blocked`). Replies go to the peer's client port, later packets come from it.
pub(super) fn connections_work(hook: Hook, reply: &Reach, later: &Reach) -> Status {
    // (peer, client port) of a reply piece and of a later packet
    let of_reply = |b: &PacketBox| {
        if hook == Hook::Output {
            (b.src.clone(), b.dport.clone())
        } else {
            (b.dst.clone(), b.dport.clone())
        }
    };
    let of_later = |b: &PacketBox| {
        if hook == Hook::Output {
            (b.dst.clone(), b.sport.clone())
        } else {
            (b.src.clone(), b.sport.clone())
        }
    };
    let meet = |verdicts: &[Verdict]| {
        let ends =
            |r: &Reach, f: &dyn Fn(&PacketBox) -> (AddrSet, crate::model::ports::PortSet)| {
                r.outcomes
                    .iter()
                    .filter(|o| verdicts.contains(&o.verdict))
                    .map(|o| f(&o.space))
                    .collect::<Vec<_>>()
            };
        let (r, l) = (ends(reply, &of_reply), ends(later, &of_later));
        r.iter().any(|(a, p)| {
            l.iter()
                .any(|(b, q)| a.0.intersects(&b.0) && p.intersects(q))
        })
    };
    if meet(&[Verdict::Allow]) {
        Status::Allowed
    } else if meet(&[Verdict::Allow, Verdict::Unknown]) {
        Status::Unknown
    } else {
        Status::Blocked
    }
}

/// `space` evaluated in each of `states` in turn, each on what the ones before let through: a
/// packet is allowed only where every state's packet is, denied where any is.
fn every_state(
    rs: &Ruleset,
    pipeline: &crate::model::Pipeline,
    space: PacketBox,
    states: &[StateSet],
) -> Vec<crate::model::Outcome> {
    let Some((first, more)) = states.split_first() else {
        return Vec::new();
    };
    let mut b = space;
    b.state = first.clone();
    let mut out = Vec::new();
    for o in rs.evaluate(pipeline, &b) {
        if o.verdict == Verdict::Deny || more.is_empty() {
            out.push(o);
            continue;
        }
        for mut n in every_state(rs, pipeline, o.space.clone(), more) {
            if o.verdict == Verdict::Unknown && n.verdict != Verdict::Deny {
                n.verdict = Verdict::Unknown;
                n.reasons.extend(o.reasons.iter().cloned());
                n.deciders.extend(o.deciders.iter().copied());
            }
            out.push(n);
        }
    }
    out
}

/// A flow's status once its replies are known: blocked replies block it, undecided ones leave
/// it unknown, replies dropped in part make it partial.
pub(super) fn with_replies(request: Status, replies: Status) -> Status {
    match (request, replies) {
        (request, Status::Allowed) => request,
        (_, Status::Blocked) => Status::Blocked,
        (Status::Unknown, _) | (_, Status::Unknown) => Status::Unknown,
        _ => Status::Partial,
    }
}
