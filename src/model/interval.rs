//! Sets of integers as sorted, disjoint, non-adjacent inclusive ranges. Every dimension of packet
//! space (addresses, ports, protocols, states, interfaces) is one of these.

use std::fmt::Debug;

use smallvec::{smallvec, SmallVec};

/// The ranges of a set: two inline (a port, a prefix, a negated prefix are one or two ranges),
/// so most sets live inside their box and cloning a box allocates nothing.
type Ranges<T> = SmallVec<[(T, T); INLINE]>;

/// How many ranges a set holds without the heap.
const INLINE: usize = 2;

/// A normalised list as a set's ranges: inline when it fits (as every operation's result is,
/// so that a cloned box allocates nothing), else the list itself, shrunk when mostly unused.
fn own<T: Point>(mut v: Vec<(T, T)>) -> Ranges<T> {
    if v.len() <= INLINE {
        return SmallVec::from_slice(&v);
    }
    if v.capacity() > 2 * v.len() {
        v.shrink_to_fit();
    }
    SmallVec::from_vec(v)
}

/// An empty list for a result of at most `bound` ranges: on the heap at once only when that
/// bound is past what fits inline. A result of one or two ranges from small operands (most of
/// them: a prefix less a prefix, two ports) then never touches the heap; one that grows past
/// the inline room spills once, as a push does.
fn room<T: Point>(bound: usize) -> Ranges<T> {
    if bound <= 2 * INLINE {
        SmallVec::new()
    } else {
        SmallVec::with_capacity(bound)
    }
}

/// An integer type usable as a point of an [`IntervalSet`].
pub trait Point: Copy + Ord + Debug + Send + Sync + 'static {
    const MIN: Self;
    const MAX: Self;
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Option<Self>;
}

macro_rules! point {
    ($($t:ty),*) => {$(
        impl Point for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> { self.checked_add(1) }
            fn pred(self) -> Option<Self> { self.checked_sub(1) }
        }
    )*};
}
point!(u8, u16, u32, u128);

/// Extend `last` by `(a, b)`, which starts at or after it, if the two overlap or touch.
fn absorb<T: Point>(last: &mut (T, T), (a, b): (T, T)) -> bool {
    let touches = match last.1.succ() {
        Some(n) => a <= n,
        None => true,
    };
    if touches && b > last.1 {
        last.1 = b;
    }
    touches
}

/// A set of points, kept normalised: ranges sorted, disjoint and never adjacent, so two equal sets
/// have equal representations.
#[derive(PartialEq, Eq, Hash)]
pub struct IntervalSet<T: Point> {
    ranges: Ranges<T>,
}

/// A copy of the ranges at once (`SmallVec`'s own `clone` pushes them one at a time: a box is
/// cloned for every piece a rule cuts, and that was 5% of a run's instructions).
impl<T: Point> Clone for IntervalSet<T> {
    fn clone(&self) -> Self {
        // inline lists by fixed-size moves, with no call to `memcpy` for a few bytes
        let ranges = match *self.ranges.as_slice() {
            [] => SmallVec::new(),
            [r] => SmallVec::from_buf_and_len([r; INLINE], 1),
            [r, q] => SmallVec::from_buf([r, q]),
            ref many => SmallVec::from_slice(many),
        };
        IntervalSet { ranges }
    }
}

impl<T: Point> Debug for IntervalSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.ranges.iter().map(|(a, b)| a..=b))
            .finish()
    }
}

impl<T: Point> Default for IntervalSet<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Point> IntervalSet<T> {
    pub fn empty() -> Self {
        IntervalSet {
            ranges: SmallVec::new(),
        }
    }
    pub fn full() -> Self {
        IntervalSet {
            ranges: smallvec![(T::MIN, T::MAX)],
        }
    }
    pub fn single(x: T) -> Self {
        IntervalSet {
            ranges: smallvec![(x, x)],
        }
    }
    /// `[lo, hi]`; empty when `lo > hi`.
    pub fn range(lo: T, hi: T) -> Self {
        if lo > hi {
            Self::empty()
        } else {
            IntervalSet {
                ranges: smallvec![(lo, hi)],
            }
        }
    }
    /// From any ranges (overlapping, unsorted, reversed ones are dropped).
    pub fn from_ranges(it: impl IntoIterator<Item = (T, T)>) -> Self {
        let mut v: Vec<(T, T)> = it.into_iter().filter(|(a, b)| a <= b).collect();
        if !v.is_sorted() {
            v.sort_unstable();
        }
        // merged in place, and the list kept as the set's own (no second allocation)
        let mut kept: usize = 0;
        for i in 0..v.len() {
            let (a, b) = v[i];
            if let Some(last) = kept.checked_sub(1).and_then(|k| v.get_mut(k)) {
                if absorb(last, (a, b)) {
                    continue;
                }
            }
            v[kept] = (a, b);
            kept += 1;
        }
        v.truncate(kept);
        IntervalSet { ranges: own(v) }
    }
    /// From ranges sorted by their start (they may overlap or touch): no sort, and no heap for
    /// a set of one or two ranges.
    pub fn from_sorted(it: impl IntoIterator<Item = (T, T)>) -> Self {
        let mut out: Ranges<T> = SmallVec::new();
        for (a, b) in it {
            if a > b {
                continue;
            }
            debug_assert!(out.last().is_none_or(|l| l.0 <= a));
            if let Some(last) = out.last_mut() {
                if absorb(last, (a, b)) {
                    continue;
                }
            }
            out.push((a, b));
        }
        IntervalSet { ranges: out }
    }
    /// From ranges already sorted, disjoint and never adjacent (what a walk in address order
    /// makes); checked in debug builds.
    pub fn from_normalised(ranges: Vec<(T, T)>) -> Self {
        debug_assert!(ranges.iter().all(|(a, b)| a <= b));
        debug_assert!(ranges
            .windows(2)
            .all(|w| w[0].1 < w[1].0 && w[0].1.succ() != Some(w[1].0)));
        IntervalSet {
            ranges: own(ranges),
        }
    }
    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.ranges.len() == 1 && self.ranges[0] == (T::MIN, T::MAX)
    }
    pub fn min(&self) -> Option<T> {
        self.ranges.first().map(|r| r.0)
    }
    pub fn contains(&self, x: T) -> bool {
        // ranges are sorted: binary search on the start
        let i = self.ranges.partition_point(|r| r.0 <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }
    pub fn union(&self, other: &Self) -> Self {
        if self.is_empty() {
            return other.clone();
        }
        if other.is_empty() {
            return self.clone();
        }
        // both are sorted: merge in one pass (no sort)
        let (a, b) = (&self.ranges, &other.ranges);
        let mut out: Ranges<T> = room(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x.0 <= y.0 => {
                    i += 1;
                    x
                }
                (_, Some(&y)) => {
                    j += 1;
                    y
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (None, None) => break,
            };
            match out.last_mut() {
                Some(last) if last.1.succ().is_none_or(|n| next.0 <= n) => {
                    if next.1 > last.1 {
                        last.1 = next.1;
                    }
                }
                _ => out.push(next),
            }
        }
        IntervalSet { ranges: out }
    }
    pub fn intersect(&self, other: &Self) -> Self {
        let (mut i, mut j) = (0, 0);
        let mut out: Ranges<T> = SmallVec::new();
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a0, a1) = self.ranges[i];
            let (b0, b1) = other.ranges[j];
            let lo = a0.max(b0);
            let hi = a1.min(b1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        IntervalSet { ranges: out }
    }
    pub fn intersects(&self, other: &Self) -> bool {
        // the two lists as slices once (each access to a `SmallVec` asks where it lives)
        let (a, b) = (self.ranges.as_slice(), other.ranges.as_slice());
        // one range each: the common case (a port, a prefix, a protocol)
        if let ([(a0, a1)], [(b0, b1)]) = (a, b) {
            return a0.max(b0) <= a1.min(b1);
        }
        // one range against many: a binary search, not a walk (a rule's prefix against the
        // thousands of ranges a merged union can hold)
        let (small, big) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        if small.len() <= 2 && big.len() > 8 {
            return small.iter().any(|&(lo, hi)| {
                // the first range of `big` that ends at or after `lo`
                let k = big.partition_point(|r| r.1 < lo);
                big.get(k).is_some_and(|r| r.0 <= hi)
            });
        }
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
            if a0.max(b0) <= a1.min(b1) {
                return true;
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }
    pub fn complement(&self) -> Self {
        let mut out: Ranges<T> = room(self.ranges.len() + 1);
        let mut next = Some(T::MIN);
        for &(a, b) in &self.ranges {
            if let Some(n) = next {
                if n < a {
                    if let Some(p) = a.pred() {
                        out.push((n, p));
                    }
                }
            }
            next = b.succ();
        }
        if let Some(n) = next {
            out.push((n, T::MAX));
        }
        IntervalSet { ranges: out }
    }
    pub fn difference(&self, other: &Self) -> Self {
        if other.is_empty() || self.is_empty() {
            return self.clone();
        }
        // one pass over both sorted lists
        let mut out: Ranges<T> = room(self.ranges.len() + 1);
        let mut j = 0;
        let b = &other.ranges;
        for &(lo, hi) in &self.ranges {
            let mut cur = Some(lo);
            while j < b.len() && b[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            while let Some(c) = cur {
                match b.get(k) {
                    Some(&(blo, bhi)) if blo <= hi => {
                        if blo > c {
                            if let Some(p) = blo.pred() {
                                out.push((c, p));
                            }
                        }
                        cur = if bhi >= hi {
                            None
                        } else {
                            bhi.succ().filter(|n| *n >= c).map(|n| n.max(c))
                        };
                        if bhi < hi {
                            k += 1;
                        }
                    }
                    _ => {
                        out.push((c, hi));
                        cur = None;
                    }
                }
            }
        }
        IntervalSet { ranges: out }
    }
    pub fn is_subset(&self, other: &Self) -> bool {
        // `other`'s ranges never touch, so each range of `self` must lie inside one of them
        let b = &other.ranges;
        self.ranges.iter().all(|&(lo, hi)| {
            let k = b.partition_point(|r| r.1 < lo);
            b.get(k).is_some_and(|&(blo, bhi)| blo <= lo && hi <= bhi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: &[(u16, u16)]) -> IntervalSet<u16> {
        IntervalSet::from_ranges(r.iter().copied())
    }

    #[test]
    fn normalises_overlaps_and_adjacency() {
        assert_eq!(
            s(&[(5, 9), (1, 3), (4, 4), (20, 30), (25, 40)]).ranges(),
            &[(1, 9), (20, 40)]
        );
        assert_eq!(s(&[(9, 5)]).ranges(), &[] as &[(u16, u16)]);
        assert_eq!(s(&[(0, 10), (11, u16::MAX)]), IntervalSet::full());
    }

    #[test]
    fn algebra() {
        let a = s(&[(10, 20), (30, 40)]);
        let b = s(&[(15, 35)]);
        assert_eq!(a.intersect(&b), s(&[(15, 20), (30, 35)]));
        assert_eq!(a.union(&b), s(&[(10, 40)]));
        assert_eq!(a.difference(&b), s(&[(10, 14), (36, 40)]));
        assert_eq!(a.complement(), s(&[(0, 9), (21, 29), (41, u16::MAX)]));
        assert_eq!(
            IntervalSet::<u16>::full().complement(),
            IntervalSet::empty()
        );
        assert_eq!(
            IntervalSet::<u16>::empty().complement(),
            IntervalSet::full()
        );
        assert!(a.contains(10) && a.contains(40) && !a.contains(25) && !a.contains(41));
        assert!(s(&[(31, 33)]).is_subset(&a) && !b.is_subset(&a));
        assert!(a.intersects(&b) && !a.intersects(&s(&[(21, 29)])));
        // ranges that share one end point meet; neighbours do not (one range each, and one
        // range against more than 8)
        assert!(s(&[(10, 20)]).intersects(&s(&[(20, 30)])));
        assert!(!s(&[(10, 20)]).intersects(&s(&[(21, 30)])));
        let many: Vec<(u16, u16)> = (0..10).map(|k| (k * 10, k * 10 + 4)).collect();
        let many = s(&many);
        assert!(many.intersects(&s(&[(44, 44)])) && s(&[(7, 10)]).intersects(&many));
        assert!(!many.intersects(&s(&[(45, 49)])) && !s(&[(95, 99)]).intersects(&many));
    }

    proptest::proptest! {
        #[test]
        fn union_and_difference_agree_with_points(
            // up to 12 ranges: the binary search of `intersects` (one or two ranges against
            // more than 8) is taken too
            a in proptest::collection::vec((0u8..=255, 0u8..=255), 0..12),
            b in proptest::collection::vec((0u8..=255, 0u8..=255), 0..6),
        ) {
            let sa = IntervalSet::from_ranges(a.iter().map(|&(x, y)| (x.min(y), x.max(y))));
            let sb = IntervalSet::from_ranges(b.iter().map(|&(x, y)| (x.min(y), x.max(y))));
            let u = sa.union(&sb);
            let d = sa.difference(&sb);
            for x in 0u8..=255 {
                proptest::prop_assert_eq!(u.contains(x), sa.contains(x) || sb.contains(x));
                proptest::prop_assert_eq!(d.contains(x), sa.contains(x) && !sb.contains(x));
            }
            // normalised: equal sets, equal representations
            proptest::prop_assert_eq!(&u, &IntervalSet::from_ranges(u.ranges().iter().copied()));
            proptest::prop_assert_eq!(&d, &IntervalSet::from_ranges(d.ranges().iter().copied()));
            // a subset of the other: every point of it in the other
            let inside = (0u8..=255).all(|x| !sa.contains(x) || sb.contains(x));
            proptest::prop_assert_eq!(sa.is_subset(&sb), inside);
            proptest::prop_assert!(d.is_subset(&sa) && sa.is_subset(&u) && sb.is_subset(&u));
            // and the operations that start inline agree with the points too
            let c = sa.complement();
            let i = sa.intersect(&sb);
            for x in 0u8..=255 {
                proptest::prop_assert_eq!(c.contains(x), !sa.contains(x));
                proptest::prop_assert_eq!(i.contains(x), sa.contains(x) && sb.contains(x));
            }
            // they meet where a point is in both, whichever is asked
            let meet = (0u8..=255).any(|x| sa.contains(x) && sb.contains(x));
            proptest::prop_assert_eq!(sa.intersects(&sb), meet);
            proptest::prop_assert_eq!(sb.intersects(&sa), meet);
            proptest::prop_assert_eq!(sa.intersects(&sa), !sa.is_empty());
            // a copy is the set, inline or not
            proptest::prop_assert_eq!(&sa.clone(), &sa);
            proptest::prop_assert_eq!(&u.clone(), &u);
        }
    }

    #[test]
    fn extremes() {
        let top = IntervalSet::<u8>::single(255);
        assert_eq!(top.complement(), IntervalSet::range(0, 254));
        let bottom = IntervalSet::<u8>::single(0);
        assert_eq!(bottom.complement(), IntervalSet::range(1, 255));
        assert!(IntervalSet::<u128>::full().contains(u128::MAX));
    }
}
