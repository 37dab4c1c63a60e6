#![no_main]
//! `.wfw` (binary registry hive): the hive reader, then the rendering, parse and lowering.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::windows::{self, regf::Hive};
use portolan::formats::Resolver;

fuzz_target!(|data: &[u8]| {
    let _ = Hive::parse(data);
    let parsed = windows::parse_hive(data, "fuzz.wfw", &Resolver::default());
    if let Ok(src) = windows::hive_source(data, "fuzz.wfw") {
        common::check_parsed(&src, &parsed);
    }
});
