//! Output formats, one file each; each is `render(&Report, &mut dyn Write)`.

pub mod human;
pub mod json;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Terminal diagnostics with source snippets (miette), grouped per file.
    Human,
    /// The `portolan-audit/1` JSON contract.
    Json,
}
