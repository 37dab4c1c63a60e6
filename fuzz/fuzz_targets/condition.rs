#![no_main]
//! The catalogue's condition language: parse, evaluate, and the canonical text must parse back
//! to the same condition.
use libfuzzer_sys::fuzz_target;
use portolan::catalog::condition::{parse_condition, Context};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_condition(text) {
        Ok(c) => {
            let _ = c.variables();
            let mut cx = Context::new();
            cx.set("phase", "install");
            cx.set("zvm_version", "9.7");
            cx.set("vba", "true");
            let _ = c.eval(&cx);
            let _ = c.eval(&Context::new());
            let shown = c.to_string();
            assert_eq!(
                parse_condition(&shown).as_ref(),
                Ok(&c),
                "canonical text {shown:?}"
            );
        }
        Err(e) => assert!(e.offset <= text.len()),
    }
});
