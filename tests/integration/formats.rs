//! Input formats through the library: the public corpus parses cleanly, and lowering means what
//! iptables means.

use std::path::PathBuf;

use portolan::engine::{self as audit, InputFile};
use portolan::model::ports::{ConnState, PortSet, ProtoSet, TCP};
use portolan::model::{AddrSet, Hook, PacketBox, Verdict};

fn load(path: &str) -> InputFile {
    let mut files = audit::load(&[PathBuf::from(path)], &Default::default());
    assert_eq!(files.len(), 1);
    files.remove(0)
}

/// Every file of the public corpus (copied into fixtures/iptables/corpus) parses with no Z001.
#[test]
fn corpus_parses_with_no_parse_errors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/iptables/corpus");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let f = load(p.to_str().unwrap());
        let z001: Vec<_> = f.findings.iter().filter(|x| x.code == "Z001").collect();
        assert!(z001.is_empty(), "{}: {z001:#?}", p.display());
        let rs = f.rulesets.first().expect("a ruleset");
        assert!(
            rs.policies.iter().map(|p| p.rules.len()).sum::<usize>() > 0,
            "{}",
            p.display()
        );
        n += 1;
    }
    assert_eq!(n, 9);
}

fn tcp_to(port: u16, src: &str) -> PacketBox {
    let mut b = PacketBox::full();
    b.src = AddrSet::parse(src).unwrap();
    b.dst = AddrSet::any_v4();
    b.proto = ProtoSet::single(TCP);
    b.dport = PortSet::single(port);
    b.state = ConnState::New.set();
    b
}

fn verdicts(f: &InputFile, hook: Hook, region: &PacketBox) -> Vec<Verdict> {
    let rs = &f.rulesets[0];
    let p = rs.pipeline(hook).unwrap();
    let mut v: Vec<Verdict> = rs
        .evaluate(p, region)
        .into_iter()
        .map(|o| o.verdict)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn long_option_restore_file_means_what_it_says() {
    let f = load("fixtures/iptables/corpus/longopts-handwritten-rules.v4");
    // --append INPUT ... --destination-port 22 --source 192.168.0.0/24 ... --jump ACCEPT, policy DROP
    let mut ssh = tcp_to(22, "192.168.0.0/24");
    ssh.iif = f.rulesets[0].interfaces.non_loopback();
    assert_eq!(verdicts(&f, Hook::Input, &ssh), vec![Verdict::Allow]);
    let mut other = tcp_to(22, "10.0.0.0/8");
    other.iif = ssh.iif.clone();
    assert_eq!(verdicts(&f, Hook::Input, &other), vec![Verdict::Deny]);
    // loopback is accepted by the first rule
    let mut lo = tcp_to(9669, "127.0.0.1");
    lo.iif = portolan::model::IntervalSet::single(portolan::model::iface::LOOPBACK);
    assert_eq!(verdicts(&f, Hook::Input, &lo), vec![Verdict::Allow]);
}

#[test]
fn ip6tables_dump_is_ipv6_only() {
    let f = load("fixtures/iptables/corpus/fedora27-ip6tables-save.txt");
    let rs = &f.rulesets[0];
    assert_eq!(rs.family, Some(portolan::model::Family::V6));
    assert_eq!(rs.address_space(), AddrSet::any_v6());
}

#[test]
fn counters_and_gotos_of_the_fedora_dump() {
    let f = load("fixtures/iptables/corpus/fedora27-iptables-save-c.txt");
    let rs = &f.rulesets[0];
    let names: Vec<&str> = rs.policies.iter().map(|p| p.name.as_str()).collect();
    // three tables (the file has no *nat, whatever its source notes say)
    assert_eq!(names.len(), 3);
    for t in ["mangle", "raw", "filter"] {
        assert!(names.contains(&t), "{names:?}");
    }
    let input = rs.pipeline(Hook::Input).unwrap();
    assert_eq!(input.name, "filter/INPUT");
    // raw PREROUTING, mangle PREROUTING, mangle INPUT, filter INPUT
    assert_eq!(input.stages.len(), 4);
    let filter = rs.policies.iter().find(|p| p.name == "filter").unwrap();
    assert!(filter
        .rules
        .iter()
        .any(|r| matches!(r.action, portolan::model::Action::Goto(_))));
}
