//! Parse, lower and audit generated `aws ec2 describe-security-groups` output (200 and 500
//! groups). `cargo bench --bench aws`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::formats::source::SourceText;
use portolan::formats::{aws, json, Resolver};
use portolan::load::parse_text;

mod gen;

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Aws);
    let names = Resolver::default();
    for groups in [200, 500] {
        let text = gen::aws::describe_security_groups(groups);
        let mut g = c.benchmark_group(format!("aws-{groups}-groups"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| {
                let json = json::parse(black_box(&text)).expect("JSON");
                black_box(aws::read_document(&json, &mut Vec::new()))
                    .groups
                    .len()
            })
        });
        let src = SourceText::new("bench.json", text.as_str());
        let json = json::parse(&src.text).expect("JSON");
        let p = aws::parse(&src, &json, &names);
        eprintln!(
            "aws {groups} groups: {} bytes, {} rulesets, {} issues",
            text.len(),
            p.rulesets.len(),
            p.issues.len()
        );
        g.bench_function("parse+lower", |b| {
            b.iter(|| {
                let json = json::parse(&src.text).expect("JSON");
                black_box(aws::parse(&src, &json, &names)).rulesets.len()
            })
        });
        g.bench_function("parse+lower+audit", |b| {
            b.iter(|| {
                let f = parse_text(
                    "bench.json".into(),
                    text.clone(),
                    Format::AwsSecurityGroups,
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
