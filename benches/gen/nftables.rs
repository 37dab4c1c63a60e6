//! A deterministic `nft list ruleset` of about `rules` rules, the shape of [`super::iptables_dump`]
//! written the way nftables itself writes it: per-tenant regular chains jumped to from `input`
//! (10%) and kube-proxy-style service chains in a `type nat` table (90%), with counters as
//! `nft list ruleset` prints them. The same host as the iptables bench, so the two figures compare.

use std::fmt::Write;

use super::XorShift;

pub fn nft_ruleset(rules: usize) -> String {
    let mut rng = XorShift::new(0x5eed);
    let mut out = String::with_capacity(rules * 120);
    let ctr = |rng: &mut XorShift| {
        format!(
            "counter packets {} bytes {}",
            rng.below(1_000_000),
            rng.below(1_000_000_000)
        )
    };
    let filter_rules = rules / 10;
    let tenants = (filter_rules / 20).max(1);
    out.push_str("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n");
    let c = ctr(&mut rng);
    let _ = writeln!(out, "\t\tiifname \"lo\" {c} accept");
    let c = ctr(&mut rng);
    let _ = writeln!(out, "\t\tct state established,related {c} accept");
    for t in 0..tenants {
        let c = ctr(&mut rng);
        let _ = writeln!(
            out,
            "\t\tip saddr 10.{}.{}.0/24 {c} jump tenant-{t:05} comment \"tenant {t}\"",
            t / 256 % 256,
            t % 256
        );
    }
    let c = ctr(&mut rng);
    let _ = writeln!(out, "\t\tip saddr 10.0.0.0/8 tcp dport {{ 4005, 4006, 4009, 9071, 9080, 9081, 9180, 9669 }} {c} accept\n\t}}\n");
    out.push_str("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n");
    let mut bodies = vec![String::new(); tenants];
    let mut n = tenants + 3;
    let mut t = 0;
    while n < filter_rules {
        let c = ctr(&mut rng);
        let port = 1024 + rng.below(60000);
        let b = &mut bodies[t];
        let _ = match rng.below(4) {
            0 => writeln!(b, "\t\ttcp dport {port} {c} accept"),
            1 => writeln!(
                b,
                "\t\ttcp dport {{ {port}, {}, {} }} ct state new {c} accept",
                port + 1,
                port + 7
            ),
            2 => writeln!(b, "\t\tudp dport {port} {c} drop"),
            _ => writeln!(
                b,
                "\t\tip saddr 10.{}.{}.{} tcp dport {port} {c} reject",
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
        };
        n += 1;
        t = (t + 1) % tenants;
    }
    for (t, b) in bodies.iter().enumerate() {
        let _ = write!(out, "\n\tchain tenant-{t:05} {{\n{b}\t}}\n");
    }
    out.push_str("}\ntable ip nat {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tjump kube-services comment \"kubernetes service portals\"\n\t}\n\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump kube-services\n\t}\n\n\tchain kube-services {\n");
    let services = ((rules - filter_rules) / 3).max(1);
    let mut svc = String::new();
    for s in 0..services {
        let c = ctr(&mut rng);
        let _ = writeln!(
            out,
            "\t\tip daddr 10.96.{}.{} tcp dport 80 {c} jump svc-{s:016x} comment \"default/svc-{s}:http cluster IP\"",
            s / 256 % 256,
            s % 256
        );
        let c = ctr(&mut rng);
        let _ = write!(
            svc,
            "\n\tchain svc-{s:016x} {{\n\t\t{c} numgen random mod 2 vmap {{ 0 : jump sep-{s:016x}, 1 : jump sep-{s:016x} }}\n\t}}\n"
        );
        let c = ctr(&mut rng);
        let _ = write!(
            svc,
            "\n\tchain sep-{s:016x} {{\n\t\tmeta l4proto tcp {c} dnat ip to 10.244.{}.{}:8080\n\t}}\n",
            rng.below(256),
            rng.below(256)
        );
    }
    out.push_str("\t}\n");
    out.push_str(&svc);
    out.push_str("}\n");
    out
}
