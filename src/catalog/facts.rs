//! Typed facts: what a deployment may say about itself (inventory `[facts]`, `--set KEY=VALUE`).
//!
//! The registry is data: the `[[fact]]` rows of `zerto.toml` (and of a `--catalog` file, which
//! adds or replaces rows by name). Each fact has a [`FactType`], an optional default (assumed
//! when neither the inventory nor `--set` says) and a one-line meaning. A name holding `<role>`
//! (`windows_<role>_program`) is a family: one fact per catalogue role ([`super::ROLES`], a
//! role's `-` written `_`).
//!
//! [`Catalog::validate_fact`] types a value given as text, or says what is wrong: an unknown
//! name (with the closest known name), or a value the type does not take (with the allowed
//! values). [`Catalog::check_facts`] holds the catalogue's conditions to the registry: every
//! variable a condition names is a fact, compared as its type allows.

use std::fmt;

use serde::Deserialize;

use super::condition::{CmpOp, Condition, Value, Version};
use super::{Catalog, CatalogError, Requirement};

/// What values a fact takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactType {
    /// `true`/`false` (also `yes`/`no`), any case.
    Bool,
    /// Digits and dots: `8.0`, `10`, `10.0.1`.
    Version,
    /// One of these words, any case.
    Enum(Vec<String>),
    /// A whole number (`4`).
    Count,
    /// Addresses, CIDRs or ranges, comma-separated.
    Cidrs,
    /// A port range `LOW-HIGH`, or one port.
    Ports,
    /// Any text.
    Text,
}

impl FactType {
    /// The type's name, as `zerto.toml` and `portolan catalog --facts` write it.
    pub fn name(&self) -> &'static str {
        match self {
            FactType::Bool => "bool",
            FactType::Version => "version",
            FactType::Enum(_) => "enum",
            FactType::Count => "count",
            FactType::Cidrs => "cidrs",
            FactType::Ports => "ports",
            FactType::Text => "text",
        }
    }

    /// What a value of this type looks like, for messages and `catalog --facts`.
    pub fn expected(&self) -> String {
        match self {
            FactType::Bool => "true or false (or yes/no)".into(),
            FactType::Version => "a version such as 10.0 (numbers separated by dots)".into(),
            FactType::Enum(values) => format!("one of {}", values.join(", ")),
            FactType::Count => "a whole number, e.g. 4".into(),
            FactType::Cidrs => {
                "addresses, CIDRs or ranges separated by commas, e.g. 10.1.0.0/16,10.2.0.0/16"
                    .into()
            }
            FactType::Ports => "a port range LOW-HIGH (or one port), e.g. 32768-60999".into(),
            FactType::Text => "any text".into(),
        }
    }

    /// Type a value given as text (trimmed); `None` when this type does not take it.
    pub fn parse(&self, text: &str) -> Option<Value> {
        let t = text.trim();
        match self {
            FactType::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "yes" => Some(Value::Bool(true)),
                "false" | "no" => Some(Value::Bool(false)),
                _ => None,
            },
            FactType::Version => Version::parse(t).map(Value::Version),
            FactType::Enum(values) => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(t))
                .map(|v| Value::Str(v.clone())),
            // a count reads as a one-component version, so conditions may order it
            FactType::Count => t
                .parse::<u32>()
                .ok()
                .and_then(|_| Version::parse(t))
                .map(Value::Version),
            FactType::Cidrs => {
                let parts: Vec<&str> = t.split(',').map(str::trim).collect();
                let ok = parts.iter().any(|p| !p.is_empty())
                    && parts
                        .iter()
                        .filter(|p| !p.is_empty())
                        .all(|p| crate::model::AddrSet::parse(p).is_ok_and(|set| !set.is_empty()));
                ok.then(|| Value::Str(t.to_string()))
            }
            FactType::Ports => crate::model::ports::parse_port_range(t, '-')
                .ok()
                .filter(|set| !set.is_empty() && !set.contains(0))
                .map(|_| Value::Str(t.to_string())),
            FactType::Text => Some(Value::Str(t.to_string())),
        }
    }

    /// Whether a condition may compare a fact of this type with `literal` by `op`.
    fn admits(&self, op: CmpOp, literal: &Value) -> bool {
        let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
        match (self, literal) {
            (FactType::Bool, Value::Bool(_)) => equality,
            (FactType::Version | FactType::Count, Value::Version(_)) => true,
            (FactType::Enum(values), Value::Str(s)) => {
                equality && values.iter().any(|v| v.eq_ignore_ascii_case(s))
            }
            (FactType::Cidrs | FactType::Ports | FactType::Text, Value::Str(_)) => equality,
            _ => false,
        }
    }
}

impl fmt::Display for FactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[fact]]` row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawFact")]
pub struct FactDef {
    /// The fact's name; `<role>` in it makes a family (see the module doc).
    pub name: String,
    pub ty: FactType,
    /// The value assumed when nothing sets the fact, already valid for `ty`.
    pub default: Option<String>,
    /// Why the default is what it is.
    pub why: Option<String>,
    /// One line: what the fact says.
    pub meaning: String,
}

/// The placeholder that makes a fact name a family.
pub const ROLE_PLACEHOLDER: &str = "<role>";

impl FactDef {
    /// Whether `key` names this fact (or one of its family).
    pub fn matches(&self, key: &str) -> bool {
        match self.name.split_once(ROLE_PLACEHOLDER) {
            None => self.name == key,
            Some((pre, post)) => key
                .strip_prefix(pre)
                .and_then(|k| k.strip_suffix(post))
                .is_some_and(|mid| role_keys().any(|r| r == mid)),
        }
    }

    /// The names this row stands for: itself, or one per role for a family.
    pub fn names(&self) -> Vec<String> {
        if self.name.contains(ROLE_PLACEHOLDER) {
            role_keys()
                .map(|r| self.name.replace(ROLE_PLACEHOLDER, &r))
                .collect()
        } else {
            vec![self.name.clone()]
        }
    }
}

/// The catalogue's roles as they appear in fact names (`hyperv-host` → `hyperv_host`).
fn role_keys() -> impl Iterator<Item = String> {
    super::ROLES
        .iter()
        .filter(|(r, _)| *r != "any")
        .map(|(r, _)| r.replace('-', "_"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFact {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    values: Vec<String>,
    default: Option<String>,
    why: Option<String>,
    meaning: String,
}

impl TryFrom<RawFact> for FactDef {
    type Error = String;
    fn try_from(r: RawFact) -> Result<FactDef, String> {
        let ty = match r.ty.as_str() {
            "bool" => FactType::Bool,
            "version" => FactType::Version,
            "enum" if r.values.is_empty() => {
                return Err(format!("fact `{}`: an enum lists its `values`", r.name))
            }
            "enum" => FactType::Enum(r.values.clone()),
            "count" => FactType::Count,
            "cidrs" => FactType::Cidrs,
            "ports" => FactType::Ports,
            "text" => FactType::Text,
            other => {
                return Err(format!(
                    "fact `{}`: unknown type `{other}` (bool, version, enum, count, cidrs, ports, text)",
                    r.name
                ))
            }
        };
        if !r.values.is_empty() && !matches!(ty, FactType::Enum(_)) {
            return Err(format!("fact `{}`: only an enum has `values`", r.name));
        }
        let valid_name = r.name.replace(ROLE_PLACEHOLDER, "role");
        if valid_name.is_empty()
            || !valid_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "fact `{}`: a fact name is lower-case letters, digits and `_`",
                r.name
            ));
        }
        if let Some(d) = &r.default {
            if ty.parse(d).is_none() {
                return Err(format!(
                    "fact `{}`: the default `{d}` is not {}",
                    r.name,
                    ty.expected()
                ));
            }
        }
        Ok(FactDef {
            name: r.name,
            ty,
            default: r.default,
            why: r.why,
            meaning: r.meaning,
        })
    }
}

/// A fact that cannot be used: the message names the fact and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    #[error("unknown fact `{name}`{}; `portolan catalog --facts` lists every fact", did_you_mean(.closest))]
    Unknown {
        name: String,
        closest: Option<String>,
    },
    #[error("fact `{name}` takes {expected}, not `{value}`{}", did_you_mean(.closest))]
    BadValue {
        name: String,
        value: String,
        expected: String,
        closest: Option<String>,
    },
}

fn did_you_mean(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// The candidate closest to `word` by edit distance (a transposition counts once), if it is
/// close enough to be a slip: at most a third of the word's length, and at least 2, apart.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let w = word.to_ascii_lowercase();
    let limit = (w.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&w, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

impl Catalog {
    /// The registry row of a fact name (a family member included).
    pub fn fact(&self, key: &str) -> Option<&FactDef> {
        self.facts.iter().find(|f| f.matches(key))
    }

    /// Every fact name the registry accepts, families expanded.
    pub fn fact_names(&self) -> Vec<String> {
        self.facts.iter().flat_map(FactDef::names).collect()
    }

    /// Type a fact given as text (`--set KEY=VALUE`, an inventory's `[facts]`).
    pub fn validate_fact(&self, key: &str, value: &str) -> Result<Value, FactError> {
        let key = key.trim();
        let Some(def) = self.fact(key) else {
            let names = self.fact_names();
            return Err(FactError::Unknown {
                name: key.to_string(),
                closest: closest(key, names.iter().map(String::as_str)),
            });
        };
        def.ty.parse(value).ok_or_else(|| FactError::BadValue {
            name: key.to_string(),
            value: value.trim().to_string(),
            expected: def.ty.expected(),
            closest: match &def.ty {
                FactType::Enum(values) => closest(value.trim(), values.iter().map(String::as_str)),
                _ => None,
            },
        })
    }

    /// The facts assumed when nothing sets them: (name, typed value).
    pub fn default_facts(&self) -> Vec<(&str, Value)> {
        self.facts
            .iter()
            .filter(|f| !f.name.contains(ROLE_PLACEHOLDER))
            .filter_map(|f| {
                let v = f.default.as_deref().and_then(|d| f.ty.parse(d))?;
                Some((f.name.as_str(), v))
            })
            .collect()
    }

    /// The requirements whose conditions name the fact (any member of a family).
    pub fn decided_by<'a>(&'a self, def: &'a FactDef) -> impl Iterator<Item = &'a Requirement> {
        self.requirements.iter().filter(move |r| {
            r.condition
                .as_ref()
                .is_some_and(|c| c.variables().iter().any(|v| def.matches(v)))
        })
    }

    /// Hold every condition to the registry: each variable is a known fact, compared as its
    /// type allows (a bare name only for a bool).
    pub fn check_facts(&self) -> Result<(), CatalogError> {
        let conditions = self
            .requirements
            .iter()
            .map(|r| (&r.id, &r.condition))
            .chain(self.must_not_open.iter().map(|m| (&m.id, &m.condition)));
        for (id, c) in conditions {
            let Some(c) = c else { continue };
            let mut atoms = Vec::new();
            collect_atoms(c, &mut atoms);
            for (var, cmp) in atoms {
                let invalid = |message: String| CatalogError::Invalid {
                    id: id.clone(),
                    message,
                    span: None,
                };
                let Some(def) = self.fact(var) else {
                    let names = self.fact_names();
                    return Err(invalid(format!(
                        "condition `{c}` names `{var}`, which is no [[fact]]{}",
                        did_you_mean(&closest(var, names.iter().map(String::as_str)))
                    )));
                };
                let (op, literal) = cmp.unwrap_or((CmpOp::Eq, &Value::Bool(true)));
                if !def.ty.admits(op, literal) {
                    let what = match cmp {
                        None => format!("`{var}` alone (a bool test)"),
                        Some(_) => format!("`{var} {} {literal}`", op.as_str()),
                    };
                    return Err(invalid(format!(
                        "condition `{c}`: {what} does not fit the fact, which takes {}",
                        def.ty.expected()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Each comparison of a condition: (variable, `None` for a bare name or the operator and
/// literal).
type Atom<'a> = (&'a str, Option<(CmpOp, &'a Value)>);

fn collect_atoms<'a>(c: &'a Condition, out: &mut Vec<Atom<'a>>) {
    match c {
        Condition::Or(items) | Condition::And(items) => {
            items.iter().for_each(|i| collect_atoms(i, out))
        }
        Condition::Not(inner) => collect_atoms(inner, out),
        Condition::Compare { var, op, value } => out.push((var, Some((*op, value)))),
        Condition::Flag(var) => out.push((var, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> &'static Catalog {
        Catalog::embedded()
    }

    #[test]
    fn values_are_typed_by_the_fact() {
        let ok = |k: &str, v: &str| match cat().validate_fact(k, v) {
            Ok(x) => x,
            Err(e) => panic!("{k}={v}: {e}"),
        };
        assert_eq!(ok("vcd", "Yes"), Value::Bool(true));
        assert_eq!(ok("single_scvmm", "FALSE"), Value::Bool(false));
        assert_eq!(
            ok("zvm_version", "8"),
            Value::Version(Version::parse("8.0").unwrap())
        );
        assert_eq!(ok("ltr", " NFS "), Value::Str("nfs".into()));
        assert_eq!(ok("local_vras", "4").to_string(), "4");
        assert_eq!(
            ok("peers", "10.1.0.0/16, 10.2.0.1"),
            Value::Str("10.1.0.0/16, 10.2.0.1".into())
        );
        assert_eq!(
            ok("ephemeral_ports", "32768-60999"),
            Value::Str("32768-60999".into())
        );
        // text stays text, even when it looks like a bool or a version
        assert_eq!(ok("windows_zvm_program", "true"), Value::Str("true".into()));
        assert_eq!(
            ok("windows_hyperv_host_service", "vmms"),
            Value::Str("vmms".into())
        );
    }

    #[test]
    fn errors_say_what_the_fact_takes_and_the_closest_name() {
        let err = |k: &str, v: &str| match cat().validate_fact(k, v) {
            Ok(x) => panic!("{k}={v} should fail, got {x:?}"),
            Err(e) => e,
        };
        assert_eq!(
            err("zvm_verison", "10.0"),
            FactError::Unknown {
                name: "zvm_verison".into(),
                closest: Some("zvm_version".into())
            }
        );
        assert_eq!(
            err("phase", "instal"),
            FactError::BadValue {
                name: "phase".into(),
                value: "instal".into(),
                expected: "one of install, operate".into(),
                closest: Some("install".into())
            }
        );
        assert!(err("vcd", "1").to_string().contains("true or false"));
        assert!(err("ltr", "maybe")
            .to_string()
            .contains("one of smb, nfs, none"));
        assert!(matches!(
            err("local_vras", "-1"),
            FactError::BadValue { .. }
        ));
        assert!(matches!(err("peers", ","), FactError::BadValue { .. }));
        assert!(matches!(
            err("ephemeral_ports", "0-10"),
            FactError::BadValue { .. }
        ));
        // a family only for catalogue roles; nothing close to a far-off name
        assert!(matches!(
            err("windows_any_program", "x"),
            FactError::Unknown { .. }
        ));
        assert_eq!(
            err("colour", "blue"),
            FactError::Unknown {
                name: "colour".into(),
                closest: None
            }
        );
    }

    #[test]
    fn defaults_are_typed_and_the_ephemeral_default_is_the_engines() {
        let d = cat().default_facts();
        assert!(d.contains(&("single_scvmm", Value::Bool(false))));
        let e = crate::engine::reach::EPHEMERAL;
        assert!(d.contains(&(
            crate::engine::reach::EPHEMERAL_FACT,
            Value::Str(format!("{}-{}", e.0, e.1))
        )));
    }

    #[test]
    fn rows_are_checked_when_read() {
        let read = |row: &str| Catalog::from_toml(&format!("[[fact]]\n{row}\nmeaning = \"m\"\n"));
        assert!(read("name = \"a\"\ntype = \"bool\"").is_ok());
        for bad in [
            "name = \"a\"\ntype = \"boolean\"",
            "name = \"a\"\ntype = \"enum\"",
            "name = \"a\"\ntype = \"bool\"\nvalues = [\"x\"]",
            "name = \"a\"\ntype = \"bool\"\ndefault = \"maybe\"",
            "name = \"A-b\"\ntype = \"bool\"",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conditions_must_fit_their_facts() {
        let with = |cond: &str| {
            let mut c = cat().clone();
            let mut extra = Catalog::from_toml(&format!(
                "[[requirement]]\nid = \"vsphere.x-1\"\nenvironments = [\"vsphere\"]\nports = \"1\"\nprotocol = \"tcp\"\nfrom_role = \"zvm\"\nto_role = \"vra\"\ndirection = \"a-to-b\"\ncondition = \"{cond}\"\npurpose = \"p\"\nsource = \"current.vsphere\"\n"
            ))
            .expect("parses");
            c.merge(std::mem::take(&mut extra));
            c.check_facts()
        };
        assert!(with("zvm_version >= 9.0 and ltr == 'smb' and not vcd").is_ok());
        assert!(with("local_vras > 4").is_ok());
        for bad in [
            "ltr",                  // a bare name is a bool test
            "ltr == 'ftp'",         // not one of its values
            "vcd > true",           // bools are not ordered
            "zvm_version == 'ten'", // a version against text
            "vcd_enabled",          // no such fact
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert!(with("vdc")
            .unwrap_err()
            .to_string()
            .contains("did you mean `vcd`?"));
    }
}
