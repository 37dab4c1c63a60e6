//! The binary's memory allocator. On Linux with glibc, blocks under 64 KiB (`split::LARGE`)
//! come from jemalloc and larger ones from glibc, tuned by [`tune`]; the x86-64 musl build
//! takes every block from jemalloc; other targets keep the system's allocator.
//! Measured on the README's inputs (issue 19, "Seventh round"), each allocator alone loses
//! somewhere:
//! - glibc alone: an audit makes millions of small blocks (boxes' address sets, pieces, labels),
//!   and glibc's `malloc`/`free` (with `malloc_consolidate`) were a quarter to a third of the
//!   CPU time on the 10,000 small files.
//! - jemalloc alone: 20 to 25% less CPU there and on the cloud exports, but the blocklists'
//!   lists of tens of thousands of pieces (megabytes, grown by `realloc`) were slower (16k
//!   rules +20%) and the 1M-rule dump's peak 350 MiB higher.
//!
//! Split by size, each serves what it is good at. Which allocator owns a block follows from
//! its size and alignment alone (`split::in_glibc`), and Rust passes `dealloc` and `realloc` the
//! layout the block was made with, so a block always goes back to the allocator it came from.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod split {
    use std::alloc::{GlobalAlloc, Layout};

    use tikv_jemallocator::Jemalloc;

    #[global_allocator]
    static GLOBAL: Split = Split;

    /// Blocks of at least this many bytes come from glibc (16 KiB and 256 KiB were measured
    /// too: the same on the small files, slower on the 100k blocklist).
    pub(super) const LARGE: usize = 64 << 10;

    /// The alignment every glibc `malloc` gives: twice the size of a pointer (16 bytes on
    /// 64-bit targets, 8 on 32-bit ones; glibc's `MALLOC_ALIGNMENT` is at least that).
    pub(super) const GLIBC_ALIGN: usize = 2 * std::mem::size_of::<usize>();

    /// Whether glibc owns a block of this layout: a large one whose alignment `malloc` gives;
    /// every other block is jemalloc's.
    pub(super) fn in_glibc(layout: Layout) -> bool {
        layout.size() >= LARGE && layout.align() <= GLIBC_ALIGN
    }

    /// The global allocator: see the module's documentation.
    pub(super) struct Split;

    // SAFETY: each method hands the block to the allocator `in_glibc` names for its layout;
    // both return memory aligned as the layout asks (glibc only gets what `malloc` promises),
    // null on failure, and a block is freed or resized by the allocator that made it, because
    // the layout Rust passes back is the one it was made with. A resize that crosses `LARGE`
    // makes a new block on the other side, copies, and frees the old one only on success.
    unsafe impl GlobalAlloc for Split {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if in_glibc(layout) {
                unsafe { libc::malloc(layout.size()).cast() }
            } else {
                unsafe { Jemalloc.alloc(layout) }
            }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if in_glibc(layout) {
                unsafe { libc::calloc(1, layout.size()).cast() }
            } else {
                unsafe { Jemalloc.alloc_zeroed(layout) }
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if in_glibc(layout) {
                unsafe { libc::free(ptr.cast()) }
            } else {
                unsafe { Jemalloc.dealloc(ptr, layout) }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, does not
            // overflow `isize` (GlobalAlloc::realloc's contract)
            let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            match (in_glibc(layout), in_glibc(new)) {
                (true, true) => unsafe { libc::realloc(ptr.cast(), new_size).cast() },
                (false, false) => unsafe { Jemalloc.realloc(ptr, layout, new_size) },
                _ => {
                    let fresh = unsafe { self.alloc(new) };
                    if !fresh.is_null() {
                        unsafe {
                            std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                            self.dealloc(ptr, layout);
                        }
                    }
                    fresh
                }
            }
        }
    }
}

/// With musl (the released x86-64 Linux binary) every block comes from jemalloc: musl's own
/// allocator takes one lock for every thread's blocks, and the 10,000 small files took 23 s
/// instead of 3.7 s. (Not on aarch64: jemalloc fixes its page size when it is built, and an
/// aarch64 kernel may use 16 or 64 KiB pages where the build machine used 4.)
#[cfg(all(target_os = "linux", target_env = "musl", target_arch = "x86_64"))]
mod musl {
    #[global_allocator]
    static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// jemalloc's settings: a block of 8 MiB or more (a blocklist's lists of pieces) from the
    /// arenas that serve the rest, not from one that hands its pages back to the kernel at
    /// once when it is freed (`oversize_threshold`).
    #[allow(non_upper_case_globals)]
    #[export_name = "_rjem_malloc_conf"]
    pub static malloc_conf: &[u8] = b"oversize_threshold:0\0";
}

/// glibc serves a block larger than its mmap threshold (at most 32 MiB however it adapts) with
/// fresh pages from the kernel, and gives them back when it is freed. A blocklist's flow is
/// decided in tens of thousands of pieces, whose lists pass that size: each evaluation faulted
/// in (and the kernel zeroed) tens of megabytes again, a quarter of the run's CPU time. Such
/// blocks come from the heap instead, and freed memory is kept for the next evaluation up to
/// the same size (the cost: a higher peak, README "Performance").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    const KEEP: libc::c_int = 256 << 20;
    // SAFETY: mallopt only sets two of the allocator's parameters; it is called before any
    // thread is started. A failure (0) leaves glibc's defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::split::{in_glibc, Split, GLIBC_ALIGN, LARGE};

    /// Bytes that tell every position apart.
    fn fill(p: *mut u8, n: usize, seed: u8) {
        for i in 0..n {
            unsafe { *p.add(i) = (i as u8).wrapping_mul(31).wrapping_add(seed) };
        }
    }

    fn same(p: *const u8, n: usize, seed: u8) -> bool {
        (0..n).all(|i| unsafe { *p.add(i) } == (i as u8).wrapping_mul(31).wrapping_add(seed))
    }

    #[test]
    fn blocks_go_to_the_allocator_of_their_size() {
        assert!(!in_glibc(Layout::from_size_align(LARGE - 1, 8).unwrap()));
        assert!(in_glibc(Layout::from_size_align(LARGE, 8).unwrap()));
        assert!(in_glibc(
            Layout::from_size_align(LARGE, GLIBC_ALIGN).unwrap()
        ));
        // glibc's malloc does not promise more than that alignment
        assert!(!in_glibc(
            Layout::from_size_align(LARGE, 2 * GLIBC_ALIGN).unwrap()
        ));
    }

    #[test]
    fn a_resize_across_the_line_keeps_the_bytes_both_ways() {
        for align in [1, 8, 16, 64, 4096] {
            let small = Layout::from_size_align(1000, align).unwrap();
            unsafe {
                let p = Split.alloc(small);
                assert!(!p.is_null() && (p as usize).is_multiple_of(align));
                fill(p, 1000, 7);
                // up past LARGE: to glibc (or, aligned past 16, staying with jemalloc)
                let big = 3 * LARGE;
                let q = Split.realloc(p, small, big);
                assert!(
                    !q.is_null() && (q as usize).is_multiple_of(align),
                    "align {align}"
                );
                assert!(same(q, 1000, 7), "grown, align {align}");
                fill(q, big, 9);
                // larger within glibc
                let big_layout = Layout::from_size_align(big, align).unwrap();
                let r = Split.realloc(q, big_layout, 5 * LARGE);
                assert!(same(r, big, 9), "grown in place or moved, align {align}");
                // back down below the line: to jemalloc, the first bytes kept
                let r_layout = Layout::from_size_align(5 * LARGE, align).unwrap();
                let s = Split.realloc(r, r_layout, 500);
                assert!(!s.is_null() && (s as usize).is_multiple_of(align));
                assert!(same(s, 500, 9), "shrunk, align {align}");
                Split.dealloc(s, Layout::from_size_align(500, align).unwrap());
            }
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_on_both_sides() {
        for size in [64, LARGE - 8, LARGE, 4 * LARGE] {
            let l = Layout::from_size_align(size, 8).unwrap();
            unsafe {
                let p = Split.alloc_zeroed(l);
                assert!(!p.is_null());
                assert!((0..size).all(|i| *p.add(i) == 0), "size {size}");
                Split.dealloc(p, l);
            }
        }
    }

    #[test]
    fn collections_grow_and_shrink_through_it() {
        // the global allocator of this test binary is `Split`: a vector grown from a few bytes
        // to megabytes and shrunk again crosses the line both ways
        let mut v: Vec<u32> = Vec::new();
        for i in 0..1_000_000u32 {
            v.push(i.wrapping_mul(2_654_435_761));
        }
        v.truncate(100);
        v.shrink_to_fit();
        assert!(v
            .iter()
            .enumerate()
            .all(|(i, &x)| x == (i as u32).wrapping_mul(2_654_435_761)));
    }
}
