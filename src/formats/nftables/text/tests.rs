use super::parse;
use crate::formats::nftables::ast::*;
use crate::formats::IssueKind;

fn fixture(name: &str) -> String {
    let p = format!("{}/fixtures/nftables/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn dump_corpus_issues() {
    let dir = format!("{}/fixtures/nftables", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".nft") || n.ends_with(".conf"))
        .collect();
    names.sort();
    for n in names {
        let text = fixture(&n);
        let r = parse(&text);
        let rules: usize = r
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum();
        eprintln!("== {n}: {} tables, {} rules", r.tables.len(), rules);
        for i in &r.issues {
            eprintln!(
                "  {:?} {} [{}] at {:?}",
                i.kind,
                i.message,
                i.label,
                text.get(i.span.start..i.span.end)
            );
        }
    }
}

#[test]
fn dump_others() {
    for n in [
        "nft-list-ruleset-sample.nft",
        "openwrt-fw4-default-ruleset.DERIVED.nft",
        "rhel8-firewalld-libvirt-list-ruleset.DERIVED.nft",
        "debian-router-martijnvds-nftables.conf",
        "nftables-rs-handwritten-nftables-init.nft",
        "nftests-maps-nat-addr-port.nft",
        "nftests-portknock-input.nft",
    ] {
        let r = parse(&fixture(n));
        for t in &r.tables {
            for c in &t.chains {
                for rule in &c.rules {
                    for s in &rule.stmts {
                        match s {
                            Stmt::Other(o) => eprintln!("OTHER {n}: {}", o.v),
                            Stmt::Undecidable { what } => eprintln!("UND {n}: {}", what.v),
                            Stmt::Nat { .. } | Stmt::Set { .. } => eprintln!("{n}: {s:?}"),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}
