//! Time and memory of each phase of an audit, for profiling, with the process's resident and
//! peak memory after each (Linux `/proc/self/status`).
//!
//! - `cargo run --release --example phases -- FILE`: an iptables-save dump, phase by phase —
//!   read, decode, parse, lower, audit (e.g. a dump from `gen_iptables.py` or `gen_input`).
//! - `cargo run --release --example phases -- --any ENV FILE`: any format, as the loader reads
//!   it — load (read, detect, parse and lower), audit (role `zvm` in environment `ENV`), and
//!   the JSON report written to a sink that counts its bytes (e.g. the 50 MB security-group
//!   export of `gen_aws_sg.py` with `vsphere`, the NSG list of `gen_input azure` with `azure`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::iptables::{self, lower as iptables_lower};
use portolan::formats::source::SourceText;
use portolan::formats::Resolver;
use portolan::load::InputFile;

// the benches' inputs and options (`gen::zvm_quick`: a ZVM, the embedded catalogue)
#[path = "../benches/gen/mod.rs"]
mod gen;

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

/// Counts the bytes written to it.
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [any, env, path] if any == "--any" => match env.parse::<Environment>() {
            Ok(env) => any_format(env, path),
            Err(e) => {
                eprintln!("{env}: {e}");
                std::process::exit(2);
            }
        },
        [path] => iptables_dump(path),
        _ => {
            eprintln!("usage: phases FILE | phases --any ENV FILE");
            std::process::exit(2);
        }
    }
}

fn any_format(env: Environment, path: &str) {
    let t = Instant::now();
    let step = |what: &str| eprintln!("{what:>8} {:>10.3?}  {}", t.elapsed(), memory());
    let files = portolan::load::load(&[PathBuf::from(path)], &Resolver::default());
    step("load");
    let report = audit::audit(files, &gen::zvm_quick(env));
    step("audit");
    let mut sink = Sink(0);
    if let Err(e) = portolan::report::json::render(&report, &mut sink) {
        eprintln!("{e}");
    }
    step("json");
    eprintln!(
        "{} flows, {} findings, {} bytes of JSON",
        report.flows.len(),
        report.findings.len(),
        sink.0
    );
    drop(report);
    step("freed");
}

fn iptables_dump(path: &str) {
    let t = Instant::now();
    let step = |what: &str| eprintln!("{what:>8} {:>10.3?}  {}", t.elapsed(), memory());
    let bytes = match std::fs::read(path) {
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
    let src = SourceText::new(path.to_string(), text);
    // every table, as the loader reads it (`nat` rewrites what later stages see)
    let dump = iptables::parse_parallel(&src.text, |_| true);
    step("parse");
    let family = iptables_lower::family_of(&dump);
    let lowered = iptables_lower::lower(&dump, &src, family);
    step("lower");
    drop(dump);
    let file = InputFile {
        path: path.to_string(),
        format: None,
        source: Some(src),
        rulesets: vec![lowered.ruleset],
        findings: Vec::new(),
        failed: false,
        attachments: Vec::new(),
    };
    let report = audit::audit(vec![file], &gen::zvm_quick(Environment::Vsphere));
    step("audit");
    eprintln!(
        "{} flows, {} findings",
        report.flows.len(),
        report.findings.len()
    );
}
