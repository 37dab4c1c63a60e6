//! The Linux kernel as the oracle (issue 21): random host rulesets loaded into a real network
//! namespace with `iptables-restore`, `ip6tables-restore` or `nft -f`, real TCP connections to the
//! Zerto ports of the role from many IPv4 and IPv6 peers, and each flow record of Portolan's
//! audit (`--env vsphere --role zvm --interface eth0 --host-address ...`) held to what the kernel
//! did: `allowed_sources` are the peers whose request reached the server, the status is the
//! connections' (blocked: none worked; allowed: every one that arrived worked; else partial).
//!
//! A test target rather than an xtask binary: it runs Portolan as a library (no JSON round trip),
//! `cargo test` builds and runs it everywhere, and without root, namespaces or the netfilter tools
//! it says why it skipped and passes. The regression fixtures it writes are checked by
//! [`fixtures_agree_with_the_kernel`], which needs none of these.
//!
//! - `PORTOLAN_KERNEL_RULESETS=N`: rulesets per kind (iptables, nftables); 3 by default (CI: 100).
//! - `PORTOLAN_KERNEL_SEED=S`: the first seed (case k uses S + k); `PORTOLAN_KERNEL_KIND=ipt|nft`.
//! - `PORTOLAN_KERNEL_JOBS=J`: cases run at once (4).
//! - `PORTOLAN_KERNEL_MINIMISE=1`: minimise each disagreement (drop rules while it stays).
//! - `PORTOLAN_KERNEL_WRITE=1`: minimise and write each disagreement to `fixtures/kernel/`.

mod compare;
mod gen;
mod netns;

use std::path::{Path, PathBuf};

use compare::{Case, Kind};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn rulesets_agree_with_the_kernel() {
    if let Some(why) = netns::unavailable() {
        eprintln!("SKIPPED kernel differential test: {why}");
        return;
    }
    netns::sweep_stale();
    // each case holds a socket per probe of a round on both sides until the round is judged:
    // many cases at once need more descriptors than the usual soft limit of 1,024
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit buffer
    let mut fds = u64::MAX;
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: a valid rlimit, no higher than the hard limit
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        fds = lim.rlim_cur;
    }
    let n = env_num("PORTOLAN_KERNEL_RULESETS", 3);
    let seed0 = env_num("PORTOLAN_KERNEL_SEED", 21_000);
    let only = std::env::var("PORTOLAN_KERNEL_KIND").unwrap_or_default();
    let write = std::env::var_os("PORTOLAN_KERNEL_WRITE").is_some();
    let minimise = write || std::env::var_os("PORTOLAN_KERNEL_MINIMISE").is_some();
    let start = std::time::Instant::now();
    let mut failures = Vec::new();
    for kind in [Kind::Iptables, Kind::Nftables] {
        if !only.is_empty() && only != kind.short() {
            continue;
        }
        // cases run a few at a time (each waits on its connections far more than it computes)
        let asked = env_num("PORTOLAN_KERNEL_JOBS", 4).max(1);
        // an iptables case holds up to about 2,000 descriptors at once (both ends of every
        // probe of a round, IPv4 and IPv6): ten at a time ran out of a 20,000 limit
        let jobs = asked.min((fds / FDS_PER_CASE).max(1));
        if jobs < asked {
            eprintln!("kernel oracle: {jobs} cases at a time, not {asked}: {fds} descriptors");
        }
        let next = std::sync::atomic::AtomicU64::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let case = Case::generate(kind, seed0 + k);
                    let out = case.run();
                    results.lock().unwrap().push((case, out));
                });
            }
        });
        let mut results = results.into_inner().unwrap();
        results.sort_by_key(|(c, _)| c.seed);
        let (mut agree, mut refused) = (0, 0);
        for (case, out) in results {
            if out.refused {
                refused += 1;
            }
            if out.disagreements.is_empty() {
                agree += 1;
                continue;
            }
            let name = format!("{}-{}", kind.short(), case.seed);
            eprintln!("{name}: {}", out.disagreements[0]);
            let small = if minimise {
                case.minimise(&out.disagreements[0])
            } else {
                case.clone()
            };
            if write {
                small.write_fixture(&fixtures_dir(), &name);
            }
            failures.push(format!(
                "{name}: {}\nminimised:\n{}",
                out.disagreements.join("\n"),
                small.text()
            ));
        }
        eprintln!(
            "kernel oracle: {} {n} rulesets, {agree} agree ({:.1}%), {refused} refused by the kernel, {:.0?}",
            kind.short(),
            100.0 * agree as f64 / n.max(1) as f64,
            start.elapsed()
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s) with the kernel:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Descriptors one case may hold at once (measured: ten iptables cases exhausted 20,000).
const FDS_PER_CASE: u64 = 2_500;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kernel")
}

/// Every minimised disagreement the kernel oracle found (`fixtures/kernel/*.rules`, the kernel's
/// observations in the `.kernel` file beside each): Portolan's audit gives the kernel's answer.
/// Needs no root.
#[test]
fn fixtures_agree_with_the_kernel() {
    let mut n = 0;
    let mut wrong = Vec::new();
    for e in std::fs::read_dir(fixtures_dir()).expect("fixtures/kernel") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rules") {
            n += 1;
            let d = compare::check_fixture(&p);
            // an open class (README: the kernel oracle's remaining disagreements) must still
            // disagree: when a fix makes it agree, drop `open` from its `.kernel` file
            let head = std::fs::read_to_string(p.with_extension("kernel")).unwrap_or_default();
            let open = head.lines().next().and_then(|l| l.split_once(" open: "));
            match open {
                Some((_, why)) if d.is_empty() => wrong.push(format!(
                    "{}: marked open ({why}) but Portolan now gives the kernel's answer",
                    p.display()
                )),
                Some((_, why)) => eprintln!("open: {} ({why})", p.display()),
                None if !d.is_empty() => wrong.push(format!("{}: {}", p.display(), d.join("\n"))),
                None => {}
            }
        }
    }
    assert!(n > 0, "no fixtures");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
