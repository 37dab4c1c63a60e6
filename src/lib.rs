//! Portolan: a firewall linter and auditor for Zerto deployments.
//!
//! Firewall exports are parsed (one module per format in [`formats`]) into a small vendor AST, lowered
//! into the common, exact rule model ([`model`]), and evaluated region by region against the Zerto
//! requirements of the [`catalog`] by the [`engine`]. Findings are rendered by [`report`].
#![forbid(unsafe_code)]

pub mod catalog;
pub mod checks;
pub mod cli;
pub mod engine;
pub mod formats;
pub mod inventory;
pub mod load;
pub mod model;
pub mod provenance;
pub mod remedy;
pub mod report;
pub mod run;

pub use run::{audit_paths, Config, ConfigError, ConfigInput};
