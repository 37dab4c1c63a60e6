//! The end-to-end paths of issue 11 at scale (issue 19): an inventory of 50 sites of 20 VRAs
//! each, with host (iptables), boundary (iptables WAN edges) and cloud (Azure NSG) hops, written
//! by `gen/inventory.rs` to a temporary directory, then read and audited as `portolan audit
//! --inventory portolan.toml` does (configuration, loading, every flow on every path).
//! `cargo bench --bench inventory`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use portolan::run::{audit_paths, Config, ConfigInput};

mod gen;

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("portolan-bench-inventory-{}", std::process::id()));
    let inv = gen::inventory::write(&dir, 50, 20).expect("write the inventory");
    let input = ConfigInput {
        inventory: Some(&inv),
        no_config: true,
        max_input_size: portolan::load::DEFAULT_MAX_INPUT_SIZE,
        ..ConfigInput::default()
    };
    let config = Config::new(&input).expect("the generated inventory");
    let paths: Vec<PathBuf> = config
        .inventory
        .as_ref()
        .map(|i| i.firewalls.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    let report = audit_paths(&paths, &config);
    eprintln!(
        "inventory 50 sites x 20 VRAs: {} files, {} flows, {} findings",
        report.files.len(),
        report.flows.len(),
        report.findings.len()
    );
    let mut g = c.benchmark_group("inventory-50-sites-x20-vras");
    g.sample_size(10);
    g.bench_function("config+load+audit", |b| {
        b.iter(|| {
            let config = Config::new(black_box(&input)).expect("inventory");
            black_box(audit_paths(&paths, &config)).flows.len()
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
