//! nftables: `nft list ruleset` text and `nftables.conf` scripts (`text.rs`), `nft -j list
//! ruleset` JSON (`json.rs`), both read into one AST (`ast.rs`) and lowered with nftables' own
//! semantics (`lower.rs`).

pub mod ast;
pub mod json;
