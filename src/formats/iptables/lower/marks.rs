//! The packet mark in iptables (iptables-extensions(8); `model::mark` has the kernel's rules):
//! `-m mark --mark value[/mask]` becomes a [`MarkMatch`] that evaluation decides where earlier
//! rules on the path set the bits it tests; `-j MARK` in all its forms, `-j CONNMARK
//! --restore-mark` and the targets that overwrite the mark with values the export does not show
//! (`HMARK`, `SET --map-mark`) become [`Action::SetMark`].

use super::Ctx;
use crate::formats::iptables::{Arg, Target};
use crate::model::mark::{MarkMatch, MarkOp};
use crate::model::{Action, Span};

/// A number as iptables reads it (`strtoul` with base 0): `0x` hexadecimal, a leading `0` octal,
/// decimal otherwise; at most 32 bits.
fn number(s: &str) -> Option<u32> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// `value[/mask]`, the mask 0xffffffff when omitted.
fn value_mask(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((v, m)) => Some((number(v)?, number(m)?)),
        None => Some((number(s)?, u32::MAX)),
    }
}

/// How a `-j MARK` option's value (and mask) make the operation.
type MakeOp = fn(u32, u32) -> MarkOp;

const NOT_A_MARK: &str = "not a mark value";

/// `-m mark [!] --mark value[/mask]`: the test, or `None` after a Z001 on a value that cannot be
/// read. `why` gets the reason the test is undecidable where no earlier rule set its bits.
pub(super) fn mark_match(
    arg: &Arg<'_>,
    ctx: &mut Ctx<'_>,
    why: &mut Vec<String>,
) -> Option<MarkMatch> {
    let Some(v) = arg.values.first() else {
        why.push("`--mark` has no value".into());
        return None;
    };
    let Some((value, mask)) = value_mask(&v.text) else {
        ctx.error(
            v.span,
            format!(
                "`{}` is not a mark: expected value[/mask], numbers of at most 32 bits",
                v.text
            ),
            NOT_A_MARK,
        );
        why.push(format!("`{}` could not be read", v.text));
        return None;
    };
    let reason = format!(
        "-m mark {}--mark {}: no earlier rule on the packet's path sets the packet mark bits it tests (tc, policy routing or a socket may set them at run time)",
        if arg.negated { "! " } else { "" },
        v.text
    );
    why.push(reason.clone());
    Some(MarkMatch {
        value,
        mask,
        negated: arg.negated,
        reason,
    })
}

/// The value of target option `name`, read as `value[/mask]` (`masked`) or a plain number: `None`
/// when absent; a Z001 on the token and `Err` when it cannot be read.
fn option(
    t: &Target<'_>,
    name: &str,
    masked: bool,
    ctx: &mut Ctx<'_>,
) -> Result<Option<(u32, u32)>, String> {
    let Some(a) = t.args.iter().find(|a| a.name == name) else {
        return Ok(None);
    };
    let (text, span): (&str, Span) = match a.values.first() {
        Some(v) => (&v.text, v.span),
        None => ("", a.span),
    };
    let read = if masked {
        value_mask(text)
    } else {
        number(text).map(|n| (n, u32::MAX))
    };
    match read {
        Some(x) => Ok(Some(x)),
        None => {
            ctx.error(
                span,
                format!(
                    "`--{name} {text}` of `-j {}`: expected {}, numbers of at most 32 bits",
                    t.name.text,
                    if masked { "value[/mask]" } else { "a number" }
                ),
                NOT_A_MARK,
            );
            Err(format!("`{text}` could not be read"))
        }
    }
}

/// `-j MARK`: `--set-xmark`, `--set-mark`, `--and-mark`, `--or-mark`, `--xor-mark`. A value that
/// cannot be read (a Z001) leaves the mark unknown.
pub(super) fn mark_target(t: &Target<'_>, ctx: &mut Ctx<'_>) -> (Action, Vec<String>) {
    let forms: [(&str, bool, MakeOp); 5] = [
        ("set-xmark", true, MarkOp::set_xmark),
        ("set-mark", true, MarkOp::set_mark),
        ("and-mark", false, |b, _| MarkOp::and(b)),
        ("or-mark", false, |b, _| MarkOp::or(b)),
        ("xor-mark", false, |b, _| MarkOp::xor(b)),
    ];
    for (name, masked, op) in forms {
        match option(t, name, masked, ctx) {
            Ok(Some((v, m))) => return (Action::SetMark(op(v, m)), Vec::new()),
            Ok(None) => {}
            Err(why) => return (Action::SetMark(MarkOp::overwrite()), vec![why]),
        }
    }
    ctx.error(
        t.span,
        "`-j MARK` needs one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark".into(),
        "no mark operation",
    );
    (
        Action::SetMark(MarkOp::overwrite()),
        vec!["`-j MARK` without an operation".into()],
    )
}

/// `-j CONNMARK`: `--restore-mark [--nfmask m] [--ctmask c] [--mask m]` copies connection-mark
/// bits into the packet mark (unknown); every other form changes the connection mark only.
pub(super) fn connmark_target(t: &Target<'_>, ctx: &mut Ctx<'_>) -> (Action, Vec<String>) {
    if !t.args.iter().any(|a| a.name == "restore-mark") {
        return (Action::Continue, Vec::new());
    }
    let mut why = Vec::new();
    let mut mask = |name: &str, ctx: &mut Ctx<'_>| match option(t, name, false, ctx) {
        Ok(m) => m.map(|(m, _)| m),
        Err(w) => {
            why.push(w);
            None
        }
    };
    let both = mask("mask", ctx);
    let nfmask = mask("nfmask", ctx).or(both).unwrap_or(u32::MAX);
    let ctmask = mask("ctmask", ctx).or(both).unwrap_or(u32::MAX);
    let op = if why.is_empty() {
        MarkOp::restore(nfmask, ctmask)
    } else {
        MarkOp::overwrite()
    };
    (Action::SetMark(op), why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_strtoul_base_0() {
        assert_eq!(number("0x1"), Some(1));
        assert_eq!(number("0XfF"), Some(255));
        assert_eq!(number("010"), Some(8));
        assert_eq!(number("0"), Some(0));
        assert_eq!(number("42"), Some(42));
        assert_eq!(number("0xffffffff"), Some(u32::MAX));
        for bad in [
            "",
            "0x",
            "0x100000000",
            "4294967296",
            "09",
            "-1",
            "1a",
            " 1",
        ] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
        assert_eq!(value_mask("0x1/0xffffffff"), Some((1, u32::MAX)));
        assert_eq!(value_mask("3"), Some((3, u32::MAX)));
        assert_eq!(value_mask("1/"), None);
    }
}
