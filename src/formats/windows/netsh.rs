//! netsh text (stub).
use super::WinRule;
use crate::formats::ParseIssue;
pub fn sniff(_t: &str) -> bool {
    false
}
pub fn parse(_t: &str) -> (Vec<WinRule>, Vec<ParseIssue>) {
    (Vec::new(), Vec::new())
}
pub fn is_unsupported(_i: &[ParseIssue]) -> bool {
    false
}
