//! Time and memory of each phase of an iptables audit, for profiling: read, decode, parse, lower,
//! audit, with the process's resident and peak memory after each (Linux `/proc/self/status`).
//! `cargo run --release --example phases -- FILE` (e.g. a dump from `gen_iptables.py`).

use std::time::Instant;

use portolan::catalog::condition::Context;
use portolan::catalog::{Catalog, Environment};
use portolan::engine::{self as audit, AuditOptions};
use portolan::formats::iptables::{self, lower as iptables_lower};
use portolan::formats::source::SourceText;
use portolan::load::InputFile;

/// `VmRSS` and `VmHWM` in KiB, or "?" off Linux.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    format!("rss {} KiB, peak {} KiB", field("VmRSS"), field("VmHWM"))
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: phases FILE");
        std::process::exit(2);
    };
    let t = Instant::now();
    let step = |what: &str| eprintln!("{what:>8} {:>10.3?}  {}", t.elapsed(), memory());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    step("read");
    // no copy for UTF-8 (as the audit's loader does)
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    step("decode");
    let src = SourceText::new(path.clone(), text);
    // every table, as the loader reads it (`nat` rewrites what later stages see)
    let dump = iptables::parse_parallel(&src.text, |_| true);
    step("parse");
    let family = iptables_lower::family_of(&dump);
    let lowered = iptables_lower::lower(&dump, &src, family);
    step("lower");
    drop(dump);
    let file = InputFile {
        path,
        format: None,
        source: Some(src),
        rulesets: vec![lowered.ruleset],
        findings: Vec::new(),
        failed: false,
        attachments: Vec::new(),
    };
    let opts = AuditOptions {
        catalog: Catalog::embedded(),
        env: Some(Environment::Vsphere),
        role: Some("zvm".into()),
        inventory: None,
        facts: Context::new(),
        interfaces: Vec::new(),
        profiles: Vec::new(),
        host_addresses: None,
        fixes: true,
    };
    let report = audit::audit(vec![file], &opts);
    step("audit");
    eprintln!(
        "{} flows, {} findings",
        report.flows.len(),
        report.findings.len()
    );
}
