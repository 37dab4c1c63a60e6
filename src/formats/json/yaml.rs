//! YAML read into the same span-aware [`Json`] tree as a JSON document (CloudFormation templates),
//! from `saphyr-parser` events: a short-form intrinsic becomes its long form (`!Ref X` →
//! `{"Ref": "X"}`), plain `true`, `false` and `null` their JSON values, plain integers numbers,
//! everything else a string. Aliases are refused, nesting is bounded by [`MAX_DEPTH`], and the tree
//! is built without recursion.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

use super::spans::{Json, JsonError, Kind, Member, MAX_DEPTH};
use crate::model::Span;

/// Byte offsets of character indices (the YAML parser counts characters).
struct Offsets {
    len: usize,
    /// Empty for ASCII text, where they are equal.
    bytes: Vec<usize>,
}

impl Offsets {
    fn new(text: &str) -> Self {
        Offsets {
            len: text.len(),
            bytes: if text.is_ascii() {
                Vec::new()
            } else {
                text.char_indices().map(|(b, _)| b).collect()
            },
        }
    }
    fn at(&self, chars: usize) -> usize {
        if self.bytes.is_empty() {
            chars.min(self.len)
        } else {
            self.bytes.get(chars).copied().unwrap_or(self.len)
        }
    }
}

enum Open<'a> {
    Seq(Vec<Json<'a>>),
    /// Members so far, and the key waiting for its value.
    Map(Vec<Member<'a>>, Option<(Cow<'a, str>, Span)>),
}

struct Frame<'a> {
    open: Open<'a>,
    start: usize,
    /// A local tag (`!Sub`) to wrap the finished node in.
    tag: Option<String>,
}

fn yaml_error(span: Span, message: impl Into<String>, label: &str) -> JsonError {
    JsonError {
        span,
        message: message.into(),
        label: label.to_string(),
    }
}

/// Read YAML text (one document) into a [`Json`] tree with byte spans, short-form intrinsics
/// turned into their long form. Never panics: the parser is run under `catch_unwind` as well.
pub fn yaml_to_json(text: &str) -> Result<Json<'_>, JsonError> {
    let run = std::panic::AssertUnwindSafe(|| build_yaml(text));
    match std::panic::catch_unwind(run) {
        Ok(r) => r,
        Err(_) => Err(yaml_error(
            Span::new(0, 0),
            "the YAML reader failed on this file",
            "unreadable YAML",
        )),
    }
}

/// The suffix of a local tag (`!Ref` → `Ref`); core-schema and other tags are ignored.
fn local_tag(tag: Option<&Cow<'_, Tag>>) -> Option<String> {
    tag.filter(|t| t.handle == "!").map(|t| t.suffix.clone())
}

/// Wrap a node in its intrinsic function: `!Ref x` → `{"Ref": x}`, `!Sub x` → `{"Fn::Sub": x}`.
fn wrap<'a>(tag: Option<String>, node: Json<'a>) -> Json<'a> {
    let Some(t) = tag else { return node };
    let key = match t.as_str() {
        "Ref" | "Condition" => t,
        other => format!("Fn::{other}"),
    };
    let span = node.span;
    Json {
        kind: Kind::Object(vec![Member {
            key: Cow::Owned(key),
            key_span: span,
            value: node,
        }]),
        span,
    }
}

fn scalar<'a>(
    text: &'a str,
    v: Cow<'a, str>,
    style: ScalarStyle,
    tagged: bool,
    span: Span,
) -> Json<'a> {
    let kind = if style != ScalarStyle::Plain || tagged {
        Kind::String(v)
    } else {
        match v.as_ref() {
            "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
            "true" | "True" | "TRUE" => Kind::Bool(true),
            "false" | "False" | "FALSE" => Kind::Bool(false),
            n => {
                // an integer, as written in the source
                let digits = n.strip_prefix('-').unwrap_or(n);
                match text.get(span.start..span.end) {
                    Some(src)
                        if src == n
                            && !digits.is_empty()
                            && digits.bytes().all(|c| c.is_ascii_digit()) =>
                    {
                        Kind::Number(src)
                    }
                    _ => Kind::String(v),
                }
            }
        }
    };
    Json { kind, span }
}

fn attach<'a>(
    stack: &mut [Frame<'a>],
    root: &mut Option<Json<'a>>,
    node: Json<'a>,
) -> Result<(), JsonError> {
    match stack.last_mut() {
        None => {
            *root = Some(node);
            Ok(())
        }
        Some(Frame {
            open: Open::Seq(items),
            ..
        }) => {
            items.push(node);
            Ok(())
        }
        Some(Frame {
            open: Open::Map(members, key),
            ..
        }) => match key.take() {
            Some((key, key_span)) => {
                members.push(Member {
                    key,
                    key_span,
                    value: node,
                });
                Ok(())
            }
            None => Err(yaml_error(
                node.span,
                "a mapping key must be a plain value",
                "complex key",
            )),
        },
    }
}

fn build_yaml(text: &str) -> Result<Json<'_>, JsonError> {
    let off = Offsets::new(text);
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut root: Option<Json<'_>> = None;
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (ev, span) = item.map_err(|e| {
            let at = off.at(e.marker().index());
            let end = off.at(e.marker().index() + 1);
            yaml_error(
                Span::new(at, end.max(at)),
                format!("not valid YAML: {}", e.info()),
                "here",
            )
        })?;
        let s = Span::new(off.at(span.start.index()), off.at(span.end.index()));
        let s = Span::new(s.start, s.end.max(s.start));
        let awaiting_key = matches!(
            stack.last(),
            Some(Frame {
                open: Open::Map(_, None),
                ..
            })
        );
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(yaml_error(
                        s,
                        "more than one YAML document in the file (a template is one document)",
                        "second document",
                    ));
                }
            }
            Event::Alias(_) => {
                return Err(yaml_error(
                    s,
                    "YAML aliases (`*name`) are not supported by CloudFormation",
                    "alias",
                ))
            }
            Event::Scalar(v, style, _anchor, tag) => {
                let tag = local_tag(tag.as_ref());
                if awaiting_key {
                    if tag.is_some() {
                        return Err(yaml_error(
                            s,
                            "a mapping key cannot be an intrinsic function",
                            "tagged key",
                        ));
                    }
                    if let Some(Frame {
                        open: Open::Map(_, key),
                        ..
                    }) = stack.last_mut()
                    {
                        *key = Some((v, s));
                    }
                    continue;
                }
                let node = wrap(tag.clone(), scalar(text, v, style, tag.is_some(), s));
                attach(&mut stack, &mut root, node)?;
            }
            Event::SequenceStart(_, ref tag) | Event::MappingStart(_, ref tag) => {
                if awaiting_key {
                    return Err(yaml_error(
                        s,
                        "complex mapping keys are not supported",
                        "complex key",
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(yaml_error(s, "YAML nested too deeply", "too deep"));
                }
                let open = if matches!(ev, Event::SequenceStart(..)) {
                    Open::Seq(Vec::new())
                } else {
                    Open::Map(Vec::new(), None)
                };
                stack.push(Frame {
                    open,
                    start: s.start,
                    tag: local_tag(tag.as_ref()),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(f) = stack.pop() else {
                    return Err(yaml_error(s, "unbalanced YAML structure", "here"));
                };
                let (kind, last_end) = match f.open {
                    Open::Seq(items) => {
                        let end = items.last().map(|i| i.span.end);
                        (Kind::Array(items), end)
                    }
                    Open::Map(members, pending) => {
                        if let Some((_, ks)) = pending {
                            return Err(yaml_error(
                                ks,
                                "a mapping key without a value",
                                "no value",
                            ));
                        }
                        let end = members.last().map(|m| m.value.span.end);
                        (Kind::Object(members), end)
                    }
                };
                // flow collections end at their bracket; block ones at their last child
                let end = if s.is_empty() {
                    last_end.unwrap_or(f.start)
                } else {
                    s.end
                };
                let node = Json {
                    kind,
                    span: Span::new(f.start, end.max(f.start)),
                };
                attach(&mut stack, &mut root, wrap(f.tag, node))?;
            }
        }
    }
    Ok(root.unwrap_or(Json {
        kind: Kind::Null,
        span: Span::new(0, 0),
    }))
}
