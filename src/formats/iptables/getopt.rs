//! Long options as `getopt_long` reads them for iptables: an option may be abbreviated to any
//! prefix that names one option of the table in effect (`--dport` is `--dports` once `-m
//! multiport` is loaded and no other loaded module has a `--dport*` option). The table in effect
//! is iptables' own options merged with those of every match loaded so far (`-m NAME`, in order)
//! and of the target once `-j` is read; the implicit match of `-p PROTO` joins it only when an
//! option is found nowhere else (iptables loads it then and reads the option again).
//!
//! An exact name always wins; several prefix matches that are spellings of one option
//! (`--sports` / `--source-ports`) are that option; otherwise the prefix is ambiguous, which
//! iptables refuses ("option `--ctorig' is ambiguous").
//!
//! The option lists are written from iptables(8) and iptables-extensions(8). A module or target
//! not listed here has no known table: its options are read as written, never abbreviated.

/// Each option of a module: its name and the canonical spelling of the option it is (synonyms
/// share it).
pub(super) type Table = &'static [(&'static str, &'static str)];

macro_rules! same {
    ($($n:literal),* $(,)?) => { &[$(($n, $n)),*] };
}

/// iptables' own long options (`iptables(8)`), with the canonical short letter.
pub(super) const BUILTIN: Table = &[
    ("append", "A"),
    ("check", "C"),
    ("delete", "D"),
    ("insert", "I"),
    ("replace", "R"),
    ("list", "L"),
    ("list-rules", "S"),
    ("flush", "F"),
    ("zero", "Z"),
    ("new-chain", "N"),
    ("delete-chain", "X"),
    ("policy", "P"),
    ("rename-chain", "E"),
    ("source", "s"),
    ("src", "s"),
    ("destination", "d"),
    ("dst", "d"),
    ("protocol", "p"),
    ("in-interface", "i"),
    ("jump", "j"),
    ("table", "t"),
    ("match", "m"),
    ("numeric", "n"),
    ("out-interface", "o"),
    ("verbose", "v"),
    ("wait", "w"),
    ("wait-interval", "W"),
    ("exact", "x"),
    ("fragments", "f"),
    ("fragment", "f"),
    ("version", "V"),
    ("help", "h"),
    ("line-numbers", "0"),
    ("modprobe", "M"),
    ("set-counters", "c"),
    ("goto", "g"),
    ("ipv4", "4"),
    ("ipv6", "6"),
];

const TCP: Table = &[
    ("source-port", "sport"),
    ("sport", "sport"),
    ("destination-port", "dport"),
    ("dport", "dport"),
    ("syn", "syn"),
    ("tcp-flags", "tcp-flags"),
    ("tcp-option", "tcp-option"),
];
const UDP: Table = &[
    ("source-port", "sport"),
    ("sport", "sport"),
    ("destination-port", "dport"),
    ("dport", "dport"),
];
const SCTP: Table = &[
    ("source-port", "sport"),
    ("sport", "sport"),
    ("destination-port", "dport"),
    ("dport", "dport"),
    ("chunk-types", "chunk-types"),
];
const DCCP: Table = &[
    ("source-port", "sport"),
    ("sport", "sport"),
    ("destination-port", "dport"),
    ("dport", "dport"),
    ("dccp-types", "dccp-types"),
    ("dccp-option", "dccp-option"),
];
const MULTIPORT: Table = &[
    ("source-ports", "sports"),
    ("sports", "sports"),
    ("destination-ports", "dports"),
    ("dports", "dports"),
    ("ports", "ports"),
];
const CONNTRACK: Table = same!(
    "ctstate",
    "ctproto",
    "ctorigsrc",
    "ctorigdst",
    "ctreplsrc",
    "ctrepldst",
    "ctorigsrcport",
    "ctorigdstport",
    "ctreplsrcport",
    "ctrepldstport",
    "ctstatus",
    "ctexpire",
    "ctdir",
);
const RECENT: Table = same!(
    "set", "rcheck", "update", "remove", "seconds", "reap", "hitcount", "rttl", "name", "rsource",
    "rdest", "mask",
);
const SET: Table = same!(
    "match-set",
    "set",
    "return-nomatch",
    "update-counters",
    "update-subcounters",
    "packets-eq",
    "packets-lt",
    "packets-gt",
    "bytes-eq",
    "bytes-lt",
    "bytes-gt",
);
const HASHLIMIT: Table = same!(
    "hashlimit",
    "hashlimit-upto",
    "hashlimit-above",
    "hashlimit-burst",
    "hashlimit-mode",
    "hashlimit-name",
    "hashlimit-srcmask",
    "hashlimit-dstmask",
    "hashlimit-htable-size",
    "hashlimit-htable-max",
    "hashlimit-htable-expire",
    "hashlimit-htable-gcinterval",
    "hashlimit-rate-match",
    "hashlimit-rate-interval",
);
const STRING: Table = same!("from", "to", "algo", "string", "hex-string", "icase");
const TIME: Table = same!(
    "datestart",
    "datestop",
    "timestart",
    "timestop",
    "monthdays",
    "weekdays",
    "kerneltz",
    "localtz",
    "utc",
    "contiguous",
);
const POLICY: Table = same!(
    "dir",
    "pol",
    "strict",
    "reqid",
    "spi",
    "proto",
    "mode",
    "tunnel-src",
    "tunnel-dst",
    "next",
);
const CONNMARK_T: Table = same!(
    "set-mark",
    "set-xmark",
    "save-mark",
    "restore-mark",
    "and-mark",
    "or-mark",
    "xor-mark",
    "mask",
    "nfmask",
    "ctmask",
);
const LOG: Table = same!(
    "log-level",
    "log-prefix",
    "log-tcp-sequence",
    "log-tcp-options",
    "log-ip-options",
    "log-uid",
    "log-macdecode",
);
const CT: Table = same!(
    "notrack",
    "helper",
    "ctevents",
    "expevents",
    "zone",
    "zone-orig",
    "zone-reply",
    "timeout",
);
const SET_T: Table = same!(
    "add-set",
    "del-set",
    "map-set",
    "timeout",
    "exist",
    "map-mark",
    "map-prio",
    "map-queue",
);

/// The options of match `name`, if Portolan knows its table.
pub(super) fn match_options(name: &str) -> Option<Table> {
    Some(match name {
        "tcp" => TCP,
        "udp" | "udplite" => UDP,
        "sctp" => SCTP,
        "dccp" => DCCP,
        "icmp" => same!("icmp-type"),
        "icmp6" => same!("icmpv6-type"),
        "multiport" => MULTIPORT,
        "conntrack" => CONNTRACK,
        "state" => same!("state"),
        "comment" => same!("comment"),
        "iprange" => same!("src-range", "dst-range"),
        "set" => SET,
        "mac" => same!("mac-source"),
        "limit" => same!("limit", "limit-burst"),
        "recent" => RECENT,
        "addrtype" => same!("src-type", "dst-type", "limit-iface-in", "limit-iface-out"),
        "physdev" => same!(
            "physdev-in",
            "physdev-out",
            "physdev-is-in",
            "physdev-is-out",
            "physdev-is-bridged"
        ),
        "mark" | "connmark" => same!("mark"),
        "owner" => same!("uid-owner", "gid-owner", "socket-exists", "suppl-groups"),
        "pkttype" => same!("pkt-type"),
        "ttl" => same!("ttl-eq", "ttl-gt", "ttl-lt"),
        "hl" => same!("hl-eq", "hl-gt", "hl-lt"),
        "length" => same!("length"),
        "string" => STRING,
        "statistic" => same!("mode", "probability", "every", "packet"),
        "hashlimit" => HASHLIMIT,
        "connlimit" => same!(
            "connlimit-upto",
            "connlimit-above",
            "connlimit-mask",
            "connlimit-saddr",
            "connlimit-daddr"
        ),
        "policy" => POLICY,
        "socket" => same!("transparent", "nowildcard", "restore-skmark"),
        "time" => TIME,
        "dscp" => same!("dscp", "dscp-class"),
        "tos" => same!("tos"),
        "helper" => same!("helper"),
        "esp" => same!("espspi"),
        "ah" => same!("ahspi"),
        "devgroup" => same!("src-group", "dst-group"),
        "rpfilter" => same!("loose", "validmark", "accept-local", "invert"),
        "quota" => same!("quota"),
        "connbytes" => same!("connbytes", "connbytes-dir", "connbytes-mode"),
        "cgroup" => same!("cgroup", "path"),
        _ => return None,
    })
}

/// The options of target `name`, if Portolan knows its table.
pub(super) fn target_options(name: &str) -> Option<Table> {
    Some(match name {
        "ACCEPT" | "DROP" | "RETURN" | "QUEUE" | "NOTRACK" => &[],
        "REJECT" => same!("reject-with"),
        "LOG" => LOG,
        "NFLOG" => same!(
            "nflog-group",
            "nflog-prefix",
            "nflog-range",
            "nflog-size",
            "nflog-threshold"
        ),
        "DNAT" => same!("to-destination", "random", "persistent", "random-fully"),
        "SNAT" => same!("to-source", "random", "random-fully", "persistent"),
        "MASQUERADE" => same!("to-ports", "random", "random-fully"),
        "REDIRECT" => same!("to-ports", "random"),
        "MARK" => same!("set-mark", "set-xmark", "and-mark", "or-mark", "xor-mark"),
        "CONNMARK" => CONNMARK_T,
        "CT" => CT,
        "TCPMSS" => same!("set-mss", "clamp-mss-to-pmtu"),
        "CHECKSUM" => same!("checksum-fill"),
        "NFQUEUE" => same!(
            "queue-num",
            "queue-balance",
            "queue-bypass",
            "queue-cpu-fanout"
        ),
        "SET" => SET_T,
        "DSCP" => same!("set-dscp", "set-dscp-class"),
        "TOS" => same!("set-tos", "and-tos", "or-tos", "xor-tos"),
        "TTL" => same!("ttl-set", "ttl-dec", "ttl-inc"),
        "HL" => same!("hl-set", "hl-dec", "hl-inc"),
        "TPROXY" => same!("on-port", "on-ip", "tproxy-mark"),
        "TEE" => same!("gateway"),
        "CLASSIFY" => same!("set-class"),
        _ => return None,
    })
}

/// Who holds an option: iptables itself, the i-th table given to [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    Builtin,
    Scope(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    /// The option named exactly, or by a prefix of one option: its holder and canonical name.
    One(Holder, &'static str, &'static str),
    /// A prefix of options that are not one: their full names.
    Ambiguous(Vec<&'static str>),
    None,
}

/// Find `name` (without dashes) in iptables' options and the `scopes` tables, as getopt does.
pub(super) fn resolve(name: &str, scopes: &[Table]) -> Found {
    let all = || {
        std::iter::once((Holder::Builtin, BUILTIN)).chain(
            scopes
                .iter()
                .enumerate()
                .map(|(i, t)| (Holder::Scope(i), *t)),
        )
    };
    for (h, t) in all() {
        if let Some(&(full, canon)) = t.iter().find(|(n, _)| *n == name) {
            return Found::One(h, full, canon);
        }
    }
    if name.is_empty() {
        return Found::None;
    }
    let mut hits: Vec<(Holder, &'static str, &'static str)> = Vec::new();
    for (h, t) in all() {
        for &(full, canon) in t.iter() {
            if full.starts_with(name) {
                hits.push((h, full, canon));
            }
        }
    }
    match hits.first() {
        None => Found::None,
        Some(&(h, full, canon)) => {
            if hits.iter().all(|&(h2, _, c2)| h2 == h && c2 == canon) {
                Found::One(h, full, canon)
            } else {
                let mut names: Vec<&'static str> = hits.iter().map(|&(_, f, _)| f).collect();
                names.dedup();
                Found::Ambiguous(names)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_as_getopt_reads_them() {
        let mp = match_options("multiport").unwrap();
        assert_eq!(
            resolve("dport", &[mp]),
            Found::One(Holder::Scope(0), "dports", "dports")
        );
        assert_eq!(
            resolve("sport", &[mp]),
            Found::One(Holder::Scope(0), "sports", "sports")
        );
        // two spellings of one option are not ambiguous
        assert_eq!(
            resolve("s", &[mp]),
            Found::Ambiguous(vec![
                "source",
                "src",
                "set-counters",
                "source-ports",
                "sports"
            ])
        );
        let ct = match_options("conntrack").unwrap();
        // `--ctstat` fits `--ctstate` and `--ctstatus`: iptables calls it ambiguous
        assert_eq!(
            resolve("ctstat", &[ct]),
            Found::Ambiguous(vec!["ctstate", "ctstatus"])
        );
        assert_eq!(
            resolve("ctstate", &[ct]),
            Found::One(Holder::Scope(0), "ctstate", "ctstate")
        );
        assert_eq!(
            resolve("ctdi", &[ct]),
            Found::One(Holder::Scope(0), "ctdir", "ctdir")
        );
        assert!(matches!(resolve("ctorig", &[ct]), Found::Ambiguous(v) if v.len() == 4));
        // an exact name wins over a longer one
        let tcp = match_options("tcp").unwrap();
        assert_eq!(
            resolve("dport", &[tcp, mp]),
            Found::One(Holder::Scope(0), "dport", "dport")
        );
        assert_eq!(
            resolve("destination-p", &[tcp]),
            Found::One(Holder::Scope(0), "destination-port", "dport")
        );
        assert_eq!(
            resolve("sou", &[]),
            Found::One(Holder::Builtin, "source", "s")
        );
        assert_eq!(resolve("nothing", &[tcp]), Found::None);
    }
}
