//! Packet space: boxes over (source, destination, protocol, source port, destination port,
//! connection state, input interface, output interface), with intersection and subtraction.
//! A region is a list of disjoint boxes.

use std::fmt;

use super::addr::AddrSet;
use super::iface::IfaceSet;
use super::ports::{all_states, PortSet, ProtoSet, StateSet};

/// A product of one set per dimension. Empty as soon as one dimension is empty (the default
/// box: every dimension empty).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PacketBox {
    pub src: AddrSet,
    pub dst: AddrSet,
    pub proto: ProtoSet,
    pub sport: PortSet,
    /// Destination port; for ICMP/ICMPv6 `type << 8 | code`.
    pub dport: PortSet,
    pub state: StateSet,
    pub iif: IfaceSet,
    pub oif: IfaceSet,
}

impl PacketBox {
    /// Every packet (all addresses of both families, all interfaces up to `u16::MAX` classes).
    pub fn full() -> Self {
        PacketBox {
            src: AddrSet::any(),
            dst: AddrSet::any(),
            proto: ProtoSet::full(),
            sport: PortSet::full(),
            dport: PortSet::full(),
            state: all_states(),
            iif: IfaceSet::full(),
            oif: IfaceSet::full(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
            || self.dst.is_empty()
            || self.proto.is_empty()
            || self.sport.is_empty()
            || self.dport.is_empty()
            || self.state.is_empty()
            || self.iif.is_empty()
            || self.oif.is_empty()
    }

    /// Cheap pre-check: could these two boxes intersect? (Checks the small dimensions first.)
    pub fn intersects(&self, o: &Self) -> bool {
        self.proto.intersects(&o.proto)
            && self.dport.intersects(&o.dport)
            && self.state.intersects(&o.state)
            && self.sport.intersects(&o.sport)
            && self.iif.intersects(&o.iif)
            && self.oif.intersects(&o.oif)
            && self.src.0.intersects(&o.src.0)
            && self.dst.0.intersects(&o.dst.0)
    }

    pub fn intersect(&self, o: &Self) -> Option<Self> {
        if !self.intersects(o) {
            return None;
        }
        let b = PacketBox {
            src: self.src.intersect(&o.src),
            dst: self.dst.intersect(&o.dst),
            proto: self.proto.intersect(&o.proto),
            sport: self.sport.intersect(&o.sport),
            dport: self.dport.intersect(&o.dport),
            state: self.state.intersect(&o.state),
            iif: self.iif.intersect(&o.iif),
            oif: self.oif.intersect(&o.oif),
        };
        (!b.is_empty()).then_some(b)
    }

    /// `self \ o` as at most eight disjoint boxes: for each dimension in turn, the part of `self`
    /// that agrees with `o` on the dimensions before it and lies outside `o` on this one.
    pub fn subtract(&self, o: &Self) -> Vec<PacketBox> {
        let mut out = Vec::new();
        match self.clone().split(o, &mut out) {
            Cut::Inside(_) => out,
            Cut::Apart(whole) => vec![whole],
        }
    }

    /// `self \ o` pushed onto `out` (`self` itself when the two do not meet), without copying
    /// `self`.
    pub fn subtract_into(self, o: &Self, out: &mut Vec<PacketBox>) {
        if let Cut::Apart(whole) = self.split(o, out) {
            out.push(whole);
        }
    }

    /// `self` cut by `o`: the part inside `o` ([`Cut::Inside`]: what [`PacketBox::intersect`]
    /// gives) and the parts outside it, pushed onto `rest` (what [`PacketBox::subtract`] gives,
    /// in its order); [`Cut::Apart`] with `self` when the two do not meet. The box is taken,
    /// not copied: each part outside is a copy of it with one dimension replaced, made without
    /// copying the set that dimension had, and the part inside is what is left of the box
    /// itself. A dimension `o` does not restrict (most of a rule's) costs nothing.
    pub fn split(self, o: &Self, rest: &mut impl Extend<PacketBox>) -> Cut {
        if !self.intersects(o) {
            return Cut::Apart(self);
        }
        let mut cur = self;
        macro_rules! peel {
            ($f:ident) => {
                if !o.$f.is_full() {
                    let outside = cur.$f.difference(&o.$f);
                    if !outside.is_empty() {
                        let inside = cur.$f.intersect(&o.$f);
                        // cloned with this dimension empty (inline, no copy of its set)
                        let was = std::mem::take(&mut cur.$f);
                        let mut piece = cur.clone();
                        piece.$f = outside;
                        cur.$f = inside;
                        drop(was);
                        rest.extend([piece]);
                    }
                }
            };
        }
        // the order of `subtract`
        peel!(proto);
        peel!(dport);
        peel!(state);
        peel!(src);
        peel!(dst);
        peel!(sport);
        peel!(iif);
        peel!(oif);
        Cut::Inside(cur)
    }

    /// Is every packet of `self` in `o`?
    pub fn is_subset(&self, o: &Self) -> bool {
        self.src.is_subset(&o.src)
            && self.dst.is_subset(&o.dst)
            && self.proto.is_subset(&o.proto)
            && self.sport.is_subset(&o.sport)
            && self.dport.is_subset(&o.dport)
            && self.state.is_subset(&o.state)
            && self.iif.is_subset(&o.iif)
            && self.oif.is_subset(&o.oif)
    }

    /// Does this box hold the single packet `p`?
    pub fn contains(&self, p: &Packet) -> bool {
        self.src.0.contains(p.src)
            && self.dst.0.contains(p.dst)
            && self.proto.contains(p.proto)
            && self.sport.contains(p.sport)
            && self.dport.contains(p.dport)
            && self.state.contains(p.state)
            && self.iif.contains(p.iif)
            && self.oif.contains(p.oif)
    }
}

impl fmt::Debug for PacketBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[src {} dst {} proto {:?} sport {:?} dport {:?} state {:?} iif {:?} oif {:?}]",
            self.src, self.dst, self.proto, self.sport, self.dport, self.state, self.iif, self.oif
        )
    }
}

/// What [`PacketBox::split`] leaves of a box.
#[derive(Debug)]
pub enum Cut {
    /// The boxes meet: this is the part inside the other (the parts outside were pushed).
    Inside(PacketBox),
    /// They do not meet: the whole box, as it was.
    Apart(PacketBox),
}

/// One packet: a point of packet space (addresses in the [`AddrSet`] encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub state: u8,
    pub iif: u16,
    pub oif: u16,
}

impl Packet {
    pub fn as_box(&self) -> PacketBox {
        use super::interval::IntervalSet as I;
        PacketBox {
            src: AddrSet(I::single(self.src)),
            dst: AddrSet(I::single(self.dst)),
            proto: I::single(self.proto),
            sport: I::single(self.sport),
            dport: I::single(self.dport),
            state: I::single(self.state),
            iif: I::single(self.iif),
            oif: I::single(self.oif),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::interval::IntervalSet;
    use proptest::prelude::*;

    fn small_box() -> impl Strategy<Value = PacketBox> {
        // a small universe so random boxes overlap often
        let set8 = || {
            prop::collection::vec((0u8..8, 0u8..8), 1..3).prop_map(|v| {
                IntervalSet::from_ranges(v.into_iter().map(|(a, b)| (a.min(b), a.max(b))))
            })
        };
        let set16 = || {
            prop::collection::vec((0u16..8, 0u16..8), 1..3).prop_map(|v| {
                IntervalSet::from_ranges(v.into_iter().map(|(a, b)| (a.min(b), a.max(b))))
            })
        };
        let addr = || {
            prop::collection::vec((0u128..8, 0u128..8), 1..3).prop_map(|v| {
                AddrSet(IntervalSet::from_ranges(
                    v.into_iter().map(|(a, b)| (a.min(b), a.max(b))),
                ))
            })
        };
        (
            addr(),
            addr(),
            set8(),
            set16(),
            set16(),
            set8(),
            set16(),
            set16(),
        )
            .prop_map(
                |(src, dst, proto, sport, dport, state, iif, oif)| PacketBox {
                    src,
                    dst,
                    proto,
                    sport,
                    dport,
                    state,
                    iif,
                    oif,
                },
            )
    }

    fn small_packet() -> impl Strategy<Value = Packet> {
        (
            0u128..8,
            0u128..8,
            0u8..8,
            0u16..8,
            0u16..8,
            0u8..8,
            0u16..8,
            0u16..8,
        )
            .prop_map(|(src, dst, proto, sport, dport, state, iif, oif)| Packet {
                src,
                dst,
                proto,
                sport,
                dport,
                state,
                iif,
                oif,
            })
    }

    proptest! {
        #[test]
        fn subtract_and_intersect_agree_with_points(a in small_box(), b in small_box(), pts in prop::collection::vec(small_packet(), 40)) {
            let diff = a.subtract(&b);
            let inter = a.intersect(&b);
            for p in &pts {
                let in_a = a.contains(p);
                let in_b = b.contains(p);
                let in_diff = diff.iter().filter(|x| x.contains(p)).count();
                prop_assert!(in_diff <= 1, "difference pieces overlap");
                prop_assert_eq!(in_diff == 1, in_a && !in_b);
                prop_assert_eq!(inter.as_ref().is_some_and(|x| x.contains(p)), in_a && in_b);
            }
            prop_assert!(diff.len() <= 8);
            // `split` is both at once, the same boxes in the same order
            let mut rest = Vec::new();
            match a.clone().split(&b, &mut rest) {
                Cut::Inside(inside) => {
                    prop_assert_eq!(Some(inside), inter);
                    prop_assert_eq!(&rest, &diff);
                }
                Cut::Apart(whole) => {
                    prop_assert!(inter.is_none() && rest.is_empty());
                    prop_assert_eq!(vec![whole], diff.clone());
                }
            }
            for d in &diff { prop_assert!(d.is_subset(&a) && d.intersect(&b).is_none()); }
        }
    }

    #[test]
    fn subtract_disjoint_and_cover() {
        let mut a = PacketBox::full();
        a.dport = PortSet::range(4000, 4010);
        let mut b = PacketBox::full();
        b.dport = PortSet::single(4005);
        b.src = AddrSet::parse("10.0.0.0/8").unwrap();
        let d = a.subtract(&b);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].dport,
            PortSet::from_ranges([(4000, 4004), (4006, 4010)])
        );
        assert_eq!(d[1].dport, PortSet::single(4005));
        assert_eq!(
            d[1].src,
            AddrSet::parse("10.0.0.0/8")
                .unwrap()
                .complement_in(crate::model::addr::Family::V4)
                .union(&AddrSet::any_v6())
        );
        assert!(a.subtract(&a).is_empty());
    }
}
