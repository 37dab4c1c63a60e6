//! Lowering: the [`WinRule`]s of one file into one [`Ruleset`] per profile (see the module
//! documentation of `windows` for the semantics).

use std::collections::BTreeSet;

use super::ast::{
    AddrSpec, Direction, IcmpSpec, Item, PortSpec, ProfileSettings, Protocol, WinAction, WinRule,
    PROFILES,
};
use super::values::{program_unscoped, service_unscoped};
use super::{DISABLED_INBOUND, DISABLED_OUTBOUND};
use crate::formats::source::SourceText;
use crate::formats::{IssueKind, ParseIssue, Resolver};
use crate::model::app::AppScope;
use crate::model::ports::{self, all_states, PortSet, ProtoSet};
use crate::model::{
    Action, AddrSet, Chain, Entry, Hook, IntervalSet, PacketBox, Policy, Provenance, Rule, Ruleset,
    Semantics, Span, Verdict,
};
use crate::model::{NativeRef, Platform};

// ---------------------------------------------------------------------------------------------
// Lowering

/// The fact that says whether the peers' connections are IPsec-authenticated.
pub const IPSEC_FACT: &str = "ipsec";

/// Why a rule that admits only IPsec-authenticated connections is undecidable without the fact.
pub const IPSEC_REASON: &str = "the rule admits only IPsec-authenticated connections; say whether the peers use IPsec with --set ipsec=true|false";

/// A rule lowered once (the box does not depend on the profile).
struct Lowered {
    matches: PacketBox,
    scopes: Vec<AppScope>,
    undecidable: Vec<String>,
    action: Action,
    prov: Provenance,
}

/// Tracks which keywords were already reported in this file.
struct Ctx<'a> {
    names: &'a Resolver,
    issues: &'a mut Vec<ParseIssue>,
    reported: BTreeSet<String>,
}

impl Ctx<'_> {
    fn bad(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }
    fn once(&mut self, key: String, span: Span, message: String, label: &str, help: &str) {
        if self.reported.insert(key) {
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span,
                message,
                label: label.to_string(),
                help: Some(help.to_string()),
            });
        }
    }
}

/// The ports of a list, with the reasons it is undecidable; a list of port keywords only also
/// scopes the rule to their Windows feature's traffic (`scopes`).
fn port_set(
    list: &[Item<PortSpec>],
    what: &str,
    label: &str,
    cx: &mut Ctx<'_>,
    scopes: &mut Vec<AppScope>,
) -> (PortSet, Vec<String>) {
    if list.is_empty() {
        return (PortSet::full(), Vec::new());
    }
    // only keywords: the rule matches that feature's ports and no other (with a number beside
    // them the number's traffic may be anyone's)
    if list
        .iter()
        .all(|it| matches!(it.value, PortSpec::Keyword(_)))
    {
        let names: Vec<String> = list
            .iter()
            .filter_map(|it| match &it.value {
                PortSpec::Keyword(k) => Some(format!("`{k}`")),
                _ => None,
            })
            .collect();
        scopes.push(AppScope::Feature(format!(
            "the {what} port keyword {}",
            names.join(", ")
        )));
    }
    let mut set = PortSet::empty();
    let mut why = Vec::new();
    for it in list {
        match &it.value {
            PortSpec::Any => return (PortSet::full(), Vec::new()),
            PortSpec::Range(a, b) => set = set.union(&PortSet::range(*a, *b)),
            PortSpec::Keyword(k) => {
                why.push(format!(
                    "{label}: {what} port keyword `{k}` stands for ports chosen at run time"
                ));
                cx.once(
                    format!("port:{}", k.to_ascii_lowercase()),
                    it.span,
                    format!(
                        "port keyword `{k}` is decided at run time; rules using it are undecidable"
                    ),
                    "port keyword",
                    "the audit cannot tell which ports this keyword opens",
                );
            }
            PortSpec::Bad(v) => {
                why.push(format!("{label}: {what} port `{v}` cannot be read"));
                cx.bad(
                    it.span,
                    format!("`{v}` is not a port, a range or a port keyword"),
                    "bad port",
                );
            }
        }
    }
    if why.is_empty() {
        (set, why)
    } else {
        (PortSet::full(), why)
    }
}

fn addr_set(
    list: &[Item<AddrSpec>],
    what: &str,
    label: &str,
    cx: &mut Ctx<'_>,
) -> (AddrSet, Vec<String>) {
    if list.is_empty() {
        return (AddrSet::any(), Vec::new());
    }
    let mut set = AddrSet::empty();
    let mut why = Vec::new();
    for it in list {
        match &it.value {
            AddrSpec::Any => return (AddrSet::any(), Vec::new()),
            AddrSpec::Literal(s) => set = set.union(s),
            AddrSpec::Keyword(k) => match resolve(cx.names, k) {
                Some(s) => set = set.union(&s),
                None => {
                    why.push(format!(
                        "{label}: {what} address `{k}` is not resolved (add it to the inventory's [addresses])"
                    ));
                    cx.once(
                        format!("addr:{}", k.to_ascii_lowercase()),
                        it.span,
                        format!("address keyword `{k}` is not resolved; rules using it are undecidable"),
                        "unresolved address keyword",
                        &format!("give `{k}` its addresses in the inventory's [addresses] or with --address {k}=CIDR,..."),
                    );
                }
            },
            AddrSpec::Bad(v) => {
                why.push(format!("{label}: {what} address `{v}` cannot be read"));
                cx.bad(
                    it.span,
                    format!("`{v}` is not an address, subnet, range or keyword"),
                    "bad address",
                );
            }
        }
    }
    if why.is_empty() {
        (set, why)
    } else {
        (AddrSet::any(), why)
    }
}

/// A keyword through the resolver: as written, then without a `4`/`6` family suffix (limited to
/// that family).
fn resolve(names: &Resolver, k: &str) -> Option<AddrSet> {
    if let Some(s) = names.get(k) {
        return Some(s.clone());
    }
    let (base, fam) = if let Some(b) = k.strip_suffix('4') {
        (b, AddrSet::any_v4())
    } else if let Some(b) = k.strip_suffix('6') {
        (b, AddrSet::any_v6())
    } else {
        return None;
    };
    names.get(base).map(|s| s.intersect(&fam))
}

fn lower_rule(r: &WinRule, src: &SourceText, cx: &mut Ctx<'_>) -> Lowered {
    let label = r.label();
    let mut why = r.undecidable.clone();
    let proto = match &r.protocol.value {
        Protocol::Any => ProtoSet::full(),
        Protocol::Number(n) => ProtoSet::single(*n),
        Protocol::Bad(v) => {
            why.push(format!("{label}: protocol `{v}` cannot be read"));
            cx.bad(
                r.protocol.span,
                format!("`{v}` is not a protocol name or number"),
                "bad protocol",
            );
            ProtoSet::full()
        }
    };
    let mut scopes = Vec::new();
    let (lport, w) = port_set(&r.local_ports, "local", &label, cx, &mut scopes);
    why.extend(w);
    let (rport, w) = port_set(&r.remote_ports, "remote", &label, cx, &mut scopes);
    why.extend(w);
    for k in &r.trust_tuple {
        why.push(format!(
            "{label}: trust-tuple keyword `{k}`: the peers are found at run time"
        ));
        scopes.push(AppScope::Feature(format!("the trust-tuple keyword `{k}`")));
    }
    let (laddr, w) = addr_set(&r.local_addrs, "local", &label, cx);
    why.extend(w);
    let (raddr, w) = addr_set(&r.remote_addrs, "remote", &label, cx);
    why.extend(w);
    let (sport, mut dport, src_a, dst_a) = match r.direction {
        Direction::In => (rport, lport, raddr, laddr),
        Direction::Out => (lport, rport, laddr, raddr),
    };
    let is_icmp = matches!(
        r.protocol.value,
        Protocol::Number(ports::ICMP | ports::ICMPV6)
    );
    if is_icmp && !r.icmp.is_empty() {
        let mut set = PortSet::empty();
        for it in &r.icmp {
            match &it.value {
                IcmpSpec::Any => {
                    set = PortSet::full();
                    break;
                }
                IcmpSpec::TypeCode(t, c) => {
                    let base = (*t as u16) << 8;
                    set = set.union(&match c {
                        Some(c) => PortSet::single(base | *c as u16),
                        None => PortSet::range(base, base | 0xff),
                    });
                }
                IcmpSpec::Bad(v) => {
                    why.push(format!("{label}: ICMP type `{v}` cannot be read"));
                    cx.bad(
                        it.span,
                        format!("`{v}` is not an ICMP type or type:code"),
                        "bad ICMP type",
                    );
                    set = PortSet::full();
                    break;
                }
            }
        }
        dport = set;
    }
    // program, service and package scopes: undecidable until the audit knows the flow's
    // application (`model::app`), which sets aside the rules whose scope names another one
    if let Some(p) = &r.program {
        if p.value.trim().eq_ignore_ascii_case("system") {
            // the kernel's own traffic (SMB, HTTP.sys, ...): matched as written unless the
            // flow's application is known to be another program
            scopes.push(AppScope::Program("System".into()));
        } else if !program_unscoped(&p.value) {
            why.push(format!(
                "{label}: only traffic of program {} matches; which program serves the port is not known",
                p.value
            ));
            scopes.push(AppScope::Program(p.value.clone()));
        }
    }
    if let Some(s) = &r.service {
        if !service_unscoped(&s.value) {
            why.push(format!(
                "{label}: only traffic of service {} matches; which service serves the port is not known",
                s.value
            ));
            scopes.push(if s.value.trim() == "*" {
                AppScope::AnyService
            } else {
                AppScope::Service(s.value.clone())
            });
        }
    }
    if let Some(p) = &r.package {
        why.push(format!(
            "{label}: only traffic of the Store app package {} matches",
            p.value
        ));
        scopes.push(AppScope::Package(p.value.clone()));
    }
    if let (Some(o), None) = (&r.owner, &r.package) {
        why.push(format!(
            "{label}: only traffic of the processes of user {} matches",
            o.value
        ));
    }
    // an authenticated bypass, or an allow that requires IPsec, admits only connections that are
    // IPsec-authenticated: whether the peers' are is the fact `ipsec`
    let mut src_a = src_a;
    let secure = r.security.as_ref().filter(|s| s.value.requires_ipsec());
    if r.action == WinAction::Bypass || (r.action == WinAction::Allow && secure.is_some()) {
        match cx.names.fact_bool(IPSEC_FACT) {
            Some(true) => {}
            Some(false) => src_a = AddrSet::empty(),
            None => {
                why.push(format!("{label}: {IPSEC_REASON}"));
                cx.once(
                    "fact:ipsec".into(),
                    // on the rule's first line, where the flows' Z002 for it would point
                    r.span,
                    "rules that admit only IPsec-authenticated connections are undecidable while the fact `ipsec` is not given".into(),
                    "IPsec required",
                    "say whether the peers use IPsec: `ipsec = true|false` in the inventory's [facts] or --set ipsec=true|false",
                );
            }
        }
    }
    let (line, column) = src.line_col(r.span.start);
    Lowered {
        matches: PacketBox {
            src: src_a,
            dst: dst_a,
            proto,
            sport,
            dport,
            state: all_states(),
            iif: IntervalSet::full(),
            oif: IntervalSet::full(),
        },
        undecidable: why,
        scopes,
        action: match r.action {
            WinAction::Block => Action::Drop,
            WinAction::Allow | WinAction::Bypass => Action::Accept,
        },
        prov: Provenance {
            span: r.span,
            line,
            column,
            label: label.into(),
        },
    }
}

/// Lower the rules of one file into one [`Ruleset`] per profile (Domain, Private, Public), each
/// named `"<profile> profile"`, with one policy of [`Semantics::BlockWins`] whose chains
/// `Inbound` and `Outbound` hold the enabled rules of that profile, authenticated bypass rules
/// first, then block rules, then allow rules, and end in the profile default; see the module
/// documentation.
pub fn lower(
    rules: &[WinRule],
    profiles: &ProfileSettings,
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let mut cx = Ctx {
        names,
        issues,
        reported: BTreeSet::new(),
    };
    let lowered: Vec<Lowered> = rules.iter().map(|r| lower_rule(r, src, &mut cx)).collect();
    let mut out = Vec::new();
    for (bit, pname) in PROFILES {
        let setting = profiles.get(bit);
        let on = setting.enabled.value;
        let decl = |item_span: Span, stated: bool, what: &str, v: Verdict| -> Provenance {
            if stated {
                let (line, column) = src.line_col(item_span.start);
                Provenance {
                    span: item_span,
                    line,
                    column,
                    label: format!("{pname} profile {what} ({})", v.name()).into(),
                }
            } else {
                Provenance {
                    label: format!(
                        "{pname} profile {what} (not in the export; the Windows default is {})",
                        v.name()
                    )
                    .into(),
                    ..Provenance::default()
                }
            }
        };
        let mut policy = Policy {
            name: format!("{pname} profile"),
            family: None,
            semantics: Semantics::BlockWins,
            chains: Vec::new(),
            rules: Vec::new(),
            entries: Vec::new(),
            union_cache: Default::default(),
        };
        if on {
            policy.chains.push(Chain {
                name: "Inbound".into(),
                policy: Some(setting.default_inbound.value),
                decl: decl(
                    setting.default_inbound.span,
                    setting.stated[1],
                    "default inbound action",
                    setting.default_inbound.value,
                ),
                rules: Vec::new(),
            });
            policy.chains.push(Chain {
                name: "Outbound".into(),
                policy: Some(setting.default_outbound.value),
                decl: decl(
                    setting.default_outbound.span,
                    setting.stated[2],
                    "default outbound action",
                    setting.default_outbound.value,
                ),
                rules: Vec::new(),
            });
        } else {
            policy.name = format!("{pname} profile (firewall off)");
            let d = decl(
                setting.enabled.span,
                setting.stated[0],
                "firewall off",
                Verdict::Allow,
            );
            for n in ["Inbound", "Outbound"] {
                policy.chains.push(Chain {
                    name: n.into(),
                    policy: Some(Verdict::Allow),
                    decl: d.clone(),
                    rules: Vec::new(),
                });
            }
            cx.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span: setting.enabled.span,
                message: format!(
                    "the firewall is off in the {pname} profile: it lets everything through there"
                ),
                label: "EnableFirewall = 0".into(),
                help: Some(format!(
                    "if the host uses the {pname} profile, turn the firewall on (Set-NetFirewallProfile -Profile {pname} -Enabled True)"
                )),
            });
        }
        policy.chains.push(Chain {
            name: DISABLED_INBOUND.into(),
            policy: None,
            decl: Provenance {
                label: format!("{pname} profile disabled inbound rules").into(),
                ..Provenance::default()
            },
            rules: Vec::new(),
        });
        policy.chains.push(Chain {
            name: DISABLED_OUTBOUND.into(),
            policy: None,
            decl: Provenance {
                label: format!("{pname} profile disabled outbound rules").into(),
                ..Provenance::default()
            },
            rules: Vec::new(),
        });
        // authenticated bypass first (it overrides block rules), then blocks, then allows, each
        // in file order; disabled rules to their own chains
        for pass in [WinAction::Bypass, WinAction::Block, WinAction::Allow] {
            for (r, l) in rules.iter().zip(&lowered) {
                if !r.profiles.contains(bit) || r.action != pass {
                    continue;
                }
                let chain = match (r.enabled, r.direction) {
                    (true, _) if !on => continue,
                    (true, Direction::In) => 0,
                    (true, Direction::Out) => 1,
                    (false, Direction::In) => 2,
                    (false, Direction::Out) => 3,
                };
                if let Some(c) = policy.chains.get_mut(chain) {
                    c.rules.push(policy.rules.len());
                }
                policy.rules.push(Rule {
                    matches: l.matches.clone(),
                    undecidable: l.undecidable.clone(),
                    mark: None,
                    action: l.action,
                    prov: l.prov.clone(),
                    comment: r.group.clone(),
                    native: NativeRef::Windows {
                        id: r.id.clone().unwrap_or_else(|| r.name.clone()),
                        enabled: r.enabled,
                        outbound: r.direction == Direction::Out,
                        scopes: l.scopes.clone(),
                    },
                    builtin: false,
                });
            }
        }
        policy.entries = vec![
            Entry {
                name: format!("{pname} profile/Inbound"),
                hook: Hook::Input,
                chain: 0,
            },
            Entry {
                name: format!("{pname} profile/Outbound"),
                hook: Hook::Output,
                chain: 1,
            },
        ];
        let mut rs = Ruleset::of_policy(
            Platform::WindowsFirewall,
            Some(format!("{pname} profile")),
            policy,
            false,
        );
        rs.profile = Some(pname.to_string());
        out.push(rs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::windows::tests::{inbound, verdicts};
    use crate::formats::windows::Profiles;
    use crate::model::Decider;

    fn rule(name: &str, dir: Direction, action: WinAction, port: u16) -> WinRule {
        let mut r = WinRule::new(name, Span::new(0, 1));
        r.direction = dir;
        r.action = action;
        r.protocol = Item::new(Protocol::Number(6), Span::default());
        r.local_ports = vec![Item::new(PortSpec::Range(port, port), Span::default())];
        r
    }

    #[test]
    fn block_wins_over_an_earlier_allow_and_disabled_rules_are_ignored() {
        let src = SourceText::new("t", "x");
        let mut dis = rule("Disabled allow 9082", Direction::In, WinAction::Allow, 9082);
        dis.enabled = false;
        let rules = vec![
            rule("Allow 9081", Direction::In, WinAction::Allow, 9081),
            rule("Block 9081", Direction::In, WinAction::Block, 9081),
            dis,
        ];
        let mut issues = Vec::new();
        let rs = lower(
            &rules,
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(rs.len(), 3);
        assert!(issues.is_empty(), "{issues:?}");
        for r in &rs {
            let v = verdicts(r, Hook::Input, &inbound("10.1.2.3", 9081));
            assert_eq!(
                v,
                vec![(Verdict::Deny, vec!["Block 9081 in (block)".to_string()])]
            );
            let v = verdicts(r, Hook::Input, &inbound("10.1.2.3", 9082));
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].0, Verdict::Deny);
            assert!(v[0].1[0].contains("default inbound action"), "{v:?}");
            // the disabled rule is in its own chain, which no pipeline enters
            let p = &r.policies[0];
            let c = p.chain_by_name(DISABLED_INBOUND).unwrap_or(usize::MAX);
            let pieces = p.evaluate(c, &inbound("10.1.2.3", 9082));
            assert!(pieces
                .iter()
                .any(|pc| pc.verdict == Verdict::Allow && pc.deciders.contains(&Decider::Rule(2))));
        }
    }

    #[test]
    fn profiles_split_and_firewall_off() {
        let src = SourceText::new("t", "x");
        let mut r = rule("Domain only 9669", Direction::In, WinAction::Allow, 9669);
        r.profiles = Profiles(Profiles::DOMAIN);
        let mut settings = ProfileSettings::default();
        settings.public.enabled = Item::new(false, Span::default());
        settings.public.stated[0] = true;
        let mut issues = Vec::new();
        let rs = lower(&[r], &settings, &src, &Resolver::default(), &mut issues);
        let names: Vec<_> = rs
            .iter()
            .map(|r| r.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["Domain profile", "Private profile", "Public profile"]
        );
        let v = |i: usize| verdicts(&rs[i], Hook::Input, &inbound("10.1.2.3", 9669))[0].0;
        assert_eq!(
            (v(0), v(1), v(2)),
            (Verdict::Allow, Verdict::Deny, Verdict::Allow)
        );
        assert_eq!(rs[2].policies[0].name, "Public profile (firewall off)");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, IssueKind::Undecidable);
    }

    #[test]
    fn unresolved_keyword_is_undecidable_and_reported_once() {
        let src = SourceText::new("t", "x");
        let mut a = rule("From subnet 9081", Direction::In, WinAction::Allow, 9081);
        a.remote_addrs = vec![Item::new(
            AddrSpec::Keyword("LocalSubnet".into()),
            Span::new(0, 1),
        )];
        let mut b = rule("From subnet 9080", Direction::In, WinAction::Allow, 9080);
        b.remote_addrs = a.remote_addrs.clone();
        let mut issues = Vec::new();
        let rs = lower(
            &[a.clone(), b.clone()],
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        let v = verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081));
        assert!(v.iter().any(|(v, _)| *v == Verdict::Unknown), "{v:?}");
        // resolved, it is exact
        let mut names = Resolver::default();
        names.insert(
            "LocalSubnet",
            AddrSet::parse("10.1.2.0/24").unwrap_or_default(),
        );
        let mut issues = Vec::new();
        let rs = lower(
            &[a, b],
            &ProfileSettings::default(),
            &src,
            &names,
            &mut issues,
        );
        assert!(issues.is_empty());
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081))[0].0,
            Verdict::Allow
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.9.2.3", 9081))[0].0,
            Verdict::Deny
        );
    }

    #[test]
    fn scopes_are_carried_in_the_native_reference() {
        use crate::model::app::AppScope;
        let src = SourceText::new("t", "x");
        let mut a = rule("Store app 9081", Direction::In, WinAction::Allow, 9081);
        a.package = Some(Item::new("S-1-15-2-1".into(), Span::default()));
        a.owner = Some(Item::new("S-1-5-21-1".into(), Span::default()));
        let mut b = rule("Owner only 9080", Direction::In, WinAction::Allow, 9080);
        b.owner = Some(Item::new("S-1-5-21-1".into(), Span::default()));
        let mut c = rule("Kernel 445", Direction::In, WinAction::Allow, 445);
        c.program = Some(Item::new("System".into(), Span::default()));
        c.service = Some(Item::new("*".into(), Span::default()));
        let mut issues = Vec::new();
        let rs = lower(
            &[a, b, c],
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        let scopes: Vec<Vec<AppScope>> = rs[0].policies[0]
            .rules
            .iter()
            .map(|r| match &r.native {
                NativeRef::Windows { scopes, .. } => scopes.clone(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(
            scopes,
            [
                vec![AppScope::Package("S-1-15-2-1".into())],
                vec![],
                vec![AppScope::Program("System".into()), AppScope::AnyService],
            ]
        );
        // an owner alone is no application scope, but the rule is undecidable
        assert!(rs[0].policies[0].rules[1].undecidable[0].contains("user S-1-5-21-1"));
    }

    #[test]
    fn program_scoped_rules_are_undecidable_but_system_is_not() {
        let src = SourceText::new("t", "x");
        let mut a = rule("App 9081", Direction::In, WinAction::Allow, 9081);
        a.program = Some(Item::new("C:\\zvm\\zvm.exe".into(), Span::default()));
        let mut b = rule("Kernel 445", Direction::In, WinAction::Allow, 445);
        b.program = Some(Item::new("System".into(), Span::default()));
        let mut issues = Vec::new();
        let rs = lower(
            &[a, b],
            &ProfileSettings::default(),
            &src,
            &Resolver::default(),
            &mut issues,
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 9081))[0].0,
            Verdict::Unknown
        );
        assert_eq!(
            verdicts(&rs[0], Hook::Input, &inbound("10.1.2.3", 445))[0].0,
            Verdict::Allow
        );
    }
}
