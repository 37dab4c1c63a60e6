//! Parse, lower and audit a generated 100k-rule iptables-save dump (and 10k, for scaling).
//! `cargo bench --bench iptables`; set `PORTOLAN_BENCH_FILE=/path/dump` to bench a file instead
//! (e.g. one made by `shared/tools/gen_iptables.py --rules 100000`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::formats::iptables::{self, lower as iptables_lower};
use portolan::formats::source::SourceText;
use portolan::load::parse_text;

mod gen;

fn inputs() -> Vec<(String, String)> {
    if let Some(f) = gen::bench_file() {
        return vec![f];
    }
    vec![
        ("10k".into(), gen::iptables_dump(10_000, true)),
        ("100k".into(), gen::iptables_dump(100_000, true)),
    ]
}

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Vsphere);
    for (name, text) in inputs() {
        let mut g = c.benchmark_group(format!("iptables-{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| black_box(iptables::parse(black_box(&text))).tables.len())
        });
        let src = SourceText::new("bench.rules", text.as_str());
        g.bench_function("parse+lower", |b| {
            b.iter(|| {
                let d = iptables::parse(&src.text);
                let fam = iptables_lower::family_of(&d);
                black_box(iptables_lower::lower(&d, &src, fam))
                    .ruleset
                    .policies
                    .len()
            })
        });
        g.bench_function("parse+lower+audit", |b| {
            b.iter(|| {
                let f = parse_text(
                    "bench.rules".into(),
                    text.clone(),
                    Format::IptablesSave,
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
