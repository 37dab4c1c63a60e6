//! Azure NSGs and their rules in a plan, read into the AST of [`crate::formats::azure`].

use std::collections::HashMap;

use super::{got, is_unknown, marks_beyond, unk_at, unk_key, Got, Res, Tf, NSG};
use crate::formats::azure::{Nsg, NsgDoubt, NsgDoubtKind, SecurityRule, Value};
use crate::formats::json::fields::describe;
use crate::formats::json::{Json, Kind};
use crate::model::Span;

/// NSGs read so far.
#[derive(Default)]
pub(super) struct Az {
    pub(super) nsgs: Vec<Nsg>,
    /// The NSG's Azure `name` and `resource_group_name`, when known.
    azure: Vec<(Option<String>, Option<String>)>,
    by_address: HashMap<String, usize>,
}

impl Az {
    pub(super) fn add(&mut self, r: &Res<'_, '_>, n: Nsg) {
        let text = |k: &str| {
            r.values
                .and_then(|v| v.get(k))
                .and_then(|x| x.as_str())
                .map(str::to_string)
        };
        self.by_address.insert(r.address.clone(), self.nsgs.len());
        self.nsgs.push(n);
        self.azure.push((text("name"), text("resource_group_name")));
    }
}

impl<'j, 'a> Tf<'j, 'a> {
    pub(super) fn azure_nsg(&mut self, r: &Res<'j, 'a>) -> Nsg {
        let name_span = r
            .values
            .and_then(|v| v.get("name"))
            .map_or(r.obj.span, |n| n.span);
        let mut n = Nsg::new(r.address.clone(), name_span, r.obj.span);
        const KEY: &str = "security_rule";
        let unk = unk_key(r.unknown, KEY);
        let items = match got(r.values, r.unknown, KEY) {
            Got::Unknown(span) => {
                n.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span,
                    reason: format!(
                        "the `{KEY}` list of {} is known only after apply",
                        r.address
                    ),
                });
                return n;
            }
            Got::Missing => {
                let span = r.values.map_or(r.obj.span, |v| v.span);
                self.error(
                    span,
                    format!("`{KEY}` of {} is not in the file (neither listed nor marked unknown): its rules are unknown", r.address),
                    "`security_rule` missing",
                );
                n.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span,
                    reason: format!("`{KEY}` of {} is not in the file", r.address),
                });
                return n;
            }
            Got::Value(v) => match v.as_array() {
                Some(items) => items,
                None => {
                    self.error(
                        v.span,
                        format!(
                            "`{KEY}` should be a list of rule blocks, not {}",
                            v.type_name()
                        ),
                        "not a list",
                    );
                    n.doubts.push(NsgDoubt {
                        kind: NsgDoubtKind::RulesUnknown,
                        span: v.span,
                        reason: format!("`{KEY}` of {} could not be read", r.address),
                    });
                    return n;
                }
            },
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}.{KEY}[{i}]", r.address);
            let u = unk_at(unk, i);
            if let Some(span) = is_unknown(u) {
                n.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span,
                    reason: format!("`{path}` is known only after apply"),
                });
            } else if item.members().is_some() {
                n.rules.push(self.azure_rule_of(item, u, &path, item.span));
            } else {
                self.error(
                    item.span,
                    format!(
                        "a `{KEY}` block should be an object, not {}",
                        item.type_name()
                    ),
                    "not an object",
                );
                n.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span: item.span,
                    reason: format!("`{path}` could not be read"),
                });
            }
        }
        for (_, span) in marks_beyond(unk, items.len()) {
            n.doubts.push(NsgDoubt {
                kind: NsgDoubtKind::RulesUnknown,
                span,
                reason: format!(
                    "a rule of `{KEY}` of {} is known only after apply",
                    r.address
                ),
            });
        }
        n
    }

    /// One value of a rule field; `None` when absent, null or (strings) empty.
    fn az_scalar(obj: &Json<'a>, unk: Option<&Json<'a>>, key: &str, path: &str) -> Option<Value> {
        match got(Some(obj), unk, key) {
            Got::Missing => None,
            Got::Unknown(span) => Some(Value::unresolved(
                format!("{path}.{key}"),
                span,
                format!("`{path}.{key}` is known only after apply"),
            )),
            Got::Value(v) => match &v.kind {
                Kind::String(s) if s.trim().is_empty() => None,
                Kind::String(s) => Some(Value::literal(s.to_string(), v.span)),
                Kind::Number(n) => Some(Value::literal(*n, v.span)),
                _ => Some(Value::wrong_type(describe(v), v.span, v.type_name())),
            },
        }
    }

    /// The values of a list field (`source_address_prefixes`, `..._ids`).
    fn az_list(obj: &Json<'a>, unk: Option<&Json<'a>>, key: &str, path: &str) -> Vec<Value> {
        let list_unk = unk_key(unk, key);
        let beyond = |from: usize| {
            marks_beyond(list_unk, from).into_iter().map(|(i, span)| {
                let p = format!("{path}.{key}[{i}]");
                Value::unresolved(p.clone(), span, format!("`{p}` is known only after apply"))
            })
        };
        match got(Some(obj), unk, key) {
            Got::Missing => beyond(0).collect(),
            Got::Value(v) => match v.as_array() {
                Some(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let p = format!("{path}.{key}[{i}]");
                        if let Some(span) = is_unknown(unk_at(list_unk, i)) {
                            return Some(Value::unresolved(
                                p.clone(),
                                span,
                                format!("`{p}` is known only after apply"),
                            ));
                        }
                        match &item.kind {
                            Kind::Null => None,
                            Kind::String(s) if s.trim().is_empty() => None,
                            Kind::String(s) => Some(Value::literal(s.to_string(), item.span)),
                            Kind::Number(n) => Some(Value::literal(*n, item.span)),
                            _ => Some(Value::wrong_type(
                                describe(item),
                                item.span,
                                item.type_name(),
                            )),
                        }
                    })
                    .chain(beyond(items.len()))
                    .collect(),
                None => Self::az_scalar(obj, unk, key, path).into_iter().collect(),
            },
            _ => Self::az_scalar(obj, unk, key, path).into_iter().collect(),
        }
    }

    /// A security rule from an inline block or a standalone rule's values; `span` is the rule's.
    fn azure_rule_of(
        &mut self,
        obj: &Json<'a>,
        unk: Option<&Json<'a>>,
        path: &str,
        span: Span,
    ) -> SecurityRule {
        let (name, name_span) = match obj.get("name").and_then(|n| n.as_str()) {
            Some(n) if !n.trim().is_empty() => {
                (n.to_string(), obj.get("name").map_or(span, |n| n.span))
            }
            _ => (
                path.rsplit('.').next().unwrap_or(path).to_string(),
                Span::default(),
            ),
        };
        let mut r = SecurityRule::new(name, name_span, span);
        let one = |k: &str| Self::az_scalar(obj, unk, k, path);
        let both = |k1: &str, k2: &str| {
            let mut v: Vec<Value> = Self::az_scalar(obj, unk, k1, path).into_iter().collect();
            v.extend(Self::az_list(obj, unk, k2, path));
            v
        };
        r.priority = one("priority");
        r.direction = one("direction");
        r.access = one("access");
        r.protocol = one("protocol");
        r.source_ports = both("source_port_range", "source_port_ranges");
        r.destination_ports = both("destination_port_range", "destination_port_ranges");
        r.source_prefixes = both("source_address_prefix", "source_address_prefixes");
        r.destination_prefixes = both("destination_address_prefix", "destination_address_prefixes");
        r.source_asgs = Self::az_list(obj, unk, "source_application_security_group_ids", path);
        r.destination_asgs =
            Self::az_list(obj, unk, "destination_application_security_group_ids", path);
        r.description = obj
            .get("description")
            .and_then(|d| d.as_str())
            .filter(|d| !d.trim().is_empty())
            .map(str::to_string);
        r
    }

    /// A standalone `azurerm_network_security_rule`, attached to its NSG by name.
    pub(super) fn azure_rule(&mut self, r: &Res<'j, 'a>, az: &mut Az) {
        let Some(values) = r.values else {
            return;
        };
        const KEY: &str = "network_security_group_name";
        let rg = values.get("resource_group_name").and_then(|v| v.as_str());
        let (key, span, why) = match got(Some(values), r.unknown, KEY) {
            Got::Value(v) => {
                match v.as_str() {
                    Some(name) => {
                        let found = az.azure.iter().position(|(n, g)| {
                            n.as_deref() == Some(name)
                                && (rg.is_none() || g.is_none() || g.as_deref() == rg)
                        });
                        if let Some(i) = found {
                            self.az_push(r, values, az, i);
                            return;
                        }
                        (
                        name.to_string(),
                        v.span,
                        format!("NSG `{name}` (of {}) is not in this plan: its other rules are unknown", r.address),
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
                            format!(
                                "the NSG of {} could not be read: its other rules are unknown",
                                r.address
                            ),
                        )
                    }
                }
            }
            Got::Unknown(at) => {
                if let Some(&i) = self
                    .referenced_address(r, KEY, NSG)
                    .and_then(|a| az.by_address.get(&a))
                {
                    self.az_push(r, values, az, i);
                    return;
                }
                (
                    r.address.clone(),
                    at,
                    format!("the NSG of {} is known only after apply and its configuration names no NSG of this plan: the rule is audited as an NSG of its own, whose other rules are unknown", r.address),
                )
            }
            Got::Missing => {
                self.error(
                    values.span,
                    format!("{} has no `{KEY}`", r.address),
                    "`network_security_group_name` missing",
                );
                (
                    r.address.clone(),
                    values.span,
                    format!("{} names no NSG: its other rules are unknown", r.address),
                )
            }
        };
        let i = match az.by_address.get(&key) {
            Some(&i) => i,
            None => {
                let mut n = Nsg::new(key.clone(), span, span);
                n.doubts.push(NsgDoubt {
                    kind: NsgDoubtKind::RulesUnknown,
                    span,
                    reason: why,
                });
                az.by_address.insert(key, az.nsgs.len());
                az.nsgs.push(n);
                az.azure.push((None, None));
                az.nsgs.len() - 1
            }
        };
        self.az_push(r, values, az, i);
    }

    fn az_push(&mut self, r: &Res<'j, 'a>, values: &Json<'a>, az: &mut Az, i: usize) {
        let mut rule = self.azure_rule_of(values, r.unknown, &r.address, r.obj.span);
        // the label names the rule by its address
        rule.name = format!("{} ({})", rule.name, r.address);
        if let Some(n) = az.nsgs.get_mut(i) {
            n.rules.push(rule);
        }
    }
}
