//! Seeded random host rulesets, realistic in shape: `iptables-save` (raw, mangle, nat, filter;
//! user chains, jumps, gotos, RETURN, policies, negations, multiport, conntrack and state,
//! NOTRACK, REDIRECT and DNAT to the host, OUTPUT rules that drop replies) and nftables (an inet
//! table with several input chains at different priorities, an output chain, named and anonymous
//! sets, concatenations, verdict maps, jump and goto, ct state, a nat prerouting chain).
//!
//! A ruleset is a list of [`Line`]s, so the minimiser can drop rules; the text is made from what
//! is kept. The addresses and ports are those the proptest oracle draws from (the Zerto ports of
//! the role, port ranges around the client's ephemeral ports, prefixes around the host address),
//! here from a seed so that a long run's cases can be named and replayed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netns::{SERVER_IF, SERVER_V4, SERVER_V6};

/// The inbound Zerto ports of `--env vsphere --role zvm`, and 8443 (a redirect target).
pub const ZPORTS: [u16; 9] = [4005, 4006, 4009, 9071, 9080, 9081, 9180, 9669, 8443];

/// xorshift64*: small, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// A CIDR block: (first address, prefix length), IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pfx {
    pub addr: IpAddr,
    pub len: u8,
}

impl Pfx {
    pub fn text(&self) -> String {
        format!("{}/{}", self.addr, self.len)
    }
    /// First and last address as u128 (IPv4 in the low 32 bits).
    pub fn bounds(&self) -> (u128, u128) {
        let (x, bits) = match self.addr {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        let host = if self.len as u32 >= bits {
            0
        } else {
            (1u128 << (bits - self.len as u32)) - 1
        };
        (x & !host, x | host)
    }
}

fn masked(v6: bool, x: u128, len: u8) -> Pfx {
    let bits = if v6 { 128 } else { 32 };
    let host = if len as u32 >= bits {
        0
    } else {
        (1u128 << (bits - len as u32)) - 1
    };
    let x = x & !host;
    let addr = if v6 {
        IpAddr::V6(Ipv6Addr::from(x))
    } else {
        IpAddr::V4(Ipv4Addr::from(x as u32))
    };
    Pfx { addr, len }
}

/// A peer prefix: testable unicast space (IPv4 1-223 but 127; IPv6 2000::/3 and fc00::/7), near
/// the host's or anywhere.
pub fn peer_pfx(r: &mut Rng, v6: bool) -> Pfx {
    if v6 {
        let base: u128 = match r.below(4) {
            0 => u128::from(SERVER_V6),
            1 => 0xfd00u128 << 112 | ((r.next() as u128) & 0xffff_ffff_ffff) << 64,
            _ => (0x2000u128 << 112) | ((r.next() as u128) << 64 | r.next() as u128) >> 3,
        };
        let len = *r.pick(&[4, 16, 32, 48, 56, 64, 64, 96, 120, 127, 128]);
        masked(true, base, len)
    } else {
        let base: u128 = loop {
            let x = match r.below(4) {
                0 => u32::from(SERVER_V4) ^ (r.below(1 << 12) as u32),
                1 => 0x0a00_0000 | (r.next() as u32 & 0x00ff_ffff),
                _ => r.next() as u32,
            };
            let top = x >> 24;
            if (1..224).contains(&top) && top != 127 {
                break x as u128;
            }
        };
        let len = *r.pick(&[1, 2, 4, 8, 12, 16, 20, 24, 24, 28, 30, 31, 32]);
        let p = masked(false, base, len);
        // a /1 or /2 from 0.0.0.0 still holds testable peers; nothing starts at 224 or above
        p
    }
}

fn disjoint(a: Pfx, b: Pfx) -> bool {
    let ((al, ah), (bl, bh)) = (a.bounds(), b.bounds());
    ah < bl || bh < al
}

/// A destination prefix: the host's own address, a prefix around it, or another one.
fn dst_pfx(r: &mut Rng, v6: bool) -> Pfx {
    let host: u128 = if v6 {
        u128::from(SERVER_V6)
    } else {
        u32::from(SERVER_V4) as u128
    };
    match r.below(4) {
        0 => masked(v6, host, if v6 { 128 } else { 32 }),
        1 => masked(v6, host, if v6 { 64 } else { 24 }),
        _ => peer_pfx(r, v6),
    }
}

/// A port range: a Zerto port, the Zerto ranges, the client's ephemeral ranges, random.
pub fn port_range(r: &mut Rng) -> (u16, u16) {
    match r.below(8) {
        0..=2 => {
            let p = *r.pick(&ZPORTS);
            (p, p)
        }
        3 => (4005, 4009),
        4 => (9000, 9700),
        5 => {
            let a = 1024 + r.below(64000) as u16;
            (a, a.saturating_add(r.below(3000) as u16))
        }
        6 => *r.pick(&[(1024, 32767), (32768, 65535), (1024, 65535), (0, 1023)]),
        _ => {
            let a = r.below(65536) as u16;
            (a, a)
        }
    }
}

fn ports_text(p: (u16, u16), sep: char) -> String {
    if p.0 == p.1 {
        p.0.to_string()
    } else {
        format!("{}{sep}{}", p.0, p.1)
    }
}

/// A ruleset as lines: headers that always stay, and rules the minimiser may drop.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub rule: bool,
}

pub fn keep(text: impl Into<String>) -> Line {
    Line {
        text: text.into(),
        rule: false,
    }
}
fn rule(text: impl Into<String>) -> Line {
    Line {
        text: text.into(),
        rule: true,
    }
}

pub fn text_of(lines: &[Line]) -> String {
    let mut t = String::new();
    for l in lines {
        t += &l.text;
        t.push('\n');
    }
    t
}

/// Every prefix and port range a ruleset's text uses, for the probes (see `main::probes`).
#[derive(Debug, Default, Clone)]
pub struct Used {
    pub pfx: Vec<Pfx>,
    pub ports: Vec<(u16, u16)>,
}

const STATES: [&str; 5] = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"];

fn states(r: &mut Rng) -> String {
    let mut v: Vec<&str> = Vec::new();
    let mask = 1 + r.below(31);
    for (b, s) in STATES.iter().enumerate() {
        if mask & (1 << b) != 0 {
            v.push(s);
        }
    }
    v.join(",")
}

/// An `iptables-save` (or `ip6tables-save`) host firewall.
pub fn iptables(r: &mut Rng, v6: bool, used: &mut Used) -> Vec<Line> {
    let neg = |r: &mut Rng| if r.chance(0.15) { "! " } else { "" };
    let users = r.below(3) as usize;
    let host = if v6 {
        SERVER_V6.to_string()
    } else {
        SERVER_V4.to_string()
    };
    let mut out = vec![keep(format!(
        "# Generated by {}-save v1.8.9 on Sat Dec  5 10:00:00 2026",
        if v6 { "ip6tables" } else { "iptables" }
    ))];
    // a rule's matches: (text, uses tcp)
    let matches = |r: &mut Rng, used: &mut Used, chain: &str| -> String {
        let mut l = String::new();
        let out_side = chain == "OUTPUT" || chain == "POSTROUTING";
        if r.chance(0.35) {
            let p = if out_side {
                dst_pfx(r, v6)
            } else {
                peer_pfx(r, v6)
            };
            used.pfx.push(p);
            l += &format!(" {}-s {}", neg(r), p.text());
        }
        if r.chance(0.3) {
            let p = if out_side {
                peer_pfx(r, v6)
            } else {
                dst_pfx(r, v6)
            };
            used.pfx.push(p);
            l += &format!(" {}-d {}", neg(r), p.text());
        }
        if r.chance(0.15) {
            let i = *r.pick(&[SERVER_IF, "eth+", "lo", "wlan0", "e+"]);
            let dir = if out_side { "-o" } else { "-i" };
            l += &format!(" {}{dir} {i}", neg(r));
        }
        let tcp = r.chance(0.75);
        if tcp {
            l += " -p tcp";
            // the server's port is the dport of a request, the sport of a reply; the client's
            // port the other one (rarer: it makes more probes)
            let (server_opt, client_opt) = if out_side {
                ("--sport", "--dport")
            } else {
                ("--dport", "--sport")
            };
            if r.chance(0.1) {
                let p = port_range(r);
                used.ports.push(p);
                l += &format!(" -m tcp {}{client_opt} {}", neg(r), ports_text(p, ':'));
            }
            // a user chain may be reached from OUTPUT too, where the server's port is the source
            // and the client's the destination: its ports make client-port classes as well
            let user = chain.starts_with('C');
            if r.chance(0.5) {
                if r.chance(0.3) {
                    let n = 1 + r.below(4);
                    let ps: Vec<(u16, u16)> = (0..n).map(|_| port_range(r)).collect();
                    let list: Vec<String> = ps.iter().map(|p| ports_text(*p, ':')).collect();
                    if user {
                        used.ports.extend(&ps);
                    }
                    let which = if r.chance(0.15) {
                        used.ports.extend(&ps);
                        "--ports"
                    } else if out_side {
                        "--sports"
                    } else {
                        "--dports"
                    };
                    l += &format!(" -m multiport {}{which} {}", neg(r), list.join(","));
                } else {
                    let p = port_range(r);
                    if user {
                        used.ports.push(p);
                    }
                    l += &format!(" -m tcp {}{server_opt} {}", neg(r), ports_text(p, ':'));
                }
            }
        } else if r.chance(0.1) {
            l += " ! -p tcp";
        }
        if r.chance(0.4) {
            let st = states(r);
            if r.chance(0.5) {
                l += &format!(" -m state {}--state {st}", neg(r));
            } else {
                l += &format!(" -m conntrack {}--ctstate {st}", neg(r));
            }
        }
        l
    };
    // raw
    out.push(keep("*raw"));
    out.push(keep(":PREROUTING ACCEPT [0:0]"));
    out.push(keep(":OUTPUT ACCEPT [0:0]"));
    for _ in 0..r.below(3) {
        let chain = *r.pick(&["PREROUTING", "OUTPUT"]);
        let m = matches(r, used, chain);
        // (a NOTRACKed SYN-ACK leaves the entry in SYN_SENT, and the client's ACK is INVALID on
        // INPUT; a NOTRACKed reply of a translated connection is not translated back)
        let t = *r.pick(&["-j NOTRACK", "-j CT --notrack", "-j ACCEPT", "-j DROP"]);
        out.push(rule(format!("-A {chain}{m} {t}")));
    }
    out.push(keep("COMMIT"));
    // mangle
    if r.chance(0.4) {
        out.push(keep("*mangle"));
        for c in ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] {
            out.push(keep(format!(":{c} ACCEPT [0:0]")));
        }
        for _ in 0..r.below(3) {
            let chain = *r.pick(&["PREROUTING", "INPUT", "OUTPUT"]);
            let m = matches(r, used, chain);
            let t = *r.pick(&["-j ACCEPT", "-j DROP", "-j RETURN"]);
            out.push(rule(format!("-A {chain}{m} {t}")));
        }
        out.push(keep("COMMIT"));
    }
    // nat: DNAT and REDIRECT of requests to another Zerto port of the host
    out.push(keep("*nat"));
    for c in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] {
        out.push(keep(format!(":{c} ACCEPT [0:0]")));
    }
    for _ in 0..r.below(3) {
        let m = matches(r, used, "PREROUTING");
        let to = *r.pick(&ZPORTS);
        let t = match r.below(4) {
            0 => format!("-j REDIRECT --to-ports {to}"),
            1 => "-j REDIRECT".to_string(),
            2 if v6 => format!("-j DNAT --to-destination [{host}]:{to}"),
            2 => format!("-j DNAT --to-destination {host}:{to}"),
            _ => "-j ACCEPT".to_string(),
        };
        out.push(rule(format!("-A PREROUTING{m} {t}")));
    }
    out.push(keep("COMMIT"));
    // filter
    out.push(keep("*filter"));
    for c in ["INPUT", "FORWARD", "OUTPUT"] {
        let p = if r.chance(if c == "OUTPUT" { 0.3 } else { 0.6 }) {
            "DROP"
        } else {
            "ACCEPT"
        };
        out.push(keep(format!(":{c} {p} [0:0]")));
    }
    for k in 1..=users {
        out.push(keep(format!(":C{k} - [0:0]")));
    }
    let reject = if v6 {
        "-j REJECT --reject-with icmp6-port-unreachable"
    } else {
        "-j REJECT --reject-with icmp-port-unreachable"
    };
    for _ in 0..r.below(16) {
        // chains: INPUT, OUTPUT, user chains (jumps only forward: no loops)
        let from = r.below(2 + users as u64) as usize;
        let chain = match from {
            0 => "INPUT".to_string(),
            1 => "OUTPUT".to_string(),
            k => format!("C{}", k - 1),
        };
        let m = matches(r, used, if from == 1 { "OUTPUT" } else { &chain });
        // a jump or goto goes to a later user chain (C1.. from INPUT or OUTPUT)
        let first = if from >= 2 { from } else { 1 };
        let t = match r.below(12) {
            0..=3 => "-j ACCEPT".to_string(),
            4..=5 => "-j DROP".to_string(),
            6 => reject.to_string(),
            7 => "-j RETURN".to_string(),
            8 => "-j LOG --log-prefix \"fw: \"".to_string(),
            _ if first <= users => {
                let k = first + r.below((users + 1 - first) as u64) as usize;
                let g = if r.chance(0.3) { "-g" } else { "-j" };
                format!("{g} C{k}")
            }
            _ => "-j ACCEPT".to_string(),
        };
        out.push(rule(format!("-A {chain}{m} {t}")));
    }
    out.push(keep("COMMIT"));
    out
}

/// An nftables ruleset (`nft -f`): an inet filter table, maybe an ip and ip6 nat table.
pub fn nftables(r: &mut Rng, used: &mut Used) -> Vec<Line> {
    let mut out = vec![keep("flush ruleset")];
    let fam = |r: &mut Rng| r.chance(0.5);
    // a match clause
    let m = |r: &mut Rng, used: &mut Used, out_side: bool| -> String {
        let mut l = String::new();
        let neg = |r: &mut Rng| if r.chance(0.15) { "!= " } else { "" };
        if r.chance(0.4) {
            let v6 = fam(r);
            let (ip, dir) = (
                if v6 { "ip6" } else { "ip" },
                if out_side { "daddr" } else { "saddr" },
            );
            if r.chance(0.3) {
                let a = peer_pfx(r, v6);
                let b = peer_pfx(r, v6);
                let elems = if disjoint(a, b) {
                    used.pfx.extend([a, b]);
                    format!("{}, {}", a.text(), b.text())
                } else {
                    used.pfx.push(a);
                    a.text()
                };
                let set = if v6 { "@peers6" } else { "@peers4" };
                l += &if r.chance(0.5) {
                    format!(" {ip} {dir} {{ {elems} }}")
                } else {
                    format!(" {ip} {dir} {set}")
                };
            } else {
                let p = peer_pfx(r, v6);
                used.pfx.push(p);
                l += &format!(" {ip} {dir} {}{}", neg(r), p.text());
            }
        }
        if r.chance(0.1) {
            let i = *r.pick(&[SERVER_IF, "lo", "wlan0"]);
            // by index for `lo` (`iif` needs a device that exists when the rule is loaded)
            let key = match (i, out_side) {
                ("lo", false) => "iif",
                ("lo", true) => "oif",
                (_, false) => "iifname",
                (_, true) => "oifname",
            };
            l += &format!(" {key} {}\"{i}\"", neg(r));
        }
        if r.chance(0.7) {
            let (server_opt, client_opt) = if out_side {
                ("sport", "dport")
            } else {
                ("dport", "sport")
            };
            // a `!=` on one client port: then no `!=` on one server port (nft before 1.1.0
            // merges the two into one comparison of both ports, which Portolan reports as
            // unknown: `two_negated_port_matches_are_read_as_either_nft_loads_them`)
            let mut client_ne_one = false;
            if r.chance(0.1) {
                let p = port_range(r);
                used.ports.push(p);
                let n = neg(r);
                client_ne_one = !n.is_empty() && p.0 == p.1;
                l += &format!(" tcp {client_opt} {n}{}", ports_text(p, '-'));
            }
            if r.chance(0.3) {
                let n = 1 + r.below(4);
                let mut ps: Vec<(u16, u16)> = (0..n).map(|_| port_range(r)).collect();
                ps.sort();
                ps.dedup_by(|b, a| b.0 <= a.1);
                let list: Vec<String> = ps.iter().map(|p| ports_text(*p, '-')).collect();
                l += &format!(" tcp {server_opt} {{ {} }}", list.join(", "));
            } else if r.chance(0.6) {
                let n = neg(r);
                let p = port_range(r);
                let n = if client_ne_one && p.0 == p.1 { "" } else { n };
                l += &format!(" tcp {server_opt} {n}{}", ports_text(p, '-'));
            } else {
                l += " meta l4proto tcp";
            }
        }
        if r.chance(0.4) {
            let st: Vec<&str> = states(r)
                .split(',')
                .map(|s| match s {
                    "NEW" => "new",
                    "ESTABLISHED" => "established",
                    "RELATED" => "related",
                    "INVALID" => "invalid",
                    _ => "untracked",
                })
                .collect();
            l += &format!(" ct state {}{{ {} }}", neg(r), st.join(", "));
        }
        l
    };
    let verdict = |r: &mut Rng, chains: &[&str]| -> String {
        match r.below(10) {
            0..=3 => "accept".into(),
            4..=5 => "drop".into(),
            6 => "reject".into(),
            7 if !chains.is_empty() => format!(
                "{} {}",
                if r.chance(0.3) { "goto" } else { "jump" },
                r.pick(chains)
            ),
            8 => "return".into(),
            _ => "counter".into(),
        }
    };
    out.push(keep("table inet filter {"));
    let a = peer_pfx(r, false);
    let b = peer_pfx(r, false);
    let c = peer_pfx(r, true);
    // nft refuses overlapping elements of an interval set ("conflicting intervals")
    let elems = if disjoint(a, b) {
        used.pfx.extend([a, b]);
        format!("{}, {}", a.text(), b.text())
    } else {
        used.pfx.push(a);
        a.text()
    };
    used.pfx.push(c);
    out.push(keep(format!(
        "  set peers4 {{ type ipv4_addr; flags interval; elements = {{ {elems} }} }}"
    )));
    out.push(keep(format!(
        "  set peers6 {{ type ipv6_addr; flags interval; elements = {{ {} }} }}",
        c.text()
    )));
    // regular chains u1, u2 (jumped to from base chains only: no loops)
    let users = ["u1", "u2"];
    for u in users {
        out.push(keep(format!("  chain {u} {{")));
        for _ in 0..r.below(4) {
            let mm = m(r, used, false);
            let v = verdict(r, &[]);
            out.push(rule(format!("    {}{} {v}", "", mm.trim_start())));
        }
        out.push(keep("  }"));
    }
    // base chains: input at one to three priorities, output
    let n_in = 1 + r.below(3);
    let mut prios = vec![-10i32, 0, 10, -150, 50];
    for k in 0..n_in + 1 {
        let out_side = k == n_in;
        let hook = if out_side { "output" } else { "input" };
        let prio = if out_side {
            0
        } else {
            prios.remove(r.below(prios.len() as u64) as usize)
        };
        let policy = if r.chance(if out_side { 0.3 } else { 0.5 }) {
            "drop"
        } else {
            "accept"
        };
        out.push(keep(format!("  chain {hook}{k} {{")));
        out.push(keep(format!(
            "    type filter hook {hook} priority {prio}; policy {policy};"
        )));
        for _ in 0..r.below(8) {
            let line = if !out_side && r.chance(0.12) {
                // a verdict map on the server's port
                let ps: Vec<u16> = (0..1 + r.below(3)).map(|_| *r.pick(&ZPORTS)).collect();
                let mut ps = ps;
                ps.sort();
                ps.dedup();
                let items: Vec<String> = ps
                    .iter()
                    .map(|p| {
                        format!(
                            "{p} : {}",
                            r.pick(&["accept", "drop", "jump u1", "goto u2"])
                        )
                    })
                    .collect();
                format!("tcp dport vmap {{ {} }}", items.join(", "))
            } else if !out_side && r.chance(0.1) {
                // a concatenation of the peer and the port
                let v6 = fam(r);
                let p = peer_pfx(r, v6);
                used.pfx.push(p);
                let ip = if v6 { "ip6" } else { "ip" };
                format!(
                    "{ip} saddr . tcp dport {{ {} . {} }} {}",
                    p.text(),
                    r.pick(&ZPORTS),
                    verdict(r, &users)
                )
            } else {
                let mm = m(r, used, out_side);
                let v = verdict(r, if out_side { &[] } else { &users });
                format!("{} {v}", mm.trim_start())
            };
            out.push(rule(format!("    {}", line.trim_start())));
        }
        out.push(keep("  }"));
    }
    out.push(keep("}"));
    // nat: redirect or dnat to the host in prerouting
    if r.chance(0.4) {
        let v6 = fam(r);
        let (fam_kw, host) = if v6 {
            ("ip6", format!("[{SERVER_V6}]"))
        } else {
            ("ip", SERVER_V4.to_string())
        };
        out.push(keep(format!("table {fam_kw} nat {{")));
        out.push(keep("  chain prerouting {"));
        out.push(keep(
            "    type nat hook prerouting priority dstnat; policy accept;",
        ));
        for _ in 0..1 + r.below(2) {
            let from = *r.pick(&ZPORTS);
            let to = *r.pick(&ZPORTS);
            let t = if r.chance(0.5) {
                format!("redirect to :{to}")
            } else {
                format!("dnat to {host}:{to}")
            };
            out.push(rule(format!("    tcp dport {from} {t}")));
        }
        out.push(keep("  }"));
        out.push(keep("}"));
    }
    out
}
