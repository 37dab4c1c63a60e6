//! Which security groups a plan attaches to one resource: an instance's
//! `vpc_security_group_ids`, a network interface's or load balancer's `security_groups`, a
//! function's `vpc_config[0].security_group_ids`. AWS evaluates the groups of one interface
//! together (a packet is admitted when any admits it), so each list is one firewall
//! ([`Attachment`]); a group no list names is a firewall of its own.
//!
//! A list known only after apply is read from the configuration's references to groups of the
//! plan. A list that holds a group this plan does not define (a literal id, a variable, another
//! module's output) gets that group with unknown rules: what the plan's groups admit is admitted,
//! anything else is unknown. A list that is known only after apply and that the configuration
//! does not set (`aws_instance.security_groups` echoing `vpc_security_group_ids`) is computed
//! from the others and not read.

use super::aws::Aws;
use super::{got, reference_to, Got, Res, Tf, SG, SG_RULE, VPC_EGRESS, VPC_INGRESS};
use crate::formats::aws::{Attachment, Permission, SecurityGroup};
use crate::formats::json::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// Attributes that list the groups of a resource's interfaces.
const LIST_KEYS: [&str; 3] = [
    "vpc_security_group_ids",
    "security_groups",
    "security_group_ids",
];

/// Module nesting followed (as the reader's walk).
const MAX_MODULES: usize = 64;

impl<'j, 'a> Tf<'j, 'a> {
    /// Every list of groups of every AWS resource of the plan that is no firewall itself.
    pub(super) fn aws_attachments(&mut self, root: &'j Json<'a>, aws: &mut Aws) -> Vec<Attachment> {
        let mut out = Vec::new();
        let mut stack = vec![(root, String::new(), 0usize)];
        while let Some((module, prefix, depth)) = stack.pop() {
            if depth > MAX_MODULES {
                continue;
            }
            for r in module
                .get("resources")
                .and_then(|r| r.as_array())
                .unwrap_or(&[])
            {
                self.attaching_resource(r, &prefix, aws, &mut out);
            }
            for c in module
                .get("child_modules")
                .and_then(|c| c.as_array())
                .unwrap_or(&[])
            {
                if let Some(addr) = c.get("address").and_then(|a| a.as_str()) {
                    stack.push((c, addr.to_string(), depth + 1));
                }
            }
        }
        out
    }

    fn attaching_resource(
        &mut self,
        r: &'j Json<'a>,
        prefix: &str,
        aws: &mut Aws,
        out: &mut Vec<Attachment>,
    ) {
        let Some(rtype) = r.get("type").and_then(|t| t.as_str()) else {
            return;
        };
        if !rtype.starts_with("aws_")
            || [SG, SG_RULE, VPC_INGRESS, VPC_EGRESS].contains(&rtype)
            || r.get("mode").and_then(|m| m.as_str()) != Some("managed")
        {
            return;
        }
        let (Some(address), Some(values)) = (
            r.get("address").and_then(|a| a.as_str()),
            r.get("values").filter(|v| v.members().is_some()),
        ) else {
            return;
        };
        let res = Res {
            address: address.to_string(),
            module: prefix.to_string(),
            rtype,
            name: r.get("name").and_then(|n| n.as_str()).unwrap_or(""),
            obj: r,
            values: Some(values),
            unknown: self.unknown.get(address).copied(),
        };
        for key in LIST_KEYS {
            self.attachment(
                &res,
                key,
                address.to_string(),
                Some(values),
                res.unknown,
                true,
                aws,
                out,
            );
        }
        // lists one block down: `vpc_config[0].security_group_ids`, `network_interface[0]...`
        for m in values.members().unwrap_or(&[]) {
            let Some(blocks) = m.value.as_array() else {
                continue;
            };
            for (i, b) in blocks.iter().enumerate() {
                if b.members().is_none() {
                    continue;
                }
                let unk = res
                    .unknown
                    .and_then(|u| u.get(&m.key))
                    .and_then(|u| u.as_array())
                    .and_then(|u| u.get(i));
                for key in LIST_KEYS {
                    let at = format!("{address}.{}[{i}]", m.key);
                    self.attachment(&res, key, at, Some(b), unk, false, aws, out);
                }
            }
        }
    }

    /// One list of groups, `key` of `obj`: one attachment named `at`.
    #[allow(clippy::too_many_arguments)]
    fn attachment(
        &mut self,
        res: &Res<'j, 'a>,
        key: &str,
        at: String,
        obj: Option<&'j Json<'a>>,
        unk: Option<&'j Json<'a>>,
        top: bool,
        aws: &mut Aws,
        out: &mut Vec<Attachment>,
    ) {
        let mut keys: Vec<String> = Vec::new();
        let mut add = |k: String| {
            if !keys.contains(&k) {
                keys.push(k);
            }
        };
        match got(obj, unk, key) {
            Got::Missing => return,
            Got::Value(v) => {
                let Some(items) = v.as_array() else {
                    return;
                };
                for item in items {
                    if let Some(id) = item.as_str() {
                        let i = aws.find(id).unwrap_or_else(|| {
                            external(self, aws, id, item.span, &format!("`{at}.{key}`"))
                        });
                        add(aws.key(i));
                    }
                }
                let marks = unk.and_then(|u| u.get(key));
                if !matches!(marks.map(|m| &m.kind), Some(Kind::Array(ms)) if ms.iter().any(|m| matches!(m.kind, Kind::Bool(true))))
                {
                    return push(out, at, keys);
                }
                // some elements known only after apply: read them as unknown below
                let span = marks.map(|m| m.span).unwrap_or(v.span);
                self.after_apply_list(res, key, &at, span, top, aws, &mut add);
            }
            Got::Unknown(span) => {
                if !self.after_apply_list(res, key, &at, span, top, aws, &mut add) {
                    return;
                }
            }
        }
        push(out, at, keys);
    }

    /// The groups of a list known only after apply, from the configuration's references; false
    /// when the configuration does not set the list (it is computed from others).
    #[allow(clippy::too_many_arguments)]
    fn after_apply_list(
        &mut self,
        res: &Res<'j, 'a>,
        key: &str,
        at: &str,
        span: Span,
        top: bool,
        aws: &mut Aws,
        add: &mut impl FnMut(String),
    ) -> bool {
        let expr = if top { self.expression(res, key) } else { None };
        if top && self.config.is_some() && expr.is_none() {
            return false;
        }
        let refs: Vec<&str> = if top {
            self.references(res, key)
        } else {
            Vec::new()
        };
        let mut unresolved = refs.is_empty();
        for s in &refs {
            let found = reference_to(s, SG).and_then(|(name, idx)| {
                let addr = if res.module.is_empty() {
                    format!("{SG}.{name}{idx}")
                } else {
                    format!("{}.{SG}.{name}{idx}", res.module)
                };
                aws.find(&addr)
            });
            match found {
                Some(i) => add(aws.key(i)),
                None => unresolved = true,
            }
        }
        // anything else the list may hold (a variable, another module's output, a `for_each`
        // group whose instance is not named) is a group of unknown rules
        if unresolved {
            let i = external(self, aws, &format!("{at}.{key}"), span, "its value");
            add(aws.key(i));
        }
        true
    }
}

fn push(out: &mut Vec<Attachment>, at: String, keys: Vec<String>) {
    if !keys.is_empty() {
        out.push(Attachment {
            resource: at,
            groups: keys,
        });
    }
}

/// A group a list names that the plan does not define: its rules are unknown.
fn external(tf: &mut Tf<'_, '_>, aws: &mut Aws, key: &str, span: Span, named_by: &str) -> usize {
    if let Some(i) = aws.find(key) {
        return i;
    }
    let why = format!(
        "security group `{key}` (named by {named_by}) is not in this plan: its rules are unknown"
    );
    tf.issues.push(ParseIssue {
        kind: IssueKind::Undecidable,
        span,
        message: why.clone(),
        label: "group not in the plan".into(),
        help: Some(
            "audit the group's own export (`aws ec2 describe-security-groups`) or the plan that creates it, together with this one"
                .into(),
        ),
    });
    aws.push_external(SecurityGroup {
        id: Some(key.to_string()),
        name: None,
        description: None,
        vpc_id: None,
        owner_id: None,
        ingress: vec![Permission::elsewhere(why.clone(), span)],
        egress: vec![Permission::elsewhere(why, span)],
        span,
    })
}
