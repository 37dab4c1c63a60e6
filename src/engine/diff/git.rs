//! The old side from a git revision: the files under the paths asked for are copied out with
//! `git ls-tree` and `git show` into a temporary directory that is removed when dropped. The
//! repository is only read.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::slash;

/// Why a revision's files could not be copied out.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("`--git {0}`: not a revision")]
    NotARevision(String),
    #[error("{0}")]
    Git(String),
    #[error("the current directory is not inside the repository {}", .0.display())]
    CwdOutside(PathBuf),
    #[error("{} is outside the repository {}", .path.display(), .top.display())]
    PathOutside { path: PathBuf, top: PathBuf },
    #[error("cannot make a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is neither in the working tree nor in {rev}", .path.display())]
    Missing { path: PathBuf, rev: String },
}

/// A temporary directory under the system's, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = None;
        for i in 0..100u32 {
            let p = base.join(format!(
                "portolan-diff-{}-{nanos:08x}-{i}",
                std::process::id()
            ));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary directory name")))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The files of both sides: the revision's copied into `temp` (old), the working tree's (new),
/// each path asked for present on at least one side.
#[derive(Debug)]
pub struct Checkout {
    /// The top of the working tree.
    pub top: PathBuf,
    /// Holds the revision's files, at the same place relative to it as in the repository.
    pub temp: TempDir,
    pub old_paths: Vec<PathBuf>,
    pub new_paths: Vec<PathBuf>,
}

/// Run git in `dir`; its standard output, or a message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, CheckoutError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| CheckoutError::Git(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(CheckoutError::Git(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// `a/./b/../c` → `a/c`; `None` when it climbs out of where it starts.
fn lexical(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(x) => out.push(x),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Copy the files of `rev` under `wanted` (paths relative to `cwd`, or absolute inside the
/// repository that holds `cwd`) into a temporary directory.
pub fn checkout(rev: &str, wanted: &[PathBuf], cwd: &Path) -> Result<Checkout, CheckoutError> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(CheckoutError::NotARevision(rev.to_string()));
    }
    let top = git(cwd, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches(['\n', '\r']));
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let cwd_c = std::fs::canonicalize(cwd).unwrap_or(cwd.to_path_buf());
    let prefix = cwd_c
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .map_err(|_| CheckoutError::CwdOutside(top.clone()))?;
    // every path, relative to the top of the repository
    let mut rels = Vec::new();
    for p in wanted {
        let rel = if p.is_absolute() {
            let c = std::fs::canonicalize(p).unwrap_or(p.clone());
            c.strip_prefix(&top).ok().map(Path::to_path_buf)
        } else {
            lexical(&prefix.join(p))
        };
        match rel {
            Some(r) => rels.push(r),
            None => {
                return Err(CheckoutError::PathOutside {
                    path: p.clone(),
                    top,
                })
            }
        }
    }
    let temp = TempDir::new().map_err(CheckoutError::TempDir)?;
    let specs: Vec<String> = rels
        .iter()
        .map(|r| {
            if r.as_os_str().is_empty() {
                ".".to_string()
            } else {
                slash(r)
            }
        })
        .collect();
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", rev, "--"];
    args.extend(specs.iter().map(String::as_str));
    let listing = git(&top, &args)?;
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        // `<mode> SP <type> SP <object> TAB <path>`
        let text = String::from_utf8_lossy(entry);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        if meta.split(' ').nth(1) != Some("blob") {
            continue; // submodules
        }
        let Some(rel) = lexical(Path::new(path)).filter(|r| !r.as_os_str().is_empty()) else {
            continue;
        };
        let bytes = git(&top, &["show", &format!("{rev}:{path}")])?;
        let dest = temp.0.join(&rel);
        let written = dest
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&dest, bytes));
        if let Err(source) = written {
            return Err(CheckoutError::Write { path: dest, source });
        }
    }
    let old_paths: Vec<PathBuf> = rels
        .iter()
        .map(|r| temp.0.join(r))
        .filter(|p| p.exists())
        .collect();
    let new_paths: Vec<PathBuf> = rels
        .iter()
        .map(|r| top.join(r))
        .filter(|p| p.exists())
        .collect();
    for (r, w) in rels.iter().zip(wanted) {
        if !temp.0.join(r).exists() && !top.join(r).exists() {
            return Err(CheckoutError::Missing {
                path: w.clone(),
                rev: rev.to_string(),
            });
        }
    }
    Ok(Checkout {
        top,
        temp,
        old_paths,
        new_paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_paths_stay_inside() {
        assert_eq!(lexical(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(lexical(Path::new("../x")), None);
        assert_eq!(lexical(Path::new(".")), Some(PathBuf::new()));
    }
}
