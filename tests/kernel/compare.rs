//! One case: generate, audit with Portolan, load into the kernel, probe, compare; minimise a
//! disagreement and write it as a fixture with the kernel's observations.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use super::gen::{self, Line, Pfx, Rng, Used, ZPORTS};
use super::netns::{self, Pair, Probe, Seen, SERVER_V4, SERVER_V6};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Iptables,
    Nftables,
}

impl Kind {
    pub fn short(self) -> &'static str {
        match self {
            Kind::Iptables => "ipt",
            Kind::Nftables => "nft",
        }
    }
}

/// A ruleset file of a case: its name (`rules.v4`, `rules.v6`, `ruleset.nft`) and lines.
#[derive(Debug, Clone)]
pub struct File {
    pub name: &'static str,
    pub lines: Vec<Line>,
}

impl File {
    fn loader(&self) -> &'static [&'static str] {
        match self.name {
            "rules.v4" => &["iptables-restore"],
            "rules.v6" => &["ip6tables-restore"],
            _ => &["nft", "-f", "-"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub kind: Kind,
    pub seed: u64,
    pub files: Vec<File>,
    pub used: Used,
}

/// What one run found: disagreements (one line each), and whether the kernel refused a file.
pub struct Outcome {
    pub disagreements: Vec<String>,
    pub refused: bool,
}

impl Case {
    pub fn generate(kind: Kind, seed: u64) -> Case {
        let mut r = Rng::new(seed);
        let mut used = Used::default();
        let files = match kind {
            Kind::Iptables => vec![
                File {
                    name: "rules.v4",
                    lines: gen::iptables(&mut r, false, &mut used),
                },
                File {
                    name: "rules.v6",
                    lines: gen::iptables(&mut r, true, &mut used),
                },
            ],
            Kind::Nftables => vec![File {
                name: "ruleset.nft",
                lines: gen::nftables(&mut r, &mut used),
            }],
        };
        Case {
            kind,
            seed,
            files,
            used,
        }
    }

    pub fn text(&self) -> String {
        self.files
            .iter()
            .map(|f| format!("== {}\n{}", f.name, gen::text_of(&f.lines)))
            .collect()
    }

    /// Audit, load, probe, compare.
    pub fn run(&self) -> Outcome {
        let t0 = std::time::Instant::now();
        let report = audit(&self.files);
        let probes = probes(&self.used, self.seed);
        let t1 = t0.elapsed();
        let clients: BTreeSet<IpAddr> = probes.iter().map(|p| p.src).collect();
        let clients: Vec<IpAddr> = clients.into_iter().collect();
        let pair = Pair::new(&clients);
        let mut dis = Vec::new();
        let mut refused = false;
        for f in &self.files {
            if let Err(e) = pair.load(f.loader(), &gen::text_of(&f.lines)) {
                refused = true;
                let z001 = report.findings.iter().any(|x| {
                    x.code == "Z001"
                        && x.file
                            .and_then(|i| report.files.get(i))
                            .is_some_and(|inf| inf.path.ends_with(f.name))
                });
                if !z001 {
                    dis.push(format!(
                        "refused: the kernel refused {} ({}) and Portolan reports no Z001",
                        f.name,
                        e.trim()
                    ));
                }
            }
        }
        if refused {
            return Outcome {
                disagreements: dis,
                refused,
            };
        }
        let t2 = t0.elapsed();
        let seen = pair.probe(&listen_ports(), &probes);
        let t3 = t0.elapsed();
        drop(pair);
        if std::env::var_os("PORTOLAN_KERNEL_DEBUG").is_some() {
            eprintln!(
                "case {}: {} probes; audit {t1:.0?}, namespaces and load {:.0?}, probes {:.0?}, cleanup {:.0?}",
                self.seed,
                probes.len(),
                t2 - t1,
                t3 - t2,
                t0.elapsed() - t3
            );
        }
        let obs: Vec<(Probe, Seen)> = probes.clone().into_iter().zip(seen).collect();
        dis.extend(judge(&report, &self.files, &obs));
        Outcome {
            disagreements: dis,
            refused,
        }
    }

    /// Drop rules (and whole files) while a disagreement of the same class stays.
    pub fn minimise(&self, first: &str) -> Case {
        let class = class_of(first);
        let same = |c: &Case| c.run().disagreements.iter().any(|d| class_of(d) == class);
        let mut cur = self.clone();
        // files first (the other family's file is often irrelevant)
        if cur.files.len() > 1 {
            for i in 0..cur.files.len() {
                let mut c = cur.clone();
                c.files.remove(i);
                if same(&c) {
                    cur = c;
                    break;
                }
            }
        }
        loop {
            let mut changed = false;
            let mut f = 0;
            while f < cur.files.len() {
                let mut i = 0;
                while i < cur.files[f].lines.len() {
                    if !cur.files[f].lines[i].rule {
                        i += 1;
                        continue;
                    }
                    let mut c = cur.clone();
                    c.files[f].lines.remove(i);
                    if same(&c) {
                        cur = c;
                        changed = true;
                    } else {
                        i += 1;
                    }
                }
                f += 1;
            }
            if !changed {
                break;
            }
        }
        cur
    }

    /// `dir/NAME.rules` (the file, the kernel's answer in its header comment) and
    /// `dir/NAME.kernel` (every probe: `port source client-port arrived works`).
    pub fn write_fixture(&self, dir: &Path, name: &str) {
        let f = &self.files[0];
        let pair = Pair::new(&probe_clients(&self.used, self.seed));
        let loaded = pair.load(f.loader(), &gen::text_of(&f.lines));
        let probes = probes(&self.used, self.seed);
        let seen = match loaded {
            Ok(()) => pair.probe(&listen_ports(), &probes),
            Err(_) => vec![Seen::default(); probes.len()],
        };
        drop(pair);
        std::fs::create_dir_all(dir).unwrap();
        let mut head = format!(
            "# kernel oracle fixture (issue 21): {} case {}, minimised. The kernel's answer\n\
             # (Linux {}, {}), per port: the peers whose request arrived; the status\n",
            self.kind.short(),
            self.seed,
            uname(),
            if self.kind == Kind::Nftables {
                "nft -f"
            } else {
                "iptables-restore"
            },
        );
        let obs: Vec<(Probe, Seen)> = probes.into_iter().zip(seen).collect();
        for (port, (arrived, status)) in kernel_summary(&obs) {
            head += &format!("#   {port}/tcp: {status}; arrived from {arrived}\n");
        }
        std::fs::write(
            dir.join(format!("{name}.rules")),
            format!("{head}{}", gen::text_of(&f.lines)),
        )
        .unwrap();
        let mut k = format!("kind {} {}\n", self.kind.short(), f.name);
        for (p, s) in &obs {
            k += &format!(
                "{} {} {} {} {}\n",
                p.port, p.src, p.cport, s.arrived as u8, s.works as u8
            );
        }
        std::fs::write(dir.join(format!("{name}.kernel")), k).unwrap();
    }
}

fn uname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A disagreement's class: its words without addresses and numbers.
fn class_of(d: &str) -> String {
    d.split_whitespace()
        .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ports the server listens on: every Zerto port of the role and the redirect targets.
fn listen_ports() -> Vec<u16> {
    ZPORTS.to_vec()
}

fn testable(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(x) => {
            let top = x.octets()[0];
            // nor the server's subnet's own addresses (192.168.1.0/24): its broadcast address
            // is no client's (the answer to it goes out as a link-layer broadcast, which TCP
            // does not take: nft-801224), nor is its network address
            let subnet = u32::from(SERVER_V4) & !0xff;
            let edge = [subnet, subnet | 0xff].contains(&u32::from(x));
            (1..224).contains(&top) && top != 127 && x != SERVER_V4 && !edge
        }
        IpAddr::V6(x) => {
            // global unicast (2000::/3) and unique local (fc00::/7) peers only
            let s = x.segments()[0];
            // and no subnet-router anycast address (interface id 0, RFC 4291 2.6.1), which the
            // kernel does not answer from
            (s & 0xe000 == 0x2000 || s & 0xfe00 == 0xfc00)
                && u128::from(x) & u64::MAX as u128 != 0
                && x != SERVER_V6
        }
    }
}

fn addr_of(v6: bool, x: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(x.into())
    } else {
        IpAddr::V4((x as u32).into())
    }
}

/// One testable address in each class the prefixes make (the pieces between their edges), and a
/// few fixed ones; per family.
fn sources(used: &Used, rng: &mut Rng) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        let max: u128 = if v6 { u128::MAX } else { u32::MAX as u128 };
        let mut edges: BTreeSet<u128> = BTreeSet::from([0]);
        for p in used.pfx.iter().filter(|p| p.addr.is_ipv6() == v6) {
            let (lo, hi) = p.bounds();
            edges.insert(lo);
            if hi < max {
                edges.insert(hi + 1);
            }
        }
        let edges: Vec<u128> = edges.into_iter().collect();
        let mut fam = Vec::new();
        for (i, &lo) in edges.iter().enumerate() {
            let hi = edges.get(i + 1).map(|e| e - 1).unwrap_or(max);
            let span = hi - lo;
            let tries = [lo, hi, lo + span / 2, lo + span / 3, hi - span / 4];
            let pick = tries
                .iter()
                .map(|&x| addr_of(v6, x))
                .chain((0..8).map(|_| {
                    let r =
                        ((rng.next() as u128) << 64 | rng.next() as u128) % span.saturating_add(1);
                    addr_of(v6, lo + r)
                }))
                .find(|a| testable(*a));
            if let Some(a) = pick {
                fam.push(a);
            }
        }
        let fixed: [&str; 3] = if v6 {
            ["2001:db8:ffff::5", "fd12::1", "2a00:1450::1"]
        } else {
            ["10.1.2.3", "203.0.113.7", "192.168.1.77"]
        };
        fam.extend(fixed.iter().map(|s| s.parse::<IpAddr>().unwrap()));
        fam.sort();
        fam.dedup();
        out.extend(fam);
    }
    out
}

/// One client port in each class the rules' client-port ranges make (within 1024-65535).
fn client_ports(used: &Used, rng: &mut Rng) -> Vec<u16> {
    let mut edges: BTreeSet<u32> = BTreeSet::from([1024]);
    for &(a, b) in &used.ports {
        for e in [a as u32, b as u32 + 1] {
            if (1024..=65535).contains(&e) {
                edges.insert(e);
            }
        }
    }
    let edges: Vec<u32> = edges.into_iter().collect();
    edges
        .iter()
        .enumerate()
        .map(|(i, &lo)| {
            let hi = edges.get(i + 1).map(|e| e - 1).unwrap_or(65535);
            (lo + (rng.next() % (hi - lo + 1) as u64) as u32) as u16
        })
        .collect()
}

fn probe_clients(used: &Used, seed: u64) -> Vec<IpAddr> {
    sources(used, &mut Rng::new(seed ^ 0x5eed))
}

/// Every (Zerto port, source, client port) to try.
pub fn probes(used: &Used, seed: u64) -> Vec<Probe> {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let srcs = sources(used, &mut rng);
    let mut out = Vec::new();
    // a client port drawn per probe in each class, so that the probes of one source to the
    // Zerto ports differ (each (source, client port) is used once per round of connections)
    for &port in &ZPORTS {
        for &src in &srcs {
            for cport in client_ports(used, &mut rng) {
                out.push(Probe { src, cport, port });
            }
        }
    }
    out
}

/// Portolan's audit of the files, as `portolan audit --env vsphere --role zvm --interface eth0
/// --host-address 192.168.1.1,2001:db8:1::1` runs it.
pub fn audit(files: &[File]) -> portolan::engine::Report {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portolan-kernel-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<std::path::PathBuf> = files
        .iter()
        .map(|f| {
            let p = dir.join(f.name);
            std::fs::write(&p, gen::text_of(&f.lines)).unwrap();
            p
        })
        .collect();
    let report = audit_paths(&paths);
    let _ = std::fs::remove_dir_all(&dir);
    report
}

fn audit_paths(paths: &[std::path::PathBuf]) -> portolan::engine::Report {
    let hosts = [format!("{SERVER_V4}/32"), format!("{SERVER_V6}/128")];
    let ifs = [netns::SERVER_IF.to_string()];
    let config = portolan::Config::new(&portolan::ConfigInput {
        env: Some(portolan::catalog::Environment::Vsphere),
        role: Some("zvm"),
        host_addresses: &hosts,
        interfaces: &ifs,
        max_input_size: 1 << 24,
        no_config: true,
        ..Default::default()
    })
    .unwrap();
    portolan::audit_paths(paths, &config)
}

fn in_cidrs(a: IpAddr, cidrs: &[String]) -> bool {
    cidrs.iter().any(|c| {
        let (net, len) = c
            .split_once('/')
            .unwrap_or((c, if c.contains(':') { "128" } else { "32" }));
        let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u8>()) else {
            return false;
        };
        if net.is_ipv6() != a.is_ipv6() {
            return false;
        }
        let p = Pfx { addr: net, len };
        let (lo, hi) = p.bounds();
        let x = match a {
            IpAddr::V4(v) => u32::from(v) as u128,
            IpAddr::V6(v) => u128::from(v),
        };
        lo <= x && x <= hi
    })
}

/// The kernel's status of the connections to one port: blocked when none worked, allowed when
/// every one that arrived worked, else partial.
fn kernel_status(obs: &[&(Probe, Seen)]) -> &'static str {
    let works = obs.iter().filter(|(_, s)| s.works).count();
    let arrived = obs.iter().filter(|(_, s)| s.arrived).count();
    if works == 0 {
        "blocked"
    } else if works == arrived {
        "allowed"
    } else {
        "partial"
    }
}

/// Per port (IPv4 and IPv6 apart): the sources that arrived, and the status.
fn kernel_summary(obs: &[(Probe, Seen)]) -> BTreeMap<String, (String, &'static str)> {
    let mut m = BTreeMap::new();
    for port in ZPORTS {
        for v6 in [false, true] {
            let these: Vec<&(Probe, Seen)> = obs
                .iter()
                .filter(|(p, _)| p.port == port && p.src.is_ipv6() == v6)
                .collect();
            if these.is_empty() {
                continue;
            }
            let arrived: BTreeSet<String> = these
                .iter()
                .filter(|(_, s)| s.arrived)
                .map(|(p, _)| p.src.to_string())
                .collect();
            let a: Vec<String> = arrived.into_iter().collect();
            let key = format!("{port} {}", if v6 { "IPv6" } else { "IPv4" });
            let list = if a.is_empty() {
                "none".into()
            } else {
                a.join(" ")
            };
            m.insert(key, (list, kernel_status(&these)));
        }
    }
    m
}

/// Hold each inbound flow record of the audit to the kernel's observations (one family's
/// probes per record: an iptables file is one family, an nft ruleset one per family).
pub fn judge(
    report: &portolan::engine::Report,
    files: &[File],
    obs: &[(Probe, Seen)],
) -> Vec<String> {
    let mut out = Vec::new();
    for rec in report.flows.iter().filter(|f| f.direction == "inbound") {
        let v6 = if rec.policy.starts_with("ipv6") || rec.firewall.ends_with("rules.v6") {
            true
        } else if rec.policy.starts_with("ipv4") || rec.firewall.ends_with("rules.v4") {
            false
        } else {
            out.push(format!(
                "record of unknown family: {} {}",
                rec.firewall, rec.policy
            ));
            continue;
        };
        if !files.iter().any(|f| rec.firewall.ends_with(f.name)) {
            continue;
        }
        let ports: Vec<u16> = rec
            .ports
            .split(',')
            .filter_map(|p| p.trim().split('-').next()?.parse().ok())
            .collect();
        for port in ports {
            let these: Vec<&(Probe, Seen)> = obs
                .iter()
                .filter(|(p, _)| p.port == port && p.src.is_ipv6() == v6)
                .collect();
            if these.is_empty() {
                continue;
            }
            let fam = if v6 { "IPv6" } else { "IPv4" };
            let k = kernel_status(&these);
            // the peers portolan admits may all be addresses no probe can come from (`testable`:
            // a subnet-router anycast address, say): then the kernel has nothing to say about
            // the status, and the sources below are still held one by one
            // (whose whole connection works, where the record says: the request may admit
            // every peer and the later packets only an untestable one)
            let probed_admitted = these.iter().any(|(p, _)| match &rec.admitted {
                Some(a) => a.peers.contains(p.src),
                None => in_cidrs(p.src, &rec.allowed_sources),
            });
            let untestable_only = !probed_admitted && rec.status.name() != "blocked";
            // and the peers it says a connection fails for may all be such addresses: partial
            // where every probe that arrived is from a peer whose connection works
            let untestable_rest = rec.status.name() == "partial"
                && k == "allowed"
                && rec.admitted.as_ref().is_some_and(|a| {
                    these
                        .iter()
                        .filter(|(_, o)| o.arrived)
                        .all(|(p, _)| a.peers.contains(p.src))
                });
            if rec.status.name() != k && !untestable_only && !untestable_rest {
                out.push(format!(
                    "status: {} {fam} port {port}: portolan {} kernel {k}",
                    rec.requirement,
                    rec.status.name()
                ));
            }
            let srcs: BTreeSet<IpAddr> = these.iter().map(|(p, _)| p.src).collect();
            for s in srcs {
                let arrived = these.iter().any(|(p, o)| p.src == s && o.arrived);
                let said = in_cidrs(s, &rec.allowed_sources);
                if arrived != said {
                    out.push(format!(
                        "sources: {} {fam} port {port} from {s}: portolan {} kernel {}",
                        rec.requirement,
                        if said { "admits" } else { "refuses" },
                        if arrived { "admits" } else { "refuses" }
                    ));
                    break;
                }
            }
        }
    }
    out
}

/// A fixture's file audited and held to the kernel's recorded observations.
pub fn check_fixture(rules: &Path) -> Vec<String> {
    let kernel = std::fs::read_to_string(rules.with_extension("kernel")).expect(".kernel beside");
    let mut lines = kernel.lines();
    let head: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let name: &'static str = match head.get(2).copied() {
        Some("rules.v6") => "rules.v6",
        Some("ruleset.nft") => "ruleset.nft",
        _ => "rules.v4",
    };
    let mut obs = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 5 {
            continue;
        }
        obs.push((
            Probe {
                port: f[0].parse().unwrap(),
                src: f[1].parse().unwrap(),
                cport: f[2].parse().unwrap(),
            },
            Seen {
                arrived: f[3] == "1",
                works: f[4] == "1",
            },
        ));
    }
    let text = std::fs::read_to_string(rules).unwrap();
    let file = File {
        name,
        lines: text.lines().map(|l| gen::keep(l.to_string())).collect(),
    };
    let report = audit(std::slice::from_ref(&file));
    if kernel.contains("refused") {
        let z001 = report.findings.iter().any(|x| x.code == "Z001");
        return if z001 {
            vec![]
        } else {
            vec!["the kernel refused it; no Z001".into()]
        };
    }
    judge(&report, &[file], &obs)
}
