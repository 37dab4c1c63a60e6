//! `netsh advfirewall firewall show rule name=all` output (English, CRLF), like a Windows server
//! with the built-in rule groups plus site rules: allow and block rules, both directions, all
//! profile combinations, port lists and ranges, address lists with keywords, ICMP type tables,
//! some disabled rules.

use std::fmt::Write;

use super::XorShift;

const GROUPS: [&str; 6] = [
    "Core Networking",
    "File and Printer Sharing",
    "Remote Desktop",
    "Windows Remote Management",
    "Zerto",
    "",
];
const PROFILES: [&str; 5] = [
    "Domain,Private,Public",
    "Domain",
    "Private,Public",
    "Public",
    "Domain,Private",
];

fn field(out: &mut String, label: &str, value: &str) {
    let _ = write!(
        out,
        "{label}:{}{value}\r\n",
        " ".repeat(38 - label.len() - 1)
    );
}

/// About `rules` rule blocks (some 600 bytes each).
pub fn netsh_show_rule(rules: usize) -> String {
    let mut rng = XorShift::new(13);
    let mut out = String::with_capacity(rules * 640);
    out.push_str("\r\n");
    for i in 0..rules {
        let _ = write!(
            out,
            "Rule Name:                            {} {i}\r\n{}\r\n",
            rng.pick(&["Allow", "Zerto", "App", "Block", "Core Networking - Echo"]),
            "-".repeat(70)
        );
        field(
            &mut out,
            "Enabled",
            if rng.chance(0.85) { "Yes" } else { "No" },
        );
        field(
            &mut out,
            "Direction",
            if rng.chance(0.7) { "In" } else { "Out" },
        );
        field(&mut out, "Profiles", PROFILES[rng.below(5) as usize]);
        field(&mut out, "Grouping", GROUPS[rng.below(6) as usize]);
        field(&mut out, "LocalIP", "Any");
        let remote = match rng.below(4) {
            0 => "Any".to_string(),
            1 => "LocalSubnet".to_string(),
            _ => (0..rng.range(1, 4))
                .map(|_| match rng.below(3) {
                    0 => format!("10.{}.{}.0/255.255.255.0", rng.below(256), rng.below(256)),
                    1 => format!("192.168.{}.{}", rng.below(256), rng.range(1, 254)),
                    _ => {
                        let a = rng.range(1, 200);
                        format!("172.16.{a}.1-172.16.{a}.{}", rng.range(2, 254))
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        };
        field(&mut out, "RemoteIP", &remote);
        match rng.below(6) {
            0 => {
                field(&mut out, "Protocol", "ICMPv4");
                out.push_str("                                      Type    Code\r\n");
                out.push_str("                                      8       Any\r\n");
                if rng.chance(0.5) {
                    out.push_str("                                      3       4\r\n");
                }
            }
            1 => field(&mut out, "Protocol", "Any"),
            k => {
                field(&mut out, "Protocol", if k == 2 { "UDP" } else { "TCP" });
                let local = match rng.below(5) {
                    0 => "Any".to_string(),
                    1 => "4005-4009,9071,9081,9180,9669".to_string(),
                    2 => "RPC".to_string(),
                    _ => {
                        let p = rng.range(1, 65000);
                        if rng.chance(0.3) {
                            format!("{p}-{}", p + rng.range(1, 500))
                        } else {
                            p.to_string()
                        }
                    }
                };
                field(&mut out, "LocalPort", &local);
                field(&mut out, "RemotePort", "Any");
            }
        }
        field(&mut out, "Edge traversal", "No");
        field(
            &mut out,
            "Action",
            if rng.chance(0.15) { "Block" } else { "Allow" },
        );
        out.push_str("\r\n");
    }
    out.push_str("Ok.\r\n\r\n");
    out
}
