#![no_main]
//! Any file through the loader's path: hive sniffing, decoding, content detection, then the
//! detected format's parser and lowering, and the findings built from the issues.
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::load as input;
use portolan::formats::detect::{self, Format};
use portolan::formats::{aws::cloudformation, encoding, json, windows, Resolver};

fuzz_target!(|data: &[u8]| {
    if windows::sniff_bytes(data) {
        let parsed = windows::parse_hive(data, "fuzz.wfw", &Resolver::default());
        if let Ok(src) = windows::hive_source(data, "fuzz.wfw") {
            common::check_parsed(&src, &parsed);
        }
        return;
    }
    let decoded = encoding::decode(data);
    let text = decoded.text;
    let format = if json::looks_like_json(&text) {
        match json::parse(&text) {
            Ok(json) => Format::of_json(&json),
            Err(e) => {
                common::check_span(&text, e.span, &e.message);
                None
            }
        }
    } else if let Some(f) = detect::detect(&text) {
        Some(f)
    } else if cloudformation::sniff_yaml(&text) {
        Some(Format::CloudFormation)
    } else {
        windows::sniff_text(&text).map(|w| match w {
            windows::WinFormat::Netsh => Format::WindowsNetsh,
            windows::WinFormat::PowerShellCsv => Format::WindowsPowerShell,
            _ => Format::WindowsRegistry,
        })
    };
    let Some(format) = format else {
        return;
    };
    let file = input::parse_text("fuzz".into(), text, format, decoded.lossy);
    let src = file.source.as_ref().expect("a parsed file keeps its text");
    for f in &file.findings {
        for l in &f.labels {
            common::check_span(&src.text, l.span, &f.message);
        }
    }
    for rs in &file.rulesets {
        common::check_ruleset(src, rs);
    }
});
