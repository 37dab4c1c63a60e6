//! `portolan catalog`: the Zerto requirements, as a table, JSON or CSV.

use clap::{Args, ValueEnum};

use crate::catalog::{render, Environment};

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
}

pub fn run(a: CatalogArgs) -> u8 {
    let cat = match super::audit::load_catalog(a.extra.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
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
