//! A flow's admitted sources written out as CIDRs, shared between the flows that admit the
//! same set.

use serde::{Deserialize, Serialize};

use crate::model::AddrSet;

/// A flow's admitted sources as CIDRs (`flows[].allowed_sources`), shared: most flows of a run
/// admit one of a few sets (every address but loopback is about 200 CIDRs), and a report of
/// 100k flows kept a copy of each list per flow (11M strings for a 50 MB security-group export).
/// Reads as a slice of strings; serialises as a JSON array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cidrs(std::sync::Arc<[String]>);

impl std::ops::Deref for Cidrs {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for Cidrs {
    fn from(v: Vec<String>) -> Cidrs {
        Cidrs(v.into())
    }
}

impl Serialize for Cidrs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Cidrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidrs, D::Error> {
        Vec::<String>::deserialize(d).map(Cidrs::from)
    }
}

/// `set.to_cidrs()` for the sources of a flow, remembered for the run: most flows of a run admit
/// one of a few sets (every remote address, every address the host may have, a virtual
/// network), and writing out the 130 or so CIDRs of IPv6 minus `::1` for every flow was a tenth
/// of a many-file run (and 6% of a 50 MB NSG list for sets the run met once per NSG). Every flow
/// with the same set shares one list.
pub(crate) fn source_cidrs(set: &AddrSet) -> Cidrs {
    // looked up, never walked: a fast hash of the ranges
    type Cache = std::collections::HashMap<AddrSet, Cidrs, foldhash::fast::RandomState>;
    static CACHE: std::sync::Mutex<Option<Cache>> = std::sync::Mutex::new(None);
    if let Some(c) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Cache::default)
        .get(set)
    {
        return c.clone();
    }
    // written out without the lock held
    let c: Cidrs = set.to_cidrs().into();
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(Cache::default);
    // a process that audits again and again (a library caller) does not grow without bound
    if cache.len() >= MAX_CACHED_SETS {
        cache.clear();
    }
    cache.entry(set.clone()).or_insert(c).clone()
}

/// How many distinct address sets [`source_cidrs`] remembers before it starts again.
const MAX_CACHED_SETS: usize = 1 << 16;
