//! Parse, lower and audit generated `netsh advfirewall firewall show rule name=all` text (1,000
//! and 10,000 rules). `cargo bench --bench windows`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::formats::source::SourceText;
use portolan::formats::{windows, Resolver};
use portolan::load::parse_text;

mod gen;

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Hyperv);
    let names = Resolver::default();
    for rules in [1_000, 10_000] {
        let text = gen::windows::netsh_show_rule(rules);
        let mut g = c.benchmark_group(format!("windows-netsh-{rules}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| black_box(windows::netsh::parse(black_box(&text))).0.len())
        });
        let src = SourceText::new("bench.txt", text.as_str());
        let p = windows::parse_text(&src, &names);
        eprintln!(
            "windows {rules} rules: {} bytes, {} rulesets, {} issues",
            text.len(),
            p.rulesets.len(),
            p.issues.len()
        );
        g.bench_function("parse+lower", |b| {
            b.iter(|| black_box(windows::parse_text(&src, &names)).rulesets.len())
        });
        g.bench_function("parse+lower+audit", |b| {
            b.iter(|| {
                let f = parse_text(
                    "bench.txt".into(),
                    text.clone(),
                    Format::WindowsNetsh,
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
