//! Typed fields of a span-JSON object, shared by the JSON format readers: a member that is
//! present and not `null`, a value shown in a message, and a value of the expected type or a
//! parse error (Z001) at it.

use std::borrow::Cow;

use super::{Json, Kind};
use crate::formats::{IssueKind, ParseIssue};
use crate::model::Span;

/// A parse error (Z001) at `span`, with no help text.
pub fn parse_error(span: Span, message: String, label: &str) -> ParseIssue {
    ParseIssue {
        kind: IssueKind::ParseError,
        span,
        message,
        label: label.to_string(),
        help: None,
    }
}

/// A member that is present and not `null` (exact key; of duplicates, the last).
pub fn member<'j, 'a>(obj: &'j Json<'a>, key: &str) -> Option<&'j Json<'a>> {
    obj.get(key).filter(|v| !v.is_null())
}

/// A value for a message: strings quoted, numbers and booleans as written, else the type.
pub fn describe(v: &Json<'_>) -> String {
    match &v.kind {
        Kind::String(s) => format!("\"{s}\""),
        Kind::Number(n) => n.to_string(),
        Kind::Bool(b) => b.to_string(),
        _ => v.type_name().to_string(),
    }
}

/// `got`, the value `v` of member `key` read as the type wanted; when it is `None`, a parse error
/// `` `key` should be {expected}, not {v} `` at `v` and `Err` with `v` as [`describe`] shows it.
pub fn expect<T>(
    v: &Json<'_>,
    key: &str,
    got: Option<T>,
    expected: &str,
    label: &str,
    issues: &mut Vec<ParseIssue>,
) -> Result<T, String> {
    got.ok_or_else(|| {
        let shown = describe(v);
        issues.push(parse_error(
            v.span,
            format!("`{key}` should be {expected}, not {shown}"),
            label,
        ));
        shown
    })
}

/// An integer, or a parse error at the value (see [`expect`]).
pub fn int(v: &Json<'_>, key: &str, issues: &mut Vec<ParseIssue>) -> Result<i64, String> {
    expect(v, key, v.as_i64(), "an integer", "not an integer", issues)
}

/// `true` or `false`, or a parse error at the value (see [`expect`]).
pub fn boolean(v: &Json<'_>, key: &str, issues: &mut Vec<ParseIssue>) -> Result<bool, String> {
    expect(
        v,
        key,
        v.as_bool(),
        "true or false",
        "not a boolean",
        issues,
    )
}

/// A string, or a parse error at the value (see [`expect`]).
pub fn string<'j>(
    v: &'j Json<'_>,
    key: &str,
    issues: &mut Vec<ParseIssue>,
) -> Result<&'j str, String> {
    expect(v, key, v.as_str(), "a string", "not a string", issues)
}

/// A string, or a number as written (`6` is as good as `"6"`); `None` for any other type.
pub fn string_or_number<'j>(v: &'j Json<'_>) -> Option<Cow<'j, str>> {
    match &v.kind {
        Kind::String(s) => Some(Cow::Borrowed(s.as_ref())),
        Kind::Number(n) => Some(Cow::Borrowed(n)),
        _ => None,
    }
}
