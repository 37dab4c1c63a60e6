//! The catalogue's TOML rows as written (`[[requirement]]`, `[[must_not_open]]`, ...) and their
//! checks, turned into the typed [`Requirement`] and [`MustNotOpen`] of `catalog`.

use serde::Deserialize;
use toml::Spanned;

use super::{
    facts, parse_condition, parse_ranges, CatalogError, Condition, Direction, Environment,
    MustNotKind, MustNotOpen, PortSpec, Protocol, Requirement, SeedSource, WindowsIdentity,
};

// ---------------------------------------------------------------------------------------------
// TOML shape
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    #[serde(default)]
    pub(super) version: String,
    #[serde(default)]
    pub(super) source: Vec<SeedSource>,
    #[serde(default)]
    pub(super) requirement: Vec<RawRequirement>,
    #[serde(default)]
    pub(super) must_not_open: Vec<RawMustNotOpen>,
    #[serde(default)]
    pub(super) windows_identity: Vec<WindowsIdentity>,
    #[serde(default)]
    pub(super) fact: Vec<facts::FactDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequirement {
    pub(super) id: Spanned<String>,
    environments: Spanned<Vec<Environment>>,
    ports: Spanned<String>,
    protocol: Protocol,
    from_role: Spanned<String>,
    to_role: Spanned<String>,
    direction: Direction,
    #[serde(default)]
    condition: Option<Spanned<String>>,
    #[serde(default)]
    changeable_default: bool,
    #[serde(default)]
    port_key: Option<String>,
    purpose: String,
    source: Spanned<String>,
    #[serde(default)]
    install_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMustNotOpen {
    pub(super) id: Spanned<String>,
    environments: Spanned<Vec<Environment>>,
    ports: Spanned<String>,
    protocol: Protocol,
    role: Spanned<String>,
    kind: MustNotKind,
    purpose: String,
    source: Spanned<String>,
    condition: Option<Spanned<String>>,
}

fn span_of<T>(s: &Spanned<T>) -> Option<(usize, usize)> {
    Some((s.span().start, s.span().end))
}

fn check_role(id: &str, role: &Spanned<String>) -> Result<String, CatalogError> {
    let name = role.get_ref();
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(name.clone())
    } else {
        Err(CatalogError::Invalid {
            id: id.to_string(),
            message: format!("role `{name}` is not a kebab-case name"),
            span: span_of(role),
        })
    }
}

fn check_nonempty(
    id: &str,
    what: &str,
    value: &Spanned<impl AsRef<[Environment]>>,
) -> Result<(), CatalogError> {
    if value.get_ref().as_ref().is_empty() {
        return Err(CatalogError::Invalid {
            id: id.to_string(),
            message: format!("`{what}` is empty"),
            span: span_of(value),
        });
    }
    Ok(())
}

fn check_source(id: &str, source: &Spanned<String>) -> Result<String, CatalogError> {
    if source.get_ref().trim().is_empty() {
        return Err(CatalogError::Invalid {
            id: id.to_string(),
            message: "`source` is empty".into(),
            span: span_of(source),
        });
    }
    Ok(source.get_ref().clone())
}

impl RawRequirement {
    pub(super) fn into_requirement(self, text: &str) -> Result<Requirement, CatalogError> {
        let id = self.id.get_ref().clone();
        check_nonempty(&id, "environments", &self.environments)?;
        let ports =
            PortSpec::parse(self.ports.get_ref()).map_err(|message| CatalogError::Invalid {
                id: id.clone(),
                message,
                span: span_of(&self.ports),
            })?;
        let from_role = check_role(&id, &self.from_role)?;
        let to_role = check_role(&id, &self.to_role)?;
        let source = check_source(&id, &self.source)?;
        let condition = parse_row_condition(&id, self.condition.as_ref(), text)?;
        let condition_text = self.condition.as_ref().map(|c| c.get_ref().clone());
        Ok(Requirement {
            id,
            environments: self.environments.into_inner(),
            ports,
            protocol: self.protocol,
            from_role,
            to_role,
            direction: self.direction,
            condition,
            condition_text,
            changeable_default: self.changeable_default,
            port_key: self.port_key,
            purpose: self.purpose,
            source,
            install_only: self.install_only,
        })
    }
}

/// A row's `condition`, parsed; an error points into the TOML `text` at the condition.
fn parse_row_condition(
    id: &str,
    condition: Option<&Spanned<String>>,
    text: &str,
) -> Result<Option<Condition>, CatalogError> {
    let Some(spanned) = condition else {
        return Ok(None);
    };
    parse_condition(spanned.get_ref())
        .map(Some)
        .map_err(|error| CatalogError::Condition {
            id: id.to_string(),
            text: spanned.get_ref().clone(),
            span: Some(condition_error_span(text, spanned, error.offset)),
            error: Box::new(error),
        })
}

/// Point into the TOML at the condition's error when the string is written without escapes
/// (then its text sits right after the opening quote); else at the whole string.
fn condition_error_span(text: &str, value: &Spanned<String>, offset: usize) -> (usize, usize) {
    let whole = value.span();
    let inner = value.get_ref();
    let literal = text.get(whole.clone()).unwrap_or("");
    let plain =
        literal.len() == inner.len() + 2 && literal.get(1..literal.len() - 1) == Some(inner);
    if plain {
        let at = whole.start + 1 + offset;
        (at, (at + 1).min(whole.end))
    } else {
        (whole.start, whole.end)
    }
}

impl RawMustNotOpen {
    pub(super) fn into_must_not_open(self, text: &str) -> Result<MustNotOpen, CatalogError> {
        let id = self.id.get_ref().clone();
        check_nonempty(&id, "environments", &self.environments)?;
        let ports =
            parse_ranges(self.ports.get_ref()).map_err(|message| CatalogError::Invalid {
                id: id.clone(),
                message,
                span: span_of(&self.ports),
            })?;
        let role = check_role(&id, &self.role)?;
        let source = check_source(&id, &self.source)?;
        let condition = parse_row_condition(&id, self.condition.as_ref(), text)?;
        Ok(MustNotOpen {
            condition,
            id,
            ports,
            protocol: self.protocol,
            role,
            kind: self.kind,
            purpose: self.purpose,
            source,
            environments: self.environments.into_inner(),
        })
    }
}
