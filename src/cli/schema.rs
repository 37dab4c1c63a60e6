//! `portolan schema`: the JSON Schema of `portolan.toml`, for editors to validate and complete
//! the inventory (`portolan schema > portolan.schema.json`, then `#:schema ./portolan.schema.json`
//! at the top of `portolan.toml` for taplo / Even Better TOML).

use clap::Args;

#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_: SchemaArgs) -> u8 {
    let schema = crate::inventory::schema::json_schema();
    match super::write_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, &schema)?;
        writeln!(out)
    }) {
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}
