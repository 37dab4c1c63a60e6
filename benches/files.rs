//! Many small files (issue 19): a directory of copies of the project's firewall fixtures up to
//! 64 KiB (every input format), as `benches/mixed_dir.sh` makes it for the README's 10,000-file
//! row, read and audited as `portolan audit --env vsphere --role zvm DIR` does (a batch of files
//! at a time, each file kept slim for the report: `Config::audit_report`), and as `--format
//! concise` does (each batch's report handed over and dropped, no fixes made:
//! `Config::without_fixes`, `Config::audit_each`). 1,000 files here so that a sample takes
//! about a second; the README's row is the whole process at 10,000.
//! `cargo bench --bench files`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use portolan::catalog::Environment;
use portolan::run::{Config, ConfigInput};

/// The fixtures `mixed_dir.sh` copies: every file under `fixtures/` up to `max` bytes but the
/// SARIF schemas, inventories and TOML files, in a fixed order.
fn fixtures(root: &Path, max: u64) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.metadata().is_ok_and(|m| m.len() <= max))
        .map(|e| e.into_path())
        .filter(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            !rel.starts_with("sarif")
                && !rel.starts_with("inventory")
                && p.extension().is_none_or(|x| x != "toml")
        })
        .collect();
    out.sort();
    out
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let all = fixtures(&root, 64 * 1024);
    let dir = std::env::temp_dir().join(format!("portolan-bench-files-{}", std::process::id()));
    let n = 1_000;
    for i in 0..n {
        let f = &all[i % all.len()];
        let d = dir.join((i / 500).to_string());
        std::fs::create_dir_all(&d).expect("bench directory");
        let name = format!("{i}-{}", f.file_name().unwrap().to_string_lossy());
        std::fs::copy(f, d.join(name)).expect("copy a fixture");
    }
    let input = ConfigInput {
        env: Some(Environment::Vsphere),
        role: Some("zvm"),
        no_config: true,
        max_input_size: portolan::load::DEFAULT_MAX_INPUT_SIZE,
        ..ConfigInput::default()
    };
    let config = Config::new(&input).expect("vsphere zvm");
    let paths = vec![dir.clone()];
    let report = config.audit_report(&paths, None);
    eprintln!(
        "{n} small files from {} fixtures: {} flows, {} findings",
        all.len(),
        report.flows.len(),
        report.findings.len()
    );
    let mut g = c.benchmark_group("files-1000-small");
    g.sample_size(10);
    g.bench_function("load+audit", |b| {
        b.iter(|| {
            black_box(config.audit_report(black_box(&paths), None))
                .flows
                .len()
        })
    });
    let concise = Config::new(&input).expect("vsphere zvm").without_fixes();
    g.bench_function("load+audit, a batch at a time, no fixes", |b| {
        b.iter(|| {
            let mut findings = 0;
            let Ok(()) = concise.audit_each(concise.scan(black_box(&paths)), |part| {
                findings += part.findings.len();
                Ok::<(), std::convert::Infallible>(())
            });
            black_box(findings)
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
