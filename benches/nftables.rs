//! Parse, lower and audit a generated 100k-rule `nft list ruleset` (and 10k, for scaling): the
//! host of the iptables bench written as nftables writes it (`gen/nftables.rs`).
//! `cargo bench --bench nftables`; set `PORTOLAN_BENCH_FILE=/path/ruleset` to bench a file.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::formats::nftables;
use portolan::formats::source::SourceText;
use portolan::load::parse_text;

mod gen;

fn inputs() -> Vec<(String, String)> {
    if let Some(f) = gen::bench_file() {
        return vec![f];
    }
    vec![
        ("10k".into(), gen::nftables::nft_ruleset(10_000)),
        ("100k".into(), gen::nftables::nft_ruleset(100_000)),
    ]
}

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Vsphere);
    for (name, text) in inputs() {
        let mut g = c.benchmark_group(format!("nftables-{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
        let src = SourceText::new("bench.nft", text.as_str());
        g.bench_function("parse+lower", |b| {
            b.iter(|| {
                black_box(nftables::parse_text(black_box(&src)))
                    .rulesets
                    .len()
            })
        });
        g.bench_function("parse+lower+audit", |b| {
            b.iter(|| {
                let f = parse_text(
                    "bench.nft".into(),
                    text.clone(),
                    Format::NftablesText,
                    false,
                );
                black_box(audit::audit(vec![f], &opts)).flows.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
