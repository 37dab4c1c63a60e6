//! Address sets over IPv4 and IPv6 at once.
//!
//! One [`IntervalSet<u128>`]: IPv6 addresses are themselves, IPv4 addresses are placed in the
//! IPv4-mapped block `::ffff:0:0/96`. So "all IPv4" and "all IPv6" are two disjoint parts of one
//! line, and a set can hold both (an NSG `*`) or one family only (an iptables-save dump). The one
//! price: a literal IPv6 address inside `::ffff:0:0/96` reads as its IPv4 twin, which is what the
//! kernel does with such addresses on a dual-stack socket anyway. An IPv6 block or range that
//! spans the whole IPv4-mapped block (`::/0`, `::/64`) holds IPv6 addresses only: `::/0` is every
//! IPv6 address and no IPv4 one, as in every firewall that writes it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::interval::IntervalSet;

const V4_BASE: u128 = 0xffff_0000_0000;
const V4_LAST: u128 = V4_BASE + u32::MAX as u128;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("`{0}` is not an IP address")]
    BadAddress(String),
    #[error("prefix length `{0}` is out of range for this address family")]
    BadPrefix(String),
    #[error("netmask `{0}` is not a valid netmask")]
    BadMask(String),
    #[error("range `{0}` runs backwards or mixes IPv4 and IPv6")]
    BadRange(String),
    #[error("`{0}` is an address of the other family")]
    WrongFamily(String),
}

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct AddrSet(pub IntervalSet<u128>);

fn v4(a: Ipv4Addr) -> u128 {
    V4_BASE + u32::from(a) as u128
}

fn ip_point(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => {
            if let Some(m) = a.to_ipv4_mapped() {
                v4(m)
            } else {
                u128::from(a)
            }
        }
    }
}

fn is_v4_point(x: u128) -> bool {
    (V4_BASE..=V4_LAST).contains(&x)
}

impl AddrSet {
    pub fn empty() -> Self {
        AddrSet(IntervalSet::empty())
    }
    /// Every IPv4 and IPv6 address.
    pub fn any() -> Self {
        AddrSet(IntervalSet::full())
    }
    pub fn any_v4() -> Self {
        AddrSet(IntervalSet::range(V4_BASE, V4_LAST))
    }
    pub fn any_v6() -> Self {
        AddrSet(IntervalSet::range(V4_BASE, V4_LAST).complement())
    }
    pub fn any_of(family: Family) -> Self {
        match family {
            Family::V4 => Self::any_v4(),
            Family::V6 => Self::any_v6(),
        }
    }
    /// 127.0.0.0/8 and ::1.
    pub fn loopback() -> Self {
        AddrSet(IntervalSet::from_ranges([
            (
                v4(Ipv4Addr::new(127, 0, 0, 0)),
                v4(Ipv4Addr::new(127, 255, 255, 255)),
            ),
            (1, 1),
        ]))
    }
    pub fn single(a: IpAddr) -> Self {
        AddrSet(IntervalSet::single(ip_point(a)))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn contains(&self, a: IpAddr) -> bool {
        self.0.contains(ip_point(a))
    }
    pub fn union(&self, o: &Self) -> Self {
        AddrSet(self.0.union(&o.0))
    }
    pub fn intersect(&self, o: &Self) -> Self {
        AddrSet(self.0.intersect(&o.0))
    }
    pub fn difference(&self, o: &Self) -> Self {
        AddrSet(self.0.difference(&o.0))
    }
    /// Every address of both families.
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }
    pub fn is_subset(&self, o: &Self) -> bool {
        self.0.is_subset(&o.0)
    }
    /// The complement within one family (what `! -s 10.0.0.0/8` means in a dump of that family).
    pub fn complement_in(&self, family: Family) -> Self {
        Self::any_of(family).difference(self)
    }
    /// The part of this set in one family.
    pub fn family_part(&self, family: Family) -> Self {
        self.intersect(&Self::any_of(family))
    }
    /// The globally reachable unicast addresses of a family: IPv4 without the IANA
    /// special-purpose blocks (RFC 6890 and successors: 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
    /// 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24,
    /// 203.0.113/24, 224/4 multicast, 240/4 reserved and broadcast); IPv6's global unicast
    /// 2000::/3 without 2001::/23 (IETF protocol assignments), 2001:db8::/32 (documentation)
    /// and 2002::/16 (6to4).
    pub fn public(family: Family) -> Self {
        // made once per family: the exposure check asks for every inbound flow of every file
        static V4: std::sync::OnceLock<AddrSet> = std::sync::OnceLock::new();
        static V6: std::sync::OnceLock<AddrSet> = std::sync::OnceLock::new();
        let cell = match family {
            Family::V4 => &V4,
            Family::V6 => &V6,
        };
        cell.get_or_init(|| Self::make_public(family)).clone()
    }

    fn make_public(family: Family) -> Self {
        let parse = |list: &[&str]| {
            list.iter().fold(AddrSet::empty(), |a, c| {
                a.union(&AddrSet::parse(c).unwrap_or_else(|_| AddrSet::empty()))
            })
        };
        match family {
            Family::V4 => AddrSet::any_v4().difference(&parse(&[
                "0.0.0.0/8",
                "10.0.0.0/8",
                "100.64.0.0/10",
                "127.0.0.0/8",
                "169.254.0.0/16",
                "172.16.0.0/12",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.88.99.0/24",
                "192.168.0.0/16",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "224.0.0.0/4",
                "240.0.0.0/4",
            ])),
            Family::V6 => parse(&["2000::/3"]).difference(&parse(&[
                "2001::/23",
                "2001:db8::/32",
                "2002::/16",
            ])),
        }
    }

    /// How many addresses the set holds (saturating at `u128::MAX`).
    pub fn size(&self) -> u128 {
        self.0.ranges().iter().fold(0u128, |n, (lo, hi)| {
            n.saturating_add(hi - lo).saturating_add(1)
        })
    }

    /// True when this set holds all of IPv4 or all of IPv6 (what "open to the world" means).
    pub fn covers_a_whole_family(&self) -> bool {
        Self::any_v4().is_subset(self) || Self::any_v6().is_subset(self)
    }

    /// Parse one address expression of either family: `10.1.2.3`, `10.0.0.0/8`,
    /// `10.0.0.0/255.0.0.0` (a dotted mask, contiguous or not), `10.0.0.1-10.0.0.9`, `2001:db8::/32`,
    /// `any`, `0.0.0.0/0`.
    pub fn parse(text: &str) -> Result<Self, AddrError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("any") || t == "*" {
            return Ok(Self::any());
        }
        if let Some((a, b)) = t.split_once('-') {
            let a: IpAddr = a
                .trim()
                .parse()
                .map_err(|_| AddrError::BadAddress(a.trim().to_string()))?;
            let b: IpAddr = b
                .trim()
                .parse()
                .map_err(|_| AddrError::BadAddress(b.trim().to_string()))?;
            let (pa, pb) = (ip_point(a), ip_point(b));
            if a.is_ipv4() != b.is_ipv4() || pa > pb {
                return Err(AddrError::BadRange(t.to_string()));
            }
            let set = AddrSet(IntervalSet::range(pa, pb));
            // an IPv6 range running over the IPv4-mapped block holds no IPv4 address
            return Ok(if a.is_ipv6() && !is_v4_point(pa) && !is_v4_point(pb) {
                set.difference(&Self::any_v4())
            } else {
                set
            });
        }
        let (addr, mask) = match t.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (t, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| AddrError::BadAddress(addr.to_string()))?;
        match (ip, mask) {
            (_, None) => Ok(Self::single(ip)),
            (IpAddr::V4(a), Some(m)) => {
                if let Ok(len) = m.parse::<u8>() {
                    if len > 32 {
                        return Err(AddrError::BadPrefix(m.to_string()));
                    }
                    Ok(Self::v4_prefix(a, len))
                } else {
                    let mask: Ipv4Addr =
                        m.parse().map_err(|_| AddrError::BadMask(m.to_string()))?;
                    Self::v4_masked(a, u32::from(mask))
                        .ok_or_else(|| AddrError::BadMask(m.to_string()))
                }
            }
            (IpAddr::V6(a), Some(m)) => {
                let len: u8 = m.parse().map_err(|_| AddrError::BadPrefix(m.to_string()))?;
                if len > 128 {
                    return Err(AddrError::BadPrefix(m.to_string()));
                }
                if let Some(m4) = a.to_ipv4_mapped() {
                    if len >= 96 {
                        return Ok(Self::v4_prefix(m4, len - 96));
                    }
                }
                let bits = u128::from(a);
                let hostmask = u128::MAX.checked_shr(len as u32).unwrap_or(0);
                let lo = bits & !hostmask;
                // `::/0` (any block shorter than /96 around `::ffff:0:0/96`) is IPv6 only
                Ok(AddrSet(IntervalSet::range(lo, lo | hostmask)).difference(&Self::any_v4()))
            }
        }
    }

    /// Parse and require the given family.
    pub fn parse_in(text: &str, family: Family) -> Result<Self, AddrError> {
        let s = Self::parse(text)?;
        if text.trim().eq_ignore_ascii_case("any") || text.trim() == "*" {
            return Ok(Self::any_of(family));
        }
        if !s.is_subset(&Self::any_of(family)) {
            return Err(AddrError::WrongFamily(text.trim().to_string()));
        }
        Ok(s)
    }

    fn v4_prefix(a: Ipv4Addr, len: u8) -> Self {
        let bits = u32::from(a);
        let host = u32::MAX.checked_shr(len as u32).unwrap_or(0);
        let lo = bits & !host;
        AddrSet(IntervalSet::range(
            V4_BASE + lo as u128,
            V4_BASE + (lo | host) as u128,
        ))
    }

    /// A dotted mask. Contiguous masks are a prefix; a non-contiguous one is a union of ranges,
    /// one per combination of the free bits above the lowest fixed bit (refused past 4096).
    fn v4_masked(a: Ipv4Addr, mask: u32) -> Option<Self> {
        if mask.leading_ones() + mask.trailing_zeros() == 32 {
            return Some(Self::v4_prefix(a, mask.leading_ones() as u8));
        }
        let base = u32::from(a) & mask;
        let tail = mask.trailing_zeros(); // free low bits: one range per block
        let upper_free: Vec<u32> = (tail..32).filter(|b| mask & (1 << b) == 0).collect();
        if upper_free.len() > 12 {
            return None;
        }
        let mut ranges = Vec::with_capacity(1 << upper_free.len());
        for combo in 0u32..(1 << upper_free.len()) {
            let mut v = base;
            for (i, b) in upper_free.iter().enumerate() {
                if combo & (1 << i) != 0 {
                    v |= 1 << b;
                }
            }
            let hi = if tail == 32 {
                u32::MAX
            } else {
                v | ((1u64 << tail) - 1) as u32
            };
            ranges.push((V4_BASE + v as u128, V4_BASE + hi as u128));
        }
        Some(AddrSet(IntervalSet::from_ranges(ranges)))
    }

    /// The set as the fewest CIDR blocks, IPv4 first (`10.0.0.0/8`, `2001:db8::/32`).
    pub fn to_cidrs(&self) -> Vec<String> {
        self.cidr_blocks().iter().map(Block::to_string).collect()
    }

    /// The first `n` of [`to_cidrs`](AddrSet::to_cidrs), and how many there are (only those
    /// written out: a message that names a few of 200 blocks).
    pub fn to_cidrs_head(&self, n: usize) -> (Vec<String>, usize) {
        let blocks = self.cidr_blocks();
        let head = blocks.iter().take(n).map(Block::to_string).collect();
        (head, blocks.len())
    }

    /// The CIDR blocks of [`to_cidrs`](AddrSet::to_cidrs), in its order.
    fn cidr_blocks(&self) -> Vec<Block> {
        // the whole IPv6 family is `::/0` (its IPv4-mapped block is only our encoding)
        let v6_all = Self::any_v6().is_subset(self);
        let set = if v6_all {
            self.family_part(Family::V4)
        } else {
            self.clone()
        };
        let mut out = Vec::new();
        if v6_all {
            out.push(Block::V6_ALL);
        }
        for &(lo, hi) in set.0.ranges() {
            // split at the v4 block edges so each piece is one family
            let parts = [
                (lo, hi.min(V4_BASE.saturating_sub(1))),
                (lo.max(V4_BASE), hi.min(V4_LAST)),
                (lo.max(V4_LAST + 1), hi),
            ];
            for (a, b) in parts {
                if a > b {
                    continue;
                }
                let is_v4 = a >= V4_BASE && b <= V4_LAST;
                cidr_cover(a, b, |start, bits| {
                    out.push(Block {
                        v6: !is_v4,
                        start,
                        bits,
                    })
                });
            }
        }
        // IPv4 first, then by address (no two blocks start at one address of one family)
        out.sort_by_key(|b| (b.v6, b.start));
        out
    }
}

/// One CIDR block of [`AddrSet::to_cidrs`]: its family, first address (in the set's encoding)
/// and host bits.
#[derive(Debug, Clone, Copy)]
struct Block {
    v6: bool,
    start: u128,
    bits: u32,
}

impl Block {
    /// `::/0`, which stands for the whole IPv6 family.
    const V6_ALL: Block = Block {
        v6: true,
        start: 0,
        bits: 128,
    };
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v6 {
            write!(f, "{}/{}", Ipv6Addr::from(self.start), 128 - self.bits)
        } else {
            let ip = Ipv4Addr::from((self.start - V4_BASE) as u32);
            write!(f, "{ip}/{}", 32 - self.bits)
        }
    }
}

/// Cover `[lo, hi]` with aligned power-of-two blocks; `emit(start, host_bits)`.
fn cidr_cover(mut lo: u128, hi: u128, mut emit: impl FnMut(u128, u32)) {
    loop {
        let align = if lo == 0 { 128 } else { lo.trailing_zeros() };
        let span = hi - lo; // blocksize - 1 must be <= span
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let bits = align.min(fit);
        emit(lo, bits);
        let size_m1 = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        match lo.checked_add(size_m1).and_then(|e| e.checked_add(1)) {
            Some(n) if n <= hi => lo = n,
            _ => return,
        }
    }
}

impl fmt::Debug for AddrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddrSet{:?}", self.to_cidrs())
    }
}

impl fmt::Display for AddrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_full() {
            return f.write_str("any");
        }
        f.write_str(&self.to_cidrs().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> AddrSet {
        AddrSet::parse(s).unwrap()
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(p("10.0.0.0/8").to_cidrs(), vec!["10.0.0.0/8"]);
        assert_eq!(p("10.1.2.3").to_cidrs(), vec!["10.1.2.3/32"]);
        assert_eq!(p("10.1.2.3/32"), p("10.1.2.3"));
        assert_eq!(p("192.168.1.77/24").to_cidrs(), vec!["192.168.1.0/24"]);
        assert_eq!(p("10.0.0.0/255.255.0.0").to_cidrs(), vec!["10.0.0.0/16"]);
        assert_eq!(p("0.0.0.0/0"), AddrSet::any_v4());
        assert_eq!(p("::/0"), AddrSet::any_v6());
        assert_eq!(p("2001:db8::/32").to_cidrs(), vec!["2001:db8::/32"]);
        assert_eq!(p("::1/128").to_cidrs(), vec!["::1/128"]);
        assert_eq!(
            p("10.0.0.1-10.0.0.6").to_cidrs(),
            vec!["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(p("::ffff:10.0.0.0/104"), p("10.0.0.0/8"));
    }

    /// Regression (oracle): `::/0` read as every address of both families, so an NSG rule from
    /// `::/0` matched IPv4 packets and `ip6tables -s ::/0` was refused as "the other family".
    #[test]
    fn ipv6_blocks_around_the_mapped_block_hold_no_ipv4() {
        assert_eq!(p("::/0"), AddrSet::any_v6());
        assert!(!p("::/64").contains("10.0.0.1".parse().unwrap()));
        assert!(p("::/64").contains("::1".parse().unwrap()));
        assert!(!p("::/0").contains("0.0.0.0".parse().unwrap()));
        assert_eq!(AddrSet::parse_in("::/0", Family::V6), Ok(AddrSet::any_v6()));
        assert!(!p("::-ffff::").contains("192.168.1.1".parse().unwrap()));
        assert_eq!(p("::1-::2").to_cidrs(), vec!["::1/128", "::2/128"]);
        // the mapped block itself still reads as IPv4
        assert_eq!(p("::ffff:0:0/96"), AddrSet::any_v4());
        assert_eq!(AddrSet::any_v6().to_cidrs(), vec!["::/0"]);
    }

    #[test]
    fn non_contiguous_mask_is_exact() {
        // 10.0.x.1 for every x: mask 255.255.0.255
        let s = p("10.0.0.1/255.255.0.255");
        assert!(s.contains("10.0.7.1".parse().unwrap()));
        assert!(!s.contains("10.0.7.2".parse().unwrap()));
        assert_eq!(s.0.ranges().len(), 256);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(AddrSet::parse("10.0.0.256").is_err());
        assert!(AddrSet::parse("10.0.0.0/33").is_err());
        assert!(AddrSet::parse("10.0.0.9-10.0.0.1").is_err());
        assert!(AddrSet::parse("10.0.0.1-::1").is_err());
        assert!(AddrSet::parse_in("2001:db8::1", Family::V4).is_err());
        assert!(AddrSet::parse("").is_err());
    }

    #[test]
    fn families_are_disjoint_and_complement_stays_in_family() {
        assert!(AddrSet::any_v4().intersect(&AddrSet::any_v6()).is_empty());
        let not10 = p("10.0.0.0/8").complement_in(Family::V4);
        assert!(not10.contains("11.0.0.1".parse().unwrap()));
        assert!(!not10.contains("10.0.0.1".parse().unwrap()));
        assert!(!not10.contains("2001:db8::1".parse().unwrap()));
        assert_eq!(not10.to_cidrs().len(), 8); // 0/5, 8/7 ... around 10/8
        assert!(AddrSet::any_v4().covers_a_whole_family());
        assert!(!not10.covers_a_whole_family());
    }

    #[test]
    fn cidr_cover_of_the_whole_space() {
        assert_eq!(AddrSet::any_v4().to_cidrs(), vec!["0.0.0.0/0"]);
        // the IPv6 space minus the mapped block: covering CIDRs parse back to the same set
        let v6 = AddrSet::any_v6();
        assert_eq!(v6.to_cidrs(), vec!["::/0"]);
        assert_eq!(AddrSet::any().to_cidrs(), vec!["0.0.0.0/0", "::/0"]);
        // a partial IPv6 set: covering CIDRs parse back to the same set
        let part = v6.difference(&p("2001:db8::/32"));
        let back = part.to_cidrs().iter().fold(AddrSet::empty(), |acc, c| {
            acc.union(&p(c).family_part(Family::V6))
        });
        assert_eq!(back, part);
        assert!(!part.to_cidrs().iter().any(|c| c.starts_with("::ffff:")));
        assert!(AddrSet::any().to_cidrs().contains(&"0.0.0.0/0".to_string()));
    }
}
