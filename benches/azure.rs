//! Parse, lower and audit generated `az network nsg list` output (20 and 200 NSGs of 50 rules).
//! `cargo bench --bench azure`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::formats::source::SourceText;
use portolan::formats::{azure, json, Resolver};
use portolan::load::parse_text;

mod gen;

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Azure);
    let names = Resolver::default();
    for nsgs in [20, 200] {
        let text = gen::azure::nsg_list(nsgs, 50);
        let mut g = c.benchmark_group(format!("azure-{nsgs}x50-rules"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
        let src = SourceText::new("bench.json", text.as_str());
        let json = json::parse(&src.text).expect("JSON");
        let p = azure::parse(&src, &json, &names);
        eprintln!(
            "azure {nsgs} NSGs: {} bytes, {} rulesets, {} issues",
            text.len(),
            p.rulesets.len(),
            p.issues.len()
        );
        g.bench_function("parse", |b| {
            b.iter(|| {
                let json = json::parse(black_box(&src.text)).expect("JSON");
                black_box(azure::read(&src, &json, &mut Vec::new())).len()
            })
        });
        g.bench_function("parse+lower", |b| {
            b.iter(|| {
                let json = json::parse(&src.text).expect("JSON");
                black_box(azure::parse(&src, &json, &names)).rulesets.len()
            })
        });
        g.bench_function("parse+lower+audit", |b| {
            b.iter(|| {
                let f = parse_text("bench.json".into(), text.clone(), Format::AzureNsg, false);
                black_box(audit::audit(vec![f], &opts)).flows.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
