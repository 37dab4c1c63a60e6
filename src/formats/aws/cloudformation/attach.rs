//! Which groups a template attaches to one resource, and groups it names but does not define.
//!
//! AWS evaluates the security groups of one network interface together: a packet is admitted
//! when any of them admits it. A template says which groups share an interface when a resource
//! lists them (`AWS::EC2::Instance` `SecurityGroupIds`, a network interface's `GroupSet`, a
//! load balancer's `SecurityGroups`, an RDS instance's `VPCSecurityGroups`, a function's
//! `VpcConfig.SecurityGroupIds`, ...): each such list is an [`Attachment`]. Groups no list names
//! are each a firewall of their own.
//!
//! A group the template names but does not define (a parameter, `Fn::ImportValue`,
//! `Fn::Select`, a literal `sg-...`) exists elsewhere with rules the template does not show: it
//! becomes a group whose ingress and egress are unknown, plus whatever rules the template adds
//! to it. What those rules admit is admitted; anything else is unknown, never blocked.

use super::values::{Cfn, Value};
use super::{ACL, ACL_ENTRY, EGRESS, GROUP, INGRESS};
use crate::formats::aws::{Attachment, Permission, SecurityGroup};
use crate::formats::json::{Json, Kind, Member};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Properties that list the security groups of a resource's network interfaces.
const LIST_KEYS: [&str; 5] = [
    "SecurityGroupIds",
    "SecurityGroups",
    "GroupSet",
    "VPCSecurityGroups",
    "VpcSecurityGroupIds",
];

/// A launch template's `NetworkInterfaces[].Groups`: only there does `Groups` list security
/// groups (an IAM user's `Groups` are IAM groups).
fn lists_groups(at: &str, key: &str) -> bool {
    LIST_KEYS.contains(&key) || (key == "Groups" && at.contains("NetworkInterfaces["))
}

/// Properties are searched this deep for such lists (`NetworkInterfaces[0].GroupSet`,
/// `NetworkConfiguration.AwsvpcConfiguration.SecurityGroups`).
const MAX_DEPTH: usize = 6;

/// How a value that names a group reads, for the name of a group the template does not define
/// (`!ImportValue shared-sg`, `!Select [0, !Ref Groups]`). Bounded in length.
pub(super) fn render(v: &Json<'_>) -> String {
    fn go(v: &Json<'_>, out: &mut String, depth: usize) {
        if out.len() > 80 || depth > 8 {
            if !out.ends_with('…') {
                out.push('…');
            }
            return;
        }
        match &v.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Kind::Number(n) => out.push_str(n),
            Kind::String(s) => out.push_str(s),
            Kind::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(item, out, depth + 1);
                }
                out.push(']');
            }
            Kind::Object(ms) => match ms.as_slice() {
                [m] if m.key == "Ref" || m.key.starts_with("Fn::") => {
                    out.push('!');
                    out.push_str(m.key.trim_start_matches("Fn::"));
                    out.push(' ');
                    go(&m.value, out, depth + 1);
                }
                _ => out.push_str("{…}"),
            },
        }
    }
    let mut out = String::new();
    go(v, &mut out, 0);
    out
}

impl Cfn<'_> {
    /// The group a value names: its key (the logical id of a group of the template, else a name
    /// for a group defined elsewhere) and whether the template defines it.
    pub(super) fn group_key(&self, v: &Json<'_>) -> Option<(String, bool)> {
        match self.classify(v) {
            Value::Resource { name, .. } => {
                let ours = self.types.get(&name).is_some_and(|t| t == GROUP);
                Some((name, ours))
            }
            Value::Param { name, .. } => Some((name, false)),
            Value::Other { .. } => Some((render(v), false)),
            Value::Literal(l) => l.as_str().map(|s| (s.to_string(), false)),
        }
    }

    /// The index of the group named `key`; a group the template does not define is added, its
    /// own rules unknown (one undecidable note at `span`, where the template names it).
    pub(super) fn group_index(
        &mut self,
        key: &str,
        span: Span,
        groups: &mut Vec<SecurityGroup>,
    ) -> usize {
        if let Some(i) = groups.iter().position(|g| g.id.as_deref() == Some(key)) {
            return i;
        }
        let why = format!(
            "security group `{key}` is not defined in this template: the rules it has besides those the template adds are unknown"
        );
        self.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span,
            message: why.clone(),
            label: "group not in the template".into(),
            help: Some(
                "audit the group's own export (`aws ec2 describe-security-groups --group-ids ...`) or the template that defines it, together with this one"
                    .into(),
            ),
        });
        groups.push(SecurityGroup {
            id: Some(key.to_string()),
            name: None,
            description: None,
            vpc_id: None,
            owner_id: None,
            ingress: vec![Permission::elsewhere(why.clone(), span)],
            egress: vec![Permission::elsewhere(why, span)],
            span,
        });
        groups.len() - 1
    }

    /// Every list of groups of every resource that is no firewall itself.
    pub(super) fn attachments(
        &mut self,
        resources: &[Member<'_>],
        groups: &mut Vec<SecurityGroup>,
    ) -> Vec<Attachment> {
        const SKIP: [&str; 6] = [
            GROUP,
            INGRESS,
            EGRESS,
            ACL,
            ACL_ENTRY,
            "AWS::CloudFormation::Stack",
        ];
        let mut out = Vec::new();
        for r in resources {
            let ty = r.value.get("Type").and_then(|t| t.as_str());
            if ty.is_none_or(|t| SKIP.contains(&t) || t.starts_with("AWS::IAM::")) {
                continue;
            }
            if let Some(props) = r.value.get("Properties") {
                self.lists(&r.key, props, 0, groups, &mut out);
            }
        }
        out
    }

    fn lists(
        &mut self,
        at: &str,
        v: &Json<'_>,
        depth: usize,
        groups: &mut Vec<SecurityGroup>,
        out: &mut Vec<Attachment>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match &v.kind {
            Kind::Object(ms) => {
                if matches!(self.classify(v), Value::Literal(_)) {
                    for m in ms {
                        if lists_groups(at, &m.key) {
                            self.list(at, &m.value, groups, out);
                        } else {
                            self.lists(
                                &format!("{at}.{}", m.key),
                                &m.value,
                                depth + 1,
                                groups,
                                out,
                            );
                        }
                    }
                }
            }
            Kind::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.lists(&format!("{at}[{i}]"), item, depth + 1, groups, out);
                }
            }
            _ => {}
        }
    }

    /// One list of groups: one attachment.
    fn list(
        &mut self,
        at: &str,
        v: &Json<'_>,
        groups: &mut Vec<SecurityGroup>,
        out: &mut Vec<Attachment>,
    ) {
        let items: Vec<&Json<'_>> = match self.classify(v) {
            Value::Literal(l) => match l.as_array() {
                Some(items) => items.iter().collect(),
                None => return,
            },
            // a parameter or intrinsic giving the whole list: groups defined elsewhere
            _ => vec![v],
        };
        let mut keys: Vec<String> = Vec::new();
        for item in items {
            let Some((key, ours)) = self.group_key(item) else {
                continue;
            };
            if !ours {
                self.group_index(&key, item.span, groups);
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if !keys.is_empty() {
            out.push(Attachment {
                resource: at.to_string(),
                groups: keys,
            });
        }
    }
}
