//! `portolan query PATH --from ADDR --to ADDR --port N[-M]/PROTO`: which rules decide that region,
//! piece by piece, with the full trace of each piece: every rule visited in order (chain jumps and
//! returns for iptables, priority order for NSGs, the union for security groups, block-before-allow
//! for Windows) and why it matched or not.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use crate::engine::{self as engine, InputFile};
use crate::model::ports::{self, ConnState, PortSet, ProtoSet};
use crate::model::trace::Event;
use crate::model::{AddrSet, Hook, PacketBox, Ruleset, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryHook {
    /// Traffic to the host (iptables INPUT, NSG/SG inbound).
    Input,
    /// Traffic from the host.
    Output,
    /// Traffic through a boundary firewall (iptables FORWARD).
    Forward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Firewall files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Source address, CIDR or range (default: any).
    #[arg(long, default_value = "any")]
    pub from: String,
    /// Destination address, CIDR or range (default: any).
    #[arg(long, default_value = "any")]
    pub to: String,
    /// Port(s) and protocol: `9669/tcp`, `4005-4009/tcp`, `53/udp`, `any`.
    #[arg(long, default_value = "any")]
    pub port: String,
    /// Connection state: new (default), established, related, invalid, untracked.
    #[arg(long, default_value = "new")]
    pub state: String,
    /// Which path through the firewall.
    #[arg(long, value_enum, default_value = "input")]
    pub hook: QueryHook,
    /// Names rules use (service tags, groups, ipsets): `--address VirtualNetwork=10.0.0.0/16`.
    #[arg(long = "address", value_name = "NAME=CIDR,...")]
    pub addresses: Vec<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: QueryFormat,
}

fn parse_port(t: &str) -> Result<(ProtoSet, PortSet), String> {
    if t.eq_ignore_ascii_case("any") {
        return Ok((ProtoSet::full(), PortSet::full()));
    }
    let (p, proto) = t.split_once('/').unwrap_or((t, "tcp"));
    let proto = ports::parse_protocol(proto).map_err(|e| e.to_string())?;
    let ports = if p == "*" || p.eq_ignore_ascii_case("any") {
        PortSet::full()
    } else {
        ports::parse_port_list(p, '-').map_err(|e| e.to_string())?
    };
    Ok((proto, ports))
}

pub fn run(a: QueryArgs) -> u8 {
    let (proto, dports) = match parse_port(&a.port) {
        Ok(x) => x,
        Err(e) => {
            eprintln!(
                "portolan: --port {}: {e} (write e.g. 9669/tcp or 4005-4009/tcp)",
                a.port
            );
            return super::EXIT_USAGE;
        }
    };
    let addr = |flag: &str, t: &str| {
        AddrSet::parse(t).map_err(|e| {
            eprintln!("portolan: --{flag} {t}: {e}");
            super::EXIT_USAGE
        })
    };
    let (src, dst) = match (addr("from", &a.from), addr("to", &a.to)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let Some(state) = ConnState::parse(&a.state) else {
        eprintln!(
            "portolan: --state {}: one of new, established, related, invalid, untracked",
            a.state
        );
        return super::EXIT_USAGE;
    };
    let mut names = crate::formats::Resolver::default();
    for kv in &a.addresses {
        let Some((k, v)) = kv.split_once('=') else {
            eprintln!("portolan: `--address {kv}`: write NAME=CIDR[,CIDR...]");
            return super::EXIT_USAGE;
        };
        for part in v.split(',') {
            match AddrSet::parse(part) {
                Ok(s) => names.insert(k.trim(), s),
                Err(e) => {
                    eprintln!("portolan: `--address {kv}`: {e}");
                    return super::EXIT_USAGE;
                }
            }
        }
    }
    // a packet's two addresses are of one family
    let (src, dst) = {
        use crate::model::Family;
        let fam = |x: &AddrSet| {
            if x.is_subset(&AddrSet::any_v4()) {
                Some(Family::V4)
            } else if x.is_subset(&AddrSet::any_v6()) {
                Some(Family::V6)
            } else {
                None
            }
        };
        match (fam(&src), fam(&dst)) {
            (Some(f), None) => (src.clone(), dst.family_part(f)),
            (None, Some(f)) => (src.family_part(f), dst.clone()),
            _ => (src, dst),
        }
    };
    let hook = match a.hook {
        QueryHook::Input => Hook::Input,
        QueryHook::Output => Hook::Output,
        QueryHook::Forward => Hook::Forward,
    };
    let files = engine::load(&a.paths, &names);
    let mut results = Vec::new();
    for f in &files {
        // a file of one ruleset per family (nftables): a query for IPv4 addresses shows only the
        // IPv4 ruleset (the other's region is empty); a file none of whose rulesets holds the
        // addresses still shows them, empty
        let holds = |rs: &Ruleset| {
            let space = rs.address_space();
            src.0.intersects(&space.0) && dst.0.intersects(&space.0)
        };
        let some_hold = f.rulesets.iter().any(holds);
        for rs in &f.rulesets {
            if some_hold && !holds(rs) {
                continue;
            }
            let Some(p) = rs.pipeline(hook) else { continue };
            let space = rs.address_space();
            let region = PacketBox {
                src: src.intersect(&space),
                dst: dst.intersect(&space),
                proto: proto.clone(),
                sport: PortSet::full(),
                dport: dports.clone(),
                state: state.set(),
                // a packet the host sends has no input interface, one for the host no output one
                iif: if hook == Hook::Output {
                    crate::model::iface::none()
                } else {
                    rs.interfaces.non_loopback()
                },
                oif: if hook == Hook::Input {
                    crate::model::iface::none()
                } else {
                    rs.interfaces.non_loopback()
                },
            };
            results.push(result(f, rs, p, &region));
        }
    }
    let failed: Vec<&InputFile> = files
        .iter()
        .filter(|f| f.failed || f.rulesets.is_empty())
        .collect();
    for f in &failed {
        for x in &f.findings {
            eprintln!("portolan: {}: {} {}", f.path, x.code, x.message);
        }
    }
    let doc = json!({ "schema": "portolan-query/1", "results": results });
    let res = super::write_stdout(|out| match a.format {
        QueryFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        QueryFormat::Human => human(&doc, out),
    });
    if let Err(code) = res {
        return code;
    }
    if files.iter().any(|f| f.failed) {
        super::EXIT_USAGE
    } else {
        super::EXIT_CLEAN
    }
}

fn result(f: &InputFile, rs: &Ruleset, p: &crate::model::Pipeline, region: &PacketBox) -> Value {
    let line_of = |prov: &crate::model::Provenance| (prov.line > 0).then_some(prov.line);
    let pieces: Vec<Value> = rs
        .evaluate(p, region)
        .into_iter()
        .map(|o| {
            let mut trace = Vec::new();
            if let Some(mut pkt) = o.space.sample() {
                // what earlier stages did to the packet (NOTRACK, MARK, NAT) carries on to later
                // ones; a DNAT elsewhere takes it through the diverted (FORWARD) stages
                let mut seen = crate::model::Seen::default();
                let stages = if o.diverted { &p.diverted } else { &p.stages };
                for (k, stage) in stages.iter().enumerate() {
                    let Some(pol) = rs.policies.get(stage.policy) else { continue };
                    if pol.semantics == crate::model::Semantics::Translate
                        && seen.state_of(pkt.state) != crate::model::ports::ConnState::New as u8
                    {
                        // the nat chains see only the packet that opens a connection
                        trace.push(json!({ "rule": pol.name, "line": null, "event": "skipped", "detail": "the nat table sees only a connection's first packet (NEW)", "text": null }));
                        continue;
                    }
                    let mut stage_verdict = None;
                    for step in pol.trace_packet_seen(stage.chain, &pkt, &mut seen) {
                        let (rule, line, text) = match step.rule.and_then(|r| pol.rules.get(r)) {
                            Some(r) => (
                                r.prov.label.to_string(),
                                line_of(&r.prov),
                                f.source
                                    .as_ref()
                                    .and_then(|s| s.text.get(r.prov.span.start..r.prov.span.end))
                                    .map(|t| t.lines().next().unwrap_or("").trim().to_string()),
                            ),
                            None => {
                                let c = pol.chains.get(step.chain);
                                match step.event {
                                    // the end of a user chain has no line of its own
                                    Event::Returned(_) => (
                                        format!("{}/{} (end)", pol.name, c.map(|c| c.name.as_str()).unwrap_or("?")),
                                        None,
                                        None,
                                    ),
                                    _ => (
                                        c.map(|c| c.decl.label.to_string()).unwrap_or_default(),
                                        c.and_then(|c| line_of(&c.decl)),
                                        None,
                                    ),
                                }
                            }
                        };
                        let (event, detail) = match &step.event {
                            Event::NoMatch(dim) => ("no match".to_string(), format!("{dim} differs")),
                            Event::Matched(a) => {
                                let target = match a {
                                    crate::model::Action::Jump(c) | crate::model::Action::Goto(c) => {
                                        pol.chains.get(*c).map(|c| format!(" {}", c.name)).unwrap_or_default()
                                    }
                                    _ => String::new(),
                                };
                                ("match".to_string(), format!("{}{target}", a.name()))
                            }
                            Event::Undecidable(why) => ("undecidable".to_string(), why.clone()),
                            Event::Returned(c) => (
                                "return".to_string(),
                                format!("back from {}", pol.chains.get(*c).map(|c| c.name.as_str()).unwrap_or("?")),
                            ),
                            Event::Policy(_, v) => {
                                stage_verdict = Some(*v);
                                ("policy".to_string(), v.name().to_string())
                            }
                            Event::Loop(c) => (
                                "loop".to_string(),
                                format!("{} is already being evaluated", pol.chains.get(*c).map(|c| c.name.as_str()).unwrap_or("?")),
                            ),
                        };
                        trace.push(json!({ "rule": rule, "line": line, "event": event, "detail": detail, "text": text }));
                    }
                    // the translation a NAT rule of this stage made: later stages see it
                    if let Some(t) = o.nat.filter(|t| {
                        [t.dst_by, t.src_by].iter().flatten().any(|at| at.policy == stage.policy)
                    }) {
                        if let Some(v) = t.to.view(&pkt.as_box()).sample() {
                            pkt = crate::model::Packet { state: pkt.state, iif: pkt.iif, oif: pkt.oif, ..v };
                        }
                    }
                    // a stage that denies ends the trace
                    let denied = stage_verdict == Some(Verdict::Deny)
                        || trace.last().is_some_and(|t| t["event"] == "match" && matches!(t["detail"].as_str(), Some("drop" | "reject")));
                    if denied {
                        break;
                    }
                    // an accept ends only this stage (nftables: its base chain; iptables: its
                    // table's chain): the next one at the hook still runs
                    if let (Some(next), Some(last)) = (stages.get(k + 1), trace.last_mut()) {
                        let accepted = matches!(last["event"].as_str(), Some("match" | "policy"))
                            && matches!(last["detail"].as_str(), Some("accept" | "allow"));
                        if accepted && pol.semantics != crate::model::Semantics::Translate {
                            let here = pol.chains.get(stage.chain).map(|c| format!("{} {}", pol.name, c.name)).unwrap_or_default();
                            let then = rs.policies.get(next.policy).and_then(|q| q.chains.get(next.chain).map(|c| format!("{} {}", q.name, c.name))).unwrap_or_default();
                            let d = format!("{}: ends only {here}, then {then} runs", last["detail"].as_str().unwrap_or(""));
                            last["detail"] = json!(d);
                        }
                    }
                }
            }
            let deciding: Vec<Value> = o
                .deciders
                .iter()
                .filter_map(|at| rs.provenance(*at))
                .map(|prov| json!({ "rule": prov.label, "line": line_of(prov) }))
                .collect();
            json!({
                "verdict": o.verdict.name(),
                "sources": o.space.src.to_cidrs(),
                "destinations": o.space.dst.to_cidrs(),
                "protocols": protocols(&o.space.proto),
                "ports": crate::model::ports::port_string(&o.space.dport),
                "deciding": deciding,
                "reasons": o.reasons,
                "trace": trace,
            })
        })
        .collect();
    json!({ "file": f.path, "policy": p.name, "pieces": pieces })
}

fn human(doc: &Value, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for r in doc["results"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "{} — {}",
            r["file"].as_str().unwrap_or(""),
            r["policy"].as_str().unwrap_or("")
        )?;
        for p in r["pieces"].as_array().into_iter().flatten() {
            let list = |v: &Value| {
                let items: Vec<&str> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str())
                    .collect();
                crate::engine::findings::display_list(
                    &items.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                )
            };
            writeln!(
                out,
                "  {} from {} to {} port {}",
                p["verdict"].as_str().unwrap_or("").to_uppercase(),
                list(&p["sources"]),
                list(&p["destinations"]),
                p["ports"].as_str().unwrap_or("")
            )?;
            for t in p["trace"].as_array().into_iter().flatten() {
                let line = t["line"]
                    .as_u64()
                    .map(|l| format!("line {l:<4}"))
                    .unwrap_or_else(|| "         ".into());
                writeln!(
                    out,
                    "    {line} {:<11} {:<40} {}",
                    t["event"].as_str().unwrap_or(""),
                    t["rule"].as_str().unwrap_or(""),
                    t["detail"].as_str().unwrap_or("")
                )?;
            }
            for why in p["reasons"].as_array().into_iter().flatten() {
                writeln!(out, "    undecided: {}", why.as_str().unwrap_or(""))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

fn protocols(p: &ProtoSet) -> String {
    if p.is_full() {
        return "any".into();
    }
    p.ranges()
        .iter()
        .map(|&(a, b)| {
            if a == b {
                ports::protocol_name(a)
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
