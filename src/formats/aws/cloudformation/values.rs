//! Property values of a template: literals, and the intrinsics (`!Ref`, `!GetAtt`, ...) that
//! make a value known only once deployed.

use std::collections::HashMap;

use super::GROUP;
use crate::formats::aws::describe::protocol;
use crate::formats::aws::{Field, GroupRef, Peer, Target};
use crate::formats::json::fields::{self, describe, member, parse_error};
use crate::formats::json::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// What a property's value is.
pub(super) enum Value<'j, 'a> {
    /// Written in the template (a scalar, or a list or mapping that is no intrinsic).
    Literal(&'j Json<'a>),
    /// `!Ref R` or `!GetAtt R.attr` of a resource of this template.
    Resource { name: String, attr: Option<String> },
    /// `!Ref P` of a template parameter.
    Param {
        name: String,
        default: Option<String>,
    },
    /// Any other intrinsic: known only at deploy time.
    Other { shown: String },
}

pub(super) struct Cfn<'i> {
    pub(super) issues: &'i mut Vec<ParseIssue>,
    /// Parameters and their defaults as written.
    pub(super) params: HashMap<String, Option<String>>,
    /// Resource logical ids and their types.
    pub(super) types: HashMap<String, String>,
}

/// A short rendering of an intrinsic's argument for labels.
fn short(v: &Json<'_>) -> String {
    match &v.kind {
        Kind::String(s) => {
            let s: String = s.chars().take(60).collect();
            s
        }
        Kind::Number(n) => n.to_string(),
        _ => "…".into(),
    }
}

impl Cfn<'_> {
    pub(super) fn error(&mut self, span: Span, message: String, label: &str) {
        self.issues.push(parse_error(span, message, label));
    }

    pub(super) fn classify<'j, 'a>(&self, v: &'j Json<'a>) -> Value<'j, 'a> {
        let Some([m]) = v.members() else {
            return Value::Literal(v);
        };
        let key = m.key.as_ref();
        match key {
            "Ref" => match m.value.as_str() {
                Some(name) => {
                    if let Some(default) = self.params.get(name) {
                        Value::Param {
                            name: name.to_string(),
                            default: default.clone(),
                        }
                    } else if self.types.contains_key(name) {
                        Value::Resource {
                            name: name.to_string(),
                            attr: None,
                        }
                    } else {
                        Value::Other {
                            shown: format!("!Ref {name}"),
                        }
                    }
                }
                None => Value::Other {
                    shown: "!Ref …".into(),
                },
            },
            "Fn::GetAtt" => {
                let parts = match &m.value.kind {
                    Kind::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string())),
                    Kind::Array(a) => match a.as_slice() {
                        [r, at] => r
                            .as_str()
                            .zip(at.as_str())
                            .map(|(r, at)| (r.to_string(), at.to_string())),
                        _ => None,
                    },
                    _ => None,
                };
                match parts {
                    Some((r, at)) if self.types.contains_key(&r) => Value::Resource {
                        name: r,
                        attr: Some(at),
                    },
                    Some((r, at)) => Value::Other {
                        shown: format!("!GetAtt {r}.{at}"),
                    },
                    None => Value::Other {
                        shown: "!GetAtt …".into(),
                    },
                }
            }
            k if k.starts_with("Fn::") || k == "Condition" => Value::Other {
                shown: format!("!{} {}", k.trim_start_matches("Fn::"), short(&m.value)),
            },
            _ => Value::Literal(v),
        }
    }

    /// A value that is not in the template: the reason, and an undecidable issue at it.
    pub(super) fn not_in_template(&mut self, key: &str, v: &Value<'_, '_>, span: Span) -> String {
        let reason = match v {
            Value::Param { name, default } => format!(
                "{key} is `!Ref {name}`, a template parameter{}: its deployed value is not in the template",
                default
                    .as_ref()
                    .map(|d| format!(" (default `{d}`)"))
                    .unwrap_or_default()
            ),
            Value::Resource { name, attr } => format!(
                "{key} is {} of resource {name}, known only once it is deployed",
                attr.as_ref()
                    .map(|a| format!("attribute {a}"))
                    .unwrap_or_else(|| "the id".into())
            ),
            Value::Other { shown } => format!(
                "{key} is `{shown}`, computed by CloudFormation at deploy time: it is not in the template"
            ),
            Value::Literal(l) => format!("{key} {} could not be read", describe(l)),
        };
        self.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span,
            message: reason.clone(),
            label: "not in the template".into(),
            help: Some(
                "the rules using this value are undecidable; audit the deployed resources (`aws ec2 describe-security-groups`, `describe-network-acls`) for an exact answer"
                    .into(),
            ),
        });
        reason
    }

    pub(super) fn missing<T>(&mut self, obj: &Json<'_>, key: &str, what: &str) -> Field<T> {
        Field::missing(obj, key, what, self.issues)
    }

    pub(super) fn int(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<i64>> {
        let v = member(obj, key)?;
        Some(match self.classify(v) {
            Value::Literal(l) => Field::read(fields::int(l, key, self.issues), key, l.span),
            other => Field::unknown(self.not_in_template(key, &other, v.span), v.span),
        })
    }

    pub(super) fn protocol(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<String>> {
        let v = member(obj, key)?;
        Some(match self.classify(v) {
            Value::Literal(l) => Field::read(protocol(l, key, self.issues), key, l.span),
            other => Field::unknown(self.not_in_template(key, &other, v.span), v.span),
        })
    }

    pub(super) fn boolean(&mut self, obj: &Json<'_>, key: &str) -> Option<Field<bool>> {
        let v = member(obj, key)?;
        Some(match self.classify(v) {
            Value::Literal(l) => Field::read(fields::boolean(l, key, self.issues), key, l.span),
            other => Field::unknown(self.not_in_template(key, &other, v.span), v.span),
        })
    }

    /// A literal string (descriptions, names); intrinsics and other types give nothing.
    pub(super) fn text(&self, obj: &Json<'_>, key: &str) -> Option<String> {
        member(obj, key)
            .and_then(|v| v.as_str())
            .map(|s| s.to_string())
    }

    /// A source or destination property as a peer of a rule whose object is `span`.
    pub(super) fn peer(
        &mut self,
        obj: &Json<'_>,
        key: &str,
        kind: PeerKind,
        span: Span,
    ) -> Option<Peer> {
        let v = member(obj, key)?;
        let target = match self.classify(v) {
            Value::Literal(l) => match fields::string(l, key, self.issues) {
                Ok(s) => kind.target(s.to_string()),
                Err(shown) => Target::Unknown {
                    reason: format!("{key} {shown} could not be read"),
                    shown,
                },
            },
            Value::Param { name, default } => Target::Param { name, default },
            Value::Resource { name, attr }
                if matches!(kind, PeerKind::GroupId | PeerKind::GroupName)
                    && self.types.get(&name).is_some_and(|t| t == GROUP)
                    && attr.as_deref().is_none_or(|a| a == "GroupId") =>
            {
                Target::Group(GroupRef {
                    id: Some(name),
                    ..GroupRef::default()
                })
            }
            other => {
                let shown = match &other {
                    Value::Resource { name, attr } => match attr {
                        Some(a) => format!("!GetAtt {name}.{a}"),
                        None => format!("!Ref {name}"),
                    },
                    Value::Other { shown } => shown.clone(),
                    _ => "?".into(),
                };
                let reason = self.not_in_template(key, &other, v.span);
                Target::Unknown { shown, reason }
            }
        };
        Some(Peer {
            target,
            description: None,
            span,
            value_span: v.span,
        })
    }
}

/// What a source or destination property holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum PeerKind {
    V4,
    V6,
    PrefixList,
    GroupId,
    GroupName,
}

impl PeerKind {
    fn target(self, s: String) -> Target {
        match self {
            PeerKind::V4 => Target::Cidr4(s),
            PeerKind::V6 => Target::Cidr6(s),
            PeerKind::PrefixList => Target::PrefixList(s),
            PeerKind::GroupId => Target::Group(GroupRef {
                id: Some(s),
                ..GroupRef::default()
            }),
            PeerKind::GroupName => Target::Group(GroupRef {
                name: Some(s),
                ..GroupRef::default()
            }),
        }
    }
}
