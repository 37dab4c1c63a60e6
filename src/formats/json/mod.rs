//! Span-aware JSON shared by the JSON formats: the parser ([`spans`]), YAML read into the same
//! tree ([`yaml`]), and the typed field helpers the format readers share ([`fields`]).

pub mod fields;
pub mod spans;
pub mod yaml;

pub use spans::{duplicate_keys, looks_like_json, parse, Json, JsonError, Kind, Member, MAX_DEPTH};
