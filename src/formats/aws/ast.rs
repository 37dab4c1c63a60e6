//! The AWS vendor AST: security groups with their permissions, network ACLs with their
//! entries, every value a [`Field`] that may be unknown.

use crate::formats::json::fields::parse_error;
use crate::formats::json::Json;
use crate::formats::ParseIssue;
use crate::model::Span;

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

    /// What a [`fields`](crate::formats::json::fields) reader gave for member `key` at `span`:
    /// known, or unknown because the value (as shown) could not be read.
    pub(crate) fn read(r: Result<T, String>, key: &str, span: Span) -> Self {
        match r {
            Ok(v) => Field::known(v, span),
            Err(shown) => Field::unknown(format!("{key} {shown} could not be read"), span),
        }
    }

    /// A required member `key` that the object (a `what`) lacks: a parse error at the object,
    /// unknown from then on.
    pub(crate) fn missing(
        obj: &Json<'_>,
        key: &str,
        what: &str,
        issues: &mut Vec<ParseIssue>,
    ) -> Self {
        issues.push(parse_error(
            obj.span,
            format!("this {what} has no `{key}`"),
            &format!("`{key}` missing"),
        ));
        Field::unknown(format!("the {what} has no {key}"), obj.span)
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

impl Permission {
    /// The rules of a group that this file names but does not define (another stack's, an
    /// existing group's): they match anything, undecidably.
    pub fn elsewhere(reason: String, span: Span) -> Self {
        let mut p = Permission::unknown(reason, span);
        if let Some(peer) = p.peers.first_mut() {
            if let Target::Unknown { shown, .. } = &mut peer.target {
                *shown = "anywhere (rules not in this file)".into();
            }
        }
        p
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

/// Security groups that something attaches to one resource (an instance's `SecurityGroupIds`, a
/// network interface's `GroupSet`, Terraform's `vpc_security_group_ids`): AWS admits what any of
/// them admits, so they are one firewall. Groups of a file that no attachment names are each a
/// firewall of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The resource (a template's logical id, a Terraform address).
    pub resource: String,
    /// The ruleset names (group keys) of its groups, in the order given.
    pub groups: Vec<String>,
}

/// Everything one document holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub groups: Vec<SecurityGroup>,
    pub acls: Vec<NetworkAcl>,
    /// Groups attached together (templates only; a CLI dump does not say).
    pub attachments: Vec<Attachment>,
}
