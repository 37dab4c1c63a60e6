//! The condition language of the catalogue.
//!
//! A requirement that only holds in some deployments carries a condition such as
//! `zvm_version >= 8.0 and peer_zvm_version >= 8.0` or `ltr == 'nfs'`. The grammar is in
//! `grammars/condition.ebnf`; in short:
//!
//! ```text
//! expr  := or
//! or    := and ('or' and)*
//! and   := not ('and' not)*
//! not   := 'not' not | atom
//! atom  := '(' expr ')' | ident op value | ident        op := == != >= <= > <
//! value := 'text' | "text" | version (8.0, 5.5, 10) | true | false
//! ```
//!
//! `and` binds tighter than `or`; `not` binds tightest. A bare `ident` means `ident == true`.
//! Keywords (`and`, `or`, `not`, `true`, `false`) are not identifiers. Strings have no escapes.
//!
//! # Variables
//!
//! A condition's variables are facts: the `[[fact]]` rows of the catalogue, each with a type
//! (bool, version, enum, count, ...) and maybe a default (`super::facts`; `portolan catalog
//! --facts` lists them). `Catalog::check_facts` holds every condition to them.
//!
//! # Evaluation
//!
//! A condition evaluates to a [`Tri`]: `True`, `False`, or `Unknown` when the facts in the
//! [`Context`] do not decide it. `and`, `or` and `not` follow Kleene's three-valued logic, so
//! `false and unknown` is `false` and `true or unknown` is `true`.
//!
//! What a user states is typed by the fact's registry row (`Catalog::validate_fact`), which
//! rejects an unknown name or a value of the wrong type. [`Context::set`], for tests and library
//! callers, types by shape instead: `true`/`false`/`yes`/`no` (any case) are booleans, digits
//! with dots (`8`, `8.0`, `10.0.1`) are versions, anything else is a string. Comparison rules:
//!
//! * a comparison with a variable that is not set is `Unknown` (a bare `ident` too);
//! * versions compare numerically, component by component, missing components counting as zero
//!   (`10.0 > 9.5`, `8 == 8.0`);
//! * strings are equal when equal ignoring ASCII case (`--set ltr=NFS` matches `'nfs'`);
//!   booleans are equal when equal;
//! * values of different kinds (a version against a string, ...) are never equal: `==` is
//!   `False` and `!=` is `True`;
//! * ordering (`> >= < <=`) is defined for two versions only; any other ordering is `False`.

use std::collections::BTreeMap;
use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char, digit1, multispace0};
use nom::combinator::{cut, opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::multi::many0;
use nom::sequence::{pair, preceded, terminated};
use nom::{IResult, Parser};

/// Three-valued truth (Kleene logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    /// Kleene conjunction: `False` wins, then `Unknown`.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    /// Kleene disjunction: `True` wins, then `Unknown`.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    pub fn is_true(self) -> bool {
        self == Tri::True
    }

    pub fn is_false(self) -> bool {
        self == Tri::False
    }

    pub fn is_unknown(self) -> bool {
        self == Tri::Unknown
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

impl fmt::Display for Tri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tri::True => "true",
            Tri::False => "false",
            Tri::Unknown => "unknown",
        })
    }
}

/// A dotted version number such as `8.0` or `10.0.1`, compared numerically component by
/// component; missing trailing components count as zero (`8 == 8.0`).
#[derive(Debug, Clone)]
pub struct Version(Vec<u32>);

impl Version {
    /// Parse `digits ('.' digits)*`; `None` for anything else or a component above `u32::MAX`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = Vec::new();
        for part in text.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            parts.push(part.parse::<u32>().ok()?);
        }
        Some(Version(parts))
    }

    pub fn components(&self) -> &[u32] {
        &self.0
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let n = self.0.len().max(other.0.len());
        for i in 0..n {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                std::cmp::Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        std::cmp::Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A typed value: in a condition (a literal) or in a [`Context`] (a fact).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Version(Version),
    Bool(bool),
}

impl Value {
    /// Type a fact given as text: booleans (`true false yes no`, any case), versions, else a
    /// string (trimmed).
    pub fn from_text(text: &str) -> Value {
        let t = text.trim();
        match t.to_ascii_lowercase().as_str() {
            "true" | "yes" => return Value::Bool(true),
            "false" | "no" => return Value::Bool(false),
            _ => {}
        }
        match Version::parse(t) {
            Some(v) => Value::Version(v),
            None => Value::Str(t.to_string()),
        }
    }
}

impl fmt::Display for Value {
    /// As a literal of the condition language (strings quoted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) if s.contains('\'') => write!(f, "\"{s}\""),
            Value::Str(s) => write!(f, "'{s}'"),
            Value::Version(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Ge => ">=",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Lt => "<",
        }
    }

    fn from_token(t: &str) -> Option<CmpOp> {
        Some(match t {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            ">=" => CmpOp::Ge,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            "<" => CmpOp::Lt,
            _ => return None,
        })
    }

    /// Apply to two known values (see the module doc for the rules).
    fn apply(self, fact: &Value, literal: &Value) -> bool {
        use std::cmp::Ordering;
        let ordering: Option<Ordering> = match (fact, literal) {
            (Value::Version(a), Value::Version(b)) => Some(a.cmp(b)),
            _ => None,
        };
        let equal = match (fact, literal) {
            (Value::Version(a), Value::Version(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a.eq_ignore_ascii_case(b),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        };
        match self {
            CmpOp::Eq => equal,
            CmpOp::Ne => !equal,
            CmpOp::Ge => ordering.is_some_and(|o| o != Ordering::Less),
            CmpOp::Le => ordering.is_some_and(|o| o != Ordering::Greater),
            CmpOp::Gt => ordering == Some(Ordering::Greater),
            CmpOp::Lt => ordering == Some(Ordering::Less),
        }
    }
}

/// The syntax tree of a condition. `And`/`Or` hold two or more operands (flattened).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Or(Vec<Condition>),
    And(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        var: String,
        op: CmpOp,
        value: Value,
    },
    /// A bare identifier: `var == true`.
    Flag(String),
}

impl Condition {
    /// Evaluate against the known facts.
    pub fn eval(&self, ctx: &Context) -> Tri {
        match self {
            Condition::Or(items) => items.iter().fold(Tri::False, |acc, c| acc.or(c.eval(ctx))),
            Condition::And(items) => items.iter().fold(Tri::True, |acc, c| acc.and(c.eval(ctx))),
            Condition::Not(inner) => !inner.eval(ctx),
            Condition::Compare { var, op, value } => match ctx.get(var) {
                None => Tri::Unknown,
                Some(fact) => op.apply(fact, value).into(),
            },
            Condition::Flag(var) => match ctx.get(var) {
                None => Tri::Unknown,
                Some(fact) => CmpOp::Eq.apply(fact, &Value::Bool(true)).into(),
            },
        }
    }

    /// The variables the condition reads, in order of first appearance, without repeats.
    pub fn variables(&self) -> Vec<&str> {
        fn walk<'a>(c: &'a Condition, out: &mut Vec<&'a str>) {
            match c {
                Condition::Or(items) | Condition::And(items) => {
                    items.iter().for_each(|i| walk(i, out))
                }
                Condition::Not(inner) => walk(inner, out),
                Condition::Compare { var, .. } | Condition::Flag(var) => {
                    if !out.contains(&var.as_str()) {
                        out.push(var);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Binding strength, for parenthesising in [`Display`](fmt::Display).
    fn level(&self) -> u8 {
        match self {
            Condition::Or(_) => 0,
            Condition::And(_) => 1,
            Condition::Not(_) => 2,
            Condition::Compare { .. } | Condition::Flag(_) => 3,
        }
    }

    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min_level: u8) -> fmt::Result {
        if self.level() < min_level {
            f.write_str("(")?;
            self.fmt_at(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Condition::Or(items) | Condition::And(items) => {
                let (sep, child_level) = match self {
                    Condition::Or(_) => (" or ", 1),
                    _ => (" and ", 2),
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    item.fmt_at(f, child_level)?;
                }
                Ok(())
            }
            Condition::Not(inner) => {
                f.write_str("not ")?;
                inner.fmt_at(f, 2)
            }
            Condition::Compare { var, op, value } => write!(f, "{var} {} {value}", op.as_str()),
            Condition::Flag(var) => f.write_str(var),
        }
    }
}

impl fmt::Display for Condition {
    /// Canonical text: single spaces, single quotes, parentheses only where needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_at(f, 0)
    }
}

/// Known facts about a deployment, to evaluate conditions against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    facts: BTreeMap<String, Value>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Record a fact given as text (typed as described in the module doc). The key is trimmed.
    pub fn set(&mut self, key: &str, value: &str) {
        self.facts
            .insert(key.trim().to_string(), Value::from_text(value));
    }

    /// Record an already typed fact.
    pub fn set_value(&mut self, key: &str, value: Value) {
        self.facts.insert(key.trim().to_string(), value);
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.facts.get(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.facts.remove(key)
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.facts.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A condition that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} at byte {offset}, found {found}")]
pub struct ConditionError {
    /// Byte offset into the condition text where the problem is.
    pub offset: usize,
    /// What the parser expected there ("a value: a quoted string, a version or true/false").
    pub expected: String,
    /// What it found: a short quote of the text there, or "end of input".
    pub found: String,
}

/// Parse a condition.
pub fn parse_condition(text: &str) -> Result<Condition, ConditionError> {
    let to_error = |e: PErr<'_>| {
        let offset = text.len() - e.input.len();
        ConditionError {
            offset,
            expected: e.expected.to_string(),
            found: describe(e.input),
        }
    };
    match expr(text, 0) {
        Ok((rest, cond)) => {
            let rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            if rest.is_empty() {
                Ok(cond)
            } else {
                Err(to_error(PErr {
                    input: rest,
                    expected: "`and`, `or`, `)` or the end of the condition",
                }))
            }
        }
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(to_error(e)),
        Err(nom::Err::Incomplete(_)) => Err(ConditionError {
            offset: text.len(),
            expected: "more input".into(),
            found: "end of input".into(),
        }),
    }
}

fn describe(rest: &str) -> String {
    let token: String = rest
        .split_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .take(20)
        .collect();
    if token.is_empty() {
        "end of input".to_string()
    } else {
        format!("`{token}`")
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// Parser error: the remaining input where it failed and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PErr<'a> {
    input: &'a str,
    expected: &'static str,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        PErr {
            input,
            expected: "a condition",
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two alternatives that failed, report the one that got further.
    fn or(self, other: Self) -> Self {
        if other.input.len() <= self.input.len() {
            other
        } else {
            self
        }
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

const KEYWORDS: &[&str] = &["and", "or", "not", "true", "false"];

fn fail<'a, T>(input: &'a str, expected: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr { input, expected }))
}

fn ws0(i: &str) -> PResult<'_, &str> {
    multispace0(i)
}

/// A word: `[A-Za-z_][A-Za-z0-9_]*` (keywords included).
fn word(i: &str) -> PResult<'_, &str> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

/// The keyword `kw` as a whole word, after optional whitespace.
fn keyword<'a>(kw: &'static str) -> impl FnMut(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| {
        let (start, _) = ws0(i)?;
        match word(start) {
            Ok((rest, w)) if w == kw => Ok((rest, w)),
            _ => fail(start, kw),
        }
    }
}

/// An identifier (not a keyword), after optional whitespace.
fn identifier(i: &str) -> PResult<'_, &str> {
    let (start, _) = ws0(i)?;
    match word(start) {
        Ok((rest, w)) if !KEYWORDS.contains(&w) => Ok((rest, w)),
        _ => fail(start, "a variable name"),
    }
}

/// How deeply parentheses and `not`s may nest. The parser recurses once per level, so without a
/// bound a catalogue condition of some 20,000 `(` overflowed the stack.
pub const MAX_NESTING: usize = 100;

/// `depth` counts the parentheses and `not`s around `i`.
fn expr(i: &str, depth: usize) -> PResult<'_, Condition> {
    or_expr(i, depth)
}

fn or_expr(i: &str, depth: usize) -> PResult<'_, Condition> {
    let (i, first) = and_expr(i, depth)?;
    let (i, rest) = many0(preceded(keyword("or"), cut(|i| and_expr(i, depth)))).parse(i)?;
    Ok((i, join(first, rest, true)))
}

fn and_expr(i: &str, depth: usize) -> PResult<'_, Condition> {
    let (i, first) = not_expr(i, depth)?;
    let (i, rest) = many0(preceded(keyword("and"), cut(|i| not_expr(i, depth)))).parse(i)?;
    Ok((i, join(first, rest, false)))
}

/// Build an n-ary node, flattening operands of the same kind (`a and (b and c)`).
fn join(first: Condition, rest: Vec<Condition>, is_or: bool) -> Condition {
    if rest.is_empty() {
        return first;
    }
    let mut items = Vec::with_capacity(rest.len() + 1);
    for c in std::iter::once(first).chain(rest) {
        match c {
            Condition::Or(inner) if is_or => items.extend(inner),
            Condition::And(inner) if !is_or => items.extend(inner),
            other => items.push(other),
        }
    }
    if is_or {
        Condition::Or(items)
    } else {
        Condition::And(items)
    }
}

/// Past [`MAX_NESTING`]: a failure at `i`, never a deeper call.
fn too_deep(i: &str, depth: usize) -> Option<nom::Err<PErr<'_>>> {
    (depth >= MAX_NESTING).then_some(nom::Err::Failure(PErr {
        input: i,
        expected: "at most 100 nested parentheses and `not`s",
    }))
}

fn not_expr(i: &str, depth: usize) -> PResult<'_, Condition> {
    if let Ok((rest, _)) = keyword("not")(i) {
        if let Some(e) = too_deep(i, depth) {
            return Err(e);
        }
        let (rest, inner) = cut(|i| not_expr(i, depth + 1)).parse(rest)?;
        return Ok((rest, Condition::Not(Box::new(inner))));
    }
    atom(i, depth)
}

const EXPECT_CONDITION: &str = "a condition: a variable name, `not` or `(`";

fn atom(i: &str, depth: usize) -> PResult<'_, Condition> {
    let (start, _) = ws0(i)?;
    if let Ok((rest, _)) = char::<_, PErr<'_>>('(')(start) {
        if let Some(e) = too_deep(start, depth) {
            return Err(e);
        }
        let (rest, inner) = cut(|i| expr(i, depth + 1)).parse(rest)?;
        let (rest, _) = ws0(rest)?;
        return match char::<_, PErr<'_>>(')')(rest) {
            Ok(ok) => Ok((ok.0, inner)),
            Err(_) => Err(nom::Err::Failure(PErr {
                input: rest,
                expected: "`)`, `and` or `or`",
            })),
        };
    }
    let (after_name, name) = match identifier(start) {
        Ok(ok) => ok,
        Err(_) => return fail(start, EXPECT_CONDITION),
    };
    let (op_start, _) = ws0(after_name)?;
    let (after_op, op_text) = take_while(|c: char| "=!<>".contains(c)).parse(op_start)?;
    if op_text.is_empty() {
        return Ok((after_name, Condition::Flag(name.to_string())));
    }
    let Some(op) = CmpOp::from_token(op_text) else {
        return Err(nom::Err::Failure(PErr {
            input: op_start,
            expected: "a comparison operator: ==, !=, >=, <=, > or <",
        }));
    };
    let (rest, value) = cut(value).parse(after_op)?;
    Ok((
        rest,
        Condition::Compare {
            var: name.to_string(),
            op,
            value,
        },
    ))
}

const EXPECT_VALUE: &str = "a value: a quoted string, a version or true/false";

fn value(i: &str) -> PResult<'_, Value> {
    let (start, _) = ws0(i)?;
    if let Ok((rest, quote)) = alt((char::<_, PErr<'_>>('\''), char('"'))).parse(start) {
        let closing = if quote == '\'' {
            "a closing `'`"
        } else {
            "a closing `\"`"
        };
        return match terminated(
            take_while(move |c: char| c != quote),
            char::<_, PErr<'_>>(quote),
        )
        .parse(rest)
        {
            Ok((rest, s)) => Ok((rest, Value::Str(s.to_string()))),
            Err(_) => Err(nom::Err::Failure(PErr {
                input: &rest[rest.len()..],
                expected: closing,
            })),
        };
    }
    if let Ok((rest, text)) = recognize(pair(
        digit1::<_, PErr<'_>>,
        many0(pair(char('.'), opt(digit1))),
    ))
    .parse(start)
    {
        return match Version::parse(text) {
            Some(v) => Ok((rest, Value::Version(v))),
            None => Err(nom::Err::Failure(PErr {
                input: start,
                expected: "a version: numbers separated by single dots, each below 2^32",
            })),
        };
    }
    match word(start) {
        Ok((rest, "true")) => Ok((rest, Value::Bool(true))),
        Ok((rest, "false")) => Ok((rest, Value::Bool(false))),
        _ => fail(start, EXPECT_VALUE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Condition {
        match parse_condition(s) {
            Ok(c) => c,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn err(s: &str) -> ConditionError {
        match parse_condition(s) {
            Ok(c) => panic!("{s:?} should not parse, got {c:?}"),
            Err(e) => e,
        }
    }

    /// Found by probing the fuzz target `condition` past its length limit: 20,000 nested `(` or
    /// `not` overflowed the stack (the parser recursed once per level, without a bound).
    #[test]
    fn fuzz_deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = MAX_NESTING;
        let ok = format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(p(&ok), Condition::Flag("a".into()));
        assert_eq!(
            p(&format!("{}a", "not ".repeat(n))).to_string(),
            format!("{}a", "not ".repeat(n))
        );
        for deep in [
            format!("{}a{}", "(".repeat(n + 1), ")".repeat(n + 1)),
            format!("{}a", "not ".repeat(n + 1)),
            format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("{}a", "not ".repeat(100_000)),
            format!("{}a", "(not ".repeat(50_000)),
        ] {
            let e = err(&deep);
            assert!(e.expected.contains("nested"), "{e}");
            assert!(e.offset <= deep.len());
        }
    }

    fn flag(s: &str) -> Condition {
        Condition::Flag(s.into())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            p("a or b and c"),
            Condition::Or(vec![flag("a"), Condition::And(vec![flag("b"), flag("c")])])
        );
        assert_eq!(
            p("a and b or c"),
            Condition::Or(vec![Condition::And(vec![flag("a"), flag("b")]), flag("c")])
        );
        assert_eq!(p("a or b and c").to_string(), "a or b and c");
    }

    #[test]
    fn parentheses_override_precedence() {
        let c = p("(a or b) and c");
        assert_eq!(
            c,
            Condition::And(vec![Condition::Or(vec![flag("a"), flag("b")]), flag("c")])
        );
        assert_eq!(c.to_string(), "(a or b) and c");
        assert_eq!(p("((a))"), flag("a"));
        assert_eq!(
            p("a and (b and c)"),
            Condition::And(vec![flag("a"), flag("b"), flag("c")])
        );
    }

    #[test]
    fn not_binds_tightest_and_nests() {
        assert_eq!(
            p("not a and b"),
            Condition::And(vec![Condition::Not(Box::new(flag("a"))), flag("b")])
        );
        assert_eq!(
            p("not not a"),
            Condition::Not(Box::new(Condition::Not(Box::new(flag("a")))))
        );
        assert_eq!(p("not (a or b)").to_string(), "not (a or b)");
        // a keyword prefix is still an identifier
        assert_eq!(p("notable"), flag("notable"));
        assert_eq!(
            p("android or order"),
            Condition::Or(vec![flag("android"), flag("order")])
        );
    }

    #[test]
    fn quoted_strings_in_both_quote_kinds() {
        let single = p("ltr == 'smb'");
        let double = p("ltr == \"smb\"");
        assert_eq!(single, double);
        assert_eq!(
            single,
            Condition::Compare {
                var: "ltr".into(),
                op: CmpOp::Eq,
                value: Value::Str("smb".into())
            }
        );
        assert_eq!(double.to_string(), "ltr == 'smb'");
        assert_eq!(p("x == \"it's\"").to_string(), "x == \"it's\"");
    }

    #[test]
    fn values_and_operators() {
        let c = p("zvm_version>=8.0 and peer_zvm_version >= 8.0");
        assert_eq!(
            c.to_string(),
            "zvm_version >= 8.0 and peer_zvm_version >= 8.0"
        );
        assert_eq!(c.variables(), vec!["zvm_version", "peer_zvm_version"]);
        for op in ["==", "!=", ">=", "<=", ">", "<"] {
            assert_eq!(p(&format!("v {op} 10")).to_string(), format!("v {op} 10"));
        }
        assert_eq!(p("vcd == true").to_string(), "vcd == true");
        assert_eq!(p("vcd != false").to_string(), "vcd != false");
        assert_eq!(p("  \tvcd \n").to_string(), "vcd");
    }

    #[test]
    fn error_offsets_point_at_the_problem() {
        let e = err("ltr == ");
        assert_eq!(e.offset, 7, "{e}");
        assert!(e.expected.contains("value"), "{e}");
        assert_eq!(e.found, "end of input");

        let e = err("zvm_version >> 8");
        assert_eq!(e.offset, 12, "{e}");
        assert!(e.expected.contains("operator"), "{e}");
        assert_eq!(e.found, "`>>`");

        assert_eq!(err("ltr = 'smb'").offset, 4);
        assert_eq!(err("a and").offset, 5);
        assert_eq!(err("a or or b").offset, 5);
        assert_eq!(err("(a or b").offset, 7);
        assert_eq!(err("ltr == 'smb").offset, 11);
        assert_eq!(err("vcd ltr").offset, 4);
        assert_eq!(err("").offset, 0);
        assert_eq!(err("not").offset, 3);
        assert_eq!(err("x == smb").offset, 5);
        assert_eq!(err("x == 1..2").offset, 5);
        assert_eq!(err("x == 99999999999").offset, 5);
        assert_eq!(err("and").offset, 0);
    }

    #[test]
    fn kleene_logic_table() {
        use Tri::*;
        let all = [True, False, Unknown];
        let and = |a: Tri, b: Tri| match (a, b) {
            (False, _) | (_, False) => False,
            (True, True) => True,
            _ => Unknown,
        };
        for a in all {
            for b in all {
                assert_eq!(a.and(b), and(a, b), "{a} and {b}");
                assert_eq!(a.and(b), b.and(a));
                // De Morgan holds in Kleene logic
                assert_eq!(a.or(b), !(!a).and(!b), "{a} or {b}");
            }
        }
        assert_eq!(Unknown.or(True), True);
        assert_eq!(Unknown.or(False), Unknown);
        assert_eq!(Unknown.and(False), False);
        assert_eq!(!Unknown, Unknown);
        assert_eq!(!True, False);

        let mut ctx = Context::new();
        ctx.set("a", "true");
        let c = p("a or b");
        assert_eq!(c.eval(&ctx), True);
        assert_eq!(p("a and b").eval(&ctx), Unknown);
        assert_eq!(p("not a and b").eval(&ctx), False);
        assert_eq!(p("not b").eval(&ctx), Unknown);
    }

    #[test]
    fn versions_compare_numerically() {
        let mut ctx = Context::new();
        ctx.set("v", "10.0");
        assert_eq!(p("v > 9.5").eval(&ctx), Tri::True);
        assert_eq!(p("v < 9.5").eval(&ctx), Tri::False);
        assert_eq!(p("v == 10").eval(&ctx), Tri::True);
        assert_eq!(p("v >= 10.0.0").eval(&ctx), Tri::True);
        assert_eq!(p("v > 10.0.1").eval(&ctx), Tri::False);
        assert!(Version::parse("10.0") > Version::parse("9.5"));
        assert!(Version::parse("8.10") > Version::parse("8.9"));
        assert_eq!(
            Version::parse("1.2.3").map(|v| v.to_string()),
            Some("1.2.3".into())
        );
        assert!(Version::parse("1.").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn facts_are_typed_and_compared_sensibly() {
        let mut ctx = Context::new();
        ctx.set("vcd", "yes");
        ctx.set("single_scvmm", "No");
        ctx.set("ltr", "NFS");
        ctx.set("mode", " draas ");
        ctx.set("zvm_version", "latest");
        assert_eq!(ctx.get("vcd"), Some(&Value::Bool(true)));
        assert_eq!(p("vcd").eval(&ctx), Tri::True);
        assert_eq!(p("not single_scvmm").eval(&ctx), Tri::True);
        assert_eq!(p("ltr == 'nfs'").eval(&ctx), Tri::True);
        assert_eq!(p("ltr != 'smb'").eval(&ctx), Tri::True);
        assert_eq!(p("mode == 'draas'").eval(&ctx), Tri::True);
        // different kinds: unequal, unordered
        assert_eq!(p("zvm_version >= 8.0").eval(&ctx), Tri::False);
        assert_eq!(p("zvm_version == 8.0").eval(&ctx), Tri::False);
        assert_eq!(p("zvm_version != 8.0").eval(&ctx), Tri::True);
        assert_eq!(p("ltr").eval(&ctx), Tri::False);
        assert_eq!(p("ltr > 'a'").eval(&ctx), Tri::False);
        // unset: unknown
        assert_eq!(p("zcm").eval(&ctx), Tri::Unknown);
        assert_eq!(p("zcm_version < 5.5").eval(&ctx), Tri::Unknown);
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "a",
            "not a",
            "a and b or c and not d",
            "(a or b) and (c or d)",
            "not (a and b)",
            "zcm and zcm_version >= 5.5 and zvm_version < 5.5",
            "phase == 'install'",
            "site == 'customer' and hypervisor == 'hyperv'",
        ] {
            let c = p(s);
            assert_eq!(c.to_string(), s);
            assert_eq!(p(&c.to_string()), c);
        }
    }

    #[test]
    fn variables_are_listed_once() {
        assert_eq!(p("a and b or a").variables(), vec!["a", "b"]);
    }
}
