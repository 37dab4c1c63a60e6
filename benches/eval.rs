//! Region evaluation alone: 100, 500 and 1,000 user chains jumping in a line, and one chain of
//! 10,000 rules. `cargo bench --bench eval`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use portolan::formats::iptables::{self, lower as iptables_lower};
use portolan::formats::source::SourceText;
use portolan::model::{Hook, IntervalSet, PacketBox, Ruleset, Verdict};

mod gen;

fn lowered(text: &str) -> Ruleset {
    let src = SourceText::new("bench.rules", text);
    let dump = iptables::parse(&src.text);
    let fam = iptables_lower::family_of(&dump);
    iptables_lower::lower(&dump, &src, fam).ruleset
}

/// New TCP connections from any IPv4 address.
fn region(rs: &Ruleset) -> PacketBox {
    let mut b = PacketBox::full();
    b.src = rs.address_space();
    b.dst = rs.address_space();
    b.proto = IntervalSet::single(6);
    b.state = IntervalSet::single(0);
    b
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("eval");
    g.sample_size(10);
    let cases = [
        ("chain-line-100", gen::chains::chain_line(100)),
        ("chain-line-500", gen::chains::chain_line(500)),
        ("chain-line-1000", gen::chains::chain_line(1_000)),
        ("wide-chain-10000", gen::chains::wide_chain(10_000)),
    ];
    for (name, text) in cases {
        let rs = lowered(&text);
        let pipeline = rs.pipeline(Hook::Input).expect("an INPUT pipeline").clone();
        let region = region(&rs);
        let pieces = rs.evaluate(&pipeline, &region);
        let unknown = pieces
            .iter()
            .filter(|p| p.verdict == Verdict::Unknown)
            .count();
        let why = pieces
            .iter()
            .find(|p| p.verdict == Verdict::Unknown)
            .and_then(|p| p.reasons.first().cloned())
            .unwrap_or_default();
        eprintln!("{name}: {} pieces, {unknown} unknown {why}", pieces.len());
        g.bench_function(name, |b| {
            b.iter(|| black_box(rs.evaluate(&pipeline, black_box(&region))).len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
