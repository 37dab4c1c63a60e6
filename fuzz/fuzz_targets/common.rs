//! Shared by every target: decoding the input bytes as Portolan decodes a file, and cheap
//! invariant checks on what a parser returns (a violated invariant is a bug the report or the
//! evaluation would trip over later, so it is made a crash here).
#![allow(dead_code)]

use portolan::formats::source::SourceText;
use portolan::formats::{encoding, ParseIssue, Parsed};
use portolan::model::{Action, Ruleset, Span};

/// The bytes as the loader decodes a file (BOMs, UTF-16 sniffing, Windows-1252 fallback).
pub fn decode(data: &[u8]) -> String {
    encoding::decode(data).text
}

pub fn source(data: &[u8]) -> SourceText {
    SourceText::new("fuzz", decode(data))
}

/// A span must lie inside the text, on character boundaries (reports slice the text with it).
pub fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what}: span {span:?} outside a text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} not on character boundaries"
    );
}

pub fn check_issues(src: &SourceText, issues: &[ParseIssue]) {
    for i in issues {
        check_span(&src.text, i.span, &i.message);
        let _ = src.line_col(i.span.start);
        let _ = src.line_col(i.span.end);
    }
}

/// Indices between the parts of a lowered ruleset must resolve (evaluation follows them).
pub fn check_ruleset(src: &SourceText, rs: &Ruleset) {
    for p in &rs.pipelines {
        for s in &p.stages {
            let policy = rs
                .policies
                .get(s.policy)
                .expect("stage names a missing policy");
            assert!(s.chain < policy.chains.len(), "stage names a missing chain");
        }
    }
    for policy in &rs.policies {
        for e in &policy.entries {
            assert!(e.chain < policy.chains.len(), "entry names a missing chain");
        }
        for c in &policy.chains {
            check_span(&src.text, c.decl.span, &c.name);
            for &r in &c.rules {
                assert!(r < policy.rules.len(), "chain names a missing rule");
            }
        }
        for r in &policy.rules {
            check_span(&src.text, r.prov.span, &r.prov.label);
            if let Action::Jump(c) | Action::Goto(c) = r.action {
                assert!(c < policy.chains.len(), "jump to a missing chain");
            }
        }
    }
}

pub fn check_parsed(src: &SourceText, parsed: &Parsed) {
    check_issues(src, &parsed.issues);
    for rs in &parsed.rulesets {
        check_ruleset(src, rs);
    }
}
