//! Reading the inputs: files and directories (recursively), format detection, parsing and
//! lowering, in parallel. A file that cannot be read or recognised becomes a finding, never an
//! abort.

mod parse;
pub mod shard;

use parse::{azure_parameters_alone, parse_as, parse_json_attached};

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::checks::{z001_parse_error, z002_undecidable_match, z003_unrecognised_input};
use crate::engine::finding::{Finding, Label};
use crate::formats::detect::{self, Format};
use crate::formats::iptables::{self, lower as iptables_lower};
use crate::formats::source::SourceText;
use crate::formats::{
    aws, aws::cloudformation, azure, encoding, json, terraform, windows, IssueKind, ParseIssue,
    Parsed, Resolver,
};
use crate::model::Ruleset;

/// One input file after reading.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: String,
    pub format: Option<Format>,
    pub source: Option<SourceText>,
    /// Every firewall the file holds (one for an iptables dump, one per NSG or security group).
    pub rulesets: Vec<Ruleset>,
    /// Parse diagnostics and Z003 (their `file` is set when the report is built).
    pub findings: Vec<Finding>,
    /// Named on the command line but unreadable or unrecognised.
    pub failed: bool,
    /// AWS security groups the file attaches to one resource (a template's instance, a
    /// Terraform `vpc_security_group_ids`): each set is one firewall (`engine::targets`).
    pub attachments: Vec<aws::Attachment>,
}

impl InputFile {
    /// Names of the policies (pipelines) this file holds, for the JSON `files[].policies`.
    pub fn policies(&self) -> Vec<String> {
        self.rulesets
            .iter()
            .flat_map(|rs| rs.pipelines.iter())
            .filter(|p| !p.stages.is_empty())
            .map(|p| p.name.clone())
            .collect()
    }

    /// Keep only what the reports read once the file is audited (its path, format, text,
    /// findings, and each ruleset's [`skeleton`](Ruleset::skeleton)): the models go.
    pub fn slim(&mut self) {
        self.rulesets = self.rulesets.iter().map(Ruleset::skeleton).collect();
        self.attachments = Vec::new();
    }
}

/// Files larger than this are refused unless `--max-input-size` says otherwise. A file is read
/// whole, because every finding points into its text (and auditing a dump takes about three
/// times its size in memory): refusing before reading beats running the machine out of memory.
pub const DEFAULT_MAX_INPUT_SIZE: u64 = 1 << 30;

/// How many leading bytes of a refused file found in a directory scan are read to tell whether
/// it is a firewall export at all (other big files in a scan are skipped quietly).
const SNIFF_HEAD: u64 = 64 * 1024;

/// Expand the paths (directories recursively, skipping hidden entries) and read every file.
/// Files found in a directory that are no known format are skipped quietly.
pub fn load(paths: &[PathBuf], names: &Resolver) -> Vec<InputFile> {
    load_filtered(paths, names, &ScanFilter::default(), DEFAULT_MAX_INPUT_SIZE)
}

/// Include/exclude globs for the files a directory scan finds (files named explicitly are
/// always read). A glob is matched against the path relative to the scanned directory and
/// against the path as found, so `fw/**`, `*.rules` and `**/old/**` all work.
#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl ScanFilter {
    /// Build from glob texts; an error names the bad glob.
    pub fn new(include: &[String], exclude: &[String]) -> Result<ScanFilter, String> {
        let build = |globs: &[String]| -> Result<Option<globset::GlobSet>, String> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                let glob = globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| format!("`{g}` is not a glob: {}", e.kind()))?;
                b.add(glob);
            }
            b.build().map(Some).map_err(|e| e.to_string())
        };
        Ok(ScanFilter {
            include: build(include)?,
            exclude: build(exclude)?,
        })
    }

    /// Whether a file found under `root` is read.
    pub fn keeps(&self, root: &Path, file: &Path) -> bool {
        let rel = file.strip_prefix(root).unwrap_or(file);
        let hit = |set: &globset::GlobSet| set.is_match(rel) || set.is_match(file);
        self.include.as_ref().is_none_or(hit) && !self.exclude.as_ref().is_some_and(hit)
    }
}

/// [`load`], with include/exclude globs applied to the files directory scans find, and files
/// larger than `max_size` bytes refused before they are read.
///
/// Directory scans follow symbolic links (a link to a firewall file is read like the file); a
/// link back to a directory the scan is already inside is skipped, since everything under it is
/// scanned anyway, and a link that leads nowhere (dangling, or a chain of links that loops) is
/// reported as unreadable.
pub fn load_filtered(
    paths: &[PathBuf],
    names: &Resolver,
    filter: &ScanFilter,
    max_size: u64,
) -> Vec<InputFile> {
    load_scan(paths, names, filter, max_size).0
}

/// [`load_filtered`], and the files a directory scan found that are no firewall export (skipped,
/// not audited), for the report to count and, with `--verbose`, list.
pub fn load_scan(
    paths: &[PathBuf],
    names: &Resolver,
    filter: &ScanFilter,
    max_size: u64,
) -> (Vec<InputFile>, Vec<String>) {
    let (todo, mut errors) = expand(paths, filter);
    let (mut files, skipped, _) = read(&todo, names, max_size);
    files.append(&mut errors);
    (files, skipped)
}

/// The files the paths name, in the order a run reads them (directories walked in name order;
/// `true`: named on the command line), and the paths a scan could not enter or read.
pub(crate) fn expand(
    paths: &[PathBuf],
    filter: &ScanFilter,
) -> (Vec<(PathBuf, bool)>, Vec<InputFile>) {
    let mut todo: Vec<(PathBuf, bool)> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for e in walker {
                match e {
                    Ok(e) if e.file_type().is_file() => {
                        if filter.keeps(p, e.path()) {
                            todo.push((e.into_path(), false))
                        }
                    }
                    Ok(_) => {}
                    // a link to a directory above it: its files are scanned through that one
                    Err(err) if err.loop_ancestor().is_some() => {}
                    Err(err) => errors.push(unreadable(
                        err.path().unwrap_or(p).to_path_buf(),
                        &err.to_string(),
                    )),
                }
            }
        } else {
            todo.push((p.clone(), true));
        }
    }
    (todo, errors)
}

/// Read and parse the files (in parallel): the inputs, the paths of those that are no firewall
/// export (skipped), and for each file of `todo` whether it is an input.
pub(crate) fn read(
    todo: &[(PathBuf, bool)],
    names: &Resolver,
    max_size: u64,
) -> (Vec<InputFile>, Vec<String>, Vec<bool>) {
    let bar = progress(todo.len());
    let read = read_with(todo, names, max_size, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    read
}

/// A progress bar on a terminal when there are many files to read.
pub(crate) fn progress(files: usize) -> Option<indicatif::ProgressBar> {
    (files >= 200 && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new(files as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
        {
            b.set_style(style);
        }
        b
    })
}

/// [`read`], advancing a progress bar the caller made.
pub(crate) fn read_with(
    todo: &[(PathBuf, bool)],
    names: &Resolver,
    max_size: u64,
    bar: Option<&indicatif::ProgressBar>,
) -> (Vec<InputFile>, Vec<String>, Vec<bool>) {
    let read: Vec<(&PathBuf, Option<InputFile>)> = todo
        .par_iter()
        .map(|(p, named)| {
            let f = load_one(p, *named, names, max_size);
            if let Some(b) = &bar {
                b.inc(1);
            }
            (p, f)
        })
        .collect();
    let mut files = Vec::with_capacity(read.len());
    let mut skipped = Vec::new();
    let mut kept = Vec::with_capacity(read.len());
    for (p, f) in read {
        kept.push(f.is_some());
        match f {
            Some(f) => files.push(f),
            None => skipped.push(p.display().to_string()),
        }
    }
    (files, skipped, kept)
}

fn unreadable(path: PathBuf, why: &str) -> InputFile {
    let mut f = Finding::new(
        &z003_unrecognised_input::CHECK,
        format!("cannot read {}: {why}", path.display()),
    );
    f.help = Some("check the path and its permissions".into());
    InputFile {
        path: path.display().to_string(),
        format: None,
        source: None,
        rulesets: Vec::new(),
        findings: vec![f],
        failed: true,
        attachments: Vec::new(),
    }
}

/// A file's size for messages: `2.0 GiB`, `512 MiB`, `10 bytes`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// What reading a file gave.
enum Read {
    Bytes(Vec<u8>),
    /// Larger than the limit: its size (`None` when only reading found out, e.g. a pipe) and,
    /// for a file a scan found, its first bytes (to tell whether it is an export at all).
    TooBig(Option<u64>, Vec<u8>),
}

/// Read a file, refusing it before reading when its metadata says it is larger than `max` (and
/// never reading more than `max + 1` bytes, for a file that grows or a device without a size).
fn read_bounded(path: &Path, max: u64, named: bool) -> std::io::Result<Read> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let len = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let head = |file: std::fs::File| -> std::io::Result<Vec<u8>> {
        let mut head = Vec::new();
        if !named {
            file.take(SNIFF_HEAD).read_to_end(&mut head)?;
        }
        Ok(head)
    };
    if let Some(len) = len.filter(|&l| l > max) {
        return Ok(Read::TooBig(Some(len), head(file)?));
    }
    let mut bytes = Vec::with_capacity(len.unwrap_or(0) as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        bytes.truncate(SNIFF_HEAD as usize);
        return Ok(Read::TooBig(None, bytes));
    }
    Ok(Read::Bytes(bytes))
}

/// Does the start of a file look like any format Portolan reads?
fn looks_like_an_export(head: &[u8]) -> bool {
    if windows::sniff_bytes(head) {
        return true;
    }
    let text = encoding::decode(head).text;
    json::looks_like_json(&text)
        || detect::detect(&text).is_some()
        || cloudformation::sniff_yaml(&text)
        || windows::sniff_text(&text).is_some()
}

/// A file over the size limit: a Z003 that names the size, the limit and how to raise it.
fn too_big(path: &Path, size: Option<u64>, max: u64) -> InputFile {
    let name = path.display().to_string();
    const MIB: u64 = 1 << 20;
    // a limit that admits the file: its size (or twice the limit) rounded up to whole MiB or GiB
    let need = size.unwrap_or(max.saturating_mul(2)).max(1);
    let suggest = if need > 1 << 30 {
        format!("{}G", need.div_ceil(1 << 30))
    } else {
        format!("{}M", need.div_ceil(MIB))
    };
    let size = match size {
        Some(n) => format!("it is {} ({n} bytes)", human_size(n)),
        None => "it is larger than that".to_string(),
    };
    let mut f = unreadable(path.to_path_buf(), "");
    f.findings[0].message = format!(
        "{name} was not read: the limit for one input file is {} and {size}",
        human_size(max)
    );
    f.findings[0].help = Some(format!(
        "Portolan reads a file whole (every finding points into its text) and needs about three times its size in memory; if the machine has that, raise the limit with `--max-input-size {suggest}`, or split the export"
    ));
    f
}

/// A file a job of `--shard K/N` audited, read again by `portolan merge` for its text and
/// rulesets (whatever its size: the job read it).
pub(crate) fn reread(path: &Path, names: &Resolver) -> Option<InputFile> {
    load_one(path, true, names, u64::MAX).filter(|f| f.source.is_some())
}

fn load_one(path: &Path, named: bool, names: &Resolver, max_size: u64) -> Option<InputFile> {
    let bytes = match read_bounded(path, max_size, named) {
        Ok(Read::Bytes(b)) => b,
        Ok(Read::TooBig(size, head)) => {
            // a scan skips big files that are no export quietly, as it skips small ones
            return (named || looks_like_an_export(&head)).then(|| too_big(path, size, max_size));
        }
        Err(e) => return Some(unreadable(path.to_path_buf(), &e.to_string())),
    };
    let name = path.display().to_string();
    // a registry hive (`netsh advfirewall export`) is binary: read it before decoding text
    if windows::sniff_bytes(&bytes) {
        let parsed = windows::parse_hive(&bytes, &name, names);
        return Some(match windows::hive_source(&bytes, &name) {
            Ok(src) => finish(src, Format::WindowsHive, parsed, false),
            Err(e) => {
                let mut f = Finding::new(
                    &z001_parse_error::CHECK,
                    format!("{name} looks like a registry hive but cannot be read: {e}"),
                );
                f.help = Some("export it again with `netsh advfirewall export FILE.wfw`".into());
                InputFile {
                    path: name,
                    format: Some(Format::WindowsHive),
                    source: None,
                    rulesets: Vec::new(),
                    findings: vec![f],
                    failed: false,
                    attachments: Vec::new(),
                }
            }
        });
    }
    let odd_length = bytes.len() % 2 == 1;
    let decoded = encoding::decode_owned(bytes);
    let (encoding, lossy, not_utf8_at) = (decoded.encoding, decoded.lossy, decoded.not_utf8_at);
    let mut file = load_text(name, decoded.text, named, names)?;
    let note = file
        .source
        .as_ref()
        .and_then(|src| encoding_finding(src, encoding, lossy, not_utf8_at, odd_length));
    if let Some(f) = note {
        file.findings.insert(0, f);
    }
    Some(file)
}

/// A Z001 about how the text was decoded: an error when bytes were replaced (a truncated UTF-16
/// file, an unpaired surrogate), a warning when bytes that are not UTF-8 were read as
/// Windows-1252 (a legacy code page export: the text is readable, non-ASCII names may be off).
fn encoding_finding(
    src: &SourceText,
    encoding: &str,
    lossy: bool,
    not_utf8_at: Option<usize>,
    odd_length: bool,
) -> Option<Finding> {
    let enc = encoding.to_uppercase();
    let (at, mut f) = if lossy {
        let at = src.text.find('\u{FFFD}').unwrap_or(src.text.len());
        let mut f = Finding::new(
            &z001_parse_error::CHECK,
            format!("the file is not valid {enc}: bytes that are not were replaced with U+FFFD"),
        );
        f.help = Some(if enc.starts_with("UTF-16") && odd_length {
            "UTF-16 text has an even number of bytes and this file has an odd number: it was cut short; export it again".into()
        } else {
            "save the export as UTF-8 (or as UTF-16 with a byte-order mark)".into()
        });
        (at, f)
    } else {
        let at = not_utf8_at?;
        let mut f = Finding::new(
            &z001_parse_error::CHECK,
            "the file is not valid UTF-8: it was read as Windows-1252, so non-ASCII text (names, comments) may read wrong",
        );
        f.severity = crate::engine::Severity::Warning;
        f.help = Some("save the export as UTF-8 (PowerShell: `Out-File -Encoding utf8`)".into());
        (at, f)
    };
    let end = src
        .text
        .get(at..)
        .and_then(|t| t.chars().next())
        .map_or(at, |c| at + c.len_utf8());
    let (line, column) = src.line_col(at);
    f.labels.push(Label {
        span: crate::model::Span::new(at, end),
        line,
        column,
        text: format!("not {}", if lossy { enc } else { "UTF-8".into() }),
        rule: None,
        identity: None,
    });
    Some(f)
}

/// Detect the format of decoded text, parse and lower it.
fn load_text(name: String, text: String, named: bool, names: &Resolver) -> Option<InputFile> {
    // how the text was decoded is reported by the caller
    let replaced = false;
    if json::looks_like_json(&text) {
        let src = SourceText::new(name.clone(), text);
        return match json::parse(&src.text) {
            Ok(json) if azure::is_parameters_file(&json) => {
                // an ARM parameters file is read with its template, never audited alone
                let parsed = azure_parameters_alone(&src, names);
                drop(json);
                Some(finish(src, Format::AzureNsg, parsed, replaced))
            }
            Ok(json) => match Format::of_json(&json) {
                Some(format) => {
                    let (parsed, attachments) = parse_json_attached(&src, &json, format, names);
                    drop(json);
                    let mut f = finish(src, format, parsed, replaced);
                    f.attachments = attachments;
                    Some(f)
                }
                None if named => Some(unrecognised(name)),
                None => None,
            },
            // a broken JSON file is reported when it was named; a scan cannot tell what it was
            Err(e) if named => {
                let mut f = Finding::new(
                    &z001_parse_error::CHECK,
                    format!("{name} is not valid JSON: {e}"),
                );
                let (line, column) = src.line_col(e.span.start);
                f.labels.push(Label {
                    span: e.span,
                    line,
                    column,
                    text: e.label.clone(),
                    rule: None,
                    identity: None,
                });
                f.help = Some(
                    "export the file again; a truncated or hand-edited export is the usual cause"
                        .into(),
                );
                Some(InputFile {
                    path: name,
                    format: None,
                    source: Some(src),
                    rulesets: Vec::new(),
                    findings: vec![f],
                    failed: false,
                    attachments: Vec::new(),
                })
            }
            Err(_) => None,
        };
    }
    if let Some(format) = detect::detect(&text) {
        let src = SourceText::new(name, text);
        let parsed = parse_as(&src, format, names);
        return Some(finish(src, format, parsed, replaced));
    }
    if cloudformation::sniff_yaml(&text) {
        let src = SourceText::new(name, text);
        let (parsed, attachments) = cloudformation::parse_yaml_attached(&src, names);
        let mut f = finish(src, Format::CloudFormation, parsed, replaced);
        f.attachments = attachments;
        return Some(f);
    }
    if let Some(w) = windows::sniff_text(&text) {
        let src = SourceText::new(name.clone(), text);
        let parsed = parse_as(&src, Format::WindowsNetsh, names);
        if windows::netsh::is_unsupported(&parsed.issues) {
            // a netsh export in another language: say so, never guess at its labels
            let mut f = unrecognised(name);
            if let Some(issue) = parsed
                .issues
                .iter()
                .find(|i| i.label == windows::netsh::NON_ENGLISH_LABEL)
            {
                f.findings[0].message = issue.message.clone();
                f.findings[0].help = Some(
                    "run the export with English output (`chcp 437` and an English display language), or export with PowerShell (see the README)".into(),
                );
                let (line, column) = src.line_col(issue.span.start);
                f.findings[0].labels.push(Label {
                    span: issue.span,
                    line,
                    column,
                    text: issue.label.clone(),
                    rule: None,
                    identity: None,
                });
            }
            f.source = Some(src);
            return Some(f);
        }
        let format = match w {
            windows::WinFormat::Netsh => Format::WindowsNetsh,
            windows::WinFormat::PowerShellCsv => Format::WindowsPowerShell,
            _ => Format::WindowsRegistry,
        };
        return Some(finish(src, format, parsed, replaced));
    }
    if !named {
        return None;
    }
    Some(unrecognised(name))
}

fn unrecognised(name: String) -> InputFile {
    let mut f = Finding::new(
        &z003_unrecognised_input::CHECK,
        format!("{name} is not a firewall export Portolan reads"),
    );
    f.help = Some(
        "supported: iptables-save / ip6tables-save dumps and iptables-restore files; Windows Defender Firewall exports (netsh show rule text, PowerShell JSON/CSV, registry rule strings and .reg files, .wfw); Azure NSG JSON (az CLI, ARM templates, REST); AWS security group and network ACL JSON; CloudFormation templates (JSON or YAML); Terraform plans and state (`terraform show -json`) with AWS security groups or Azure NSGs"
            .into(),
    );
    InputFile {
        path: name,
        format: None,
        source: None,
        rulesets: Vec::new(),
        findings: vec![f],
        failed: true,
        attachments: Vec::new(),
    }
}

/// Parse and lower text already known to be of `format` (benchmarks, fuzzing, tests).
pub fn parse_text(name: String, text: String, format: Format, replaced: bool) -> InputFile {
    let src = SourceText::new(name, text);
    let parsed = parse_as(&src, format, &Resolver::default());
    finish(src, format, parsed, replaced)
}

fn finish(src: SourceText, format: Format, parsed: Parsed, replaced: bool) -> InputFile {
    let mut findings = Vec::new();
    if replaced {
        let mut f = Finding::new(
            &z001_parse_error::CHECK,
            "the file is not valid UTF-8; invalid bytes were replaced with U+FFFD",
        );
        f.help = Some("save the export as UTF-8".into());
        findings.push(f);
    }
    for issue in &parsed.issues {
        findings.push(issue_finding(&src, issue));
    }
    InputFile {
        path: src.name.clone(),
        format: Some(format),
        source: Some(src),
        rulesets: parsed.rulesets,
        findings,
        failed: false,
        attachments: Vec::new(),
    }
}

fn issue_finding(src: &SourceText, issue: &ParseIssue) -> Finding {
    let check = match issue.kind {
        IssueKind::ParseError => &z001_parse_error::CHECK,
        IssueKind::Undecidable => &z002_undecidable_match::CHECK,
    };
    let mut f = Finding::new(check, issue.message.clone());
    f.help = issue.help.clone();
    if issue.span.is_empty() && issue.span.start == 0 && !src.text.is_empty() {
        // about something the export does not contain (a default rule): no place to point at
        return f;
    }
    let (line, column) = src.line_col(issue.span.start);
    f.labels.push(Label {
        span: issue.span,
        line,
        column,
        text: issue.label.clone(),
        rule: None,
        identity: None,
    });
    f
}
