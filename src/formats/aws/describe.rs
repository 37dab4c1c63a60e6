//! Reading `describe-security-groups`, `describe-security-group-rules` and
//! `describe-network-acls` output (and the bare arrays and single objects a `--query` leaves) into
//! the AST.

use super::ast::{
    Document, Field, GroupRef, NaclEntry, NetworkAcl, Peer, Permission, SecurityGroup, Target, Val,
};
use super::{is_acl, is_group_rule, LIST_KEYS, SINGLE_ACL_KEY};
use crate::formats::json::fields::{self, describe, member, parse_error};
use crate::formats::json::{Json, Kind};
use crate::formats::ParseIssue;
use crate::model::Span;

/// Read the groups and ACLs of a document (any shape [`sniff`] accepts), reporting what cannot
/// be read.
pub fn read_document(json: &Json<'_>, issues: &mut Vec<ParseIssue>) -> Document {
    let mut r = Reader { issues };
    let mut doc = Document::default();
    let mut rules: Vec<&Json<'_>> = Vec::new();
    match &json.kind {
        Kind::Object(_) => {
            let mut listed = false;
            for key in LIST_KEYS {
                let Some(v) = json.get(key) else { continue };
                listed = true;
                let Some(items) = v.as_array() else {
                    r.error(
                        v.span,
                        format!("`{key}` should be an array, not {}", v.type_name()),
                        "not an array",
                    );
                    continue;
                };
                for item in items {
                    match key {
                        "SecurityGroups" => {
                            if item.members().is_some() {
                                doc.groups.push(r.group(item));
                            } else {
                                r.error(
                                    item.span,
                                    format!(
                                        "a security group should be an object, not {}",
                                        item.type_name()
                                    ),
                                    "not an object",
                                );
                            }
                        }
                        "NetworkAcls" => {
                            if item.members().is_some() {
                                doc.acls.push(r.acl(item));
                            } else {
                                r.error(
                                    item.span,
                                    format!(
                                        "a network ACL should be an object, not {}",
                                        item.type_name()
                                    ),
                                    "not an object",
                                );
                            }
                        }
                        _ => rules.push(item),
                    }
                }
            }
            if !listed {
                // `create-network-acl` output: the one ACL under `NetworkAcl`
                let item = match json.get(SINGLE_ACL_KEY) {
                    Some(acl) if is_acl(acl) => acl,
                    _ => json,
                };
                if classify(&mut r, &mut doc, item) {
                    rules.push(item);
                }
            }
        }
        Kind::Array(items) => {
            for item in items {
                if classify(&mut r, &mut doc, item) {
                    rules.push(item);
                }
            }
        }
        _ => r.error(
            json.span,
            format!(
                "expected AWS security groups or network ACLs, not {}",
                json.type_name()
            ),
            "not an AWS export",
        ),
    }
    for item in rules {
        r.group_rule(item, &mut doc.groups);
    }
    doc
}

/// Read one object of a bare array (or a lone object) by what it looks like. A security group
/// rule is left to the caller (rules are grouped at the end): true.
fn classify(r: &mut Reader<'_>, doc: &mut Document, item: &Json<'_>) -> bool {
    if is_acl(item) {
        doc.acls.push(r.acl(item));
    } else if is_group_rule(item) {
        return true;
    } else if item.members().is_some() && item.get("GroupId").is_some() {
        doc.groups.push(r.group(item));
    } else {
        r.error(
            item.span,
            format!(
                "expected a security group, a security group rule or a network ACL, not {}",
                describe(item)
            ),
            "not an AWS object",
        );
    }
    false
}

/// A protocol: a string, or a number as written; else a parse error at the value.
pub(super) fn protocol(
    v: &Json<'_>,
    key: &str,
    issues: &mut Vec<ParseIssue>,
) -> Result<String, String> {
    let got = fields::string_or_number(v).map(|t| t.into_owned());
    fields::expect(
        v,
        key,
        got,
        "a protocol name or number",
        "not a protocol",
        issues,
    )
}

struct Reader<'i> {
    issues: &'i mut Vec<ParseIssue>,
}

impl Reader<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(parse_error(span, message, label));
    }

    fn string(&mut self, obj: &Json<'_>, key: &str) -> Option<(String, Span)> {
        let v = member(obj, key)?;
        fields::string(v, key, self.issues)
            .ok()
            .map(|s| (s.to_string(), v.span))
    }

    fn text(&mut self, obj: &Json<'_>, key: &str) -> Option<String> {
        self.string(obj, key).map(|(s, _)| s)
    }

    fn int(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<i64>> {
        let v = member(obj, key)?;
        Some(Field::read(fields::int(v, key, self.issues), key, v.span))
    }

    fn boolean(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<bool>> {
        let v = member(obj, key)?;
        Some(Field::read(
            fields::boolean(v, key, self.issues),
            key,
            v.span,
        ))
    }

    /// A protocol: a string, or a number (`6` is as good as `"6"`).
    fn protocol(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<String>> {
        let v = member(obj, key)?;
        Some(Field::read(protocol(v, key, self.issues), key, v.span))
    }

    /// A required field that is missing: reported at the object, unknown from then on.
    fn missing<T>(&mut self, obj: &Json<'_>, key: &str, what: &str) -> Field<T> {
        Field::missing(obj, key, what, self.issues)
    }

    /// The items of an array member; absent or `null` is empty. A member of another type is
    /// reported and returned as `Err(its span)`.
    fn array<'j, 'a>(&mut self, obj: &'j Json<'a>, key: &str) -> Result<&'j [Json<'a>], Span> {
        let Some(v) = member(obj, key) else {
            return Ok(&[]);
        };
        match v.as_array() {
            Some(a) => Ok(a),
            None => {
                self.error(
                    v.span,
                    format!("`{key}` should be an array, not {}", describe(v)),
                    "not an array",
                );
                Err(v.span)
            }
        }
    }

    /// An unreadable peer: it keeps the rule, undecidable.
    fn unknown_peer(span: Span, reason: String) -> Peer {
        Peer {
            target: Target::Unknown {
                shown: "an unreadable value".into(),
                reason,
            },
            description: None,
            span,
            value_span: span,
        }
    }

    fn group(&mut self, g: &Json<'_>) -> SecurityGroup {
        let id = self.text(g, "GroupId");
        let name = self.text(g, "GroupName");
        if id.is_none() && name.is_none() {
            self.error(
                g.span,
                "this security group has neither `GroupId` nor `GroupName`".into(),
                "unnamed security group",
            );
        }
        let mut sg = SecurityGroup {
            id,
            name,
            description: self.text(g, "Description"),
            vpc_id: self.text(g, "VpcId"),
            owner_id: self.text(g, "OwnerId"),
            ingress: Vec::new(),
            egress: Vec::new(),
            span: g.span,
        };
        sg.ingress = self.permissions(g, "IpPermissions");
        sg.egress = self.permissions(g, "IpPermissionsEgress");
        sg
    }

    fn permissions(&mut self, g: &Json<'_>, key: &str) -> Vec<Permission> {
        match self.array(g, key) {
            Ok(items) => items
                .iter()
                .map(|p| {
                    if p.members().is_some() {
                        self.permission(p)
                    } else {
                        self.error(
                            p.span,
                            format!("an IP permission should be an object, not {}", describe(p)),
                            "not an object",
                        );
                        Permission::unknown(format!("an entry of {key} could not be read"), p.span)
                    }
                })
                .collect(),
            Err(span) => vec![Permission::unknown(
                format!("{key} could not be read"),
                span,
            )],
        }
    }

    fn permission(&mut self, p: &Json<'_>) -> Permission {
        let protocol = match self.protocol(p, "IpProtocol") {
            Some(f) => f,
            None => self.missing(p, "IpProtocol", "IP permission"),
        };
        let mut perm = Permission {
            id: None,
            protocol,
            from_port: self.int(p, "FromPort"),
            to_port: self.int(p, "ToPort"),
            peers: Vec::new(),
            description: None,
            span: p.span,
            unknown: Vec::new(),
        };
        for (list, value_key) in [
            ("IpRanges", "CidrIp"),
            ("Ipv6Ranges", "CidrIpv6"),
            ("PrefixListIds", "PrefixListId"),
            ("UserIdGroupPairs", "GroupId"),
        ] {
            let items = match self.array(p, list) {
                Ok(items) => items,
                Err(span) => {
                    perm.peers.push(Self::unknown_peer(
                        span,
                        format!("{list} could not be read"),
                    ));
                    continue;
                }
            };
            for item in items {
                if item.members().is_none() {
                    self.error(
                        item.span,
                        format!(
                            "an entry of `{list}` should be an object, not {}",
                            describe(item)
                        ),
                        "not an object",
                    );
                    perm.peers.push(Self::unknown_peer(
                        item.span,
                        format!("an entry of {list} could not be read"),
                    ));
                    continue;
                }
                let description = self.text(item, "Description");
                let peer = if list == "UserIdGroupPairs" {
                    self.group_pair(item, description)
                } else {
                    match self.string(item, value_key) {
                        Some((v, vspan)) => Peer {
                            target: match list {
                                "IpRanges" => Target::Cidr4(v),
                                "Ipv6Ranges" => Target::Cidr6(v),
                                _ => Target::PrefixList(v),
                            },
                            description,
                            span: item.span,
                            value_span: vspan,
                        },
                        None => {
                            if member(item, value_key).is_none() {
                                self.error(
                                    item.span,
                                    format!("this entry of `{list}` has no `{value_key}`"),
                                    &format!("`{value_key}` missing"),
                                );
                            }
                            Self::unknown_peer(
                                item.span,
                                format!("{value_key} of an entry of {list} could not be read"),
                            )
                        }
                    }
                };
                perm.peers.push(peer);
            }
        }
        perm
    }

    /// A `UserIdGroupPairs` entry or a `ReferencedGroupInfo` object.
    fn group_pair(&mut self, item: &Json<'_>, description: Option<String>) -> Peer {
        let id = self.string(item, "GroupId");
        let name = self.string(item, "GroupName");
        let value_span = id
            .as_ref()
            .or(name.as_ref())
            .map(|(_, s)| *s)
            .unwrap_or(item.span);
        let r = GroupRef {
            id: id.map(|(s, _)| s),
            name: name.map(|(s, _)| s),
            user_id: self.text(item, "UserId"),
            vpc_peering: self.text(item, "VpcPeeringConnectionId"),
        };
        if r.key().is_none() {
            self.error(
                item.span,
                "this group reference has neither `GroupId` nor `GroupName`".into(),
                "`GroupId` missing",
            );
            return Self::unknown_peer(item.span, "a group reference names no group".into());
        }
        Peer {
            target: Target::Group(r),
            description,
            span: item.span,
            value_span,
        }
    }

    /// One `describe-security-group-rules` entry, added to its group (created in order of first
    /// appearance; its span is the first rule's).
    fn group_rule(&mut self, item: &Json<'_>, groups: &mut Vec<SecurityGroup>) {
        if item.members().is_none() {
            self.error(
                item.span,
                format!(
                    "a security group rule should be an object, not {}",
                    describe(item)
                ),
                "not an object",
            );
            return;
        }
        let Some(gid) = self.text(item, "GroupId") else {
            self.error(
                item.span,
                "this security group rule has no `GroupId`: it belongs to no group and is not audited"
                    .into(),
                "`GroupId` missing",
            );
            return;
        };
        let protocol = match self.protocol(item, "IpProtocol") {
            Some(f) => f,
            None => self.missing(item, "IpProtocol", "security group rule"),
        };
        let egress = match self.boolean(item, "IsEgress") {
            Some(f) => f,
            None => self.missing(item, "IsEgress", "security group rule"),
        };
        let description = self.text(item, "Description");
        let mut perm = Permission {
            id: self.text(item, "SecurityGroupRuleId"),
            protocol,
            from_port: self.int(item, "FromPort"),
            to_port: self.int(item, "ToPort"),
            peers: Vec::new(),
            description: description.clone(),
            span: item.span,
            unknown: Vec::new(),
        };
        for key in ["CidrIpv4", "CidrIpv6", "PrefixListId"] {
            if let Some((v, vspan)) = self.string(item, key) {
                perm.peers.push(Peer {
                    target: match key {
                        "CidrIpv4" => Target::Cidr4(v),
                        "CidrIpv6" => Target::Cidr6(v),
                        _ => Target::PrefixList(v),
                    },
                    description: description.clone(),
                    span: item.span,
                    value_span: vspan,
                });
            } else if member(item, key).is_some() {
                perm.peers.push(Self::unknown_peer(
                    item.span,
                    format!("{key} could not be read"),
                ));
            }
        }
        if let Some(refd) = member(item, "ReferencedGroupInfo") {
            if refd.members().is_some() {
                let mut peer = self.group_pair(refd, description.clone());
                peer.span = item.span;
                perm.peers.push(peer);
            } else {
                self.error(
                    refd.span,
                    format!(
                        "`ReferencedGroupInfo` should be an object, not {}",
                        describe(refd)
                    ),
                    "not an object",
                );
                perm.peers.push(Self::unknown_peer(
                    item.span,
                    "ReferencedGroupInfo could not be read".into(),
                ));
            }
        }
        if perm.peers.is_empty() {
            self.error(
                item.span,
                "this security group rule names no `CidrIpv4`, `CidrIpv6`, `PrefixListId` or `ReferencedGroupInfo`"
                    .into(),
                "no source or destination",
            );
            perm.peers.push(Self::unknown_peer(
                item.span,
                "the rule names no source or destination".into(),
            ));
        }
        let gi = match groups.iter().position(|g| g.id.as_deref() == Some(&gid)) {
            Some(i) => i,
            None => {
                groups.push(SecurityGroup {
                    id: Some(gid),
                    name: None,
                    description: None,
                    vpc_id: None,
                    owner_id: self.text(item, "GroupOwnerId"),
                    ingress: Vec::new(),
                    egress: Vec::new(),
                    span: item.span,
                });
                groups.len() - 1
            }
        };
        let Some(g) = groups.get_mut(gi) else { return };
        match egress.value {
            Val::Known(true) => g.egress.push(perm),
            Val::Known(false) => g.ingress.push(perm),
            Val::Unknown(why) => {
                // which chain it belongs to is unknown: undecidable in both
                perm.unknown
                    .push(format!("{why}, so its direction is unknown"));
                g.ingress.push(perm.clone());
                g.egress.push(perm);
            }
        }
    }

    fn acl(&mut self, a: &Json<'_>) -> NetworkAcl {
        let id = self.text(a, "NetworkAclId");
        if id.is_none() {
            self.error(
                a.span,
                "this network ACL has no `NetworkAclId`".into(),
                "`NetworkAclId` missing",
            );
        }
        let mut acl = NetworkAcl {
            id,
            vpc_id: self.text(a, "VpcId"),
            is_default: self.boolean(a, "IsDefault").and_then(|f| f.get().copied()),
            subnets: Vec::new(),
            entries: Vec::new(),
            span: a.span,
        };
        if let Ok(assocs) = self.array(a, "Associations") {
            for s in assocs {
                if let Some(sub) = self.text(s, "SubnetId") {
                    acl.subnets.push(sub);
                }
            }
        }
        match self.array(a, "Entries") {
            Ok(entries) => {
                for e in entries {
                    if e.members().is_some() {
                        acl.entries.push(self.acl_entry(e));
                    } else {
                        self.error(
                            e.span,
                            format!(
                                "a network ACL entry should be an object, not {}",
                                describe(e)
                            ),
                            "not an object",
                        );
                        acl.entries.push(unknown_entry(e.span));
                    }
                }
            }
            Err(span) => acl.entries.push(unknown_entry(span)),
        }
        acl
    }

    fn acl_entry(&mut self, e: &Json<'_>) -> NaclEntry {
        const WHAT: &str = "network ACL entry";
        let rule_number = match self.int(e, "RuleNumber") {
            Some(f) => f,
            None => self.missing(e, "RuleNumber", WHAT),
        };
        let egress = match self.boolean(e, "Egress") {
            Some(f) => f,
            None => self.missing(e, "Egress", WHAT),
        };
        let protocol = match self.protocol(e, "Protocol") {
            Some(f) => f,
            None => self.missing(e, "Protocol", WHAT),
        };
        let action = match self.string(e, "RuleAction") {
            Some((s, span)) => Field::known(s, span),
            None => match member(e, "RuleAction") {
                Some(v) => Field::unknown("RuleAction could not be read", v.span),
                None => self.missing(e, "RuleAction", WHAT),
            },
        };
        let v4 = self.string(e, "CidrBlock");
        let v6 = self.string(e, "Ipv6CidrBlock");
        let peer = match (v4, v6) {
            (Some((c, s)), _) => Peer {
                target: Target::Cidr4(c),
                description: None,
                span: e.span,
                value_span: s,
            },
            (None, Some((c, s))) => Peer {
                target: Target::Cidr6(c),
                description: None,
                span: e.span,
                value_span: s,
            },
            (None, None) => {
                if member(e, "CidrBlock").is_none() && member(e, "Ipv6CidrBlock").is_none() {
                    self.error(
                        e.span,
                        "this network ACL entry has neither `CidrBlock` nor `Ipv6CidrBlock`".into(),
                        "`CidrBlock` missing",
                    );
                }
                Self::unknown_peer(e.span, "the entry's CIDR block could not be read".into())
            }
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
            span: e.span,
            unknown: Vec::new(),
        };
        if let Some(pr) = member(e, "PortRange") {
            if pr.members().is_some() {
                entry.from_port = self.int(pr, "From");
                entry.to_port = self.int(pr, "To");
            } else {
                self.error(
                    pr.span,
                    format!("`PortRange` should be an object, not {}", describe(pr)),
                    "not an object",
                );
                entry.from_port = Some(Field::unknown("PortRange could not be read", pr.span));
            }
        }
        if let Some(ic) = member(e, "IcmpTypeCode") {
            if ic.members().is_some() {
                entry.icmp_type = self.int(ic, "Type");
                entry.icmp_code = self.int(ic, "Code");
            } else {
                self.error(
                    ic.span,
                    format!("`IcmpTypeCode` should be an object, not {}", describe(ic)),
                    "not an object",
                );
                entry.icmp_type = Some(Field::unknown("IcmpTypeCode could not be read", ic.span));
            }
        }
        entry
    }
}

/// An ACL entry of which nothing could be read: it is kept, undecidable, in both directions.
fn unknown_entry(span: Span) -> NaclEntry {
    let why = "a network ACL entry could not be read";
    NaclEntry {
        rule_number: Field::unknown(why, span),
        egress: Field::unknown(why, span),
        protocol: Field::unknown(why, span),
        action: Field::unknown(why, span),
        peer: Reader::unknown_peer(span, why.into()),
        from_port: None,
        to_port: None,
        icmp_type: None,
        icmp_code: None,
        span,
        unknown: Vec::new(),
    }
}
