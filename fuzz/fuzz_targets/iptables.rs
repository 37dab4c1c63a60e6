#![no_main]
//! iptables-save / iptables-restore text: decode, parse as the loader does (`nat` checked but not
//! kept), lower into the rule model. The dump must not depend on how the text is cut into blocks
//! for the parallel parse: it is parsed again in blocks of a few bytes and compared.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::iptables::{self, lower};

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let dump = iptables::parse_parallel(&src.text, |t| t != "nat");
    let fam = lower::family_of(&dump);
    let lowered = lower::lower(&dump, &src, fam);
    common::check_issues(&src, &dump.issues);
    common::check_issues(&src, &lowered.issues);
    common::check_ruleset(&src, &lowered.ruleset);
    let block = 1 + usize::from(data.first().copied().unwrap_or(0) % 48);
    let cut = iptables::parse_in_blocks_of(&src.text, |t| t != "nat", block);
    assert_eq!(format!("{dump:?}"), format!("{cut:?}"), "blocks of {block} bytes");
});
