//! AWS security groups and network ACLs as the AWS CLI prints them: `aws ec2
//! describe-security-groups`, `aws ec2 describe-security-group-rules` and `aws ec2
//! describe-network-acls` (also the bare arrays a `--query` leaves, and a single group or ACL
//! object).
//!
//! The document is read into a small vendor AST ([`SecurityGroup`] with [`Permission`]s,
//! [`NetworkAcl`] with [`NaclEntry`]s), then lowered into the model:
//! - a security group is one [`Ruleset`] holding one allow-union policy: chains `Ingress` and
//!   `Egress`, one `Accept` rule per permission and source, the implicit deny as the chain policy.
//!   Groups are stateful, so a matching rule admits every connection state.
//! - a network ACL is one stateless [`Ruleset`]: chains `Inbound` and `Outbound`, the entries in
//!   ascending rule number, first match, the implicit deny as the chain policy. The return path
//!   of a flow is the audit's business.
//!
//! Values the input does not give are [`Val::Unknown`] with a reason, and a rule using one is
//! undecidable. Whoever creates an unknown value reports it (the reader a parse error for a value
//! it cannot read; a template reader an undecidable issue for a parameter); the lowering reports
//! what it finds itself (ports out of range, a bad CIDR, an unresolved group or prefix list).
//! A rule with a bad value is kept, undecidable: dropping it could turn a deny into an answer.

use std::collections::HashSet;

use super::json::{Json, Kind};
use super::source::SourceText;
use super::{IssueKind, ParseIssue, Parsed, Resolver};
use crate::model::ports::{PortSet, ProtoSet, ICMP, ICMPV6, TCP, UDP};
use crate::model::{
    Action, AddrSet, Chain, Entry, Family, Hook, PacketBox, Policy, Provenance, Rule, Ruleset,
    Semantics, Span, Verdict,
};

// ---------------------------------------------------------------------------------------------
// The AST

/// A value from the input, or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val<T> {
    Known(T),
    /// Not known from this input (a template parameter, a value known only after apply, a value
    /// that could not be read): the reason, naming the value.
    Unknown(String),
}

/// A value and the span of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<T> {
    pub value: Val<T>,
    pub span: Span,
}

impl<T> Field<T> {
    pub fn known(value: T, span: Span) -> Self {
        Field {
            value: Val::Known(value),
            span,
        }
    }
    pub fn unknown(reason: impl Into<String>, span: Span) -> Self {
        Field {
            value: Val::Unknown(reason.into()),
            span,
        }
    }
    /// The value, when known.
    pub fn get(&self) -> Option<&T> {
        match &self.value {
            Val::Known(v) => Some(v),
            Val::Unknown(_) => None,
        }
    }
}

/// A security group named by a rule (`UserIdGroupPairs[]`, `ReferencedGroupInfo`, a template's
/// `SourceSecurityGroupId`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupRef {
    /// `sg-...`
    pub id: Option<String>,
    /// The group name (EC2-Classic and default-VPC references may give only this).
    pub name: Option<String>,
    /// The account owning the referenced group, when given.
    pub user_id: Option<String>,
    /// A VPC peering connection the reference goes through.
    pub vpc_peering: Option<String>,
}

impl GroupRef {
    /// The id, else the name.
    pub fn key(&self) -> Option<&str> {
        self.id.as_deref().or(self.name.as_deref())
    }
}

/// One source (ingress) or destination (egress) of a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An IPv4 CIDR block as written (`IpRanges[].CidrIp`, `CidrIpv4`, a template's `CidrIp`).
    Cidr4(String),
    /// An IPv6 CIDR block as written.
    Cidr6(String),
    /// A managed prefix list (`pl-...`), resolved by name.
    PrefixList(String),
    /// Another (or the same) security group, resolved by id or name.
    Group(GroupRef),
    /// A template parameter or variable (`CidrIp: !Ref AdminCidr`): its deployed value is not in
    /// the file, so it is resolved by name like a group (`--address AdminCidr=...`).
    Param {
        name: String,
        /// The parameter's default, as written, for messages (the deployed value may differ).
        default: Option<String>,
    },
    /// Not known from this input.
    Unknown {
        /// How the value reads in a label (`!Ref AdminCidr`).
        shown: String,
        /// Why it is unknown, naming the value.
        reason: String,
    },
}

/// One source or destination of a permission: one rule of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub target: Target,
    pub description: Option<String>,
    /// The peer's own object (an `IpRanges` entry, a group pair, a rule object): where the rule
    /// points.
    pub span: Span,
    /// The value itself (the CIDR string, the group id): where a problem with it points.
    pub value_span: Span,
}

impl Peer {
    /// A peer whose value is not known: its rule matches every address, undecidably.
    pub fn unknown(shown: impl Into<String>, reason: impl Into<String>, span: Span) -> Self {
        Peer {
            target: Target::Unknown {
                shown: shown.into(),
                reason: reason.into(),
            },
            description: None,
            span,
            value_span: span,
        }
    }
}

/// An IP permission: one protocol and port range, and the peers it admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `SecurityGroupRuleId` (`sgr-...`) or a template resource's logical name: labels use it in
    /// place of the permission's position.
    pub id: Option<String>,
    /// `IpProtocol` as written: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (or `all`), or a number.
    pub protocol: Field<String>,
    /// `FromPort`: the first port, or the ICMP type; `-1` or absent = all.
    pub from_port: Option<Field<i64>>,
    /// `ToPort`: the last port, or the ICMP code; `-1` or absent = all.
    pub to_port: Option<Field<i64>>,
    /// Each CIDR, prefix list and group: one rule each. No peers, no rules (it grants nothing).
    pub peers: Vec<Peer>,
    pub description: Option<String>,
    pub span: Span,
    /// Reasons the whole permission is unknown: every rule of it is undecidable.
    pub unknown: Vec<String>,
}

impl Permission {
    /// A permission of which nothing is known but that it exists: it matches anything,
    /// undecidably (what a wrongly typed permission list becomes).
    pub fn unknown(reason: String, span: Span) -> Self {
        Permission {
            id: None,
            protocol: Field::unknown(reason.clone(), span),
            from_port: None,
            to_port: None,
            peers: vec![Peer {
                target: Target::Unknown {
                    shown: "an unreadable value".into(),
                    reason: reason.clone(),
                },
                description: None,
                span,
                value_span: span,
            }],
            description: None,
            span,
            unknown: vec![reason],
        }
    }
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    /// `GroupId` (`sg-...`).
    pub id: Option<String>,
    /// `GroupName`.
    pub name: Option<String>,
    pub description: Option<String>,
    pub vpc_id: Option<String>,
    /// `OwnerId`: the account, to tell cross-account references apart.
    pub owner_id: Option<String>,
    pub ingress: Vec<Permission>,
    pub egress: Vec<Permission>,
    /// The group's object (its implicit deny points here).
    pub span: Span,
}

impl SecurityGroup {
    /// The name its ruleset goes by: the group id, else its name.
    pub fn key(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "security-group".into())
    }
}

/// One entry of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaclEntry {
    /// `RuleNumber`: entries are evaluated in ascending order.
    pub rule_number: Field<i64>,
    /// `Egress`: true for outbound. Unknown: the entry is lowered, undecidable, into both.
    pub egress: Field<bool>,
    /// `Protocol`: a number as a string (`-1`, `6`, `17`, `1`, `58`); names are read too.
    pub protocol: Field<String>,
    /// `RuleAction`: `allow` or `deny`.
    pub action: Field<String>,
    /// `CidrBlock` or `Ipv6CidrBlock`.
    pub peer: Peer,
    /// `PortRange.From` / `PortRange.To` (TCP and UDP).
    pub from_port: Option<Field<i64>>,
    pub to_port: Option<Field<i64>>,
    /// `IcmpTypeCode.Type` / `IcmpTypeCode.Code` (ICMP and ICMPv6); `-1` = all.
    pub icmp_type: Option<Field<i64>>,
    pub icmp_code: Option<Field<i64>>,
    pub span: Span,
    /// Reasons the whole entry is unknown (it is undecidable).
    pub unknown: Vec<String>,
}

/// A network ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAcl {
    /// `NetworkAclId` (`acl-...`).
    pub id: Option<String>,
    pub vpc_id: Option<String>,
    pub is_default: Option<bool>,
    /// The subnets it guards (`Associations[].SubnetId`).
    pub subnets: Vec<String>,
    pub entries: Vec<NaclEntry>,
    pub span: Span,
}

impl NetworkAcl {
    /// The name its ruleset goes by.
    pub fn key(&self) -> String {
        self.id.clone().unwrap_or_else(|| "network-acl".into())
    }
}

/// Everything one document holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub groups: Vec<SecurityGroup>,
    pub acls: Vec<NetworkAcl>,
}

// ---------------------------------------------------------------------------------------------
// Sniffing

const LIST_KEYS: [&str; 3] = ["SecurityGroups", "SecurityGroupRules", "NetworkAcls"];

fn is_group(v: &Json<'_>) -> bool {
    v.get("GroupId").is_some_and(|g| g.as_str().is_some())
        && (v.get("IpPermissions").is_some() || v.get("IpPermissionsEgress").is_some())
}

fn is_group_rule(v: &Json<'_>) -> bool {
    v.get("SecurityGroupRuleId").is_some() && v.get("GroupId").is_some()
}

fn is_acl(v: &Json<'_>) -> bool {
    v.get("NetworkAclId").is_some() && v.get("Entries").is_some()
}

/// Is this JSON document AWS security groups or network ACLs? An object with a
/// `SecurityGroups`, `SecurityGroupRules` or `NetworkAcls` array (the CLI's output), a bare
/// array of such objects (`--query`), one group, rule or ACL object, or a CloudFormation template
/// with such resources ([`super::cloudformation::sniff_json`]).
pub fn sniff(json: &Json<'_>) -> bool {
    match &json.kind {
        Kind::Object(_) => {
            LIST_KEYS
                .iter()
                .any(|k| json.get(k).is_some_and(|v| v.as_array().is_some()))
                || is_group(json)
                || is_acl(json)
                || is_group_rule(json)
                || super::cloudformation::sniff_json(json)
        }
        Kind::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| is_group(i) || is_group_rule(i) || is_acl(i))
        }
        _ => false,
    }
}

/// Parse and lower a document that [`sniff`] accepted (a CloudFormation template goes to
/// [`super::cloudformation::parse_json`]).
pub fn parse(src: &SourceText, json: &Json<'_>, names: &Resolver) -> Parsed {
    if super::cloudformation::sniff_json(json) {
        return super::cloudformation::parse_json(src, json, names);
    }
    let mut issues = Vec::new();
    let doc = read_document(json, &mut issues);
    let mut rulesets = lower_groups(&doc.groups, src, names, &mut issues);
    rulesets.extend(lower_nacls(&doc.acls, src, &mut issues));
    Parsed { rulesets, issues }
}

// ---------------------------------------------------------------------------------------------
// Reading JSON into the AST

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
            if !listed && classify(&mut r, &mut doc, json) {
                rules.push(json);
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

/// A value for a message: strings quoted, numbers and booleans as written, else the type.
pub(super) fn describe(v: &Json<'_>) -> String {
    match &v.kind {
        Kind::String(s) => format!("\"{s}\""),
        Kind::Number(n) => n.to_string(),
        Kind::Bool(b) => b.to_string(),
        _ => v.type_name().to_string(),
    }
}

struct Reader<'i> {
    issues: &'i mut Vec<ParseIssue>,
}

impl Reader<'_> {
    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }

    /// A member that is present and not `null`.
    fn member<'j, 'a>(obj: &'j Json<'a>, key: &str) -> Option<&'j Json<'a>> {
        obj.get(key).filter(|v| !v.is_null())
    }

    fn string(&mut self, obj: &Json<'_>, key: &str) -> Option<(String, Span)> {
        let v = Self::member(obj, key)?;
        match v.as_str() {
            Some(s) => Some((s.to_string(), v.span)),
            None => {
                self.error(
                    v.span,
                    format!("`{key}` should be a string, not {}", describe(v)),
                    "not a string",
                );
                None
            }
        }
    }

    fn text(&mut self, obj: &Json<'_>, key: &str) -> Option<String> {
        self.string(obj, key).map(|(s, _)| s)
    }

    fn int(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<i64>> {
        let v = Self::member(obj, key)?;
        Some(match v.as_i64() {
            Some(n) => Field::known(n, v.span),
            None => {
                let shown = describe(v);
                self.error(
                    v.span,
                    format!("`{key}` should be an integer, not {shown}"),
                    "not an integer",
                );
                Field::unknown(format!("{key} {shown} could not be read"), v.span)
            }
        })
    }

    fn boolean(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<bool>> {
        let v = Self::member(obj, key)?;
        Some(match v.as_bool() {
            Some(b) => Field::known(b, v.span),
            None => {
                let shown = describe(v);
                self.error(
                    v.span,
                    format!("`{key}` should be true or false, not {shown}"),
                    "not a boolean",
                );
                Field::unknown(format!("{key} {shown} could not be read"), v.span)
            }
        })
    }

    /// A protocol: a string, or a number (`6` is as good as `"6"`).
    fn protocol(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<String>> {
        let v = Self::member(obj, key)?;
        Some(match &v.kind {
            Kind::String(s) => Field::known(s.to_string(), v.span),
            Kind::Number(n) => Field::known(n.to_string(), v.span),
            _ => {
                let shown = describe(v);
                self.error(
                    v.span,
                    format!("`{key}` should be a protocol name or number, not {shown}"),
                    "not a protocol",
                );
                Field::unknown(format!("{key} {shown} could not be read"), v.span)
            }
        })
    }

    /// A required field that is missing: reported at the object, unknown from then on.
    fn missing<T>(&mut self, obj: &Json<'_>, key: &str, what: &str) -> Field<T> {
        self.error(
            obj.span,
            format!("this {what} has no `{key}`"),
            &format!("`{key}` missing"),
        );
        Field::unknown(format!("the {what} has no {key}"), obj.span)
    }

    /// The items of an array member; absent or `null` is empty. A member of another type is
    /// reported and returned as `Err(its span)`.
    fn array<'j, 'a>(&mut self, obj: &'j Json<'a>, key: &str) -> Result<&'j [Json<'a>], Span> {
        let Some(v) = Self::member(obj, key) else {
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
                            if Self::member(item, value_key).is_none() {
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
            } else if Self::member(item, key).is_some() {
                perm.peers.push(Self::unknown_peer(
                    item.span,
                    format!("{key} could not be read"),
                ));
            }
        }
        if let Some(refd) = Self::member(item, "ReferencedGroupInfo") {
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
            None => match Self::member(e, "RuleAction") {
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
                if Self::member(e, "CidrBlock").is_none()
                    && Self::member(e, "Ipv6CidrBlock").is_none()
                {
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
        if let Some(pr) = Self::member(e, "PortRange") {
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
        if let Some(ic) = Self::member(e, "IcmpTypeCode") {
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

// ---------------------------------------------------------------------------------------------
// Lowering

/// An AWS protocol: `-1`/`all` is every protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    All,
    One(u8),
}

fn aws_protocol(t: &str) -> Option<Proto> {
    let l = t.trim().to_ascii_lowercase();
    Some(match l.as_str() {
        "-1" | "all" => Proto::All,
        "tcp" => Proto::One(TCP),
        "udp" => Proto::One(UDP),
        "icmp" => Proto::One(ICMP),
        "icmpv6" => Proto::One(ICMPV6),
        n if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => Proto::One(n.parse().ok()?),
        _ => return None,
    })
}

/// A CIDR block of one family, strictly `address/prefix` as AWS requires. An IPv6 block is
/// taken without the IPv4-mapped addresses (`::/0` is every IPv6 address, and no IPv4 one).
fn parse_cidr(t: &str, family: Family) -> Result<AddrSet, String> {
    let t = t.trim();
    let fam = match family {
        Family::V4 => "an IPv4",
        Family::V6 => "an IPv6",
    };
    let bad = || format!("`{t}` is not {fam} CIDR block (address/prefix length)");
    let Some((addr, len)) = t.split_once('/') else {
        return Err(bad());
    };
    let addr_ok = match family {
        Family::V4 => addr.parse::<std::net::Ipv4Addr>().is_ok(),
        Family::V6 => addr.parse::<std::net::Ipv6Addr>().is_ok(),
    };
    if !addr_ok || len.is_empty() || !len.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let set = AddrSet::parse(t).map_err(|e| format!("{}: {e}", bad()))?;
    Ok(match family {
        Family::V4 => set,
        Family::V6 => set.intersect(&AddrSet::any_v6()),
    })
}

/// Where one of a pair of port-like fields comes from, for messages.
struct PortFields<'f> {
    from: Option<&'f Field<i64>>,
    to: Option<&'f Field<i64>>,
    from_key: &'static str,
    to_key: &'static str,
}

/// The protocol and destination-port part of a rule's box.
#[derive(Clone)]
struct Service {
    proto: ProtoSet,
    dport: PortSet,
    why: Vec<String>,
    /// `tcp 9669`, `all traffic`, `icmp 8/0`.
    text: String,
}

enum PortVal {
    All,
    Num(u16),
    Bad,
}

struct Lower<'a> {
    src: &'a SourceText,
    names: &'a Resolver,
    issues: &'a mut Vec<ParseIssue>,
    /// Unresolved names already reported (lower case).
    reported: HashSet<String>,
}

impl Lower<'_> {
    fn prov(&self, span: Span, label: String) -> Provenance {
        let (line, column) = self.src.line_col(span.start);
        Provenance {
            span,
            line,
            column,
            label,
        }
    }

    fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(ParseIssue {
            kind: IssueKind::ParseError,
            span,
            message,
            label: label.to_string(),
            help: None,
        });
    }

    fn port_value(
        &mut self,
        f: Option<&Field<i64>>,
        key: &str,
        what: &str,
        max: i64,
        why: &mut Vec<String>,
    ) -> PortVal {
        let Some(f) = f else { return PortVal::All };
        match &f.value {
            Val::Unknown(r) => {
                why.push(r.clone());
                PortVal::Bad
            }
            Val::Known(-1) => PortVal::All,
            Val::Known(n) if (0..=max).contains(n) => PortVal::Num(*n as u16),
            Val::Known(n) => {
                self.error(
                    f.span,
                    format!("{key} {n} is not {what} (0-{max}, or -1 for all)"),
                    "out of range",
                );
                why.push(format!("{key} {n} is out of range"));
                PortVal::Bad
            }
        }
    }

    fn service(
        &mut self,
        protocol: &Field<String>,
        ports: PortFields<'_>,
        icmp: PortFields<'_>,
    ) -> Service {
        let mut why = Vec::new();
        let t = match &protocol.value {
            Val::Unknown(r) => {
                why.push(r.clone());
                return Service {
                    proto: ProtoSet::full(),
                    dport: PortSet::full(),
                    why,
                    text: "unknown protocol".into(),
                };
            }
            Val::Known(t) => t,
        };
        let Some(proto) = aws_protocol(t) else {
            self.error(
                protocol.span,
                format!(
                    "`{t}` is not an AWS protocol (tcp, udp, icmp, icmpv6, -1, or a number 0-255)"
                ),
                "unknown protocol",
            );
            why.push(format!("protocol `{t}` could not be read"));
            return Service {
                proto: ProtoSet::full(),
                dport: PortSet::full(),
                why,
                text: format!("protocol {t}"),
            };
        };
        let n = match proto {
            Proto::All => {
                return Service {
                    proto: ProtoSet::full(),
                    dport: PortSet::full(),
                    why,
                    text: "all traffic".into(),
                }
            }
            Proto::One(n) => n,
        };
        let name = match n {
            TCP => "tcp",
            UDP => "udp",
            ICMP => "icmp",
            ICMPV6 => "icmpv6",
            _ => "",
        };
        let (dport, text) = match n {
            TCP | UDP => {
                let a = self.port_value(ports.from, ports.from_key, "a port", 65535, &mut why);
                let b = self.port_value(ports.to, ports.to_key, "a port", 65535, &mut why);
                match (a, b) {
                    (PortVal::All, PortVal::All) => (PortSet::full(), format!("{name} all ports")),
                    (PortVal::Num(a), PortVal::Num(b)) if a <= b => (
                        PortSet::range(a, b),
                        if a == b {
                            format!("{name} {a}")
                        } else {
                            format!("{name} {a}-{b}")
                        },
                    ),
                    (PortVal::Num(a), PortVal::Num(b)) => {
                        let span = match (ports.from, ports.to) {
                            (Some(x), Some(y)) => x.span.join(y.span),
                            _ => protocol.span,
                        };
                        self.error(
                            span,
                            format!(
                                "{} {a} is greater than {} {b}: the range runs backwards",
                                ports.from_key, ports.to_key
                            ),
                            "backwards port range",
                        );
                        why.push(format!(
                            "port range {a}-{b} ({} > {}) could not be read",
                            ports.from_key, ports.to_key
                        ));
                        (PortSet::full(), format!("{name} {a}-{b}"))
                    }
                    (PortVal::Bad, _) | (_, PortVal::Bad) => {
                        (PortSet::full(), format!("{name} unreadable ports"))
                    }
                    (PortVal::Num(p), PortVal::All) | (PortVal::All, PortVal::Num(p)) => {
                        let (missing, given) = if ports.from.is_some_and(|f| f.get() == Some(&-1))
                            || ports.from.is_none()
                        {
                            (ports.from_key, ports.to)
                        } else {
                            (ports.to_key, ports.from)
                        };
                        let span = given.map(|g| g.span).unwrap_or(protocol.span);
                        self.error(
                            span,
                            format!(
                                "only one end of the port range is given ({missing} is absent or -1)"
                            ),
                            "half a port range",
                        );
                        why.push(format!("the port range has one end only ({p})"));
                        (PortSet::full(), format!("{name} port {p}?"))
                    }
                }
            }
            ICMP | ICMPV6 => {
                let ty = self.port_value(icmp.from, icmp.from_key, "an ICMP type", 255, &mut why);
                let code = self.port_value(icmp.to, icmp.to_key, "an ICMP code", 255, &mut why);
                match (ty, code) {
                    (PortVal::Bad, _) | (_, PortVal::Bad) => {
                        (PortSet::full(), format!("{name} unreadable type"))
                    }
                    (PortVal::All, _) => (PortSet::full(), format!("{name} all")),
                    (PortVal::Num(t), PortVal::All) => {
                        let base = t << 8;
                        (
                            PortSet::range(base, base | 0xff),
                            format!("{name} type {t}"),
                        )
                    }
                    (PortVal::Num(t), PortVal::Num(c)) => {
                        (PortSet::single((t << 8) | c), format!("{name} {t}/{c}"))
                    }
                }
            }
            // other protocols have no ports: AWS ignores any given
            n => (PortSet::full(), format!("protocol {n}")),
        };
        Service {
            proto: ProtoSet::single(n),
            dport,
            why,
            text,
        }
    }

    /// An unresolved name: the reason for the rule, and one issue per name per file.
    fn unresolved(&mut self, what: &str, name: &str, note: &str, span: Span) -> String {
        if self.reported.insert(name.to_ascii_lowercase()) {
            self.issues.push(ParseIssue {
                kind: IssueKind::Undecidable,
                span,
                message: format!(
                    "{what} `{name}`{note} has no known addresses: the rules that use it are undecidable"
                ),
                label: format!("unresolved {what}"),
                help: Some(format!(
                    "give its addresses in the inventory (`[addresses]` \"{name}\" = [\"10.0.0.0/24\"]) or with `--address {name}=10.0.0.0/24`"
                )),
            });
        }
        format!(
            "{what} `{name}`{note} is not resolved: give its addresses in `[addresses]` of the inventory or with `--address {name}=10.0.0.0/24`"
        )
    }

    /// The address set of a peer and how it reads in a label; a set it cannot know is every
    /// address, with the reason in `why`.
    fn peer_set(
        &mut self,
        peer: &Peer,
        owner: Option<&str>,
        why: &mut Vec<String>,
    ) -> (AddrSet, String) {
        match &peer.target {
            Target::Cidr4(t) | Target::Cidr6(t) => {
                let family = match peer.target {
                    Target::Cidr4(_) => Family::V4,
                    _ => Family::V6,
                };
                match parse_cidr(t, family) {
                    Ok(set) => (set, t.clone()),
                    Err(m) => {
                        self.error(peer.value_span, m, "not a CIDR block");
                        why.push(format!("address `{t}` could not be read"));
                        (AddrSet::any(), t.clone())
                    }
                }
            }
            Target::PrefixList(id) => match self.names.get(id) {
                Some(s) => (s.clone(), id.clone()),
                None => {
                    let r = self.unresolved("prefix list", id, "", peer.value_span);
                    why.push(r);
                    (AddrSet::any(), id.clone())
                }
            },
            Target::Group(g) => {
                let found =
                    g.id.as_deref()
                        .and_then(|i| self.names.get(i))
                        .or_else(|| g.name.as_deref().and_then(|n| self.names.get(n)));
                let key = g.key().unwrap_or("?").to_string();
                match found {
                    Some(s) => (s.clone(), key),
                    None => {
                        let mut note = String::new();
                        if let Some(u) = g
                            .user_id
                            .as_deref()
                            .filter(|u| owner.is_some_and(|o| o != *u))
                        {
                            note.push_str(&format!(" (account {u})"));
                        }
                        if let Some(p) = &g.vpc_peering {
                            note.push_str(&format!(" (through VPC peering {p})"));
                        }
                        let r = self.unresolved("security group", &key, &note, peer.value_span);
                        why.push(r);
                        (AddrSet::any(), key)
                    }
                }
            }
            Target::Param { name, default } => match self.names.get(name) {
                Some(s) => (s.clone(), name.clone()),
                None => {
                    let note = match default {
                        Some(d) => format!(" (default `{d}`; the deployed value may differ)"),
                        None => String::new(),
                    };
                    let r = self.unresolved("template parameter", name, &note, peer.value_span);
                    why.push(r);
                    (AddrSet::any(), name.clone())
                }
            },
            Target::Unknown { shown, reason } => {
                why.push(reason.clone());
                (AddrSet::any(), shown.clone())
            }
        }
    }
}

fn one_policy_ruleset(
    key: &str,
    semantics: Semantics,
    stateless: bool,
    chains: Vec<Chain>,
    rules: Vec<Rule>,
) -> Ruleset {
    let hooks = [Hook::Input, Hook::Output];
    let entries: Vec<Entry> = chains
        .iter()
        .zip(hooks)
        .enumerate()
        .map(|(i, (c, hook))| Entry {
            name: format!("{key}/{}", c.name),
            hook,
            chain: i,
        })
        .collect();
    Ruleset::of_policy(
        Some(key.to_string()),
        Policy {
            name: key.to_string(),
            family: None,
            semantics,
            chains,
            rules,
            entries,
            union_cache: Default::default(),
        },
        stateless,
    )
}

/// Lower security groups: one allow-union [`Ruleset`] each, named by the group id (else name).
/// Group and prefix-list references resolve through `names`; one undecidable issue is added per
/// unresolved name in this call, and problems with values as parse errors.
pub fn lower_groups(
    groups: &[SecurityGroup],
    src: &SourceText,
    names: &Resolver,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let mut lw = Lower {
        src,
        names,
        issues,
        reported: HashSet::new(),
    };
    groups.iter().map(|g| lower_group(g, &mut lw)).collect()
}

fn lower_group(g: &SecurityGroup, lw: &mut Lower<'_>) -> Ruleset {
    let key = g.key();
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for (dir, chain_name, perms) in [
        ("ingress", "Ingress", &g.ingress),
        ("egress", "Egress", &g.egress),
    ] {
        let mut ids = Vec::new();
        for (i, p) in perms.iter().enumerate() {
            let fields = || PortFields {
                from: p.from_port.as_ref(),
                to: p.to_port.as_ref(),
                from_key: "FromPort",
                to_key: "ToPort",
            };
            let svc = lw.service(&p.protocol, fields(), fields());
            let pos = p.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            for peer in &p.peers {
                let mut why = svc.why.clone();
                why.extend(p.unknown.iter().cloned());
                let (set, shown) = lw.peer_set(peer, g.owner_id.as_deref(), &mut why);
                let mut b = PacketBox::full();
                b.proto = svc.proto.clone();
                b.dport = svc.dport.clone();
                let word = if dir == "ingress" {
                    b.src = set;
                    "from"
                } else {
                    b.dst = set;
                    "to"
                };
                let label = format!("{key}/{dir} {pos} {} {word} {shown}", svc.text);
                why.dedup();
                ids.push(rules.len());
                rules.push(Rule {
                    matches: b,
                    undecidable: why,
                    action: Action::Accept,
                    prov: lw.prov(peer.span, label),
                    comment: peer.description.clone().or_else(|| p.description.clone()),
                });
            }
        }
        chains.push(Chain {
            name: chain_name.to_string(),
            policy: Some(Verdict::Deny),
            decl: lw.prov(g.span, format!("{key} implicit deny")),
            rules: ids,
        });
    }
    one_policy_ruleset(&key, Semantics::AllowUnion, false, chains, rules)
}

/// Lower network ACLs: one stateless first-match [`Ruleset`] each, named by the ACL id.
pub fn lower_nacls(
    acls: &[NetworkAcl],
    src: &SourceText,
    issues: &mut Vec<ParseIssue>,
) -> Vec<Ruleset> {
    let names = Resolver::default();
    let mut lw = Lower {
        src,
        names: &names,
        issues,
        reported: HashSet::new(),
    };
    acls.iter().map(|a| lower_acl(a, &mut lw)).collect()
}

fn lower_acl(acl: &NetworkAcl, lw: &mut Lower<'_>) -> Ruleset {
    let key = acl.key();
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for (egress, chain_name) in [(false, "Inbound"), (true, "Outbound")] {
        // the entries of this direction (an unknown direction goes to both), by rule number; an
        // unknown number sorts first, where its doubt covers every position it could have
        let mut mine: Vec<&NaclEntry> = acl
            .entries
            .iter()
            .filter(|e| match e.egress.value {
                Val::Known(b) => b == egress,
                Val::Unknown(_) => true,
            })
            .collect();
        mine.sort_by_key(|e| e.rule_number.get().copied().unwrap_or(i64::MIN));
        let mut seen: HashSet<i64> = HashSet::new();
        let mut ids = Vec::new();
        for e in mine {
            let mut why = e.unknown.clone();
            if let Val::Unknown(r) = &e.egress.value {
                why.push(format!("{r}, so its direction is unknown"));
            }
            let number = match &e.rule_number.value {
                Val::Known(n) => {
                    if !(1..=32768).contains(n) {
                        lw.error(
                            e.rule_number.span,
                            format!("rule number {n} is out of range (1-32766, or 32767/32768 for the defaults)"),
                            "out of range",
                        );
                        why.push(format!("rule number {n} is out of range"));
                    } else if !seen.insert(*n) {
                        lw.error(
                            e.rule_number.span,
                            format!(
                                "rule number {n} appears twice in the {} entries of {key}",
                                chain_name.to_ascii_lowercase()
                            ),
                            "duplicate rule number",
                        );
                        why.push(format!("rule number {n} appears twice"));
                    }
                    n.to_string()
                }
                Val::Unknown(r) => {
                    why.push(format!("{r}, so its place in the order is unknown"));
                    "?".to_string()
                }
            };
            let svc = lw.service(
                &e.protocol,
                PortFields {
                    from: e.from_port.as_ref(),
                    to: e.to_port.as_ref(),
                    from_key: "PortRange.From",
                    to_key: "PortRange.To",
                },
                PortFields {
                    from: e.icmp_type.as_ref(),
                    to: e.icmp_code.as_ref(),
                    from_key: "IcmpTypeCode.Type",
                    to_key: "IcmpTypeCode.Code",
                },
            );
            why.extend(svc.why.iter().cloned());
            let (action, verb) = match &e.action.value {
                Val::Known(a) if a.eq_ignore_ascii_case("allow") => (Action::Accept, "allow"),
                Val::Known(a) if a.eq_ignore_ascii_case("deny") => (Action::Drop, "deny"),
                Val::Known(a) => {
                    lw.error(
                        e.action.span,
                        format!("`{a}` is not a rule action (allow or deny)"),
                        "not allow or deny",
                    );
                    why.push(format!("rule action `{a}` could not be read"));
                    (Action::Opaque, "?")
                }
                Val::Unknown(r) => {
                    why.push(r.clone());
                    (Action::Opaque, "?")
                }
            };
            let (set, shown) = lw.peer_set(&e.peer, None, &mut why);
            let mut b = PacketBox::full();
            b.proto = svc.proto.clone();
            b.dport = svc.dport.clone();
            let word = if egress {
                b.dst = set;
                "to"
            } else {
                b.src = set;
                "from"
            };
            why.dedup();
            let label = format!(
                "{key}/{chain_name} rule {number} {verb} {} {word} {shown}",
                svc.text
            );
            ids.push(rules.len());
            rules.push(Rule {
                matches: b,
                undecidable: why,
                action,
                prov: lw.prov(e.span, label),
                comment: None,
            });
        }
        chains.push(Chain {
            name: chain_name.to_string(),
            policy: Some(Verdict::Deny),
            decl: lw.prov(acl.span, format!("{key} implicit deny")),
            rules: ids,
        });
    }
    one_policy_ruleset(&key, Semantics::FirstMatch, true, chains, rules)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::formats::json;
    use crate::model::ports::ConnState;
    use crate::model::{Decider, Outcome};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/");

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    /// Sniff and parse a document's text.
    fn parse_str(name: &str, text: &str, names: &Resolver) -> (SourceText, Parsed) {
        let src = SourceText::new(name, text);
        let json = json::parse(&src.text).unwrap();
        assert!(sniff(&json), "{name} should sniff as AWS");
        let parsed = parse(&src, &json, names);
        (src, parsed)
    }

    fn load(name: &str, names: &Resolver) -> (SourceText, Parsed) {
        parse_str(name, &read(name), names)
    }

    pub(crate) fn count(p: &Parsed, kind: IssueKind) -> usize {
        p.issues.iter().filter(|i| i.kind == kind).count()
    }

    pub(crate) fn ruleset<'p>(p: &'p Parsed, name: &str) -> &'p Ruleset {
        p.rulesets
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no ruleset {name}"))
    }

    pub(crate) fn chain_len(rs: &Ruleset, chain: &str) -> usize {
        let pol = &rs.policies[0];
        pol.chains[pol.chain_by_name(chain).unwrap()].rules.len()
    }

    /// A NEW connection of `proto` to `dport` from `src` (anything else any).
    pub(crate) fn flow(src: &str, proto: u8, dport: u16) -> PacketBox {
        let mut b = PacketBox::full();
        b.src = AddrSet::parse(src).unwrap();
        b.proto = ProtoSet::single(proto);
        b.dport = PortSet::single(dport);
        b.state = ConnState::New.set();
        b
    }

    fn eval(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Vec<Outcome> {
        rs.evaluate(rs.pipeline(hook).unwrap(), region)
    }

    /// The one verdict of a region (fails if the region is split).
    pub(crate) fn verdict(rs: &Ruleset, hook: Hook, region: &PacketBox) -> Verdict {
        let out = eval(rs, hook, region);
        let mut v: Vec<Verdict> = out.iter().map(|o| o.verdict).collect();
        v.dedup();
        assert_eq!(v.len(), 1, "{out:#?}");
        v[0]
    }

    /// The provenance of what decided a single-outcome region.
    pub(crate) fn decider<'r>(rs: &'r Ruleset, hook: Hook, region: &PacketBox) -> &'r Provenance {
        let out = eval(rs, hook, region);
        assert_eq!(out.len(), 1, "{out:#?}");
        let pol = &rs.policies[0];
        match out[0].deciders[0].decider {
            Decider::Rule(r) => &pol.rules[r].prov,
            Decider::ChainPolicy(c) => &pol.chains[c].decl,
            Decider::Loop(_) => panic!("loop"),
        }
    }

    #[test]
    fn corpus_describe_security_groups() {
        let (_, p) = load(
            "corpus/cloudmapper-demo-ec2-describe-security-groups.json",
            &Resolver::default(),
        );
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(
            ids,
            [
                "sg-00000008",
                "sg-00000007",
                "sg-00000006",
                "sg-00000005",
                "sg-00000004",
                "sg-00000003",
                "sg-00000002",
                "sg-00000001"
            ]
        );
        // one rule per permission and source
        let ingress: Vec<usize> = p.rulesets.iter().map(|r| chain_len(r, "Ingress")).collect();
        assert_eq!(ingress, [2, 1, 1, 1, 2, 1, 2, 1]);
        assert!(p.rulesets.iter().all(|r| chain_len(r, "Egress") == 1));
        for rs in &p.rulesets {
            assert!(!rs.stateless);
            assert_eq!(rs.family, None);
            let pol = &rs.policies[0];
            assert_eq!(pol.semantics, Semantics::AllowUnion);
            assert!(pol.chains.iter().all(|c| c.policy == Some(Verdict::Deny)));
            let key = rs.name.clone().unwrap();
            assert_eq!(pol.chains[0].decl.label, format!("{key} implicit deny"));
            assert_eq!(
                rs.pipeline(Hook::Input).unwrap().name,
                format!("{key}/Ingress")
            );
            assert_eq!(
                rs.pipeline(Hook::Output).unwrap().name,
                format!("{key}/Egress")
            );
        }
        // sg-00000002, -4, -3 and -1 are referenced and unresolved: one issue each
        assert_eq!(count(&p, IssueKind::Undecidable), 4, "{:#?}", p.issues);
        // the bastion: SSH from two office ranges only
        let bastion = ruleset(&p, "sg-00000002");
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("2.2.2.1", TCP, 22)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("2.2.2.17", TCP, 22)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(bastion, Hook::Input, &flow("1.1.1.1", TCP, 23)),
            Verdict::Deny
        );
        // egress -1 to 0.0.0.0/0: anything IPv4, nothing IPv6
        let mut out = PacketBox::full();
        out.dst = AddrSet::parse("8.8.8.8").unwrap();
        out.proto = ProtoSet::single(UDP);
        assert_eq!(verdict(bastion, Hook::Output, &out), Verdict::Allow);
        out.dst = AddrSet::parse("2001:db8::1").unwrap();
        assert_eq!(verdict(bastion, Hook::Output, &out), Verdict::Deny);
    }

    #[test]
    fn corpus_describe_security_group_rules_grouped_by_group_id() {
        let (_, p) = load(
            "corpus/awscli-example-describe-security-group-rules.json",
            &Resolver::default(),
        );
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(p.rulesets.len(), 1);
        let rs = ruleset(&p, "sg-1234567890abcdef0");
        assert_eq!(chain_len(rs, "Ingress"), 1);
        assert_eq!(chain_len(rs, "Egress"), 2);
        let labels: Vec<&str> = rs.policies[0]
            .rules
            .iter()
            .map(|r| r.prov.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "sg-1234567890abcdef0/ingress sgr-abcdef01234567890 all traffic from sg-1234567890abcdef0",
                "sg-1234567890abcdef0/egress sgr-bcdef01234567890a all traffic to ::/0",
                "sg-1234567890abcdef0/egress sgr-cdef01234567890ab all traffic to 0.0.0.0/0",
            ]
        );
        // the self-reference is unresolved: one issue
        assert_eq!(count(&p, IssueKind::Undecidable), 1);
        // FromPort/ToPort -1 with protocol -1: every port of every protocol, both families out
        let mut out = PacketBox::full();
        out.dst = AddrSet::parse("2001:db8::1").unwrap();
        assert_eq!(verdict(rs, Hook::Output, &out), Verdict::Allow);
        // resolved, the self-reference admits its members only
        let mut names = Resolver::default();
        names.insert(
            "sg-1234567890abcdef0",
            AddrSet::parse("172.31.8.0/24").unwrap(),
        );
        let (_, p) = load(
            "corpus/awscli-example-describe-security-group-rules.json",
            &names,
        );
        assert_eq!(count(&p, IssueKind::Undecidable), 0);
        let rs = &p.rulesets[0];
        assert_eq!(
            verdict(rs, Hook::Input, &flow("172.31.8.9", 50, 0)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("172.31.9.9", TCP, 22)),
            Verdict::Deny
        );
    }

    #[test]
    fn group_rules_of_several_groups_and_unknown_direction() {
        let text = r#"{"SecurityGroupRules": [
            {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-a", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 4005, "ToPort": 4009, "CidrIpv4": "10.1.0.0/16"},
            {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-b", "IsEgress": false, "IpProtocol": "tcp", "FromPort": 9669, "ToPort": 9669, "PrefixListId": "pl-1"},
            {"SecurityGroupRuleId": "sgr-3", "GroupId": "sg-a", "IsEgress": false, "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIpv6": "2001:db8::/32"},
            {"SecurityGroupRuleId": "sgr-4", "GroupId": "sg-b", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.9.0.0/16"}
        ]}"#;
        let mut names = Resolver::default();
        names.insert("pl-1", AddrSet::parse("192.0.2.0/24").unwrap());
        let (_, p) = parse_str("rules.json", text, &names);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(ids, ["sg-a", "sg-b"]);
        let a = ruleset(&p, "sg-a");
        assert_eq!((chain_len(a, "Ingress"), chain_len(a, "Egress")), (2, 0));
        assert_eq!(
            verdict(a, Hook::Input, &flow("10.1.2.3", TCP, 4008)),
            Verdict::Allow
        );
        let mut dns = flow("2001:db8::5", UDP, 53);
        assert_eq!(verdict(a, Hook::Input, &dns), Verdict::Allow);
        dns.src = AddrSet::parse("2001:db9::5").unwrap();
        assert_eq!(verdict(a, Hook::Input, &dns), Verdict::Deny);
        // sgr-4 has no IsEgress: a parse error, and undecidable in both directions
        let b = ruleset(&p, "sg-b");
        assert_eq!((chain_len(b, "Ingress"), chain_len(b, "Egress")), (2, 1));
        assert_eq!(count(&p, IssueKind::ParseError), 1, "{:#?}", p.issues);
        assert_eq!(
            verdict(b, Hook::Input, &flow("10.9.0.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(b, Hook::Input, &flow("192.0.2.7", TCP, 9669)),
            Verdict::Allow
        );
    }

    #[test]
    fn world_open_9669_is_allowed_by_that_range_and_the_rest_denied() {
        let (src, p) = load("zca-sg-9669-open.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "sg-0a1b2c3d4e5f60718");
        assert_eq!(chain_len(rs, "Ingress"), 7);
        let region = flow("1.2.3.4", TCP, 9669);
        assert_eq!(verdict(rs, Hook::Input, &region), Verdict::Allow);
        let prov = decider(rs, Hook::Input, &region);
        assert_eq!(prov.line, 81, "the line of the 0.0.0.0/0 range object");
        let text = &src.text[prov.span.start..prov.span.end];
        assert!(
            text.starts_with('{') && text.contains("\"0.0.0.0/0\""),
            "{text}"
        );
        assert_eq!(
            prov.label,
            "sg-0a1b2c3d4e5f60718/ingress #6 tcp 9669 from 0.0.0.0/0"
        );
        assert_eq!(
            rs.policies[0]
                .rules
                .iter()
                .find(|r| r.prov.line == 81)
                .unwrap()
                .comment
                .as_deref(),
            Some("Zerto UI - TEMP open for vendor support")
        );
        // the VRA ports are admitted from the VPC only
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.2.3.4", TCP, 4008)),
            Verdict::Deny
        );
        // a range: 9080-9081
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 9081)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.3.4", TCP, 9082)),
            Verdict::Deny
        );
        // stateful: a matching rule admits every state
        let mut est = region.clone();
        est.state = crate::model::ports::all_states();
        assert_eq!(verdict(rs, Hook::Input, &est), Verdict::Allow);
    }

    #[test]
    fn missing_4008_is_denied_by_the_implicit_deny() {
        let (src, p) = load("zca-sg-missing-4008.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "sg-07e3f19a2b4c5d6e8");
        for port in [
            443, 4005, 4006, 4007, 4009, 9071, 9080, 9081, 9180, 9669, 9779,
        ] {
            assert_eq!(
                verdict(rs, Hook::Input, &flow("10.30.1.2", TCP, port)),
                Verdict::Allow,
                "port {port}"
            );
        }
        let region = flow("10.30.1.2", TCP, 4008);
        assert_eq!(verdict(rs, Hook::Input, &region), Verdict::Deny);
        let out = eval(rs, Hook::Input, &region);
        assert_eq!(
            out[0].deciders[0].decider,
            Decider::ChainPolicy(rs.policies[0].chain_by_name("Ingress").unwrap())
        );
        let prov = decider(rs, Hook::Input, &region);
        assert_eq!(prov.label, "sg-07e3f19a2b4c5d6e8 implicit deny");
        assert_eq!(prov.line, 3, "the group object");
        assert!(src.text[prov.span.start..prov.span.end]
            .contains("\"GroupId\": \"sg-07e3f19a2b4c5d6e8\""));
    }

    #[test]
    fn group_references_resolved_and_unresolved() {
        let a = "sg-0f1e2d3c4b5a69788";
        let b = "sg-0b2c4d6e8f0a1c3e5";
        // unresolved: the rule is undecidable, with a reason that says how to resolve it
        let (src, p) = load("zca-sg-referencing.json", &Resolver::default());
        assert_eq!(count(&p, IssueKind::ParseError), 0);
        let und: Vec<&ParseIssue> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::Undecidable)
            .collect();
        assert_eq!(und.len(), 2, "one per referenced group: {und:#?}");
        assert!(und[0].message.contains(b));
        assert_eq!(
            &src.text[und[0].span.start..und[0].span.end],
            format!("\"{b}\"")
        );
        assert!(und[0]
            .help
            .as_deref()
            .unwrap()
            .contains(&format!("--address {b}=")));
        let rs_a = ruleset(&p, a);
        let out = eval(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007));
        assert!(
            out.iter().all(|o| o.verdict == Verdict::Unknown),
            "{out:#?}"
        );
        assert!(out[0]
            .reasons
            .iter()
            .any(|r| r.contains(b) && r.contains("[addresses]")));
        // the other ports are not touched by the doubt
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 22)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.0.5.20", TCP, 9669)),
            Verdict::Allow
        );

        // resolved through the inventory's names
        let mut names = Resolver::default();
        names.insert(b, AddrSet::parse("10.30.1.0/24").unwrap());
        let (_, p) = load("zca-sg-referencing.json", &names);
        assert_eq!(count(&p, IssueKind::Undecidable), 1, "only {a} is left");
        let rs_a = ruleset(&p, a);
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs_a, Hook::Input, &flow("10.30.2.2", TCP, 4007)),
            Verdict::Deny
        );
        assert_eq!(
            decider(rs_a, Hook::Input, &flow("10.30.1.2", TCP, 4007)).label,
            format!("{a}/ingress #1 tcp 4005-4009 from {b}")
        );
        // a group is found by its name too
        let mut names = Resolver::default();
        names.insert("zerto-zca-site-a", AddrSet::parse("10.0.0.0/8").unwrap());
        let text = read("zca-sg-referencing.json").replace(
            &format!("\"GroupId\": \"{a}\",\n                            \"UserId\""),
            "\"GroupName\": \"zerto-zca-site-a\",\n                            \"UserId\"",
        );
        assert!(text.contains("\"GroupName\": \"zerto-zca-site-a\",\n"));
        let (_, p) = parse_str("by-name.json", &text, &names);
        let rs_b = ruleset(&p, b);
        assert_eq!(
            verdict(rs_b, Hook::Input, &flow("10.30.1.2", TCP, 4005)),
            Verdict::Allow
        );
    }

    #[test]
    fn all_protocols_icmp_ipv6_and_prefix_lists() {
        let gid = "sg-0c9d8e7f6a5b4c3d2";
        let mut names = Resolver::default();
        names.insert(gid, AddrSet::parse("10.20.7.0/24").unwrap());
        let (_, p) = load("sg-ipv6-prefix-icmp.json", &names);
        // the prefix list is not resolved: one issue, its rule undecidable
        assert_eq!(count(&p, IssueKind::ParseError), 0, "{:#?}", p.issues);
        assert_eq!(count(&p, IssueKind::Undecidable), 1);
        assert!(p.issues[0].message.contains("pl-0a1b2c3d4e5f6a7b8"));
        let rs = ruleset(&p, gid);
        let labels: Vec<&str> = rs.policies[0]
            .rules
            .iter()
            .map(|r| r.prov.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "sg-0c9d8e7f6a5b4c3d2/ingress #1 all traffic from sg-0c9d8e7f6a5b4c3d2",
                "sg-0c9d8e7f6a5b4c3d2/ingress #2 tcp 9669 from 2001:db8:1200::/40",
                "sg-0c9d8e7f6a5b4c3d2/ingress #3 tcp 443 from pl-0a1b2c3d4e5f6a7b8",
                "sg-0c9d8e7f6a5b4c3d2/ingress #4 icmp all from 10.20.0.0/16",
                "sg-0c9d8e7f6a5b4c3d2/ingress #5 icmp 3/4 from 0.0.0.0/0",
                "sg-0c9d8e7f6a5b4c3d2/ingress #6 icmpv6 all from ::/0",
                "sg-0c9d8e7f6a5b4c3d2/egress #1 all traffic to 0.0.0.0/0",
                "sg-0c9d8e7f6a5b4c3d2/egress #1 all traffic to ::/0",
            ]
        );
        // IpProtocol -1 without ports: any protocol, any port, from the members
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.7.9", 47, 0)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.7.9", TCP, 65535)),
            Verdict::Allow
        );
        // IPv6 range
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8:12ab::1", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8:1300::1", TCP, 9669)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.8.1", TCP, 9669)),
            Verdict::Deny
        );
        // ICMP -1: every type and code; 3/4 only that one from elsewhere
        let echo = 8u16 << 8; // type 8 code 0
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.99.1", ICMP, echo)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, echo)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, 0x0304)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", ICMP, 0x0303)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("2001:db8::9", ICMPV6, 128 << 8)),
            Verdict::Allow
        );
        // the prefix list: unknown for 443, whoever asks
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.100.1", TCP, 443)),
            Verdict::Unknown
        );
        let mut names2 = names.clone();
        names2.insert(
            "pl-0a1b2c3d4e5f6a7b8",
            AddrSet::parse("198.51.100.0/24").unwrap(),
        );
        let (_, p) = load("sg-ipv6-prefix-icmp.json", &names2);
        assert!(p.issues.is_empty());
        let rs = ruleset(&p, gid);
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.100.1", TCP, 443)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("198.51.101.1", TCP, 443)),
            Verdict::Deny
        );
    }

    #[test]
    fn bad_values_are_parse_errors_at_the_value_and_rules_stay_undecidable() {
        let (src, p) = load("sg-bad-values.json", &Resolver::default());
        let errs: Vec<(&str, &str)> = p
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::ParseError)
            .map(|i| (&src.text[i.span.start..i.span.end], i.message.as_str()))
            .collect();
        let at: Vec<&str> = errs.iter().map(|e| e.0).collect();
        assert_eq!(
            at,
            [
                "\"abc\"",
                "true",
                "70000",
                "9081,\n                    \"IpProtocol\": \"tcp\",\n                    \"IpRanges\": [\n                        {\n                            \"CidrIp\": \"10.20.0.0/16\"\n                        }\n                    ],\n                    \"Ipv6Ranges\": [],\n                    \"PrefixListIds\": [],\n                    \"ToPort\": 9080",
                "\"10.20.0.0/33\"",
                "\"gre\"",
            ],
            "{errs:#?}"
        );
        assert_eq!(count(&p, IssueKind::Undecidable), 0);
        let rs = &p.rulesets[0];
        // every permission is kept: 7 rules
        let rules = &rs.policies[0].rules;
        assert_eq!(chain_len(rs, "Ingress"), 7);
        let undecidable: Vec<bool> = rules
            .iter()
            .take(7)
            .map(|r| !r.undecidable.is_empty())
            .collect();
        assert_eq!(undecidable, [true, true, true, false, true, true, true]);
        assert!(rules[0].undecidable[0].contains("FromPort \"abc\""));
        assert!(rules[1].undecidable[0].contains("ToPort 70000"));
        assert!(rules[2].undecidable[0].contains("IpProtocol true"));
        assert!(rules[5].undecidable[0].contains("10.20.0.0/33"));
        // `"IpProtocol": 6` is fine
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 4006)),
            Verdict::Allow
        );
        // what the bad rules touch is unknown, not allowed and not denied
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", TCP, 9669)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.20.1.1", UDP, 9)),
            Verdict::Unknown
        );
    }

    #[test]
    fn truncated_export_is_not_json() {
        let text = read("sg-truncated.json");
        let e = json::parse(&text).unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
    }

    #[test]
    fn wrong_types_keep_an_undecidable_rule() {
        let text = r#"{"SecurityGroups": [{"GroupId": "sg-x", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": "10.0.0.0/8"},
            {"FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"Description": "no cidr"}], "UserIdGroupPairs": [{"UserId": "1"}]},
            "tcp/8443"
        ], "IpPermissionsEgress": {}}, 5]}"#;
        let (src, p) = parse_str("types.json", text, &Resolver::default());
        let at: Vec<&str> = p
            .issues
            .iter()
            .map(|i| {
                assert_eq!(i.kind, IssueKind::ParseError);
                &src.text[i.span.start..i.span.end]
            })
            .collect();
        assert_eq!(at.len(), 7, "{:#?}", p.issues);
        assert_eq!(at[0], "\"10.0.0.0/8\"");
        assert!(
            at[1].starts_with("{\"FromPort\": 80"),
            "missing IpProtocol: {}",
            at[1]
        );
        assert_eq!(at[6], "5");
        let rs = &p.rulesets[0];
        assert_eq!(chain_len(rs, "Ingress"), 5);
        assert_eq!(chain_len(rs, "Egress"), 1);
        assert!(rs.policies[0]
            .rules
            .iter()
            .all(|r| !r.undecidable.is_empty()));
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.1.1.1", TCP, 22)),
            Verdict::Unknown
        );
    }

    #[test]
    fn corpus_describe_network_acls() {
        let (_, p) = load(
            "corpus/awscli-example-describe-network-acls.json",
            &Resolver::default(),
        );
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let ids: Vec<&str> = p
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(ids, ["acl-0ea1f54ca7EXAMPLE", "acl-0e2a78e4e2EXAMPLE"]);
        let first = &p.rulesets[0];
        assert_eq!(
            (chain_len(first, "Inbound"), chain_len(first, "Outbound")),
            (2, 2)
        );
        let second = &p.rulesets[1];
        assert_eq!(
            (chain_len(second, "Inbound"), chain_len(second, "Outbound")),
            (4, 4)
        );
        for rs in &p.rulesets {
            assert!(rs.stateless);
            assert_eq!(rs.policies[0].semantics, Semantics::FirstMatch);
            let key = rs.name.clone().unwrap();
            assert_eq!(
                rs.pipeline(Hook::Input).unwrap().name,
                format!("{key}/Inbound")
            );
            assert_eq!(
                rs.pipeline(Hook::Output).unwrap().name,
                format!("{key}/Outbound")
            );
        }
        let pol = &second.policies[0];
        let inbound = &pol.chains[pol.chain_by_name("Inbound").unwrap()];
        let labels: Vec<&str> = inbound
            .rules
            .iter()
            .map(|&r| pol.rules[r].prov.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 100 allow all traffic from 0.0.0.0/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 101 allow all traffic from ::/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 32767 deny all traffic from 0.0.0.0/0",
                "acl-0e2a78e4e2EXAMPLE/Inbound rule 32768 deny all traffic from ::/0",
            ]
        );
        assert_eq!(
            verdict(second, Hook::Input, &flow("2001:db8::1", TCP, 4008)),
            Verdict::Allow
        );
        // the first ACL has no IPv6 entries: IPv6 falls through to the implicit deny
        assert_eq!(
            verdict(first, Hook::Input, &flow("2001:db8::1", TCP, 4008)),
            Verdict::Deny
        );
        assert_eq!(
            decider(first, Hook::Input, &flow("2001:db8::1", TCP, 4008)).label,
            "acl-0ea1f54ca7EXAMPLE implicit deny"
        );
    }

    #[test]
    fn nacl_first_match_by_rule_number_and_no_return_path() {
        let (_, p) = load("nacl-no-return-path.json", &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = ruleset(&p, "acl-0d4c2b6a8e1f3a5c7");
        assert!(rs.stateless);
        // 90 deny before 100 allow
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.99.5", TCP, 4008)),
            Verdict::Deny
        );
        assert_eq!(
            decider(rs, Hook::Input, &flow("10.30.99.5", TCP, 4008)).label,
            "acl-0d4c2b6a8e1f3a5c7/Inbound rule 90 deny tcp 4005-4009 from 10.30.99.0/24"
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.1.5", TCP, 4008)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.30.1.5", ICMP, 0x0800)),
            Verdict::Allow
        );
        // the replies to the peer's ephemeral ports are not allowed out
        let mut reply = PacketBox::full();
        reply.dst = AddrSet::parse("10.30.1.5").unwrap();
        reply.proto = ProtoSet::single(TCP);
        reply.dport = PortSet::range(1024, 65535);
        reply.state = ConnState::Established.set();
        let out = eval(rs, Hook::Output, &reply);
        assert!(out.iter().any(|o| o.verdict == Verdict::Deny));
        reply.dport = PortSet::range(32768, 60999);
        assert_eq!(verdict(rs, Hook::Output, &reply), Verdict::Deny);
    }

    #[test]
    fn nacl_order_is_rule_number_not_file_order() {
        let text = r#"{"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": [
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "PortRange": {"From": 0, "To": 65535}, "Protocol": "6", "RuleAction": "allow", "RuleNumber": 200},
            {"CidrBlock": "10.0.0.0/8", "Egress": false, "PortRange": {"From": 9669, "To": 9669}, "Protocol": "6", "RuleAction": "deny", "RuleNumber": 100},
            {"CidrBlock": "10.1.0.0/16", "Egress": false, "PortRange": {"From": 9669, "To": 9669}, "Protocol": "6", "RuleAction": "allow", "RuleNumber": 50},
            {"CidrBlock": "10.0.0.0/8", "Egress": false, "IcmpTypeCode": {"Code": -1, "Type": 8}, "Protocol": "1", "RuleAction": "deny", "RuleNumber": 10}
        ]}]}"#;
        let (_, p) = parse_str("order.json", text, &Resolver::default());
        assert!(p.issues.is_empty(), "{:#?}", p.issues);
        let rs = &p.rulesets[0];
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.1.2.3", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", TCP, 9669)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("8.8.8.8", TCP, 9669)),
            Verdict::Allow
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", ICMP, 0x0800)),
            Verdict::Deny
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("10.2.2.3", ICMP, 0x0000)),
            Verdict::Deny
        );
        let pol = &rs.policies[0];
        let numbers: Vec<&str> = pol.chains[0]
            .rules
            .iter()
            .map(|&r| pol.rules[r].prov.label.split(' ').nth(2).unwrap())
            .collect();
        assert_eq!(numbers, ["10", "50", "100", "200"]);
        assert_eq!(chain_len(rs, "Outbound"), 0);
    }

    #[test]
    fn nacl_bad_entries() {
        let text = r#"{"NetworkAcls": [{"NetworkAclId": "acl-2", "Entries": [
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 22, "To": 22}, "RuleAction": "permit", "RuleNumber": 100},
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 80, "To": 80}, "RuleAction": "allow", "RuleNumber": 100},
            {"CidrBlock": "0.0.0.0/0", "Egress": "sideways", "Protocol": "6", "PortRange": {"From": 443, "To": 443}, "RuleAction": "allow", "RuleNumber": 120},
            {"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 9669, "To": 9669}, "RuleAction": "allow"}
        ]}]}"#;
        let (src, p) = parse_str("bad-acl.json", text, &Resolver::default());
        let at: Vec<&str> = p
            .issues
            .iter()
            .map(|i| {
                assert_eq!(i.kind, IssueKind::ParseError);
                &src.text[i.span.start..i.span.end]
            })
            .collect();
        assert_eq!(at.len(), 4, "{:#?}", p.issues);
        assert_eq!(at[0], "\"sideways\"");
        assert!(at[1].contains("9669"), "missing RuleNumber: {}", at[1]);
        assert!(at.contains(&"\"permit\""));
        assert!(at.contains(&"100"), "duplicate rule number");
        let rs = &p.rulesets[0];
        // the unknown direction goes to both chains
        assert_eq!(
            (chain_len(rs, "Inbound"), chain_len(rs, "Outbound")),
            (4, 1)
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 22)),
            Verdict::Unknown
        );
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 443)),
            Verdict::Unknown
        );
        // the entry without a number may come before anything: 9669 is unknown
        assert_eq!(
            verdict(rs, Hook::Input, &flow("1.1.1.1", TCP, 9669)),
            Verdict::Unknown
        );
    }

    #[test]
    fn bare_arrays_and_single_objects() {
        let groups = r#"[{"GroupId": "sg-1", "GroupName": "a", "IpPermissions": [], "IpPermissionsEgress": []}]"#;
        let (_, p) = parse_str("q.json", groups, &Resolver::default());
        assert_eq!(p.rulesets.len(), 1);
        let one = r#"{"GroupId": "sg-1", "GroupName": "a", "IpPermissions": []}"#;
        let (_, p) = parse_str("one.json", one, &Resolver::default());
        assert_eq!(p.rulesets[0].name.as_deref(), Some("sg-1"));
        let acls = r#"[{"NetworkAclId": "acl-9", "Entries": []}]"#;
        let (_, p) = parse_str("acls.json", acls, &Resolver::default());
        assert!(p.rulesets[0].stateless);
        let rules = r#"[{"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": true, "IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"}]"#;
        let (_, p) = parse_str("r.json", rules, &Resolver::default());
        assert_eq!(chain_len(&p.rulesets[0], "Egress"), 1);
        assert!(p.issues.is_empty());
    }

    #[test]
    fn sniff_refuses_other_json() {
        let no = [
            r#"{"format_version": "1.2", "planned_values": {}}"#,
            r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Network/networkSecurityGroups", "name": "nsg", "properties": {"securityRules": []}}]}"#,
            r#"{"name": "testnsg", "type": "Microsoft.Network/networkSecurityGroups", "properties": {"securityRules": [], "defaultSecurityRules": []}}"#,
            r#"[{"name": "nsg-zvm", "securityRules": [{"name": "r", "priority": 100}]}]"#,
            r#"{"value": [{"name": "nsg", "properties": {"securityRules": []}}]}"#,
            r#"{"GroupId": "sg-1"}"#,
            r#"[]"#,
            r#"[1, 2]"#,
            r#""SecurityGroups""#,
        ];
        for t in no {
            assert!(!sniff(&json::parse(t).unwrap()), "{t}");
        }
        let plan = read("corpus/terraform-plan-aws_security_group-module-for_each.json");
        assert!(!sniff(&json::parse(&plan).unwrap()));
        // the Azure corpus, where the shared folder is beside the repository
        let azure = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/azure");
        if let Ok(dir) = std::fs::read_dir(azure) {
            for f in dir.flatten() {
                let text = std::fs::read_to_string(f.path()).unwrap();
                let json = json::parse(&text).unwrap();
                assert!(!sniff(&json), "{}", f.path().display());
            }
        }
    }

    #[test]
    fn sniff_accepts_the_aws_shapes() {
        for t in [
            r#"{"SecurityGroups": []}"#,
            r#"{"SecurityGroupRules": [], "NextToken": "x"}"#,
            r#"{"NetworkAcls": []}"#,
        ] {
            assert!(sniff(&json::parse(t).unwrap()), "{t}");
        }
    }
}
