//! Two network namespaces joined by a veth pair: the server (the audited host: its ruleset, its
//! listeners on the Zerto ports) and the client (every peer address). Real TCP connections from
//! chosen source addresses and ports; what the kernel did with each.
//!
//! Only traffic between these two namespaces: neither has any other interface but its own
//! loopback. A [`Pair`] deletes both namespaces when dropped (a failure, a panic, a timeout of
//! the probe loop); [`sweep_stale`] deletes those a killed run left behind (their names carry the
//! process id that made them).

use std::collections::HashSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The server's addresses (Portolan's `--host-address`) and its interface name (`--interface`).
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub const SERVER_IF: &str = "eth0";
const SERVER_MAC: &str = "02:00:00:00:21:01";
const CLIENT_MAC: &str = "02:00:00:00:21:02";
const PREFIX: &str = "ptk";

/// Why the kernel harness cannot run here, or `None` when it can.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    for bin in ["ip", "iptables-restore", "ip6tables-restore", "nft"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
            .unwrap_or(false);
        if !found {
            return Some(format!(
                "`{bin}` not installed (apt-get install iptables nftables iproute2)"
            ));
        }
    }
    let name = format!("{PREFIX}-probe-{}", std::process::id());
    if !run("ip", &["netns", "add", &name]) {
        return Some("`ip netns add` failed (no network namespaces here)".into());
    }
    run("ip", &["netns", "del", &name]);
    None
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn must(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Delete the namespaces of runs whose process is gone.
pub fn sweep_stale() {
    let out = Command::new("ip").args(["netns", "list"]).output();
    let Ok(out) = out else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let mut parts = name.split('-');
        if parts.next() != Some(PREFIX) {
            continue;
        }
        let pid = parts.nth(1).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
            run("ip", &["netns", "del", name]);
        }
    }
}

/// The two namespaces of one ruleset; deleted on drop.
pub struct Pair {
    pub server: String,
    pub client: String,
}

impl Drop for Pair {
    fn drop(&mut self) {
        run("ip", &["netns", "del", &self.server]);
        run("ip", &["netns", "del", &self.client]);
    }
}

static N: AtomicUsize = AtomicUsize::new(0);

impl Pair {
    /// Fresh namespaces, the veth between them, the server's addresses, and every client address.
    pub fn new(clients: &[IpAddr]) -> Pair {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let pair = Pair {
            server: format!("{PREFIX}-s-{pid}-{n}"),
            client: format!("{PREFIX}-c-{pid}-{n}"),
        };
        must("ip", &["netns", "add", &pair.server]);
        must("ip", &["netns", "add", &pair.client]);
        let (s, c) = (pair.server.as_str(), pair.client.as_str());
        // no duplicate address detection: a fresh interface's link-local address stays tentative
        // for a second, and an IPv6 REDIRECT may pick it (a host up for longer has it ready)
        for ns in [s, c] {
            must(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.default.accept_dad=0",
                ],
            );
        }
        let cmds = format!(
            "link add {SERVER_IF} netns {s} address {SERVER_MAC} type veth peer name veth0 netns {c} address {CLIENT_MAC}\n"
        );
        batch(None, &cmds);
        let mut sc = format!(
            "link set lo up\nlink set {SERVER_IF} up\naddr add {SERVER_V4}/24 dev {SERVER_IF}\n\
             addr add {SERVER_V6}/64 dev {SERVER_IF} nodad\nroute add default dev {SERVER_IF}\n\
             route add ::/0 dev {SERVER_IF}\n"
        );
        let mut cc = String::from("link set lo up\nlink set veth0 up\n");
        for a in clients {
            match a {
                IpAddr::V4(a) => cc += &format!("addr add {a}/32 dev veth0\n"),
                IpAddr::V6(a) => cc += &format!("addr add {a}/128 dev veth0 nodad\n"),
            }
        }
        cc += "route add default dev veth0\nroute add ::/0 dev veth0\n";
        // IPv6 neighbours pinned both ways: neighbour discovery is ICMPv6, which an INPUT or
        // OUTPUT drop policy also drops (IPv4's ARP passes no iptables chain). Portolan does not
        // model that dependency (README: the kernel oracle's remaining classes), so the harness
        // takes it out of the way.
        cc += &format!("neigh replace {SERVER_V6} lladdr {SERVER_MAC} dev veth0 nud permanent\n");
        for a in clients.iter().filter(|a| a.is_ipv6()) {
            sc += &format!("neigh replace {a} lladdr {CLIENT_MAC} dev {SERVER_IF} nud permanent\n");
        }
        batch(Some(s), &sc);
        // no SYN-ACK retransmission: one dropped in a round would be seen in the next, where
        // the same (source, client port) may go to another port
        must(
            "ip",
            &[
                "netns",
                "exec",
                s,
                "sysctl",
                "-qw",
                "net.ipv4.tcp_synack_retries=0",
            ],
        );
        batch(Some(c), &cc);
        pair
    }

    /// Load a ruleset on the server: `Err(stderr)` when the tool refuses it.
    pub fn load(&self, tool: &[&str], text: &str) -> Result<(), String> {
        let mut args = vec!["netns", "exec", self.server.as_str()];
        args.extend_from_slice(tool);
        let mut child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ip netns exec");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Watch what the server's TCP stack answers: an nft table of its own, at the output hook
    /// before every other (priority -1000, so before raw, mangle, nat and filter), that only
    /// records the peer of each SYN-ACK the server sends (a SYN reached its TCP stack) and lets
    /// every packet go on. Loaded after the ruleset (whose `flush ruleset` would remove it).
    fn watch(&self) {
        let t = "table inet portolan_watch {\n\
                 set seen4 { type ipv4_addr . inet_service; size 65535; flags dynamic; }\n\
                 set seen6 { type ipv6_addr . inet_service; size 65535; flags dynamic; }\n\
                 chain out { type filter hook output priority -1000; policy accept;\n\
                 tcp flags & (syn | ack) == syn | ack meta nfproto ipv4 add @seen4 { ip daddr . tcp dport }\n\
                 tcp flags & (syn | ack) == syn | ack meta nfproto ipv6 add @seen6 { ip6 daddr . tcp dport }\n\
                 }\n}\n";
        self.load(&["nft", "-f", "-"], t).expect("the watch table");
    }

    /// Try every probe; what the kernel did with each (in the order given).
    pub fn probe(&self, ports: &[u16], probes: &[Probe]) -> Vec<Seen> {
        self.watch();
        let server_fd = ns_fd(&self.server);
        let client_fd = ns_fd(&self.client);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reset = std::sync::Arc::new(Reset::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let srv = {
            let stop = stop.clone();
            let reset = reset.clone();
            let ports = ports.to_vec();
            std::thread::spawn(move || {
                enter(&server_fd);
                serve(&ports, &stop, &reset, ready_tx)
            })
        };
        ready_rx.recv().expect("server ready");
        // rounds: a (source, client port) is used once per round, so the server's sockets say
        // which probe each is
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut used: Vec<HashSet<(IpAddr, u16)>> = Vec::new();
        for (i, p) in probes.iter().enumerate() {
            let k = (0..)
                .find(|&k| used.get(k).is_none_or(|u| !u.contains(&(p.src, p.cport))))
                .unwrap();
            if k == rounds.len() {
                rounds.push(Vec::new());
                used.push(HashSet::new());
            }
            rounds[k].push(i);
            used[k].insert((p.src, p.cport));
        }
        let mut seen = vec![Seen::default(); probes.len()];
        let server = self.server.clone();
        let probes_owned = probes.to_vec();
        let reset_c = reset.clone();
        let got = std::thread::spawn(move || {
            enter(&client_fd);
            let mut out = Vec::new();
            for r in &rounds {
                let works = connect_all(r.iter().map(|&i| &probes_owned[i]));
                let answered = syn_seen(&server);
                // only now, the round judged, the server lets its connections go
                reset_c.between_rounds();
                // the next round may reuse a (source, client port): after a DNAT or REDIRECT
                // between two probed ports, this round's connection would still hold the reply
                // tuple the next one needs, and the kernel would drop the next one's SYN
                forget_connections(&server);
                for (j, &i) in r.iter().enumerate() {
                    let p = &probes_owned[i];
                    let arrived = answered.contains(&(p.src, p.cport));
                    out.push((i, arrived || works[j], works[j]));
                }
            }
            out
        })
        .join()
        .expect("client thread");
        stop.store(true, Ordering::Relaxed);
        let _ = srv.join();
        for (i, arrived, works) in got {
            seen[i] = Seen { arrived, works };
        }
        seen
    }
}

/// One connection to try.
#[derive(Debug, Clone)]
pub struct Probe {
    pub src: IpAddr,
    pub cport: u16,
    pub port: u16,
}

/// What the kernel did: the request (SYN) reached the server's TCP stack; the connection worked
/// (the server accepted it, read the client's data and the client read the server's answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    pub arrived: bool,
    pub works: bool,
}

fn batch(ns: Option<&str>, cmds: &str) {
    let mut args = vec![];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["-batch", "-"]);
    let mut child = Command::new("ip")
        .args(&args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip -batch");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cmds.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ip -batch: {}\n{cmds}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ns_fd(name: &str) -> OwnedFd {
    let f = std::fs::File::open(format!("/run/netns/{name}")).expect("netns file");
    OwnedFd::from(f)
}

/// Move this thread into a network namespace (sockets made after are in it).
fn enter(fd: &OwnedFd) {
    // SAFETY: a valid namespace fd; affects only the calling thread
    let r = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

/// The peers (address, client port) the server sent a SYN-ACK to since the last call (read from
/// the watch table's sets, which are then emptied).
/// Empty the server namespace's connection tracking table (`conntrack -F`, from the conntrack
/// tools; without them nothing is done, and probes that NAT one port onto another may clash).
fn forget_connections(server: &str) {
    let _ = Command::new("ip")
        .args(["netns", "exec", server, "conntrack", "-F"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn syn_seen(server: &str) -> HashSet<(IpAddr, u16)> {
    let mut m = HashSet::new();
    for set in ["seen4", "seen6"] {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                server,
                "nft",
                "list",
                "set",
                "inet",
                "portolan_watch",
                set,
            ])
            .output()
            .expect("nft list set");
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(body) = text.split("elements = {").nth(1) else {
            continue;
        };
        let body = body.split('}').next().unwrap_or("");
        for el in body.split(',') {
            let mut it = el.split(" . ");
            let a = it.next().and_then(|a| a.trim().parse::<IpAddr>().ok());
            let p = it.next().and_then(|p| p.trim().parse::<u16>().ok());
            if let (Some(a), Some(p)) = (a, p) {
                m.insert((a, p));
            }
        }
        run(
            "ip",
            &[
                "netns",
                "exec",
                server,
                "nft",
                "flush",
                "set",
                "inet",
                "portolan_watch",
                set,
            ],
        );
    }
    m
}

/// How long a batch of connections gets: a SYN the rules drop gets no answer, so every batch
/// waits this long for its slowest connection (veth answers in microseconds; the margin is for
/// a loaded machine).
fn settle() -> Duration {
    let ms = std::env::var("PORTOLAN_KERNEL_SETTLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    Duration::from_millis(ms)
}

fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn tcp_socket(v6: bool) -> OwnedFd {
    let fam = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket(2); the fd is owned at once
    let fd = unsafe {
        libc::socket(
            fam,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor we own
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: valid fd and option buffer
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            4,
        );
        if v6 {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &one as *const _ as *const libc::c_void,
                4,
            );
        }
    }
    fd
}

fn bind(fd: &OwnedFd, a: SocketAddr) -> bool {
    let (ss, len) = sockaddr(a);
    // SAFETY: valid fd and address
    unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        ) == 0
    }
}

/// Between two rounds of probes, the server resets the connections it answered: closed as soon
/// as answered, its FIN would carry the answer again where a firewall dropped it (a segment the
/// kernel's conntrack sees as INVALID where it saw the answer as NEW), and a connection the
/// firewall breaks would look as if it worked; left open, a later round reusing the same source
/// and client port would meet it.
#[derive(Default)]
struct Reset {
    asked: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Reset {
    /// Ask the server to reset its connections, and wait until it has.
    fn between_rounds(&self) {
        let n = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.done.load(Ordering::SeqCst) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Listen on every port (IPv4 and IPv6); accept, read the client's line, answer it; until `stop`.
/// Answered connections stay open until the round is over ([`Reset`]), then are reset (RST, no
/// FIN: nothing unsent goes out again).
fn serve(
    ports: &[u16],
    stop: &std::sync::atomic::AtomicBool,
    reset: &Reset,
    ready: std::sync::mpsc::Sender<()>,
) {
    let listen = || {
        let mut listeners = Vec::new();
        for &p in ports {
            for v6 in [false, true] {
                let fd = tcp_socket(v6);
                let any: IpAddr = if v6 {
                    Ipv6Addr::UNSPECIFIED.into()
                } else {
                    Ipv4Addr::UNSPECIFIED.into()
                };
                // a listener just closed may live on for a moment in a child another thread
                // forked (until its exec closes it): try again
                let mut tries = 0;
                while !bind(&fd, SocketAddr::new(any, p)) {
                    tries += 1;
                    assert!(tries < 500, "bind {p}");
                    std::thread::sleep(Duration::from_millis(4));
                }
                // SAFETY: valid fd
                assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 4096) }, 0);
                listeners.push(fd);
            }
        }
        listeners
    };
    let mut listeners = listen();
    let _ = ready.send(());
    let mut conns: Vec<(OwnedFd, bool)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut pfds: Vec<libc::pollfd> = listeners
            .iter()
            .map(|l| (l, false))
            .chain(conns.iter().map(|(c, done)| (c, *done)))
            .filter(|(_, done)| !done)
            .map(|(f, _)| libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfds
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 20) };
        for l in &listeners {
            loop {
                // SAFETY: accept4 on a nonblocking listener
                let c = unsafe {
                    libc::accept4(
                        l.as_raw_fd(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                };
                if c < 0 {
                    break;
                }
                // SAFETY: a fresh descriptor
                conns.push((unsafe { OwnedFd::from_raw_fd(c) }, false));
            }
        }
        for (c, done) in conns.iter_mut().filter(|(_, d)| !d) {
            let mut buf = [0u8; 16];
            // SAFETY: valid fd and buffer
            let n = unsafe { libc::read(c.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
            if n > 0 {
                // SAFETY: valid fd and buffer
                unsafe { libc::write(c.as_raw_fd(), b"pong".as_ptr() as *const _, 4) };
                *done = true;
            } else if n == 0 {
                *done = true;
            }
        }
        // reset what is open once the round is over: a later round may reuse the (source,
        // client port), and after a DNAT the same tuple would meet this socket still open
        let asked = reset.asked.load(Ordering::SeqCst);
        if asked > reset.done.load(Ordering::SeqCst) {
            for (c, _) in conns.drain(..) {
                let l = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: valid fd and option buffer; closing with a zero linger sends a RST
                unsafe {
                    libc::setsockopt(
                        c.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        &l as *const _ as *const libc::c_void,
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    )
                };
            }
            // and the half-open ones: a request whose handshake a firewall broke stays in
            // SYN_RECV, retransmitting its SYN-ACK, and a later round's SYN of the same tuple
            // (after a DNAT or REDIRECT between two probed ports) would be taken for a
            // retransmission of it; closing the listeners drops them
            drop(std::mem::take(&mut listeners));
            listeners = listen();
            reset.done.store(asked, Ordering::SeqCst);
        }
    }
}

/// Connect every probe at once (nonblocking, bound to its source and client port), send a line
/// once connected, and wait for the server's answer until the batch settles: whether each worked.
fn connect_all<'a>(probes: impl Iterator<Item = &'a Probe>) -> Vec<bool> {
    #[derive(PartialEq)]
    enum St {
        Connecting,
        Sent,
        Done(bool),
    }
    let mut socks = Vec::new();
    for (n, p) in probes.enumerate() {
        // let the softirqs keep up: a burst of a thousand SYNs overflows the backlog queue
        if n % 64 == 63 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let v6 = p.src.is_ipv6();
        let fd = tcp_socket(v6);
        let ok = bind(&fd, SocketAddr::new(p.src, p.cport));
        let dst: IpAddr = if v6 {
            SERVER_V6.into()
        } else {
            SERVER_V4.into()
        };
        let (ss, len) = sockaddr(SocketAddr::new(dst, p.port));
        // SAFETY: valid fd and address
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                &ss as *const _ as *const libc::sockaddr,
                len,
            )
        };
        let err = std::io::Error::last_os_error().raw_os_error();
        let st = if ok && (r == 0 || err == Some(libc::EINPROGRESS)) {
            St::Connecting
        } else {
            assert!(
                ok,
                "bind {}:{}: {:?}",
                p.src,
                p.cport,
                std::io::Error::last_os_error()
            );
            St::Done(false)
        };
        socks.push((fd, st));
    }
    let deadline = Instant::now() + settle();
    while Instant::now() < deadline {
        let mut idx = Vec::new();
        let mut pfds = Vec::new();
        for (i, (fd, st)) in socks.iter().enumerate() {
            let events = match st {
                St::Connecting => libc::POLLOUT,
                St::Sent => libc::POLLIN,
                St::Done(_) => continue,
            };
            idx.push(i);
            pfds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events,
                revents: 0,
            });
        }
        if pfds.is_empty() {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: a valid array of pollfds
        unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                left.as_millis() as i32 + 1,
            )
        };
        for (k, pfd) in pfds.iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            let (fd, st) = &mut socks[idx[k]];
            match st {
                St::Connecting => {
                    let mut e: libc::c_int = 0;
                    let mut l = 4 as libc::socklen_t;
                    // SAFETY: valid fd and option buffer
                    unsafe {
                        libc::getsockopt(
                            fd.as_raw_fd(),
                            libc::SOL_SOCKET,
                            libc::SO_ERROR,
                            &mut e as *mut _ as *mut libc::c_void,
                            &mut l,
                        )
                    };
                    if e != 0 {
                        *st = St::Done(false);
                    } else {
                        // SAFETY: valid fd and buffer
                        unsafe { libc::write(fd.as_raw_fd(), b"ping".as_ptr() as *const _, 4) };
                        *st = St::Sent;
                    }
                }
                St::Sent => {
                    let mut buf = [0u8; 8];
                    // SAFETY: valid fd and buffer
                    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut _, 8) };
                    if n >= 4 && &buf[..4] == b"pong" {
                        *st = St::Done(true);
                    } else if n == 0
                        || (n < 0 && pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0)
                    {
                        *st = St::Done(false);
                    }
                }
                St::Done(_) => {}
            }
        }
    }
    // a connection still open is reset at drop (SO_LINGER 0 not needed: the namespaces go)
    socks.iter().map(|(_, st)| *st == St::Done(true)).collect()
}
