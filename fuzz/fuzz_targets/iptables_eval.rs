#![no_main]
//! A lowered iptables ruleset evaluated: every pipeline against the whole packet space of the
//! ruleset's family (what the audit does for each requirement, with the largest region).
mod common;

use libfuzzer_sys::fuzz_target;
use portolan::formats::iptables::{self, lower};
use portolan::model::{PacketBox, Verdict};

fuzz_target!(|data: &[u8]| {
    let src = common::source(data);
    let dump = iptables::parse_parallel(&src.text, |t| t != "nat");
    let lowered = lower::lower(&dump, &src, lower::family_of(&dump));
    let rs = &lowered.ruleset;
    common::check_ruleset(&src, rs);
    let mut region = PacketBox::full();
    region.src = rs.address_space();
    region.dst = rs.address_space();
    for p in &rs.pipelines {
        let out = rs.evaluate(p, &region);
        // the pieces partition the region: none empty, every decided piece names its decider
        for o in &out {
            assert!(!o.space.is_empty(), "{}: an empty piece", p.name);
            if o.verdict != Verdict::Unknown && !p.stages.is_empty() {
                assert!(
                    !o.deciders.is_empty(),
                    "{}: a decided piece without a decider",
                    p.name
                );
            }
        }
    }
});
