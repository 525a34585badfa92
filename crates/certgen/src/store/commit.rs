//! A commit: every file one command writes, the backups it keeps and the stale files it removes, applied in the
//! three phases `store/mod.rs` describes (stage, decide, apply), so a kill leaves all old files or all new ones.

use std::fs;
use std::path::{Path, PathBuf};

use super::fault::FaultHook;
use super::folder::lock;
use super::journal::{Step, rename_step, roll_forward, write_journal};
use super::recover::recover_locked;
use super::staged::{Secrecy, link_or_copy, temp_path, write_new};
use crate::Error;
use crate::error::StoreError;

/// All files one command writes, plus existing files to keep as backups and stale files to remove; applied
/// together or not at all.
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

    /// The backups this commit will keep: those of `backup` whose original exists.
    pub(crate) fn backups(&self) -> impl Iterator<Item = &Path> {
        self.backups.iter().map(|(_, backup)| backup.as_path())
    }

    /// Stages, decides and applies the change (see the module docs). Every target must be a file in `dir`. An
    /// error before the journal is written leaves the folder as it was; an error after it leaves the journal,
    /// and the next certgen command in the folder completes the change.
    pub(crate) fn apply(self, dir: &Path) -> Result<(), Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
        let _lock = lock(dir);
        recover_locked(dir)?;
        let mut fault = FaultHook::from_env();
        let mut staged = Vec::new();
        let steps = self.stage(dir, &mut staged, &mut fault);
        let decided = steps.and_then(|steps| write_journal(dir, &steps).map(|()| steps));
        let steps = match decided {
            Ok(steps) => steps,
            Err(err) => {
                for temp in &staged {
                    let _ = fs::remove_file(temp);
                }
                return Err(err);
            }
        };
        fault.step();
        roll_forward(dir, &steps, false, &mut fault)?;
        fault.step();
        Ok(())
    }

    /// Phase 1: every new file and backup as a synced temporary file; returns the journal's steps. Records each
    /// temporary file in `staged` as soon as it exists, so a failure can delete them.
    fn stage(
        &self,
        dir: &Path,
        staged: &mut Vec<PathBuf>,
        fault: &mut FaultHook,
    ) -> Result<Vec<Step>, Error> {
        let mut steps = Vec::new();
        for (target, contents, secrecy) in &self.writes {
            let name = name_in(dir, target)?;
            if target.is_dir() {
                return Err(Error::Store(StoreError::BadFile {
                    path: target.clone(),
                    reason: "is a folder where a file should go; move it away".into(),
                }));
            }
            let temp = temp_path(dir, &name);
            staged.push(temp.clone());
            write_new(&temp, contents, *secrecy)?;
            steps.push(rename_step(&temp, name));
            fault.step();
        }
        for (original, backup) in &self.backups {
            let name = name_in(dir, backup)?;
            let temp = temp_path(dir, &name);
            staged.push(temp.clone());
            link_or_copy(original, &temp).map_err(|e| Error::io("back up", original, e))?;
            steps.push(rename_step(&temp, name));
            fault.step();
        }
        for stale in &self.removals {
            steps.push(Step::Remove {
                target: name_in(dir, stale)?,
            });
        }
        Ok(steps)
    }
}

/// The file name of `path`, which must lie directly in `dir` (the journal holds names, not paths).
fn name_in(dir: &Path, path: &Path) -> Result<String, Error> {
    path.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| path.parent() == Some(dir) && !n.contains(['\t', '\n']))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Store(StoreError::BadFile {
                path: path.to_path_buf(),
                reason: format!("is not a plain file name in {}", dir.display()),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::super::folder::listing;
    use super::*;

    #[test]
    fn failed_staging_leaves_folder_untouched() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join("a.pem"), "old").expect("seed");
        // A folder where the second file should go makes staging fail after the first file was staged.
        fs::create_dir_all(tmp.path().join("b.pem/inside")).expect("blocker");
        let before = listing(tmp.path());
        let mut commit = Commit::default();
        commit.write(&tmp.path().join("a.pem"), "new", Secrecy::Public);
        commit.write(&tmp.path().join("b.pem"), "x", Secrecy::Public);
        let err = commit.apply(tmp.path()).expect_err("a folder in the way fails");
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
