#![no_main]
//! CloudFormation templates: JSON text through the JSON reader, anything else through the YAML
//! reader; read, then lowered as security groups and network ACLs.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::{aws::cloudformation, json, Resolver};

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let parsed = if json::looks_like_json(&src.text) {
        let Ok(json) = json::parse(&src.text) else {
            return;
        };
        cloudformation::parse_json(&src, &json, &Resolver::default())
    } else {
        cloudformation::parse_yaml(&src, &Resolver::default())
    };
    common::check_parsed(&src, &parsed);
});
