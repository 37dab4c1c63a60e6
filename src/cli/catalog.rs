//! `portolan catalog`: the Zerto requirements, as a table, JSON or CSV.

use clap::{Args, ValueEnum};

use crate::catalog::{render, Catalog, Environment, Requirement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Only the requirements of this environment (vsphere, hyperv, azure, aws, msp, hyperv-legacy).
    #[arg(long)]
    pub env: Option<Environment>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: CatalogFormat,
    /// Add or override requirements from a TOML file in the catalogue's format.
    #[arg(long = "catalog", value_name = "FILE")]
    pub extra: Option<std::path::PathBuf>,
    /// Change notes: the requirements added, removed or changed between this catalogue file
    /// (an older `zerto.toml`) and the one in use.
    #[arg(long, value_name = "OLD.toml")]
    pub diff: Option<std::path::PathBuf>,
    /// The facts instead: each one's type, default, allowed values and the requirements its
    /// conditions decide (`--format json` for `portolan-facts/1`).
    #[arg(long, conflicts_with = "diff")]
    pub facts: bool,
}

/// The fields of a requirement that differ, as `field: old -> new`.
fn changes(old: &Requirement, new: &Requirement) -> Vec<String> {
    let fields = |r: &Requirement| -> Vec<(&'static str, String)> {
        vec![
            (
                "environments",
                format!(
                    "{:?}",
                    r.environments
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                ),
            ),
            ("ports", r.ports.display()),
            ("protocol", r.protocol.as_str().to_string()),
            ("from_role", r.from_role.clone()),
            ("to_role", r.to_role.clone()),
            ("direction", r.direction.as_str().to_string()),
            (
                "condition",
                r.condition_text.clone().unwrap_or_else(|| "(none)".into()),
            ),
            ("changeable_default", r.changeable_default.to_string()),
            (
                "port_key",
                r.port_key.clone().unwrap_or_else(|| "(none)".into()),
            ),
            ("purpose", r.purpose.clone()),
            ("source", r.source.clone()),
        ]
    };
    fields(old)
        .into_iter()
        .zip(fields(new))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, b)| format!("{}: {} -> {}", a.0, a.1, b.1))
        .collect()
}

/// Change notes between an older catalogue and this one.
pub fn diff_notes(
    old: &Catalog,
    new: &Catalog,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    writeln!(out, "catalogue {} -> {}", old.version, new.version)?;
    for r in &new.requirements {
        match old.requirement(&r.id) {
            None => writeln!(
                out,
                "added    {} ({} {} {} -> {})",
                r.id,
                r.protocol.as_str(),
                r.ports.display(),
                r.from_role,
                r.to_role
            )?,
            Some(o) => {
                for c in changes(o, r) {
                    writeln!(out, "changed  {}: {c}", r.id)?;
                }
            }
        }
    }
    for r in &old.requirements {
        if new.requirement(&r.id).is_none() {
            writeln!(
                out,
                "removed  {} ({} {} {} -> {})",
                r.id,
                r.protocol.as_str(),
                r.ports.display(),
                r.from_role,
                r.to_role
            )?;
        }
    }
    Ok(())
}

pub fn run(a: CatalogArgs) -> u8 {
    let cat = match super::audit::load_catalog(a.extra.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(old_path) = &a.diff {
        let old = match super::audit::load_old_catalog(old_path) {
            Ok(c) => c,
            Err(code) => return code,
        };
        return match super::write_stdout(|out| diff_notes(&old, &cat, out)) {
            Ok(()) => super::EXIT_CLEAN,
            Err(code) => code,
        };
    }
    if a.facts {
        let res = super::write_stdout(|out| match a.format {
            CatalogFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &render::facts_json(&cat, a.env))?;
                writeln!(out)
            }
            CatalogFormat::Table | CatalogFormat::Csv => render::write_facts(&cat, a.env, out),
        });
        return match res {
            Ok(()) => super::EXIT_CLEAN,
            Err(code) => code,
        };
    }
    let res = super::write_stdout(|out| match a.format {
        CatalogFormat::Table => render::write_table(&cat, a.env, out),
        CatalogFormat::Csv => render::write_csv(&cat, a.env, out),
        CatalogFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &render::to_json(&cat, a.env))?;
            writeln!(out)
        }
    });
    match res {
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}
