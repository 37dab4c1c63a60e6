//! nftables fixes and traces: a fix is one `nft insert rule ... position H` (or `index N`, or
//! `add rule`) per base chain that drops the flow, and applying the printed lines to the ruleset
//! lets the flow in; the query trace says where an accept ended only one base chain.
//!
//! nft(8), "VERDICT STATEMENT": `accept` ends the evaluation of the current base chain only, so a
//! flow two base chains drop needs an accept in both. "RULES": `insert` puts the rule before the
//! rule with the given handle (`position` is the older spelling of `handle`), `add` without one
//! appends it to the chain (before the chain's policy applies).

use super::{audit_json, portolan};

const GUI: &str = "vsphere.admin-client-zvm-9669";
const PAIRING: &str = "vsphere.zvm-zvm-9081";

fn audit(path: &str) -> serde_json::Value {
    audit_json(&["--env", "vsphere", "--role", "zvm", path]).0
}

/// The inbound flow of `req` for family `fam`.
fn inbound<'a>(v: &'a serde_json::Value, req: &str, fam: &str) -> &'a serde_json::Value {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["requirement"] == req
                && f["direction"] == "inbound"
                && f["policy"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&format!("{fam}:")))
        })
        .unwrap_or_else(|| panic!("no {fam} inbound flow for {req}"))
}

fn lines(f: &serde_json::Value) -> Vec<String> {
    f["fix"]["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no fix: {f}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Apply one printed fix line (`nft '<command>'`) to an `nft -a list ruleset` text the way nft
/// would: `insert rule FAM TABLE CHAIN position H BODY` puts BODY before the rule of that chain
/// with handle H; `add rule FAM TABLE CHAIN BODY` at the chain's end.
fn apply(text: &str, line: &str) -> String {
    let cmd = line
        .strip_prefix("nft '")
        .and_then(|l| l.strip_suffix('\''))
        .expect("an nft command line");
    let words: Vec<&str> = cmd.split(' ').collect();
    let (family, table, chain) = (words[2], words[3], words[4]);
    let t = text
        .find(&format!("table {family} {table} {{"))
        .expect("the table");
    let c = t + text[t..]
        .find(&format!("chain {chain} {{"))
        .expect("the chain");
    let (at, body) = match words[0] {
        "insert" => {
            assert_eq!(words[5], "position", "{line}");
            let h = text[c..]
                .find(&format!("# handle {}\n", words[6]))
                .expect("the handle");
            // the start of the line holding that handle
            (text[..c + h].rfind('\n').unwrap() + 1, words[7..].join(" "))
        }
        "add" => {
            // the chain's closing brace
            (
                c + text[c..].find("\n\t}").unwrap() + 1,
                words[5..].join(" "),
            )
        }
        other => panic!("not an nft rule command: {other}"),
    };
    format!("{}\t\t{body}\n{}", &text[..at], &text[at..])
}

/// Two base chains drop 9669 (`inet early input`, priority -10, by its policy; `inet late input`,
/// priority 0, by handle 3). The fix has one line per chain: `add rule` to the early chain (its
/// policy decides, so at the end) and `insert ... position 3` in the late one (before the drop).
/// Applied to the file (the placeholder replaced by the IPv4 peers), the IPv4 flow is allowed,
/// by the two new rules; the IPv6 one stays blocked (the rules say `ip saddr`), and so does 9081.
#[test]
fn a_fix_accepts_in_every_base_chain_that_drops_and_the_changed_file_lets_the_flow_in() {
    let file = "fixtures/nftables/lowering/two-chains-both-drop-handles.nft";
    let v = audit(file);
    let f = inbound(&v, GUI, "ipv4");
    assert_eq!(f["status"], "blocked");
    assert_eq!(f["fix"]["platform"], "nftables");
    let fix = lines(f);
    assert_eq!(
        fix,
        vec![
            "nft 'add rule inet early input ip saddr PEERS tcp dport 9669 ct state new counter accept comment \"portolan: vsphere.admin-client-zvm-9669\"'",
            "nft 'insert rule inet late input position 3 ip saddr PEERS tcp dport 9669 ct state new counter accept comment \"portolan: vsphere.admin-client-zvm-9669\"'",
        ]
    );
    assert!(f["fix"]["verified"]
        .as_str()
        .unwrap()
        .contains("the flow is allowed after the change"));
    // the IPv6 flow's fix names IPv6 addresses
    assert!(lines(inbound(&v, GUI, "ipv6"))
        .iter()
        .all(|l| l.contains(" ip6 saddr PEERS ")));

    let mut text = std::fs::read_to_string(file).unwrap();
    for l in &fix {
        text = apply(&text, &l.replace("PEERS", "0.0.0.0/0"));
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nft-fix");
    std::fs::create_dir_all(&dir).unwrap();
    let changed = dir.join("two-chains-fixed.nft");
    std::fs::write(&changed, &text).unwrap();
    let after = audit(changed.to_str().unwrap());
    let g = inbound(&after, GUI, "ipv4");
    assert_eq!(g["status"], "allowed", "{text}");
    let deciding: Vec<&str> = g["deciding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    // the last base chain's accept is what lets it in (the early one's new rule ended only that
    // chain); the new rule is the second of the late chain, before the drop
    assert_eq!(deciding, ["inet late input #2"]);
    assert!(text.contains("\t\tip saddr 0.0.0.0/0 tcp dport 9669 ct state new counter accept comment \"portolan: vsphere.admin-client-zvm-9669\"\n\t}\n}\ntable inet late"), "{text}");
    assert_eq!(inbound(&after, GUI, "ipv6")["status"], "blocked");
    assert_eq!(inbound(&after, PAIRING, "ipv4")["status"], "blocked");
}

/// `nft list ruleset` without `-a` prints no handles: the place is an index, the rule's 0-based
/// position as listed (nft(8): "index (starting at zero) of an existing rule"), and the note
/// says so. `two-input-chains.nft`: the late chain's first rule drops 9669, the early chain's
/// accept lets it on, so only the late chain needs a rule, before its rule 0.
#[test]
fn without_handles_the_place_is_an_index() {
    let v = audit("fixtures/nftables/lowering/two-input-chains.nft");
    let f = inbound(&v, GUI, "ipv4");
    assert_eq!(
        lines(f),
        vec![
            "nft 'insert rule inet late input index 0 ip saddr PEERS tcp dport 9669 ct state new counter accept comment \"portolan: vsphere.admin-client-zvm-9669\"'",
            // the late chain drops every packet to 9669, the client's ACK and data (ESTABLISHED)
            // too: they need their own accept
            "nft 'insert rule inet late input index 0 ip saddr PEERS tcp dport 9669 ct state established counter accept comment \"portolan: vsphere.admin-client-zvm-9669 later packets\"'",
        ]
    );
    assert!(f["fix"]["note"]
        .as_str()
        .unwrap()
        .contains("the listing has no handles"));
}

/// A `policy drop` output chain with no `ct state established` accept drops the replies of an
/// inbound connection: the fix adds an established accept for them in that chain too, and a
/// `table ip` rule names no `meta nfproto` (the table is IPv4 already).
#[test]
fn replies_dropped_on_output_get_their_own_rule() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nft-fix-replies");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out-drop.nft");
    std::fs::write(
        &file,
        "table ip filter { # handle 1\n\tchain input { # handle 1\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept # handle 2\n\t}\n\n\tchain output { # handle 3\n\t\ttype filter hook output priority filter; policy drop;\n\t\toifname \"lo\" accept # handle 4\n\t}\n}\n",
    )
    .unwrap();
    let v = audit(file.to_str().unwrap());
    let f = inbound(&v, PAIRING, "ipv4");
    assert_eq!(f["status"], "blocked");
    assert_eq!(
        lines(f),
        vec![
            "nft 'add rule ip filter input ip saddr PEERS tcp dport 9081 ct state new counter accept comment \"portolan: vsphere.zvm-zvm-9081\"'",
            "nft 'add rule ip filter output ip daddr PEERS tcp sport 9081 tcp dport 1024-65535 ct state established counter accept comment \"portolan: vsphere.zvm-zvm-9081 replies\"'",
        ]
    );
    let mut text = std::fs::read_to_string(&file).unwrap();
    for l in lines(f) {
        text = apply(&text, &l.replace("PEERS", "0.0.0.0/0"));
    }
    let changed = dir.join("out-drop-fixed.nft");
    std::fs::write(&changed, &text).unwrap();
    let after = audit(changed.to_str().unwrap());
    assert_eq!(
        inbound(&after, PAIRING, "ipv4")["status"],
        "allowed",
        "{text}"
    );
}

/// The trace of `portolan query` shows both base chains, in the order they run, and says that
/// the early chain's accept ended only that chain.
#[test]
fn the_trace_says_an_accept_ended_only_its_base_chain() {
    let out = portolan()
        .args([
            "query",
            "fixtures/nftables/lowering/two-input-chains.nft",
            "--port",
            "9669/tcp",
            "--from",
            "10.0.0.1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // an IPv4 source: only the IPv4 ruleset answers (the IPv6 one holds no such packet)
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v}");
    assert!(results[0]["policy"].as_str().unwrap().starts_with("ipv4:"));
    let piece = &v["results"][0]["pieces"][0];
    assert_eq!(piece["verdict"], "deny");
    let trace: Vec<(String, String)> = piece["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["rule"].as_str().unwrap().to_string(),
                t["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        trace,
        vec![
            (
                "inet early input #1".to_string(),
                "accept: ends only inet early input, then inet late input runs".to_string()
            ),
            ("inet late input #1".to_string(), "drop".to_string()),
        ]
    );
}
