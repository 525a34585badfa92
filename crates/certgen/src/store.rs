//! The on-disk layout of a certs folder and how files get there: every command stages all of its files as
//! temporary files next to their targets (keys created 0600 from the first byte), fsyncs them, and only then renames
//! them into place, undoing the renames already done if one fails. A refused or failed command leaves the folder
//! exactly as it was; every single file is always whole. Only a kill in the microseconds between two renames can
//! leave a new certificate next to an old key; the next `--force` run repairs it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// A folder holding a CA (`ca.pem`, `ca-key.pem`, `ca.cer`) and the certificates it issued.
#[derive(Debug, Clone)]
pub struct CertsDir {
    path: PathBuf,
}

/// Where a CA's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The CA certificate, PEM: give it to programs (`--cacert`, `ssl.create_default_context(cafile=...)`).
    pub cert_pem: PathBuf,
    /// The CA private key, PKCS#8 PEM, mode 0600. Never leaves this folder.
    pub key_pem: PathBuf,
    /// The CA certificate, DER: import it on phones, Windows, macOS and in browsers.
    pub cert_der: PathBuf,
}

/// Where a leaf certificate's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFiles {
    pub cert_pem: PathBuf,
    /// PKCS#8 PEM, mode 0600.
    pub key_pem: PathBuf,
    /// The leaf then the CA, PEM: what servers want as their certificate file.
    pub fullchain_pem: PathBuf,
    pub cert_der: PathBuf,
    /// PKCS#12 with the key and the chain, only with `--p12`.
    pub p12: Option<PathBuf>,
}

impl CertsDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CertsDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn ca_files(&self) -> CaFiles {
        CaFiles {
            cert_pem: self.path.join("ca.pem"),
            key_pem: self.path.join("ca-key.pem"),
            cert_der: self.path.join("ca.cer"),
        }
    }

    /// Where `STEM.pem`, `STEM-key.pem`, `STEM-fullchain.pem`, `STEM.cer` and (optionally) `STEM.p12` go.
    pub fn leaf_files(&self, stem: &str, p12: bool) -> LeafFiles {
        let file = |suffix: &str| self.path.join(format!("{stem}{suffix}"));
        LeafFiles {
            cert_pem: file(".pem"),
            key_pem: file("-key.pem"),
            fullchain_pem: file("-fullchain.pem"),
            cert_der: file(".cer"),
            p12: p12.then(|| file(".p12")),
        }
    }
}

impl CaFiles {
    pub(crate) fn all(&self) -> [&Path; 3] {
        [&self.cert_pem, &self.key_pem, &self.cert_der]
    }
}

impl LeafFiles {
    pub(crate) fn all(&self) -> impl Iterator<Item = &Path> {
        [&self.cert_pem, &self.key_pem, &self.fullchain_pem, &self.cert_der]
            .into_iter()
            .chain(&self.p12)
            .map(|p| &**p)
    }
}

/// Refuses to overwrite any of `paths` unless `force`.
pub(crate) fn refuse_existing<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
    force: bool,
    hint: &'static str,
) -> Result<(), Error> {
    match paths.into_iter().find(|p| p.exists()) {
        Some(path) if !force => Err(Error::AlreadyExists {
            path: path.to_path_buf(),
            hint,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::io("read", path, e))
}

/// Is a file's content secret (created with mode 0600)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrecy {
    Public,
    Secret,
}

/// All files one command writes, plus existing files to keep as backups; applied together or not at all.
#[derive(Debug, Default)]
pub(crate) struct Commit {
    writes: Vec<(PathBuf, Vec<u8>, Secrecy)>,
    backups: Vec<(PathBuf, PathBuf)>,
    removals: Vec<PathBuf>,
}

impl Commit {
    pub(crate) fn write(&mut self, path: &Path, contents: impl Into<Vec<u8>>, secrecy: Secrecy) {
        self.writes.push((path.to_path_buf(), contents.into(), secrecy));
    }

    /// Removes each existing file of `paths` that this commit does not write (a stale sibling that would no longer
    /// match, e.g. an old `.p12` next to a re-issued certificate).
    pub(crate) fn remove_stale<'a>(&mut self, paths: impl IntoIterator<Item = &'a Path>) {
        for path in paths {
            if path.exists() && !self.writes.iter().any(|(target, ..)| target == path) {
                self.removals.push(path.to_path_buf());
            }
        }
    }

    /// Keeps the current content of `original` (if any) at `backup` when the commit succeeds.
    pub(crate) fn backup(&mut self, original: &Path, backup: PathBuf) {
        if original.exists() {
            self.backups.push((original.to_path_buf(), backup));
        }
    }

    /// Stages every file, then renames them into place; on any error undoes every step, so the folder is left as
    /// it was (files replaced before the failing rename get their old content back).
    pub(crate) fn apply(self, dir: &Path) -> Result<(), Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
        let mut undo = Undo::default();
        if let Err(err) = self.apply_steps(&mut undo) {
            undo.roll_back();
            return Err(err);
        }
        undo.finish();
        // Make the renames durable; a folder that cannot be opened for sync is not worth failing the command for.
        if let Ok(folder) = File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }

    fn apply_steps(&self, undo: &mut Undo) -> Result<(), Error> {
        let mut staged = Vec::new();
        for (target, contents, secrecy) in &self.writes {
            let temp = temp_path(target, "tmp");
            undo.remove.push(temp.clone());
            write_new(&temp, contents, *secrecy)?;
            staged.push((temp, target));
        }
        for (original, backup) in &self.backups {
            link_or_copy(original, backup).map_err(|e| Error::io("back up", original, e))?;
            undo.remove.push(backup.clone());
        }
        for (temp, target) in staged {
            let prior = if target.exists() {
                let prior = temp_path(target, "old");
                undo.remove.push(prior.clone());
                link_or_copy(target, &prior).map_err(|e| Error::io("back up", target, e))?;
                Some(prior)
            } else {
                None
            };
            fs::rename(&temp, target).map_err(|e| Error::io("write", target, e))?;
            undo.replaced.push((target.clone(), prior));
        }
        for stale in &self.removals {
            let prior = temp_path(stale, "old");
            fs::rename(stale, &prior).map_err(|e| Error::io("remove", stale, e))?;
            undo.replaced.push((stale.clone(), Some(prior)));
        }
        Ok(())
    }
}

/// What a partly applied [`Commit`] has done, to undo it or to clean up after success.
#[derive(Debug, Default)]
struct Undo {
    /// Temporary files, backups and saved prior contents to delete on rollback.
    remove: Vec<PathBuf>,
    /// Targets already renamed into place, with a link to their previous content if they had one.
    replaced: Vec<(PathBuf, Option<PathBuf>)>,
}

impl Undo {
    fn roll_back(self) {
        for (target, prior) in self.replaced.iter().rev() {
            let _ = match prior {
                Some(prior) => fs::rename(prior, target),
                None => fs::remove_file(target),
            };
        }
        for path in &self.remove {
            let _ = fs::remove_file(path);
        }
    }

    fn finish(self) {
        for prior in self.replaced.iter().filter_map(|(_, prior)| prior.as_ref()) {
            let _ = fs::remove_file(prior);
        }
    }
}

fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(drop))
}

/// A hidden, unique name next to `target` (same folder, so renames between them are atomic).
fn temp_path(target: &Path, kind: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce: u64 = rand::random();
    target.with_file_name(format!(".{name}.{}.{nonce:016x}.{kind}", std::process::id()))
}

fn write_new(path: &Path, contents: &[u8], secrecy: Secrecy) -> Result<(), Error> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secrecy == Secrecy::Secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    let folder = path.parent().unwrap_or(path);
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("write to folder", folder, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write to folder", folder, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn failed_commit_leaves_folder_untouched() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("a.pem"), "old").expect("seed");
        let before = listing(tmp.path());
        let mut commit = Commit::default();
        commit.write(&tmp.path().join("a.pem"), "new", Secrecy::Public);
        // A target inside a missing subfolder makes staging fail after the first file was staged.
        commit.write(&tmp.path().join("missing/b.pem"), "x", Secrecy::Public);
        assert!(commit.apply(tmp.path()).is_err());
        assert_eq!(listing(tmp.path()), before);
        assert_eq!(
            fs::read_to_string(tmp.path().join("a.pem")).ok().as_deref(),
            Some("old")
        );
    }

    #[test]
    fn a_failed_rename_restores_files_already_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("a.pem"), "old").expect("seed");
        // A non-empty folder where a file should go makes the second rename fail after the first replaced a.pem.
        fs::create_dir_all(tmp.path().join("b.pem/inside")).expect("blocker");
        let before = listing(tmp.path());
        let mut commit = Commit::default();
        commit.write(&tmp.path().join("a.pem"), "new", Secrecy::Public);
        commit.write(&tmp.path().join("b.pem"), "x", Secrecy::Public);
        let err = commit.apply(tmp.path()).expect_err("rename over a folder fails");
        assert!(err.to_string().contains("b.pem"), "{err}");
        assert_eq!(listing(tmp.path()), before);
        assert_eq!(
            fs::read_to_string(tmp.path().join("a.pem")).ok().as_deref(),
            Some("old")
        );
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_0600_and_backups_keep_old_content() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let key = tmp.path().join("k.pem");
        fs::write(&key, "old").expect("seed");
        let mut commit = Commit::default();
        commit.backup(&key, tmp.path().join("k.bak"));
        commit.write(&key, "new", Secrecy::Secret);
        commit.apply(tmp.path()).expect("apply");
        let mode = fs::metadata(&key).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode, Some(0o600));
        assert_eq!(fs::read_to_string(&key).ok().as_deref(), Some("new"));
        assert_eq!(
            fs::read_to_string(tmp.path().join("k.bak")).ok().as_deref(),
            Some("old")
        );
        assert_eq!(listing(tmp.path()), ["k.bak", "k.pem"]);
    }
}
