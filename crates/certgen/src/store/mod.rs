//! A certs folder: where its files live (`layout.rs`: [`CertsDir`], the file sets, backup names) and how they get
//! there, crash-safely (this file).
//!
//! Every command that writes changes several files at once (a certificate and its key, the CA's three files and
//! their backups), and a kill at any moment must leave either all the old files or all the new ones. A `Commit`
//! does that in three phases:
//!
//! 1. **Stage**: write every new file as a hidden temporary file (`.NAME.RANDOM.certgen-tmp`, keys 0600 from the
//!    first byte) next to its target and fsync it. Nothing visible has changed yet.
//! 2. **Decide**: write the journal (`.certgen-journal`, the list of renames and removals to do) through a
//!    temporary file, fsync, rename, fsync the folder. From this instant the change counts as made.
//! 3. **Apply**: do the renames and removals in order, fsync the folder, delete the journal.
//!
//! Before any command reads or writes a folder, [`CertsDir::recover`] finishes what a killed run left: with a
//! journal it redoes the renames whose temporary file still exists (the others already happened), then deletes
//! the journal; without one, leftover temporary files belong to a run killed before it decided, and are deleted.
//! A lock on the folder keeps two certgen processes from doing this to each other's files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::error::StoreError;

mod layout;

pub use layout::{CaFiles, CertsDir, LeafFiles};
pub(crate) use layout::{backup_path, backup_stamp, read, refuse_existing};

/// Is a file's content secret (created with mode 0600)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrecy {
    Public,
    Secret,
}

/// The journal of a decided commit; while it exists, its renames are owed (see the module docs).
const JOURNAL: &str = ".certgen-journal";
/// The first line of a journal, naming its format.
const JOURNAL_HEADER: &str = "certgen journal v1";
/// Ending of every staged file name; without a journal such a file is a leftover and is deleted.
const TEMP_SUFFIX: &str = ".certgen-tmp";

/// Test hook, read only by debug builds: `CERTGEN_FAULT_AFTER=N` aborts the process right after the Nth step of a
/// commit (each staged file, the journal, each rename or removal, the journal's deletion), as a kill would.
/// Release builds ignore it.
pub const FAULT_AFTER_ENV: &str = "CERTGEN_FAULT_AFTER";

/// All files one command writes, plus existing files to keep as backups and stale files to remove; applied
/// together or not at all.
#[derive(Debug, Default)]
pub(crate) struct Commit {
    writes: Vec<(PathBuf, Vec<u8>, Secrecy)>,
    backups: Vec<(PathBuf, PathBuf)>,
    removals: Vec<PathBuf>,
}

/// One line of a journal. Names are file names inside the certs folder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Rename { temp: String, target: String },
    Remove { target: String },
}

/// What [`CertsDir::recover`] found and finished.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// A journal was found: a command was killed while applying a decided change, which is now finished.
    pub finished_change: bool,
    /// Renames and removals that change still owed, now done.
    pub completed: usize,
    /// Temporary files of a command killed before its change was decided, deleted.
    pub removed_temps: usize,
}

impl Recovered {
    pub fn is_empty(&self) -> bool {
        *self == Recovered::default()
    }
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.finished_change {
            write!(
                f,
                "finished a change an interrupted certgen run had begun ({} rename(s) or removal(s) were left)",
                self.completed
            )?;
        }
        if self.removed_temps > 0 {
            let and = if self.finished_change { "; " } else { "" };
            write!(
                f,
                "{and}deleted {} temporary file(s) of an interrupted certgen run",
                self.removed_temps
            )?;
        }
        Ok(())
    }
}

impl CertsDir {
    /// Finishes or undoes what a killed certgen run left in this folder (see the module docs). Every command that
    /// reads or writes the folder calls this first; it does nothing when there is nothing to do.
    pub fn recover(&self) -> Result<Recovered, Error> {
        recover(self.path())
    }
}

/// [`CertsDir::recover`] for any folder (the CLI runs it on the folders of the files it reads).
pub fn recover(dir: &Path) -> Result<Recovered, Error> {
    if !dir.join(JOURNAL).exists() && temp_files(dir).is_empty() {
        return Ok(Recovered::default());
    }
    let _lock = lock(dir);
    recover_locked(dir)
}

fn recover_locked(dir: &Path) -> Result<Recovered, Error> {
    let mut recovered = Recovered::default();
    let journal = dir.join(JOURNAL);
    if journal.exists() {
        let text = fs::read_to_string(&journal).map_err(|e| Error::io("read", &journal, e))?;
        let steps = parse_journal(&text).ok_or_else(|| {
            Error::Store(StoreError::BadFile {
                path: journal.clone(),
                reason:
                    "is not a certgen journal; delete it, then check the certificates with `certgen lint`"
                        .into(),
            })
        })?;
        recovered.finished_change = true;
        recovered.completed = roll_forward(dir, &steps, true, &mut FaultHook::off())?;
    }
    for temp in temp_files(dir) {
        match fs::remove_file(&temp) {
            Ok(()) => recovered.removed_temps += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &temp, e)),
        }
    }
    Ok(recovered)
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

fn rename_step(temp: &Path, target: String) -> Step {
    let temp = temp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Step::Rename { temp, target }
}

/// Phase 2: the journal appears whole or not at all (written to a temporary file, synced, renamed, folder synced).
fn write_journal(dir: &Path, steps: &[Step]) -> Result<(), Error> {
    let mut text = format!("{JOURNAL_HEADER}\n");
    for step in steps {
        match step {
            Step::Rename { temp, target } => text.push_str(&format!("rename\t{temp}\t{target}\n")),
            Step::Remove { target } => text.push_str(&format!("remove\t{target}\n")),
        }
    }
    let temp = temp_path(dir, JOURNAL);
    let journal = dir.join(JOURNAL);
    write_new(&temp, text.as_bytes(), Secrecy::Public)?;
    fs::rename(&temp, &journal).map_err(|e| Error::io("write", &journal, e))?;
    sync_dir(dir);
    Ok(())
}

fn parse_journal(text: &str) -> Option<Vec<Step>> {
    let mut lines = text.lines();
    if lines.next()? != JOURNAL_HEADER {
        return None;
    }
    let plain = |name: &str| !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields[..] {
                ["rename", temp, target] if plain(temp) && plain(target) => Some(Step::Rename {
                    temp: temp.into(),
                    target: target.into(),
                }),
                ["remove", target] if plain(target) => Some(Step::Remove {
                    target: target.into(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Phase 3, also run by recovery: each rename whose temporary file still exists (the others already happened),
/// each removal, then the journal's deletion. A live commit (`recovering == false`) insists its temporary files
/// exist. Returns the number of renames and removals that still had to be done.
fn roll_forward(dir: &Path, steps: &[Step], recovering: bool, fault: &mut FaultHook) -> Result<usize, Error> {
    let mut done = 0;
    for step in steps {
        let result = match step {
            Step::Rename { temp, target } => {
                let temp = dir.join(temp);
                if recovering && !temp.exists() {
                    continue;
                }
                fs::rename(&temp, dir.join(target)).map_err(|e| Error::io("write", dir.join(target), e))
            }
            Step::Remove { target } => match fs::remove_file(dir.join(target)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && recovering => continue,
                result => result.map_err(|e| Error::io("remove", dir.join(target), e)),
            },
        };
        result?;
        done += 1;
        fault.step();
    }
    sync_dir(dir);
    let journal = dir.join(JOURNAL);
    fs::remove_file(&journal).map_err(|e| Error::io("remove", &journal, e))?;
    sync_dir(dir);
    Ok(done)
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

/// Staged files of interrupted runs in `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
        })
        .map(|e| e.path())
        .collect()
}

/// An exclusive lock on the folder for this process's lifetime of the returned handle, so one certgen run never
/// recovers (deletes) another's staged files. Best effort: a folder that cannot be opened or locked is used
/// unlocked.
fn lock(dir: &Path) -> Option<File> {
    let folder = File::open(dir).ok()?;
    #[cfg(unix)]
    rustix::fs::flock(&folder, rustix::fs::FlockOperation::LockExclusive).ok()?;
    Some(folder)
}

/// Makes renames in `dir` durable. A folder that cannot be opened for sync is not worth failing the command for.
fn sync_dir(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}

/// Counts commit steps and aborts at the one [`FAULT_AFTER_ENV`] names.
struct FaultHook {
    remaining: Option<u64>,
}

impl FaultHook {
    fn from_env() -> Self {
        let remaining = if cfg!(debug_assertions) {
            std::env::var(FAULT_AFTER_ENV).ok().and_then(|n| n.parse().ok())
        } else {
            None
        };
        FaultHook { remaining }
    }

    fn off() -> Self {
        FaultHook { remaining: None }
    }

    fn step(&mut self) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                std::process::abort();
            }
        }
    }
}

fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::hard_link(from, to).or_else(|_| {
        fs::copy(from, to)?;
        File::open(to)?.sync_all()
    })
}

/// A hidden, unique temporary name for `name` in `dir` (same folder, so renames between them are atomic).
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let nonce: u64 = rand::random();
    dir.join(format!(".{name}.{nonce:016x}{TEMP_SUFFIX}"))
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

    #[test]
    fn recovery_finishes_a_journal_and_deletes_strays() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        fs::write(dir.join("a.pem"), "old a").expect("seed");
        fs::write(dir.join("stale.p12"), "old p12").expect("seed");
        // As left by a kill after the first rename: a.pem's rename still owed, b.pem's done, the removal owed.
        fs::write(dir.join(".a.pem.1.certgen-tmp"), "new a").expect("temp");
        fs::write(dir.join("b.pem"), "new b").expect("renamed");
        fs::write(dir.join(".x.pem.2.certgen-tmp"), "stray").expect("stray");
        let journal = format!(
            "{JOURNAL_HEADER}\nrename\t.b.pem.0.certgen-tmp\tb.pem\nrename\t.a.pem.1.certgen-tmp\ta.pem\nremove\tstale.p12\n"
        );
        fs::write(dir.join(JOURNAL), journal).expect("journal");
        let recovered = CertsDir::new(dir).recover().expect("recover");
        assert_eq!(
            recovered,
            Recovered {
                finished_change: true,
                completed: 2,
                removed_temps: 1
            }
        );
        assert_eq!(listing(dir), ["a.pem", "b.pem"]);
        assert_eq!(
            fs::read_to_string(dir.join("a.pem")).ok().as_deref(),
            Some("new a")
        );
        assert!(CertsDir::new(dir).recover().expect("again").is_empty());
    }

    #[test]
    fn a_damaged_journal_is_reported_not_guessed_at() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(JOURNAL), "rename\t../x\ty\n").expect("journal");
        let err = CertsDir::new(tmp.path()).recover().expect_err("refused");
        assert!(err.to_string().contains(JOURNAL), "{err}");
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
