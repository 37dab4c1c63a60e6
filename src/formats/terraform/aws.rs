//! AWS security groups and their rules in a plan, read into the AST of [`crate::formats::aws`].

use std::collections::HashMap;

use super::{
    got, is_unknown, marks_beyond, unk_at, unk_key, Got, Res, Tf, SG, SG_RULE, VPC_EGRESS,
    VPC_INGRESS,
};
use crate::formats::aws::{Field, GroupRef, Peer, Permission, SecurityGroup, Target};
use crate::formats::json::fields::describe;
use crate::formats::json::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Security groups read so far, with what standalone rules need to find them.
#[derive(Default)]
pub(super) struct Aws {
    pub(super) groups: Vec<SecurityGroup>,
    /// The group's `id` (`sg-...`) when known (state, or a group that exists already).
    real_ids: Vec<Option<String>>,
    /// Terraform address → index.
    by_address: HashMap<String, usize>,
}

impl Aws {
    pub(super) fn add(&mut self, r: &Res<'_, '_>, g: SecurityGroup) {
        let real = r
            .values
            .and_then(|v| v.get("id"))
            .and_then(|i| i.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        self.by_address.insert(r.address.clone(), self.groups.len());
        self.groups.push(g);
        self.real_ids.push(real);
    }

    /// Point every group reference to a group of this plan (by its id or its address) at that
    /// group's address, so the inventory's `policies` names resolve it.
    pub(super) fn link_references(&mut self) {
        let refs: Vec<GroupRef> = (0..self.groups.len()).map(|i| self.group_ref(i)).collect();
        let by_real: HashMap<String, usize> = self
            .real_ids
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.clone().map(|r| (r, i)))
            .collect();
        for g in &mut self.groups {
            for p in g.ingress.iter_mut().chain(g.egress.iter_mut()) {
                for peer in &mut p.peers {
                    if let Target::Group(r) = &peer.target {
                        let found =
                            r.id.as_deref()
                                .and_then(|k| by_real.get(k).or_else(|| self.by_address.get(k)));
                        if let Some(found) = found.and_then(|&i| refs.get(i)) {
                            peer.target = Target::Group(found.clone());
                        }
                    }
                }
            }
        }
    }

    /// A group of the plan by its id, its address or its name.
    pub(super) fn find(&self, k: &str) -> Option<usize> {
        self.by_real_id(k)
            .or_else(|| self.by_address.get(k).copied())
            .or_else(|| {
                self.groups
                    .iter()
                    .position(|g| g.name.as_deref() == Some(k))
            })
    }

    /// The name of the ruleset group `i` becomes.
    pub(super) fn key(&self, i: usize) -> String {
        self.groups.get(i).map(|g| g.key()).unwrap_or_default()
    }

    /// A group the plan names but does not define; its index.
    pub(super) fn push_external(&mut self, g: SecurityGroup) -> usize {
        self.by_address.insert(g.key(), self.groups.len());
        self.groups.push(g);
        self.real_ids.push(None);
        self.groups.len() - 1
    }

    fn by_real_id(&self, id: &str) -> Option<usize> {
        self.real_ids.iter().position(|r| r.as_deref() == Some(id))
    }

    /// The reference to a group of the plan: its address, and its id or name for the resolver.
    fn group_ref(&self, i: usize) -> GroupRef {
        GroupRef {
            id: self.groups.get(i).and_then(|g| g.id.clone()),
            name: self
                .real_ids
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| self.groups.get(i).and_then(|g| g.name.clone())),
            ..GroupRef::default()
        }
    }
}

/// How a standalone AWS rule reads its fields.
struct RuleKeys {
    protocol: &'static str,
    /// (key, kind) of every peer field.
    peers: &'static [(&'static str, PeerKind)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerKind {
    V4,
    V6,
    PrefixList,
    /// A security group id (or name), or a reference to a group of the plan.
    Group,
    /// `self = true`: the rule's own group.
    SelfRef,
}

const INLINE_KEYS: RuleKeys = RuleKeys {
    protocol: "protocol",
    peers: &[
        ("cidr_blocks", PeerKind::V4),
        ("ipv6_cidr_blocks", PeerKind::V6),
        ("prefix_list_ids", PeerKind::PrefixList),
        ("security_groups", PeerKind::Group),
        ("self", PeerKind::SelfRef),
    ],
};

const SG_RULE_KEYS: RuleKeys = RuleKeys {
    protocol: "protocol",
    peers: &[
        ("cidr_blocks", PeerKind::V4),
        ("ipv6_cidr_blocks", PeerKind::V6),
        ("prefix_list_ids", PeerKind::PrefixList),
        ("source_security_group_id", PeerKind::Group),
        ("self", PeerKind::SelfRef),
    ],
};

const VPC_RULE_KEYS: RuleKeys = RuleKeys {
    protocol: "ip_protocol",
    peers: &[
        ("cidr_ipv4", PeerKind::V4),
        ("cidr_ipv6", PeerKind::V6),
        ("prefix_list_id", PeerKind::PrefixList),
        ("referenced_security_group_id", PeerKind::Group),
    ],
};

impl<'j, 'a> Tf<'j, 'a> {
    pub(super) fn aws_group(&mut self, r: &Res<'j, 'a>) -> SecurityGroup {
        let text = |k: &str| {
            r.values
                .and_then(|v| v.get(k))
                .and_then(|x| x.as_str())
                .map(str::to_string)
        };
        let mut g = SecurityGroup {
            id: Some(r.address.clone()),
            name: text("name"),
            description: text("description"),
            vpc_id: text("vpc_id"),
            owner_id: text("owner_id"),
            ingress: Vec::new(),
            egress: Vec::new(),
            span: r.obj.span,
        };
        let me = GroupRef {
            id: g.id.clone(),
            name: text("id").or_else(|| g.name.clone()),
            ..GroupRef::default()
        };
        g.ingress = self.aws_blocks(r, "ingress", &me);
        g.egress = self.aws_blocks(r, "egress", &me);
        g
    }

    /// The inline `ingress` or `egress` list of a group.
    fn aws_blocks(&mut self, r: &Res<'j, 'a>, key: &str, me: &GroupRef) -> Vec<Permission> {
        let unk = unk_key(r.unknown, key);
        let items = match got(r.values, r.unknown, key) {
            Got::Unknown(span) => {
                let why = self.after_apply(span, format!("`{key}` of {}", r.address));
                return vec![Permission::unknown(why, span)];
            }
            Got::Missing => {
                let span = r.values.map_or(r.obj.span, |v| v.span);
                let why = format!("`{key}` of {} is not in the file", r.address);
                self.error(
                    span,
                    format!("{why} (neither listed nor marked unknown): its rules are unknown"),
                    &format!("`{key}` missing"),
                );
                return vec![Permission::unknown(why, span)];
            }
            Got::Value(v) => match v.as_array() {
                Some(items) => items,
                None => {
                    let why = format!("`{key}` of {} could not be read", r.address);
                    self.error(
                        v.span,
                        format!(
                            "`{key}` should be a list of rule blocks, not {}",
                            v.type_name()
                        ),
                        "not a list",
                    );
                    return vec![Permission::unknown(why, v.span)];
                }
            },
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}.{key}[{i}]", r.address);
            let u = unk_at(unk, i);
            if let Some(span) = is_unknown(u) {
                let why = self.after_apply(span, format!("`{path}`"));
                out.push(Permission::unknown(why, span));
            } else if item.members().is_some() {
                out.push(self.aws_permission(r, item, u, &path, &INLINE_KEYS, None, Some(me)));
            } else {
                self.error(
                    item.span,
                    format!(
                        "a rule block of `{key}` should be an object, not {}",
                        item.type_name()
                    ),
                    "not an object",
                );
                out.push(Permission::unknown(
                    format!("`{path}` could not be read"),
                    item.span,
                ));
            }
        }
        for (i, span) in marks_beyond(unk, items.len()) {
            let why = self.after_apply(span, format!("`{}.{key}[{i}]`", r.address));
            out.push(Permission::unknown(why, span));
        }
        out
    }

    fn aws_string(
        &mut self,
        obj: &Json<'a>,
        unk: Option<&Json<'a>>,
        key: &str,
        path: &str,
    ) -> Option<Field<String>> {
        match got(Some(obj), unk, key) {
            Got::Missing => None,
            Got::Unknown(span) => {
                let why = self.after_apply(span, format!("`{path}.{key}`"));
                Some(Field::unknown(why, span))
            }
            Got::Value(v) => Some(match &v.kind {
                Kind::String(s) => Field::known(s.to_string(), v.span),
                Kind::Number(n) => Field::known(n.to_string(), v.span),
                _ => {
                    self.error(
                        v.span,
                        format!("`{key}` should be a string, not {}", v.type_name()),
                        "not a string",
                    );
                    Field::unknown(format!("`{path}.{key}` could not be read"), v.span)
                }
            }),
        }
    }

    fn aws_int(
        &mut self,
        obj: &Json<'a>,
        unk: Option<&Json<'a>>,
        key: &str,
        path: &str,
    ) -> Option<Field<i64>> {
        match got(Some(obj), unk, key) {
            Got::Missing => None,
            Got::Unknown(span) => {
                let why = self.after_apply(span, format!("`{path}.{key}`"));
                Some(Field::unknown(why, span))
            }
            Got::Value(v) => Some(match v.as_i64() {
                Some(n) => Field::known(n, v.span),
                None => {
                    self.error(
                        v.span,
                        format!("`{key}` should be a whole number, not {}", describe(v)),
                        "not a number",
                    );
                    Field::unknown(
                        format!("`{path}.{key}` {} could not be read", describe(v)),
                        v.span,
                    )
                }
            }),
        }
    }

    /// One rule: an inline block (`obj` is the block) or a standalone rule's values. `id` names a
    /// standalone rule; `me` is the group `self` refers to.
    #[allow(clippy::too_many_arguments)]
    fn aws_permission(
        &mut self,
        r: &Res<'j, 'a>,
        obj: &'j Json<'a>,
        unk: Option<&'j Json<'a>>,
        path: &str,
        keys: &RuleKeys,
        id: Option<String>,
        me: Option<&GroupRef>,
    ) -> Permission {
        let span = if id.is_some() { r.obj.span } else { obj.span };
        let protocol = match self.aws_string(obj, unk, keys.protocol, path) {
            Some(p) => p,
            None => {
                self.error(
                    obj.span,
                    format!("`{path}` has no `{}`", keys.protocol),
                    "protocol missing",
                );
                Field::unknown(format!("`{path}` has no protocol"), obj.span)
            }
        };
        let description = obj
            .get("description")
            .and_then(|d| d.as_str())
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string);
        let mut p = Permission {
            id,
            protocol,
            from_port: self.aws_int(obj, unk, "from_port", path),
            to_port: self.aws_int(obj, unk, "to_port", path),
            peers: Vec::new(),
            description: description.clone(),
            span,
            unknown: Vec::new(),
        };
        for &(key, kind) in keys.peers {
            self.aws_peers(r, obj, unk, key, kind, span, path, me, &mut p.peers);
        }
        for peer in &mut p.peers {
            if peer.description.is_none() {
                peer.description = description.clone();
            }
        }
        if p.peers.is_empty() && keys.protocol == "ip_protocol" {
            let names: Vec<&str> = keys.peers.iter().map(|(k, _)| *k).collect();
            self.error(
                obj.span,
                format!("`{path}` names none of {}", names.join(", ")),
                "no source or destination",
            );
            p.peers.push(Peer::unknown(
                "an unknown peer",
                "the rule names no source or destination",
                span,
            ));
        }
        p
    }

    /// The peers one field gives (a list of CIDRs, one group id, `self`).
    #[allow(clippy::too_many_arguments)]
    fn aws_peers(
        &mut self,
        r: &Res<'j, 'a>,
        obj: &'j Json<'a>,
        unk: Option<&'j Json<'a>>,
        key: &str,
        kind: PeerKind,
        span: Span,
        path: &str,
        me: Option<&GroupRef>,
        out: &mut Vec<Peer>,
    ) {
        let standalone = span == r.obj.span;
        let unknown_peer = |why: String, at: Span| Peer {
            target: Target::Unknown {
                shown: format!("{key} (known after apply)"),
                reason: why,
            },
            description: None,
            span,
            value_span: at,
        };
        let v = match got(Some(obj), unk, key) {
            Got::Missing => {
                for (i, at) in marks_beyond(unk_key(unk, key), 0) {
                    let why = self.after_apply(at, format!("`{path}.{key}[{i}]`"));
                    out.push(unknown_peer(why, at));
                }
                return;
            }
            Got::Unknown(at) => {
                // a group id known only after apply: the group of this plan it references
                if kind == PeerKind::Group && standalone {
                    if let Some(addr) = self.referenced_address(r, key, SG) {
                        out.push(Peer {
                            target: Target::Group(GroupRef {
                                id: Some(addr),
                                ..GroupRef::default()
                            }),
                            description: None,
                            span,
                            value_span: at,
                        });
                        return;
                    }
                }
                let why = self.after_apply(at, format!("`{path}.{key}`"));
                out.push(unknown_peer(why, at));
                return;
            }
            Got::Value(v) => v,
        };
        if kind == PeerKind::SelfRef {
            match (v.as_bool(), me) {
                (Some(false), _) => {}
                (Some(true), Some(me)) => out.push(Peer {
                    target: Target::Group(me.clone()),
                    description: None,
                    span,
                    value_span: v.span,
                }),
                (Some(true), None) => out.push(unknown_peer(
                    format!("the group `self` means in `{path}` is unknown"),
                    v.span,
                )),
                (None, _) => {
                    self.error(
                        v.span,
                        format!("`self` should be true or false, not {}", describe(v)),
                        "not a boolean",
                    );
                    out.push(unknown_peer(
                        format!("`{path}.self` could not be read"),
                        v.span,
                    ));
                }
            }
            return;
        }
        let target = |s: &str| match kind {
            PeerKind::V4 => Target::Cidr4(s.to_string()),
            PeerKind::V6 => Target::Cidr6(s.to_string()),
            PeerKind::PrefixList => Target::PrefixList(s.to_string()),
            _ if s.starts_with("sg-") => Target::Group(GroupRef {
                id: Some(s.to_string()),
                ..GroupRef::default()
            }),
            _ => Target::Group(GroupRef {
                name: Some(s.to_string()),
                ..GroupRef::default()
            }),
        };
        let items: Vec<(usize, &Json<'a>)> = match &v.kind {
            Kind::Array(items) => items.iter().enumerate().collect(),
            Kind::String(_) => vec![(0, v)],
            _ => {
                self.error(
                    v.span,
                    format!(
                        "`{key}` should be a string or a list of strings, not {}",
                        v.type_name()
                    ),
                    "wrong type",
                );
                out.push(unknown_peer(
                    format!("`{path}.{key}` could not be read"),
                    v.span,
                ));
                return;
            }
        };
        let list_unk = unk_key(unk, key);
        if let Some(a) = v.as_array() {
            for (i, at) in marks_beyond(list_unk, a.len()) {
                let why = self.after_apply(at, format!("`{path}.{key}[{i}]`"));
                out.push(unknown_peer(why, at));
            }
        }
        for (i, item) in items {
            if v.as_array().is_some() {
                if let Some(at) = is_unknown(unk_at(list_unk, i)) {
                    let why = self.after_apply(at, format!("`{path}.{key}[{i}]`"));
                    out.push(unknown_peer(why, at));
                    continue;
                }
            }
            match item.as_str() {
                Some("") if v.as_array().is_none() => {}
                Some(s) => {
                    out.push(Peer {
                        target: target(s),
                        description: None,
                        span,
                        value_span: item.span,
                    });
                }
                None => {
                    self.error(
                        item.span,
                        format!(
                            "an entry of `{key}` should be a string, not {}",
                            describe(item)
                        ),
                        "not a string",
                    );
                    out.push(unknown_peer(
                        format!("`{path}.{key}[{i}]` could not be read"),
                        item.span,
                    ));
                }
            }
        }
    }

    /// A standalone rule resource, attached to its group.
    pub(super) fn aws_rule(&mut self, r: &Res<'j, 'a>, aws: &mut Aws) {
        let Some(values) = r.values else {
            return;
        };
        let keys = if r.rtype == SG_RULE {
            &SG_RULE_KEYS
        } else {
            &VPC_RULE_KEYS
        };
        // which direction
        let (ingress, egress, dir_doubt) = match r.rtype {
            VPC_INGRESS => (true, false, None),
            VPC_EGRESS => (false, true, None),
            _ => match got(Some(values), r.unknown, "type") {
                Got::Value(v) if v.as_str() == Some("ingress") => (true, false, None),
                Got::Value(v) if v.as_str() == Some("egress") => (false, true, None),
                Got::Value(v) => {
                    self.error(
                        v.span,
                        format!(
                            "`type` should be \"ingress\" or \"egress\", not {}",
                            describe(v)
                        ),
                        "not a rule type",
                    );
                    (
                        true,
                        true,
                        Some(format!("the `type` of {} could not be read", r.address)),
                    )
                }
                Got::Unknown(at) => {
                    let why = self.after_apply(at, format!("the `type` of {}", r.address));
                    (true, true, Some(why))
                }
                Got::Missing => {
                    self.error(
                        values.span,
                        format!("{} has no `type` (ingress or egress)", r.address),
                        "`type` missing",
                    );
                    (true, true, Some(format!("{} has no `type`", r.address)))
                }
            },
        };
        let gi = self.aws_attach(r, values, aws);
        let me = aws.group_ref(gi);
        let mut p = self.aws_permission(
            r,
            values,
            r.unknown,
            &r.address,
            keys,
            Some(r.address.clone()),
            Some(&me),
        );
        if let Some(d) = dir_doubt {
            p.unknown.push(d);
        }
        if let Some(g) = aws.groups.get_mut(gi) {
            if ingress {
                g.ingress.push(p.clone());
            }
            if egress {
                g.egress.push(p);
            }
        }
    }

    /// The index of the group a standalone rule belongs to (created when not in the plan).
    fn aws_attach(&mut self, r: &Res<'j, 'a>, values: &'j Json<'a>, aws: &mut Aws) -> usize {
        const KEY: &str = "security_group_id";
        let (key, span, why) = match got(Some(values), r.unknown, KEY) {
            Got::Value(v) => match v.as_str() {
                Some(id) => {
                    if let Some(i) = aws.by_real_id(id) {
                        return i;
                    }
                    (
                        id.to_string(),
                        v.span,
                        format!("security group `{id}` (of {}) is not in this plan: its other rules are unknown", r.address),
                    )
                }
                None => {
                    self.error(
                        v.span,
                        format!("`{KEY}` should be a string, not {}", describe(v)),
                        "not a string",
                    );
                    (
                        r.address.clone(),
                        v.span,
                        format!("the security group of {} could not be read: its other rules are unknown", r.address),
                    )
                }
            },
            Got::Unknown(at) => {
                if let Some(&i) = self
                    .referenced_address(r, KEY, SG)
                    .and_then(|a| aws.by_address.get(&a))
                {
                    return i;
                }
                (
                    r.address.clone(),
                    at,
                    format!("the security group of {} is known only after apply and its configuration names no group of this plan: the rule is audited as a group of its own, whose other rules are unknown", r.address),
                )
            }
            Got::Missing => {
                self.error(
                    values.span,
                    format!("{} has no `{KEY}`", r.address),
                    "`security_group_id` missing",
                );
                (
                    r.address.clone(),
                    values.span,
                    format!(
                        "{} names no security group: its other rules are unknown",
                        r.address
                    ),
                )
            }
        };
        if let Some(&i) = aws.by_address.get(&key) {
            return i;
        }
        self.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span,
            message: why.clone(),
            label: "group not in the plan".into(),
            help: Some(
                "audit the group's own export (`aws ec2 describe-security-groups`) or the plan that creates it, together with this one"
                    .into(),
            ),
        });
        let g = SecurityGroup {
            id: Some(key.clone()),
            name: None,
            description: None,
            vpc_id: None,
            owner_id: None,
            ingress: vec![Permission::unknown(why.clone(), span)],
            egress: vec![Permission::unknown(why, span)],
            span,
        };
        aws.by_address.insert(key, aws.groups.len());
        aws.groups.push(g);
        aws.real_ids.push(None);
        aws.groups.len() - 1
    }
}
