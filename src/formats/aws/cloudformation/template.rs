//! Reading a template's resources into the AST: security groups with inline and standalone
//! rules, network ACLs and their entries.

use std::collections::HashMap;

use super::values::{Cfn, PeerKind, Value};
use super::{ACL, ACL_ENTRY, EGRESS, GROUP, INGRESS};
use crate::formats::aws::{
    Document, Field, NaclEntry, NetworkAcl, Peer, Permission, SecurityGroup, Target,
};
use crate::formats::json::fields::{describe, member};
use crate::formats::json::Json;
use crate::formats::ParseIssue;
use crate::model::Span;

/// Read a template's security groups and network ACLs, reporting what cannot be read.
pub fn read_template(root: &Json<'_>, issues: &mut Vec<ParseIssue>) -> Document {
    let mut doc = Document::default();
    let mut cx = Cfn {
        issues,
        params: HashMap::new(),
        types: HashMap::new(),
    };
    if root.members().is_none() {
        cx.error(
            root.span,
            format!(
                "a CloudFormation template should be a mapping, not {}",
                root.type_name()
            ),
            "not a template",
        );
        return doc;
    }
    if let Some(ps) = root.get("Parameters").and_then(|p| p.members()) {
        for p in ps {
            let default =
                p.value
                    .get("Default")
                    .filter(|d| !d.is_null())
                    .map(|d| match d.as_str() {
                        Some(s) => s.to_string(),
                        None => describe(d),
                    });
            cx.params.insert(p.key.to_string(), default);
        }
    }
    let Some(res) = root.get("Resources") else {
        cx.error(
            root.span,
            "this template has no `Resources`".into(),
            "`Resources` missing",
        );
        return doc;
    };
    let Some(resources) = res.members() else {
        cx.error(
            res.span,
            format!("`Resources` should be a mapping, not {}", describe(res)),
            "not a mapping",
        );
        return doc;
    };
    for r in resources {
        if let Some(t) = r.value.get("Type").and_then(|t| t.as_str()) {
            cx.types.insert(r.key.to_string(), t.to_string());
        }
    }
    // groups and ACLs first: rules and entries attach to them
    for r in resources {
        match r.value.get("Type").and_then(|t| t.as_str()) {
            Some(GROUP) => {
                let g = cx.group(&r.key, &r.value);
                doc.groups.push(g);
            }
            Some(ACL) => doc.acls.push(NetworkAcl {
                id: Some(r.key.to_string()),
                vpc_id: None,
                is_default: Some(false),
                subnets: Vec::new(),
                entries: Vec::new(),
                span: r.value.span,
            }),
            _ => {}
        }
    }
    for r in resources {
        match r.value.get("Type").and_then(|t| t.as_str()) {
            Some(INGRESS) => cx.standalone(&r.key, &r.value, true, &mut doc.groups),
            Some(EGRESS) => cx.standalone(&r.key, &r.value, false, &mut doc.groups),
            Some(ACL_ENTRY) => cx.acl_entry(&r.key, &r.value, &mut doc.acls),
            _ => {}
        }
    }
    doc.attachments = cx.attachments(resources, &mut doc.groups);
    doc
}

impl Cfn<'_> {
    /// One rule: an inline `SecurityGroupIngress` entry or a standalone resource's properties.
    fn permission(
        &mut self,
        obj: &Json<'_>,
        ingress: bool,
        span: Span,
        id: Option<String>,
    ) -> Permission {
        const WHAT: &str = "security group rule";
        let protocol = match self.protocol(obj, "IpProtocol") {
            Some(f) => f,
            None => self.missing(obj, "IpProtocol", WHAT),
        };
        let description = self.text(obj, "Description");
        let mut p = Permission {
            id,
            protocol,
            from_port: self.int(obj, "FromPort"),
            to_port: self.int(obj, "ToPort"),
            peers: Vec::new(),
            description: description.clone(),
            span,
            unknown: Vec::new(),
        };
        let keys: &[(&str, PeerKind)] = if ingress {
            &[
                ("CidrIp", PeerKind::V4),
                ("CidrIpv6", PeerKind::V6),
                ("SourcePrefixListId", PeerKind::PrefixList),
                ("SourceSecurityGroupId", PeerKind::GroupId),
                ("SourceSecurityGroupName", PeerKind::GroupName),
            ]
        } else {
            &[
                ("CidrIp", PeerKind::V4),
                ("CidrIpv6", PeerKind::V6),
                ("DestinationPrefixListId", PeerKind::PrefixList),
                ("DestinationSecurityGroupId", PeerKind::GroupId),
            ]
        };
        let owner = self.text(obj, "SourceSecurityGroupOwnerId");
        for (key, kind) in keys {
            if let Some(mut peer) = self.peer(obj, key, *kind, span) {
                if let Target::Group(g) = &mut peer.target {
                    g.user_id = owner.clone();
                }
                peer.description = description.clone();
                p.peers.push(peer);
            }
        }
        if p.peers.is_empty() {
            let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
            self.error(
                obj.span,
                format!("this rule names none of {}", names.join(", ")),
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

    fn properties<'j, 'a>(&mut self, name: &str, res: &'j Json<'a>) -> Option<&'j Json<'a>> {
        match member(res, "Properties") {
            Some(p) if p.members().is_some() => Some(p),
            Some(p) => {
                self.error(
                    p.span,
                    format!(
                        "the `Properties` of {name} should be a mapping, not {}",
                        describe(p)
                    ),
                    "not a mapping",
                );
                None
            }
            None => {
                self.error(
                    res.span,
                    format!("resource {name} has no `Properties`"),
                    "`Properties` missing",
                );
                None
            }
        }
    }

    /// A resource's `Condition`: it exists only when the condition holds.
    fn condition(res: &Json<'_>, name: &str) -> Option<String> {
        res.get("Condition")
            .and_then(|c| c.as_str())
            .map(|c| format!("resource {name} exists only when condition `{c}` holds"))
    }

    fn group(&mut self, name: &str, res: &Json<'_>) -> SecurityGroup {
        let mut g = SecurityGroup {
            id: Some(name.to_string()),
            name: None,
            description: None,
            vpc_id: None,
            owner_id: None,
            ingress: Vec::new(),
            egress: Vec::new(),
            span: res.span,
        };
        let Some(props) = self.properties(name, res) else {
            return g;
        };
        g.name = self.text(props, "GroupName");
        g.description = self.text(props, "GroupDescription");
        g.vpc_id = self.text(props, "VpcId");
        g.ingress = self.inline(props, "SecurityGroupIngress", true);
        let explicit_egress = member(props, "SecurityGroupEgress")
            .is_some_and(|e| e.as_array().is_none_or(|a| !a.is_empty()));
        g.egress = self.inline(props, "SecurityGroupEgress", false);
        if !explicit_egress {
            // EC2 gives every new VPC group an allow-all IPv4 egress rule; CloudFormation removes
            // it only when the template lists egress rules of its own
            g.egress.push(Permission {
                id: Some("default".into()),
                protocol: Field::known("-1".into(), res.span),
                from_port: None,
                to_port: None,
                peers: vec![Peer {
                    target: Target::Cidr4("0.0.0.0/0".into()),
                    description: Some(
                        "EC2's default egress rule (the template lists no SecurityGroupEgress)"
                            .into(),
                    ),
                    span: res.span,
                    value_span: res.span,
                }],
                description: None,
                span: res.span,
                unknown: Vec::new(),
            });
        }
        if let Some(c) = Self::condition(res, name) {
            for p in g.ingress.iter_mut().chain(g.egress.iter_mut()) {
                p.unknown.push(c.clone());
            }
        }
        g
    }

    /// Inline rules of a group (`SecurityGroupIngress` / `SecurityGroupEgress`).
    fn inline(&mut self, props: &Json<'_>, key: &str, ingress: bool) -> Vec<Permission> {
        let Some(v) = member(props, key) else {
            return Vec::new();
        };
        let items = match self.classify(v) {
            Value::Literal(l) => match l.as_array() {
                Some(items) => items,
                None => {
                    self.error(
                        l.span,
                        format!("`{key}` should be a list of rules, not {}", describe(l)),
                        "not a list",
                    );
                    return vec![Permission::unknown(
                        format!("{key} could not be read"),
                        l.span,
                    )];
                }
            },
            other => {
                let why = self.not_in_template(key, &other, v.span);
                return vec![Permission::unknown(why, v.span)];
            }
        };
        let mut out = Vec::new();
        for item in items {
            match self.classify(item) {
                Value::Literal(l) if l.members().is_some() => {
                    out.push(self.permission(l, ingress, l.span, None))
                }
                Value::Literal(l) => {
                    self.error(
                        l.span,
                        format!("a rule of `{key}` should be a mapping, not {}", describe(l)),
                        "not a mapping",
                    );
                    out.push(Permission::unknown(
                        format!("a rule of {key} could not be read"),
                        l.span,
                    ));
                }
                other => {
                    let why = self.not_in_template(key, &other, item.span);
                    out.push(Permission::unknown(why, item.span));
                }
            }
        }
        out
    }

    /// The logical id, literal id or shown reference a standalone resource attaches to.
    fn attachment(&mut self, props: &Json<'_>, keys: &[&str], kind: &str) -> Option<String> {
        for key in keys {
            let Some(v) = member(props, key) else {
                continue;
            };
            return match self.classify(v) {
                Value::Resource { name, .. } => Some(name),
                Value::Param { name, .. } => Some(name),
                Value::Other { shown } => Some(shown),
                Value::Literal(l) => match l.as_str() {
                    Some(s) => Some(s.to_string()),
                    None => {
                        self.error(
                            l.span,
                            format!("`{key}` should name a {kind}, not {}", describe(l)),
                            "not a name",
                        );
                        None
                    }
                },
            };
        }
        self.error(
            props.span,
            format!(
                "this rule names no {kind} (`{}`): it is not audited",
                keys.join("` or `")
            ),
            &format!("`{}` missing", keys.first().copied().unwrap_or("?")),
        );
        None
    }

    fn standalone(
        &mut self,
        name: &str,
        res: &Json<'_>,
        ingress: bool,
        groups: &mut Vec<SecurityGroup>,
    ) {
        let Some(props) = self.properties(name, res) else {
            return;
        };
        let Some(v) = ["GroupId", "GroupName"]
            .iter()
            .find_map(|k| member(props, k))
        else {
            self.error(
                props.span,
                "this rule names no security group (`GroupId` or `GroupName`): it is not audited"
                    .into(),
                "`GroupId` missing",
            );
            return;
        };
        let Some((key, _)) = self.group_key(v) else {
            self.error(
                v.span,
                format!("the group should be named by a string, not {}", describe(v)),
                "not a name",
            );
            return;
        };
        let mut p = self.permission(props, ingress, res.span, Some(name.to_string()));
        if let Some(c) = Self::condition(res, name) {
            p.unknown.push(c);
        }
        // a group defined elsewhere (another stack, an existing group) keeps its other rules,
        // which the template does not show: `group_index` makes them unknown
        let i = self.group_index(&key, v.span, groups);
        if let Some(g) = groups.get_mut(i) {
            if ingress {
                g.ingress.push(p);
            } else {
                g.egress.push(p);
            }
        }
    }

    fn acl_entry(&mut self, name: &str, res: &Json<'_>, acls: &mut Vec<NetworkAcl>) {
        const WHAT: &str = "network ACL entry";
        let Some(props) = self.properties(name, res) else {
            return;
        };
        let Some(key) = self.attachment(props, &["NetworkAclId"], "network ACL") else {
            return;
        };
        let rule_number = match self.int(props, "RuleNumber") {
            Some(f) => f,
            None => self.missing(props, "RuleNumber", WHAT),
        };
        let protocol = match self.protocol(props, "Protocol") {
            Some(f) => f,
            None => self.missing(props, "Protocol", WHAT),
        };
        let action = match member(props, "RuleAction") {
            Some(v) => match self.classify(v) {
                Value::Literal(l) => match l.as_str() {
                    Some(s) => Field::known(s.to_string(), l.span),
                    None => {
                        let shown = describe(l);
                        self.error(
                            l.span,
                            format!("`RuleAction` should be allow or deny, not {shown}"),
                            "not allow or deny",
                        );
                        Field::unknown(format!("RuleAction {shown} could not be read"), l.span)
                    }
                },
                other => Field::unknown(self.not_in_template("RuleAction", &other, v.span), v.span),
            },
            None => self.missing(props, "RuleAction", WHAT),
        };
        // CloudFormation's default: an ingress entry
        let egress = self
            .boolean(props, "Egress")
            .unwrap_or_else(|| Field::known(false, props.span));
        let peer = match self.peer(props, "CidrBlock", PeerKind::V4, res.span) {
            Some(p) => p,
            None => match self.peer(props, "Ipv6CidrBlock", PeerKind::V6, res.span) {
                Some(p) => p,
                None => {
                    self.error(
                        props.span,
                        "this network ACL entry has neither `CidrBlock` nor `Ipv6CidrBlock`".into(),
                        "`CidrBlock` missing",
                    );
                    Peer::unknown(
                        "an unknown block",
                        "the entry names no CIDR block",
                        res.span,
                    )
                }
            },
        };
        let mut entry = NaclEntry {
            rule_number,
            egress,
            protocol,
            action,
            peer,
            from_port: None,
            to_port: None,
            icmp_type: None,
            icmp_code: None,
            span: res.span,
            unknown: Self::condition(res, name).into_iter().collect(),
        };
        for (key, a, b) in [("PortRange", "From", "To"), ("Icmp", "Type", "Code")] {
            let Some(v) = member(props, key) else {
                continue;
            };
            let (x, y) = match self.classify(v) {
                Value::Literal(l) if l.members().is_some() => (self.int(l, a), self.int(l, b)),
                Value::Literal(l) => {
                    let shown = describe(l);
                    self.error(
                        l.span,
                        format!("`{key}` should be a mapping, not {shown}"),
                        "not a mapping",
                    );
                    (
                        Some(Field::unknown(format!("{key} could not be read"), l.span)),
                        None,
                    )
                }
                other => (
                    Some(Field::unknown(
                        self.not_in_template(key, &other, v.span),
                        v.span,
                    )),
                    None,
                ),
            };
            if key == "PortRange" {
                entry.from_port = x;
                entry.to_port = y;
            } else {
                entry.icmp_type = x;
                entry.icmp_code = y;
            }
        }
        let i = match acls
            .iter()
            .position(|a| a.id.as_deref() == Some(key.as_str()))
        {
            Some(i) => i,
            None => {
                acls.push(NetworkAcl {
                    id: Some(key),
                    vpc_id: None,
                    is_default: None,
                    subnets: Vec::new(),
                    entries: Vec::new(),
                    span: res.span,
                });
                acls.len() - 1
            }
        };
        if let Some(a) = acls.get_mut(i) {
            a.entries.push(entry);
        }
    }
}
