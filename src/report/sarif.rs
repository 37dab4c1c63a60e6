//! `--format sarif`: SARIF 2.1.0 for code-scanning services (GitHub, GitLab, Azure DevOps).
//! One run; the tool's rules are every check with its docs; each finding is a result with a
//! physical location (repository-relative URI and a full region) and a partial fingerprint that
//! survives line moves.

use std::io::Write;

use serde_json::{json, Value};

use crate::checks;
use crate::engine::finding::fingerprint;
use crate::engine::{Finding, Report, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The base every relative `uri` is resolved against: the repository root (or the CI
/// workspace; see [`crate::provenance::report_root`]).
pub const SRCROOT: &str = "%SRCROOT%";

/// Percent-encode what a URI reference cannot hold as it is (spaces, `%`, `#`, `?`, non-ASCII).
fn encode(path: &str) -> String {
    let mut o = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b':'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'=' => o.push(b as char),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// A path as a URI relative to [`SRCROOT`] (the repository root, whatever directory the run
/// starts in), or an absolute `file://` URI for a file outside it.
pub fn uri(path: &str) -> String {
    let rel = crate::provenance::repo_relative(path);
    if std::path::Path::new(&rel).is_absolute() {
        format!("file://{}", encode(&rel.replace('\\', "/")))
    } else {
        encode(&rel)
    }
}

/// An `artifactLocation` for `path`: relative to [`SRCROOT`] when it lies inside it.
pub fn artifact(path: &str) -> Value {
    let u = uri(path);
    if u.starts_with("file://") {
        json!({ "uri": u })
    } else {
        json!({ "uri": u, "uriBaseId": SRCROOT })
    }
}

fn location(r: &Report, f: &Finding, label: usize) -> Option<Value> {
    let file = r.files.get(f.file?)?;
    let l = f.labels.get(label)?;
    // a binary file (`.wfw`): a binary region (SARIF 2.1.0 §3.30.2, byteOffset/byteLength) when
    // the value's string sits in one cell, and the message says which value
    if let Some(src) = file.source.as_ref().filter(|s| s.binary.is_some()) {
        let start = src.binary_place(l.span.start);
        let mut loc = json!({
            "physicalLocation": { "artifactLocation": artifact(&file.path) },
            "message": { "text": match &start {
                Some(b) => format!("{} (at {b})", l.text),
                None => l.text.clone(),
            } }
        });
        // the span's text, within one value line: two bytes per UTF-16 unit
        let text = src.text.get(l.span.start..l.span.end).unwrap_or("");
        let text = text.strip_suffix('\n').unwrap_or(text);
        if let Some(a) = start
            .as_ref()
            .and_then(|s| s.byte)
            .filter(|_| !text.contains('\n'))
        {
            let units: usize = text.chars().map(char::len_utf16).sum();
            loc["physicalLocation"]["region"] = json!({ "byteOffset": a, "byteLength": 2 * units });
        }
        return Some(loc);
    }
    let mut region = json!({ "startLine": l.line.max(1), "startColumn": l.column.max(1) });
    if let Some(src) = &file.source {
        // end at the last character of the span, on its line (SARIF columns are 1-based, end exclusive)
        let (el, ec) = src.line_col(l.span.end);
        region["endLine"] = json!(el.max(l.line.max(1)));
        region["endColumn"] = json!(ec.max(1));
        if let Some(snippet) = src.text.get(l.span.start..l.span.end) {
            region["snippet"] = json!({ "text": snippet });
        }
    }
    Some(json!({
        "physicalLocation": {
            "artifactLocation": artifact(&file.path),
            "region": region
        },
        "message": { "text": l.text }
    }))
}

pub fn to_value(r: &Report) -> Value {
    let rules: Vec<Value> = checks::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.name,
                "shortDescription": { "text": c.summary },
                "fullDescription": { "text": c.summary },
                "help": { "text": c.doc, "markdown": c.doc },
                "defaultConfiguration": { "level": level(c.severity) },
                "properties": { "tags": ["firewall", "zerto"] }
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let idx = checks::ALL.iter().position(|c| c.code == f.code).unwrap_or(0);
            let file = f.file.and_then(|i| r.files.get(i));
            let mut text = f.message.clone();
            if let Some(h) = &f.help {
                text.push('\n');
                text.push_str(h);
            }
            let mut res = json!({
                "ruleId": f.code,
                "ruleIndex": idx,
                "level": level(f.severity),
                "message": { "text": text },
                "partialFingerprints": { "portolanFingerprint/v1": fingerprint(f, file) }
            });
            match location(r, f, 0) {
                Some(loc) => res["locations"] = json!([loc]),
                None => {
                    if let Some(file) = file {
                        res["locations"] = json!([{ "physicalLocation": { "artifactLocation": artifact(&file.path) } }]);
                    }
                }
            }
            let related: Vec<Value> = (1..f.labels.len())
                .filter_map(|i| location(r, f, i).map(|mut l| {
                    l["id"] = json!(i);
                    l
                }))
                .collect();
            if !related.is_empty() {
                res["relatedLocations"] = json!(related);
            }
            if let Some(w) = f.waiver.as_ref().filter(|w| !w.expired) {
                res["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!(
                        "{}{}{}",
                        w.reason,
                        w.ticket.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
                        w.expires.as_ref().map(|d| format!(", until {d}")).unwrap_or_default()
                    )
                }]);
            }
            if let Some(req) = &f.requirement {
                res["properties"] = json!({ "requirement": req, "name": f.name });
            }
            res
        })
        .collect();
    let mut run = json!({
        "tool": { "driver": {
            "name": "portolan",
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules
        }},
        "results": results,
        "columnKind": "unicodeCodePoints"
    });
    if let Some(root) = crate::provenance::report_root() {
        run["originalUriBaseIds"] = json!({ SRCROOT: {
            "uri": format!("file://{}/", encode(&root.to_string_lossy().replace('\\', "/")).trim_end_matches('/'))
        }});
    }
    if let Some(rec) = &r.run {
        record(&mut run, r, rec);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run]
    })
}

/// The run record: an invocation (when, whether it succeeded, with what), the input files as
/// artifacts with their sha256, and the commit they came from.
fn record(run: &mut Value, r: &Report, rec: &crate::provenance::RunRecord) {
    run["invocations"] = json!([{
        "executionSuccessful": !r.input_failed,
        "startTimeUtc": rec.started,
        "endTimeUtc": rec.ended,
        "properties": {
            "catalog": rec.catalog,
            "environment": rec.environment,
            "role": rec.role,
            "facts": rec.facts,
            "inventory": rec.inventory,
        }
    }]);
    let artifacts: Vec<Value> = rec
        .inputs
        .iter()
        .chain(rec.inventory.iter())
        .map(|h| {
            let mut a = json!({ "location": artifact(&h.path) });
            if let Some(sha) = &h.sha256 {
                a["hashes"] = json!({ "sha-256": sha });
            }
            a
        })
        .collect();
    if !artifacts.is_empty() {
        run["artifacts"] = json!(artifacts);
    }
    if let Some(v) = &rec.vcs {
        let repo = v
            .repository_uri
            .as_deref()
            .map(remote_uri)
            .unwrap_or_else(|| {
                format!(
                    "file://{}",
                    encode(&v.root.to_string_lossy().replace('\\', "/"))
                )
            });
        let mut d = json!({
            "repositoryUri": repo,
            "revisionId": v.revision,
            "mappedTo": { "uriBaseId": SRCROOT }
        });
        if let Some(b) = &v.branch {
            d["branch"] = json!(b);
        }
        run["versionControlProvenance"] = json!([d]);
    }
}

/// A remote as a URI: scp-like `git@host:org/repo.git` becomes `ssh://git@host/org/repo.git`.
fn remote_uri(url: &str) -> String {
    if url.contains("://") {
        return url.to_string();
    }
    match url.split_once(':') {
        Some((host, path)) if !host.contains('/') => format!("ssh://{host}/{path}"),
        _ => format!("file://{}", encode(url)),
    }
}

pub fn render(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    writeln!(out)
}
