//! The `portolan` binary: parse the command line, run, exit with the code the run chose.

use std::process::ExitCode;

fn main() -> ExitCode {
    tune_allocator();
    ExitCode::from(portolan::cli::run())
}

/// glibc serves a block larger than its mmap threshold (at most 32 MiB however it adapts) with
/// fresh pages from the kernel, and gives them back when it is freed. A blocklist's flow is
/// decided in tens of thousands of pieces, whose lists pass that size: each evaluation faulted
/// in (and the kernel zeroed) tens of megabytes again, a quarter of the run's CPU time. Such
/// blocks come from the heap instead, and freed memory is kept for the next evaluation up to
/// the same size (the cost: a higher peak, README "Performance").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    const KEEP: libc::c_int = 256 << 20;
    // SAFETY: mallopt only sets two of the allocator's parameters; it is called before any
    // thread is started. A failure (0) leaves glibc's defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
