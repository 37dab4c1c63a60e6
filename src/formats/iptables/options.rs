//! Tables of names: built-in chains, the options iptables itself parses, the implicit modules of
//! `-p PROTO`, and the arity of the match and target options it knows.

// ------------------------------------------------------------------------------------------
// Tables of names

pub(super) fn builtin_chains(table: &str) -> Option<&'static [&'static str]> {
    Some(match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => return None,
    })
}

/// The match module `-p PROTO` loads implicitly (iptables lower-cases the protocol, and accepts
/// its number).
pub(super) fn implicit_module(proto: &str) -> Option<&'static str> {
    const MAP: &[(&str, &str)] = &[
        ("tcp", "tcp"),
        ("6", "tcp"),
        ("udp", "udp"),
        ("17", "udp"),
        ("udplite", "udplite"),
        ("136", "udplite"),
        ("sctp", "sctp"),
        ("132", "sctp"),
        ("dccp", "dccp"),
        ("33", "dccp"),
        ("icmp", "icmp"),
        ("1", "icmp"),
        ("icmpv6", "icmp6"),
        ("ipv6-icmp", "icmp6"),
        ("icmp6", "icmp6"),
        ("58", "icmp6"),
        ("esp", "esp"),
        ("50", "esp"),
        ("ah", "ah"),
        ("51", "ah"),
        ("mh", "mh"),
        ("ipv6-mh", "mh"),
        ("135", "mh"),
    ];
    MAP.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(proto))
        .map(|&(_, m)| m)
}

/// The per-protocol modules that own `--dport`, `--sport`, `--tcp-flags`, `--icmp-type`, ...
pub(super) fn is_proto_module(m: &str) -> bool {
    matches!(
        m,
        "tcp" | "udp" | "udplite" | "sctp" | "dccp" | "icmp" | "icmp6"
    )
}

/// Options (canonical names) that `-p PROTO` makes available without `-m`.
pub(super) fn is_proto_option(name: &str) -> bool {
    matches!(
        name,
        "dport" | "sport" | "tcp-flags" | "syn" | "tcp-option" | "icmp-type" | "icmpv6-type"
    )
}

/// Long option name → the name iptables-save prints.
pub(super) fn canonical_match_option(name: &str) -> Option<&'static str> {
    Some(match name {
        "destination-port" => "dport",
        "source-port" => "sport",
        "destination-ports" => "dports",
        "source-ports" => "sports",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arity {
    /// Exactly this many values.
    Fixed(u8),
    /// Unknown option: one value if the next word is a value, else none.
    Guess,
}

/// Options of matches and targets whose number of values is known. The flag says whether it is
/// a target option (used to give it to the target when a `-m` came between `-j` and it).
pub(super) fn known_option(name: &str) -> Option<(Arity, bool)> {
    use Arity::Fixed;
    let (arity, target) = match name {
        // tcp / udp / sctp / dccp, multiport, icmp
        "sport" | "dport" | "source-port" | "destination-port" | "tcp-option" => (Fixed(1), false),
        "tcp-flags" => (Fixed(2), false),
        "syn" => (Fixed(0), false),
        "sports" | "dports" | "ports" | "source-ports" | "destination-ports" => (Fixed(1), false),
        "icmp-type" | "icmpv6-type" => (Fixed(1), false),
        // conntrack / state
        "state" | "ctstate" | "ctproto" | "ctorigsrc" | "ctorigdst" | "ctreplsrc" | "ctrepldst"
        | "ctorigsrcport" | "ctorigdstport" | "ctreplsrcport" | "ctrepldstport" | "ctstatus"
        | "ctexpire" | "ctdir" => (Fixed(1), false),
        "comment" | "src-range" | "dst-range" | "mac-source" | "limit" | "limit-burst" => {
            (Fixed(1), false)
        }
        // set
        "match-set" => (Fixed(2), false),
        "return-nomatch" | "update-counters" | "update-subcounters" => (Fixed(0), false),
        "packets-eq" | "packets-lt" | "packets-gt" | "bytes-eq" | "bytes-lt" | "bytes-gt" => {
            (Fixed(1), false)
        }
        // recent
        "set" | "update" | "rcheck" | "remove" | "rsource" | "rdest" | "rttl" | "reap" => {
            (Fixed(0), false)
        }
        "name" | "seconds" | "hitcount" | "mask" => (Fixed(1), false),
        // addrtype, physdev, mark, owner, pkttype, ttl/hl, length, string, statistic
        "src-type" | "dst-type" => (Fixed(1), false),
        "limit-iface-in" | "limit-iface-out" => (Fixed(0), false),
        "physdev-in" | "physdev-out" => (Fixed(1), false),
        "physdev-is-in" | "physdev-is-out" | "physdev-is-bridged" => (Fixed(0), false),
        "mark" | "uid-owner" | "gid-owner" | "pkt-type" | "ttl-eq" | "ttl-gt" | "ttl-lt"
        | "hl-eq" | "hl-gt" | "hl-lt" | "length" | "string" | "hex-string" | "algo" | "from"
        | "to" | "mode" | "probability" | "every" | "packet" => (Fixed(1), false),
        "socket-exists" | "suppl-groups" | "icase" => (Fixed(0), false),
        // hashlimit, connlimit, policy, socket, time, dscp/tos, ipvs
        "hashlimit"
        | "hashlimit-upto"
        | "hashlimit-above"
        | "hashlimit-burst"
        | "hashlimit-mode"
        | "hashlimit-name"
        | "hashlimit-srcmask"
        | "hashlimit-dstmask"
        | "hashlimit-htable-size"
        | "hashlimit-htable-max"
        | "hashlimit-htable-expire"
        | "hashlimit-htable-gcinterval" => (Fixed(1), false),
        "connlimit-upto" | "connlimit-above" | "connlimit-mask" => (Fixed(1), false),
        "connlimit-saddr" | "connlimit-daddr" => (Fixed(0), false),
        "pol" | "dir" | "reqid" | "spi" | "proto" | "tunnel-src" | "tunnel-dst" => {
            (Fixed(1), false)
        }
        "strict" | "next" | "transparent" | "nowildcard" | "restore-skmark" => (Fixed(0), false),
        "datestart" | "datestop" | "timestart" | "timestop" | "monthdays" | "weekdays" => {
            (Fixed(1), false)
        }
        "kerneltz" | "localtz" | "utc" | "contiguous" | "ipvs" => (Fixed(0), false),
        "dscp" | "dscp-class" | "tos" => (Fixed(1), false),
        // targets
        "reject-with" | "log-level" | "log-prefix" | "nflog-group" | "nflog-prefix"
        | "nflog-range" | "nflog-size" | "nflog-threshold" | "to-destination" | "to-source"
        | "to-ports" | "set-xmark" | "set-mark" | "and-mark" | "or-mark" | "xor-mark"
        | "nfmask" | "ctmask" | "helper" | "ctevents" | "expevents" | "zone" | "zone-orig"
        | "zone-reply" | "timeout" | "set-mss" | "queue-num" | "queue-balance" | "set-dscp"
        | "set-dscp-class" | "set-tos" | "set-class" | "ttl-set" | "ttl-dec" | "ttl-inc"
        | "hl-set" | "hl-dec" | "hl-inc" | "on-port" | "on-ip" | "tproxy-mark" | "gateway" => {
            (Fixed(1), true)
        }
        "log-tcp-sequence" | "log-tcp-options" | "log-ip-options" | "log-uid" | "log-macdecode"
        | "random" | "random-fully" | "fully-random" | "persistent" | "nodst" | "save-mark"
        | "restore-mark" | "notrack" | "checksum-fill" | "clamp-mss-to-pmtu" | "queue-bypass"
        | "queue-cpu-fanout" | "exist" | "map-mark" | "map-prio" | "map-queue" => (Fixed(0), true),
        "add-set" | "del-set" | "map-set" => (Fixed(2), true),
        _ => return None,
    };
    Some((arity, target))
}

/// The options iptables itself parses (everything else belongs to a match or a target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Builtin {
    /// `-s -d -i -o -p -f -4 -6`: canonical name, number of values, bit for "seen once".
    Base(&'static str, u8, u8),
    Match,
    Jump,
    Goto,
    Counters,
    Table,
    Append,
    Insert,
    /// `-D`, `-R`, `-F`, `-X`, `-Z`: commands iptables-restore applies in order.
    Edit(u8),
    NewChain,
    Policy,
    /// A command that a save/restore file cannot be audited with: its letter and meaning.
    Unsupported(char, &'static str),
}

pub(super) fn builtin_short(c: u8) -> Option<Builtin> {
    use Builtin::*;
    Some(match c {
        b's' => Base("s", 1, 1),
        b'd' => Base("d", 1, 2),
        b'i' => Base("i", 1, 4),
        b'o' => Base("o", 1, 8),
        b'p' => Base("p", 1, 16),
        b'f' => Base("f", 0, 32),
        b'4' => Base("4", 0, 64),
        b'6' => Base("6", 0, 128),
        b'm' => Match,
        b'j' => Jump,
        b'g' => Goto,
        b'c' => Counters,
        b't' => Table,
        b'A' => Append,
        b'I' => Insert,
        b'N' => NewChain,
        b'P' => Policy,
        b'D' => Edit(b'D'),
        b'R' => Edit(b'R'),
        b'F' => Edit(b'F'),
        b'X' => Edit(b'X'),
        b'Z' => Edit(b'Z'),
        b'E' => Unsupported('E', "rename chain"),
        b'L' => Unsupported('L', "list"),
        b'S' => Unsupported('S', "list rules"),
        b'C' => Unsupported('C', "check"),
        _ => return None,
    })
}

pub(super) fn builtin_long(name: &str) -> Option<Builtin> {
    let short = match name {
        "source" | "src" => b's',
        "destination" | "dst" => b'd',
        "in-interface" => b'i',
        "out-interface" => b'o',
        "protocol" => b'p',
        "fragment" | "fragments" => b'f',
        "ipv4" => b'4',
        "ipv6" => b'6',
        "match" => b'm',
        "jump" => b'j',
        "goto" => b'g',
        "set-counters" => b'c',
        "table" => b't',
        "append" => b'A',
        "insert" => b'I',
        "new-chain" => b'N',
        "policy" => b'P',
        "delete" => b'D',
        "replace" => b'R',
        "flush" => b'F',
        "delete-chain" => b'X',
        "zero" => b'Z',
        "rename-chain" => b'E',
        "list" => b'L',
        "list-rules" => b'S',
        "check" => b'C',
        _ => return None,
    };
    builtin_short(short)
}

/// What an option word is.
pub(super) enum OptWord<'w> {
    Builtin(Builtin),
    /// `--name` of a match or target (name without the dashes).
    Long(&'w str),
}

/// An option word: what it is, and where its `=` is when written `--name=value`.
pub(super) struct Classified<'w> {
    pub(super) kind: OptWord<'w>,
    pub(super) eq: Option<usize>,
}
