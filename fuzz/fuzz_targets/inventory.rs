#![no_main]
//! The inventory (TOML): parse and validate, then build the name resolver; a rejected inventory's
//! problem spans must lie inside the text.
use libfuzzer_sys::fuzz_target;
use portolan::inventory::Inventory;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Inventory::parse(std::path::Path::new("fuzz.toml"), text) {
        Ok(inv) => {
            let _ = inv.resolver();
        }
        Err(e) => {
            for p in &e.problems {
                if let Some(s) = p.span {
                    assert!(
                        s.offset() + s.len() <= text.len(),
                        "{}: span {s:?}",
                        p.message
                    );
                }
            }
        }
    }
});
