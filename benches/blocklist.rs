//! The blocklist shape (issue 19): one chain of 2k, 16k and 100k `-s CIDR -j ACCEPT|DROP` rules
//! (`gen::blocklist`), and the real 8k-rule gfwlist `nat` chain of `-d CIDR -j RETURN`
//! (`fixtures/real2/iptables/`), each parsed, lowered and audited. Evaluation used to grow with
//! the square of the rules; the 16k/2k ratio shows whether it still does.
//! `cargo bench --bench blocklist`; `PORTOLAN_BENCH_FILE=/path/dump` benches a file instead.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portolan::catalog::Environment;
use portolan::engine as audit;
use portolan::formats::detect::Format;
use portolan::load::parse_text;

mod gen;

const GFWLIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/real2/iptables/gfwlist-chnroute-nat-8k-save.v4"
);

fn inputs() -> Vec<(String, String)> {
    if let Some(f) = gen::bench_file() {
        return vec![f];
    }
    let mut v: Vec<(String, String)> = [2_000, 16_000, 100_000]
        .into_iter()
        .map(|n| (format!("{}k", n / 1000), gen::blocklist::blocklist(n)))
        .collect();
    if let Ok(t) = std::fs::read_to_string(GFWLIST) {
        v.push(("gfwlist-8k".into(), t));
    }
    v
}

fn bench(c: &mut Criterion) {
    let opts = gen::zvm_quick(Environment::Vsphere);
    for (name, text) in inputs() {
        let mut g = c.benchmark_group(format!("blocklist-{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(text.len() as u64));
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
