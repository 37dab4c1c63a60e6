//! `-` as an input path: standard input, read whole and audited as a file named by
//! `--stdin-filename` (its extension and name are the format-detection hints a file on disk
//! would give; reports show that name, or `-`).
//!
//! The bytes are kept in a private temporary directory for the run (loading reads files by
//! path) and removed when the run ends; inputs on disk are never written.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::engine::Report;

/// Standard input, captured for one run.
pub(crate) struct Stdin {
    dir: PathBuf,
    /// Where the bytes are, as loading names the file.
    pub path: PathBuf,
    /// What reports call it.
    pub name: String,
}

impl Stdin {
    /// Read standard input whole into a temporary file named after `name`'s file name.
    pub(crate) fn capture(name: Option<&Path>) -> std::io::Result<Stdin> {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        let dir = std::env::temp_dir().join(format!(
            "portolan-stdin-{}-{}",
            std::process::id(),
            crate::provenance::now_epoch()
        ));
        std::fs::create_dir_all(&dir)?;
        let file = name
            .and_then(|n| n.file_name())
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "stdin".into());
        let path = dir.join(file);
        std::fs::write(&path, &bytes)?;
        Ok(Stdin {
            dir,
            path,
            name: name
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "-".into()),
        })
    }

    /// Call the captured file by its name everywhere the report shows a path.
    pub(crate) fn rename(&self, r: &mut Report) {
        let tmp = self.path.to_string_lossy().into_owned();
        let renamed = |s: &str| s.contains(&tmp).then(|| s.replace(&tmp, &self.name));
        let fix = |s: &mut String| {
            if let Some(n) = renamed(s) {
                *s = n;
            }
        };
        for f in &mut r.files {
            fix(&mut f.path);
            // the name the human report's snippets are headed with
            if let Some(src) = &mut f.source {
                fix(&mut src.name);
            }
        }
        for fl in &mut r.flows {
            fix(&mut fl.firewall);
            for d in &mut fl.deciding {
                if let Some(n) = renamed(&d.file) {
                    d.file = n.into();
                }
            }
            for h in &mut fl.path {
                fix(&mut h.firewall);
            }
        }
        for f in &mut r.findings {
            fix(&mut f.message);
        }
        if let Some(rec) = &mut r.run {
            for i in &mut rec.inputs {
                fix(&mut i.path);
            }
        }
    }
}

impl Drop for Stdin {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}
