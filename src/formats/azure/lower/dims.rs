//! The dimensions of one security rule (protocol, ports, addresses) and the service tags they
//! name.

use super::{Dim, Lowerer, RuleCtx};
use crate::formats::azure::ast::{SecurityRule, Value};
use crate::model::ports::{self, PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
use crate::model::AddrSet;

/// Legacy spellings of service tags found in old templates.
fn canonical_tag(t: &str) -> &str {
    match t.to_ascii_uppercase().as_str() {
        "VIRTUAL_NETWORK" => "VirtualNetwork",
        "AZURE_LOADBALANCER" => "AzureLoadBalancer",
        "INTERNET" => "Internet",
        _ => t,
    }
}

/// The address a service tag stands for when Azure documents one fixed address for it and the
/// inventory (or `--address`) does not say otherwise: `AzureLoadBalancer` is where the platform's
/// health probes come from, the virtual public address 168.63.129.16 ("Azure Load Balancer health
/// probes originate from 168.63.129.16", Azure Load Balancer documentation). Other tags
/// (`VirtualNetwork`, `Internet`, regional ranges, unknown tags) depend on the deployment.
fn documented_tag(tag: &str) -> Option<AddrSet> {
    if tag.eq_ignore_ascii_case("AzureLoadBalancer") {
        AddrSet::parse("168.63.129.16/32").ok()
    } else {
        None
    }
}

fn looks_like_name(t: &str) -> bool {
    let mut cs = t.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Lowerer<'_> {
    pub(super) fn protocol(
        &mut self,
        r: &SecurityRule,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<ProtoSet> {
        let unknown = Dim {
            known: ProtoSet::empty(),
            unknown: true,
        };
        let Some(v) = &r.protocol else {
            self.missing(ctx, "protocol", why);
            return unknown;
        };
        let Some(t) = self.literal(v, "protocol", "a string", why) else {
            return unknown;
        };
        let set = match t.to_ascii_lowercase().as_str() {
            "*" | "any" | "all" => ProtoSet::full(),
            "tcp" => ProtoSet::single(TCP),
            "udp" => ProtoSet::single(UDP),
            "icmp" => ProtoSet::from_ranges([(ICMP, ICMP), (ICMPV6, ICMPV6)]),
            "esp" => ProtoSet::single(50),
            "ah" => ProtoSet::single(51),
            _ => {
                self.error(
                    v.span,
                    format!("`{t}` is not an NSG protocol (Tcp, Udp, Icmp, Esp, Ah or *)"),
                    "unknown protocol",
                );
                why.push(format!("protocol `{t}` could not be read"));
                return unknown;
            }
        };
        Dim {
            known: set,
            unknown: false,
        }
    }

    pub(super) fn ports(
        &mut self,
        values: &[Value],
        side: &str,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<PortSet> {
        let what = format!("{side} port");
        if values.is_empty() {
            self.missing(ctx, &format!("{side} port range"), why);
            return Dim {
                known: PortSet::empty(),
                unknown: true,
            };
        }
        let mut d = Dim {
            known: PortSet::empty(),
            unknown: false,
        };
        for v in values {
            let Some(t) = self.literal(v, &what, "a string or a number", why) else {
                d.unknown = true;
                continue;
            };
            if t == "*" || t.eq_ignore_ascii_case("any") {
                d.known = PortSet::full();
                continue;
            }
            match ports::parse_port_range(t, '-') {
                Ok(p) => d.known = d.known.union(&p),
                Err(_) => {
                    self.error(
                        v.span,
                        format!("`{t}` is not a port or port range (0-65535)"),
                        "bad port",
                    );
                    why.push(format!("{what} `{t}` could not be read"));
                    d.unknown = true;
                }
            }
        }
        d
    }

    pub(super) fn addresses(
        &mut self,
        prefixes: &[Value],
        asgs: &[Value],
        side: &str,
        ctx: &RuleCtx,
        why: &mut Vec<String>,
    ) -> Dim<AddrSet> {
        let mut d = Dim {
            known: AddrSet::empty(),
            unknown: false,
        };
        if prefixes.is_empty() && asgs.is_empty() {
            self.missing(ctx, &format!("{side} address"), why);
            d.unknown = true;
            return d;
        }
        let what = format!("{side} address");
        for v in prefixes {
            let Some(t) = self.literal(v, &what, "a string", why) else {
                d.unknown = true;
                continue;
            };
            if t == "*" || t.eq_ignore_ascii_case("any") {
                d.known = AddrSet::any();
            } else if looks_like_name(t) {
                let tag = canonical_tag(t);
                let documented = documented_tag(tag);
                match self
                    .names
                    .get(t)
                    .or_else(|| self.names.get(tag))
                    .or(documented.as_ref())
                {
                    Some(set) => d.known = d.known.union(set),
                    None => {
                        // a default rule the export omits has no span: point at its NSG
                        let span = if ctx.synthesized {
                            ctx.nsg_span
                        } else {
                            v.span
                        };
                        let reason = self.unresolved_name(
                            "service tag",
                            tag,
                            span,
                            ctx.synthesized.then_some(ctx.rule_name.as_str()),
                        );
                        why.push(reason);
                        d.unknown = true;
                    }
                }
            } else {
                match AddrSet::parse(t) {
                    Ok(set) => d.known = d.known.union(&set),
                    Err(e) => {
                        self.error(
                            v.span,
                            format!("`{t}` is not an IP address, CIDR block or service tag ({e})"),
                            "bad address",
                        );
                        why.push(format!("{what} `{t}` could not be read"));
                        d.unknown = true;
                    }
                }
            }
        }
        for v in asgs {
            let Some(id) = self.literal(
                v,
                "application security group",
                "an object with an `id`",
                why,
            ) else {
                d.unknown = true;
                continue;
            };
            let name = id.rsplit('/').find(|s| !s.trim().is_empty()).unwrap_or(id);
            match self.names.get(name).or_else(|| self.names.get(id)) {
                Some(set) => d.known = d.known.union(set),
                None => {
                    let reason =
                        self.unresolved_name("application security group", name, v.span, None);
                    why.push(reason);
                    d.unknown = true;
                }
            }
        }
        d
    }
}
