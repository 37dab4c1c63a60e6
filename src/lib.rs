//! Portolan: a firewall linter and auditor for Zerto deployments.
//!
//! Firewall exports are parsed (one module per format in [`formats`]) into a small vendor AST, lowered
//! into the common, exact rule model ([`model`]), and evaluated region by region against the Zerto
//! requirements of the [`catalog`] by the [`audit`] engine. Findings are rendered by [`report`].
#![forbid(unsafe_code)]

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod engine;
pub mod formats;
pub mod inventory;
pub mod model;
pub mod report;
