#![no_main]
//! `netsh advfirewall firewall show rule` text: decode, parse, lower.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::windows::{self, netsh, ProfileSettings};
use portolan::formats::Resolver;

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let (rules, mut issues) = netsh::parse(&src.text);
    let rulesets = windows::lower(
        &rules,
        &ProfileSettings::default(),
        &src,
        &Resolver::default(),
        &mut issues,
    );
    common::check_issues(&src, &issues);
    for rs in &rulesets {
        common::check_ruleset(&src, rs);
    }
});
