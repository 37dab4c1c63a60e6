#![no_main]
//! JSON into the span-aware tree, then `aws::parse` (whatever the sniffing would say), lowering
//! included.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::{self, json, Resolver};

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let Ok(json) = json::parse(&src.text) else {
        return;
    };
    let parsed = formats::aws::parse(&src, &json, &Resolver::default());
    common::check_parsed(&src, &parsed);
});
