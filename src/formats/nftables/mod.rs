//! nftables: `nft list ruleset` text and `nftables.conf` scripts (`text.rs`, `text/`), `nft -j
//! list ruleset` JSON (`json/`), both read into one AST (`ast.rs`) and lowered with nftables' own
//! semantics (`lower.rs`).

pub mod ast;
pub mod json;
pub mod text;
