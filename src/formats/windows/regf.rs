//! A small read-only reader of Windows registry hive files (`regf`), as used by `.wfw`
//! firewall policy exports.
//!
//! Written from the published descriptions of the on-disk format. Layout recap:
//!
//! - a 4096-byte base block: `regf` signature, format version at 20/24, the root key's cell
//!   offset at 36 and the size of the hive bins data at 40;
//! - hive bins (`hbin`, a 32-byte header, size a multiple of 4096) from file offset 4096;
//! - cells inside the bins: an `i32` size (negative when allocated) then the cell data.
//!   Every cell offset is relative to the start of the first bin (file offset 4096);
//! - cell kinds used here: `nk` key nodes, `vk` values, the subkey lists `lf`/`lh`/`li`/`ri`
//!   (`ri` is a list of lists), plain value lists (an array of `u32` offsets) and `db`
//!   big-data records for values longer than 16344 bytes.
//!
//! Every offset and length is checked against the buffer; nothing here panics or loops on
//! malformed input: errors come back as `Err(String)`.

use std::collections::HashSet;
use std::rc::Rc;

const BASE_BLOCK_LEN: usize = 4096;
const HBIN_HEADER_LEN: usize = 32;
/// Offsets meaning "no cell".
const NO_CELL: u32 = 0xFFFF_FFFF;
/// `nk` flag: the key name is stored as 8-bit (Latin-1) characters.
const KEY_COMP_NAME: u16 = 0x0020;
/// `vk` flag: the value name is stored as 8-bit (Latin-1) characters.
const VALUE_COMP_NAME: u16 = 0x0001;
/// `vk` data size bit: the data (at most 4 bytes) sits in the data offset field.
const DATA_INLINE: u32 = 0x8000_0000;
/// Longest value stored in one cell; longer ones use a `db` record (format 1.4 and later).
const BIG_DATA_SEGMENT: usize = 16344;
/// Windows refuses keys nested deeper than this; a deeper walk means a cycle.
const MAX_DEPTH: u32 = 512;

pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_MULTI_SZ: u32 = 7;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A parsed hive: the hive bins data and the root key.
#[derive(Debug, Clone)]
pub struct Hive<'a> {
    /// The hive bins data: file offset 4096 onwards (cell offsets index into it).
    data: &'a [u8],
    /// `[start, end)` of each hive bin, in `data` coordinates, ascending.
    bins: Vec<(usize, usize)>,
    minor_version: u32,
    root: Node,
}

/// The fields of an `nk` cell that the reader uses.
#[derive(Debug, Clone)]
struct Node {
    offset: u32,
    name: String,
    subkey_count: u32,
    subkey_list: u32,
    value_count: u32,
    value_list: u32,
}

/// The `nk` offsets from a key up to the root, to refuse a subkey that is its own ancestor.
#[derive(Debug)]
struct Ancestors {
    offset: u32,
    parent: Option<Rc<Ancestors>>,
}

/// A registry key.
#[derive(Debug, Clone)]
pub struct Key<'h> {
    hive: &'h Hive<'h>,
    node: Node,
    depth: u32,
    ancestors: Option<Rc<Ancestors>>,
}

/// A registry value.
#[derive(Debug, Clone)]
pub struct Value<'h> {
    hive: &'h Hive<'h>,
    name: String,
    data_type: u32,
    data_size: u32,
    data_offset: u32,
}

/// The decoded data of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueData {
    /// `REG_SZ` or `REG_EXPAND_SZ`, trailing NULs trimmed.
    String(String),
    /// `REG_DWORD` (four bytes, little-endian).
    Dword(u32),
    /// `REG_BINARY`.
    Binary(Vec<u8>),
    /// `REG_MULTI_SZ`, without the terminating empty string(s).
    MultiString(Vec<String>),
    /// Any other type (or a `REG_DWORD` that is not four bytes long): the type and raw bytes.
    Other(u32, Vec<u8>),
}

impl<'a> Hive<'a> {
    /// Check the base block and the hive bins and read the root key.
    pub fn parse(bytes: &'a [u8]) -> Result<Hive<'a>, String> {
        if bytes.len() < 4 || &bytes[..4] != b"regf" {
            return Err("not a registry hive: no `regf` signature".into());
        }
        if bytes.len() < BASE_BLOCK_LEN + HBIN_HEADER_LEN {
            return Err(format!(
                "registry hive truncated: {} bytes, too short for the base block and a hive bin",
                bytes.len()
            ));
        }
        let minor_version = u32_at(bytes, 24).unwrap_or(0);
        let root_offset = u32_at(bytes, 36).unwrap_or(NO_CELL);
        let declared = u32_at(bytes, 40).unwrap_or(0) as usize;
        let rest = &bytes[BASE_BLOCK_LEN..];
        // a truncated file keeps what it has; a declared size inside the file bounds the data
        let data = if declared >= HBIN_HEADER_LEN && declared < rest.len() {
            &rest[..declared]
        } else {
            rest
        };
        let mut bins = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            let Some(head) = data.get(at..at + HBIN_HEADER_LEN) else {
                break; // a partial header at the end of a truncated file
            };
            if &head[..4] != b"hbin" {
                if bins.is_empty() {
                    return Err("registry hive: no `hbin` signature at file offset 4096".into());
                }
                break; // trailing garbage after the last bin
            }
            let size = u32_at(head, 8).unwrap_or(0) as usize;
            if size < HBIN_HEADER_LEN || !size.is_multiple_of(4096) {
                return Err(format!(
                    "registry hive: the hive bin at offset {at:#x} has a bad size {size:#x}"
                ));
            }
            let end = at.saturating_add(size).min(data.len());
            bins.push((at, end));
            at = at.saturating_add(size);
        }
        if bins.is_empty() {
            return Err("registry hive: no hive bins".into());
        }
        let mut hive = Hive {
            data,
            bins,
            minor_version,
            root: Node {
                offset: root_offset,
                name: String::new(),
                subkey_count: 0,
                subkey_list: NO_CELL,
                value_count: 0,
                value_list: NO_CELL,
            },
        };
        hive.root = hive
            .node(root_offset)
            .map_err(|e| format!("registry hive: bad root key: {e}"))?;
        Ok(hive)
    }

    /// The root key.
    pub fn root(&self) -> Key<'_> {
        Key {
            hive: self,
            node: self.root.clone(),
            depth: 0,
            ancestors: None,
        }
    }

    /// The data of the allocated cell at `offset` (relative to the first hive bin).
    fn cell(&self, offset: u32) -> Result<&'a [u8], String> {
        if offset == NO_CELL {
            return Err("reference to no cell".into());
        }
        let at = offset as usize;
        // the last bin starting at or before `at`
        let idx = self.bins.partition_point(|&(start, _)| start <= at);
        let Some(&(start, end)) = idx.checked_sub(1).and_then(|i| self.bins.get(i)) else {
            return Err(format!(
                "cell offset {offset:#x} lies outside the hive bins"
            ));
        };
        if at < start + HBIN_HEADER_LEN || at.saturating_add(4) > end {
            return Err(format!(
                "cell offset {offset:#x} lies outside the hive bins"
            ));
        }
        let raw = u32_at(self.data, at).unwrap_or(0) as i32;
        if raw >= 0 {
            return Err(format!("cell {offset:#x} is not allocated"));
        }
        let size = raw.unsigned_abs() as usize;
        if size < 4 || at.saturating_add(size) > end {
            return Err(format!("cell {offset:#x} has a bad size {size:#x}"));
        }
        Ok(&self.data[at + 4..at + size])
    }

    /// Read the `nk` cell at `offset`.
    fn node(&self, offset: u32) -> Result<Node, String> {
        let c = self.cell(offset)?;
        if c.len() < 76 || &c[..2] != b"nk" {
            return Err(format!("cell {offset:#x} is not a key node"));
        }
        let flags = u16_at(c, 2).unwrap_or(0);
        let name_len = u16_at(c, 72).unwrap_or(0) as usize;
        let raw_name = c
            .get(76..76 + name_len)
            .ok_or_else(|| format!("key node {offset:#x}: the name runs past the cell"))?;
        let name = if flags & KEY_COMP_NAME != 0 {
            latin1(raw_name)
        } else {
            utf16(raw_name)
        };
        Ok(Node {
            offset,
            name,
            subkey_count: u32_at(c, 20).unwrap_or(0),
            subkey_list: u32_at(c, 28).unwrap_or(NO_CELL),
            value_count: u32_at(c, 36).unwrap_or(0),
            value_list: u32_at(c, 40).unwrap_or(NO_CELL),
        })
    }

    /// The `nk` offsets listed by a leaf list (`lf`, `lh`, `li`), appended to `out`.
    fn leaf(&self, offset: u32, c: &[u8], out: &mut Vec<u32>) -> Result<(), String> {
        let count = u16_at(c, 2).unwrap_or(0) as usize;
        let step = match &c[..2] {
            b"lf" | b"lh" => 8,
            b"li" => 4,
            _ => return Err(format!("cell {offset:#x} is not a subkey list")),
        };
        if 4 + count * step > c.len() {
            return Err(format!(
                "subkey list {offset:#x}: {count} entries do not fit in the cell"
            ));
        }
        out.extend((0..count).filter_map(|i| u32_at(c, 4 + i * step)));
        Ok(())
    }
}

impl<'h> Key<'h> {
    /// The key's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// The offset of the key's `nk` cell: unique per key in a well-formed hive.
    pub fn offset(&self) -> u32 {
        self.node.offset
    }

    /// The direct subkeys, in the order the hive lists them. A subkey that is one of this key's
    /// ancestors is an error (a cycle); a walker of a whole hive should still keep a set of
    /// visited [`Key::offset`]s, as a damaged hive may share a key between several parents.
    pub fn subkeys(&self) -> Result<Vec<Key<'h>>, String> {
        if self.node.subkey_count == 0 {
            return Ok(Vec::new());
        }
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "key {:?} is nested more than {MAX_DEPTH} deep: the hive has a cycle",
                self.node.name
            ));
        }
        let hive = self.hive;
        let list = self.node.subkey_list;
        let c = hive.cell(list)?;
        if c.len() < 4 {
            return Err(format!("subkey list {list:#x} is too short"));
        }
        let mut offsets = Vec::new();
        if &c[..2] == b"ri" {
            let count = u16_at(c, 2).unwrap_or(0) as usize;
            if 4 + count * 4 > c.len() {
                return Err(format!(
                    "index root {list:#x}: {count} entries do not fit in the cell"
                ));
            }
            let mut seen = HashSet::new();
            for i in 0..count {
                let sub = u32_at(c, 4 + i * 4).unwrap_or(NO_CELL);
                if !seen.insert(sub) {
                    return Err(format!("index root {list:#x} lists {sub:#x} twice"));
                }
                let sc = hive.cell(sub)?;
                if sc.len() < 4 {
                    return Err(format!("subkey list {sub:#x} is too short"));
                }
                // an index root holds leaves only, so no recursion
                hive.leaf(sub, sc, &mut offsets)?;
            }
        } else {
            hive.leaf(list, c, &mut offsets)?;
        }
        let chain = Some(Rc::new(Ancestors {
            offset: self.node.offset,
            parent: self.ancestors.clone(),
        }));
        let mut seen = HashSet::new();
        let mut keys = Vec::with_capacity(offsets.len());
        for off in offsets {
            if !seen.insert(off) {
                return Err(format!(
                    "key {:?} lists the key node {off:#x} twice",
                    self.node.name
                ));
            }
            let mut up = chain.as_deref();
            while let Some(a) = up {
                if a.offset == off {
                    return Err(format!(
                        "key {:?} lists its own ancestor {off:#x} as a subkey: the hive has a cycle",
                        self.node.name
                    ));
                }
                up = a.parent.as_deref();
            }
            keys.push(Key {
                hive,
                node: hive.node(off)?,
                depth: self.depth + 1,
                ancestors: chain.clone(),
            });
        }
        Ok(keys)
    }

    /// The direct subkey called `name`, compared case-insensitively.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'h>>, String> {
        let want = name.to_lowercase();
        Ok(self
            .subkeys()?
            .into_iter()
            .find(|k| k.name().to_lowercase() == want))
    }

    /// The key's values, in the order the hive lists them.
    pub fn values(&self) -> Result<Vec<Value<'h>>, String> {
        let count = self.node.value_count as usize;
        if count == 0 {
            return Ok(Vec::new());
        }
        let hive = self.hive;
        let list = self.node.value_list;
        let c = hive.cell(list)?;
        if count.saturating_mul(4) > c.len() {
            return Err(format!(
                "value list {list:#x}: {count} entries do not fit in the cell"
            ));
        }
        let mut values = Vec::with_capacity(count);
        for i in 0..count {
            let off = u32_at(c, i * 4).unwrap_or(NO_CELL);
            let v = hive.cell(off)?;
            if v.len() < 20 || &v[..2] != b"vk" {
                return Err(format!("cell {off:#x} is not a value"));
            }
            let name_len = u16_at(v, 2).unwrap_or(0) as usize;
            let flags = u16_at(v, 16).unwrap_or(0);
            let raw_name = v
                .get(20..20 + name_len)
                .ok_or_else(|| format!("value {off:#x}: the name runs past the cell"))?;
            let name = if flags & VALUE_COMP_NAME != 0 {
                latin1(raw_name)
            } else {
                utf16(raw_name)
            };
            values.push(Value {
                hive,
                name,
                data_size: u32_at(v, 4).unwrap_or(0),
                data_offset: u32_at(v, 8).unwrap_or(NO_CELL),
                data_type: u32_at(v, 12).unwrap_or(0),
            });
        }
        Ok(values)
    }

    /// The value called `name`, compared case-insensitively.
    pub fn value(&self, name: &str) -> Result<Option<Value<'h>>, String> {
        let want = name.to_lowercase();
        Ok(self
            .values()?
            .into_iter()
            .find(|v| v.name().to_lowercase() == want))
    }
}

impl Value<'_> {
    /// The value's name (empty for the default value).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value's type (`REG_SZ`, `REG_DWORD`, ...).
    pub fn data_type(&self) -> u32 {
        self.data_type
    }

    /// The file offset of the data's first byte, when the data sits in one cell (not inline in
    /// the value record, not split into big-data segments).
    pub fn data_file_offset(&self) -> Option<u64> {
        if self.data_size & DATA_INLINE != 0
            || self.data_size as usize > BIG_DATA_SEGMENT
            || self.hive.cell(self.data_offset).is_err()
        {
            return None;
        }
        // the hive bins start at file offset 4096; a cell's data follows its 4-byte size
        Some(4096 + self.data_offset as u64 + 4)
    }

    /// The raw data bytes.
    pub fn raw_data(&self) -> Result<Vec<u8>, String> {
        if self.data_size & DATA_INLINE != 0 {
            let len = (self.data_size & !DATA_INLINE) as usize;
            if len > 4 {
                return Err(format!(
                    "value {:?}: {len} bytes cannot be stored inline",
                    self.name
                ));
            }
            return Ok(self.data_offset.to_le_bytes()[..len].to_vec());
        }
        let len = self.data_size as usize;
        if len == 0 {
            return Ok(Vec::new());
        }
        let hive = self.hive;
        let c = hive.cell(self.data_offset)?;
        if len > BIG_DATA_SEGMENT && hive.minor_version > 3 && c.get(..2) == Some(b"db") {
            return self.big_data(c, len);
        }
        c.get(..len).map(<[u8]>::to_vec).ok_or_else(|| {
            format!(
                "value {:?}: {len} bytes of data do not fit in the data cell",
                self.name
            )
        })
    }

    /// Concatenate the segments of a `db` record.
    fn big_data(&self, db: &[u8], len: usize) -> Result<Vec<u8>, String> {
        let hive = self.hive;
        let segments = u16_at(db, 2).unwrap_or(0) as usize;
        let list_off = u32_at(db, 4).unwrap_or(NO_CELL);
        let list = hive.cell(list_off)?;
        if segments * 4 > list.len() {
            return Err(format!(
                "value {:?}: {segments} big-data segments do not fit in the segment list",
                self.name
            ));
        }
        let mut out = Vec::with_capacity(len);
        for i in 0..segments {
            if out.len() >= len {
                break;
            }
            let seg = hive.cell(u32_at(list, i * 4).unwrap_or(NO_CELL))?;
            // every segment but the last holds a full 16344 bytes
            let take = (len - out.len()).min(BIG_DATA_SEGMENT);
            let part = seg.get(..take).ok_or_else(|| {
                format!(
                    "value {:?}: big-data segment {i} is shorter than {take} bytes",
                    self.name
                )
            })?;
            out.extend_from_slice(part);
        }
        if out.len() < len {
            return Err(format!(
                "value {:?}: the big-data segments hold {} of {len} bytes",
                self.name,
                out.len()
            ));
        }
        Ok(out)
    }

    /// The decoded data.
    pub fn data(&self) -> Result<ValueData, String> {
        let raw = self.raw_data()?;
        Ok(match self.data_type {
            REG_SZ | REG_EXPAND_SZ => ValueData::String(utf16(&raw).trim_end_matches('\0').into()),
            REG_BINARY => ValueData::Binary(raw),
            REG_DWORD if raw.len() == 4 => {
                ValueData::Dword(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
            }
            REG_MULTI_SZ => {
                let text = utf16(&raw);
                let mut parts: Vec<String> = text.split('\0').map(str::to_string).collect();
                while parts.last().is_some_and(String::is_empty) {
                    parts.pop();
                }
                ValueData::MultiString(parts)
            }
            t => ValueData::Other(t, raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &[u8] = include_bytes!("../../../fixtures/windows/corpus/Win10Firewall.wfw");

    /// Visit every key once, decoding every value; returns the number of keys reached.
    fn walk(hive: &Hive<'_>) -> usize {
        let mut seen = HashSet::new();
        let mut todo = vec![hive.root()];
        while let Some(k) = todo.pop() {
            if !seen.insert(k.offset()) {
                continue;
            }
            let _ = k.name();
            for v in k.values().unwrap_or_default() {
                let _ = v.name();
                let _ = v.data();
            }
            todo.extend(k.subkeys().unwrap_or_default());
        }
        seen.len()
    }

    #[test]
    fn corpus_hive() {
        let hive = Hive::parse(CORPUS).unwrap();
        let root = hive.root();
        assert_eq!(root.name(), "{75FC3BF7-162F-49C3-BCE0-13755109D65D}");
        let rules = root.subkey("firewallrules").unwrap().unwrap();
        assert_eq!(rules.name(), "FirewallRules");
        let values = rules.values().unwrap();
        assert_eq!(values.len(), 409);
        assert!(values
            .iter()
            .all(|v| matches!(v.data(), Ok(ValueData::String(s)) if s.starts_with("v2."))));
        let domain = root.subkey("DomainProfile").unwrap().unwrap();
        let get = |name: &str| domain.value(name).unwrap().unwrap().data().unwrap();
        assert_eq!(get("EnableFirewall"), ValueData::Dword(0));
        assert_eq!(get("disablenotifications"), ValueData::Dword(1));
        assert!(root.subkey("NoSuchKey").unwrap().is_none());
        assert!(walk(&hive) > 5);
    }

    #[test]
    fn truncated_hives_never_panic() {
        let cuts = (0..8192)
            .step_by(7)
            .chain([4096, 4096 + 31, 4096 + 32, 12288, 65536, 100_000, 200_000])
            .chain([CORPUS.len() - 1]);
        for cut in cuts {
            let b = &CORPUS[..cut.min(CORPUS.len())];
            if let Ok(h) = Hive::parse(b) {
                walk(&h);
            }
            let _ = crate::formats::windows::registry::render_hive(b);
        }
        assert!(Hive::parse(&CORPUS[..100]).is_err());
        assert!(Hive::parse(b"").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn mutated_hives_never_panic(
            edits in proptest::collection::vec((0usize..65536, proptest::prelude::any::<u8>()), 1..24)
        ) {
            let mut b = CORPUS[..65536].to_vec();
            for (at, byte) in edits {
                b[at] = byte;
            }
            if let Ok(h) = Hive::parse(&b) {
                walk(&h);
            }
            let _ = crate::formats::windows::registry::render_hive(&b);
        }
    }

    /// Builds a hive with one hive bin, cell by cell.
    struct Builder {
        bin: Vec<u8>,
    }

    impl Builder {
        fn new() -> Self {
            Builder {
                bin: vec![0; HBIN_HEADER_LEN],
            }
        }

        /// Append an allocated cell holding `data`; returns its offset.
        fn cell(&mut self, data: &[u8]) -> u32 {
            let at = self.bin.len() as u32;
            let size = (4 + data.len()).div_ceil(8) * 8;
            self.bin.extend((-(size as i32)).to_le_bytes());
            self.bin.extend(data);
            self.bin.resize(at as usize + size, 0);
            at
        }

        /// Patch a `u32` inside the cell data at `cell` (for forward references).
        fn patch(&mut self, cell: u32, at: usize, v: u32) {
            let i = cell as usize + 4 + at;
            self.bin[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }

        fn finish(mut self, root: u32) -> Vec<u8> {
            let size = self.bin.len().div_ceil(4096) * 4096;
            let free = size - self.bin.len();
            if free > 0 {
                let at = self.bin.len();
                self.bin.resize(size, 0);
                self.bin[at..at + 4].copy_from_slice(&(free as i32).to_le_bytes());
            }
            self.bin[..4].copy_from_slice(b"hbin");
            self.bin[8..12].copy_from_slice(&(size as u32).to_le_bytes());
            let mut out = vec![0u8; BASE_BLOCK_LEN];
            out[..4].copy_from_slice(b"regf");
            out[20..24].copy_from_slice(&1u32.to_le_bytes());
            out[24..28].copy_from_slice(&5u32.to_le_bytes());
            out[36..40].copy_from_slice(&root.to_le_bytes());
            out[40..44].copy_from_slice(&(size as u32).to_le_bytes());
            out.extend(self.bin);
            out
        }
    }

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn nk(name: &[u8], compressed: bool, subkeys: (u32, u32), values: (u32, u32)) -> Vec<u8> {
        let mut c = vec![0u8; 76];
        c[..2].copy_from_slice(b"nk");
        let flags = if compressed { KEY_COMP_NAME } else { 0 };
        c[2..4].copy_from_slice(&flags.to_le_bytes());
        c[16..20].copy_from_slice(&NO_CELL.to_le_bytes());
        c[20..24].copy_from_slice(&subkeys.0.to_le_bytes());
        c[28..32].copy_from_slice(&subkeys.1.to_le_bytes());
        c[32..36].copy_from_slice(&NO_CELL.to_le_bytes());
        c[36..40].copy_from_slice(&values.0.to_le_bytes());
        c[40..44].copy_from_slice(&values.1.to_le_bytes());
        c[44..48].copy_from_slice(&NO_CELL.to_le_bytes());
        c[48..52].copy_from_slice(&NO_CELL.to_le_bytes());
        c[72..74].copy_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend(name);
        c
    }

    fn vk(name: &[u8], compressed: bool, size: u32, offset: u32, ty: u32) -> Vec<u8> {
        let mut c = vec![0u8; 20];
        c[..2].copy_from_slice(b"vk");
        c[2..4].copy_from_slice(&(name.len() as u16).to_le_bytes());
        c[4..8].copy_from_slice(&size.to_le_bytes());
        c[8..12].copy_from_slice(&offset.to_le_bytes());
        c[12..16].copy_from_slice(&ty.to_le_bytes());
        let flags = if compressed { VALUE_COMP_NAME } else { 0 };
        c[16..18].copy_from_slice(&flags.to_le_bytes());
        c.extend(name);
        c
    }

    fn list(sig: &[u8; 2], entries: &[u32], step: usize) -> Vec<u8> {
        let mut c = sig.to_vec();
        c.extend((entries.len() as u16).to_le_bytes());
        for &e in entries {
            c.extend(e.to_le_bytes());
            c.extend(vec![0u8; step - 4]);
        }
        c
    }

    /// Root `Root` (compressed name) with an `lf` list holding one child `Kïnd` (UTF-16
    /// name); the child has an inline DWORD `Enable` (compressed name), a REG_SZ `Näme`
    /// (UTF-16 name) in its own cell and a 20000-byte REG_BINARY `Big` in a `db` record.
    fn tiny_hive() -> Vec<u8> {
        let mut b = Builder::new();
        let text = b.cell(&utf16le("hello, wörld\0"));
        let dword = vk(b"Enable", true, DATA_INLINE | 4, 0x1234_5678, REG_DWORD);
        let dword = b.cell(&dword);
        let sz = vk(&utf16le("Näme"), false, 26, text, REG_SZ);
        let sz = b.cell(&sz);
        let big: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
        let seg1 = b.cell(&big[..BIG_DATA_SEGMENT]);
        let seg2 = b.cell(&big[BIG_DATA_SEGMENT..]);
        let segs = b.cell(&[seg1.to_le_bytes(), seg2.to_le_bytes()].concat());
        let mut db = b"db".to_vec();
        db.extend(2u16.to_le_bytes());
        db.extend(segs.to_le_bytes());
        let db = b.cell(&db);
        let bigv = b.cell(&vk(b"Big", true, 20000, db, REG_BINARY));
        let vlist = b.cell(&[dword, sz, bigv].map(u32::to_le_bytes).concat());
        let child = b.cell(&nk(&utf16le("Kïnd"), false, (0, NO_CELL), (3, vlist)));
        let lf = b.cell(&list(b"lf", &[child], 8));
        let root = b.cell(&nk(b"Root", true, (1, lf), (0, NO_CELL)));
        b.finish(root)
    }

    #[test]
    fn hand_built_hive() {
        let bytes = tiny_hive();
        let hive = Hive::parse(&bytes).unwrap();
        let root = hive.root();
        assert_eq!(root.name(), "Root");
        assert!(root.values().unwrap().is_empty());
        let kids = root.subkeys().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].name(), "Kïnd");
        let child = root.subkey("KÏND").unwrap().unwrap();
        assert!(child.subkeys().unwrap().is_empty());
        let values = child.values().unwrap();
        let got: Vec<_> = values
            .iter()
            .map(|v| (v.name().to_string(), v.data().unwrap()))
            .collect();
        let big: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            got,
            [
                ("Enable".to_string(), ValueData::Dword(0x1234_5678)),
                ("Näme".to_string(), ValueData::String("hello, wörld".into())),
                ("Big".to_string(), ValueData::Binary(big)),
            ]
        );
        // every prefix of it is refused or read without panicking
        for cut in 0..bytes.len() {
            if let Ok(h) = Hive::parse(&bytes[..cut]) {
                walk(&h);
            }
        }
    }

    #[test]
    fn index_roots_multi_strings_and_cycles() {
        let mut b = Builder::new();
        let ms = b.cell(&utf16le("a\0bc\0\0"));
        let msv = b.cell(&vk(b"M", true, 12, ms, REG_MULTI_SZ));
        let vlist = b.cell(&msv.to_le_bytes());
        let k1 = b.cell(&nk(b"One", true, (0, NO_CELL), (1, vlist)));
        // `Two` lists the root as its subkey: a cycle
        let k2 = b.cell(&nk(b"Two", true, (1, NO_CELL), (0, NO_CELL)));
        let k3 = b.cell(&nk(b"Three", true, (0, NO_CELL), (0, NO_CELL)));
        let li = b.cell(&list(b"li", &[k1, k2], 4));
        let lh = b.cell(&list(b"lh", &[k3], 8));
        let ri = b.cell(&list(b"ri", &[li, lh], 4));
        let root = b.cell(&nk(b"R", true, (3, ri), (0, NO_CELL)));
        let back = b.cell(&list(b"lf", &[root], 8));
        b.patch(k2, 28, back);
        let bytes = b.finish(root);
        let hive = Hive::parse(&bytes).unwrap();
        let kids = hive.root().subkeys().unwrap();
        let names: Vec<_> = kids.iter().map(Key::name).collect();
        assert_eq!(names, ["One", "Two", "Three"]);
        let m = kids[0].value("m").unwrap().unwrap();
        assert_eq!(
            m.data().unwrap(),
            ValueData::MultiString(vec!["a".into(), "bc".into()])
        );
        let err = kids[1].subkeys().unwrap_err();
        assert!(err.contains("cycle"), "{err}");
        assert_eq!(walk(&hive), 4);
    }

    #[test]
    fn malformed_input_is_reported() {
        let good = tiny_hive();
        // not a hive
        let mut b = good.clone();
        b[0] = b'x';
        assert!(Hive::parse(&b).unwrap_err().contains("regf"));
        // no hbin
        let mut b = good.clone();
        b[4096] = b'x';
        assert!(Hive::parse(&b).unwrap_err().contains("hbin"));
        // root offset outside the bins
        let mut b = good.clone();
        b[36..40].copy_from_slice(&0x0100_0000u32.to_le_bytes());
        assert!(Hive::parse(&b).unwrap_err().contains("outside"));
        // root offset at a free cell (the padding at the end of the bin)
        let mut b = good.clone();
        let bins = u32::from_le_bytes([b[40], b[41], b[42], b[43]]);
        b[36..40].copy_from_slice(&(bins - 8).to_le_bytes());
        assert!(Hive::parse(&b).unwrap_err().contains("not allocated"));
        // a value list longer than its cell
        let hive = Hive::parse(&good).unwrap();
        let child = hive.root().subkeys().unwrap().remove(0);
        let mut b = good.clone();
        let at = 4096 + child.offset() as usize + 4 + 36;
        b[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        let hive = Hive::parse(&b).unwrap();
        let child = hive.root().subkeys().unwrap().remove(0);
        assert!(child.values().unwrap_err().contains("do not fit"));
    }
}
