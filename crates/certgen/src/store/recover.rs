//! Recovery: finishing (or, before the decision, undoing) what a killed certgen run left in a folder, run before
//! any command reads or writes it.

use std::fs;
use std::path::Path;

use super::fault::FaultHook;
use super::folder::lock;
use super::journal::{JOURNAL, parse_journal, roll_forward};
use super::layout::CertsDir;
use super::staged::temp_files;
use crate::Error;
use crate::error::StoreError;

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

pub(super) fn recover_locked(dir: &Path) -> Result<Recovered, Error> {
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

#[cfg(test)]
mod tests {
    use super::super::folder::listing;
    use super::super::journal::JOURNAL_HEADER;
    use super::*;

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
}
