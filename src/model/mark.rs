//! The packet mark (nfmark) as the model knows it: which of its 32 bits earlier rules on the
//! packet's path have set, and to what.
//!
//! ## The kernel's behaviour (iptables-extensions(8): `mark`, `MARK`, `CONNMARK`; `xt_mark`)
//! - Every packet (skb) carries a 32-bit mark. It is not in the packet on the wire: it starts as
//!   whatever the stack gave it (0 for most packets, but tc, policy routing, a socket's
//!   `SO_MARK`, IPsec or another netfilter user may have set it), so at the start of a path the
//!   model knows none of its bits. It stays with the packet through every table and chain of one
//!   host's path (raw, mangle, nat, filter, security); a reply is another packet, with its own.
//! - `-m mark [!] --mark value[/mask]` matches when `(mark & mask) == value` (mask defaults to
//!   0xffffffff; `!` inverts). A value with bits outside the mask never matches.
//! - `-j MARK` rewrites it as `mark = (mark & ~mask) ^ xor`: `--set-xmark value[/mask]` zeroes
//!   the bits of `mask` and XORs `value`; `--set-mark value[/mask]` zeroes the bits of `mask`
//!   and ORs `value` (mask defaults to 0xffffffff for both); `--and-mark bits`, `--or-mark bits`
//!   and `--xor-mark bits` are mnemonics for `--set-xmark 0/~bits`, `bits/bits` and `bits/0`.
//!   The target is non-terminating: the packet goes on with the next rule.
//! - `-j CONNMARK --restore-mark [--nfmask m] [--ctmask c]` (or `--mask` for both) sets
//!   `mark = (mark & ~nfmask) ^ (ctmark & ctmask)` from the connection's mark, which earlier
//!   packets of the connection set: the bits of `ctmask` become unknown, those of `nfmask`
//!   outside it become 0. The other forms (`--set-xmark`, `--save-mark`, ...) change the
//!   connection mark only, never the packet's. `-m connmark` tests the connection mark: not
//!   modelled (undecidable).
//! - Other targets overwrite the mark with values the export does not show (`HMARK`'s hash, `SET
//!   --map-mark` from an ipset): its bits become unknown.
//!
//! So a `-m mark` test is decided when every bit it looks at was set by an earlier rule of the
//! same path (or when a bit already known contradicts it); otherwise it stays undecidable with
//! its reason, as every match the export does not determine.

use super::rule::Rule;
use std::borrow::Cow;

/// What is known of a packet's mark: the bits of `known`, whose values are those of `value`
/// (bits outside `known` are 0 in `value`). The default knows nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mark {
    known: u32,
    value: u32,
}

impl Mark {
    /// Nothing known (the start of every path).
    pub const UNKNOWN: Mark = Mark { known: 0, value: 0 };

    /// Every bit known: the mark is `v`.
    pub fn exactly(v: u32) -> Mark {
        Mark {
            known: u32::MAX,
            value: v,
        }
    }

    pub fn known(self) -> u32 {
        self.known
    }

    pub fn value(self) -> u32 {
        self.value
    }

    /// The knowledge after a rule did `op` to the mark.
    pub fn apply(self, op: MarkOp) -> Mark {
        let known = (self.known | op.zero) & !op.forget;
        Mark {
            known,
            value: ((self.value & !op.zero) ^ op.xor) & known,
        }
    }

    /// What holds in both of two worlds: the bits known in both with the same value.
    pub fn join(self, o: Mark) -> Mark {
        let known = self.known & o.known & !(self.value ^ o.value);
        Mark {
            known,
            value: self.value & known,
        }
    }
}

/// A change to the packet mark: `mark = (mark & ~zero) ^ xor`, then the bits of `forget` are
/// set to values the export does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkOp {
    zero: u32,
    xor: u32,
    forget: u32,
}

impl MarkOp {
    /// `-j MARK --set-xmark value/mask`.
    pub fn set_xmark(value: u32, mask: u32) -> MarkOp {
        MarkOp {
            zero: mask,
            xor: value,
            forget: 0,
        }
    }

    /// `-j MARK --set-mark value/mask`: zero the bits of the mask, then OR the value (the kernel
    /// is given `value/(mask | value)` for `--set-xmark`).
    pub fn set_mark(value: u32, mask: u32) -> MarkOp {
        MarkOp::set_xmark(value, mask | value)
    }

    /// `-j MARK --and-mark bits`.
    pub fn and(bits: u32) -> MarkOp {
        MarkOp::set_xmark(0, !bits)
    }

    /// `-j MARK --or-mark bits`.
    pub fn or(bits: u32) -> MarkOp {
        MarkOp::set_xmark(bits, bits)
    }

    /// `-j MARK --xor-mark bits`.
    pub fn xor(bits: u32) -> MarkOp {
        MarkOp::set_xmark(bits, 0)
    }

    /// `-j CONNMARK --restore-mark --nfmask nfmask --ctmask ctmask`: the bits of `ctmask` come
    /// from the connection mark (unknown), the rest of `nfmask` is zeroed.
    pub fn restore(nfmask: u32, ctmask: u32) -> MarkOp {
        MarkOp {
            zero: nfmask,
            xor: 0,
            forget: ctmask,
        }
    }

    /// A target that writes the whole mark with a value the export does not show.
    pub fn overwrite() -> MarkOp {
        MarkOp {
            zero: 0,
            xor: 0,
            forget: u32::MAX,
        }
    }
}

/// A rule's `-m mark [!] --mark value/mask` test. The lowering also lists `reason` in the rule's
/// `undecidable`: evaluation drops it where the mark's bits are known ([`Rule::reasons_under`]),
/// so whatever does not know the path's mark (shadowing, Z002's wording) treats the test as
/// undecidable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MarkMatch {
    pub value: u32,
    pub mask: u32,
    pub negated: bool,
    pub reason: String,
}

impl MarkMatch {
    /// Whether every packet with mark knowledge `k` matches (`Some(true)`), none does
    /// (`Some(false)`), or it depends on bits nobody set (`None`).
    pub fn test(&self, k: Mark) -> Option<bool> {
        let known = self.mask & k.known;
        let contradicted =
            self.value & !self.mask != 0 || (k.value & known) != (self.value & known);
        let equal = if contradicted {
            false
        } else if known == self.mask {
            true
        } else {
            return None;
        };
        Some(equal != self.negated)
    }
}

impl Rule {
    /// The conditions of this rule that stay undecidable for packets whose mark is known as
    /// `mark`, or `None` when its mark test fails for all of them (the rule cannot match).
    pub fn reasons_under(&self, mark: Mark) -> Option<Cow<'_, [String]>> {
        let Some(t) = &self.mark else {
            return Some(Cow::Borrowed(&self.undecidable));
        };
        match t.test(mark) {
            Some(false) => None,
            Some(true) => Some(Cow::Owned(
                self.undecidable
                    .iter()
                    .filter(|r| **r != t.reason)
                    .cloned()
                    .collect(),
            )),
            None => Some(Cow::Borrowed(&self.undecidable)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(value: u32, mask: u32, negated: bool) -> MarkMatch {
        MarkMatch {
            value,
            mask,
            negated,
            reason: "-m mark".into(),
        }
    }

    /// Every form of `-j MARK` against the kernel's formula on concrete marks: where the model
    /// says a bit is known, every starting mark ends with that bit.
    #[test]
    fn operations_agree_with_the_kernel_formula() {
        let kernel = |m: u32, zero: u32, xor: u32| (m & !zero) ^ xor;
        let cases = [
            (MarkOp::set_xmark(0x1, 0xffff_ffff), 0xffff_ffffu32, 0x1u32),
            (MarkOp::set_mark(0x3, 0xffff_ffff), 0xffff_ffff, 0x3),
            (MarkOp::set_mark(0x4, 0x1), 0x5, 0x4),
            (MarkOp::and(0xf0), !0xf0, 0),
            (MarkOp::or(0x10), 0x10, 0x10),
            (MarkOp::xor(0x2), 0, 0x2),
        ];
        for (op, zero, xor) in cases {
            for start in [0u32, 1, 0xff, 0xdead_beef, u32::MAX] {
                let want = kernel(start, zero, xor);
                // from nothing known, and from the start mark fully known
                for k in [Mark::UNKNOWN, Mark::exactly(start)] {
                    let got = k.apply(op);
                    assert_eq!(
                        got.value() & got.known(),
                        want & got.known(),
                        "{op:?} {start:#x}"
                    );
                }
                assert_eq!(Mark::exactly(start).apply(op), Mark::exactly(want));
            }
        }
        // --set-mark 0x3 fixes every bit; --or-mark 0x10 only bit 4; --xor-mark none
        assert_eq!(
            Mark::UNKNOWN.apply(MarkOp::set_mark(3, u32::MAX)),
            Mark::exactly(3)
        );
        let or = Mark::UNKNOWN.apply(MarkOp::or(0x10));
        assert_eq!((or.known(), or.value()), (0x10, 0x10));
        assert_eq!(Mark::UNKNOWN.apply(MarkOp::xor(2)), Mark::UNKNOWN);
        // --and-mark 0xf0 makes every other bit 0
        let and = Mark::UNKNOWN.apply(MarkOp::and(0xf0));
        assert_eq!((and.known(), and.value()), (!0xf0, 0));
    }

    #[test]
    fn restore_mark_forgets_the_connection_bits() {
        let k = Mark::exactly(0x1).apply(MarkOp::restore(u32::MAX, u32::MAX));
        assert_eq!(k, Mark::UNKNOWN);
        // --nfmask 0xff --ctmask 0x0f: bits 4-7 zeroed, 0-3 from the connection, the rest kept
        let k = Mark::exactly(0x1ff).apply(MarkOp::restore(0xff, 0x0f));
        assert_eq!(k.known(), !0x0f);
        assert_eq!(k.value(), 0x100);
        assert_eq!(Mark::exactly(7).apply(MarkOp::overwrite()), Mark::UNKNOWN);
    }

    #[test]
    fn a_test_is_decided_only_on_known_bits() {
        let set3 = Mark::UNKNOWN.apply(MarkOp::set_mark(3, u32::MAX));
        assert_eq!(test(1, 1, false).test(set3), Some(true));
        assert_eq!(test(1, u32::MAX, false).test(set3), Some(false));
        assert_eq!(test(1, u32::MAX, true).test(set3), Some(true));
        assert_eq!(test(3, u32::MAX, false).test(set3), Some(true));
        assert_eq!(test(1, u32::MAX, false).test(Mark::UNKNOWN), None);
        // only bit 0 known: a test of bits 0-1 is undecided unless bit 0 already contradicts it
        let bit0 = Mark::UNKNOWN.apply(MarkOp::or(1));
        assert_eq!(test(1, 3, false).test(bit0), None);
        assert_eq!(test(2, 3, false).test(bit0), Some(false));
        assert_eq!(test(2, 3, true).test(bit0), Some(true));
        // a value outside its mask never matches, whatever the mark
        assert_eq!(test(2, 1, false).test(Mark::UNKNOWN), Some(false));
    }

    #[test]
    fn join_keeps_what_both_worlds_agree_on() {
        let a = Mark::exactly(1);
        let b = Mark::exactly(3);
        let j = a.join(b);
        assert_eq!((j.known(), j.value()), (!2, 1));
        assert_eq!(a.join(Mark::UNKNOWN), Mark::UNKNOWN);
        assert_eq!(a.join(a), a);
    }
}
