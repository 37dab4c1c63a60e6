//! Regression tests, each named after what it covers.

use std::path::PathBuf;

use portolan::catalog::condition::Context;
use portolan::catalog::{Catalog, Environment};
use portolan::engine::{self as audit, AuditOptions};

fn audit_text(name: &str, text: &str) -> audit::Report {
    let dir = super::cli::tempdir();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let files = audit::load(&[PathBuf::from(&p)], &Default::default());
    let opts = AuditOptions {
        catalog: Catalog::embedded(),
        env: Some(Environment::Vsphere),
        role: Some("zvm".into()),
        inventory: None,
        facts: Context::new(),
        interfaces: Vec::new(),
        profiles: Vec::new(),
        host_addresses: None,
        fixes: true,
    };
    audit::audit(files, &opts)
}

fn status(r: &audit::Report, req: &str) -> String {
    r.flows
        .iter()
        .find(|f| f.requirement == req && f.direction == "inbound")
        .map(|f| f.status.name().to_string())
        .unwrap_or_default()
}

#[test]
fn insert_puts_the_rule_ahead_of_appended_ones() {
    let r = audit_text(
        "insert.rules",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 9669 -j ACCEPT\n-I INPUT 1 -p tcp --dport 9669 -j DROP\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "blocked");
    let f = r
        .flows
        .iter()
        .find(|f| f.requirement == "vsphere.admin-client-zvm-9669")
        .unwrap();
    assert_eq!(f.deciding[0].line, Some(4));
    assert_eq!(&*f.deciding[0].rule, "filter/INPUT #1");
}

#[test]
fn a_quoted_comment_that_looks_like_a_target_is_only_a_comment() {
    let r = audit_text(
        "comment.rules",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m comment --comment \"do not -j DROP \\\"9669\\\"\" --dport 9669 -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "allowed");
    assert!(
        r.findings.iter().all(|f| f.code != "Z001"),
        "{:#?}",
        r.findings
    );
}

#[test]
fn established_only_rules_do_not_admit_a_new_connection() {
    let r = audit_text(
        "est.rules",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 9669 -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "blocked");
}

#[test]
fn loopback_only_accept_does_not_admit_peers_and_7073_on_lo_is_fine() {
    let r = audit_text(
        "lo.rules",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "blocked");
    assert!(r.findings.iter().all(|f| f.code != "Z202"));
}

#[test]
fn mangle_drop_blocks_even_when_filter_accepts() {
    let r = audit_text(
        "mangle.rules",
        "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 9669 -j DROP\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "blocked");
}

#[test]
fn a_jump_loop_is_unknown_not_a_hang() {
    let r = audit_text(
        "loop.rules",
        "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "unknown");
    let z001: Vec<_> = r.findings.iter().filter(|f| f.code == "Z001").collect();
    assert_eq!(z001.len(), 1, "{z001:#?}");
    assert!(z001[0].message.contains("A -> B -> A"));
    assert_eq!(z001[0].line(), Some(7));
}

#[test]
fn multiport_ports_matches_either_direction() {
    // `--ports 9669` matches source port 9669 too: the flow (any source port) is admitted
    let r = audit_text(
        "ports.rules",
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m multiport --ports 9669 -j ACCEPT\nCOMMIT\n",
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9669"), "allowed");
    assert_eq!(
        status(&r, "vsphere.admin-client-zvm-9080"),
        "allowed",
        "source port 9669 to 9080 matches --ports"
    );
}

#[test]
fn accept_policy_host_opens_444xx_udp_and_exposes_every_port() {
    let r = audit_text(
        "open.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    );
    let z203: Vec<_> = r.findings.iter().filter(|f| f.code == "Z203").collect();
    assert_eq!(z203.len(), 1);
    assert_eq!(z203[0].severity, audit::Severity::Info);
    assert!(
        z203[0].message.contains("udp/44400-44499"),
        "{}",
        z203[0].message
    );
    assert_eq!(z203[0].line(), Some(2), "label on the ACCEPT policy");
    // the policy opens every catalogue port of the ZVM: one Z201 for it
    let z201: Vec<_> = r.findings.iter().filter(|f| f.code == "Z201").collect();
    assert_eq!(z201.len(), 1);
    assert!(
        z201[0]
            .message
            .contains("tcp/4005-4006,4009,9071,9080-9081,9180,9669"),
        "{}",
        z201[0].message
    );
    assert!(r.findings.iter().any(|f| f.code == "Z202"));
}

#[test]
fn ip6tables_host_firewall_is_audited_over_ipv6() {
    let r = audit_text(
        "zvm.v6",
        "# Generated by ip6tables-save v1.8.7 on Mon Nov 23 10:00:00 2026\n*filter\n:INPUT DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8:10::/48 -p tcp -m tcp --dport 9669 -j ACCEPT\nCOMMIT\n",
    );
    let f = r
        .flows
        .iter()
        .find(|f| f.requirement == "vsphere.admin-client-zvm-9669")
        .unwrap();
    assert_eq!(f.status.name(), "allowed");
    assert_eq!(
        f.allowed_sources.to_vec(),
        vec!["2001:db8:10::/48".to_string()]
    );
    assert_eq!(status(&r, "vsphere.admin-client-zvm-9080"), "blocked");
}

#[test]
fn shadowed_and_redundant_rules_are_found_exactly() {
    let r = audit_text(
        "shadow.rules",
        "*filter\n:INPUT DROP [0:0]\n\
         -A INPUT -p tcp -m multiport --dports 9080,9669 -j DROP\n\
         -A INPUT -s 10.20.0.0/16 -p tcp -m tcp --dport 9669 -j ACCEPT\n\
         -A INPUT -s 10.20.0.0/16 -p tcp -m tcp --dport 9670 -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 23 -j DROP\n\
         -A INPUT -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset\n\
         -A INPUT -p tcp -m tcp --dport 80 -m limit --limit 1/s -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 9080 -j ACCEPT\n\
         COMMIT\n",
    );
    let z301: Vec<_> = r.findings.iter().filter(|f| f.code == "Z301").collect();
    let lines: Vec<Option<u32>> = z301.iter().map(|f| f.line()).collect();
    // line 4 (9669 from 10.20/16) and line 9 (9080) are taken by the DROP on line 3; line 5 is not
    assert_eq!(lines, vec![Some(4), Some(9)], "{z301:#?}");
    assert_eq!(z301[0].labels[1].line, 3, "the covering rule is labelled");
    let z302: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "Z302")
        .map(|f| f.line())
        .collect();
    // the DROP of 23 before the DROP policy changes nothing; the REJECT of 25 does (it answers)
    assert_eq!(z302, vec![Some(6)]);
}

#[test]
fn nsg_allow_behind_a_higher_priority_deny_is_shadowed() {
    let files = audit::load(
        &[PathBuf::from(
            "fixtures/azure/zca-nsg-deny-before-allow.json",
        )],
        &Default::default(),
    );
    let opts = AuditOptions {
        catalog: Catalog::embedded(),
        env: Some(Environment::Azure),
        role: Some("zca".into()),
        inventory: None,
        facts: Context::new(),
        interfaces: Vec::new(),
        profiles: Vec::new(),
        host_addresses: None,
        fixes: true,
    };
    let r = audit::audit(files, &opts);
    let z301: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.code == "Z301")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        z301.iter()
            .any(|m| m.starts_with("nsg-zca/AllowZertoVra (priority 200) can never match")),
        "{z301:#?}"
    );
    // Azure's own default rules are never reported
    assert!(!r
        .findings
        .iter()
        .any(|f| (f.code == "Z301" || f.code == "Z302") && f.message.contains("priority 65")));
}

/// Issue 21: `--interface X` on a file that never names X means "the peers arrive on X", an
/// interface no rule restricts (the kernel's `-i` matches only the names it gives; a rule without
/// `-i` matches every interface). Every flow was unknown: X matched no interface class at all.
#[test]
fn an_interface_the_rules_never_name_is_one_no_rule_restricts() {
    let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -i eth0 -p tcp --dport 9080 -j ACCEPT\n-A INPUT -s 10.0.0.0/8 -p tcp --dport 9669 -j ACCEPT\nCOMMIT\n";
    let dir = super::cli::tempdir();
    let p = dir.join("iface.rules");
    std::fs::write(&p, text).unwrap();
    let run = |ifs: &[&str]| {
        let files = audit::load(&[PathBuf::from(&p)], &Default::default());
        let opts = AuditOptions {
            catalog: Catalog::embedded(),
            env: Some(Environment::Vsphere),
            role: Some("zvm".into()),
            inventory: None,
            facts: Context::new(),
            interfaces: ifs.iter().map(|s| s.to_string()).collect(),
            profiles: Vec::new(),
            host_addresses: None,
            fixes: true,
        };
        audit::audit(files, &opts)
    };
    let admin = "vsphere.admin-client-zvm-9669";
    let zvm9080 = "vsphere.admin-client-zvm-9080";
    for ifs in [&["eth9"][..], &["wlan0", "ppp7"], &["wl+"]] {
        let r = run(ifs);
        let inbound: Vec<_> = r
            .flows
            .iter()
            .filter(|f| f.direction == "inbound")
            .collect();
        assert!(!inbound.is_empty());
        assert!(
            inbound.iter().all(|f| f.status.name() != "unknown"),
            "{ifs:?}: {:#?}",
            inbound
                .iter()
                .map(|f| (&f.requirement, f.status.name()))
                .collect::<Vec<_>>()
        );
        // only 10/8 gets to 9669 on any of these interfaces (every connection let in works:
        // allowed, from 10/8); 9080 is eth0's alone
        assert_eq!(status(&r, admin), "allowed", "{ifs:?}");
        let f = r.flows.iter().find(|f| f.requirement == admin).unwrap();
        assert_eq!(&f.allowed_sources[..], ["10.0.0.0/8"], "{ifs:?}");
        assert_eq!(status(&r, zvm9080), "blocked", "{ifs:?}");
    }
    // the interface the rules name still decides: on eth0 (or eth+, eth0 among them) 9080 is open
    assert_eq!(status(&run(&["eth0"]), zvm9080), "allowed");
    assert_eq!(status(&run(&["eth+"]), zvm9080), "allowed");
    assert_eq!(status(&run(&["eth1"]), zvm9080), "blocked");
}
