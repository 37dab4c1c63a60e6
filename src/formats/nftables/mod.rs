//! nftables: `nft list ruleset` text and `nftables.conf` scripts (`text.rs`, `text/`), `nft -j
//! list ruleset` JSON (`json/`), both read into one AST (`ast.rs`) and lowered with nftables' own
//! semantics (`lower.rs`).

pub mod ast;
pub mod json;
pub mod lower;
pub mod text;

use crate::formats::source::SourceText;
use crate::formats::Parsed;

/// Read `nft list ruleset` text (or an `nftables.conf` script) and lower it.
pub fn parse_text(src: &SourceText) -> Parsed {
    lower::lower(&read_text(&src.text), src)
}

/// Read `nft -j list ruleset` JSON and lower it.
pub fn parse_json(src: &SourceText, json: &crate::formats::json::Json<'_>) -> Parsed {
    lower::lower(&read_json(json), src)
}

/// The JSON reader (`json.rs`).
fn read_json(json: &crate::formats::json::Json<'_>) -> ast::Ruleset {
    json::parse(json)
}

/// The text reader (`text.rs`).
fn read_text(text: &str) -> ast::Ruleset {
    text::parse(text)
}

/// A JSON document with a top-level `nftables` array (`nft -j list ruleset`).
pub fn sniff_json(json: &crate::formats::json::Json<'_>) -> bool {
    json::is_nftables_json(json)
}

/// Text that is nftables: a `table FAMILY NAME {` block, a script's `flush ruleset` or `add`
/// / `insert` command, or an `nft` shebang, as its first meaningful line.
pub fn sniff_text(first_line: &str) -> bool {
    let l = first_line.trim();
    if l.starts_with("#!") {
        return l.contains("nft");
    }
    let w: Vec<&str> = l.split_whitespace().collect();
    match w.as_slice() {
        ["table", fam, _name, "{", ..] => ast::TableFamily::parse(fam).is_some(),
        // `table inet fw4` as a command (fw4 opens its script so)
        ["table", fam, _name] => ast::TableFamily::parse(fam).is_some(),
        ["flush", "ruleset", ..] => true,
        ["add" | "create" | "insert" | "flush" | "delete", "table" | "chain" | "rule" | "set" | "map" | "element", ..] => {
            true
        }
        ["define", _, "=", ..] => true,
        _ => false,
    }
}
