//! ARM template expressions: parsed and evaluated as far as the template settles them.

use std::cell::{Cell, RefCell};

use crate::formats::json::{Json, Kind};

/// A piece of an evaluated string: literal text, or an expression left unevaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::formats::azure) enum Seg {
    Lit(String),
    /// The expression's text (whitespace outside quotes removed) and why it stays unevaluated.
    Expr(String, String),
}

/// The value of an ARM expression: a (partly evaluated) string, or a JSON value of the template
/// (a non-string default value or variable).
#[derive(Debug, Clone)]
pub(in crate::formats::azure) enum Ev<'j, 'a> {
    Str(Vec<Seg>),
    Node(&'j Json<'a>),
}

impl Ev<'_, '_> {
    fn opaque(text: &str, why: impl Into<String>) -> Self {
        Ev::Str(vec![Seg::Expr(text.to_string(), why.into())])
    }
    pub(in crate::formats::azure) fn segs(&self) -> Option<Vec<Seg>> {
        match self {
            Ev::Str(s) => Some(s.clone()),
            Ev::Node(n) => match &n.kind {
                Kind::Number(t) => Some(vec![Seg::Lit(t.to_string())]),
                Kind::Bool(b) => Some(vec![Seg::Lit(b.to_string())]),
                _ => None,
            },
        }
    }
}

pub(in crate::formats::azure) fn literal_of(segs: &[Seg]) -> Option<String> {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Lit(t) => out.push_str(t),
            Seg::Expr(..) => return None,
        }
    }
    Some(out)
}

/// Segments with neighbouring literals merged (so equal strings compare equal).
pub(in crate::formats::azure) fn merged(segs: Vec<Seg>) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for s in segs {
        match (out.last_mut(), s) {
            (Some(Seg::Lit(a)), Seg::Lit(b)) => a.push_str(&b),
            (_, Seg::Lit(b)) if b.is_empty() => {}
            (_, s) => out.push(s),
        }
    }
    out
}

pub(in crate::formats::azure) fn display_segs(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| match s {
            Seg::Lit(t) => t.clone(),
            Seg::Expr(e, _) => format!("[{e}]"),
        })
        .collect()
}

pub(in crate::formats::azure) fn first_why(segs: &[Seg]) -> String {
    segs.iter()
        .find_map(|s| match s {
            Seg::Expr(e, why) => Some(format!("`{e}`: {why}")),
            Seg::Lit(_) => None,
        })
        .unwrap_or_default()
}

pub(in crate::formats::azure) fn unresolved_reason(raw: &str, segs: &[Seg]) -> String {
    format!(
        "ARM expression `{}` cannot be evaluated from the template ({})",
        raw.trim(),
        first_why(segs)
    )
}

/// A short display of a JSON value (`["10.0.0.0/8","10.1.0.0/16"]`, `an object`).
fn short(j: &Json<'_>) -> String {
    match &j.kind {
        Kind::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .take(4)
                .map(|i| match &i.kind {
                    Kind::String(s) => format!("\"{s}\""),
                    Kind::Number(t) => t.to_string(),
                    _ => i.type_name().to_string(),
                })
                .collect();
            let more = if items.len() > 4 { ",…" } else { "" };
            format!("[{}{more}]", parts.join(","))
        }
        Kind::Number(t) => t.to_string(),
        Kind::String(s) => s.to_string(),
        _ => j.type_name().to_string(),
    }
}

/// The body of an ARM expression string (`[...]`, but not the `[[` escape).
fn expr_body(s: &str) -> Option<&str> {
    let t = s.trim();
    if t.starts_with("[[") {
        return None;
    }
    t.strip_prefix('[')?.strip_suffix(']')
}

/// Remove whitespace outside single-quoted strings.
fn normalize(e: &str) -> String {
    let mut out = String::with_capacity(e.len());
    let mut quoted = false;
    for c in e.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The expression language of ARM templates, as far as we evaluate it.
#[derive(Debug, Clone)]
enum Ex {
    Str(String),
    Num(String),
    Call {
        name: String,
        args: Vec<Ex>,
        text: String,
    },
    Prop {
        base: Box<Ex>,
        name: String,
        text: String,
    },
    Index {
        base: Box<Ex>,
        index: Box<Ex>,
        text: String,
    },
}

impl Ex {
    fn text(&self) -> String {
        match self {
            Ex::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Ex::Num(n) => n.clone(),
            Ex::Call { text, .. } | Ex::Prop { text, .. } | Ex::Index { text, .. } => text.clone(),
        }
    }
}

struct ExParser<'x> {
    s: &'x str,
    b: &'x [u8],
    i: usize,
    depth: usize,
}

fn parse_ex(s: &str) -> Option<Ex> {
    let mut p = ExParser {
        s,
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let e = p.expr()?;
    p.ws();
    (p.i == p.b.len()).then_some(e)
}

impl ExParser<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn text(&self, start: usize) -> String {
        normalize(self.s.get(start..self.i).unwrap_or(""))
    }
    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        {
            self.i += 1;
        }
        (self.i > start).then(|| self.s.get(start..self.i).unwrap_or("").to_string())
    }
    fn string(&mut self) -> Option<String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        let mut start = self.i;
        loop {
            match self.peek()? {
                b'\'' => {
                    out.push_str(self.s.get(start..self.i)?);
                    self.i += 1;
                    if self.peek() == Some(b'\'') {
                        out.push('\'');
                        self.i += 1;
                        start = self.i;
                    } else {
                        return Some(out);
                    }
                }
                _ => self.i += 1,
            }
        }
    }
    fn expr(&mut self) -> Option<Ex> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        self.ws();
        let start = self.i;
        let c = self.peek()?;
        let mut e = if c == b'\'' {
            Ex::Str(self.string()?)
        } else if c.is_ascii_digit() || c == b'-' {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            Ex::Num(self.s.get(start..self.i)?.to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let name = self.ident()?;
            self.ws();
            if self.peek() != Some(b'(') {
                return None;
            }
            self.i += 1;
            let mut args = Vec::new();
            self.ws();
            if self.peek() == Some(b')') {
                self.i += 1;
            } else {
                loop {
                    args.push(self.expr()?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b')' => {
                            self.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Ex::Call {
                name,
                args,
                text: self.text(start),
            }
        } else {
            return None;
        };
        loop {
            self.ws();
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    self.ws();
                    let name = self.ident()?;
                    e = Ex::Prop {
                        base: Box::new(e),
                        name,
                        text: self.text(start),
                    };
                }
                Some(b'[') => {
                    self.i += 1;
                    let index = self.expr()?;
                    self.ws();
                    if self.peek() != Some(b']') {
                        return None;
                    }
                    self.i += 1;
                    e = Ex::Index {
                        base: Box::new(e),
                        index: Box::new(index),
                        text: self.text(start),
                    };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Some(e)
    }
}

/// Where ARM expressions look up `parameters(...)` and `variables(...)`.
#[derive(Clone, Copy)]
pub(in crate::formats::azure) struct ArmScope<'j, 'a> {
    params: Option<&'j Json<'a>>,
    vars: Option<&'j Json<'a>>,
    /// Evaluation steps taken for this file: variables referring to variables can make the work
    /// grow exponentially with depth, so it is capped.
    pub(in crate::formats::azure) steps: &'j Cell<usize>,
    /// The parameter values of a deployment (the `parameters` object of a parameters file): they
    /// win over the template's `defaultValue`s.
    given: Option<&'j Json<'a>>,
    /// The parameters whose `defaultValue` an evaluation used, as `(name, value)`: a deployment
    /// can override them, so what they decide is an assumption.
    pub(in crate::formats::azure) assumed: &'j RefCell<Vec<(String, String)>>,
}

/// What the evaluation of a template may read beside the template itself.
#[derive(Clone, Copy)]
pub(in crate::formats::azure) struct ArmInputs<'j, 'a> {
    pub(in crate::formats::azure) steps: &'j Cell<usize>,
    /// The `parameters` object of a parameters file.
    pub(in crate::formats::azure) given: Option<&'j Json<'a>>,
    pub(in crate::formats::azure) assumed: &'j RefCell<Vec<(String, String)>>,
}

const MAX_EVAL_DEPTH: usize = 32;
const MAX_EVAL_STEPS: usize = 200_000;

impl<'j, 'a> ArmScope<'j, 'a> {
    /// The scope of a template. A parameters file's values apply to the outermost template only
    /// (`given` is `None` for a nested one).
    pub(in crate::formats::azure) fn of(template: &'j Json<'a>, inputs: ArmInputs<'j, 'a>) -> Self {
        ArmScope {
            params: template.get_ci("parameters"),
            vars: template.get_ci("variables"),
            steps: inputs.steps,
            given: inputs.given,
            assumed: inputs.assumed,
        }
    }

    /// The inputs of this scope, for a nested template with its own scope: no parameters file.
    pub(in crate::formats::azure) fn inner_inputs(&self) -> ArmInputs<'j, 'a> {
        ArmInputs {
            steps: self.steps,
            given: None,
            assumed: self.assumed,
        }
    }

    /// Is `n` a value of the parameters file (its spans are not in the template's text)?
    pub(in crate::formats::azure) fn is_given(&self, n: &Json<'_>) -> bool {
        fn within(t: &Json<'_>, n: &Json<'_>, depth: usize) -> bool {
            if std::ptr::eq(
                t as *const Json<'_> as *const u8,
                n as *const Json<'_> as *const u8,
            ) {
                return true;
            }
            depth < 32
                && match &t.kind {
                    Kind::Array(items) => items.iter().any(|i| within(i, n, depth + 1)),
                    Kind::Object(members) => members.iter().any(|m| within(&m.value, n, depth + 1)),
                    _ => false,
                }
        }
        self.given.is_some_and(|g| within(g, n, 0))
    }

    pub(in crate::formats::azure) fn eval_string(&self, s: &str, depth: usize) -> Ev<'j, 'a> {
        let Some(body) = expr_body(s) else {
            let lit = if s.trim_start().starts_with("[[") {
                s.trim_start().get(1..).unwrap_or("")
            } else {
                s
            };
            return Ev::Str(vec![Seg::Lit(lit.to_string())]);
        };
        if depth > MAX_EVAL_DEPTH {
            return Ev::opaque(&normalize(body), "the expressions nest too deeply");
        }
        match parse_ex(body) {
            Some(e) => self.eval(&e, depth + 1),
            None => Ev::opaque(&normalize(body), "Portolan cannot read this expression"),
        }
    }

    fn node(&self, j: &'j Json<'a>, depth: usize) -> Ev<'j, 'a> {
        match j.as_str() {
            Some(s) => self.eval_string(s, depth),
            None => Ev::Node(j),
        }
    }

    fn eval(&self, e: &Ex, depth: usize) -> Ev<'j, 'a> {
        if depth > MAX_EVAL_DEPTH {
            return Ev::opaque(&e.text(), "the expressions nest too deeply");
        }
        self.steps.set(self.steps.get().saturating_add(1));
        if self.steps.get() > MAX_EVAL_STEPS {
            return Ev::opaque(
                &e.text(),
                "the template's expressions are too large to evaluate",
            );
        }
        match e {
            Ex::Str(s) => Ev::Str(vec![Seg::Lit(s.clone())]),
            Ex::Num(n) => Ev::Str(vec![Seg::Lit(n.clone())]),
            Ex::Call { name, args, text } => self.call(name, args, text, depth),
            Ex::Prop { base, name, text } => match self.eval(base, depth + 1) {
                Ev::Node(n) if n.members().is_some() => match n.get_ci(name) {
                    Some(v) => self.node(v, depth + 1),
                    None => Ev::opaque(text, format!("the object has no property `{name}`")),
                },
                Ev::Str(segs) if literal_of(&segs).is_none() => {
                    Ev::Str(vec![Seg::Expr(text.clone(), first_why(&segs))])
                }
                _ => Ev::opaque(text, "a property of a value that has none"),
            },
            Ex::Index { base, index, text } => {
                let key = self
                    .eval(index, depth + 1)
                    .segs()
                    .and_then(|s| literal_of(&s));
                match (self.eval(base, depth + 1), key) {
                    (Ev::Node(n), Some(k)) => {
                        let hit = match &n.kind {
                            Kind::Array(items) => {
                                k.trim().parse::<usize>().ok().and_then(|i| items.get(i))
                            }
                            Kind::Object(_) => n.get_ci(&k),
                            _ => None,
                        };
                        match hit {
                            Some(v) => self.node(v, depth + 1),
                            None => Ev::opaque(text, format!("no element `{k}`")),
                        }
                    }
                    _ => Ev::opaque(text, "an index Portolan cannot evaluate"),
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let arg_lit = |i: usize| -> Option<String> {
            args.get(i)
                .map(|a| self.eval(a, depth + 1))
                .and_then(|ev| ev.segs())
                .and_then(|s| literal_of(&s))
        };
        match name.to_ascii_lowercase().as_str() {
            "parameters" => {
                let Some(p) = arg_lit(0) else {
                    return Ev::opaque(text, "the parameter name is not a literal");
                };
                let given = self.given.and_then(|g| g.get_ci(&p));
                if let Some(g) = given {
                    return match g.get_ci("value") {
                        // a parameters file's value is data, not an expression
                        Some(v) => match &v.kind {
                            Kind::String(s) => Ev::Str(vec![Seg::Lit(s.to_string())]),
                            _ => Ev::Node(v),
                        },
                        None => Ev::opaque(
                            text,
                            format!(
                                "parameter `{p}` is given by a reference (a Key Vault secret) in the parameters file"
                            ),
                        ),
                    };
                }
                match self.params.and_then(|ps| ps.get_ci(&p)) {
                    None => Ev::opaque(text, format!("parameter `{p}` is not declared")),
                    Some(decl) => match decl.get_ci("defaultValue") {
                        Some(d) => {
                            let ev = self.node(d, depth + 1);
                            let shown = match ev.segs().as_deref().and_then(literal_of) {
                                Some(t) => t,
                                None => short(d),
                            };
                            self.assumed.borrow_mut().push((p.clone(), shown));
                            ev
                        }
                        None => Ev::opaque(
                            text,
                            format!(
                                "parameter `{p}` has no default value; it is given at deployment"
                            ),
                        ),
                    },
                }
            }
            "variables" => {
                let Some(v) = arg_lit(0) else {
                    return Ev::opaque(text, "the variable name is not a literal");
                };
                match self.vars.and_then(|vs| vs.get_ci(&v)) {
                    Some(val) => self.node(val, depth + 1),
                    None => Ev::opaque(text, format!("variable `{v}` is not defined")),
                }
            }
            "concat" => {
                let mut out = Vec::new();
                for a in args {
                    match self.eval(a, depth + 1).segs() {
                        Some(s) => out.extend(s),
                        None => return Ev::opaque(text, "`concat` of non-strings"),
                    }
                }
                Ev::Str(merged(out))
            }
            "format" => self.format(args, text, depth),
            "resourceid" => self.resource_id(args, text, depth),
            "tolower" | "toupper" => match arg_lit(0) {
                Some(s) if name.eq_ignore_ascii_case("tolower") => {
                    Ev::Str(vec![Seg::Lit(s.to_lowercase())])
                }
                Some(s) => Ev::Str(vec![Seg::Lit(s.to_uppercase())]),
                None => Ev::opaque(text, "its argument cannot be evaluated"),
            },
            "string" => match args.first().map(|a| self.eval(a, depth + 1)) {
                Some(ev) => match ev.segs() {
                    Some(s) => Ev::Str(s),
                    None => Ev::opaque(text, "`string` of a non-scalar"),
                },
                None => Ev::opaque(text, "`string` needs an argument"),
            },
            _ => Ev::opaque(
                text,
                format!("`{name}()` is only known at deployment or not evaluated by Portolan"),
            ),
        }
    }

    fn format(&self, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let Some(fmt) = args
            .first()
            .and_then(|a| self.eval(a, depth + 1).segs())
            .and_then(|s| literal_of(&s))
        else {
            return Ev::opaque(text, "the format string is not a literal");
        };
        let vals: Vec<Option<Vec<Seg>>> = args
            .iter()
            .skip(1)
            .map(|a| self.eval(a, depth + 1).segs())
            .collect();
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut n = String::new();
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                        n.push(d);
                    }
                    let Some(v) = n
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| vals.get(i).cloned().flatten())
                    else {
                        return Ev::opaque(text, "a `format` placeholder Portolan cannot fill");
                    };
                    out.push(Seg::Lit(std::mem::take(&mut lit)));
                    out.extend(v);
                }
                c => lit.push(c),
            }
        }
        out.push(Seg::Lit(lit));
        Ev::Str(merged(out))
    }

    /// `resourceId([sub], [rg], 'Ns/type[/child]', name[, childName])` as
    /// `/providers/Ns/type/name[/child/childName]` (enough for the last segment, the name).
    fn resource_id(&self, args: &[Ex], text: &str, depth: usize) -> Ev<'j, 'a> {
        let evs: Vec<Option<Vec<Seg>>> = args
            .iter()
            .map(|a| self.eval(a, depth + 1).segs())
            .collect();
        let is_type = |s: &Option<Vec<Seg>>| {
            s.as_ref().and_then(|s| literal_of(s)).is_some_and(|t| {
                t.split('/').next().is_some_and(|ns| ns.contains('.')) && t.contains('/')
            })
        };
        let Some(ti) = evs.iter().position(is_type) else {
            return Ev::opaque(text, "`resourceId` without a literal resource type");
        };
        let ty = evs
            .get(ti)
            .cloned()
            .flatten()
            .and_then(|s| literal_of(&s))
            .unwrap_or_default();
        let mut parts = ty.split('/');
        let ns = parts.next().unwrap_or("");
        let types: Vec<&str> = parts.collect();
        let names: Vec<Option<Vec<Seg>>> = evs.iter().skip(ti + 1).cloned().collect();
        if types.len() != names.len() || types.is_empty() {
            return Ev::opaque(
                text,
                "`resourceId` with a type and names that do not pair up",
            );
        }
        let mut out = vec![Seg::Lit(format!("/providers/{ns}"))];
        for (t, n) in types.iter().zip(names) {
            let Some(n) = n else {
                return Ev::opaque(text, "`resourceId` of a non-string name");
            };
            out.push(Seg::Lit(format!("/{t}/")));
            out.extend(n);
        }
        Ev::Str(merged(out))
    }
}
