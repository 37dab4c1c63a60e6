//! The run record: when a report was made, by which version with which catalogue, for which
//! environment and facts, from which inventory and input files (sha256), and where in version
//! control the inputs sit. Every output format carries it (issue 20, item 3).
//!
//! Time is the clock's, unless `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds
//! convention) fixes it: then both the start and the end of the run are that instant, and two
//! runs over the same inputs write the same bytes.
//!
//! Paths in reports are made relative to the repository root ([`Vcs::root`]) or, in CI, to
//! `GITHUB_WORKSPACE` / `CI_PROJECT_DIR` ([`report_root`]); see [`repo_relative`].

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a report says about the run that made it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    /// When the run started and ended, RFC 3339 in UTC (`2026-12-05T19:30:00Z`).
    pub started: String,
    pub ended: String,
    /// `portolan 0.1.0`.
    pub tool: String,
    pub version: String,
    /// The catalogue's version (`2026.11-1`, `+extra` with `--catalog`) and the sha256 of its
    /// TOML (the embedded one, then the `--catalog` file's bytes).
    pub catalog: CatalogRecord,
    pub environment: Option<String>,
    /// Quick mode's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The facts given on the command line (`--set`, `--peers`, ...), as `key=value`; an
    /// inventory's `[facts]` are in the inventory, whose hash is below.
    pub facts: Vec<String>,
    pub inventory: Option<Hashed>,
    /// Every input file named or found, with the sha256 of its bytes.
    pub inputs: Vec<Hashed>,
    /// Where the inputs sit in version control, when the run is inside a git work tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcs: Option<Vcs>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatalogRecord {
    pub version: String,
    pub sha256: String,
}

/// A file and the sha256 of its bytes (`None` when it could not be read).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hashed {
    pub path: String,
    pub sha256: Option<String>,
}

/// A git work tree: its remote (credentials removed), commit and branch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Vcs {
    /// The `origin` remote (or the first one), without user or password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_uri: Option<String>,
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The work tree's root (not serialised: reports give paths relative to it).
    #[serde(skip)]
    pub root: PathBuf,
}

/// Seconds since 1970: `SOURCE_DATE_EPOCH` when set to a number, else the clock.
pub fn now_epoch() -> i64 {
    if let Some(s) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return s;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 3339 in UTC, whole seconds.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A digest in lower-case hexadecimal.
fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file and the hash of its bytes, read a block at a time (not held whole: the audit holds
/// its own copy of the text while the hash is read beside it).
pub fn hashed(path: &str) -> Hashed {
    let sha256 = std::fs::File::open(path).ok().and_then(|mut f| {
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h).ok()?;
        Some(hex(&h.finalize()))
    });
    Hashed {
        path: path.to_string(),
        sha256,
    }
}

/// Hashes of the files named on the command line, read on a thread of their own while the
/// audit runs (a 50 MB export takes 50 ms to hash, which the record would otherwise add after
/// the audit). Files larger than the input limit are not read, as the record does not read them.
pub struct Prehashed(Option<std::thread::JoinHandle<Vec<Hashed>>>);

impl Prehashed {
    /// Start hashing the regular files among `paths` of at most `max` bytes.
    pub fn start(paths: &[std::path::PathBuf], max: u64) -> Self {
        let files: Vec<String> = paths
            .iter()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= max))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if files.is_empty() {
            return Prehashed(None);
        }
        Prehashed(
            std::thread::Builder::new()
                .name("portolan-hash".into())
                .spawn(move || files.iter().map(|f| hashed(f)).collect())
                .ok(),
        )
    }

    /// The hashes, once read (none if the thread could not be started or failed).
    pub fn finish(self) -> Vec<Hashed> {
        self.0.and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

/// The catalogue's record: its version and the hash of the embedded TOML and the extra file.
pub fn catalog_record(version: &str, extra: Option<&Path>) -> CatalogRecord {
    let mut h = Sha256::new();
    h.update(crate::catalog::EMBEDDED_TOML.as_bytes());
    if let Some(b) = extra.and_then(|p| std::fs::read(p).ok()) {
        h.update(&b);
    }
    CatalogRecord {
        version: version.to_string(),
        sha256: hex(&h.finalize()),
    }
}

/// The git work tree holding `dir`, if any: `git` when it is installed, else `.git` read
/// directly (HEAD, the branch's ref or `packed-refs`, `config`'s remotes).
pub fn vcs(dir: &Path) -> Option<Vcs> {
    let root = repo_root(dir)?;
    let git_dir = git_dir(&root)?;
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let common = common_dir(&git_dir);
    let (revision, branch) = match head.strip_prefix("ref: ") {
        Some(r) => (
            read_ref(&git_dir, &common, r)?,
            r.strip_prefix("refs/heads/").map(str::to_string),
        ),
        None => (head.to_string(), None),
    };
    Some(Vcs {
        repository_uri: remote(&common),
        revision,
        branch,
        root,
    })
}

/// The root of the git work tree holding `dir`: the nearest directory with a `.git`.
pub fn repo_root(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `.git` as a directory, or the `gitdir:` a worktree's `.git` file names.
fn git_dir(root: &Path) -> Option<PathBuf> {
    let dot = root.join(".git");
    if dot.is_dir() {
        return Some(dot);
    }
    let text = std::fs::read_to_string(&dot).ok()?;
    let p = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    Some(if p.is_relative() { root.join(p) } else { p })
}

/// A linked worktree's `commondir` (where refs and config live), else the git dir itself.
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(t) => {
            let p = PathBuf::from(t.trim());
            if p.is_relative() {
                git_dir.join(p)
            } else {
                p
            }
        }
        Err(_) => git_dir.to_path_buf(),
    }
}

fn read_ref(git_dir: &Path, common: &Path, name: &str) -> Option<String> {
    for d in [git_dir, common] {
        if let Ok(t) = std::fs::read_to_string(d.join(name)) {
            return Some(t.trim().to_string());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (hash, r) = l.split_once(' ')?;
        (r.trim() == name).then(|| hash.to_string())
    })
}

/// The `origin` remote's URL (else the first remote's), credentials removed.
fn remote(common: &Path) -> Option<String> {
    let config = std::fs::read_to_string(common.join("config")).ok()?;
    let mut section = String::new();
    let mut urls: Vec<(String, String)> = Vec::new();
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "url" && section.starts_with("[remote ") {
                urls.push((section.clone(), v.trim().to_string()));
            }
        }
    }
    let pick = urls
        .iter()
        .find(|(s, _)| s == "[remote \"origin\"]")
        .or(urls.first())?;
    Some(without_credentials(&pick.1))
}

/// `https://user:token@host/x` → `https://host/x` (never put a secret in a report).
pub fn without_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (auth, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if let Some((_, host)) = auth.rsplit_once('@') {
            return format!("{scheme}://{host}{path}");
        }
    }
    url.to_string()
}

/// The directory report paths are relative to: `GITHUB_WORKSPACE` or `CI_PROJECT_DIR` when set
/// (the checkout a CI service resolves annotations against), else the git work tree's root
/// around the current directory, else the current directory.
pub fn report_root() -> Option<PathBuf> {
    for var in ["GITHUB_WORKSPACE", "CI_PROJECT_DIR"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return std::fs::canonicalize(v).ok();
        }
    }
    let cwd = std::env::current_dir().ok()?;
    repo_root(&cwd).or_else(|| std::fs::canonicalize(cwd).ok())
}

/// `path` (as given, relative to the current directory, or absolute) relative to `root`, with
/// forward slashes; `None` when it lies outside `root`.
pub fn relative_to(path: &str, root: &Path) -> Option<String> {
    let cwd = std::fs::canonicalize(std::env::current_dir().ok()?).ok()?;
    let p = Path::new(path);
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| lexical(&cwd.join(p)));
    let rel = abs.strip_prefix(root).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// A path as reports show it: relative to [`report_root`] when inside it, else as given
/// (forward slashes, `./` left out).
pub fn repo_relative(path: &str) -> String {
    thread_local! {
        static ROOT: Option<PathBuf> = report_root();
    }
    if path == "-" || path.starts_with("<") {
        return path.to_string();
    }
    if let Some(r) = ROOT
        .with(|r| r.clone())
        .and_then(|root| relative_to(path, &root))
    {
        return r;
    }
    let tidy: PathBuf = Path::new(path)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    tidy.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_498_400), "2026-12-05T19:20:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn credentials_never_reach_a_report() {
        assert_eq!(
            without_credentials("https://ci:s3cret@git.example/fw.git"),
            "https://git.example/fw.git"
        );
        assert_eq!(
            without_credentials("git@github.com:acme/fw.git"),
            "git@github.com:acme/fw.git"
        );
    }

    #[test]
    fn sha256_of_nothing() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
