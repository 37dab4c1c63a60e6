//! iptables-save dumps for region evaluation: user chains jumping in a line, and one wide chain.

use std::fmt::Write;

use super::XorShift;

/// INPUT jumps to C0, each C`i` drops one /16 and accepts one port, then jumps to C`i+1`; the
/// last chain accepts tcp/9669. The region falls through every level.
pub fn chain_line(depth: usize) -> String {
    let mut out =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..depth {
        let _ = writeln!(out, ":C{i} - [0:0]");
    }
    out.push_str("-A INPUT -j C0\n");
    for i in 0..depth {
        let _ = writeln!(
            out,
            "-A C{i} -s 10.{}.{}.0/24 -j DROP",
            i / 256 % 256,
            i % 256
        );
        let _ = writeln!(out, "-A C{i} -p tcp -m tcp --dport {} -j ACCEPT", 10000 + i);
        if i + 1 < depth {
            let _ = writeln!(out, "-A C{i} -j C{}", i + 1);
        } else {
            out.push_str(&format!("-A C{i} -p tcp -m tcp --dport 9669 -j ACCEPT\n"));
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// One INPUT chain of `rules` rules on sources, ports and states (allow and deny mixed).
pub fn wide_chain(rules: usize) -> String {
    let mut rng = XorShift::new(17);
    let mut out =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    out.push_str("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    for _ in 0..rules {
        let src = format!(
            "10.{}.{}.0/{}",
            rng.below(256),
            rng.below(256),
            rng.pick(&[16, 24, 24, 28])
        );
        let port = rng.range(1, 65535);
        let target = if rng.chance(0.7) { "ACCEPT" } else { "DROP" };
        match rng.below(3) {
            0 => {
                let _ = writeln!(
                    out,
                    "-A INPUT -s {src} -p tcp -m tcp --dport {port} -j {target}"
                );
            }
            1 => {
                let _ = writeln!(
                    out,
                    "-A INPUT -s {src} -p udp -m udp --dport {port}:{} -j {target}",
                    (port + rng.range(1, 100)).min(65535)
                );
            }
            _ => {
                let _ = writeln!(out, "-A INPUT -s {src} -p tcp -m tcp --dport {port} -m conntrack --ctstate NEW -j {target}");
            }
        }
    }
    out.push_str("COMMIT\n");
    out
}
