#![no_main]
//! Firewall rule strings: a `reg export` file or one `v2.30|...` string a line; decode, parse,
//! lower.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::windows::{self, registry};
use portolan::formats::Resolver;

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let (rules, profiles, mut issues) = registry::parse_text(&src.text);
    let rulesets = windows::lower(&rules, &profiles, &src, &Resolver::default(), &mut issues);
    common::check_issues(&src, &issues);
    for rs in &rulesets {
        common::check_ruleset(&src, rs);
    }
});
