//! The journal: the list of renames and removals a decided commit owes (phase 2 writes it, phase 3 and recovery
//! carry it out; see `store/mod.rs`).

use std::fs;
use std::path::Path;

use super::fault::FaultHook;
use super::folder::sync_dir;
use super::staged::{Secrecy, temp_path, write_new};
use crate::Error;

/// The journal of a decided commit; while it exists, its renames are owed.
pub(super) const JOURNAL: &str = ".certgen-journal";
/// The first line of a journal, naming its format.
pub(super) const JOURNAL_HEADER: &str = "certgen journal v1";

/// One line of a journal. Names are file names inside the certs folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Rename { temp: String, target: String },
    Remove { target: String },
}

/// The journal step that renames the staged file `temp` to `target`.
pub(super) fn rename_step(temp: &Path, target: String) -> Step {
    let temp = temp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Step::Rename { temp, target }
}

/// Phase 2: the journal appears whole or not at all (written to a temporary file, synced, renamed, folder synced).
pub(super) fn write_journal(dir: &Path, steps: &[Step]) -> Result<(), Error> {
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

/// The steps of a journal's `text`, or `None` when it is not one (a wrong header, a line that is not a step, a
/// name that is a path).
pub(super) fn parse_journal(text: &str) -> Option<Vec<Step>> {
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
pub(super) fn roll_forward(
    dir: &Path,
    steps: &[Step],
    recovering: bool,
    fault: &mut FaultHook,
) -> Result<usize, Error> {
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
