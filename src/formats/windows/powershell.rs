//! PowerShell (stub).
use super::WinRule;
use crate::formats::json_spans::Json;
use crate::formats::ParseIssue;
pub fn sniff_csv(_t: &str) -> bool {
    false
}
pub fn sniff_json(_j: &Json<'_>) -> bool {
    false
}
pub fn parse_csv(_t: &str) -> (Vec<WinRule>, Vec<ParseIssue>) {
    (Vec::new(), Vec::new())
}
pub fn parse_json(_j: &Json<'_>) -> (Vec<WinRule>, Vec<ParseIssue>) {
    (Vec::new(), Vec::new())
}
